"""Numba kernels of the detector steps (:mod:`jump`, :mod:`showers`, :mod:`ramp_fit`).

Imported by the steps when they first run; compiled once (~3.5 s, cached beside this file), a process's first call
of any numba kernel costs ~0.3 s CPU.  Each kernel fuses numpy passes over the ramps and their temporaries, in
numpy's dtypes and order unless its docstring says otherwise.
"""
import numba
import numpy as np


@numba.njit(cache=True)
def step_estimates(y, a, b, c, weighted, step):
    """The step at each group k, ``J_k = (a_k + c_k) S + b_k W - c_k B_k`` (:func:`jump.refine_with_step_test`).

    Into ``step`` ``(n - 1, npix)``; ``y`` ``(n, npix)`` the offset-free reads, ``S = sum_j y_j``, ``W = t . y``
    (``weighted``), ``B_k = sum_{j<=k} y_j``; ``a``, ``b``, ``c`` ``(n - 1,)`` (:func:`jump._step_coefficients`).
    All float32, in the order of the numpy expressions it replaces (the same values): one pass, not a temporary per
    term.
    """
    n, npix = y.shape
    total, before = y[0].copy(), y[0].copy()  # row by row: the inner loops run along the pixels (SIMD)
    for j in range(1, n):
        for p in range(npix):
            total[p] += y[j, p]
    for k in range(n - 1):
        if k > 0:
            for p in range(npix):
                before[p] += y[k, p]
        ac = a[k] + c[k]
        for p in range(npix):
            step[k, p] = (ac * total[p] + b[k] * weighted[p]) - c[k] * before[p]


@numba.njit(cache=True, error_model="numpy")
def step_hits(step, norm2, pfac, rn2, rate_over_gain, clean, limit2):
    """For each ``clean`` pixel the group k of the largest ``z_k = max(J_k, 0)^2 / var_k`` if above ``limit2``, else -1.

    ``var_k = |c_k|^2 sigma_r^2 + pfac_k R/g`` (``norm2``, ``pfac`` ``(n - 1,)``; ``rn2``, ``rate_over_gain``
    ``(npix,)``; all float32, as :func:`jump.refine_with_step_test`'s arrays).  A NaN z leaves its pixel unflagged
    (numpy's maximum is NaN); the first of equal maxima is taken (numpy's argmax).
    """
    nk, npix = step.shape
    best = np.full(npix, -np.inf, np.float32)
    found = np.full(npix, -1, np.int64)
    nan = np.zeros(npix, np.bool_)
    for k in range(nk):  # group by group: the inner loop runs along the pixels (SIMD)
        for p in range(npix):
            s = step[k, p]
            if s < 0:
                s = np.float32(0)
            z = (s * s) / (norm2[k] * rn2[p] + pfac[k] * rate_over_gain[p])
            nan[p] |= np.isnan(z)
            if z > best[p]:
                best[p], found[p] = z, k
    for p in range(npix):
        if not clean[p] or nan[p] or not best[p] > limit2:
            found[p] = -1
    return found


@numba.njit(cache=True)
def usable_counts(groupdq, unusable):
    """How many pixels of each row of ``groupdq`` ``(n, npix)`` (a group's flags) have no ``unusable`` flag."""
    n, npix = groupdq.shape
    counts = np.zeros(n, np.int64)
    for j in range(n):
        for p in range(npix):
            counts[j] += (groupdq[j, p] & unusable) == 0
    return counts


@numba.njit(cache=True)
def one_segment(groupdq, start, stop, unusable, jump):
    """Whether each ramp's only segment is groups ``start`` to ``stop - 1``: ``(nints, npix)`` bool.

    ``groupdq`` ``(nints, ngroups, npix)``: no ``unusable`` flag on those groups, one on every other, and no ``jump``
    flag after the first of them (:func:`ramp_fit._common_runs`).
    """
    nints, ngroups, npix = groupdq.shape
    simple = np.ones((nints, npix), np.bool_)
    for i in range(nints):
        for k in range(ngroups):
            for p in range(npix):  # along the pixels (SIMD)
                usable = (groupdq[i, k, p] & unusable) == 0
                if start <= k < stop:
                    simple[i, p] &= usable and (k == start or (groupdq[i, k, p] & jump) == 0)
                else:
                    simple[i, p] &= not usable
    return simple


@numba.njit(cache=True)
def ramp_flags(groupdq, fitted, do_not_use, saturated, jump):
    """The DQ of each integration's rate and of the combined rate, ``(nints, npix)`` and ``(npix,)`` uint32.

    ``groupdq`` ``(nints, ngroups, npix)``, ``fitted`` ``(nints, npix)``: whether the integration has a rate.  An
    integration: ``do_not_use`` without a rate (and ``saturated`` if a group is), ``jump`` if a group has it; the
    rate: ``do_not_use`` and every integration's flags without any rate, ``jump`` if an integration has it.
    """
    nints, ngroups, npix = groupdq.shape
    dq_ints = np.zeros((nints, npix), np.uint32)
    flags = np.zeros(npix, np.uint32)
    any_fit = np.zeros(npix, np.bool_)
    for i in range(nints):
        any_flags = groupdq[i, 0].copy()
        for k in range(1, ngroups):
            any_flags |= groupdq[i, k]
        for p in range(npix):
            f = np.uint32(0) if fitted[i, p] else do_not_use
            if any_flags[p] & saturated and not fitted[i, p]:
                f |= saturated
            if any_flags[p] & jump:
                f |= jump
            dq_ints[i, p] = f
            flags[p] |= f
            any_fit[p] |= fitted[i, p]
    dq_rate = np.where(any_fit, np.uint32(0), do_not_use | flags) | (flags & jump)
    return dq_ints, dq_rate


