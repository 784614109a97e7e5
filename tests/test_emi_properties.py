"""EMI corrections: the issue-4 properties that tests/test_emi.py does not already show.

test_emi.py covers one integration without noise (SUB64, SUB128, SLITLESSPRISM, 3-9
groups) and, with EMI off, the rms rate change of every variant in SUB64 at 12 groups.
Here:

* EMI off, over subarray and ngroups 3-10: the largest change any one pixel's rate sees
  is < 0.1 sigma (sigma: that pixel's OLS rate error, read noise and Poisson).
* Several integrations (the phase runs on through the reset frames): noise-free round
  trip; with noise the residual follows the statistical floor, which falls as
  1/sqrt(nints).
* FULL at 10 Hz with a frequency offset up to 1e-4: recovered, and the frequency the
  correction's note reports is within 3 of its Cramer-Rao standard deviations of the truth.
* Over phase, amplitude, harmonics, frequency offset, subarray and ngroups: residual <=
  ``bound(H) x`` the statistical floor; with both lines at once too.
* A 10 Hz line that a short subarray ramp cannot identify (its Cramer-Rao floor above 100 %:
  over a frame of < 0.2 s it is a per-pixel ramp plus a common offset) is left alone,
  and the note says so.

The bound.  The floor (:func:`validation.emi_score.statistical_floor`, p = 2H parameters
for H harmonics) is sigma sqrt(p / M) / rms, the error of p parameters each as well
determined as a free offset.  An efficient fit of those 2H amplitudes and the frequency
then leaves a residual whose square is floor^2 chi^2_{2H+1} / p.  A harmonic the fit
leaves out because it is below its detection threshold (``MIN_HARMONIC_POWER``, explained
power over its noise, of :mod:`calibration.emi`) leaves at most about that power
instead.  So, with a chi^2 tail probability of ``TAIL`` per example,

    bound(H)^2 = [chi2.isf(TAIL, 2H + 1) + MIN_HARMONIC_POWER (H - 1)] / 2H

(H = 1, 2, 3: 3.25, 2.82, 2.64).  Where the fit is not efficient, or a harmonic is nearly a
whole number of periods per frame (it is then mostly a per-pixel ramp, and worse
determined than the floor assumes), the property fails; those cases are strict xfails
with the numbers measured when they were written.
"""
import dataclasses
import re

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from scipy import stats

from miri_testbed.calibration import Skip, registry
from miri_testbed.calibration import emi as cal_emi
from miri_testbed.calibration.ramp_fit import fit_ramps
from miri_testbed.simulator import DetectorEffects, Effects, emi, readclock
from miri_testbed.simulator.references import mask_flags
from miri_testbed.validation import emi_floor, emi_score

from helpers import emi_case, emi_line, emi_ramps

TAIL = 1e-4
EFFECTS = DetectorEffects(cosmic_rays=False, showers=False)  # all the noise, no events
SUBARRAYS_390 = ("SUB64", "SUB128", "SLITLESSPRISM")


def bound(*harmonics):
    """The residual / floor bound of the module docstring, for lines of these numbers of
    harmonics (each line: 2H amplitudes and a frequency)."""
    p = 2 * sum(harmonics)
    dropped = sum(h - 1 for h in harmonics)
    return float(np.sqrt((stats.chi2.isf(TAIL, p + len(harmonics)) + cal_emi.MIN_HARMONIC_POWER * dropped) / p))


def _amplitudes(rms, relative):
    """Harmonic amplitudes (DN) with the given relative sizes, scaled to ``rms``."""
    rel = np.asarray(relative, float)
    return rms * rel / np.sqrt(np.sum(rel**2) / 2)


def _correct(variant, obs, truth, data, lines=()):
    """``(out, notes)`` of the variant; a declining variant's reason is its note, its input the output."""
    case, reason = emi_case(obs, data, lines)
    assert reason is None, reason
    pixeldq = mask_flags(truth)  # as dq_init sets it from the MASK
    (out, notes), skip = registry.apply("emi", variant, data.copy(), np.zeros(data.shape, np.uint8), pixeldq,
                                        truth.read_noise, truth.gain, case)
    return out, notes + ([skip.reason] if skip else [])


