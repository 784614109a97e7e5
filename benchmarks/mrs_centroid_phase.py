"""How the MRS cube centroid depends on where a point source sits within a slice (issue 16, MRS-ASTRO-1).

The extraction's centroid (:func:`calibration.mrs_extract.centroid`, the light-weighted first moment of the
collapsed cube within 4 lambda/D, which :mod:`validation.mrs_score` scores: ``first``) against two PROTOTYPES
kept here only (not in calibration/), both started from the first moment and using only what the calibration
has (the flight slices of :mod:`instrument.mrs`, the cube, lambda/D):

* ``gauss``: along beta, a least-squares fit of a Gaussian integrated over each slice's strip
  (``beta_k +/- beta_del / 2``) and averaged over each cube spaxel as the drizzle does (a spaxel holds the
  overlap-weighted mean of the slices it overlaps) to the collapsed cube's beta profile (its sum over the alpha
  columns within 4 lambda/D of the first moment); along alpha, a Gaussian integrated over the spaxel box to the
  alpha profile (the sum over the rows within 4 lambda/D).  Amplitude, centre and width free (the width starts
  at 1.4 x 1.03 lambda_c / D), no constant (the collapsed image has its median taken off, as the extraction's).
* ``proto``: along alpha the same Gaussian fit within 2 lambda/D; along beta (:func:`prototype_beta`), over the
  band's planes that every covered spaxel of the 1.5 lambda/D window uses, their mean image's beta profile fitted
  by an unobstructed circular pupil's Airy pattern at their mean wavelength (summed along alpha), convolved with
  a Gaussian of free width, integrated over the slices' strips and averaged over the spaxels as above; no
  constant.  The calibration knows this Airy already (its aperture correction without an APCORR); the true PSF
  (the simulator's hexagonal pupil, broadened) is not used.  Its windows were chosen on four of part 1's 4C/3C
  cubes and eight noisy ones (seeds 1-8) among 1.5-4 lambda/D (4C's beta at 4 lambda/D: noise-free -2.2..+2.1
  mas, noisy sd 4.8; at 1.5: -1.0..+0.4, sd 2.1), and wavelength chunks (1-8) and a free constant changed
  nothing that helped: part 2 therefore runs on seeds 13-24.

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
seeds from :data:`FIRST_SEED`, the scenarios' source position: mean and sd of each estimator's errors.

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
from scipy.special import j1, ndtr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import mrs_extract  # noqa: E402
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.instrument import mrs  # noqa: E402
from miri_testbed.instrument.mrs import lambda_over_d  # noqa: E402
from miri_testbed.simulator import Effects, MrsEffects, ReferenceOptions, simulate  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation import mrs_score  # noqa: E402
from miri_testbed.validation.scenarios import load_suite  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

SCENARIOS = {"mrs_short_lines": "2A", "mrs_ch34_long_yr3": "4C"}  # the scenario and its wider-sliced band
STEPS, SEEDS, FIRST_SEED = 16, 12, 13
#: The prototype's starting width: the MRS core is 15-60 % broader than diffraction (params 5).
WIDTH_FACTOR = 1.4
#: Windows (lambda_c / D): the Gaussian fits', the prototype's alpha and beta fits (chosen on 4C/3C cubes: module
#: docstring).
GAUSS_LD, PROTO_ALPHA_LD, AIRY_LD = 4.0, 2.0, 1.5


def _gauss_box(lo, hi, mu, sigma):
    """A unit Gaussian's mean density over ``[lo, hi]``."""
    return (ndtr((hi - mu) / sigma) - ndtr((lo - mu) / sigma)) / (hi - lo)


def _overlap(lo_a, hi_a, lo_b, hi_b):
    return np.clip(np.minimum(hi_a[:, None], hi_b[None, :]) - np.maximum(lo_a[:, None], lo_b[None, :]), 0, None)


def _strips(geometry):
    """The band's slices' beta strips ``(lo, hi)``, arcsec."""
    centres = np.asarray(geometry.beta)
    return centres - geometry.beta_del / 2, centres + geometry.beta_del / 2


