"""residual_fringe for the MRS in 1-D: fit the fringe a point source's spectrum keeps after the fringe flat; divide.

The fringe flat is made of extended light; a point source meets the detector at other angles, so its
spectrum keeps a residual fringe, periodic in wavenumber ``sigma = 1e4 / lambda`` (cm^-1).  Per band
(and on each side of 16 um, where the detector's cavity changes: jwst's residual_fringe docs) the
spectrum is modelled as

    f(sigma) = C(sigma) (1 + F(sigma)),
    F(sigma) = sum_{k=1,2} sum_j L_j(t) [a_jk cos(2 pi k sigma / P) + b_jk sin(2 pi k sigma / P)]
               (+ the same, k = 1, at the dichroic period P_d in channels 3 and 4),

``C`` a Legendre series in ``t`` (sigma mapped onto [-1, 1]) with a degree per :data:`CONTINUUM_PERIODS`
fringe periods, so it cannot follow the fringe; the fringe's amplitude and phase drift slowly (Legendre
``L_j``, a degree per :data:`DRIFT_PERIODS` periods); ``k = 2``: an etalon's second harmonic (an Airy
function's ``R^2`` term).  ``P`` is the period whose sinusoid removes most of the residual's chi^2
over :data:`PRIMARY` (2.9 cm^-1, jwst ``FFREQ_1D``; scanned +/- :data:`PRIMARY_WINDOW`, and ``P_d``
over :data:`DICHROIC`), scanned once, in the second round.  ``C`` and ``F`` are fitted alternately by
weighted linear least squares (:data:`ITERATIONS` rounds), each point weighted by its **local noise**:
its error times ``s``, the rms of the last round's residual ``(f - C (1 + F)) / error`` over it and
:data:`LOCAL_HALF_WIDTH` neighbours each side (a line's LSF wings), at least 1.  So an emission line or
the lines of an absorption forest, which the model does not follow, count as the noise they are and are
never fitted as fringe -- an iteratively reweighted fit that needs no global robust scale: a clip at
some multiple of the residuals' MAD broke down on a forest covering half a band (the MAD itself is then
a line's depth: nothing was clipped, the forest was fitted as fringe, and in channels 3-4 the forest's
line spacing, ~0.5 cm^-1, was taken for the dichroic period).  ``F`` stays defined under the features
(the fringe is coherent across them) and the whole spectrum, lines too, is divided by ``1 + F``; the
error likewise.  The drift's degree counts only the periods of the points that fit (``s`` below
:data:`CLEAN_LOCAL` times its 10th percentile, so a constant misscaling of the errors does not matter),
set in the second round: a forest leaves a gap that a drift of the whole band's degree would swing
across.  A segment of fewer than :data:`MIN_PERIODS` periods is not fitted (a fringe drift and a
continuum cannot be told apart there), and a fit that takes less than :data:`SIGNIFICANCE` times its
number of terms out of chi^2 (no fringe above the noise) is not divided out.  The fitted amplitude
(``sqrt(2)`` rms of ``F``) and periods go to HISTORY.

Variants of step ``residual_fringe``: ``fit`` (this), ``jwst_1d`` (jwst's
``residual_fringe.utils.fit_residual_fringes_1d``, :mod:`calibration.peers`) and ``none``, the default
(as jwst's calwebb_spec2, which skips its residual_fringe step unless asked).
"""
from dataclasses import dataclass

import numpy as np

from . import CalibrationInputError

#: The detector fringe's period and the half window scanned around it, cm^-1 (jwst FFREQ_1D; its DFFREQ is 1.5:
#: ours is narrower, for speed, and holds both cavities' periods).
PRIMARY, PRIMARY_WINDOW = 2.9, 0.5
#: The dichroic fringe's period and half window, cm^-1 (jwst FFREQ_1D, DFFREQ_1D), in these channels.
DICHROIC, DICHROIC_WINDOW, DICHROIC_CHANNELS = 0.4, 0.15, (3, 4)
#: The wavelength (um) where the detector's cavity changes: the spectrum is fitted on each side apart.
CAVITY_SWITCH_UM = 16.0
#: Fringe periods per degree of the continuum and of the fringe's drift.
CONTINUUM_PERIODS, DRIFT_PERIODS = 6.0, 25.0
#: Rounds of fitting (the reweighting converges in ~10 on a forest covering half a band); the neighbours each
#: side of a point its local noise is taken over (a line's LSF wings: 2 resolution elements at 2 pixels each);
#: a point "fits" where its local noise is below this multiple of the spectrum's 10th percentile of it; the
#: least periods a segment needs to be fitted; the padding of the period scan's FFT.
ITERATIONS, LOCAL_HALF_WIDTH, CLEAN_LOCAL, MIN_PERIODS, FFT_PADDING = 12, 4, 2.0, 12, 8
#: A fit is divided out only if it takes more than this many times its number of terms out of chi^2 (noise
#: alone takes about one per term).
SIGNIFICANCE = 3.0


