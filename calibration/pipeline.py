"""Calibrate an uncal file: the thin layer between JWST data models and the algorithms.

detector1: dq_init (MASK) -> saturation -> emi (EMICORR) -> firstframe/lastframe -> linearity -> dark
           -> jump -> showers -> ramp_fit                      => rate, rateints
image2:    photom                                              => cal
image3:    cruciform, background (local, map, or a dedicated background exposure calibrated
           through detector1 and photom like the science), source catalog (aperture
           photometry, apcorr), alignment                      => cat (ECSV)

Every product is computed in memory first and written atomically at the end, so a
failure at any point leaves no partial output.
"""
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq
from miri_testbed.instrument.files import atomic_path, product_stem, save_model

from . import CalibrationInputError, registry
from . import emi
from . import references as refs
from .alignment import celestial_wcs
from .catalog import aperture_row
from .dark import dark_rate
from .frames import flag_first_last
from .linearity import correct_linearity
from .inputs import open_uncal
from .nominal import nominal_folder
from .photom import apply_photom, time_dependent_factor
from . import background, cruciform

log = logging.getLogger(__name__)

#: Photometric aperture: the APCORR row nearest 70 % encircled energy (as the JWST source
#: catalog) among those of radius >= 5 pixels.  The radius floor is there because the PSF
#: is undersampled at short wavelengths: in a 1.7-2.5 pixel aperture the encircled energy
#: changes by 0.2-1.3 % with the source's sub-pixel phase (F560W-F770W); at 5 pixels by
#: < 0.03 %.  With the diffraction PSF (simulator.psf) 90 % is reached only at ~4 FWHM
#: (30 px at F2550W: blends and sky noise), so 70 % (2.5 FWHM) it is; F560W-F1280W still
#: use their first row of >= 5 px.
EEFRACTION = 0.7


def software_version():
    """The installed miri-testbed version (CAL_VER of the products)."""
    try:
        return version("miri-testbed")
    except PackageNotFoundError:
        return "unknown"
MIN_APERTURE_RADIUS = 5.0
REFTYPES = ("MASK", "SATURATION", "LINEARITY", "DARK", "GAIN", "READNOISE", "PHOTOM", "APCORR")


def _reference_arrays(folder, exposure):
    models = {t: refs.load(folder, t, exposure) for t in REFTYPES}
    arrays = {
        "mask": refs.cutout(models["MASK"].dq, models["MASK"], exposure),
        "saturation": refs.cutout(models["SATURATION"].data, models["SATURATION"], exposure),
        "linearity": refs.cutout(models["LINEARITY"].coeffs, models["LINEARITY"], exposure),
        "dark": refs.cutout(models["DARK"].data, models["DARK"], exposure),
        "gain": refs.cutout(models["GAIN"].data, models["GAIN"], exposure),
        # READNOISE files hold the CDS noise (JWST convention); one read has 1/sqrt(2) of it.
        "readnoise": refs.cutout(models["READNOISE"].data, models["READNOISE"], exposure) / np.sqrt(2.0),
    }
    for name in ("gain", "readnoise", "saturation"):
        if not np.all(np.isfinite(arrays[name])):
            raise CalibrationInputError(f"{models[name.upper()].meta.filename}: {name} has non-finite values")
    if np.any(arrays["gain"] <= 0):
        raise CalibrationInputError(f"{models['GAIN'].meta.filename}: gain must be positive")
    return models, arrays


def _image(model_cls, source, **arrays):
    product = model_cls(**arrays)
    product.update(source)
    return product


