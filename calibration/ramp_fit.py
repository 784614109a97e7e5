"""Ramp fitting by ordinary least squares, with the exact variance of that estimator.

For one integration with group times ``t_k`` and a usable-group mask ``m_k`` (groups
flagged DO_NOT_USE, SATURATED or JUMP_DET are left out), the OLS slope is

    b = sum_k a_k y_k,   a_k = m_k (t_k - tbar) / S_tt,   S_tt = sum_k m_k (t_k - tbar)^2.

With read noise sigma_r per read (independent reads) and Poisson charge whose
variance in DN^2 is ``R t / g`` (R in DN/s, gain g), the covariance of the samples is
``sigma_r^2 delta_kl + (R/g) min(t_k, t_l)``, so the variance of b is exactly

    var_r = sigma_r^2 / S_tt,
    var_p = (R/g) sum_{k>=1} (t_k - t_{k-1}) A_k^2,   A_k = sum_{j>=k} a_j

(the sum over intervals uses ``sum_k a_k = 0``).  For a full ramp of N groups this is
the textbook ``6 (N^2+1) / (5 N (N^2-1)) R / (g dt)``.  R is the pixel's signal rate
including dark current, estimated from all its integrations together; integrations are
then combined by inverse-variance weights.  Evaluating var_p at that combined R (not
at each integration's own slope) keeps the weights from favouring low slopes.

Not done here (their own issue): segments between jumps, optimal weighting, the
likelihood fit.  A pixel with fewer than two usable groups in every integration gets
NaN and DO_NOT_USE.
"""
from dataclasses import dataclass

import numpy as np

from instrument import dq

UNUSABLE_GROUP = dq.DO_NOT_USE | dq.SATURATED | dq.JUMP_DET


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


def _weights(mask, times):
    """OLS weights ``a_k`` (shape ``(ngroups, ny, nx)``) and ``S_tt`` for one integration."""
    m = mask.astype(np.float64)
    n = m.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tbar = np.tensordot(times, m, axes=1) / n
        dt = (times[:, None, None] - tbar) * m
        s_tt = (dt * dt).sum(axis=0)
        a = dt / s_tt
    return a, s_tt, n


def _poisson_factor(a, times):
    """``sum_{k>=1} (t_k - t_{k-1}) A_k^2`` with ``A_k`` the reverse cumulative sum of ``a``."""
    tail = np.cumsum(a[::-1], axis=0)[::-1]
    return np.tensordot(np.diff(times), tail[1:] ** 2, axes=1)


def fit_ols(data, groupdq, read_noise, gain, group_time, dark_rate=0.0):
    """Fit every pixel's ramps.

    Parameters
    ----------
    data : (nints, ngroups, ny, nx) float
        Dark-subtracted ramps in DN.
    groupdq : (nints, ngroups, ny, nx) uint8
        Group flags; groups with :data:`UNUSABLE_GROUP` bits are excluded.
    read_noise, gain : (ny, nx) float
        Read noise of one read (DN) and gain (e-/DN).
    group_time : float
        Seconds between groups.
    dark_rate : (ny, nx) float or float
        Dark current (DN/s) subtracted from ``data``; its shot noise still counts.
    """
    nints, ngroups = data.shape[:2]
    times = group_time * np.arange(1, ngroups + 1, dtype=np.float64)
    shape = data.shape[2:]
    slopes = np.full((nints,) + shape, np.nan)
    var_r = np.full((nints,) + shape, np.nan)
    pfac = np.full((nints,) + shape, np.nan)
    for i in range(nints):
        usable = (groupdq[i] & UNUSABLE_GROUP) == 0
        a, s_tt, n = _weights(usable, times)
        ok = n >= 2
        y = np.where(usable, data[i], 0.0).astype(np.float64)
        slopes[i] = np.where(ok, np.nansum(a * y, axis=0), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            var_r[i] = np.where(ok, read_noise.astype(np.float64) ** 2 / s_tt, np.nan)
        pfac[i] = np.where(ok, _poisson_factor(np.nan_to_num(a), times), np.nan)

    fitted = np.isfinite(slopes)
    # Signal rate for the shot noise: all integrations together, dark current included.
    mean_slope = np.where(fitted, slopes, 0.0).sum(axis=0) / np.maximum(fitted.sum(axis=0), 1)
    signal = np.clip(mean_slope + dark_rate, 0.0, None)
    var_p = np.where(fitted, signal / gain * pfac, 0.0)
    var_r = np.where(fitted, var_r, 0.0)
    # Noise-free ramps have zero variance: equal (huge) weights then, not a division by 0.
    weight = np.where(fitted, 1.0 / np.maximum(var_p + var_r, 1e-20), 0.0)
    wsum = weight.sum(axis=0)
    any_fit = fitted.any(axis=0)
    norm = np.where(any_fit, wsum, np.nan)
    # Weighted mean of the integrations; its variance sum(w^2 var)/sum(w)^2 = 1/sum(w),
    # split exactly into its read-noise and Poisson parts.
    rate = (weight * np.nan_to_num(slopes)).sum(axis=0) / norm
    comb_p = (weight**2 * var_p).sum(axis=0) / norm**2
    comb_r = (weight**2 * var_r).sum(axis=0) / norm**2
    saturated_ints = np.any(groupdq & dq.SATURATED, axis=1)
    unusable = np.uint32(dq.DO_NOT_USE)
    dq_ints = np.where(fitted, np.uint32(0), unusable) | np.where(saturated_ints & ~fitted, np.uint32(dq.SATURATED), np.uint32(0))
    dq_rate = np.where(any_fit, np.uint32(0), unusable | np.bitwise_or.reduce(dq_ints, axis=0))
    return RampFit(
        rate=rate.astype(np.float32),
        var_poisson=comb_p.astype(np.float32),
        var_rnoise=comb_r.astype(np.float32),
        dq=dq_rate,
        rate_ints=slopes.astype(np.float32),
        var_poisson_ints=np.where(fitted, var_p, np.nan).astype(np.float32),
        var_rnoise_ints=np.where(fitted, var_r, np.nan).astype(np.float32),
        dq_ints=dq_ints,
    )
