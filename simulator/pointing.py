"""Where the detector looks: commanded and true pointing, and the optical distortion.

Commanded WCS (what the uncal carries): a gnomonic (TAN) projection about the
commanded pointing, the subarray centre as the reference pixel, the SIAF pixel scales
(0.1105" x 0.1113") and the aperture position angle PA_APER (detector +y measured east
of north), with the sky's parity (east to the left for PA_APER = 0):

    CD = [[-sx cos PA, sy sin PA], [sx sin PA, sy cos PA]].

True pointing (what the truth carries): the commanded one offset in the tangent plane
by ``(d_east, d_north)`` and rolled by ``d_roll``.  Drawn per exposure: each offset
component normal with sigma ``pointing_error_arcsec / sqrt(2)`` (so the rms radial
error is ``pointing_error_arcsec``; params "Facts from Law25talk": 0.1-0.2" typical, 2"
in rare early cases), the roll normal with sigma ``roll_error_deg`` (UNSOURCED placeholder).

Distortion (UNSOURCED placeholder coefficients; Libralato+2024 solved the real one, its
numbers are not in the params file): the true detector position of a point whose
undistorted (TAN) position is p is ``p + D(u, v)``, with u, v = (p - FULL centre) / 512
in full-frame pixels and D a polynomial of degree 2-3 in (u, v) (:data:`DISTORTION`,
pixels; at most ~0.5 px at the FULL corners).  The calibration sees it only through a
measured reference (:mod:`simulator.imager_references`).
"""
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

from miri_testbed.instrument import imager, readout

#: Distortion terms ``(i, j): (dx, dy)`` in pixels per u^i v^j.  UNSOURCED placeholder.
DISTORTION = {
    (2, 0): (0.12, -0.05),
    (1, 1): (-0.08, 0.10),
    (0, 2): (0.06, 0.09),
    (3, 0): (-0.04, 0.02),
    (2, 1): (0.03, -0.03),
    (1, 2): (0.02, 0.05),
    (0, 3): (-0.02, -0.04),
}
#: Full-frame distortion centre (0-based pixels) and normalisation radius (pixels).
DISTORTION_CENTRE = (515.5, 511.5)
DISTORTION_SCALE = 512.0


@dataclass(frozen=True)
class TruePointing:
    """Offset of the true pointing from the commanded one, and the distortion terms."""

    d_east_arcsec: float = 0.0
    d_north_arcsec: float = 0.0
    d_roll_deg: float = 0.0
    distortion: tuple = ()  # ((i, j, dx, dy), ...)


def draw(effects, rng):
    """The true pointing of an exposure under ``effects`` (an :class:`simulator.config.OpticsEffects`)."""
    d_e = d_n = d_r = 0.0
    if effects.pointing_error:
        sigma = effects.pointing_error_arcsec / np.sqrt(2.0)
        d_e, d_n = (float(v) for v in sigma * rng.standard_normal(2))
        d_r = float(effects.roll_error_deg * rng.standard_normal())
    terms = ()
    if effects.distortion:
        terms = tuple((i, j, dx, dy) for (i, j), (dx, dy) in DISTORTION.items())
    return TruePointing(d_e, d_n, d_r, terms)


def reference_pixel(observation):
    """0-based (x, y) of the reference point: the subarray centre."""
    sub = readout.subarray(observation.subarray)
    return (sub.xsize - 1) / 2.0, (sub.ysize - 1) / 2.0


def offset_pointing(ra_deg, dec_deg, d_east_arcsec, d_north_arcsec):
    """The sky position offset from ``(ra, dec)`` by the given tangent-plane offsets."""
    xi, eta = np.deg2rad(d_east_arcsec / 3600), np.deg2rad(d_north_arcsec / 3600)
    ra0, dec0 = np.deg2rad(ra_deg), np.deg2rad(dec_deg)
    denom = np.cos(dec0) - eta * np.sin(dec0)
    ra = ra0 + np.arctan2(xi, denom)
    dec = np.arctan2(np.sin(dec0) + eta * np.cos(dec0), np.hypot(xi, denom))
    return float(np.rad2deg(ra) % 360), float(np.rad2deg(dec))


