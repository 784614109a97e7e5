"""jwst as the LRS peer (calibration.jwst_lrs) and the x1d scorer on a foreign x1d."""
from dataclasses import replace
from importlib.util import find_spec

import numpy as np
import pytest
from stdatamodels.jwst import datamodels as dm
from test_lrs_score import line_truth, spectrum, wavelengths, write_truth, write_x1d

from miri_testbed.calibration import jwst_lrs, lrs_wcs
from miri_testbed.calibration.pipeline import calibrate
from miri_testbed.simulator import LrsObservation, Scene, SpectralSource, simulate
from miri_testbed.simulator.config import Effects, LrsEffects, ReferenceOptions
from miri_testbed.validation.lrs_score import score_x1d
from miri_testbed.validation.score import ScoreInputError

jwst = pytest.mark.skipif(find_spec("jwst") is None, reason="jwst (the peers extra) is not installed")


def test_a_foreign_x1d_is_read_as_the_source_given(tmp_path):
    flux, error = spectrum([(7.7, 3000.0)])
    truth = write_truth(tmp_path / "t_truth.fits", [line_truth(7.7, 3000.0)])
    ours = score_x1d(truth, write_x1d(tmp_path / "a_x1d.fits", wavelengths(), flux, error))
    foreign = write_x1d(tmp_path / "b_x1d.fits", wavelengths(), flux, error, name="MIR_LRS-SLITLESS")
    assert score_x1d(truth, foreign, source_id=0) == ours
    with pytest.raises(ScoreInputError, match="not 'source <id>'"):
        score_x1d(truth, foreign)
    with dm.open(foreign) as one:
        two = dm.MultiSpecModel()
        two.spec.append(dm.SpecModel(spec_table=one.spec[0].spec_table))
        two.spec.append(dm.SpecModel(spec_table=one.spec[0].spec_table))
        two.save(tmp_path / "c_x1d.fits")
    with pytest.raises(ScoreInputError, match="2 spectra"):
        score_x1d(truth, tmp_path / "c_x1d.fits", source_id=0)


@jwst
def test_offline_refuses_any_crds_look_up_and_restores_the_client():
    from stpipe import crds_client

    before = crds_client.get_reference_file
    with jwst_lrs.offline(), pytest.raises(RuntimeError, match="CRDS look-up of \\['specwcs'\\]"):
        crds_client.get_reference_file({}, "specwcs", "jwst")
    assert crds_client.get_reference_file is before


@jwst
def test_the_harness_reproduces_jwsts_lrs_extract_1d_unit_test():
    """jwst's test_extract_miri_lrs_fs: its mock, no EXTRACT1D (every column summed): sum_x (50 y + x)."""
    from jwst.extract_1d.tests import helpers

    result = jwst_lrs.extract_1d(helpers.mock_miri_lrs_fs_func(), jwst_lrs.JwstLrsReferences("N/A", "N/A"))
    table = result.spec[0].spec_table
    assert result.meta.cal_step.extract_1d == "COMPLETE" and result.spec[0].name == "MIR_LRS-FIXEDSLIT"
    np.testing.assert_allclose(table["WAVELENGTH"], helpers.simple_wcs_transpose_func()(np.arange(50),
                                                                                          np.arange(50))[2])
    np.testing.assert_allclose(table["FLUX"], 2500.0 * np.arange(50) + 1225.0)
    assert np.all(table["FLUX_ERROR"] > 0)


@jwst
def test_the_harness_reproduces_jwsts_white_light_unit_test():
    """jwst's test_white_light: five spectra of 1..20 DN/s, one without a time in order 1."""
    from jwst.white_light.tests import test_white_light as twl

    light = jwst_lrs.white_light(twl.make_datamodel.__wrapped__())
    flux = np.asarray(light["whitelight_flux_order_1"])
    assert np.sum(np.isnan(flux)) == 1
    np.testing.assert_allclose(flux[np.isfinite(flux)], 210.0)
    np.testing.assert_allclose(np.asarray(light["whitelight_flux_order_2"]), 210.0)


