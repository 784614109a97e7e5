"""The MRS spectral leak left in band 3A after each correction (issue 17, LEAK-1).

Per case, band 1B (MIRIFUSHORT MEDIUM) and band 3A (MIRIFULONG SHORT) of one target with the leak on
(:mod:`simulator.spectral_leak`), and 3A with it off; 1B calibrated, then 3A with ``spectral_leak`` =
``none``, ``spectrum`` (jwst's 1-D form), ``jwst_spectrum`` (jwst's code), ``cube`` (ours) and ``cube_sharpened``
(ours, 1B sharpened in beta), ``calibrate
--leak-from`` the 1B cube and x1d.  Printed: ``mrs_leak_residual`` of the 3A x1d
(:mod:`validation.mrs_leak_score`: the leak left at its peak over the 3A continuum), the x1d's max
``|F - F_off| / F_off`` within 0.3 um of 12.2 um (noise-free cases only), and for the cube the median over
the spaxels above 10 % of the peak within 1B's field of ``|S - S_off| / S_off`` at the leak's peak plane, and the
cube's ``mrs_leak_cube_residual`` (the largest over the core's spaxels of the leak left at its peak over the
spaxel's continuum) and ``mrs_leak_cube_sum_residual`` (the core's sum; :func:`validation.mrs_leak_score.score_cubes`),
and the same per-spaxel fit on the leak alone, ``S_off + (S - S_off)`` with ``S_off`` the leak-free twin's cube
scaled to the truth's continuum (``twin max`` and ``twin median`` over the core; noise-free cases): the scorer's
fit also takes the cube's own spaxel-spectrum structure for leak, which the twin's difference removes.
Cases: hot (10^4 K blackbody, blue: the leak 12 % of the continuum) and red (power law F_nu ~ lambda^2: 0.75 %)
point sources, a hot Gaussian extended source (1.5" x 1.0"), noise-free with perfect references (10 groups); and
the hot point source ten times brighter (500 mJy at 12.2 um) with every effect on, measured references, 5 MJy/sr
of sky and 50 groups (the mrs_leak suite's point_3a; seed 1), where the residual's noise (the ``+/-`` column,
``mrs_leak_residual_error``) is well below 1e-3.

    python benchmarks/mrs_leak.py [--record]
"""
import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.simulator import (  # noqa: E402
    Effects,
    ExtendedSource,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    simulate,
)
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation import mrs_leak_score, mrs_score  # noqa: E402

from imager_common import publish  # noqa: E402

HOT = {"continuum": {"kind": "blackbody", "temperature_k": 10000.0, "flux_mjy": 50.0, "ref_um": 12.2}}
BRIGHT = {"continuum": {**HOT["continuum"], "flux_mjy": 500.0}}
RED = {"continuum": {"kind": "power_law", "flux_mjy": 50.0, "ref_um": 12.2, "index": 2.0}}
CASES = {"hot point": (SpectralSource(HOT), True), "red point": (SpectralSource(RED), True),
         "hot extended": (ExtendedSource({"continuum": {**HOT["continuum"], "flux_mjy": 200.0}}, 0.0, 0.0,
                                         fwhm_major_arcsec=1.5, fwhm_minor_arcsec=1.0, pa_deg=30.0), True),
         "hot point noisy": (SpectralSource(BRIGHT), False)}
VARIANTS = ("none", "spectrum", "jwst_spectrum", "cube", "cube_sharpened")
OBS_1B = MrsObservation(detector="MIRIFUSHORT", band="MEDIUM", ngroups=10)
OBS_3A = MrsObservation(detector="MIRIFULONG", band="SHORT", ngroups=10)
NOISY_GROUPS, NOISY_SKY_MJY_SR = 50, 5.0


def _x1d_3a(path):
    with dm.open(str(path)) as model:
        table = next(s for s in model.spec if s.name == "3A").spec_table
        return np.asarray(table["WAVELENGTH"]), np.asarray(table["FLUX"])


def _cube_3a(paths):
    with dm.open(str(next(p for p in paths if "ch3-short" in str(p)))) as model:
        return np.asarray(model.data, float), np.asarray(model.dq)


