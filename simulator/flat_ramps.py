"""Flat-field ramps taken to saturation, and what a ground-test programme measures from them.

The SATURATION and LINEARITY references are not set from the simulator's parameters:
they are measured, as the MIRI team measured theirs, from ramps of a uniform
illumination that fill the well half-way through the ramp (detector layer of
:mod:`simulator.detector` with this detector's truth; no cosmic rays, showers, EMI or
reset anomaly, which a real programme removes first or rejects).

* Saturation: where the ramps stop rising.  The plateau ``P`` of a pixel is the median
  of its last :data:`PLATEAU_GROUPS` reads (the well is full in every pixel by then);
  the threshold is ``P - 5 sigma``, with ``sigma`` the scatter of a plateau read
  (pooled MAD of consecutive plateau differences over sqrt 2), so a full pixel's read
  falls below it with probability 3e-7 while a rising one crosses it within ``5 sigma``
  (~90 e-) of the full well.  Pixels whose ramp does not rise (dead, reference columns) get ``NO_SAT_CHECK``.
* Linearity: per pixel, the intercept ``b`` and initial slope ``r`` of a quadratic fit
  to the reads below 40 % of the plateau (the quadratic takes up the curvature, so
  ``r`` is the low-signal response); then one polynomial ``L = h(u)`` of the
  bias-subtracted signal ``u = y - b`` to the linear signal ``L = r t``, fitted on the
  reads before the first one at the threshold, of a subsample of pixels (the response is the same in every
  pixel here), and folded with each pixel's own ``b`` into the JWST raw-DN form
  (:func:`instrument.detector.linearity_coefficients`).
"""
from dataclasses import replace

import numpy as np

from miri_testbed.instrument import readout as readout_rules

from . import detector
from .config import DetectorEffects, Readout

FLAT_GROUPS = 24  # the well fills at group ~12, so 12 groups lie on the plateau
PLATEAU_GROUPS = 6
SATURATION_SIGMA = 5.0
LOW_SIGNAL_FRACTION = 0.4
LINEARITY_DEGREE = 4
LINEARITY_PIXELS = 20000  # subsample for the pooled polynomial


def take_flat(truth, readout, effects, rng, ngroups=FLAT_GROUPS):
    """One integration of flat ramps (raw DN, ``(ngroups, ny, nx)``) and its group times (s).

    The illumination fills the nominal full well at group ``ngroups / 2`` in the same
    subarray and readout pattern as ``readout``.
    """
    flat = Readout(detector=readout.detector, subarray=readout.subarray, readpatt=readout.readpatt,
                   ngroups=ngroups, nints=1, epoch_mjd=readout.epoch_mjd)
    t_g = readout_rules.group_time(flat.subarray, flat.readpatt)
    well = np.where(np.isfinite(truth.full_well), truth.full_well, 0.0)
    illumination = np.full(truth.gain.shape, np.median(well) / (t_g * ngroups / 2))
    quiet = replace(effects, cosmic_rays=False, showers=False, emi=False, reset_anomaly=False)
    data, _ = detector.ramps(illumination, flat, truth, quiet, rng)
    return data[0], t_g * np.arange(1, ngroups + 1)


def _plateau(data):
    """Each pixel's plateau (median of its last reads), one read's scatter, and which pixels rose."""
    tail = data[-PLATEAU_GROUPS:].astype(np.float64)
    plateau = np.median(tail, axis=0)
    climb = plateau - data[0]
    rose = climb > 0.5 * np.median(climb)  # dead and reference pixels stay near their first read
    if not rose.any():
        raise ValueError("flat ramps: no pixel rose to a plateau")
    # consecutive plateau reads differ by read noise alone: sigma = 1.4826 MAD(diff) / sqrt(2)
    sigma = 1.4826 * float(np.median(np.abs(np.diff(tail[:, rose], axis=0)))) / np.sqrt(2.0)
    return plateau, max(sigma, 0.5), rose  # digitised noise-free reads: half a DN step


