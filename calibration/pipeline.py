"""Calibrate an uncal file: detector1, then the pipeline of its exposure type, as JWST does.

detector1 (:mod:`calibration.detector1`) is the same for every MIRI exposure: uncal ->
rate, rateints.  What follows is chosen by EXP_TYPE (and TSOVISIT) from
:data:`PIPELINES`, as calwebb chooses image2/image3, spec2/spec3 or tso3:

=====================  =====  ===================  ==========================
EXP_TYPE               TSO    stages               built
=====================  =====  ===================  ==========================
MIR_IMAGE              no     image2, image3       yes: cal, cat
MIR_IMAGE              yes    image2, tso3         not yet
MIR_LRS-FIXEDSLIT      no     spec2, spec3         spec2: x1d (spec3 not yet)
MIR_LRS-SLITLESS       no     spec2, spec3         spec2: x1d (spec3 not yet)
MIR_LRS-SLITLESS       yes    spec2, tso3          yes: x1dints, whtlt, transit
MIR_MRS                no     spec2, spec3         yes: s3d, x1d; spec3 a dither set
=====================  =====  ===================  ==========================

A mode plugs its pipeline in by giving its row a ``run`` function, and a ``backgrounds``
function that finds the background exposures its background step subtracts (the
imager's dedicated backgrounds, the LRS's other nod); an exposure type whose pipeline is
not built is refused before any work, naming it.  An MRS dither set is calibrated together
(:func:`calibrate_set`): detector1 per exposure, then spec2's pixels and one cube per band
for the set (:mod:`calibration.mrs_spec3`).  Every product is
computed in memory first and written atomically at the end, so a failure at any point
leaves no partial output.
"""
import ctypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from astropy.table import Table

from miri_testbed.instrument.files import atomic_path, product_stem, save_model

from . import (
    CalibrationInputError,
    background,
    detector1,
    image2,
    image3,
    mrs_spec2,
    mrs_spec3,
    mrs_stitch,
    mrs_wcs,
    registry,
    spec2,
    spectral_leak,
    tso3,
)
from .inputs import open_rate, open_uncal, open_x1d
from .nominal import nominal_folder
from .products import add_history
from .steps import StepLog


@dataclass(frozen=True)
class Pipeline:
    """The stages after detector1 for one kind of exposure.

    Parameters
    ----------
    stage2, stage3 : str
        Their calwebb names (``image2``, ``spec2``, ``image3``, ``spec3``, ``tso3``).
    run : callable or None
        ``run(log, exposure, d1, folder, choice, background_paths) -> {suffix: product}``;
        None while the pipeline is not built.
    backgrounds : callable or None
        ``backgrounds(choice, exposure, uncal_path, given) -> [path, ...]``: the background
        exposures to calibrate with it (``given``: the caller's), or an error saying why
        the choice cannot work.
    """

    stage2: str
    stage3: str
    run: object = None
    backgrounds: object = None


def _imager_backgrounds(choice, exposure, uncal_path, given):
    """The dedicated backgrounds of ``background=dedicated`` (:func:`calibration.background.dedicated_paths`)."""
    return background.dedicated_paths(choice["background"], uncal_path, given)


def _imager(log, exposure, d1, folder, choice, background_paths):
    """image2 then image3: ``{"cal": ImageModel, "cat": QTable}``.

    The cal product carries every step's record (the rate's travel on, as in image2).
    """
    cal = image2.run(log, exposure, d1, folder, choice)
    catalog = image3.run(log, exposure, cal, folder, choice, background_paths)
    log.stamp(cal)
    return {"cal": cal, "cat": catalog}


#: ``(EXP_TYPE, TSO visit) -> Pipeline`` (module docstring).
PIPELINES = {
    ("MIR_IMAGE", False): Pipeline("image2", "image3", _imager, _imager_backgrounds),
    ("MIR_IMAGE", True): Pipeline("image2", "tso3"),
    ("MIR_LRS-FIXEDSLIT", False): Pipeline("spec2", "spec3", spec2.run, spec2.background_paths),
    ("MIR_LRS-SLITLESS", False): Pipeline("spec2", "spec3", spec2.run, spec2.background_paths),
    ("MIR_LRS-SLITLESS", True): Pipeline("spec2", "tso3", tso3.run, tso3.backgrounds),
    ("MIR_MRS", False): Pipeline("spec2", "spec3", mrs_spec2.run, mrs_spec2.background_paths),
}