def twin_residuals(truth_path, cube_paths, off_paths):
    """``(max, median)`` over the core of the per-spaxel leak left, against the leak-free twin (module docstring)."""
    cube, off = (mrs_score.read_cube(next(p for p in paths if "ch3-short" in str(p)))[1]
                 for paths in (cube_paths, off_paths))
    wl = off.grid.wavelength.centres
    continuum, leak, curve = mrs_leak_score.truth_leak(read_truth(truth_path).config, 0, wl)
    window = np.abs(wl - curve.centre_um) < mrs_leak_score.WINDOW_SIGMA * curve.sigma_um
    covered = np.isfinite(off.data[window]).any(axis=0)
    scale = np.zeros(covered.shape)
    scale[covered] = np.nanmedian(off.data[window][:, covered] / continuum[window, None], axis=0)
    twin = cube.data - off.data + scale[None] * continuum[:, None, None]
    spaxels, _ = mrs_leak_score.cube_residuals(wl, np.where(np.isfinite(off.data), twin, np.nan), continuum, leak,
                                               curve)
    return float(np.max(spaxels)), float(np.median(spaxels))


def run_case(name, folder):
    source, noise_free = CASES[name]
    base, references = ((Effects.noise_free(), ReferenceOptions(kind="perfect")) if noise_free
                        else (Effects(), ReferenceOptions()))
    on = replace(base, mrs=replace(base.mrs, spectral_leak=True))
    scene = Scene((source,)) if noise_free else Scene((source,), background_mjy_sr=NOISY_SKY_MJY_SR)
    longer = {} if noise_free else {"ngroups": NOISY_GROUPS}
    sims = {key: simulate(scene, replace(obs, **longer), folder / sub, name=key, seed=1, effects=effects,
                          references=references)
            for key, obs, sub, effects in (("b1", OBS_1B, "on", on), ("a3", OBS_3A, "on", on),
                                           ("a3off", OBS_3A, "off", base))}
    b1 = calibrate(sims["b1"]["uncal"], folder / "cal", sims["b1"]["refs"])
    off = calibrate(sims["a3off"]["uncal"], folder / "cal_off", sims["a3off"]["refs"])
    wl, flux_off = _x1d_3a(off["x1d"])
    cube_off, dq = _cube_3a(off["s3d"])
    window = np.abs(wl - 12.2) < 0.3
    lines, cubes = [], {}
    for variant in VARIANTS:
        start = time.process_time()
        products = calibrate(sims["a3"]["uncal"], folder / f"cal_{variant}", sims["a3"]["refs"],
                             {"spectral_leak": variant}, leak_from=None if variant == "none" else [b1["s3d"][0],
                                                                                                   b1["x1d"]])
        cpu = time.process_time() - start
        rows = {r["metric"]: r["value"] for r in mrs_score.score_x1d(sims["a3"]["truth"], products["x1d"])}
        residual, error = rows["mrs_leak_residual"], rows["mrs_leak_residual_error"]
        _, flux = _x1d_3a(products["x1d"])
        direct = np.nanmax(np.abs(flux - flux_off)[window] / flux_off[window]) if noise_free else np.nan
        cubes[variant] = _cube_3a(products["s3d"])[0]
        cube_rows = {r["metric"]: r["value"] for r in mrs_leak_score.score_cubes(sims["a3"]["truth"], products["s3d"])}
        twin = (twin_residuals(sims["a3"]["truth"], products["s3d"], off["s3d"]) if noise_free
                else (np.nan, np.nan))
        lines.append([name, variant, residual, error, direct, cpu, cube_rows["mrs_leak_cube_residual"],
                      cube_rows["mrs_leak_cube_sum_residual"], *twin])
    peak = int(np.argmax(np.nanmax(np.abs(cubes["none"] - cube_off), axis=(1, 2))))
    corrected = np.abs(cubes["cube"] - cubes["none"])[peak] > 0  # the spaxels within 1B's field
    bright = (dq[peak] == 0) & (cube_off[peak] > 0.1 * np.nanmax(cube_off[peak])) & corrected
    for line in lines:
        spaxels = np.abs(cubes[line[1]] - cube_off)[peak][bright] / cube_off[peak][bright]
        line.append(float(np.median(spaxels)) if noise_free else np.nan)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_leak.txt")
    args = parser.parse_args()
    out = ["case             variant         leak_residual      +/-  x1d max|res|  cube median|res|  "
           "3A calibrate cpu s  cube_residual  cube_sum_residual  twin max  twin median"]
    for name in CASES:
        with tempfile.TemporaryDirectory() as folder:
            for case, variant, residual, error, direct, cpu, *cube, spaxels in run_case(name, Path(folder)):
                columns = "  ".join(f"{v:{w}.5f}" for v, w in zip(cube, (13, 17, 8, 11), strict=True))
                out.append(f"{case:16s} {variant:14s} {residual:13.5f} {error:8.5f}  {direct:12.5f}  {spaxels:16.5f}  "
                           f"{cpu:18.1f}  {columns}")
        print(out[-1], flush=True)
    if args.record:
        publish("mrs_leak", out)
    else:
        print("\n".join(out))


if __name__ == "__main__":
    main()