@dataclass(frozen=True)
class FringeFit:
    """What :func:`fit` found in a spectrum: per segment ``(period, amplitude, dichroic period or None)``."""

    segments: tuple

    def __str__(self):
        parts = [(f"period {p:.3f} cm^-1 amplitude {a:.4f}" + (f", dichroic {d:.3f} cm^-1" if d else "")) if a
                 else "no fringe above the noise (nothing divided)" for p, a, d in self.segments]
        return "; ".join(parts) if parts else "nothing fitted (too short)"


def _solve(design, target):
    """Linear least squares by the normal equations (Legendre and sinusoid columns: well conditioned)."""
    return np.linalg.solve(design.T @ design, design.T @ target)


def _legendre(t, degree):
    return np.polynomial.legendre.legvander(t, degree)


def _waves(sigma, period, harmonics):
    phase = 2 * np.pi * sigma / period
    return np.column_stack([f(k * phase) for k in range(1, harmonics + 1) for f in (np.cos, np.sin)])


def _fringe_design(sigma, t, periods, drift):
    """Columns of ``F``: each wave (:func:`_waves`) times each drift term."""
    waves = np.column_stack([_waves(sigma, period, harmonics) for period, harmonics in periods])
    return (waves[:, :, None] * _legendre(t, drift)[:, None, :]).reshape(len(t), -1)


def sinusoid_fits(sigma, y, weight, frequencies):
    """Per frequency ``f``, the weighted least-squares ``(c, a, b)`` of ``y ~ c + a cos(2 pi f sigma) + b sin(...)``.

    Batched 3 x 3 normal equations: with ``E = exp(i phi)``, ``cos^2 = (1 + Re E^2) / 2``, ``sin^2 = (1 - Re E^2)
    / 2``, ``cos sin = Im E^2 / 2``, so two complex matrix products give every sum.  Returns ``(coefficients
    (nf, 3), right-hand sides (nf, 3))``; their row-wise dot product is the chi^2 each sinusoid takes out.
    """
    e = np.exp(2j * np.pi * np.asarray(frequencies)[:, None] * sigma[None, :])
    w2 = weight**2
    (e_w, e_wy), e2_w = (e @ np.column_stack([w2, w2 * y])).T, (e * e) @ w2
    n, ny = w2.sum(), w2 @ y
    normal = np.empty((len(frequencies), 3, 3))
    normal[:, 0, 0] = n
    normal[:, 0, 1] = normal[:, 1, 0] = e_w.real
    normal[:, 0, 2] = normal[:, 2, 0] = e_w.imag
    normal[:, 1, 1] = (n + e2_w.real) / 2
    normal[:, 2, 2] = (n - e2_w.real) / 2
    normal[:, 1, 2] = normal[:, 2, 1] = e2_w.imag / 2
    rhs = np.column_stack([np.full(len(frequencies), ny), e_wy.real, e_wy.imag])
    return np.linalg.solve(normal, rhs[..., None])[..., 0], rhs


def _chi2_gain(sigma, y, weight, frequencies):
    """Per frequency, the chi^2 an offset plus a sinusoid of it takes out of ``y`` (:func:`sinusoid_fits`)."""
    coefficients, rhs = sinusoid_fits(sigma, y, weight, frequencies)
    return np.einsum("fi,fi->f", rhs, coefficients)


def _best_period(sigma, y, weight, centre, window):
    """The period in ``centre +/- window`` whose sinusoid (and offset) takes most chi^2 out of ``y``.

    Found coarsely on a periodogram (``y`` times its normalised weight, interpolated onto an even grid in
    ``sigma``, its FFT padded to :data:`FFT_PADDING` times its length), then by least squares
    (:func:`sinusoid_fits`) over 21 frequencies across the periodogram's bin about it.
    """
    order = np.argsort(sigma)
    grid = np.linspace(sigma[order[0]], sigma[order[-1]], len(sigma))
    values = np.interp(grid, sigma[order], (y * weight / weight.mean())[order])
    size = FFT_PADDING * len(grid)
    power = np.abs(np.fft.rfft(values - values.mean(), size))
    frequencies = np.fft.rfftfreq(size, grid[1] - grid[0])
    inside = (frequencies >= 1 / (centre + window)) & (frequencies <= 1 / (centre - window))
    best = frequencies[inside][np.argmax(power[inside])]
    fine = best + np.linspace(-1, 1, 21) * (frequencies[1] - frequencies[0])
    return float(1 / fine[np.argmax(_chi2_gain(sigma, y, weight, fine))])


