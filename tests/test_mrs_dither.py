"""Dithered MRS exposures combined into one cube (calibration.mrs_spec3, mrs_pointing, cube_build).

The exposures' keywords are the simulator's (APERNAME, XOFFSET, YOFFSET: simulator.mrs.describe_exposure)
and the geometry is the flight one (the shipped DISTORTION / SPECWCS / WAVELENGTHRANGE as the references),
so a source's true position in each exposure is the simulator's (simulator.mrs.source_positions, test side
only).  Its light on each pixel is a Gaussian integrated exactly over the pixel's box (not the simulator's
PSF: rendering four exposures through it takes 15 s), so the properties are those of the combination alone.
"""
from dataclasses import fields, replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from scipy.special import ndtr
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError, cube_build, mrs_extract, mrs_pointing, mrs_spec3, mrs_wcs
from miri_testbed.instrument import mrs
from miri_testbed.instrument.detector import FULL_NX, FULL_NY
from miri_testbed.simulator import MrsObservation, Scene, SpectralSource
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator.exposure import PER_EXPOSURE, STREAMS, dither_index, rng_streams
from miri_testbed.validation.scenarios import load_suite

from helpers import block_pairs

FLIGHT = Path(mrs.__file__).parent / "data" / "mrs"
SHAPE = (FULL_NY, FULL_NX)


@pytest.fixture(scope="module")
def refs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mrs_flight_refs")
    for path in FLIGHT.glob("*.asdf"):
        (folder / path.name).symlink_to(path)
    return folder


def _exposure(detector, setting, points, position, channel=1, orientation="negative"):
    """A rate-like model with the simulator's MRS keywords, and the observation."""
    observation = MrsObservation(detector=detector, band=setting, dither_points=points, dither_position=position,
                                 dither_channel=channel, dither_orientation=orientation)
    model = dm.ImageModel((1, 1))
    meta = model.meta
    meta.instrument.name, meta.instrument.detector, meta.subarray.name = "MIRI", detector, "FULL"
    meta.exposure.readpatt, meta.exposure.ngroups, meta.exposure.start_time = "FASTR1", 10, 60400.0
    smrs.describe_exposure(meta, observation)
    return model, observation


@cache
def _pixels(refs, detector, setting, band):
    """The band's pixels in the middle eighth of its wavelengths (the drizzle of four exposures takes 1-2 s
    instead of 10 on the busy machine; the properties do not depend on how many planes)."""
    model, _ = _exposure(detector, setting, 0, 1)
    pixels = mrs_wcs.band_pixels(mrs_wcs.read_references(refs, model).bands[band], SHAPE)
    lo, hi = np.percentile(pixels.wavelength, [50 - 100 / 16, 50 + 100 / 16])
    keep = (pixels.lam_lo >= lo) & (pixels.lam_hi <= hi)
    return replace(pixels, **{f.name: getattr(pixels, f.name)[keep] for f in fields(pixels) if f.name != "band"})


def _render(pixels, alpha, beta, sigma, spectrum):
    """DN/s of a Gaussian of ``sigma`` (arcsec, per pixel) at ``(alpha, beta)`` over each pixel's box, x spectrum."""
    half = pixels.band.beta_del / 2
    across = ndtr((pixels.alpha_hi - alpha) / sigma) - ndtr((pixels.alpha_lo - alpha) / sigma)
    along = ndtr((pixels.beta + half - beta) / sigma) - ndtr((pixels.beta - half - beta) / sigma)
    rate = np.full(SHAPE, np.nan)
    rate[pixels.y, pixels.x] = spectrum(pixels.wavelength) * (pixels.lam_hi - pixels.lam_lo) * across * along
    return rate