def _score(obs, truth, data, out, lines):
    """Residual fraction, its statistical floor (p = 2H), and the usable pixels."""
    usable = ~(truth.dead | truth.hot | truth.reference)
    true = emi.waveform(lines, obs)
    frac = emi_score.residual_fraction(true, data.astype(np.float64) - out, usable)
    nparams = sum(2 * len(line.amplitudes) for line in lines)
    return frac, emi_score.statistical_floor(true, float(np.median(truth.read_noise)), nparams, usable)


# ----------------------------------------------------------------------------- EMI off

def _largest_rate_change(variant, subarray, ngroups, seed=11):
    """max over usable pixels of |rate(corrected) - rate(raw)| / rate error, EMI off."""
    obs, truth, data = emi_ramps(subarray, ngroups, [], dataclasses.replace(EFFECTS, emi=False), seed=seed)
    out, _ = _correct(variant, obs, truth, data)
    gdq = np.zeros(data.shape, np.uint8)
    before = fit_ramps(data, gdq, truth.read_noise, truth.gain, obs.group_time)
    after = fit_ramps(np.asarray(out, np.float32), gdq, truth.read_noise, truth.gain, obs.group_time)
    usable = ~(truth.dead | truth.hot | truth.reference)
    sigma = np.sqrt(before.var_poisson + before.var_rnoise)
    return float(np.max(np.abs(after.rate - before.rate)[usable] / sigma[usable]))


JWST_JOINT_MOVES_RATES = pytest.mark.xfail(
    strict=True, reason="measured (_largest_rate_change, seed 11): jwst 3.0 joint moves single EMI-free rates by up "
                        "to 2.8, 4.3, 0.08 sigma in SUB64 at 3/5/10 groups, 4.1, 1.1, 0.30 in SUB128, 0.25, 0.17, "
                        "0.07 in SLITLESSPRISM")
OFF_MARKS = {"jwst_joint": JWST_JOINT_MOVES_RATES}


@pytest.mark.parametrize("variant", [pytest.param(v, marks=OFF_MARKS.get(v, ()))
                                     for v in registry.ALGORITHMS["emi"] if v != "none"])
@settings(max_examples=3, phases=(Phase.explicit, Phase.generate))  # no shrinking: the xfails would pay for it
@given(subarray=st.sampled_from(SUBARRAYS_390), ngroups=st.integers(3, 10))
def test_without_emi_no_rate_moves_by_a_tenth_sigma(variant, subarray, ngroups):
    assert _largest_rate_change(variant, subarray, ngroups) < 0.1


def _lines_found(subarray, ngroups, seed):
    """The notes of the lines ``joint`` subtracts from an EMI-free exposure (the measured reference's shapes)."""
    obs, truth, data = emi_ramps(subarray, ngroups, [], EFFECTS, seed=seed)
    case, _ = emi_case(obs, data, [])
    result = cal_emi.correct_joint(data, np.zeros(data.shape, np.uint8), mask_flags(truth), truth.read_noise,
                                   truth.gain, case)
    return [] if isinstance(result, Skip) else [note for note in result[1] if "fitted" in note]


@pytest.mark.parametrize("seed", [8, 17])
def test_without_emi_nearly_collinear_harmonics_are_no_line(seed):
    """SUB128 at 3 groups, without EMI: 10 Hz's harmonics are there nearly one per-pixel curvature pattern.
    Each harmonic's power test alone let noise through in these two seeds of 1-20 (seed 8: four harmonics,
    1.4 DN; seed 17: through the reference's shape, 0.24 DN); the whole line's significance does not."""
    assert _lines_found("SUB128", 3, seed) == []


@pytest.mark.slow
@pytest.mark.parametrize("subarray,ngroups", [("SUB128", 3), ("SUB64", 3), ("SUB64", 4)])
def test_without_emi_no_line_is_found_in_twenty_short_exposures(subarray, ngroups):
    """Two lines tested per exposure at LINE_PROBABILITY 1e-3 each: ~4 % odds of one false line in 20
    exposures if the tests were exact; before the line test there were 2 of 20 (SUB128) and 2 of 40 (SUB64)."""
    found = {seed: notes for seed in range(1, 21) if (notes := _lines_found(subarray, ngroups, seed))}
    assert found == {}


