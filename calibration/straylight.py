"""MRS ``straylight``: the cross-artifact (light scattered along detector rows) removed from the rate.

The MRSXARTCORR reference (JWST's ``MirMrsXArtCorrModel``, :func:`read_xartcorr`) gives, per band
and detector row ``y``, the kernel of jwst's ``correct_xartifact``

    K_y(d) = L gamma^2 / (gamma^2 + d^2) + G1 [g(d - dx, s) + g(d + dx, s)] + G2 [g(d - 2dx, 2s) + g(d + 2dx, 2s)],

``gamma = LOR_FWHM / 2``, ``s = GAU_FWHM / 2.355``, ``g(d, s) = exp(-d^2 / 2 s^2)``, the left half of
the detector (columns < 516) scattering with its channel's kernel (1 or 4), the right half with
the other's (2 or 3).  Model of the observed rate ``O`` (the true rate ``S`` plus what it
scatters): ``O = S + A(S)``, ``A(S) = sum_h K_h * (S restricted to half h)`` along each row.

``model`` (ours): ``S`` solved by the fixed-point iteration ``S <- O - A(S)`` from ``S = O``
(a contraction: the kernels hold ~20 % or less of the light, so each pass cuts the error by
that factor; :data:`ITERATIONS` passes leave < 1e-4 of the artifact), every convolution a
zero-padded FFT along the rows of the whole frame (a forward one per half and one inverse per pass; the kernels
transformed once).  jwst convolves the observed ``O`` once (it takes ``A(O)`` for ``A(S)``,
which over-subtracts by ``A(A(S))``, a few per cent of the artifact), after masking the pixels
below its noise threshold, pixel by pixel in C.  A DO_NOT_USE or non-finite pixel in a slice still took its
light, and scattered it: jwst lets it scatter nothing, which misses a line's artifact when a cosmic-ray shower's
mask leaves its core DO_NOT_USE (``mrs_effects`` seed 22: 92.9 % removed, 94.5 % with the hole's light;
docs/mrs_xart.md, 'Holes in the rate').  Here it scatters its light as the neighbouring slices estimate it
(:func:`calibration.pixel_replace.across_slices`, given the bands' pixels as the ``mrs_wcs`` step assigns them);
a pixel outside the slices, one without an estimate and the reference pixels scatter nothing.  The output keeps
every unusable pixel as it was.  The variance is left as it is: the model
averages hundreds of pixels, its noise is ``sqrt(sum K^2)`` = 0.013 (1A) of a pixel's.

``jwst_straylight`` (with the ``peers`` extra, :func:`calibration.peers.jwst_straylight`): jwst's
``correct_xartifact`` on the same rate and the same file (it also subtracts its pedestal measured between the channels).

Without an MRSXARTCORR the step is SKIPPED and the rate passes on unchanged.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import mrs

from . import CalibrationInputError, Skip, pixel_replace
from . import references as refs

#: Passes of the fixed-point iteration (the error falls by the kernels' integral, <= ~0.2, per pass: < 1e-4 after 6).
ITERATIONS = 6
#: First column of the detector's right half (jwst correct_xartifact's split).
SPLIT_COLUMN = 516
#: The MRSXARTCORR table columns of a kernel, in the order of :func:`row_kernels`' arguments.
COLUMNS = ("lor_fwhm", "lor_scale", "gau_fwhm", "gau_xoff", "gau_scale1", "gau_scale2")


@dataclass(frozen=True)
class XArtCorr:
    """The exposure's kernels: ``left``, ``right`` ``{column: per-row array}``, the file's path and the band pair."""

    left: dict
    right: dict
    path: Path
    channel: str
    band: str


def read_xartcorr(folder, exposure):
    """The exposure's :class:`XArtCorr` (its detector's two bands), or a :class:`~calibration.Skip` without one.

    Raises
    ------
    CalibrationInputError
        For a file whose table of a band has not one row per detector row.
    """
    model, path = refs.load_optional(folder, "MRSXARTCORR", exposure, lambda p: dm.MirMrsXArtCorrModel(str(p)))
    channel, band = str(exposure.meta.instrument.channel), str(exposure.meta.instrument.band)
    if model is None:
        return Skip(f"no MRSXARTCORR reference in {folder} for {exposure.meta.exposure.type} "
                    f"{exposure.meta.instrument.detector} {band}")
    ny = exposure.data.shape[-2]
    letter = mrs.SETTINGS[band].lower()
    left, right = ("1", "2") if channel == "12" else ("4", "3")
    halves = []
    with model:
        for c in (left, right):
            table = getattr(model, f"ch{c}{letter}_table")
            if table is None or len(table) != ny:
                raise CalibrationInputError(f"{path.name}: table CH{c}{letter.upper()} must have a row per detector "
                                            f"row ({ny}), got {0 if table is None else len(table)}")
            order = np.argsort(np.asarray(table["yrow"]))
            halves.append({name: np.asarray(table[name], float)[order] for name in COLUMNS})
    return XArtCorr(*halves, path, channel, band)


def row_kernels(offsets, lor_fwhm, lor_scale, gau_fwhm, gau_xoff, gau_scale1, gau_scale2):
    """``K_y(d)`` (module docstring): rows ``y`` from the per-row parameters, columns the offsets ``d``."""
    d = np.asarray(offsets, float)[None, :]
    gamma2 = (lor_fwhm[:, None] / 2) ** 2
    s2 = (gau_fwhm[:, None] / (2 * np.sqrt(2 * np.log(2)))) ** 2
    s2 = np.where(s2 > 0, s2, 1.0)  # a row without Gaussians (scales 0) may give them no width
    dx = gau_xoff[:, None]
    return (lor_scale[:, None] * gamma2 / (gamma2 + d ** 2)
            + gau_scale1[:, None] * (np.exp(-(d - dx) ** 2 / (2 * s2)) + np.exp(-(d + dx) ** 2 / (2 * s2)))
            + gau_scale2[:, None] * (np.exp(-(d - 2 * dx) ** 2 / (8 * s2)) + np.exp(-(d + 2 * dx) ** 2 / (8 * s2))))


def _transfer(parameters, offsets):
    """The FFT along the rows of each row's kernel at ``offsets``, computed once per distinct parameter set."""
    table = np.stack([parameters[c] for c in COLUMNS], axis=1)
    distinct, row_set = np.unique(table, axis=0, return_inverse=True)
    return rfft(row_kernels(offsets, *distinct.T).astype(np.float32), axis=1)[row_set.ravel()]