def _dither_set(refs, band, points, channel, orientation, offset, sigma, spectrum):
    """Each exposure's (samples moved into the first one's frame, samples in its own frame, rate, true alpha/beta)."""
    detector, setting = mrs.DETECTOR_OF_CHANNEL[int(band[0])], {v: k for k, v in mrs.SETTINGS.items()}[band[1]]
    pixels = _pixels(refs, detector, setting, band)
    scene = Scene((SpectralSource({"continuum": {"kind": "flat", "flux_mjy": 1.0}}, *offset),))
    exposures = [_exposure(detector, setting, points, k, channel, orientation) for k in range(1, points + 1)]
    pointings = mrs_spec3.check([m for m, _ in exposures], [f"dither{k}" for k in range(1, points + 1)])
    out = []
    for (_, observation), pointing in zip(exposures, pointings, strict=True):
        alpha, beta = mrs.band(band).from_v2v3(*smrs.source_positions(scene, observation)[0])  # truth
        sigma_p = sigma(pixels.wavelength)
        rate = _render(pixels, float(alpha), float(beta), sigma_p, spectrum)
        var = np.abs(rate) / 1000.0  # the Poisson variance of a 1000-s exposure at gain 1 (only the error bars)
        good = mrs_wcs.usable(pixels, rate, np.zeros(SHAPE, np.uint32))
        move = mrs_pointing.mover(pixels.band, pointing, pointings[0])
        moved = cube_build.samples(pixels, rate, var, good, move=move)
        out.append((moved, cube_build.samples(pixels, rate, var, good), rate, (float(alpha), float(beta))))
    return pixels, out


def _full_planes(pixels, grid):
    """The planes every slice covers, and each pixel's share of them (as tests/test_mrs_calibration.py)."""
    slices = range(len(pixels.band.slices))
    lo = max(pixels.lam_lo[pixels.slice == k].min() for k in slices)
    hi = min(pixels.lam_hi[pixels.slice == k].max() for k in slices)
    edges = grid.wavelength.edges
    planes = np.flatnonzero((edges[:-1] >= lo) & (edges[1:] <= hi))
    w0, w1 = edges[planes[0]], edges[planes[-1] + 1]
    share = np.clip(np.minimum(pixels.lam_hi, w1) - np.maximum(pixels.lam_lo, w0), 0, None) / (
        pixels.lam_hi - pixels.lam_lo)
    return planes, share


@pytest.mark.slow
@settings(max_examples=2, phases=(Phase.explicit, Phase.generate))  # no shrinking: an example costs 5-20 s
@given(channel=st.integers(1, 4), grating=st.sampled_from("ABC"), points=st.sampled_from([2, 4]),
       orientation=st.sampled_from(["negative", "positive"]))
def test_the_combined_cube_conserves_the_exposures_mean_flux(refs, channel, grating, points, orientation):
    # Every spaxel that all N exposures cover has W_s = N V_s, so sum_s S_s V_s over them is the mean of
    # the exposures' rate sums.  The source (a Gaussian of 0.77 spaxel, with the channel's own pattern) stays
    # >= 4 sigma inside every exposure's field, so the light where only some exposures cover (spaxels holding
    # the mean of fewer) is < 1e-4 of the total.  Bound 2e-3: one exposure's own drizzle conserves a compact
    # source to ~1e-3 only (the boxes leave out the pixels' parallelogram shear, so the boxes of a slice's
    # neighbouring rows overlap or leave gaps in (alpha, lambda) by its tilt; 2-10e-4 measured on each
    # exposure of 1A in its own frame, 1e-3 once); the combination adds nothing to that.
    band = f"{channel}{grating}"
    sigma = 0.77 * cube_build.SPAXEL_ARCSEC[channel]
    pixels, exposures = _dither_set(refs, band, points, channel, orientation, (0.0, 0.0), lambda w: sigma,
                                    lambda w: 1.0 + 0.1 * w)
    # The same with each spaxel from the exposures complete in it (cube_build docstring): where all are, the same.
    samples = cube_build.concatenate([moved for moved, *_ in exposures])
    grid = cube_build.grid_for(samples)
    for complete in (False, True):
        cube = cube_build.drizzle(samples, grid, complete=complete)
        planes, share = _full_planes(pixels, cube.grid)
        detector = np.mean([np.sum(rate[pixels.y, pixels.x] * share) for _, _, rate, _ in exposures])
        assert planes.size > 0.8 * cube.grid.wavelength.n
        assert np.nansum(cube.data[planes]) * cube.grid.volume / detector == pytest.approx(1, abs=2e-3)
    # inside the fields all N exposures cover each spaxel once (to the boxes' shear)
    plain = cube_build.drizzle(samples, grid)
    assert np.median(plain.coverage[plain.coverage > points - 0.5]) == pytest.approx(points, rel=1e-2)


