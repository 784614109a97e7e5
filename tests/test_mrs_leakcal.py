"""The MRS spectral leak's MRSPTCORR measured on simulated calibration exposures (simulator.mrs_leakcal).

Fast: the fit on one rendering of the two exposures (~5 s in all): noise-free with perfect PHOTOMs it returns the
truth's curve as 3A's pixels hold it; noisy, within its own errors; with measured PHOTOMs it returns the curve times the
PHOTOMs' ratio (3A's over 1B's), not the truth's; the LEAKCOR table holds the fit; ``perfect`` references write the
truth's curve (~9 s).  Slow (~45 s): through ``simulate``, 1B's PHOTOM that a 3A exposure set uses is bit for bit the
one the 1B exposure of the same seed writes; the leak off writes no MRSPTCORR and the leak on changes no other
reference.
"""
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from stdatamodels.jwst import datamodels as dm
from test_mrs_xartcal import _asdf_arrays

from miri_testbed.simulator import (
    Effects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    mrs_leakcal,
    mrs_photom,
    mrs_throughput,
    simulate,
)
from miri_testbed.simulator import detector as sim_detector
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator import spectral_leak as sim_leak
from miri_testbed.simulator.config import MrsEffects
from miri_testbed.simulator.exposure import rng_streams
from miri_testbed.simulator.spectra import FWHM_PER_SIGMA
from miri_testbed.simulator.truth import Component, read_truth

EFFECTS = Effects(mrs=MrsEffects(spectral_leak=True))
NOMINAL = sim_leak.LeakCurve.from_effects(MrsEffects())
SOURCE, LEAK = sim_leak.SOURCE_BAND, sim_leak.LEAK_BAND


@pytest.fixture(scope="module")
def exposures():
    """1B's and 3A's noise-free calibration exposures through a drawn true geometry, and that geometry."""
    rng = np.random.default_rng(3)
    true = {name: smrs.draw_perturbation(name, EFFECTS.mrs, rng) for name in (LEAK, SOURCE)}
    return smrs.leak_exposures(true, EFFECTS, None), true


def _fit(exposures, true, draws=None, rng=None):
    if rng is not None:
        exposures = {name: (pixels, *mrs_leakcal.observe(rate, rng)) for name, (pixels, rate, _) in exposures.items()}
    spectra = smrs.calibrated_leak_exposures(exposures, {n: p.velocity_model() for n, p in true.items()},
                                             draws or {}, EFFECTS)
    return mrs_leakcal.fit(spectra[LEAK], spectra[SOURCE][:3], NOMINAL)


def _as_pixels_hold_it(exposures):
    """The truth's curve as 3A's pixels hold it: convolved with the LSF (a Gaussian) and each pixel's box in lambda,
    ``sigma^2 + sigma_LSF^2 + w^2 / 12``, the same area (the fit's model is a Gaussian, so this is what it returns)."""
    truth = sim_leak.LeakCurve.from_effects(EFFECTS.mrs)
    pixels = exposures[LEAK][0]
    lo, hi = pixels.lam_edges
    width = float(np.median((hi - lo)[np.abs(pixels.wavelength - truth.centre_um) < truth.sigma_um]))
    lsf = truth.centre_um / float(smrs.resolving_power(truth.centre_um)) / FWHM_PER_SIGMA
    sigma = np.sqrt(truth.sigma_um**2 + lsf**2 + width**2 / 12)
    return sim_leak.LeakCurve(truth.peak * truth.sigma_um / sigma, truth.centre_um, sigma)


def test_noise_free_with_perfect_photoms_the_fit_returns_the_truths_curve_as_the_pixels_hold_it(exposures):
    """The LSF and the pixels' boxes widen the truth's sigma by 1.7e-4 of itself and lower its peak as much; once
    that is taken in, what is left is the continuum polynomial's (degree 3: 2.9e-5 of the peak; degree 4, the
    module's, an order less) and the 1B bins': within 2e-5 of the peak and of sigma, the centre within 2e-6 um
    (0.05 km/s), far below the noise's 1.2e-4."""
    fit = _fit(*exposures)
    expected = _as_pixels_hold_it(exposures[0])
    assert fit.curve.peak == pytest.approx(expected.peak, rel=2e-5)
    assert fit.curve.sigma_um == pytest.approx(expected.sigma_um, rel=2e-5)
    assert fit.curve.centre_um == pytest.approx(expected.centre_um, abs=2e-6)
    assert fit.chi2 / fit.dof < 0.05  # noise-free: the model holds to far below the counts' noise
    assert abs(fit.curve.peak / sim_leak.LeakCurve.from_effects(EFFECTS.mrs).peak - 1) > 1e-4  # the LSF's is seen


