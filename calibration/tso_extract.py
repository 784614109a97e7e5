"""extract_1d per integration for a time series (the ``extract_tso`` step): one spectrum per integration.

Every variant turns the background-subtracted rates of the integrations, ``D_tij``
(integration ``t``, row ``i``, column ``j``), into ``f_ti = sum_j w_tij D_tij`` with the
variance of :mod:`calibration.extract1d`, ``sum_j w_tij^2 V_tij + (sum_j w_tij)^2 s_i^2``
(``V_tij``: the ramp fit's variance of that integration's rate, ``s_i^2``: the variance of
the background estimate every integration shares, :mod:`calibration.lrs_background`).
The weights are the same in every integration but for its bad pixels (NaN, DO_NOT_USE),
so a light curve is one fixed linear combination of the pixels: a change of the source's
flux moves every integration's value by the same factor.

* ``optimal`` (default): profile-weighted (Horne 1986, PASP 98, 609) with ONE spatial
  profile per row, the median over the integrations of each pixel's rate (clipped at 0,
  normalised over the whole pixels within :data:`calibration.extract1d.OPTIMAL_HALF_WIDTH_PIX`
  of the trace), and one variance per pixel for the weights, the median of ``V_tij``:

      f_ti = sum_j (P_ij D_tij / V_ij) / sum_j (P_ij^2 / V_ij)   (j over the pixels good in t).

  When the PSF is stable over the exposure this is the minimum-variance unbiased
  estimate of the window's rate in each integration: the profile, from all
  integrations, has ``1/N`` of one integration's noise and no row-to-row smoothing (a
  line's rows keep their own profile, unlike the single-exposure ``optimal`` of
  :mod:`calibration.extract1d`, whose profile is a median of neighbouring rows).  Each
  integration's own data are one of the ``N`` values of the median, a correlation of
  order ``1/N`` that is left out of the error.  The profile's own noise is common to all
  integrations: it scales the spectrum by a constant (to first order), not the light
  curve.  ``NPIXELS``: the pixels used.
* ``box``: the 8-pixel box with fractional edges of :func:`calibration.extract1d.aperture`
  (the JWST LRS default), bad pixels skipped, the row flagged DO_NOT_USE with their flags.

Work is done in blocks of :data:`BLOCK_INTS` integrations, so the memory is a few times
the rates' own whatever the number of integrations.
"""
import warnings
from dataclasses import dataclass

import numpy as np

from miri_testbed.instrument import dq as dqflags

from . import extract1d

#: Integrations extracted together (memory: a few arrays of this many frames).
BLOCK_INTS = 128


@dataclass
class ExtractedInts:
    """Spectra of every integration: ``(nints, ny)`` arrays (NaN and DO_NOT_USE where not extracted).

    Parameters
    ----------
    flux, error : (nints, ny) float
        Rate (DN/s) and standard error.
    npixels : (nints, ny) float
        Pixels used (box: summed fractions).
    dq : (nints, ny) uint32
    weights : (ny, nx) float
        The weights of a pixel good in every integration (to extract a background image
        the same way).
    """

    flux: np.ndarray
    error: np.ndarray
    npixels: np.ndarray
    dq: np.ndarray
    weights: np.ndarray


