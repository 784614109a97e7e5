"""Background subtraction variants for imager photometry and for the MRS.

The imager's run before the source catalog; the MRS's on the rate, before the cube build
(:func:`calibration.mrs_spec2.run`, which takes ``local`` and ``dedicated``).

* ``local`` (default): nothing here (a declared skip: the step is SKIPPED); the catalog
  subtracts each source's local background, the sigma-clipped median of its sky annulus
  (APCORR reference radii).
* ``map``: a 2-D background from the image itself, ``photutils.background.Background2D``
  (sigma-clipped median in ``BOX`` x ``BOX`` pixel boxes, 3 x 3 median filter of the box
  grid), with the sources masked first (``detect_sources`` above 3 sigma of a
  first-pass background, footprints dilated by ``MASK_DILATE`` pixels), then
  subtracted; the catalog's annulus then removes only what is left.  It follows
  gradients and steps (the Lyot-field offset) that a per-source annulus straddles.

* ``dedicated``: the surface brightness of dedicated background exposures (an offset
  field, no sources), calibrated like the science (detector1, photom at their own
  mid-times, the same cruciform correction), subtracted pixel by pixel, as the JWST
  image2 ``background`` step does with an association's background members:

      S' = S - mean_k B_k,    var(S') = var(S) + sum_k var(B_k) / n^2,

  the background's noise added to the science's in every pixel (the catalog's annulus
  then removes only what is left).  For the MRS, ``S`` and ``B_k`` are the rates (DN/s) after
  detector1, as jwst's calwebb_spec2 background step subtracts the average of an MRS
  association's background rates before photom; the extraction's annulus then removes
  what is left.  Same filter, subarray (name, corner, size) and
  detector are required; readout and group count may differ.  The exposures come from
  the caller (``miri-testbed calibrate --background FILE``) or, if none is given, from
  a level-2 association (``*_asn.json``, image2 or spec2) beside the science uncal that lists it as its
  ``science`` member (:func:`dedicated_paths`), as the simulator writes one.

Every variant is ``f(sci, var, backgrounds) -> (sci, var)`` with ``backgrounds`` a list of
``(surface brightness, variance)`` of the calibrated background exposures (empty unless
``dedicated`` is chosen); ``map`` leaves the variance as it is.  Like ``map``,
``dedicated`` changes the image the catalog measures, not the ``cal`` product.
"""
import json
import warnings
from pathlib import Path

import numpy as np
from astropy.stats import SigmaClip, sigma_clipped_stats
from scipy import ndimage

from . import CalibrationInputError

# photutils and astropy.convolution are imported in the functions that use them (the imager's alone: importing
# them costs a calibrate ~0.4 s).
BOX = 32
MASK_DILATE = 5


def source_mask(sci, nsigma=3.0, npixels=5):
    """Pixels of ``sci`` that belong to sources (detected above ``nsigma``, dilated by ``MASK_DILATE``) or are bad."""
    from astropy.convolution import Gaussian2DKernel, convolve
    from photutils.segmentation import detect_sources
    bad = ~np.isfinite(sci)
    _, median, std = sigma_clipped_stats(sci, mask=bad, sigma=3.0)
    smooth = convolve(np.where(bad, median, sci) - median, Gaussian2DKernel(1.5), normalize_kernel=True)
    segments = detect_sources(smooth, nsigma * std / 2.0, n_pixels=npixels, mask=bad)
    mask = np.zeros(sci.shape, bool) if segments is None else segments.data > 0
    return ndimage.binary_dilation(mask, iterations=MASK_DILATE) | bad


def background_map(sci, box=BOX):
    """The sigma-clipped 2-D background of ``sci`` with its sources masked."""
    from photutils.background import Background2D, MedianBackground
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
    """``sci`` minus :func:`background_map` (NaNs stay NaN)."""
    return sci - background_map(sci)


def map_variant(sci, var, backgrounds=()):
    """Variant ``map``: :func:`subtract_map`; the map's own error is not propagated.

    Parameters
    ----------
    sci, var : (ny, nx) float
        Surface brightness and its variance.
    backgrounds : list
        Unused (the step's signature).

    Returns
    -------
    (sci, var)
    """
    return subtract_map(sci), var


