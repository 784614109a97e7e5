"""Point-source catalog of a calibrated image: detection, centroids, aperture photometry.

* Detection (:func:`detect`): ``photutils`` DAOStarFinder at ``nsigma`` times the
  sigma-clipped background noise, with the filter's flight FWHM (params 4).
* Centroids: a 2-D Gaussian fit (``centroid_2dg``) in a box around each detection, on
  the background-subtracted image.
* Local background (:func:`local_background`): the sigma-clipped median in the APCORR
  reference's sky annulus with the cores (3 FWHM) of all detected sources left out.
* Photometry (variant ``aperture``, :func:`source_catalog`): circular aperture of the
  APCORR reference's radius for the chosen encircled-energy fraction, then
  ``F_total = (sum - bkg * area) * apcorr``;
  ``F [mJy] = F [MJy/sr] * pixel solid angle * 1e9``.  The variant ``psf`` fits the
  PSF reference instead (:mod:`calibration.psf_photometry`) and shares the rest.
* Bad pixels (NaN in the calibrated image) are filled by Gaussian-kernel
  interpolation before photometry and counted in the ``nbad`` column.
* Sky positions from the image's FITS WCS (``meta.wcsinfo``).

The error is the aperture sum of the ERR array in quadrature with the error of the
local background estimate.
"""
import warnings
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.stats import sigma_clipped_stats
from astropy.table import QTable
from scipy.ndimage import maximum_filter
from scipy.spatial import cKDTree

from miri_testbed.instrument import imager

from . import CalibrationInputError

# photutils and astropy.convolution are imported in the functions that use them (the imager's alone: importing
# them costs a calibrate ~0.4 s).
COLUMNS = ["id", "xcentroid", "ycentroid", "ra", "dec", "flux", "flux_err", "snr", "nbad", "aperture_radius"]


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


def fwhm_pixels(filter_name):
    """The filter's flight PSF FWHM (params 4) in imager pixels."""
    return imager.imager_filter(filter_name).psf_fwhm_arcsec / imager.PIXEL_SCALE_X_ARCSEC


def near_sources(positions, shape, radius):
    """Pixels within ``radius`` of any of ``positions`` ``(x, y)``."""
    near = np.zeros(shape, bool)
    r = int(np.ceil(radius))
    for x, y in positions:
        x0, y0 = int(round(x)), int(round(y))
        ys, xs = np.ogrid[max(y0 - r, 0):min(y0 + r + 1, shape[0]), max(x0 - r, 0):min(x0 + r + 1, shape[1])]
        near[ys, xs] |= (xs - x) ** 2 + (ys - y) ** 2 <= radius**2
    return near


def star_finder(threshold, fwhm):
    """The detector of point sources: DAOStarFinder at ``threshold`` for a PSF of ``fwhm`` pixels."""
    from photutils.detection import DAOStarFinder
    return DAOStarFinder(threshold=threshold, fwhm=fwhm, exclude_border=True)


@dataclass(frozen=True)
class Detections:
    """An image ready for photometry and the sources found in it.

    Parameters
    ----------
    filled : (ny, nx) float
        The image with bad (NaN) pixels filled by Gaussian-kernel interpolation.
    bad : (ny, nx) bool
        The pixels that were NaN.
    median, std : float
        Sigma-clipped level and noise of the whole image.
    fwhm : float
        The filter's FWHM, pixels.
    x, y : (n,) float
        Centroids of the detections (0-based pixels).
    """

    filled: np.ndarray
    bad: np.ndarray
    median: float
    std: float
    fwhm: float
    x: np.ndarray
    y: np.ndarray

    @property
    def positions(self):
        """``(n, 2)`` array of ``(x, y)``."""
        return np.column_stack([self.x, self.y])



