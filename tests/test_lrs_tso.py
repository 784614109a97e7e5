"""The LRS time series' calibration (issue 15): transit model, fit, extraction per integration, tso3.

The transit model against the uniform disc's exact overlap area and the small-planet
limit; the depth fitted to synthetic white-noise light curves is unbiased with pulls of
width 1 for any phase coverage that holds the mid-transit; the extraction per
integration conserves a noise-free source's light; a simulated slitless TSO goes through
``calibrate`` to x1dints, whtlt and transit products; bad input is refused by name.
"""
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from hypothesis import given, settings
from hypothesis import strategies as st
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError, light_curves, transit, tso_extract
from miri_testbed.calibration.pipeline import calibrate, calibrate_exposure
from miri_testbed.instrument import dq as dqflags
from miri_testbed.simulator import LrsObservation, Scene, SpectralSource, simulate
from miri_testbed.simulator.truth import read_truth
from miri_testbed.validation import lrs_views, report

from helpers import history_of

EPHEMERIS = transit.Ephemeris(period_days=0.5, a_rs=3.0, inclination_deg=85.0, u1=0.25, u2=0.15)


def overlap_fraction(z, p):
    """Area of a disc of radius p at distance z inside the unit disc, over pi (uniform star)."""
    if z >= 1 + p:
        return 0.0
    if z <= 1 - p:
        return p * p
    k0 = np.arccos((p * p + z * z - 1) / (2 * p * z))
    k1 = np.arccos((1 - p * p + z * z) / (2 * z))
    return (p * p * k0 + k1 - 0.5 * np.sqrt(max(4 * z * z - (1 + z * z - p * p) ** 2, 0.0))) / np.pi


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.005, 0.3), x=st.floats(0.0, 1.0))
def test_uniform_disc_blocks_the_exact_overlap_area(p, x):
    z = x * (1 + p)
    # 1e-11: the closed form's own rounding at contact (a difference of nearly equal angles)
    assert transit.blocked(z, p, 0.0, 0.0)[0] == pytest.approx(overlap_fraction(z, p), abs=1e-7 * p * p + 1e-11)


@settings(max_examples=40, deadline=None)
@given(z=st.floats(0.0, 0.9), u1=st.floats(0.0, 0.6), u2=st.floats(-0.1, 0.3))
def test_a_small_planet_blocks_p2_times_the_local_intensity(z, u1, u2):
    p = 1e-3
    mu = np.sqrt(1 - z * z)
    local = (1 - u1 * (1 - mu) - u2 * (1 - mu) ** 2) / (1 - u1 / 3 - u2 / 6)
    # the limit's own error is O(p^2) relative (the intensity's curvature across the planet)
    assert transit.blocked(z, p, u1, u2)[0] == pytest.approx(p * p * local, rel=1e-4)


def _light_curves(rng, start, span, n, p, noise, draws, settling=0.0):
    """``draws`` noisy light curves of a transit at MJD 60000.05 sampled over [start, start + span]."""
    t = start + np.linspace(0.0, span, n)
    t_start = t[0] - 1e-4
    true = 1000.0 * (1 - settling * np.exp(-(t - t_start) / 0.01)) * transit.transit(t, p, 60000.05, EPHEMERIS)
    return t, t_start, true[None] * (1 + noise * rng.standard_normal((draws, n)))


@settings(max_examples=6, deadline=None)
@given(offset=st.floats(-0.9, 0.9), span=st.floats(0.06, 0.2), p=st.floats(0.05, 0.15), seed=st.integers(0, 2**31))
def test_fitted_depth_is_unbiased_for_any_coverage_holding_the_transit(offset, span, p, seed):
    """Mid-transit anywhere in the data (``offset``: where, in half spans from the middle)."""
    rng = np.random.default_rng(seed)
    draws, noise = 40, 1e-3
    start = 60000.05 - 0.5 * span * (1 + offset)
    t, t_start, curves = _light_curves(rng, start, span, 150, p, noise, draws)
    pulls = []
    for y in curves:
        fit = transit.fit(t, y, np.full(t.size, 1000.0 * noise), t_start, EPHEMERIS, settling=False)
        pulls.append((fit.depth - p * p) / fit.depth_error)
    # 40 draws: the mean's standard error is 0.16, the width's 0.11
    assert abs(np.mean(pulls)) < 0.55
    assert 0.65 < np.std(pulls) < 1.4


