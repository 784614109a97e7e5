"""The LRS time series, simulator side: the transit model, time-varying light in the ramps, the truth."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import lrs as lrs_facts
from miri_testbed.simulator import Effects, ReferenceOptions, readclock, simulate, transit
from miri_testbed.simulator.config import DetectorEffects, LrsObservation, Scene, SpectralSource
from miri_testbed.simulator.settling import response
from miri_testbed.simulator.truth import read_truth
from miri_testbed.validation.scenarios import ScenarioError, parse_suite

STAR = {"continuum": {"kind": "blackbody", "temperature_k": 1000.0, "flux_mjy": 10.0, "ref_um": 7.5}}
PPM = 1e-6


def _uniform_disc_flux(z, p):
    """1 - (overlap area of a disc of radius p at distance z with the unit disc) / pi, in closed form."""
    z = np.asarray(z, float)
    area = np.where(z <= 1 - p, np.pi * p**2, 0.0)
    part = (z > 1 - p) & (z < 1 + p)
    zz = z[part]
    k0 = np.arccos((p**2 + zz**2 - 1) / (2 * p * zz))
    k1 = np.arccos((1 - p**2 + zz**2) / (2 * zz))
    area[part] = p**2 * k0 + k1 - 0.5 * np.sqrt(np.maximum(4 * zz**2 - (1 + zz**2 - p**2) ** 2, 0))
    return 1 - area / np.pi


def _near(points):
    """Separations just either side of each of ``points`` (1e-10 to 1e-2 away)."""
    offsets = np.logspace(-10, -2, 17)
    return np.concatenate([np.abs(np.add.outer(points, s * offsets).ravel()) for s in (-1, 1)])


@pytest.mark.parametrize("p", [0.01, 0.1, 0.3, 0.5])
def test_a_uniform_disc_blocks_its_exact_overlap_area(p):
    """No limb darkening: the flux is 1 - overlap / pi to < 0.01 ppm at any separation,
    contacts and the planet's edge crossing the centre included."""
    z = np.concatenate([np.linspace(0, 1.2 + p, 3001), _near(np.array([1 - p, 1 + p, p]))])
    assert np.max(np.abs(transit.occulted_flux(z, p) - _uniform_disc_flux(z, p))) < 0.01 * PPM


@pytest.mark.parametrize(("p", "u1", "u2"), [(0.1, 0.4, 0.25), (0.25, 0.9, 0.0), (0.05, 0.0, 0.5)])
def test_limb_darkened_flux_matches_a_brute_force_radial_sum(p, u1, u2):
    """Against a midpoint sum over 400 000 annuli (an independent, slow integral): < 0.01 ppm."""
    r = (np.arange(400_000) + 0.5) / 400_000
    z = np.concatenate([np.linspace(0, 1 + p, 12), [1 - p + 1e-6, 1 + p - 1e-6, p + 1e-6]])
    brute = []
    for zz in z:
        kappa = np.where(r <= p - zz, np.pi, np.arccos(np.clip((r**2 + zz**2 - p**2) / (2 * r * max(zz, 1e-300)),
                                                                -1, 1)))
        brute.append(1 - np.mean(transit.intensity(r, u1, u2) * 2 * r * kappa) / (np.pi * (1 - u1 / 3 - u2 / 6)))
    assert np.max(np.abs(transit.occulted_flux(z, p, u1, u2) - np.array(brute))) < 0.01 * PPM


def test_a_small_planet_blocks_the_local_intensity():
    """p -> 0: 1 - F = p^2 I(z) / <I>, <I> = 1 - u1/3 - u2/6 (Mandel & Agol 2002 sec. 5)."""
    p, u1, u2 = 1e-3, 0.45, 0.2
    z = np.linspace(0, 0.95, 20)
    small = p**2 * transit.intensity(z, u1, u2) / (1 - u1 / 3 - u2 / 6)
    np.testing.assert_allclose(1 - transit.occulted_flux(z, p, u1, u2), small, rtol=1e-4)


@given(p=st.floats(0.01, 0.5), u1=st.floats(0, 1), u2=st.floats(-0.5, 1))
def test_the_flux_rises_from_centre_to_last_contact(p, u1, u2):
    """A limb-darkened star is brightest at its centre, so moving the planet outwards never
    dims the star; beyond last contact the flux is exactly 1."""
    if not (u1 + u2 <= 1 and u1 + 2 * u2 >= 0):
        u2 = min(max(u2, -u1 / 2), 1 - u1)
    z = np.linspace(0, 1 + p, 400)
    flux = transit.occulted_flux(z, p, u1, u2)
    assert np.all(np.diff(flux) >= -1e-12)
    assert np.all(transit.occulted_flux(1 + p + np.array([1e-9, 0.1, 3.0]), p, u1, u2) == 1)


