"""The EMICORR reference's waveform as the joint fit's prior (issue 14): used where it fits, refused where stale."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miri_testbed.calibration import Skip
from miri_testbed.calibration import emi as cal_emi
from miri_testbed.instrument import emi as facts
from miri_testbed.simulator import DetectorEffects, Effects, Observation, ReferenceOptions, emi
from miri_testbed.simulator.exposure import rng_streams
from miri_testbed.simulator.references import emicorr_model, mask_flags
from miri_testbed.validation import emi_score

from helpers import emi_case, emi_line, emi_ramps

EFFECTS = DetectorEffects(cosmic_rays=False, showers=False, emi_rms_10_dn=0.0)


def _correct(obs, truth, data, case, **settings):
    out, notes = cal_emi.correct_joint(data.copy(), np.zeros(data.shape, np.uint8), mask_flags(truth),
                                       truth.read_noise, truth.gain, case, **settings)
    return out, " ".join(notes)


def _residual(obs, truth, lines, data, out):
    usable = ~(truth.dead | truth.hot | truth.reference)
    return emi_score.residual_fraction(emi.waveform(lines, obs), data.astype(np.float64) - out, usable)


def _instrument_exposure(subarray, ngroups, seed):
    """An exposure struck by the instrument's 390 Hz waveform (its shape, jitter and drift), with every noise."""
    obs = Observation(subarray=subarray, ngroups=ngroups)
    lines = [line for line in emi.draw(obs, EFFECTS, rng_streams(seed)["emi"]) if line.rms > 0]
    return (*emi_ramps(subarray, ngroups, lines, EFFECTS, seed=seed), lines)


def test_a_sine_or_no_waveform_is_no_shape_and_a_shape_keeps_its_harmonics():
    assert cal_emi.reference_shape(None, [1, 2, 3]) is None
    assert cal_emi.reference_shape(facts.sine_series([3.0]), [1, 2, 3]) is None
    assert cal_emi.reference_shape(facts.sine_series([3.0, 1.2]), [2, 3]) is None  # no fundamental to hold it by
    c = cal_emi.reference_shape(facts.sine_series([3.0, 1.2, 0.5], [0.0, 1.0, 2.0]), [1, 2, 3])
    np.testing.assert_allclose(np.abs(c), [3.0, 1.2, 0.5], rtol=1e-5)


def test_the_reference_shape_fixes_the_harmonic_the_data_hardly_determine():
    """SUB128, 10 groups: the 2nd harmonic is nearly 93 whole periods per frame, so nearly a per-pixel ramp;
    the measured reference's shape pins it, and the residual falls well below the learned shape's."""
    obs, truth, data, lines = _instrument_exposure("SUB128", 10, seed=1)
    case, _ = emi_case(obs, data, lines)
    prior, notes = _correct(obs, truth, data, case)
    learned, notes_learned = _correct(obs, truth, data, case, shape_prior=False)
    assert "Hz390" in notes and "the reference's as a prior" in notes
    assert "reference shape not used" in notes_learned
    assert _residual(obs, truth, lines, data, prior) < 0.3 * _residual(obs, truth, lines, data, learned)


def test_a_stale_shape_is_refused_and_the_shape_learned_as_without_it():
    """A reference whose harmonics sit at other phases than the exposure's: the departures are far beyond
    the prior's spread, so the fit learns the shape as if the reference had none, and says so."""
    obs, truth, data, lines = _instrument_exposure("SUB64", 20, seed=2)
    model = emicorr_model(ReferenceOptions(kind="measured"), lines)
    amplitudes = np.array(lines[0].amplitudes)
    model.frequencies.Hz390.phase_amplitudes = facts.sine_series(amplitudes, [0.0, np.pi, 0.0]).astype(np.float32)
    case, _ = emi_case(obs, data, model=model)
    stale, notes = _correct(obs, truth, data, case)
    learned, _ = _correct(obs, truth, data, case, shape_prior=False)
    assert "the reference's did not fit the data" in notes
    np.testing.assert_array_equal(stale, learned)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subarray=st.sampled_from(["SUB64", "SUB128", "SLITLESSPRISM"]), ngroups=st.integers(3, 9),
       amplitude=st.floats(1.0, 8.0), phases=st.lists(st.floats(0, 2 * np.pi), min_size=3, max_size=3),
       drift=st.floats(-1e-4, 1e-4))
def test_noise_free_emi_comes_out_through_its_exact_shape(subarray, ngroups, amplitude, phases, drift):
    line = emi_line("Hz390", amplitude * np.array([1.0, 0.4, 0.25]), phases, drift)
    obs, truth, data = emi_ramps(subarray, ngroups, [line], Effects.noise_free().detector)
    case, _ = emi_case(obs, data, [line], kind="perfect")
    out, notes = cal_emi.correct_joint(data, np.zeros(data.shape, np.uint8), np.zeros(data.shape[2:], np.uint32),
                                       truth.read_noise, truth.gain, case)
    assert "the reference's as a prior" in " ".join(notes)
    assert emi_score.residual_fraction(emi.waveform([line], obs), data.astype(np.float64) - out) < 0.005


@pytest.mark.parametrize("kind", ["measured", "perfect"])
def test_without_emi_the_shape_finds_nothing(kind):
    obs, truth, data = emi_ramps("SUB64", 10, [], EFFECTS, seed=4)
    case, _ = emi_case(obs, data, [], kind=kind)
    out = cal_emi.correct_joint(data, np.zeros(data.shape, np.uint8), mask_flags(truth), truth.read_noise,
                                truth.gain, case)
    assert isinstance(out, Skip) or "Hz390" not in " ".join(n for n in out[1] if "fitted" in n)
