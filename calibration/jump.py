"""Jump detection: two-point differences, iterative rejection, neighbours, showers.

For each pixel and integration the group differences ``d_k = y_k - y_{k-1}`` between
usable groups have, without a jump, mean ``R dt`` and variance
``sigma_d^2 = 2 sigma_r^2 + R dt / g`` (DN^2; sigma_r the read noise of one read), and
adjacent differences share a read (covariance ``-sigma_r^2``).  Each difference is
tested against the mean of the pixel's other valid differences,
``e_k = d_k - (S - d_k)/(n - 1)``, whose variance under no jump is exact (see
:func:`_leave_one_out_z2`; the shot noise comes from the other differences, which a
jump in ``d_k`` has not raised).  Unlike a median reference, whose noise is only
approximately ``pi/(2n)`` of a difference's, this gives the nominal false-flag rate for
any n, and it is cheaper: the largest residual is at the largest or the smallest
difference, so only those two are evaluated.  A residual shared by all pixels of a
block of rows in one difference (a reset transient left by the dark, a drift) is
removed first: it is not a cosmic ray.  The most significant difference is flagged when
above the threshold (4 sigma; 5 with three differences, as the JWST jump step; 4
again with two, where JWST takes 6 because its median reference of two differences is
noisy: ours is exact, and with two differences an undetected jump moves the rate by
1.2-1.7 times its own significance, so at 6 sigma jumps of 4.3-6 sigma left 1.25e-4 of
the pixels of a SLOWR1 5-group FULL exposure with |pull| > 5, at 4 sigma 2.6e-5, for
4e-5 more false flags), removed, and the test repeated on the pixel's remaining differences until
nothing is flagged.  The group after a flagged difference gets JUMP_DET, which starts a
new ramp segment.  Around the centre of a deposit (a jump between 10 and 1000 sigma at
least as large as its 4 neighbours'), the 8 neighbours are flagged in the same group
(charge shared by inter-pixel capacitance), and the rows above and below also in the
group after and before (a hit arriving while the frame is read reaches them one read
apart, :func:`_flag_neighbours`).  The JWST rule flags the 4 neighbours of every such
jump in its group, which reaches the corners of a deposit only through its bright edge
pixels and then also flags a ring of pixels outside it that received nothing: with
MIRI's IPC kernel (:data:`instrument.detector.IPC_KERNEL`: corners read 1.6 % of the
centre, the edges 2.9-4.0 %) an edge pixel passes 10 sigma only when the centre passes
250-350, and the corners of centres below that go unflagged with up to 4 sigma of charge
(``benchmarks/ipc_neighbours.py``).  A ramp of two
groups has one difference and no test: the step declines (SKIPPED, as JWST's).

:func:`refine_with_step_test` then looks for smaller jumps with a likelihood step test
that uses every group, and showers (:mod:`calibration.showers`) are found in the
residuals of the differences.  Memory: rows are processed in blocks (a few integrations
together in the two-point test), so the working set is a few blocks of differences.
"""
import numpy as np

from miri_testbed.instrument import dq

from . import Skip, into

CHUNK_SAMPLES = 300_000  # ramp samples of the integrations tested together (a few MB per temporary: in cache)
SCREEN_MARGIN = np.float32(1.001)  # :func:`_edge_bound`'s float32 rounding: < 1e-5 of it at the threshold


def threshold_for(ndiffs, threshold=4.0, four_group_threshold=5.0, three_group_threshold=4.0):
    """Rejection threshold (sigma) for a pixel with ``ndiffs`` usable differences."""
    return np.where(ndiffs >= 4, threshold, np.where(ndiffs == 3, four_group_threshold, three_group_threshold))


