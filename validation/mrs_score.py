"""Score an MRS exposure's products against its truth: line centres, source position, flux, per band.

The products (:mod:`calibration.mrs_spec2`): an x1d ``MultiSpecModel`` with one ``spec`` per
band, named by the band (``"1A"`` ...), of source ``spec.source_id`` (the extraction's one
point source), a row per cube plane (WAVELENGTH um, evenly spaced; FLUX and FLUX_ERROR in
the unit of the table's ``flux`` column; DQ), and one ``IFUCubeModel`` per band (s3d) on
the band's (alpha, beta, lambda) axes.  Rows flagged DO_NOT_USE, or with a non-finite flux
or a non-positive error, are left out.

Each band's rows carry ``bin`` = :func:`band_bin` (channel + setting / 10: 1A = 1.1,
2A = 2.1, 4C = 4.3), since a results table's ``bin`` is a number.

**Line centres** (x1d; per true line of the truth's ``LINES`` of the spectrum's source,
in the plane coordinate ``u``, the table's index):

1. ``u_true``: where WAVELENGTH (linear in ``u``) equals the line's TRUE centre.  The
   expected width ``sigma_u``: the simulator's line-spread function (Gaussian, FWHM
   ``lambda / R``, :func:`simulator.mrs.resolving_power`) and the line's own FWHM in
   quadrature, in planes, with the two boxes a line passes through (the detector pixel,
   then the plane; each about one plane wide: ``1/12`` plane^2 each) added.  The window
   is ``u_true +/- max(6, ceil(5 sigma_u))`` planes (:mod:`validation.lrs_score`'s); a
   window beyond the first or the last usable plane (the band's ends are flagged where
   only some slices reach) is *out of range*, another line of the source inside it a
   *blend*: neither is scored.
2. Its **expected S/N** from the truth and the spectrum's continuum and errors, never from
   the line itself, as :mod:`validation.lrs_score` (step 2) reckons it: the equivalent width
   ``W`` (truth ``flux_w_m2`` over the continuum's F_lambda at the centre) times the
   continuum ``C`` (median FLUX of the window's planes beyond 3 ``sigma_u``) is the line's
   excess integrated over wavelength, whether FLUX is per um or, in Jy, per Hz
   (``int dF_nu dlambda = lambda^2 / c F_line = W F_nu``); with the median FLUX_ERROR ``e``
   and the plane width ``d``,
   ``S/N = |W C| sqrt(sum g_i^2) / (e d)``, ``g_i`` the Gaussian's share in plane ``i``.
   Below :data:`MIN_EXPECTED_SNR` a line is not scored.
3. Its **measured centre** and flux: :func:`validation.lrs_score.fit_line` (a Gaussian convolved
   twice with the detector pixel's box, then integrated over each plane, on a straight continuum,
   weights ``1 / FLUX_ERROR^2``, the centre's and the flux's errors from the covariance, with the
   planes' noise correlation, the x1d's ``plane_correlation``, where it has one: the default kernel's
   lag-1 correlation of ~0.55 widens a line centre's error by ~1.4 over independent planes'); a failed fit (or a
   flux of the wrong sign or below 3 sigma) is *lost*.  The boxes are what a drizzle makes of a
   line: each detector pixel integrates it over its extent in wavelength, ``d_p`` (0.9-1.1 of a
   plane across a band), its light is spread evenly over that extent again, then cut by the
   planes; over the pixels' phases on the planes that is the line convolved with the box twice
   (exactly: tests/test_mrs_suite.py).  ``d_p`` is the median over the truth's pixels
   within 2 planes of the line of half the wavelength between a pixel's neighbours along its
   column (:func:`pixel_extent_um`, the truth's WAVELENGTH).  A plain plane-integrated Gaussian
   fitted to such a profile finds its centre but puts its flux 0.03-0.18 % high (sigma 0.55-0.85,
   box 1-1.1 planes; docs/mrs.md 'Line fluxes'), the box once (until session 28) up to 0.05 %
   high on the foreign set's lines (docs/mrs.md 'Line fluxes taken apart'): the scorer's own
   error, at issue 16's 0.1 %.

Rows per scored line (``source_id``, ``bin`` = the true centre in um, ``snr`` = the
expected S/N): ``mrs_wavelength_error`` (``|v|``, km/s, ``v = c (measured - true) /
true``), ``mrs_wavelength_offset`` (``v`` signed), ``mrs_wavelength_pull`` (``v`` over the
fit's error), ``mrs_wavelength_perturbation`` (``-v_T(lambda)``, km/s: what the flight
geometry alone puts there, from the truth's ``PERTURBATION``: the error of a calibration
that reads the flight files, e.g. a foreign one; the default 'measured' references are
measured on a simulated line source, docs/mrs.md), ``mrs_line_snr`` (the fit's ``A / sigma_A``); per band
(bin = the band): ``mrs_wavelength_error_band``, the median ``|v|`` over its lines of
expected S/N > :data:`TARGET_SNR` (issue 16's selection), ``mrs_lines_expected`` and
``mrs_lines_lost``.

**Position** (s3d; per band): the source's ``(alpha, beta)`` in the cube as written, the
extraction's centre (:func:`calibration.mrs_extract.locate`: the fit of :mod:`calibration.mrs_centroid`
through the slice strips the s3d carries, started from the collapsed cube's light-weighted centroid within
:data:`CENTROID_LD` lambda/D of its peak, which is the centre where the fit is not used; a window that cuts the PSF's
core draws that centroid towards the spaxel grid, docs/mrs.md), the peak searched about source
0's true position (another source in the scene is not scored in its place), against the
truth's ``SOURCES`` (source 0, in the band's flight frame: the cube's frame
when the references are the flight files, so the truth's ``d_alpha, d_beta`` show in it):
``mrs_centroid_error`` (mas) and its components ``mrs_centroid_alpha_offset``,
``mrs_centroid_beta_offset`` (measured - true, mas), and ``mrs_centroid_fitted``, 1 where the fit placed the
centre and 0 where the first moment did (not judged: which estimator ran).  Per exposure with two bands,
``mrs_band_offset``: the distance (mas) between the two bands' centroids, each taken to
the telescope's V2/V3 by its band's flight transform (:meth:`instrument.mrs.MrsBand.to_v2v3`);
the source is at one V2/V3, so the ideal is 0.

**Flux** (x1d; only a spectrum in Jy: a DN/s/um one, before an MRS PHOTOM, gives no row):
per band, ``mrs_flux_ratio``, the median over usable planes outside every line's window
of FLUX over the source's true continuum F_nu at the plane's wavelength (its lines left
out; a plane is about half a resolution element, so a smooth continuum's mean over it is
its value at the centre to << 0.1 %); ``mrs_flux_ratio_error``, the part of it the spectrum's
noise alone makes, one standard deviation, from FLUX_ERROR and the x1d's ``plane_correlation``
(:func:`median_error`; not judged: what the exposure allows, so a faint band's miss of
MRS-FLUX-1 can be read against it).

**Coverage** (x1d, every band): ``mrs_usable_fraction``, the share of the band's planes the
extraction left usable. A band whose aperture the field cuts on every plane (a source near a
slice end) has 0 and no flux or pull rows: the row keeps it from passing those targets unseen.

**Pulls** (x1d, any unit; per band, the same planes as the flux): whether FLUX_ERROR (the
extraction's, the spaxels' covariance within a plane included) is the spectrum's noise.
With ``r_i`` = FLUX / true continuum and ``e_i`` = FLUX_ERROR / true continuum in plane
``i``, a Legendre series ``s`` of degree :data:`PULL_DEGREE` in wavelength over the band is
fitted to ``r`` (weights ``1 / e^2``; refitted once without the planes of ``|pull| >``
:data:`score.OUTLIER_PULL`), and

    pull_i = (r_i - s(lambda_i)) / e_i.

Dividing out ``s`` takes away what is not noise: the absolute level (the PHOTOM's and
APCORR's grey errors, 0.3 % each, and the unit's conversion) and their smooth errors over
the band (cubics of 0.3 % each, docs/mrs.md), which at high S/N per plane would otherwise
count as pulls.  Rows: ``mrs_flux_pull_rms`` (the rms of the pulls of ``|pull| <= 5``, which
MRS-PULL-1 judges), ``mrs_flux_pull_std`` (the robust width ``1.4826 MAD``),
``mrs_flux_pull_outlier_fraction`` (``|pull| > 5``: the catastrophes both widths leave out;
a Gaussian gives 5.7e-7), ``mrs_flux_pull_n`` (planes) and ``mrs_flux_pull_lag1`` (the
correlation of the pulls of adjacent planes: a detector pixel spans about one plane, so the
drizzle shares it between two, and the planes' mutual covariance is in no error column).
The clipped rms is the one judged because a band has only 700-900 such planes: the MAD
width's own scatter is ``~1.17 / sqrt(n)`` = 0.04, so over the 24 bands of a two-seed
``mrs`` suite one or two would leave 1 +/- 0.1 by chance; the rms's is ``1 / sqrt(2 n)`` =
0.025 (measured over 14 bands of one seed: 0.03 and 0.04).  A 5-sigma clip changes a
Gaussian's rms by 1e-5, and what it clips the outlier fraction counts.  The fit takes
``PULL_DEGREE + 1`` of the planes' freedom, a 0.2 % narrowing, not corrected.
"""
import math

