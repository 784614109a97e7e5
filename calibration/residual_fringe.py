"""residual_fringe for the MRS in 1-D: fit the fringe a point source's spectrum keeps after the fringe flat; divide.

The fringe flat is made of extended light; a point source meets the detector at other angles, so its
spectrum keeps a residual fringe, periodic in wavenumber ``sigma = 1e4 / lambda`` (cm^-1).  Per band
the spectrum is modelled as

    f(sigma) = C(sigma) (1 + F(sigma)),
    F(sigma) = sum_{k=1,2} sum_j L_j(t) [a_jk cos(2 pi k sigma / P) + b_jk sin(2 pi k sigma / P)]
               (+ the same, k = 1, at the dichroic period P_d in channels 3 and 4),

``C`` a Legendre series in ``t`` (sigma mapped onto [-1, 1]) with a degree per :data:`CONTINUUM_PERIODS`
fringe periods over the whole band, so it cannot follow the fringe; ``F`` is fitted on each side of 16 um
apart (the detector's cavity changes there: jwst's residual_fringe docs), with its own periods, under the
one ``C`` (the source's continuum does not change at 16 um: 3C's short side, 8.5 periods, was left
unfitted when each side had its own continuum and needed 12); the fringe's amplitude and phase drift
slowly (Legendre ``L_j``, a degree per :data:`DRIFT_PERIODS` periods); ``k = 2``: an etalon's second
harmonic (an Airy function's ``R^2`` term).  ``P`` is the period whose sinusoid removes most of the
residual's chi^2 over :data:`PRIMARY` (2.9 cm^-1, jwst ``FFREQ_1D``; scanned +/- :data:`PRIMARY_WINDOW`,
and ``P_d`` over :data:`DICHROIC`).  ``C`` and ``F`` are fitted alternately by weighted linear least
squares (:data:`ITERATIONS` rounds), each point weighted by its **local noise**: its error times ``s``,
the rms of the last round's residual ``(f - C (1 + F)) / error`` over one fringe period of points centred
on it, at least 1.  So an emission line or the lines of an absorption forest, which the model does not
follow, count as the noise they are and are never fitted as fringe -- an iteratively reweighted fit that
needs no global robust scale: the 4-sigma clip at the residuals' MAD it replaces broke down on a forest
over half a band (the MAD is then a line's depth: nothing was clipped, the forest was fitted as fringe,
and in channels 3-4 its line spacing, ~0.5 cm^-1, was taken for the dichroic period).  The box is a whole
period so that a fringe not yet modelled has the same local rms at each of its phases.  Each period is
scanned with weights from a round whose model lacks it (else the weights carry the misfit of the nominal
period and pull the scan to it): ``P`` after :data:`CONTINUUM_ROUNDS` rounds of ``C`` alone (a bright line
pulls the first round's ``C`` through it, so the first weights are wrong over most of the band: 4C's scan
then landed at 3.31 cm^-1, the true being 3.20), ``P_d`` in the next, after one with ``P``.  ``F`` stays
defined under the features (the fringe is coherent across them) and the whole spectrum, lines too, is
divided by ``1 + F``; the error likewise.  The drift's degree counts only the periods of the points that
fit (``s`` below :data:`CLEAN_LOCAL` times its 10th percentile, so a constant misscaling of the errors
does not matter), set in that round: a forest leaves a gap that a drift of the whole band's degree would
swing across.  A band of fewer than :data:`MIN_PERIODS` periods is not fitted (a fringe drift and a
continuum cannot be told apart there), nor a side of 16 um of fewer than :data:`MIN_CAVITY_PERIODS`, nor
one of fewer than two points per shortest period scanned (a detector column cut by the slice's edge); the
dichroic term only where the points sample it; and of each period only the terms that take a fringe's
chi^2, not noise's, are divided out (:func:`_significant`: all of them, else the first harmonic alone,
else none).  A cube's planes share detector pixels and the drizzle's kernel, so their noise is correlated
(the spectrum's ``plane_correlation``, ``rho_l`` at lag ``l``): a sinusoid of period ``P`` then takes
``S(P) = 1 + 2 sum_l rho_l cos(2 pi l d_sigma / P)`` times the chi^2 white noise would give it (the noise's
power spectrum at the period's frequency, ``d_sigma`` the planes' spacing), 2.3 at the primary period with
the default kernel's lag-1 correlation 0.55; each period's chi^2 is divided by it (when above 1) before the
test (without, noise passed it on faint channel 3-4 spectra, and its spurious fringe, divided out under bright
lines, moved their centres by up to 2 km/s: docs/mrs.md, 'Residual fringe fits on correlated noise').  The
fitted amplitude (``sqrt(2)`` rms of ``F``) and periods go to HISTORY.

**The period from the fringe flat.**  The residual is the same cavity's fringe as the extended-source fringe
flat's, met at other angles: another phase and contrast, the same period (an incidence of 1 deg changes it by
1.5e-4).  Given the flat's period on a side of 16 um (:func:`flat_periods`, measured on the FRINGE
reference's pixels of the band), the primary is scanned within :data:`FLAT_PERIOD_WINDOW` of it instead of the
blind window: the scan then holds ~1 independent period instead of 5-25, so the threshold a fringe must pass
at the same false-alarm rate is lower (chi^2 ~11 against 15-18), which on a faint spectrum is the difference
between dividing out a real 0.8 % fringe and leaving it (band 2A of ``mrs_effects``, docs/mrs.md 'Residual
fringe fits on correlated noise').

Variants of step ``residual_fringe``: ``fit`` (this), ``jwst_1d`` (jwst's
``residual_fringe.utils.fit_residual_fringes_1d``, :mod:`calibration.peers`) and ``none``, the default
(as jwst's calwebb_spec2, which skips its residual_fringe step unless asked).  Step
``residual_fringe_2d`` (variants ``fit``, :func:`columns`: the same fit per detector column of the cal
image, before cube_build, as jwst's residual_fringe step; ``none``, the default).
"""
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

