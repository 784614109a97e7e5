"""Detector-level scores against the truth of what hit each pixel in each group.

Rates per rate level against the Cramer-Rao bound, jumps and showers; the scorer of the
per-integration rates (with the ramp) in :mod:`validation.scorers`.

* ``{clean,cr}_scatter_over_crb``: std of ``rate - true`` per integration divided by
  the square root of the Cramer-Rao bound of an uninterrupted ramp of the groups the
  pipeline uses (first and last dropped as the JWST rules say), computed here by
  inverting the read-noise + Poisson covariance (the read noise with the ADC's rounding,
  1/12 DN^2 a read, when the reads were digitized);
  ``{clean,cr}_bias_over_crb``: mean of ``rate - true`` in the same unit;
  ``{clean,cr}_pull_std``: robust width of ``(rate - true) / err``.
  *clean*: pixel-integrations that no cosmic ray or shower touched; *cr*: hit by at
  least one cosmic ray and no shower.  Saturated ramps are left out (their bound is
  another).  ``bin``: lower edge of the true rate, DN/s.
* ``jump_completeness``: fraction of cosmic-ray arrivals (pixel, group) flagged
  JUMP_DET, per deposited charge (``bin``: lower edge, DN); only arrivals a
  difference can see (both groups usable).
* ``false_flag_rate``: JUMP_DET flags on usable differences where nothing arrived
  (no cosmic-ray charge, outside every shower's 2-semi-axis footprint and its 15 s
  release), per such difference.
* ``shower_flagged_fraction``: per shower, the flagged fraction of its true area (the
  e^-2 ellipse) in the group where it arrives; ``bin``: its peak, DN.

:func:`pull_histograms` splits the rate pulls of the report by the same truth: pixels
with a true arrival that no step flagged (:func:`undetected_hits`) apart from the rest.
"""
import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq
from miri_testbed.simulator.references import QUANTIZATION_VARIANCE_DN2
from miri_testbed.simulator.showers import footprint

from .score import PULL_HIST_EDGES, RATE_TRUTH, as_truth, pull_histogram

RATE_EDGES = (0.0, 1.0, 10.0, 100.0, 1000.0, np.inf)
CHARGE_EDGES_DN = (0.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, np.inf)
RELEASE_S = 15.0
#: The rows of :func:`pull_histograms`.
PULL_SERIES = ("without an undetected true hit", "with an undetected true hit")
PULL_SHAPE = (len(PULL_SERIES), len(PULL_HIST_EDGES) - 1)
#: What :func:`score_detector` writes.
METRICS = tuple(f"{population}_{what}" for population in ("clean", "cr")
                for what in ("scatter_over_crb", "bias_over_crb", "pull_std", "n")) + (
    "cr_scatter_over_crb_steps", "jump_completeness", "jump_n", "false_flag_rate", "shower_flagged_fraction")


def used_groups(ngroups):
    """How many groups the first/last-frame rules leave (JWST: first if > 3, last if > 2)."""
    return ngroups - (ngroups > 3) - (ngroups > 2)


def crb_variance(rates, ngroups, group_time, read_noise, gain):
    """Cramer-Rao variance of the slope of an uninterrupted ramp, per rate (DN/s).

    ``inv(X^T C^-1 X)[1, 1]`` with ``C = sigma_r^2 I + (R/g) min(t_k, t_l)``, evaluated on
    a logarithmic grid of R and interpolated (it is smooth in R).
    """
    t = group_time * np.arange(1, ngroups + 1)
    design = np.column_stack([np.ones(ngroups), t])
    grid = np.concatenate([[0.0], np.logspace(-4, 6, 201)])
    values = []
    for r in grid:
        cov = read_noise**2 * np.eye(ngroups) + r / gain * np.minimum.outer(t, t)
        values.append(np.linalg.inv(design.T @ np.linalg.solve(cov, design))[1, 1])
    return np.interp(np.clip(rates, 0, None), grid, values)