# ----------------------------------------------------------------------------- integrations

def _line_390(drift=8e-5, rms=4.0):
    return emi_line("Hz390", _amplitudes(rms, (1.0, 0.45, 0.2)), (0.4, 2.0, 4.1), drift)


@pytest.mark.parametrize("subarray,ngroups,nints", [("SUB64", 3, 3), ("SLITLESSPRISM", 4, 2), ("SUB128", 5, 2)])
def test_joint_across_integrations_recovers_noise_free_emi(subarray, ngroups, nints):
    line = _line_390()
    obs, truth, data = emi_ramps(subarray, ngroups, [line], Effects.noise_free().detector, nints=nints)
    out, notes = _correct("joint", obs, truth, data, [line])
    frac, _ = _score(obs, truth, data, out, [line])
    assert frac < 0.005, (frac, notes)


def test_joint_residual_falls_with_the_floor_as_integrations_add_up():
    """SUB64, 5 groups, 4 noise seeds at 1 and 9 integrations: each residual within the
    bound of its floor (which is 3x lower at 9 integrations), and the rms residual falls by
    1/3 within the F-distribution's TAIL range of the ratio of two such rms values."""
    line = _line_390()
    seeds, resid = range(4), {}
    for nints in (1, 9):
        resid[nints] = []
        for seed in seeds:
            obs, truth, data = emi_ramps("SUB64", 5, [line], EFFECTS, seed=seed, nints=nints)
            out, notes = _correct("joint", obs, truth, data, [line])
            frac, floor = _score(obs, truth, data, out, [line])
            assert frac < bound(3) * floor, (nints, seed, frac, floor, notes)
            resid[nints].append(frac)
    ratio = np.sqrt(np.mean(np.square(resid[9])) / np.mean(np.square(resid[1])))
    dof = len(seeds) * 7  # 6 harmonic parameters and the frequency per fit
    spread = np.sqrt(stats.f.isf(TAIL, dof, dof))
    assert 1 / 3 / spread < ratio < 1 / 3 * spread, (ratio, resid)


# ----------------------------------------------------------------------------- 10 Hz, FULL

def _frequency_sigma(line, obs, truth, every=16):
    """Cramer-Rao standard deviation of the relative frequency offset of one line, from the
    Fisher matrix of its harmonics and frequency (validation.emi_floor's columns and ramp
    projector) on every ``every``-th row, scaled to all usable pixels.  The common per-read
    offsets are not eliminated, which can only make it smaller (a stricter test)."""
    usable = ~(truth.dead | truth.hot | truth.reference)
    sample = usable & (np.arange(usable.shape[0]) % every == 0)[:, None]
    starts, offsets = readclock.frame_starts(obs), readclock.pixel_offsets(obs)
    D, _ = emi_floor._columns([line], starts.ravel()[:, None] + offsets[sample][None, :], True)
    PD = cal_emi.project_off_ramps(D, obs.nints, obs.ngroups)
    F = np.einsum("npm,npl->ml", D, PD) * usable.sum() / sample.sum() / float(np.median(truth.read_noise)) ** 2
    d = np.sqrt(np.diag(F))
    return float(np.sqrt(np.linalg.inv(F / np.outer(d, d))[-1, -1]) / d[-1])


def _fitted_offset(notes, name):
    """Relative frequency offset the joint note reports for line ``name``."""
    for note in notes:
        m = re.search(rf"{name} fitted at ([0-9.]+) Hz \(reference ([0-9.]+) Hz", note)
        if m:
            return float(m.group(1)) / float(m.group(2)) - 1
    raise AssertionError(f"no fitted frequency for {name} in {notes}")


@pytest.mark.parametrize("ngroups,drift,seed", [(3, 1e-4, 1), (3, -5e-5, 2),
                                                (5, 1e-4, 1), (10, -6.5e-5, 2)])
