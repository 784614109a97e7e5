"""Score an exposure's rate image and source catalog against the truth they were made from.

Two scorers, registered by product type in :mod:`validation.scorers`: :func:`score_rate`
(the rate image: pulls, rate bias) and :func:`score_catalog` (the catalog: photometry,
astrometry, detections); :func:`score` runs both for ``miri-testbed score``.  Metrics (one
long-form row each, columns ``metric, value, unit`` plus context):

* ``flux_ratio``: measured / true flux density, per matched source;
* ``astrometric_error``: angular distance between the measured and the true position,
  per matched source, in milliarcseconds; ``ra_offset`` and ``dec_offset``: its
  components (measured - true, east and north, mas), for residual maps;
  ``astrometric_error_unaligned``: the same before catalog alignment (commanded pointing),
  when the catalog has ``ra_unaligned``/``dec_unaligned``; ``astrometric_error_aligned``:
  the same as ``astrometric_error``, only for exposures whose alignment succeeded (what
  "after alignment" targets pool); ``alignment_refused``: 1 per exposure whose alignment
  was tried and refused (too few stars), else 0, from the catalog's ``alignment`` record;
* ``flux_ratio_shower_hit``: the same, for the sources whose centre lies inside a
  shower's 2-semi-axis footprint (the flux bias showers leave after flagging);
* ``detected``: 1 per true source matched within ``match_radius_arcsec``, 0 otherwise;
* ``false_detections``: catalog entries with no true source near them, per exposure;
* ``pull_mean``, ``pull_std``, ``pull_rms``, ``pull_n``: of ``(rate - true rate) / err``
  over every usable science pixel (DO_NOT_USE, reference and truly bad pixels
  excluded), overall and per true-rate bin (``bin`` column: lower edge, DN/s);
* ``rate_bias_sigma``: ``mean(rate - true rate) / rms(err)``, the bias of the rates
  themselves in units of their noise (the pull mean is not that: a Poisson error
  estimated from the pixel's own rate is smaller for low fluctuations);
* ``pull_outlier_fraction``: the fraction of those pixels with ``|pull| > 5`` (a
  Gaussian gives :data:`GAUSSIAN_OUTLIER_FRACTION`, 5.7e-7), overall only: the
  catastrophes a robust width does not see;
* ``detected_fraction``: per exposure, the fraction of true sources detected;
* ``flux_ratio_saturated``: ``flux_ratio`` again for the sources whose brightest true
  pixel collects more than the full well within the integration (their cores saturate);
* ``nearest_neighbour_pix``, ``contamination`` (per true source), ``flux_ratio_isolated``
  and ``flux_ratio_blended`` (per matched source): how crowded each source is and the
  flux ratio split by it (:mod:`validation.crowding`), when the catalog says its
  ``aperture_radius``.

``pull_std`` is the robust width ``1.4826 * MAD`` beside the plain standard deviation
(``pull_rms``), so a handful of bad-pixel outliers does not hide a calibration problem
nor fake one.
"""
import os
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.utils.exceptions import AstropyUserWarning
from scipy.ndimage import maximum_filter
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import dq
from miri_testbed.instrument.files import fits_cut_short
from miri_testbed.simulator.showers import footprint
from miri_testbed.simulator.truth import Truth, TruthFileError, read_truth

from . import crowding
from .errors import ScoreInputError

RATE_BINS = (0.0, 1.0, 10.0, 100.0, 1000.0, 10000.0, np.inf)  # DN/s, lower edges
PULL_HIST_EDGES = np.linspace(-6, 6, 121)
RATE_TRUTH = ("RATE", "BADPIX")  # the truth components each scorer reads
CATALOG_TRUTH = ("SOURCES", "SHOWERS", "ILLUM")
RATE_METRICS = ("pull_mean", "pull_std", "pull_rms", "pull_n", "rate_bias_sigma",
                "pull_outlier_fraction")  # what each scorer writes
CATALOG_METRICS = ("alignment_refused", "flux_ratio", "flux_ratio_shower_hit", "flux_ratio_saturated",
                   "astrometric_error", "astrometric_error_aligned", "astrometric_error_unaligned", "ra_offset",
                   "dec_offset", "detected", "detected_fraction", "false_detections") + crowding.METRICS
OUTLIER_PULL = 5.0
GAUSSIAN_OUTLIER_FRACTION = 5.733e-7  # P(|z| > 5) of a unit normal


def _article(name):
    """``name`` with its indefinite article: "an ImageModel", "a RampModel"."""
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


