"""Numba kernels of :mod:`calibration.jump`, in their own module so that numba is imported only when they run."""
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
    """How many pixels of each group of ``groupdq`` ``(ngroups, ny, nx)`` have no ``unusable`` flag: one pass."""
    ngroups, ny, nx = groupdq.shape
    counts = np.zeros(ngroups, np.int64)
    for k in range(ngroups):
        for y in range(ny):
            for x in range(nx):
                counts[k] += (groupdq[k, y, x] & unusable) == 0
    return counts
