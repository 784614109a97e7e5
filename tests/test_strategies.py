"""The Hypothesis strategies exported by validation.strategies, used as a user would."""
import tomllib

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import readout
from miri_testbed.simulator import simulate
from miri_testbed.simulator.truth import read_truth
from miri_testbed.validation.scenarios import parse_scenario, parse_suite, scenario_toml
from miri_testbed.validation.strategies import effects, observations, scenarios, scenes


@given(scenarios(subarrays=("SUB64", "SUB128", "SUB256", "FULL"), readpatts=("FASTR1", "SLOWR1")))
def test_any_scenario_survives_the_toml_round_trip(scenario):
    """A drawn scenario written as TOML reads back identical, alone and inside a suite."""
    text = scenario_toml(scenario)
    assert parse_suite(f'[suite]\nname = "x"\nseeds = [0]\n\n{text}').scenarios == (scenario,)
    assert parse_scenario(tomllib.loads(text)["scenario"][0]) == scenario


ASKED_SUBARRAYS, ASKED_READPATTS = ("SUB64", "SUB128", "FULL"), ("FASTR1", "SLOWR1")
#: The pairs MIRI defines among those asked for, written out rather than derived from
#: instrument.readout as the strategy is (params 1: SLOWR1 is documented for FULL only).
VALID_PAIRS = {("SUB64", "FASTR1"), ("SUB128", "FASTR1"), ("FULL", "FASTR1"), ("FULL", "SLOWR1")}


@given(observations(subarrays=ASKED_SUBARRAYS, readpatts=ASKED_READPATTS, ngroups=(2, 30), nints=(1, 2)))
def test_observations_are_valid_pairs(observation):
    """Every drawn observation is a pair MIRI defines, among those asked for, in the asked ranges."""
    assert (observation.subarray, observation.readpatt) in VALID_PAIRS
    assert 2 <= observation.ngroups <= 30 and 1 <= observation.nints <= 2


@pytest.mark.parametrize("pair", sorted(VALID_PAIRS))
def test_every_valid_pair_is_drawn(pair):
    """Only the undefined pairs are skipped: each valid one (SLOWR1 with FULL too) is reachable."""
    strategy = observations(subarrays=ASKED_SUBARRAYS, readpatts=ASKED_READPATTS)
    found = find(strategy, lambda o: (o.subarray, o.readpatt) == pair, settings=settings(max_examples=200))
    assert (found.subarray, found.readpatt) == pair


@given(effects(cosmic_rays=False, showers=False))
def test_effects_respect_fixed_fields(eff):
    assert not eff.detector.cosmic_rays and not eff.detector.showers
    assert 0 <= eff.detector.hot_fraction <= 1e-2


@pytest.mark.slow
@settings(max_examples=4)
@given(data=st.data(), seed=st.integers(0, 2**31))
def test_simulated_exposure_matches_its_drawn_inputs(tmp_path_factory, data, seed):
    """The uncal file has the drawn shape; the truth lists the drawn sources at their fluxes."""
    observation = data.draw(observations(subarrays=("SUB64",), readpatts=("FASTR1",), ngroups=(2, 6), nints=(1, 2)))
    scene = data.draw(scenes(observation, n=(1, 3)))
    out = simulate(scene, observation, tmp_path_factory.mktemp("sim"), name="drawn", seed=seed)
    sub = readout.subarray(observation.subarray)
    with dm.open(out["uncal"]) as uncal:
        assert uncal.data.shape == (observation.nints, observation.ngroups, sub.ysize, sub.xsize)
    truth = read_truth(out["truth"]).table("SOURCES")
    np.testing.assert_allclose(np.sort(truth["flux_mjy"]), np.sort([s.flux_mjy for s in scene.sources]))