def _slice_weights(geometry, edges, rows):
    """The band's slice strips ``(lo, hi)`` and each selected spaxel row's overlap-weighted share of every slice."""
    s_lo, s_hi = _strips(geometry)
    weights = _overlap(edges[:-1][rows], edges[1:][rows], s_lo, s_hi)
    return s_lo, s_hi, weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-30)


def gaussian_fit(cube, band, start, radius_ld=GAUSS_LD):
    """``gauss`` (module docstring): ``(alpha, beta)`` and the two widths, from the first moment ``start``."""
    grid = cube.grid
    image, covered = mrs_extract.collapsed_image(cube)
    ld = lambda_over_d(np.mean(grid.wavelength.edges[[0, -1]]))
    radius = radius_ld * ld
    a_c, b_c = grid.alpha.centres, grid.beta.centres
    cols = np.abs(a_c - start[0]) <= radius
    rows = np.abs(b_c - start[1]) <= radius
    sigma0 = WIDTH_FACTOR * 1.03 * ld / 2.3548
    # beta: the slices' strips, each spaxel the overlap-weighted mean of the slices it overlaps
    geometry = mrs.band(band)
    s_lo, s_hi, weights = _slice_weights(geometry, grid.beta.edges, rows)
    profile_b = image[np.ix_(rows, cols)].sum(axis=1)

    def beta_residual(p):
        return p[0] * weights @ _gauss_box(s_lo, s_hi, p[1], abs(p[2])) - profile_b

    fit_b = least_squares(beta_residual, [profile_b.max() * sigma0 * 2.5, start[1], sigma0], x_scale="jac")
    # alpha: the spaxel boxes
    ea = grid.alpha.edges
    profile_a = image[np.ix_(rows, cols)].sum(axis=0)

    def alpha_residual(p):
        return p[0] * _gauss_box(ea[:-1][cols], ea[1:][cols], p[1], abs(p[2])) - profile_a

    fit_a = least_squares(alpha_residual, [profile_a.max() * sigma0 * 2.5, start[0], sigma0], x_scale="jac")
    return (float(fit_a.x[1]), float(fit_b.x[1])), (abs(fit_a.x[2]), abs(fit_b.x[2]))


#: Its model's samples: per slice width, and across.
AIRY_PER_SLICE, AIRY_SAMPLES = 8, 256


def airy_marginal(ld, sample, n=AIRY_SAMPLES):
    """An unobstructed circular pupil's diffraction pattern (``lambda / D`` = ``ld``) summed along alpha, on ``n``
    samples of ``sample`` centred between the middle two (calibration's own Airy, as its aperture correction's)."""
    x = (np.arange(n) - (n - 1) / 2) * sample
    r = np.pi * np.hypot(x[:, None], x[None, :]) / ld
    image = np.where(r > 0, (2 * j1(np.maximum(r, 1e-12)) / np.maximum(r, 1e-12)) ** 2, 1.0)
    return image.sum(axis=1)


