"""Score an LRS exposure's extracted spectrum (x1d) against its true lines: wavelengths.

The product (issue 15, the x1d contract): a ``MultiSpecModel`` with one ``spec`` per
extracted source, named ``"source <id>"`` (the truth's source id), whose ``spec_table``
gives for each extracted detector row its WAVELENGTH (um, as the calibration assigns
it), FLUX and FLUX_ERROR (DN/s summed over the aperture until an LRS PHOTOM exists) and
DQ.  Rows flagged DO_NOT_USE, or with a non-finite flux or a non-positive error, are
left out of every fit.

For each true line of an extracted source (truth ``LINES``, read through
:func:`validation.score.as_truth`), in the row coordinate ``u`` (the table's index: one
entry per detector row, consecutive rows in either order):

1. **Where it should be.**  ``u_true``, where the spectrum's own WAVELENGTH, a cubic
   spline through the rows of the line's window, equals the true centre; the
   dispersion ``d = d lambda / d u`` there.  The window is ``u_true +/- H`` rows,
   ``H = max(MIN_HALF_WINDOW, ceil(WINDOW_SIGMA sigma_u))``, with the expected line
   width ``sigma_u = sqrt(s_psf^2 + s_line^2)`` rows: ``s_psf`` the LRS spatial FWHM,
   :data:`instrument.lrs.SPATIAL_FWHM_PIX` at 7.7 um (params 6), scaled with wavelength as diffraction
   (FWHM ~ lambda / D, params 7), over 2.3548; ``s_line`` the line's own true FWHM over
   ``2.3548 |d|``.  A line whose window leaves the spectrum, or whose WAVELENGTH is not
   finite and strictly monotone there, is *out of range*; one with another line of its
   source inside its window is *blended*; neither is scored.
2. **Its expected S/N**, from the truth and the spectrum's continuum and errors, never
   from the line itself: the equivalent width ``W = F_line / F_lambda(centre)`` (truth
   ``flux_w_m2`` and ``continuum_mjy``, ``F_lambda = F_nu c / lambda^2``; the same ratio
   of line photons to continuum photons per um), the continuum ``C`` (DN/s per row: the
   median FLUX of the window's rows beyond ``3 sigma_u`` of ``u_true``) and the noise
   ``e`` (the median FLUX_ERROR of the window) give the line's DN/s ``S = W C / |d|`` and
   ``S/N = |S| sqrt(sum_i g_i^2) / e``, with ``g_i`` the fraction of a Gaussian of
   ``sigma_u`` at ``u_true`` falling in row ``i``: the S/N of the line's flux fitted
   with its centre and width known (a matched filter).  Lines below
   :data:`MIN_EXPECTED_SNR` are not scored; nor are lines on a zero continuum, whose
   S/N this cannot predict.
3. **Its measured centre**: a weighted least-squares fit (trust-region reflective,
   :func:`scipy.optimize.curve_fit` with ``absolute_sigma``; Bevington & Robinson,
   *Data Reduction and Error Analysis for the Physical Sciences*, ch. 8) of

       FLUX_i = (c0 + c1 (u_i - u_true)) W_i + A [Phi((u_i + 1/2 - mu) / sigma) - Phi((u_i - 1/2 - mu) / sigma)]

   over the window's usable rows, weights ``1 / FLUX_ERROR^2``: a Gaussian integrated
   over each row (``A``: the line's DN/s summed over rows; the LRS undersamples its
   line spread at 5 um) on a continuum linear in F_lambda seen through the rows
   (:func:`continuum_widths`: each row's wavelength width, from the spectrum's own
   WAVELENGTH, blurred by the expected line spread).  When FLUX is a flux density (Jy
   after the photometric calibration: :attr:`Spectrum.per_row` False) the calibration
   divided every row by its width, so the continuum is straight (``W_i = 1``) and the
   line's row fractions are divided by ``W_i`` instead: left as they were, the rows'
   widths, which change by ~5 % a row at 6 um, would skew the line (1.4 nm at 5.8 um on
   the lrs suite's slitless spectrum).  The centre's error is the
   covariance's (for a Gaussian line: Lenz & Ayres 1992, PASP 104, 1104).

   The fit is in rows, not in WAVELENGTH: the line spread function is symmetric in
   detector rows, while the dispersion changes across a line, so a Gaussian in
   wavelength is off by ~``(1/2) lambda'' sigma^2`` (noise-free slitless lines rendered by
   the simulator: -2.7, -1.9, -1.4 nm at 5.15, 5.3, 5.6 um; in rows: 0.05, -0.09, 0.002 nm).  The
   continuum is not a straight line in rows: the flight SPECWCS's dispersion wiggles by
   a few % with a period of ~6 rows (at 6-7 um), which leaves ~1 % ripples in a smooth
   continuum; a straight continuum put lines whose peak equals the continuum's 1.6-2.1 nm
   off at 6.6-7.1 um, the blurred widths 0.3-0.5 nm (0.2 nm at 5x the line flux).  The
   fitted centre row is read as wavelength through the spline: ``lambda(mu)``, its
   error ``|lambda'(mu)| sigma_mu``.
   The line is *lost* when its usable rows hold less than :data:`MIN_COVERAGE` of its
   expected light (a dropout on it), or when the fit fails: it does not converge, its
   covariance is not finite, its centre ends within half a row of the window's edge or
   its width at a bound (:data:`SIGMA_BOUNDS` x ``sigma_u``), or its flux has the wrong
   sign or an S/N below :data:`MIN_FIT_SNR`; and when the spectrum has no usable row in
   the window's continuum (its expected S/N is then unknown).

Metrics (rows of the long form of :mod:`validation.runner`); per scored line, with
``source_id``, ``bin`` = the line's true centre (um) and ``snr`` = its expected S/N:

* ``lrs_wavelength_error``: measured - true centre, nm;
* ``lrs_wavelength_error_kms``: the same as a velocity, ``c (measured - true) / true``, km/s;
* ``lrs_wavelength_error_calibration``: the calibration's share of the error, nm: the error
  less the target acquisition's, ``lambda_T(y_T(lambda) + dy) - lambda``, the wavelength
  the true trace (truth ``TRACE``) gives where a source ``dy`` rows off the reference point
  (truth ``SOURCES``: its acquisition miss across the slit) puts the line
  (:func:`placement_error_um`).  No calibration sees ``dy`` (target acquisition is good to
  < 10 mas, JDox "MIRI LRS Slit/Slitless Target Acquisition", ~0.09 row, 2-5 nm at 6 um);
  the slit's cut of an off-centre PSF moves its light less than ``dy``, so through the slit
  this share keeps a part of the miss;
* ``lrs_wavelength_pull``: measured - true over the fit's error (the wavelength
  solution's own error is not in it: a pull far from 1 in width says the wavelength
  scale, not the noise, sets the error);
* ``lrs_line_snr``: the measured S/N of the line's flux, ``A / sigma_A`` (signed:
  negative for an absorption line);

per exposure: ``lrs_lines_expected`` (lines in range, unblended, expected S/N >=
:data:`MIN_EXPECTED_SNR`) and ``lrs_lines_lost`` (those whose fit failed): the
catastrophes a median or a range over the fitted lines does not see.

The spectrophotometry (:mod:`validation.lrs_flux`) and the dropouts
(:mod:`validation.lrs_dropouts`) are the x1d's other scorers.  A line's flux relative to
its continuum from a Gaussian fit is biased by the non-Gaussian wings of the line spread
function by an amount this scorer cannot know (docs/lrs.md, "Scoring"): no line-flux metric.
"""
import math
import re
from dataclasses import dataclass

