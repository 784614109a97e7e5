"""extract_1d for slit-like spectra dispersed along detector rows (the LRS): box and optimal.

Each variant turns a background-subtracted rate image into one value per row, a linear
combination of the row's pixels, ``f_i = sum_j w_ij D_ij``; the variants differ only in
the weights.  With ``V_ij`` each pixel's own variance and ``s_i^2`` the variance the
background estimate shares across row ``i`` (:mod:`calibration.lrs_background`), its
variance is exactly

    var(f_i) = sum_j w_ij^2 V_ij + (sum_j w_ij)^2 s_i^2.

A pixel is bad when its rate or variance is not finite or its DQ has DO_NOT_USE; bad
pixels get no weight.

* ``box``: ``w_ij`` is the fraction of pixel ``j`` inside ``[c_i - W/2, c_i + W/2]``
  around the trace column ``c_i``, ``W`` = :data:`BOX_WIDTH_PIX` = 8 pixels, the JWST
  default for the LRS (jdat_notebooks, "MIRI LRS Slit Spectroscopy: Spectral Extraction
  using the JWST Pipeline", Kendrew & Wong, pipeline 1.20.2: "a simple 8-pixel-wide
  boxcar extraction"; JWST then applies an aperture correction, which belongs with a
  photometric calibration and is not applied here).  ``f_i`` is the rate inside the box.
  Bad pixels are skipped, not replaced: ``NPIXELS`` (the summed fractions of the pixels
  used) says so, and the row's DQ carries DO_NOT_USE and the skipped pixels' flags,
  since its flux is then a partial sum.
* ``optimal``: profile-weighted extraction (Horne 1986, PASP 98, 609): over the whole
  pixels within :data:`OPTIMAL_HALF_WIDTH_PIX` of the trace,

      f_i = sum_j (P_ij D_ij / V'_ij) / sum_j (P_ij^2 / V'_ij),

  the minimum-variance unbiased estimate of the row's total rate in that window given the
  spatial profile ``P_ij`` (non-negative, summing to 1 over the window).  The profile is
  the data smoothed along the dispersion: the median of ``D_kj`` over the good pixels of
  the ``n_ij`` rows ``0 < |k - i| <= PROFILE_HALF_ROWS``, clipped at 0 and normalised over
  the window (a median, so that a cosmic ray, a hot pixel or a line's bright rows move it
  less than a mean).  The variances in the weights, ``V'_ij``, are the pixels' variances
  averaged over the same rows.  Row ``i`` itself is left out of both, so its weights do
  not depend on its own noise: a weight that correlates with the pixel it weights biases
  the estimate (Horne's reason to revise the variances from a model; leaving the row out
  removes the correlation instead).  Bad pixels drop out of the sums, and the profile
  accounts for their light, so ``f_i`` stays an estimate of the whole window's rate
  (``NPIXELS``: the pixels used; the DQ carries their flags without DO_NOT_USE).
  The profile's own noise moves the estimate too: to first order by
  ``-f sum_j (w_ij - 1) dS_ij / sum_k S_ik`` for errors ``dS`` of the unnormalised
  profile ``S`` (the normalisation's share is the ``- 1``), each a median of ``n_ij``
  values, of variance ``(pi/2) V'_ij / n_ij`` (Kendall & Stuart vol. 1, 10.10); so
  ``sum_j (w_ij - 1)^2 (pi/2) V'_ij / n_ij`` is added to the variance (without it the
  pulls are 4 % too wide at any S/N).  Limits, measured on the testbed's noise-free and
  Gaussian-noise spectra: the estimate is biased low by a few % of its error at a per-row
  S/N of 5-10 (the profile's noise, Horne 1986 sec. 4); within 10 rows of a sharp end of
  the light (the simulator's 5 um cut) it is 1-2 % high; an unresolved line's rows each
  cut its 2-D PSF at another height, so a line row is not its profile (~10 % per row), and
  the line's rows contaminate their neighbours' medians unevenly: with read-noise-limited
  (uniform) weights the optimal sum over a line 5x its continuum is 6 % high, with
  Poisson-limited weights (which make it a plain sum) 0.03 %.  For line fluxes, the box.
  No outlier rejection against the profile (jumps are flagged in detector1).

The trace column ``c_i`` comes from assign_wcs plus an offset found in the data
(:func:`locate`).  Rows whose trace is NaN are not extracted (NaN, DO_NOT_USE).
"""
import warnings
from dataclasses import dataclass

import numpy as np

from miri_testbed.instrument import dq as dqflags