@numba.njit(cache=True)
def residual_scores(data, groupdq, med, sigma, unusable, jump, factor, zsum, msum):
    """Residuals in units of their noise, z, and the usable differences, m, summed over ``factor`` x ``factor`` bins.

    ``zsum`` (float64), ``msum`` (float32) ``(nints, nk, ceil(ny / factor), ceil(nx / factor))``, filled for the
    differences of ``data``, ``groupdq`` ``(nints, nk + 1, ny, nx)`` (float32, uint8); ``med``, ``sigma`` from
    :func:`showers._noise`.  A valid difference's (:func:`showers._valid`) residual ``r = d - dbar - c`` (float32),
    with ``c`` the mean of its frame's residuals within ``5 sigma`` (an offset of the whole frame is not a shower;
    not a median: digitised differences move it in whole DN), gives ``z = r / sigma`` (0 where sigma is) and
    ``m = 1``; elsewhere z = m = 0.  Two passes over each frame (the mean, then the scores), each bin summed as
    numpy's strided in-place adds sum it (the rows of a bin in order, then its columns; edges padded with zeros),
    so the sums are bit for bit those of the full-size z and m binned after; the full-size arrays are never made.
    """
    nints, nk, nby, nbx = zsum.shape
    ny, nx = data.shape[2:]
    count, total = np.zeros(nx, np.int64), np.zeros(nx)  # per column: the inner loops run along a row (SIMD)
    rows_z, rows_m = np.empty((nby, nx)), np.empty((nby, nx), np.float32)  # a frame summed over its bins' rows
    for i in range(nints):
        for k in range(nk):
            count[:] = 0
            total[:] = 0.0  # float64 sums of the float32 residuals, rounded once
            for y in range(ny):
                for x in range(nx):
                    r = (data[i, k + 1, y, x] - data[i, k, y, x]) - med[i, y, x]
                    typical = usable_difference(groupdq, i, k, y, x, unusable, jump) and abs(r) < 5 * sigma[i, y, x]
                    count[x] += typical
                    total[x] += r if typical else 0.0
            n = count.sum()
            offset = np.float32(np.float32(total.sum()) / np.float32(n)) if n else np.float32(0)
            rows_z[:] = 0.0
            rows_m[:] = 0.0
            for y in range(ny):
                row = y // factor
                for x in range(nx):
                    usable = usable_difference(groupdq, i, k, y, x, unusable, jump)
                    r = ((data[i, k + 1, y, x] - data[i, k, y, x]) - med[i, y, x]) - offset
                    s = sigma[i, y, x]
                    rows_z[row, x] += np.float64(r) / s if usable and s > 0 else 0.0
                    rows_m[row, x] += np.float32(1) if usable else np.float32(0)
            for row in range(nby):
                for col in range(nbx):
                    bz, bm = 0.0, np.float32(0)
                    for x in range(col * factor, min(col * factor + factor, nx)):
                        bz += rows_z[row, x]
                        bm += rows_m[row, x]
                    zsum[i, k, row, col], msum[i, k, row, col] = bz, bm


@numba.njit(cache=True)
def residual_noise(groupdq, med, big, read2, gain, unusable, jump, sigma):
    """The noise of a pixel's residuals from its mean difference, into ``sigma`` ``(nints, ny, nx)`` (float64).

    ``sigma^2 = (2 sigma_r^2 + max(dbar, 0)/g) (n - 1)/n`` over its n valid differences (:func:`showers._valid`),
    0 with fewer than two: ``d - dbar`` has the variance of d times (n - 1)/n, since dbar includes d itself (with two
    differences, half a shower's signal and 1/sqrt(2) of the noise are left).  ``groupdq`` ``(nints, ngroups, ny,
    nx)``; ``med`` dbar ``(nints, ny, nx)`` (NaN taken as 0, infinities as +-``big``: ``np.nan_to_num``); ``read2``
    ``2 sigma_r^2`` and ``gain`` ``(ny, nx)``: numpy's dtypes and order, the same values.
    """
    nints, ngroups, ny, nx = groupdq.shape
    n = np.zeros(nx, np.int64)
    for i in range(nints):
        for y in range(ny):
            n[:] = 0
            for k in range(ngroups - 1):  # the inner loops run along a row (SIMD)
                for x in range(nx):
                    n[x] += usable_difference(groupdq, i, k, y, x, unusable, jump)
            for x in range(nx):
                dbar = med[i, y, x]
                dbar = big - big if np.isnan(dbar) or dbar < 0 else min(dbar, big)  # (0 in med's dtype)
                variance = (read2[y, x] + dbar / gain[y, x]) * max(n[x] - 1, 0) / max(n[x], 1)
                sigma[i, y, x] = np.sqrt(variance) if n[x] >= 2 else 0.0


@numba.njit(cache=True)
def usable_difference(groupdq, i, k, y, x, unusable, jump):
    """:func:`showers._valid` of difference ``k`` of integration ``i`` at pixel ``(y, x)``."""
    return ((groupdq[i, k + 1, y, x] & (unusable | jump)) | (groupdq[i, k, y, x] & unusable)) == 0
