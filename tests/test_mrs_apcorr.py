"""The MRS APCORR reference (simulator side): its encircled energy, the cube's kernel and the measured table's error.

The calibration side (the correction applied, the Airy fallback, bad files refused) is in
tests/test_mrs_photom.py, on that module's noise-free exposure.
"""
import numpy as np
import pytest

from miri_testbed.instrument import mrs, mrs_dither
from miri_testbed.simulator import ReferenceOptions, mrs_apcorr
from miri_testbed.simulator import mrs as smrs


def _gaussian(sigma, sample, n=201):
    c = (np.arange(n) - (n - 1) / 2) * sample
    image = np.exp(-(c[:, None] ** 2 + c[None, :] ** 2) / (2 * sigma**2))
    return image / image.sum()


def test_the_encircled_share_of_a_gaussian_is_the_analytic_one():
    # E(r) = 1 - exp(-r^2 / 2 sigma^2) within 1e-3 (whole samples inside r: measured 7e-4 at r = sigma)
    # at radii of 20-60 samples, as the extraction's 3 lambda/D is 22 samples of beta_del / 8 in channel 1.
    sample, sigma = 0.01, 0.2
    radii = sigma * np.array([1.0, 2.0, 3.0])
    shares = mrs_apcorr.encircled(_gaussian(sigma, sample, n=401), sample, radii)
    np.testing.assert_allclose(shares, 1 - np.exp(-radii**2 / (2 * sigma**2)), atol=1e-3)


def test_the_cube_kernel_keeps_the_light_and_widens_by_the_box():
    # A box of width w conserves the light and adds w^2 / 12 to the variance (fractional ends included).
    sample, sigma, width = 0.01, 0.05, 0.137
    image = _gaussian(sigma, sample)
    boxed = mrs_apcorr._box(image, width, sample, axis=1)
    c = (np.arange(image.shape[0]) - (image.shape[0] - 1) / 2) * sample
    variance = lambda im: np.sum(im.sum(axis=0) * c**2) / im.sum()  # noqa: E731
    assert boxed.sum() == pytest.approx(1, abs=1e-12)
    assert variance(boxed) - variance(image) == pytest.approx(width**2 / 12, rel=0.02)


def test_the_default_kernels_alpha_smoothing_is_a_gaussian_of_its_sigma_in_alpha_alone(monkeypatch):
    # The table is for the default cube kernel: the image is the drizzle's convolved along alpha (columns) with
    # a Gaussian of CUBE_ALPHA_SIGMA_PIXELS median pixel widths (arcsec -> samples); beta and the light are kept.
    sample = smrs.psf_sample_arcsec("2A")
    node = float(smrs.psf_nodes("2A")[0])
    monkeypatch.setattr(mrs, "CUBE_ALPHA_SIGMA_PIXELS", 0.0)
    plain = mrs_apcorr.cube_psf("2A", node)
    monkeypatch.setattr(mrs, "CUBE_ALPHA_SIGMA_PIXELS", 0.5)
    smooth = mrs_apcorr.cube_psf("2A", node)
    flight = smrs.flight_pixels("2A")
    sigma = 0.5 * float(np.median(flight.alpha_hi - flight.alpha_lo)) / sample
    x = np.arange(-int(6 * sigma), int(6 * sigma) + 1)
    gauss = np.exp(-0.5 * (x / sigma) ** 2)
    expected = np.convolve(plain.sum(axis=0), gauss / gauss.sum(), mode="same")
    np.testing.assert_allclose(smooth.sum(axis=0), expected, atol=1e-3 * expected.max())
    np.testing.assert_allclose(smooth.sum(axis=1), plain.sum(axis=1), atol=1e-3 * plain.sum(axis=1).max())
    assert 0 < plain.sum() - smooth.sum() < 1e-3  # only what the Gaussian spreads off the grid's edges


def test_the_table_is_for_the_default_cube_kernel():
    # The simulator cannot read calibration's default (import rule): both read instrument.mrs. The default
    # cube_build's alpha Gaussian, over the median pixel width, is the one the APCORR's cube_psf applies.
    from miri_testbed.calibration import cube_build, registry

    n, width = 8, 0.2
    alpha_lo = np.arange(n) * width
    samples = cube_build.Samples("1A", alpha_lo, alpha_lo + width, np.zeros(n), np.full(n, 0.2), np.full(n, 5.0),
                                 np.full(n, 5.001), np.ones(n), np.zeros(n), np.ones(n, bool))
    grid = cube_build.grid_for(samples)
    cube = registry.ALGORITHMS["cube_build"][registry.DEFAULTS["cube_build"]](samples, grid)
    assert cube.alpha_smoothing / width == pytest.approx(mrs.CUBE_ALPHA_SIGMA_PIXELS, abs=1e-12)