def emi_step(exposure, folder, name, groupdq, pixeldq, read_noise, gain):
    """The EMI step: ``(data, notes, status)``.  Runs before firstframe/lastframe drop
    groups, as JWST's emicorr does, so 3-group ramps keep one constraint per pixel.
    Without an EMICORR reference, when it lists no line for the exposure's subarray and
    readout, or when the variant declines (returns its input: too few groups, no line
    detected), the step is SKIPPED and the notes say why."""
    if name == "none":
        return exposure.data, ["emi: none (not corrected)"], "SKIPPED"
    case, reason = emi.find_case(folder, exposure)
    if case is None:
        log.warning(reason)
        return exposure.data, [reason], "SKIPPED"
    notes = [f"emi: {line} skipped: {why}" for line, why in case.skipped]
    if not case.lines:
        for note in notes:
            log.info(note)
        return exposure.data, notes, "SKIPPED"
    data, more = registry.get("emi", name)(exposure.data, groupdq, pixeldq, read_noise, gain, case)
    notes += more
    for note in notes:
        log.info(note)
    return data, notes, "SKIPPED" if data is exposure.data else "COMPLETE"  # a variant returns its input when it declines


def _detector1(exposure, folder, choice, on_emi=None):
    """detector1 on an opened exposure: ``(models, products)``, the reference models and a
    dict of the rate arrays (``rate``, ``var_p``, ``var_r``, ``dq``), the ramp (``data``,
    ``groupdq``, ``pixeldq``) and the ``rate_model`` and ``rateints`` products.
    ``on_emi(raw, corrected, usable)`` is called after the EMI step, whatever it did
    (``corrected`` is ``raw`` when it was skipped; ``usable``: pixels with no DO_NOT_USE
    flag and no saturated group)."""
    meta = exposure.meta
    models, ref = _reference_arrays(folder, exposure)
    pixeldq = exposure.pixeldq | ref["mask"].astype(np.uint32)
    groupdq = registry.get("saturation", choice["saturation"])(exposure.data, exposure.groupdq, ref["saturation"])
    raw, emi_notes, emi_status = emi_step(exposure, folder, choice["emi"], groupdq, pixeldq, ref["readnoise"],
                                          ref["gain"])
    if on_emi is not None:
        on_emi(exposure.data, raw, ((pixeldq & dq.DO_NOT_USE) == 0) & ~np.any(groupdq & dq.SATURATED, axis=(0, 1)))
    groupdq = flag_first_last(groupdq)
    data, lin_flags = correct_linearity(raw, groupdq, ref["linearity"])
    pixeldq |= lin_flags
    data = registry.get("dark", choice["dark"])(data, ref["dark"])
    group_time = float(meta.exposure.group_time)
    groupdq, mean_diff = registry.get("jump", choice["jump"])(data, groupdq, ref["readnoise"], ref["gain"], group_time)
    groupdq, n_showers = registry.get("showers", choice["showers"])(
        data, groupdq, ref["readnoise"], ref["gain"], group_time, mean_diff
    )
    fit = registry.get("ramp_fit", choice["ramp_fit"])(
        data, groupdq, ref["readnoise"], ref["gain"], group_time, dark_rate(models["DARK"], group_time, ref["gain"])
    )
    unusable = (pixeldq & dq.DO_NOT_USE) != 0
    rate = np.where(unusable, np.nan, fit.rate)
    var_p = np.where(unusable, np.nan, fit.var_poisson)
    var_r = np.where(unusable, np.nan, fit.var_rnoise)
    rate_dq = pixeldq | fit.dq
    rate_model = _image(dm.ImageModel, exposure, data=rate.astype(np.float32), dq=rate_dq,
                        err=np.sqrt(var_p + var_r).astype(np.float32), var_poisson=var_p, var_rnoise=var_r)
    rateints = _image(dm.CubeModel, exposure, data=np.where(unusable, np.nan, fit.rate_ints).astype(np.float32),
                      dq=pixeldq | fit.dq_ints,
                      err=np.sqrt(fit.var_poisson_ints + fit.var_rnoise_ints).astype(np.float32),
                      var_poisson=fit.var_poisson_ints, var_rnoise=fit.var_rnoise_ints)
    for product in (rate_model, rateints):
        product.meta.bunit_data = product.meta.bunit_err = "DN/s"
        for step in ("dq_init", "saturation", "firstframe", "lastframe", "linearity", "dark_sub", "jump", "ramp_fit"):
            setattr(product.meta.cal_step, step, "COMPLETE")
        product.meta.exposure.extended_emission_events = n_showers
        for reftype in ("MASK", "SATURATION", "LINEARITY", "DARK", "GAIN", "READNOISE"):
            getattr(product.meta.ref_file, reftype.lower()).name = str(models[reftype].meta.filename)
        product.meta.calibration_software_name = "miri-testbed"
        product.meta.calibration_software_version = software_version()
        product.meta.cal_step.emicorr = emi_status
    history = [(note, None) for note in emi_notes]
    history.append(("miri-testbed algorithms: " + " ".join(f"{k}={v}" for k, v in choice.items()),
                    {"name": "miri-testbed", "version": software_version()}))
    _add_history((rate_model, rateints), history)
    return models, dict(rate=rate, var_p=var_p, var_r=var_r, dq=rate_dq, data=data, groupdq=groupdq,
                        pixeldq=pixeldq, rate_model=rate_model, rateints=rateints, history=history)


