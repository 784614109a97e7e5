"""Jump detection: two-point differences, iterative rejection, neighbours, showers.

For each pixel and integration the group differences ``d_k = y_k - y_{k-1}`` between
usable groups have, without a jump, mean ``R dt`` and standard deviation

    sigma_d = sqrt(2 sigma_r^2 + max(median(d), 0) / g)       (DN; Poisson in DN^2 = R dt / g)

with sigma_r the read noise of one read; ``d - median(d)`` has the variance of d plus
that of the median of the pixel's n differences, ``pi/(2n)`` times it, so the test uses
``sigma_d sqrt(1 + pi/(2n))`` (without it, short ramps flag several times too often);
with two differences (three groups) the median is their mean and the test is the exact
``|d1 - d2| / sqrt(2) sigma_d``.  A residual shared by all pixels of a block of rows in
one difference (a reset transient left by the dark, a drift) is removed first: it is
not a cosmic ray.  The difference with the largest
``|d_k - median(d)| / sigma_d`` is flagged when above the threshold (4 sigma; 5 with
three differences, 6 with two, as the JWST jump step), removed, and the test repeated
on the pixel's remaining differences until nothing is flagged.  The group after a
flagged difference gets JUMP_DET, which starts a new ramp segment.  Around the centre
of a deposit (a jump between 10 and 1000 sigma at least as large as its 4 neighbours'),
the 8 neighbours are flagged in the same group (charge shared by inter-pixel coupling).
The JWST rule flags the 4 neighbours of every such jump, which reaches the corners of a
deposit only through its bright edge pixels and then also flags a ring of pixels
outside it that received nothing.  A ramp of two groups has one difference and no
test (documented, not an error).

Showers (:func:`flag_showers`) are found afterwards in the residuals of the differences.
Memory: rows are processed in blocks, so the working set is a few blocks of differences.
"""
import warnings

import numpy as np

from instrument import dq



def threshold_for(ndiffs, threshold=4.0, four_group_threshold=5.0, three_group_threshold=6.0):
    """Rejection threshold (sigma) for a pixel with ``ndiffs`` usable differences."""
    return np.where(ndiffs >= 4, threshold, np.where(ndiffs == 3, four_group_threshold, three_group_threshold))


