"""Pipelines by exposure type: detector1 for every MIRI ramp, then the stage-2/3 pipeline
its EXP_TYPE (and TSOVISIT) chooses; one not built yet is refused clearly, before any work."""
import shutil

import numpy as np
import pytest
from astropy.io import fits

from miri_testbed.calibration import CalibrationInputError, detector1, registry
from miri_testbed.calibration.inputs import open_uncal
from miri_testbed.calibration.pipeline import PIPELINES, calibrate_exposure
from miri_testbed.calibration.steps import StepLog
from miri_testbed.instrument.modes import BY_EXP_TYPE
from miri_testbed.simulator import Observation, simulate
from miri_testbed.validation.cli import main

from helpers import star_scene

UNBUILT = [key for key, pipeline in PIPELINES.items() if pipeline.run is None]


@pytest.fixture(scope="module")
def exposure(tmp_path_factory):
    obs = Observation(subarray="SUB64", ngroups=4)
    return simulate(star_scene(obs, 1, n=1, margin=14), obs, tmp_path_factory.mktemp("pipes"), name="img", seed=1)


def _typed(exposure, folder, exp_type, tso=False):
    """A copy of the exposure's uncal with another EXP_TYPE (and TSOVISIT)."""
    path = folder / f"{exp_type.lower().replace('-', '_')}{'_tso' if tso else ''}_uncal.fits"
    shutil.copy(exposure["uncal"], path)
    with fits.open(path, mode="update") as hdul:
        hdul[0].header["EXP_TYPE"] = exp_type
        hdul[0].header["TSOVISIT"] = tso
    return path


def test_every_miri_exposure_type_has_a_row():
    assert {exp_type for exp_type, _ in PIPELINES} == set(BY_EXP_TYPE)
    assert [key for key, pipeline in PIPELINES.items() if pipeline.run] == [
        ("MIR_IMAGE", False), ("MIR_LRS-FIXEDSLIT", False), ("MIR_LRS-SLITLESS", False), ("MIR_LRS-SLITLESS", True),
        ("MIR_MRS", False)]


@pytest.mark.parametrize("exp_type,tso", UNBUILT)
def test_unbuilt_pipeline_is_refused_naming_the_exposure_type(exposure, tmp_path, exp_type, tso):
    path = _typed(exposure, tmp_path, exp_type, tso)
    with pytest.raises(CalibrationInputError) as err:
        calibrate_exposure(path, exposure["refs"])
    message = str(err.value)
    assert f"EXP_TYPE {exp_type}" in message and "stage-2 pipeline" in message and "not implemented yet" in message
    assert PIPELINES[exp_type, tso].stage3 in message and path.name in message
    assert ("in a TSO visit" in message) == tso


def test_cli_refuses_an_mrs_exposure_on_the_imager_detector_and_writes_nothing(exposure, tmp_path, capsys):
    path = _typed(exposure, tmp_path, "MIR_MRS")
    out = tmp_path / "out"
    assert main(["calibrate", str(path), "-o", str(out), "--refs", str(exposure["refs"])]) == 2
    err = capsys.readouterr().err
    assert "EXP_TYPE MIR_MRS on detector MIRIMAGE" in err and "MIRIFUSHORT" in err
    assert not out.exists() or not any(out.iterdir())


def test_a_non_miri_exposure_type_is_refused_on_opening(exposure, tmp_path):
    path = _typed(exposure, tmp_path, "NRC_IMAGE")
    with pytest.raises(CalibrationInputError, match="EXP_TYPE 'NRC_IMAGE' is not a MIRI science exposure type"):
        open_uncal(path)


def test_detector1_runs_on_any_miri_ramp(exposure, tmp_path):
    """The detector layer never sees the mode: an LRS-typed copy of the ramp gives the
    imager's rate exactly."""
    log = StepLog()
    choice = registry.resolve()
    lrs = detector1.run(log, open_uncal(_typed(exposure, tmp_path, "MIR_LRS-SLITLESS", tso=True)), exposure["refs"],
                        choice)
    image = detector1.run(StepLog(), open_uncal(exposure["uncal"]), exposure["refs"], choice)
    assert np.isfinite(lrs.rate).mean() > 0.9
    np.testing.assert_array_equal(lrs.rate, image.rate)
    assert lrs.rate_model.meta.exposure.type == "MIR_LRS-SLITLESS"
    assert log.record("ramp_fit").status == "COMPLETE"
