"""EMI left in the ramps (2 groups, ``emi=none``, declined, whole-period lines): its variance in ERR."""
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miri_testbed.calibration import detector1, emi_noise, ramp_fit
from miri_testbed.calibration import emi as cal_emi
from miri_testbed.calibration.inputs import open_uncal
from miri_testbed.calibration.pipeline import calibrate_exposure
from miri_testbed.calibration.registry import resolve
from miri_testbed.calibration.steps import COMPLETE, SKIPPED, StepLog, StepRecord
from miri_testbed.instrument import dq, readout
from miri_testbed.instrument import emi as facts
from miri_testbed.instrument.detector import PIXEL_CLOCK_S
from miri_testbed.simulator import DetectorEffects, Effects, Observation, Readout, ReferenceOptions, simulate
from miri_testbed.simulator import emi as sim_emi
from miri_testbed.simulator.references import emicorr_model
from miri_testbed.validation.score import as_truth, residuals

from helpers import emi_case, history_of, star_scene

QUIET = DetectorEffects(cosmic_rays=False, showers=False)  # no unflaggable hits in 2-group ramps


def _line(name, amplitudes, phases):
    """A calibration EmiLine whose stored waveform is ``sum_h a_h sin(2 pi h phi + phase_h)``, DN."""
    phase = (np.arange(facts.WAVEFORM_BINS) + 0.5) / facts.WAVEFORM_BINS
    harmonics = enumerate(zip(amplitudes, phases, strict=True), 1)
    wave = sum(a * np.sin(2 * np.pi * h * phase + p) for h, (a, p) in harmonics)
    return cal_emi.EmiLine(name, facts.FREQUENCIES[name], wave)


def _clocks(subarray, nints, ngroups):
    frame = readout.frame_clocks(subarray, "FASTR1")
    return ((np.arange(nints)[:, None] * (ngroups + 1) + np.arange(ngroups)[None, :]) * float(frame)).ravel()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subarray=st.sampled_from(["SUB64", "SUB128", "SLITLESSPRISM", "FULL"]), name=st.sampled_from(["Hz390", "Hz10"]),
       ngroups=st.integers(2, 12), nints=st.integers(1, 3), method=st.sampled_from(["ols", "optimal", "likelihood"]),
       rate=st.floats(0.0, 500.0), amplitudes=st.lists(st.floats(0.1, 8.0), min_size=1, max_size=4),
       seed=st.integers(0, 2**16))
def test_variance_matches_monte_carlo_of_random_phases(subarray, name, ngroups, nints, method, rate, amplitudes, seed):
    """sum_h P_h |sum_n c_n exp(i h w T_n)|^2 against the sample variance of slopes of the
    waveform read at a random phase (and at a pixel's own clock offset), within 5 standard errors."""
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0, 2 * np.pi, len(amplitudes))
    line = _line(name, amplitudes, phases)
    group_time = readout.group_time(subarray, "FASTR1")
    times = group_time * np.arange(1, ngroups + 1)
    table, which = ramp_fit.template_weights(method, times, np.array([rate]), np.array([4.2]), np.array([4.0]))
    c = np.tile(table[which[0]], nints) / nints  # the rate: the mean of the integrations' slopes
    clocks = _clocks(subarray, nints, ngroups)
    z, powers = emi_noise.line_phasors(line, clocks)
    predicted = emi_noise.slope_variance(z, powers, c)

    m = 20000
    offset = rng.uniform(0, readout.frame_clocks(subarray, "FASTR1"))  # the pixel's read in the frame
    t = (clocks + offset) * PIXEL_CLOCK_S
    shift = rng.uniform(0, 1 / line.frequency_hz, m)[:, None]  # unknown start: the waveform's phase
    w = 2 * np.pi * line.frequency_hz
    e = sum(a * np.sin(h * w * (t + shift) + p) for h, (a, p) in enumerate(zip(amplitudes, phases, strict=True), 1))
    slopes = e @ c
    sq = (slopes - slopes.mean()) ** 2
    rounding = 1e-12 * powers.sum() * np.sum(c**2)  # a whole-period frame: both are 0 but for rounding
    assert abs(sq.mean() - predicted) < 5 * sq.std() / np.sqrt(m) + rounding, (sq.mean(), predicted)


def test_two_groups_closed_form():
    """c = (-1, 1) / t_g: |S_h|^2 = 4 sin^2(h w F / 2) / t_g^2, harmonics in quadrature."""
    amplitudes = (5.0, 1.5, 0.7)
    line = _line("Hz390", amplitudes, (0.3, 2.0, 4.0))
    frame = readout.frame_clocks("SUB64", "FASTR1")
    t_g = frame * PIXEL_CLOCK_S
    z, powers = emi_noise.line_phasors(line, np.array([0.0, frame]))
    wf = 2 * np.pi * line.frequency_hz * t_g
    expected = sum(a**2 / 2 * 4 * np.sin(h * wf / 2) ** 2 for h, a in enumerate(amplitudes, 1)) / t_g**2
    assert emi_noise.slope_variance(z, powers, np.array([-1.0, 1.0]) / t_g) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("subarray", ["SUB256", "BRIGHTSKY", "FULL"])
