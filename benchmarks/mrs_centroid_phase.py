"""How the MRS cube centroid depends on where a point source sits within a slice (issue 16, MRS-ASTRO-1).

The extraction's centre two ways, both of :mod:`calibration.mrs_extract`: ``first``, the light-weighted first
moment of the collapsed cube within 4 lambda/D (:func:`calibration.mrs_extract.first_moment`, the centre before
session 26), and ``fit``, the centre the extraction and :mod:`validation.mrs_score` now use
(:func:`calibration.mrs_extract.locate`: :mod:`calibration.mrs_centroid`'s fit, along beta an Airy pattern convolved
with a free Gaussian (and a constant) through the cube's own slice strips as the drizzle samples them within
2 lambda/D, along alpha a Gaussian over the spaxels within 2 lambda/D, started from ``first``, which it falls back
to, the reason counted),
read from the s3d file as the scorer reads it; and, a diagnostic kept here only, ``gauss``: along beta a
least-squares Gaussian integrated over the cube's slice strips and averaged over each spaxel as the drizzle does,
along alpha a Gaussian integrated over the spaxel box, both within 4 lambda/D (amplitude, centre and width free,
the width from 1.4 x 1.03 lambda_c / D; no constant: the collapsed image has its median taken off).  It shows
that the sampling model alone does not help (the PSF is not a Gaussian) and gives the width :func:`beat` uses.
``fit``'s windows and constant were chosen on noise-free sweeps and the noisy seeds 1-8 of these scenarios
(:mod:`calibration.mrs_centroid`, session 26; session 25's prototype, kept here then, on seeds 1-8 and four of
part 1's cubes): part 2 therefore runs on seeds 13-24.

Part 1, noise-free (``Effects.noise_free()``: every detector, optics and MRS effect off, so the true
geometry is the flight one; perfect references): the `mrs_effects` scenarios' scenes (mrs_short_lines:
1A/2A, mrs_ch34_long_yr3: 3C/4C, their sources and sky), 3 groups, the source stepped in ``across_slit`` (band
1A's beta) from the scenarios' 0.05" over one slice width of the setting's wider band (2A, 4C) in
:data:`STEPS` steps, ``along_slit`` fixed at 0.1"; each exposure simulated and calibrated through
:func:`calibration.pipeline.calibrate` (the default algorithms) and its first moment checked against
:func:`validation.mrs_score.score_cubes`'s.  Per band: the error (measured - true, mas) of each estimator in
alpha and beta against the truth's SOURCES, and the source's phase in its slice (beta offset from the nearest
slice centre over the slice width, -0.5 ... 0.5), and ``beat``: the first moment's beta error that the
drizzle's resampling of the slices onto the spaxel grid predicts (:func:`beat`, a diagnostic from the truth and the
``gauss`` fit's width).

Part 2, noisy: the scenarios' own effects (noise, every detector effect, the 3 km/s / 3 mas geometry
perturbation) but the MRS's fringes and cross-artifact off, perfect references, 10 groups, :data:`SEEDS`
seeds from :data:`FIRST_SEED`, the scenarios' source position: mean and sd of each estimator's errors, and the
number of cubes where ``fit`` fell back to the first moment (with the reasons).

CPU (``time.process_time``) of the simulation, the calibration and each estimator.

    python benchmarks/mrs_centroid_phase.py [--steps N] [--seeds N] [--first-seed N] [--record]   (~8 min, 2 cores)
    python benchmarks/mrs_centroid_phase.py --scenario mrs_ch34_long_yr3 --widths 2 --steps 24 --seeds 0 \
        --suffix 4c_two_slices --record   (two slice widths of 4C, noise-free only)
"""
import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares
from scipy.special import ndtr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import mrs_centroid, mrs_extract  # noqa: E402
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.instrument import mrs  # noqa: E402
from miri_testbed.instrument.mrs import lambda_over_d  # noqa: E402
from miri_testbed.simulator import Effects, MrsEffects, ReferenceOptions, simulate  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation import mrs_score  # noqa: E402
from miri_testbed.validation.scenarios import load_suite  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

SCENARIOS = {"mrs_short_lines": "2A", "mrs_ch34_long_yr3": "4C"}  # the scenario and its wider-sliced band