def _fit_segment(sigma, flux, error, channel):
    """``1 + F`` on one segment (module docstring) and its ``(period, amplitude, dichroic period)``."""
    t = 2 * (sigma - sigma.min()) / np.ptp(sigma) - 1
    periods_spanned = np.ptp(sigma) / PRIMARY
    continuum_degree = max(2, int(periods_spanned / CONTINUUM_PERIODS))
    drift = max(1, int(periods_spanned / DRIFT_PERIODS))
    continuum_design = _legendre(t, continuum_degree)
    local = np.ones(len(sigma))  # s of the module docstring: the residual's local rms in units of the error
    factor = np.ones(len(sigma))
    periods = [(PRIMARY, 2)] + ([(DICHROIC, 1)] if channel in DICHROIC_CHANNELS else [])
    box = np.ones(2 * LOCAL_HALF_WIDTH + 1) / (2 * LOCAL_HALF_WIDTH + 1)
    for round_ in range(ITERATIONS):
        w = 1 / (error * local)
        c_coeffs = _solve(continuum_design * (w * factor)[:, None], w * flux)
        continuum = continuum_design @ c_coeffs
        y, weight = flux / continuum - 1, np.abs(continuum) / (error * local)
        if round_ == 1:  # features weighted down by a first round: the drift the fitting points hold, the periods
            drift = max(1, int(periods_spanned * np.mean(local < CLEAN_LOCAL * np.quantile(local, 0.1))
                               / DRIFT_PERIODS))
            periods = [(_best_period(sigma, y, weight, PRIMARY, PRIMARY_WINDOW), 2)]
            if channel in DICHROIC_CHANNELS:
                periods.append((_best_period(sigma, y, weight, DICHROIC, DICHROIC_WINDOW), 1))
        design = _fringe_design(sigma, t, periods, drift)
        coeffs = _solve(design * weight[:, None], weight * y)
        factor = 1 + design @ coeffs
        local = np.sqrt(np.maximum(np.convolve(((flux - continuum * factor) / error) ** 2, box, mode="same"), 1))
    w = np.abs(continuum) / (error * local)
    chi2_gain = np.sum((w * y) ** 2) - np.sum((w * (y - (factor - 1))) ** 2)
    if chi2_gain < SIGNIFICANCE * design.shape[1]:  # no fringe above the noise: nothing divided
        return np.ones(len(sigma)), (float(periods[0][0]), 0.0, float(periods[1][0]) if len(periods) > 1 else None)
    amplitude = float(np.sqrt(2) * np.std(factor - 1))
    return factor, (float(periods[0][0]), amplitude, float(periods[1][0]) if len(periods) > 1 else None)


def fit(wavelength, flux, error, usable, channel):
    """Variant ``fit`` of step ``residual_fringe`` (module docstring): ``(flux, error, FringeFit)``.

    Parameters
    ----------
    wavelength, flux, error : (n,) float
        A band's spectrum (um; any flux unit).
    usable : (n,) bool
        The rows to fit (not DO_NOT_USE); the others, and those of a NaN or non-positive error, are left out
        of the fit and kept as they are.
    channel : int
        The band's channel (the dichroic fringe in 3 and 4).

    Raises
    ------
    CalibrationInputError
        For arrays of different lengths.
    """
    wavelength, flux, error = (np.asarray(a, float) for a in (wavelength, flux, error))
    usable = np.asarray(usable, bool)
    if not wavelength.shape == flux.shape == error.shape == usable.shape or wavelength.ndim != 1:
        raise CalibrationInputError(f"residual_fringe needs 1-D wavelength, flux, error and usable of one length, "
                                    f"got {wavelength.shape}, {flux.shape}, {error.shape}, {usable.shape}")
    good = usable & np.isfinite(wavelength) & np.isfinite(flux) & np.isfinite(error) & (error > 0) & (wavelength > 0)
    factor = np.ones(len(flux))
    found = []
    for side in (wavelength < CAVITY_SWITCH_UM, wavelength >= CAVITY_SWITCH_UM):
        on = good & side
        sigma = 1e4 / wavelength[on]
        if on.sum() < 20 or np.ptp(sigma) < MIN_PERIODS * PRIMARY:
            continue
        factor[on], segment = _fit_segment(sigma, flux[on], error[on], channel)
        found.append(segment)
    return flux / factor, error / factor, FringeFit(tuple(found))
