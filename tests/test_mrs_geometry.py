"""The MRS flight geometry: shipped, read as jwst reads it, invertible, and a slice map derived from it."""
from functools import cache

import numpy as np
import pytest
from stdatamodels.jwst.datamodels import DistortionMRSModel
from stdatamodels.jwst.transforms import MIRI_AB2Slice

from miri_testbed.instrument import detector, mrs, mrs_dither


def _lit(name):
    """Pixel coordinates and slice of every lit pixel of a band."""
    pixels = mrs.band_map(name)
    y, x = np.nonzero(pixels.slice)
    return x, y, pixels.slice[y, x]


@cache
def _along_slice_step(name):
    """|d alpha / d x| over one pixel at every lit pixel (forward polynomials), with the pixels' slices."""
    geometry = mrs.band(name)
    x, y, slices = _lit(name)
    step = np.empty(len(x))
    for slice_id in geometry.slices:
        on = slices == slice_id
        left, _ = geometry.to_sky(x[on] - 0.5, y[on], slice_id)
        right, _ = geometry.to_sky(x[on] + 0.5, y[on], slice_id)
        step[on] = np.abs(right - left)
    return step, slices


@pytest.mark.parametrize("pair", ["12A", "34C"])
def test_shipped_files_open_with_the_jwst_models_and_carry_their_licence(pair):
    path = mrs.flight_file(f"jwst_miri_mrs{pair}_distortion_flt9.asdf")
    assert (path.parent / "LICENSE-miricoord.md").read_text().startswith("BSD 3-Clause License")
    with DistortionMRSModel(str(path)) as model:
        assert model.meta.instrument.detector == mrs.DETECTOR_OF_CHANNEL[int(pair[0])]
        assert model.meta.instrument.channel == pair[:2]


@pytest.mark.parametrize("name", mrs.BANDS)
def test_slices_per_channel_and_their_betas_are_jwsts(name):
    # The files' slice count against SIAF's (params 5: 21/17/16/12), and each slice's beta
    # (the file's constant) against beta_zero + (n - 1) beta_del, which jwst's own
    # MIRI_AB2Slice turns back into the slice id.
    geometry = mrs.band(name)
    channel = geometry.channel
    assert geometry.slices == tuple(100 * channel + n for n in range(1, mrs.SLICES_PER_CHANNEL[channel] + 1))
    expected = geometry.beta_zero + geometry.beta_del * np.arange(len(geometry.slices))
    np.testing.assert_allclose(geometry.beta, expected, atol=1e-9)
    jwst_ids = MIRI_AB2Slice(geometry.beta_zero, geometry.beta_del, channel)(np.array(geometry.beta))
    np.testing.assert_array_equal(jwst_ids, geometry.slices)
    np.testing.assert_array_equal(geometry.slice_of_beta(np.array(geometry.beta) + 0.49 * geometry.beta_del),
                                  geometry.slices)
    assert geometry.slice_of_beta(geometry.beta[-1] + 0.51 * geometry.beta_del) == 0


@pytest.mark.parametrize("name", mrs.BANDS)
def test_every_lit_pixel_round_trips_through_the_inverse_polynomials(name):
    # (x, y) -> (alpha, lambda) by the forward polynomials, back by the file's separately
    # fitted inverse ones: within 0.05 px (median) and 0.5 px (worst, near slice ends) in every slice.
    geometry = mrs.band(name)
    pixels = mrs.band_map(name)
    x, y, slices = _lit(name)
    for slice_id in geometry.slices:
        on = slices == slice_id
        back_x, back_y = geometry.to_detector(pixels.alpha[y[on], x[on]], pixels.wavelength[y[on], x[on]], slice_id)
        error = np.hypot(back_x - x[on], back_y - y[on])
        assert np.median(error) < 0.05 and error.max() < 0.5, (slice_id, np.median(error), error.max())


@pytest.mark.parametrize("name", mrs.BANDS)
def test_lit_pixels_see_the_band_and_the_slice_they_belong_to(name):
    # The map comes from the inverse polynomials; the forward ones at each lit pixel's centre
    # must give a wavelength of the band's range and an alpha within the slice's extent (up to
    # the half pixel a pixel centre can lie beyond an edge through the polynomials' mismatch).
    geometry = mrs.band(name)
    pixels = mrs.band_map(name)
    lit = pixels.slice > 0
    low, high = geometry.wavelength_range
    assert low <= np.nanmin(pixels.wavelength[lit]) and np.nanmax(pixels.wavelength[lit]) <= high
    assert np.all(np.isnan(pixels.wavelength[~lit])) and np.all(np.isnan(pixels.alpha[~lit]))
    step, step_slice = _along_slice_step(name)
    limits = np.array([geometry.alpha_limits(s) for s in geometry.slices])[step_slice % 100 - 1]
    assert np.all(pixels.alpha[lit] >= limits[:, 0] - step) and np.all(pixels.alpha[lit] <= limits[:, 1] + step)
    np.testing.assert_array_equal(pixels.beta[lit], np.array(geometry.beta)[pixels.slice[lit] % 100 - 1])


