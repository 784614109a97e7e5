"""The MRS's dedicated background (issue 16): the simulator's background exposure and the
calibration's ``background=dedicated`` on the rate before the cube build.

Fast: the background exposure's light is the science's sky alone, through the same true
geometry (the throughput at its own mid-time); the MRS finds and refuses background
exposures as the imager does.  Slow (three noise-free simulations and four calibrations,
~90 s): a point source on a bright sky, calibrated with the dedicated background, has the cube
of the source alone (no sky left) and the spectrum of the annulus alone; without the variant
the background exposure changes nothing.
"""
import json
from dataclasses import replace

import numpy as np
import pytest
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError, mrs_spec2, registry
from miri_testbed.calibration.pipeline import calibrate_exposure, calibrate_set_exposures
from miri_testbed.instrument import mrs, readout
from miri_testbed.simulator import (
    Effects,
    MrsEffects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    simulate,
)
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator.exposure import ramp_model
from miri_testbed.simulator.mrs_throughput import relative_throughput
from miri_testbed.simulator.sky import mid_time_mjd

from helpers import history_of

SKY_MJY_SR = 200.0
SPECTRUM = {"continuum": {"kind": "blackbody", "temperature_k": 800.0, "flux_mjy": 20.0, "ref_um": 7.0}}
OBS = MrsObservation(ngroups=3, background_exposure=True)
#: Noise-free, with the sky model, the throughput decay and a perturbed true geometry on.
EFFECTS = replace(Effects.noise_free(), optics=replace(Effects.noise_free().optics, throughput_decay=True,
                                                       background_model=True),
                  mrs=MrsEffects(geometry_perturbation=True))


def _illuminate(scene):
    return smrs.illuminate(scene, OBS, EFFECTS, np.random.default_rng(3))


def test_the_background_exposure_sees_the_science_sky_and_none_of_its_sources():
    scene = Scene((SpectralSource(SPECTRUM, 0.1, 0.05),), SKY_MJY_SR)
    light = _illuminate(scene)
    [(role, obs, images, keywords)] = smrs.companions(scene, OBS, EFFECTS, light)
    assert role == "background" and keywords == {"meta.observation.bkgdtarg": True}
    duration = readout.exposure_time(OBS.subarray, OBS.readpatt, OBS.ngroups, OBS.nints)
    assert obs.epoch_mjd == pytest.approx(OBS.epoch_mjd + duration / 86400, abs=1e-9)
    assert (obs.detector, obs.band, obs.dither_position) == (OBS.detector, OBS.band, OBS.dither_position)
    # The science's sky alone (the same true geometry: the same optics draws), the throughput at the later mid-time.
    sky_only = _illuminate(Scene((), SKY_MJY_SR)).images[OBS.detector]
    background = images[OBS.detector]
    lit = sky_only > 0
    assert np.array_equal(lit, background > 0) and lit.sum() > 100_000
    wavelength = next(c.data for c in light.components if c.name == "WAVELENGTH")[lit]
    expected = relative_throughput(wavelength, mid_time_mjd(obs)) / relative_throughput(wavelength, mid_time_mjd(OBS))
    np.testing.assert_allclose(background[lit] / sky_only[lit], expected, rtol=1e-12)
    assert smrs.companions(scene, replace(OBS, background_exposure=False), EFFECTS, light) == []


def _uncal(path):
    model = ramp_model(np.zeros((1, 2, 1024, 1032), np.float32), replace(OBS, ngroups=2))
    model.save(str(path))
    return path


def test_the_mrs_finds_and_refuses_background_exposures_as_the_imager_does(tmp_path):
    science, background = _uncal(tmp_path / "e_uncal.fits"), _uncal(tmp_path / "e_bkg_uncal.fits")
    exposure = dm.RampModel(str(science))
    dedicated, local = registry.resolve({"background": "dedicated"}), registry.resolve()
    assert mrs_spec2.background_paths(local, exposure, science) == []
    with pytest.raises(CalibrationInputError, match="background=map is not for the MRS"):
        mrs_spec2.background_paths(registry.resolve({"background": "map"}), exposure, science)
    with pytest.raises(CalibrationInputError, match="given but the background step is 'local'"):
        mrs_spec2.background_paths(local, exposure, science, [background])
    with pytest.raises(CalibrationInputError, match="needs a dedicated background exposure"):
        mrs_spec2.background_paths(dedicated, exposure, science)
    assert mrs_spec2.background_paths(dedicated, exposure, science, background) == [background]
    (tmp_path / "e_asn.json").write_text(json.dumps({"products": [{"name": "e", "members": [
        {"expname": science.name, "exptype": "science"}, {"expname": background.name, "exptype": "background"}]}]}))
    assert mrs_spec2.background_paths(dedicated, exposure, science) == [background]
    with pytest.raises(CalibrationInputError, match="a dither set is combined without dedicated backgrounds"):
        calibrate_set_exposures([science, background], None, {"background": "dedicated"})


