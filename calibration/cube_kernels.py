"""Compiled loops of the MRS drizzle (:mod:`calibration.cube_build`): the 1-D overlaps, the sums, the selection.

Each pixel's weight in a spaxel is separable, ``w_ps = wl_pi wb_pj wa_pk`` over the planes ``i``, beta rows
``j`` and alpha columns ``k`` of its window (``cube_build`` module docstring), so the loops run over the pixels
and their windows with the three 1-D weights in hand: no array of the (pixel, spaxel) pairs, no sparse matrix,
no temporaries of a block's size.  A smoothed box's Gaussian integrals take the integrated cdf ``psi`` from a
table of its Taylor coefficients (:data:`_PSI`: within 1e-15, a few roundings, of ``erfc`` and ``exp``, which
cost several times more), each distinct bin edge of a pixel once.  The sums are those spelled out over every
(pixel, spaxel) pair (``tests/test_cube_build_kernel.py``) to rounding: the products in their order, the sums
in another.  Indices into the rows are unsigned: a signed one is checked for numpy's wrap-around at every
access, which keeps a loop from being vectorised.  No ``parallel``: the pipeline runs one thread (the machine
is shared).
"""
import math

import numba
import numpy as np

_SQRT_2PI = np.sqrt(2 * np.pi)
_SQRT1_2 = np.sqrt(0.5)


@numba.njit(cache=True)
def _ndtr(x):
    """The standard normal's cdf, as cephes' ``ndtr`` (``erf`` near 0, ``erfc`` beyond)."""
    y = x * _SQRT1_2
    if abs(y) < _SQRT1_2:
        return 0.5 + 0.5 * math.erf(y)
    out = 0.5 * math.erfc(abs(y))
    return 1.0 - out if y > 0 else out


@numba.njit(cache=True)
def _psi_exact(t):
    """``psi(t) = t Phi(t) + phi(t)``, the standard normal's cdf integrated."""
    return _ndtr(t) * t + math.exp(t * t * -0.5) / _SQRT_2PI


def _psi_table(step, half):
    t = np.arange(-half, step / 2, step)
    phi = np.exp(t * t * -0.5) / _SQRT_2PI
    return np.column_stack([[_psi_exact(x) for x in t], [_ndtr(x) for x in t], phi / 2, -t * phi / 6])


#: ``psi``'s Taylor coefficients (``psi``, ``Phi``, ``phi / 2``, ``-t phi / 6``) at ``t = -_HALF, ..., 0`` every
#: ``_STEP``: between two nodes ``psi`` is the cubic of the nearer, within ``max|psi^(4)| (_STEP / 2)^4 / 24 = phi(0)
#: 2^-44 / 24 = 1e-15`` (a few roundings), at a fraction of the cost of ``erfc`` and ``exp``.  ``psi(t) = t +
#: psi(-t)`` gives ``t > 0``; below ``-_HALF``, ``psi < 1e-16`` is taken as ``psi(-_HALF)`` (the arguments are within
#: 4 sigma + a box of 0: ~6.3)
_STEP, _HALF = 2.0**-10, 8.0
_PSI = _psi_table(_STEP, _HALF)


@numba.njit(cache=True)
def _ramp(z, sigma):
    """``R(z) = sigma psi(z / sigma) = z Phi(z / sigma) + sigma phi(z / sigma)``: the Gaussian's cdf integrated.

    ``sigma`` is ``(sigma, 1 / sigma)``: a product, not a division, for each call (the kernels' most frequent).
    No branch (it would keep the loops over the edges from being compiled tight).
    """
    t = z * sigma[1]
    x = (max(-abs(t), -_HALF) + _HALF) * (1.0 / _STEP)  # exact: _STEP is a power of 2
    i = np.uint64(np.int64(x + 0.5))
    d = (x - i) * _STEP
    c = _PSI[i]
    return (max(t, 0.0) + c[0] + d * (c[1] + d * (c[2] + d * c[3]))) * sigma[0]


@numba.njit(cache=True)
def _below(e, lo, hi, reach, sigma):
    """``F(e) = R(e - lo) - R(e - hi)``, the box ``[lo, hi]`` * G's integral up to ``e`` (cut at ``reach``)."""
    e = min(max(e, lo - reach), hi + reach)
    return _ramp(e - lo, sigma) - _ramp(e - hi, sigma)


@numba.njit(cache=True)
def _beyond(e, lo, hi, reach, sigma, ends):
    """:func:`_below`, its values at the support's ends ``ends`` given."""
    if e <= lo - reach:
        return ends[0]
    if e >= hi + reach:
        return ends[1]
    return _below(e, lo, hi, reach, sigma)