def test_full_frame_10hz_with_frequency_offset(ngroups, drift, seed):
    line = emi_line("Hz10", _amplitudes(4.0, (1.0, 0.4, 0.15)), (1.0, 5.5, 3.0), drift)
    obs, truth, data = emi_ramps("FULL", ngroups, [line], EFFECTS, seed=seed)
    out, notes = _correct("joint", obs, truth, data, [line])
    frac, floor = _score(obs, truth, data, out, [line])
    assert frac < bound(3) * floor, (frac, floor, notes)
    sigma = _frequency_sigma(line, obs, truth)
    resolution = 0.5e-7 / line.frequency_hz  # the note prints 7 decimals of Hz
    assert abs(_fitted_offset(notes, "Hz10") - drift) < 3 * np.hypot(sigma, resolution), (sigma, notes)


# ----------------------------------------------------------------------------- properties

#: (subarray, ngroups) where sigma sqrt(p / M) is no floor (SUB128's near-whole-period 2nd
#: harmonic): tested against the Cramer-Rao floor below instead.
WEAK = {("SUB128", 8), ("SUB128", 9), ("SUB128", 10)}


REGULAR = [(s, n) for s in SUBARRAYS_390 for n in range(3, 11) if (s, n) not in WEAK]


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="issue 14: hypothesis 6.170 (fresh install) finds configurations where the "
                   "joint fit exceeds bound(h) x its floor: SLITLESSPRISM 3 groups, a 2 DN sine, seed 235: 3.50x "
                   "against 3.25; SUB128 7 groups, 2 harmonics, seed 0: 2.87x against 2.82 (same at stop 20's code)")
@settings(max_examples=20)
@given(config=st.sampled_from(REGULAR),
       rms=st.floats(2.0, 8.0), harmonics=st.integers(1, 3), relative=st.lists(st.floats(0.3, 1.0), min_size=2,
                                                                                max_size=2),
       phases=st.lists(st.floats(0, 2 * np.pi), min_size=3, max_size=3), drift=st.floats(-1e-4, 1e-4),
       seed=st.integers(0, 2**16))
def test_joint_residual_within_bound_of_floor(config, rms, harmonics, relative, phases, drift, seed):
    subarray, ngroups = config
    rel = (1.0, relative[0] / 2, relative[1] / 3)[:harmonics]  # u_h / h, as the simulator draws them
    line = emi_line("Hz390", _amplitudes(rms, rel), phases[:harmonics], drift)
    obs, truth, data = emi_ramps(subarray, ngroups, [line], EFFECTS, seed=seed)
    out, notes = _correct("joint", obs, truth, data, [line])
    frac, floor = _score(obs, truth, data, out, [line])
    assert frac < bound(harmonics) * floor, (frac, floor, frac / floor, notes)


@pytest.mark.parametrize("ngroups", [8, 10, 14])
def test_joint_within_bound_of_cramer_rao_floor_where_a_harmonic_is_nearly_whole_period(ngroups):
    """SUB128's frame is 46.5 periods of 390 Hz, so its 2nd harmonic turns by only
    2 pi 93 delta per frame: within one integration it is nearly a per-pixel ramp, and
    sigma sqrt(p / M) is far too optimistic a floor (the fit sits 5-8x above it).  The
    Cramer-Rao floor with the frequency learned knows this; the fit keeps a harmonic only
    when its group-varying power exceeds MIN_HARMONIC_POWER times its noise, so what it
    drops is bounded by the same floor."""
    line = _line_390()
    obs, truth, data = emi_ramps("SUB128", ngroups, [line], EFFECTS, seed=0)
    out, notes = _correct("joint", obs, truth, data, [line])
    frac, _ = _score(obs, truth, data, out, [line])
    usable = ~(truth.dead | truth.hot | truth.reference)
    crb = emi_floor.cramer_rao_floor([line], readclock.frame_starts(obs), readclock.pixel_offsets(obs),
                                     float(np.median(truth.read_noise)), usable, free_frequency=True,
                                     reference=truth.reference)
    assert frac < bound(3) * crb, (frac, crb, notes)


