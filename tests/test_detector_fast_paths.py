"""The fast paths of detector1 give the answers of the obvious computations.

Reading an archive uncal (uint16 SCI) straight into float32 (:func:`calibration.inputs.open_uncal`),
the blocked linearity correction (:func:`calibration.linearity.correct_linearity`) and the shower
step's 3x3 bin sums, box means and valid differences (:mod:`calibration.showers`) change no arithmetic:
they are compared, bit for bit, with stdatamodels' own reading, a whole-array Horner, a padded sum,
scipy's uniform filter and the flags' obvious test; the jump step's first-pass screen
(:func:`calibration.jump._edge_bound`) bounds the general leave-one-out significance from above.  On noisy
inputs (saturation, unusable coefficients, cosmic-ray-sized outliers, frame sizes that do not divide into
bins), with blocks small enough that every block boundary (inside an integration, across integrations)
is crossed.
"""
import numpy as np
import pytest
from scipy import ndimage
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import detector_kernels, inputs, jump, linearity, populated_array, showers
from miri_testbed.instrument import dq
from miri_testbed.instrument.files import save_model


def _archive_uncal(path, rng, shape=(3, 5, 16, 24)):
    """A uint16 uncal as the archive writes it (Level1bModel, no DQ), with 0 and 65535 in it."""
    data = rng.integers(0, 65536, shape).astype(np.uint16)
    data[0, 0, 0, :2] = (0, 65535)
    model = dm.Level1bModel(data=data)
    meta = model.meta
    meta.instrument.name, meta.instrument.detector = "MIRI", "MIRIMAGE"
    meta.exposure.type, meta.exposure.readpatt = "MIR_IMAGE", "FASTR1"
    meta.exposure.nints, meta.exposure.ngroups, meta.exposure.group_time = shape[0], shape[1], 2.775
    meta.exposure.start_time = 60000.0
    meta.subarray.name, meta.subarray.xsize, meta.subarray.ysize = "FULL", shape[3], shape[2]
    save_model(model, path)
    return data


@pytest.mark.parametrize("samples", [7, 1 << 22])  # blocks cut anywhere; one block
def test_archive_uncal_reads_as_stdatamodels_reads_it(tmp_path, monkeypatch, samples):
    monkeypatch.setattr(inputs, "READ_SAMPLES", samples)
    path = tmp_path / "a_uncal.fits"
    data = _archive_uncal(path, np.random.default_rng(3))
    ours, theirs = inputs.open_uncal(path), dm.RampModel(str(path))
    assert ours.data.dtype == theirs.data.dtype == np.float32
    assert ours.data.tobytes() == theirs.data.tobytes()
    assert np.array_equal(ours.data, data)
    assert ours.groupdq.dtype == theirs.groupdq.dtype and np.array_equal(ours.groupdq, theirs.groupdq)
    assert np.array_equal(ours.pixeldq, theirs.pixeldq)
    flat_ours, flat_theirs = ours.to_flat_dict(), theirs.to_flat_dict()
    assert flat_ours.keys() == flat_theirs.keys()
    assert all(str(flat_ours[k]) == str(flat_theirs[k]) for k in flat_ours if k not in ("data", "groupdq", "pixeldq"))
    assert ours.meta.filename == "a_uncal.fits"


def _horner(data, groupdq, coeffs):
    """The obvious computation: float64 Horner on the whole array, saturated groups kept, bad coefficients skipped."""
    good = np.all(np.isfinite(coeffs), axis=0)
    c = np.where(good, coeffs, 0.0).astype(np.float64)
    c[1] = np.where(good, c[1], 1.0)
    x = data.astype(np.float64)
    value = c[-1] * x
    for ci in c[-2:0:-1]:
        value = (value + ci) * x
    value = value + c[0]
    return np.where((groupdq & dq.SATURATED) != 0, data, value).astype(np.float32)


@pytest.mark.parametrize("shape", [(3, 5), (1000, 1024)])  # below and above a page
def test_a_populated_array_is_a_writable_c_array_of_zeros(shape):
    """``populated_array`` (the uncal's ramps and default GROUPDQ, the EMI fit's cache): the shape and dtype asked
    for, C-contiguous, writable, zeros; empty allowed."""
    for dtype in (np.float32, np.uint8):
        a = populated_array(shape, dtype)
        assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
        assert not a.any()
    a = populated_array((3, 5), np.float32)
    a[:] = np.arange(15).reshape(3, 5)
    assert a.sum() == 105
    assert populated_array((0, 5), np.float32).shape == (0, 5)


