"""Dropouts in an LRS spectrum: rows lost or pulled off the source's smooth continuum.

A bad pixel on the trace that reaches the extraction unreplaced leaves the box a partial
sum (flagged DO_NOT_USE) or a hole (NaN): a 'dropout' (params 6, issue 15).  Per
extracted spectrum (the x1d contract, :mod:`validation.lrs_score`), in its rows ``i`` by
increasing wavelength:

1. **The truth's shape.**  ``T_i``: the photons per second and m^2 the source's true
   continuum (truth configuration, its lines left out) sends into row ``i``'s wavelengths,
   the bin between the midpoints of the x1d's WAVELENGTH
   (:meth:`simulator.spectra.SourceSpectrum.photons_in_bins`), blurred along the rows by
   the LRS's spread, a Gaussian of FWHM :data:`instrument.lrs.SPATIAL_FWHM_PIX` at 7.7 um
   scaled with wavelength (as :mod:`validation.lrs_score`): so the flight table's
   row-to-row dispersion wiggles are in the shape as the detector sees them.
2. **Its scale**, from the spectrum itself (its units, DN/s or flux, do not matter):
   with ``q_k = FLUX_k / T_k`` on the usable rows outside the lines' windows, ``r_i`` is
   the median over ``k = 1 .. SCALE_HALF_ROWS`` of the pair means ``(q_{i-k} + q_{i+k}) / 2``
   (the row left out, so a dropout does not pull its own model; pairs, so a slope of the
   ratio cancels, as it must near 5 um where it changes by ~5 % a row; a median, so a
   neighbouring dropout does not pull it either).  The ratio holds the system efficiency,
   the aperture's share and the gain or PHOTOM, all smooth in wavelength.
3. **A dropout** is a scored row whose FLUX is not finite, or whose DQ has DO_NOT_USE, or
   with ``|FLUX_i - r_i T_i| > DROPOUT_SIGMA FLUX_ERROR_i``.

A flux density (Jy, after the photometric calibration: :attr:`validation.lrs_score.Spectrum.per_row`)
takes the continuum's F_nu at each row's wavelength as ``T_i`` instead: the calibration
divided each row by its width.

Scored rows: those with a pair at every ``k`` (not within :data:`SCALE_HALF_ROWS` of
either end of the spectrum), not within ``max(MIN_HALF_WINDOW, 5 sigma)`` rows of a true
line of the source (its window in :mod:`validation.lrs_score`: a line is not continuum),
nor where an emission line's wings (the PSF's, :func:`line_spread`) bring more light than
:data:`LINE_LIGHT_SIGMA` of the row's noise: a bright line's wings reach tens of rows (the
``lrs`` suite's, 15-30x the continuum at their peak, put 14 clean rows > 5 sigma off the
continuum-only model).
The median of 5 pair means has about ``1.2 / sqrt(10) = 0.4`` of a row's noise, so a
clean row passes 5 sigma of its own error unless it is off by more than ~4.6 of its
combined error: ~4e-6 per row.

Metrics, per spectrum (``source_id``): ``lrs_dropouts`` (rows) and ``lrs_dropout_rows``
(rows scored).
"""
import math
import warnings
from dataclasses import replace

import numpy as np
from astropy import constants

from miri_testbed.instrument import lrs
from miri_testbed.simulator import psf

from .lrs_score import (
    FWHM_PER_SIGMA,
    MIN_HALF_WINDOW,
    WINDOW_SIGMA,
    expected_sigma_rows,
    lrs_truth,
    read_x1d,
    row_fractions,
    source_continuum,
)

METRICS = ("lrs_dropouts", "lrs_dropout_rows")
#: Pairs of rows whose median ratio scales the truth's shape.
SCALE_HALF_ROWS = 5
#: A row this many FLUX_ERRORs off its model is a dropout.
DROPOUT_SIGMA = 5.0
#: A row where a line's expected light exceeds this many of its FLUX_ERRORs is not scored.
LINE_LIGHT_SIGMA = 1.0


def blurred_shape(wavelength, continuum):
    """``T_i`` (module docstring, step 1) for rows of increasing ``wavelength`` (um).

    Parameters
    ----------
    wavelength : (n,) float
    continuum : simulator.spectra.SourceSpectrum
        The source's continuum (no lines).

    Returns
    -------
    (n,) float
    """
    mid = 0.5 * (wavelength[1:] + wavelength[:-1])
    edges = np.concatenate([[2 * wavelength[0] - mid[0]], mid, [2 * wavelength[-1] - mid[-1]]])
    photons = continuum.photons_in_bins(edges)
    sigma = lrs.SPATIAL_FWHM_PIX * wavelength / lrs.SPATIAL_FWHM_REF_UM / FWHM_PER_SIGMA
    u = np.arange(wavelength.size, dtype=float)
    spread = row_fractions(u[:, None], u[None, :], sigma[None, :])  # [i, k]: row k's light landing in row i
    return spread @ photons


def dropouts(spectrum, shape, scored, lines):
    """The dropout rows (module docstring, steps 2-3) among ``scored``.

    Parameters
    ----------
    spectrum : validation.lrs_score.Spectrum
        Its ``usable`` rows: finite FLUX and FLUX_ERROR > 0, no DO_NOT_USE.
    shape : (n,) float
        ``T_i``.
    scored : (n,) bool
    lines : (n,) bool
        Rows in a line's window (no ratio there).

    Returns
    -------
    (n,) bool
    """
    n = shape.size
    with np.errstate(all="ignore"):
        ratio = np.where(~lines & spectrum.usable & (shape > 0), spectrum.flux / shape, np.nan)
        padded = np.pad(ratio, SCALE_HALF_ROWS, constant_values=np.nan)
        k = np.arange(1, SCALE_HALF_ROWS + 1)
        i = np.arange(n)[:, None] + SCALE_HALF_ROWS
        pairs = 0.5 * (padded[i - k] + padded[i + k])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # no pair: no model, not judged
            scale = np.nanmedian(pairs, axis=1)
        off = np.abs(spectrum.flux - scale * shape) > DROPOUT_SIGMA * spectrum.error
    return scored & (~spectrum.usable | (off & np.isfinite(scale)))


