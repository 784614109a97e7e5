"""Where the detector looks: the FITS celestial WCS of an imager exposure.

Model: a gnomonic (TAN) projection about the pointing, the subarray centre as the
reference pixel, the SIAF pixel scales (0.1105" x 0.1113") and the aperture position
angle PA_APER (detector +y measured east of north), with the sky's parity
(east to the left for PA_APER = 0):

    CD = [[-sx cos PA, sy sin PA], [sx sin PA, sy cos PA]].

Distortion and pointing error are not modelled yet (their own issue); the uncal
carries exactly this WCS, so the truth and the commanded pointing agree here.
"""
import numpy as np
from astropy.wcs import WCS

from instrument import imager, readout


def reference_pixel(observation):
    """0-based (x, y) of the reference point: the subarray centre."""
    sub = readout.subarray(observation.subarray)
    return (sub.xsize - 1) / 2.0, (sub.ysize - 1) / 2.0


def wcsinfo(observation):
    """The ``meta.wcsinfo`` keywords of the exposure (FITS conventions, 1-based CRPIX)."""
    x_ref, y_ref = reference_pixel(observation)
    pa = np.deg2rad(observation.pa_aper_deg)
    c, s = np.cos(pa), np.sin(pa)
    return {
        "wcsaxes": 2,
        "ctype1": "RA---TAN",
        "ctype2": "DEC--TAN",
        "cunit1": "deg",
        "cunit2": "deg",
        "crpix1": x_ref + 1.0,
        "crpix2": y_ref + 1.0,
        "crval1": observation.ra_deg,
        "crval2": observation.dec_deg,
        "cdelt1": imager.PIXEL_SCALE_X_ARCSEC / 3600.0,
        "cdelt2": imager.PIXEL_SCALE_Y_ARCSEC / 3600.0,
        "pc1_1": -c,
        "pc1_2": s,
        "pc2_1": s,
        "pc2_2": c,
        "ra_ref": observation.ra_deg,
        "dec_ref": observation.dec_deg,
        "roll_ref": observation.pa_aper_deg,
        "v3yangle": imager.V3_IDL_Y_ANGLE_DEG,
        "vparity": -1,
    }


def celestial_wcs(observation):
    """An :class:`astropy.wcs.WCS` built from :func:`wcsinfo`."""
    info = wcsinfo(observation)
    w = WCS(naxis=2)
    w.wcs.ctype = [info["ctype1"], info["ctype2"]]
    w.wcs.cunit = [info["cunit1"], info["cunit2"]]
    w.wcs.crpix = [info["crpix1"], info["crpix2"]]
    w.wcs.crval = [info["crval1"], info["crval2"]]
    w.wcs.cdelt = [info["cdelt1"], info["cdelt2"]]
    w.wcs.pc = [[info["pc1_1"], info["pc1_2"]], [info["pc2_1"], info["pc2_2"]]]
    return w
