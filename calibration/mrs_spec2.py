"""spec2 for the MRS (MIR_MRS): rate -> a cube per band (s3d) and a point source's spectrum per band (x1d).

``background`` (:mod:`calibration.background`: ``local``, the default, a declared skip, leaves
the sky to the extraction's annulus; ``dedicated`` subtracts the mean rate of the association's
dedicated background exposures, each through detector1, pixel by pixel, their variances added,
as jwst's calwebb_spec2 does for the MRS; HISTORY names the files) ->
``mrs_wcs`` (:mod:`calibration.mrs_wcs`: each lit pixel's slice, alpha, beta, lambda and
footprint from the DISTORTION, SPECWCS, WAVELENGTHRANGE and, if any, REGIONS references; before
``straylight``, as jwst's ``assign_wcs``, since its model reads the slices) ->
``straylight`` (:mod:`calibration.straylight`: the cross-artifact of the MRSXARTCORR, if any,
removed from the rate; a dither set's combination, :func:`build`, does not run it yet) ->
``clean_showers`` (:mod:`calibration.clean_showers`: ``none`` by default; ``gaps`` removes the residual
shower light modelled from the inter-slice gaps) ->
``fringe`` (:mod:`calibration.fringe`: the rate over the FRINGE's fringe flat; skipped without one) ->
``mrs_photom`` (:mod:`calibration.mrs_photom`: DN/s -> MJy/sr per pixel with the PHOTOM's
time dependence at the exposure's mid-time) -> ``residual_fringe_2d``
(:func:`calibration.residual_fringe.columns`, ``none`` by default: the residual fringe fitted per
detector column and divided out) -> ``mrs_pixel_replace`` (:func:`calibration.pixel_replace.slices`:
``profile`` by default, a bad pixel from the scaled profile of its slice's neighbouring rows, which the cube
would otherwise fill with its neighbours' mean, low at a point source's peak) -> ``cube_build``
(:mod:`calibration.cube_build`: a 3-D drizzle into each band's regular (alpha, beta, lambda) cube) -> ``mrs_extract``
(:mod:`calibration.mrs_extract`: a conical aperture about the centroid, an annulus
background, the APCORR's aperture correction, or an Airy one without an APCORR), each
through the step shell, once per band of the exposure (two per detector), and ``residual_fringe``
(:mod:`calibration.residual_fringe`, ``none`` by default) on each band's spectrum.

Products, calibrated (a band whose ``mrs_photom`` was skipped, e.g. without an MRS PHOTOM,
stays in DN/s, and its units say so):

- ``s3d``: a tuple of ``IFUCubeModel``, one per band (written ``<name>_ch<c>-<setting>_s3d.fits``,
  as jwst names its per-band cubes): ``data`` the surface brightness in MJy/sr (or
  DN / (s arcsec^2 um)) on axes (lambda, beta, alpha) of the band's own frame, ``err``,
  ``dq`` (DO_NOT_USE where nothing covers), ``weightmap`` the covered share of each spaxel;
  the axes in ``meta.wcsinfo`` (CRPIX/CRVAL/CDELT, 1-based, ALPHA/BETA/WAVE); ``slice_strips`` (n, 2) float64,
  the beta strips of the slices (every exposure's) that went in, in the cube's frame
  (:func:`calibration.cube_build.slice_strips`; the centre's fit needs them, :mod:`calibration.mrs_centroid`),
  an array outside jwst's schema in the file's ASDF extension.
- ``xart`` (only when ``straylight`` ran): an ``ImageModel`` of the cross-artifact the step subtracted
  from the rate (DN/s, the rate's DQ).
- ``preleak`` and ``prerf`` (only when ``spectral_leak``, resp. ``residual_fringe``, ran): the x1d's
  bands as they were before that step (a ``MultiSpecModel`` as the x1d, band 3A alone for
  ``preleak``), so a report shows each correction's before and after (:mod:`validation.mrs_views`).
- ``x1d``: a ``MultiSpecModel`` with one ``spec`` per band, named ``<band>`` (``1A`` ...),
  a row per plane: WAVELENGTH (um), FLUX and FLUX_ERROR (Jy, or DN/s/um; aperture-corrected),
  DQ, NPIXELS (spaxels in the aperture), BACKGROUND (in the aperture, corrected as the
  flux is); ``source_xpos``/``source_ypos`` the centroid's alpha/beta (arcsec); ``plane_correlation``
  (n_rows, L) float32, the noise correlation of row ``k``'s FLUX with row ``k + l``'s in column ``l - 1``
  (:mod:`calibration.mrs_extract`, 'Errors'), an array of the ``spec`` outside its table (jwst's columns are
  fixed), saved in the file's ASDF extension.  A band without a point source near the target (an extended
  field: ``mrs_extract`` declines, HISTORY says why) has its cube and no ``spec``; without any, no x1d.  In Jy the
  flux is the cube's surface brightness summed over the aperture times the spaxel's solid
  angle: ``F [Jy] = 1e6 sum_s c_s S_s [MJy/sr] A_s [arcsec^2] (pi / 648000)^2``.
"""
from dataclasses import replace
from functools import partial

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import mrs