@pytest.mark.parametrize("ngroups,nints", [(2, 1), (7, 3)])
def test_whole_period_frame_adds_nothing(subarray, ngroups, nints):
    """390 Hz where a frame is a whole number of periods: the EMI is a per-pixel constant."""
    assert facts.in_phase(subarray, "FASTR1", facts.FREQUENCIES["Hz390"])
    line = _line("Hz390", (5.0, 2.0, 1.0), (0.1, 0.2, 0.3))
    z, powers = emi_noise.line_phasors(line, _clocks(subarray, nints, ngroups))
    t_g = readout.group_time(subarray, "FASTR1")
    c = np.tile(ramp_fit.template_weights("ols", t_g * np.arange(1, ngroups + 1), np.zeros(1), np.ones(1),
                                          np.ones(1))[0][0], nints) / nints
    scale = powers.sum() * 4 / t_g**2  # the size of a 2-group variance
    assert emi_noise.slope_variance(z, powers, c) < 1e-20 * scale


def test_lines_left_in_by_each_path():
    obs = Observation(subarray="SUB128", ngroups=3)
    model = emicorr_model(ReferenceOptions())
    model.subarray_cases.SUB256.freqs.FAST = ["Hz390", "Hz10"]
    case, _ = emi_case(obs, np.zeros((1, 3, 128, 136), np.float32), model=model)
    ran = StepRecord("emi", "joint", COMPLETE)
    assert emi_noise.left_in(ran, ["emi joint: Hz390 fitted", "emi joint: Hz10 fitted"], case) == []
    not_found = cal_emi.LeftIn("emi joint: Hz10 (10.039216 Hz) not detected; not corrected", "Hz10")
    assert [(line.name, why) for line, why in emi_noise.left_in(ran, ["emi joint: Hz390 fitted", not_found], case)] \
        == [("Hz10", str(not_found))]
    declined = StepRecord("emi", "joint", SKIPPED, "declined", "emi joint: 2 groups (needs >= 3)")
    assert [line.name for line, _ in emi_noise.left_in(declined, [], case)] == ["Hz390", "Hz10"]
    assert emi_noise.left_in(declined, [], None) == []
    whole, _ = emi_case(Observation(subarray="SUB256", ngroups=3), np.zeros((1, 3, 256, 256), np.float32),
                        model=model)
    left = emi_noise.left_in(StepRecord("emi", "joint", COMPLETE), [], whole)
    assert [line.name for line, _ in left] == ["Hz390"] and "whole periods" in left[0][1]
    assert left[0][0].waveform is not None


@pytest.mark.parametrize("method", ["ols", "likelihood"])
def test_fit_applies_its_own_weights_to_the_phasors(method):
    """The fit's ``var_interference`` is the response of the fitted rates to the disturbance, also for ramps
    that a jump splits or saturation cuts, and across integrations: checked by moving the data along the
    phasors (central differences).  Noise-free ramps: data-dependent weights then move no rate."""
    rng = np.random.default_rng(4)
    nints, ngroups, ny, nx = 2, 8, 6, 40
    t_g = readout.group_time("SUB64", "FASTR1")
    data = rng.uniform(0, 300, (ny, nx)) * t_g * np.arange(1, ngroups + 1)[:, None, None] + np.zeros((nints, 1, 1, 1))
    groupdq = np.zeros(data.shape, np.uint8)
    groupdq[:, 0] = groupdq[:, -1] = dq.DO_NOT_USE
    groupdq[0, 4, :2] |= dq.JUMP_DET  # rows 0-1: integration 0 in two segments
    groupdq[1, 5:, 2:4] |= dq.SATURATED  # rows 2-3: integration 1 cut short
    rn, gain = np.full((ny, nx), 4.2), np.full((ny, nx), 4.0)
    line = _line("Hz390", (5.0, 1.0), (0.4, 1.0))
    case, _ = emi_case(Observation(subarray="SUB64", ngroups=ngroups, nints=nints), data.astype(np.float32))
    z, powers = emi_noise.interference([line], case, nints, ngroups)
    fit = ramp_fit.fit_ramps(data, groupdq, rn, gain, t_g, 0.0, method, interference=(z, powers))
    eps = 0.5  # DN
    response, response_ints = 0.0, 0.0
    for j in range(powers.size):
        for part in (np.real, np.imag):
            step = eps * part(z[..., j])[:, :, None, None]
            up, down = (ramp_fit.fit_ramps(data + sign * step, groupdq, rn, gain, t_g, 0.0, method) for sign in (1, -1))
            response = response + powers[j] * ((up.rate.astype(np.float64) - down.rate) / (2 * eps)) ** 2
            response_ints = response_ints + powers[j] * ((up.rate_ints.astype(np.float64) - down.rate_ints)
                                                         / (2 * eps)) ** 2
    special = slice(0, 4)
    assert fit.var_interference_ints[0, 0, 0] > 2 * fit.var_interference_ints[0, 5, 0]  # the split ramp's is larger
    # the likelihood weights are tabulated in the rate: a moved ramp may take the next table row
    tol = 1e-3 if method == "ols" else 3e-2
    np.testing.assert_allclose(fit.var_interference[special], response[special], rtol=tol)
    np.testing.assert_allclose(fit.var_interference_ints[:, special], response_ints[:, special], rtol=tol)
    assert np.median(np.abs(fit.var_interference / response - 1)) < 1e-3