def _columns(carry):
    """The columns that may carry weight (``carry``: ``(ny, nx)`` bool), widened to whole groups of 8 from column 0.

    numpy sums up to 128 values in 8 interleaved partial sums (column j into sum j mod 8): dropping
    columns of zero weight in whole groups of 8 leaves every row sum bit-identical while the
    arrays shrink to the trace's few columns.  Other widths: every column.
    """
    nx = carry.shape[1]
    j = np.flatnonzero(carry.any(axis=0))
    if nx % 8 or nx > 128 or not j.size:
        return slice(None)
    return slice(j[0] // 8 * 8, -(-(j[-1] + 1) // 8) * 8)


def _extract(sci, var, var_row, dq, trace_x, weights_of, columns):
    """Apply ``weights_of(good, dq) -> (w, row_dq, npix)`` to blocks of integrations, on ``columns`` only."""
    nints, ny, _ = sci.shape
    out = ExtractedInts(np.full((nints, ny), np.nan), np.full((nints, ny), np.nan), np.zeros((nints, ny)),
                        np.zeros((nints, ny), np.uint32), None)
    traced = np.isfinite(trace_x)
    for start in range(0, nints, BLOCK_INTS):
        block = slice(start, min(start + BLOCK_INTS, nints))
        s, v, d = sci[block, :, columns].astype(float), var[block, :, columns].astype(float), dq[block, :, columns]
        good = extract1d.usable(s, v, d)
        w, row_dq, npix = weights_of(good, d)
        used = w.any(axis=2) & traced[None]
        flux = np.sum(w * np.where(good, s, 0.0), axis=2)
        variance = np.sum(w**2 * np.where(good, v, 0.0), axis=2) + np.sum(w, axis=2) ** 2 * var_row[None]
        out.flux[block] = np.where(used, flux, np.nan)
        out.error[block] = np.where(used, np.sqrt(variance), np.nan)
        out.npixels[block] = np.where(used, npix, 0.0)
        out.dq[block] = np.where(used, row_dq, row_dq | dqflags.DO_NOT_USE)
    return out


def _flags(dq, where):
    """Bitwise OR of ``dq`` over the pixels of each row where ``where`` (last axis)."""
    return np.bitwise_or.reduce(np.where(where, dq, 0).astype(np.uint32), axis=-1)


def box(sci, var, var_row, dq, trace_x):
    """Variant ``box`` (module docstring).

    Parameters
    ----------
    sci, var : (nints, ny, nx) float
        Background-subtracted rates (DN/s) of every integration and their variances.
    var_row : (ny,) float
        Variance of the background estimate shared by each row's pixels.
    dq : (nints, ny, nx) uint32
    trace_x : (ny,) float
        Trace column of each row; NaN: not extracted.

    Returns
    -------
    ExtractedInts
    """
    inside = extract1d.aperture(trace_x, sci.shape[2], extract1d.BOX_WIDTH_PIX / 2)
    columns = _columns(inside > 0)
    part = inside[:, columns]

    def weights_of(good, d):
        w = np.where(good, part[None], 0.0)
        skipped = (part[None] > 0) & ~good
        row_dq = _flags(d, skipped) | np.where(skipped.any(axis=2), dqflags.DO_NOT_USE, 0).astype(np.uint32)
        return w, row_dq, w.sum(axis=2)

    out = _extract(sci, var, var_row, dq, trace_x, weights_of, columns)
    out.weights = inside
    return out


def _nanmedian_first(x):
    """``np.nanmedian(x, axis=0)``, bit for bit (NaN where a lane has no number), from one sort along the axis.

    np.nanmedian takes the median of each lane apart in Python when the axis is long (>= 600
    integrations): 10800 calls, ~1 s of a 1000-integration SLITLESSPRISM TSO's extraction.
    """
    s = np.sort(x, axis=0)  # NaN last
    n = np.count_nonzero(~np.isnan(s), axis=0)
    low = np.take_along_axis(s, ((n - 1) // 2)[None], axis=0)[0]  # none: index -1, the last entry, NaN
    high = np.take_along_axis(s, (n // 2)[None], axis=0)[0]
    return (low + high) / 2  # the mean of the middle one or two, as np.median takes it


def profile_and_weight_variance(sci, var, dq, trace_x):
    """The one profile ``P_ij`` and the weights' variances ``V_ij`` of ``optimal`` (module docstring)."""
    window = np.abs(np.arange(sci.shape[2])[None, :] - trace_x[:, None]) <= extract1d.OPTIMAL_HALF_WIDTH_PIX
    band = np.flatnonzero(window.any(axis=0))
    profile, weight_var = np.zeros(window.shape), np.full(window.shape, np.inf)
    s, v = sci[:, :, band].astype(float), var[:, :, band].astype(float)
    good = extract1d.usable(s, v, dq[:, :, band])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pixel bad in every integration: no profile
        profile[:, band] = np.nan_to_num(_nanmedian_first(np.where(good, s, np.nan)))
        weight_var[:, band] = _nanmedian_first(np.where(good, v, np.nan))
    profile = np.where(window & np.isfinite(weight_var), np.clip(profile, 0.0, None), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = np.nan_to_num(profile / profile.sum(axis=1, keepdims=True))
    return profile, np.where(np.isfinite(weight_var) & (weight_var > 0), weight_var, np.inf), window


def optimal(sci, var, var_row, dq, trace_x):
    """Variant ``optimal`` (module docstring); arguments as :func:`box`."""
    profile, weight_var, window = profile_and_weight_variance(sci, var, dq, trace_x)
    ratio = profile / weight_var
    columns = _columns(window)  # the profile and the ratio are 0 outside the window
    part_ratio, part_profile, part_window = ratio[:, columns], profile[:, columns], window[:, columns]

    def weights_of(good, d):
        r = np.where(good, part_ratio[None], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.nan_to_num(r / np.sum(r * part_profile[None], axis=2, keepdims=True))
        skipped = part_window[None] & ~good
        return w, _flags(d, skipped) & ~np.uint32(dqflags.DO_NOT_USE), np.sum(part_window[None] & good, axis=2)

    out = _extract(sci, var, var_row, dq, trace_x, weights_of, columns)
    with np.errstate(invalid="ignore", divide="ignore"):
        out.weights = np.nan_to_num(ratio / np.sum(ratio * profile, axis=1, keepdims=True))
    return out
