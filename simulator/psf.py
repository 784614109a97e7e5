"""Imager point-spread function, integrated over detector pixels.

Model: a circular Gaussian whose FWHM is the flight value for the filter (params 4,
JDox "MIRI Point Spread Functions": 0.207" at F560W to 0.803" at F2550W), integrated
exactly over each pixel,

    P(i, j) = [Phi((i + 1/2 - x)/s) - Phi((i - 1/2 - x)/s)] * [same in y],

with Phi the normal CDF and s = FWHM / (2 sqrt(2 ln 2)) in pixels.  It has the right
width per filter and nothing else: no diffraction rings, no spikes, no cruciform.  The
diffraction PSF of the JWST pupil replaces it in its own issue; everything downstream
(aperture corrections included) is measured on whatever this module renders.
"""
import numpy as np
from scipy.special import ndtr

from instrument import imager

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def sigma_pixels(filter_name):
    """Gaussian sigma of the filter's PSF in (mean) imager pixels."""
    scale = 0.5 * (imager.PIXEL_SCALE_X_ARCSEC + imager.PIXEL_SCALE_Y_ARCSEC)
    return imager.imager_filter(filter_name).psf_fwhm_arcsec / scale * FWHM_TO_SIGMA


def _pixel_integrals(edges_lo, centre, sigma):
    return ndtr((edges_lo + 1.0 - centre) / sigma) - ndtr((edges_lo - centre) / sigma)


def add_point_source(image, x, y, total, sigma, half_width=None):
    """Add ``total`` (any unit) spread by the PSF centred at 0-based pixel ``(x, y)``.

    The stamp extends ``half_width`` pixels (default 8 sigma, where the Gaussian has
    less than 1e-15 of its flux left) and is clipped at the array edges, so light
    falling off the array is lost, as on the detector.
    """
    if half_width is None:
        half_width = int(np.ceil(8 * sigma)) + 1
    ny, nx = image.shape
    x0, x1 = max(int(np.floor(x)) - half_width, 0), min(int(np.floor(x)) + half_width + 1, nx)
    y0, y1 = max(int(np.floor(y)) - half_width, 0), min(int(np.floor(y)) + half_width + 1, ny)
    if x0 >= x1 or y0 >= y1:
        return
    px = _pixel_integrals(np.arange(x0, x1) - 0.5, x, sigma)
    py = _pixel_integrals(np.arange(y0, y1) - 0.5, y, sigma)
    image[y0:y1, x0:x1] += total * np.outer(py, px)


def render(shape, x, y, sigma):
    """A unit-flux PSF image of ``shape`` centred at ``(x, y)``."""
    image = np.zeros(shape)
    add_point_source(image, x, y, 1.0, sigma)
    return image
