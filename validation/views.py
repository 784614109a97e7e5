"""Before/after views of each effect, cut from one cell's own exposure and products.

A view is a small dict of arrays (a few thousand numbers) that the report draws
(:mod:`validation.report`); the runner makes them for the cells whose ``views`` flag is
set (the first seed of each scenario and algorithm set), and only for the effects that
are on in that cell:

* ``emi:<line>``: the folded EMI waveform before and after correction, with the true
  one (:func:`validation.emi_score.fold`), for each injected line with at least
  ``MIN_PERIODS_PER_FRAME`` periods per frame (a slower line barely changes phase
  across a frame, so folding by pixel phase shows little);
* ``shower`` and ``cosmic_ray``: a cut-out around the largest shower (peak) and the
  largest cosmic-ray hit (charge) that the ramp's differences can see (one arriving
  before the first read, in a dropped first or last group or after saturation only
  offsets the ramp and leaves no trace in any rate: the largest hits are often of that
  kind): the rate with every group difference used (the ramp after the detector
  steps, jump flags ignored: what a fit without jump detection sees), the calibrated
  rate, the true rate, and the pixels the jump and shower steps flagged;
* ``cruciform``: a stamp of the brightest source of a filter with a cross, the cal
  image before and after the cell's cruciform variant, and the star's peak over the
  stamp's noise (``contrast``: the report shows the clearest first);
* ``background``: the cal image (block medians), the 2-D background that
  ``background=map`` estimates (:func:`calibration.background.background_map`), the
  image less that estimate, and the true background level of the scene.

``cruciform`` and ``background`` are the imager's (its cal image and catalog); an LRS
exposure gets the detector's views and its own (:mod:`validation.lrs_views`: the spectrum
against the truth, dropouts before and after pixel replacement, the light curve), an MRS
exposure the detector's and its own (:mod:`validation.mrs_views`: each band's collapsed cube
and spectrum against the truth; issue 17's fringes, leak and cross-artifact before and after their
corrections).

Views are stored with the results (``views.npz``: :func:`save`, :func:`load`) so that
``miri-testbed report`` draws them again from a study or report folder.
"""
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import background, cruciform, image3
from miri_testbed.calibration.steps import StepLog
from miri_testbed.instrument import dq, lrs
from miri_testbed.instrument.files import atomic_path

from . import emi_score, lrs_views, mrs_views
from .detector_score import usable_differences

MIN_PERIODS_PER_FRAME = 2.0
COSMIC_HALF = 8  # cut-out half size around a cosmic-ray hit, pixels
SHOWER_HALF_MAX = 20
CROSS_HALF = 24  # cruciform stamp half size
CROSS_MARGIN = 8
BACKGROUND_PIXELS = 96  # longest side of the block-median background images


def _effects(truth):
    """The effects the exposure was simulated with (``{group: {effect: value}}``)."""
    return truth.config["effects"]


def emi_views(truth, correction):
    """The ``emi:<line>`` views: folded waveforms of the lines with enough periods per frame.

    Parameters
    ----------
    truth : simulator.truth.Truth
    correction : validation.emi_score.EmiCorrection
        What the EMI step did, as it hands it over.

    Returns
    -------
    dict
        ``{"emi:<line>": fold}`` (:func:`validation.emi_score.fold`).
    """
    starts = truth.image("FRAME_START")
    frame_time = float(np.diff(starts[0, :2])[0]) if truth.header["NGROUPS"] > 1 else 0.0
    return {f"emi:{name}": fold for name, fold in emi_score.folds(truth, correction).items()
            if fold["frequency_hz"] * frame_time >= MIN_PERIODS_PER_FRAME}


def _box(y, x, half, shape):
    y0, x0 = max(int(round(y)) - half, 0), max(int(round(x)) - half, 0)
    return slice(y0, min(y0 + 2 * half + 1, shape[0])), slice(x0, min(x0 + 2 * half + 1, shape[1]))


def _seen(groupdq, integration, group, y, x):
    """Per arrival: it shows in a usable difference (:func:`validation.detector_score.usable_differences`).

    A deposit before the first read, in a dropped first or last group or after
    saturation only offsets the ramp, and leaves nothing to see or to flag.
    """
    ramps = groupdq[integration, :, y, x]  # (arrivals, groups)
    return usable_differences(ramps)[np.arange(len(group)), group]


