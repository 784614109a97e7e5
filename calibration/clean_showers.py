"""MRS ``clean_showers``: the residual shower light in the rate, modelled from the inter-slice gaps and removed.

A cosmic-ray shower the jump and showers steps leave unflagged (:mod:`simulator.showers`: a halo
of 10-40 px semi-axes and 4-40 DN, part of it released over ~15 s) stays in the rate as a smooth
excess, and so does whatever scattered light the cross-artifact model (:mod:`calibration.straylight`)
leaves.  The pixels between the slices see no sky: their rate is that excess alone (with their noise).
The model, after jwst's ``straylight`` step with ``clean_showers`` (its ``straylight.clean_showers``:
the gap pixels' light smoothed by a 2-D Gaussian of 18 x 5 px and that image subtracted; read to
understand it, written here anew), with the gap light interpolated across the slices rather than
smoothed over them:

    g = G * (w O) / G * w     on the gap pixels,
    M(y, x) = g(y, .) interpolated linearly in x between the row's gap pixels (held beyond the outermost),

``O`` the rate, ``w`` 1 on the usable gap pixels (not DO_NOT_USE, not reference pixels, finite)
whose rate is within the :data:`REJECT_PERCENTILES` of the gap pixels' (a cosmic ray's hot pixel
left out; jwst's ``shower_low_reject = 0.1``, ``shower_high_reject = 99.9``) and 0 elsewhere, ``G`` a
2-D Gaussian of :data:`SIGMA_Y` px along the columns (jwst's ``shower_y_stddev = 5``) and
:data:`SIGMA_X` px along the rows (the gap's own few pixels averaged).  ``M`` is subtracted from every
usable pixel (as jwst does, the gaps' too); a row with fewer than two gap pixels gets none.  Why not
jwst's 18 px along the rows: a shower (10-40 px semi-axes, :mod:`simulator.showers`) sampled by gaps
every ~25 px is smeared by it: on synthetic showers in 20 px slices with 5 px gaps, 37-53 % of their
light comes out pixel by pixel (``1 - sum |left| / sum showers``) with jwst's kernel against 58-66 %
here, the net light removed the same (96-106 %); measured on simulated exposures: benchmarks/mrs_showers.py.

**Gap pixels**: those outside the slices of the exposure's two bands (:func:`lit_pixels`, from the
geometry references as ``mrs_wcs`` reads them: the REGIONS map, or the slices derived from the
DISTORTION), the slices grown by :data:`MARGIN_PX` along the rows: the derived slice ends and the
light may disagree by a few tenths of a pixel, and a slice's edge pixel with some sky in it would
carry the sky into the model (jwst reads the REGIONS plane of 40 % throughput, ``shower_plane = 3``,
for the same reason: a wider slice).

The variance is left as it is: ``g`` averages ~18 rows of a gap's few pixels, so ``M``'s noise is
~0.12 of a pixel's (measured on white noise, slices of 20 px, gaps of 5; jwst's 18 x 5 px kernel
gives ~0.09).  The variant ``none`` (the default, as jwst's ``clean_showers = False``) is a declared skip.
"""
import numpy as np
from scipy.ndimage import binary_dilation, gaussian_filter

from miri_testbed.instrument import dq as dqflags

#: The Gaussian's sigma along the rows (x) and the columns (y), px: y jwst's shower_y_stddev; x a gap's width.
SIGMA_X, SIGMA_Y = 2.0, 5.0
#: The gap pixels' rates kept, percentiles: jwst's shower_low_reject, shower_high_reject.
REJECT_PERCENTILES = (0.1, 99.9)
#: Pixels the slices are grown by along the rows before the rest is taken as gaps.
MARGIN_PX = 1


def lit_pixels(bands, shape):
    """Whether each pixel of the frame is in a slice of the exposure's bands.

    ``bands``: their :class:`calibration.mrs_wcs.MrsPixels` (the ``mrs_wcs`` step's,
    :func:`calibration.mrs_wcs.band_pixels`).
    """
    lit = np.zeros(shape, bool)
    for pixels in bands:
        lit[pixels.y, pixels.x] = True
    return lit


def _usable(rate, dq):
    """Finite pixels that are neither DO_NOT_USE nor reference pixels."""
    return np.isfinite(rate) & ((dq & (dqflags.DO_NOT_USE | dqflags.REFERENCE_PIXEL)) == 0)


def gap_weights(rate, dq, lit):
    """``w`` of the module docstring: 1 on the usable gap pixels within the percentiles, else 0."""
    usable = _usable(rate, dq)
    grown = binary_dilation(lit, structure=np.ones((1, 2 * MARGIN_PX + 1), bool))
    gaps = usable & ~grown
    if not gaps.any():
        return gaps.astype(float)
    low, high = np.percentile(rate[gaps], REJECT_PERCENTILES)
    return (gaps & (rate >= low) & (rate <= high)).astype(float)


def _smooth(image):
    return gaussian_filter(image, (SIGMA_Y, SIGMA_X), mode="constant", cval=0.0)


def shower_model(rate, dq, lit):
    """``M`` of the module docstring (DN/s, the rate's shape; 0 on rows with fewer than two gap pixels)."""
    w = gap_weights(rate, dq, lit)
    weight = _smooth(w)
    gap_light = _smooth(np.where(w > 0, rate, 0.0)) / np.where(w > 0, weight, 1.0)
    columns = np.arange(rate.shape[1])
    model = np.zeros(rate.shape)
    for y in np.flatnonzero(np.count_nonzero(w, axis=1) >= 2):
        x = np.flatnonzero(w[y])
        model[y] = np.interp(columns, x, gap_light[y, x])
    return model


def gaps(rate, var, dq, lit):
    """Variant ``gaps`` of step ``clean_showers``: ``(rate - M, var)`` (module docstring); ``lit``: :func:`lit_pixels`.

    Non-finite, DO_NOT_USE and reference pixels stay as they are.
    """
    model = shower_model(rate, dq, lit)
    return np.where(_usable(rate, dq), rate - model, rate).astype(rate.dtype, copy=False), var
