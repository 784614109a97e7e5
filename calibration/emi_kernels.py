"""Compiled loops of the joint EMI fit's passes over the ramps (:func:`calibration.emi.correct_joint`).

Each pass reads a row block of the ramps once, in their own dtype (each value converted to float64 as it is
read), and keeps only per-pixel or per-read-time sums: the numpy expressions they replace made a temporary the
size of the block at every operation, and those passes were most of the step's time.  The ramps are ``D[n, p]``
(read n = i ngroups + g, pixel p = y nx + x), C-contiguous, the block's pixels from column ``p0``; the ``q``
consecutive pixels p = t q + u (u < q) are read at the same time t (the outputs); k_g = g - (ngroups - 1) / 2 the
centred group index.  A column is indexed as an unsigned integer: a signed one is checked for a negative value
(numpy's wrap-around) at every read, which keeps the loops from being vectorised (2x the time of a pass).
No ``parallel``: the pipeline runs one thread (the machine is shared).
"""
import numba
import numpy as np

#: The ramp models of :func:`project`, by the name :func:`calibration.emi.project_off_ramps` gives them.
RATES = {"none": 0, "shared": 1, "per_integration": 2}


@numba.njit(cache=True)
def project(R, ngroups, rate):
    """``R <- P R`` in place, R ``(nints ngroups, ncols)`` float64: each column less its ramp model's fit.

    r_ig = y_ig - m_i - k_g b, m_i = mean_g y_ig; b = sum_{i,g} k_g (y_ig - m_i) / (nints sum k^2) for the
    shared rate (``rate`` 1), b_i = sum_g k_g (y_ig - m_i) / sum k^2 for one per integration (2), none (0).
    """
    N, ncols = R.shape
    nints = N // ngroups
    k = np.arange(ngroups) - (ngroups - 1) / 2.0
    kk = np.sum(k * k)
    mean = np.empty(ncols)
    slope = np.zeros(ncols)
    for i in range(nints):
        mean[:] = 0.0
        for g in range(ngroups):
            for c in range(ncols):
                mean[c] += R[i * ngroups + g, c]
        mean /= ngroups
        if rate == 2:
            slope[:] = 0.0
        for g in range(ngroups):
            n = i * ngroups + g
            for c in range(ncols):
                r = R[n, c] - mean[c]
                R[n, c] = r
                slope[c] += k[g] * r
        if rate == 2:
            for g in range(ngroups):
                n = i * ngroups + g
                for c in range(ncols):
                    R[n, c] -= k[g] * slope[c] / kk
    if rate == 1:
        slope /= nints * kk
        for n in range(N):
            for c in range(ncols):
                R[n, c] -= k[n % ngroups] * slope[c]


