"""The Hypothesis strategies exported by validation.strategies, used as a user would."""
import tomllib

import numpy as np
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import readout
from miri_testbed.simulator import simulate
from miri_testbed.validation.scenarios import parse_scenario, parse_suite, scenario_toml
from miri_testbed.validation.strategies import effects, observations, scenarios, scenes


@given(scenarios(subarrays=("SUB64", "SUB128", "SUB256", "FULL"), readpatts=("FASTR1", "SLOWR1")))
def test_any_scenario_survives_the_toml_round_trip(scenario):
    """A drawn scenario written as TOML reads back identical, alone and inside a suite."""
    text = scenario_toml(scenario)
    assert parse_suite(f'[suite]\nname = "x"\nseeds = [0]\n\n{text}').scenarios == (scenario,)
    assert parse_scenario(tomllib.loads(text)["scenario"][0]) == scenario


@given(observations(subarrays=("SUB64", "SUB128", "FULL"), readpatts=("FASTR1", "SLOWR1")))
def test_observations_are_valid_pairs(observation):
    assert observation.readpatt == "FASTR1" or observation.subarray in readout.SLOW_ROWCLOCKS
    assert observation.ngroups >= 2


@given(effects(cosmic_rays=False, showers=False))
def test_effects_respect_fixed_fields(eff):
    assert not eff.cosmic_rays and not eff.showers
    assert 0 <= eff.hot_fraction <= 1e-2


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
    truth = fits.getdata(out["truth"], "SOURCES")
    np.testing.assert_allclose(np.sort(truth["flux_mjy"]), np.sort([s.flux_mjy for s in scene.sources]))