def _median(values, valid):
    """Per-pixel median over axis 0 of the valid entries (NaN where none)."""
    if valid.all():
        return np.median(values, axis=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are expected
        return np.nanmedian(np.where(valid, values, np.nan), axis=0)


def _block_jumps(y, usable, read_noise, gain, thresholds, neighbour_range):
    """Jumps in one integration of a block: boolean ``(ndiffs, ny, nx)``, the jumps whose
    neighbours get flagged too (significance within ``neighbour_range``), and medians."""
    d = np.diff(y, axis=0)
    valid = usable[1:] & usable[:-1]
    jumps = np.zeros(d.shape, bool)
    strong = np.zeros(d.shape, bool)
    medians = np.full(d.shape[1:], np.nan)
    m2 = medians.reshape(-1)
    ndiffs = valid.sum(axis=0)
    limit = threshold_for(ndiffs, *thresholds)
    todo = np.flatnonzero((ndiffs >= 2).ravel())  # pixels still being tested
    d2 = d.reshape(d.shape[0], -1)
    v2 = valid.reshape(valid.shape[0], -1)
    rn2 = (read_noise**2).ravel()
    g = gain.ravel()
    lim = limit.ravel()
    if todo.size:
        # A step shared by the whole block in one difference (a reset transient the dark
        # did not remove, a drift) is not a cosmic ray: each difference's median residual
        # over the block's pixels is taken out first.
        # (Every 7th pixel estimates it well enough and costs a seventh.)
        sample = todo[::7]
        dd, vv = d2[:, sample], v2[:, sample]
        common = _median(np.ascontiguousarray((dd - _median(dd, vv)).T), np.ascontiguousarray(vv.T))
        d2 = d2 - np.nan_to_num(common)[:, None]
    while todo.size:
        dd, vv = d2[:, todo], v2[:, todo]
        med = _median(dd, vv)
        m2[todo] = med
        # d - median has the variance of d plus that of the median of n values, ~pi/(2n) of
        # it; with two differences the median is their mean and d - mean = +-(d1 - d2)/2.
        # (Its shot noise then comes from the smaller difference, which a jump has not raised.)
        n = np.maximum(vv.sum(axis=0), 1)
        inflation = np.where(n == 2, 0.5, 1 + np.pi / (2 * n))
        level = np.where(n == 2, np.min(np.where(vv, dd, np.inf), axis=0), med)
        sigma = np.sqrt((2 * rn2[todo] + np.clip(level, 0, None) / g[todo]) * inflation)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(vv, np.abs(dd - med) / sigma, 0.0)
        # Two differences are equally far from their mean: the larger one holds the jump
        # (cosmic rays add charge), so ties go to positive deviations.
        k = np.argmax(z + 1e-6 * np.sign(dd - med), axis=0)
        zmax = z[k, np.arange(todo.size)]
        hit = (zmax > lim[todo]) & (vv.sum(axis=0) >= 2)
        if not hit.any():
            break
        pix, kk = todo[hit], k[hit]
        v2[kk, pix] = False
        jumps.reshape(jumps.shape[0], -1)[kk, pix] = True
        strong.reshape(jumps.shape[0], -1)[kk, pix] = (zmax[hit] > neighbour_range[0]) & (zmax[hit] < neighbour_range[1])
        todo = pix
    return jumps, strong, medians


def _local_maxima(strong, ramp, medians):
    """The ``strong`` jumps whose excess over their pixel's median difference is at least
    that of each of their 4 neighbours in the same difference: the centres of charge
    deposits, not their edges."""
    k, y, x = np.nonzero(strong)
    ny, nx = strong.shape[1:]
    med = np.nan_to_num(medians)

    def excess(yy, xx):
        return ramp[k + 1, yy, xx].astype(np.float64) - ramp[k, yy, xx] - med[yy, xx]

    step = excess(y, x)
    keep = np.ones(k.size, bool)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        keep &= step >= excess(np.clip(y + dy, 0, ny - 1), np.clip(x + dx, 0, nx - 1))
    out = np.zeros_like(strong)
    out[k[keep], y[keep], x[keep]] = True
    return out


def _flag_neighbours(jumps, centres):
    """Add the 8 neighbours of the deposit ``centres`` (same difference)."""
    out = jumps
    grown = centres.copy()
    grown[:, 1:, :] |= centres[:, :-1, :]
    grown[:, :-1, :] |= centres[:, 1:, :]
    out |= grown
    out[:, :, 1:] |= grown[:, :, :-1]
    out[:, :, :-1] |= grown[:, :, 1:]
    return out


def detect_jumps(data, groupdq, read_noise, gain, group_time=None, *, threshold=4.0, four_group_threshold=5.0,
                 three_group_threshold=6.0, neighbour_min_sigma=10.0, neighbour_max_sigma=1000.0, block_rows=64):
    """Return ``groupdq`` with JUMP_DET set on the group after each detected jump, and
    each pixel's median jump-free difference (DN per group) ``(nints, ny, nx)``.

    ``data`` are linearised, dark-subtracted ramps in DN ``(nints, ngroups, ny, nx)``;
    ``read_noise`` is the read noise of one read (DN), ``gain`` e-/DN.
    """
    nints, ngroups, ny, nx = data.shape
    out = groupdq.copy()
    medians = np.full((nints, ny, nx), np.nan, np.float32)
    if ngroups < 3:
        if ngroups == 2:
            medians[:] = data[:, 1] - data[:, 0]
        return out, medians
    thresholds = (threshold, four_group_threshold, three_group_threshold)
    read_noise = np.broadcast_to(np.asarray(read_noise, np.float64), (ny, nx))
    gain = np.broadcast_to(np.asarray(gain, np.float64), (ny, nx))
    for i in range(nints):
        jumps = np.zeros((ngroups - 1, ny, nx), bool)
        strong = np.zeros((ngroups - 1, ny, nx), bool)
        for r0 in range(0, ny, block_rows):
            rows = slice(r0, min(r0 + block_rows, ny))
            usable = (groupdq[i, :, rows] & dq.UNUSABLE_GROUP) == 0
            j, s, m = _block_jumps(data[i, :, rows].astype(np.float32), usable, read_noise[rows], gain[rows],
                                   thresholds, (neighbour_min_sigma, neighbour_max_sigma))
            jumps[:, rows], strong[:, rows], medians[i, rows] = j, s, m
        jumps = _flag_neighbours(jumps, _local_maxima(strong, data[i], medians[i]))
        out[i, 1:] |= np.where(jumps, np.uint8(dq.JUMP_DET), np.uint8(0))
    return out, medians


def _step_coefficients(times):
    """Rows ``c_k`` with ``J_k = c_k . y``: the level shift at group k of a ramp fitted with
    one slope and separate intercepts before and after k (k = 1 .. n-1)."""
    n = times.size
    rows = []
    for k in range(1, n):
        design = np.column_stack([np.arange(n) < k, np.arange(n) >= k, times]).astype(float)
        solve = np.linalg.solve(design.T @ design, design.T)
        rows.append(solve[1] - solve[0])
    return np.array(rows)


def refine_with_step_test(data, groupdq, read_noise, gain, group_time, medians, threshold=4.5, block_rows=64):
    """Flag jumps the two-point test missed, with the likelihood test for a step.

    For a ramp with no jump yet, a step J at group k is estimated by fitting one slope
    and two intercepts (before and after k): ``J_k = c_k . y``.  Its noise is exact,
    ``var J_k = sigma_r^2 |c_k|^2 + (R/g) sum_j dt_j C_kj^2`` (C: reverse cumulative sums
    of c_k), and it uses every group, so it is about twice as sensitive as a single
    difference in the middle of a long ramp.  The largest positive ``J_k / sigma``
    above ``threshold`` (one-sided: cosmic rays add charge) is flagged.  Ramps that
    already have a jump or other flags are left to the two-point result.  ``medians``
    (DN per group, from :func:`detect_jumps`) give the rate for the shot noise.
    """
    nints, ngroups, ny, nx = data.shape
    out = groupdq.copy()
    if ngroups < 5:
        return out
    read_noise = np.broadcast_to(np.asarray(read_noise, np.float64), (ny, nx))
    gain = np.broadcast_to(np.asarray(gain, np.float64), (ny, nx))
    times = group_time * np.arange(1, ngroups + 1)
    for i in range(nints):
        usable = ((groupdq[i] & dq.UNUSABLE_GROUP) == 0).mean(axis=(1, 2)) > 0.5
        base = np.flatnonzero(usable)
        if base.size < 5 or base[-1] - base[0] + 1 != base.size:
            continue
        coeffs = _step_coefficients(times[base])
        norm2 = (coeffs**2).sum(axis=1)
        tail = np.cumsum(coeffs[:, ::-1], axis=1)[:, ::-1]
        pfac = (tail[:, 1:] ** 2) @ np.diff(times[base])
        for r0 in range(0, ny, block_rows):
            rows = slice(r0, min(r0 + block_rows, ny))
            gdq = groupdq[i, :, rows]
            clean = ~np.any(gdq[base], axis=0) & ~np.any(np.delete(gdq, base, axis=0) == 0, axis=0)
            if not clean.any():
                continue
            y = data[i, :, rows][base][:, clean].astype(np.float64)
            rate = np.clip(np.nan_to_num(medians[i, rows][clean]) / group_time, 0, None)
            step = coeffs @ y
            step -= np.median(step[:, ::7], axis=1, keepdims=True)  # a step common to all pixels is no cosmic ray
            sigma = np.sqrt(read_noise[rows][clean] ** 2 * norm2[:, None] + rate / gain[rows][clean] * pfac[:, None])
            with np.errstate(invalid="ignore", divide="ignore"):
                z = np.nan_to_num(step / sigma)
            k = np.argmax(z, axis=0)
            hit = z[k, np.arange(k.size)] > threshold
            if hit.any():
                ys, xs = np.nonzero(clean)
                out[i, base[1:][k[hit]], ys[hit] + r0, xs[hit]] |= np.uint8(dq.JUMP_DET)
    return out


def detect_jumps_likelihood(data, groupdq, read_noise, gain, group_time=None, **kwargs):
    """Two-point detection (:func:`detect_jumps`), then :func:`refine_with_step_test`."""
    out, medians = detect_jumps(data, groupdq, read_noise, gain, group_time, **kwargs)
    return refine_with_step_test(data, out, read_noise, gain, group_time, medians), medians