def line_spread(wavelength_um):
    """The share of an unresolved line's light in the row ``r`` rows from its own.

    The most over four placements of its centre within its row and over both sides: the
    simulator's monochromatic PSF summed across (its wings included), ``r = 0 ..
    MONOCHROMATIC_STAMP // 2``.
    """
    s, half = psf.OVERSAMPLE, psf.MONOCHROMATIC_STAMP // 2
    profile = np.concatenate([np.zeros(s), psf.monochromatic(wavelength_um).sum(axis=1), np.zeros(s)])
    centre = profile.size // 2  # the PSF's centre, a boundary between samples
    offsets = np.arange(-half, half + 1)
    shares = np.zeros(half + 1)
    for phase in range(s):  # the line's row starts `phase` samples before its centre
        starts = centre - phase + s * offsets
        rows = np.array([profile[a:a + s].sum() if 0 <= a <= profile.size - s else 0.0 for a in starts])
        shares = np.maximum(shares, np.maximum(rows[half:], rows[half::-1]))
    return shares


def line_rows(spectrum, lines, shape):
    """Rows a true line of the source reaches (module docstring).

    Its window, and beyond it every row whose expected share of an emission line's light
    exceeds :data:`LINE_LIGHT_SIGMA` of the row's own noise,
    ``N_line s(r) > LINE_LIGHT_SIGMA T_i FLUX_ERROR_i / FLUX_i`` (``N_line``: its photons
    s^-1 m^-2, truth ``flux_w_m2``; ``s``: :func:`line_spread`).
    """
    n = spectrum.wavelength.size
    u = np.arange(n)
    near = np.zeros(n, bool)
    lam = spectrum.wavelength
    with np.errstate(all="ignore"):
        noise = LINE_LIGHT_SIGMA * shape * np.abs(spectrum.error / spectrum.flux)
    for line in lines:
        centre = float(line["centre_um"])
        if not lam[0] <= centre <= lam[-1]:
            continue
        row = float(np.interp(centre, lam, u))
        dispersion = abs(float(np.gradient(lam)[int(round(row))]))
        half = max(MIN_HALF_WINDOW, math.ceil(WINDOW_SIGMA * expected_sigma_rows(centre, 0.0, dispersion)))
        near |= np.abs(u - row) <= half
        if str(line["kind"]) == "emission" and psf.MONOCHROMATIC_RANGE_UM[0] <= centre <= psf.MONOCHROMATIC_RANGE_UM[1]:
            photons = float(line["flux_w_m2"]) * centre * 1e-6 / (constants.h.value * constants.c.value)
            spread = line_spread(centre)
            offset = np.minimum(np.abs(u - row).round().astype(int), spread.size - 1)
            near |= (photons * spread[offset] > noise) & (np.abs(u - row) < spread.size)
    return near


def spectrum_dropouts(truth, spectrum, x1d_path):
    """One spectrum's rows by increasing wavelength, the rows scored and its dropouts (module docstring).

    Parameters
    ----------
    truth : simulator.truth.Truth
        Of an LRS exposure, with ``LINES``.
    spectrum : validation.lrs_score.Spectrum
    x1d_path : path-like

    Returns
    -------
    spectrum : validation.lrs_score.Spectrum
        Sorted by wavelength.
    scored, lost : (n,) bool
    """
    lines = truth.table("LINES")
    continuum = source_continuum(truth, spectrum, x1d_path)
    order = np.argsort(spectrum.wavelength)
    spectrum = replace(spectrum, wavelength=spectrum.wavelength[order], flux=spectrum.flux[order],
                       error=spectrum.error[order], usable=spectrum.usable[order])
    shape = blurred_shape(spectrum.wavelength, continuum)
    near = line_rows(spectrum, lines[np.asarray(lines["source_id"]) == spectrum.source_id], shape)
    if not spectrum.per_row:  # a flux density: the continuum's own, smooth across rows
        shape = continuum.flux_density_mjy(spectrum.wavelength)
    u = np.arange(near.size)
    scored = ~near & (u >= SCALE_HALF_ROWS) & (u < near.size - SCALE_HALF_ROWS)
    return spectrum, scored, dropouts(spectrum, shape, scored, near)


def score_dropouts(truth, x1d_path):
    """``lrs_dropouts`` and ``lrs_dropout_rows`` of each spectrum of the x1d (module docstring).

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
        Of an LRS exposure.
    x1d_path : path-like

    Returns
    -------
    list of dict

    Raises
    ------
    ScoreInputError
        A truth of another mode, an x1d :func:`validation.lrs_score.read_x1d` refuses, or a
        spectrum of a source the truth does not have.
    """
    truth = lrs_truth(truth, ("LINES",), "dropout")
    rows = []
    for spectrum in read_x1d(x1d_path):
        spectrum, scored, lost = spectrum_dropouts(truth, spectrum, x1d_path)
        context = dict(source_id=spectrum.source_id)
        rows += [dict(metric="lrs_dropouts", value=float(lost.sum()), unit="row", **context),
                 dict(metric="lrs_dropout_rows", value=float(scored.sum()), unit="row", **context)]
    return rows
