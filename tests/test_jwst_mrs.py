"""jwst as the MRS peer (calibration.jwst_mrs): its IFU extract_1d unit test; a cube and x1d of our exposure offline."""
from dataclasses import replace
from importlib.util import find_spec

import numpy as np
import pytest
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import detector1, jwst_mrs, mrs_wcs, registry
from miri_testbed.calibration.inputs import open_uncal
from miri_testbed.calibration.steps import StepLog
from miri_testbed.simulator import (
    Effects,
    MrsEffects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    simulate,
)

jwst = pytest.mark.skipif(find_spec("jwst") is None, reason="jwst (the peers extra) is not installed")
FLUX_MJY = 50.0


@jwst
def test_the_harness_reproduces_jwsts_ifu_extract_1d_unit_test(tmp_path):
    """jwst's test_extract_miri_ifu: its mock cube, extended: FLUX = 1e6 x each plane's sum, errors from variances."""
    from jwst.extract_1d.tests import helpers

    references = jwst_mrs.JwstMrsReferences(*(["N/A"] * 5), extract1d=str(jwst_mrs.extract1d_reference(
        tmp_path / "extract1d.asdf")))
    model = helpers.mock_miri_ifu_func()
    table = jwst_mrs.extract_1d(model, references, ifu_autocen=False, ifu_covar_scale=1.0).spec[0].spec_table
    np.testing.assert_allclose(table["FLUX"], 1e6 * np.sum(model.data, axis=(1, 2)))
    variance = np.sum(model.var_poisson + model.var_rnoise + model.var_flat, axis=(1, 2))
    np.testing.assert_allclose(table["FLUX_ERROR"], 1e6 * np.sqrt(variance))


@jwst
@pytest.mark.slow
def test_jwst_builds_a_cube_and_a_spectrum_of_our_exposure_offline(tmp_path):
    """A noise-free flat 50 mJy point source through the flight geometry: jwst's cube in MJy/sr, its x1d in Jy.

    jwst's chain (assign_wcs with our REGIONS, photom with our PHOTOM, cube_build with our
    CUBEPAR, extract_1d with our EXTRACT1D and the APCORR) runs with every CRDS look-up refused;
    a 0.2-um slice of band 1A keeps it short.  The x1d is the continuum within the extraction's
    few per cent (the APCORR is the simulator's model of the cube's PSF, not jwst's cube's).
    """
    effects = replace(Effects.noise_free(), mrs=MrsEffects(geometry_perturbation=False))
    sim = simulate(Scene((SpectralSource({"continuum": {"kind": "flat", "flux_mjy": FLUX_MJY}}),)),
                   MrsObservation(ngroups=3), tmp_path, name="mrs", effects=effects,
                   references=ReferenceOptions(kind="perfect"))
    exposure = open_uncal(sim["uncal"])
    rate = detector1.run(StepLog(), exposure, sim["refs"], registry.resolve(None)).rate_model
    given = {k: str(v) for k, v in sim["reference_files"].items()}
    references = jwst_mrs.JwstMrsReferences(
        distortion=given["DISTORTION"], specwcs=given["SPECWCS"], wavelengthrange=given["WAVELENGTHRANGE"],
        regions=str(jwst_mrs.regions_reference(tmp_path / "regions.asdf",
                                               mrs_wcs.read_references(sim["refs"], exposure))),
        cubepar=str(jwst_mrs.cubepar_reference(tmp_path / "cubepar.fits")),
        extract1d=str(jwst_mrs.extract1d_reference(tmp_path / "extract1d.asdf")),
        photom=given["PHOTOM"], apcorr=given["APCORR"])
    products = jwst_mrs.run([rate], references, cube_parameters=dict(channel="1", wavemin=5.2, wavemax=5.4))
    (cube,), (x1d,) = products["s3d"], products["x1d"]
    assert isinstance(cube, dm.IFUCubeModel) and cube.meta.bunit_data == "MJy/sr"
    assert (cube.meta.instrument.channel, cube.meta.instrument.band) == ("1", "SHORT")
    table = x1d.spec[0].spec_table
    assert table.columns["flux"].unit == "Jy" and x1d.meta.cal_step.extract_1d == "COMPLETE"
    wave, flux = np.asarray(table["WAVELENGTH"]), np.asarray(table["FLUX"])
    assert 5.19 < wave.min() and wave.max() < 5.41
    good = np.isfinite(flux)
    assert good.mean() > 0.9
    assert np.median(flux[good]) == pytest.approx(FLUX_MJY * 1e-3, rel=0.05)