import numpy as np
from numpy.polynomial import legendre
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError, cube_build, mrs_extract
from miri_testbed.instrument import dq, mrs
from miri_testbed.simulator import mrs as mrs_sim

from . import lrs_score as lrs
from . import mrs_leak_score
from .lrs_flux import is_jy
from .score import OUTLIER_PULL, ScoreInputError, as_truth, open_product

X1D_TRUTH = ("LINES", "PERTURBATION", "WAVELENGTH")
CUBE_TRUTH = ("SOURCES",)
X1D_METRICS = ("mrs_wavelength_error", "mrs_wavelength_offset", "mrs_wavelength_pull", "mrs_wavelength_perturbation",
               "mrs_line_snr", "mrs_wavelength_error_band", "mrs_lines_expected", "mrs_lines_lost", "mrs_flux_ratio",
               "mrs_flux_ratio_error",
               "mrs_flux_pull_rms", "mrs_flux_pull_std", "mrs_flux_pull_outlier_fraction", "mrs_flux_pull_n",
               "mrs_flux_pull_lag1", "mrs_usable_fraction")
CUBE_METRICS = ("mrs_centroid_error", "mrs_centroid_alpha_offset", "mrs_centroid_beta_offset", "mrs_centroid_fitted",
                "mrs_band_offset")
