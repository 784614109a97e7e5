"""pixel_replace for the LRS: bad pixels on and near the trace get a value from the spatial profile.

A bad pixel (NaN rate or variance, or DO_NOT_USE) on the trace would leave the box
extraction a partial sum, a 'dropout' in the spectrum (params 6, issue 15).  This step
runs in spec2 after the background and before extract_1d, as jwst's ``pixel_replace``
runs before its ``extract_1d``; a replaced pixel loses DO_NOT_USE and gains
FLUX_ESTIMATED, jwst's flag for it.

Variant ``profile`` (ours).  For row ``i`` with trace column ``c_i``, its window is the
whole pixels ``W_i = {j : |j - c_i| <= H}``, ``H`` = :data:`calibration.extract1d.OPTIMAL_HALF_WIDTH_PIX`
(it holds the box's 8 pixels and the optimal window), ``G_i`` its good pixels and ``B_i``
its bad ones.  The profile is the mean of the neighbouring rows,

    S_j = (1 / n) sum_{k in N_i} D_kj,        V'_j = (1 / n) sum_{k in N_i} V_kj,

over ``N_i``: the nearest :data:`PAIRS` pairs of rows ``i - k``, ``i + k`` (``k <=``
:data:`MAX_DISTANCE`) whose pixels in ``W_i`` are all good, ``n = |N_i|``.  Symmetric pairs
make the profile's change along the dispersion (the PSF grows with wavelength; the trace
drifts across the rows) cancel to first order.  The row's scale is the weighted
least-squares fit of the profile to its good pixels, and a bad pixel gets the scaled
profile:

    a = sum_G S_j D_ij / V'_j  /  sum_G S_j^2 / V'_j,          D^_ib = a S_b,

    var(D^_ib) = S_b^2 / sum_G (S_j^2 / V'_j)  +  a^2 V'_b / n,

the scale's error and the profile's own (the weights' variances are the neighbours', so
they do not depend on the row's own noise).  The rate is a sum of the row's and the
neighbours' pixels, so its error is correlated with theirs; the per-pixel variance does
not carry that covariance.

Noise-free bound (tests/test_pixel_replace.py).  With ``D_kj = f_k p_k(j)`` (``p_k`` the
profile of row ``k``, normalised over ``W_i``), ``s = sum_W S`` and ``delta = S / s - p_i``
the profile's error, the algebra of the fit gives exactly
``D^_ib - D_ib = f_i [delta_b - (S_b / s) sum_G w (S/s) delta / sum_G w (S/s)^2]``, so
by Cauchy-Schwarz

    |D^_ib - D_ib| <= f_i ( |delta_b| + (S_b / s) sqrt(sum_G w delta^2 / sum_G w (S/s)^2) ),

``w = 1 / V'``; a profile that does not change along the rows (``delta = 0``) is replaced
exactly.  For a smooth change ``delta ~ (1/2) <k^2> d^2 p / dk^2``, second order.

Limits: a row of an unresolved line cuts the line's PSF at its own height, so it is not
its neighbours' profile (~10 % per row, :mod:`calibration.extract1d`): a replaced pixel
in a line's rows is that far off.  A bad pixel whose row has no good pixel in its window,
or no clean pair of neighbours within :data:`MAX_DISTANCE` rows, stays as it was (NaN,
DO_NOT_USE), and the extraction leaves it out and flags the row.  Only the windows of
rows with a trace are looked at; bad pixels elsewhere stay.

Variants ``jwst_fit_profile`` and ``jwst_mingrad`` (with the ``peers`` extra):
``jwst.pixel_replace.PixelReplacement`` run offline on an in-memory ``ImageModel``
(dispersion along the columns, ``dispersion_direction = 2``), on the whole frame as the
jwst pipeline runs it on an LRS image; bad pixels are handed over as NaN with DO_NOT_USE
(jwst's ``mingrad`` replaces NaN only), the variance as VAR_POISSON (VAR_RNOISE and
VAR_FLAT zero), and read back as their sum.
"""
from importlib.util import find_spec

import numpy as np

from miri_testbed.instrument import dq as dqflags

from .extract1d import OPTIMAL_HALF_WIDTH_PIX, usable

#: Pairs of neighbouring rows in the profile (jwst's fit_profile takes 3 on each side).
PAIRS = 3
#: Farthest neighbour row, rows from the replaced one.
MAX_DISTANCE = 8


def _neighbours(good, window, i):
    """The rows of the nearest :data:`PAIRS` clean pairs around row ``i`` (all of ``window`` good)."""
    ny = good.shape[0]
    rows = []
    for k in range(1, MAX_DISTANCE + 1):
        if i - k >= 0 and i + k < ny and good[i - k, window].all() and good[i + k, window].all():
            rows += [i - k, i + k]
            if len(rows) == 2 * PAIRS:
                break
    return rows