def test_both_lines_at_once():
    lines = [_line_390(), emi_line("Hz10", _amplitudes(4.0, (1.0, 0.4, 0.15)), (1.0, 5.5, 3.0), 5e-5)]
    obs, truth, data = emi_ramps("SLITLESSPRISM", 5, lines, EFFECTS, seed=1)
    out, notes = _correct("joint", obs, truth, data, lines)
    frac, floor = _score(obs, truth, data, out, lines)
    assert frac < bound(3, 3) * floor, (frac, floor, notes)


@pytest.mark.parametrize("subarray,ngroups", [("SUB64", 3), ("SUB64", 4)])
def test_unidentifiable_10hz_line_is_left_alone_and_said(subarray, ngroups):
    """Unidentifiable when its shape is learned from the data (the reference's shape not used)."""
    line = emi_line("Hz10", _amplitudes(4.0, (1.0, 0.4, 0.15)), (1.0, 5.5, 3.0), 5e-5)
    obs, truth, data = emi_ramps(subarray, ngroups, [line], EFFECTS, seed=1)
    usable = ~(truth.dead | truth.hot | truth.reference)
    crb = emi_floor.cramer_rao_floor([line], readclock.frame_starts(obs), readclock.pixel_offsets(obs),
                                     float(np.median(truth.read_noise)), usable, reference=truth.reference)
    assert crb > 1.0  # no unbiased correction that learns the shape can remove it: the case this test is about
    case, _ = emi_case(obs, data, [line])
    result = cal_emi.correct_joint(data.copy(), np.zeros(data.shape, np.uint8), mask_flags(truth), truth.read_noise,
                                   truth.gain, case, shape_prior=False)
    out, notes = (data, [result.reason]) if isinstance(result, Skip) else result
    frac, floor = _score(obs, truth, data, out, [line])
    assert frac < 1.0 + bound(3) * floor, (frac, notes)  # nothing added
    assert any(("Hz10" in note and "not detected" in note) or "no EMI line detected" in note for note in notes), notes


def test_the_references_exact_shape_makes_the_unidentifiable_10hz_line_identifiable():
    """The same line, SUB64 4 groups, with the exact shape in the reference: two parameters (amplitude, shift)
    instead of two per harmonic, and the line comes out (seed 1: 3.4 % left instead of 100 %)."""
    line = emi_line("Hz10", _amplitudes(4.0, (1.0, 0.4, 0.15)), (1.0, 5.5, 3.0), 5e-5)
    obs, truth, data = emi_ramps("SUB64", 4, [line], EFFECTS, seed=1)
    case, _ = emi_case(obs, data, [line], kind="perfect")
    out, notes = cal_emi.correct_joint(data.copy(), np.zeros(data.shape, np.uint8), mask_flags(truth),
                                       truth.read_noise, truth.gain, case)
    assert any("Hz10" in note and "the reference's as a prior" in note for note in notes), notes
    assert _score(obs, truth, data, out, [line])[0] < 0.5


@pytest.mark.parametrize("subarray,ngroups", [("SUB128", 3), ("SUB128", 4),
                                              ("SLITLESSPRISM", 3)])
def test_10hz_line_in_a_short_subarray_ramp_within_bound_of_its_floor(subarray, ngroups):
    """10 Hz in a subarray frame of 0.8-1.6 periods: the harmonics are far from
    orthogonal over a few groups, and the reference pixels (no rate) are much of what
    separates them from the per-pixel rates, so the floor is the Cramer-Rao one.  (SUB128,
    3 groups: floor 5.8 %, 291 % without reference pixels; the fit left 36 % when it
    dropped harmonics all at once, 8.5 % dropping the weakest first.)"""
    line = emi_line("Hz10", _amplitudes(4.0, (1.0, 0.4, 0.15)), (1.0, 5.5, 3.0), 5e-5)
    obs, truth, data = emi_ramps(subarray, ngroups, [line], EFFECTS, seed=1)
    usable = ~(truth.dead | truth.hot | truth.reference)
    crb = emi_floor.cramer_rao_floor([line], readclock.frame_starts(obs), readclock.pixel_offsets(obs),
                                     float(np.median(truth.read_noise)), usable, reference=truth.reference)
    out, notes = _correct("joint", obs, truth, data, [line])
    frac, _ = _score(obs, truth, data, out, [line])
    assert frac < bound(3) * crb, (frac, crb, notes)