def open_product(path, model_class, suffix, what):
    """The JWST data model of a product file (to use in a ``with``): a ``model_class``, or refused by name.

    Parameters
    ----------
    path : path-like or stdatamodels.DataModel
        A product file, or a model already in memory (then only its class is checked).
    model_class : type
        The ``stdatamodels`` class the product must be.
    suffix, what : str
        Its file kind (``"x1d"``) and what it is (``"an x1d"``), for the messages.

    Raises
    ------
    ScoreInputError
        The file is cut short, cannot be read as a data model, or is another model.
    """
    cut = None
    try:
        with warnings.catch_warnings():
            # astropy warns of a cut or damaged file as it reads it; the messages below name the problem
            warnings.simplefilter("ignore", AstropyUserWarning)
            if isinstance(path, str | os.PathLike):
                with fits.open(path) as hdul:
                    cut = fits_cut_short(hdul, path)
            model = None if cut else dm.open(path)
    except Exception as exc:
        raise ScoreInputError(f"{path}: cannot be read as a JWST {suffix} file ({exc})") from None
    if cut:
        raise ScoreInputError(f"{path}: not a readable FITS file, truncated or corrupt ({cut})")
    if not isinstance(model, model_class):
        model.close()
        raise ScoreInputError(f"{path}: {_article(type(model).__name__)}, not {what} ({model_class.__name__})")
    return model


def as_truth(truth, required=()):
    """A truth to score against, holding the components ``required``.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
        A truth already read, or the path of a truth file (read with
        :func:`simulator.truth.read_truth`).
    required : iterable of str
        Components the caller reads.

    Returns
    -------
    simulator.truth.Truth

    Raises
    ------
    ScoreInputError
        The file is not a truth file of this layout, or lacks a required component.
    """
    try:
        truth = truth if isinstance(truth, Truth) else read_truth(truth)
        truth.require(*required)
    except TruthFileError as exc:
        raise ScoreInputError(str(exc)) from None
    return truth


#: What a product's primary header says about its exposure, against the truth's header: (product keyword,
#: truth keyword, tolerance; None: must be equal).  EXPSTART is the same for every position of a dither set.
SAME_EXPOSURE = (("OBSLABEL", "OBSLABEL", None), ("SUBARRAY", "SUBARRAY", None), ("NGROUPS", "NGROUPS", None),
                 ("NINTS", "NINTS", None), ("EXPSTART", "EPOCH", 1e-6))


def check_same_exposure(truth, paths):
    """Refuse products that were not made from the truth's exposure (``miri-testbed score``'s files).

    Each product's primary header against the truth's (:data:`SAME_EXPOSURE`; the OBSLABEL the
    simulator writes into the uncal and the truth, :func:`simulator.exposure.exposure_label`, tells
    even two seeds of one scenario apart).  A keyword missing on either side is not compared (a
    product of another pipeline may carry none), and a file that cannot be read is left for its
    scorer to refuse with its own message.

    Raises
    ------
    ScoreInputError
        Naming the product, the keyword and both values.
    """
    for path in paths:
        try:
            with warnings.catch_warnings():  # a damaged file's warnings too are its scorer's to say
                warnings.simplefilter("ignore", AstropyUserWarning)
                header = fits.getheader(path)
        except (OSError, ValueError):
            continue
        for key, truth_key, tolerance in SAME_EXPOSURE:
            mine, theirs = header.get(key), truth.header.get(truth_key)
            if mine is None or theirs is None:
                continue
            differ = abs(float(mine) - float(theirs)) > tolerance if tolerance is not None else mine != theirs
            if differ:
                raise ScoreInputError(f"{path} was not made from the exposure of truth file {truth.path}: "
                                      f"its {key} is {mine!r}, the truth's {truth_key} {theirs!r}")


def residuals(truth, rate_path, where=None):
    """Per-pixel ``rate - true rate``, ``err`` and true rate of the usable science pixels.

    Parameters
    ----------
    truth : simulator.truth.Truth
    rate_path : path-like
        A JWST rate file (``ImageModel``, DN/s).
    where : numpy.ndarray, optional
        A boolean image: only these pixels (default: all).

    Returns
    -------
    tuple of numpy.ndarray
        ``(rate - true rate, err, true rate)`` over the usable pixels (DO_NOT_USE,
        reference and truly bad pixels excluded, finite, ``err > 0``).
    """
    with open_product(rate_path, dm.ImageModel, "rate", "a rate image") as model:  # not an uncal, rateints, ...
        rate, err, flags = model.data.astype(np.float64), model.err.astype(np.float64), model.dq
    true_rate = truth.image("RATE").astype(np.float64)
    if rate.shape != true_rate.shape:
        raise ScoreInputError(f"{rate_path}: rate image {rate.shape} does not match the truth's {true_rate.shape}")
    usable = (flags & (dq.DO_NOT_USE | dq.REFERENCE_PIXEL)) == 0
    usable &= ~truth.image("BADPIX").astype(bool) & np.isfinite(rate) & np.isfinite(err) & (err > 0)
    if where is not None:
        usable &= where
    return rate[usable] - true_rate[usable], err[usable], true_rate[usable]