@pytest.mark.slow
def test_a_dithered_point_source_lands_on_its_true_position_and_keeps_its_spectrum(refs):
    # The 4-point negative channel-1 pattern seen in 2A (MIRIFUSHORT SHORT's second band; in 1A the
    # fourth position's 3 lambda/D aperture reaches the slices' ends, which flags every plane of that
    # exposure's own x1d, as it does here for a source 0.1" further along +alpha), a source -0.15" / 0.1"
    # off the target, a Gaussian of the MRS core's width (FWHM 1.5 x 1.03 lambda/D at 8 um, docs/mrs.md).
    # Centroid: the extraction's, against the truth in the first exposure's frame, within 0.05 spaxel
    # (8.5 mas, under MRS-ASTRO-1's 10): the exposures' images land on one another (an error in the moves
    # would smear and shift the combined image by up to the dither offsets, ~1").  Spectrum: the combined
    # x1d is the mean of the four single-exposure x1ds within 0.1 % in the median (the same light and
    # aperture correction; only the resampling differs), and plane by plane within 0.5 % rms, the order of
    # a single exposure's resampling ripple in an aperture sum.  Variant ``aperture``: its correction is
    # one number; the annulus's Airy correction depends on how much of the annulus the field covers, which
    # differs between the exposures.
    fwhm = 1.5 * 1.03 * mrs.lambda_over_d(8.1)
    pixels, exposures = _dither_set(refs, "2A", 4, 1, "negative", (-0.15, 0.1), lambda w: fwhm / 2.3548 * w / 8.1,
                                    lambda w: 1.0 + 0.1 * w)
    samples = cube_build.concatenate([moved for moved, *_ in exposures])
    combined = mrs_extract.aperture(cube_build.drizzle(samples, cube_build.grid_for(samples)))
    truth = exposures[0][3]
    assert np.hypot(combined.centre[0] - truth[0], combined.centre[1] - truth[1]) < 0.05 * cube_build.SPAXEL_ARCSEC[2]
    singles = [mrs_extract.aperture(cube_build.drizzle(own, cube_build.grid_for(own))) for _, own, *_ in exposures]
    good = (combined.dq == 0) & np.all([s.dq == 0 for s in singles], axis=0)
    # the wavelength window's ends are covered by some slices only, and a spaxel counts from 90 % covered
    # (mrs_extract.COVERAGE_MIN; 63 of the 128 planes are good in all five, more than 60 % with 0.5 before session 28)
    assert good.sum() > 0.4 * good.size
    ratio = combined.flux[good] / np.mean([s.flux[good] for s in singles], axis=0)
    assert np.median(ratio) == pytest.approx(1, abs=1e-3)
    assert np.std(ratio) < 5e-3
    # the exposures' pixels are independent: the combined error is about 1/sqrt(4) of one exposure's
    single_error = np.median([s.error[good] for s in singles])
    assert np.median(combined.error[good]) / single_error == pytest.approx(0.5, rel=0.2)


def test_a_set_that_is_not_one_is_refused_by_name():
    short = [_exposure("MIRIFUSHORT", "SHORT", 4, k)[0] for k in (1, 2)]
    medium = _exposure("MIRIFUSHORT", "MEDIUM", 4, 3)[0]
    with pytest.raises(CalibrationInputError, match="DETECTOR, CHANNEL and BAND.*b: MIRIFUSHORT CHANNEL 12 BAND "
                                                    "MEDIUM"):
        mrs_spec3.check([short[0], medium], ["a", "b"])
    with pytest.raises(CalibrationInputError, match="a and b are at the same dither position"):
        mrs_spec3.check([short[0], short[0]], ["a", "b"])
    short[0].meta.target.proposer_name, short[1].meta.target.proposer_name = "scene 1", "scene 2"
    with pytest.raises(CalibrationInputError, match="one target \\(TARGPROP\\): a: scene 1; b: scene 2"):
        mrs_spec3.check(short, ["a", "b"])
    short[1].meta.target.proposer_name = "scene 1"
    assert len(mrs_spec3.check(short, ["a", "b"])) == 2
    for keyword, attribute in (("XOFFSET", "dither.x_offset"), ("APERNAME", "aperture.name")):
        model = _exposure("MIRIFUSHORT", "SHORT", 4, 2)[0]
        part, name = attribute.split(".")
        setattr(getattr(model.meta, part), name, None)
        with pytest.raises(CalibrationInputError, match=f"b: no {keyword}"):
            mrs_spec3.check([short[0], model], ["a", "b"])
    model = _exposure("MIRIFUSHORT", "SHORT", 4, 2)[0]
    model.meta.aperture.name = "MIRIM_FULL"
    with pytest.raises(CalibrationInputError, match="b: APERNAME 'MIRIM_FULL' is not an MRS aperture of the SIAF"):
        mrs_spec3.check([short[0], model], ["a", "b"])
    model.meta.aperture.name = "MIRIFU_CHANNEL2A"  # an MRS aperture, but not the set's
    with pytest.raises(CalibrationInputError, match="name one aperture \\(APERNAME\\): a: MIRIFU_CHANNEL1A; "
                                                    "b: MIRIFU_CHANNEL2A"):
        mrs_spec3.check([short[0], model], ["a", "b"])
    # one exposure needs no pointing: nothing moves
    model = _exposure("MIRIFUSHORT", "SHORT", 4, 2)[0]
    model.meta.dither.x_offset = None
    assert mrs_spec3.check([model], ["a"]) == [None]


