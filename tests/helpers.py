"""Small builders shared by the tests."""
import pandas as pd

from miri_testbed.calibration.pipeline import calibrate
from miri_testbed.simulator import DetectorEffects, Observation, ReferenceOptions, Scene, simulate
from miri_testbed.simulator.exposure import rng_streams
from miri_testbed.simulator.sky import random_star_field
from miri_testbed.validation.score import score


def star_scene(observation, seed, n=8, flux=(0.02, 0.5), background=2.0, margin=25, separation=0.0):
    stars = random_star_field(observation, n, flux[0], flux[1], rng_streams(seed)["scene"], margin, separation)
    return Scene(stars, background)


def simulate_and_calibrate(tmp_path, observation, scene, seed=0, effects=None, references=None):
    sim = simulate(scene, observation, tmp_path / "sim", name="exp", seed=seed,
                   effects=effects or DetectorEffects(), references=references or ReferenceOptions())
    products = calibrate(sim["uncal"], tmp_path / "out", sim["refs"])
    rows, hist = score(sim["truth"], products["rate"], products["cat"])
    return sim, products, pd.DataFrame(rows)


def noise_free():
    return dict(effects=DetectorEffects.noise_free(), references=ReferenceOptions(kind="perfect"))


__all__ = ["Observation", "simulate_and_calibrate", "star_scene", "noise_free"]


def tiny_suite_toml(seeds):
    """A suite of one SUB64 scene with two stars and 8 groups: a study cell in seconds."""
    return f"""
[suite]
name = "tiny"
seeds = {list(seeds)}

[[scenario]]
name = "sub64"
[scenario.observation]
subarray = "SUB64"
ngroups = 8
[scenario.scene]
background_mjy_sr = 2.0
random_stars = {{ n = 2, flux_min_mjy = 0.1, flux_max_mjy = 1.0, margin_pix = 14 }}
"""