def crb_variance_with_steps(rates, steps, ngroups, group_time, read_noise, gain):
    """Cramer-Rao variance of the slope of ramps hit by cosmic rays, per pixel-integration.

    A deposit's charge is unknown, so each arrival adds a free step to the model,
    ``y_k = a + R t_k + sum_j J_j [k >= a_j]``; the bound is ``inv(X^T C^-1 X)[1, 1]``
    with one such column per arrival inside the used groups (an arrival before the first
    used group is only an offset).  A ramp hit in its middle cannot reach the bound of
    an uninterrupted ramp (:func:`crb_variance`): at low rates one mid-ramp jump costs
    up to a factor 2 in scatter.  ``steps``: ``(npix, ngroups)`` arrival groups.  Inf
    where no segment of two used groups is left (the slope is not identifiable).
    """
    first = int(ngroups > 3)
    used = used_groups(ngroups)
    t = group_time * np.arange(1, used + 1)
    grid = np.concatenate([[0.0], np.logspace(-4, 6, 101)])
    cinv = np.linalg.inv(read_noise**2 * np.eye(used) + (grid / gain)[:, None, None] * np.minimum.outer(t, t))
    columns = np.asarray(steps, bool)[:, first + 1 : first + used]
    patterns, which = np.unique(columns, axis=0, return_inverse=True)
    out = np.empty(len(columns))
    for p, pattern in enumerate(patterns):
        after = np.arange(used)[None, :] >= 1 + np.flatnonzero(pattern)[:, None]
        design = np.column_stack([np.ones(used), t, after.T.astype(float)])
        if np.linalg.matrix_rank(design) < design.shape[1]:  # no segment of two groups: no slope
            values = np.full(grid.size, np.inf)
        else:
            values = np.linalg.inv(np.einsum("ki,gkl,lj->gij", design, cinv, design))[:, 1, 1]
        sel = which.ravel() == p
        out[sel] = np.interp(np.clip(rates[sel], 0, None), grid, values)
    return out


def usable_differences(gdq):
    """Where the difference from the previous group is usable: both groups neither DO_NOT_USE nor SATURATED.

    ``gdq``: group flags whose second axis is the group, e.g. ``(nints, ngroups, ny, nx)``.
    """
    good = (gdq & (dq.DO_NOT_USE | dq.SATURATED)) == 0
    usable = np.zeros(gdq.shape, bool)
    usable[:, 1:] = good[:, 1:] & good[:, :-1]
    return usable


def undetected_hits(events, gdq):
    """Pixels whose ramp holds a true arrival that no step flagged.

    A cosmic ray or a shower (``events``: the truth's EVENTS, ``(nints, ngroups, ny,
    nx)``) first appearing in a usable difference (:func:`usable_differences`) without
    JUMP_DET in that group.  Arrivals no difference sees (before the first read, in a
    dropped group) only offset the ramp and do not count.
    """
    return (usable_differences(gdq) & (events != 0) & ((gdq & dq.JUMP_DET) == 0)).any(axis=(0, 1))


def pull_histograms(truth, rate_path, ramp_path):
    """The rate pull counts of pixels without and with an undetected true hit.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
    rate_path : path-like
    ramp_path : path-like
        The ramp after the detector steps (its group flags).

    Returns
    -------
    numpy.ndarray
        ``PULL_SHAPE`` counts (:func:`validation.score.pull_histogram`), one row per
        :data:`PULL_SERIES`; row 1: the pixels of :func:`undetected_hits`.
    """
    truth = as_truth(truth, (*RATE_TRUTH, "EVENTS"))
    with dm.open(ramp_path) as ramp:
        missed = undetected_hits(truth.image("EVENTS"), ramp.groupdq)
    return np.stack([pull_histogram(truth, rate_path, where) for where in (~missed, missed)])


def pull_series(counts):
    """Pull counts as :func:`pull_histograms` rows; a single histogram (older results) is row 0."""
    counts = np.asarray(counts, np.int64)
    if counts.ndim == 1:
        counts = np.vstack([counts, np.zeros_like(counts)])
    if counts.shape != PULL_SHAPE:
        raise ValueError(f"pull histogram of shape {counts.shape}, not {PULL_SHAPE}")
    return counts


def _robust_std(x):
    return 1.4826 * np.median(np.abs(x - np.median(x)))


