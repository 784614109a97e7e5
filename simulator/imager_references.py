"""The imager's own reference files: photometric calibration, aperture corrections, the
cruciform kernel, the distortion and an astrometric reference catalog.

* PHOTOM: ``photmjsr = g / E(1 MJy/sr)`` times ``(1 + e)``, ``e ~ N(0, photom_error)``,
  with the throughput decay (``timecoeff_exponential``, :mod:`simulator.throughput`):
  the truth when ``perfect``, a monitoring fit when ``measured``.

* APCORR rows (sky annulus from max(6 FWHM, 20 px) to 1.5 times that): encircled energy
  measured on the diffraction PSF (:mod:`simulator.psf`,
  without the cruciform, as a PSF-model aperture correction is), averaged over a grid of
  sub-pixel source phases, the local-background annulus accounted for:
  ``apcorr = 1 / (EE(r) - A_ap <PSF>_annulus)``.  EE is relative to the PSF's total
  light (the stamp holds slightly less; see :mod:`simulator.psf`).
* PSFGRID (not a CRDS type: a PSF grid in the STPSF/WebbPSF FITS layout that
  ``photutils.psf.GriddedPSFModel.read(path, format="webbpsf")`` reads; one PSF, no
  field dependence), the exposure's filter: the ePSF a calibration programme measures
  from a dithered bright star when ``measured``, the truth's when ``perfect``
  (:mod:`simulator.epsf`); it reaches beyond the APCORR sky annulus.
* CRUCIFORM (not a CRDS type; a FITS table with the CRDS selection keywords): the
  kernel ``(a, s, gap)`` per filter, as fitted on bright stars.  ``measured``: a and s
  each with a relative error ``CRUCIFORM_ERROR`` (placeholder); zero amplitude when the
  simulated instrument has no cross.
* DISTPOLY (not a CRDS type: the real DISTORTION file is an ASDF transform): the
  distortion terms of :mod:`simulator.pointing`, each ``measured`` to
  ``DISTORTION_ERROR_PIX`` (placeholder); no terms when there is no distortion.
* REFCAT: the field's astrometric catalog (like Gaia): each source's catalog position,
  ``measured`` with an error of ``CATALOG_ERROR_MAS`` per axis (placeholder).  It knows
  nothing of the pointing.
"""
import hashlib
import json
from dataclasses import replace

import numpy as np
from astropy.table import Table
from photutils.aperture import CircularAnnulus, CircularAperture, aperture_photometry
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import imager, readout
from miri_testbed.instrument.files import save_model, write_image_reference, write_table_reference, write_text
from miri_testbed.instrument.refmeta import Selection

from . import cruciform, epsf, psf, throughput
from .pointing import DISTORTION, DISTORTION_CENTRE, DISTORTION_SCALE
from .references import PROVENANCE, _describe

EE_FRACTIONS = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.82, 0.84, 0.86, 0.88, 0.9, 0.95, 0.98, 0.99, 0.995)
#: The exposures the imager references serve.
IMAGER = Selection(detector="MIRIMAGE", exp_type="MIR_IMAGE")
CRUCIFORM_ERROR = 0.02
DISTORTION_ERROR_PIX = 0.002
CATALOG_ERROR_MAS = 0.5


def aperture_corrections(filter_name, sky_in_fwhm=6.0, min_sky_in_pix=20.0, sky_out_ratio=1.5, phases_per_axis=4):
    """Rows ``(eefraction, radius, apcorr, skyin, skyout)`` measured on the PSF (cached on
    disk beside the PSF, keyed by the PSF's parameters and these arguments).

    The sky annulus starts at ``max(6 FWHM, 20 px)`` and ends 1.5 times further out:
    closer in, the diffraction spikes make the annulus's (clipped) median, which the
    catalog subtracts, differ from its mean, which the correction assumes, by up to
    0.9 % of the flux at F560W (4-6 FWHM); from here it is <= 0.05 % in every filter.
    """
    args = [sky_in_fwhm, min_sky_in_pix, sky_out_ratio, phases_per_axis, EE_FRACTIONS]
    key = hashlib.sha256(json.dumps([psf.cache_key(filter_name), args]).encode()).hexdigest()[:16]
    path = psf.cache_dir() / f"apcorr_{filter_name.lower()}_{key}.json"
    try:
        return [tuple(row) for row in json.loads(path.read_text())]
    except (OSError, ValueError):
        pass
    rows = _measure_apcorr(filter_name, *args[:4])
    write_text(path, json.dumps(rows))
    return rows