#: A line is scored (and lost if its fit fails) from this expected S/N (lrs_score's reason).
MIN_EXPECTED_SNR = 10.0
#: The per-band median takes lines of expected S/N above this (issue 16: "S/N > 50 lines").
TARGET_SNR = 50.0
#: Two boxes (pixel, plane) of about one plane each: their variance in plane^2.
BOX_VARIANCE = 2.0 / 12.0
#: The centroid's window radius, lambda / D at the band's middle (module docstring, position): the extraction's.
CENTROID_LD = mrs_extract.CENTROID_LD
#: Degree of the smooth function divided out of FLUX / truth before the pulls (module docstring, pulls):
#: a cubic, the form of the measured PHOTOM's and APCORR's smooth errors over a band.
PULL_DEGREE = 3


def band_bin(name):
    """A band's ``bin`` value: channel + setting / 10 ("1A" -> 1.1, "4C" -> 4.3)."""
    return int(name[0]) + (" ABC".index(name[1])) / 10


def _mrs_truth(truth, components, scorer):
    truth = as_truth(truth, components)
    if truth.config.get("mode") != "mrs":
        raise ScoreInputError(f"{truth.path}: the {scorer} scorer reads MRS exposures; this one is "
                              f"{truth.config.get('mode')!r}")
    return truth