from . import (
    CalibrationInputError,
    Skip,
    background,
    clean_showers,
    cube_build,
    fringe,
    mrs_extract,
    mrs_photom,
    mrs_pointing,
    mrs_wcs,
    registry,
    residual_fringe,
    spec2,
    spectral_leak,
    straylight,
)
from .products import derived
from .steps import COMPLETE

#: Units of the cube and of the x1d's FLUX, FLUX_ERROR and BACKGROUND, without and with mrs_photom.
CUBE_UNIT, CALIBRATED_CUBE_UNIT = "DN / (s arcsec2 um)", "MJy/sr"
FLUX_UNIT, CALIBRATED_FLUX_UNIT = "DN/s/um", "Jy"
#: Jy per (MJy/sr x arcsec^2): a calibrated cube's aperture sum (:mod:`calibration.mrs_extract`) in Jy.
JY_PER_MJY_SR_ARCSEC2 = 1e6 * (np.pi / 180 / 3600) ** 2


#: The ``background`` variants the MRS takes (``map``, a 2-D map of an image, is the imager's).
BACKGROUND_VARIANTS = ("local", "dedicated")


def background_paths(choice, exposure, uncal_path, given=None):
    """The dedicated background exposures the ``background`` step subtracts, as the imager's.

    ``background=dedicated``: ``given`` (a path or a list), else the ``background`` members of
    the associations beside the uncal that list it as ``science``
    (:func:`calibration.background.dedicated_paths`); none for ``local``.  Called before
    detector1, it also refuses an exposure that is not an MRS one
    (:func:`calibration.mrs_wcs.check_exposure`) and a variant the MRS does not take, so no
    work is done on them.
    """
    mrs_wcs.check_exposure(exposure)
    if choice["background"] not in BACKGROUND_VARIANTS:
        raise CalibrationInputError(f"background={choice['background']} is not for the MRS; it takes "
                                    f"{' or '.join(BACKGROUND_VARIANTS)} (local: the extraction's annulus)")
    return background.dedicated_paths(choice["background"], uncal_path, given)


