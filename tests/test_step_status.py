"""Honest step status: every step the pipeline runs says COMPLETE or SKIPPED, and why.

A small SUB128 exposure is calibrated with the default variants (every step COMPLETE but
``background=local``, a declared skip), with every ``none`` variant (SKIPPED, HISTORY
says the variant was chosen), as a 2-group ramp (the steps that cannot work on one
difference decline) and without its optional references (SKIPPED, reference missing);
the command line writes ``jump=none`` into the rate product.
"""
import shutil
import warnings

import pytest
from astropy.table import QTable
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import registry
from miri_testbed.calibration.pipeline import calibrate_exposure
from miri_testbed.calibration.steps import CAL_STEP
from miri_testbed.simulator import Effects, Observation, simulate
from miri_testbed.validation.cli import main

from helpers import history_of, star_scene

#: The stage each step records into: detector1 steps into the rate, the others into the cal product.
DETECTOR1 = ("dq_init", "saturation", "emi", "firstframe", "lastframe", "linearity", "dark", "jump", "showers",
             "ramp_fit")
IMAGE3 = ("cruciform", "background", "catalog", "alignment")
#: The LRS's stage-2 steps, recorded in its x1d product (tests/test_lrs_spec2.py); not run on the imager.
SPEC2 = ("assign_wcs", "spec_background", "pixel_replace", "extract_1d", "apcorr", "pathloss", "spec_photom")
#: The LRS time series' tso3 steps, recorded in its x1dints (tests/test_lrs_tso.py).
TSO3 = ("extract_tso", "white_light", "transit_fit")
#: The MRS's spec2 steps, recorded in its cubes and x1d (tests/test_mrs_calibration.py, tests/test_mrs_photom.py).
MRS = ("straylight", "clean_showers", "mrs_wcs", "fringe", "mrs_photom", "cube_build", "mrs_extract", "spectral_leak",
       "residual_fringe", "residual_fringe_2d", "mrs_pixel_replace")
IMAGER = [step for step in registry.ALGORITHMS if step not in SPEC2 + TSO3 + MRS]
SKIPPABLE = [step for step, variants in registry.ALGORITHMS.items() if "none" in variants and step in IMAGER]


def _exposure(folder, ngroups, n=10):
    obs = Observation(filter="F770W", subarray="SUB128", ngroups=ngroups)
    return simulate(star_scene(obs, 4, n=n, flux=(0.5, 5.0), margin=20), obs, folder, name="e", seed=4,
                    effects=Effects())


@pytest.fixture(scope="module")
def exposure(tmp_path_factory):
    return _exposure(tmp_path_factory.mktemp("steps"), ngroups=5)


def _history(product):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # stdatamodels: "history attribute will soon be deprecated"
        return " ".join(history_of(product))


def _status(products, step):
    """The ``meta.cal_step`` status of ``step`` where the pipeline records it."""
    product = products["rate"] if step in DETECTOR1 else products["cal"]
    return getattr(product.meta.cal_step, CAL_STEP[step])


def test_every_step_is_a_registry_step_with_a_keyword_or_a_catalog_record():
    assert set(registry.ALGORITHMS) == set(DETECTOR1) | {"photom"} | set(IMAGE3) | set(SPEC2) | set(TSO3) | set(MRS)
    assert set(CAL_STEP) == set(registry.ALGORITHMS) - {"showers", "cruciform", "background", "catalog", "transit_fit",
                                                        "apcorr", "clean_showers",  # jwst's is straylight's option
                                                        "residual_fringe_2d"}
    assert set(SKIPPABLE) == set(IMAGER) - {"ramp_fit", "photom", "catalog", "background"}


def test_defaults_complete_every_step(exposure):
    products = calibrate_exposure(exposure["uncal"], exposure["refs"])
    for step in set(CAL_STEP) & set(IMAGER):
        assert _status(products, step) == "COMPLETE", step
    history = _history(products["cal"])
    for step in IMAGER:
        if step != "background":
            assert f"{step}={registry.DEFAULTS[step]}: COMPLETE" in history, step
    assert "background=local: SKIPPED (variant 'local' chosen" in history
    steps = products["cat"].meta["steps"]
    assert {s: r["status"] for s, r in steps.items()} == {"cruciform": "COMPLETE", "background": "SKIPPED",
                                                         "catalog": "COMPLETE", "alignment": "COMPLETE"}
    assert products["rate"].meta.exposure.extended_emission_events is not None
    products = calibrate_exposure(exposure["uncal"], exposure["refs"], {"background": "map"})
    assert products["cat"].meta["steps"]["background"] == {"variant": "map", "status": "COMPLETE"}