def read_spectra(path):
    """``{band: Spectrum}`` of an MRS x1d (module docstring; :class:`validation.lrs_score.Spectrum`).

    Raises
    ------
    ScoreInputError
        Not a MultiSpecModel, a spectrum not named by a band, or a table lacking a column.
    """
    out = {}
    with lrs.open_x1d(path) as model:
        for k, spec in enumerate(model.spec):
            name = str(spec.name)
            if len(name) != 2 or name[0] not in "1234" or name[1] not in "ABC":
                raise ScoreInputError(f"{path}: spec[{k}] is named {spec.name!r}, not an MRS band (1A ... 4C)")
            out[name] = lrs.spectrum_of(path, k, spec, int(spec.source_id or 0), "DN/s/um")
    return out


def expected_sigma_planes(centre_um, fwhm_um, step_um):
    """The expected line width in planes (module docstring, step 1)."""
    lsf = centre_um / float(mrs_sim.resolving_power(centre_um))
    return math.sqrt((math.hypot(lsf, fwhm_um) / lrs.FWHM_PER_SIGMA / step_um) ** 2 + BOX_VARIANCE)


def _window(spectrum, centre_um, fwhm_um):
    """``(u_true, sigma_u, half, step)`` of a line (module docstring, step 1)."""
    wl = spectrum.wavelength
    step = float(np.median(np.diff(wl)))
    u_true = (centre_um - wl[0]) / step
    sigma = expected_sigma_planes(centre_um, fwhm_um, step)
    return u_true, sigma, max(lrs.MIN_HALF_WINDOW, math.ceil(lrs.WINDOW_SIGMA * sigma)), step


def _inside(spectrum, u_true, half):
    """Whether ``u_true +/- half`` lies between the first and the last usable plane (module docstring, step 1)."""
    usable = np.flatnonzero(spectrum.usable)
    return usable.size > 0 and usable[0] <= u_true - half and u_true + half <= usable[-1]


def pixel_extent_um(wavelength_map, centre_um, step_um):
    """The detector pixels' median extent in wavelength about ``centre_um``, um (module docstring, step 3).

    A pixel's extent is half the wavelength between its neighbours along its column (the MRS
    disperses along the detector's rows); the pixels within ``2 step_um`` of the centre count.
    """
    lam = np.asarray(wavelength_map, float)
    extent, middle = np.abs(lam[2:] - lam[:-2]) / 2, lam[1:-1]
    near = np.isfinite(extent) & (np.abs(middle - centre_um) < 2 * step_um)
    if not np.any(near):
        raise ScoreInputError(f"the truth's WAVELENGTH has no pixel within {2 * step_um:.4g} um of a line at "
                              f"{centre_um} um")
    return float(np.median(extent[near]))