def test_the_orbit_puts_the_planet_in_front_at_t0_and_behind_half_a_period_later():
    t = transit.Transit(t0_hours=1.0, period_days=2.0, a_rs=8.0, inclination_deg=90.0, u1=0.0, u2=0.0, rp_rs=0.1)
    assert t.separation(3600.0) == pytest.approx(0.0, abs=1e-12)
    assert t.flux(3600.0, 7.5) == pytest.approx(0.99, abs=1e-12)  # uniform disc fully in front: 1 - p^2
    assert t.flux(3600.0 + 86400.0, 7.5) == 1.0  # behind the star: no eclipse modelled
    slope = replace(t, rp_rs_slope_per_um=0.01)
    assert slope.flux(3600.0, 10.5) == pytest.approx(1 - 0.13**2, abs=1e-12)


def test_bad_transit_parameters_are_named():
    good = {"t0_hours": 1.0, "period_days": 2.0, "a_rs": 8.0, "inclination_deg": 89.0, "u1": 0.1, "u2": 0.1,
            "rp_rs": 0.1}
    for key, value in (("period_days", 0.0), ("a_rs", 0.9), ("inclination_deg", 91.0), ("u1", -0.1), ("u2", 0.95),
                       ("rp_rs", 0.6)):
        with pytest.raises(ValueError, match=key):
            transit.Transit(**{**good, key: value})
    with pytest.raises(ValueError, match="rp_rs"):  # the slope drives the radius ratio negative at 14 um
        transit.Transit(**good, rp_rs_slope_per_um=-0.02)


def test_settling_is_one_minus_a_decaying_exponential_and_one_when_off():
    on = DetectorEffects(settling=True, settling_amplitude=0.01, settling_tau_s=100.0)
    assert response(np.array([0.0, 100.0]), on) == pytest.approx([0.99, 1 - 0.01 / np.e])
    assert np.all(response(np.array([0.0, 100.0]), DetectorEffects()) == 1)
    with pytest.raises(ValueError, match="settling_tau_s"):
        DetectorEffects(settling_tau_s=0.0)


def _tso(tmp_path, name, effects, transit_=None, tso=True, nints=24, ngroups=4, background=0.0):
    obs = LrsObservation(mode="lrs_slitless", ngroups=ngroups, nints=nints, tso=tso)
    return simulate(Scene((SpectralSource(STAR),), background_mjy_sr=background, transit=transit_), obs, tmp_path,
                    name=name, seed=3, effects=effects, references=ReferenceOptions(kind="perfect"))


