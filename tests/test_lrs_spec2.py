"""LRS spec2 (calibration.spec2): assign_wcs from SPECWCS, nod / columns background, box and
optimal extraction, the x1d product, against simulated exposures and their truth."""
import shutil
from dataclasses import replace

import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError, detector1, extract1d, lrs_background, lrs_wcs, registry
from miri_testbed.calibration import spec2 as cal_spec2
from miri_testbed.calibration.inputs import open_uncal
from miri_testbed.calibration.pipeline import calibrate, calibrate_exposure
from miri_testbed.calibration.steps import StepLog
from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import imager, lrs, readout
from miri_testbed.simulator import Effects, ReferenceOptions, psf, simulate, spectra
from miri_testbed.simulator import lrs as sim_lrs
from miri_testbed.simulator.config import LrsEffects, LrsObservation, Scene, SpectralSource
from miri_testbed.validation.cli import main

from helpers import history_of

CONTINUUM = {"continuum": {"kind": "power_law", "index": 1.0, "flux_mjy": 5.0, "ref_um": 7.5},
             "lines": [{"kind": "emission", "centre_um": 8.5, "flux_w_m2": 1e-16, "fwhm_um": 0.0}]}
LINE_CENTRES = (6.0, 7.8, 9.2, 10.6, 12.0)
LINES = {"continuum": {"kind": "flat", "flux_mjy": 1e-12},
         "lines": [{"kind": "emission", "centre_um": c, "flux_w_m2": 1e-16, "fwhm_um": 0.0} for c in LINE_CENTRES]}
#: Noise-free, with the true trace off the flight table (perfect references carry it).
PERTURBED = replace(Effects.noise_free(), lrs=LrsEffects(trace_perturbation=True, acquisition_error=False,
                                                         trace_wavelength_nm=5.0, trace_x_pix=0.1))
PERFECT = ReferenceOptions(kind="perfect")
#: The extraction's own DN/s: no aperture correction, slit losses or PHOTOM (tests/test_lrs_flux.py has those).
DN_PER_S = {"apcorr": "none", "pathloss": "none", "spec_photom": "none"}


def _simulate(folder, spectrum, mode="lrs_slitless", sky=0.0, effects=PERTURBED, nod="none", seed=1, ngroups=3):
    return simulate(Scene((SpectralSource(spectrum),), background_mjy_sr=sky),
                    LrsObservation(mode=mode, ngroups=ngroups, nod=nod), folder, name="e", seed=seed, effects=effects,
                    references=PERFECT)


@pytest.fixture(scope="module")
def continuum(tmp_path_factory):
    """Slitless, noise-free, no sky: a power law and a line."""
    return _simulate(tmp_path_factory.mktemp("continuum"), CONTINUUM)


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    """Slitless, noise-free: five unresolved lines on a negligible continuum."""
    return _simulate(tmp_path_factory.mktemp("lines"), LINES, seed=2)


@pytest.fixture(scope="module")
def nodded(tmp_path_factory):
    """Slit, nod A with its nod B, Poisson and read noise only, a sky of 30 MJy/sr."""
    noisy = replace(Effects.noise_free(), detector=replace(Effects.noise_free().detector, poisson=True,
                                                           read_noise=True))
    spectrum = {"continuum": {"kind": "blackbody", "temperature_k": 600.0, "flux_mjy": 2.0, "ref_um": 7.5}}
    return _simulate(tmp_path_factory.mktemp("nodded"), spectrum, mode="lrs_slit", sky=30.0, effects=noisy, nod="A",
                     seed=3, ngroups=5)


def _truth_table(sim, mode):
    with fits.open(sim["truth"]) as truth:
        trace = truth["TRACE"].data
        flight = lrs.flight_table(mode)
        return lrs.LrsTable(mode, flight.subarray, trace["wavelength_um"], trace["x"] - flight.x_ref,
                            trace["y"] - flight.y_ref, flight.x_ref, flight.y_ref)


def _gain(sim):
    return float(np.mean(dm.GainModel(str(sim["reference_files"]["GAIN"])).data))