def wcsinfo(observation, true_pointing=None):
    """The ``meta.wcsinfo`` keywords (FITS conventions, 1-based CRPIX): commanded, or
    true when ``true_pointing`` is given (distortion not included).
    """
    x_ref, y_ref = reference_pixel(observation)
    ra, dec, pa_deg = observation.ra_deg, observation.dec_deg, observation.pa_aper_deg
    if true_pointing is not None:
        ra, dec = offset_pointing(ra, dec, true_pointing.d_east_arcsec, true_pointing.d_north_arcsec)
        pa_deg = pa_deg + true_pointing.d_roll_deg
    pa = np.deg2rad(pa_deg)
    c, s = np.cos(pa), np.sin(pa)
    return {
        "wcsaxes": 2,
        "ctype1": "RA---TAN",
        "ctype2": "DEC--TAN",
        "cunit1": "deg",
        "cunit2": "deg",
        "crpix1": x_ref + 1.0,
        "crpix2": y_ref + 1.0,
        "crval1": ra,
        "crval2": dec,
        "cdelt1": imager.PIXEL_SCALE_X_ARCSEC / 3600.0,
        "cdelt2": imager.PIXEL_SCALE_Y_ARCSEC / 3600.0,
        "pc1_1": -c,
        "pc1_2": s,
        "pc2_1": s,
        "pc2_2": c,
        "ra_ref": ra,
        "dec_ref": dec,
        "roll_ref": pa_deg,
        "v3yangle": imager.V3_IDL_Y_ANGLE_DEG,
        "vparity": -1,
    }


def celestial_wcs(observation, true_pointing=None):
    """An :class:`astropy.wcs.WCS` built from :func:`wcsinfo` (commanded by default)."""
    info = wcsinfo(observation, true_pointing)
    w = WCS(naxis=2)
    w.wcs.ctype = [info["ctype1"], info["ctype2"]]
    w.wcs.cunit = [info["cunit1"], info["cunit2"]]
    w.wcs.crpix = [info["crpix1"], info["crpix2"]]
    w.wcs.crval = [info["crval1"], info["crval2"]]
    w.wcs.cdelt = [info["cdelt1"], info["cdelt2"]]
    w.wcs.pc = [[info["pc1_1"], info["pc1_2"]], [info["pc2_1"], info["pc2_2"]]]
    return w


def distortion_offset(x_full, y_full, terms):
    """``D(u, v)`` in pixels at full-frame pixel positions, for ``terms`` ((i, j, dx, dy), ...)."""
    u = (np.asarray(x_full, float) - DISTORTION_CENTRE[0]) / DISTORTION_SCALE
    v = (np.asarray(y_full, float) - DISTORTION_CENTRE[1]) / DISTORTION_SCALE
    dx, dy = np.zeros_like(u), np.zeros_like(v)
    for i, j, cx, cy in terms:
        dx += cx * u**i * v**j
        dy += cy * u**i * v**j
    return dx, dy


def true_pixels(observation, true_pointing, ra_deg, dec_deg):
    """0-based subarray (x, y) where sky positions really land: true TAN, then distortion."""
    x, y = celestial_wcs(observation, true_pointing).wcs_world2pix(np.asarray(ra_deg, float),
                                                                  np.asarray(dec_deg, float), 0)
    sub = readout.subarray(observation.subarray)
    dx, dy = distortion_offset(x + sub.xstart - 1, y + sub.ystart - 1, true_pointing.distortion)
    return x + dx, y + dy


def truth_header(observation, true_pointing=None):
    """Truth-file keywords of the true pointing: ``{keyword: (value, comment)}``."""
    tp = true_pointing or TruePointing()
    info = wcsinfo(observation, tp)
    return {
        "TRUE_RA": (info["crval1"], "true RA of the reference pixel, deg"),
        "TRUE_DEC": (info["crval2"], "true Dec of the reference pixel, deg"),
        "TRUE_PA": (info["roll_ref"], "true PA_APER, deg"),
        "PNT_DE": (tp.d_east_arcsec, "true - commanded pointing, east, arcsec"),
        "PNT_DN": (tp.d_north_arcsec, "true - commanded pointing, north, arcsec"),
        "PNT_DROL": (tp.d_roll_deg, "true - commanded roll, deg"),
        "DISTORT": (bool(tp.distortion), "distortion applied (simulator.pointing)"),
    }
