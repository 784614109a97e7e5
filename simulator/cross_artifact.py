"""The MRS cross-artifact: light scattered inside the detector along its rows.

Model (params 3 "Cross-artifact" and its kernel form, items 31-32; jwst
``docs/jwst/straylight/main.rst``): every source pixel ``i`` of a row puts the fraction
``K(x - i)`` of its light into pixel ``x`` of the same row, with the kernel of the channel
that lights that half of the detector (columns < :data:`SPLIT_COLUMN`: channel 1 or 4,
the rest channel 2 or 3, as jwst's ``correct_xartifact`` splits them):

    K(d) = L gamma^2 / (gamma^2 + d^2)
         + G1 [g(d - dx, s) + g(d + dx, s)] + G2 [g(d - 2dx, 2s) + g(d + 2dx, 2s)],
    g(d, s) = exp(-d^2 / 2 s^2),

a Lorentzian of FWHM ``2 gamma`` (>~ 100 px) plus, in channel 1 only, the two symmetric
double Gaussians at +-dx (width s) and +-2dx (width 2s); channel 4 has none.  The image
gets ``I' = I + sum_h K_h * (I restricted to half h)`` (row convolution, the scattered
light of a half reaching the whole row; what leaves the array is lost).

**Added, not moved.**  The scattered light is added to the image (flux not conserved):
this is the form jwst's correction inverts (it subtracts ``K * I`` and gives nothing back to
the source), and the testbed's PHOTOM is measured without the artifact, so a removed
artifact leaves the true photometry.  Conserving the light would be the kernel
``K - (sum K) delta``: the same scattered pattern with every pixel lowered by the kernel's
integral, i.e. a per-band change of the photometric scale that in flight lives in PHOTOM.

Amplitudes (all UNSOURCED: the per-band values are in CRDS MRSXARTCORR, not read): in band
1A the Lorentzian carries ``lorentz_fraction`` of a source's light and the two Gaussian pairs
``gauss_fractions``; every amplitude scales as ``(lambda_1A / lambda)^wavelength_index``
with the band's centre wavelength (params 31: "decreasing with wavelength"), channel 4 none.
The defaults (10 % + 5 % + 3 % in 1A, peak 0.26 % of the source pixel) meet items 31-32
(integral up to ~20 %, peak <= 1 % in ch1); dx and s (30 and 5 px) are invented.

Reference (:func:`reference_model`): JWST's ``MirMrsXArtCorrModel`` (MRSXARTCORR), a table for each
of the 12 bands (``yrow`` and the :class:`Kernel` quantities, the same on every row), selected by
EXP_TYPE alone as the CRDS file is.  Not the truth's: ``measured`` holds the observation's two bands'
kernels FITTED on a simulated point-source calibration exposure (:mod:`simulator.mrs_xartcal`,
:func:`simulator.mrs.xart_exposure`), and every other band (which that exposure's ``straylight`` step does
not read; their true pixels are not rendered here) the truth with each parameter's own drawn error,
``p (1 + xart_error N(0, 1))`` (:class:`simulator.config.ReferenceOptions`, a PLACEHOLDER rms); ``perfect``
the truth.
"""
from dataclasses import asdict, dataclass

import numpy as np
from astropy.table import Table
from scipy.fft import irfft, next_fast_len, rfft
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import mrs

#: The first column of the detector's right half (channels 2 and 3), as jwst's correct_xartifact.
SPLIT_COLUMN = 516


@dataclass(frozen=True)
class Kernel:
    """One band's kernel (module docstring): the MRSXARTCORR table's quantities, px and fractions per px.

    ``lor_fwhm = 2 gamma``, ``lor_scale = L``, ``gau_fwhm`` the inner Gaussians' FWHM
    (``2 sqrt(2 ln 2) s``), ``gau_xoff = dx``, ``gau_scale1 = G1``, ``gau_scale2 = G2``.
    """

    lor_fwhm: float
    lor_scale: float
    gau_fwhm: float
    gau_xoff: float
    gau_scale1: float
    gau_scale2: float

    def profile(self, offsets):
        """``K(d)`` at integer (or any) offsets ``d``, px."""
        d = np.asarray(offsets, float)
        gamma = self.lor_fwhm / 2
        s = self.gau_fwhm / (2 * np.sqrt(2 * np.log(2)))
        k = self.lor_scale * gamma ** 2 / (gamma ** 2 + d ** 2)
        if self.gau_scale1 or self.gau_scale2:
            dx = self.gau_xoff
            k = k + self.gau_scale1 * (np.exp(-(d - dx) ** 2 / (2 * s ** 2)) + np.exp(-(d + dx) ** 2 / (2 * s ** 2)))
            k = k + self.gau_scale2 * (np.exp(-(d - 2 * dx) ** 2 / (8 * s ** 2))
                                       + np.exp(-(d + 2 * dx) ** 2 / (8 * s ** 2)))
        return k

    def scaled(self, factor):
        """The kernel with every amplitude times ``factor`` (the widths kept)."""
        return Kernel(self.lor_fwhm, self.lor_scale * factor, self.gau_fwhm, self.gau_xoff,
                      self.gau_scale1 * factor, self.gau_scale2 * factor)


