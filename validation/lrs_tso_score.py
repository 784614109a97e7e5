"""Score an LRS time series' transit product (with its white light) against the truth.

The products (:mod:`calibration.tso3`): ``<name>_transit.ecsv`` (a row per light curve,
``white`` first then the wavelength bins: ``wavelength_min_um``, ``wavelength_max_um``,
``depth``, ``depth_error``) and ``<name>_whtlt.ecsv`` (``MJD_UTC``, ``whitelight_flux``,
``transit_model``).  The truth (:mod:`simulator.lrs_tso`): ``LIGHTCURVE`` (``white``: the
true relative flux, 1 out of transit), ``DEPTH`` (``p(lambda)^2`` at the true wavelengths
of the rows), the noise-free rates ``RATE`` (DN/s, the out-of-transit scene),
``WAVELENGTH`` (the true wavelength of each row), and the header's ``GAIN``,
``READNOIS``, ``NGROUPS``, ``TGROUP``.

Metrics (``bin``: the light curve's central wavelength, um; NaN for the white light):

* ``lrs_tso_white_scatter_ppm``: the standard deviation of ``whitelight_flux /
  transit_model - 1`` over the integrations the truth has out of transit (``white == 1``):
  the white light's scatter about its fitted model (transit, baseline, settling), ppm.
* ``lrs_tso_scatter_over_limit``: that scatter over the information limit ``sigma_W / W``
  of an ideal estimator of the white light from the same pixels.  Each pixel's rate in an
  integration has at best the Cramer-Rao variance of an uninterrupted ramp of the groups
  the pipeline uses, ``V_ij`` (:func:`validation.detector_score.crb_variance`: read noise
  ``READNOIS`` per read and the Poisson noise of the true rate, sky and source, through
  ``GAIN``); the ideal estimate of a row's source rate ``F_i = sum_j S_ij`` given its
  exact profile ``S_ij`` (the true source rate: ``RATE`` less the row's sky pedestal, the
  10th percentile of its science pixels) is the profile-weighted one, of variance
  ``F_i^2 / sum_j (S_ij^2 / V_ij)`` (a scale fitted to a known profile: Horne 1986); so
  ``sigma_W^2 = sum_i F_i^2 / sum_j (S_ij^2 / V_ij)`` over the rows whose true wavelength
  is in :data:`instrument.lrs.WHITE_LIGHT_RANGE_UM`, ``W = sum_i F_i``.  The sky is
  taken as known (its estimate from all integrations adds ``1/N``), and so is the model
  (its few fitted parameters take a share ``k/N`` of the residuals' variance, ~3 % for 200
  integrations, left in: a ratio of 1 is then slightly better than reachable).
* ``lrs_tso_depth_pull``: ``(depth - true) / depth_error`` of the white light and each
  bin, the true depth being the mean of ``DEPTH`` over the light curve's rows weighted by
  their source electrons (``sum_i F_i p_i^2 / sum_i F_i``: the depth a sum of rows shows
  when the transit's shape is the same at every wavelength, as for a small planet);
* ``lrs_tso_depth_error_ppm``: the stated ``depth_error``, ppm.
"""
from pathlib import Path

import numpy as np
from astropy.table import Table

from miri_testbed.instrument import lrs
from miri_testbed.instrument.files import atomic_path

from .detector_score import crb_variance, used_groups
from .score import as_truth

#: Truth components this scorer reads.
TRUTH = ("LIGHTCURVE", "DEPTH", "RATE", "BADPIX", "WAVELENGTH")
#: What :func:`score_transit` writes.
METRICS = ("lrs_tso_white_scatter_ppm", "lrs_tso_scatter_over_limit", "lrs_tso_depth_pull",
           "lrs_tso_depth_error_ppm")
#: Percentile of a row's noise-free science pixels taken as its sky pedestal.
SKY_PERCENTILE = 10.0


def source_rows(truth):
    """The true source rate per row, ``F_i``, its pixels ``S_ij``, and the rows' true wavelengths."""
    rate = truth.image("RATE").astype(float)
    science = truth.image("BADPIX") == 0
    sky = np.array([np.percentile(r[s], SKY_PERCENTILE) if s.any() else 0.0 for r, s in zip(rate, science,
                                                                                              strict=True)])
    source = np.where(science, np.clip(rate - sky[:, None], 0.0, None), 0.0)
    wavelength = truth.image("WAVELENGTH")
    wavelength = wavelength[:, 0] if wavelength.ndim == 2 else wavelength
    return source.sum(axis=1), source, rate, science, wavelength.astype(float)


