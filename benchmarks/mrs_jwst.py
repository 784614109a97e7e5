"""The MRS against jwst (issue 16): line centres, fluxes, position, ripple, time and memory, ours beside jwst's.

jwst runs offline through :mod:`calibration.jwst_mrs` (assign_wcs -> photom -> cube_build
(drizzle, one cube per band, sky-aligned: the step's defaults) -> extract_1d (IFU point source,
auto-centred, with the APCORR), every reference given, CRDS look-ups refused); ours is
``calibrate`` (detector1 + spec2, or spec3 for a dither set).  Both read the same rate files and
the same DISTORTION, SPECWCS, WAVELENGTHRANGE and PHOTOM (those the simulator wrote), and each the APCORR made for
its own cube (the simulator's for our default kernel; for jwst's drizzle the same table made without the alpha
Gaussian, :func:`kernel_apcorr`: until session 30 jwst was given ours, which put its fluxes ~1 % off in 1A).

1. **jwst's own tests, through the harness.**  ``test_extract_miri_ifu``
   (``jwst/extract_1d/tests/test_extract_1d_step.py``, its mock MIRI IFU cube with a mock WCS,
   EXTENDED: the whole plane summed) through :func:`calibration.jwst_mrs.extract_1d` with the
   EXTRACT1D written here: FLUX = 1e6 x the plane's sum, FLUX_ERROR from the variances'
   sums; and ``test_miri_use_cubepars`` (``jwst/cube_build/tests/test_miri_cubepars.py``):
   jwst's ``read_cubepars`` on the CUBEPAR written here gives the parameter reference's scale
   and wavelength range for 1B (its spectral step is ours, not the test table's 0.001 um:
   printed).
2. **The foreign files.**  Four dithered MIRIFUSHORT SHORT (1A + 2A) exposures (the 4-point
   point-source pattern, negative, channel 1; 10 groups FASTR1, every detector effect on) of a
   point source 0.1" / 0.05" off the target, a flat 50 mJy continuum and five emission lines per
   band of 2e-16 W m^-2, on a 5 MJy/sr sky, rendered through the FLIGHT geometry
   (``MrsEffects.geometry_perturbation`` off), so the ``perfect`` references the simulator writes
   are the flight files.  jwst's spectral step is set to ours per band (the median pixel extent in
   lambda) so both cubes sample alike; its spaxels are the CUBEPAR's (0.13 / 0.17", ours too).
   ``single``: the first exposure alone, both sides; ``set``: the four together (ours: spec3,
   :mod:`calibration.mrs_spec3`; if it fails, jwst alone).  Scored by the same code:
   per band, the line centres (:func:`validation.mrs_score.score_x1d`'s ``mrs_wavelength_error``,
   median and worst |v| over the five lines), the continuum (``mrs_flux_ratio``: the median of
   FLUX / true F_nu over line-free planes), the line fluxes (:func:`validation.mrs_score.score_line`'s
   fitted area over the truth's, median and worst |ratio - 1|), the source position (the collapsed
   cube's centroid, :func:`calibration.mrs_extract.centroid` as :func:`validation.mrs_score.score_cubes`
   takes it, within 4 lambda/D; jwst's sky-aligned cube: the centroid in its spaxels, through its
   WCS to RA/Dec, through the first exposure's pointing to V2/V3 and the band's flight transform to
   (alpha, beta); ours: the first exposure's frame) against the truth's, and the peak-spaxel
   ripple (:func:`mrs_dither.peak_ripple`: the brightest spaxel's spectrum over line-free planes
   over a cubic in lambda, rms %; beside it the noise's share, the median ERR / DATA; with
   ``--ripple-twin`` also on a noise-free twin of the exposures).  The cubes and x1ds come from a
   worker process per side (``--worker``): wall time of the calibration from the rate files on (ours: spec2/spec3 after
   detector1; jwst: assign_wcs + photom + cube_build + extract_1d), its CPU time (the process's,
   ``time.process_time``: on a machine shared with other work the wall time grows with the load, the
   CPU time much less) and its peak memory (the process's peak RSS less its RSS when the timed part
   starts; the peak is reset there, so detector1's before it does not count).
3. **All 12 bands** (``--all-bands``, alone): the same source, continuum and sky in a 4-point set
   of each detector and grating setting (6 band pairs, 24 exposures), each side in its worker per
   band pair, time and peak memory only (records ``<date>_mrs_vs_jwst_12bands.txt``).  jwst takes
   ~8 min per band pair on 2 cores: ``--jwst-minutes M`` starts it on no band pair after M
   minutes (ours runs on all), and the ratios are then over the pairs both ran.

    python benchmarks/mrs_jwst.py [--no-set] [--ripple-twin] [--cube-build V] [--workdir DIR] [--record]
    python benchmarks/mrs_jwst.py --all-bands [--jwst-minutes M] [--cube-build V] [--workdir DIR] [--record]
"""
import argparse
import importlib.util
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mrs_dither import peak_ripple  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