@numba.njit(cache=True)
def slopes(D, p0, npix, ngroups):
    """Each pixel's rate shared by the integrations, b_p = sum_{i,g} k_g D_(i ngroups + g),p / (nints sum k^2)."""
    N = D.shape[0]
    k = np.arange(ngroups) - (ngroups - 1) / 2.0
    b = np.zeros(npix)
    for n in range(N):
        for p in range(npix):
            b[p] += k[n % ngroups] * D[n, np.uint64(p0 + p)]
    return b / (N // ngroups * np.sum(k * k))


@numba.njit(cache=True)
def weighted_reads(D, p0, w, q, science):
    """The weighted ramps summed over the pixels read at each time, R_nt = sum_{u<q} w_p D_np (p = t q + u).

    ``w``: the block's pixels' weights; ``science``: whether each read time is a science one.  Returns the
    science and the reference read times' R apart, ``(N, times)`` each.
    """
    N, npix = D.shape[0], w.size
    kept = np.flatnonzero(science), np.flatnonzero(~science)
    Rs, Rr = np.empty((N, kept[0].size)), np.empty((N, kept[1].size))
    weighted, total = np.empty(npix), np.empty(npix // q)
    for n in range(N):
        if q == 4:  # the sum over u written out (in the same order): vectorised over t, 2x the speed of the loops
            for t in range(total.size):
                c = np.uint64(p0 + 4 * t)
                total[t] = (0.0 + w[4 * t] * D[n, c] + w[4 * t + 1] * D[n, c + np.uint64(1)]
                            + w[4 * t + 2] * D[n, c + np.uint64(2)] + w[4 * t + 3] * D[n, c + np.uint64(3)])
        else:
            for p in range(npix):
                weighted[p] = w[p] * D[n, np.uint64(p0 + p)]
            total[:] = 0.0
            for u in range(q):
                for t in range(total.size):
                    total[t] += weighted[t * q + u]
        for j in range(kept[0].size):
            Rs[n, j] = total[kept[0][j]]
        for j in range(kept[1].size):
            Rr[n, j] = total[kept[1][j]]
    return Rs, Rr


@numba.njit(cache=True)
def residual_chi2(D, p0, E, q, offsets, science, ngroups):
    """Each pixel's chi^2 = ||P (y - e) - o||^2.

    Its ramp less the waveform, projected off its ramp model, less its class's common offsets.
    ``E`` ``(N, times)``: the waveform at each read time; ``offsets`` ``(2, N)``: the science and the reference
    pixels' common per-read offsets; ``science``: whether each read time's pixels are science pixels (a rate
    shared by the integrations) or reference pixels (none).  With z = y - e, m_i = mean_g z_ig,
    A = sum_{i,g} (z_ig - m_i - o_ig)^2, B = sum_{i,g} k_g z_ig, C = sum_{i,g} k_g o_ig and K = nints sum k^2,
    chi^2 = A for a reference pixel and A + (2 C - B) B / K (the shared rate b = B / K taken out) for a
    science one.  One pass over the ramps (the second over each integration's, kept).
    """
    N, times = E.shape
    npix = times * q
    k = np.arange(ngroups) - (ngroups - 1) / 2.0
    A, B, mean, e = np.zeros(npix), np.zeros(npix), np.empty(npix), np.empty(npix)
    pixel_science = np.empty(npix, np.bool_)
    _spread(science, q, pixel_science)
    z = np.empty((ngroups, npix))  # one integration's ramps less the waveform
    for i in range(N // ngroups):
        mean[:] = 0.0
        for g in range(ngroups):
            n = i * ngroups + g
            _spread(E[n], q, e)
            for p in range(npix):
                z[g, p] = D[n, np.uint64(p0 + p)] - e[p]
                mean[p] += z[g, p]
        mean /= ngroups
        for g in range(ngroups):
            n = i * ngroups + g
            o_science, o_reference = offsets[0, n], offsets[1, n]
            for p in range(npix):
                d = z[g, p] - mean[p] - (o_science if pixel_science[p] else o_reference)
                A[p] += d * d
                B[p] += k[g] * z[g, p]
    K = N // ngroups * np.sum(k * k)
    C = 0.0
    for n in range(N):
        C += k[n % ngroups] * offsets[0, n]
    for t in range(times):
        if science[t]:
            for p in range(t * q, t * q + q):
                A[p] += (2 * C - B[p]) * B[p] / K
    return A


@numba.njit(cache=True)
def subtract_waveform(D, p0, E, q, out):
    """``out_np = D_np - E_nt``: the ramps less the waveform ``E`` ``(N, times)`` at each pixel's read time.

    In float64, rounded to ``out``'s dtype (its pixels from ``p0`` as ``D``'s; ``out`` may be ``D``).
    """
    N, times = E.shape
    e = np.empty(times * q)
    for n in range(N):
        _spread(E[n], q, e)
        for p in range(times * q):
            out[n, np.uint64(p0 + p)] = D[n, np.uint64(p0 + p)] - e[p]


@numba.njit(cache=True)
def _spread(values, q, out):
    """``out[t q + u] = values[t]`` (u < q): a read time's value at each of its pixels.

    Element by element: a slice assignment per read time made a view each time (the chi^2 pass 0.36 -> 0.31 s).
    """
    for t in range(values.size):
        for u in range(q):
            out[t * q + u] = values[t]