def test_noisy_exposures_give_the_curve_within_its_stated_errors(exposures):
    """Five noise draws: every parameter within 4 of its sigma of the noise-free answer, the pulls' rms 0.4-2,
    chi^2/dof near 1 (the bins' variances estimated from the counts)."""
    expected = _as_pixels_hold_it(exposures[0])
    pulls, chi2 = [], []
    for seed in range(5):
        fit = _fit(*exposures, rng=np.random.default_rng(seed))
        got = np.array([fit.curve.peak, fit.curve.centre_um, fit.curve.sigma_um])
        pulls.append((got - [expected.peak, expected.centre_um, expected.sigma_um]) / fit.errors)
        chi2.append(fit.chi2 / fit.dof)
        assert fit.errors[0] < 3e-4 * expected.peak  # the measurement's error: far below the PHOTOMs' 0.3 %
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls) < 4) and 0.4 < np.sqrt(np.mean(pulls**2)) < 2
    assert 0.7 < np.mean(chi2) < 1.5


@pytest.mark.parametrize("seed", [0, 1])
def test_with_measured_photoms_the_fit_returns_the_curve_times_3as_error_over_1bs(exposures, seed):
    """Calibrated with measured PHOTOMs (errors of 3 % rms here, so the ratio stands out), the fit returns
    ``f (1 + e_3A(lambda)) / (1 + e_1B(lambda / 2))`` times the two TIMECOEFFs' errors against the truth's throughput
    at the programme's epoch (``T / c``, 3A's over 1B's), within 1e-3 of the peak over +/- 2 sigma (what the
    Gaussian cannot follow of the ratio: its slope and curvature under the leak and the TIMECOEFF bins' steps),
    and not the truth's curve, which differs by > 10 times that."""
    options = ReferenceOptions(photom_error=0.03)
    rng = np.random.default_rng(10 + seed)
    draws = {LEAK: mrs_photom.measured_draws(("3A", "4A"), options, True, rng),
             SOURCE: mrs_photom.measured_draws(("1B", "2B"), options, True, rng)}
    exposed, true = exposures
    fit = _fit(exposed, true, draws)
    epoch = mrs_leakcal.EPOCH_MJD

    def calibration(band, lam):
        """``(1 + e) T / c`` of band's PHOTOM at its pixels' flight wavelength ``lam``."""
        table = draws[band].tables[f"timecoeff_powerlaw_ch{band[0]}"]
        throughput = mrs_throughput.relative_throughput(true[band].wavelength(lam), epoch)
        return (1 + draws[band].errors[band](lam)) * throughput / mrs_leakcal.timecoeff_correction(table, lam, epoch)

    curve = _as_pixels_hold_it(exposed)
    lam = np.linspace(curve.centre_um - 2 * curve.sigma_um, curve.centre_um + 2 * curve.sigma_um, 81)
    expected = curve(lam) * calibration(LEAK, lam) / calibration(SOURCE, lam / 2)
    assert np.max(np.abs(fit.curve(lam) - expected)) < 1e-3 * curve.peak
    assert np.max(np.abs(curve(lam) - expected)) > 1e-2 * curve.peak