def _hit_by_showers(sources, showers):
    """Per source: its centre lies inside some shower's 2-semi-axis footprint."""
    hit = np.zeros(len(sources), bool)
    x, y = np.asarray(sources["x"], float), np.asarray(sources["y"], float)
    for row in showers:
        profile, _ = footprint({k: row[k] for k in row.colnames}, y, x)
        hit |= profile >= np.exp(-8.0)
    return hit


def _pull_rows(diff, err):
    if diff.size == 0:
        return []
    p = diff / err
    mad = np.median(np.abs(p - np.median(p)))
    return [("pull_mean", float(np.mean(p)), ""), ("pull_std", float(1.4826 * mad), ""),
            ("pull_rms", float(np.std(p)), ""), ("pull_n", float(p.size), "pixel"),
            ("rate_bias_sigma", float(np.mean(diff) / np.sqrt(np.mean(err**2))), "")]


def _rate_rows(diff, err, true_rate):
    """The pull rows over every usable pixel, then per true-rate bin (``bin``: lower edge)."""
    rows = [dict(metric=m, value=v, unit=un) for m, v, un in _pull_rows(diff, err)]
    if diff.size:
        rows.append(dict(metric="pull_outlier_fraction", value=float(np.mean(np.abs(diff / err) > OUTLIER_PULL)),
                         unit=""))
    for lo, hi in zip(RATE_BINS[:-1], RATE_BINS[1:], strict=True):
        in_bin = (true_rate >= lo) & (true_rate < hi)
        rows += [dict(metric=m, value=v, unit=un, bin=lo) for m, v, un in _pull_rows(diff[in_bin], err[in_bin])]
    return rows


def _pull_hist(diff, err):
    return np.histogram(np.clip(diff / err, PULL_HIST_EDGES[0], PULL_HIST_EDGES[-1]), PULL_HIST_EDGES)[0]


def score_rate(truth, rate_path):
    """The rate image's rows: pulls and rate bias against the true rate (module docstring).

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
    rate_path : path-like

    Returns
    -------
    list of dict
        ``dict(metric, value, unit[, bin])`` rows.
    """
    return _rate_rows(*residuals(as_truth(truth, RATE_TRUTH), rate_path))


def pull_histogram(truth, rate_path, where=None):
    """Counts of the rate pulls ``(rate - true) / err`` for the report's pull plot.

    Bins: :data:`PULL_HIST_EDGES`; pulls beyond them count in the end bins.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
    rate_path : path-like
    where : numpy.ndarray, optional
        As :func:`residuals`.

    Returns
    -------
    numpy.ndarray
        ``len(PULL_HIST_EDGES) - 1`` counts.
    """
    diff, err, _ = residuals(as_truth(truth, RATE_TRUTH), rate_path, where)
    return _pull_hist(diff, err)


def _read_catalog(cat_path):
    """The source catalog of ``cat_path`` (ECSV with ra, dec, flux, snr), or ScoreInputError."""
    try:
        cat = QTable.read(cat_path, format="ascii.ecsv")
    except FileNotFoundError:
        raise ScoreInputError(f"{cat_path}: no such file") from None
    except Exception as exc:
        raise ScoreInputError(f"{cat_path}: not an ECSV source catalog ({type(exc).__name__})") from None
    missing = [c for c in ("ra", "dec", "flux", "snr") if c not in cat.colnames]
    if missing:
        raise ScoreInputError(f"{cat_path}: catalog lacks column(s) {', '.join(missing)}")
    return cat


def _saturating(truth, sources):
    """Which true sources saturate: their brightest true pixel fills the well by the last group.

    The brightest pixel within 1 pixel of the source; the full well of :mod:`instrument.detector`.
    """
    if not truth.config.get("effects", {}).get("detector", {}).get("saturation", True):
        return np.zeros(len(sources), bool)
    peak = maximum_filter(truth.image("ILLUM"), size=3, mode="nearest")
    t_int = truth.header["NGROUPS"] * truth.header["TGROUP"]
    ny, nx = peak.shape
    x0 = np.rint(np.asarray(sources["x"], float)).astype(int)
    y0 = np.rint(np.asarray(sources["y"], float)).astype(int)
    inside = (x0 >= 0) & (x0 < nx) & (y0 >= 0) & (y0 < ny)
    out = np.zeros(len(sources), bool)
    out[inside] = peak[y0[inside], x0[inside]] * t_int > det.FULL_WELL_E
    return out


