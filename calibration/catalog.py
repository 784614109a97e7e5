"""Point-source catalog of a calibrated image: detection, centroids, aperture photometry.

* Detection: ``photutils`` DAOStarFinder at ``nsigma`` times the sigma-clipped
  background noise, with the filter's flight FWHM (params 4).
* Centroids: a 2-D Gaussian fit (``centroid_2dg``) in a box around each detection, on
  the background-subtracted image.
* Photometry: circular aperture of the APCORR reference's radius for the chosen
  encircled-energy fraction, local background as the sigma-clipped median in the
  reference's sky annulus with the cores (3 FWHM) of all detected sources left out, then
  ``F_total = (sum - bkg * area) * apcorr``;
  ``F [mJy] = F [MJy/sr] * pixel solid angle * 1e9``.
* Bad pixels (NaN in the calibrated image) are filled by Gaussian-kernel
  interpolation before detection and photometry and counted in the ``nbad`` column.
* Sky positions from the image's FITS WCS (``meta.wcsinfo``).

The error is the aperture sum of the ERR array in quadrature with the error of the
local background estimate.
"""
import warnings

import astropy.units as u
import numpy as np
from astropy.convolution import Gaussian2DKernel, interpolate_replace_nans
from astropy.stats import sigma_clipped_stats
from astropy.table import QTable
from photutils.aperture import ApertureStats, CircularAnnulus, CircularAperture, aperture_photometry
from photutils.centroids import centroid_2dg, centroid_sources
from photutils.detection import DAOStarFinder
from scipy.ndimage import maximum_filter

from miri_testbed.instrument import imager

from . import CalibrationInputError


def aperture_row(apcorr_table, filter_name, subarray, eefraction, min_radius=0.0):
    """``(radius, apcorr, skyin, skyout)`` of the APCORR row to measure with.

    Among the rows for the filter and subarray whose radius is at least ``min_radius``
    pixels, the one whose encircled-energy fraction is nearest ``eefraction``; if no
    row is that large, the largest aperture.
    """
    filters = np.char.strip(np.char.upper(np.asarray(apcorr_table["filter"]).astype(str)))
    subs = np.char.strip(np.char.upper(np.asarray(apcorr_table["subarray"]).astype(str)))
    for wanted in (subarray.upper(), "FULL", "GENERIC"):
        rows = np.flatnonzero((filters == filter_name.upper()) & (subs == wanted))
        if rows.size:
            radius = np.asarray(apcorr_table["radius"])[rows]
            ee = np.asarray(apcorr_table["eefraction"])[rows]
            large = radius >= min_radius
            nearest = np.argmin(np.where(large, np.abs(ee - eefraction), np.inf))
            r = rows[nearest] if large.any() else rows[np.argmax(radius)]
            return tuple(float(apcorr_table[c][r]) for c in ("radius", "apcorr", "skyin", "skyout"))
    raise CalibrationInputError(f"APCORR reference has no row for filter {filter_name}, subarray {subarray}")


def _near_sources(positions, shape, radius):
    """Pixels within ``radius`` of any of ``positions`` ``(x, y)``."""
    near = np.zeros(shape, bool)
    r = int(np.ceil(radius))
    for x, y in positions:
        x0, y0 = int(round(x)), int(round(y))
        ys, xs = np.ogrid[max(y0 - r, 0):min(y0 + r + 1, shape[0]), max(x0 - r, 0):min(x0 + r + 1, shape[1])]
        near[ys, xs] |= (xs - x) ** 2 + (ys - y) ** 2 <= radius**2
    return near


def source_catalog(sci, err, wcs, filter_name, aperture, pixel_area_sr, nsigma=5.0):
    """Detect and measure point sources; return an astropy ``QTable`` (fluxes in mJy)."""
    radius, apcorr, skyin, skyout = aperture
    bad = ~np.isfinite(sci)
    _, median, std = sigma_clipped_stats(sci, mask=bad, sigma=3.0)
    fwhm = imager.imager_filter(filter_name).psf_fwhm_arcsec / imager.PIXEL_SCALE_X_ARCSEC
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filled = interpolate_replace_nans(sci, Gaussian2DKernel(1.0)) if bad.any() else sci
    filled = np.where(np.isfinite(filled), filled, median)
    # Detect with each bad pixel at the largest of its neighbours: a dead pixel on a
    # star's core, left at the median or interpolated below its neighbours, makes a ring
    # that the finder's shape limits reject (a 26 mJy star was lost so).
    finder = DAOStarFinder(threshold=nsigma * std, fwhm=fwhm, exclude_border=True)
    found = finder(np.where(bad, maximum_filter(filled, size=3), filled) - median)
    empty = QTable(names=["id", "xcentroid", "ycentroid", "ra", "dec", "flux", "flux_err", "snr", "nbad",
                          "aperture_radius"])
    if found is None or len(found) == 0:
        return empty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = max(5, 2 * int(np.ceil(fwhm)) + 1)
        x, y = centroid_sources(filled - median, found["xcentroid"], found["ycentroid"], box_size=box,
                                centroid_func=centroid_2dg)
    # A centroid fit that fails (NaN) or runs off the image drops the detection.
    ny, nx = sci.shape
    keep = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (x <= nx - 1) & (y >= 0) & (y <= ny - 1)
    x, y = x[keep], y[keep]
    if x.size == 0:
        return empty
    positions = np.column_stack([x, y])
    ap = CircularAperture(positions, r=radius)
    annulus = CircularAnnulus(positions, r_in=skyin, r_out=skyout)
    err_filled = np.where(np.isfinite(err), err, np.nanmedian(err))
    # The sky annulus leaves out every detected source's core (3 FWHM): in a field of a
    # few stars per annulus their wings otherwise raise its median (-0.7 % at F2550W).
    # Where the cores leave under a quarter of an annulus, it is used whole.
    cores = bad | _near_sources(positions, sci.shape, max(3 * fwhm, radius))
    free = np.asarray(ApertureStats((~cores).astype(float), annulus).sum) > 0.25 * annulus.area
    stats = {}
    for name, mask in (("masked", cores), ("whole", bad)):
        plain = ApertureStats(filled, annulus, mask=mask, sigma_clip=None)
        stats[name] = (np.asarray(ApertureStats(filled, annulus, mask=mask).median),
                       np.asarray(plain.std) / np.sqrt(np.maximum(np.asarray(plain.sum_aper_area.value), 1)))
    bkg_level, bkg_err = (np.where(free, m, w) for m, w in zip(stats["masked"], stats["whole"], strict=True))
    phot = aperture_photometry(filled, ap, error=err_filled)
    net = np.asarray(phot["aperture_sum"]) - bkg_level * ap.area
    net_err = np.hypot(np.asarray(phot["aperture_sum_err"]), bkg_err * ap.area)
    to_mjy = pixel_area_sr * 1e9 * apcorr
    ra, dec = wcs.wcs_pix2world(x, y, 0)
    nbad = np.nan_to_num(np.asarray(ApertureStats(bad.astype(float), ap).sum))
    return QTable(
        {
            "id": np.arange(1, len(x) + 1),
            "xcentroid": x * u.pix,
            "ycentroid": y * u.pix,
            "ra": ra * u.deg,
            "dec": dec * u.deg,
            "flux": net * to_mjy * u.mJy,
            "flux_err": net_err * to_mjy * u.mJy,
            "snr": net / net_err,
            "nbad": np.round(nbad).astype(int),
            "aperture_radius": np.full(len(x), radius) * u.pix,
        }
    )