def test_the_settling_ramp_is_fitted_with_the_depth():
    rng = np.random.default_rng(3)
    t, t_start, curves = _light_curves(rng, 60000.0, 0.1, 300, 0.1, 5e-4, 30, settling=0.005)
    fits_ = [transit.fit(t, y, np.full(t.size, 0.5), t_start, EPHEMERIS) for y in curves]
    pulls = np.array([(f.depth - 0.01) / f.depth_error for f in fits_])
    assert abs(pulls.mean()) < 0.6 and 0.6 < pulls.std() < 1.5
    assert np.median([f.params["A"] for f in fits_]) == pytest.approx(0.005, rel=0.2)
    # without the settling term the same curves are fitted worse
    assert np.median([transit.fit(t, y, np.full(t.size, 0.5), t_start, EPHEMERIS, settling=False).chi2_red
                      for y in curves[:5]]) > 1.2


@pytest.mark.slow
@pytest.mark.parametrize("noise", [0.004, 0.02])
def test_depth_errors_follow_the_scatter_of_a_minutes_long_transit(noise):
    """The lrs_tso suite's regime: a 100-s transit in 191 s at MJD 60000, depth S/N ~8 and ~1.5.

    A finite-difference step relative to ``t0`` (~1.5e-8 x 60000 d = 80 s) or errors that
    scale with the fitted radius (``2 p sigma_p``, small where the fitted depth is) would
    make these pulls several times too narrow; the light is in DN/s as the white light's
    (~1.8e5), whose scale the covariance must not confuse with a degeneracy.
    """
    eph = transit.Ephemeris(period_days=0.01, a_rs=3.0, inclination_deg=90.0, u1=0.1, u2=0.05)
    rng = np.random.default_rng(11)
    t = 60000.0 + (np.arange(200) + 0.5) * 0.955 / 86400
    true = 1.8e5 * transit.transit(t, 0.1, 60000.0 + 95.4 / 86400, eph) * (1 - 0.005 * np.exp(-(t - 60000.0) / 0.014))
    pulls = []
    for _ in range(40):
        f = transit.fit(t, true * (1 + noise * rng.standard_normal(t.size)), true * noise, 60000.0, eph)
        pulls.append((f.depth - 0.01) / f.depth_error)
    # 40 draws: the mean's standard error is 0.16, the width's 0.11
    assert abs(np.mean(pulls)) < 0.55
    assert 0.7 < np.std(pulls) < 1.35


def test_too_few_points_decline_the_fit():
    t = 60000.0 + np.arange(5) * 0.01
    with pytest.raises(CalibrationInputError, match="needs at least 12 usable points"):
        transit.fit(t, np.ones(5), np.ones(5), t[0], EPHEMERIS)
    assert transit.fit_ramp(t, np.ones(5), np.ones(5), t[0], EPHEMERIS).reason.startswith("a transit fit")