import numpy as np
from astropy import constants, units
from scipy.interpolate import CubicSpline
from scipy.optimize import curve_fit
from scipy.special import ndtr
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq, lrs
from miri_testbed.simulator.spectra import SourceSpectrum, spectrum_from_dict

from .score import ScoreInputError, as_truth, open_product

TRUTH = ("LINES", "SOURCES", "TRACE")
METRICS = ("lrs_wavelength_error", "lrs_wavelength_error_kms", "lrs_wavelength_error_calibration",
           "lrs_wavelength_pull", "lrs_line_snr", "lrs_lines_expected", "lrs_lines_lost")
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: The fit window's half width: WINDOW_SIGMA expected sigmas, at least MIN_HALF_WINDOW rows.
WINDOW_SIGMA, MIN_HALF_WINDOW = 5.0, 6
#: Rows beyond CONTINUUM_SIGMA expected sigmas of the line give its continuum level.
CONTINUUM_SIGMA = 3.0
#: A line is expected (scored, and lost if its fit fails) from this expected S/N: a free
#: fit's centre error is then ~0.1 of the line's width, and a fainter line's failed fit
#: is no catastrophe.
MIN_EXPECTED_SNR = 10.0
#: A fitted line's flux must reach this S/N (below: no detection).
MIN_FIT_SNR = 3.0
#: The usable rows must hold this fraction of the line's expected light.
MIN_COVERAGE = 0.5
#: The fitted width's bounds, in expected sigmas.
SIGMA_BOUNDS = (0.25, 4.0)
C_UM_S = constants.c.to_value("um/s")
C_KM_S = constants.c.to_value("km/s")
MJY = 1e-29  # W m^-2 Hz^-1
_SOURCE_NAME = re.compile(r"source (\d+)$")