def _shower_masks(showers, shape, nints, ngroups, group_time, events):
    """Where showers release charge, and each shower's own area.

    Per (int, group, y, x): inside a shower's 2-semi-axis footprint while its charge is
    being released (from the group read during its arrival to ``RELEASE_S`` and two
    groups later, in whichever integration: release continues across a reset); and per
    shower, its e^-2 ellipse with each pixel's own arrival group (a shower that lands
    while the frame is being read reaches rows read later one group earlier).
    """
    affected = np.zeros((nints, ngroups) + shape, bool)
    areas = []
    ys, xs = np.indices(shape)
    arrival = (events & 2) != 0
    # Read times of the frames (the read clock: one reset frame starts each integration).
    reads = (np.arange(nints)[:, None] * (ngroups + 1) + np.arange(ngroups)[None, :] + 1) * group_time
    for row in showers:
        profile, inside = footprint({k: row[k] for k in row.colnames}, ys, xs)
        near = profile >= np.exp(-8.0)
        window = (reads >= row["t"] - group_time) & (reads <= row["t"] + RELEASE_S + 2 * group_time)
        for i, k in zip(*np.nonzero(window), strict=True):
            affected[i, k, near] = True
        # Its own arrival: in the frame being read at its time or the next one (another
        # shower may have arrived on the same pixels earlier).
        own = (reads >= row["t"] - group_time) & (reads <= row["t"] + group_time)
        hit = arrival[:, :, inside] & own[:, :, None]  # (nints, ngroups, npix)
        if not hit.any():
            continue
        i = int(np.argwhere(hit.any(axis=(1, 2)))[0, 0])
        pixels = hit[i].any(axis=0)
        k = np.argmax(hit[i], axis=0)[pixels]
        areas.append((row, i, k, ys[inside][pixels], xs[inside][pixels]))
    return affected, areas


def _noise(read_noise, config):
    """``(read noise of one read, DN; noisy)`` from the truth's read noise and configuration.

    The read noise with the ADC's rounding when the reads were digitized; ``noisy``: whether the ramps carry both
    Poisson and read noise.
    """
    detector = config.get("effects", {}).get("detector", {})
    rounding = QUANTIZATION_VARIANCE_DN2 if detector.get("digitize", True) else 0.0
    return (float(np.sqrt(read_noise**2 + rounding)),
            bool(detector.get("poisson", True) and detector.get("read_noise", True)))


def score_detector(truth, rateints_path, ramp_path):
    """The detector rows of one exposure (module docstring), from its files.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
    rateints_path : path-like
        The per-integration rates (``CubeModel``, DN/s).
    ramp_path : path-like
        The ramp after the detector steps (its group flags).

    Returns
    -------
    list of dict
        ``dict(metric, value, unit, bin)`` rows.
    """
    truth = as_truth(truth, ("RATE", "BADPIX", "EVENTS", "CR_HITS", "SHOWERS"))
    head = truth.header
    read_noise, noisy = _noise(head["READNOIS"], truth.config)
    true = dict(rate=truth.image("RATE").astype(np.float64), badpix=truth.image("BADPIX").astype(bool),
                events=truth.image("EVENTS"), hits=truth.table("CR_HITS"), showers=truth.table("SHOWERS"),
                ngroups=head["NGROUPS"], nints=head["NINTS"], group_time=head["TGROUP"], gain=head["GAIN"],
                read_noise=read_noise, noisy=noisy)
    with dm.open(ramp_path) as ramp:
        gdq = ramp.groupdq.copy()
    with dm.open(rateints_path) as ints:
        rate, err = ints.data.astype(np.float64), ints.err.astype(np.float64)
    return detector_metrics(true, gdq, rate, err)


