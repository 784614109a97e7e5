"""Suite ``mrs_effects``' ordinary-source scenario over many seeds, the cross-artifact on and off (issue 17).

One seed's FRINGE-1 on a faint spectrum is a draw: the fringe statistic (the largest sinusoid over the scan) of a
fringe-free spectrum reaches 1.2x its median often (``mrs_fringe_noise_fail_rate``).  This runs one scenario of
``mrs_effects`` (default ``mrs_ch34_long_yr3``: 3C/4C, 50 mJy, three years in) with ``residual_fringe=fit`` (or the
``--algorithm`` variants given) over
the given seeds, once per cross-artifact setting (``miri-testbed run`` on a suite written into WORKDIR; a setting
whose ``metrics.csv`` exists is not run again; a folder of other variants is refused), and prints per band:

* the fringe amplitude (mean, sd over seeds), FRINGE-1's failures against the number noise alone predicts (the sum of
  the seeds' ``mrs_fringe_noise_fail_rate``, +/- its binomial sd), and the p-values' mean and their Kolmogorov-
  Smirnov probability against uniform (noise alone: mean 0.5, KS probability not small);
* and per setting MRS-FLUX-1's (``mrs_flux_ratio`` outside 0.99-1.01), MRS-ASTRO-1's (``mrs_band_offset`` > 10 mas)
  and XART-1's (``mrs_xart_over_target`` > 1) failures, and the range of ``mrs_xart_net``.

    python benchmarks/mrs_effects_seeds.py WORKDIR [--seeds 1 2 ...] [--scenario NAME] [--algorithm STEP=NAME ...]
        [--settings xart_on xart_off] [--record [NAME]]

``--record`` writes ``benchmarks/results/<date>_mrs_effects_seeds.txt`` (``_<NAME>`` appended when given).
"""
import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from miri_testbed.validation.scenarios import load_suite, scenario_toml  # noqa: E402

from imager_common import publish  # noqa: E402

SETTINGS = {"xart_on": True, "xart_off": False}
DEFAULT_ALGORITHMS = ("residual_fringe=fit",)


def suite_file(folder, scenario, seeds, cross_artifact):
    """Write the one-scenario suite of this cross-artifact setting; its path."""
    mrs = dataclasses.replace(scenario.effects.mrs, cross_artifact=cross_artifact)
    scenario = dataclasses.replace(scenario, effects=dataclasses.replace(scenario.effects, mrs=mrs))
    path = folder / f"{folder.name}.toml"
    path.write_text(f'[suite]\nname = "{folder.name}"\nseeds = {list(seeds)}\n\n{scenario_toml(scenario)}\n')
    return path


def run(folder, scenario, seeds, cross_artifact, algorithms=DEFAULT_ALGORITHMS):
    """The setting's metrics (a table), run unless ``folder/metrics.csv`` is there; ``algorithms``: STEP=NAME."""
    folder.mkdir(parents=True, exist_ok=True)
    metrics, chosen_file = folder / "report" / "metrics.csv", folder / "algorithms.txt"
    wanted = " ".join(algorithms)
    if metrics.exists() and (not chosen_file.exists() or chosen_file.read_text() != wanted):
        raise SystemExit(f"mrs_effects_seeds: {folder} holds a run of other algorithms "
                         f"({chosen_file.read_text() if chosen_file.exists() else 'not recorded'}), not {wanted}")
    if not metrics.exists():
        chosen_file.write_text(wanted)
        suite = suite_file(folder, scenario, seeds, cross_artifact)
        # exit status 1 means a target failed, which is what is measured here; a crash leaves no metrics
        chosen = [item for algorithm in algorithms for item in ("--algorithm", algorithm)]
        subprocess.run(["miri-testbed", "run", "--suite", str(suite), "--workers", "1", *chosen,
                        "-o", str(folder / "report")], check=False)
    if not metrics.exists():
        raise SystemExit(f"mrs_effects_seeds: the run of {folder.name} wrote no {metrics}; see its output above")
    return pd.read_csv(metrics)


def values(table, metric, band=None):
    """One metric's values over the seeds (one band's when ``band`` is given)."""
    rows = table[table.metric == metric]
    return (rows if band is None else rows[np.isclose(rows.bin, band)]).value.to_numpy()


def summary(label, table):
    """The setting's table lines."""
    lines = []
    for band in sorted(table[table.metric == "mrs_fringe_amplitude"].bin.unique()):
        amplitude, ratio = values(table, "mrs_fringe_amplitude", band), values(table, "mrs_fringe_over_target", band)
        rate, pvalue = values(table, "mrs_fringe_noise_fail_rate", band), values(table, "mrs_fringe_noise_pvalue", band)
        predicted, spread = rate.sum(), np.sqrt(np.sum(rate * (1 - rate)))
        lines.append(f"| {label} | {band:g} | {len(amplitude)} | {100 * amplitude.mean():.3f} +/- "
                     f"{100 * amplitude.std(ddof=1):.3f} | {int(np.sum(ratio > 1))} | {predicted:.1f} +/- {spread:.1f} "
                     f"| {pvalue.mean():.2f} | {stats.kstest(pvalue, 'uniform').pvalue:.2f} |")
    flux, offset = values(table, "mrs_flux_ratio"), values(table, "mrs_band_offset")
    xart, net = values(table, "mrs_xart_over_target"), values(table, "mrs_xart_net")
    others = (f"{label}: MRS-FLUX-1 fails {int(np.sum(np.abs(flux - 1) > 0.01))} of {len(flux)} band results "
              f"({flux.min():.4f} ... {flux.max():.4f}); MRS-ASTRO-1 fails {int(np.sum(offset > 10))} of {len(offset)} "
              f"(max {offset.max():.2f} mas)")
    if len(xart):
        others += (f"; XART-1 fails {int(np.sum(xart > 1))} of {len(xart)} (over_target {xart.min():.3f} ... "
                   f"{xart.max():.3f}, net {net.min():.4f} ... {net.max():.4f})")
    return lines, others


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 18)))
    parser.add_argument("--scenario", default="mrs_ch34_long_yr3")
    parser.add_argument("--algorithm", action="append", metavar="STEP=NAME",
                        help=f"calibrate's variants, repeatable (default: {' '.join(DEFAULT_ALGORITHMS)})")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--record", nargs="?", const="", default=None, metavar="NAME")
    args = parser.parse_args(argv)
    algorithms = tuple(args.algorithm or DEFAULT_ALGORITHMS)
    scenario = {s.name: s for s in load_suite("mrs_effects").scenarios}[args.scenario]
    lines = [f"# {args.scenario} of suite mrs_effects, {' '.join(algorithms)}, seeds {args.seeds}",
             "", "| setting | band | seeds | fringe amplitude % (mean +/- sd) | FRINGE-1 fails | noise alone predicts "
             "| p-value mean | KS prob. (uniform) |", "|---|---|---|---|---|---|---|---|"]
    others = []
    for label in args.settings:
        table_lines, other = summary(label, run(args.workdir / label, scenario, args.seeds, SETTINGS[label],
                                                algorithms))
        lines += table_lines
        others.append(other)
    lines += [""] + others
    if args.record is not None:
        publish("_".join(filter(None, ("mrs_effects_seeds", args.record))), lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