@dataclass(frozen=True)
class Spectrum:
    """One extracted spectrum: per row its wavelength (um), flux, error and usability.

    ``unit``: the FLUX column's (DN/s when it does not say).
    """

    source_id: int
    wavelength: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    usable: np.ndarray
    unit: str = "DN/s"

    @property
    def per_row(self):
        """Whether FLUX is what each row collects (DN/s), not a flux density (Jy, F_lambda).

        A continuum's rows then scale with their wavelength width; a density is smooth across rows.
        """
        return not is_flux_density(self.unit)


def is_flux_density(unit):
    """Whether a FLUX column's unit string is a flux density (F_nu or F_lambda), not a count rate per row."""
    try:
        return units.Unit(unit).is_equivalent(units.Jy, equivalencies=units.spectral_density(7.5 * units.um))
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class LineFit:
    """A fitted line, in rows: centre ``mu`` and its error, width ``sigma``, flux ``A`` (DN/s) and its error."""

    centre: float
    centre_err: float
    sigma: float
    flux: float
    flux_err: float


@dataclass(frozen=True)
class LineScore:
    """One scored line: its expected S/N, and the fit's wavelength (um) and error, or None when lost."""

    snr_expected: float
    fit: LineFit = None
    wavelength_um: float = math.nan
    wavelength_err_um: float = math.nan


def read_x1d(path, source_id=None):
    """The spectra of an x1d file (module docstring: the contract).

    Parameters
    ----------
    path : path-like
    source_id : int, optional
        For a foreign x1d (jwst's names its one spectrum by EXP_TYPE): its single spectrum
        is read as this source, whatever its name.

    Returns
    -------
    list of Spectrum

    Raises
    ------
    ScoreInputError
        Not a MultiSpecModel, a spectrum not named ``source <id>`` (without ``source_id``),
        more than one spectrum with ``source_id``, or a table without the WAVELENGTH, FLUX,
        FLUX_ERROR and DQ columns.
    """
    with open_x1d(path) as model:
        if source_id is not None and len(model.spec) != 1:
            raise ScoreInputError(f"{path}: {len(model.spec)} spectra; a foreign x1d is read as one source")
        out = []
        for k, spec in enumerate(model.spec):
            match = _SOURCE_NAME.match(str(spec.name) if source_id is None else f"source {source_id}")
            if match is None:
                raise ScoreInputError(f"{path}: spec[{k}] is named {spec.name!r}, not 'source <id>' (the x1d contract)")
            out.append(spectrum_of(path, k, spec, int(match.group(1))))
    return out


def open_x1d(path):
    """The ``MultiSpecModel`` of an x1d file (to use in a ``with``); anything else is refused by name.

    So is one holding no spectrum: an x1d cut after its first HDUs reads so, and scored it would give no rows
    in silence.
    """
    model = open_product(path, dm.MultiSpecModel, "x1d", "an x1d")
    if not len(model.spec):
        model.close()
        raise ScoreInputError(f"{path}: holds no spectrum (no EXTRACT1D extension: truncated, or not an x1d)")
    return model