@pytest.mark.parametrize("block", [1, 16 * 24 * 3, 16 * 24 * 7, 1 << 18])  # a frame, 3 groups, 7 frames, all
def test_blocked_linearity_is_the_whole_array_horner(monkeypatch, block):
    monkeypatch.setattr(linearity, "BLOCK_SAMPLES", block)
    rng = np.random.default_rng(5)
    shape = (4, 5, 16, 24)
    data = np.round(rng.uniform(0, 60000, shape)).astype(np.float32)  # raw DN with read noise: whole numbers
    groupdq = np.zeros(shape, np.uint8)
    groupdq[rng.random(shape) < 0.05] = dq.SATURATED | dq.DO_NOT_USE
    coeffs = np.stack([rng.normal(0, 50, shape[2:]), 1 + rng.normal(0, 0.02, shape[2:]),
                       rng.normal(0, 1e-6, shape[2:]), rng.normal(0, 1e-11, shape[2:]),
                       rng.normal(0, 1e-16, shape[2:])]).astype(">f4")
    coeffs[2, 3, 4] = np.nan
    expected = _horner(data, groupdq, coeffs)
    out, flags = linearity.correct_linearity(data, groupdq, coeffs)
    assert out.dtype == np.float32 and out.tobytes() == expected.tobytes()
    assert flags[3, 4] == dq.NO_LIN_CORR and np.count_nonzero(flags) == 1
    in_place = data.copy()
    linearity.correct_linearity(in_place, groupdq, coeffs, out=in_place)
    assert in_place.tobytes() == expected.tobytes()


@pytest.mark.parametrize("n", [2, 3, 4, 7, 28])
def test_edge_bound_bounds_the_leave_one_out_significance_of_every_difference(n):
    """The first pass's float32 bound is above the exact significance of each difference (so the screen drops no
    pixel the exact test would flag), and close to the larger one at the extremes (so it screens)."""
    rng = np.random.default_rng(n)
    npix = 5000
    rn2, gain = rng.uniform(10, 40, npix), rng.uniform(3.5, 4.5, npix)
    d = rng.normal(rng.uniform(-5, 300, npix), 8, (n, npix)).astype(np.float32)
    d[rng.integers(0, n, 200), rng.integers(0, npix, 200)] += rng.uniform(10, 5000, 200).astype(np.float32)  # hits
    total, counts, valid = d.sum(axis=0), np.full(npix, n), np.ones((n, npix), bool)
    exact = np.max([jump._leave_one_out_z2(d[k], np.full(npix, k), valid, counts, total, rn2, gain)
                    for k in range(n)], axis=0)
    bound = jump._edge_bound(d, total, n, rn2.astype(np.float32), gain.astype(np.float32))
    assert bound.dtype == np.float32 and np.all(bound >= exact)
    assert np.median(bound / exact) < 1.2