def score_line(spectrum, line, other_centres_um, wavelength_map, correlation=None):
    """``(expected S/N, LineFit or None, wavelength um, its error)`` of one true line; None when not scored.

    ``wavelength_map``: the truth's per-pixel WAVELENGTH of the exposure (:func:`pixel_extent_um`);
    ``correlation``: the x1d's ``plane_correlation`` (None: independent planes).
    """
    centre_um = float(line["centre_um"])
    u_true, sigma, half, step = _window(spectrum, centre_um, float(line["fwhm_um"]))
    if not _inside(spectrum, u_true, half):
        return None
    others = np.asarray(other_centres_um, float)
    if np.any(np.abs(others - centre_um) <= half * step):
        return None
    continuum_mjy = float(line["continuum_mjy"])
    if continuum_mjy <= 0:
        return None
    rows = np.arange(math.ceil(u_true - half), math.floor(u_true + half) + 1)
    rows = rows[spectrum.usable[rows]]
    side = rows[np.abs(rows - u_true) > lrs.CONTINUUM_SIGMA * sigma]
    if side.size == 0:
        return math.nan, None, math.nan, math.nan
    signal = (lrs.equivalent_width_um(float(line["flux_w_m2"]), continuum_mjy, centre_um)
              * np.median(spectrum.flux[side]))
    shape = lrs.row_fractions(np.arange(-half, half + 1) + round(u_true), u_true, sigma)
    snr = abs(signal) * np.sqrt(np.sum(shape**2)) / (np.median(spectrum.error[rows]) * step)
    if not snr >= MIN_EXPECTED_SNR:
        return None
    if np.sum(lrs.row_fractions(rows, u_true, sigma)) < lrs.MIN_COVERAGE:
        return float(snr), None, math.nan, math.nan
    box = pixel_extent_um(wavelength_map, centre_um, step) / step
    fit = lrs.fit_line(rows.astype(float), spectrum.flux[rows], spectrum.error[rows], u_true,
                       math.sqrt(max(sigma**2 - BOX_VARIANCE, (0.5 * sigma) ** 2)), half, box=box,
                       correlation=None if correlation is None else correlation_matrix(rows, correlation))
    if fit is None or np.sign(fit.flux) != np.sign(signal) or abs(fit.flux) < lrs.MIN_FIT_SNR * fit.flux_err:
        return float(snr), None, math.nan, math.nan
    return float(snr), fit, spectrum.wavelength[0] + step * fit.centre, step * fit.centre_err


def line_rows(band, spectrum, lines, perturbation, wavelength_map, correlation=None):
    """The rows of one band's lines (module docstring); ``wavelength_map``, ``correlation``: :func:`score_line`'s."""
    mine = lines[np.asarray(lines["source_id"]) == spectrum.source_id]
    centres = np.asarray(mine["centre_um"], float)
    rows, bright, expected, lost = [], [], 0, 0
    for i, line in enumerate(mine):
        scored = score_line(spectrum, line, np.delete(centres, i), wavelength_map, correlation)
        if scored is None:
            continue
        snr, fit, wavelength_um, error_um = scored
        expected += 1
        if fit is None:
            lost += 1
            continue
        true_um = float(line["centre_um"])
        v = lrs.C_KM_S * (wavelength_um - true_um) / true_um
        context = dict(source_id=spectrum.source_id, bin=true_um, snr=snr)
        rows += [dict(metric="mrs_wavelength_error", value=abs(v), unit="km/s", **context),
                 dict(metric="mrs_wavelength_offset", value=v, unit="km/s", **context),
                 dict(metric="mrs_wavelength_pull", value=(wavelength_um - true_um) / error_um, unit="", **context),
                 dict(metric="mrs_wavelength_perturbation", value=-float(perturbation.velocity(true_um)),
                      unit="km/s", **context),
                 dict(metric="mrs_line_snr", value=fit.flux / fit.flux_err, unit="", **context)]
        if snr > TARGET_SNR:
            bright.append(abs(v))
    context = dict(source_id=spectrum.source_id, bin=band_bin(band))
    if bright:
        rows.append(dict(metric="mrs_wavelength_error_band", value=float(np.median(bright)), unit="km/s", **context))
    return rows + [dict(metric="mrs_lines_expected", value=float(expected), unit="line", **context),
                   dict(metric="mrs_lines_lost", value=float(lost), unit="line", **context)]


def continuum_planes(spectrum, lines):
    """The usable planes outside every line's window (module docstring, flux)."""
    scored = spectrum.usable.copy()
    mine = lines[np.asarray(lines["source_id"]) == spectrum.source_id]
    u = np.arange(spectrum.wavelength.size)
    for line in mine:
        u_true, _, half, _ = _window(spectrum, float(line["centre_um"]), float(line["fwhm_um"]))
        scored &= np.abs(u - u_true) > half
    return scored


