"""The testbed's MRS spectral-leak calibration: the MRSPTCORR's leak curve fitted on simulated calibration exposures.

As a calibration programme would (issue 17; the geometry, PHOTOM, fringe flat and cross-artifact kernels are
measured the same way), the testbed observes a source bright at 6 um in band 1B (MIRIFUSHORT MEDIUM) and in band
3A (MIRIFULONG SHORT) through the TRUE instrument (:func:`simulator.mrs.leak_exposures`), calibrates each pixel with
the MEASURED PHOTOM the science will be calibrated with, and fits the leak knowing only its form:

1. **Source.**  A UNIFORM extended source filling the field, a :data:`SOURCE_TEMPERATURE_K` blackbody of
   :data:`SOURCE_MJY_SR` at :data:`SOURCE_REF_UM` (PLACEHOLDER design: no astronomical source is hot, uniform and
   this extended; it stands for the real programme's, e.g. a blue star rastered over the field).  Uniform, so each
   pixel's surface brightness needs no PSF or aperture correction: a point source's would need the fraction of the
   6 um PSF against the 12 um PSF that the field and the extraction hold (~1 %, more than the error sought).  Hot,
   so the leak is large against 3A's own continuum (``f I(lambda / 2) / I(lambda)`` = 12 % at the peak for the
   placeholder curve: the same source as the suite's ``point_3a``).  The band's sky (the zodiacal + thermal
   placeholders, :func:`simulator.mrs.render_sky`, with its own leak on 3A) is added, as it would be there.
2. **Exposures.**  Each band through its TRUE pixels (:class:`simulator.mrs.TruePixels`): the source
   (:func:`simulator.mrs.render_extended`), on 3A its leak (:class:`simulator.spectral_leak.LeakSpectrum`, the
   truth's curve; a uniform source leaks with no PSF to it), the throughput decay at :data:`EPOCH_MJD`;
   then :data:`INTEGRATIONS` integrations, each as long as fills the brightest pixel to :data:`WELL_FILL` of
   the full well (:func:`integration_s`), of Poisson electrons plus a CDS read noise per integration
   (:func:`observe`).  The detector's other effects (dark, nonlinearity, bad pixels, cosmic rays, fringes,
   the cross-artifact) are taken as removed by the programme's own calibration.
3. **Calibration** (:func:`surface_brightness`).  Each pixel's rate times its band's MEASURED PHOTOM as the
   science reads it: ``I_p = r_p / E_p (1 + e_b(lambda_p)) / c_b(lambda_p, t)``, ``E_p`` the pixel's e-/s per
   MJy/sr (so ``r_p / E_p`` is the rate in DN/s times the PHOTOM's true ``g_p / E_p``), ``e_b`` the PHOTOM's
   drawn error and ``c_b`` its TIMECOEFF power law (:func:`timecoeff_correction`).  3A's is the PHOTOM the same
   exposure set writes; 1B's the one the 1B exposure of the same seed writes (its band pair's generator,
   :func:`simulator.mrs.band_pair_generator`), so the measured curve carries ``(1 + e_3A(lambda)) /
   (1 + e_1B(lambda / 2))`` and the PHOTOMs' scaling of the leak cancels in the correction ``3A - f_m 1B``.
   The calibration exposures are at :data:`EPOCH_MJD`, the science at its own epoch: the TIMECOEFF's error
   against the truth (the linear term the power law cannot follow, the monitoring's noise) differs between
   the two epochs by <= 5e-4 of the ratio 3A over 1B from MJD 59800 to 61200 (7e-5 of the continuum at
   the leak's 12 % peak).
4. **Fit** (:func:`fit`).  The correction's model ``I_3A(lambda) = C(lambda) + f(lambda) I_1B(lambda / 2)``
   over ``lambda_0 +/- WINDOW_SIGMA sigma`` of the NOMINAL curve (:class:`simulator.config.MrsEffects`'
   defaults, not the truth's): ``f`` a Gaussian (amplitude, centre, sigma); ``C`` the source through the
   instrument, known only to be smooth, so a polynomial of degree :data:`CONTINUUM_DEGREE` divided by the
   PHOTOM's time correction ``c_3A`` the pixels were divided by (the programme knows its own reference: the
   monitoring fit's bins, 0.1 um apart, each with its own noise, put wiggles of ~3e-4 into ``1 / c_3A``, which
   a polynomial in the calibrated domain cannot follow and the Gaussian took, 0.3-0.6 % of ``f`` at chi^2/dof
   33-109); ``I_1B`` the 1B pixels' mean in bins of ``BIN_UM / 2``, linear between them.  The 3A pixels are
   averaged in bins of :data:`BIN_UM` by their wavelength (the mean, not the median: the pixels of a bin
   differ in wavelength, and the model is averaged over the same pixels, so binning adds no bias; the
   exposure has no outliers) and fitted by weighted least squares (``scipy.optimize.least_squares``, analytic
   Jacobian), each bin's variance from the pixels' counts (Poisson and read noise estimated from the data)
   plus ``f^2`` times the interpolated 1B mean's.  Errors: ``(J^T J)^-1`` times the reduced chi^2 when it
   is above 1 (never below the noise's); ``err_leak`` the curve's 1-sigma from the (amplitude, centre,
   sigma) block.  Pixels get the wavelengths the calibration assigns them: 3A's from the measured geometry
   written beside (its measured velocity), 1B's flight ones (1B's measured geometry is another exposure's;
   its <= 3 km/s error moves a 10^4 K source's ``I_1B`` by <= 2e-5 of itself).  What the fit measures is the
   leak as 3A's pixels hold it, through 3A's line-spread function and each pixel's box in wavelength ``w``:
   ``sigma^2 + sigma_LSF^2 + w^2 / 12`` wide, its peak lower by as much (1.7e-4 at 12.2 um), as the science's
   leak is.

No inverse crime beyond what the design accepts: the leak's FORM is a Gaussian both in the simulator's truth and in
this fit (the truth's curve is itself a PLACEHOLDER Gaussian; a real grating's second order has a form of its own,
which the fit would then have to follow), so on a noise-free exposure with perfect PHOTOMs the fit returns the
truth to the continuum polynomial's and the bins' accuracy, and its error is the measurement's: the two PHOTOMs'
errors (by design: they cancel in the correction), the noise, the epochs' TIMECOEFF errors, the wavelengths.
Measured (``benchmarks/mrs_leak_fit.py``, the suite ``mrs_leak``'s ``point_3a``, seeds 1-8): the fitted curve against
the one the correction needs (the truth's times the PHOTOMs' ratio and TIMECOEFF errors at the science's epoch)
3.0e-4 of ``f`` rms, weighted by the leak's shape; the stated error (the noise's, 1.2e-4) is 2.6 times smaller,
since the PHOTOMs' ratio is not constant under the leak (its cubics' slope, the TIMECOEFF bins' steps), which a
Gaussian times a constant does not follow; noise-free with perfect PHOTOMs the truth's curve as the pixels hold it
to 6e-8.  Cost (CPU): ~0.25 s to render, observe, calibrate and fit both bands, plus ~0.7 s for band 1B's flight
pixel map (:func:`simulator.mrs.flight_pixels`, once per process).
"""
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from miri_testbed.instrument import detector as det

