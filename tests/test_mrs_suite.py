"""The MRS in the scenario suite: scenarios of mode 'mrs', the built-in mrs suite; the line scorer's pulls and the
extracted spectrum's pulls (the scorers on a simulated exposure: tests/test_mrs_calibration.py, on its run)."""
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from miri_testbed.instrument import mrs
from miri_testbed.instrument.optics import T0_MJD
from miri_testbed.simulator import MrsEffects, MrsObservation, Scene, SpectralSource
from miri_testbed.validation import lrs_score, mrs_score
from miri_testbed.validation.scenarios import ScenarioError, load_suite, parse_scenario, scenario_toml
from miri_testbed.validation.targets import scenario_facts

SPECTRUM = ('{ continuum = { kind = "flat", flux_mjy = 20.0 }, '
            'lines = [{ kind = "emission", centre_um = 5.3, flux_w_m2 = 5e-17 }] }')


def _scenario(observation, scene="", effects=""):
    text = f'[[scenario]]\nname = "s"\n[scenario.observation]\n{observation}\n[scenario.scene]\n{scene}\n{effects}'
    return parse_scenario(tomllib.loads(text)["scenario"][0])


def test_mrs_scenarios_build_mrs_observations_spectral_sources_and_effects():
    s = _scenario('mode = "mrs"\ndetector = "MIRIFULONG"\nband = "MEDIUM"\nngroups = 5',
                  f"background_mjy_sr = 2.0\nspectral_sources = [{{ spectrum = {SPECTRUM}, along_slit_arcsec = 0.1, "
                  "across_slit_arcsec = -0.2 }]",
                  "[scenario.effects.mrs]\nwavelength_kms = 1.5")
    assert s.observation == MrsObservation(detector="MIRIFULONG", band="MEDIUM", ngroups=5)
    assert s.effects.mrs == MrsEffects(wavelength_kms=1.5) and s.sources == () and s.random_stars is None
    assert s.scene(3) == Scene((SpectralSource(tomllib.loads(f"x = {SPECTRUM}")["x"], 0.1, -0.2),), 2.0)
    assert parse_scenario(tomllib.loads(scenario_toml(s))["scenario"][0]) == s  # mode written though not a field
    facts = scenario_facts([s])
    assert list(facts["mode"]) == ["mrs"] and list(facts["lines"]) == [1] and list(facts["filter"]) == [""]


@pytest.mark.parametrize(("observation", "scene", "effects", "message"), [
    ('mode = "mrs"\nfilter = "F770W"', "", "",
     "scenario 's'.observation: unknown key(s) filter; known: background_exposure, band, detector, dither_channel"),
    ('mode = "mrs"\nband = "D"', "", "", "scenario 's'.observation: MRS band (grating setting) must be one of"),
    ('mode = "mrs"\nepoch = 60816.0', "", "",
     "scenario 's'.observation: unknown key(s) epoch; known: background_exposure, band"),
    ('mode = "mrs"\ndetector = "MIRIMAGE"', "", "", "MRS detector must be MIRIFUSHORT or MIRIFULONG"),
    ('mode = "mrs"', "sources = [{ ra_deg = 80.0, dec_deg = -69.5, flux_mjy = 1.0 }]", "",
     "scenario 's'.scene: unknown key(s) sources; known for mode 'mrs': background_mjy_sr, spectral_sources"),
    ('mode = "mrs"', "transit = { t0_hours = 1.0 }", "", "scene: unknown key(s) transit; known for mode 'mrs'"),
    ('mode = "mrs"', f"spectral_sources = [{{ spectrum = {SPECTRUM}, alpha = 0.1 }}]", "",
     "scenario 's'.scene.spectral_sources[0]: unknown key(s) alpha; known: across_slit_arcsec"),
    ('mode = "mrs"', "", "[scenario.effects]\nwavelength_kms = 1.0",
     "scenario 's'.effects: unknown key 'wavelength_kms'; effects are grouped: put wavelength_kms under "
     "[scenario 's'.effects.mrs]"),
    ('mode = "mrs"', "", "[scenario.effects.mrs]\ntrace_perturbation = false",
     "scenario 's'.effects.mrs: unknown key(s) trace_perturbation; known: cross_artifact, "),
    ('mode = "mrs"', "", "[scenario.effects.mrs]\nspatial_mas = -1.0",
     "scenario 's'.effects.mrs: MrsEffects.spatial_mas must be >= 0"),
])
def test_mrs_scenario_errors_name_the_key(observation, scene, effects, message):
    with pytest.raises(ScenarioError) as err:
        _scenario(observation, scene, effects)
    assert message in str(err.value)