def test_an_ephemeris_file_names_its_bad_keys(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text("period_days = 1.0\na_rs = 5.0\ninclination_deg = 88\nu1 = 0.1\nperiod = 2\n")
    with pytest.raises(CalibrationInputError, match="unknown key.s. period; missing key.s. u2"):
        transit.read_ephemeris(path)
    path.write_text("period_days = 1.0\na_rs = 5.0\ninclination_deg = 88\nu1 = 0.1\nu2 = 'x'\n")
    with pytest.raises(CalibrationInputError, match="u2 must be a number"):
        transit.read_ephemeris(path)


def _frames(nints=6, ny=40, nx=30, seed=0, x0=14.3, slope=0.02, width=1.2):
    """Noise-free Gaussian-profile rates varying by integration, with their variances and a trace.

    The trace ``x0 + slope y``, the profile's sigma ``width`` (px).
    """
    rng = np.random.default_rng(seed)
    trace = x0 + slope * np.arange(ny)
    j = np.arange(nx)[None, :]
    profile = np.exp(-0.5 * ((j - trace[:, None]) / width) ** 2)
    scale = 1 + 0.01 * rng.standard_normal(nints)
    sci = scale[:, None, None] * 100.0 * profile[None] * (1 + 0.3 * np.sin(np.arange(ny)))[None, :, None]
    var = 1.0 + sci
    return sci, var, np.zeros(sci.shape, np.uint32), trace


@pytest.mark.parametrize("variant", ["optimal", "box"])
@settings(max_examples=20, deadline=None)
@given(x0=st.floats(8.0, 21.0), slope=st.floats(-0.08, 0.08), width=st.floats(0.7, 2.5), seed=st.integers(0, 99))
def test_extraction_conserves_a_noise_free_source(variant, x0, slope, width, seed):
    """Any trace position and tilt, any profile width, integrations of different brightness: each integration's
    spectrum is the window's light (optimal: the pixels within the half-width of the trace; box: its aperture)."""
    sci, var, dq, trace = _frames(seed=seed, x0=x0, slope=slope, width=width)
    out = getattr(tso_extract, variant)(sci, var, np.zeros(sci.shape[1]), dq, trace)
    j = np.arange(sci.shape[2])[None, :]
    if variant == "optimal":
        window = np.abs(j - trace[:, None]) <= 6.0
        expected = np.sum(np.where(window[None], sci, 0.0), axis=2)
    else:
        expected = np.sum(sci * tso_extract.extract1d.aperture(trace, sci.shape[2], 4.0)[None], axis=2)
    np.testing.assert_allclose(out.flux, expected, rtol=1e-12)


def test_optimal_carries_a_bad_pixel_with_the_profile_and_box_flags_it():
    sci, var, dq, trace = _frames()
    dq[2, 10, 14] = dqflags.DO_NOT_USE
    full = tso_extract.optimal(sci, var, np.zeros(sci.shape[1]), np.zeros_like(dq), trace).flux
    opt = tso_extract.optimal(sci, var, np.zeros(sci.shape[1]), dq, trace)
    # 1e-4: that pixel's profile is the median of one integration fewer (their scales differ by 1 %)
    assert opt.flux[2, 10] == pytest.approx(full[2, 10], rel=1e-4) and not opt.dq[2, 10] & dqflags.DO_NOT_USE
    box = tso_extract.box(sci, var, np.zeros(sci.shape[1]), dq, trace)
    assert box.dq[2, 10] & dqflags.DO_NOT_USE and box.flux[2, 10] < full[2, 10]


def test_white_light_keeps_one_set_of_rows():
    wavelength = np.linspace(4.0, 13.0, 10)
    flux, error = np.ones((4, 10)), np.full((4, 10), 0.1)
    dq = np.zeros((4, 10), np.uint32)
    dq[:, 3] = dqflags.DO_NOT_USE  # bad in every integration: out of the sum
    dq[1, 5] = dqflags.DO_NOT_USE  # bad once: that integration has no white light
    curve = light_curves.summed(wavelength, flux, error, dq, (5.0, 12.0))
    rows = (wavelength >= 5) & (wavelength <= 12)
    rows[3] = False
    np.testing.assert_array_equal(curve.rows, rows)
    assert np.isnan(curve.flux[1]) and np.all(curve.flux[[0, 2, 3]] == rows.sum())


@pytest.fixture(scope="module")
def tso(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tso")
    spectrum = {"continuum": {"kind": "blackbody", "temperature_k": 1000.0, "flux_mjy": 10.0, "ref_um": 7.5}}
    sim = simulate(Scene((SpectralSource(spectrum),), background_mjy_sr=5.0),
                   LrsObservation(mode="lrs_slitless", ngroups=5, nints=16, tso=True), folder, name="tso", seed=2)
    (folder / "tso_ephemeris.toml").write_text(
        "period_days = 0.5\na_rs = 3.0\ninclination_deg = 85.0\nu1 = 0.1\nu2 = 0.05\n")
    return sim


def test_a_time_series_calibrates_to_x1dints_whtlt_and_transit(tso, tmp_path):
    paths = calibrate(tso["uncal"], tmp_path, tso["refs"])
    assert {"x1dints", "whtlt", "transit"} <= set(paths)
    with dm.open(paths["x1dints"]) as x1dints:
        table = x1dints.spec[0].spec_table
        assert table["FLUX"].shape[0] == 16 and len(x1dints.int_times) == 16
        assert np.all(np.diff(table["WAVELENGTH"][0]) > 0)
        np.testing.assert_array_equal(table["MJD-AVG"], x1dints.int_times["int_mid_MJD_UTC"])
        assert x1dints.meta.cal_step.extract_1d == "COMPLETE"
    white = Table.read(paths["whtlt"])
    assert list(white.colnames[:3]) == ["MJD_UTC", "BJD_TDB", "whitelight_flux"]
    assert np.all(np.isfinite(white["transit_model"]))
    fitted = Table.read(paths["transit"])
    assert fitted["name"][0] == "white" and len(fitted) == 15  # 5-12 um in 0.5 um bins
    # (no transit in this 13-s scene, shorter than any transit of the ephemeris: its depth is not identifiable)
    assert np.all(np.isfinite(fitted["depth_error"])) and fitted.meta["white_params"]["rp_rs"] >= 0


def test_the_light_curve_view_holds_the_white_light_its_model_and_the_truth(tso, tmp_path):
    """The report's light-curve view of a time series: the white light and its model
    normalised out of transit, the true relative flux (1 here: no transit in the scene), the
    bins' depths beside their true ones (0); drawn as one figure."""
    paths = calibrate(tso["uncal"], tmp_path, tso["refs"])
    view = lrs_views.light_curve_view(read_truth(tso["truth"]), paths)
    assert view["hours"].size == view["flux"].size == view["model"].size == view["true"].size == 16
    assert np.all(view["true"] == 1) and np.median(view["model"]) == pytest.approx(1.0, abs=1e-3)
    assert np.all(np.abs(view["flux"] - view["model"]) < 5 * view["error"])
    assert view["depth"].size == view["true_depth"].size == 14 and np.all(view["true_depth"] == 0)
    html = report.effect_sections(tmp_path, {"default|tso|2": {"lrs_light_curve": view}})
    assert html.count("<img class='view'") == 1


def test_without_an_ephemeris_the_transit_fit_is_skipped(tso, tmp_path):
    (tso["uncal"].parent / "tso_ephemeris.toml").rename(tmp_path / "eph.toml")
    try:
        products = calibrate_exposure(tso["uncal"], tso["refs"])
        assert "transit" not in products and np.all(np.isnan(products["whtlt"]["transit_model"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # stdatamodels: "history attribute will soon be deprecated"
            history = " ".join(history_of(products["x1dints"]))
        assert "transit_fit=ramp: SKIPPED (reference: no ephemeris" in history
    finally:
        (tmp_path / "eph.toml").rename(tso["uncal"].parent / "tso_ephemeris.toml")


def test_a_bad_ephemeris_is_refused_before_detector1(tso, tmp_path, monkeypatch):
    """An ephemeris that cannot be read stops ``calibrate`` by name before any ramp is processed."""
    from miri_testbed.calibration import detector1

    def not_reached(*args, **kwargs):
        raise AssertionError("detector1 ran before the ephemeris was checked")

    monkeypatch.setattr(detector1, "run", not_reached)
    bad = tmp_path / "eph.toml"
    bad.write_text("period_days = 0.5\n")
    with pytest.raises(CalibrationInputError, match="missing key.*a_rs"):
        calibrate_exposure(tso["uncal"], tso["refs"], ephemeris=bad)


def _copy(tso, tmp_path, edit):
    path = tmp_path / "bad_uncal.fits"
    with fits.open(tso["uncal"]) as hdul:
        edit(hdul)
        hdul.writeto(path)
    return path


def test_bad_time_series_are_refused_by_name(tso, tmp_path):
    no_times = _copy(tso, tmp_path, lambda h: (h.pop("INT_TIMES"), h.pop("ASDF")))  # a foreign file without it
    with pytest.raises(CalibrationInputError, match="needs its INT_TIMES table"):
        calibrate_exposure(no_times, tso["refs"])
    no_times.unlink()

    def one_integration(hdul):
        hdul["SCI"].data = hdul["SCI"].data[:1]
        hdul[0].header["NINTS"] = 1
    with pytest.raises(CalibrationInputError, match="at least 2 integrations, this TSO exposure has 1"):
        calibrate_exposure(_copy(tso, tmp_path, one_integration), tso["refs"])


def test_an_all_saturated_time_series_is_refused(tso, tmp_path):
    def saturate(hdul):
        hdul["SCI"].data[:] = 65535
    with pytest.raises(CalibrationInputError, match="saturated"):
        calibrate_exposure(_copy(tso, tmp_path, saturate), tso["refs"])


def test_the_profile_median_is_numpys_nanmedian_bit_for_bit():
    """``tso_extract._nanmedian_first`` (one sort) is np.nanmedian along integrations, on both sides of the
    600 integrations where numpy changes its method; NaNs scattered, a lane all NaN, a lane with one number."""
    rng = np.random.default_rng(4)
    for nints in (1, 2, 5, 599, 600, 1001):
        x = rng.normal(3.0, 1.0, (nints, 6, 5))
        x[rng.random(x.shape) < 0.3] = np.nan
        x[:, 0, 0] = np.nan
        x[: nints - 1, 1, 1] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN lane
            expected = np.nanmedian(x, axis=0)
        assert np.array_equal(tso_extract._nanmedian_first(x), expected, equal_nan=True), nints