def spectrum_of(path, k, spec, source_id, default_unit="DN/s"):
    """The :class:`Spectrum` of ``spec`` (the x1d's ``spec[k]``) as source ``source_id``.

    FLUX's unit is ``default_unit`` when the table does not say.  A table without
    WAVELENGTH, FLUX, FLUX_ERROR and DQ is refused by name.
    """
    table = spec.spec_table
    names = () if table is None else table.dtype.names
    missing = [c for c in ("WAVELENGTH", "FLUX", "FLUX_ERROR", "DQ") if c not in names]
    if missing:
        raise ScoreInputError(f"{path}: spec[{k}] lacks column(s) {', '.join(missing)}")
    flux = np.asarray(table["FLUX"], float)
    error = np.asarray(table["FLUX_ERROR"], float)
    usable = ((np.asarray(table["DQ"]) & dq.DO_NOT_USE) == 0) & np.isfinite(flux) & np.isfinite(error)
    usable &= error > 0
    return Spectrum(source_id, np.asarray(table["WAVELENGTH"], float), flux, error, usable,
                    str(table.columns["flux"].unit or default_unit))


def expected_sigma_rows(wavelength_um, fwhm_um, dispersion):
    """The expected line width (Gaussian sigma, rows): the LRS's spread and the line's own, in quadrature.

    Parameters
    ----------
    wavelength_um, fwhm_um : float
        The line's centre and true FWHM (um).
    dispersion : float
        ``d lambda / d u`` there (um per row).

    Returns
    -------
    float
    """
    psf = lrs.SPATIAL_FWHM_PIX * wavelength_um / lrs.SPATIAL_FWHM_REF_UM
    return math.hypot(psf, fwhm_um / abs(dispersion)) / FWHM_PER_SIGMA


def row_fractions(u, centre, sigma, box=0.0):
    """The fraction of a Gaussian (``centre``, ``sigma``, rows) falling in each row ``u`` (``u +/- 1/2``).

    With ``box`` > 0 the Gaussian is first convolved twice with a box ``box`` rows wide: a line drizzled into
    planes (:mod:`validation.mrs_score` step 3) is integrated by the detector pixels (``box`` wide) and each
    pixel's light spread evenly over the same width, which, over the pixels' phases on the planes, is the line
    convolved with the box twice.  The share in ``[x0, x1]`` is ``(P(x1) - P(x0)) / box^2`` with ``P`` the
    second antiderivative ``I2(t) = sigma^2 ((z^2 + 1) Phi(z) + z phi(z)) / 2``, ``z = (t - centre) / sigma``,
    differenced over ``box`` twice.
    """
    if box <= 0:
        return ndtr((u + 0.5 - centre) / sigma) - ndtr((u - 0.5 - centre) / sigma)

    def second_integral(t):
        z = (t - centre) / sigma
        return sigma**2 * ((z * z + 1) * ndtr(z) + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)) / 2

    def smoothed(x):
        return (second_integral(x + box) - 2 * second_integral(x) + second_integral(x - box)) / box**2

    return smoothed(u + 0.5) - smoothed(u - 0.5)


def _model(u, c0, c1, flux, centre, sigma, u0, widths, density, box):
    if density:  # the photometric calibration divided each row by its width, the line's rows too
        return c0 + c1 * (u - u0) + flux * row_fractions(u, centre, sigma, box) / widths
    return (c0 + c1 * (u - u0)) * widths + flux * row_fractions(u, centre, sigma, box)


def _sandwich(model, p, error, correlation):
    """The covariance ``A C A^T`` of weighted least-squares parameters ``p`` on correlated rows (:func:`fit_line`)."""
    steps = 1e-6 * np.maximum(np.abs(p), 1e-3)
    jac = np.column_stack([(model(p + np.eye(len(p))[k] * h) - model(p - np.eye(len(p))[k] * h)) / (2 * h)
                           for k, h in enumerate(steps)])
    weight = 1 / error**2
    a = np.linalg.solve(jac.T @ (jac * weight[:, None]), jac.T * weight[None, :])
    return a @ (np.asarray(correlation) * np.outer(error, error)) @ a.T