def _aperture_share(table, wavelength_um, variant):
    """The share of the (column-summed) PSF of ``wavelength_um`` that the variant's aperture holds."""
    x, _ = table.trace(wavelength_um)
    phase = x - np.rint(x)
    profile = psf.cross_dispersion_profile(wavelength_um, phase)
    k = np.arange(profile.size) - profile.size // 2
    if variant == "box":
        half = extract1d.BOX_WIDTH_PIX / 2
        inside = np.clip(np.minimum(k + 0.5, phase + half) - np.maximum(k - 0.5, phase - half), 0, 1)
    else:
        inside = np.abs(k - phase) <= extract1d.OPTIMAL_HALF_WIDTH_PIX
    return float(np.sum(inside * profile))


@pytest.mark.parametrize("variant", ["box", "optimal"])
def test_noise_free_extraction_holds_the_sources_light_in_its_aperture(continuum, variant):
    """The extracted DN/s of the rows between 6 and 12 um (and of three sub-ranges) is the
    source's photons of those rows' wavelengths times the area, the efficiency, the
    aperture's share of the PSF, over the gain.  Tolerance 0.2 %: the monochromatic PSF's
    interpolation (0.03 % of a box, benchmarks/results/..._psf_monochromatic.txt), the
    share sampled every 0.1 % of the range, and light crossing the range's ends (it
    cancels for a spectrum linear across the PSF, second order otherwise)."""
    choice = {"spec_background": "none", "extract_1d": variant, **DN_PER_S}
    spectrum = calibrate_exposure(continuum["uncal"], continuum["refs"], choice)["x1d"].spec[0].spec_table
    table, gain = _truth_table(continuum, "lrs_slitless"), _gain(continuum)
    source = spectra.spectrum_from_dict(CONTINUUM)
    for lo, hi in ((6.0, 12.0), (6.0, 8.0), (8.0, 10.0), (10.0, 12.0)):
        chosen = (spectrum["WAVELENGTH"] >= lo) & (spectrum["WAVELENGTH"] <= hi)
        rows = np.round(table.trace(spectrum["WAVELENGTH"][chosen])[1])
        ends = table.wavelength_at_row(np.array([rows.max() + 0.5, rows.min() - 0.5]))
        edges = np.linspace(*ends, 2001)
        mid = 0.5 * (edges[1:] + edges[:-1])
        share = np.interp(mid, mid[::50], [_aperture_share(table, w, variant) for w in mid[::50]])
        electrons = source.photons_in_bins(edges) * imager.COLLECTING_AREA_M2 * sim_lrs.system_efficiency(mid)
        assert np.sum(spectrum["FLUX"][chosen]) == pytest.approx(np.sum(electrons * share) / gain, rel=2e-3)


def test_unresolved_lines_are_at_their_true_wavelengths(lines):
    """With perfect references (the true, perturbed trace), each line's centroid in the
    extracted spectrum (rows within 15 of its peak, the wavelength interpolated linearly
    between rows) is at its true wavelength to 0.03 px: the simulator lays a line on the
    true trace to 0.02 px (test_lrs_simulator), and between nodes our spline and the
    simulator's PCHIP differ by < 0.01 px (test below)."""
    table = _truth_table(lines, "lrs_slitless")
    spectrum = calibrate_exposure(lines["uncal"], lines["refs"], DN_PER_S)["x1d"].spec[0].spec_table
    lam, flux = spectrum["WAVELENGTH"], spectrum["FLUX"]
    assert np.all(np.diff(lam) > 0)
    for centre in LINE_CENTRES:
        k = np.argmin(np.abs(lam - centre)) + np.arange(-15, 16)
        found = np.interp(np.sum(flux[k] * k) / np.sum(flux[k]), np.arange(lam.size), lam)
        assert abs(found - centre) / abs(table.dispersion(centre)) < 0.03, centre