C_UM_S = 2.99792458e14
C_KMS = 2.99792458e5
LINES_UM = {"1A": (5.0, 5.15, 5.3, 5.45, 5.6), "2A": (7.65, 7.9, 8.15, 8.4, 8.65)}
SPECTRUM = {"continuum": {"kind": "flat", "flux_mjy": 50.0},
            "lines": [{"kind": "emission", "centre_um": c, "flux_w_m2": 2e-16} for b in LINES_UM.values() for c in b]}
POINTS = 4
#: One seed for every exposure of the set (docs/mrs.md 'Making a set'): the seed draws the detector and its
#: references, which one visit's dithers share and both sides take from the first exposure; a seed per
#: exposure gave exposures 2-4 another detector than those references, their rates 1 % off (the continuum).
SEED = 1
#: Our cube_build variant (``--cube-build``; None: the pipeline's default), given to the ours workers.
CUBE_BUILD = None
#: The issue's jwst figures (issue 16, 'What the official pipeline does').
ANCHORS = ("jwst in the issue: centres 0.17-0.22 km/s (worst 0.95), continuum 0.13-0.15 %, lines 0.3 %, position "
           "3-6 mas, ripple 1.7-2.1 % rms, 57.5 s, 1.06 GB (4-point set); must show (ours): < 0.1 km/s median, "
           "none > 0.3, fluxes within 0.1 %, position < 2 mas, ripple <= 1 %")


def quiet():
    """jwst logs every step's parameters at INFO: keep warnings only."""
    logging.disable(logging.INFO)


def rss_mb():
    """The process's resident memory now, MB (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def start_peak():
    """Reset the process's peak resident memory to its RSS now (Linux ``clear_refs`` 5): the timed part's peak
    is then its own, not detector1's before it; the RSS now, MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return rss_mb()


def peak_mb():
    """The process's peak resident memory since :func:`start_peak`, MB (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


# ----------------------------------------------------------------------------- 1. jwst's own tests

def reproduce_jwst_tests(folder, step_um, out):
    """jwst's test_extract_miri_ifu and test_miri_use_cubepars through the harness (module docstring, 1)."""
    from jwst.cube_build import cube_build_io_util, instrument_defaults
    from jwst.extract_1d.tests import helpers

    from miri_testbed.calibration import jwst_mrs

    out("1. jwst's own unit tests, run through calibration.jwst_mrs")
    refs = jwst_mrs.JwstMrsReferences(distortion="N/A", specwcs="N/A", wavelengthrange="N/A", regions="N/A",
                                      cubepar=str(jwst_mrs.cubepar_reference(folder / "cubepar.fits", step_um)),
                                      extract1d=str(jwst_mrs.extract1d_reference(folder / "extract1d.asdf")))
    for source_type in (None, "EXTENDED"):
        model = helpers.mock_miri_ifu_func()
        result = jwst_mrs.extract_1d(model, refs, ifu_autocen=False, ifu_covar_scale=1.0,
                                     ifu_set_srctype=source_type)
        table = result.spec[0].spec_table
        _, _, expected_wave = helpers.simple_wcs_ifu_func()(np.arange(10), np.arange(10), np.arange(10))
        flux = 1e6 * np.sum(model.data, axis=(1, 2))
        error = 1e6 * np.sqrt(np.sum(model.var_rnoise + model.var_poisson + model.var_flat, axis=(1, 2)))
        ok = (type(result).__name__ == "MRSMultiSpecModel" and result.meta.cal_step.extract_1d == "COMPLETE"
              and np.allclose(table["WAVELENGTH"], expected_wave) and np.allclose(table["FLUX"], flux)
              and np.allclose(table["FLUX_ERROR"], error))
        out(f"   test_extract_miri_ifu[{source_type}] (jwst/extract_1d/tests/test_extract_1d_step.py): assertions "
            f"{'PASS' if ok else 'FAIL'}; FLUX planes 0, 9 = {table['FLUX'][0]:.6g}, {table['FLUX'][9]:.6g} "
            f"(1e6 x plane sum = {flux[0]:.6g}, {flux[9]:.6g}); max |FLUX / expected - 1| "
            f"{np.max(np.abs(table['FLUX'][1:] / flux[1:] - 1)):.2g}, FLUX_ERROR "
            f"{np.max(np.abs(table['FLUX_ERROR'][1:] / error[1:] - 1)):.2g}")
    info = instrument_defaults.InstrumentInfo()
    cube_build_io_util.read_cubepars(refs.cubepar, "MIRI", "msm", ["1"], ["medium"], [], [], info)
    scale = info.get_scale("1", "medium")
    ok = (math.isclose(scale[0], 0.13, abs_tol=1e-5) and math.isclose(scale[1], 0.13, abs_tol=1e-5)
          and math.isclose(info.get_wave_min("1", "medium"), 5.65, abs_tol=1e-5)
          and math.isclose(info.get_wave_max("1", "medium"), 6.64, abs_tol=1e-5)
          and math.isclose(info.get_wave_roi("1", "medium"), 0.001, abs_tol=1e-5)
          and math.isclose(info.get_spatial_roi("1", "medium"), 0.1, abs_tol=1e-5)
          and math.isclose(info.get_msm_power("1", "medium"), 2, abs_tol=1e-5))
    out(f"   test_miri_use_cubepars (jwst/cube_build/tests/test_miri_cubepars.py) on our CUBEPAR: assertions on "
        f"scale, wavelength range and MSM ROI/power {'PASS' if ok else 'FAIL'}; 1B scale {scale[0]:.3f} x "
        f"{scale[1]:.3f}\" x {scale[2]:.5f} um (the test's 0.001 um: our CUBEPAR's step is the test table's "
        f"unless given), range {info.get_wave_min('1', 'medium'):.2f}-{info.get_wave_max('1', 'medium'):.2f} um")