def chosen_scenarios(only=None):
    """``(name, scenario, effects)`` of suite ``mrs_effects``' :data:`SCENARIOS` (``only``: that one alone), with
    ``effects`` the scenario's own, the MRS's fringes and cross-artifact off."""
    suite = {s.name: s for s in load_suite("mrs_effects").scenarios}
    for name in SCENARIOS:
        if only in (None, name):
            yield name, suite[name], replace(suite[name].effects, mrs=MrsEffects())
STEPS, SEEDS, FIRST_SEED = 16, 12, 13
#: ``gauss``'s window (lambda_c / D) and starting width (the MRS core is 15-60 % broader than diffraction, params 5).
GAUSS_LD, WIDTH_FACTOR = 4.0, mrs_centroid.WIDTH_FACTOR


def gaussian_fit(cube, start, radius_ld=GAUSS_LD):
    """``gauss`` (module docstring): ``(alpha, beta)`` and the two widths, from the first moment ``start``."""
    grid = cube.grid
    image, covered = mrs_extract.collapsed_image(cube)
    ld = lambda_over_d(np.mean(grid.wavelength.edges[[0, -1]]))
    radius = radius_ld * ld
    a_c, b_c = grid.alpha.centres, grid.beta.centres
    cols = np.abs(a_c - start[0]) <= radius
    rows = np.abs(b_c - start[1]) <= radius
    sigma0 = WIDTH_FACTOR * 1.03 * ld / 2.3548
    # beta: the cube's slice strips, each spaxel the overlap-weighted mean of the slices it overlaps
    strips = cube.strips
    weights = mrs_centroid.row_weights(strips, grid.beta.edges)[rows]
    profile_b = image[np.ix_(rows, cols)].sum(axis=1)

    def beta_residual(p):
        return p[0] * weights @ mrs_centroid.gauss_box(strips[:, 0], strips[:, 1], p[1], abs(p[2])) - profile_b

    fit_b = least_squares(beta_residual, [profile_b.max() * sigma0 * 2.5, start[1], sigma0], x_scale="jac")
    # alpha: the spaxel boxes
    ea = grid.alpha.edges
    profile_a = image[np.ix_(rows, cols)].sum(axis=0)

    def alpha_residual(p):
        return p[0] * mrs_centroid.gauss_box(ea[:-1][cols], ea[1:][cols], p[1], abs(p[2])) - profile_a

    fit_a = least_squares(alpha_residual, [profile_a.max() * sigma0 * 2.5, start[0], sigma0], x_scale="jac")
    return (float(fit_a.x[1]), float(fit_b.x[1])), (abs(fit_a.x[2]), abs(fit_b.x[2]))


def beat(strips, grid, beta, sigma):
    """The first moment's beta error (mas) the drizzle's resampling predicts (a diagnostic, from the truth).

    A spaxel holds the overlap-weighted mean of the slices over it, so a first moment over spaxels puts slice
    ``k``'s light at the overlap-weighted mean of the spaxel centres its strip covers, ``beta_k + eps_k``; the
    slice width is not a multiple of the spaxel, so ``eps_k`` changes from slice to slice (a beat).  The error:
    ``sum_k F_k eps_k / sum_k F_k``, ``F_k`` a Gaussian of ``sigma`` about ``beta`` integrated over the strips.
    """
    lo, hi = strips[:, 0], strips[:, 1]
    e = grid.beta.edges
    overlap = mrs_centroid.overlap(lo, hi, e[:-1], e[1:])
    eps = overlap @ grid.beta.centres / overlap.sum(axis=1) - (lo + hi) / 2
    light = ndtr((hi - beta) / sigma) - ndtr((lo - beta) / sigma)
    return 1e3 * float(np.sum(light * eps) / light.sum())


