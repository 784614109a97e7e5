"""PSF-fitting photometry: the catalog variant ``psf``, for fields where neighbours share an aperture.

Aperture photometry counts every photon in its aperture, a neighbour's too: in the
`full` suite a one-seed run gave median flux ratios of 1.013-1.041 where stars have
neighbours 5-15 pixels away.  This variant fits the PSF reference (``PSFGRID``, a PSF
grid in the STPSF/WebbPSF FITS layout that ``photutils.psf.GriddedPSFModel`` reads;
the testbed's is written by :mod:`simulator.imager_references`) to every source at
once with ``photutils.psf.PSFPhotometry``:

1. Detection, centroids and the first local backgrounds as the ``aperture`` variant
   (:func:`calibration.catalog.detect`, :func:`calibration.catalog.local_background`).
2. A fit of every source: free flux and position (starting from the centroid; photutils
   bounds the position to ``max(1, FWHM/2)`` pixels from it for single sources, not in
   groups in photutils 3.0), over a ``2 ceil(FWHM) + 1`` pixel box, weighted by the
   ERR array; sources closer than ``sqrt(2)`` boxes are fit together (a group).
3. ``ITERATIONS`` times, on the residual (the image with every fitted source subtracted):
   sources the first detection missed (a faint companion in a bright star's wing) are
   looked for at the detection threshold on ``residual / noise``, with
   ``noise = max(ERR, image noise) (+) PROFILE_ERROR * model`` (the model's own error
   near bright stars), at least one FWHM from a fitted source; each source's local
   background is re-measured in its sky annulus on the residual (its neighbours'
   wings removed); every group is refit on the image with the other groups' fitted
   PSFs subtracted (the groups' fit boxes never overlap, so one image serves them
   all).
4. Every source stays only if its fitted flux is at least the detection threshold times
   its error: the first detection takes pieces of a bright star's diffraction spikes
   for sources (a 25 mJy star in a 166 s FULL exposure gave ~30), which fit to nothing
   once the star's model, as wide as its spikes, is subtracted.

Flux scale: a PSF fit measures the source in units of the model, whatever its
normalisation.  It is tied to the aperture scale of the APCORR reference:
``F_total = f * A_model * apcorr``, where ``A_model`` is the aperture measurement
(sum in the aperture minus the sky annulus's mean times the aperture area) of the
unit-flux model, averaged over sub-pixel phases.  So an isolated star gets the flux
aperture photometry would give it (the cruciform factor included), and a PSF model
that holds, say, 98 % of the light in its stamp is right all the same.  The model
must reach the sky annulus (APCORR ``skyout``) for ``A_model`` to include the PSF's
wing in the annulus (0.1-0.2 % of the flux at the testbed's radii); the testbed's PSF
references do.

The error is the fit's flux error (the covariance scaled by the reduced chi^2) on the
same scale; the local background's error is left out (over the few pixels a PSF fit
weighs it is small against the source's).  Cost: stage 3 takes 2-10 times as long as
with aperture photometry, 0.2-1.7 s per exposure (``benchmarks/imager_crowded.py``).
Cannot do: a field-dependent PSF (the grid's nearest PSF is interpolated by
``GriddedPSFModel``, but the testbed writes one), saturated cores (their pixels are
NaN and left out of the fit, so a saturated star is fit on its wings).
"""
import itertools
import warnings
from dataclasses import replace

import numpy as np
from astropy.table import Table

from . import CalibrationInputError
from . import references as refs
from .catalog import bad_in_aperture, catalog_table, detect, local_background, star_finder

# photutils is imported in the functions that use it (the imager's alone: importing it costs a calibrate ~0.4 s).
#: Reference type of the PSF model (not a CRDS type; the STPSF/WebbPSF PSF-grid layout).
REFTYPE = "PSFGRID"
#: Rounds of (find in the residual, re-measure backgrounds, refit with the others subtracted).
ITERATIONS = 2
#: Fractional error of the PSF model, in the noise against which sources are looked for
#: in the residual (DAOPHOT's "profile error" default, 5 %).
PROFILE_ERROR = 0.05
#: Sub-pixel phases per axis over which the model's aperture measurement is averaged.
PHASES = 4
#: Fraction of a source's light on bad pixels from which its core counts as lost
#: (:func:`light_on_bad_pixels`).
FILL_FRACTION = 0.01


def load_psf(folder, exposure):
    """The exposure's PSF model from the folder's PSFGRID reference, or None without one.

    Parameters
    ----------
    folder : path
        Reference folder.
    exposure : DataModel
        The exposure (its filter and selectors choose the file).

    Returns
    -------
    photutils.psf.GriddedPSFModel or None
    """
    from photutils.psf import GriddedPSFModel
    return refs.load_optional(folder, REFTYPE, exposure, lambda p: GriddedPSFModel.read(p, format="webbpsf"))[0]


