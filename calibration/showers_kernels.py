"""Numba kernels of :mod:`calibration.showers`, in their own module so that numba is imported only when they run."""
import numba
import numpy as np


@numba.njit(cache=True)
def residual_scores(data, groupdq, med, sigma, unusable, jump, z, m):
    """Residuals in units of their noise, ``z`` (float64), and the usable differences, ``m`` (1 or 0, float32).

    ``z``, ``m`` ``(nints, nk, ny, nx)``, filled for the differences of ``data``, ``groupdq``
    ``(nints, nk + 1, ny, nx)`` (float32, uint8); ``med``, ``sigma`` from :func:`showers._noise`.  A valid
    difference's (:func:`showers._valid`) residual ``r = d - dbar - c`` (float32), with ``c`` the mean of its frame's
    residuals within ``5 sigma`` (an offset of the whole frame is not a shower; not a median: digitised differences
    move it in whole DN), gives ``z = r / sigma`` (0 where sigma is); elsewhere z = 0.  Two passes over each frame
    (the mean, then the division) instead of numpy's dozen and their temporaries.
    """
    nints, nk, ny, nx = z.shape
    count, total = np.zeros(nx, np.int64), np.zeros(nx)  # per column: the inner loops run along a row (SIMD)
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
            for y in range(ny):
                for x in range(nx):
                    usable = usable_difference(groupdq, i, k, y, x, unusable, jump)
                    r = ((data[i, k + 1, y, x] - data[i, k, y, x]) - med[i, y, x]) - offset
                    s = sigma[i, y, x]
                    z[i, k, y, x] = np.float64(r) / s if usable and s > 0 else 0.0
                    m[i, k, y, x] = np.float32(1) if usable else np.float32(0)


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