# ----------------------------------------------------------------------------- 2. the foreign files

def simulate_foreign(folder, noise_free=False, detector="MIRIFUSHORT", setting="SHORT", seed_per_exposure=False):
    """The four dithered exposures through the flight geometry with perfect (= flight) references.

    ``noise_free``: every effect off (:meth:`simulator.config.Effects.noise_free`) and no sky;
    ``detector`` and ``setting``: the band pair (the 12-band mode, module docstring 3);
    ``seed_per_exposure``: exposure ``k`` with seed ``k`` (each its own detector: what this benchmark did
    before, benchmarks/mrs_foreign_twins.py), not :data:`SEED` for all.
    """
    from miri_testbed.simulator import (
        Effects,
        MrsEffects,
        MrsObservation,
        ReferenceOptions,
        Scene,
        SpectralSource,
        simulate,
    )

    effects = replace(Effects.noise_free() if noise_free else Effects(), mrs=MrsEffects(geometry_perturbation=False))
    sims = []
    for k in range(1, POINTS + 1):
        done = folder / f"d{k}" / f"mrs_d{k}_uncal.fits"
        if done.exists():  # a --workdir kept from an earlier run
            refs = done.parent / "refs"
            names = dict(DISTORTION="*_distortion.asdf", SPECWCS="*_specwcs.asdf",
                         WAVELENGTHRANGE="*_wavelengthrange.asdf", PHOTOM="*mrs*_photom.fits",
                         APCORR="*mrs*_apcorr.asdf")
            sims.append(dict(uncal=done, truth=done.parent / f"mrs_d{k}_truth.fits", refs=refs,
                             reference_files={k: next(refs.glob(g)) for k, g in names.items()}))
            continue
        scene = Scene((SpectralSource(SPECTRUM, 0.1, 0.05),), background_mjy_sr=0.0 if noise_free else 5.0)
        sims.append(simulate(scene,
                             MrsObservation(detector=detector, band=setting, ngroups=10, dither_points=POINTS,
                                            dither_position=k),
                             folder / f"d{k}", name=f"mrs_d{k}", seed=k if seed_per_exposure else SEED,
                             effects=effects,
                             references=ReferenceOptions(kind="perfect")))
    return sims


def our_spectral_steps(sim):
    """``{band: our cube's plane width, um}``: the pixels' median extent in lambda (as ``cube_build.grid_for``)."""
    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.calibration import mrs_wcs

    with dm.open(str(sim["uncal"])) as exposure:
        references = mrs_wcs.read_references(sim["refs"], exposure)
    steps = {}
    for name, band in references.bands.items():
        pixels = mrs_wcs.band_pixels(band, (1024, 1032))
        steps[name] = float(np.median(pixels.lam_hi - pixels.lam_lo))
    return steps, references


def kernel_apcorr(refs, sigma, folder):
    """The simulator's perfect MRS APCORR of ``refs`` made again for a cube whose alpha Gaussian is ``sigma`` median
    pixels (0: a plain drizzle, jwst's), written into ``folder`` under its own name; its path.

    The simulator makes it for the default kernel's image (:data:`instrument.mrs.CUBE_ALPHA_SIGMA_PIXELS`), as a
    CRDS APCORR is made for jwst's cubes: each pipeline is fair only with the table of its own cube.
    """
    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.instrument import mrs, mrs_dither
    from miri_testbed.simulator import ReferenceOptions, mrs_apcorr

    path = next(Path(refs).glob("*mrs*_apcorr.asdf"))
    own = dm.MirMrsApcorrModel(str(path))
    table = own.apcorr_table

    channels, setting = str(table.channel), str(table.band)
    bands = [f"{c}{mrs.SETTINGS[setting]}" for c in channels]

    def made(s):
        before, mrs.CUBE_ALPHA_SIGMA_PIXELS = mrs.CUBE_ALPHA_SIGMA_PIXELS, s
        try:
            return mrs_apcorr.apcorr_model(bands, channels, setting, ReferenceOptions(kind="perfect"), None,
                                           mrs_dither.target_v2v3(1))
        finally:
            mrs.CUBE_ALPHA_SIGMA_PIXELS = before

    if not np.array_equal(made(mrs.CUBE_ALPHA_SIGMA_PIXELS).apcorr_table.apcorr, table.apcorr):
        raise RuntimeError(f"{path}: not the perfect table of the default kernel; cannot make the others'")
    own.apcorr_table = made(sigma).apcorr_table
    folder.mkdir(parents=True, exist_ok=True)
    own.save(str(folder / path.name))
    return folder / path.name


