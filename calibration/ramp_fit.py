"""Ramp fitting: OLS, optimal weighting and likelihood (GLS) fits over jump-free segments.

Each fit comes with the exact variance of its own estimator.

A ramp is cut into segments: runs of consecutive usable groups (not DO_NOT_USE or
SATURATED) with no JUMP_DET flag inside (a flagged group starts a new segment).  On a
segment with group times ``t_k``, every estimator here is linear, ``b = sum_k a_k y_k``
with ``sum_k a_k = 0``; with read noise sigma_r per read and Poisson charge of variance
``R t / g`` (DN^2; R in DN/s, g in e-/DN) its variance is exactly

    var_r = sigma_r^2 sum_k a_k^2,
    var_p = (R/g) sum_{k>=1} (t_k - t_{k-1}) A_k^2,   A_k = sum_{j>=k} a_j.

The three estimators differ in ``a``:

* ``ols``: ``a_k = (t_k - tbar) / S_tt`` (unweighted least squares).
* ``optimal``: least squares with weights ``|k - k_mid|^P``, P from the segment's S/N
  (0, 0.4, 1, 3, 6, 10 at S/N < 5, 10, 20, 50, 100, above), Fixsen et al. 2000 as the
  JWST pipeline uses it.
* ``likelihood``: generalised least squares with the full covariance.  On the ``m``
  group differences of a segment (time step dt) the covariance is
  ``sigma_r^2 [(2 + rho) I - J]`` (J: ones beside the diagonal), ``rho = R dt / (g sigma_r^2)``,
  whose inverse applied to a vector of ones is, with ``cosh(theta) = 1 + rho/2``,

      u_j = [1 - cosh(theta (j - L)) / cosh(theta L)] / rho,   L = (m + 1) / 2,

  so the GLS rate is ``sum_j u_j d_j / (dt sum_j u_j)``.  With the true R this is the
  minimum-variance unbiased linear estimator: its variance is the Cramer-Rao bound of
  an uninterrupted ramp (up to the information in the variance itself, a relative
  ``1/(2 N_e)`` per group, negligible here).

Rates for the weights come from the pixel itself: the mean of its usable differences
(dark current included, all integrations together); the shot noise of the result is
then evaluated at the fitted rate.  (A second GLS pass at the fitted rate changed the
scatter by < 0.1 % of the bound, so there is none.)  Pixels whose only segment is the
common run of usable groups (most of them) share weight vectors: one for OLS, one per
power for optimal weighting, and for the GLS a table at 48 values of rho per decade
(any mix of valid weights is unbiased, and the variance is computed for the weights
actually used, so the table costs optimality only, and negligibly).  A pixel's weights
are the same in every integration with that run (its rate is one for all), so a block's
integrations are fitted together, not one at a time (a time series has thousands).
Segments of an integration, then integrations, are combined with inverse-variance weights,
and the combined variance is split exactly into its read-noise and Poisson parts. Given
the phasors of a disturbance of unknown phase left in the ramps (EMI,
:mod:`calibration.emi_noise`), the fit applies the same weights to them and returns the
variance the disturbance adds to each rate. A pixel with no segment of two usable groups
gets NaN and DO_NOT_USE. Work is done in blocks of rows, so memory stays a small multiple
of one block whatever the frame size.
"""
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from miri_testbed.instrument import dq

from . import populated_array

BLOCK_SAMPLES = 1 << 23  # ramp samples (integrations x groups x pixels) fitted at once: the work array under 32 MiB,
# each (nints, npix) float64 temporary 1/5 of it at 10 groups, so all stay in the heap, reused block after block
# (pipeline.keep_step_arrays_in_the_heap); a 1000-integration TSO's former 32-row blocks (92 MB of ramps) mapped fresh
# pages: 1.3-1.7 s of system time
OPTIMAL_POWERS = ((5.0, 0.0), (10.0, 0.4), (20.0, 1.0), (50.0, 3.0), (100.0, 6.0), (np.inf, 10.0))