def cube_product(rate_model, cube, band, unit=CUBE_UNIT):
    """The ``IFUCubeModel`` of one band's :class:`calibration.cube_build.Cube` in ``unit`` (module docstring)."""
    covered = np.isfinite(cube.data)
    product = derived(dm.IFUCubeModel, rate_model, data=np.where(covered, cube.data, 0.0).astype(np.float32),
                      err=np.sqrt(np.where(covered, cube.var, 0.0)).astype(np.float32),
                      dq=np.where(covered, 0, dqflags.DO_NOT_USE).astype(np.uint32),
                      weightmap=cube.coverage.astype(np.float32))
    product.meta.instrument.channel = band[0]
    product.meta.instrument.band = band_setting(band)
    product.meta.bunit_data = unit
    product.meta.bunit_err = unit
    if cube.strips is not None:  # not in jwst's schema: an array of the model, kept in the file's ASDF extension
        product.slice_strips = np.asarray(cube.strips, np.float64)
    wcs = product.meta.wcsinfo
    for n, (axis, name, unit) in enumerate(((cube.grid.alpha, "ALPHA", "arcsec"), (cube.grid.beta, "BETA", "arcsec"),
                                            (cube.grid.wavelength, "WAVE", "um")), start=1):
        setattr(wcs, f"crpix{n}", 1.0)
        setattr(wcs, f"crval{n}", float(axis.centres[0]))
        setattr(wcs, f"cdelt{n}", float(axis.step))
        setattr(wcs, f"ctype{n}", name)
        setattr(wcs, f"cunit{n}", unit)
    return product


def band_setting(band):
    """The grating setting (keyword BAND) of a band name: "1A" -> "SHORT"."""
    return {v: k for k, v in mrs.SETTINGS.items()}[band[1]]


def spec_product(spectrum, band, calibrated=False):
    """One band's ``SpecModel`` (module docstring): in Jy from a ``calibrated`` (MJy/sr) cube, else DN/s/um."""
    table = np.zeros(len(spectrum.wavelength), dtype=dm.SpecModel().get_dtype("spec_table"))
    for name in table.dtype.names:
        if table.dtype[name].kind == "f":
            table[name] = np.nan
    scale = JY_PER_MJY_SR_ARCSEC2 if calibrated else 1.0
    table["WAVELENGTH"], table["FLUX"], table["FLUX_ERROR"] = (spectrum.wavelength, spectrum.flux * scale,
                                                               spectrum.error * scale)
    table["DQ"], table["NPIXELS"], table["BACKGROUND"] = spectrum.dq, spectrum.npixels, spectrum.background * scale
    spec = dm.SpecModel(spec_table=table)
    spec.spec_table.columns["wavelength"].unit = "um"
    for name in ("flux", "flux_error", "background"):
        spec.spec_table.columns[name].unit = CALIBRATED_FLUX_UNIT if calibrated else FLUX_UNIT
    spec.name, spec.source_id, spec.source_type = band, 0, "POINT"
    spec.source_xpos, spec.source_ypos = spectrum.centre
    # not a column (the spec table's are jwst's): an array of the spec, kept in the file's ASDF extension
    spec.plane_correlation = spectrum.correlation.astype(np.float32)
    return spec


def _correction_source(apcorr, variant, folder):
    """What ``mrs_extract``'s aperture correction comes from, for its notes (:mod:`calibration.mrs_extract`)."""
    if apcorr is None:
        return f"Airy: no MRS APCORR in {folder}"
    if variant == "aperture":
        return f"Airy: {apcorr.filename} is for the annulus extraction"
    return apcorr.filename