def _wavelength_map(lam0, extent, rows):
    """A truth WAVELENGTH of a few columns whose pixels are ``extent`` um long in wavelength along each column."""
    return np.repeat((lam0 + extent * (np.arange(rows) - 2.0))[:, None], 3, axis=1)


def test_a_line_anywhere_in_a_band_is_found_within_its_error():
    """The MRS line scorer's pulls: lines drawn anywhere in a 1A-like spectrum (planes of 0.87 nm), S/N ~20-300,
    drizzled from pixels 0.9-1.1 planes long (a box, as cube_build spreads them), on a flat continuum with Gaussian
    noise of the stated error: (fitted - true) / error has mean 0 and width 1, for the centre and the line's flux."""
    rng = np.random.default_rng(16)
    step = 8.71e-4
    lam = 4.89 + step * np.arange(990)
    u = np.arange(lam.size)
    continuum, error = 6.5e4, 1.5e3  # DN/s/um, per plane (the seed-1 cell's 1A: 6.5e4 and 1.6e3)
    centre_pulls, flux_pulls = [], []
    for _ in range(200):
        centre, flux_w_m2 = rng.uniform(lam[20], lam[-20]), 10 ** rng.uniform(-17.8, -16.8)
        line = dict(centre_um=centre, fwhm_um=0.0, flux_w_m2=flux_w_m2, continuum_mjy=20.0)
        width = lrs_score.equivalent_width_um(flux_w_m2, 20.0, centre)  # um: the line's DN/s over the continuum's /um
        box = rng.uniform(0.9, 1.1)
        sigma = np.sqrt(mrs_score.expected_sigma_planes(centre, 0.0, step) ** 2 - mrs_score.BOX_VARIANCE)
        area = width / step
        flux = continuum * (1 + area * lrs_score.row_fractions(u, (centre - lam[0]) / step, sigma, box))
        spectrum = lrs_score.Spectrum(0, lam, flux + rng.normal(0.0, error, lam.size), np.full(lam.size, error),
                                      np.ones(lam.size, bool), "DN/s/um")
        snr, fit, wavelength, wavelength_error = mrs_score.score_line(
            spectrum, line, [], _wavelength_map(lam[0], box * step, round(lam.size / box) + 8))
        assert fit is not None and mrs_score.MIN_EXPECTED_SNR < snr < 400
        centre_pulls.append((wavelength - centre) / wavelength_error)
        flux_pulls.append((fit.flux - continuum * area) / fit.flux_err)
    for pulls in (centre_pulls, flux_pulls):
        assert abs(np.mean(pulls)) < 0.2 and 0.85 < np.std(pulls) < 1.15


def _drizzled(u, centre, sigma, box, smooth, phases=256):
    """A unit-area Gaussian line (planes) as a drizzle makes it, averaged over the pixels' phases on the planes.

    Detector pixels ``box`` planes long each integrate the line; each pixel's light is spread evenly over its
    extent, convolved with a Gaussian of ``smooth`` planes (the default kernel's in lambda), and the planes
    ``u +/- 1/2`` cut it; the mean over ``phases`` evenly spaced pixel phases.
    """
    def spread(t):  # int Phi(t / smooth) dt: the overlap of a box with a plane, smoothed
        if smooth == 0:
            return np.maximum(t, 0.0)
        z = t / smooth
        return smooth * (z * ndtr(z) + np.exp(-z * z / 2) / np.sqrt(2 * np.pi))

    lo_plane, hi_plane = u[:, None] - 0.5, u[:, None] + 0.5
    out = np.zeros(u.size)
    for k in range(phases):
        edges = np.arange(u[0] - 6 * box, u[-1] + 6 * box, box) + (k + 0.5) / phases * box
        light = ndtr((edges[1:] - centre) / sigma) - ndtr((edges[:-1] - centre) / sigma)
        lo, hi = edges[None, :-1], edges[None, 1:]
        weight = spread(hi_plane - lo) - spread(hi_plane - hi) - spread(lo_plane - lo) + spread(lo_plane - hi)
        out += weight @ light / box
    return out / phases