def dedicated(sci, var, backgrounds=()):
    """Variant ``dedicated``: ``sci - mean_k B_k`` and ``var + sum_k var_k / n^2``.

    Parameters
    ----------
    sci, var : (ny, nx) float
        Surface brightness and its variance.
    backgrounds : list of (B_k, var_k)
        The calibrated background exposures.

    Returns
    -------
    (sci, var)
    """
    if not backgrounds:
        raise CalibrationInputError("background=dedicated needs a dedicated background exposure")
    n = len(backgrounds)
    bkg = sum(b for b, _ in backgrounds) / n
    bkg_var = sum(v for _, v in backgrounds) / n**2
    return sci - bkg, var + bkg_var


def dedicated_paths(variant, uncal_path, given=None):
    """The dedicated background exposures to use.

    ``given`` (a path or a list), else the
    ``background`` members of the level-2 associations (``*_asn.json``, image2 or spec2) in the uncal's
    folder whose ``science`` member is this uncal; an empty list for the other variants.
    Asking for ``dedicated`` without any, or giving some with another variant, or the
    science exposure as its own background, is an error that says so.
    """
    given = [given] if isinstance(given, (str, Path)) else list(given or [])
    uncal_path = Path(uncal_path)
    if variant != "dedicated":
        if given:
            raise CalibrationInputError(f"background exposure(s) {', '.join(map(str, given))} given but the "
                                        f"background step is {variant!r}; choose background=dedicated")
        return []
    paths = [Path(p) for p in given] or association_backgrounds(uncal_path)
    if not paths:
        raise CalibrationInputError(
            f"background=dedicated needs a dedicated background exposure for {uncal_path}: give --background FILE, "
            f"or a level-2 association (*_asn.json) beside it listing it as science with a background member")
    return checked_paths(paths, uncal_path)


def checked_paths(paths, uncal_path):
    """``paths`` as they are, once each is known to exist and not to be the science exposure ``uncal_path``."""
    for path in paths:
        if not path.exists():
            raise CalibrationInputError(f"background exposure {path}: no such file")
        if uncal_path.exists() and path.resolve() == uncal_path.resolve():
            raise CalibrationInputError(f"background exposure {path} is the science exposure itself")
    return paths


def association_backgrounds(uncal_path):
    """The ``background`` members of the associations (``*_asn.json``) beside an uncal.

    Only associations whose ``science`` member is ``uncal_path`` count.
    """
    found = []
    for asn_path in sorted(uncal_path.parent.glob("*_asn.json")):
        try:
            products = json.loads(asn_path.read_text(encoding="utf-8"))["products"]
            for product in products:
                members = product["members"]
                types = {str(m["exptype"]).lower() for m in members if Path(m["expname"]).name == uncal_path.name}
                if "science" in types:
                    found += [asn_path.parent / m["expname"] for m in members
                              if str(m["exptype"]).lower() == "background"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CalibrationInputError(
                f"{asn_path}: not a readable association ({type(exc).__name__}: {exc})") from None
    return found


#: What a dedicated background exposure must share with the science exposure.
MATCH = {"filter": "meta.instrument.filter", "detector": "meta.instrument.detector",
         "MRS channels": "meta.instrument.channel", "MRS grating setting (BAND)": "meta.instrument.band",
         "exposure type": "meta.exposure.type", "subarray": "meta.subarray.name",
         "subarray corner (SUBSTRT1)": "meta.subarray.xstart", "subarray corner (SUBSTRT2)": "meta.subarray.ystart",
         "subarray size (SUBSIZE1)": "meta.subarray.xsize", "subarray size (SUBSIZE2)": "meta.subarray.ysize"}


def check_dedicated(science, background):
    """Check that ``background`` (an opened uncal) can serve as the dedicated background of ``science``.

    Raises a :class:`CalibrationInputError` naming the first way it cannot.
    """
    name = background.meta.filename
    for what, dotted in MATCH.items():
        values = [str(model[dotted]).strip().upper() for model in (background, science)]
        if values[0] != values[1]:
            raise CalibrationInputError(f"background exposure {name}: {what} is {values[0]}, the science exposure's "
                                        f"is {values[1]}")
    if background.data.shape[-2:] != science.data.shape[-2:]:
        raise CalibrationInputError(f"background exposure {name}: frame shape {background.data.shape[-2:]} differs "
                                    f"from the science exposure's {science.data.shape[-2:]}")
