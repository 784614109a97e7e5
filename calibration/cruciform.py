"""Cruciform correction variants (no official pipeline step corrects the imager cross).

The CRUCIFORM reference gives, per filter, a kernel ``K(x) = a exp(-s|x|)`` for
``|x| >= gap`` (0 inside), of the forward form ``O = (I + K_row*I + K_col*I) / (1 + 2 sum K)``
(the form fitted on bright stars, IFC; see the reference's description).  Variants:

* ``none``: baseline (a declared skip).  Aperture photometry with the APCORR reference,
  whose PSF has no cross, so the light scattered into the cross beyond the aperture is
  missed.
* ``apcorr``: no image change; the aperture correction is multiplied by ``1 + 2 sum K``
  (the cross's light counted as if it were all outside the aperture and the sky annulus,
  what an aperture correction measured on a PSF with the cross does to first order).
* ``subtract``: the cross is removed from the image by inverting the forward model with
  the fixed-point iteration ``I <- (1 + 2 sum K) O - K_row*I - K_col*I`` (a contraction:
  ``2 sum K`` is ~0.1), ``ITERATIONS`` times; bad (NaN) pixels are filled with the image
  median for the convolutions and stay NaN.  It also removes the cross of bright
  neighbours from faint sources and from the sky annuli.

Every variant is ``f(sci, kernel) -> (image for photometry, aperture-correction factor)``
with ``kernel = (a, s, gap)``.  Without a CRUCIFORM reference, or for a filter whose
amplitude is zero, the step (:mod:`calibration.image3`) is SKIPPED and the image and the
aperture correction stay as they are.
"""
import numpy as np
from astropy.io import fits

from . import CalibrationInputError
from . import references as refs

ITERATIONS = 6
KERNEL_EFOLDINGS = 8.0


def load_kernel(folder, exposure):
    """The cruciform kernel of the exposure's filter from the folder's CRUCIFORM reference.

    Parameters
    ----------
    folder : path
        Reference folder.
    exposure : DataModel
        The exposure (its filter and selection keywords).

    Returns
    -------
    (a, s, gap) or None
        None when the folder has no CRUCIFORM reference or it has no row for the filter.
    """
    table, path = refs.load_optional(folder, "CRUCIFORM", exposure, lambda p: fits.getdata(p, "CRUCIFORM"))
    if table is None:
        return None
    names = np.char.strip(np.char.upper(np.asarray(table["filter"]).astype(str)))
    rows = np.flatnonzero(names == str(exposure.meta.instrument.filter).upper())
    if rows.size == 0:
        return None
    row = table[rows[0]]
    a, s, gap = float(row["amplitude"]), float(row["rate"]), int(row["gap"])
    if not (np.isfinite(a) and np.isfinite(s) and a >= 0 and s > 0):
        raise CalibrationInputError(f"{path}: unusable cruciform kernel a={a}, s={s}")
    return a, s, gap


def kernel(a, s, gap):
    """The 1-D kernel ``a exp(-s|x|)`` for ``|x| >= gap`` (0 inside), out to ``KERNEL_EFOLDINGS / s`` pixels."""
    half = int(np.ceil(KERNEL_EFOLDINGS / s))
    x = np.arange(-half, half + 1)
    return np.where(np.abs(x) >= gap, a * np.exp(-np.abs(x) * s), 0.0)


def cross_norm(params):
    """``1 + 2 sum K``: a point's light with its cross over its light without (the forward form's divisor)."""
    return 1.0 + 2 * kernel(*params).sum()


def _cross(image, k):
    from scipy.signal import fftconvolve  # here: scipy.signal (and scipy.stats with it) is the imager's alone

    return fftconvolve(image, k[None, :], mode="same", axes=1) + fftconvolve(image, k[:, None], mode="same", axes=0)


def subtract_cross(sci, params, iterations=ITERATIONS):
    """The image without its cross (module docstring).

    Parameters
    ----------
    sci : (ny, nx) float
        Calibrated image; NaN for bad pixels.
    params : (a, s, gap)
        The kernel (:func:`load_kernel`).
    iterations : int
        Fixed-point iterations.

    Returns
    -------
    (ny, nx) float64
    """
    k = kernel(*params)
    bad = ~np.isfinite(sci)
    observed = np.where(bad, np.nanmedian(sci), sci).astype(np.float64)
    norm = cross_norm(params)
    image = observed.copy()
    for _ in range(iterations):
        image = norm * observed - _cross(image, k)
    return np.where(bad, np.nan, image)


def apcorr(sci, params):
    """Variant ``apcorr``: the image as it is and the aperture correction times ``1 + 2 sum K``."""
    return sci, cross_norm(params)


def subtract(sci, params):
    """Variant ``subtract``: the image without its cross (:func:`subtract_cross`), aperture correction as it is."""
    return subtract_cross(sci, params), 1.0