@pytest.mark.parametrize("name", mrs.BANDS)
def test_slices_are_separate_strips_as_wide_as_their_field(name):
    geometry = mrs.band(name)
    pixels = mrs.band_map(name)
    x, y, slices = _lit(name)
    # Every slice lit, only on light-sensitive columns, on its channel's half (params 5:
    # ch1 and ch4 left of x = 512, ch2 and ch3 right).
    assert set(np.unique(slices)) == set(geometry.slices)
    assert x.min() >= detector.REFERENCE_COLUMNS_LEFT and x.max() < detector.FULL_NX - detector.REFERENCE_COLUMNS_RIGHT
    assert (x.max() < 512) if geometry.channel in (1, 4) else (x.min() >= 512)
    # On every row a slice is one run of pixels, and two slices never touch (a gap of at least
    # one unlit pixel: the inter-slice pixels exist).
    for row in pixels.slice[::64]:
        runs = np.flatnonzero(np.diff(np.r_[0, row, 0]) != 0)
        values = np.r_[0, row, 0][runs + 1]
        lit_runs = values[values > 0]
        assert len(lit_runs) == len(set(lit_runs)), "a slice split on a row"
        assert np.all(np.diff(row)[(row[:-1] > 0) & (row[1:] > 0)] == 0), "two slices touch"
    # Width: a slice's pixels per row match its along-slice extent over its measured pixel scale.
    step, step_slice = _along_slice_step(name)
    for slice_id in geometry.slices:
        extent = np.subtract(*geometry.alpha_limits(slice_id)[::-1])
        per_row = np.count_nonzero(pixels.slice == slice_id, axis=1)
        width = np.median(per_row[per_row > 0])
        assert abs(width - extent / np.median(step[step_slice == slice_id])) <= 1.0, slice_id


@pytest.mark.parametrize("name", mrs.BANDS)
def test_the_shipped_siaf_alpha_limits_are_the_siafs_bit_for_bit(name):
    # the table scripts/make_siaf_alpha_limits.py wrote is what the SIAF and the flight files give now
    assert mrs.siaf_alpha_limits(name) == mrs.measure_siaf_alpha_limits(name)


def test_the_shipped_mrs_apertures_and_idl_to_tel_are_pysiafs_bit_for_bit():
    # the table is the SIAF's now, and idl_to_tel's planar sums give pysiaf's idl_to_tel exactly, arrays and
    # scalars, over offsets a dither pattern and a target acquisition reach (a few arcsec)
    assert {k: tuple(v) for k, v in mrs._mrs_aperture_table().items()} == mrs.measure_mrs_apertures()
    rng = np.random.default_rng(16)
    for name in mrs.MRS_APERTURES:
        x, y = rng.uniform(-6, 6, (2, 500))
        x[:3], y[:3] = (0.0, 1.0, -2.5), (0.0, -1.0, 0.75)
        ours, theirs = mrs.idl_to_tel(name, x, y), mrs.miri_siaf()[name].idl_to_tel(x, y)
        assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1]), name
        assert mrs.idl_to_tel(name, 0.3, -0.7) == mrs.miri_siaf()[name].idl_to_tel(0.3, -0.7), name


@pytest.mark.parametrize("name", mrs.BANDS)
def test_siaf_slice_lengths_are_within_the_channels_field(name):
    # siaf_alpha_limits checks each aperture spans its slice's beta +/- beta_del / 2 (5 mas);
    # its along-slice extent must be shorter than the square field N beta_del and at least the
    # SIAF channel field's inscribed short side (params 5: 3.2 / 4.0 / 5.2 / 6.6 arcsec), and a
    # slice's centre within a tenth of the field from the channel's alpha = 0.
    geometry = mrs.band(name)
    limits = np.array(mrs.siaf_alpha_limits(name))
    length = limits[:, 1] - limits[:, 0]
    square = len(geometry.slices) * geometry.beta_del
    short_side = {1: 3.2, 2: 4.0, 3: 5.2, 4: 6.6}[geometry.channel]
    assert np.all(length < square) and np.all(length > short_side - 0.05), length
    assert np.all(np.abs(limits.mean(axis=1)) < 0.1 * square)