def run(log, exposure, d1, folder, choice, background_paths=(), leak_source=None):
    """spec2 of one MRS exposure: ``{"s3d": (IFUCubeModel, ...), "x1d": MultiSpecModel}`` (module docstring).

    The ``background`` step on the rate (``background_paths``: the dedicated background
    exposures, :func:`background_paths`), then the one-exposure case of :func:`build`: the
    cube in the exposure's own frame (``leak_source``: as :func:`build`'s).

    Raises
    ------
    CalibrationInputError
        For an exposure that is not an MRS one or a missing geometry reference
        (:func:`calibration.mrs_wcs.read_references`).
    """
    rate, var = log.run("background", choice["background"], d1.rate, d1.var_poisson + d1.var_rnoise,
                        resolve=lambda: (spec2.background_rates(background_paths, exposure, folder, choice),))
    if background_paths:
        log.note("background", f"background dedicated: the mean rate of {', '.join(p.name for p in background_paths)} "
                               "subtracted from the rate before the cube build; the extraction's annulus takes what "
                               "is left")
    before = rate
    pixels = mrs_wcs.assign(log, choice, mrs_wcs.read_references(folder, exposure), d1.rate.shape)  # as jwst, first
    rate, var = log.run("straylight", choice["straylight"], rate, var, d1.dq,
                        resolve=lambda: _xartcorr(folder, exposure, tuple(pixels.values())))
    # what the step subtracted, a product when it ran (as jwst saves a step model): the scorers read it
    xart = (derived(dm.ImageModel, d1.rate_model, data=(before - rate).astype(np.float32), dq=d1.dq)
            if log.records[-1].status == COMPLETE else None)
    rate, var = log.run("clean_showers", choice["clean_showers"], rate, var, d1.dq,
                        resolve=lambda: (clean_showers.lit_pixels(pixels.values(), rate.shape),))
    products = build(log, [(exposure, d1, None)], folder, choice, [(rate, var)], leak_source, pixels)
    if xart is not None:
        log.stamp(xart)
        products["xart"] = xart
    return products


def _xartcorr(folder, exposure, bands):
    """The ``straylight`` step's arguments: ``(XArtCorr, bands)`` or a Skip (:mod:`calibration.straylight`)."""
    found = straylight.read_xartcorr(folder, exposure)
    return found if isinstance(found, Skip) else (found, bands)


