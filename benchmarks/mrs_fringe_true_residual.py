"""The fringe `mrs_effects`' faint spectra keep without their noise: FRINGE-1's reading less the noise (issue 17).

FRINGE-1 reads the largest sinusoid over the fringe's band of periods in a noisy x1d, so on a faint spectrum it
measures fringe and noise together (:mod:`validation.mrs_fringe_score`).  This takes the noise away: each
scenario of suite ``mrs_effects`` (its scene, observation, measured references with the seed's own errors) is
simulated with every detector and optics effect off (``Effects.noise_free()``: no noise, and no pointing error,
distortion perturbation or throughput decay either, which the ratio below divides out) and the scenario's MRS
effects but the cross-artifact, with fringes and without, and calibrated with each variant of the fringe steps; the
fringe-free twin with no fringe step, on the fringed exposure's references.  Per band and variant: the x1d over the
twin on the scored continuum planes (:func:`validation.mrs_score.continuum_planes`), normalised by its mean, and
on it FRINGE-1's statistic (:func:`validation.mrs_fringe_score.fringe_amplitude`) with equal weights and no
Legendre detrend (FRINGE-1 divides out a degree-3 series first; without noise the two differ by ~0.005 %), and its
rms (slow trends included: not a fringe-only figure).

Without noise the 1-D fit (``residual_fringe=fit``) sees every fringe (the x1d's errors are the noise model's, but
the residual holds no noise): its rows are what it leaves when it takes the fringe, the ``flat`` / ``psfringe`` rows
what is left where it is rightly silent, as on a faint spectrum whose fringe is below its noise.

    python benchmarks/mrs_fringe_true_residual.py [--seeds 1 ...] [--scenarios NAME ...] [--workdir DIR] [--record]
    (~4 min a seed for both scenarios)
"""
import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.simulator import Effects, simulate  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation import mrs_score  # noqa: E402
from miri_testbed.validation.mrs_fringe_score import fringe_amplitude  # noqa: E402
from miri_testbed.validation.scenarios import load_suite  # noqa: E402

from imager_common import publish, transcript  # noqa: E402

VARIANTS = {"flat": {}, "psfringe": {"fringe": "point_source"},
            "flat+fit": {"residual_fringe": "fit"},
            "psfringe+fit": {"fringe": "point_source", "residual_fringe": "fit"}}
TWIN = {"fringe": "none", "residual_fringe": "none"}


def residuals(scenario, seed, folder, out):
    """One scenario and seed: a row per band and variant (module docstring)."""
    mrs_effects = replace(scenario.effects.mrs, cross_artifact=False)
    sims = {}
    for fringes in (True, False):
        effects = replace(Effects.noise_free(), mrs=replace(mrs_effects, fringes=fringes))
        sims[fringes] = simulate(scenario.scene(seed), scenario.observation, folder / f"fringes_{fringes}",
                                 name=scenario.name, seed=seed, effects=effects, references=scenario.references)
    refs, lines = sims[True]["refs"], read_truth(sims[True]["truth"]).table("LINES")
    twin = mrs_score.read_spectra(calibrate(sims[False]["uncal"], folder / "twin", refs, TWIN)["x1d"])
    for name, algorithms in VARIANTS.items():
        spectra = mrs_score.read_spectra(calibrate(sims[True]["uncal"], folder / name, refs, algorithms)["x1d"])
        for band, spectrum in spectra.items():
            scored = mrs_score.continuum_planes(spectrum, lines) & twin[band].usable
            ratio = spectrum.flux[scored] / twin[band].flux[scored]
            ratio /= np.mean(ratio)
            amplitude = fringe_amplitude(1e4 / spectrum.wavelength[scored], ratio - 1, np.ones(ratio.size))
            out(f"| {scenario.name} | {seed} | {band} | {name} | {100 * amplitude:.3f} | {100 * np.std(ratio):.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="the cells' seeds (default 1)")
    parser.add_argument("--scenarios", nargs="+", help="of suite mrs_effects (default: all)")
    parser.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    parser.add_argument("--record", action="store_true",
                        help="write benchmarks/results/<date>_mrs_fringe_true_residual.txt")
    args = parser.parse_args()
    scenarios = load_suite("mrs_effects").scenarios
    unknown = set(args.scenarios or ()) - {s.name for s in scenarios}
    if unknown:
        raise SystemExit(f"mrs_fringe_true_residual: no scenario {sorted(unknown)} in suite mrs_effects "
                         f"(it has {[s.name for s in scenarios]})")
    out, lines = transcript()
    start = time.time()
    out("mrs_effects without noise, the cross-artifact off: the x1d over its fringe-free twin on the continuum "
        "planes, %")
    out("| scenario | seed | band | variant | fringe-band amplitude | rms |")
    out("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.workdir or tmp)
        for scenario in scenarios:
            if args.scenarios and scenario.name not in args.scenarios:
                continue
            for seed in args.seeds:
                residuals(scenario, seed, folder / scenario.name / f"seed{seed}", out)
    out(f"({time.time() - start:.0f} s wall)")
    if args.record:
        publish("mrs_fringe_true_residual", lines)


if __name__ == "__main__":
    main()
