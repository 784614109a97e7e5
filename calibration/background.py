"""Background subtraction variants for imager photometry (before the source catalog).

* ``local`` (default): nothing here; the catalog subtracts each source's local
  background, the sigma-clipped median of its sky annulus (APCORR reference radii).
* ``map``: a 2-D background from the image itself, ``photutils.background.Background2D``
  (sigma-clipped median in ``BOX`` x ``BOX`` pixel boxes, 3 x 3 median filter of the box
  grid), with the sources masked first (``detect_sources`` above 3 sigma of a
  first-pass background, footprints dilated by ``MASK_DILATE`` pixels), then
  subtracted; the catalog's annulus then removes only what is left.  It follows
  gradients and steps (the Lyot-field offset) that a per-source annulus straddles.

A dedicated background exposure is not supported yet.
"""
import warnings

import numpy as np
from astropy.convolution import Gaussian2DKernel, convolve
from astropy.stats import SigmaClip, sigma_clipped_stats
from photutils.background import Background2D, MedianBackground
from photutils.segmentation import detect_sources
from scipy import ndimage

BOX = 32
MASK_DILATE = 5


def local(sci):
    """Variant ``local``: the image unchanged (the catalog's annuli do the work)."""
    return sci


def source_mask(sci, nsigma=3.0, npixels=5):
    bad = ~np.isfinite(sci)
    _, median, std = sigma_clipped_stats(sci, mask=bad, sigma=3.0)
    smooth = convolve(np.where(bad, median, sci) - median, Gaussian2DKernel(1.5), normalize_kernel=True)
    segments = detect_sources(smooth, nsigma * std / 2.0, npixels=npixels, mask=bad)
    mask = np.zeros(sci.shape, bool) if segments is None else segments.data > 0
    return ndimage.binary_dilation(mask, iterations=MASK_DILATE) | bad


def background_map(sci, box=BOX):
    """The sigma-clipped 2-D background of ``sci`` with its sources masked."""
    mask = source_mask(sci)
    ny, nx = sci.shape
    size = (min(box, ny), min(box, nx))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bkg = Background2D(np.where(mask, 0.0, sci), size, filter_size=(3, 3), mask=mask,
                           sigma_clip=SigmaClip(sigma=3.0), bkg_estimator=MedianBackground(),
                           exclude_percentile=50.0)
    return bkg.background


def subtract_map(sci):
    """Variant ``map``: ``sci`` minus :func:`background_map` (NaNs stay NaN)."""
    return sci - background_map(sci)