def build(log, members, folder, choice, rates=None, leak_source=None, pixels=None):
    """The cubes and spectra of one or more exposures of one detector and setting (their pixels drizzled together).

    Each member's pixels get ``mrs_wcs`` (once: the same references) and its own ``mrs_photom``
    (at its own mid-time), are moved into the cube's frame, and ``cube_build`` runs over all
    members' pixels at once, then ``mrs_extract`` on each band's cube, and on band 3A
    ``spectral_leak`` (:mod:`calibration.spectral_leak`).

    Parameters
    ----------
    log : calibration.steps.StepLog
    members : list of (exposure, Detector1, mover)
        ``mover(band) -> move or None`` gives what moves a band's pixels into the cube's frame
        (:func:`calibration.mrs_pointing.mover`); None: the member's frame is the cube's.
        The first member's rate model gives the products' metadata.
    folder : path
    choice : dict
    rates : list of (rate, var), optional
        Each member's rate (DN/s) and its variance when a step before changed detector1's
        (the background's); default: each member's detector1 rate and total variance.
    leak_source : calibration.spectral_leak.SourceBand, optional
        The target's band 1B for ``spectral_leak`` (:func:`calibration.spectral_leak.open_source_band`);
        refused for an exposure without 3A.
    pixels : dict, optional
        ``{band: MrsPixels}`` when ``mrs_wcs`` already ran (:func:`run`, before ``straylight``); taken
        apart band by band as the cubes are made.

    Returns
    -------
    dict
        ``{"s3d": (IFUCubeModel, ...), "x1d": MultiSpecModel}``, and ``preleak``, ``prerf`` when
        their steps ran (module docstring); ``x1d`` only when a band has a spectrum (``mrs_extract`` declines a
        band without a point source: an extended field).
    """
    first, d1_first = members[0][0], members[0][1]
    references = mrs_wcs.read_references(folder, first)
    spectral_leak.check_bands(list(references.bands), leak_source)
    pixels = mrs_wcs.assign(log, choice, references, d1_first.rate.shape) if pixels is None else pixels
    photom = mrs_photom.read_photom(folder, first)
    apcorr = mrs_extract.read_apcorr(folder, first)
    filenames = dict(references.filenames, **({} if isinstance(photom, Skip) else {"photom": photom.filename}))
    correction = _correction_source(apcorr, choice["mrs_extract"], folder)
    cubes, x1d = [], derived(dm.MultiSpecModel, d1_first.rate_model)
    before = {"preleak": derived(dm.MultiSpecModel, d1_first.rate_model),  # the spectra a step changed, as they were
              "prerf": derived(dm.MultiSpecModel, d1_first.rate_model)}
    rates = rates or [(d1.rate, d1.var_poisson + d1.var_rnoise) for _, d1, _ in members]
    flat = fringe.read_fringe(folder, first, d1_first.rate.shape)
    if not isinstance(flat, Skip):
        filenames["fringe"] = flat.filename
    point_flats, slices = [None] * len(members), None
    if choice["fringe"] == "point_source" and not isinstance(flat, Skip):
        point_flats = [fringe.read_point_source_fringe(folder, exposure, d1.rate.shape) for exposure, d1, _ in members]
        filenames["fringe"] += " + " + ", ".join(p.filename for p in point_flats)
        slices = fringe.slice_frame(pixels, d1_first.rate.shape)
    rates = [log.run("fringe", choice["fringe"], rate, var, resolve=partial(fringe.arguments, flat, point, slices))
             for (rate, var), point in zip(rates, point_flats, strict=True)]
    for band in list(pixels):
        band_pixels, parts, units = pixels.pop(band), [], set()  # a band's pixels are freed once its samples are made
        for (exposure, d1, mover), (rate, var) in zip(members, rates, strict=True):
            part, calibrated = _samples(log, choice, photom, exposure, rate, var, d1.dq, band, band_pixels,
                                        None if mover is None else mover(band_pixels.band))
            parts.append(part)
            units.add(calibrated)
        if len(units) > 1:
            raise CalibrationInputError(f"band {band}: mrs_photom calibrated some exposures of the set and not "
                                        "others; one cube cannot mix MJy/sr and DN/s")
        calibrated = units.pop()
        samples, band_wcs = cube_build.concatenate(parts), band_pixels.band
        flat_period = _flat_period(flat, band_pixels) if choice["residual_fringe"] != "none" else (None, None)
        del band_pixels
        cube = log.run("cube_build", choice["cube_build"], samples, cube_build.grid_for(samples))
        if len(members) > 1:
            log.note("cube_build", f"cube_build {band}: {len(members)} exposures drizzled together")
        target = _target(log, first, band_wcs)
        spectrum = log.run("mrs_extract", choice["mrs_extract"], cube, resolve=partial(tuple, (apcorr, target)))
        if spectrum is not None:
            how = "fitted" if not spectrum.centre_reason else f"first moment: {spectrum.centre_reason}"
            log.note("mrs_extract", f"mrs_extract {band}: centre alpha {spectrum.centre[0]:+.4f}\" beta "
                                    f"{spectrum.centre[1]:+.4f}\" ({how}), aperture correction "
                                    f"{np.median(spectrum.apcorr):.4f} ({correction}), covariance factor "
                                    f"{spectrum.covariance_factor:.3f}")
        if band == spectral_leak.LEAK_BAND:
            extract = partial(registry.get("mrs_extract", choice["mrs_extract"]), apcorr=apcorr, target=target)
            unleaked = spectrum
            cube, spectrum, notes = log.run("spectral_leak", choice["spectral_leak"], cube, spectrum, extract,
                                            resolve=partial(spectral_leak.resolve, folder, first, band, calibrated,
                                                            leak_source, band_wcs, JY_PER_MJY_SR_ARCSEC2))
            log.note("spectral_leak", *notes)
            if log.records[-1].status == COMPLETE and spectrum is not None:
                before["preleak"].spec.append(spec_product(unleaked, band, calibrated))
        cubes.append(cube_product(d1_first.rate_model, cube, band, CALIBRATED_CUBE_UNIT if calibrated else CUBE_UNIT))
        del samples, cube  # this band's pixels are not kept while the next band's are made
        if spectrum is None:
            continue
        flux, error, fit = log.run("residual_fringe", choice["residual_fringe"], spectrum.wavelength, spectrum.flux,
                                   spectrum.error, (spectrum.dq & dqflags.DO_NOT_USE) == 0, int(band[0]),
                                   spectrum.correlation, flat_period)
        if fit is not None:
            log.note("residual_fringe", f"residual_fringe {band}: {fit}")
        if log.records[-1].status == COMPLETE:
            before["prerf"].spec.append(spec_product(spectrum, band, calibrated))
        spectrum = replace(spectrum, flux=flux, error=error)
        x1d.spec.append(spec_product(spectrum, band, calibrated))
    spectra = {suffix: model for suffix, model in (("x1d", x1d), *before.items()) if len(model.spec)}
    for product in (*cubes, *spectra.values()):
        for kind, name in filenames.items():
            getattr(product.meta.ref_file, kind).name = name
        log.stamp(product)
    return {"s3d": tuple(cubes), **spectra}