def test_the_calibration_interpolates_the_flight_tables_its_own_way_and_reads_them_as_jwst_does():
    """The flight files read as references: the reference point as instrument.lrs (and jwst)
    reads it, every node exact, and between nodes within 0.01 px of instrument.lrs's PCHIP
    (two interpolants through nodes a row apart; the tables' row-to-row scatter makes them
    differ at all)."""
    for mode, exp_type in (("lrs_slit", "MIR_LRS-FIXEDSLIT"), ("lrs_slitless", "MIR_LRS-SLITLESS")):
        exposure = dm.ImageModel()
        exposure.meta.exposure.type = exp_type
        sub = readout.subarray(lrs.SUBARRAYS[mode])
        exposure.meta.subarray.xstart, exposure.meta.subarray.ystart = sub.xstart, sub.ystart
        with dm.MiriLRSSpecwcsModel(str(lrs.flight_file(mode))) as model:
            table = lrs_wcs.read_table(model, exposure)
        flight = lrs.flight_table(mode)
        assert (table.x_ref, table.y_ref) == pytest.approx((flight.x_ref, flight.y_ref), abs=1e-12)
        lam, x = lrs_wcs.spline(flight.y_ref + flight.y_center, table)
        np.testing.assert_allclose(lam, flight.wavelength_um, atol=1e-12)
        np.testing.assert_allclose(x, flight.x_ref + flight.x_center, atol=1e-12)
        y = np.linspace(*flight.row_range, 5001)
        lam, _ = lrs_wcs.spline(y, table)
        reference = flight.wavelength_at_row(y)
        useful = (reference >= 5.0) & (reference <= 14.0)
        slope = np.abs(np.gradient(reference, y))
        assert np.max(np.abs(lam - reference)[useful] / slope[useful]) < 0.01


def test_a_flight_specwcs_drops_in_and_is_chosen_by_exp_type(lines, tmp_path):
    """A reference folder with both flight files instead of the testbed's SPECWCS: the
    slitless one is selected for a slitless exposure, and each row's wavelength is the flight
    table's node on that row (the slitless nodes lie on whole rows); the built-in nominal
    folder serves them when no folder is given."""
    refs = tmp_path / "refs"
    shutil.copytree(lines["refs"], refs)
    (refs / lines["reference_files"]["SPECWCS"].name).unlink()
    for mode in lrs.FLIGHT_FILES:
        shutil.copy(lrs.flight_file(mode), refs)
    x1d = calibrate_exposure(lines["uncal"], refs)["x1d"]
    assert x1d.meta.ref_file.specwcs.name == lrs.FLIGHT_FILES["lrs_slitless"]
    flight = lrs.flight_table("lrs_slitless")
    node = dict(zip(np.round(flight.y_ref + flight.y_center).astype(int), flight.wavelength_um, strict=True))
    lam = x1d.spec[0].spec_table["WAVELENGTH"]
    rows = np.round(flight.trace(lam)[1]).astype(int)
    np.testing.assert_allclose(lam, [node[r] for r in rows], atol=1e-12)
    nominal = calibrate_exposure(lines["uncal"])["x1d"]  # the built-in folder holds the flight tables too
    assert nominal.meta.ref_file.specwcs.name == lrs.FLIGHT_FILES["lrs_slitless"]
    np.testing.assert_array_equal(nominal.spec[0].spec_table["WAVELENGTH"], lam)