def _add_history(products, entries):
    """Add ``(description, software)`` history entries to each product."""
    for product in products:
        for description, software in entries:
            product.add_history_entry(description, software=software)


def _photom_factor(exposure, photom_model):
    """PHOTMJSR at the exposure's mid-time (EXPSTART when EXPMID is missing), and the
    history entries to record."""
    meta = exposure.meta
    mid_time, history = meta.exposure.mid_time, []
    if mid_time is None:
        # EXPSTART is required (calibration.inputs); an exposure lasts minutes, the decay months.
        mid_time = meta.exposure.start_time
        history.append(("photom: no EXPMID; throughput time dependence evaluated at EXPSTART", None))
    return time_dependent_factor(photom_model, meta.instrument.filter, meta.subarray.name, mid_time), history


def _dedicated_backgrounds(paths, science, folder, choice):
    """The background exposures calibrated like the science (detector1, photom at their
    own mid-times): ``[(surface brightness, variance, exposure), ...]``."""
    calibrated = []
    for path in paths:
        bkg = open_uncal(path)
        background.check_dedicated(science, bkg)
        models, d1 = _detector1(bkg, folder, choice)
        sci, var_p, var_r = apply_photom(d1["rate"], d1["var_p"], d1["var_r"], _photom_factor(bkg, models["PHOTOM"])[0])
        calibrated.append((sci, var_p + var_r, bkg))
    return calibrated