_CLASSES = itertools.count()


def _own_class(psf):
    """A copy of the PSF model that is the one instance of a class of its own.

    photutils 3.0 fits a group of sources with a model class it caches by the number of
    sources and the PSF model's class name, holding the PSF model the class was first
    made from: a later PSF of the same class (another filter in the same process) would
    be fit with the first one's shape (photutils PR 2384; fixed in photutils 3.1, which
    needs Python 3.12).  A class of its own per PSF keeps every fit with its own PSF.
    """
    model = psf.copy()
    model.__class__ = type(f"{type(psf).__name__}{next(_CLASSES)}", (type(psf),), {})
    return model


def model_aperture_flux(psf, aperture, phases=PHASES):
    """The aperture measurement of the unit-flux model: ``sum_aperture - mean_annulus * area``.

    Averaged over ``phases`` x ``phases`` sub-pixel positions, as the APCORR rows are.

    Parameters
    ----------
    psf : astropy.modeling.Model
        The PSF model (``flux``, ``x_0``, ``y_0`` parameters).
    aperture : tuple
        ``(radius, apcorr, skyin, skyout)``.
    phases : int

    Returns
    -------
    float
    """
    from photutils.aperture import CircularAnnulus, CircularAperture, aperture_photometry
    radius, _, skyin, skyout = aperture
    half = int(np.ceil(skyout)) + 2
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(float)
    offsets = (np.arange(phases) + 0.5) / phases - 0.5
    values = []
    for dx in offsets:
        for dy in offsets:
            image = psf.evaluate(xx + half, yy + half, 1.0, half + dx, half + dy)
            ap = CircularAperture((half + dx, half + dy), radius)
            ann = CircularAnnulus((half + dx, half + dy), skyin, skyout)
            inside = aperture_photometry(image, ap)["aperture_sum"][0]
            sky = aperture_photometry(image, ann)["aperture_sum"][0] / ann.area
            values.append(inside - sky * ap.area)
    return float(np.mean(values))


def flux_scale(psf, aperture, pixel_area_sr):
    """The mJy of a unit of model flux: ``A_model * apcorr * Omega_pix * 1e9`` (module docstring, flux scale)."""
    return model_aperture_flux(psf, aperture) * aperture[1] * pixel_area_sr * 1e9


def light_on_bad_pixels(sci, catalog, psf, aperture, pixel_area_sr, fraction=FILL_FRACTION):
    """The light the catalog's fitted PSFs put on the image's bad pixels: saturated cores.

    A saturated core is NaN in the image, so the cruciform step cannot see the light
    it scattered into the cross (:mod:`calibration.image3` gives it back for a second
    pass).  Only sources with at least ``fraction`` of their light on bad pixels count
    (a dead pixel in a faint star's wing moves nothing).

    Parameters
    ----------
    sci : (ny, nx) float
        The image (MJy/sr, NaN where bad).
    catalog : QTable
        Its ``psf`` catalog (fluxes in mJy).
    psf : astropy.modeling.Model
    aperture : tuple
        ``(radius, apcorr, skyin, skyout)``, as the catalog was made with.
    pixel_area_sr : float

    Returns
    -------
    light : (ny, nx) float
        Surface brightness (MJy/sr) of those sources on the bad pixels, 0 elsewhere.
    count : int
        The number of those sources.
    """
    bad = ~np.isfinite(sci)
    light = np.zeros(sci.shape)
    if not len(catalog) or not bad.any():
        return light, 0
    x = np.asarray(catalog["xcentroid"].value, float)
    y = np.asarray(catalog["ycentroid"].value, float)
    flux = np.asarray(catalog["flux"].value, float) / flux_scale(psf, aperture, pixel_area_sr)
    count = 0
    for xi, yi, fi in zip(x, y, flux, strict=True):
        on_bad = model_image(psf, [xi], [yi], [fi], sci.shape, where=bad)
        if on_bad.sum() >= fraction * fi:
            light += on_bad
            count += 1
    return light, count


def _fit_shape(fwhm):
    return 2 * int(np.ceil(fwhm)) + 1


def _boxes(x, y, half, shape):
    """The union of the ``2 half + 1`` pixel fit boxes centred on ``(x, y)``, as photutils cuts them."""
    inside = np.zeros(shape, bool)
    for xi, yi in zip(x, y, strict=True):
        cx, cy = int(np.ceil(xi - 0.5)), int(np.ceil(yi - 0.5))
        inside[max(cy - half, 0):max(cy + half + 1, 0), max(cx - half, 0):max(cx + half + 1, 0)] = True
    return inside