def _residual_scores(data, groupdq, med, sigma, factor):
    """The shower kernel's binned ``(z, m)`` sums for all differences of ``data``."""
    nints, ngroups, ny, nx = data.shape
    zsum = np.empty((nints, ngroups - 1, -(-ny // factor), -(-nx // factor)))
    msum = np.empty(zsum.shape, np.float32)
    detector_kernels.residual_scores(data, groupdq, med, sigma, np.uint8(dq.UNUSABLE_GROUP), np.uint8(dq.JUMP_DET),
                                     factor, zsum, msum)
    return zsum, msum


@pytest.mark.parametrize("shape", [(2, 4, 416, 72), (1, 3, 10, 11), (1, 2, 4, 5)])
def test_shower_scores_are_the_noise_scaled_residuals_summed_in_padded_bins(shape):
    """The kernel's 3x3 bin sums are bit for bit the zero-padded sums (rows of a bin in order, then its columns) of
    its unbinned values (bins of one pixel); those are ``z = (d - dbar - c) / sigma`` and ``m = 1`` for the valid
    differences (c the frame's mean residual within 5 sigma), 0 elsewhere."""
    rng = np.random.default_rng(sum(shape))
    nints, ngroups, ny, nx = shape
    data = np.cumsum(rng.normal(30.0, 4.0, shape), axis=1).astype(np.float32)
    groupdq = rng.choice(np.uint8([0] * 8 + [dq.JUMP_DET, dq.SATURATED]), shape)
    med = rng.normal(30.0, 1.0, (nints, ny, nx)).astype(np.float32)
    sigma = rng.uniform(3.0, 6.0, (nints, ny, nx))
    sigma[0, 0, :2] = 0.0  # a pixel without a noise estimate scores 0
    z, m = _residual_scores(data, groupdq, med, sigma, 1)
    valid = showers._valid(groupdq)
    r = (data[:, 1:] - data[:, :-1]) - med[:, None]
    typical = valid & (np.abs(r) < 5 * sigma[:, None])
    offset = np.where(typical, r, 0).sum(axis=(2, 3)) / typical.sum(axis=(2, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(valid & (sigma[:, None] > 0), (r - offset[..., None, None]) / sigma[:, None], 0.0)
    np.testing.assert_allclose(z, expected, rtol=1e-6, atol=1e-6)
    assert np.array_equal(m, valid.astype(np.float32))
    py, px = -ny % 3, -nx % 3
    for unbinned, binned in zip((z, m), _residual_scores(data, groupdq, med, sigma, 3), strict=True):
        padded = np.pad(unbinned, ((0, 0), (0, 0), (0, py), (0, px)))
        rows = sum(padded[..., j::3, :] for j in range(3))
        summed = sum(rows[..., j::3] for j in range(3))
        assert binned.dtype == unbinned.dtype and binned.tobytes() == summed.astype(binned.dtype).tobytes()


@pytest.mark.parametrize("median", [False, True])
def test_showers_scored_in_blocks_of_differences_flag_as_scored_at_once(monkeypatch, median):
    """A FULL integration's differences are scored a block at a time (memory: issue 13); block edges, a mask running
    across them and the median path (no mean_diff) give the same flags and count as one block of every difference."""
    rng = np.random.default_rng(5)
    nints, ngroups, ny, nx = 2, 9, 96, 120
    data = np.cumsum(rng.normal(30.0, 4.0, (nints, ngroups, ny, nx)), axis=1).astype(np.float32)
    data[0, 3:, 20:50, 30:70] += np.linspace(60.0, 80.0, ngroups - 3)[:, None, None]  # a shower and its slow release
    data[1, 6:, 50:80, 60:110] += 70.0
    groupdq = np.zeros(data.shape, np.uint8)
    groupdq[0, 5, 10:12, 10:12] = dq.JUMP_DET
    mean_diff = None if median else np.median(np.diff(data, axis=1), axis=1)
    args = (data, groupdq, np.full((ny, nx), 4.2), np.full((ny, nx), 4.0), 2.8, mean_diff)
    monkeypatch.setattr(showers, "BLOCK_SAMPLES", nints * (ngroups - 1) * ny * nx)
    whole = showers.flag_showers(*args, out=groupdq.copy())
    assert whole[1] >= 2  # the test has showers to flag
    for block in (ny * nx, 3 * nints * ny * nx):  # one difference at a time; three
        monkeypatch.setattr(showers, "BLOCK_SAMPLES", block)
        blocked = showers.flag_showers(*args, out=groupdq.copy())
        assert blocked[1] == whole[1]
        np.testing.assert_array_equal(blocked[0], whole[0])


@pytest.mark.parametrize("size", [1, 3, 7])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_box_means_are_uniform_filters(size, dtype):
    image = np.random.default_rng(size).normal(0, 1, (2, 3, 139, 24)).astype(dtype)
    expected = ndimage.uniform_filter(image, size, mode="constant", axes=(-2, -1))
    box = showers._box_mean(image, size)
    assert box.dtype == expected.dtype and box.tobytes() == expected.tobytes()


def test_valid_differences_are_those_between_usable_groups_without_a_jump():
    groupdq = np.random.default_rng(2).choice(np.uint8([0, 0, 0, dq.DO_NOT_USE, dq.SATURATED, dq.JUMP_DET,
                                                        dq.JUMP_DET | dq.SATURATED]), (2, 6, 5, 7))
    first, second = groupdq[:, :-1], groupdq[:, 1:]
    expected = ((first & dq.UNUSABLE_GROUP) == 0) & ((second & dq.UNUSABLE_GROUP) == 0) & ((second & dq.JUMP_DET) == 0)
    assert np.array_equal(showers._valid(groupdq), expected)
