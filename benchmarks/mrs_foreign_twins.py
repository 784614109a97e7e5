"""Where ours loses on the foreign dither set (issue 16): the set of benchmarks/mrs_jwst.py through twins, ours only.

The four dithered MIRIFUSHORT SHORT exposures of :mod:`benchmarks.mrs_jwst` (flight geometry,
perfect = flight references, a point source 0.1" / 0.05" off the target, 50 mJy flat with five
lines per band, 5 MJy/sr sky, every detector effect on) go through our detector1 once, then
spec3 (:mod:`calibration.mrs_spec3`) on twins that each take one cause away, scored by the same
code as that benchmark (line centres median / worst |v| km/s, continuum %, line fluxes, the
collapsed cube's centroid against the truth, mas):

* ``seed per exposure``: the set as that benchmark made it before (exposure ``k`` simulated with seed
  ``k``, so each its own detector, all calibrated with the first exposure's references);
* ``noisy``: the set as the benchmark makes it now (one seed: one detector, as one visit);
* ``noise-free``: the same exposures simulated with every effect off and no sky;
* ``true rates``: the noisy exposures with detector1's rates replaced by the truth's RATE (sky,
  throughput decay and bad pixels kept; what detector1 should give without noise);
* ``true rates + noise``: that plus Gaussian noise of detector1's own variance per pixel (seeded):
  symmetric noise of the right size, without detector1's systematic errors;

each with ``cube_build`` ``drizzle`` (jwst's), ``drizzle_smooth`` and the default
``drizzle_lambda_alpha_smooth``; beside them the peak-spaxel ripple within the CUBEPAR's WAVEMIN-WAVEMAX
(:func:`mrs_dither.peak_ripple`'s second figure, % rms: jwst's cube covers that range) and the lines' fitted
Gaussian sigma (median, km/s: :func:`mrs_jwst.score`).  Then per exposure,
detector1's rate against the truth's RATE over the lit pixels (``T`` > 3 DN/s, not DO_NOT_USE):
``R - T = c T + d`` fitted, and ``sum R / sum T`` over ``T`` > 30 DN/s (the source's core); and
the centroid of the cube collapsed by the per-spaxel median over planes instead of the sum
(outliers in a few planes do not move it).

    python benchmarks/mrs_foreign_twins.py [--workdir DIR] [--record]   (~25 min on the busy 2-core machine)
"""
import argparse
import math
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mrs_jwst as mj  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

VARIANTS = ("drizzle", "drizzle_smooth", "drizzle_lambda_alpha_smooth")


def detector1_set(sims, refs=None):
    """The set's opened exposures and their detector1 results (``refs``: one folder for all, else each its own)."""
    from miri_testbed.calibration import detector1, registry
    from miri_testbed.calibration.inputs import open_uncal
    from miri_testbed.calibration.steps import StepLog

    exposures = [open_uncal(str(s["uncal"])) for s in sims]
    return exposures, [detector1.run(StepLog(), e, Path(refs or s["refs"]), registry.resolve(None))
                       for e, s in zip(exposures, sims, strict=True)]


def true_rates(sims, d1s, noise_seed=None):
    """detector1's results with the truth's RATE as the rate (``noise_seed``: plus Gaussian noise of their variance)."""
    from astropy.io import fits

    out = []
    for k, (sim, d1) in enumerate(zip(sims, d1s, strict=True)):
        with fits.open(str(sim["truth"])) as truth:
            rate = truth["RATE"].data.astype(np.float32)
        if noise_seed is not None:
            sigma = np.sqrt(np.nan_to_num(d1.var_poisson + d1.var_rnoise))
            rate = rate + (np.random.default_rng(noise_seed + k).standard_normal(rate.shape) * sigma).astype(np.float32)
        out.append(replace(d1, rate=rate))
    return out


def spec3(sims, exposures, d1s, cube_build, folder):
    """Our spec3 on the set with ``cube_build`` = the variant: ``{"cubes": [paths], "x1d": path}``."""
    from miri_testbed.calibration import mrs_spec3, registry
    from miri_testbed.calibration.steps import StepLog

    choice = registry.resolve({"cube_build": cube_build})
    pointings = mrs_spec3.check(exposures, [Path(s["uncal"]).name for s in sims])
    products = mrs_spec3.run(StepLog(), list(zip(exposures, d1s, strict=True)), Path(sims[0]["refs"]), choice,
                             pointings)
    folder.mkdir(parents=True, exist_ok=True)
    result = {"cubes": []}
    for cube in products["s3d"]:
        result["cubes"].append(str(folder / f"ours_{mj.cube_band(cube)}_s3d.fits"))
        cube.save(result["cubes"][-1])
    result["x1d"] = str(folder / "ours_x1d.fits")
    products["x1d"].save(result["x1d"])
    return result