def model_image(psf, x, y, flux, shape, where=None):
    """The PSFs of sources ``(x, y, flux)`` on an image of ``shape``, each over its model's stamp.

    Parameters
    ----------
    psf : astropy.modeling.Model
    x, y, flux : (n,) float
    shape : tuple
    where : (ny, nx) bool, optional
        Only these pixels (the others stay 0).

    Returns
    -------
    (ny, nx) float
    """
    image = np.zeros(shape)
    _add_stamps(image, _stamps(psf, x, y, flux, shape, where), where)
    return image


def _stamps(psf, x, y, flux, shape, where=None):
    """Each source's PSF over its model's stamp on an image of ``shape``: ``[(ys, xs, values), ...]``.

    With ``where``, the model is evaluated on those pixels alone (0 elsewhere): its spline
    is evaluated point by point, so the values are those of the whole stamp's, bit for bit.
    """
    half = int(np.ceil(np.asarray(psf.data).shape[-1] / 2 / np.atleast_1d(psf.oversampling)[-1]))
    stamps = []
    for xi, yi, fi in zip(x, y, flux, strict=True):
        cx, cy = int(round(xi)), int(round(yi))
        ys = slice(max(cy - half, 0), max(min(cy + half + 1, shape[0]), 0))
        xs = slice(max(cx - half, 0), max(min(cx + half + 1, shape[1]), 0))
        yy, xx = np.mgrid[ys, xs].astype(float)
        if where is None:
            values = psf.evaluate(xx, yy, fi, xi, yi)
        else:
            on = where[ys, xs]
            values = np.zeros(on.shape)
            if on.any():
                values[on] = psf.evaluate(xx[on], yy[on], fi, xi, yi)
        stamps.append((ys, xs, values))
    return stamps


def _add_stamps(image, stamps, where=None):
    """``image += `` the sum of ``stamps`` (only on ``where``), summed apart first over their bounding box.

    The same sums as adding the model image of those sources (:func:`model_image`), bit for bit,
    without a model image the size of ``image`` for each group.
    """
    stamps = [stamp for stamp in stamps if stamp[2].size]  # a source off the image has none
    if not stamps:
        return
    y0, y1 = min(ys.start for ys, _, _ in stamps), max(ys.stop for ys, _, _ in stamps)
    x0, x1 = min(xs.start for _, xs, _ in stamps), max(xs.stop for _, xs, _ in stamps)
    total = np.zeros((y1 - y0, x1 - x0))
    for ys, xs, values in stamps:
        part = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
        total[part] += values if where is None else values * where[ys, xs]
    image[y0:y1, x0:x1] += total


def _find_new(det, residual, model, err, fitted, nsigma):
    """Sources in the residual, at least one FWHM from every fitted one.

    Found as :func:`calibration.catalog.detect` finds them, at ``nsigma`` on the
    residual over ``max(err, std) (+) PROFILE_ERROR * model``: against the image's noise
    (as the first detection), the photon noise of bright stars and the error of the PSF
    model under them.
    """
    noise = np.hypot(np.maximum(err, det.std), PROFILE_ERROR * model)
    significance = np.where(det.bad, 0.0, (residual - det.median) / noise)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = star_finder(nsigma, det.fwhm)(significance, mask=det.bad)
    if found is None or len(found) == 0:
        return np.empty((0, 2))
    new = np.column_stack([np.asarray(found["x_centroid"]), np.asarray(found["y_centroid"])])
    if len(fitted):
        dist = np.hypot(new[:, None, 0] - fitted[None, :, 0], new[:, None, 1] - fitted[None, :, 1])
        new = new[dist.min(axis=1) >= det.fwhm]
    return new


def _aperture_start(data, x, y, radius, bkg):
    """Starting fluxes: sums in ``radius`` minus the local background."""
    from photutils.aperture import CircularAperture, aperture_photometry
    ap = CircularAperture(np.column_stack([x, y]), r=radius)
    return np.asarray(aperture_photometry(data, ap)["aperture_sum"]) - bkg * ap.area