def jwst_references(sim, geometry, step_um, folder):
    """jwst's references: the simulator's, its APCORR made for jwst's drizzle (:func:`kernel_apcorr`, 0), and the
    REGIONS, CUBEPAR (our spectral step) and EXTRACT1D written here."""
    from miri_testbed.calibration import jwst_mrs

    given = {k: str(v) for k, v in sim["reference_files"].items()}
    return dict(distortion=given["DISTORTION"], specwcs=given["SPECWCS"], wavelengthrange=given["WAVELENGTHRANGE"],
                photom=given["PHOTOM"],
                apcorr=str(kernel_apcorr(Path(given["APCORR"]).parent, 0.0, folder / "jwst_apcorr")),
                regions=str(jwst_mrs.regions_reference(folder / "regions.asdf", geometry)),
                cubepar=str(jwst_mrs.cubepar_reference(folder / "cubepar_ours_step.fits", step_um)),
                extract1d=str(jwst_mrs.extract1d_reference(folder / "extract1d.asdf")))


def worker(spec):
    """One side's calibration of a case in this process (module docstring, 2); writes ``spec['result']``."""
    from stdatamodels.jwst import datamodels as dm

    quiet()
    out = Path(spec["outdir"])
    out.mkdir(parents=True, exist_ok=True)
    result = {}
    if spec["side"] == "ours":
        from miri_testbed.calibration import detector1, mrs_spec2, registry
        from miri_testbed.calibration.inputs import open_uncal
        from miri_testbed.calibration.steps import StepLog

        choice = registry.resolve(None if spec.get("cube_build") is None else {"cube_build": spec["cube_build"]})
        exposures = [open_uncal(p) for p in spec["uncals"]]
        logs = [StepLog() for _ in exposures]
        d1s = [detector1.run(log, e, Path(spec["refs"]), choice) for log, e in zip(logs, exposures, strict=True)]
        result["rates"] = []
        for d1, path in zip(d1s, spec["uncals"], strict=True):
            result["rates"].append(str(out / Path(path).name.replace("_uncal", "_rate")))
            d1.rate_model.save(result["rates"][-1])
        base, start, cpu = start_peak(), time.perf_counter(), time.process_time()
        if len(exposures) == 1:
            products = mrs_spec2.run(logs[0], exposures[0], d1s[0], Path(spec["refs"]), choice)
        else:
            from miri_testbed.calibration import mrs_spec3

            pointings = mrs_spec3.check(exposures, [Path(p).name for p in spec["uncals"]])
            products = mrs_spec3.run(logs[0], list(zip(exposures, d1s, strict=True)), Path(spec["refs"]), choice,
                                     pointings)
        result.update(seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu,
                      peak_mb=peak_mb() - base)
        cubes, x1d = products["s3d"], products["x1d"]
    else:
        from miri_testbed.calibration import jwst_mrs

        refs = jwst_mrs.JwstMrsReferences(**spec["references"])
        models = [dm.IFUImageModel(p) for p in spec["rates"]]
        base, start, cpu = start_peak(), time.perf_counter(), time.process_time()
        products = jwst_mrs.run(models, refs)
        result.update(seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu,
                      peak_mb=peak_mb() - base)
        cubes = products["s3d"]
        x1d = as_band_x1d(products["x1d"], cubes)
        result["pointing"] = {k: getattr(products["cal"][0].meta.wcsinfo, k)
                              for k in ("v2_ref", "v3_ref", "roll_ref", "ra_ref", "dec_ref")}
    result["cubes"] = []
    for cube in cubes:
        band = cube_band(cube)
        result["cubes"].append(str(out / f"{spec['side']}_{band}_s3d.fits"))
        cube.save(result["cubes"][-1])
    result["x1d"] = str(out / f"{spec['side']}_x1d.fits")
    x1d.save(result["x1d"])
    Path(spec["result"]).write_text(json.dumps(result))