def white_limit(truth):
    """The relative information limit ``sigma_W / W`` of the white light (module docstring)."""
    head = truth.header
    flux, source, rate, science, wavelength = source_rows(truth)
    lo, hi = lrs.WHITE_LIGHT_RANGE_UM
    with np.errstate(invalid="ignore"):
        rows = (wavelength >= lo) & (wavelength <= hi) & (flux > 0)
    var = crb_variance(rate[rows], used_groups(int(head["NGROUPS"])), float(head["TGROUP"]),
                       float(head["READNOIS"]), float(head["GAIN"]))
    information = np.sum(np.where(science[rows], source[rows] ** 2 / var, 0.0), axis=1)
    return float(np.sqrt(np.sum(flux[rows] ** 2 / information)) / np.sum(flux[rows]))


def true_depth(truth, lo, hi):
    """The electron-weighted mean of ``DEPTH`` over the rows whose true wavelength is in ``[lo, hi]``."""
    flux, _, _, _, wavelength = source_rows(truth)
    depth = truth.table("DEPTH")
    with np.errstate(invalid="ignore"):
        rows = (wavelength >= lo) & (wavelength <= hi) & (flux > 0)
    p2 = np.interp(wavelength[rows], np.asarray(depth["wavelength_um"]), np.asarray(depth["depth"]))
    return float(np.sum(flux[rows] * p2) / np.sum(flux[rows]))


def score_transit(truth, transit_path, whtlt_path):
    """The metrics of this module.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
    transit_path, whtlt_path : path-like or Table
        The transit and white-light products.

    Returns
    -------
    list of dict
        ``dict(metric, value, unit, bin)`` rows.
    """
    truth = as_truth(truth, TRUTH)
    fits = transit_path if isinstance(transit_path, Table) else Table.read(transit_path)
    white = whtlt_path if isinstance(whtlt_path, Table) else Table.read(whtlt_path)
    rows = []
    curve = truth.table("LIGHTCURVE")
    out = np.isclose(np.asarray(curve["white"], float), 1.0, rtol=0, atol=1e-12)
    ratio = np.asarray(white["whitelight_flux"], float) / np.asarray(white["transit_model"], float) - 1.0
    usable = out & np.isfinite(ratio)
    if usable.sum() > 2:
        scatter = float(np.std(ratio[usable], ddof=1))
        rows += [dict(metric="lrs_tso_white_scatter_ppm", value=1e6 * scatter, unit="ppm", bin=np.nan),
                 dict(metric="lrs_tso_scatter_over_limit", value=scatter / white_limit(truth), unit="ratio",
                      bin=np.nan)]
    for row in fits:
        lo, hi = float(row["wavelength_min_um"]), float(row["wavelength_max_um"])
        where = np.nan if row["name"] == "white" else 0.5 * (lo + hi)
        pull = (float(row["depth"]) - true_depth(truth, lo, hi)) / float(row["depth_error"])
        rows += [dict(metric="lrs_tso_depth_pull", value=pull, unit="sigma", bin=where),
                 dict(metric="lrs_tso_depth_error_ppm", value=1e6 * float(row["depth_error"]), unit="ppm",
                      bin=where)]
    return rows


def write_ephemeris(truth, uncal_path):
    """Write ``<name>_ephemeris.toml`` beside a time series' uncal from its truth; nothing without a transit.

    The observer's ephemeris (:func:`calibration.transit.read_ephemeris`): the true orbit
    (``PERIOD_D``, ``A_RS``, ``INC_DEG``) and limb darkening (``U1``, ``U2``), which an
    observer has from earlier transits and stellar models; the mid-transit time is left
    to the fit.

    Returns
    -------
    pathlib.Path or None
    """
    head = truth.header
    if "PERIOD_D" not in head:
        return None
    stem = Path(uncal_path).name.removesuffix(".fits").removesuffix("_uncal")
    path = Path(uncal_path).with_name(f"{stem}_ephemeris.toml")
    text = "".join(f"{key} = {float(head[card])!r}\n" for key, card in (
        ("period_days", "PERIOD_D"), ("a_rs", "A_RS"), ("inclination_deg", "INC_DEG"), ("u1", "U1"), ("u2", "U2")))
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    return path