def median_centroid(path, truth, band):
    """The distance (mas) from the truth of the centroid of the cube collapsed by the per-spaxel median (docstring)."""
    from miri_testbed.calibration import mrs_extract
    from miri_testbed.validation.mrs_score import CENTROID_LD

    data, _, weight, _, _, model = mj.cube_arrays(path)
    median = np.nanmedian(data, axis=0, keepdims=True)
    cube = SimpleNamespace(grid=mj_grid(model, data.shape), data=np.repeat(median, data.shape[0], axis=0),
                           coverage=weight)
    alpha, beta = mrs_extract.centroid(cube, CENTROID_LD)
    row = [r for r in truth.table("SOURCES") if str(r["band"]) == band and int(r["id"]) == 0][0]
    return 1e3 * math.hypot(alpha - float(row["alpha"]), beta - float(row["beta"]))


def mj_grid(model, shape):
    """Our cube's :class:`calibration.cube_build.CubeGrid` from its WCS keywords."""
    from miri_testbed.calibration import cube_build

    w = model.meta.wcsinfo
    return cube_build.CubeGrid(*(cube_build.Axis(start + (0.5 - pix) * step, step, n) for start, pix, step, n in (
        (w.crval1, w.crpix1, w.cdelt1, shape[2]), (w.crval2, w.crpix2, w.cdelt2, shape[1]),
        (w.crval3, w.crpix3, w.cdelt3, shape[0]))))


def rate_fit(sim, d1):
    """detector1's rate against the truth's RATE (module docstring): ``(c, d DN/s, core sum ratio - 1 in %)``."""
    from astropy.io import fits

    with fits.open(str(sim["truth"])) as truth:
        true = truth["RATE"].data.astype(float)
    rate = d1.rate.astype(float)
    good = ((d1.dq & 1) == 0) & np.isfinite(rate)
    lit = good & (true > 3)
    (c, d), *_ = np.linalg.lstsq(np.stack([true[lit], np.ones(lit.sum())], 1), (rate - true)[lit], rcond=None)
    core = good & (true > 30)
    return float(c), float(d), 100 * (rate[core].sum() / true[core].sum() - 1)


def row(name, variant, result, sims, out):
    """One case's rows, per band (module docstring)."""
    from miri_testbed.simulator.truth import read_truth

    truth_path = str(sims[0]["truth"])
    truth = read_truth(truth_path)
    scored = mj.score(truth_path, result["x1d"])
    where = mj.positions(truth_path, result, "ours")
    for band in mj.LINES_UM:
        s = scored[band]
        cube = mj.band_cube(result, band)
        robust = median_centroid(cube, truth, band)
        ripple = mj.peak_ripple(cube, band, mj.LINES_UM[band])[1]
        out(f"   {name:20s} {variant:27s}  {band}    {s['centre_median']:6.3f} / {s['centre_worst']:6.3f}"
            f"       {s['continuum']:+7.3f}      {s['line_median']:6.3f} / {s['line_worst']:6.3f}"
            f"         {where[band]:5.2f} ({robust:5.2f})          {ripple:6.2f}          {s['line_width']:6.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_foreign_twins.txt")
    args = parser.parse_args(argv)
    mj.quiet()
    out, lines = transcript()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.workdir or tmp)
        out("The foreign 4-point set (benchmarks/mrs_jwst.py), ours only, through twins (module docstring); per band:")
        out("   case                 cube_build                   band  centre med/worst km/s  continuum %  "
            "line flux med/worst %  position mas (median-collapsed)  ripple % in range  line sigma km/s")
        checks = []
        groups = (("sim_seeds", dict(seed_per_exposure=True)), ("sim", {}), ("sim_nf", dict(noise_free=True)))
        for group, sims_kw in groups:
            sims = mj.simulate_foreign(folder / group, **sims_kw)
            exposures, d1s = detector1_set(sims, sims[0]["refs"] if group == "sim_seeds" else None)
            cases = {"sim_seeds": [("seed per exposure", d1s)],
                     "sim": [("noisy", d1s), ("true rates", true_rates(sims, d1s)),
                             ("true rates + noise", true_rates(sims, d1s, noise_seed=11))],
                     "sim_nf": [("noise-free", d1s)]}[group]
            for name, results in cases:
                for variant in VARIANTS:
                    row(name, variant, spec3(sims, exposures, results, variant,
                                             folder / f"{name.replace(' ', '_')}_{variant}"), sims, out)
            if group != "sim_nf":
                checks.append((group, [rate_fit(sim, d1) for sim, d1 in zip(sims, d1s, strict=True)]))
        out("   detector1's rate R against the truth's RATE T per exposure (lit pixels T > 3 DN/s, not DO_NOT_USE): "
            "R - T = c T + d; core: sum R / sum T - 1 over T > 30 DN/s")
        for group, fits_k in checks:
            label = ("seed per exposure, the first exposure's references" if group == "sim_seeds"
                     else "one seed, each exposure's own references")
            out(f"     {label}: " + "; ".join(f"exposure {k}: c {100 * c:+.3f} %, d {d:+.4f} DN/s, core {core:+.3f} %"
                                             for k, (c, d, core) in enumerate(fits_k, 1)))
    print(write_result("mrs_foreign_twins", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
