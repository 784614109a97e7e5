"""Background subtraction for LRS spectra (the ``spec_background`` step), before extraction.

Every variant is ``f(sci, var, trace_x, sky_columns, backgrounds) -> (sci, var, var_row)``:
the rate image and its per-pixel variance, the trace column of each row (NaN: no
trace), the columns that see the sky (the slit's, or slitless every science column), and
the calibrated background exposures ``[(rate, var), ...]``.  It returns the subtracted
image, the variance of each pixel on its own, and ``var_row``, the variance of a
background estimate shared by all pixels of a row (its covariance; the extraction adds
``(sum_j w_j)^2 var_row``, :mod:`calibration.extract1d`).

* ``nod``: an along-slit nod pair (the ALONG SLIT NOD dither, JDox "MIRI LRS Dithering"):
  the other nod's rate, calibrated through detector1 as the science is, is the science's
  background at every pixel, as JWST's spec2 ``background`` step uses an association's
  background members: ``S' = S - mean_k B_k``, ``var(S') = var(S) + sum_k var(B_k) / n^2``
  (:func:`calibration.background.dedicated`); the noise is per pixel, so ``var_row = 0``.
  The source of the other nod leaves a negative trace 1.816" (16.5 px) away, outside
  the extraction apertures.
* ``columns``: for each row, the sigma-clipped (3 sigma, astropy ``sigma_clip``) median
  of the pixels of rows ``i - SMOOTH_ROWS .. i + SMOOTH_ROWS`` in the columns
  ``INNER_PIX <= |x - c| <= OUTER_PIX`` from the trace that see the sky, subtracted from
  the whole row; ``var_row = (pi/2) <var> / n``, the large-sample variance of the median
  of ``n`` normal values (Kendall & Stuart, *The Advanced Theory of Statistics* vol. 1,
  10.10), with ``<var>`` the mean variance of the pixels kept.  Widths (ours): the PSF's
  wings (its diffraction spikes run along the rows) put light far from the trace, which
  the median takes for sky: per column, summed over the rows, 0.11-0.19 % of an 8-px
  box's light at 10-25 px from the trace, 0.05-0.08 % at 20-33 px (the testbed's PSF at
  6-12 um, ``simulator.psf.cross_dispersion_profile``), so a box loses 8x that; hence
  INNER 20 px, and OUTER 33 px, the science columns of SLITLESSPRISM (4-71) around its
  reference column 37.5.  Measured on a noise-free slitless source: box fluxes 0.5 % low,
  optimal (13-px window) 0.7 % low.  Pooling 5 rows makes the estimate's variance 5x
  smaller than a single row's, at the price of rows that share it (the sky is smooth
  along the dispersion: slitless, a pedestal of the whole band).  Rows without a trace
  are left as they are; a row with a trace and no sky pixel gets NaN.
* ``auto`` (the default): ``nod`` when the exposure has a nod background, ``columns``
  otherwise (calibration.spec2 records which ran).
* ``none``: nothing subtracted.
"""
import numpy as np
from astropy.stats import sigma_clip

from . import background

#: Distance range from the trace of the sky columns of ``columns``, pixels (module docstring).
INNER_PIX, OUTER_PIX = 20.0, 33.0
#: Rows on each side pooled into a row's sky (module docstring).
SMOOTH_ROWS = 2
#: Clipping threshold, standard deviations.
CLIP_SIGMA = 3.0


def nod(sci, var, trace_x, sky_columns, backgrounds=()):
    """Variant ``nod`` (module docstring).

    Parameters
    ----------
    sci, var : (ny, nx) float
    trace_x : (ny,) float
    sky_columns : (nx,) bool
        Columns that see the sky.
    backgrounds : list of (rate, var)
        The other nod(s), calibrated.

    Returns
    -------
    sci, var, var_row
    """
    out, out_var = background.dedicated(sci, var, backgrounds)
    return out, out_var, np.zeros(sci.shape[0])


def columns(sci, var, trace_x, sky_columns, backgrounds=()):
    """Variant ``columns`` (module docstring); arguments as :func:`nod` (``backgrounds`` unused)."""
    ny = sci.shape[0]
    cols = np.flatnonzero(sky_columns)
    distance = np.abs(cols[None, :] - trace_x[:, None])
    sky = (distance >= INNER_PIX) & (distance <= OUTER_PIX) & np.isfinite(sci[:, cols]) & np.isfinite(var[:, cols])
    values, variances = np.where(sky, sci[:, cols], np.nan), np.where(sky, var[:, cols], np.nan)
    pad = ((SMOOTH_ROWS, SMOOTH_ROWS), (0, 0))
    values, variances = np.pad(values, pad, constant_values=np.nan), np.pad(variances, pad, constant_values=np.nan)
    pooled = np.hstack([values[k:k + ny] for k in range(2 * SMOOTH_ROWS + 1)])
    pooled_var = np.hstack([variances[k:k + ny] for k in range(2 * SMOOTH_ROWS + 1)])
    clipped = sigma_clip(np.ma.masked_invalid(pooled), sigma=CLIP_SIGMA, maxiters=5, axis=1, masked=True)
    n = clipped.count(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        level = np.ma.median(clipped, axis=1).filled(np.nan)
        mean_var = np.ma.masked_array(pooled_var, clipped.mask).mean(axis=1).filled(np.nan)
        var_row = np.where(n > 0, 0.5 * np.pi * mean_var / n, np.nan)
    traced = np.isfinite(trace_x)
    level = np.where(traced, level, 0.0)
    return sci - level[:, None], var, np.where(traced, var_row, 0.0)


def auto(sci, var, trace_x, sky_columns, backgrounds=()):
    """Variant ``auto``: :func:`nod` with a background exposure, :func:`columns` without."""
    return (nod if backgrounds else columns)(sci, var, trace_x, sky_columns, backgrounds)