def measure_saturation(data):
    """SATURATION data (raw DN) and DQ (``NO_SAT_CHECK`` where the ramp did not rise)."""
    plateau, sigma, rose = _plateau(data)
    threshold = plateau - SATURATION_SIGMA * sigma
    threshold[~rose] = np.median(threshold[rose])
    return threshold, ~rose


def _low_signal_fit(data, times, plateau, block_rows=64):
    """Per-pixel intercept ``b`` and initial slope ``r`` (DN/s) from the low-signal reads.

    Rows are fitted in blocks, so the float64 work is a block's, not the flat's.
    """
    design = np.stack([np.ones_like(times), times, times**2], axis=1)  # (ngroups, 3)
    bias, slope = np.full(data.shape[1:], np.nan), np.full(data.shape[1:], np.nan)
    for r0 in range(0, data.shape[1], block_rows):
        rows = slice(r0, r0 + block_rows)
        y = data[:, rows].astype(np.float64)
        low = (y - y[0]) < LOW_SIGNAL_FRACTION * (plateau[rows] - y[0])
        w = low.astype(np.float64)
        normal = np.einsum("kp,ki,kj->pij", w.reshape(len(times), -1), design, design)
        rhs = np.einsum("kp,ki,kp->pi", w.reshape(len(times), -1), design, y.reshape(len(times), -1))
        ok = low.sum(axis=0).ravel() >= 4
        coef = np.full((rhs.shape[0], 3), np.nan)
        coef[ok] = np.linalg.solve(normal[ok], rhs[ok][..., None])[..., 0]
        bias[rows], slope[rows] = coef[:, 0].reshape(y.shape[1:]), coef[:, 1].reshape(y.shape[1:])
    return bias, slope


def measure_linearity(data, times, threshold, rng):
    """The pooled polynomial ``h`` (lowest power first, ``h(0) = 0``) and each pixel's bias."""
    plateau, _, rose = _plateau(data)
    bias, slope = _low_signal_fit(data, times, plateau)
    usable = rose & np.isfinite(slope)
    pixels = np.flatnonzero(usable)
    pixels = rng.choice(pixels, min(LINEARITY_PIXELS, pixels.size), replace=False)
    y = data.reshape(len(times), -1)[:, pixels].astype(np.float64)
    b = bias.ravel()[pixels]
    # before the first read at the threshold, as the saturation step flags: a plateau read
    # that noise dips below the threshold would be a point far off the curve
    below = ~np.maximum.accumulate(y >= threshold.ravel()[pixels], axis=0)
    u = (y - b)[below]
    linear = (slope.ravel()[pixels] * times[:, None])[below]
    # h(0) = 0: fit u^1 .. u^degree only, scaled for conditioning
    scale = float(u.max())
    design = np.stack([(u / scale) ** j for j in range(1, LINEARITY_DEGREE + 1)], axis=1)
    p, *_ = np.linalg.lstsq(design, linear, rcond=None)
    poly = np.concatenate([[0.0], p / scale ** np.arange(1, LINEARITY_DEGREE + 1)])
    bias = np.where(np.isfinite(bias), bias, np.nanmedian(bias))
    return poly, bias


def nominal_measurement(seed=0):
    """SATURATION (raw DN), pedestal (DN) and polynomial ``h`` measured on the nominal detector.

    The nominal detector: the documented gain, full well, nonlinearity and bias with no
    pixel-to-pixel scatter and no bad pixels (the built-in nominal folder's,
    ``scripts/make_nominal_detector.py``).
    """
    rng = np.random.default_rng(seed)
    effects = DetectorEffects(bad_pixels=False, bias_scatter_dn=0.0, dark=True)
    readout = Readout(subarray="FULL", ngroups=FLAT_GROUPS)
    truth = detector.draw_detector(readout, effects, rng)
    data, times = take_flat(truth, readout, effects, rng)
    threshold, unchecked = measure_saturation(data)
    poly, bias = measure_linearity(data, times, threshold, rng)
    return float(np.median(threshold[~unchecked])), float(np.median(bias[~unchecked])), poly