def test_nod_subtraction_removes_a_uniform_sky_to_its_noise(nodded):
    """Slit, nod A minus nod B: in the slit's sky pixels (more than 8 px from both traces,
    5-12 um), a sky of ~100 sigma in total leaves a residual of mean 0 and pulls of width 1
    (the ramp fits' ERR is held to 0.05 in test_ramp_fit, plus the width's sampling error)."""
    choice = registry.resolve()
    science = open_uncal(nodded["uncal"])
    d1 = detector1.run(StepLog(), science, nodded["refs"], choice)
    other = detector1.run(StepLog(), open_uncal(nodded["background"]), nodded["refs"], choice)
    table = lrs_wcs.load_table(nodded["refs"], science)
    lam, trace = lrs_wcs.spline(np.arange(d1.rate.shape[0], dtype=float), table)
    sky_columns = cal_spec2.sky_columns(science, table, d1.dq)
    var = d1.var_poisson + d1.var_rnoise
    sci, sci_var, var_row = lrs_background.nod(d1.rate, var, trace, sky_columns,
                                               [(other.rate, other.var_poisson + other.var_rnoise)])
    assert not var_row.any()
    j = np.arange(d1.rate.shape[1])[None, :]
    nods = [lrs.NOD_OFFSETS_ARCSEC[n] / imager.PIXEL_SCALE_X_ARCSEC for n in ("A", "B")]
    with np.errstate(invalid="ignore"):
        sky = (sky_columns[None, :] & ((lam >= 5) & (lam <= 12))[:, None]
               & np.all([np.abs(j - (trace[:, None] + d)) > 8 for d in nods], axis=0))
    n = int(sky.sum())
    assert n > 1000
    assert np.sum(d1.rate[sky]) / np.sqrt(np.sum(var[sky])) > 50  # the sky that was there
    pulls = sci[sky] / np.sqrt(sci_var[sky])
    assert abs(np.mean(pulls)) < 4 / np.sqrt(n)
    assert np.std(pulls) == pytest.approx(1.0, abs=0.05 + 3 / np.sqrt(2 * n))


def test_a_nodded_slit_exposure_calibrates_to_an_x1d(nodded, tmp_path):
    """calibrate() on nod A: rate, rateints and x1d written; the default background ran the
    nod pair; the trace found at nod A's offset along the slit; the x1d as the contract says."""
    paths = calibrate(nodded["uncal"], tmp_path / "out", nodded["refs"])
    assert set(paths) == {"rate", "rateints", "x1d"}
    assert paths["x1d"].name == "e_x1d.fits"
    with dm.MultiSpecModel(str(paths["x1d"])) as x1d:
        spec = x1d.spec[0]
        table = spec.spec_table
        assert spec.name == "source 0"
        flight = lrs.flight_table("lrs_slit")
        offset = lrs.NOD_OFFSETS_ARCSEC["A"] / imager.PIXEL_SCALE_X_ARCSEC
        assert spec.source_ypos == pytest.approx(flight.y_ref)
        assert spec.source_xpos == pytest.approx(flight.trace(flight.wavelength_at_row(flight.y_ref))[0] + offset,
                                                 abs=0.05)
        assert table.columns["flux"].unit == "Jy" and table.columns["wavelength"].unit == "um"
        assert np.all((table["WAVELENGTH"] >= 5) & (table["WAVELENGTH"] <= 14))
        assert np.all(np.isfinite(table["FLUX"]) & (table["FLUX_ERROR"] > 0))
        assert np.all(table["NPIXELS"] == extract1d.BOX_WIDTH_PIX)
        assert x1d.meta.cal_step.bkg_subtract == "COMPLETE" and x1d.meta.cal_step.extract_1d == "COMPLETE"
        history = " ".join(history_of(x1d))
        assert "spec_background: nod background e_bkg_uncal.fits" in history


def test_columns_background_pulls_include_the_shared_sky_error():
    """A pure-noise slitless frame on a pedestal: the columns variant takes the pedestal out,
    and box sums of source-free rows have pulls of width 1 with the background's shared
    variance ((sum w)^2 var_row) in their error; without it they would be as much wider as
    that term says (within 0.02: the width's sampling error over 16640 rows, 0.006, x 3)."""
    rng = np.random.default_rng(5)
    shape, sigma = (416, 72), 2.0
    trace = np.full(shape[0], 37.3)
    columns = np.ones(shape[1], bool)
    dq = np.zeros(shape, np.uint32)
    var = np.full(shape, sigma**2)
    with_row, without_row = [], []
    for _ in range(40):
        sci = 50.0 + sigma * rng.standard_normal(shape)
        out, out_var, var_row = lrs_background.columns(sci, var, trace, columns)
        spectrum = extract1d.box(out, out_var, var_row, dq, trace)
        alone = extract1d.box(out, out_var, np.zeros_like(var_row), dq, trace).error
        with_row.append(spectrum.flux / spectrum.error)
        without_row.append(spectrum.flux / alone)
    assert np.mean(np.abs(out[:, :20])) < 5 * sigma  # the pedestal of 25 sigma is gone
    assert np.std(np.concatenate(with_row)) == pytest.approx(1.0, abs=0.02)
    widening = np.median(spectrum.error / alone)
    assert widening > 1.03
    assert np.std(np.concatenate(without_row)) == pytest.approx(widening, abs=0.02)