def prototype_beta(cube, band, start, radius_ld=AIRY_LD):
    """``proto``'s beta (module docstring): an Airy marginal convolved with a Gaussian (free width), integrated over
    the slices' strips and averaged over the spaxels, fitted to the mean image of the window's common planes."""
    grid = cube.grid
    usable = np.isfinite(cube.data) & (cube.coverage >= mrs_extract.COVERAGE_MIN)
    a, b = grid.alpha.centres, grid.beta.centres
    radius = radius_ld * lambda_over_d(np.mean(grid.wavelength.edges[[0, -1]]))
    planes = np.sum(usable, axis=0)
    covered = planes >= 0.5 * planes.max()
    rows, cols = np.abs(b - start[1]) <= radius, np.abs(a - start[0]) <= radius
    inside = rows[:, None] & cols[None, :] & covered
    common = np.flatnonzero(np.all(usable[:, inside], axis=1))
    geometry = mrs.band(band)
    s_lo, s_hi, weights = _slice_weights(geometry, grid.beta.edges, rows)
    sample = geometry.beta_del / AIRY_PER_SLICE
    edges = (np.arange(AIRY_SAMPLES + 1) - AIRY_SAMPLES / 2) * sample
    kx = np.arange(-AIRY_SAMPLES // 4, AIRY_SAMPLES // 4 + 1) * sample
    image = np.sum(np.where(usable[common], cube.data[common], 0.0), axis=0) / np.maximum(
        np.sum(usable[common], axis=0), 1)
    image = np.where(covered, image - np.median(image[covered]), 0.0)
    profile = image[np.ix_(rows, cols)].sum(axis=1)
    marginal = airy_marginal(lambda_over_d(float(np.mean(grid.wavelength.centres[common]))), sample)

    def model(mu, sigma):
        kernel = np.exp(-0.5 * (kx / max(abs(sigma), 1e-3 * sample)) ** 2)
        cum = np.r_[0, np.cumsum(np.convolve(marginal, kernel / kernel.sum(), mode="same"))]
        cum = cum / cum[-1]
        return weights @ ((np.interp(s_hi - mu, edges, cum) - np.interp(s_lo - mu, edges, cum)) / geometry.beta_del)

    def residual(p):
        return p[0] * model(p[1], p[2]) - profile

    fit = least_squares(residual, [profile.max() / model(start[1], sample).max(), start[1], 2 * sample],
                        x_scale="jac")
    return float(fit.x[1])


def beat(band, grid, beta, sigma):
    """The first moment's beta error (mas) the drizzle's resampling predicts (a diagnostic, from the truth).

    A spaxel holds the overlap-weighted mean of the slices over it, so a first moment over spaxels puts slice
    ``k``'s light at the overlap-weighted mean of the spaxel centres its strip covers, ``beta_k + eps_k``; the
    slice width is not a multiple of the spaxel, so ``eps_k`` changes from slice to slice (a beat).  The error:
    ``sum_k F_k eps_k / sum_k F_k``, ``F_k`` a Gaussian of ``sigma`` about ``beta`` integrated over the strips.
    """
    geometry = mrs.band(band)
    lo, hi = _strips(geometry)
    e = grid.beta.edges
    overlap = _overlap(lo, hi, e[:-1], e[1:])
    eps = overlap @ grid.beta.centres / overlap.sum(axis=1) - np.asarray(geometry.beta)
    light = ndtr((hi - beta) / sigma) - ndtr((lo - beta) / sigma)
    return 1e3 * float(np.sum(light * eps) / light.sum())


def measure(sim, out_dir):
    """Per band: truth, phase, the first moment's and the prototype's errors (mas), and the CPU of each part."""
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
        first = np.array(mrs_extract.centroid(cube, mrs_extract.CENTROID_LD, target=tuple(true)))
        t_first = time.process_time() - t1
        t1 = time.process_time()
        gauss, widths = gaussian_fit(cube, band, first)
        t_gauss = time.process_time() - t1
        t1 = time.process_time()
        proto = np.array([gaussian_fit(cube, band, first, PROTO_ALPHA_LD)[0][0], prototype_beta(cube, band, first)])
        t_proto = time.process_time() - t1
        # the scorer's own numbers for the first moment: they must be the same
        b = mrs_score.band_bin(band)
        d_beta = [r["value"] for r in scored if r["metric"] == "mrs_centroid_beta_offset" and r["bin"] == b][0]
        assert abs(d_beta - 1e3 * (first[1] - true[1])) < 1e-6
        geometry = mrs.band(band)
        k = int(np.argmin(np.abs(np.asarray(geometry.beta) - true[1])))
        phase = (true[1] - geometry.beta[k]) / geometry.beta_del
        results.append(dict(band=band, true=true, phase=phase, beat=beat(band, cube.grid, true[1], widths[1]),
                            slice=k + 1, first=1e3 * (first - true),
                            gauss=1e3 * (np.array(gauss) - true), proto=1e3 * (proto - true), widths=widths,
                            t_first=t_first, t_gauss=t_gauss, t_proto=t_proto))
    return results, t_cal


def _stats(v):
    return f"{v.mean():+6.2f} {np.sqrt(np.mean(v ** 2)):5.2f} {v.min():+6.2f}..{v.max():+6.2f}"


#: The estimators' keys in a result row, as the tables print them: the first moment, the Gaussian fit, the prototype.
ESTIMATORS = ("first", "gauss", "proto")


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
    suite = {s.name: s for s in load_suite("mrs_effects").scenarios}
    perfect = ReferenceOptions(kind="perfect")
    cpu = dict(sim=[], cal=[], first=[], gauss=[], proto=[])
    out("Part 1: noise-free (Effects.noise_free()), perfect references; error = measured - true (mas); phase = "
        "(beta_true - nearest slice centre) / slice width")
    out("first: the extraction's first moment; gauss: Gaussian fits (alpha, beta) within 4 lambda/D; proto: alpha the "
        "Gaussian fit within 2 lambda/D, beta the Airy (x) Gaussian fit within 1.5 lambda/D (module docstring)")
    out("band  across\"  slice  phase   beta_true\"  first: d_alpha  d_beta  gauss: d_alpha  d_beta  proto: d_alpha  "
        "d_beta  gauss sigma a/b (\")  beat")
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, wide in SCENARIOS.items():
            if args.scenario and name != args.scenario:
                continue
            scenario = suite[name]
            source = scenario.scene(1).sources[0]
            width = mrs.band(wide).beta_del
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
                        f"{_errors_text(r)}  {r['widths'][0]:.3f} / {r['widths'][1]:.3f}  {r['beat']:+6.2f}")
                shutil.rmtree(folder)
        out("")
        out("Per band over the positions (mas): beta error mean, rms, min..max; alpha error mean, rms, min..max")
        out("band  first beta                    gauss beta                    proto beta                    "
            "first alpha                   gauss alpha                   proto alpha")
        for band in sorted({r["band"] for r in table}):
            rs = [r for r in table if r["band"] == band]
            cols = [_column(rs, key, axis) for axis in (1, 0) for key in ESTIMATORS]
            out(f"{band:4s}  " + "   ".join(_stats(c) for c in cols))
        if args.seeds:
            out("")
            out(f"Part 2: noisy (the scenarios' effects, the MRS's fringes and cross-artifact off; perfect "
                f"references), seeds {args.first_seed}-{args.first_seed + args.seeds - 1}, the scenarios' source "
                "position (along 0.1\", across 0.05\")")
            out("band  seed   first: d_alpha  d_beta  gauss: d_alpha  d_beta  proto: d_alpha  d_beta")
            noisy = []
            for name in SCENARIOS:
                if args.scenario and name != args.scenario:
                    continue
                scenario = suite[name]
                effects = replace(scenario.effects, mrs=MrsEffects())
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
                        out(f"{r['band']:4s}  {seed:4d}  {_errors_text(r)}")
            out("band  mean +/- sd (mas): first alpha    first beta      gauss alpha     gauss beta      proto alpha"
                "     proto beta")
            for band in sorted({r["band"] for r in noisy}):
                rs = [r for r in noisy if r["band"] == band]
                cols = [_column(rs, key, axis) for key in ESTIMATORS for axis in (0, 1)]
                out(f"{band:4s}  {'':20s}" + "  ".join(f"{c.mean():+6.2f} {np.std(c, ddof=1):5.2f}" + " " * 2
                                                        for c in cols))
    out("")
    out(f"CPU (process_time), noise-free exposures: simulate {np.mean(cpu['sim']):.1f} s each, calibrate "
        f"{np.mean(cpu['cal']):.1f} s each; per cube: first moment {1e3 * np.mean(cpu['first']):.0f} ms, gauss "
        f"{1e3 * np.mean(cpu['gauss']):.0f} ms, proto {1e3 * np.median(cpu['proto']):.0f} ms (median; each from the "
        "cube)")
    print(write_result("mrs_centroid_phase" + (f"_{args.suffix}" if args.suffix else ""), "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