def test_the_table_holds_the_fitted_curve_and_its_error_and_perfect_the_truth(exposures):
    fit = _fit(*exposures, rng=np.random.default_rng(1))
    measured = smrs.leak_model(EFFECTS.mrs, ReferenceOptions(), fit).leakcor_table
    perfect = smrs.leak_model(EFFECTS.mrs, ReferenceOptions(kind="perfect")).leakcor_table
    assert np.array_equal(measured["wavelength"], perfect["wavelength"])
    lo, hi = smrs.mrs.band(LEAK).wavelength_range  # the float64 grid the float32 wavelengths were rounded from
    lam = np.arange(lo, hi + smrs.LEAK_TABLE_STEP_UM / 2, smrs.LEAK_TABLE_STEP_UM)
    assert np.array_equal(measured["wavelength"], lam.astype(np.float32))
    np.testing.assert_allclose(perfect["frac_leak"], sim_leak.LeakCurve.from_effects(EFFECTS.mrs)(lam), rtol=1e-6,
                               atol=1e-12)
    assert not np.any(perfect["err_leak"])
    np.testing.assert_allclose(measured["frac_leak"], fit.curve(lam), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(measured["err_leak"], fit.curve_error(lam), rtol=1e-5, atol=1e-12)
    peak = np.argmax(measured["frac_leak"])
    assert 0 < measured["err_leak"][peak] < 3e-4 * measured["frac_leak"][peak]
    with pytest.raises(ValueError, match="needs the fitted leak"):
        smrs.leak_model(EFFECTS.mrs, ReferenceOptions())


HOT = SpectralSource({"continuum": {"kind": "blackbody", "temperature_k": 10000.0, "flux_mjy": 50.0, "ref_um": 12.2}})


@pytest.mark.slow  # three MRS simulations with measured references: ~1-2 min
def test_through_simulate_1bs_photom_is_the_1b_exposures_and_the_leak_changes_no_other_reference(tmp_path):
    """A 1B exposure and a 3A exposure set of one seed: the 1B PHOTOM error and TIMECOEFF the 3A set's leak
    calibration uses (``leak_source_photom`` on the references stream ``simulate`` passes) are bit for bit those
    the 1B exposure's PHOTOM holds (its SCI rebuilt from them, the truth's gain and geometry), and 1B's true
    geometry is the 1B truth's; 3A with the leak off writes no MRSPTCORR and every other file as with it on."""
    seed, scene, options = 3, Scene((HOT,), background_mjy_sr=5.0), ReferenceOptions()
    obs_1b = MrsObservation(detector="MIRIFUSHORT", band="MEDIUM", ngroups=3)
    assert smrs.leak_source_observation().bands == obs_1b.bands
    sim_1b = simulate(scene, obs_1b, tmp_path / "1b", seed=seed, effects=EFFECTS, references=options)
    streams = rng_streams(seed)
    draws = smrs.leak_source_photom(options, EFFECTS, streams["references"])
    truth = read_truth(sim_1b["truth"])
    perturbation = smrs.perturbations_from_table(truth.table("PERTURBATION", obs_1b.detector))[SOURCE]
    assert smrs.leak_source_perturbation(EFFECTS, streams["optics"]) == perturbation
    gain = sim_detector.draw_detector(obs_1b.readout, EFFECTS.detector, streams["detector"]).gain
    pixels = smrs.TruePixels(smrs.flight_pixels(SOURCE), perturbation)
    f = pixels.flight
    sci = (gain[f.y, f.x] / smrs.render_background(pixels, 1.0) * (1 + draws.errors[SOURCE](f.wavelength)))
    photom = next(p for p in sim_1b["refs"].iterdir() if "photom" in p.name)
    with dm.MirMrsPhotomModel(str(photom)) as model:
        assert np.array_equal(model.data[f.y, f.x], sci.astype(np.float32))
        assert np.array_equal(model.timecoeff_powerlaw_ch1, draws.tables["timecoeff_powerlaw_ch1"])
    obs_3a = MrsObservation(detector="MIRIFULONG", band="SHORT", ngroups=3)
    refs = {}
    for label, effects in (("off", replace(EFFECTS, mrs=MrsEffects())), ("on", EFFECTS)):
        sim = simulate(scene, obs_3a, tmp_path / label, seed=seed, effects=effects, references=options)
        refs[label] = {p.name: p for p in sim["refs"].iterdir()}
    leak = [n for n in refs["on"] if "mrsptcorr" in n]
    assert len(leak) == 1 and set(refs["on"]) - set(leak) == set(refs["off"])
    for name, path in refs["off"].items():
        if name.endswith(".fits"):
            with dm.open(path) as off, dm.open(refs["on"][name]) as on:
                for key in ("data", "err", "dq"):
                    if off.hasattr(key):
                        assert np.array_equal(getattr(off, key), getattr(on, key), equal_nan=True), (name, key)
                for key in ("timecoeff_powerlaw_ch3", "timecoeff_powerlaw_ch4"):
                    if off.hasattr(key):
                        assert np.array_equal(getattr(off, key), getattr(on, key)), (name, key)
        elif name.endswith(".asdf"):
            assert _asdf_arrays(path) == _asdf_arrays(refs["on"][name]), name
    with dm.MirMrsPtCorrModel(str(refs["on"][leak[0]])) as model:
        table = model.leakcor_table
        peak = np.argmax(table["frac_leak"])
        truth_peak = sim_leak.LeakCurve.from_effects(EFFECTS.mrs).peak
        assert table["frac_leak"][peak] != np.float32(truth_peak)
        assert table["frac_leak"][peak] == pytest.approx(truth_peak, rel=0.02)  # the PHOTOMs' ratio: ~0.4 % rms
        assert "fitted on simulated 1B and 3A exposures" in model.meta.description


def test_perfect_references_write_the_truths_curve(tmp_path):
    """``write_references`` with ``perfect`` options: the MRSPTCORR holds the truth's curve and no error (no fit)."""
    observation = MrsObservation(detector="MIRIFULONG", band="SHORT", ngroups=3)
    rng = np.random.default_rng(2)
    table = smrs._perturbation_table([smrs.draw_perturbation(name, EFFECTS.mrs, rng) for name in observation.bands])
    light = SimpleNamespace(components=[Component("PERTURBATION", table, detector=observation.detector)])
    truth = SimpleNamespace(gain=np.full((1024, 1032), 4.0))
    streams = rng_streams(2)
    paths = smrs.write_references(tmp_path, None, observation, ReferenceOptions(kind="perfect"), EFFECTS, truth, light,
                                  streams["references"], streams["optics"])
    with dm.MirMrsPtCorrModel(str(paths["MRSPTCORR"])) as model:
        expected = smrs.leak_model(EFFECTS.mrs, ReferenceOptions(kind="perfect")).leakcor_table
        assert np.array_equal(model.leakcor_table["frac_leak"], expected["frac_leak"])
        assert not np.any(model.leakcor_table["err_leak"])
        assert "(perfect: truth)" in model.meta.description