@settings(max_examples=30, deadline=None)
@given(sigma=st.floats(0.5, 1.2), box=st.floats(0.85, 1.15), phase=st.floats(-0.5, 0.5),
       slope=st.floats(-0.003, 0.003), smooth=st.sampled_from([0.0, 0.5]))
def test_a_drizzled_line_s_flux_is_recovered_exactly_without_noise(sigma, box, phase, slope, smooth):
    """A Gaussian line drizzled from pixels ``box`` planes long (each pixel integrates it, its light spread evenly
    over the pixel's extent, with the default kernel's 0.5-plane Gaussian or none, averaged over the pixels'
    phases: :func:`_drizzled`), on a continuum sloping by up to 0.3 % a plane (a steep source), noise-free: the
    scorer's fit (the Gaussian convolved with the pixel's box twice, whose length it takes from the truth's
    WAVELENGTH, then integrated over the plane) gives its flux and centre back to 1e-5, for any width, box, phase
    and smoothing.  With the box once (until session 28) the flux is 1e-4 to 1e-3 high on these profiles; a plain
    plane-integrated Gaussian 0.03-0.18 % (docs/mrs.md 'Line fluxes'): the size of issue 16's 0.1 % target."""
    step = 8.71e-4
    u = np.arange(-8, 9)  # the scorer's window: +/- max(6, 5 sigma) planes
    area = 0.4
    flux = (1 + slope * u) + area * _drizzled(u.astype(float), phase, sigma, box, smooth)
    fit = lrs_score.fit_line(u.astype(float), flux, np.full(u.size, 1e-4), 0.0, np.hypot(sigma, smooth), 8.0,
                             box=box)
    assert fit is not None
    assert abs(fit.flux / area - 1) < 1e-5 and abs(fit.centre - phase) < 1e-5
    assert mrs_score.pixel_extent_um(_wavelength_map(5.2, box * step, 9), 5.2, step) == pytest.approx(box * step)


def test_the_mrs_suite_covers_all_12_bands_at_two_epochs_years_apart_with_lines_in_every_band():
    suite = load_suite("mrs")
    bands, epochs = {}, {}
    for s in suite.scenarios:
        o = s.observation
        for band in (f"{c}{mrs.SETTINGS[o.band]}" for c, d in mrs.DETECTOR_OF_CHANNEL.items() if d == o.detector):
            epochs.setdefault(band, set()).add(o.epoch_mjd)
            lo, hi = mrs.wavelength_ranges()[band]
            lines = [ln["centre_um"] for ln in s.spectral_sources[0].spectrum["lines"] if lo < ln["centre_um"] < hi]
            bands.setdefault(band, []).append(len(lines))
    assert sorted(bands) == sorted(mrs.wavelength_ranges())
    assert all(min(n) >= 3 for n in bands.values())
    assert all(len(e) >= 2 and min(e) > T0_MJD and (max(e) - T0_MJD) / 365.25 > 2.99 for e in epochs.values())


def _band(rng, n=900, snr=40.0, smooth=(1.003, 0.003)):
    """A band's line-free planes: true continuum 20 mJy, FLUX = truth x a grey and cubic error + noise of FLUX_ERROR."""
    lam = np.linspace(4.9, 5.7, n)
    x = np.linspace(-1, 1, n)
    truth = np.full(n, 20.0)
    error = 1e-3 * truth / snr
    flux = 1e-3 * truth * smooth[0] * (1 + smooth[1] * (x**3 - 0.5 * x)) + rng.normal(0.0, error)
    spectrum = lrs_score.Spectrum(0, lam, flux, error, np.ones(n, bool), "Jy")
    return spectrum, np.ones(n, bool), truth