def model(rate, var, dq, xartcorr, bands=()):
    """``(rate - artifact, var)``: the artifact of the fixed-point solution of ``O = S + A(S)`` (module docstring).

    ``bands``: the exposure's bands' :class:`calibration.mrs_wcs.MrsPixels`, whose unusable pixels scatter their
    light as estimated from the neighbouring slices; without them such pixels scatter nothing, as in jwst.
    In float32 (the rate's precision): each pass is two forward FFTs (one per half) and one inverse
    (the halves' artifacts summed in Fourier space).
    """
    ny, nx = rate.shape
    usable = np.isfinite(rate) & ((dq & (dqflags.DO_NOT_USE | dqflags.REFERENCE_PIXEL)) == 0)
    observed = np.where(usable, rate, 0.0).astype(np.float32)
    scatters = usable.copy()
    for pixels in bands:
        values, _, estimated = pixel_replace.across_slices(rate[pixels.y, pixels.x], np.ones(pixels.y.size), pixels,
                                                           usable[pixels.y, pixels.x])
        observed[pixels.y[estimated], pixels.x[estimated]] = values[estimated]
        scatters[pixels.y[estimated], pixels.x[estimated]] = True
    n = next_fast_len(2 * nx, real=True)
    offsets = np.fft.ifftshift(np.arange(n) - n // 2)  # circular offsets, 0 at index 0: no wrap within 2 nx
    left_t, right_t = (_transfer(p, offsets) for p in (xartcorr.left, xartcorr.right))
    solution = observed
    for _ in range(ITERATIONS):
        spectrum = rfft(solution[:, :SPLIT_COLUMN], n, axis=1) * left_t
        spectrum += rfft(solution[:, SPLIT_COLUMN:], n, axis=1) * right_t * _shift(n, SPLIT_COLUMN)
        artifact = irfft(spectrum, n, axis=1)[:, :nx]
        solution = np.where(scatters, observed - artifact, 0.0)  # a pixel that scatters nothing stays at 0
    return np.where(usable, rate - artifact, rate), var


def _shift(n, columns):
    """The Fourier factor that moves a row by ``columns`` pixels to the right (the right half starts there)."""
    return np.exp(-2j * np.pi * np.fft.rfftfreq(n) * columns).astype(np.complex64)