@pytest.fixture(scope="module")
def faint(continuum):
    """The continuum exposure's rate scaled to a faint source (box S/N ~10 per row), its
    trace, and the rows to score (6-12 um away from the line at 8.5 um, where each row cuts
    the line's PSF at another height, so a row is not its profile: module doc of extract1d)."""
    products = calibrate_exposure(continuum["uncal"], continuum["refs"], {"spec_background": "none"})
    rate = products["rate"]
    table = lrs_wcs.load_table(continuum["refs"], rate)
    lam, trace = lrs_wcs.spline(np.arange(rate.data.shape[0], dtype=float), table)
    rows = (lam >= 6) & (lam <= 12) & ~((lam > 8.2) & (lam < 8.8))
    return 0.1 * np.nan_to_num(rate.data.astype(float)), rate.dq, np.where(rows, trace, np.nan), rows


def test_optimal_extraction_beats_the_box_on_a_faint_source_with_honest_errors(faint):
    """Gaussian noise of a background floor plus the source's shot noise, 10 draws of ~200
    rows: both variants have pulls of width 1 (within 0.05) against what they estimate
    (box: the rate in the box; optimal: the rate in its window), mean within 0.1 (the
    optimal's profile noise biases it low by a few % of its error, Horne 1986 sec. 4), and
    the optimal's relative error is at least 15 % below the box's."""
    model, dq, trace, rows = faint
    var = 1.0 + 0.01 * np.clip(model, 0, None)
    no_row = np.zeros(model.shape[0])
    truth = {"box": extract1d.box(model, var, no_row, dq, trace).flux,
             "optimal": np.sum(np.where(np.abs(np.arange(model.shape[1])[None, :] - trace[:, None])
                                        <= extract1d.OPTIMAL_HALF_WIDTH_PIX, model, 0.0), axis=1)}
    rng = np.random.default_rng(11)
    pulls, relative = {"box": [], "optimal": []}, {"box": [], "optimal": []}
    for _ in range(10):
        data = model + np.sqrt(var) * rng.standard_normal(model.shape)
        for name in pulls:
            spectrum = getattr(extract1d, name)(data, var, no_row, dq, trace)
            pulls[name].append(((spectrum.flux - truth[name]) / spectrum.error)[rows])
            relative[name].append((spectrum.error / truth[name])[rows])
    for name in pulls:
        p = np.concatenate(pulls[name])
        assert p.size > 1500
        assert np.std(p) == pytest.approx(1.0, abs=0.05), name
        assert abs(np.mean(p)) < 0.1, name
    assert np.median(np.concatenate(relative["optimal"]) / np.concatenate(relative["box"])) < 0.85
    assert np.median(truth["box"][rows] / extract1d.box(model, var, no_row, dq, trace).error[rows]) < 20  # faint