def fit_line(u, flux, error, centre, sigma, half_window, widths=None, density=False, box=0.0, correlation=None):
    """Fit a row-integrated Gaussian on a continuum (module docstring, step 3).

    Parameters
    ----------
    u, flux, error : numpy.ndarray
        The window's usable rows: row coordinate, FLUX and FLUX_ERROR.
    centre, sigma : float
        Where the line is expected (the window's centre) and its expected sigma (rows).
    half_window : float
        The centre must stay more than half a row inside ``centre +/- half_window``.
    widths : numpy.ndarray, optional
        The continuum's shape across rows at a flat F_lambda, relative (default: flat):
        ``(c0 + c1 (u - centre)) widths``.
    density : bool
        FLUX is a flux density (module docstring, step 3): the continuum is straight and
        the line's row fractions are divided by ``widths``.
    box : float
        The Gaussian is convolved with a box this many rows wide before the rows integrate it
        (:func:`row_fractions`; 0: none, the detector's own rows); ``sigma`` is then the Gaussian's alone.
    correlation : numpy.ndarray, optional
        The rows' noise correlation ``R`` (n, n); the weights stay ``1 / error^2`` and the parameters' covariance
        is then the sandwich ``A C A^T``, ``A = (J^T W J)^-1 J^T W`` (``J`` the model's Jacobian at the fit,
        ``W`` the weights) and ``C = R e e^T`` the rows' covariance (None: ``(J^T W J)^-1``, independent rows).

    Returns
    -------
    LineFit or None
        None when the fit fails (no convergence, covariance not finite, centre at the
        window's edge, width at a bound); the flux's sign and S/N are the caller's to judge.
    """
    if u.size < 6:  # five parameters and at least one degree of freedom
        return None
    widths = np.ones_like(u) if widths is None else widths
    continuum = np.ones_like(u) if density else widths
    side = np.abs(u - centre) > CONTINUUM_SIGMA * sigma
    level = np.median((flux / continuum)[side]) if np.any(side) else np.median(flux / continuum)
    excess = flux - level * continuum
    peak = u[np.argmax(np.abs(excess))]  # start where the line stands out most: a large offset is found
    lo = [-np.inf, -np.inf, -np.inf, centre - half_window, SIGMA_BOUNDS[0] * sigma]
    hi = [np.inf, np.inf, np.inf, centre + half_window, SIGMA_BOUNDS[1] * sigma]
    start = [level, 0.0, float(np.sum(excess * (widths if density else 1.0))),
             float(np.clip(peak, lo[3] + 1e-6, hi[3] - 1e-6)), sigma]
    try:
        p, cov = curve_fit(lambda x, c0, c1, a, m, s: _model(x, c0, c1, a, m, s, centre, widths, density, box), u, flux,
                           p0=start,
                           sigma=error, absolute_sigma=True, bounds=(lo, hi))
    except (RuntimeError, ValueError):
        return None
    if correlation is not None:
        cov = _sandwich(lambda q: _model(u, *q, centre, widths, density, box), p, error, correlation)
    var = np.diag(cov)
    if not np.all(np.isfinite(var) & (var > 0)):
        return None
    if abs(p[3] - centre) > half_window - 0.5:
        return None
    if not (1.01 * lo[4] < p[4] < hi[4] / 1.01):
        return None
    return LineFit(float(p[3]), float(np.sqrt(var[3])), float(p[4]), float(p[2]), float(np.sqrt(var[2])))


def continuum_widths(spline, u, sigma):
    """The relative continuum of a flat F_lambda in rows ``u``: their wavelength widths, blurred by the line spread.

    ``W_i = sum_k g_k |lambda(u_i - k + 1/2) - lambda(u_i - k - 1/2)|``, ``g_k`` the
    fraction of a Gaussian of ``sigma`` rows in row ``k`` (``|k| <= 3 sigma + 1``),
    normalised to a mean of 1.  A smooth spectrum puts ``F_lambda |d lambda|`` photons
    in each row and the line spread function blurs them: with a wavelength table whose
    dispersion wiggles from row to row (the flight SPECWCS: a few % with a period of ~6
    rows at 6-7 um), that, not a straight line, is the continuum under a line.
    """
    k = np.arange(-math.ceil(3 * sigma + 1), math.ceil(3 * sigma + 1) + 1)
    g = row_fractions(k, 0.0, sigma)
    at = u[:, None] - k[None, :]
    widths = np.abs(spline(at + 0.5) - spline(at - 0.5)) @ (g / g.sum())
    return widths / widths.mean()