def _peak_ripple(cube, exposures):
    """The brightest spaxel's spectrum over the planes all ``exposures`` cover, over a cubic in lambda: rms, %."""
    j, i = np.unravel_index(np.nanargmax(np.nansum(cube.data, axis=0)), cube.data.shape[1:])
    spectrum, full = cube.data[:, j, i], cube.coverage[:, j, i] > exposures - 0.5
    wave = cube.grid.wavelength.centres[full]
    return 100 * np.std(spectrum[full] / np.polyval(np.polyfit(wave, spectrum[full], 3), wave) - 1)


@pytest.mark.slow  # 17-38 s alone on the busy machine: the 2A set drizzled twice, each exposure alone too
def test_alpha_smoothing_damps_the_peak_spaxel_ripple_and_keeps_the_flux(refs):
    # A flat-spectrum point source (a Gaussian of the diffraction core's FWHM, 1.03 lambda/D: about one
    # pixel across the slice in 2A) seen by the 4-point channel-1 pattern in 2A.  Its pixels' edges drift
    # in alpha along the slices' traces, so the brightest spaxel's spectrum ripples with the phase of the
    # edges (cube_build docstring); drizzle_alpha_smooth convolves each box with a Gaussian of half a
    # pixel, which damps the ripple's harmonics, in each exposure and in the set, by far more than the
    # dither's averaging does.  The smoothed footprints still tile in alpha: the set's cube holds the
    # same light as the drizzle's on the planes every slice covers.
    pixels, exposures = _dither_set(refs, "2A", 4, 1, "negative", (-0.05, 0.0),
                                    lambda w: 1.03 * mrs.lambda_over_d(w) / 2.3548, lambda w: 1.0)
    ripple, light = {}, {}
    for variant in (cube_build.drizzle, cube_build.drizzle_alpha_smooth):
        samples = cube_build.concatenate([moved for moved, *_ in exposures])
        grid = cube_build.grid_for(samples)
        cube = variant(samples, grid)
        planes, _ = _full_planes(pixels, grid)
        light[variant] = np.nansum(cube.data[planes])
        ripple[variant] = (_peak_ripple(cube, 4),
                           [_peak_ripple(variant(own, cube_build.grid_for(own)), 1) for _, own, *_ in exposures])
    (set_box, singles_box), (set_smooth, singles_smooth) = ripple.values()
    assert set_box < np.mean(singles_box)  # the dither's averaging alone helps
    assert set_smooth < set_box / 3  # the smoothing far more
    assert np.mean(singles_smooth) < np.mean(singles_box)
    assert light[cube_build.drizzle_alpha_smooth] / light[cube_build.drizzle] == pytest.approx(1, abs=2e-3)