def correlation_matrix(planes, correlation):
    """``R``: the correlation of the x1d's ``planes`` (sorted indices) from ``correlation`` (n_rows, L).

    ``R_ij = correlation[p_i, l - 1]`` where ``p_j = p_i + l``, ``l <= L``; 1 on the diagonal; 0 elsewhere.
    """
    out = np.eye(len(planes))
    for lag in range(1, correlation.shape[1] + 1):
        i, j = lag_pairs(planes, lag)
        out[i, j] = out[j, i] = correlation[planes[i], lag - 1]
    return out


def lag_pairs(planes, lag):
    """``(i, j)``: where in ``planes`` (sorted x1d rows) every pair of rows ``lag`` apart lies (``p_j = p_i + lag``)."""
    j = np.searchsorted(planes, planes + lag)
    i = np.flatnonzero(j < len(planes))
    i = i[planes[j[i]] == planes[i] + lag]
    return i, j[i]


def plane_correlations(x1d_path):
    """``{band: (n_rows, L) float or None}``: each spec's ``plane_correlation`` (:mod:`calibration.mrs_spec2`), or None.

    Also None for an array that does not have a row per plane.
    """
    out = {}
    with lrs.open_x1d(x1d_path) as model:
        for spec in model.spec:
            found = getattr(spec, "plane_correlation", None)
            found = None if found is None else np.asarray(found, float)
            rows = 0 if spec.spec_table is None else len(spec.spec_table)
            out[str(spec.name)] = found if found is not None and found.ndim == 2 and len(found) == rows else None
    return out


def median_error(error, planes, correlation=None):
    """The noise's standard deviation of the median of ``r_i = m + e_i z_i`` over ``planes`` (module docstring, flux).

    ``z`` Gaussian with correlation ``R`` (:func:`correlation_matrix` of ``correlation``, the x1d's
    ``plane_correlation``; None: white).  Asymptotically (Bahadur's representation of the median,
    ``med - m = sum_i sign(r_i - m) / (2 sum_i f_i(m))``, ``f_i(m) = 1 / (sqrt(2 pi) e_i)``, and
    ``cov(sign z_i, sign z_j) = (2 / pi) arcsin R_ij`` for a Gaussian pair),

        var(med) = sum_ij arcsin(R_ij) / (sum_i 1 / e_i)^2,

    ``pi e^2 / (2 n)`` for ``n`` white planes of one error ``e``.
    """
    planes = np.asarray(planes)
    pairs = len(planes) * np.pi / 2
    for lag in range(1, 0 if correlation is None else correlation.shape[1] + 1):
        i, _ = lag_pairs(planes, lag)
        pairs += 2 * np.sum(np.arcsin(np.clip(correlation[planes[i], lag - 1], -1, 1)))
    return float(np.sqrt(pairs) / np.sum(1 / np.asarray(error, float)))


def flux_rows(band, spectrum, scored, true_continuum, correlation=None):
    """``mrs_flux_ratio`` and ``mrs_flux_ratio_error`` of one band's spectrum in Jy; none for another unit.

    ``scored``: :func:`continuum_planes`; ``true_continuum``: the source's true F_nu (mJy) at their wavelengths;
    ``correlation``: the x1d's ``plane_correlation`` or None (module docstring, flux).
    """
    if not is_jy(spectrum) or not scored.any():
        return []
    context = dict(unit="ratio", source_id=spectrum.source_id, bin=band_bin(band))
    ratio = float(np.median(spectrum.flux[scored] / (1e-3 * true_continuum)))
    error = median_error(spectrum.error[scored] / (1e-3 * true_continuum), np.flatnonzero(scored), correlation)
    return [dict(metric="mrs_flux_ratio", value=ratio, **context),
            dict(metric="mrs_flux_ratio_error", value=error, **context)]