def test_measured_reference_carries_the_mean_power_of_the_draws():
    """The simulator's measured EMICORR: each harmonic's power is the mean over exposures' draws (within 5
    standard errors of 4000 draws), in DN; zero when the instrument has no EMI."""
    effects = DetectorEffects()
    rng = np.random.default_rng(5)
    sub128 = Readout(subarray="SUB128")
    draws = np.array([[np.square(line.amplitudes) / 2 for line in sim_emi.draw(sub128, effects, rng)]
                      for _ in range(4000)])  # (draw, line, harmonic)
    model = emicorr_model(ReferenceOptions(), effects=effects)
    for k, name in enumerate(("Hz390", "Hz10")):
        stored = emi_noise.harmonic_powers(getattr(model.frequencies, name).phase_amplitudes)
        mean, se = draws[:, k].mean(axis=0), draws[:, k].std(axis=0) / np.sqrt(len(draws))
        np.testing.assert_allclose(stored[:3], sim_emi.mean_power(name, effects), rtol=1e-5)
        assert np.all(np.abs(stored[:3] - mean) < 5 * se + 1e-9), (name, stored[:3], mean, se)
        assert stored[3:].sum() < 1e-6 * stored.sum()
    off = emicorr_model(ReferenceOptions(), effects=dataclasses.replace(effects, emi=False))
    assert not np.any(off.frequencies.Hz390.phase_amplitudes)



def test_each_exposure_takes_the_instruments_waveform_at_its_own_time_origin():
    """Without jitter every exposure's waveform is the measured reference's shifted in time (harmonic h by h
    times the fundamental's shift); the jitter moves each harmonic by about its size."""
    sub64 = Readout(subarray="SUB64")
    fixed = dataclasses.replace(DetectorEffects(), emi_shape_jitter=0.0)
    rng = np.random.default_rng(3)
    reference = emicorr_model(ReferenceOptions(), effects=fixed)
    for _ in range(5):
        for line in sim_emi.draw(sub64, fixed, rng):
            amplitudes, psi = sim_emi.instrument_waveform(line.name, fixed)
            h = np.arange(1, len(amplitudes) + 1)
            shift = line.phases[0] - psi[0]
            np.testing.assert_allclose(line.amplitudes, amplitudes, rtol=1e-12)
            np.testing.assert_allclose(np.angle(np.exp(1j * (np.array(line.phases) - psi - h * shift))), 0, atol=1e-9)
            stored = emi_noise.harmonic_powers(getattr(reference.frequencies, line.name).phase_amplitudes)[:h.size]
            np.testing.assert_allclose(stored, np.square(amplitudes) / 2, rtol=1e-4)
    jittered = DetectorEffects()
    ratios = np.array([np.array(line.amplitudes) / sim_emi.instrument_waveform(line.name, jittered)[0]
                       for _ in range(400) for line in sim_emi.draw(sub64, jittered, rng)])
    assert abs(np.std(ratios) - jittered.emi_shape_jitter) < 0.2 * jittered.emi_shape_jitter

def _sub128(tmp_path, emi=True, ngroups=2, name="e", seed=1):
    obs = Observation(subarray="SUB128", ngroups=ngroups)
    return simulate(star_scene(obs, seed, n=4, margin=12), obs, tmp_path / name, name=name, seed=seed,
                    effects=Effects(detector=dataclasses.replace(QUIET, emi=emi)), references=ReferenceOptions())


def _pulls(sim, rate):
    diff, err, _ = residuals(as_truth(sim["truth"]), rate)
    return diff / err


def _robust(p):
    return 1.4826 * np.median(np.abs(p - np.median(p)))


