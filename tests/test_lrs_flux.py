"""LRS flux calibration: simulator.lrs_references (PHOTOM, APCORR, PATHLOSS) -> calibration.lrs_photom
(apcorr, pathloss, spec_photom in spec2) -> validation.lrs_flux, on noise-free exposures."""
import shutil
from dataclasses import replace

import numpy as np
import pytest
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration.pipeline import calibrate_exposure
from miri_testbed.instrument import imager, lrs
from miri_testbed.simulator import Effects, ReferenceOptions, lrs_references, psf, simulate
from miri_testbed.simulator import lrs as sim_lrs
from miri_testbed.simulator.config import LrsEffects, LrsObservation, Scene, SpectralSource
from miri_testbed.validation import lrs_flux

from helpers import history_of

SPECTRUM = {"continuum": {"kind": "blackbody", "temperature_k": 800.0, "flux_mjy": 5.0, "ref_um": 7.5},
            "lines": [{"kind": "emission", "centre_um": 9.0, "flux_w_m2": 1e-17, "fwhm_um": 0.0}]}
EFFECTS = replace(Effects.noise_free(), lrs=LrsEffects(trace_perturbation=True, acquisition_error=False,
                                                       trace_wavelength_nm=3.0, trace_x_pix=0.05))


def _simulate(folder, mode, along=0.0):
    return simulate(Scene((SpectralSource(SPECTRUM, along_slit_arcsec=along),)), LrsObservation(mode=mode, ngroups=3),
                    folder, name="e", seed=4, effects=EFFECTS, references=ReferenceOptions(kind="perfect"))


@pytest.fixture(scope="module")
def slitless(tmp_path_factory):
    return _simulate(tmp_path_factory.mktemp("slitless"), "lrs_slitless")


@pytest.fixture(scope="module")
def slit_off_centre(tmp_path_factory):
    """The slit, the source 1.5" along it from the centre (13.6 px; the slit's end 0.85" beyond)."""
    return _simulate(tmp_path_factory.mktemp("slit"), "lrs_slit", along=1.5)


def _ratios(sim, tmp_path, choice):
    x1d = calibrate_exposure(sim["uncal"], sim["refs"], {"spec_background": "none", **choice})["x1d"]
    path = x1d.save(str(tmp_path / "e_x1d.fits"))
    rows = lrs_flux.score_flux(sim["truth"], path)
    bins = {r["bin"]: r["value"] for r in rows if r["metric"] == "lrs_flux_ratio"}
    median = [r["value"] for r in rows if r["metric"] == "lrs_flux_ratio_median"]
    return x1d, bins, median


@pytest.mark.parametrize("variant", ["box", "optimal"])
def test_noise_free_continuum_is_calibrated_to_its_true_flux_density(slitless, tmp_path, variant):
    """Perfect references, no noise: every 0.5-um bin over 6-11 um within 1 % of the true
    F_nu and their median within 0.3 %.  What is not exact: the PHOTOM's row response is
    the response seen through the line spread for a spectrum flat in F_nu (a curved one
    departs by its curvature over +/-3 rows, < 0.1 % for this blackbody), the aperture
    share is of the PSF of the row's own wavelength (a row holds light of its neighbours'
    wavelengths), the monochromatic PSF's interpolation (0.03 % of a box); measured
    0.1-0.6 % per bin (docs/lrs.md, "Flux calibration": the largest not explained)."""
    x1d, bins, median = _ratios(slitless, tmp_path, {"extract_1d": variant})
    assert x1d.spec[0].spec_table.columns["flux"].unit == "Jy"
    assert x1d.meta.cal_step.photom == "COMPLETE"
    inside = [v for b, v in bins.items() if 6 <= b <= 11]
    assert len(inside) >= 8  # the line at 9 um and its PSF wings take out a bin or two
    assert np.max(np.abs(np.array(inside) - 1)) < 0.01
    assert abs(median[0] - 1) < 0.003


def test_a_source_off_centre_along_the_slit_is_corrected(slit_off_centre, tmp_path):
    """The slit, the source 1.5" along it: the pathloss is read where locate found it (HISTORY
    says so) and the calibrated continuum is the true F_nu within the same bounds as slitless;
    the slit's width passes 70-85 % of the light (the correction 1/T > 1.15 at every bin)."""
    x1d, bins, median = _ratios(slit_off_centre, tmp_path, {})
    history = " ".join(history_of(x1d))
    along = 1.5 / imager.PIXEL_SCALE_X_ARCSEC
    found = float(history.split("pathloss: source ")[1].split(" px")[0])
    assert found == pytest.approx(along, abs=0.1)
    assert x1d.meta.cal_step.pathloss == "COMPLETE"
    inside = [v for b, v in bins.items() if 6 <= b <= 11]
    assert np.max(np.abs(np.array(inside) - 1)) < 0.01
    assert abs(median[0] - 1) < 0.003
    off = _ratios(slit_off_centre, tmp_path, {"pathloss": "none"})[1]
    assert all(bins[b] / off[b] > 1.15 for b in bins)