def _measure_apcorr(filter_name, sky_in_fwhm, min_sky_in_pix, sky_out_ratio, phases_per_axis):
    fwhm = psf.fwhm_pixels(filter_name)
    skyin = max(sky_in_fwhm * fwhm, min_sky_in_pix)
    skyout = sky_out_ratio * skyin
    half = psf.stamp_size(filter_name) // 2
    radii = np.linspace(0.2, skyin, 400)
    offsets = (np.arange(phases_per_axis) + 0.5) / phases_per_axis - 0.5
    ee_curves, annulus_means = [], []
    for dx in offsets:
        for dy in offsets:
            centre = (half + dx, half + dy)
            image = psf.render((2 * half + 1,) * 2, centre[0], centre[1], filter_name)
            table = aperture_photometry(image, [CircularAperture(centre, r) for r in radii])
            ee_curves.append([table[f"aperture_sum_{i}"][0] for i in range(len(radii))])
            annulus = CircularAnnulus(centre, skyin, skyout)
            annulus_means.append(aperture_photometry(image, annulus)["aperture_sum"][0] / annulus.area)
    ee_curve = np.mean(ee_curves, axis=0)
    annulus_mean = float(np.mean(annulus_means))
    rows = []
    for ee in EE_FRACTIONS:
        if ee >= ee_curve[-1]:
            continue  # that much light is not enclosed inside the sky annulus
        radius = float(np.interp(ee, ee_curve, radii))
        rows.append((ee, radius, 1.0 / (ee - np.pi * radius**2 * annulus_mean), skyin, skyout))
    return rows


def photmjsr(filter_name, gain):
    """True MJy/sr per DN/s of a uniformly lit pixel with gain ``gain``."""
    e_per_s = throughput.surface_brightness_to_mjy_per_pixel(1.0) * throughput.electrons_per_second_per_mjy(
        filter_name
    )
    return gain / e_per_s


def write_photometric_references(folder, observation, options, effects, truth, rng):
    """Write PHOTOM (every filter and subarray, the decay when ``effects.throughput_decay``)
    and APCORR (the exposure's filter) into ``folder``; return ``{reftype: path}``.

    ``rng`` is the references stream, continuing after the detector's references.
    """
    measured = options.kind == "measured"
    sub = observation.subarray.upper()
    mean_gain = float(np.mean(truth.gain))
    rows = []
    for name in imager.FILTERS:
        factor = photmjsr(name, mean_gain)
        if measured:
            factor *= 1 + options.photom_error * rng.standard_normal()
        rows.extend((name, s, factor, factor * options.photom_error) for s in readout.SUBARRAYS)
    table = np.array(rows, dtype=[("filter", "S12"), ("subarray", "S17"), ("photmjsr", "f4"), ("uncertainty", "f4")])
    model = dm.MirImgPhotomModel(phot_table=table)
    for key, table in throughput.time_tables(readout.SUBARRAYS, rng.spawn(1)[0] if measured else None,
                                             effects.throughput_decay).items():
        setattr(model, key, table)
    model.meta.photometry.pixelarea_steradians = imager.pixel_solid_angle_sr()
    model.meta.photometry.pixelarea_arcsecsq = imager.PIXEL_SCALE_X_ARCSEC * imager.PIXEL_SCALE_Y_ARCSEC
    photom = _describe(model, "PHOTOM", IMAGER, options, "MJy/sr per DN/s")

    rows = [(observation.filter, sub) + row for row in aperture_corrections(observation.filter)]
    table = np.array(rows, dtype=[("filter", "S12"), ("subarray", "S17"), ("eefraction", "f4"), ("radius", "f4"),
                                  ("apcorr", "f4"), ("skyin", "f4"), ("skyout", "f4")])
    apcorr = _describe(dm.MirImgApcorrModel(apcorr_table=table), "APCORR", IMAGER, options,
                       "aperture corrections measured on the simulated PSF")
    return {"PHOTOM": save_model(photom, folder / f"miri_testbed_photom_{sub.lower()}.fits"),
            "APCORR": save_model(apcorr, folder / f"miri_testbed_apcorr_{sub.lower()}.fits")}


