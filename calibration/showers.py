"""Shower flagging: large, faint areas of excess charge in one group difference.

After the single-pixel jumps are found, each group difference is turned into residuals
in units of their noise, ``z = (d - dbar) / (sigma_d sqrt((n - 1)/n))`` (dbar: the
pixel's mean over its n jump-free differences, from the jump step, or their median;
jumps and unusable differences set to 0).  A box average over ``box`` x ``box`` pixels, normalised to unit noise,

    Z = sum_box(z m) / sqrt(sum_box(m)),

reveals excesses far below the per-pixel threshold (a 9x9 box gains a factor 9, a 21x21
box a factor 21, for the faintest showers).  The sums are taken on 3x3 bins, so the
boxes are 9 and 21 pixels to within a bin.  At each box size, areas with Z above
``detect_sigma`` and at least ``min_area`` pixels are showers; each is grown to the
connected region where Z is above ``extend_sigma`` and dilated by half a box, since the
halo fades below any threshold.  The regions of all scales are combined: the larger box
outlines a shower's faint halo that the smaller one misses (at the price of some
flagged area beyond it).  The group where it appears gets
JUMP_DET over that area, and so does every later group read within
``time_masked_after_shower`` seconds (charge keeps being released; 15 s as in the JWST
jump step defaults).  A detection inside a running mask (the same shower's slow
release) does not extend it.
"""
import warnings

import numpy as np
from scipy import ndimage

from miri_testbed.instrument import dq

from . import Skip, into, native

BIN = 3  # residuals are summed in 3x3 bins first: showers are tens of pixels across
CHUNK = 2  # integrations whose scores are computed together: 1000 x 10 SLITLESSPRISM 4.9 s CPU frame by frame,
# 3.4-3.5 s two at a time; 16 at a time was slower (its arrays no longer stay in the cache)
BLOCK_SAMPLES = 1 << 22  # differences x pixels scored at once: a few float64 arrays of this size at a time (a
# whole FULL 100-group integration at once peaked at 10.6x the ramp array in calibrate, issue 13's limit 3x)


def _box_mean(image, size):
    """``ndimage.uniform_filter(image, size, mode="constant", axes=(-2, -1))``: its two 1-D passes, in its order.

    Called directly: the wrapper's checks were a sixth of the filters' time (4000 calls in a 1000-integration TSO).
    """
    if size == 1:
        return image
    out = ndimage.uniform_filter1d(image, size, axis=-2, mode="constant")
    return ndimage.uniform_filter1d(out, size, axis=-1, output=out, mode="constant")


def _valid(groupdq):
    """Whether each difference of ``groupdq`` ``(..., ngroups, ny, nx)`` is usable and jump-free."""
    first, second = groupdq[..., :-1, :, :], groupdq[..., 1:, :, :]
    flags = second & np.uint8(dq.UNUSABLE_GROUP | dq.JUMP_DET)
    flags |= first & np.uint8(dq.UNUSABLE_GROUP)
    return flags == 0


def _noise(data, groupdq, read_noise, gain, mean_diff):
    """Each pixel's mean difference and the noise of its residuals, ``(dbar, sigma)``, ``(nints, ny, nx)`` each.

    ``data``, ``groupdq`` ``(nints, ngroups, ny, nx)``; ``mean_diff`` ``(nints, ny, nx)`` or None (module
    docstring: their median, :func:`_median_differences`).  ``sigma`` as :func:`detector_kernels.residual_noise`.
    """
    from .detector_kernels import residual_noise  # here: numba once showers are looked for

    nints, _, ny, nx = data.shape
    med = _median_differences(data, groupdq) if mean_diff is None else mean_diff  # a jump variant without it
    sigma = np.empty((nints, ny, nx))
    residual_noise(groupdq, native(med), np.finfo(med.dtype).max, np.broadcast_to(2 * read_noise**2, (ny, nx)),
                   np.broadcast_to(native(gain), (ny, nx)), np.uint8(dq.UNUSABLE_GROUP), np.uint8(dq.JUMP_DET), sigma)
    return med, sigma