def test_the_alpha_smoothing_keeps_each_pixel_in_its_slice_row_and_its_weight(refs):
    # The alpha Gaussian is reflected at the ends of the pixel's slice on its row (cube_build docstring, 'slice
    # ends'): no weight in a spaxel column beyond them (unreflected, the end pixels reach up to 4 sigma out),
    # each pixel's weights add up to its box's volume (the flux kept), and a uniform scene stays uniform.
    pixels = _pixels(refs, "MIRIFUSHORT", "SHORT", "1A")
    ones = np.ones(SHAPE)
    samples = cube_build.samples(pixels, ones, ones, np.ones(pixels.y.size, bool), surface_brightness=True)
    grid, sigma = cube_build.grid_for(samples), cube_build._alpha_sigma(samples)
    volume = ((samples.alpha_hi - samples.alpha_lo).astype(float) * (samples.beta_hi - samples.beta_lo)
              * (samples.lam_hi - samples.lam_lo))

    def beyond_and_total(s):
        beyond, total = 0.0, np.zeros(len(s.used))
        for block in cube_build._blocks(s, grid, 0.0, sigma):
            spatial, u = block_pairs(block)
            left = grid.alpha.start + (spatial % grid.alpha.n) * grid.alpha.step
            out = ((left + grid.alpha.step <= samples.row_lo[block.index, None])
                   | (left >= samples.row_hi[block.index, None]))
            beyond += np.sum(np.where(out, u, 0.0) * np.sum(block.wl, axis=1)[:, None])
            total[block.index] = np.sum(u, axis=1) * np.sum(block.wl, axis=1)
        return beyond, total

    beyond, total = beyond_and_total(samples)
    assert beyond == 0
    np.testing.assert_allclose(total, volume, rtol=1e-6)
    free, _ = beyond_and_total(replace(samples, row_lo=None, row_hi=None))
    assert free > 1e-3 * np.sum(volume)  # the effect is there to remove
    cube = cube_build.drizzle_alpha_smooth(samples, grid)
    np.testing.assert_allclose(cube.data[cube.coverage > 0.999], 1.0, rtol=1e-6)


@pytest.mark.slow  # 24-28 s each on the busy machine (the 1A set drizzled 5 times)
@pytest.mark.parametrize("variant", [cube_build.drizzle, cube_build.drizzle_lambda_alpha_smooth])
def test_each_spaxel_from_the_complete_exposures_keeps_a_source_by_a_fields_end(refs, variant):
    # The 4-point channel-1 pattern in 1A puts a source 0.1" / 0.05" off the target 0.39" from the end of the
    # fourth exposure's slices (docs/mrs.md 'Dither sets'): near its end that exposure reconstructs the compact
    # source (a Gaussian of 0.15") from one side, and mixed with the others it adds light (+0.4 % measured).
    # With each spaxel from the exposures complete in it the set keeps the exposures' mean light within 5e-4
    # (drizzle; +3e-5 measured) / 2e-3 (drizzle_lambda_alpha_smooth, +1.2e-3 measured; +7.1e-3 without); a uniform scene
    # stays uniform to float32's rounding; one exposure alone: the same cube, bit for bit.
    pixels, exposures = _dither_set(refs, "1A", 4, 1, "negative", (0.1, 0.05), lambda w: 0.15, lambda w: 1.0)
    samples = cube_build.concatenate([moved for moved, *_ in exposures])
    grid = cube_build.grid_for(samples)
    planes, share = _full_planes(pixels, grid)
    detector = np.mean([np.sum(rate[pixels.y, pixels.x] * share) for _, _, rate, _ in exposures])
    light = {c: np.nansum(variant(samples, grid, complete=c).data[planes]) * grid.volume / detector - 1
             for c in (False, True)}
    assert light[False] > 2e-3  # the effect is there to remove
    assert abs(light[True]) < (5e-4 if variant is cube_build.drizzle else 2e-3) < light[False]
    uniform = cube_build.concatenate([replace(moved, intensity=np.ones_like(moved.intensity))
                                      for moved, *_ in exposures])
    cube = variant(uniform, grid, complete=True)
    assert np.any(cube.selected.sum(axis=0) < 4)  # some spaxels from fewer exposures
    np.testing.assert_allclose(cube.data[np.isfinite(cube.data)], 1.0, rtol=1e-6)
    own = exposures[3][1]
    alone = [variant(cube_build.concatenate([own]), cube_build.grid_for(own), complete=c) for c in (False, True)]
    for name in ("data", "var", "coverage"):
        np.testing.assert_array_equal(getattr(alone[0], name), getattr(alone[1], name))
    assert alone[1].selected is None


def test_each_dither_position_draws_its_own_noise_from_the_sets_one_seed():
    """One seed for a set: the sky, detector, references and optics are shared, the ramp noise, cosmic
    rays, EMI and companions are each position's own, and position 1 draws what an undithered exposure does."""
    undithered = rng_streams(7)
    positions = [rng_streams(7, dither_index(MrsObservation(dither_points=4, dither_position=p))) for p in (1, 2, 3, 4)]
    assert dither_index(MrsObservation()) == 0
    draws = [{name: rng.integers(0, 2**62, 4).tolist() for name, rng in streams.items()}
             for streams in (undithered, *positions)]
    assert draws[1] == draws[0]
    for name in STREAMS:
        distinct = {tuple(d[name]) for d in draws[1:]}
        assert len(distinct) == (4 if name in PER_EXPOSURE else 1), name