def fit_sources(det, err, psf, aperture, nsigma=5.0):
    """Fit the PSF to every source (module docstring, steps 2-3).

    Parameters
    ----------
    det : calibration.catalog.Detections
    err : (ny, nx) float
        The image's error (finite, > 0).
    psf : astropy.modeling.Model
        The PSF model.
    aperture : tuple
        ``(radius, apcorr, skyin, skyout)``: the sky annuli.
    nsigma : float
        Detection threshold for sources found in the residual, and for every fitted flux.

    Returns
    -------
    x, y, flux, flux_err : (n,) float
        Fitted positions and fluxes (in units of the model) of the sources whose fit
        succeeded and made a detection.
    """
    from photutils.psf import PSFPhotometry, SourceGrouper
    psf = _own_class(psf)
    shape = _fit_shape(det.fwhm)
    grouper = SourceGrouper(min_separation=np.sqrt(2) * shape)  # boxes of two groups never overlap
    photometry = PSFPhotometry(psf, shape, xy_bounds=max(1.0, det.fwhm / 2))

    def fit(data, error, x, y, flux, bkg, group):
        init = Table({"x": x, "y": y, "flux": flux, "local_bkg": bkg, "group_id": group})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = photometry(data, mask=det.bad, error=error, init_params=init)
        x, y, flux, flux_err = (np.asarray(result[c], float) for c in ("x_fit", "y_fit", "flux_fit", "flux_err"))
        ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(flux) & np.isfinite(flux_err) & (flux_err > 0)
        return x[ok], y[ok], flux[ok], flux_err[ok]

    x, y = det.x, det.y
    bkg, _ = local_background(det, det.positions, aperture)
    start = _aperture_start(det.filled, x, y, det.fwhm, bkg)
    x, y, flux, flux_err = fit(det.filled, err, x, y, start, bkg, grouper(x, y))
    for _ in range(ITERATIONS):
        stamps = _stamps(psf, x, y, flux, det.filled.shape)  # evaluated once: the model, then each group's part
        model = np.zeros(det.filled.shape)
        _add_stamps(model, stamps)
        residual = det.filled - model
        new = _find_new(det, residual, model, err, np.column_stack([x, y]), nsigma)
        old = np.arange(x.size + len(new)) < x.size
        x, y = np.concatenate([x, new[:, 0]]), np.concatenate([y, new[:, 1]])
        group = grouper(x, y)
        # Each group gets its sources' fitted PSFs back on its own fit boxes: there the
        # image holds the group and nothing of the others, whose boxes are elsewhere.
        data = residual.copy()
        for g in np.unique(group):
            m = group == g
            _add_stamps(data, [stamps[i] for i in np.flatnonzero(m[old])], _boxes(x[m], y[m], shape // 2, data.shape))
        bkg, _ = local_background(replace(det, filled=residual), np.column_stack([x, y]), aperture)
        start = np.concatenate([flux, _aperture_start(data, x[~old], y[~old], det.fwhm, bkg[~old])])
        # The other groups' PSFs were subtracted from each group's boxes: their model's
        # error joins the noise there, as it does in the search of the residual.
        others = np.abs(model - (data - residual))
        x, y, flux, flux_err = fit(data, np.hypot(err, PROFILE_ERROR * others), x, y, start, bkg, group)
    # A source stays only if its fit makes it a detection: a bright star's diffraction
    # spike, found as a source before the star's model took it away, fits to nothing.
    keep = flux >= nsigma * flux_err
    return x[keep], y[keep], flux[keep], flux_err[keep]


def psf_catalog(sci, err, wcs, filter_name, aperture, pixel_area_sr, psf, nsigma=5.0):
    """Variant ``psf``: detect point sources and fit the PSF reference to all of them (module docstring).

    Parameters
    ----------
    sci, err : (ny, nx) float
        Surface brightness (MJy/sr, NaN where bad) and its error.
    wcs : astropy.wcs.WCS
        Pixel to sky.
    filter_name : str
    aperture : tuple
        ``(radius, apcorr, skyin, skyout)`` (:func:`calibration.catalog.aperture_row`):
        the sky annuli and the flux scale.
    pixel_area_sr : float
        Pixel solid angle.
    psf : astropy.modeling.Model
        The PSF model (:func:`load_psf`).
    nsigma : float
        Detection threshold.

    Returns
    -------
    QTable
        The catalog (fluxes in mJy; ``aperture_radius`` is the radius of the flux tie).
    """
    if psf is None:
        raise CalibrationInputError("catalog=psf needs a PSF model (a PSFGRID reference)")
    det = detect(sci, filter_name, nsigma)
    radius = aperture[0]
    if det.x.size == 0:
        return catalog_table([], [], wcs, [], [], [], radius)
    err_filled = np.where(np.isfinite(err) & (err > 0), err, np.nanmedian(err))
    x, y, flux, flux_err = fit_sources(det, err_filled, psf, aperture, nsigma)
    to_mjy = flux_scale(psf, aperture, pixel_area_sr)
    nbad = bad_in_aperture(det, np.column_stack([x, y]), radius) if x.size else []
    return catalog_table(x, y, wcs, flux * to_mjy, flux_err * to_mjy, nbad, radius)