def cube_band(cube):
    """A cube's band name ("1A") from its CHANNEL and BAND keywords."""
    from miri_testbed.instrument import mrs

    return f"{cube.meta.instrument.channel}{mrs.SETTINGS[str(cube.meta.instrument.band)]}"


def as_band_x1d(x1ds, cubes):
    """jwst's x1ds (one per cube) as one MultiSpecModel, a ``spec`` per band named ``1A`` ... (as the scorer reads)."""
    from stdatamodels.jwst import datamodels as dm

    model = dm.MultiSpecModel()
    for x1d, cube in zip(x1ds, cubes, strict=True):
        source = x1d.spec[0]
        table = np.zeros(len(source.spec_table), dtype=dm.SpecModel().get_dtype("spec_table"))
        for name in table.dtype.names:
            table[name] = source.spec_table[name] if name in source.spec_table.dtype.names else np.nan
        spec = dm.SpecModel(spec_table=table)
        for name in ("wavelength", "flux", "flux_error", "background"):
            spec.spec_table.columns[name].unit = source.spec_table.columns[name].unit
        spec.name = cube_band(cube)
        spec.source_id, spec.source_type = 0, "POINT"
        model.spec.append(spec)
    return model


def run_worker(side, spec, folder):
    """Run :func:`worker` in a fresh process: its result dict."""
    spec = dict(spec, side=side, result=str(folder / f"{side}.json"), outdir=str(folder / side))
    path = folder / f"{side}_spec.json"
    path.write_text(json.dumps(spec))
    subprocess.run([sys.executable, __file__, "--worker", str(path)], check=True)
    return json.loads(Path(spec["result"]).read_text())


def cube_arrays(path):
    """``(data NaN where unusable, err, weightmap, wavelength um, spaxel arcsec, model)`` of an s3d."""
    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.instrument import dq

    model = dm.IFUCubeModel(str(path))
    w = model.meta.wcsinfo
    usable = ((model.dq & dq.DO_NOT_USE) == 0) & np.isfinite(model.data)
    wave = w.crval3 + (np.arange(model.data.shape[0]) + 1 - w.crpix3) * w.cdelt3
    spaxel = abs(w.cdelt1) * (3600.0 if w.cunit1 == "deg" else 1.0)
    return np.where(usable, model.data, np.nan), np.asarray(model.err), np.asarray(model.weightmap), wave, spaxel, model


def jwst_centre(path, pointing, band_name):
    """The source's (alpha, beta) in jwst's sky-aligned cube (module docstring, 2)."""
    from types import SimpleNamespace

    from jwst.assign_wcs.pointing import v23tosky

    from miri_testbed.calibration import cube_build, mrs_extract
    from miri_testbed.instrument import mrs
    from miri_testbed.validation.mrs_score import CENTROID_LD

    data, _, weight, wave, spaxel, model = cube_arrays(path)
    n_lam, ny, nx = data.shape
    step = float(np.median(np.diff(wave)))
    grid = cube_build.CubeGrid(cube_build.Axis(-spaxel / 2, spaxel, nx), cube_build.Axis(-spaxel / 2, spaxel, ny),
                               cube_build.Axis(float(wave[0] - step / 2), step, n_lam))
    # what the centroid reads of a cube: its grid, data and covered share
    cube = SimpleNamespace(grid=grid, data=data, coverage=weight)
    x, y = (c / spaxel for c in mrs_extract.centroid(cube, CENTROID_LD))
    ra, dec, _ = model.meta.wcs(x, y, 0)
    v2, v3 = v23tosky(SimpleNamespace(meta=SimpleNamespace(wcsinfo=SimpleNamespace(**pointing)))).inverse(ra, dec)
    return mrs.band(band_name).from_v2v3(float(v2), float(v3))  # v23tosky takes and gives arcsec


def noise_share(path, lines_um):
    """The peak spaxel's median ERR / DATA over the planes :func:`mrs_dither.peak_ripple` uses, %."""
    data, err, _, wave, _, _ = cube_arrays(path)
    j, i = np.unravel_index(np.nanargmax(np.nansum(data, axis=0)), data.shape[1:])
    far = np.isfinite(data[:, j, i]) & np.all([np.abs(wave - c) > 5 * c / 3000 for c in lines_um], axis=0)
    return 100 * float(np.median(err[far, j, i] / data[far, j, i]))


def band_of(centre_um):
    return next(b for b, lines in LINES_UM.items() if min(lines) - 0.1 <= centre_um <= max(lines) + 0.1)


