"""Dedicated background exposures (issue 5): the simulator's offset field and the
calibration's ``background=dedicated`` variant."""
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError
from miri_testbed.calibration import background as cal_background
from miri_testbed.calibration.pipeline import calibrate, calibrate_exposure
from miri_testbed.instrument import dq
from miri_testbed.simulator import Observation, Scene, simulate
from miri_testbed.simulator.truth import read_truth
from miri_testbed.validation.cli import main
from miri_testbed.validation.runner import Cell, run_cell
from miri_testbed.validation.scenarios import parse_suite
from miri_testbed.validation.score import score

from helpers import star_scene, tiny_suite_toml

OBS = Observation(filter="F770W", subarray="SUB256", ngroups=20, epoch_mjd=60400.0)
SKY_MJY_SR = 20.0


@pytest.fixture(scope="module")
def field(tmp_path_factory):
    """A 12-star F770W field on a 20 MJy/sr sky with its dedicated background exposure."""
    folder = tmp_path_factory.mktemp("bkg")
    scene = star_scene(OBS, 1, n=12, flux=(0.1, 2.0), background=SKY_MJY_SR, separation=30)
    sim = simulate(scene, replace(OBS, background_exposure=True), folder / "sim", name="e", seed=1)
    return folder, scene, sim


def test_background_exposure_is_the_offset_field_after_the_science_and_leaves_it_unchanged(field, tmp_path):
    folder, scene, sim = field
    with dm.RampModel(str(sim["uncal"])) as science, dm.RampModel(str(sim["background"])) as bkg:
        assert bkg.meta.observation.bkgdtarg is True
        assert bkg.meta.instrument.filter == "F770W" and bkg.meta.subarray.name == "SUB256"
        assert bkg.meta.exposure.start_time == pytest.approx(science.meta.exposure.end_time, abs=1e-9)
        assert abs(bkg.meta.target.dec - science.meta.target.dec) > 0.05  # an offset field, ~300"
        science_data = science.data.copy()
    asn = json.loads(sim["association"].read_text())
    members = {m["exptype"]: m["expname"] for m in asn["products"][0]["members"]}
    assert members == {"science": "e_uncal.fits", "background": "e_bkg_uncal.fits"}
    assert read_truth(sim["truth"]).header["BKGSTART"] > OBS.epoch_mjd
    # Its own seed stream: the science exposure is the same with and without it.
    alone = simulate(scene, OBS, tmp_path / "alone", name="e", seed=1)
    with dm.RampModel(str(alone["uncal"])) as model:
        np.testing.assert_array_equal(model.data, science_data)
    assert "background" not in alone
    members = json.loads(alone["association"].read_text())["products"][0]["members"]
    assert members == [{"expname": "e_uncal.fits", "exptype": "science"}]


def test_dedicated_background_subtracts_the_sky_and_adds_its_variance(tmp_path):
    """An empty 20 MJy/sr field and its background exposure, each calibrated alone: the
    difference must be 0 to within its noise and scatter as ``sqrt(var_S + var_B)``
    (pull width 1), i.e. the variances add (the science's error alone is ~sqrt(2) short)."""
    sim = simulate(Scene((), SKY_MJY_SR), replace(OBS, background_exposure=True), tmp_path / "sim", name="sky",
                   seed=4)
    cal_s = calibrate_exposure(sim["uncal"], sim["refs"])["cal"]
    cal_b = calibrate_exposure(sim["background"], sim["refs"])["cal"]
    var_s, var_b = cal_s.err.astype(float) ** 2, cal_b.err.astype(float) ** 2
    diff, var = cal_background.dedicated(cal_s.data.astype(float), var_s, [(cal_b.data.astype(float), var_b)])
    np.testing.assert_allclose(var, var_s + var_b)
    flagged = ((cal_s.dq | cal_b.dq) & (dq.DO_NOT_USE | dq.JUMP_DET | dq.SATURATED)) != 0
    sky = np.isfinite(diff) & ~flagged
    assert sky.sum() > 50000
    level = np.median(cal_s.data[sky])
    assert level == pytest.approx(SKY_MJY_SR, rel=0.1)  # the scene's sky, decayed and in its cross
    pulls = diff[sky] / np.sqrt(var[sky])
    noise_of_median = 1.25 * np.std(diff[sky]) / np.sqrt(sky.sum())
    assert abs(np.median(diff[sky])) < 4 * noise_of_median  # ~0.03 % of the sky: it is gone
    assert abs(np.mean(pulls)) < 0.05
    width = 1.4826 * np.median(np.abs(pulls - np.median(pulls)))
    assert width == pytest.approx(1.0, abs=0.08)
    alone = 1.4826 * np.median(np.abs(diff[sky] / np.sqrt(var_s[sky])))
    assert alone > 1.25