from .spectra import Blackbody, SourceSpectrum
from .spectral_leak import ORDER, LeakCurve

#: The calibration source (module docstring, 1): a blackbody of this temperature, K, with this surface brightness,
#: MJy/sr, at this wavelength, um (PLACEHOLDERS: a programme's design).
SOURCE_TEMPERATURE_K, SOURCE_MJY_SR, SOURCE_REF_UM = 1.0e4, 3.0e4, 12.2
#: The brightest pixel's share of the full well in one integration (PLACEHOLDER: a programme's choice).
WELL_FILL = 0.6
#: Integrations of each band's exposure (PLACEHOLDER).
INTEGRATIONS = 10
#: The calibration exposures' epoch, MJD (PLACEHOLDER: a programme in the mission's second year).
EPOCH_MJD = 60100.0
#: The 3A bins' width, um (the 1B bins': half of it).
BIN_UM = 0.01
#: The fit's window: the nominal centre +/- this many nominal sigmas.
WINDOW_SIGMA = 8.0
#: The continuum polynomial's degree over the window.
CONTINUUM_DEGREE = 4
_ARCSEC2_SR = (np.pi / 180 / 3600) ** 2


def source():
    """The calibration source's spectrum per arcsec^2 (module docstring, 1), as ``render_extended`` takes it."""
    return SourceSpectrum(Blackbody(SOURCE_TEMPERATURE_K, SOURCE_MJY_SR * 1e9 * _ARCSEC2_SR, SOURCE_REF_UM), ())