def write_psf_reference(folder, observation, options):
    """Write the PSFGRID reference of the exposure's filter into ``folder``; return ``{reftype: path}``.

    Its header says what the STPSF/WebbPSF grid layout needs (OVERSAMP, one DET_YX0
    position: the middle of the full frame, NUM_PSFS) and how the array is normalised.
    """
    name = observation.filter.upper()
    if options.kind == "measured":
        data = epsf.measured(name, aperture_corrections(name)[0][4])
        norm = ("STAMP", "sum / OVERSAMP**2 = 1")
    else:
        data = epsf.perfect(name)
        norm = ("TOTAL", "sum / OVERSAMP**2 = light in the stamp")
    header = {"OVERSAMP": (epsf.OVERSAMPLE, "samples per detector pixel"), "NUM_PSFS": 1,
              "DET_YX0": ("(511.5, 515.5)", "(y, x) detector position of PSF 0"), "NORMALIZ": norm}
    path = write_image_reference(folder / f"miri_testbed_psfgrid_{name.lower()}.fits", "PSFGRID",
                                 data[None].astype(np.float32), selection=replace(IMAGER, filter=name),
                                 provenance=PROVENANCE, description=f"imager ePSF of {name} ({options.kind})",
                                 header=header)
    return {"PSFGRID": path}


def _write(path, reftype, kind, description, table, header=None):
    return write_table_reference(path, reftype, table, selection=IMAGER, provenance=PROVENANCE,
                                 description=f"{description} ({kind})", header=header)


def write_optics_references(folder, scene, options, effects, rng):
    """Write CRUCIFORM, DISTPOLY and REFCAT into ``folder``; return ``{reftype: path}``.

    ``effects`` is a :class:`simulator.config.Effects`; ``rng`` the optics stream,
    continuing after the true pointing was drawn.
    """
    measured = options.kind == "measured"
    rows = []
    for name in ("F560W", "F770W", "F1000W", "F1130W", "F1280W", "F1500W", "F1800W", "F2100W", "F2550W"):
        a, s = cruciform.kernel_parameters(name) if effects.imager.cruciform else (0.0, 0.02)
        if measured:
            a *= 1 + CRUCIFORM_ERROR * rng.standard_normal()
            s *= 1 + CRUCIFORM_ERROR * rng.standard_normal()
        rows.append((name, a, s, cruciform.CORE_GAP_PIX))
    paths = {"CRUCIFORM": _write(folder / "miri_testbed_cruciform.fits", "CRUCIFORM", options.kind,
                                 "row/column scattering kernel a exp(-s|x|)",
                                 Table(rows=rows, names=("filter", "amplitude", "rate", "gap")))}

    terms = list(DISTORTION.items()) if effects.optics.distortion else []
    table = Table(names=("i", "j", "dx", "dy"), dtype=(int, int, float, float))
    for (i, j), (dx, dy) in terms:
        if measured:
            dx += DISTORTION_ERROR_PIX * rng.standard_normal()
            dy += DISTORTION_ERROR_PIX * rng.standard_normal()
        table.add_row((i, j, dx, dy))
    paths["DISTPOLY"] = _write(folder / "miri_testbed_distpoly.fits", "DISTPOLY", options.kind,
                               "detector = undistorted + sum (dx, dy) u^i v^j", table, header={
                                   "XCENTRE": (DISTORTION_CENTRE[0], "0-based full-frame x of u = 0"),
                                   "YCENTRE": (DISTORTION_CENTRE[1], "0-based full-frame y of v = 0"),
                                   "SCALE": (DISTORTION_SCALE, "pixels per unit of u and v")})

    ra = np.array([s.ra_deg for s in scene.sources], float)
    dec = np.array([s.dec_deg for s in scene.sources], float)
    if measured and ra.size:
        err = CATALOG_ERROR_MAS / 3.6e6
        dec = dec + err * rng.standard_normal(ra.size)
        ra = ra + err * rng.standard_normal(ra.size) / np.cos(np.deg2rad(dec))
    table = Table({"id": np.arange(ra.size), "ra": ra, "dec": dec})
    paths["REFCAT"] = _write(folder / "miri_testbed_refcat.fits", "REFCAT", options.kind,
                             "astrometric reference catalog of the field", table)
    return paths