def _largest_events(truth, groupdq):
    """The largest shower (peak) and the largest cosmic-ray hit the ramp's differences see.

    Cosmic rays by deposited charge, among the hits whose arrival at their core (brightest)
    pixel is seen (:func:`_seen`).  ``{"shower": (y, x, half, size, extra), "cosmic_ray":
    ...}``, where there are any; ``extra``: what the view records of the event.
    """
    showers, hits = truth.table("SHOWERS"), truth.table("CR_HITS")
    events = {}
    if len(showers):
        s = showers[int(np.argmax(showers["peak_dn"]))]
        half = int(min(SHOWER_HALF_MAX, np.ceil(2 * max(s["a"], s["b"])) + 3))
        events["shower"] = (float(s["y"]), float(s["x"]), half, f"peak {s['peak_dn']:.0f} DN", {})
    hits = hits[hits["group"] < truth.header["NGROUPS"]] if len(hits) else hits
    if not len(hits):
        return events
    charge_e = np.asarray(hits["charge_e"], float)
    ids, index = np.unique(np.asarray(hits["hit"]), return_inverse=True)
    charge = np.bincount(index, weights=charge_e)
    order = np.lexsort((charge_e, index))  # rows by hit, its brightest pixel last
    last = np.append(index[order][1:] != index[order][:-1], True)
    cores = hits[order[last]]  # each hit's brightest pixel, in the order of ``charge``
    seen = _seen(groupdq, *(np.asarray(cores[c], int) for c in ("integration", "group", "y", "x")))
    if seen.any():
        k = int(np.flatnonzero(seen)[np.argmax(charge[seen])])
        c = cores[k]
        events["cosmic_ray"] = (float(c["y"]), float(c["x"]), COSMIC_HALF, f"{charge[k]:.0f} e-, group {c['group']}",
                                dict(core_y=int(c["y"]), core_x=int(c["x"]),
                                     core_dn=float(c["charge_e"]) / float(truth.header["GAIN"])))
    return events