def flux_pulls(wavelength, ratio, error):
    """``pull_i = (r_i - s(lambda_i)) / e_i`` of FLUX / truth about a smooth fit (module docstring, pulls).

    Parameters
    ----------
    wavelength, ratio, error : (n,) float
        The planes' wavelengths, FLUX / truth and FLUX_ERROR / truth; ``n > PULL_DEGREE + 1``.

    Returns
    -------
    (n,) float
    """
    x = 2 * (wavelength - wavelength[0]) / (wavelength[-1] - wavelength[0]) - 1
    keep = np.ones(x.size, bool)
    for _ in range(2):  # the second fit without the first one's outliers, which would bend it
        pull = (ratio - legendre.legval(x, legendre.legfit(x[keep], ratio[keep], PULL_DEGREE, w=1 / error[keep])))
        pull /= error
        keep = np.abs(pull) <= OUTLIER_PULL
    return pull


def pull_rows(band, spectrum, scored, true_continuum):
    """One band's ``mrs_flux_pull_*`` rows (module docstring, pulls); none with too few planes or no continuum."""
    planes = np.flatnonzero(scored)
    if planes.size <= 2 * (PULL_DEGREE + 1) or not np.all(true_continuum > 0):
        return []
    pull = flux_pulls(spectrum.wavelength[planes], spectrum.flux[planes] / true_continuum,
                      spectrum.error[planes] / true_continuum)
    adjacent = np.flatnonzero(np.diff(planes) == 1)
    lag1 = float(np.corrcoef(pull[adjacent], pull[adjacent + 1])[0, 1]) if adjacent.size > 2 else math.nan
    context = dict(source_id=spectrum.source_id, bin=band_bin(band))
    inlier = np.abs(pull) <= OUTLIER_PULL
    return [dict(metric="mrs_flux_pull_rms", value=float(np.sqrt(np.mean(pull[inlier] ** 2))), unit="", **context),
            dict(metric="mrs_flux_pull_std", value=float(1.4826 * np.median(np.abs(pull - np.median(pull)))),
                 unit="", **context),
            dict(metric="mrs_flux_pull_outlier_fraction", value=float(np.mean(~inlier)),
                 unit="", **context),
            dict(metric="mrs_flux_pull_n", value=float(planes.size), unit="plane", **context),
            dict(metric="mrs_flux_pull_lag1", value=lag1, unit="", **context)]


def score_x1d(truth, x1d_path):
    """The MRS x1d's rows: line centres per true line and band, flux per band in Jy, pulls (module docstring).

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
        Of an MRS exposure.
    x1d_path : path-like

    Returns
    -------
    list of dict

    Raises
    ------
    ScoreInputError
        A truth of another mode, an x1d :func:`read_spectra` refuses, or one whose bands are not the truth's.
    """
    truth = _mrs_truth(truth, X1D_TRUTH, "MRS x1d")
    lines = truth.table("LINES")
    perturbations = mrs_sim.perturbations_from_table(truth.table("PERTURBATION"))
    rows, spectra, wavelength = [], read_spectra(x1d_path), truth.image("WAVELENGTH")
    correlations = plane_correlations(x1d_path)
    if set(spectra) != set(perturbations):  # spec2 writes one spectrum per band, even a band it flagged whole
        raise ScoreInputError(f"{x1d_path}: spectra of bands {', '.join(spectra)}; the truth's exposure has "
                              f"{', '.join(perturbations)} (an x1d of another exposure, or cut)")
    for band, spectrum in spectra.items():
        # a band the extraction could not use (its aperture cut by the field's edge on every plane) leaves no
        # flux or pull rows: this row says so, so that a target does not pass on fewer bands in silence
        rows.append(dict(metric="mrs_usable_fraction", value=float(np.mean(spectrum.usable)), unit="",
                         source_id=spectrum.source_id, bin=band_bin(band)))
        rows += line_rows(band, spectrum, lines, perturbations[band], wavelength, correlations[band])
        scored = continuum_planes(spectrum, lines)
        true_continuum = lrs.source_continuum(truth, spectrum, x1d_path).flux_density_mjy(spectrum.wavelength[scored])
        rows += flux_rows(band, spectrum, scored, true_continuum, correlations[band])
        rows += pull_rows(band, spectrum, scored, true_continuum)
        if is_jy(spectrum):  # the spectral leak left in 3A (issue 17), when the truth has it
            rows += mrs_leak_score.leak_rows(truth.config, band, spectrum, band_bin(band))
    return rows