def band_kernel(name, effects):
    """Band ``name``'s true :class:`Kernel` from :class:`simulator.config.MrsEffects` (module docstring)."""
    channel = int(name[0])
    if channel == 4:
        return Kernel(effects.cross_artifact_fwhm_px, 0.0, 1.0, 0.0, 0.0, 0.0)
    scale = (np.mean(mrs.band("1A").wavelength_range) / np.mean(mrs.band(name).wavelength_range)) \
        ** effects.cross_artifact_wavelength_index
    gamma, s = effects.cross_artifact_fwhm_px / 2, effects.cross_artifact_gauss_sigma_px
    # amplitudes from the integrals: a Lorentzian holds L pi gamma, a Gaussian pair 2 G sqrt(2 pi) width
    lor = effects.cross_artifact_lorentz_fraction / (np.pi * gamma)
    g1, g2 = (0.0, 0.0) if channel != 1 else (effects.cross_artifact_gauss_fractions[0] / (2 * np.sqrt(2 * np.pi) * s),
                                              effects.cross_artifact_gauss_fractions[1] / (4 * np.sqrt(2 * np.pi) * s))
    return Kernel(2 * gamma, lor, 2 * np.sqrt(2 * np.log(2)) * s, effects.cross_artifact_gauss_dx_px, g1, g2
                  ).scaled(float(scale))


def halves(image):
    """``(left, right)``: the image restricted to columns < :data:`SPLIT_COLUMN` and to the others."""
    left = np.where(np.arange(image.shape[1]) < SPLIT_COLUMN, image, 0.0)
    return left, image - left


def scattered(image, left, right):
    """``K_left * (image's left half) + K_right * (its right half)``, row by row (FFT, zero-padded: no wrap)."""
    nx = image.shape[1]
    n = next_fast_len(2 * nx)
    d = np.arange(n)
    offsets = np.where(d < n // 2, d, d - n)  # circular offsets: the kernel centred on column 0
    out = np.zeros(image.shape)
    for kernel, part in zip((left, right), halves(image), strict=True):
        out += irfft(rfft(part, n, axis=1) * rfft(kernel.profile(offsets)), n, axis=1)[:, :nx]
    return out


def detector_kernels(observation, effects):
    """``(left, right)`` true kernels of the observation's detector: its bands by the half they light."""
    kernels = {int(name[0]): band_kernel(name, effects) for name in observation.bands}
    return (kernels[1], kernels[2]) if observation.detector == "MIRIFUSHORT" else (kernels[4], kernels[3])


def apply(image, observation, effects):
    """The cross-artifact of the observation's detector: ``(image + artifact, artifact)``, e-/s.

    The reference columns get none (they see no light).
    """
    artifact = scattered(image, *detector_kernels(observation, effects))
    artifact[:, :det.REFERENCE_COLUMNS_LEFT] = 0.0
    artifact[:, det.FULL_NX - det.REFERENCE_COLUMNS_RIGHT:] = 0.0
    return image + artifact, artifact


def kernel_table(observation, effects):
    """The true kernels of the observation's bands as a table (the truth's ``XARTKERNEL``)."""
    rows = [dict(band=name, **asdict(band_kernel(name, effects))) for name in observation.bands]
    return Table(rows=rows)


def reference_model(effects, options, rng, fitted=None):
    """The MRSXARTCORR of the twelve bands, as CRDS has one (module docstring).

    ``perfect``: the truth's kernels.  ``measured``: the bands of ``fitted`` (``{band: Kernel}``, the
    observation's two, fitted on a simulated calibration exposure, :mod:`simulator.mrs_xartcal`) as fitted; every
    other band (which the exposure's ``straylight`` step does not read) the truth with each parameter's own drawn
    error ``p (1 + xart_error N(0, 1))`` from ``rng``, in band order.
    """
    model = dm.MirMrsXArtCorrModel()
    fitted = fitted or {}
    for name in (f"{c}{s}" for c in "1234" for s in mrs.SETTINGS.values()):
        kernel = asdict(fitted.get(name, band_kernel(name, effects)))
        if options.kind == "measured" and name not in fitted:
            kernel = {key: value * (1 + options.xart_error * rng.standard_normal()) for key, value in kernel.items()}
        table = np.zeros(det.FULL_NY, dtype=model.get_dtype(f"ch{name.lower()}_table"))
        table["yrow"] = np.arange(det.FULL_NY)
        for key, value in kernel.items():
            table[key] = value
        setattr(model, f"ch{name.lower()}_table", table)
    return model