#: Box width, pixels (module docstring: the JWST LRS default).
BOX_WIDTH_PIX = 8.0
#: Half width of the optimal extraction window, pixels: holds the PSF core and its first
#: two rings to 14 um (the first dark ring at 1.22 lambda/D is 4.9 px at 14 um) and stays
#: clear of the other nod's trace (16.5 px away).
OPTIMAL_HALF_WIDTH_PIX = 6.0
#: Rows on each side averaged into the profile and the weights' variances.
PROFILE_HALF_ROWS = 10
#: Half width of the centroid window of :func:`locate`, pixels.
LOCATE_HALF_WIDTH_PIX = 3.5
#: Centroid iterations of :func:`locate` (each moves the window to the last centroid).
LOCATE_ITERATIONS = 20
#: S/N of the pooled window's rate below which :func:`locate` reports no source.
LOCATE_MIN_SNR = 5.0


@dataclass
class Extracted:
    """One extracted spectrum: a value per row of the frame (NaN where not extracted).

    Parameters
    ----------
    flux, error : (ny,) float
        The row's rate (DN/s) and its standard error.
    npixels : (ny,) float
        Pixels used (box: summed fractions).
    dq : (ny,) uint32
    weights : (ny, nx) float
        ``w_ij`` (module docstring), so anything else in the image (a background) can be
        extracted the same way.
    """

    flux: np.ndarray
    error: np.ndarray
    npixels: np.ndarray
    dq: np.ndarray
    weights: np.ndarray


def usable(sci, var, dq):
    """Pixels that may carry weight: finite rate and variance, no DO_NOT_USE."""
    return np.isfinite(sci) & np.isfinite(var) & ((dq & dqflags.DO_NOT_USE) == 0)


def aperture(trace_x, nx, half_width):
    """Fraction of each pixel of each row inside ``[c_i - h, c_i + h]`` (0 where the trace is NaN)."""
    j = np.arange(nx)[None, :]
    c = np.nan_to_num(trace_x, nan=-1e9)[:, None]
    return np.clip(np.minimum(j + 0.5, c + half_width) - np.maximum(j - 0.5, c - half_width), 0.0, 1.0)


def _extracted(weights, sci, var, var_row, good, npixels, row_dq, var_weights=0.0):
    """Flux and error of the weights (module docstring), NaN and DO_NOT_USE for rows without any.

    ``var_weights``: variance the weights' own noise adds (optimal), per row.
    """
    used = weights.any(axis=1)
    data = np.where(good, sci, 0.0)
    flux = np.where(used, np.sum(weights * data, axis=1), np.nan)
    variance = (np.sum(weights**2 * np.where(good, var, 0.0), axis=1) + np.sum(weights, axis=1) ** 2 * var_row
                + var_weights)
    error = np.where(used, np.sqrt(variance), np.nan)
    row_dq = np.where(used, row_dq, row_dq | dqflags.DO_NOT_USE).astype(np.uint32)
    return Extracted(flux, error, np.where(used, npixels, 0.0), row_dq, weights)


def _flags(dq, where):
    """Bitwise OR of ``dq`` over the pixels of each row where ``where``."""
    return np.bitwise_or.reduce(np.where(where, dq, 0).astype(np.uint32), axis=1)


def box(sci, var, var_row, dq, trace_x):
    """Variant ``box`` (module docstring).

    Parameters
    ----------
    sci, var : (ny, nx) float
        Background-subtracted rate (DN/s) and its variance.
    var_row : (ny,) float
        Variance shared by the pixels of each row (the background estimate's).
    dq : (ny, nx) uint32
    trace_x : (ny,) float
        Trace column of each row; NaN: not extracted.

    Returns
    -------
    Extracted
    """
    good = usable(sci, var, dq)
    inside = aperture(trace_x, sci.shape[1], BOX_WIDTH_PIX / 2)
    weights = np.where(good, inside, 0.0)
    skipped = (inside > 0) & ~good
    row_dq = _flags(dq, skipped) | np.where(skipped.any(axis=1), dqflags.DO_NOT_USE, 0).astype(np.uint32)
    return _extracted(weights, sci, var, var_row, good, weights.sum(axis=1), row_dq)


def _neighbour_rows(values, good, half_rows):
    """For each row ``i``, ``values`` of its neighbours ``0 < |k - i| <= half_rows``.

    NaN where not ``good`` or off the frame; shaped ``(ny, nx, 2 half_rows)``.
    """
    v = np.pad(np.where(good, values, np.nan), ((half_rows, half_rows), (0, 0)), constant_values=np.nan)
    window = np.lib.stride_tricks.sliding_window_view(v, 2 * half_rows + 1, axis=0)
    return np.delete(window, half_rows, axis=2)