@jwst
def test_on_a_flight_trace_jwsts_line_errors_are_its_spline_smoothing(tmp_path):
    """The foreign-file line test in small: the true trace is the flight table, and so is the SPECWCS.

    jwst's line errors, through the harness and the same scorer as ours, are its WCS's
    departure from the table's nodes at the lines' rows (the spline smoothing) to a
    fraction of a nm; the lines are found in both x1ds.  (Ours against the 0.5 nm goal is
    measured in benchmarks/lrs_jwst.py.)
    """
    spectrum_dict = {"continuum": {"kind": "blackbody", "temperature_k": 600.0, "flux_mjy": 10.0, "ref_um": 7.5},
                     "lines": [{"kind": "emission", "centre_um": c, "flux_w_m2": 1e-15} for c in (5.8, 7.1, 8.7)]}
    sim = simulate(Scene((SpectralSource(spectrum_dict),), background_mjy_sr=5.0),
                   LrsObservation(mode="lrs_slitless", ngroups=10, nints=2), tmp_path / "sim", name="lrs", seed=1,
                   effects=Effects(lrs=LrsEffects(trace_perturbation=False, acquisition_error=False)),
                   references=ReferenceOptions(kind="perfect"))
    products = calibrate(sim["uncal"], tmp_path / "ours", sim["refs"])
    with dm.open(products["rate"]) as rate, dm.MiriLRSSpecwcsModel(str(sim["reference_files"]["SPECWCS"])) as ref:
        table = lrs_wcs.read_table(ref, rate)
        nx = rate.data.shape[1]
    refs = jwst_lrs.JwstLrsReferences(
        specwcs=str(sim["reference_files"]["SPECWCS"]),
        extract1d=str(jwst_lrs.extract1d_reference(tmp_path / "x1d.json", "MIR_LRS-SLITLESS", table.x_ref, nx=nx)))
    result = jwst_lrs.run(products["rate"], refs)
    result["x1d"].save(tmp_path / "jwst_x1d.fits")
    errors = {name: {round(r["bin"], 3): r["value"] for r in score_x1d(sim["truth"], path, source_id=0)
                     if r["metric"] == "lrs_wavelength_error"}
              for name, path in (("ours", products["x1d"]), ("jwst", tmp_path / "jwst_x1d.fits"))}
    assert len(errors["ours"]) == len(errors["jwst"]) == 3
    rows = np.arange(416.0)
    table_lam = lrs_wcs.spline(rows, table)[0]
    jwst_lam = np.asarray(result["wcs"].meta.wcs(np.full(rows.size, table.x_ref), rows)[2])
    for centre, error in errors["jwst"].items():
        row = int(np.nanargmin(np.abs(table_lam - centre)))
        assert abs(error - 1e3 * (jwst_lam[row] - table_lam[row])) < 0.3  # the fit's noise ~0.1 nm


@jwst
def test_jwst_reads_our_lrs_photom_and_apcorr_as_our_calibration_does(tmp_path):
    """jwst's photom and aperture correction of the simulator's PHOTOM and APCORR, row by row.

    A noise-free slitless exposure extracted by jwst three times (DN/s; photom; photom and
    APCORR): its Jy per DN/s of a row is ours (:func:`calibration.lrs_photom.photom_conversion`,
    ``photmjsr x relresponse x PIXAR_SR x 1e6``) at the row's jwst wavelength, to float32
    arithmetic (the data are float32: a few roundings of 6e-8 each; bound 1e-6); its
    aperture correction of an 8-pixel box is our ``1 / E(8, lambda)`` (:func:`apcorr_table`),
    up to the two conventions' interpolation: jwst interpolates ``1 / E`` linearly in
    wavelength, we ``E``, which differ by at most ``(E1 - E2)^2 / (4 E1 E2)`` in a table
    interval ``E1..E2``.
    """
    from miri_testbed.calibration import lrs_photom

    sim = simulate(Scene((SpectralSource({"continuum": {"kind": "blackbody", "temperature_k": 600.0,
                                                         "flux_mjy": 10.0, "ref_um": 7.5}}),)),
                   LrsObservation(mode="lrs_slitless", ngroups=3), tmp_path / "sim", name="lrs", seed=1,
                   effects=replace(Effects.noise_free(), lrs=LrsEffects(trace_perturbation=False,
                                                                       acquisition_error=False)),
                   references=ReferenceOptions(kind="perfect"))
    rate = calibrate(sim["uncal"], tmp_path / "ours", sim["refs"])["rate"]
    given = sim["reference_files"]
    with dm.open(rate) as model, dm.MiriLRSSpecwcsModel(str(given["SPECWCS"])) as ref:
        table = lrs_wcs.read_table(ref, model)
    plain = jwst_lrs.JwstLrsReferences(
        specwcs=str(given["SPECWCS"]),
        extract1d=str(jwst_lrs.extract1d_reference(tmp_path / "x1d.json", "MIR_LRS-SLITLESS", table.x_ref, sky=None)))
    tables = [jwst_lrs.run(rate, r)["x1d"].spec[0].spec_table
              for r in (plain, replace(plain, photom=str(given["PHOTOM"])),
                        replace(plain, photom=str(given["PHOTOM"]), apcorr=str(given["APCORR"])))]
    dn, jy, corrected = (np.asarray(t["FLUX"], float) for t in tables)
    lam = np.asarray(tables[0]["WAVELENGTH"], float)
    with dm.open(sim["uncal"]) as exposure:
        (lam_p, factor), _ = lrs_photom.photom_conversion(sim["refs"], exposure)
        (lam_a, sizes, enclosed), _ = lrs_photom.apcorr_table(sim["refs"], exposure)
    # rows jwst's WCS puts outside the PHOTOM's wavelengths get no conversion (NaN), as ours
    used = (np.isfinite(dn) & (dn > 0) & (np.asarray(tables[0]["NPIXELS"]) == 8) & (lam >= lam_p.min())
            & (lam <= lam_p.max()))
    assert used.sum() > 300
    np.testing.assert_allclose(jy[used] / dn[used], np.interp(lam[used], lam_p, factor), rtol=1e-6)
    e8 = enclosed[:, list(sizes).index(8)]
    k = np.searchsorted(lam_a, lam[used]) - 1
    bound = (e8[k] - e8[k + 1]) ** 2 / (4 * e8[k] * e8[k + 1]) + 1e-6
    assert np.all(np.abs(corrected[used] / jy[used] * np.interp(lam[used], lam_a, e8) - 1) <= bound)