def _medians(values, valid, groups):
    """Median of the valid ``values`` of each group of columns, row by row: ``(nrows, ngroups)``.

    ``values``, ``valid`` ``(nrows, ncols)``; ``groups`` ``(ncols,)`` the group of each column,
    ascending from 0.  As ``np.median`` takes it (the middle value, or the mean of the two middle
    ones; NaN where none is valid), for all groups in one sort.
    """
    ngroups = groups[-1] + 1 if groups.size else 0
    sizes = np.bincount(groups, minlength=ngroups)
    place = np.arange(groups.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    table = np.full((values.shape[0], ngroups, sizes.max(initial=0)), np.nan)
    table[:, groups, place] = np.where(valid, values, np.nan)
    table.sort(axis=-1)  # NaN last
    n = np.count_nonzero(~np.isnan(table), axis=-1)  # valid values (the ramps are finite)
    low = np.take_along_axis(table, ((n - 1) // 2)[..., None], axis=-1)[..., 0]
    high = np.take_along_axis(table, (n // 2)[..., None], axis=-1)[..., 0]
    return (low + high) / 2  # an odd count: (x + x) / 2 = x; none: NaN (the last entry)


def _median_rows(x):
    """``np.median(x, axis=1, keepdims=True)`` of a 2-D ``x``, bit for bit (NaN where a row has one), from one sort.

    np.median's own Python overhead was most of its cost in :func:`refine_with_step_test`, which
    takes one per integration and row block (7000 in a 1000-integration SLITLESSPRISM TSO).
    """
    s = np.sort(x, axis=1)  # NaN last
    n = s.shape[1]
    middle = (s[:, (n - 1) // 2] + s[:, n // 2]) / 2  # np.median's mean of the middle one or two, in x's dtype
    return np.where(np.isnan(s[:, -1]), np.nan, middle)[:, None]


def _common_step(d, valid, tested):
    """Each difference's median residual over every 7th tested pixel of each integration, ``(nd, nints)``.

    ``d``, ``valid`` ``(nd, nints, npix)``, ``tested`` ``(nints, npix)``.  A pixel's residual is its
    difference minus the mean of its valid ones; NaN where an integration has no valid residual, 0
    where it has no tested pixel.
    """
    nd, nints, npix = d.shape
    if tested.all():  # the usual case: the sample is strided, and with every difference of it valid, no table
        if valid[:, :, ::7].all():
            # Laid out as below's (a pixel's differences together: summed pairwise, not row after row).
            dd = np.moveaxis(d[:, :, ::7], 0, -1).copy().reshape(-1, nd).T
            residual = np.sort((dd - dd.sum(axis=0) / np.int64(nd)).reshape(nd, nints, -1))  # float64, as below
            n = residual.shape[-1]
            if not np.isnan(residual[..., -1]).any():  # (a NaN, sorted last, is a missing value below)
                return (residual[..., (n - 1) // 2] + residual[..., n // 2]) / 2  # np.median's middle value(s)
    rank = np.cumsum(tested, axis=1) - 1  # place among the integration's pixels tested
    sample = np.flatnonzero(tested & (rank % 7 == 0))
    d2, v2 = d.reshape(nd, -1), valid.reshape(nd, -1)
    dd, vv = d2[:, sample], v2[:, sample]
    centre = np.where(vv, dd, 0).sum(axis=0) / np.maximum(vv.sum(axis=0), 1)
    present = tested.any(axis=1)
    common = np.zeros((nd, nints))
    common[:, present] = _medians(dd - centre, vv, (np.cumsum(present) - 1)[sample // npix])
    return common


def _leave_one_out_z2(d, k, valid, n, total, rn2, gain, adjacent=None, pairs=None):
    """Squared significance of difference ``k`` against the mean of the pixel's other differences.

    Under no jump, for one difference per pixel: ``e_k = d_k - (S - d_k)/(n - 1)`` over the
    pixel's other valid differences.

    With ``sigma_d^2 = 2 sigma_r^2 + P`` (P: shot noise of one difference, from the
    other differences' mean rate) and adjacent differences sharing a read
    (covariance ``-sigma_r^2``) the variance is exact:
    ``var e_k = sigma_d^2 n/(n-1) + 2 sigma_r^2 [a_k/(n-1) - (A - a_k)/(n-1)^2]``,
    ``a_k`` the valid neighbours of difference k, ``A`` the adjacent valid pairs (both
    taken from ``valid`` unless given).
    """
    cols = np.arange(k.size)
    m = np.maximum(n - 1, 1)
    others = (total - d) / m
    e = d - others
    if adjacent is None:
        last = valid.shape[0] - 1
        adjacent = (valid[np.maximum(k - 1, 0), cols] & (k > 0)).astype(np.int32) + (
            valid[np.minimum(k + 1, last), cols] & (k < last))
        pairs = (valid[1:] & valid[:-1]).sum(axis=0)
    var = (2 * rn2 + np.clip(others, 0, None) / gain) * n / m + 2 * rn2 * (adjacent / m - (pairs - adjacent) / m**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid[k, cols], e * e / var, 0.0)


def _edge_bound(d, total, n, rn2, gain):
    """An upper bound of :func:`_leave_one_out_z2` of every one of ``n`` valid differences ``d`` ``(n, npix)``, float32.

    The residual from the others' mean is largest at the largest or the smallest difference; the bound is the larger
    of their two residuals squared over the smaller of their variances (the largest difference's: its others' mean is
    the smaller), each at the first difference (one neighbour: the smallest variance any position can have).  It only
    screens the pixels (those above the threshold by it go on to the exact test), so it is taken in float32 (half the
    traffic of float64, one variance, not two) and raised by :data:`SCREEN_MARGIN`, far more than float32's rounding
    can lower it: no pixel above the threshold is screened out.  ``rn2``, ``gain``: float32.
    """
    m = np.float32(max(n - 1, 1))
    high, low = d.max(axis=0), d.min(axis=0)
    others = (total - high) / m  # the smaller of the two others' means
    e = np.maximum(high - others, (total - low) / m - low)  # both residuals are >= 0
    var = np.clip(others, 0, None, out=others)
    var /= gain
    var += 2 * rn2
    var *= np.float32(n) / m
    var += 2 * rn2 / m**2  # 2 sigma_r^2 (1/m - (n - 2)/m^2): the read shared with one neighbour
    e *= e
    with np.errstate(invalid="ignore"):  # 0 / 0 where a pixel has neither noise nor a deviation (noise-free data):
        e /= var  # NaN, above no threshold, as the exact test says of it
    e *= SCREEN_MARGIN
    return e


def _block_jumps(y, usable, read_noise, gain, thresholds, neighbour_range):
    """Jumps in a block of rows of a few integrations, and each pixel's mean jump-free difference.

    ``y``, ``usable`` ``(nints, ngroups, rows, nx)``; ``read_noise``, ``gain`` ``(rows, nx)``.  The
    jumps as flat arrays (difference index, integration, pixel index in the block, whether its
    neighbours get flagged too: significance within ``neighbour_range``), and each pixel's mean
    jump-free difference ``(nints, rows, nx)``.  Every pixel of every integration is tested on its
    own (the integrations together: one call per block of rows, not per integration); only the
    common step below is taken per integration.
    """
    nints = y.shape[0]
    y, usable = np.swapaxes(y, 0, 1), np.swapaxes(usable, 0, 1)  # (ngroups, nints, rows, nx)
    valid = usable[1:] & usable[:-1]
    # Differences unusable in every pixel at either end (the first and last frames that MIRI's
    # steps drop) are left out (not even computed), so that the remaining ones are all valid in
    # most pixels and the faster all-valid paths below apply; none of them is between two kept
    # differences, so adjacency (shared reads) is unchanged.
    used = np.flatnonzero(valid.reshape(valid.shape[0], -1).any(axis=1))
    first, last = (used[0], used[-1]) if used.size else (0, valid.shape[0] - 1)
    valid = valid[first : last + 1]
    d = np.subtract(y[first + 1 : last + 2], y[first : last + 1], out=np.empty(valid.shape, y.dtype))  # C order:
    nd = d.shape[0]  # columns contiguous per difference
    found = []
    d2 = d.reshape(nd, -1)  # columns: integration-major, then pixel
    v2 = valid.reshape(nd, -1)
    npix = d2.shape[1] // nints
    rn2 = np.tile((read_noise**2).ravel(), nints)
    g = np.tile(gain.ravel(), nints)
    rn2_32, g_32 = rn2.astype(np.float32), g.astype(np.float32)  # for the first pass's bound
    nvalid = v2.sum(axis=0)
    lim = threshold_for(nvalid, *thresholds)
    means = np.full(d2.shape[1], np.nan, np.float32)
    tested = (nvalid >= 2).reshape(nints, npix)
    todo = np.flatnonzero(tested)  # pixels still being tested
    if todo.size:
        # A step shared by the whole block in one difference of one integration (a reset transient
        # the dark did not remove, a drift) is not a cosmic ray: each difference's median residual
        # over the block's pixels is taken out first (every 7th pixel estimates it well enough).
        common = _common_step(d2.reshape(nd, nints, npix), v2.reshape(nd, nints, npix), tested)
        d2.reshape(nd, nints, npix)[...] -= np.nan_to_num(common).astype(d2.dtype)[..., None]
    screened = False
    while todo.size:
        dd, vv = (d2, v2) if todo.size == d2.shape[1] else (d2[:, todo], v2[:, todo])
        n = vv.sum(axis=0)
        if not screened and vv.all():
            # First pass over every pixel: the extreme differences' significance with the
            # smallest variance any position can have (a ramp end, one neighbour) bounds
            # it from above, from three fast reductions; only pixels above the threshold by
            # that bound go on to the exact test (locating a maximum costs more than finding it).
            screened = True
            total = dd.sum(axis=0)
            means[todo] = total / np.maximum(n, 1)
            bound = _edge_bound(dd, total, nd, *((rn2_32, g_32) if todo.size == d2.shape[1] else
                                                 (rn2_32[todo], g_32[todo])))
            todo = todo[(bound > lim[todo] ** 2) & (n >= 2)]
            continue
        if vv.all():
            total, high, low = dd.sum(axis=0), np.argmax(dd, axis=0), np.argmin(dd, axis=0)
        else:
            total = np.where(vv, dd, 0).sum(axis=0)
            high, low = np.argmax(np.where(vv, dd, -np.inf), axis=0), np.argmin(np.where(vv, dd, np.inf), axis=0)
        means[todo] = total / np.maximum(n, 1)
        # The residual from the others' mean is largest at the largest or the smallest
        # difference; only those two are tested (the exact variance barely depends on k).
        cols = np.arange(todo.size)
        z_high, z_low = (_leave_one_out_z2(dd[k, cols], k, vv, n, total, rn2[todo], g[todo]) for k in (high, low))
        k = np.where(z_high >= z_low, high, low)
        zmax = np.sqrt(np.maximum(z_high, z_low))
        hit = (zmax > lim[todo]) & (n >= 2)
        if not hit.any():
            break
        pix, kk = todo[hit], k[hit]
        v2[kk, pix] = False
        found.append((kk, pix, (zmax[hit] > neighbour_range[0]) & (zmax[hit] < neighbour_range[1])))
        todo = pix
    empty = (np.zeros(0, int),) * 2 + (np.zeros(0, bool),)
    k, pix, strong = (np.concatenate(a) for a in zip(*found, strict=True)) if found else empty
    return k + first, pix, strong, means.reshape(d.shape[1:])


def _deposit_centres(i, k, y, x, data, means):
    """The strong jumps that are centres of charge deposits, not their edges.

    Those of ``(i, k, y, x)`` (integration, difference, row, column) with an excess
    over their pixel's mean jump-free difference at least that of each of their 4
    neighbours in the same difference: the centres of charge deposits, not their edges.
    """
    ny, nx = data.shape[2:]

    def excess(yy, xx):
        return data[i, k + 1, yy, xx].astype(np.float64) - data[i, k, yy, xx] - np.nan_to_num(means[i, yy, xx])

    step = excess(y, x)
    keep = np.ones(k.size, bool)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        keep &= step >= excess(np.clip(y + dy, 0, ny - 1), np.clip(x + dx, 0, nx - 1))
    return keep


def detect_jumps(data, groupdq, read_noise, gain, group_time=None, *, threshold=4.0, four_group_threshold=5.0,
                 three_group_threshold=4.0, neighbour_min_sigma=10.0, neighbour_max_sigma=1000.0, block_rows=64,
                 out=None):
    """Two-point jump detection (module docstring).

    Parameters
    ----------
    data : (nints, ngroups, ny, nx) float32
        Linearised, dark-subtracted ramps in DN.
    groupdq : (nints, ngroups, ny, nx) uint8
    read_noise, gain : (ny, nx) float
        Read noise of one read (DN) and gain (e-/DN).
    group_time : float, optional
        Unused (the step's signature).
    threshold, four_group_threshold, three_group_threshold, neighbour_min_sigma, neighbour_max_sigma, block_rows
        Detection settings (module docstring).
    out : (nints, ngroups, ny, nx) uint8, optional
        Where the flags go (:func:`calibration.into`; ``groupdq`` itself: in place).

    Returns
    -------
    (groupdq, means) or Skip
        ``groupdq`` with JUMP_DET on the group after each detected jump, and each
        pixel's mean jump-free difference (DN per group) ``(nints, ny, nx)``; or a
        :class:`~calibration.Skip` for a ramp of fewer than 3 groups, whose one
        difference has nothing to be compared with (JWST's jump step is then SKIPPED).
    """
    nints, ngroups, ny, nx = data.shape
    if ngroups < 3:
        return Skip(f"jump: {ngroups} groups, one difference: nothing to compare it with (needs >= 3 groups)")
    out = into(out, groupdq)
    means = np.full((nints, ny, nx), np.nan, np.float32)
    thresholds = (threshold, four_group_threshold, three_group_threshold)
    read_noise = np.broadcast_to(np.asarray(read_noise, np.float64), (ny, nx))
    gain = np.broadcast_to(np.asarray(gain, np.float64), (ny, nx))
    flag = np.uint8(dq.JUMP_DET)
    found = []
    for r0 in range(0, ny, block_rows):
        rows = slice(r0, min(r0 + block_rows, ny))
        npix = (rows.stop - r0) * nx
        chunk = max(1, CHUNK_SAMPLES // (ngroups * npix))
        for i0 in range(0, nints, chunk):
            ints = slice(i0, min(i0 + chunk, nints))
            usable = (groupdq[ints, :, rows] & dq.UNUSABLE_GROUP) == 0
            k, col, strong, means[ints, rows] = _block_jumps(
                np.asarray(data[ints, :, rows], np.float32), usable, read_noise[rows], gain[rows], thresholds,
                (neighbour_min_sigma, neighbour_max_sigma))
            pix = col % npix
            found.append((col // npix + i0, k, pix // nx + r0, pix % nx, strong))
    i, k, y, x, strong = (np.concatenate(a) for a in zip(*found, strict=True))
    out[i, k + 1, y, x] |= flag
    centre = np.flatnonzero(strong)[_deposit_centres(i[strong], k[strong], y[strong], x[strong], data, means)]
    _flag_neighbours(out, i[centre], k[centre] + 1, y[centre], x[centre], flag)
    return out, means


def _flag_neighbours(gdq, i, group, y, x, flag):
    """Flag the 8 neighbours of deposit centres ``(i, group, y, x)`` in ``gdq`` ``(nints, ngroups, ny, nx)``, in place.

    Inter-pixel capacitance shows a deposit's charge in its neighbours as it arrives, and
    each pixel sees it at its own next read.  Rows are read in order of increasing y
    (:func:`instrument.readout.read_offset_clocks`), so a hit arriving between the reads
    of rows y - 1 and y appears in row y - 1 one group after the centre, and one arriving
    between the reads of rows y and y + 1 appears in row y + 1 one group before: those two
    rows are flagged in both groups (the charge is too small there to be found by itself).
    """
    ngroups, ny, nx = gdq.shape[1:]
    for dy in (-1, 0, 1):
        groups = (group,) if dy == 0 else (group, group - dy)
        for dx in (-1, 0, 1):
            yy, xx = y + dy, x + dx
            for g in groups:
                ok = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx) & (g >= 1) & (g < ngroups)
                gdq[i[ok], g[ok], yy[ok], xx[ok]] |= flag


def _step_coefficients(times):
    """Rows ``c_k`` with ``J_k = c_k . y``, the level shift at group k (k = 1 .. n-1).

    The shift of a ramp fitted with one slope and separate intercepts before and after k.

    Each row is a combination of the design's columns, ``c_k = a_k + b_k t + g_k [j >= k]``,
    so ``J_k = a_k sum(y) + b_k sum(t y) + g_k sum_{j>=k} y``: returned as ``(c, a, b, g)``,
    the last three let the step be computed in O(n) per pixel instead of O(n^2).
    """
    n = times.size
    rows, combos = [], []
    for k in range(1, n):
        after = np.arange(n) >= k
        design = np.column_stack([~after, after, times]).astype(float)
        solve = np.linalg.solve(design.T @ design, design.T)
        rows.append(solve[1] - solve[0])
        combos.append(np.linalg.lstsq(np.column_stack([np.ones(n), times, after]), rows[-1], rcond=None)[0])
    combos = np.array(combos)
    return np.array(rows), combos[:, 0], combos[:, 1], combos[:, 2]


def refine_with_step_test(data, groupdq, read_noise, gain, group_time, means, threshold=4.5, block_rows=64,
                          out=None):
    """Flag jumps the two-point test missed, with the likelihood test for a step.

    For a ramp with no jump yet, a step J at group k is estimated by fitting one slope
    and two intercepts (before and after k): ``J_k = c_k . y``.  Its noise is exact,
    ``var J_k = sigma_r^2 |c_k|^2 + (R/g) sum_j dt_j C_kj^2`` (C: reverse cumulative sums
    of c_k), and it uses every group, so it is about twice as sensitive as a single
    difference in the middle of a long ramp.  The largest positive ``J_k / sigma``
    above ``threshold`` (one-sided: cosmic rays add charge) is flagged.  Ramps that
    already have a jump or other flags are left to the two-point result.  ``means``
    (DN per group, from :func:`detect_jumps`) give the rate for the shot noise.  ``out``:
    where the flags go (:func:`calibration.into`; ``groupdq`` itself: in place).
    """
    from .detector_kernels import step_estimates, step_hits, usable_counts  # here: numba once jumps are refined

    nints, ngroups, ny, nx = data.shape
    out = into(out, groupdq)
    if ngroups < 5:
        return out
    rn2 = np.broadcast_to(np.asarray(read_noise, np.float32), (ny, nx)).ravel() ** 2
    gain = np.broadcast_to(np.asarray(gain, np.float32), (ny, nx)).ravel()
    times = group_time * np.arange(1, ngroups + 1)
    made = {}  # the step's coefficients for each set of groups used (most integrations share one)

    def coefficients(base):
        coeffs, a, b, c = (v.astype(np.float32) for v in _step_coefficients(times[base]))
        t32 = times[base].astype(np.float32)
        tail = np.cumsum(coeffs[:, ::-1], axis=1)[:, ::-1]
        return a, b, c, t32, (coeffs**2).sum(axis=1), (tail[:, 1:] ** 2) @ np.diff(t32)

    for i in range(nints):
        usable = 2 * usable_counts(groupdq[i].reshape(ngroups, -1), np.uint8(dq.UNUSABLE_GROUP)) > ny * nx  # most
        base = np.flatnonzero(usable)
        if base.size < 5 or base[-1] - base[0] + 1 != base.size:
            continue
        key = base.tobytes()
        if key not in made:
            made[key] = coefficients(base)
        a, b, c, t32, norm2, pfac = made[key]
        used = slice(base[0], base[-1] + 1)  # base is a run of groups: views, not copies
        gdq = groupdq[i]
        clean = (~np.any(gdq[used], axis=0) & np.all(gdq[: used.start] != 0, axis=0)
                 & np.all(gdq[used.stop :] != 0, axis=0))  # no flag in base, flags in every other group
        # Several row blocks at once, the whole frame of a subarray (one block at a time, Python's overhead
        # was a third of the step in a 1000-integration SLITLESSPRISM TSO), up to CHUNK_SAMPLES (a FULL
        # frame of 100 groups: one block, as before, not 400 MB per temporary).
        rows_at_once = block_rows * max(1, CHUNK_SAMPLES // (base.size * block_rows * nx))
        for r0 in range(0, ny, rows_at_once):
            rows = slice(r0, min(r0 + rows_at_once, ny))
            cols = np.flatnonzero(clean[rows])
            if not cols.size:
                continue
            # Every pixel (most are clean: a copy is cheaper than picking them; the others' values are not used).
            # The step does not depend on an offset; the sums keep their precision.
            y = np.subtract(data[i, used, rows], data[i, used.start, rows], dtype=np.float32).reshape(base.size, -1)
            rate = np.clip(np.nan_to_num(means[i, rows].ravel()) / np.float32(group_time), 0, None)
            # Float32 (the costliest part of the step): sums of offset-free reads lose
            # ~1e-7 of the signal, far below its shot noise.
            step = np.empty((base.size - 1, y.shape[1]), np.float32)
            step_estimates(y, a, b, c, t32 @ y, step)
            edges = np.searchsorted(cols, np.arange(0, rows.stop - r0 + block_rows, block_rows) * nx)
            for start, stop in zip(edges[:-1], edges[1:], strict=True):  # a step common to a block: no cosmic ray
                if stop > start:
                    step[:, cols[start] : cols[stop - 1] + 1] -= _median_rows(step[:, cols[start:stop:7]])
            pixels = slice(r0 * nx, rows.stop * nx)  # one-sided below: cosmic rays add charge
            k = step_hits(step, norm2, pfac, rn2[pixels], rate / gain[pixels], clean[rows].ravel(),
                          np.float32(threshold**2))  # compared in float32, as numpy compares float32 z
            hit = np.flatnonzero(k >= 0)
            out[i, base[1:][k[hit]], hit // nx + r0, hit % nx] |= np.uint8(dq.JUMP_DET)
    return out


def detect_jumps_likelihood(data, groupdq, read_noise, gain, group_time=None, **kwargs):
    """Two-point detection (:func:`detect_jumps`), then :func:`refine_with_step_test` on its flags in place.

    Parameters
    ----------
    data, groupdq, read_noise, gain, group_time, **kwargs
        As :func:`detect_jumps` (``out`` included).

    Returns
    -------
    (groupdq, means) or Skip
        As :func:`detect_jumps`.
    """
    found = detect_jumps(data, groupdq, read_noise, gain, group_time, **kwargs)
    if isinstance(found, Skip):
        return found
    out, means = found
    return refine_with_step_test(data, out, read_noise, gain, group_time, means, out=out), means