from . import CalibrationInputError, Skip

#: The detector fringe's period and the half window scanned around it, cm^-1 (jwst FFREQ_1D; its DFFREQ is 1.5:
#: ours is narrower, for speed, and holds both cavities' periods).
PRIMARY, PRIMARY_WINDOW = 2.9, 0.5
#: The dichroic fringe's period and half window, cm^-1 (jwst FFREQ_1D, DFFREQ_1D), in these channels.
DICHROIC, DICHROIC_WINDOW, DICHROIC_CHANNELS = 0.4, 0.15, (3, 4)
#: The wavelength (um) where the detector's cavity changes: the spectrum is fitted on each side apart.
CAVITY_SWITCH_UM = 16.0
#: Fringe periods per degree of the continuum and of the fringe's drift.
CONTINUUM_PERIODS, DRIFT_PERIODS = 6.0, 25.0
#: Rounds of fitting: the first CONTINUUM_ROUNDS of the continuum alone (bright lines pull the first round's
#: continuum through them, so its local noise is tens of times the error over most of a band, 4C of mrs_fringes:
#: it settles by the third), then the fringe's (the reweighting converges in ~10 on a forest covering half a band).
ITERATIONS, CONTINUUM_ROUNDS = 14, 3
#: A point "fits" where its local noise is below this multiple of the spectrum's 10th percentile of it; the least
#: periods a band needs to be fitted, and each cavity's part of it (the continuum held by the whole band); the
#: padding of the period scan's FFT.
CLEAN_LOCAL, MIN_PERIODS, MIN_CAVITY_PERIODS, FFT_PADDING = 2.0, 12, 6, 8
#: Columns each side of a detector column whose fringe is averaged with its own (:func:`columns`).
SMOOTH_COLUMNS = 1
#: A period's terms are divided out only if they take more than this many times their number out of chi^2 (noise
#: alone takes about one per term), or, its first harmonic alone, with at most this false-alarm probability on
#: noise (:func:`_significant`).
SIGNIFICANCE, FALSE_ALARM = 3.0, 0.01
#: The half window (cm^-1) the primary is scanned in about the fringe flat's period (:func:`flat_periods`): the
#: residual's period is the flat's to ~1e-3 (the detector's thickness across the columns an extraction sums, the
#: beam's incidence); this leaves room for a flat measured on other columns.
FLAT_PERIOD_WINDOW = 0.05
#: Columns of a band's fringe flat whose chi^2 are summed (evenly spread; the flat's fringe is at S/N ~100 in each).
FLAT_COLUMNS = 24


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
    ``y`` may also be (n, k), k series on the same points and weights: then both are (nf, 3, k).
    """
    e = np.exp(2j * np.pi * np.asarray(frequencies)[:, None] * sigma[None, :])
    w2 = weight**2
    series = np.reshape(y, (len(sigma), -1))
    sums = e @ np.column_stack([w2, w2[:, None] * series])
    e_w, e_wy, e2_w = sums[:, 0], sums[:, 1:], (e * e) @ w2
    n, ny = w2.sum(), w2 @ series
    normal = np.empty((len(frequencies), 3, 3))
    normal[:, 0, 0] = n
    normal[:, 0, 1] = normal[:, 1, 0] = e_w.real
    normal[:, 0, 2] = normal[:, 2, 0] = e_w.imag
    normal[:, 1, 1] = (n + e2_w.real) / 2
    normal[:, 2, 2] = (n - e2_w.real) / 2
    normal[:, 1, 2] = normal[:, 2, 1] = e2_w.imag / 2
    rhs = np.stack([np.broadcast_to(ny, e_wy.shape), e_wy.real, e_wy.imag], axis=1)
    coefficients = np.linalg.solve(normal, rhs)
    return (coefficients, rhs) if np.ndim(y) == 2 else (coefficients[..., 0], rhs[..., 0])


def _chi2_gain(sigma, y, weight, frequencies):
    """Per frequency, the chi^2 an offset plus a sinusoid of it takes out of ``y`` (:func:`sinusoid_fits`)."""
    coefficients, rhs = sinusoid_fits(sigma, y, weight, frequencies)
    return np.einsum("fi,fi->f", rhs, coefficients)


def flat_periods(flat, sigma, column, upper):
    """The fringe flat's primary period (cm^-1) on each side of 16 um of a band, ``(below, above)``, None where absent.

    ``flat``, ``sigma``, ``column``: the band's lit pixels' FRINGE values, wavenumbers and detector columns;
    ``upper``: whether each pixel is above 16 um.  Per side, each column's ``flat - 1`` along its wavenumbers
    gives every frequency of the blind window (:data:`PRIMARY` +/- :data:`PRIMARY_WINDOW`, 8 per
    ``1 / width``) the chi^2 a sinusoid takes out (:func:`sinusoid_fits`, unit weights); the columns' sums
    peak at the period (the columns' phases differ with the detector's thickness, so their chi^2, not their
    values, are summed), over :data:`FLAT_COLUMNS` columns spread evenly over those that hold a period with two
    points per period.  A side of fewer than :data:`MIN_CAVITY_PERIODS` periods, or whose flat has no fringe
    (all of it 1 or not finite), has None.
    """
    flat, sigma, column, upper = (np.asarray(a) for a in (flat, sigma, column, upper))
    found = []
    for side in (~upper, upper):
        good = side & np.isfinite(flat) & np.isfinite(sigma)
        width = np.ptp(sigma[good]) if good.sum() > 1 else 0.0
        if width < MIN_CAVITY_PERIODS * PRIMARY or not np.any(flat[good] != 1):
            found.append(None)
            continue
        frequencies = np.arange(1 / (PRIMARY + PRIMARY_WINDOW), 1 / (PRIMARY - PRIMARY_WINDOW), 1 / (8 * width))
        pixels = np.flatnonzero(good)
        pixels = pixels[np.argsort(column[pixels], kind="stable")]
        columns = np.split(pixels, np.flatnonzero(np.diff(column[pixels])) + 1)
        usable = [on for on in columns if np.ptp(sigma[on]) >= PRIMARY + PRIMARY_WINDOW
                  and len(on) > 2 * np.ptp(sigma[on]) / (PRIMARY - PRIMARY_WINDOW)]
        gain = np.zeros(len(frequencies))
        for on in usable[::max(1, len(usable) // FLAT_COLUMNS)]:
            gain += _chi2_gain(sigma[on], flat[on] - 1, np.ones(len(on)), frequencies)
        found.append(float(1 / frequencies[np.argmax(gain)]) if gain.any() else None)
    return tuple(found)


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
    if not inside.any():  # a window narrower than the periodogram's bin: its nearest bin
        inside = np.abs(frequencies - 1 / centre) == np.min(np.abs(frequencies - 1 / centre))
    best = frequencies[inside][np.argmax(power[inside])]
    fine = best + np.linspace(-1, 1, 21) * (frequencies[1] - frequencies[0])
    return float(1 / fine[np.argmax(_chi2_gain(sigma, y, weight, fine))])


def noise_power(sigma, correlation, period):
    """``S(P)`` (module docstring): the planes' noise power at the period's frequency over white noise's.

    ``sigma``: the points' wavenumbers (cm^-1); ``correlation``: their (n, L) correlation with the points
    ``1 ... L`` rows on, or None (white: 1).  The lags' medians over the points and the median spacing stand
    for the band's.  At least 1: where the correlation would have less noise than white (periods of a few
    planes), the noise it does not describe (the references' per-pixel errors, white) is not trusted away.
    """
    if correlation is None or len(sigma) < 2:
        return 1.0
    rho = np.median(np.nan_to_num(np.asarray(correlation, float)), axis=0)
    spacing = np.median(np.abs(np.diff(sigma)))
    lags = np.arange(1, len(rho) + 1)
    return float(max(1 + 2 * np.sum(rho * np.cos(2 * np.pi * lags * spacing / period)), 1.0))


def scan_threshold(scanned):
    """The chi^2 ``2 z`` that the best sinusoid of a period scan takes out of noise with probability FALSE_ALARM.

    ``scanned``: the scan's independent periods ``M`` (its width in frequency times the band's in wavenumber).
    Noise's best over a continuous scan exceeds ``2 z`` with probability ``M sqrt(z) exp(-z)`` (Baluev 2008,
    MNRAS 385, 1279, eq. for the periodogram of known noise, alias-free), not ``M exp(-z)`` (``M`` independent
    trials): the peak between the independent periods adds the ``sqrt(z)``, ~3x at 1 %, which the
    trials' count missed (on correlated noise with its power divided out, 4C's false alarms were 3.8 % of
    spectra against the 1 % meant).  ``z`` by fixed point from ``ln(M / FALSE_ALARM)``.
    """
    z = base = np.log(max(scanned, 1.0) / FALSE_ALARM)
    for _ in range(50):
        z = base + 0.5 * np.log(z)
    return 2 * z


def _significant(design, coeffs, y, weight, periods, drift, width, correlation=None, sigma=None, windows=None):
    """Which columns of a fringe fit (:func:`_fringe_design`) to divide out: those of a fringe above the noise.

    Per period, all its terms (harmonics times drift) are kept if they take more out of chi^2, given the other
    periods' fitted terms, than :data:`SIGNIFICANCE` times their number (noise takes ~1 per term) plus
    ``2 ln M``, the best of the scan's ``M`` independent periods on noise; else its **base** alone (the first
    harmonic at a constant amplitude: 2 terms) if it takes more than the chi^2 that noise's best over the scan
    exceeds with probability :data:`FALSE_ALARM` (:func:`scan_threshold`); else none.  A weak fringe
    is a sinusoid that the drift's and the harmonic's terms would drown.  Each chi^2 is over the period's
    :func:`noise_power` with the points' ``correlation`` (at wavenumbers ``sigma``; None: white noise).
    ``windows``: each period's scan ``(centre, half width)``, cm^-1 (default: the blind windows).
    """
    columns = np.cumsum([0] + [2 * harmonics * (drift + 1) for _, harmonics in periods])
    residual = y - design @ coeffs
    chi2 = np.sum((weight * residual) ** 2)
    kept = np.zeros(design.shape[1], bool)
    windows = (windows or ((PRIMARY, PRIMARY_WINDOW), (DICHROIC, DICHROIC_WINDOW)))[:len(periods)]
    for (centre, half_width), (period, _), first, last in zip(windows, periods, columns[:-1], columns[1:],
                                                              strict=True):
        scanned = max(width * (1 / (centre - half_width) - 1 / (centre + half_width)), 1)
        power = noise_power(sigma, correlation, period)
        # the columns of a period run wave (cos, sin of each harmonic) major, drift term minor
        for group, threshold in ((np.arange(first, last), SIGNIFICANCE * (last - first) + 2 * np.log(scanned)),
                                 (np.array([first, first + drift + 1]), scan_threshold(scanned))):
            part = design[:, group] @ coeffs[group]
            if (np.sum((weight * (residual + part)) ** 2) - chi2) / power > threshold:
                kept[group] = True
                break
    return kept


def _fit_band(sigma, flux, error, channel, cavities, correlation=None, flat_period=None):
    """``1 + F`` on a band's points (module docstring) and, per cavity, its ``(period, amplitude, dichroic period)``.

    ``cavities``: a boolean mask of the points per detector cavity whose fringe is fitted; ``C`` is one series over
    all the points (the source's continuum does not know where the cavity changes), each cavity's ``F`` its own.
    ``correlation``: the points' (n, L) noise correlation (:func:`noise_power`), or None (white noise);
    ``flat_period``: per cavity, the fringe flat's period or None (module docstring; None: blind scans).
    """
    flat_period = flat_period or [None] * len(cavities)
    windows = [((PRIMARY, PRIMARY_WINDOW) if p is None else (p, FLAT_PERIOD_WINDOW), (DICHROIC, DICHROIC_WINDOW))
               for p in flat_period]
    t = 2 * (sigma - sigma.min()) / np.ptp(sigma) - 1
    continuum_design = _legendre(t, max(2, int(np.ptp(sigma) / PRIMARY / CONTINUUM_PERIODS)))
    widths = [np.ptp(sigma[on]) for on in cavities]  # cm^-1
    ts = [2 * (sigma[on] - sigma[on].min()) / np.ptp(sigma[on]) - 1 for on in cavities]
    drifts = [max(1, int(width / PRIMARY / DRIFT_PERIODS)) for width in widths]
    local = np.ones(len(sigma))  # s of the module docstring: the residual's local rms in units of the error
    factor = np.ones(len(sigma))
    periods = [[] for _ in cavities]
    designs, coeffs = [None for _ in cavities], [None for _ in cavities]
    half = int(PRIMARY / np.median(np.abs(np.diff(sigma))) / 2)  # the local noise's box: one fringe period
    box = np.ones(2 * half + 1) / (2 * half + 1)
    for round_ in range(ITERATIONS):
        w = 1 / (error * local)
        continuum = continuum_design @ _solve(continuum_design * (w * factor)[:, None], w * flux)
        y, weight = flux / continuum - 1, np.abs(continuum) / (error * local)
        for k, (on, t_k) in enumerate(zip(cavities, ts, strict=True)):
            # each period scanned with weights from a round whose model lacks it (no period imprinted on them):
            if round_ == CONTINUUM_ROUNDS:  # the primary, once the continuum's weights have settled
                periods[k] = [(_best_period(sigma[on], y[on], weight[on], *windows[k][0]), 2)]
            if round_ == CONTINUUM_ROUNDS + 1:  # the dichroic, after a round with the primary; the drift the
                # fitting points hold
                fitting = np.mean(local[on] < CLEAN_LOCAL * np.quantile(local, 0.1))
                drifts[k] = max(1, int(widths[k] / PRIMARY * fitting / DRIFT_PERIODS))
                # the dichroic fringe only where the points sample it: the scan's even grid has their number
                if channel in DICHROIC_CHANNELS and on.sum() / (2 * widths[k]) > 1 / (DICHROIC + DICHROIC_WINDOW):
                    periods[k].append((_best_period(sigma[on], y[on], weight[on], DICHROIC, DICHROIC_WINDOW), 1))
            if round_ in (CONTINUUM_ROUNDS, CONTINUUM_ROUNDS + 1):  # the periods and drift set: their columns
                designs[k] = _fringe_design(sigma[on], t_k, periods[k], drifts[k])
            if round_ >= CONTINUUM_ROUNDS:
                coeffs[k] = _solve(designs[k] * weight[on, None], weight[on] * y[on])
                factor[on] = 1 + designs[k] @ coeffs[k]
        local = np.sqrt(np.maximum(np.convolve(((flux - continuum * factor) / error) ** 2, box, mode="same"), 1))
    found = []
    for k, on in enumerate(cavities):
        kept = _significant(designs[k], coeffs[k], y[on], weight[on], periods[k], drifts[k], widths[k],
                            None if correlation is None else correlation[on], sigma[on], windows[k])
        factor[on] = 1
        if kept.any():  # the kept terms refitted alone
            design = designs[k][:, kept]
            factor[on] += design @ _solve(design * weight[on, None], weight[on] * y[on])
        dichroic = float(periods[k][1][0]) if len(periods[k]) > 1 and kept[-2 * (drifts[k] + 1):].any() else None
        found.append((float(periods[k][0][0]), float(np.sqrt(2) * np.std(factor[on] - 1)), dichroic))
    return factor, found


def fit(wavelength, flux, error, usable, channel, correlation=None, flat_period=(None, None)):
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
    correlation : (n, L) float, optional
        Each row's noise correlation with the ``1 ... L`` rows after it (the x1d's ``plane_correlation``); None:
        independent rows.
    flat_period : (float or None, float or None)
        The fringe flat's period below and above 16 um (:func:`flat_periods`); None: a blind scan there.

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
    if correlation is not None and (np.ndim(correlation) != 2 or len(correlation) != len(flux)):
        raise CalibrationInputError(f"residual_fringe needs a correlation of one row per point, got shape "
                                    f"{np.shape(correlation)} for {len(flux)} points")
    factor, found, _ = _factor(wavelength, flux, error, usable, channel, correlation=correlation,
                               flat_period=flat_period)
    return flux / factor, error / factor, found


def _factor(wavelength, flux, error, usable, channel, cavity_periods=MIN_CAVITY_PERIODS, correlation=None,
            flat_period=(None, None)):
    """``(1 + F, FringeFit, where a fringe was fitted)`` of a spectrum (``F`` 0 where not; as :func:`fit`'s).

    Only the sides of 16 um spanning ``cavity_periods`` fringe periods are fitted (and hold the continuum);
    ``correlation`` and ``flat_period`` as :func:`fit`'s.
    """
    good = usable & np.isfinite(wavelength) & np.isfinite(flux) & np.isfinite(error) & (error > 0) & (wavelength > 0)
    factor, fitted = np.ones(len(flux)), np.zeros(len(flux), bool)

    def fits(on, periods):  # spans the periods, with points enough to sample the shortest period scanned
        span = np.ptp(1e4 / wavelength[on]) if on.any() else 0.0
        return span >= periods * PRIMARY and on.sum() >= 2 * span / (PRIMARY - PRIMARY_WINDOW)

    sides, side_periods = [], []
    for on, period in zip((good & (wavelength < CAVITY_SWITCH_UM), good & (wavelength >= CAVITY_SWITCH_UM)),
                          flat_period or (None, None), strict=True):
        if fits(on, cavity_periods):
            sides.append(on)
            side_periods.append(period)
    used = np.logical_or.reduce(sides) if sides else np.zeros(len(flux), bool)
    if not fits(used, MIN_PERIODS):
        return factor, FringeFit(()), fitted
    factor[used], found = _fit_band(1e4 / wavelength[used], flux[used], error[used], channel,
                                    [on[used] for on in sides], None if correlation is None else correlation[used],
                                    side_periods)
    for on, segment in zip(sides, found, strict=True):
        fitted[on] = segment[1] > 0
    return factor, FringeFit(tuple(found)), fitted


def columns(values, var, pixels, good, channel):
    """Variant ``fit`` of step ``residual_fringe_2d``: the residual fringe fitted per detector column, divided out.

    As jwst's ``residual_fringe`` step on the cal image (before cube_build): within each slice, each
    detector column's pixels, in order of wavelength, are a spectrum; its ``1 + F_c`` is :func:`fit`'s, each
    side of 16 um only over :data:`MIN_PERIODS` periods (with the 1-D fit's :data:`MIN_CAVITY_PERIODS` the
    columns of 3C's short side, noisier than the x1d, left 1.33 % in mrs_fringes' 3C against 0.56 %).
    Across a slice's columns the fringe varies smoothly (a point source's phase is set by where it sits in
    the slice, the same for all its columns; the detector's thickness drifts slowly), so each column
    divides by

        1 + sum_j w_j F_j(sigma) / sum_j w_j,   j = c - SMOOTH_COLUMNS ... c + SMOOTH_COLUMNS,

    ``F_j`` interpolated in wavenumber onto column ``c``'s pixels (a cubic spline, on each side of
    :data:`CAVITY_SWITCH_UM` apart: a linear interpolation of a 3 % fringe at ~11 pixels a period errs by
    ~0.1 %; never extrapolated: a neighbour counts only within the range it was fitted over) and
    ``w_j = sum (value / error)^2`` of column ``j`` when its fit found a fringe above the noise, else 0
    (the precision of a fitted fringe goes as the column's S/N squared), only where column ``c``'s own fit
    found one: a column, or a part of it, without a fringe above its noise is left as it is.  The
    variance is divided by the same factor squared.

    Parameters
    ----------
    values, var : (n,) float
        A band's pixels' surface brightness (or rate) and variance (:func:`calibration.mrs_photom.reference`).
    pixels : calibration.mrs_wcs.MrsPixels
        The band's pixels (their slice, column and wavelength).
    good : (n,) bool
        The pixels to fit (:func:`calibration.mrs_wcs.usable`); the others are divided but not fitted.
    channel : int

    Returns
    -------
    (values, var, note), or a Skip when no column of the band spans :data:`MIN_PERIODS` fringe periods.
    """
    sigma = 1e4 / pixels.wavelength
    factor, columns_fitted, columns_total = np.ones(len(values)), 0, 0
    with np.errstate(invalid="ignore"):
        error = np.sqrt(var)
        good = good & np.isfinite(values) & (error > 0)
    for k in np.unique(pixels.slice):
        in_slice = np.flatnonzero(pixels.slice == k)
        fits = {}  # column -> (its pixels by wavenumber, their sigma, F there, where F was fitted, weight)
        for column in np.unique(pixels.x[in_slice]):
            idx = in_slice[pixels.x[in_slice] == column]
            idx = idx[np.argsort(sigma[idx])]
            f, found, fitted = _factor(pixels.wavelength[idx], values[idx], error[idx], good[idx], channel,
                                       MIN_PERIODS)
            columns_total += bool(found.segments)
            columns_fitted += fitted.any()
            weight = float(np.sum((values[idx] / error[idx])[good[idx]] ** 2)) if fitted.any() else 0.0
            fits[column] = (idx, sigma[idx], f - 1, fitted, weight)
        for column, (idx, own_sigma, _, own_fitted, weight) in fits.items():
            if weight == 0:
                continue
            total, weights = np.zeros(len(idx)), np.zeros(len(idx))
            for j in range(column - SMOOTH_COLUMNS, column + SMOOTH_COLUMNS + 1):
                if j not in fits or fits[j][4] == 0:
                    continue
                _, s, f, fitted, w = fits[j]
                for side in (s > 1e4 / CAVITY_SWITCH_UM, s <= 1e4 / CAVITY_SWITCH_UM):  # each cavity's fit apart
                    on = fitted & side
                    if on.sum() < 4:
                        continue
                    inside = own_fitted & (own_sigma >= s[on][0]) & (own_sigma <= s[on][-1])  # no extrapolation
                    total[inside] += w * CubicSpline(s[on], f[on])(own_sigma[inside])
                    weights[inside] += w
            done = weights > 0
            factor[idx[done]] = 1 + total[done] / weights[done]
    if columns_total == 0:
        return Skip(f"no detector column of the band spans {MIN_PERIODS} fringe periods")
    note = f"{columns_fitted} of {columns_total} columns with a fringe above their noise"
    return values / factor, var / factor**2, note