def cosmic_views(truth, ramp_path, rate_path):
    """The ``shower`` and ``cosmic_ray`` views of the module docstring (those with an event).

    Parameters
    ----------
    truth : simulator.truth.Truth
    ramp_path, rate_path : path-like
        The ramp after the detector steps and the rate image.

    Returns
    -------
    dict
        ``{"shower": view, "cosmic_ray": view}``, each where there is such an event; a
        cosmic-ray view also holds its core pixel (``core_y``, ``core_x``, full-frame)
        and the charge deposited there (``core_dn``).
    """
    true_rate = truth.image("RATE")
    tgroup = float(truth.header["TGROUP"])
    out = {}
    with fits.open(ramp_path, memmap=True) as ramp, dm.open(rate_path) as rate:
        events = _largest_events(truth, ramp["GROUPDQ"].data)
        for kind, (y, x, half, size, extra) in events.items():
            box = _box(y, x, half, true_rate.shape)
            data = ramp["SCI"].data[:, :, box[0], box[1]].astype(np.float64)
            groupdq = ramp["GROUPDQ"].data[:, :, box[0], box[1]]
            bad = (groupdq & (dq.DO_NOT_USE | dq.SATURATED)) != 0
            ok = ~(bad[:, 1:] | bad[:, :-1])
            diffs = np.where(ok, np.diff(data, axis=1), 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                unflagged = diffs.sum(axis=(0, 1)) / ok.sum(axis=(0, 1)) / tgroup
            out[kind] = dict(before=unflagged.astype(np.float32), after=rate.data[box].astype(np.float32),
                             true=true_rate[box].astype(np.float32),
                             flagged=np.any(groupdq & dq.JUMP_DET, axis=(0, 1)).astype(np.uint8),
                             kind=kind.replace("_", " "), size=size, y0=box[0].start, x0=box[1].start, **extra)
    return out


def cruciform_view(truth, cal_path, refs_folder, variant):
    """The ``cruciform`` view of the module docstring.

    Parameters
    ----------
    truth : simulator.truth.Truth
    cal_path : path-like
    refs_folder : path-like
        The reference folder (its CRUCIFORM kernel).
    variant : str
        The cell's cruciform algorithm.

    Returns
    -------
    dict or None
        None when the cross is off or absent in the filter or no source lies far enough
        from the edges.
    """
    if not _effects(truth)["imager"]["cruciform"]:
        return None
    sources = truth.table("SOURCES")
    with dm.open(cal_path) as cal:
        params = cruciform.load_kernel(refs_folder, cal)
        if params is None or params[0] == 0 or not len(sources):
            return None
        ny, nx = cal.data.shape
        edge = CROSS_HALF + CROSS_MARGIN
        inside = sources[(sources["x"] > edge) & (sources["x"] < nx - 1 - edge) & (sources["y"] > edge)
                         & (sources["y"] < ny - 1 - edge)]
        if not len(inside):
            return None
        star = inside[int(np.argmax(inside["flux_mjy"]))]
        sci = np.asarray(cal.data, np.float64)
        steps = StepLog()
        image, factor = image3.correct_cruciform(steps, variant, sci, refs_folder, cal)
        record = str(steps.record("cruciform"))
        sky = np.nanmedian(sci)
        box = _box(star["y"], star["x"], CROSS_HALF, sci.shape)
        before = sci[box] - sky
        noise = 1.4826 * np.nanmedian(np.abs(before))
        peak = float(np.nanmax(before))
        return dict(before=before.astype(np.float32), after=(image[box] - sky).astype(np.float32),
                    variant=variant, record=record, factor=float(factor), flux_mjy=float(star["flux_mjy"]),
                    filter=str(cal.meta.instrument.filter), contrast=peak / noise if noise > 0 else np.inf)


def _block_median(image, n=BACKGROUND_PIXELS):
    step = max(1, int(np.ceil(max(image.shape) / n)))
    ny, nx = (s // step * step for s in image.shape)
    blocks = image[:ny, :nx].reshape(ny // step, step, nx // step, step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks (bad pixels) stay NaN
        return np.nanmedian(blocks, axis=(1, 3)).astype(np.float32)


def background_view(truth, cal_path):
    """The ``background`` view: cal image, ``map`` estimate, their difference, true level.

    Parameters
    ----------
    truth : simulator.truth.Truth
    cal_path : path-like

    Returns
    -------
    dict or None
        None for a scene without background.
    """
    modelled = bool(_effects(truth)["optics"]["background_model"])
    level = truth.config["scene"]["background_mjy_sr"]
    if not modelled and not level > 0:
        return None
    with dm.open(cal_path) as cal:
        sci = np.asarray(cal.data, np.float64)
    estimate = background.background_map(sci)
    return dict(before=_block_median(sci), estimate=_block_median(estimate), after=_block_median(sci - estimate),
                true_mjy_sr=float(level), modelled=modelled)


def cell_views(truth, products, refs_folder, algorithms, uncal_path=None):
    """The views of one cell cut from its files (the EMI views come as the step runs, :func:`emi_views`).

    Parameters
    ----------
    truth : simulator.truth.Truth
    products : dict
        The pipeline's ``{suffix: path}`` (ramp, rate, cal).
    refs_folder : path-like
    algorithms : dict
        The cell's full ``{step: name}``.
    uncal_path : path-like, optional
        The cell's uncal (an LRS dropout view finds the other nod beside it).

    Returns
    -------
    dict
        ``{view name: view}``.
    """
    views = {}
    detector = _effects(truth)["detector"]
    if detector["cosmic_rays"] or detector["showers"]:
        views.update(cosmic_views(truth, products["ramp"], products["rate"]))
    if truth.config.get("mode", "imager") in lrs.SUBARRAYS:
        views.update(lrs_views.cell_views(truth, products, refs_folder, algorithms, uncal_path))
    if truth.config.get("mode", "imager") == "mrs":
        views.update(mrs_views.cell_views(truth, products, algorithms))
    if truth.config.get("mode", "imager") != "imager":  # the cross and the sky map are the imager's views
        return views
    view = cruciform_view(truth, products["cal"], refs_folder, algorithms["cruciform"])
    if view is not None:
        views["cruciform"] = view
    view = background_view(truth, products["cal"])
    if view is not None:
        views["background"] = view
    return views


SEPARATOR = "::"


def save(path, views):
    """Write ``{cell key: {view: {field: value}}}`` to ``path`` (npz), atomically."""
    flat = {SEPARATOR.join((cell, view, field)): np.asarray(value)
            for cell, cell_views_ in views.items() for view, fields in cell_views_.items()
            for field, value in fields.items()}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **flat)
    return path


def load(path):
    """The views saved by :func:`save` (``{}`` when ``path`` does not exist)."""
    views = {}
    if not Path(path).is_file():
        return views
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            cell, view, field = key.split(SEPARATOR)
            value = archive[key]
            views.setdefault(cell, {}).setdefault(view, {})[field] = value.item() if value.ndim == 0 else value
    return views


def cell_key(label, scenario, seed):
    """How a cell is named in a views file."""
    return f"{label}|{scenario}|{seed}"


ATTR = "miri_testbed"
EMI_METRICS = ("emi_residual_fraction", "emi_residual_floor", "emi_residual_floor_cr", "emi_rate_residual_fraction",
               "emi_rate_residual_sigma")


class Attached(dict):
    """What travels with a results table in ``DataFrame.attrs``.

    Compared by identity and never copied, so pandas can hand it on cheaply through selections.
    """

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    def __deepcopy__(self, memo):
        return self


def attach(table, cut):
    """``table`` with ``cut`` (``{cell key: views}``) and the EMI rows of every set in its attrs.

    So a report of one algorithm set still draws residual vs ngroups per set.
    """
    table.attrs[ATTR] = Attached(views=cut, emi_rows=table[table["metric"].isin(EMI_METRICS)].copy())
    return table


def attached(table):
    """``(views, EMI rows of every set)`` attached to ``table`` (empty when none)."""
    extra = table.attrs.get(ATTR) or {}
    return extra.get("views", {}), extra.get("emi_rows", table[table["metric"].isin(EMI_METRICS)])