def profile(sci, var, dq, trace_x):
    """Variant ``profile`` (module docstring).

    Parameters
    ----------
    sci, var : (ny, nx) float
        Background-subtracted rate (DN/s) and its variance.
    dq : (ny, nx) uint32
    trace_x : (ny,) float
        Trace column of each row; NaN: the row is not extracted.

    Returns
    -------
    sci, var, dq
        New arrays with the replaced pixels' values, variances and flags.
    """
    good = usable(sci, var, dq)
    j = np.arange(sci.shape[1])
    with np.errstate(invalid="ignore"):
        windows = np.abs(j[None, :] - trace_x[:, None]) <= OPTIMAL_HALF_WIDTH_PIX  # NaN trace: no window
    sci, var, dq = np.array(sci, dtype=float), np.array(var, dtype=float), np.array(dq, dtype=np.uint32)
    for i in np.flatnonzero((windows & ~good).any(axis=1)):
        window = windows[i]
        rows = _neighbours(good, window, i)
        fit, bad = window & good[i], window & ~good[i]
        if not rows or not fit.any():
            continue
        s = sci[rows][:, window].mean(axis=0)
        v = var[rows][:, window].mean(axis=0)
        in_fit, in_bad = fit[window], bad[window]
        norm = np.sum(s[in_fit] ** 2 / v[in_fit])
        if not norm > 0:
            continue
        a = np.sum(s[in_fit] * sci[i, fit] / v[in_fit]) / norm
        sci[i, bad] = a * s[in_bad]
        var[i, bad] = s[in_bad] ** 2 / norm + a**2 * v[in_bad] / len(rows)
        dq[i, bad] = (dq[i, bad] & ~np.uint32(dqflags.DO_NOT_USE)) | np.uint32(dqflags.FLUX_ESTIMATED)
    return sci, var, dq


def jwst_pixel_replace(sci, var, dq, trace_x, algorithm):
    """Variants ``jwst_fit_profile`` and ``jwst_mingrad``: jwst's ``PixelReplacement`` on the frame (module docstring).

    Parameters
    ----------
    sci, var, dq, trace_x
        As :func:`profile` (jwst replaces bad pixels anywhere, so ``trace_x`` is not used).
    algorithm : str

    Returns
    -------
    sci, var, dq

    Raises
    ------
    ImportError
        Without jwst (the ``peers`` extra).
    """
    try:
        from jwst.pixel_replace.pixel_replace import PixelReplacement
        from stdatamodels.jwst import datamodels as dm
    except ImportError as exc:
        raise ImportError(f"pixel_replace=jwst_{algorithm} needs jwst, the 'peers' extra: "
                          f"pip install -e \".[peers]\" ({exc})") from exc
    dq = np.asarray(dq, np.uint32)
    bad = ~usable(sci, var, dq)
    data = np.where(bad, np.nan, sci).astype(np.float32)
    variance = np.where(bad, np.nan, var).astype(np.float32)
    zeros = np.zeros(sci.shape, np.float32)
    given = np.where(bad, dq | dqflags.DO_NOT_USE, dq)
    # reference pixels are no science: jwst leaves NON_SCIENCE pixels as they are
    given = np.where(dq & dqflags.REFERENCE_PIXEL, given | dqflags.NON_SCIENCE | dqflags.DO_NOT_USE, given)
    model = dm.ImageModel(data=data, dq=given.astype(np.uint32), err=np.sqrt(variance), var_poisson=variance,
                          var_rnoise=zeros, var_flat=zeros.copy())
    model.meta.instrument.name = "MIRI"
    model.meta.wcsinfo.dispersion_direction = 2  # LRS: dispersed along the columns
    PixelReplacement(model, algorithm=algorithm).replace()
    replaced = bad & ((np.asarray(model.dq) & dqflags.FLUX_ESTIMATED) != 0) & np.isfinite(model.data)
    out_var = np.asarray(model.var_poisson, float) + np.asarray(model.var_rnoise, float) + np.asarray(model.var_flat,
                                                                                                      float)
    flagged = (dq & ~np.uint32(dqflags.DO_NOT_USE)) | np.uint32(dqflags.FLUX_ESTIMATED)
    return (np.where(replaced, model.data, sci), np.where(replaced, out_var, var),
            np.where(replaced, flagged, dq).astype(np.uint32))


def peer_variants():
    """The jwst pixel replacements as ``pixel_replace`` variants (none without the peers extra)."""
    if find_spec("jwst") is None:  # checked without importing jwst
        return {}
    return {
        "jwst_fit_profile": lambda *a: jwst_pixel_replace(*a, algorithm="fit_profile"),
        "jwst_mingrad": lambda *a: jwst_pixel_replace(*a, algorithm="mingrad"),
    }