def test_the_pathloss_follows_the_simulators_slit_across_it():
    """The PATHLOSS table's 1/T at a source 1 px across the slit is the simulator's
    slit_mask throughput there (the slit's ends, beyond 21 px, cut < 1 % of the light at
    the centre along it), and the loss grows off-centre."""
    model = lrs_references.pathloss_model()
    table, w = model.pathloss_table, model.meta.wcsinfo
    lam = np.asarray(table["wavelength"])
    col = int(round(w.crpix1 - 1))
    for across_pix in (0.0, 1.0):
        row = int(round(w.crpix2 - 1 + across_pix / w.cdelt2))
        for k in (10, 40, 80):
            mask = sim_lrs.slit_mask(0.0, across_pix * imager.PIXEL_SCALE_Y_ARCSEC)
            through = float(np.sum(psf.monochromatic(lam[k]) * mask))
            assert 1 / table["pathloss"][k, row, col] == pytest.approx(through, rel=1e-2)
    centre, off = (table["pathloss"][:, int(round(w.crpix2 - 1 + a / w.cdelt2)), col] for a in (0.0, 1.0))
    assert np.all(off > centre)


def test_without_photom_the_step_is_skipped_and_the_flux_stays_in_dn_per_s(slitless, tmp_path):
    """No PHOTOM in the folder: spec_photom SKIPPED (reference), FLUX in DN/s (its unit says
    so, and equals the run with the step off), and the flux scorer scores nothing."""
    refs = tmp_path / "refs"
    shutil.copytree(slitless["refs"], refs)
    (refs / slitless["reference_files"]["PHOTOM"].name).unlink()
    x1d = calibrate_exposure(slitless["uncal"], refs)["x1d"]
    assert x1d.meta.cal_step.photom == "SKIPPED"
    assert x1d.spec[0].spec_table.columns["flux"].unit == "DN/s"
    history = " ".join(history_of(x1d))
    assert "spec_photom=reference: SKIPPED (reference: no PHOTOM reference" in history
    off = calibrate_exposure(slitless["uncal"], slitless["refs"], {"spec_photom": "none"})["x1d"]
    np.testing.assert_array_equal(x1d.spec[0].spec_table["FLUX"], off.spec[0].spec_table["FLUX"])
    path = x1d.save(str(tmp_path / "e_x1d.fits"))
    assert lrs_flux.score_flux(slitless["truth"], path) == []


def test_the_photom_is_a_jwst_lrs_photom_and_reads_back(slitless, tmp_path):
    """The PHOTOM validates as ``MirLrsPhotomModel`` (P750L, SLITLESSPRISM, relresponse 1 at
    7.5 um); photmjsr x relresponse x Omega x 1e6 is Jy per DN/s, so with the row response
    it makes 1 Jy; the same file with its wavelengths in metres and reversed (as jwst
    accepts) calibrates to the same spectrum."""
    path = slitless["reference_files"]["PHOTOM"]
    with dm.MirLrsPhotomModel(str(path)) as model:
        model.validate()
        row = model.phot_table[0]
        assert row["filter"] == lrs.DISPERSER and row["subarray"] == "SLITLESSPRISM"
        n = int(row["nelem"])
        lam, rel = np.array(row["wavelength"][:n]), np.array(row["relresponse"][:n])
        assert np.interp(lrs_references.REFERENCE_UM, lam, rel) == pytest.approx(1.0, abs=1e-6)
        assert model.meta.photometry.pixelarea_steradians == pytest.approx(imager.pixel_solid_angle_sr())
        refs = tmp_path / "refs"
        shutil.copytree(slitless["refs"], refs)
        table = model.phot_table.copy()
        table["wavelength"][0, :n] = lam[::-1] * 1e-6
        table["relresponse"][0, :n] = rel[::-1]
        model.phot_table = table
        model.save(str(refs / path.name))
    a = calibrate_exposure(slitless["uncal"], slitless["refs"])["x1d"].spec[0].spec_table["FLUX"]
    b = calibrate_exposure(slitless["uncal"], refs)["x1d"].spec[0].spec_table["FLUX"]
    np.testing.assert_allclose(b, a, rtol=1e-5)  # float32 metres: ~1e-7 of a wavelength