def test_the_built_in_dither_set_is_four_positions_of_one_scene_under_one_seed():
    suite = load_suite("mrs_dither")
    assert len(suite.seeds) == 1
    assert [s.observation.dither_position for s in suite.scenarios] == [1, 2, 3, 4]
    first = suite.scenarios[0]
    for s in suite.scenarios:
        assert s.observation.dither_points == 4
        assert replace(s.observation, dither_position=1) == first.observation
        assert s.scene(suite.seeds[0]) == first.scene(suite.seeds[0])


@pytest.mark.parametrize("band", ["1A", "4C"])
def test_a_moved_coordinate_alone_is_the_whole_models_bit_for_bit(refs, band):
    # mover's one-output moves evaluate one polynomial of v2v3_ab (mrs_pointing._outputs): the numbers must
    # be those of M_k through the DISTORTION's whole models, the formula of mrs_pointing's docstring
    detector, setting = mrs.DETECTOR_OF_CHANNEL[int(band[0])], {v: k for k, v in mrs.SETTINGS.items()}[band[1]]
    exposures = [_exposure(detector, setting, 4, k)[0] for k in (1, 3)]
    first, third = mrs_spec3.check(exposures, ["d1", "d3"])
    wcs = mrs_wcs.read_references(refs, exposures[0]).bands[band]
    move = mrs_pointing.mover(wcs, third, first)
    rng = np.random.default_rng(5)
    alpha, beta = rng.uniform(-3, 3, 10000), rng.uniform(-3, 3, 10000)
    t, dv2, dv3 = wcs.to_v2v3, third.v2 - first.v2, third.v3 - first.v3
    v2, v3 = t(alpha, beta)
    whole = [a + (r - z) for a, r, z in zip((alpha, beta), t.inverse(v2 - dv2, v3 - dv3), t.inverse(v2, v3),
                                            strict=True)]
    assert np.all(whole[0] != alpha)  # it moves
    for output in (0, 1):
        assert np.array_equal(move(alpha, beta, output), whole[output])
        assert np.array_equal(move(alpha, beta)[output], whole[output])


def test_a_model_not_of_one_polynomial_per_output_is_evaluated_whole_for_each():
    from astropy.modeling.models import Rotation2D, Shift

    model = (Shift(1.0) & Shift(2.0)) | Rotation2D(30.0)  # both outputs depend on both inputs
    x, y = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    for output, part in enumerate(mrs_pointing._outputs(model)):
        assert np.array_equal(part(x, y), model(x, y)[output])


@pytest.mark.parametrize("band", ["1A", "4C"])
def test_the_shared_sides_moved_once_are_every_sides_move_bit_for_bit(refs, band):
    # cube_build._moved_sides moves a side neighbours share once: the numbers must be those of moving every
    # side, on the band's pixels (a row's boxes share their sides), the same boxes in reverse order (alpha
    # falling along the rows), and with a NaN side (shared with nothing)
    detector, setting = mrs.DETECTOR_OF_CHANNEL[int(band[0])], {v: k for k, v in mrs.SETTINGS.items()}[band[1]]
    exposures = [_exposure(detector, setting, 4, k)[0] for k in (1, 3)]
    first, third = mrs_spec3.check(exposures, ["d1", "d3"])
    pixels = _pixels(refs, detector, setting, band)
    move = mrs_pointing.mover(pixels.band, third, first)
    lo, hi = pixels.alpha_lo.copy(), pixels.alpha_hi.copy()
    lo[len(lo) // 2] = np.nan
    for order in (slice(None), slice(None, None, -1)):
        a, b, beta = lo[order], hi[order], pixels.beta[order]
        moved_lo, moved_hi = cube_build._moved_sides(move, a, b, beta)
        assert np.array_equal(moved_lo, move(a, beta, 0), equal_nan=True)
        assert np.array_equal(moved_hi, move(b, beta, 0), equal_nan=True)
    shared = np.count_nonzero((hi[:-1] == lo[1:]) & (pixels.beta[:-1] == pixels.beta[1:]))
    assert shared > 0.8 * len(hi)  # most sides are shared (else nothing is saved)