def test_dedicated_variant_flux_ratio_is_unbiased_and_errors_grow(field):
    """The pipeline finds the background through the association beside the uncal."""
    folder, _, sim = field
    rows, errors = {}, {}
    for variant in ("local", "dedicated"):
        paths = calibrate(sim["uncal"], folder / variant, sim["refs"], {"background": variant})
        frame = pd.DataFrame(score(sim["truth"], paths["rate"], paths["cat"])[0])
        rows[variant] = frame[(frame.metric == "flux_ratio") & (frame.snr > 100)]
        cat = pd.read_csv(paths["cat"], comment="#", sep=" ")
        errors[variant] = cat.set_index("id")["flux_err"]
    assert len(rows["dedicated"]) >= 8
    assert abs(np.median(rows["dedicated"].value) - 1) < 0.01
    common = errors["local"].index.intersection(errors["dedicated"].index)
    assert len(common) >= 8 and (errors["dedicated"][common] > errors["local"][common]).all()


def _other(tmp_path, name, **changes):
    obs = replace(OBS, ngroups=4, **changes)
    return simulate(Scene((), SKY_MJY_SR), obs, tmp_path / name, name=name, seed=2)["uncal"]


@pytest.mark.parametrize("changes, words", [
    (dict(filter="F560W"), "filter is F560W, the science exposure's is F770W"),
    (dict(subarray="SUB128"), "subarray is SUB128, the science exposure's is SUB256"),
])
def test_a_mismatched_background_exposure_is_refused_by_name(field, tmp_path, changes, words):
    folder, _, sim = field
    bkg = _other(tmp_path, "other", **changes)
    with pytest.raises(CalibrationInputError, match=words):
        calibrate_exposure(sim["uncal"], sim["refs"], {"background": "dedicated"}, background_paths=[bkg])


def test_a_background_of_another_frame_shape_is_refused(field):
    science = dm.RampModel(data=np.zeros((1, 2, 256, 256), np.float32))
    bkg = dm.RampModel(data=np.zeros((1, 2, 128, 256), np.float32))
    for model in (science, bkg):
        model.meta.instrument.filter, model.meta.subarray.name = "F770W", "SUB256"
    with pytest.raises(CalibrationInputError, match=r"frame shape \(128, 256\) differs"):
        cal_background.check_dedicated(science, bkg)


def test_background_choices_that_cannot_work_are_errors(field, tmp_path, capsys):
    folder, _, sim = field
    with pytest.raises(CalibrationInputError, match="is the science exposure itself"):
        cal_background.dedicated_paths("dedicated", sim["uncal"], [sim["uncal"]])
    with pytest.raises(CalibrationInputError, match="background step is 'map'; choose background=dedicated"):
        cal_background.dedicated_paths("map", sim["uncal"], [sim["background"]])
    lonely = _other(tmp_path, "lonely")
    with pytest.raises(CalibrationInputError, match="needs a dedicated background exposure"):
        cal_background.dedicated_paths("dedicated", lonely)
    assert cal_background.dedicated_paths("dedicated", sim["uncal"]) == [sim["background"]]
    # the command line: --background implies background=dedicated; a wrong one exits 2 naming it
    wrong = _other(tmp_path, "wrong", filter="F1000W")
    code = main(["calibrate", str(sim["uncal"]), "-o", str(tmp_path / "out"), "--refs", str(sim["refs"]),
                 "--background", str(wrong)])
    assert code == 2
    assert "filter is F1000W, the science exposure's is F770W" in capsys.readouterr().err
    assert not (tmp_path / "out" / "e_cal.fits").exists()


def test_a_scenario_turns_the_background_exposure_on_for_a_study_variant(tmp_path):
    suite = parse_suite(tiny_suite_toml([3]).replace("ngroups = 8", "ngroups = 8\nbackground_exposure = true"))
    scenario = suite.scenarios[0]
    assert scenario.observation.background_exposure
    frame = run_cell(Cell(scenario, 3, (("background", "dedicated"),)), tmp_path)[0]
    assert (frame.metric == "flux_ratio").any() and (frame.algorithms == "background=dedicated").all()
    plain = replace(scenario, observation=replace(scenario.observation, background_exposure=False))
    with pytest.raises(CalibrationInputError, match="needs a dedicated background exposure"):
        run_cell(Cell(plain, 3, (("background", "dedicated"),)), tmp_path / "plain")
