"""image3 for the imager: cal -> source catalog (ECSV).

cruciform (:mod:`calibration.cruciform`) -> background (local, map, or dedicated
background exposures calibrated through detector1 and photom like the science,
:mod:`calibration.background`) -> source catalog (aperture photometry with the APCORR
reference, :mod:`calibration.catalog`, or PSF fitting with the PSFGRID reference,
:mod:`calibration.psf_photometry`; ``psf`` without a PSFGRID reference in the folder
measures in apertures and says so) -> alignment (:mod:`calibration.alignment`).
The cruciform and background steps change the image the catalog measures, not the cal
product; alignment updates the cal product's WCS.  With ``catalog=psf`` and
``cruciform=subtract``, a saturated core (NaN) hides from the first pass the light it
scattered into the cross; its fitted PSF gives that light back
(:func:`calibration.psf_photometry.light_on_bad_pixels`) and the three steps run again.
Their records go to the catalog's meta (``steps``) and, through the pipeline, to the cal product's HISTORY.
"""
from pathlib import Path

import astropy.units as u
import numpy as np

from . import Skip, alignment, background, cruciform, detector1, image2, psf_photometry
from . import references as refs
from .alignment import celestial_wcs, sky_positions
from .catalog import aperture_row
from .inputs import open_uncal
from .steps import COMPLETE, StepLog

#: Photometric aperture: the APCORR row nearest 70 % encircled energy (as the JWST source
#: catalog) among those of radius >= 5 pixels.  The radius floor is there because the PSF
#: is undersampled at short wavelengths: in a 1.7-2.5 pixel aperture the encircled energy
#: changes by 0.2-1.3 % with the source's sub-pixel phase (F560W-F770W); at 5 pixels by
#: < 0.03 %.  With the diffraction PSF (simulator.psf) 90 % is reached only at ~4 FWHM
#: (30 px at F2550W: blends and sky noise), so 70 % (2.5 FWHM) it is; F560W-F1280W still
#: use their first row of >= 5 px.
EEFRACTION = 0.7
MIN_APERTURE_RADIUS = 5.0


def _cross_kernel(folder, exposure):
    """The cruciform step's reference argument ``(kernel,)``, or a Skip without a cross to correct."""
    params = cruciform.load_kernel(folder, exposure)
    name = exposure.meta.instrument.filter
    if params is None:
        return Skip(f"no CRUCIFORM reference (or no row for {name})")
    if params[0] == 0:
        return Skip(f"no cross in {name} (CRUCIFORM amplitude 0)")
    return (params,)


def correct_cruciform(log, variant, sci, folder, exposure):
    """The cruciform step.

    Parameters
    ----------
    log : StepLog
    variant : str
        The cruciform variant.
    sci : (ny, nx) float
        Calibrated image.
    folder : path
        Reference folder.
    exposure : DataModel
        The exposure (its filter selects the kernel).

    Returns
    -------
    image, factor
        The image to measure and the factor on the aperture correction.
    """
    return log.run("cruciform", variant, sci, resolve=lambda: _cross_kernel(folder, exposure))


def _dedicated_backgrounds(paths, science, folder, choice):
    """The dedicated background exposures calibrated like the science: ``[(sci, var), ...]``.

    detector1, photom at their own mid-times, and the science's cruciform variant (it is
    linear, so the difference is that of the images without their crosses).
    """
    calibrated = []
    for path in paths:
        bkg = open_uncal(path)
        background.check_dedicated(science, bkg)
        log = StepLog()  # a background exposure's steps make no product of their own
        d1 = detector1.run(log, bkg, folder, choice)
        sci, var_p, var_r = image2.calibrate_rate(log, choice["photom"], d1, image2.photom_reference(log, folder, bkg))
        calibrated.append((correct_cruciform(log, choice["cruciform"], sci, folder, bkg)[0], var_p + var_r))
    return calibrated


def _alignment_references(folder, exposure, distortion, origin):
    """The alignment step's reference arguments, or a Skip without a REFCAT reference."""
    refcat = alignment.load_refcat(folder, exposure)
    if refcat is None:
        return Skip("no REFCAT reference catalog in the reference folder")
    return refcat, distortion, origin