def _flat_period(flat, pixels):
    """The fringe flat's primary period below and above 16 um on ``pixels`` (a band's), or ``(None, None)``.

    :func:`calibration.residual_fringe.flat_periods` on the FRINGE's values at the band's pixels; without a
    FRINGE (a :class:`~calibration.Skip`) the residual fringe's scans are blind.
    """
    if isinstance(flat, Skip):
        return None, None
    return residual_fringe.flat_periods(flat.flat[pixels.y, pixels.x], 1e4 / pixels.wavelength, pixels.x,
                                        pixels.wavelength >= residual_fringe.CAVITY_SWITCH_UM)


def _target(log, exposure, band):
    """Where the exposure's pointing puts its target in ``band``'s alpha/beta (the cube's frame), or None.

    From APERNAME, XOFFSET, YOFFSET (:func:`calibration.mrs_pointing.pointing`) through the band's
    DISTORTION (``to_v2v3`` inverted); without them, None, and the step's notes say the centre is
    the cube's brightest spaxel.
    """
    try:
        where = mrs_pointing.pointing(exposure, "the exposure")
    except CalibrationInputError:
        log.note("mrs_extract", f"mrs_extract {band.name}: the exposure's pointing keywords (APERNAME, XOFFSET, "
                                "YOFFSET) do not place the target; centred on the cube's brightest spaxel")
        return None
    return tuple(float(c) for c in band.to_v2v3.inverse(where.v2, where.v3))


def _samples(log, choice, photom, exposure, rate, var, dq, band, pixels, move):
    """One exposure's pixels of ``band`` through ``mrs_photom``, as :class:`calibration.cube_build.Samples`.

    ``rate, var, dq``: the exposure's rate (DN/s), its variance and DQ.  Returns ``(samples, calibrated)``:
    whether ``mrs_photom`` ran (MJy/sr) or was skipped (DN/s).
    """
    good = mrs_wcs.usable(pixels, rate, dq)
    y, x = pixels.y, pixels.x
    values, variance = log.run("mrs_photom", choice["mrs_photom"], rate[y, x], var[y, x], pixels.wavelength,
                               resolve=partial(mrs_photom.resolve, log, photom, exposure, pixels, int(band[0])))
    calibrated = log.records[-1].status == COMPLETE
    values, variance, note = log.run("residual_fringe_2d", choice["residual_fringe_2d"], values, variance, pixels, good,
                                     int(band[0]))
    if note is not None:
        log.note("residual_fringe_2d", f"residual_fringe_2d {band}: {note}")
    good &= np.isfinite(values)  # a pixel the PHOTOM flags DO_NOT_USE has no SCI
    values, variance, good, note = log.run("mrs_pixel_replace", choice["mrs_pixel_replace"], values, variance, pixels,
                                           good)
    if note is not None:
        log.note("mrs_pixel_replace", f"mrs_pixel_replace {band}: {note}")
    data, data_var = np.full(rate.shape, np.nan), np.full(rate.shape, np.nan)
    data[y, x], data_var[y, x] = values, variance
    return cube_build.samples(pixels, data, data_var, good, surface_brightness=calibrated, move=move), calibrated
