"""Score the fringe left in an MRS point source's x1d against the noise floor of the same spectrum (FRINGE-1).

Per band (a spectrum in Jy, the continuum planes of :func:`validation.mrs_score.continuum_planes`: every
line's window left out): ``r`` = FLUX over the source's true continuum, divided by a Legendre series of
degree :data:`validation.mrs_score.PULL_DEGREE` fitted to it (the PHOTOM's and APCORR's smooth errors
out), less 1; ``e`` = FLUX_ERROR over the same.  The **fringe amplitude** is the largest amplitude
``sqrt(a^2 + b^2)`` of a sinusoid ``c + a cos(2 pi sigma / P) + b sin(...)`` fitted (weights ``1 / e``,
:func:`calibration.residual_fringe.sinusoid_fits`) to ``r`` over the fringe's band of periods,
``P`` in :data:`calibration.residual_fringe.PRIMARY` +/- ``PRIMARY_WINDOW`` (2.4-3.4 cm^-1), in steps
that move the phase across the band by half a radian.  The **noise floor** is the same statistic on
pure noise of the spectrum's errors (the median over :data:`FLOOR_DRAWS` draws of ``e`` times a normal
deviate, a fixed seed): the amplitude a fringe-free spectrum would show.

Scored only for an exposure simulated with fringes (its truth's ``FRINGE``).  Rows (``bin`` = the band,
:func:`validation.mrs_score.band_bin`): ``mrs_fringe_amplitude``,
``mrs_fringe_noise_floor`` and ``mrs_fringe_over_target`` = amplitude / max(1.2 floor, 0.005): issue 17's
"within 1.2x the noise floor and below 0.5 % wherever that floor is lower", met at <= 1 (FRINGE-1).
"""
import numpy as np
from numpy.polynomial import legendre

from miri_testbed.calibration import residual_fringe

from . import lrs_score as lrs
from .lrs_flux import is_jy
from .mrs_score import PULL_DEGREE, X1D_TRUTH, _mrs_truth, band_bin, continuum_planes, read_spectra

METRICS = ("mrs_fringe_amplitude", "mrs_fringe_noise_floor", "mrs_fringe_over_target")
#: Noise draws for the floor; the step of the period scan in phase across the band (radians).
FLOOR_DRAWS, PHASE_STEP = 20, 0.5
#: Issue 17: within 1.2x the noise floor, and below 0.5 % where that floor is lower.
FLOOR_FACTOR, AMPLITUDE_LIMIT = 1.2, 0.005


def amplitudes(sigma, r, e):
    """``(periods, amplitudes)``: the sinusoid amplitude of ``r`` (errors ``e``) at each period of the scan (cm^-1)."""
    step = PHASE_STEP / (2 * np.pi * np.ptp(sigma))
    centre, window = residual_fringe.PRIMARY, residual_fringe.PRIMARY_WINDOW
    frequencies = np.arange(1 / (centre + window), 1 / (centre - window), step)
    coefficients, _ = residual_fringe.sinusoid_fits(sigma, r, 1 / e, frequencies)
    return 1 / frequencies, np.hypot(coefficients[:, 1], coefficients[:, 2])


def fringe_amplitude(sigma, r, e):
    """The largest sinusoid amplitude of ``r`` (errors ``e``) over the fringe's band of periods (module docstring)."""
    return float(np.max(amplitudes(sigma, r, e)[1]))


def noise_floor(sigma, e):
    """The fringe amplitude of pure noise of errors ``e`` (module docstring)."""
    rng = np.random.default_rng(0)
    return float(np.median([fringe_amplitude(sigma, e * rng.standard_normal(e.size), e) for _ in range(FLOOR_DRAWS)]))


def relative_residual(spectrum, scored, true_continuum):
    """``(wavenumber sigma, r, e)`` on the ``scored`` planes (module docstring), or None when it cannot be scored.

    None for a spectrum not in Jy or with too few continuum planes.
    """
    if not is_jy(spectrum) or scored.sum() <= 4 * (PULL_DEGREE + 1) or not np.all(true_continuum > 0):
        return None
    lam = spectrum.wavelength[scored]
    x = 2 * (lam - lam[0]) / (lam[-1] - lam[0]) - 1
    ratio, error = (a[scored] / (1e-3 * true_continuum) for a in (spectrum.flux, spectrum.error))
    smooth = legendre.legval(x, legendre.legfit(x, ratio, PULL_DEGREE, w=1 / error))
    return 1e4 / lam, ratio / smooth - 1, error / smooth


def band_rows(band, spectrum, scored, true_continuum):
    """One band's rows (module docstring); none for a spectrum not in Jy or with too few continuum planes."""
    found = relative_residual(spectrum, scored, true_continuum)
    if found is None:
        return []
    sigma, r, e = found
    amplitude, floor = fringe_amplitude(sigma, r, e), noise_floor(sigma, e)
    context = dict(source_id=spectrum.source_id, bin=band_bin(band))
    return [dict(metric="mrs_fringe_amplitude", value=amplitude, unit="", **context),
            dict(metric="mrs_fringe_noise_floor", value=floor, unit="", **context),
            dict(metric="mrs_fringe_over_target", value=amplitude / max(FLOOR_FACTOR * floor, AMPLITUDE_LIMIT),
                 unit="", **context)]


def score_x1d(truth, x1d_path):
    """The fringe rows of every band of an MRS x1d (module docstring); none when the truth has no fringes."""
    truth = _mrs_truth(truth, X1D_TRUTH, "MRS x1d")
    if not truth.has("FRINGE"):  # fringes not simulated: a fringe statistic would score noise and ripple
        return []
    lines = truth.table("LINES")
    rows = []
    for band, spectrum in read_spectra(x1d_path).items():
        scored = continuum_planes(spectrum, lines)
        true_continuum = lrs.source_continuum(truth, spectrum, x1d_path).flux_density_mjy(spectrum.wavelength[scored])
        rows += band_rows(band, spectrum, scored, true_continuum)
    return rows