def _median_differences(data, groupdq):
    """Each pixel's median valid difference, ``(nints, ny, nx)`` float32 (NaN without one), by blocks of rows."""
    nints, ngroups, ny, nx = data.shape
    rows = max(1, BLOCK_SAMPLES // max(nints * (ngroups - 1) * nx, 1))
    med = np.empty((nints, ny, nx), np.float32)  # float32 as the differences
    for y0 in range(0, ny, rows):
        ys = slice(y0, y0 + rows)
        d = np.asarray(data[:, 1:, ys], np.float32) - data[:, :-1, ys]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are expected
            med[:, ys] = np.nanmedian(np.where(_valid(groupdq[:, :, ys]), d, np.nan), axis=1)
    return med


def _scores(data, groupdq, k0, k1, med, sigma, boxes):
    """The box scores Z of differences ``k0`` to ``k1 - 1`` of a few integrations.

    ``{box: (nints, k1 - k0, ny/BIN, nx/BIN)}``.  ``data``, ``groupdq`` ``(nints, ngroups, ny, nx)``; ``med``,
    ``sigma`` from :func:`_noise`.
    """
    from .detector_kernels import residual_scores  # here: numba once showers are looked for

    ny, nx = data.shape[2:]
    zsum = np.empty((data.shape[0], k1 - k0, -(-ny // BIN), -(-nx // BIN)))  # z is 0 where m is
    msum = np.empty(zsum.shape, np.float32)
    residual_scores(np.asarray(data[:, k0 : k1 + 1], np.float32), groupdq[:, k0 : k1 + 1],
                     np.asarray(med, np.float32), sigma, np.uint8(dq.UNUSABLE_GROUP), np.uint8(dq.JUMP_DET), BIN,
                     zsum, msum)
    scores = {}
    for box in boxes:
        nbox = max(box // BIN, 1)
        total, count = _box_mean(zsum, nbox), _box_mean(msum, nbox)
        with np.errstate(invalid="ignore", divide="ignore"):
            scores[box] = np.where(count > 0, total * nbox / np.sqrt(count), 0.0)
    return scores


def _shower_region(scores, detect_sigma, extend_sigma, min_area):
    """The binned pixels of the showers in one difference, and how many there are.

    Each box size is tested on its own (fainter showers need larger boxes): a core is a connected
    area above ``detect_sigma`` of at least ``min_area`` pixels, grown to its connected area above
    ``extend_sigma`` and dilated by half the box.  The count is the largest number of cores any one
    box size finds.
    """
    structure = np.ones((3, 3), bool)
    region = np.zeros(next(iter(scores.values())).shape, bool)
    count = 0
    for box, score in scores.items():
        core = score > detect_sigma
        if not core.any():
            continue
        labels, nlabels = ndimage.label(core, structure)
        areas = ndimage.sum(core, labels, np.arange(1, nlabels + 1)) * BIN**2
        keep = np.isin(labels, 1 + np.flatnonzero(areas >= min_area))
        if not keep.any():
            continue
        extended, _ = ndimage.label(score > extend_sigma, structure)
        grown = np.isin(extended, np.unique(extended[keep]))
        region |= ndimage.binary_dilation(grown, iterations=max(max(box // BIN, 1) // 2, 1))
        count = max(count, int(np.unique(labels[keep]).size))
    return region, count


def flag_showers(data, groupdq, read_noise, gain, group_time, mean_diff, *, boxes=(9, 21), detect_sigma=5.0,
                 extend_sigma=3.0, min_area=40, time_masked_after_shower=15.0, out=None):
    """Flag showers (module docstring).

    Parameters
    ----------
    data : (nints, ngroups, ny, nx) float32
        Linearised, dark-subtracted ramps in DN.
    groupdq : (nints, ngroups, ny, nx) uint8
        With the jump step's flags.
    read_noise, gain : (ny, nx) float
        Read noise of one read (DN) and gain (e-/DN).
    group_time : float
        Seconds per group.
    mean_diff : (nints, ny, nx) float or None
        Each pixel's mean jump-free difference from the jump step (None: their median).
    boxes, detect_sigma, extend_sigma, min_area, time_masked_after_shower
        Detection settings (module docstring).
    out : (nints, ngroups, ny, nx) uint8, optional
        Where the flags go (:func:`calibration.into`; ``groupdq`` itself: in place).

    Returns
    -------
    (groupdq, n_showers) or Skip
        ``groupdq`` with shower areas flagged JUMP_DET and the number of showers found,
        or a :class:`~calibration.Skip` for fewer than 3 groups.
    """
    nints, ngroups, ny, nx = data.shape
    if ngroups < 3:
        return Skip(f"showers: {ngroups} groups, one difference (needs >= 3 groups)")
    out = into(out, groupdq)
    found = 0
    after = int(np.ceil(time_masked_after_shower / group_time))
    for i0 in range(0, nints, CHUNK):
        ints = slice(i0, min(i0 + CHUNK, nints))
        n = ints.stop - i0
        # Scores from groupdq before any of these integrations is flagged below (out may be groupdq).
        med, sigma = _noise(data[ints], groupdq[ints], read_noise, gain,
                            None if mean_diff is None else mean_diff[ints])
        masked_until = np.full((n, ny, nx), -1, np.int32)  # last group of each pixel's shower mask
        mask_end = [-1] * n  # the latest of each integration's masks
        step = max(1, BLOCK_SAMPLES // (n * ny * nx))
        for k0 in range(0, ngroups - 1, step):
            k1 = min(k0 + step, ngroups - 1)
            scores = _scores(data[ints], groupdq[ints], k0, k1, med, sigma, boxes)
            candidates = np.any([(s > detect_sigma).any(axis=(1, 2, 3)) for s in scores.values()], axis=0)
            for c in range(n):
                if not candidates[c] and mask_end[c] < k0 + 1:  # no shower, none running: nothing to flag
                    continue
                i = i0 + c
                for k in range(k0, k1):
                    region, showers_here = _shower_region({box: scores[box][c, k - k0] for box in boxes},
                                                          detect_sigma, extend_sigma, min_area)
                    if region.any():
                        region = np.repeat(np.repeat(region, BIN, axis=0), BIN, axis=1)[:ny, :nx]
                        found += showers_here
                        # A detection inside a shower's running mask is its own slow release, not a
                        # new shower: it does not restart the clock (else masks cascade far past it).
                        masked_until[c][region & (masked_until[c] < k + 1)] = k + 1 + after
                        mask_end[c] = max(mask_end[c], k + 1 + after)
                    if mask_end[c] >= k + 1:
                        out[i, k + 1][masked_until[c] >= k + 1] |= np.uint8(dq.JUMP_DET)
    return out, found