def test_every_none_variant_is_skipped_and_said(exposure):
    products = calibrate_exposure(exposure["uncal"], exposure["refs"], {step: "none" for step in SKIPPABLE})
    rate, cal = _history(products["rate"]), _history(products["cal"])
    for step in SKIPPABLE:
        said = f"{step}=none: SKIPPED (variant 'none' chosen)"
        assert said in cal, step
        if step in CAL_STEP:
            assert _status(products, step) == "SKIPPED", step
        if step in DETECTOR1:
            assert said in rate, step
        if step in IMAGE3:
            assert products["cat"].meta["steps"][step] == {
                "variant": "none", "status": "SKIPPED", "cause": "chosen", "reason": "variant 'none' chosen"}
    assert products["rate"].meta.exposure.extended_emission_events is None  # showers did not look
    assert products["cat"].meta["alignment"]["status"] == "SKIPPED"
    for step in ("ramp_fit", "photom"):
        assert _status(products, step) == "COMPLETE"


def test_two_group_ramp_declines_what_needs_three_groups(tmp_path):
    sim = _exposure(tmp_path, ngroups=2, n=3)
    products = calibrate_exposure(sim["uncal"], sim["refs"])
    history = _history(products["rate"])
    for step, reason in [("emi", "emi joint: 2 groups (needs >= 3)"), ("firstframe", "the first group is kept"),
                         ("lastframe", "the last group is kept"), ("jump", "one difference"),
                         ("showers", "one difference")]:
        assert f"{step}={registry.DEFAULTS[step]}: SKIPPED (declined: " in history, step
        assert reason in history, step
        if step in CAL_STEP:
            assert _status(products, step) == "SKIPPED", step
    for step in ("dq_init", "saturation", "linearity", "dark", "ramp_fit"):
        assert _status(products, step) == "COMPLETE", step
    # three detections cannot be aligned: the variant declines, and the catalog says REFUSED
    assert products["cat"].meta["alignment"]["status"] == "REFUSED"
    assert products["cat"].meta["steps"]["alignment"]["cause"] == "declined"
    assert _status(products, "alignment") == "SKIPPED"


def test_missing_optional_references_skip_their_steps(exposure, tmp_path):
    refs = tmp_path / "refs"
    shutil.copytree(exposure["refs"], refs)
    for pattern in ("*_emicorr.asdf", "*_cruciform.fits", "*_refcat.fits"):
        for path in refs.glob(pattern):
            path.unlink()
    products = calibrate_exposure(exposure["uncal"], refs)
    history = _history(products["cal"])
    assert _status(products, "emi") == "SKIPPED" and "emi=joint: SKIPPED (reference: " in history
    assert "no EMICORR reference" in history
    assert "cruciform=subtract: SKIPPED (reference: no CRUCIFORM reference" in history
    assert "alignment=catalog: SKIPPED (reference: no REFCAT reference catalog" in history
    assert products["cat"].meta["alignment"]["status"] == "SKIPPED"
    assert products["cat"].meta["steps"]["cruciform"]["cause"] == "reference"


def test_cli_jump_none_writes_a_rate_with_jump_skipped(exposure, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["calibrate", str(exposure["uncal"]), "-o", str(out), "--refs", str(exposure["refs"]),
                 "--algorithm", "jump=none"]) == 0, capsys.readouterr().err
    with dm.open(out / "e_rate.fits") as rate:
        assert rate.meta.cal_step.jump == "SKIPPED"
        assert rate.meta.cal_step.ramp_fit == "COMPLETE"
        assert "jump=none: SKIPPED (variant 'none' chosen)" in _history(rate)
    cat = QTable.read(out / "e_cat.ecsv")
    assert cat.meta["algorithms"]["jump"] == "none"