@numba.njit(cache=True)
def overlaps(lo, hi, first, k, start, step, n_bins, sigma, reach, a, b, reflect, index, length, cut):
    """Each box's overlap with the bins ``first_p ... first_p + k - 1``: ``index``, ``length``, ``cut`` ``(n, k)``.

    The box ``[lo_p, hi_p]``, with ``sigma > 0`` convolved with a Gaussian cut at ``reach`` from its edges
    (:meth:`calibration.cube_build.Axis.overlaps` states the model); ``reflect``: reflected at ``a_p``, ``b_p``
    and each box given back its length, ``cut`` the lengths with the Gaussian cut there instead (else ``cut`` is
    ``length``).  Bins outside ``[0, n_bins)``: index 0, length 0.
    """
    # the box * G's integral up to e is F(e) = R(e - lo) - R(e - hi) (R: _ramp); a bin takes F's difference over its
    # edges: two R per distinct edge, not four per bin.  The cut: F is constant beyond lo - reach and hi + reach
    # (edges there are moved to them), so a box's weights do not depend on the bins k spans.  Reflected at a and b,
    # the density on [a, b] is f(x) + f(2b - x) + f(2a - x) (f = F'), whose integral up to e in [a, b] is F(e) -
    # F(2b - e) - F(2a - e); beyond reach of both ends the reflected terms are constant: only the boxes near an end
    # take them
    below = np.empty(k + 1)
    gauss = (sigma, 1.0 / sigma) if sigma > 0 else (0.0, 0.0)  # _ramp's sigma
    for p in range(lo.size):
        low, high = lo[p], hi[p]
        if sigma > 0:
            # F at the bins' edges, each clipped into the kernel's support (a distinct edge taken once)
            clip_lo, clip_hi = low - reach, high + reach
            if reflect:
                clip_lo, clip_hi = max(clip_lo, a[p]), min(clip_hi, b[p])
            last, value = np.nan, 0.0
            for j in range(k + 1):
                e = min(max(start + (first[p] + j) * step, clip_lo), clip_hi)
                if e != last:
                    value = _below(e, low, high, reach, gauss)
                    last = e
                below[j] = value
            for j in range(k):
                cut[p, j] = below[j + 1] - below[j]
            if reflect:
                if b[p] - high < reach or low - a[p] < reach:
                    # F is constant beyond the support: each reflected edge there takes its end's value
                    ends = _below(low - reach, low, high, reach, gauss), _below(high + reach, low, high, reach, gauss)
                    last = np.nan
                    for j in range(k + 1):
                        e = min(max(start + (first[p] + j) * step, clip_lo), clip_hi)
                        if e != last:
                            value = (_beyond(2 * b[p] - e, low, high, reach, gauss, ends)
                                     + _beyond(2 * a[p] - e, low, high, reach, gauss, ends))
                            last = e
                        below[j] -= value
                total = 0.0
                for j in range(k):
                    length[p, j] = below[j + 1] - below[j]
                    total += length[p, j]
                # one reflection keeps the mass but the cut's while b - a > box + 4 sigma; narrower rows (a slice's
                # few pixels at its wavelength's end) lose some: each box is given back its length
                scale = (high - low) / total
                for j in range(k):
                    length[p, j] *= scale
            else:
                for j in range(k):
                    length[p, j] = cut[p, j]
        else:
            for j in range(k):
                left = start + (first[p] + j) * step
                length[p, j] = max(min(high, left + step) - max(low, left), 0.0)
                cut[p, j] = length[p, j]
        for j in range(k):
            i = first[p] + j
            index[p, j] = i if 0 <= i < n_bins else 0
            if not 0 <= i < n_bins:
                length[p, j], cut[p, j] = 0.0, 0.0


@numba.njit(cache=True)
def _window(first, k, n):
    """The part ``[lo, hi)`` of ``range(k)`` whose bins ``first + j`` are in ``[0, n)``."""
    return min(max(-first, 0), k), max(min(n - first, k), 0)