def read_noise_e():
    """The read noise of one exposure, e- per pixel: a CDS pair's per integration, over :data:`INTEGRATIONS`."""
    return det.READ_NOISE_CDS_DN * det.GAIN_E_PER_DN * np.sqrt(INTEGRATIONS)


def integration_s(expected_e_per_s):
    """One integration's length, s: the brightest pixel at :data:`WELL_FILL` of the full well."""
    return WELL_FILL * det.FULL_WELL_E / float(np.max(expected_e_per_s))


def observe(expected_e_per_s, rng):
    """A band's exposure (module docstring, 2): ``(rate, variance)`` e-/s per pixel and its variance.

    The variance is estimated from the counts themselves (Poisson plus the read noise), as the programme would;
    ``rng`` None: the expected rate, noise-free, with the variance the counts would have.
    """
    exposure_s = integration_s(expected_e_per_s) * INTEGRATIONS
    expected = expected_e_per_s * exposure_s
    electrons = expected if rng is None else rng.poisson(expected) + read_noise_e() * rng.standard_normal(
        expected.shape)
    return electrons / exposure_s, (np.maximum(electrons, 0) + read_noise_e() ** 2) / exposure_s**2


def timecoeff_correction(table, wavelength_um, mjd):
    """The PHOTOM's time correction ``c(lambda, t)`` of a ``timecoeff_powerlaw_ch<c>`` table, as calibration applies it.

    Each bin's ``min(1, year1value ((t - t0 + tsoft) / (365 + tsoft))^alpha)``, linear in lambda between the bins.
    """
    binwave, t0, y1, ts, alpha = (np.asarray(table[c], float) for c in ("binwave", "t0", "year1value", "tsoft",
                                                                        "alpha"))
    per_bin = np.minimum(y1 * ((mjd - t0 + ts) / (365.0 + ts)) ** alpha, 1.0)
    return np.interp(wavelength_um, binwave, per_bin)


def surface_brightness(rate, variance, electrons_per_mjy_sr, error, correction):
    """Each pixel's MJy/sr and its variance (module docstring, 3).

    ``electrons_per_mjy_sr``: ``E_p``; ``error``: ``e_b`` at the pixels (0 for a perfect PHOTOM); ``correction``:
    ``c_b`` at the pixels and the exposure's epoch.
    """
    factor = (1 + error) / (electrons_per_mjy_sr * correction)
    return rate * factor, variance * factor**2


@dataclass(frozen=True)
class LeakFit:
    """The fitted leak (:func:`fit`).

    Parameters
    ----------
    curve : simulator.spectral_leak.LeakCurve
    covariance : (3, 3) float
        Of (peak, centre, sigma).
    chi2 : float
    dof : int
    bins : int
        The 3A bins fitted.
    """

    curve: LeakCurve
    covariance: np.ndarray
    chi2: float
    dof: int
    bins: int

    @property
    def errors(self):
        """1-sigma of (peak, centre, sigma)."""
        return np.sqrt(np.diag(self.covariance))

    def curve_error(self, wavelength_um):
        """The curve's 1-sigma at ``wavelength_um``, from the parameters' covariance."""
        lam = np.asarray(wavelength_um, float)
        c = self.curve
        z = (lam - c.centre_um) / c.sigma_um
        f = c(lam)
        gradient = np.stack([f / c.peak, f * z / c.sigma_um, f * z**2 / c.sigma_um])
        return np.sqrt(np.einsum("in,ij,jn->n", gradient, self.covariance, gradient))