@dataclass
class RampFit:
    """Rates in DN/s with their variances; ``*_ints`` per integration."""

    rate: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray
    dq: np.ndarray
    rate_ints: np.ndarray
    var_poisson_ints: np.ndarray
    var_rnoise_ints: np.ndarray
    dq_ints: np.ndarray
    var_interference: np.ndarray = None  # with ``interference`` (fit_ramps): its variance in each rate
    var_interference_ints: np.ndarray = None


def segment_labels(groupdq):
    """Segment number (1, 2, ...) of each group, 0 for unusable groups; axis -2 is groups.

    Any leading axes (integrations) are labelled at once, each ramp on its own.
    """
    usable = (groupdq & dq.UNUSABLE_GROUP) == 0
    starts = usable & ((groupdq & dq.JUMP_DET) != 0)
    starts[..., 0, :] |= usable[..., 0, :]
    starts[..., 1:, :] |= usable[..., 1:, :] & ~usable[..., :-1, :]
    labels = starts.astype(np.int16)
    for k in range(1, labels.shape[-2]):  # a running sum group by group: 2.5x faster than cumsum over this axis
        labels[..., k, :] += labels[..., k - 1, :]
    labels *= usable  # in place: no mask-sized index pass
    return labels


def _ols_weights(mask, times, power=None):
    """Least-squares ``a`` on the groups of ``mask``; with ``power``, Fixsen weights."""
    m = mask.astype(np.float64)
    if power is not None:
        rank = np.cumsum(m, axis=0) - 1
        mid = (m.sum(axis=0) - 1) / 2
        m = m * np.abs(rank - mid) ** power
    t = times[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        tbar = (m * t).sum(axis=0) / m.sum(axis=0)
        dt = (t - tbar) * m
        return np.nan_to_num(dt / (dt * (t - tbar)).sum(axis=0))


def _gls_weights(mask, times, rho):
    """GLS ``a`` on the groups of ``mask`` (contiguous, uniform step) for ``rho``."""
    n = mask.sum(axis=0)
    dt = times[1] - times[0]
    rank = np.cumsum(mask, axis=0) - 1  # 0 .. n-1 within the segment
    rho = np.clip(rho, 1e-9, 1e12)
    theta = np.arccosh(1.0 + rho / 2.0)
    half = n / 2.0  # L = (m + 1) / 2 with m = n - 1 differences
    x = np.abs(rank - half)
    # cosh(theta x) / cosh(theta L), written to stay finite for large theta L
    ratio = np.exp(theta * (x - half)) * (1 + np.exp(-2 * theta * x)) / (1 + np.exp(-2 * theta * half))
    u = np.where(mask & (rank >= 1), (1.0 - ratio) / rho, 0.0)  # weight of the difference into this group
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.nan_to_num(u / (dt * u.sum(axis=0)))
    following = np.zeros_like(c)
    following[:-1] = c[1:]
    return np.where(mask, c - following, 0.0)


def _power(snr):
    power = np.zeros_like(snr)
    for limit, p in reversed(OPTIMAL_POWERS):
        power = np.where(snr < limit, p, power)
    return power


def _segment_weights(method, mask, times, rate, read_noise, gain):
    if method == "ols":
        return _ols_weights(mask, times)
    n = mask.sum(axis=0)
    dt = times[1] - times[0]
    if method == "optimal":
        signal = np.clip(rate, 0, None) * (n - 1) * dt
        with np.errstate(invalid="ignore", divide="ignore"):
            snr = np.nan_to_num(signal / np.sqrt(2 * read_noise**2 + signal / gain))
        power = _power(snr)
        a = np.zeros(mask.shape)
        for p in np.unique(power):  # one power per pass; few distinct values
            sel = power == p
            a = np.where(sel, _ols_weights(mask & sel, times, p), a)
        return a
    if method == "likelihood":
        rho = np.clip(rate, 0, None) * dt / (gain * np.maximum(read_noise, 1e-12) ** 2)
        return _gls_weights(mask, times, rho)
    raise ValueError(f"unknown ramp-fit method {method!r}")


def _fit_integration(y, labels, times, rate, read_noise, gain, method, z=None):
    """Segments of one integration combined: slope, var_r, Poisson factor (per unit R/g), response.

    The response to the phasors ``z`` is ``sum_k c_k z_kj`` (None without them); ``z`` is
    ``(ngroups, J)``, or ``(ngroups, J, npix)`` when the pixels come from different integrations.
    """
    nseg = int(labels.max(initial=0))
    acc_w = np.zeros(y.shape[1:])
    acc_wb = np.zeros(y.shape[1:])
    acc_w2r = np.zeros(y.shape[1:])
    acc_w2p = np.zeros(y.shape[1:])
    acc_wz = None if z is None else np.zeros((z.shape[1],) + y.shape[1:], np.complex128)
    signal = np.clip(rate, 0, None) / gain
    for s in range(1, nseg + 1):
        mask = labels == s
        sel = np.flatnonzero(mask.sum(axis=0) >= 2)  # pixels with this segment (few for high s)
        if not sel.size:
            continue
        mask, rn, g = mask[:, sel], read_noise[sel], gain[sel]
        a = _segment_weights(method, mask, times, rate[sel], rn, g)
        slope = (a * y[:, sel]).sum(axis=0)
        var_r = rn**2 * (a * a).sum(axis=0)
        _, pfac = _weight_sums(np.moveaxis(a, 0, -1), np.diff(times))
        w = 1.0 / np.maximum(var_r + signal[sel] * pfac, 1e-20)
        acc_w[sel] += w
        acc_wb[sel] += w * slope
        acc_w2r[sel] += w * w * var_r
        acc_w2p[sel] += w * w * pfac
        if z is not None:
            acc_wz[:, sel] += w * (np.einsum("k...,kj->j...", a, z) if z.ndim == 2 else
                                   np.einsum("k...,kj...->j...", a, z[:, :, sel]))
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(acc_w > 0, acc_wb / acc_w, np.nan)
        var_r = np.where(acc_w > 0, acc_w2r / acc_w**2, np.nan)
        pfac = np.where(acc_w > 0, acc_w2p / acc_w**2, np.nan)
        response = None if z is None else np.where(acc_w > 0, acc_wz / acc_w, 0.0)
    return slope, var_r, pfac, response


RHO_GRID = np.logspace(-7, 7, 14 * 48 + 1)  # GLS weights tabulated at 48 per decade of rho


def _first_guess(y, times, runs, simple, rest):
    """Mean of the usable in-segment differences per pixel and integration, DN/s (NaN if none).

    For the ``simple`` pixels (one segment on their integration's common run, ``runs``:
    ``[(base, integrations)]``) the sum telescopes, for all integrations of a run at once;
    ``rest``: the others, ``(ii, pp, labels)`` (:func:`_rest`).
    """
    guess = np.full(simple.shape, np.nan)
    for base, members in runs:
        k = np.flatnonzero(base)
        diff = (y[members, k[-1]] - y[members, k[0]]) / (times[k[-1]] - times[k[0]])
        guess[members] = np.where(simple[members], diff, np.nan)
    ii, pp, lab = rest  # the others, of every integration at once: (groups, pixels)
    d = np.diff(y[ii, :, pp].T, axis=0)
    same = (lab[1:] == lab[:-1]) & (lab[1:] > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        guess[ii, pp] = np.where(same, d, 0).sum(axis=0) / (same * np.diff(times)[:, None]).sum(axis=0)
    return guess


def _common_runs(groupdq):
    """The integrations' common runs of usable groups and the pixels whose only segment is theirs.

    An integration's common run is the groups usable in most of its pixels, if they are
    consecutive (at least two); its ``simple`` pixels have one segment, exactly on those groups:
    usable there and nowhere else, with no JUMP_DET after the run's first group.

    Parameters
    ----------
    groupdq : (nints, ngroups, npix) uint8
        The group flags (a usable group is neither DO_NOT_USE nor SATURATED).

    Returns
    -------
    runs : list of (base, integrations)
        Each distinct run (a boolean mask of the groups) and the integrations that have it (an
        index array, or a slice when all do: no copy of the block).  Integrations without one are
        in none (every pixel of theirs is fitted segment by segment).
    simple : (nints, npix) bool
    """
    from .detector_kernels import one_segment, usable_counts  # here: numba once ramps are fitted

    nints, ngroups, npix = groupdq.shape
    unusable = np.uint8(dq.UNUSABLE_GROUP)
    bases = 2 * usable_counts(groupdq.reshape(-1, npix), unusable).reshape(nints, ngroups) > npix  # most pixels
    counts = bases.sum(axis=1)
    first, last = np.argmax(bases, axis=1), ngroups - 1 - np.argmax(bases[:, ::-1], axis=1)
    has_run = (counts >= 2) & (last - first + 1 == counts)
    distinct, which = np.unique(bases[has_run], axis=0, return_inverse=True)
    runs = []
    simple = np.zeros((nints, npix), bool)
    for n, base in enumerate(distinct):
        members = np.flatnonzero(has_run)[which.ravel() == n]
        members = slice(None) if len(members) == nints else members
        k = np.flatnonzero(base)
        simple[members] = one_segment(groupdq[members], k[0], k[-1] + 1, unusable, np.uint8(dq.JUMP_DET))
        runs.append((base, members))
    return runs, simple


def _rest(groupdq, simple):
    """The pixels of every integration that are not ``simple``: ``(ii, pp, labels)``, labels ``(ngroups, n)``.

    Only these need :func:`segment_labels` (a few per integration).
    """
    ii, pp = np.nonzero(~simple)
    return ii, pp, segment_labels(groupdq[ii, :, pp].T)


def _weight_sums(a, dt):
    """``sum a^2`` and the Poisson factor ``sum_k dt_k A_k^2`` of weight rows ``a`` (last axis groups)."""
    tail = np.cumsum(a[..., ::-1], axis=-1)[..., ::-1]
    return (a * a).sum(axis=-1), (tail[..., 1:] ** 2) @ dt


def template_weights(method, times, rate, read_noise, gain):
    """The weights of uninterrupted ramps on ``times`` that :func:`fit_ramps` gives each pixel.

    Pixels share weight vectors (module docstring): one for ``ols``, one per power for
    ``optimal``, one per tabulated rho for ``likelihood``.

    Parameters
    ----------
    method : str
        ``ols``, ``optimal`` or ``likelihood``.
    times : (n,) float
        Times of the groups used, s (uniform steps).
    rate : (npix,) float
        Each pixel's rate for its weights, DN/s (dark current included).
    read_noise, gain : (npix,) float
        Read noise of one read (DN) and gain (e-/DN).

    Returns
    -------
    table : (nclass, n) float
        The slope weights ``a`` (1/s) of each class: ``slope = sum_k a_k y_k``.
    which : (npix,) int
        The row of ``table`` each pixel uses.
    """
    dt = np.diff(times)
    mask = np.ones((times.size, 1, 1), bool)
    if method == "ols":
        return _ols_weights(mask, times)[:, 0, 0][None], np.zeros(np.shape(rate), np.intp)
    if method == "optimal":
        signal = np.clip(rate, 0, None) * (times.size - 1) * dt[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            snr = np.nan_to_num(signal / np.sqrt(2 * read_noise**2 + signal / gain))
        classes = np.array([p for _, p in OPTIMAL_POWERS])
        table = np.stack([_ols_weights(mask, times, p)[:, 0, 0] for p in classes])
        return table, np.searchsorted(classes, _power(snr))
    if method == "likelihood":
        rho = np.clip(rate, 0, None) * dt[0] / (gain * np.maximum(read_noise, 1e-12) ** 2)
        return _gls_table(tuple(times)), np.clip(np.searchsorted(RHO_GRID, rho), 0, RHO_GRID.size - 1)
    raise ValueError(f"unknown ramp-fit method {method!r}")


def _template_fit(y, base, times, rate, read_noise, gain, method, z=None):
    """Fit of pixels whose only segment is the ``base`` groups, with shared weight vectors.

    ``y`` is ``(nints, ngroups, npix)``: integrations that share ``base`` and the pixels' ``rate``
    share each pixel's weights, so they are looked up once for all of them (``z``:
    ``(nints, ngroups, J)``).  Returns as :func:`_fit_integration`, each with a leading
    integration axis (the read-noise and Poisson terms, the same in every integration, without).
    """
    idx = np.flatnonzero(base)
    yb = y[:, idx[0]:idx[-1] + 1]  # the run is consecutive: a view, no copy of the block
    table, which = template_weights(method, times[idx], rate, read_noise, gain)
    sq, pf = _weight_sums(table, np.diff(times[idx]))
    response = None if z is None else np.moveaxis((table @ z[:, idx])[:, which], 1, 2)
    if method == "ols":
        slope = table[0] @ yb
        return slope, read_noise**2 * sq[0], np.full(slope.shape[1:], pf[0]), response
    slope = np.einsum("pk,ikp->ip", table.astype(yb.dtype)[which], yb)  # float32 data: float32 products
    return slope, read_noise**2 * sq[which], pf[which], response


@lru_cache(maxsize=8)
def _gls_table(times):
    """GLS weights of an uninterrupted ramp at every rho of :data:`RHO_GRID`, ``(nrho, ngroups)``."""
    times = np.asarray(times)
    return _gls_weights(np.ones((times.size, RHO_GRID.size, 1), bool), times, RHO_GRID[None, :, None])[:, :, 0].T


def _fit_rest(y, rest, times, rate, read_noise, gain, method, into, phasors=None):
    """Fit the ``rest`` pixels (:func:`_rest`) of every integration (a jump, other segments) together, into ``into``.

    ``into``: the (slopes, var_r, pfac) arrays, ``(nints, npix)``, and with ``phasors``
    ``(nints, ngroups, J)`` the responses ``(nints, J, npix)``.  They are a few per
    integration: one call for all, not one per integration (a time series has thousands).
    """
    ii, pp, labels = rest
    if not ii.size:
        return
    z = None if phasors is None else np.moveaxis(phasors[ii], 0, -1)  # (ngroups, J, n): each pixel its own
    s, vr, pf, r = _fit_integration(y[ii, :, pp].T[:, :, None], labels[:, :, None], times,
                                    rate[pp, None], read_noise[pp, None], gain[pp, None], method,
                                    None if z is None else z[..., None])
    for array, value in zip(into[:3], (s, vr, pf), strict=True):
        array[ii, pp] = value[:, 0]
    if phasors is not None:
        into[3][ii, :, pp] = r[..., 0].T


def _nan_to_num(x):
    """``np.nan_to_num(x)`` (NaN -> 0, +-inf -> +-the largest finite value) in 3 passes over ``x`` instead of 7."""
    big = np.finfo(x.dtype).max
    y = np.where(np.isnan(x), 0.0, x)
    return np.clip(y, -big, big, out=y)


def _inverse(x, unfit):
    """``x = where(unfit, 0, 1 / max(x, 1e-20))`` in place."""
    np.maximum(x, 1e-20, out=x)
    np.divide(1.0, x, out=x)
    np.copyto(x, 0.0, where=unfit)


def _fit_block(data, groupdq, read_noise, gain, times, dark_rate, method, interference, y):
    """Fit a block of rows; ``y``: a float32 array ``(nints, ngroups, npix)`` to work in.

    ``data`` the block's ramps ``(nints, ngroups, rows, nx)`` (a view of the exposure's: read once,
    into ``y``), the other per-pixel arrays flattened on the last axis (npix = rows nx).
    Returns the rate and the integrations' rates, then their Poisson variances, their read-noise
    variances and (with ``interference``, :func:`fit_ramps`; else None) its variances.
    """
    nints, _, npix = y.shape
    np.subtract(data, data[:, :1], out=y.reshape(data.shape))  # slopes ignore a constant; float32 halves the traffic
    runs, simple = _common_runs(groupdq)
    rest = _rest(groupdq, simple)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pixels with no usable difference
        rate = np.nan_to_num(np.nanmean(_first_guess(y, times, runs, simple, rest), axis=0))
    phasors, powers = (None, None) if interference is None else interference
    slopes, var_r, pfac = (np.full((nints, npix), np.nan) for _ in range(3))
    responses = None if phasors is None else np.zeros((nints, phasors.shape[2], npix), np.complex128)
    for base, members in runs:
        s, vr, pf, r = _template_fit(y[members], base, times, rate + dark_rate, read_noise, gain, method,
                                     None if phasors is None else phasors[members])
        mask = simple[members]
        for array, value in ((slopes, s), (var_r, vr), (pfac, pf)):  # array[members] = where(mask, value, NaN)
            if isinstance(members, slice):  # a view of the NaN-filled array: in place
                np.copyto(array[members], value, where=mask)
            else:
                array[members] = np.where(mask, value, np.nan)
        if phasors is not None:
            responses[members] = np.where(mask[:, None], r, 0.0)
    _fit_rest(y, rest, times, rate + dark_rate, read_noise, gain, method, (slopes, var_r, pfac, responses),
              phasors)
    # The (nints, npix) arrays below are worked on in place: each fresh one is a pass over new pages (a 1000-integration
    # TSO's block: 18 MB each), the same arithmetic as the expressions in the comments.
    fitted = np.isfinite(slopes)
    unfit = ~fitted
    signal = np.clip(rate + dark_rate, 0.0, None) / gain
    weight = _nan_to_num(pfac)  # where(fitted, 1 / max(nan_to_num(var_r) + signal nan_to_num(pfac), 1e-20), 0)
    weight *= signal
    weight += _nan_to_num(var_r)
    _inverse(weight, unfit)
    slopes_0 = _nan_to_num(slopes)
    product = weight * slopes_0
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.nan_to_num(product.sum(axis=0) / weight.sum(axis=0))
    signal = np.clip(rate + dark_rate, 0.0, None) / gain
    var_p = np.multiply(signal, pfac, out=pfac)  # where(fitted, signal pfac, 0)
    np.copyto(var_p, 0.0, where=unfit)
    np.copyto(var_r, 0.0, where=unfit)
    np.add(var_p, var_r, out=weight)  # where(fitted, 1 / max(var_p + var_r, 1e-20), 0)
    _inverse(weight, unfit)
    any_fit = fitted.any(axis=0)
    norm = np.where(any_fit, weight.sum(axis=0), np.nan)
    combined = np.multiply(weight, slopes_0, out=product).sum(axis=0) / norm
    squared = np.square(weight, out=slopes_0)  # weight**2
    comb_p = np.multiply(squared, var_p, out=product).sum(axis=0) / norm**2
    comb_r = np.multiply(squared, var_r, out=product).sum(axis=0) / norm**2
    var_i = var_i_ints = None
    if phasors is not None:  # sum_j p_j |sum c z_j|^2, the integrations combined with the weights of the rate
        with np.errstate(invalid="ignore"):  # complex division by the NaN norm of unfitted pixels
            var_i = powers @ (np.abs(np.einsum("ip,ijp->jp", weight, responses) / norm) ** 2)
        var_i_ints = np.where(fitted, np.einsum("j,ijp->ip", powers, np.abs(responses) ** 2), np.nan)
    np.copyto(var_p, np.nan, where=unfit)
    np.copyto(var_r, np.nan, where=unfit)
    return combined, slopes, comb_p, var_p, comb_r, var_r, var_i, var_i_ints


def fit_ramps(data, groupdq, read_noise, gain, group_time, dark_rate=0.0, method="ols", interference=None):
    """Fit every pixel's ramps with ``method`` (``ols``, ``optimal`` or ``likelihood``).

    Parameters
    ----------
    data : (nints, ngroups, ny, nx) float
        Dark-subtracted, linearised ramps in DN.
    groupdq : (nints, ngroups, ny, nx) uint8
        Group flags: DO_NOT_USE and SATURATED groups are skipped, JUMP_DET starts a segment.
    read_noise, gain : (ny, nx) float
        Read noise of one read (DN) and gain (e-/DN).
    group_time : float
        Seconds between groups.
    dark_rate : (ny, nx) float or float
        Dark current (DN/s) already subtracted from ``data``; its shot noise still counts.
    interference : (phasors, powers), optional
        A disturbance of unknown phase left in every ramp,
        ``d_ik = sum_j sqrt(2 p_j) Re(z_ikj exp(i phi_j))`` with each phi_j uniform: ``phasors``
        z ``(nints, ngroups, J)`` complex, ``powers`` p ``(J,)`` (:mod:`calibration.emi_noise`).
        Since every estimate here is linear, ``sum c_ik y_ik`` (integrations and segments
        combined), its variance in each rate is ``sum_j p_j |sum_ik c_ik z_ikj|^2`` with the
        fit's own weights; it is returned as ``var_interference`` (and per integration).

    Returns
    -------
    RampFit
    """
    from .detector_kernels import ramp_flags  # here: numba once ramps are fitted

    nints, ngroups, ny, nx = data.shape
    times = group_time * np.arange(1, ngroups + 1, dtype=np.float64)
    dark_rate = np.broadcast_to(np.asarray(dark_rate, dtype=np.float64), (ny, nx))
    gain = np.broadcast_to(np.asarray(gain, dtype=np.float64), (ny, nx))
    read_noise = np.broadcast_to(np.asarray(read_noise, dtype=np.float64), (ny, nx))
    keys = ("rate", "var_p", "var_r") + (() if interference is None else ("var_i",))
    out = {k: np.empty((ny, nx), np.float32) for k in keys}  # every row is written by its block
    ints = {k: populated_array((nints, ny, nx), np.float32) for k in keys}  # a time series': 120 MB each
    dq_rate, dq_ints = np.empty((ny, nx), np.uint32), populated_array((nints, ny, nx), np.uint32)
    block_rows = max(1, BLOCK_SAMPLES // (nints * ngroups * nx))
    work = np.empty(nints * ngroups * min(block_rows, ny) * nx, np.float32)  # one for all blocks: no fresh pages each
    for r0 in range(0, ny, block_rows):
        rows = slice(r0, min(r0 + block_rows, ny))
        nb = rows.stop - rows.start
        flat = (nints, ngroups, nb * nx)
        block_dq = groupdq[:, :, rows].reshape(flat)
        block = _fit_block(data[:, :, rows], block_dq, read_noise[rows].ravel(), gain[rows].ravel(), times,
                           dark_rate[rows].ravel(), method, interference, work[:np.prod(flat)].reshape(flat))
        for key, value in zip(("rate", "var_p", "var_r", "var_i"), block[0:8:2], strict=True):
            if key in out:
                out[key][rows] = value.reshape(nb, nx)
        for key, value in zip(("rate", "var_p", "var_r", "var_i"), block[1:8:2], strict=True):
            if key in ints:
                ints[key][:, rows] = value.reshape(nints, nb, nx)
        flags_ints, flags = ramp_flags(block_dq, np.isfinite(ints["rate"][:, rows]).reshape(nints, -1),
                                       *(np.uint32(f) for f in (dq.DO_NOT_USE, dq.SATURATED, dq.JUMP_DET)))
        dq_ints[:, rows], dq_rate[rows] = flags_ints.reshape(nints, nb, nx), flags.reshape(nb, nx)
    return RampFit(out["rate"], out["var_p"], out["var_r"], dq_rate, ints["rate"], ints["var_p"], ints["var_r"],
                   dq_ints, out.get("var_i"), ints.get("var_i"))


def fit_ols(data, groupdq, read_noise, gain, group_time, dark_rate=0.0, interference=None):
    """Variant ``ols``: :func:`fit_ramps` with ``method="ols"``."""
    return fit_ramps(data, groupdq, read_noise, gain, group_time, dark_rate, "ols", interference=interference)


def fit_optimal(data, groupdq, read_noise, gain, group_time, dark_rate=0.0, interference=None):
    """Variant ``optimal``: :func:`fit_ramps` with ``method="optimal"``."""
    return fit_ramps(data, groupdq, read_noise, gain, group_time, dark_rate, "optimal", interference=interference)


def fit_likelihood(data, groupdq, read_noise, gain, group_time, dark_rate=0.0, interference=None):
    """Variant ``likelihood``: :func:`fit_ramps` with ``method="likelihood"``."""
    return fit_ramps(data, groupdq, read_noise, gain, group_time, dark_rate, "likelihood", interference=interference)