def score(truth_path, x1d_path):
    """Per band: line centres (median, worst |v| km/s), continuum ratio - 1 (%), line flux |ratio - 1| (%),
    the line fits' own 1-sigma flux error (median, %): what noise alone makes of the fluxes, and their Gaussian
    width (median, km/s; the scorer's profile is that Gaussian convolved with the pixel's box twice): the cube's
    resolution, comparable between plane grids."""
    from miri_testbed.simulator.truth import read_truth
    from miri_testbed.validation import mrs_score

    truth = read_truth(truth_path)
    rows = mrs_score.score_x1d(truth, x1d_path)
    lines = truth.table("LINES")
    spectra = mrs_score.read_spectra(x1d_path)
    wavelength_map = truth.image("WAVELENGTH")
    out = {}
    for band in LINES_UM:
        errors = [r["value"] for r in rows if r["metric"] == "mrs_wavelength_error" and band_of(r["bin"]) == band]
        ratio = [r["value"] for r in rows if r["metric"] == "mrs_flux_ratio" and r["bin"] == mrs_score.band_bin(band)]
        spectrum, fluxes, sigmas, widths = spectra[band], [], [], []
        centres = [float(c) for c in lines["centre_um"]]
        for line in lines:
            if band_of(float(line["centre_um"])) != band:
                continue
            scored = mrs_score.score_line(spectrum, line, [c for c in centres if c != float(line["centre_um"])],
                                           wavelength_map)
            if scored is None or scored[1] is None:
                continue
            step = float(np.median(np.diff(spectrum.wavelength)))
            # area (Jy x planes) x plane width (um) -> integral of F_nu over lambda; x c / lambda^2 -> W m^-2
            watts = scored[1].flux * step * 1e-26 * C_UM_S / scored[2] ** 2
            fluxes.append(100 * abs(watts / float(line["flux_w_m2"]) - 1))
            sigmas.append(100 * scored[1].flux_err / abs(scored[1].flux))
            widths.append(scored[1].sigma * step / scored[2] * C_UM_S * 1e-9)
        out[band] = dict(n_lines=len(errors), centre_median=float(np.median(errors)) if errors else math.nan,
                         centre_worst=float(np.max(errors)) if errors else math.nan,
                         continuum=100 * (ratio[0] - 1) if ratio else math.nan,
                         line_median=float(np.median(fluxes)) if fluxes else math.nan,
                         line_worst=float(np.max(fluxes)) if fluxes else math.nan,
                         line_sigma=float(np.median(sigmas)) if sigmas else math.nan,
                         line_width=float(np.median(widths)) if widths else math.nan)
    return out


def positions(truth_path, result, side):
    """Per band: the centroid's distance from the truth (mas), as module docstring 2 says for each side."""
    from miri_testbed.simulator.truth import read_truth
    from miri_testbed.validation import mrs_score

    truth = read_truth(truth_path)
    if side == "ours":
        rows = mrs_score.score_cubes(truth, tuple(result["cubes"]))
        return {b: next(r["value"] for r in rows if r["metric"] == "mrs_centroid_error"
                        and r["bin"] == mrs_score.band_bin(b)) for b in LINES_UM}
    sources = truth.table("SOURCES")
    out = {}
    for path in result["cubes"]:
        band = Path(path).name.split("_")[1]
        alpha, beta = jwst_centre(path, result["pointing"], band)
        row = [r for r in sources if str(r["band"]) == band and int(r["id"]) == 0][0]
        out[band] = 1e3 * math.hypot(alpha - float(row["alpha"]), beta - float(row["beta"]))
    return out


def calibrate_case(case, sims, uncals, references, folder, out):
    """Both sides' workers on one case: ``(ours or None, jwst)`` results (ours None when it cannot combine them)."""
    case_folder = folder / case
    case_folder.mkdir(parents=True, exist_ok=True)
    try:
        ours = run_worker("ours", dict(uncals=[str(u) for u in uncals], refs=str(sims[0]["refs"]),
                                       cube_build=CUBE_BUILD), case_folder)
        rates = ours["rates"]
    except subprocess.CalledProcessError:  # the worker saved the rates before it failed
        out(f"   {case}: ours failed to combine the exposures on this tree (its traceback above): jwst alone")
        ours = None
        rates = [str(case_folder / "ours" / Path(u).name.replace("_uncal", "_rate")) for u in uncals]
    return ours, run_worker("jwst", dict(rates=rates, references=references), case_folder)