def detector_metrics(truth, gdq, rate, err):
    """The metrics of this module from arrays.

    Parameters
    ----------
    truth : dict
        rate (DN/s), badpix, events, hits, showers, ngroups, nints, group_time, gain,
        read_noise; ``noisy`` (default True): whether the ramps carry Poisson and read noise.
    gdq : numpy.ndarray
        The group flags after the detector steps.
    rate, err : numpy.ndarray
        The per-integration rates and their errors.

    Returns
    -------
    list of dict
        ``dict(metric, value, unit[, bin])`` rows.
    """
    true_rate, badpix, events = truth["rate"], truth["badpix"], truth["events"]
    hits, showers = truth["hits"], truth["showers"]
    ngroups, nints, tg = truth["ngroups"], truth["nints"], truth["group_time"]
    gain, rn = truth["gain"], truth["read_noise"]
    shape = true_rate.shape
    rows = []

    shower_affected, shower_areas = _shower_masks(showers, shape, nints, ngroups, tg, events)
    cr_charge = np.zeros(events.shape)
    seen = np.asarray(hits["group"]) < ngroups
    index = tuple(np.asarray(hits[c], int)[seen] for c in ("integration", "group", "y", "x"))
    np.add.at(cr_charge, index, np.asarray(hits["charge_e"], float)[seen] / gain)

    # Rates against the bound.
    saturated = np.any(gdq & dq.SATURATED, axis=1)
    cr_hit = (events & 1).any(axis=1)
    shower_hit = shower_affected.any(axis=1)
    usable = ~badpix[None] & ~saturated & np.isfinite(rate) & np.isfinite(err) & (err > 0)
    populations = (("clean", usable & ~cr_hit & ~shower_hit), ("cr", usable & cr_hit & ~shower_hit))
    if truth.get("noisy", True):
        crb = crb_variance(true_rate, used_groups(ngroups), tg, rn, gain)
    else:  # a noise-free ramp has no bound to be scored against
        populations = ()
    for name, population in populations:
        for lo, hi in zip(RATE_EDGES[:-1], RATE_EDGES[1:], strict=True):
            sel = population & ((true_rate >= lo) & (true_rate < hi))[None]
            if sel.sum() < 20:
                continue
            diff = (rate - true_rate[None])[sel]
            bound = np.sqrt(np.mean(np.broadcast_to(crb, rate.shape)[sel]))
            if name == "cr":
                i, y, x = np.nonzero(sel)
                steps = (events[i, :, y, x] & 1) != 0
                var = crb_variance_with_steps(true_rate[y, x], steps, ngroups, tg, rn, gain)
                ok = np.isfinite(var)
                if ok.sum() >= 20:
                    rows.append(dict(metric="cr_scatter_over_crb_steps", unit="", bin=lo,
                                     value=float(np.std(diff[ok]) / np.sqrt(np.mean(var[ok])))))
            rows += [
                dict(metric=f"{name}_scatter_over_crb", value=float(np.std(diff) / bound), unit="", bin=lo),
                dict(metric=f"{name}_bias_over_crb", value=float(np.mean(diff) / bound), unit="", bin=lo),
                dict(metric=f"{name}_pull_std", value=float(_robust_std(diff / err[sel])), unit="", bin=lo),
                dict(metric=f"{name}_n", value=float(sel.sum()), unit="pixel-integration", bin=lo),
            ]

    # Jumps: every difference both of whose groups are usable.
    visible = usable_differences(gdq) & ~badpix[None, None]
    flagged = (gdq & dq.JUMP_DET) != 0
    arrivals = visible & ((events & 1) != 0)
    for lo, hi in zip(CHARGE_EDGES_DN[:-1], CHARGE_EDGES_DN[1:], strict=True):
        sel = arrivals & (cr_charge >= lo) & (cr_charge < hi)
        if sel.any():
            rows.append(dict(metric="jump_completeness", value=float(flagged[sel].mean()), unit="", bin=lo))
            rows.append(dict(metric="jump_n", value=float(sel.sum()), unit="arrival", bin=lo))
    quiet = visible & (cr_charge == 0) & ~shower_affected
    if quiet.any():
        rows.append(dict(metric="false_flag_rate", value=float(flagged[quiet].mean()), unit="per difference"))

    for row, i, k, y, x in shower_areas:
        seen_here = visible[i, k, y, x]
        if seen_here.any():
            rows.append(dict(metric="shower_flagged_fraction", value=float(flagged[i, k, y, x][seen_here].mean()),
                             unit="", bin=float(row["peak_dn"])))
    return rows