def detect(sci, filter_name, nsigma=5.0):
    """Find point sources and their centroids (module docstring).

    Parameters
    ----------
    sci : (ny, nx) float
        The image (NaN where bad).
    filter_name : str
        Sets the finder's FWHM.
    nsigma : float
        Detection threshold in units of the image's sigma-clipped noise.

    Returns
    -------
    Detections
    """
    from astropy.convolution import Gaussian2DKernel, interpolate_replace_nans
    from photutils.centroids import centroid_2dg, centroid_sources
    bad = ~np.isfinite(sci)
    _, median, std = sigma_clipped_stats(sci, mask=bad, sigma=3.0)
    fwhm = fwhm_pixels(filter_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filled = interpolate_replace_nans(sci, Gaussian2DKernel(1.0)) if bad.any() else sci
    filled = np.where(np.isfinite(filled), filled, median)
    empty = Detections(filled, bad, float(median), float(std), fwhm, np.empty(0), np.empty(0))
    # Detect with each bad pixel at the largest of its neighbours: a dead pixel on a
    # star's core, left at the median or interpolated below its neighbours, makes a ring
    # that the finder's shape limits reject (a 26 mJy star was lost so; commit c02e5a0).
    found = star_finder(nsigma * std, fwhm)(np.where(bad, maximum_filter(filled, size=3), filled) - median)
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
    x, y = _one_per_source(filled, x[keep], y[keep], fwhm)
    return Detections(filled, bad, float(median), float(std), fwhm, x, y)


def _one_per_source(image, x, y, fwhm):
    """The centroids less those within ``fwhm`` of a brighter one.

    The finder keeps its peaks 2.5 FWHM apart, but two can centroid onto one source: a
    peak on the rim of a saturated (NaN) core and the core's own (FULL, 23 mJy at F770W:
    the pair was fit as two sources and lost).
    """
    if x.size < 2:
        return x, y
    peak = image[np.rint(y).astype(int), np.rint(x).astype(int)]
    order = np.argsort(-peak)
    tree = cKDTree(np.column_stack([x[order], y[order]]))
    drop = np.zeros(x.size, bool)  # in order of brightness
    for i, j in sorted(tree.query_pairs(fwhm)):  # i < j: j is the fainter
        drop[j] |= not drop[i]
    keep = np.ones(x.size, bool)
    keep[order[drop]] = False
    return x[keep], y[keep]


def local_background(det, positions, aperture):
    """Each source's local background and its error, per pixel.

    The sigma-clipped median of the APCORR sky annulus around each of ``positions``,
    leaving out the cores (``max(3 FWHM, radius)``) of all of them: in a field of a few
    stars per annulus their wings otherwise raise its median (-0.7 % at F2550W).
    Where the cores leave under a quarter of an annulus, it is used whole.  The error
    is the annulus's standard deviation over the square root of its pixel count.

    Parameters
    ----------
    det : Detections
    positions : (n, 2) float
        ``(x, y)`` of the sources (all of them: their cores are left out).
    aperture : tuple
        ``(radius, apcorr, skyin, skyout)`` (:func:`aperture_row`).

    Returns
    -------
    level, err : (n,) float
    """
    from photutils.aperture import ApertureStats, CircularAnnulus
    radius, _, skyin, skyout = aperture
    annulus = CircularAnnulus(positions, r_in=skyin, r_out=skyout)
    cores = det.bad | near_sources(positions, det.filled.shape, max(3 * det.fwhm, radius))
    free = np.asarray(ApertureStats((~cores).astype(float), annulus).sum) > 0.25 * annulus.area
    stats = {}
    for name, mask in (("masked", cores), ("whole", det.bad)):
        plain = ApertureStats(det.filled, annulus, mask=mask, sigma_clip=None)
        stats[name] = (np.asarray(ApertureStats(det.filled, annulus, mask=mask).median),
                       np.asarray(plain.std) / np.sqrt(np.maximum(np.asarray(plain.sum_aper_area.value), 1)))
    level, err = (np.where(free, m, w) for m, w in zip(stats["masked"], stats["whole"], strict=True))
    return level, err


def bad_in_aperture(det, positions, radius):
    """Number of bad pixels inside each source's aperture of ``radius``."""
    from photutils.aperture import ApertureStats, CircularAperture
    ap = CircularAperture(positions, r=radius)
    return np.round(np.nan_to_num(np.asarray(ApertureStats(det.bad.astype(float), ap).sum))).astype(int)


def catalog_table(x, y, wcs, flux_mjy, err_mjy, nbad, radius):
    """The catalog as an astropy ``QTable`` (:data:`COLUMNS`; fluxes in mJy, ``snr = flux / flux_err``)."""
    if len(x) == 0:
        return QTable(names=COLUMNS)
    ra, dec = wcs.wcs_pix2world(x, y, 0)
    return QTable(
        {
            "id": np.arange(1, len(x) + 1),
            "xcentroid": x * u.pix,
            "ycentroid": y * u.pix,
            "ra": ra * u.deg,
            "dec": dec * u.deg,
            "flux": flux_mjy * u.mJy,
            "flux_err": err_mjy * u.mJy,
            "snr": flux_mjy / err_mjy,
            "nbad": nbad,
            "aperture_radius": np.full(len(x), radius) * u.pix,
        }
    )


def source_catalog(sci, err, wcs, filter_name, aperture, pixel_area_sr, psf=None, nsigma=5.0):
    """Variant ``aperture``: detect and measure point sources in apertures (module docstring).

    Parameters
    ----------
    sci, err : (ny, nx) float
        Surface brightness (MJy/sr, NaN where bad) and its error.
    wcs : astropy.wcs.WCS
        Pixel to sky.
    filter_name : str
    aperture : tuple
        ``(radius, apcorr, skyin, skyout)`` (:func:`aperture_row`).
    pixel_area_sr : float
        Pixel solid angle.
    psf : object, optional
        The step's PSF reference argument; aperture photometry does not use it.
    nsigma : float
        Detection threshold.

    Returns
    -------
    QTable
        The catalog (fluxes in mJy).
    """
    det = detect(sci, filter_name, nsigma)
    radius, apcorr = aperture[:2]
    if det.x.size == 0:
        return catalog_table([], [], wcs, [], [], [], radius)
    positions = det.positions
    net, net_err = aperture_fluxes(det, np.where(np.isfinite(err), err, np.nanmedian(err)), positions, aperture)
    to_mjy = pixel_area_sr * 1e9 * apcorr
    return catalog_table(det.x, det.y, wcs, net * to_mjy, net_err * to_mjy, bad_in_aperture(det, positions, radius),
                         radius)


def aperture_fluxes(det, err, positions, aperture):
    """Aperture sums minus the local background (:func:`local_background`), and their errors.

    Parameters
    ----------
    det : Detections
        The image (``filled``) and the sources whose cores the sky annuli leave out.
    err : (ny, nx) float
        The image's error (finite).
    positions : (n, 2) float
        ``(x, y)`` of the apertures.
    aperture : tuple
        ``(radius, apcorr, skyin, skyout)``.

    Returns
    -------
    net, net_err : (n,) float
        In the image's unit, before the aperture correction.
    """
    from photutils.aperture import CircularAperture, aperture_photometry
    bkg_level, bkg_err = local_background(det, positions, aperture)
    ap = CircularAperture(positions, r=aperture[0])
    phot = aperture_photometry(det.filled, ap, error=err)
    net = np.asarray(phot["aperture_sum"]) - bkg_level * ap.area
    return net, np.hypot(np.asarray(phot["aperture_sum_err"]), bkg_err * ap.area)