@pytest.fixture(scope="module")
def sky_and_source(tmp_path_factory):
    """A noise-free point source on a bright sky with its dedicated background, calibrated with and without it,
    and the same source alone (no sky, no sky model), calibrated."""
    folder = tmp_path_factory.mktemp("mrs_bkg")
    source = SpectralSource(SPECTRUM, 0.1, 0.05)
    scene = Scene((source,), SKY_MJY_SR)
    sim = simulate(scene, OBS, folder, name="e", seed=2, effects=EFFECTS, references=ReferenceOptions(kind="perfect"))
    products = {variant: calibrate_exposure(sim["uncal"], sim["refs"], {"background": variant})
                for variant in ("local", "dedicated")}
    no_sky = replace(EFFECTS, optics=replace(EFFECTS.optics, background_model=False))
    alone = simulate(Scene((source,)), replace(OBS, background_exposure=False), folder / "alone", name="e", seed=2,
                     effects=no_sky, references=ReferenceOptions(kind="perfect"))
    products["source alone"] = calibrate_exposure(alone["uncal"], alone["refs"])
    return folder, scene, sim, products


def _table(x1d, band):
    return next(np.array(spec.spec_table) for spec in x1d.spec if spec.name == band)


def _band(cube):
    return f"{cube.meta.instrument.channel}{mrs.SETTINGS[cube.meta.instrument.band]}"


@pytest.mark.slow
def test_a_dedicated_background_takes_the_sky_out_of_the_cube_and_leaves_the_point_source(sky_and_source):
    """The dedicated cube is the source-alone cube (the sky gone, to well within its error; what is left away
    from the source is its PSF's wings); the spectrum is the annulus-only one within its error."""
    *_, products = sky_and_source
    local, dedicated, alone = products["local"], products["dedicated"], products["source alone"]
    history = " ".join(history_of(dedicated["x1d"]))
    assert "background=dedicated: COMPLETE" in history and "e_bkg_uncal.fits subtracted from the rate" in history
    for cube_local, cube, cube_alone in zip(local["s3d"], dedicated["s3d"], alone["s3d"], strict=True):
        band = _band(cube)
        covered = cube.dq == 0
        assert np.array_equal(covered, cube_alone.dq == 0), band
        # the sky (200 MJy/sr and the model's) is in the annulus-only cube, everywhere
        assert np.median((cube_local.data - cube_alone.data)[covered]) > SKY_MJY_SR, band
        left = (cube.data - cube_alone.data)[covered]
        assert abs(np.median(left)) < 1e-4 * np.median(cube.err[covered]), band
        assert np.max(np.abs(left)) < 1e-3 * SKY_MJY_SR, band
        # the point source's spectrum: as the annulus alone gave it, within its error
        a, b = _table(local["x1d"], band), _table(dedicated["x1d"], band)
        good = np.isfinite(a["FLUX"]) & np.isfinite(b["FLUX"])
        assert good.sum() > 0.9 * len(a), band
        assert np.all(np.abs(b["FLUX"] - a["FLUX"])[good] <= b["FLUX_ERROR"][good]), band
        # the annulus measures ~ nothing of the sky (what is left there is the source's wings, as without a sky)
        np.testing.assert_allclose(b["BACKGROUND"][good], _table(alone["x1d"], band)["BACKGROUND"][good],
                                   atol=1e-3 * np.median(np.abs(a["BACKGROUND"][good])))


@pytest.mark.slow
def test_without_the_variant_the_background_exposure_changes_nothing(sky_and_source):
    """The science uncal is the same without a background exposure; background=local gives its products bit for bit."""
    folder, scene, sim, products = sky_and_source
    plain = simulate(scene, replace(OBS, background_exposure=False), folder / "plain", name="e", seed=2,
                     effects=EFFECTS, references=ReferenceOptions(kind="perfect"))
    assert "background" not in plain
    with dm.RampModel(str(sim["uncal"])) as with_bkg, dm.RampModel(str(plain["uncal"])) as without:
        np.testing.assert_array_equal(with_bkg.data, without.data)
    calibrated = calibrate_exposure(plain["uncal"], plain["refs"])
    for cube, cube_plain in zip(products["local"]["s3d"], calibrated["s3d"], strict=True):
        np.testing.assert_array_equal(cube.data, cube_plain.data)
        np.testing.assert_array_equal(cube.err, cube_plain.err)
    for spec, spec_plain in zip(products["local"]["x1d"].spec, calibrated["x1d"].spec, strict=True):
        table, table_plain = np.array(spec.spec_table), np.array(spec_plain.spec_table)
        for column in table.dtype.names:  # column by column: NaN equals NaN there
            np.testing.assert_array_equal(table[column], table_plain[column], err_msg=column)
