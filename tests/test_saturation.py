"""Saturation as the instrument does it: references measured from flat ramps, the
threshold flags where ramps stop rising, and rates come from the groups before."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miri_testbed.calibration.linearity import correct_linearity
from miri_testbed.calibration.ramp_fit import fit_ramps
from miri_testbed.calibration.saturation import flag_saturation
from miri_testbed.instrument import detector as det
from miri_testbed.instrument import dq
from miri_testbed.instrument import readout as readout_rules
from miri_testbed.simulator import DetectorEffects, nonlinearity
from miri_testbed.simulator.config import Readout
from miri_testbed.simulator.detector import draw_detector, ramps
from miri_testbed.simulator.flat_ramps import SATURATION_SIGMA, measure_linearity, measure_saturation, take_flat
from miri_testbed.simulator.references import perfect_linearity, perfect_saturation

# Everything a flat or a science ramp of a bright source sees, but events and EMI
# (their own tests) and the dark (no dark subtraction here).
QUIET = DetectorEffects(dark=False, cosmic_rays=False, showers=False, emi=False, reset_anomaly=False)


def _detector(subarray="SUB64", seed=0, effects=QUIET):
    ro = Readout(subarray=subarray, ngroups=10)
    return ro, draw_detector(ro, effects, np.random.default_rng(seed))


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_measured_threshold_sits_just_below_the_true_plateau(seed):
    ro, truth = _detector(seed=seed, effects=DetectorEffects())
    data, _ = take_flat(truth, ro, DetectorEffects(), np.random.default_rng(seed))
    threshold, unchecked = measure_saturation(data)
    assert np.array_equal(unchecked, truth.dead | truth.reference)
    plateau = truth.bias + nonlinearity.response(truth.full_well, truth.full_well,
                                                 nonlinearity.NonlinearityModel()) / truth.gain
    margin = (plateau - threshold)[~unchecked] / truth.read_noise[~unchecked]
    # SATURATION_SIGMA below, to the precision of a median of 6 reads and a pooled sigma
    assert np.all(np.abs(margin - SATURATION_SIGMA) < 2.5)
    # every read on the plateau (the well full since the group before) is at or above it
    full = data[-6:]
    assert np.all(full[:, ~unchecked] >= threshold[~unchecked])


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), subarray=st.sampled_from(["SUB64", "SUB256"]))
def test_measured_linearity_follows_the_true_response(seed, subarray):
    """The derivative of the measured correction (what scales a rate) is within 0.5 % of
    the true one from zero to the threshold."""
    ro, truth = _detector(subarray, seed, DetectorEffects())
    rng = np.random.default_rng(seed)
    data, times = take_flat(truth, ro, DetectorEffects(), rng)
    threshold, _ = measure_saturation(data)
    poly, _ = measure_linearity(data, times, threshold, rng)
    w, g = truth.full_well[0, 0], truth.gain[0, 0]
    charge = np.linspace(0, w, 2001)
    u = nonlinearity.response(charge, w, nonlinearity.NonlinearityModel()) / g
    measured = np.polynomial.polynomial.polyval(u, np.polynomial.polynomial.polyder(poly))
    assert np.max(np.abs(measured / np.gradient(charge / g, u) - 1)) < 0.005


def test_threshold_flags_the_group_and_its_neighbours_from_then_on():
    data = np.zeros((1, 6, 5, 5), np.float32)
    data[0, 3:, 2, 2] = 100.0
    threshold = np.full((5, 5), 50.0)
    flagged = flag_saturation(data, np.zeros(data.shape, np.uint8), threshold)
    sat = (flagged & dq.SATURATED) != 0
    assert not sat[0, :3].any()
    assert sat[0, 3:, 1:4, 1:4].all()  # the pixel and its 8 neighbours (charge spill)
    assert sat[0, 3:].sum() == 3 * 9
    assert ((flag_saturation(data, np.zeros(data.shape, np.uint8), threshold, grow=0) & dq.SATURATED) != 0).sum() == 3
    never = threshold.copy()
    never[2, 2] = np.inf  # NO_SAT_CHECK
    assert not flag_saturation(data, np.zeros(data.shape, np.uint8), never).any()


@settings(max_examples=6, deadline=None)
@given(k=st.integers(2, 12), extra=st.integers(1, 20), seed=st.integers(0, 2**32 - 1))
def test_rate_of_a_ramp_saturating_at_group_k_comes_from_the_groups_before(k, extra, seed):
    """Ramps that reach the full well between groups k-1 and k (k >= 2) of k + extra
    groups, nonlinearity on: saturation and linearity from the true references, the
    fit uses groups 0..k-1 only, and the pulls over 4608 pixels have width 1 and no bias."""
    ngroups = k + extra
    ro = Readout(subarray="SUB64", ngroups=ngroups)
    rng = np.random.default_rng(seed)
    truth = draw_detector(ro, QUIET, rng)
    t_g = readout_rules.group_time(ro.subarray, ro.readpatt)
    # the well fills at a time drawn within (k - 1 + 0.2, k - 0.2) group times after the first read
    fill = t_g * (k + rng.uniform(0.2, 0.8, truth.gain.shape))
    rate_e = truth.full_well / fill
    data, _ = ramps(rate_e, ro, truth, QUIET, rng)
    threshold, unchecked = perfect_saturation(truth)
    groupdq = flag_saturation(data, np.zeros(data.shape, np.uint8), np.where(unchecked, np.inf, threshold), grow=0)
    good = ~(truth.dead | truth.reference)
    first_saturated = np.argmax((groupdq[0] & dq.SATURATED) != 0, axis=0)
    assert np.all(first_saturated[good] == k)
    linear, _ = correct_linearity(data, groupdq, perfect_linearity(truth, True))
    fit = fit_ramps(linear, groupdq, truth.read_noise, truth.gain, t_g, method="likelihood")
    pulls = ((fit.rate - rate_e / truth.gain) / np.sqrt(fit.var_poisson + fit.var_rnoise))[good]
    assert np.isfinite(pulls).all()
    assert np.std(pulls) == pytest.approx(1.0, abs=0.05)
    assert abs(np.mean(pulls)) < 0.1


def test_measured_references_keep_saturating_rates_unbiased():
    """The same with the references a calibration programme measures from flats: the
    rate of ramps saturating at group 3 is within 0.5 % (the linearity's measurement error)."""
    ro = Readout(subarray="SUB256", ngroups=20)
    rng = np.random.default_rng(11)
    truth = draw_detector(ro, QUIET, rng)
    flat, times = take_flat(truth, ro, QUIET, np.random.default_rng(12))
    threshold, unchecked = measure_saturation(flat)
    poly, bias = measure_linearity(flat, times, threshold, np.random.default_rng(13))
    t_g = readout_rules.group_time(ro.subarray, ro.readpatt)
    rate_e = truth.full_well / (t_g * rng.uniform(3.2, 3.8, truth.gain.shape))
    data, _ = ramps(rate_e, ro, truth, QUIET, rng)
    groupdq = flag_saturation(data, np.zeros(data.shape, np.uint8), np.where(unchecked, np.inf, threshold), grow=0)
    linear, _ = correct_linearity(data, groupdq, det.linearity_coefficients(poly, bias))
    fit = fit_ramps(linear, groupdq, truth.read_noise, truth.gain, t_g, method="likelihood")
    good = ~(truth.dead | truth.reference)
    ratio = (fit.rate * truth.gain / rate_e)[good]
    assert np.isfinite(ratio).all()
    assert abs(np.median(ratio) - 1) < 0.005