def calibrate_exposure(uncal_path, refs_folder=None, algorithms=None, save_ramp=False, background_paths=None,
                       on_emi=None):
    """Calibrate one exposure; return ``{suffix: model or table}`` without writing anything.

    With ``save_ramp``, also the ramp after the detector steps (``_ramp``: linearised,
    dark-subtracted data with the jump and saturation flags), as the JWST pipeline's
    ``save_calibrated_ramp`` does.  ``background_paths``: dedicated background exposures
    (uncal files) for the ``background=dedicated`` variant; without them that variant
    takes the background members of an image2 association beside the uncal
    (:func:`calibration.background.dedicated_paths`).  ``on_emi(raw, corrected, usable)``
    is called after the science exposure's EMI step: what the step removed (nothing when
    it was skipped), for scoring without fitting it twice."""
    choice = registry.resolve(algorithms)
    background_paths = background.dedicated_paths(choice["background"], uncal_path, background_paths)
    exposure = open_uncal(uncal_path)
    meta = exposure.meta
    folder = Path(refs_folder) if refs_folder else nominal_folder(
        meta.subarray.name, meta.exposure.readpatt, meta.exposure.ngroups
    )
    models, d1 = _detector1(exposure, folder, choice, on_emi)
    rate_model, rateints, rate_dq = d1["rate_model"], d1["rateints"], d1["dq"]
    factor, photom_history = _photom_factor(exposure, models["PHOTOM"])
    sci, cvar_p, cvar_r = apply_photom(d1["rate"], d1["var_p"], d1["var_r"], factor)
    cal = _image(dm.ImageModel, rate_model, data=sci.astype(np.float32), dq=rate_dq,
                 err=np.sqrt(cvar_p + cvar_r).astype(np.float32), var_poisson=cvar_p.astype(np.float32),
                 var_rnoise=cvar_r.astype(np.float32))
    cal.meta.bunit_data = cal.meta.bunit_err = "MJy/sr"
    _add_history([cal], d1["history"] + photom_history)  # the rate's history travels on, as in image2
    cal.meta.cal_step.photom = "COMPLETE"
    cal.meta.ref_file.photom.name = str(models["PHOTOM"].meta.filename)
    cal.meta.photometry.conversion_megajanskys = factor
    pixel_area = models["PHOTOM"].meta.photometry.pixelarea_steradians
    if not pixel_area:
        raise CalibrationInputError(f"{models['PHOTOM'].meta.filename}: PIXAR_SR (pixel solid angle) is missing")
    cal.meta.photometry.pixelarea_steradians = pixel_area

    aperture = aperture_row(models["APCORR"].apcorr_table, meta.instrument.filter, meta.subarray.name, EEFRACTION,
                            MIN_APERTURE_RADIUS)
    # image3: cruciform (calibration.cruciform), background, catalog, alignment (calibration.alignment)
    cross_method = registry.get("cruciform", choice["cruciform"])
    phot_image, cross_factor, cross_record = cruciform.correct(cross_method, cal.data, folder, exposure)
    aperture = (aperture[0], aperture[1] * cross_factor) + tuple(aperture[2:])
    # Dedicated backgrounds get the science's cross correction (linear), so the difference
    # is that of the images without their crosses.
    dedicated = [(cruciform.correct(cross_method, b_sci, folder, b_exp)[0], b_var)
                 for b_sci, b_var, b_exp in _dedicated_backgrounds(background_paths, exposure, folder, choice)]
    phot_image, phot_var = registry.get("background", choice["background"])(  # calibration.background
        phot_image, cal.err.astype(np.float64) ** 2, dedicated)
    catalog = registry.get("catalog", choice["catalog"])(  # float32 ERR, as in the cal product
        phot_image, np.sqrt(phot_var).astype(np.float32), celestial_wcs(cal.meta), meta.instrument.filter, aperture,
        pixel_area
    )
    catalog.meta["cruciform"] = cross_record
    if background_paths:
        catalog.meta["background_exposures"] = [Path(p).name for p in background_paths]
    catalog, _ = registry.get("alignment", choice["alignment"])(catalog, cal, folder, exposure)
    catalog.meta["filter"] = meta.instrument.filter
    catalog.meta["apcorr_file"] = str(models["APCORR"].meta.filename)
    catalog.meta["algorithms"] = choice
    products = {"rate": rate_model, "rateints": rateints, "cal": cal, "cat": catalog}
    if save_ramp:
        ramp = dm.RampModel(data=d1["data"], groupdq=d1["groupdq"], pixeldq=d1["pixeldq"])
        ramp.update(exposure)
        products["ramp"] = ramp
    return products


def write_products(products, outdir, stem):
    """Write each product as ``OUTDIR/<stem>_<suffix>`` (FITS models, ECSV catalog)."""
    outdir = Path(outdir)
    paths = {}
    for suffix, product in products.items():
        if suffix == "cat":
            path = outdir / f"{stem}_cat.ecsv"
            with atomic_path(path) as tmp:
                product.write(tmp, format="ascii.ecsv")
            paths[suffix] = path
        else:
            paths[suffix] = save_model(product, outdir / f"{stem}_{suffix}.fits")
    return paths


def calibrate(uncal_path, outdir, refs_folder=None, algorithms=None, save_ramp=False, background_paths=None,
              on_emi=None):
    """Calibrate ``<name>_uncal.fits`` into ``OUTDIR/<name>_{rate,rateints,cal}.fits`` and ``_cat.ecsv``
    (and ``_ramp.fits`` with ``save_ramp``); ``background_paths`` and ``on_emi`` as
    :func:`calibrate_exposure`."""
    products = calibrate_exposure(uncal_path, refs_folder, algorithms, save_ramp, background_paths, on_emi)
    return write_products(products, outdir, product_stem(uncal_path))