@numba.njit(cache=True)
def add_sums(out, base, group, first, wl, first_b, wb, first_a, wa, wa_cut, n_beta, n_alpha, intensity, var):
    """``out[q, g, i - base, s] += sum_(p in g) w_ps x_pq`` for the planes ``base ... base + out.shape[2] - 1``.

    ``x_p`` = 1, ``I_p``, and ``w_ps var(I_p)`` (its weight squared); with ``out.shape[0]`` 4 also the coverage's
    ``w~_ps`` (``wa_cut`` for ``wa``).  ``w_ps = wl_pi wb_pj wa_pk``, plane ``first_p + i``, spaxel ``s = (first_b_p
    + j) n_alpha + first_a_p + k``; ``g = group_p``; bins outside the grid are left out.
    """
    n_planes, coverage = out.shape[2], out.shape[0] == 4
    for p in range(first.size):
        g, x, v = group[p], np.float64(intensity[p]), np.float64(var[p])
        j_lo, j_hi = _window(first_b[p], wb.shape[1], n_beta)
        k_lo, k_hi = _window(first_a[p], wa.shape[1], n_alpha)
        wa_p, cut_p = wa[p], wa_cut[p]
        for i in range(wl.shape[1]):
            plane = first[p] + i - base
            w = wl[p, i]
            if w == 0.0 or not 0 <= plane < n_planes:
                continue
            # the products in the order of the spelled-out sums (u = wb wa, then u wl, u (wl I), u^2 (wl^2 var)):
            # the sums then differ from them by their order alone.  The alpha loop runs along a row of the plane
            wx, wv = w * x, w * w * v
            weight, total, total_var = out[0, g, plane], out[1, g, plane], out[2, g, plane]
            covered = out[3, g, plane] if coverage else weight
            for j in range(j_lo, j_hi):
                b = wb[p, j]
                if b == 0.0:
                    continue
                s = np.uint64((first_b[p] + j) * n_alpha + first_a[p])
                for k in range(np.uint64(k_lo), np.uint64(k_hi)):
                    u = b * wa_p[k]
                    weight[s + k] += u * w
                    total[s + k] += u * wx
                    total_var[s + k] += u * u * wv
                if coverage:
                    for k in range(np.uint64(k_lo), np.uint64(k_hi)):
                        covered[s + k] += b * cut_p[k] * w


@numba.njit(cache=True)
def share_sums(values, selected, group, first, wl, first_b, wb, first_a, wa, n_beta, n_alpha, var, out):
    """``out[i, l] += sum_p share_pi share_p(i+l) var_p``, ``share_pi = sum_s w_ps values[i, s]`` over plane ``i``.

    ``values`` ``(n_lambda, n_spatial)``, 0 outside the grid and where ``selected[group_p]`` is False
    (``selected`` ``(n_groups, n_lambda, n_spatial)``, or of size 0: everywhere selected); ``out`` ``(n_lambda, 1
    + lags)``, column ``l`` the lag (both planes in the grid).
    """
    share = np.zeros(wl.shape[1])
    some = selected.size > 0
    for p in range(first.size):
        g = group[p]
        j_lo, j_hi = _window(first_b[p], wb.shape[1], n_beta)
        k_lo, k_hi = _window(first_a[p], wa.shape[1], n_alpha)
        wa_p = wa[p]
        for i in range(wl.shape[1]):
            share[i] = 0.0
            plane = first[p] + i
            if wl[p, i] == 0.0 or not 0 <= plane < values.shape[0]:
                continue
            total, row = 0.0, values[plane]
            for j in range(j_lo, j_hi):
                b = wb[p, j]
                s = np.uint64((first_b[p] + j) * n_alpha + first_a[p])
                if some:
                    chosen = selected[g, plane]
                    for k in range(np.uint64(k_lo), np.uint64(k_hi)):
                        if chosen[s + k]:
                            total += b * wa_p[k] * row[s + k]
                else:
                    for k in range(np.uint64(k_lo), np.uint64(k_hi)):
                        total += b * wa_p[k] * row[s + k]
            share[i] = total * wl[p, i]
        v = np.float64(var[p])
        for i in range(wl.shape[1]):
            plane = first[p] + i
            if not 0 <= plane < out.shape[0]:
                continue
            for lag in range(min(out.shape[1], wl.shape[1] - i)):  # a pixel reaches Kl planes: lags < Kl
                if plane + lag < out.shape[0]:
                    out[plane, lag] += share[i] * share[i + lag] * v


@numba.njit(cache=True)
def select(pending, threshold, sums, selected):
    """Each spaxel's selection of exposures and its sums over them, for the planes of ``sums``.

    ``pending`` ``(4, n_groups, n, n_spatial)``: each exposure's ``sum w``, ``sum w I``, ``sum w^2 var(I)`` and
    coverage ``sum w~`` on ``n`` planes (at least); exposure ``g`` is selected (``selected`` ``(n_groups, n,
    n_spatial)``) where its coverage is ``>= threshold`` if any exposure's is, else where it is ``> 0``; ``sums``
    ``(3, n, n_spatial)`` takes the first three over the selected ones (``cube_build`` module docstring).
    """
    for i in range(sums.shape[1]):
        for s in range(sums.shape[2]):
            full = False
            for g in range(pending.shape[1]):
                full |= pending[3, g, i, s] >= threshold
            for q in range(3):
                sums[q, i, s] = 0.0
            for g in range(pending.shape[1]):
                chosen = pending[3, g, i, s] >= threshold if full else pending[3, g, i, s] > 0
                selected[g, i, s] = chosen
                if chosen:
                    for q in range(3):
                        sums[q, i, s] += pending[q, g, i, s]