def compare(case, sims, uncals, references, folder, out):
    """Both sides on one case (module docstring, 2); prints the table."""
    ours, theirs = calibrate_case(case, sims, uncals, references, folder, out)
    truth = str(sims[0]["truth"])
    out(f"   {case} ({len(uncals)} exposure{'s' if len(uncals) > 1 else ''}; position in the first exposure's "
        f"frame): per band, ours | jwst")
    out("     band  side   lines  centre med/worst km/s   continuum %   line flux med/worst (1 sigma) %   "
        "position mas   ripple % rms (noise %)   line sigma km/s   wall s   peak MB")
    for side, result in (("ours", ours), ("jwst", theirs)):
        if result is None:
            continue
        scored = score(truth, result["x1d"])
        where = positions(truth, result, side)
        for band in LINES_UM:
            s = scored[band]
            cube = band_cube(result, band)
            ripple, noise = peak_ripple(cube, band, LINES_UM[band])[0], noise_share(cube, LINES_UM[band])
            out(f"     {band}    {side:5s}  {s['n_lines']:5d}  {s['centre_median']:8.3f} / {s['centre_worst']:6.3f}"
                f"       {s['continuum']:+8.3f}     {s['line_median']:8.3f} / {s['line_worst']:6.3f}"
                f" ({s['line_sigma']:5.3f})"
                f"       {where[band]:8.2f}     {ripple:6.2f} ({noise:4.2f})         {s['line_width']:6.2f}"
                f"          {result['seconds']:7.1f}  {result['peak_mb']:7.0f}")
    if ours is not None:
        out(f"     time ours / jwst: {ours['seconds']:.1f} / {theirs['seconds']:.1f} s "
            f"({theirs['seconds'] / ours['seconds']:.1f}x), cpu {ours['cpu_seconds']:.1f} / {theirs['cpu_seconds']:.1f}"
            f" s ({theirs['cpu_seconds'] / ours['cpu_seconds']:.1f}x); peak memory above the start "
            f"{ours['peak_mb']:.0f} / {theirs['peak_mb']:.0f} MB")


def band_cube(result, band):
    return next(p for p in result["cubes"] if f"_{band}_" in Path(p).name)


def ripple_twin(folder, cases, out):
    """The peak-spaxel ripple on a noise-free twin of the exposures (every effect off, no sky), both sides."""
    sims = simulate_foreign(folder / "sim_nf", noise_free=True)
    step_um, geometry = our_spectral_steps(sims[0])
    references = jwst_references(sims[0], geometry, step_um, folder / "sim_nf")
    out("   the same exposures noise-free (every effect off, no sky): peak-spaxel ripple, % rms (module docstring), "
        "all usable planes / within the CUBEPAR's WAVEMIN-WAVEMAX")
    for case, count in cases:
        ours, theirs = calibrate_case(f"{case}_nf", sims, [s["uncal"] for s in sims[:count]], references, folder, out)
        # all usable planes / within the CUBEPAR's WAVEMIN-WAVEMAX (jwst's cube stops there; ours runs on)
        cells = [f"{band} {side} {ripple[0]:.2f} / {ripple[1]:.2f}"
                 for side, result in (("ours", ours), ("jwst", theirs)) if result is not None for band in LINES_UM
                 for ripple in [peak_ripple(band_cube(result, band), band, LINES_UM[band])]]
        out(f"     {case}: {', '.join(cells)}")


# ----------------------------------------------------------------------------- 3. all 12 bands, time and memory

