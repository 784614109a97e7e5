"""Crowded fields: aperture against PSF-fitting photometry, isolated and blended stars apart.

Fields: SUB256, every effect on, measured references (the PSFGRID reference is the
ePSF a simulated calibration programme measures, simulator.epsf), 25 stars of
0.1-20 mJy anywhere in the field (neighbours 5-30 px apart are common), in F770W,
F1500W and F2550W; or, with --suite, the scenarios of a suite (the issue's check:
--suite full --seeds 1).  Both catalog variants run on the same exposures (same seeds).
With --perfect-refs every reference is the truth (a PSF model, photometric factor and
decay without error): what is left is the photometry's own error.

Reported per scenario and variant: the median flux ratio minus 1 (S/N > 100) of all
matched stars (what IMG-FLUX-1 pools), of isolated and of blended stars (blended:
neighbours put >= 0.5 % of the star's own light into its aperture; validation.crowding),
with the IQR and count; the fraction of true stars
detected; false detections per exposure; the flux pull width (robust, 1.4826 MAD of
(ratio - 1) * S/N, S/N > 20); and the wall time of stage 3 (cruciform, background,
catalog, alignment) on the first seed's cal product, best of --repeat runs, with the
PSF/aperture time ratio.

Run:  python benchmarks/imager_crowded.py [--suite NAME|FILE] [--seeds 1 2 3] [--perfect-refs] [--repeat 3]
      [--record]
"""
import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import image3, registry
from miri_testbed.calibration.steps import StepLog
from miri_testbed.simulator import Observation, ReferenceOptions
from miri_testbed.validation.scenarios import RandomStars, Scenario, load_suite

from imager_common import median_iqr, publish, run

FIELDS = {"F770W": (20, 5.0), "F1500W": (30, 20.0), "F2550W": (10, 150.0)}  # filter: (ngroups, background MJy/sr)
STARS = RandomStars(25, 0.1, 20.0, margin_pix=20)
VARIANTS = ("aperture", "psf")


def crowded_fields():
    return [Scenario(f"{f.lower()}_crowded", Observation(filter=f, subarray="SUB256", ngroups=ngroups),
                     background_mjy_sr=background, random_stars=STARS)
            for f, (ngroups, background) in FIELDS.items()]


def stage3_seconds(cell_dir, name, variant, repeat):
    """Best-of-``repeat`` wall time of image3 on the kept cal product of one cell."""
    exposure = dm.open(cell_dir / f"{name}_uncal.fits")
    cal = dm.open(cell_dir / "products" / f"{name}_cal.fits")
    choice = registry.resolve({"catalog": variant})
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        image3.run(StepLog(), exposure, cal.copy(), cell_dir / "refs", choice)
        times.append(time.perf_counter() - start)
    return min(times)


def pull_width(flux):
    sel = flux[flux.snr > 20]
    pulls = (sel["value"] - 1.0) * sel["snr"]
    return 1.4826 * np.median(np.abs(pulls - np.median(pulls))) if len(pulls) else np.nan


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", help="the scenarios of this suite instead of the crowded fields")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--perfect-refs", action="store_true", help="every reference the truth")
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats (best of)")
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/results/")
    args = parser.parse_args()
    scenarios = load_suite(args.suite).scenarios if args.suite else crowded_fields()
    if args.perfect_refs:
        scenarios = [dataclasses.replace(s, references=ReferenceOptions(kind="perfect")) for s in scenarios]
    tables, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in VARIANTS:
            workdir = Path(tmp) / variant
            tables[variant] = run(scenarios, args.seeds, workdir, {"catalog": variant}, keep_products=True)
        for s in scenarios:  # both variants timed on the same cal product
            cell = Path(tmp) / "aperture" / s.name / f"seed{args.seeds[0]}"
            seconds[s.name] = {v: stage3_seconds(cell, s.name, v, args.repeat) for v in VARIANTS}
    lines = [__doc__.split("\n\n")[0], f"{'suite ' + args.suite if args.suite else 'crowded SUB256 fields'}, "
             f"seeds {args.seeds}, {'perfect' if args.perfect_refs else 'measured'} references", "",
             f"{'scenario':22s} {'catalog':9s} {'all':>8s} {'n':>4s} {'isolated':>9s} {'IQR':>7s} {'n':>4s} "
             f"{'blended':>9s} {'IQR':>7s} {'n':>4s} {'detected':>8s} {'false/exp':>9s} {'pull w':>6s} "
             f"{'stage3 s':>8s} {'x aperture':>10s}"]
    for s in scenarios:
        for variant in VARIANTS:
            t = tables[variant]
            t = t[t.scenario == s.name]
            every, _, na = median_iqr(t.loc[(t.metric == "flux_ratio") & (t.snr > 100), "value"])
            iso, iiqr, ni = median_iqr(t.loc[(t.metric == "flux_ratio_isolated") & (t.snr > 100), "value"])
            bl, biqr, nb = median_iqr(t.loc[(t.metric == "flux_ratio_blended") & (t.snr > 100), "value"])
            detected = t.loc[t.metric == "detected", "value"].mean()
            false = t.loc[t.metric == "false_detections", "value"].mean()
            sec = seconds[s.name][variant]
            lines.append(f"{s.name[:22]:22s} {variant:9s} {every - 1:+8.4f} {na:4d} {iso - 1:+9.4f} {iiqr:7.4f} "
                         f"{ni:4d} {bl - 1:+9.4f} {biqr:7.4f} {nb:4d} {detected:8.3f} {false:9.2f} "
                         f"{pull_width(t[t.metric == 'flux_ratio']):6.2f} {sec:8.2f} "
                         f"{sec / seconds[s.name]['aperture']:10.1f}")
        lines.append("")
    name = "imager_crowded" + (f"_{Path(args.suite).stem}" if args.suite else "")
    publish(name + ("_perfect" if args.perfect_refs else ""), lines)


if __name__ == "__main__":
    main()