def _bins(wavelength, edges):
    """``(keep, index, n)``: the pixels inside ``edges``, their bins among those holding any, those bins' counts."""
    index = np.digitize(wavelength, edges) - 1
    keep = (index >= 0) & (index < len(edges) - 1)
    count = np.bincount(index[keep], minlength=len(edges) - 1)
    full = count > 0
    return keep, np.cumsum(full)[index[keep]] - 1, count[full]


def _binned(wavelength, value, variance, edges):
    """Mean wavelength, value and the mean's variance in each bin of ``edges`` holding pixels."""
    keep, index, n = _bins(wavelength, edges)

    def total(x):
        return np.bincount(index, x[keep], minlength=len(n))

    return total(wavelength) / n, total(value) / n, total(variance) / n**2


def fit(leak_band, source_band, nominal):
    """The leak curve fitted on the two calibrated exposures (module docstring, 4).

    Parameters
    ----------
    leak_band : tuple of (n,) float
        3A's pixels: ``(wavelength, surface brightness, variance, correction)``, ``correction`` the PHOTOM's time
        correction they were divided by (a scalar or per pixel).
    source_band : tuple of (n,) float
        1B's pixels: ``(wavelength, surface brightness, variance)``.
    nominal : simulator.spectral_leak.LeakCurve
        The nominal curve: the window and the start.

    Returns
    -------
    LeakFit
    """
    lo = nominal.centre_um - WINDOW_SIGMA * nominal.sigma_um
    hi = nominal.centre_um + WINDOW_SIGMA * nominal.sigma_um
    half = BIN_UM / ORDER
    source = _binned(*source_band, np.arange(lo / ORDER - 2 * half, hi / ORDER + 2 * half, half))
    lam, value, variance, correction = (np.broadcast_to(np.asarray(a, float), np.shape(leak_band[0]))
                                        for a in leak_band)
    keep, index, n = _bins(lam, np.arange(lo, hi + BIN_UM / 2, BIN_UM))
    lam, value, variance, correction = lam[keep], value[keep], variance[keep], correction[keep]

    def mean(x):
        return np.bincount(index, x, minlength=len(n)) / n

    t = (lam - nominal.centre_um) / (WINDOW_SIGMA * nominal.sigma_um)
    powers = np.stack([mean(t**k / correction) for k in range(CONTINUUM_DEGREE + 1)], axis=1)
    g = np.interp(lam / ORDER, source[0], source[1])
    g_variance = mean(np.interp(lam / ORDER, source[0], source[2]))
    y = mean(value)
    y_variance = np.bincount(index, variance, minlength=len(n)) / n**2
    bin_lam = mean(lam)

    def parts(p):
        peak, centre, sigma = p[:3]
        z = (lam - centre) / sigma
        f = peak * np.exp(-0.5 * z**2)
        return f, z, sigma

    def model(p):
        f, _, _ = parts(p)
        return powers @ p[3:] + mean(f * g)

    def jacobian(p, weight):
        f, z, sigma = parts(p)
        columns = [mean(f / p[0] * g), mean(f * z / sigma * g), mean(f * z**2 / sigma * g)]
        return np.column_stack([*columns, powers]) * weight[:, None]

    p = np.array([nominal.peak, nominal.centre_um, nominal.sigma_um])
    coeffs = np.linalg.lstsq(powers, y - model(np.r_[p, np.zeros(CONTINUUM_DEGREE + 1)]), rcond=None)[0]
    p = np.r_[p, coeffs]
    for _ in range(2):  # the weights take the 1B mean's variance through the fitted f: once from the start, once again
        weight = 1 / np.sqrt(y_variance + LeakCurve(*p[:3])(bin_lam) ** 2 * g_variance)
        result = least_squares(lambda q, w=weight: (model(q) - y) * w, p, jac=lambda q, w=weight: jacobian(q, w),
                               method="lm", xtol=1e-12, ftol=1e-12)
        p = result.x
    jac = jacobian(p, weight)
    dof = len(y) - len(p)
    chi2 = float(np.sum(result.fun**2))
    covariance = np.linalg.inv(jac.T @ jac) * max(chi2 / dof, 1.0)
    return LeakFit(LeakCurve(*(float(v) for v in p[:3])), covariance[:3, :3], chi2, dof, len(y))