def _crossing(wavelength, centre_um):
    """The row ``k`` where WAVELENGTH crosses ``centre_um`` between ``k`` and ``k + 1``; None unless exactly once."""
    d = wavelength - centre_um
    a, b = d[:-1], d[1:]
    k = np.flatnonzero(((a <= 0) & (b > 0)) | ((b <= 0) & (a > 0)))
    return int(k[0]) if k.size == 1 else None


def equivalent_width_um(flux_w_m2, continuum_mjy, centre_um):
    """``W = F_line / F_lambda`` (um): the line's energy flux over the continuum's F_lambda at its centre.

    ``F_lambda = F_nu c / lambda^2``; at one wavelength it is also the ratio of line
    photons to continuum photons per um.  Negative for an absorption line.
    """
    return flux_w_m2 / (continuum_mjy * MJY * C_UM_S / centre_um**2)


def score_line(spectrum, line, other_centres_um):
    """Score one true line in one spectrum (module docstring).

    Parameters
    ----------
    spectrum : Spectrum
    line : mapping
        A row of the truth's ``LINES``: ``centre_um``, ``fwhm_um``, ``flux_w_m2``,
        ``continuum_mjy``.
    other_centres_um : array_like
        The centres of the source's other lines (blends).

    Returns
    -------
    LineScore or None
        None for a line not scored: out of range, blended, on a zero continuum or
        below :data:`MIN_EXPECTED_SNR`.  A line whose window has no usable row beyond
        ``CONTINUUM_SIGMA`` sigmas (the spectrum missing there) is lost, its S/N unknown.
    """
    centre_um, wl = float(line["centre_um"]), spectrum.wavelength
    k = _crossing(wl, centre_um)
    if k is None:
        return None
    sigma = expected_sigma_rows(centre_um, float(line["fwhm_um"]), wl[k + 1] - wl[k])
    half = max(MIN_HALF_WINDOW, math.ceil(WINDOW_SIGMA * sigma))
    margin = math.ceil(3 * sigma + 1) + 1  # the continuum's blur reaches this far beyond the window
    rows = np.arange(k - half - margin, k + half + margin + 2)
    if rows[0] < 0 or rows[-1] >= wl.size:
        return None
    step = np.diff(wl[rows])
    if not (np.all(np.isfinite(wl[rows])) and (np.all(step > 0) or np.all(step < 0))):
        return None
    spline = CubicSpline(rows, wl[rows])
    roots = [r for r in spline.solve(centre_um, extrapolate=False) if k <= r <= k + 1]
    if not roots or np.ptp(roots) > 1e-6:  # a root on a knot comes once from each side
        return None
    u_true = float(np.mean(roots))
    span = np.sort(spline([u_true - half, u_true + half]))
    if span[0] < lrs.WAVELENGTH_RANGE_UM[0] or span[1] > lrs.WAVELENGTH_RANGE_UM[1]:
        return None
    others = np.asarray(other_centres_um, float)
    if np.any((others >= span[0]) & (others <= span[1])):
        return None
    continuum_mjy = float(line["continuum_mjy"])
    if continuum_mjy <= 0:
        return None
    window = rows[(np.abs(rows - u_true) <= half) & spectrum.usable[rows]]
    side = window[np.abs(window - u_true) > CONTINUUM_SIGMA * sigma]
    if side.size == 0:  # the spectrum is missing around the line: lost, its S/N unknown
        return LineScore(math.nan)
    dispersion = float(spline(u_true, 1))
    signal = equivalent_width_um(float(line["flux_w_m2"]), continuum_mjy, centre_um) * np.median(
        spectrum.flux[side]) / abs(dispersion)
    shape = row_fractions(np.arange(-half, half + 1) + round(u_true), u_true, sigma)
    snr = abs(signal) * np.sqrt(np.sum(shape**2)) / np.median(spectrum.error[window])
    if not snr >= MIN_EXPECTED_SNR:
        return None
    if np.sum(row_fractions(window, u_true, sigma)) < MIN_COVERAGE:  # a dropout on the line
        return LineScore(float(snr))
    u = window.astype(float)
    widths = continuum_widths(spline, u, sigma)
    fit = fit_line(u, spectrum.flux[window], spectrum.error[window], u_true, sigma, half,
                   widths if spectrum.per_row else widths / np.mean(widths), density=not spectrum.per_row)
    if fit is None or np.sign(fit.flux) != np.sign(signal) or abs(fit.flux) < MIN_FIT_SNR * fit.flux_err:
        return LineScore(float(snr))
    return LineScore(float(snr), fit, float(spline(fit.centre)), abs(float(spline(fit.centre, 1))) * fit.centre_err)