def test_noise_free_slopes_follow_the_true_light_curve_times_settling(tmp_path):
    """Noise-free, a transit and settling: each row's slope in each integration is its
    unocculted light times the transit at the row's true wavelength times settling, taken
    at the group mid-times and weighted as a least-squares slope weights its groups, to
    float32 rounding; summed over the white-light rows it is the truth's LIGHTCURVE
    white x settling (at mid-integration: to the light curve's curvature within an
    integration, 1e-4 on this 4-s ingress)."""
    effects = Effects.noise_free()
    effects = replace(effects, detector=replace(effects.detector, settling=True, settling_tau_s=30.0))
    readout = LrsObservation(ngroups=4, nints=24).readout
    # a fast orbit: contacts at 8.7, 12.5, 37.5, 41.3 s, so the 19-s exposure holds the ingress
    planet = transit.Transit(t0_hours=25 / 3600, period_days=0.002, a_rs=2.0, inclination_deg=90.0, u1=0.3, u2=0.2,
                             rp_rs=0.12, rp_rs_slope_per_um=0.004)
    out = _tso(tmp_path, "tso", effects, planet)
    truth = read_truth(out["truth"])
    curve, depth = truth.table("LIGHTCURVE"), truth.table("DEPTH")
    assert list(curve["integration"]) == list(range(1, 25))
    # out of transit (to rounding), then past second contact
    assert curve["white"][0] == pytest.approx(1, abs=1e-12) and curve["white"][-1] < 0.99
    assert np.all(np.diff(curve["settling"]) > 0) and curve["settling"][-1] < 1
    ramps = dm.RampModel(str(out["uncal"]))
    assert ramps.meta.visit.tsovisit and ramps.meta.exposure.type == "MIR_LRS-SLITLESS"
    np.testing.assert_allclose(ramps.int_times["int_mid_MJD_UTC"], curve["time_mjd"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.diff(ramps.int_times["int_start_MJD_UTC"]) * 86400,
                               5 * readout.frame_time, rtol=0, atol=1e-5)  # 4 groups and the reset; MJD rounding

    k = np.arange(4) - 1.5
    c = k / np.sum(k**2)
    slopes = np.tensordot(ramps.data.astype(float), c, axes=([1], [0])) / ramps.meta.exposure.group_time
    slopes *= truth.header["GAIN"]  # e-/s per pixel per integration
    weights = np.cumsum(c[::-1])[::-1]  # read k's charge holds groups j <= k: group j weighs sum_{k>=j} c_k
    still = truth.image("ILLUM").astype(float) * (truth.image("BADPIX") == 0)
    lam = truth.image("WAVELENGTH")[:, 0]
    lo, hi = lrs_facts.WHITE_LIGHT_RANGE_UM
    rows = (lam >= lo) & (lam <= hi)
    groups_s = readclock.group_mid_times(readout)  # (nints, ngroups)
    model = planet.flux(groups_s[..., None], lam[rows]) * response(groups_s, effects.detector)[..., None]
    expected_rows = np.einsum("j,ijr->ir", weights, model)
    per_row = slopes[:, rows].sum(axis=2) / still[rows].sum(axis=1)
    bright = still[rows].sum(axis=1) > 0.2 * still[rows].sum(axis=1).max()
    np.testing.assert_allclose(per_row[:, bright], expected_rows[:, bright], rtol=2e-6)
    white = slopes[:, rows].sum(axis=(1, 2)) / still[rows].sum()
    np.testing.assert_allclose(white, expected_rows @ still[rows].sum(axis=1) / still[rows].sum(), rtol=2e-6)
    np.testing.assert_allclose(white, curve["white"] * curve["settling"], rtol=1e-4)

    np.testing.assert_allclose(depth["depth"], planet.radius_ratio(depth["wavelength_um"]) ** 2, rtol=1e-12)
    assert np.all(np.diff(depth["wavelength_um"]) > 0)
    for key, value in (("RP_RS", 0.12), ("A_RS", 2.0), ("U1", 0.3), ("PERIOD_D", 0.002)):
        assert truth.header[key] == value
    assert truth.header["T0_MJD"] == pytest.approx(truth.header["EPOCH"] + 25 / 86400, abs=1e-10)


def test_a_tso_without_transit_or_settling_is_the_plain_exposure_bit_for_bit(tmp_path):
    """Every effect on (noise, EMI, cosmic rays): the TSO's ramps and linear signal are the
    plain exposure's; only TSOVISIT and INT_TIMES tell them apart, and its light curve is flat."""
    effects = Effects()
    plain = _tso(tmp_path, "plain", effects, tso=False, nints=3, ngroups=3, background=5.0)
    series = _tso(tmp_path, "series", effects, tso=True, nints=3, ngroups=3, background=5.0)
    a, b = dm.RampModel(str(plain["uncal"])), dm.RampModel(str(series["uncal"]))
    assert np.array_equal(a.data, b.data)
    assert np.array_equal(read_truth(plain["truth"]).image("LINEAR"), read_truth(series["truth"]).image("LINEAR"))
    assert not a.meta.visit.tsovisit and b.meta.visit.tsovisit and len(b.int_times) == 3
    curve = read_truth(series["truth"]).table("LIGHTCURVE")
    assert np.all(curve["white"] == 1) and np.all(curve["settling"] == 1)


def test_a_transit_needs_a_slitless_time_series(tmp_path):
    planet = transit.Transit(t0_hours=1.0, period_days=2.0, a_rs=8.0, inclination_deg=90.0, u1=0.1, u2=0.1,
                             rp_rs=0.1)
    with pytest.raises(ValueError, match="tso"):
        _tso(tmp_path, "x", Effects.noise_free(), planet, tso=False)
    with pytest.raises(ValueError, match="slitless"):
        LrsObservation(mode="lrs_slit", tso=True)


SUITE = """
[suite]
name = "t"
[[scenario]]
name = "s"
[scenario.observation]
mode = "{mode}"
tso = {tso}
[scenario.scene]
spectral_sources = [{{ spectrum = {{ continuum = {{ kind = "flat", flux_mjy = 1.0 }} }} }}]
[scenario.scene.transit]
{keys}
"""
KEYS = 't0_hours = 0.5\nperiod_days = 1.0\na_rs = 5.0\ninclination_deg = 88.0\nu1 = 0.1\nu2 = 0.1\nrp_rs = 0.1\n'


def _suite(keys=KEYS, mode="lrs_slitless", tso="true"):
    return parse_suite(SUITE.format(mode=mode, tso=tso, keys=keys))


def test_a_scenario_transit_reads_back_and_bad_keys_are_named():
    scenario = _suite(KEYS + "rp_rs_slope_per_um = 0.001\n").scenarios[0]
    assert scenario.scene(0).transit == transit.Transit(0.5, 1.0, 5.0, 88.0, 0.1, 0.1, 0.1, 0.001)
    with pytest.raises(ScenarioError, match=r"scene\.transit: unknown key\(s\) rp_rs_slop\b"):
        _suite(KEYS + "rp_rs_slop = 0.001\n")
    with pytest.raises(ScenarioError, match=r"scene\.transit.*a_rs"):
        _suite(KEYS.replace("a_rs = 5.0\n", ""))
    with pytest.raises(ScenarioError, match=r"scene\.transit.*inclination_deg"):
        _suite(KEYS.replace("88.0", "95.0"))
    with pytest.raises(ScenarioError, match=r"scene\.transit.*tso = true"):
        _suite(tso="false")
    with pytest.raises(ScenarioError, match="slitless"):
        _suite(mode="lrs_slit")