def score_catalog(truth, cat_path, match_radius_arcsec=0.3):
    """The catalog's rows: matched sources' flux and position errors, detections (module docstring).

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
    cat_path : path-like
        The pipeline's source catalog (ECSV).
    match_radius_arcsec : float
        A true source and a detection closer than this are a match.

    Returns
    -------
    list of dict
        ``dict(metric, value, unit, ...)`` rows; per source, its ``source_id``,
        ``true_flux_mjy`` and (matched) ``snr``.
    """
    truth = as_truth(truth, CATALOG_TRUTH)
    sources, showers = truth.table("SOURCES"), truth.table("SHOWERS")
    cat = _read_catalog(cat_path)
    rows = []
    alignment = cat.meta.get("alignment", {})
    aligned = alignment.get("status") == "COMPLETE"
    if alignment.get("status") in ("COMPLETE", "REFUSED"):
        rows.append(dict(metric="alignment_refused", value=float(not aligned), unit=""))
    matched = np.zeros(len(sources), bool)
    used = np.zeros(len(cat), bool)
    in_shower = _hit_by_showers(sources, showers)
    saturating = _saturating(truth, sources)
    if len(sources) and len(cat):
        true_sky = SkyCoord(np.asarray(sources["ra"]) * u.deg, np.asarray(sources["dec"]) * u.deg)
        meas_sky = SkyCoord(cat["ra"], cat["dec"])
        idx, sep, _ = true_sky.match_to_catalog_sky(meas_sky)
        order = np.argsort(sep)  # closest pairs first: each detection serves one source
        for i in order:
            j = idx[i]
            if sep[i] > match_radius_arcsec * u.arcsec or used[j]:
                continue
            matched[i] = used[j] = True
            context = dict(source_id=int(sources["id"][i]), true_flux_mjy=float(sources["flux_mjy"][i]),
                           snr=float(cat["snr"][j]))
            flux = cat["flux"][j].to_value(u.mJy)
            rows.append(dict(metric="flux_ratio", value=flux / float(sources["flux_mjy"][i]), unit="", **context))
            if saturating[i]:
                rows.append(dict(metric="flux_ratio_saturated", value=flux / float(sources["flux_mjy"][i]), unit="",
                                 **context))
            if in_shower[i]:
                rows.append(dict(metric="flux_ratio_shower_hit", value=flux / float(sources["flux_mjy"][i]), unit="",
                                 **context))
            rows.append(dict(metric="astrometric_error", value=sep[i].to_value(u.mas), unit="mas", **context))
            if aligned:
                rows.append(dict(metric="astrometric_error_aligned", value=sep[i].to_value(u.mas), unit="mas",
                                 **context))
            if "ra_unaligned" in cat.colnames:
                before = true_sky[i].separation(SkyCoord(cat["ra_unaligned"][j], cat["dec_unaligned"][j]))
                rows.append(dict(metric="astrometric_error_unaligned", value=before.to_value(u.mas), unit="mas",
                                 **context))
            east, north = true_sky[i].spherical_offsets_to(meas_sky[j])
            rows.append(dict(metric="ra_offset", value=east.to_value(u.mas), unit="mas", **context))
            rows.append(dict(metric="dec_offset", value=north.to_value(u.mas), unit="mas", **context))
    for i in range(len(sources)):
        rows.append(dict(metric="detected", value=float(matched[i]), unit="", source_id=int(sources["id"][i]),
                         true_flux_mjy=float(sources["flux_mjy"][i])))
    if len(sources):
        rows.append(dict(metric="detected_fraction", value=float(matched.mean()), unit=""))
    rows.append(dict(metric="false_detections", value=float((~used).sum()), unit="source"))
    return rows + _crowding(truth, sources, cat, rows)


def _crowding(truth, sources, cat, rows):
    """The rows of :func:`validation.crowding.crowding_rows`, in the catalog's aperture (none without one)."""
    if not len(sources) or not len(cat) or "aperture_radius" not in cat.colnames:
        return []
    radius = float(np.median(u.Quantity(cat["aperture_radius"]).value))
    return crowding.crowding_rows(sources, truth.config["observation"]["filter"], radius, truth.image("ILLUM").shape,
                                  [r for r in rows if r["metric"] == "flux_ratio"])


def score(truth, rate_path, cat_path, match_radius_arcsec=0.3):
    """Score one imager exposure's rate image and catalog (``miri-testbed score``).

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
    rate_path, cat_path : path-like
    match_radius_arcsec : float
        As :func:`score_catalog`.

    Returns
    -------
    tuple
        The rows of :func:`score_rate` then :func:`score_catalog`, and the pull histogram.
    """
    truth = as_truth(truth, RATE_TRUTH + CATALOG_TRUTH)
    diff, err, true_rate = residuals(truth, rate_path)
    return _rate_rows(diff, err, true_rate) + score_catalog(truth, cat_path, match_radius_arcsec), _pull_hist(diff, err)