def lrs_truth(truth, components, scorer):
    """The truth (with ``components``) of an LRS exposure, for the ``scorer`` named; another mode's is refused."""
    truth = as_truth(truth, components)
    mode = truth.config.get("mode")
    if mode not in lrs.SUBARRAYS:
        raise ScoreInputError(f"{truth.path}: the {scorer} scorer reads LRS exposures ({', '.join(lrs.SUBARRAYS)}); "
                              f"this one is {mode!r}")
    return truth


def source_continuum(truth, spectrum, x1d_path):
    """The true continuum (its lines left out) of the source ``spectrum`` was extracted for.

    Raises
    ------
    ScoreInputError
        A spectrum of a source the truth does not have.
    """
    sources = truth.config["scene"]["sources"]
    if not 0 <= spectrum.source_id < len(sources):
        raise ScoreInputError(f"{x1d_path}: spectrum of source {spectrum.source_id}, the truth has "
                              f"{len(sources)} source(s)")
    return SourceSpectrum(spectrum_from_dict(sources[spectrum.source_id]["spectrum"]).continuum)


def placement_error_um(truth, source_id, wavelength_um):
    """The wavelength error a source's offset across the dispersion alone makes, um (module docstring)."""
    trace, sources = truth.table("TRACE"), truth.table("SOURCES")
    true = lrs.table_through(truth.config["mode"], trace["wavelength_um"], trace["x"], trace["y"])
    dy = float(sources["dy_pix"][np.asarray(sources["id"]) == source_id][0])
    return float(true.wavelength_at_row(true.trace(wavelength_um)[1] + dy)) - wavelength_um


def score_x1d(truth, x1d_path, source_id=None):
    """The x1d's rows: each true line's centre error, the lines expected and lost (module docstring).

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
        Of an LRS exposure.
    x1d_path : path-like
    source_id : int, optional
        Read a foreign x1d's one spectrum as this source (:func:`read_x1d`).

    Returns
    -------
    list of dict
        ``dict(metric, value, unit[, source_id, bin, snr])`` rows.

    Raises
    ------
    ScoreInputError
        A truth of another mode, or an x1d :func:`read_x1d` refuses.
    """
    truth = lrs_truth(truth, TRUTH, "x1d")
    lines = truth.table("LINES")
    rows, expected, lost = [], 0, 0
    for spectrum in read_x1d(x1d_path, source_id):
        mine = lines[np.asarray(lines["source_id"]) == spectrum.source_id]
        centres = np.asarray(mine["centre_um"], float)
        for i, line in enumerate(mine):
            scored = score_line(spectrum, line, np.delete(centres, i))
            if scored is None:
                continue
            expected += 1
            if scored.fit is None:
                lost += 1
                continue
            true_um = float(line["centre_um"])
            error_um = scored.wavelength_um - true_um
            context = dict(source_id=spectrum.source_id, bin=true_um, snr=scored.snr_expected)
            rows += [dict(metric="lrs_wavelength_error", value=1e3 * error_um, unit="nm", **context),
                     dict(metric="lrs_wavelength_error_kms", value=C_KM_S * error_um / true_um, unit="km/s",
                          **context),
                     dict(metric="lrs_wavelength_error_calibration", unit="nm", **context,
                          value=1e3 * (error_um - placement_error_um(truth, spectrum.source_id, true_um))),
                     dict(metric="lrs_wavelength_pull", value=error_um / scored.wavelength_err_um, unit="",
                          **context),
                     dict(metric="lrs_line_snr", value=scored.fit.flux / scored.fit.flux_err, unit="", **context)]
    return rows + [dict(metric="lrs_lines_expected", value=float(expected), unit="line"),
                   dict(metric="lrs_lines_lost", value=float(lost), unit="line")]