def read_cube(path):
    """``(band, Cube-like)`` of an s3d ``IFUCubeModel``: its grid from ``meta.wcsinfo``, data NaN where DO_NOT_USE."""
    with open_product(path, dm.IFUCubeModel, "s3d", "a cube") as model:
        w = model.meta.wcsinfo
        n_lam, n_beta, n_alpha = model.data.shape
        axes = [cube_build.Axis(float(c - s / 2), float(s), n) for c, s, n in
                ((w.crval1, w.cdelt1, n_alpha), (w.crval2, w.cdelt2, n_beta), (w.crval3, w.cdelt3, n_lam))]
        usable = (model.dq & dq.DO_NOT_USE) == 0
        data = np.where(usable, model.data, np.nan)
        band = f"{model.meta.instrument.channel}{mrs.SETTINGS[str(model.meta.instrument.band)]}"
        strips = getattr(model, "slice_strips", None)  # the testbed's s3d carries them (calibration.mrs_spec2)
        cube = cube_build.Cube(cube_build.CubeGrid(*axes), data, None, np.asarray(model.weightmap, float), None,
                               strips=None if strips is None else np.asarray(strips, float))
    return band, cube


def score_cubes(truth, cube_paths):
    """The s3d cubes' rows: each band's centroid against the truth, the band-to-band offset (module docstring).

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
        Of an MRS exposure.
    cube_paths : path-like or tuple of path-like
        The exposure's cubes (one per band).

    Returns
    -------
    list of dict

    Raises
    ------
    ScoreInputError
        A truth of another mode, a file that is not a cube, or a band the truth has no source position for.
    """
    truth = _mrs_truth(truth, CUBE_TRUTH, "MRS cube")
    sources = truth.table("SOURCES")
    paths = cube_paths if isinstance(cube_paths, tuple | list) else (cube_paths,)
    rows, sky = [], []
    for path in paths:
        band, cube = read_cube(path)
        row = [r for r in sources if str(r["band"]) == band and int(r["id"]) == 0]
        if not row:
            raise ScoreInputError(f"{path}: a cube of band {band}; the truth has no source 0 in it")
        true = float(row[0]["alpha"]), float(row[0]["beta"])
        try:
            centre = mrs_extract.locate(cube, CENTROID_LD, target=true)
        except CalibrationInputError:  # no light near the truth: the brightest spaxel's, scored as it falls
            centre = mrs_extract.locate(cube, CENTROID_LD)
        alpha, beta = centre.alpha, centre.beta
        d_alpha, d_beta = 1e3 * (alpha - true[0]), 1e3 * (beta - true[1])
        context = dict(source_id=0, bin=band_bin(band))
        rows += [dict(metric="mrs_centroid_error", value=math.hypot(d_alpha, d_beta), unit="mas", **context),
                 dict(metric="mrs_centroid_alpha_offset", value=d_alpha, unit="mas", **context),
                 dict(metric="mrs_centroid_beta_offset", value=d_beta, unit="mas", **context),
                 dict(metric="mrs_centroid_fitted", value=float(centre.fitted), unit="", **context)]
        sky.append(np.array(mrs.band(band).to_v2v3(alpha, beta), float))
    if len(sky) == 2:
        rows.append(dict(metric="mrs_band_offset", value=1e3 * float(np.hypot(*(sky[0] - sky[1]))), unit="mas",
                         source_id=0))
    return rows