def measure(sim, out_dir):
    """Per band: truth, phase, each estimator's errors (mas), and the CPU of each part."""
    t0 = time.process_time()
    paths = calibrate(sim["uncal"], out_dir, refs_folder=sim["refs"])
    t_cal = time.process_time() - t0
    truth = read_truth(sim["truth"])
    sources = truth.table("SOURCES")
    scored = mrs_score.score_cubes(truth, paths["s3d"])
    results = []
    for path in paths["s3d"]:
        band, cube = mrs_score.read_cube(path)
        row = [r for r in sources if str(r["band"]) == band and int(r["id"]) == 0][0]
        true = np.array([float(row["alpha"]), float(row["beta"])])
        t1 = time.process_time()
        first = np.array(mrs_extract.first_moment(cube, mrs_extract.CENTROID_LD, target=tuple(true)))
        t_first = time.process_time() - t1
        t1 = time.process_time()
        located = mrs_extract.locate(cube, mrs_extract.CENTROID_LD, target=tuple(true))
        t_fit = time.process_time() - t1
        fit = np.array([located.alpha, located.beta])
        t1 = time.process_time()
        gauss, widths = gaussian_fit(cube, first)
        t_gauss = time.process_time() - t1
        # the scorer's own numbers for the first moment: they must be the same
        b = mrs_score.band_bin(band)
        d_beta = [r["value"] for r in scored if r["metric"] == "mrs_centroid_beta_offset" and r["bin"] == b][0]
        assert abs(d_beta - 1e3 * (fit[1] - true[1])) < 1e-6
        geometry = mrs.band(band)
        k = int(np.argmin(np.abs(np.asarray(geometry.beta) - true[1])))
        phase = (true[1] - geometry.beta[k]) / geometry.beta_del
        results.append(dict(band=band, true=true, phase=phase, beat=beat(cube.strips, cube.grid, true[1], widths[1]),
                            slice=k + 1, first=1e3 * (first - true), fit=1e3 * (fit - true),
                            gauss=1e3 * (np.array(gauss) - true), widths=widths, reason=located.reason,
                            t_first=t_first, t_fit=t_fit, t_gauss=t_gauss))
    return results, t_cal


def _stats(v):
    return f"{v.mean():+6.2f} {np.sqrt(np.mean(v ** 2)):5.2f} {v.min():+6.2f}..{v.max():+6.2f}"


#: The estimators' keys in a result row, as the tables print them: the first moment, the calibration's fit, the
#: Gaussian diagnostic.
ESTIMATORS = ("first", "fit", "gauss")


def _errors_text(row):
    """A result row's (alpha, beta) errors of every estimator, as the tables print them."""
    return "  ".join(f"{row[key][0]:+14.2f} {row[key][1]:+7.2f}" for key in ESTIMATORS)