def test_the_measured_table_is_the_perfect_one_with_a_smooth_error_of_its_size():
    options = ReferenceOptions(apcorr_error=0.003)
    target = mrs_dither.target_v2v3(1)
    perfect = mrs_apcorr.apcorr_model(("4C",), "34", "LONG", ReferenceOptions(kind="perfect"), None,
                                      target).apcorr_table
    measured = mrs_apcorr.apcorr_model(("4C",), "34", "LONG", options, np.random.default_rng(4), target).apcorr_table
    wavelength = np.asarray(perfect.wavelength)
    assert np.all(np.diff(wavelength) > 0) and np.array_equal(wavelength, smrs.psf_nodes("4C").astype(np.float32))
    ld = mrs.lambda_over_d(wavelength)
    np.testing.assert_allclose(perfect.radius, np.outer(mrs_apcorr.RADII_LD, ld), rtol=1e-6)
    ratio = np.asarray(measured.apcorr) / np.asarray(perfect.apcorr)
    assert np.allclose(ratio, ratio[0], rtol=1e-6)  # one error per wavelength, the same at every radius
    assert 0 < np.max(np.abs(ratio - 1)) < 5 * 2 * options.apcorr_error
    assert np.all(np.asarray(perfect.apcorr) > 1) and np.all(np.asarray(perfect.apcorr_err) == 0)
    np.testing.assert_allclose(measured.apcorr_err, np.asarray(measured.apcorr) * options.apcorr_error, rtol=1e-6)


def test_a_round_psfs_mean_over_a_cut_annulus_is_the_whole_annulus_mean():
    # The covered part of the annulus stands for the whole for a round PSF (the APCORR's term then does not
    # depend on the cut); an empty cover falls back to the whole annulus.
    sample, sigma = 0.02, 0.8
    image = _gaussian(sigma, sample, n=601)
    c = (np.arange(601) - 300) * sample
    radii = np.array([2.0, 2.6])
    whole = (np.exp(-radii[0] ** 2 / (2 * sigma**2)) - np.exp(-radii[1] ** 2 / (2 * sigma**2))) \
        / (np.pi * (radii[1] ** 2 - radii[0] ** 2))
    corner = (c[None, :] > 1.0) & (c[:, None] > -0.5)
    for covered in (np.ones(image.shape, bool), corner, np.zeros(image.shape, bool)):
        assert mrs_apcorr.annulus_density(image, sample, radii, covered) == pytest.approx(whole, rel=0.02)