def optimal(sci, var, var_row, dq, trace_x):
    """Variant ``optimal`` (module docstring; Horne 1986).

    Parameters
    ----------
    sci, var, var_row, dq, trace_x
        As :func:`box`.

    Returns
    -------
    Extracted
    """
    good = usable(sci, var, dq)
    j = np.arange(sci.shape[1])[None, :]
    window = np.abs(j - trace_x[:, None]) <= OPTIMAL_HALF_WIDTH_PIX  # NaN trace: no window
    band = np.flatnonzero(window.any(axis=0))  # the columns any window touches
    profile, count = np.zeros(sci.shape), np.zeros(sci.shape)
    weight_var = np.array(var, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neighbours: no profile there
        rows = _neighbour_rows(sci[:, band], good[:, band], PROFILE_HALF_ROWS)
        profile[:, band] = np.nanmedian(rows, axis=2)
        count[:, band] = np.sum(np.isfinite(rows), axis=2)
        neighbours = np.nanmean(_neighbour_rows(var[:, band], good[:, band], PROFILE_HALF_ROWS), axis=2)
    weight_var[:, band] = np.where(np.isfinite(neighbours), neighbours, var[:, band])  # no good neighbour: its own
    profile = np.where(window, np.clip(np.nan_to_num(profile), 0.0, None), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        profile = np.nan_to_num(profile / profile.sum(axis=1, keepdims=True))
        ratio = np.where(good & (profile > 0), profile / weight_var, 0.0)
        weights = np.nan_to_num(ratio / np.sum(ratio * profile, axis=1, keepdims=True))
        median_var = np.where(window & (count > 0), 0.5 * np.pi * weight_var / count, 0.0)
    var_profile = np.sum((weights - 1.0) ** 2 * median_var, axis=1)
    skipped = window & ~good
    row_dq = _flags(dq, skipped) & ~np.uint32(dqflags.DO_NOT_USE)
    return _extracted(weights, sci, var, var_row, good, np.sum(window & good, axis=1).astype(float), row_dq,
                      var_profile)


def locate(sci, var, dq, trace_x, columns, search_pix):
    """The source's offset along x from the table's trace, found in the data.

    Each row's median over ``columns`` (its sky) is taken out.  A first guess is the peak,
    within ``search_pix``, of the rows summed at whole-pixel offsets from the trace; then
    the offset is the flux-weighted mean of ``j - x_i`` over a window of
    +/- :data:`LOCATE_HALF_WIDTH_PIX` around ``x_i + dx`` (fractional edges), pooled over
    every row, moved to each new centroid until it settles.  For a profile symmetric about
    the trace (a PSF) that fixed point is its centre.

    Parameters
    ----------
    sci, var : (ny, nx) float
        The rate image and its variance.
    dq : (ny, nx) uint32
    trace_x : (ny,) float
        The table's trace column per row (NaN: row not used).
    columns : (nx,) bool
        Columns where the source may be and the sky is measured (the slit; slitless: all
        science columns).
    search_pix : float
        Largest offset looked for.

    Returns
    -------
    dx : float
        The offset (0 when not found: S/N below :data:`LOCATE_MIN_SNR`).
    snr : float
        The S/N of the pooled window's rate.
    """
    good = usable(sci, var, dq) & columns[None, :]
    rows = np.isfinite(trace_x) & good.any(axis=1)
    sci, var, good, x = sci[rows], var[rows], good[rows], trace_x[rows]
    sky = np.nanmedian(np.where(good, sci, np.nan), axis=1)
    data = np.where(good, sci - sky[:, None], 0.0)
    nx = sci.shape[1]
    offsets = np.arange(-int(search_pix), int(search_pix) + 1)
    cols = np.rint(x)[:, None].astype(int) + offsets[None, :]
    inside = (cols >= 0) & (cols < nx)
    summed = np.where(inside, np.take_along_axis(data, np.clip(cols, 0, nx - 1), axis=1), 0.0).sum(axis=0)
    dx = float(offsets[np.argmax(summed)])
    j = np.arange(nx)[None, :]
    for _ in range(LOCATE_ITERATIONS):
        w = aperture(x + dx, nx, LOCATE_HALF_WIDTH_PIX) * good
        flux = np.sum(w * data)
        if not flux > 0:
            return 0.0, 0.0
        step = np.sum(w * data * (j - (x + dx)[:, None])) / flux
        dx += step
        if abs(step) < 1e-4 or abs(dx) > search_pix:
            break
    snr = flux / np.sqrt(np.sum(w**2 * np.where(good, var, 0.0)))
    if snr < LOCATE_MIN_SNR or abs(dx) > search_pix:
        return 0.0, float(snr)
    return float(dx), float(snr)