def pipeline_for(exposure, path):
    """The pipeline after detector1 for an opened exposure.

    Parameters
    ----------
    exposure : RampModel
        The checked uncal (:func:`calibration.inputs.open_uncal`).
    path : path
        Its file, for the error message.

    Returns
    -------
    Pipeline

    Raises
    ------
    CalibrationInputError
        When its EXP_TYPE (in or out of a TSO visit) has no pipeline yet, naming it.
    """
    exp_type = str(exposure.meta.exposure.type).strip().upper()
    tso = bool(exposure.meta.visit.tsovisit)
    pipeline = PIPELINES.get((exp_type, tso))
    if pipeline is None or pipeline.run is None:
        stages = f" ({pipeline.stage2}, then {pipeline.stage3})" if pipeline else ""
        built = ", ".join(f"{e}{' (TSO)' if t else ''}" for (e, t), p in PIPELINES.items() if p.run)
        raise CalibrationInputError(
            f"{path}: EXP_TYPE {exp_type}{' in a TSO visit' if tso else ''}: its stage-2 pipeline{stages} is not "
            f"implemented yet (implemented: {built}); detector1 alone runs on it (calibration.detector1.run)")
    return pipeline


#: glibc's ``mallopt`` parameters (malloc.h): ``M_TRIM_THRESHOLD``, ``M_MMAP_THRESHOLD``.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@cache
def keep_step_arrays_in_the_heap():
    """Let freed step arrays be reused by the next step instead of going back to the system (glibc only).

    By default glibc maps each array over its (dynamic, at first 128 kB) threshold anew and unmaps it when freed,
    so every temporary of a row block or frame (up to ~20 MB in a 1000-integration SLITLESSPRISM block) costs its
    pages faulted in again: on issue 15's time series about 2 s of system time in ramp_fit and EMI (session 21,
    docs/detector.md).  Raised to glibc's largest mapping threshold (32 MiB on 64 bits) with a 1 GiB trim
    threshold, those arrays stay in the heap for reuse; larger ones are still mapped.  Done once per process, by
    the calibrate entry points; elsewhere (another C library) nothing changes.  True when set.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**30))


def calibrate_exposure(uncal_path, refs_folder=None, algorithms=None, save_ramp=False, background_paths=None,
                       on_emi=None, ephemeris=None, leak_from=None, leak_refs=None):
    """Calibrate one exposure without writing anything.

    Parameters
    ----------
    uncal_path : path
        The ``*_uncal.fits`` file.
    refs_folder : path, optional
        Reference folder (default: the built-in nominal folder, :mod:`calibration.nominal`).
    algorithms : dict, optional
        ``{step: variant}`` overriding the defaults (:mod:`calibration.registry`).
    save_ramp : bool
        Also return the ramp after the detector steps (``ramp``), as JWST's
        ``save_calibrated_ramp``.
    background_paths : path or list of path, optional
        Background exposures (uncal): the imager's and the MRS's dedicated backgrounds for
        ``background=dedicated``, the LRS's other nod for ``spec_background=nod`` (or
        ``auto``); without them those variants take the background members of an
        association beside the uncal (:func:`calibration.background.dedicated_paths`,
        :func:`calibration.spec2.background_paths`).
    on_emi : callable, optional
        ``on_emi(raw, corrected, usable)``, called after the science exposure's EMI step
        (:func:`calibration.detector1.run`), for scoring it without fitting it twice.
    ephemeris : path, optional
        A time series' ephemeris for its transit fit (:func:`calibration.tso3.find_ephemeris`:
        default ``<name>_ephemeris.toml`` beside the uncal); refused for other exposures.
    leak_from : list of path, optional
        An MRS band-3A exposure's: the target's band-1B products (s3d, x1d) for its ``spectral_leak``
        (:mod:`calibration.spectral_leak`); refused for other exposures.
    leak_refs : path, optional
        The folder of band 1B's DISTORTION (default: ``refs_folder``).

    Returns
    -------
    dict
        ``{suffix: product}``: ``rate``, ``rateints`` and the pipeline's products
        (imager: ``cal``, ``cat``; LRS: ``x1d``; LRS TSO: ``x1dints``, ``whtlt``, ``transit``; MRS:
        ``s3d``, a cube per band, and ``x1d``), and ``ramp`` with ``save_ramp``.

    Raises
    ------
    CalibrationInputError
        For an input that cannot be calibrated (the message says why).
    """
    keep_step_arrays_in_the_heap()
    choice = registry.resolve(algorithms)
    exposure = open_uncal(uncal_path)
    pipeline = pipeline_for(exposure, uncal_path)
    extra = {}
    if pipeline.stage3 == "tso3":
        extra["ephemeris"] = tso3.find_ephemeris(uncal_path, ephemeris)
    elif ephemeris is not None:
        raise CalibrationInputError(f"{uncal_path}: an ephemeris is for a time series (TSO) exposure; this is not one")
    if leak_from and pipeline.run is not mrs_spec2.run:
        raise CalibrationInputError(f"{uncal_path}: --leak-from is for an MRS exposure of band 3A; this is not one")
    background_paths = pipeline.backgrounds(choice, exposure, uncal_path, background_paths)
    meta = exposure.meta
    folder = Path(refs_folder) if refs_folder else nominal_folder(
        meta.subarray.name, meta.exposure.readpatt, meta.exposure.ngroups
    )
    if leak_from:
        extra["leak_source"] = _leak_source(leak_from, leak_refs or folder, choice)
    log = StepLog()
    d1 = detector1.run(log, exposure, folder, choice, on_emi)
    products = {"rate": d1.rate_model, "rateints": d1.rateints}
    products.update(pipeline.run(log, exposure, d1, folder, choice, background_paths, **extra))
    if save_ramp:
        products["ramp"] = d1.ramp
    return products


def write_products(products, outdir, stem):
    """Write each product as ``OUTDIR/<stem>_<suffix>`` (FITS models, ECSV tables).

    A tuple of models (the MRS's cubes, one per band) is written one file each,
    ``<stem>_ch<channel>-<band>_<suffix>.fits`` as jwst names them.

    Parameters
    ----------
    products : dict
        ``{suffix: product}`` (:func:`calibrate_exposure`).
    outdir : path
    stem : str

    Returns
    -------
    dict
        ``{suffix: path}`` (a tuple of paths for a tuple of models).
    """
    outdir = Path(outdir)
    paths = {}
    for suffix, product in products.items():
        if isinstance(product, Table):
            path = outdir / f"{stem}_{suffix}.ecsv"
            with atomic_path(path) as tmp:
                product.write(tmp, format="ascii.ecsv")
            paths[suffix] = path
        elif isinstance(product, tuple):
            paths[suffix] = tuple(save_model(p, outdir / f"{stem}_ch{p.meta.instrument.channel}-"
                                                        f"{str(p.meta.instrument.band).lower()}_{suffix}.fits")
                                  for p in product)
        else:
            paths[suffix] = save_model(product, outdir / f"{stem}_{suffix}.fits")
    return paths


def calibrate(uncal_path, outdir, refs_folder=None, algorithms=None, save_ramp=False, background_paths=None,
              on_emi=None, ephemeris=None, leak_from=None, leak_refs=None):
    """Calibrate ``<name>_uncal.fits`` and write its products (:func:`calibrate_exposure`).

    Parameters
    ----------
    uncal_path, refs_folder, algorithms, save_ramp, background_paths, on_emi, ephemeris, leak_from, leak_refs
        As :func:`calibrate_exposure`.
    outdir : path
        Output folder: ``<name>_{rate,rateints}.fits`` and the pipeline's products
        (imager: ``<name>_cal.fits``, ``<name>_cat.ecsv``; LRS: ``<name>_x1d.fits``), and
        ``<name>_ramp.fits`` with ``save_ramp``.

    Returns
    -------
    dict
        ``{suffix: path}``.
    """
    products = calibrate_exposure(uncal_path, refs_folder, algorithms, save_ramp, background_paths, on_emi, ephemeris,
                                  leak_from, leak_refs)
    return write_products(products, outdir, product_stem(uncal_path))


def calibrate_set_exposures(uncal_paths, refs_folder=None, algorithms=None, leak_from=None, leak_refs=None):
    """Calibrate the exposures of an MRS dither set together (spec3) without writing anything.

    Parameters
    ----------
    uncal_paths : list of path
        The exposures' ``*_uncal.fits`` (one detector and grating setting), or their
        ``*_rate.fits`` (detector1 already run: it is not run again); the first one's frame is
        the cubes' (:mod:`calibration.mrs_spec3`).
    refs_folder, algorithms, leak_from, leak_refs
        As :func:`calibrate_exposure`.

    Returns
    -------
    dict
        ``{"rate": (ImageModel, ...), "rateints": (CubeModel, ...), "s3d": (IFUCubeModel, ...),
        "x1d": MultiSpecModel}``: the rate and rateints of each exposure given as an uncal, in
        order, and the set's cubes (one per band) and spectrum.

    Raises
    ------
    CalibrationInputError
        For an input that cannot be calibrated, an exposure that is not an MRS one, or a set
        that is not one (:func:`calibration.mrs_spec3.check`); before any work.
    """
    if not uncal_paths:
        raise CalibrationInputError("no exposures given to combine")
    keep_step_arrays_in_the_heap()
    choice = registry.resolve(algorithms)
    given_rates = [str(path).endswith("_rate.fits") for path in uncal_paths]
    exposures = [open_rate(path) if rate else open_uncal(path) for path, rate in zip(uncal_paths, given_rates,
                                                                                    strict=True)]
    for exposure, path in zip(exposures, uncal_paths, strict=True):
        if pipeline_for(exposure, path).run is not mrs_spec2.run:
            raise CalibrationInputError(f"{path}: EXP_TYPE {exposure.meta.exposure.type}: only MRS (MIR_MRS) "
                                        "exposures of a dither set are combined")
    if choice["background"] != "local":
        raise CalibrationInputError(f"background={choice['background']}: a dither set is combined without dedicated "
                                    "backgrounds (calibrate each exposure alone to subtract its own); the extraction's "
                                    "annulus takes the sky")
    pointings = mrs_spec3.check(exposures, [str(p) for p in uncal_paths])
    meta = exposures[0].meta
    folder = Path(refs_folder) if refs_folder else nominal_folder(
        meta.subarray.name, meta.exposure.readpatt, meta.exposure.ngroups
    )
    logs = [StepLog() for _ in exposures]
    d1s = [_from_rate(exposure) if rate else detector1.run(log, exposure, folder, choice)
           for log, exposure, rate in zip(logs, exposures, given_rates, strict=True)]
    leak_source = _leak_source(leak_from, leak_refs or folder, choice) if leak_from else None
    products = mrs_spec3.run(logs[0], list(zip(exposures, d1s, strict=True)), folder, choice, pointings, leak_source)
    made = [d1 for d1, rate in zip(d1s, given_rates, strict=True) if not rate]
    return {"rate": tuple(d1.rate_model for d1 in made), "rateints": tuple(d1.rateints for d1 in made), **products}


def _leak_source(paths, folder, choice):
    """Band 1B's products for ``spectral_leak``, opened and checked for what the chosen variant needs.

    :func:`calibration.spectral_leak.open_source_band`, :func:`calibration.spectral_leak.check_source`.
    """
    source = spectral_leak.open_source_band(paths, Path(folder), mrs_wcs.read_references)
    spectral_leak.check_source(source, choice["spectral_leak"])
    return source


def _from_rate(model):
    """detector1's output read back from a rate file (:func:`calibration.inputs.open_rate`): no ramp, no rateints."""
    return detector1.Detector1(np.asarray(model.data, float), np.asarray(model.var_poisson, float),
                               np.asarray(model.var_rnoise, float), np.asarray(model.dq), None, model, None)


def calibrate_set(uncal_paths, outdir, name, refs_folder=None, algorithms=None, leak_from=None, leak_refs=None):
    """Calibrate an MRS dither set together and write its products (:func:`calibrate_set_exposures`).

    Parameters
    ----------
    uncal_paths, refs_folder, algorithms, leak_from, leak_refs
        As :func:`calibrate_set_exposures`.
    outdir : path
    name : str
        The set's product name, as an association's: ``<name>_ch<c>-<setting>_s3d.fits`` per band
        and ``<name>_x1d.fits``; each uncal's ``<stem>_rate.fits`` and ``_rateints.fits``.

    Returns
    -------
    dict
        ``{suffix: path}``: ``rate`` and ``rateints`` a tuple of paths (one per exposure),
        ``s3d`` one per band, ``x1d`` (none without a point source: an extended field).
    """
    products = calibrate_set_exposures(uncal_paths, refs_folder, algorithms, leak_from, leak_refs)
    uncals = [path for path in uncal_paths if not str(path).endswith("_rate.fits")]
    per_exposure = [write_products({"rate": rate, "rateints": rateints}, outdir, product_stem(path))
                    for path, rate, rateints in zip(uncals, products["rate"], products["rateints"], strict=True)]
    paths = {suffix: tuple(p[suffix] for p in per_exposure) for suffix in ("rate", "rateints")}
    paths.update(write_products({k: products[k] for k in ("s3d", "x1d") if k in products}, outdir, name))
    return paths


def stitch(x1d_paths, output):
    """Stitch MRS x1d products of different bands into one spectrum and write it (:mod:`calibration.mrs_stitch`).

    Parameters
    ----------
    x1d_paths : list of path
        ``*_x1d.fits`` products, each band in one of them.
    output : path
        The stitched ``MultiSpecModel``; HISTORY records each overlap, its split and its flux ratio,
        and each gap between bands that do not overlap.

    Returns
    -------
    (pathlib.Path, list of calibration.mrs_stitch.Overlap)
    """
    models = [open_x1d(path) for path in x1d_paths]
    try:
        product, overlaps = mrs_stitch.stitch(models, [str(path) for path in x1d_paths])
    finally:
        for model in models:
            model.close()
    for o in overlaps:
        add_history(product, f"mrs_stitch: {o}")
    return save_model(product, output), overlaps