def align_catalog(log, variant, catalog, cal, folder, exposure):
    """The alignment step: fit the pointing, update the cal product's WCS, recompute RA/Dec.

    The catalog gains ``ra_unaligned``/``dec_unaligned`` (commanded pointing through the
    DISTPOLY distortion) and its ``ra``/``dec`` are recomputed with the WCS the step
    leaves; ``catalog.meta['alignment']`` says what happened: ``COMPLETE`` with the fit's
    summary, ``REFUSED`` (the variant declined, with the reason) or ``SKIPPED``.

    Parameters
    ----------
    log : StepLog
    variant : str
        The alignment variant.
    catalog : QTable
        The source catalog of ``cal``.
    cal : ImageModel
        The cal product (its ``meta.wcsinfo`` is updated on success).
    folder : path
        Reference folder.
    exposure : DataModel
        The exposure (subarray origin, reference selection).
    """
    distortion, dist_path = alignment.load_distortion(folder, exposure)
    origin = (exposure.meta.subarray.xstart - 1, exposure.meta.subarray.ystart - 1)
    wcs = celestial_wcs(cal.meta)
    x = np.asarray(catalog["xcentroid"].value if len(catalog) else [], float)
    y = np.asarray(catalog["ycentroid"].value if len(catalog) else [], float)
    if len(catalog):
        ra0, dec0 = sky_positions(x, y, wcs, distortion, origin)
        catalog["ra_unaligned"], catalog["dec_unaligned"] = ra0 * u.deg, dec0 * u.deg
    wcs, info = log.run("alignment", variant, x, y, wcs,
                        resolve=lambda: _alignment_references(folder, exposure, distortion, origin))
    record = log.record("alignment")
    if record.status == COMPLETE:
        w = cal.meta.wcsinfo
        w.crval1, w.crval2 = (float(v) for v in wcs.wcs.crval)
        w.pc1_1, w.pc1_2, w.pc2_1, w.pc2_2 = (float(v) for v in np.array(wcs.wcs.pc).ravel())
        w.ra_ref, w.dec_ref = w.crval1, w.crval2
        summary = {"status": COMPLETE, **info, "distortion": str(dist_path)}
    else:
        log.note("alignment", "alignment: the WCS keeps the commanded pointing")
        summary = {"status": "REFUSED" if record.cause == "declined" else record.status, "reason": record.reason,
                   "distortion": str(dist_path)}
    if len(catalog):
        ra, dec = sky_positions(x, y, wcs, distortion, origin)
        catalog["ra"], catalog["dec"] = ra * u.deg, dec * u.deg
    catalog.meta["alignment"] = summary


def run(log, exposure, cal, folder, choice, background_paths=()):
    """image3: the source catalog of a cal product.

    Parameters
    ----------
    log : StepLog
    exposure : RampModel
        The science exposure.
    cal : ImageModel
        Its cal product (:func:`calibration.image2.run`); alignment updates its WCS.
    folder : path
        Reference folder.
    choice : dict
        ``{step: variant}``.
    background_paths : list of path
        Dedicated background exposures (uncal) for ``background=dedicated``.

    Returns
    -------
    QTable
        The catalog (fluxes in mJy), with its steps, alignment and provenance in ``meta``.
    """
    start = len(log.records)
    meta = exposure.meta
    apcorr = refs.load(folder, "APCORR", exposure)
    aperture = aperture_row(apcorr.apcorr_table, meta.instrument.filter, meta.subarray.name, EEFRACTION,
                            MIN_APERTURE_RADIUS)
    psf = psf_photometry.load_psf(folder, exposure)
    variant = choice["catalog"]
    if variant == "psf" and psf is None:
        log.note("catalog", "catalog=psf: no PSFGRID reference in the folder; aperture photometry instead")
        variant = "aperture"
    area = cal.meta.photometry.pixelarea_steradians

    bad = ~np.isfinite(cal.data)

    def measure(log, fill=None):  # cruciform -> background -> catalog; returns the catalog and its aperture
        sci = cal.data if fill is None else np.where(bad, fill, cal.data)
        image, cross_factor = correct_cruciform(log, choice["cruciform"], sci, folder, exposure)
        image = np.where(bad, np.nan, image)  # the fill served the cross alone
        row = (aperture[0], aperture[1] * cross_factor) + tuple(aperture[2:])
        image, var = log.run("background", choice["background"], image, cal.err.astype(np.float64) ** 2,
                             resolve=lambda: (_dedicated_backgrounds(background_paths, exposure, folder, choice),))
        err = np.sqrt(var).astype(np.float32)  # float32, as the cal product's ERR
        return log.run("catalog", variant, image, err, celestial_wcs(cal.meta), meta.instrument.filter,
                       row, area, resolve=lambda: (psf,)), row

    catalog, row = measure(log)
    if variant == "psf" and choice["cruciform"] == "subtract" and log.record("cruciform").status == COMPLETE:
        # A saturated core is NaN, so its light was missing from the cross just subtracted
        # (its wings kept 1-2 % of the star's flux in FULL at F770W): give the core what
        # it would have shown, its fitted PSF's light through the forward form
        # (divided by 1 + 2 sum K), and measure again.
        light, count = psf_photometry.light_on_bad_pixels(cal.data, catalog, psf, row, area)
        if count:
            norm = cruciform.cross_norm(cruciform.load_kernel(folder, exposure))
            catalog = measure(StepLog(), np.nanmedian(cal.data) + light / norm)[0]
            log.note("cruciform", f"{count} saturated cores: their cross re-subtracted with the light of "
                                  "their fitted PSF, and the catalog measured again")
    if background_paths:
        catalog.meta["background_exposures"] = [Path(path).name for path in background_paths]
    align_catalog(log, choice["alignment"], catalog, cal, folder, exposure)
    catalog.meta["steps"] = {record.step: record.as_dict() for record in log.records[start:]}
    catalog.meta["filter"] = meta.instrument.filter
    catalog.meta["apcorr_file"] = str(apcorr.meta.filename)
    catalog.meta["algorithms"] = choice
    return catalog