def _column(rows, key, axis):
    """One estimator's errors (mas) over ``rows`` along ``axis`` (0 alpha, 1 beta)."""
    return np.array([r[key][axis] for r in rows])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="positions across one slice width")
    parser.add_argument("--seeds", type=int, default=SEEDS, help="noisy seeds per scenario (0: none)")
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED, help="the first noisy seed")
    parser.add_argument("--widths", type=float, default=1.0, help="slice widths the sweep spans (--steps over them)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="only this scenario (default: both)")
    parser.add_argument("--suffix", default="", help="record as <date>_mrs_centroid_phase_SUFFIX.txt")
    parser.add_argument("--record", action="store_true",
                        help="write benchmarks/results/<date>_mrs_centroid_phase.txt")
    args = parser.parse_args(argv)
    out, lines = transcript()
    perfect = ReferenceOptions(kind="perfect")
    cpu = dict(sim=[], cal=[], first=[], fit=[], gauss=[])
    out("Part 1: noise-free (Effects.noise_free()), perfect references; error = measured - true (mas); phase = "
        "(beta_true - nearest slice centre) / slice width")
    out("first: the first moment; fit: the calibration's centre (mrs_extract.locate: alpha a Gaussian within 2 "
        "lambda/D, beta the Airy (x) Gaussian + constant through the slice strips within 2 lambda/D); gauss: Gaussian "
        "fits (alpha, beta) within 4 lambda/D (module docstring)")
    out("band  across\"  slice  phase   beta_true\"  first: d_alpha  d_beta    fit: d_alpha  d_beta  gauss: d_alpha  "
        "d_beta  gauss sigma a/b (\")  beat  fallback")
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, scenario, _ in chosen_scenarios(args.scenario):
            source = scenario.scene(1).sources[0]
            width = mrs.band(SCENARIOS[name]).beta_del
            for n in range(args.steps):
                across = source.across_slit_arcsec + args.widths * width * n / args.steps
                scene = replace(scenario.scene(1), sources=(replace(source, across_slit_arcsec=across),))
                observation = replace(scenario.observation, ngroups=3)
                folder = Path(tmp) / f"{name}_{n}"
                t0 = time.process_time()
                sim = simulate(scene, observation, folder, name=name, seed=1, effects=Effects.noise_free(),
                               references=perfect)
                cpu["sim"].append(time.process_time() - t0)
                results, t_cal = measure(sim, folder / "out")
                cpu["cal"].append(t_cal)
                for r in results:
                    for key in ESTIMATORS:
                        cpu[key].append(r[f"t_{key}"])
                    table.append(r)
                    out(f"{r['band']:4s}  {across:+.4f}  {r['slice']:5d}  {r['phase']:+.3f}  {r['true'][1]:+9.4f}  "
                        f"{_errors_text(r)}  {r['widths'][0]:.3f} / {r['widths'][1]:.3f}  {r['beat']:+6.2f}  "
                        f"{r['reason'] or '-'}")
                shutil.rmtree(folder)
        out("")
        out("Per band over the positions (mas): beta error mean, rms, min..max; alpha error mean, rms, min..max")
        out("band  first beta                    fit beta                      gauss beta                    "
            "first alpha                   fit alpha                     gauss alpha")
        for band in sorted({r["band"] for r in table}):
            rs = [r for r in table if r["band"] == band]
            cols = [_column(rs, key, axis) for axis in (1, 0) for key in ESTIMATORS]
            out(f"{band:4s}  " + "   ".join(_stats(c) for c in cols))
        if args.seeds:
            out("")
            out(f"Part 2: noisy (the scenarios' effects, the MRS's fringes and cross-artifact off; perfect "
                f"references), seeds {args.first_seed}-{args.first_seed + args.seeds - 1}, the scenarios' source "
                "position (along 0.1\", across 0.05\")")
            out("band  seed   first: d_alpha  d_beta    fit: d_alpha  d_beta  gauss: d_alpha  d_beta  fallback")
            noisy = []
            for name, scenario, effects in chosen_scenarios(args.scenario):
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    folder = Path(tmp) / f"{name}_noisy_{seed}"
                    t0 = time.process_time()
                    sim = simulate(scenario.scene(seed), scenario.observation, folder, name=name, seed=seed,
                                   effects=effects, references=perfect)
                    t_sim = time.process_time() - t0
                    results, t_cal = measure(sim, folder / "out")
                    shutil.rmtree(folder)
                    out(f"  ({name} seed {seed}: simulate {t_sim:.0f} s, calibrate {t_cal:.0f} s CPU)")
                    for r in results:
                        noisy.append(dict(r, seed=seed))
                        out(f"{r['band']:4s}  {seed:4d}  {_errors_text(r)}  {r['reason'] or '-'}")
            out("band  mean +/- sd (mas): first alpha    first beta      fit alpha       fit beta        gauss alpha"
                "     gauss beta      error length rms: first, fit   fallbacks")
            for band in sorted({r["band"] for r in noisy}):
                rs = [r for r in noisy if r["band"] == band]
                cols = [_column(rs, key, axis) for key in ESTIMATORS for axis in (0, 1)]
                length = {key: np.sqrt(np.mean(_column(rs, key, 0) ** 2 + _column(rs, key, 1) ** 2))
                          for key in ("first", "fit")}
                out(f"{band:4s}  {'':20s}" + "  ".join(f"{c.mean():+6.2f} {np.std(c, ddof=1):5.2f}" + " " * 2
                                                        for c in cols)
                    + f"  {length['first']:5.2f} {length['fit']:5.2f}   "
                      f"{sum(bool(r['reason']) for r in rs)} of {len(rs)}")
    out("")
    out(f"CPU (process_time), noise-free exposures: simulate {np.mean(cpu['sim']):.1f} s each, calibrate "
        f"{np.mean(cpu['cal']):.1f} s each; per cube (median, each from the cube): first moment "
        f"{1e3 * np.median(cpu['first']):.1f} ms, fit (first moment included) {1e3 * np.median(cpu['fit']):.1f} ms, "
        f"gauss {1e3 * np.median(cpu['gauss']):.1f} ms")
    print(write_result("mrs_centroid_phase" + (f"_{args.suffix}" if args.suffix else ""), "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