def _pulls(spectrum, scored, truth):
    return {r["metric"]: r["value"] for r in mrs_score.pull_rows("1A", spectrum, scored, truth)}


def test_extracted_spectrum_pulls_have_unit_width_whatever_the_smooth_reference_error_and_count_an_outlier():
    """MRS-PULL-1's metric on synthetic spectra with known errors: width 1 at low and at high S/N per plane (where
    the grey + cubic 0.3 % errors are 30 sigma and only the smooth fit keeps them out), an injected 10-sigma plane
    counted as the one outlier without moving the width, neighbouring planes' correlation measured, no noise: 0."""
    rng = np.random.default_rng(16)
    widths = []
    for snr in (20.0, 40.0, 1e4):
        for _ in range(8):
            spectrum, scored, truth = _band(rng, snr=snr)
            p = _pulls(spectrum, scored, truth)
            assert p["mrs_flux_pull_outlier_fraction"] == 0 and p["mrs_flux_pull_n"] == 900
            widths.append((p["mrs_flux_pull_rms"], p["mrs_flux_pull_std"]))
    rms, mad = np.array(widths).T
    assert abs(np.mean(rms) - 1) < 0.02 and max(abs(rms - 1)) < 0.1  # 0.025 each
    assert abs(np.mean(mad) - 1) < 0.03 and max(abs(mad - 1)) < 0.15  # 0.04 each
    spectrum, scored, truth = _band(rng)
    clean = _pulls(spectrum, scored, truth)
    spectrum.flux[450] += 10 * spectrum.error[450]
    hit = _pulls(spectrum, scored, truth)
    assert hit["mrs_flux_pull_outlier_fraction"] == 1 / 900
    assert all(abs(hit[k] - clean[k]) < 0.01 for k in ("mrs_flux_pull_rms", "mrs_flux_pull_std"))
    spectrum, scored, truth = _band(rng, smooth=(1.0, 0.0))
    noise = rng.normal(0.0, spectrum.error[0], 901)
    spectrum.flux[:] = 1e-3 * truth + (noise[:-1] + noise[1:]) / 2  # each plane shares its noise with the next
    assert abs(_pulls(spectrum, scored, truth)["mrs_flux_pull_lag1"] - 0.5) < 0.1
    spectrum.flux[:] = 1e-3 * truth * 1.01
    assert _pulls(spectrum, scored, truth)["mrs_flux_pull_rms"] < 1e-9
    assert not _pulls(spectrum, np.arange(900) < 8, truth[:8])  # too few planes for the fit


def test_the_flux_ratio_s_noise_is_the_spread_of_its_median_over_noise_draws():
    """``mrs_flux_ratio_error`` against 4000 draws of a band's median: errors rising 4x across the band, planes
    with gaps (lines left out), white noise and noise correlated over two planes as the drizzle's (MA(2), lag
    correlations 0.6 and 0.2): the predicted spread within 5 % of the draws' (their own scatter ~1.1 %); one
    error on white planes: ``sqrt(pi / 2) e / sqrt(n)``."""
    rng = np.random.default_rng(28)
    n_rows = 700
    planes = np.flatnonzero(np.arange(n_rows) % 100 >= 6)
    error = np.linspace(0.01, 0.04, n_rows)
    spreads = []
    for a, b in ((0.0, 0.0), (0.8, 0.3)):
        norm = 1 + a * a + b * b
        correlation = np.tile([(a + a * b) / norm, b / norm], (n_rows, 1))
        w = rng.normal(size=(4000, n_rows + 2))
        ratio = 1 + error * (w[:, :-2] + a * w[:, 1:-1] + b * w[:, 2:]) / np.sqrt(norm)
        drawn = np.median(ratio[:, planes], axis=1).std()
        predicted = mrs_score.median_error(error[planes], planes, None if a == 0 else correlation)
        assert predicted == pytest.approx(drawn, rel=0.05)
        spreads.append(drawn)
    assert spreads[1] > 1.3 * spreads[0]  # the correlation matters: white errors would not do
    assert mrs_score.median_error(np.full(400, 0.02), np.arange(400)) == pytest.approx(np.sqrt(np.pi / 2) * 0.001)