def all_bands(folder, jwst_minutes, out):
    """Time and peak memory of the 4-point set in each of the 6 band pairs, ours beside jwst (module docstring, 3)."""
    from miri_testbed.instrument import mrs

    pairs = [(d, s) for d in ("MIRIFUSHORT", "MIRIFULONG") for s in mrs.SETTINGS]
    out("3. All 12 bands: the 4-point set in each detector and grating setting (flat 50 mJy continuum, the same "
        "source and sky), each side in a fresh process per band pair; wall s and peak MB above the start; load: the "
        "machine's 1-minute load average after the pair (2 cores, shared)")
    out("     pair                 bands   ours s   jwst s   jwst/ours   ours cpu s   jwst cpu s   jwst/ours cpu   "
        "ours MB   jwst MB   ours/jwst MB   load")
    budget_end = time.monotonic() + 60 * jwst_minutes if jwst_minutes is not None else math.inf
    rows = []
    for detector, setting in pairs:
        where = folder / f"{detector}_{setting}"
        sims = simulate_foreign(where / "sim", detector=detector, setting=setting)
        uncals = [str(s["uncal"]) for s in sims]
        ours = run_worker("ours", dict(uncals=uncals, refs=str(sims[0]["refs"]), cube_build=CUBE_BUILD), where)
        theirs = None
        if time.monotonic() < budget_end:
            step_um, geometry = our_spectral_steps(sims[0])
            references = jwst_references(sims[0], geometry, step_um, where)
            theirs = run_worker("jwst", dict(rates=ours["rates"], references=references), where)
        bands = "+".join(f"{c}{mrs.SETTINGS[setting]}" for c, d in mrs.DETECTOR_OF_CHANNEL.items() if d == detector)
        rows.append((ours, theirs))
        if theirs is None:
            out(f"     {detector + ' ' + setting:19s}  {bands:5s}   {ours['seconds']:6.1f}        -           -   "
                f"    {ours['cpu_seconds']:6.1f}            -               -   {ours['peak_mb']:7.0f}         -     "
                f"         -   {os.getloadavg()[0]:4.1f}   (jwst not run: past --jwst-minutes)")
            continue
        out(f"     {detector + ' ' + setting:19s}  {bands:5s}   {ours['seconds']:6.1f}   {theirs['seconds']:6.1f}   "
            f"{theirs['seconds'] / ours['seconds']:8.1f}x       {ours['cpu_seconds']:6.1f}       "
            f"{theirs['cpu_seconds']:6.1f}         {theirs['cpu_seconds'] / ours['cpu_seconds']:6.1f}x   "
            f"{ours['peak_mb']:7.0f}   {theirs['peak_mb']:7.0f}   "
            f"{ours['peak_mb'] / theirs['peak_mb']:12.2f}   {os.getloadavg()[0]:4.1f}")
    both = [(o, t) for o, t in rows if t is not None]
    total = sum(o["seconds"] for o, _ in rows)
    out(f"     all 12 bands, ours: {total:.1f} s (cpu {sum(o['cpu_seconds'] for o, _ in rows):.1f} s), peak "
        f"{max(o['peak_mb'] for o, _ in rows):.0f} MB (the largest band pair's process)")
    if both:
        ours_s, jwst_s = sum(o["seconds"] for o, _ in both), sum(t["seconds"] for _, t in both)
        ours_mb, jwst_mb = max(o["peak_mb"] for o, _ in both), max(t["peak_mb"] for _, t in both)
        ours_cpu, jwst_cpu = sum(o["cpu_seconds"] for o, _ in both), sum(t["cpu_seconds"] for _, t in both)
        out(f"     the {len(both)} band pair(s) jwst ran ({2 * len(both)} bands): time ours / jwst {ours_s:.1f} / "
            f"{jwst_s:.1f} s ({jwst_s / ours_s:.1f}x faster; goal >= 10x), cpu {ours_cpu:.1f} / {jwst_cpu:.1f} s "
            f"({jwst_cpu / ours_cpu:.1f}x); peak memory {ours_mb:.0f} / {jwst_mb:.0f} MB ({ours_mb / jwst_mb:.2f}; "
            "goal <= 0.33)")
    if len(both) < len(rows):
        out(f"     jwst ran on {len(both)} of the {len(rows)} band pairs (--jwst-minutes {jwst_minutes}): the ratios "
            "are over those only")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] + " Needs the peers extra (jwst).")
    parser.add_argument("--no-set", action="store_true", help="the single exposure only")
    parser.add_argument("--ripple-twin", action="store_true", help="also the ripple on a noise-free twin")
    parser.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_vs_jwst.txt")
    parser.add_argument("--all-bands", action="store_true",
                        help="only time and memory of the 4-point set in all 12 bands (6 band pairs), ours and jwst "
                             "(module docstring, 3); records <date>_mrs_vs_jwst_12bands.txt")
    parser.add_argument("--jwst-minutes", type=float,
                        help="with --all-bands: start jwst on no band pair after this many minutes (ours runs on all)")
    parser.add_argument("--cube-build", help="our cube_build variant (default: the pipeline's; the APCORR stays the "
                        "simulated set's, made for the default kernel); records <name>_<variant>.txt")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global CUBE_BUILD
    CUBE_BUILD = args.cube_build
    if args.worker:
        worker(json.loads(Path(args.worker).read_text()))
        return
    if importlib.util.find_spec("jwst") is None:
        parser.exit(2, "mrs_jwst: jwst is not installed: this benchmark runs it beside ours; install the peers extra, "
                       "pip install -e \".[peers]\"\n")
    quiet()
    out, lines = transcript()
    suffix = "" if CUBE_BUILD is None else f"_{CUBE_BUILD}"
    if CUBE_BUILD is not None:
        out(f"ours with cube_build = {CUBE_BUILD} (not the default; the APCORR is the default kernel's)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.workdir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if args.all_bands:
            all_bands(folder, args.jwst_minutes, out)
            print(write_result("mrs_vs_jwst_12bands" + suffix, "\n".join(lines) + "\n"))
            return
        sims = simulate_foreign(folder / "sim")
        step_um, geometry = our_spectral_steps(sims[0])
        reproduce_jwst_tests(folder, step_um, out)
        references = jwst_references(sims[0], geometry, step_um, folder)
        out("2. Foreign files: 4 dithered MIRIFUSHORT SHORT exposures through the flight geometry, flight references; "
            f"jwst's spectral step = ours ({', '.join(f'{b} {1e3 * s:.3f} nm' for b, s in step_um.items())})")
        out(f"   {ANCHORS}")
        uncals = [s["uncal"] for s in sims]
        compare("single", sims, uncals[:1], references, folder, out)
        if not args.no_set:
            compare("set", sims, uncals, references, folder, out)
        if args.ripple_twin:
            ripple_twin(folder, [("single", 1)] + ([] if args.no_set else [("set", POINTS)]), out)
    print(write_result("mrs_vs_jwst" + suffix, "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