def test_two_group_sub128_pulls_with_emi_left_in(tmp_path):
    """Pull rms near 1 (it was 1.61 with the EMI left out of ERR); the robust width is that of a
    Gaussian plus the sinusoid EMI of the computed variance (not 1: the EMI is not Gaussian)."""
    sim = _sub128(tmp_path)
    products = calibrate_exposure(sim["uncal"], sim["refs"])
    rate = products["rate"]
    history = " ".join(history_of(rate))
    assert "emi=joint: SKIPPED (declined: emi joint: 2 groups (needs >= 3))" in history
    assert "Hz390 (390.625 Hz) not removed" in history and "Hz10 (10.039216 Hz) not removed" in history
    assert "added to VAR_RNOISE and ERR" in history
    p = _pulls(sim, rate)
    assert abs(np.std(p) - 1) < 0.1, np.std(p)

    case, _ = cal_emi.find_case(sim["refs"], open_uncal(sim["uncal"]))
    t_g = float(rate.meta.exposure.group_time)
    z, powers = emi_noise.interference(case.lines, case, 1, 2)
    var_emi = emi_noise.slope_variance(z[0], powers, np.array([-1.0, 1.0]) / t_g)  # every weighting with 2 groups
    fraction = var_emi / np.asarray(rate.err, np.float64) ** 2
    usable = np.isfinite(fraction) & ((rate.dq & (dq.DO_NOT_USE | dq.REFERENCE_PIXEL)) == 0)
    f = np.median(fraction[usable])
    rng = np.random.default_rng(0)
    model = (np.sqrt(1 - f) * rng.standard_normal(10**6) + np.sqrt(2 * f) * np.cos(rng.uniform(0, 2 * np.pi, 10**6)))
    assert f > 0.3  # the case this test is about: EMI a large part of the noise
    assert abs(_robust(p) - _robust(model)) < 0.05, (_robust(p), _robust(model), f)


def test_emi_off_in_the_simulator(tmp_path):
    """With the references of the same detector with EMI, ERR grows by exactly the EMI variance and the
    pulls shrink as that predicts; with its own references (no EMI measured) nothing is added."""
    on, off = _sub128(tmp_path, emi=True, name="on"), _sub128(tmp_path, emi=False, name="off")
    own = calibrate_exposure(off["uncal"], off["refs"])["rate"]
    with_emi_refs = calibrate_exposure(off["uncal"], on["refs"])["rate"]
    np.testing.assert_array_equal(own.data, with_emi_refs.data)
    case, _ = cal_emi.find_case(on["refs"], open_uncal(off["uncal"]))
    t_g = float(own.meta.exposure.group_time)
    z, powers = emi_noise.interference(case.lines, case, 1, 2)
    var_emi = emi_noise.slope_variance(z[0], powers, np.array([-1.0, 1.0]) / t_g)
    usable = (own.dq & dq.DO_NOT_USE) == 0
    added = with_emi_refs.var_rnoise[usable].astype(np.float64) - own.var_rnoise[usable]
    np.testing.assert_allclose(added, var_emi, rtol=1e-4)
    np.testing.assert_allclose(own.err[usable] ** 2, own.var_poisson[usable] + own.var_rnoise[usable], rtol=1e-5)
    p_own, p_inflated = _pulls(off, own), _pulls(off, with_emi_refs)
    assert abs(np.std(p_own) - 1) < 0.05
    _, err, _ = residuals(as_truth(off["truth"]), own)
    predicted = np.sqrt(np.mean(err**2 / (err**2 + var_emi)))
    assert abs(np.std(p_inflated) - predicted) < 0.05, (np.std(p_inflated), predicted)
    assert "0 DN/s rms" in " ".join(history_of(own))


def test_emi_removed_adds_nothing(tmp_path):
    """3 groups: the joint fit removes both lines, and VAR_RNOISE is the fit's alone; ``emi=none`` adds."""
    sim = _sub128(tmp_path, ngroups=3)
    results = {}
    for variant in ("joint", "none"):
        log = StepLog()
        results[variant] = (log, detector1.run(log, open_uncal(sim["uncal"]), sim["refs"], resolve({"emi": variant})))
    log, d1 = results["joint"]
    assert log.record("emi").status == COMPLETE
    assert not any("not removed" in note for note in log.notes["emi"]), log.notes["emi"]
    models, refs = detector1.reference_arrays(sim["refs"], open_uncal(sim["uncal"]))
    t_g = float(d1.ramp.meta.exposure.group_time)
    alone = ramp_fit.fit_likelihood(d1.ramp.data, d1.ramp.groupdq, refs["readnoise"], refs["gain"], t_g,
                                    detector1.dark_rate(models["DARK"], t_g, refs["gain"]))
    usable = np.isfinite(d1.var_rnoise)
    np.testing.assert_array_equal(d1.var_rnoise[usable], alone.var_rnoise[usable])
    log, none = results["none"]
    assert any("not removed (emi=none: SKIPPED" in note for note in log.notes["emi"])
    assert np.all(none.var_rnoise[usable] > d1.var_rnoise[usable])
