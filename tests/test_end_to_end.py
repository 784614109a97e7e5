"""Truth -> uncal -> calibrated products -> scores, through the files of the data contract."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import imager
from miri_testbed.simulator import DetectorEffects, Effects, Observation
from miri_testbed.simulator.truth import read_truth
from miri_testbed.validation import report, scorers, targets, views
from miri_testbed.validation.runner import run_cells, suite_cells
from miri_testbed.validation.scenarios import load_suite

from helpers import noise_free, simulate_and_calibrate, star_scene

SMALL = ["SUB64", "SUB128", "SUB256"]
FILTERS = ["F560W", "F770W", "F1000W", "F1500W", "F2100W"]


@pytest.mark.slow
@given(seed=st.integers(0, 2**31), subarray=st.sampled_from(SMALL), filt=st.sampled_from(FILTERS),
       ngroups=st.integers(2, 30), nints=st.integers(1, 2), background=st.floats(0.1, 50))
def test_noise_free_round_trip(tmp_path_factory, seed, subarray, filt, ngroups, nints, background):
    """With noise and every effect off, rates come back to 1e-5 and fluxes to 0.2 % for
    isolated sources (no other star within the photometric sky annulus)."""
    tmp = tmp_path_factory.mktemp("nf")
    obs = Observation(filter=filt, subarray=subarray, ngroups=ngroups, nints=nints)
    # isolated: no other star inside the APCORR sky annulus (out to 1.5 max(6 FWHM, 20 px))
    isolation = 1.5 * max(6 * imager.imager_filter(filt).psf_fwhm_arcsec / imager.PIXEL_SCALE_X_ARCSEC, 20) + 5
    n = {"SUB64": 1, "SUB128": 2, "SUB256": 3}[subarray]
    scene = star_scene(obs, seed, n=n, background=background, margin=14 if subarray == "SUB64" else 20,
                       separation=min(isolation, 70))
    sim, products, scores = simulate_and_calibrate(tmp, obs, scene, seed, **noise_free())
    rate = dm.open(products["rate"]).data
    true = read_truth(sim["truth"]).image("RATE")
    science = np.isfinite(rate) & (true > 0)
    assert science.sum() > 0.9 * (true > 0).sum()
    np.testing.assert_allclose(rate[science], true[science], rtol=1e-5)
    ratios = scores.loc[scores.metric == "flux_ratio", "value"]
    assert len(ratios) >= 1
    np.testing.assert_allclose(ratios, 1.0, atol=2e-3)


@pytest.mark.slow
@given(seed=st.integers(0, 2**31), readpatt=st.sampled_from(["FASTR1", "SLOWR1"]), filt=st.sampled_from(FILTERS))
def test_noisy_rates_have_unit_pulls(tmp_path_factory, seed, readpatt, filt):
    """Every ordinary effect on (noise, dark, bias, nonlinearity, reset anomaly, last frame,
    saturation, bad pixels, digitisation) but cosmic rays and showers: pulls of width 1,
    rates unbiased.  (With 4 SLOWR1 groups only one difference survives first/last-frame
    flagging, so no jump can be detected there: events are tested where they can be.)"""
    tmp = tmp_path_factory.mktemp("noisy")
    subarray = "FULL" if readpatt == "SLOWR1" else "SUB256"
    obs = Observation(filter=filt, subarray=subarray, readpatt=readpatt, ngroups=4 if readpatt == "SLOWR1" else 15)
    effects = Effects(detector=DetectorEffects(cosmic_rays=False, showers=False))
    _, _, scores = simulate_and_calibrate(tmp, obs, star_scene(obs, seed, background=10.0), seed, effects=effects)
    overall = scores[scores.bin.isna()].set_index("metric")["value"]
    assert overall["pull_n"] > 6e4
    assert overall["pull_std"] == pytest.approx(1.0, abs=0.05)
    assert abs(overall["rate_bias_sigma"]) < 0.05


@pytest.mark.slow
def test_noisy_suite_meets_flux_and_astrometry_targets(tmp_path):
    """The quick suite with every ordinary effect on and measured references."""
    suite = load_suite("quick")
    metrics, hist = run_cells(suite_cells(suite), tmp_path, workers=1, progress=False)
    results = {r["id"]: r for r in targets.evaluate(metrics)}
    assert results["IMG-FLUX-1"]["n"] >= 5 and results["IMG-FLUX-1"]["passed"], results["IMG-FLUX-1"]
    assert results["IMG-ASTRO-1"]["passed"], results["IMG-ASTRO-1"]
    assert results["DET-PULL-1"]["passed"], results["DET-PULL-1"]
    for target in ("LRS-WAVE-1", "LRS-DROPOUT-1", "LRS-FLUX-1"):  # the LRS slitless spectrum, 8 bad trace pixels
        assert results[target]["n"] >= 1 and results[target]["passed"], results[target]
    # Its views: the spectrum against the truth, and the dropouts the bad pixels make without
    # pixel replacement, none with it; the report draws both.
    cell, cut = next((c, v) for c, v in views.attached(metrics)[0].items() if "|lrs_slitless_lines|" in c)
    assert {"lrs_spectrum", "lrs_dropouts"} <= set(cut)
    spectrum = cut["lrs_spectrum"]
    scored = spectrum["scored"].astype(bool)
    assert np.median(spectrum["flux"][scored] / spectrum["true"][scored]) == pytest.approx(1.0, abs=0.01)
    assert cut["lrs_dropouts"]["lost_before"].sum() >= 1 and cut["lrs_dropouts"]["lost_after"].sum() == 0
    html = report.effect_sections(tmp_path, {cell: {k: cut[k] for k in ("lrs_spectrum", "lrs_dropouts")}})
    assert html.count("<img class='view'") == 2
    assert hist.sum() > 1e5
    # Every product type scored, and every metric declared by its scorer (the report's sections rely on it).
    declared = {m for kinds in scorers.SCORERS.values() for s in kinds for m in s.metrics}
    assert set(metrics["metric"]) <= declared
    assert scorers.product_types(metrics) == {scorers.RATE, scorers.CATALOG, scorers.RATEINTS, scorers.EMI_CORRECTION,
                                              scorers.SPECTRUM1D}


def test_products_open_as_jwst_models(tmp_path):
    obs = Observation(subarray="SUB128", ngroups=6, nints=2)
    sim, products, _ = simulate_and_calibrate(tmp_path, obs, star_scene(obs, 3, n=3, margin=20), 3)
    with dm.open(sim["uncal"]) as uncal:
        assert isinstance(uncal, dm.RampModel) and uncal.data.shape == (2, 6, 128, 136)
        assert uncal.meta.exposure.frame_time == pytest.approx(0.11904)
        assert uncal.meta.instrument.name == "MIRI" and uncal.meta.subarray.name == "SUB128"
    with dm.open(products["rate"]) as rate:
        assert isinstance(rate, dm.ImageModel)
        for ext in ("data", "err", "dq", "var_poisson", "var_rnoise"):
            assert getattr(rate, ext).shape == (128, 136)
    with dm.open(products["rateints"]) as rateints:
        assert isinstance(rateints, dm.CubeModel) and rateints.data.shape == (2, 128, 136)
    with dm.open(products["cal"]) as cal:
        assert cal.meta.bunit_data == "MJy/sr"