def test_the_field_mask_is_the_slices_strips_and_alpha_extents():
    geometry = mrs.band("4C")
    s = geometry.slices[len(geometry.slices) // 2]
    centre = geometry.beta[len(geometry.slices) // 2]
    lo, hi = geometry.alpha_limits(s)
    assert mrs_apcorr.field_mask("4C", (lo + hi) / 2, centre)
    assert not mrs_apcorr.field_mask("4C", hi + 0.05, centre)
    assert not mrs_apcorr.field_mask("4C", 0.0, max(geometry.beta) + geometry.beta_del)


def _noise_free_flux_ratios(tmp_path, detector, setting, positions, seed, perturbed, sky_mjy_sr):
    """``(band, alpha, beta, x1d / truth)`` of a flat 50 mJy source at each position: simulated noise-free with
    perfect references, spec2 on the exact rate (the ramp's end-to-end slope), the median over usable planes."""
    from dataclasses import replace

    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.calibration import mrs_spec2, registry
    from miri_testbed.calibration.detector1 import Detector1
    from miri_testbed.calibration.inputs import open_uncal
    from miri_testbed.calibration.products import derived
    from miri_testbed.calibration.steps import StepLog
    from miri_testbed.simulator import Effects, MrsEffects, MrsObservation, Scene, SpectralSource, simulate

    effects = replace(Effects.noise_free(), mrs=MrsEffects(geometry_perturbation=perturbed))
    observation = MrsObservation(detector=detector, band=setting, ngroups=3)
    for n, (a, b) in enumerate(positions):
        scene = Scene((SpectralSource({"continuum": {"kind": "flat", "flux_mjy": 50.0}}, a, b),),
                      background_mjy_sr=sky_mjy_sr)
        sim = simulate(scene, observation, tmp_path / f"p{n}", seed=seed, effects=effects,
                       references=ReferenceOptions(kind="perfect"))
        exposure = open_uncal(sim["uncal"])
        ramp = np.asarray(exposure.data[0], float)
        rate = (ramp[-1] - ramp[0]) / ((ramp.shape[0] - 1) * exposure.meta.exposure.group_time)  # exact, noise-free
        d1 = Detector1(rate, np.abs(rate) / 100, np.zeros_like(rate), np.zeros(rate.shape, np.uint32), None,
                       derived(dm.ImageModel, exposure, data=rate.astype(np.float32)), None)
        for spec in mrs_spec2.run(StepLog(), exposure, d1, sim["refs"], registry.resolve())["x1d"].spec:
            table = np.array(spec.spec_table)
            yield spec.name, a, b, np.median(table["FLUX"][table["DQ"] == 0]) / 0.05


@pytest.mark.slow
def test_a_noise_free_channel_4_source_is_within_half_a_percent_across_the_field(tmp_path):
    # The field cuts channel 4's annulus and the PSF is not round there: the APCORR takes the covered part's
    # mean for a source on the target.  A noise-free source within 0.4" of the target (the pointing's 0.15" rms,
    # and more) on a 5 MJy/sr sky gives x1d / truth within 0.5 % in 3C and 4C: before, 4C was 0.4-0.8 % low
    # with one source 0.9943 (docs/mrs.md).  ~70 s: the slow stage.
    for band, a, b, ratio in _noise_free_flux_ratios(tmp_path, "MIRIFULONG", "LONG", ((0.0, 0.0), (0.4, 0.3),
                                                                                   (-0.3, -0.35)), 11, True, 5.0):
        assert abs(ratio - 1) < 0.005, (band, a, b, ratio)


def test_the_extractions_aperture_sum_is_on_average_the_light_of_the_image_boxed_by_the_spaxel_twice():
    # The extraction weighs each spaxel (the mean of the light over it) by its share inside the circle: one value
    # over the spaxel.  Averaged over where the source sits in the spaxel grid, its aperture sum is the light
    # within r of the image convolved with the spaxel's box twice (the APCORR's cube_psf), not once (the table
    # before: the cube's light within 3 lambda/D 0.1-0.3 % under it in 1A / 2A, docs/mrs.md).
    from scipy.special import erf

    from miri_testbed.calibration import cube_build, mrs_extract

    sigma, spaxel, radius, sample = 0.2, 0.17, 0.5, 0.005
    axis = cube_build.Axis(-20 * spaxel, spaxel, 40)
    grid = cube_build.CubeGrid(axis, axis, cube_build.Axis(5.0, 0.001, 1))
    edges = axis.edges
    sums = []
    for u in (np.arange(6) + 0.5) / 6 * spaxel:
        for v in (np.arange(6) + 0.5) / 6 * spaxel:
            along = np.diff(erf((edges - u) / (np.sqrt(2) * sigma))) / 2  # the Gaussian's share in each spaxel
            across = np.diff(erf((edges - v) / (np.sqrt(2) * sigma))) / 2
            shares = mrs_extract._shares(grid, (u, v), np.array([radius]))[0]
            sums.append(np.sum(shares * np.outer(across, along)))
    image = _gaussian(sigma, sample, n=601)
    once = mrs_apcorr._box(mrs_apcorr._box(image, spaxel, sample, 0), spaxel, sample, 1)
    twice = mrs_apcorr._box(mrs_apcorr._box(once, spaxel, sample, 0), spaxel, sample, 1)
    expected, one_box = (mrs_apcorr.encircled(im, sample, [radius])[0] for im in (twice, once))
    assert np.mean(sums) == pytest.approx(expected, abs=1e-3)
    assert abs(np.mean(sums) - one_box) > 5e-3


@pytest.mark.slow
def test_a_noise_free_channel_1_2_source_is_within_issue_16s_tenth_of_a_percent_in_2a(tmp_path):
    # The foreign set's source position and one a half slice of 1A further across (flight geometry, flight files
    # as references, a flat 50 mJy source): x1d / truth within 0.1 % in 2A (issue 16's continuum target) and
    # 0.2 % in 1A (its undersampled slices leave a slice-phase dependence, measured 0.01-0.16 %).  With the
    # spaxel's box once in the table, 2A was 0.9984 / 0.9982 and 1A 0.9974 / 0.9990 here (docs/mrs.md).  ~60 s.
    for band, a, b, ratio in _noise_free_flux_ratios(tmp_path, "MIRIFUSHORT", "SHORT", ((0.1, 0.05), (0.1, 0.19)),
                                                     1, False, 0.0):
        assert abs(ratio - 1) < {"1A": 0.002, "2A": 0.001}[band], (band, a, b, ratio)