@pytest.mark.parametrize("setting", list(mrs.SETTINGS))
@pytest.mark.parametrize("detector_name", ["MIRIFUSHORT", "MIRIFULONG"])
def test_a_detector_holds_its_two_channels_without_overlap(detector_name, setting):
    pixels = mrs.detector_map(detector_name, setting)
    channels = set(np.unique(pixels.slice[pixels.slice > 0]) // 100)
    assert channels == {c for c, d in mrs.DETECTOR_OF_CHANNEL.items() if d == detector_name}
    assert not pixels.slice.flags.writeable


@pytest.mark.parametrize("name, measured_elsewhere", [("1A", 0.192), ("2A", 0.193), ("3A", 0.252), ("4A", 0.269)])
def test_along_slice_pixel_scale_reproduces_the_reference_measurement(name, measured_elsewhere):
    # ../shared/reference/miri-crds/README.md measured 0.192/0.193/0.252/0.269 arcsec from the
    # same files; the median one-pixel step of alpha over the lit pixels must round to it,
    # and the channel's other two bands share it within 1.5 % (one slicer, three gratings).
    step, _ = _along_slice_step(name)
    assert round(float(np.median(step)), 3) == measured_elsewhere
    for other in (name[0] + "B", name[0] + "C"):
        assert np.median(_along_slice_step(other)[0]) == pytest.approx(np.median(step), rel=0.015)


@pytest.mark.parametrize("name", ["1A", "2B", "3C", "4A"])
def test_alpha_beta_to_v2v3_and_back(name):
    geometry = mrs.band(name)
    alpha, beta = np.meshgrid(np.linspace(*geometry.alpha_limits(geometry.slices[0]), 7), np.array(geometry.beta))
    v2, v3 = geometry.to_v2v3(alpha, beta)
    back_alpha, back_beta = geometry.from_v2v3(v2, v3)
    assert np.max(np.hypot(back_alpha - alpha, back_beta - beta)) < 1e-3  # 1 mas
    # The field sits near the MRS aperture of the telescope focal plane (V2 ~ -503", V3 ~ -319").
    assert abs(np.mean(v2) + 503) < 5 and abs(np.mean(v3) + 319) < 5


def test_dither_table_is_read_whole():
    positions = mrs_dither.dither_positions()
    assert [p.index for p in positions] == list(range(1, len(positions) + 1))
    assert {p.band for p in positions} == {"1A", "2A", "3A", "4A"}
    # The Ideal frame is the V2/V3 frame turned: within a 4-point set (offsets from one
    # reference point) distances between positions agree.
    sets = [positions[start:start + 4] for start in range(0, 52, 4)]
    for first, second in ((s[i], s[j]) for s in sets for i in range(4) for j in range(i + 1, 4)):
        ideal = np.hypot(second.dx_ideal - first.dx_ideal, second.dy_ideal - first.dy_ideal)
        assert ideal == pytest.approx(np.hypot(second.v2 - first.v2, second.v3 - first.v3), abs=2e-3)


@pytest.mark.parametrize("channel", [1, 2, 3, 4])
@pytest.mark.parametrize("orientation", ["negative", "positive"])
def test_point_source_patterns_step_half_slices_in_their_channel(channel, orientation):
    four = mrs_dither.dither_pattern(4, "point", channel, orientation)
    assert mrs_dither.dither_pattern(2, "point", channel, orientation) == four[:2]
    assert {p.band for p in four} == {f"{channel}A"}
    # Designed so a point source falls on the other half of a slice (makedither_mrs: long and
    # short beta offsets half-integer in the channel's slice width); tolerance 0.15 slice,
    # the table's alpha/beta coming from the 2022 distortion.
    beta_del = mrs.band(f"{channel}A").beta_del
    for a, b in ((0, 1), (2, 3)):
        slices = abs(four[b].beta - four[a].beta) / beta_del
        assert abs(slices % 1 - 0.5) < 0.15, slices


def test_extended_patterns_and_bad_requests():
    assert [p.index for p in mrs_dither.dither_pattern(4, "extended", "ALL")] == [33, 34, 35, 36]
    assert [p.band for p in mrs_dither.dither_pattern(4, "extended", 3)] == ["3A"] * 4
    for bad in [dict(points=3), dict(points=4, source="extended", orientation="x", channel=5),
                dict(points=2, source="point", channel="ALL")]:
        with pytest.raises(ValueError, match="MRS dither"):
            mrs_dither.dither_pattern(**bad)
    with pytest.raises(ValueError, match="unknown MRS band"):
        mrs.band("5A")
    with pytest.raises(ValueError, match="not an MRS detector"):
        mrs.detector_map("MIRIMAGE", "SHORT")
    with pytest.raises(ValueError, match="has no slice"):
        mrs.band("1A").to_sky(10, 10, 201)