def test_bad_pixels_are_skipped_by_the_box_and_filled_by_the_profile(faint):
    """A DO_NOT_USE pixel on the trace centre: the box skips it (NPIXELS one less, DQ
    DO_NOT_USE, the flux short by that pixel); the optimal estimate stays within 1 % of the
    window's rate (noise-free), with the pixel's flags but not DO_NOT_USE."""
    model, dq, trace, rows = faint
    var = 1.0 + 0.01 * np.clip(model, 0, None)
    no_row = np.zeros(model.shape[0])
    bad_rows = np.flatnonzero(rows)[::40]
    centre = np.rint(trace[bad_rows]).astype(int)
    flagged, data = dq.copy(), model.copy()
    flagged[bad_rows, centre] |= dqflags.DO_NOT_USE | dqflags.HOT
    data[bad_rows, centre] = np.nan
    clean_box, box = (extract1d.box(d, var, no_row, q, trace) for d, q in ((model, dq), (data, flagged)))
    np.testing.assert_allclose(box.npixels[bad_rows], extract1d.BOX_WIDTH_PIX - 1)
    np.testing.assert_allclose(box.flux[bad_rows], clean_box.flux[bad_rows] - model[bad_rows, centre])
    assert np.all(box.dq[bad_rows] & dqflags.DO_NOT_USE) and np.all(box.dq[bad_rows] & dqflags.HOT)
    clean, filled = (extract1d.optimal(d, var, no_row, q, trace) for d, q in ((model, dq), (data, flagged)))
    np.testing.assert_allclose(filled.flux[bad_rows], clean.flux[bad_rows], rtol=0.01)
    assert not np.any(filled.dq[bad_rows] & dqflags.DO_NOT_USE) and np.all(filled.dq[bad_rows] & dqflags.HOT)


def test_spec2_steps_say_what_ran(lines):
    """The x1d records its steps: COMPLETE by default (auto ran columns on a slitless
    exposure), SKIPPED with the reason for spec_background=none."""
    x1d = calibrate_exposure(lines["uncal"], lines["refs"])["x1d"]
    history = " ".join(history_of(x1d))
    for step, keyword in (("assign_wcs", "assign_wcs"), ("spec_background", "bkg_subtract"),
                          ("extract_1d", "extract_1d"), ("ramp_fit", "ramp_fit")):
        assert getattr(x1d.meta.cal_step, keyword) == "COMPLETE", step
        assert f"{step}={registry.DEFAULTS[step]}: COMPLETE" in history, step
    assert "spec_background: auto ran columns (no nod background)" in history
    assert "extract_1d: trace " in history and "along x from the SPECWCS trace" in history
    x1d = calibrate_exposure(lines["uncal"], lines["refs"], {"spec_background": "none"})["x1d"]
    assert x1d.meta.cal_step.bkg_subtract == "SKIPPED"
    assert "spec_background=none: SKIPPED (variant 'none' chosen)" in " ".join(history_of(x1d))


def test_an_lrs_exposure_without_specwcs_is_refused(lines, tmp_path, capsys):
    refs = tmp_path / "refs"
    shutil.copytree(lines["refs"], refs)
    (refs / lines["reference_files"]["SPECWCS"].name).unlink()
    with pytest.raises(CalibrationInputError, match="no SPECWCS reference in .*assign_wcs needs the LRS wavelength"):
        calibrate_exposure(lines["uncal"], refs)
    assert main(["calibrate", str(lines["uncal"]), "-o", str(tmp_path / "out"), "--refs", str(refs)]) == 2
    assert "miri-testbed: error:" in capsys.readouterr().err and not (tmp_path / "out" / "e_x1d.fits").exists()


def test_a_nod_exposure_without_its_other_nod_is_refused(nodded, lines, tmp_path):
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(nodded["uncal"], lonely)
    with pytest.raises(CalibrationInputError, match="an along-slit nod exposure .*needs the other nod"):
        calibrate_exposure(lonely / "e_uncal.fits", nodded["refs"])
    shutil.copy(nodded["association"], lonely)  # lists e_bkg_uncal.fits, which is not there
    with pytest.raises(CalibrationInputError, match="background exposure .*e_bkg_uncal.fits: no such file"):
        calibrate_exposure(lonely / "e_uncal.fits", nodded["refs"], {"spec_background": "nod"})
    with pytest.raises(CalibrationInputError, match="spec_background=nod needs the other nod"):
        calibrate_exposure(lines["uncal"], lines["refs"], {"spec_background": "nod"})
    with pytest.raises(CalibrationInputError, match="given but the spec_background step is 'columns'"):
        calibrate_exposure(nodded["uncal"], nodded["refs"], {"spec_background": "columns"},
                           background_paths=[nodded["background"]])
