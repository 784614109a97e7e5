"""Time and peak memory of ``miri-testbed simulate`` for LRS time series (SLITLESSPRISM TSO).

The scenario is ``validation/suites/lrs_tso.toml`` (a transit, settling on, every effect
on, measured references) with its integrations and groups set; each size runs as a user
runs it, in a fresh process, its peak resident memory measured as in
``benchmarks/memory.py``.  The ramp array is nints x ngroups x 416 x 72 float32: the
uncal's, and the truth's LINEAR is as large (made after the uncal is written and let go).
The speed benchmark of the TSO calibration needs the 1000 x 10 uncal.

    python benchmarks/lrs_tso_simulate.py [--sizes 200x5 1000x10] [--seed 1] [--keep DIR] [--record]
"""
import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import CLI, GB, peak  # noqa: E402

from miri_testbed.validation.scenarios import load_suite, scenario_toml  # noqa: E402

from imager_common import publish  # noqa: E402

SUITE = Path(__file__).resolve().parents[1] / "validation" / "suites" / "lrs_tso.toml"


def write_suite(path, nints, ngroups, seed):
    """The lrs_tso scenario with ``nints`` x ``ngroups`` as a suite file; its ramp array's size in bytes."""
    scenario = load_suite(SUITE).scenarios[0]
    scenario = replace(scenario, observation=replace(scenario.observation, nints=nints, ngroups=ngroups))
    path.write_text(f'[suite]\nname = "lrs_tso_simulate"\nseeds = [{seed}]\n\n' + scenario_toml(scenario))
    return scenario.name, nints * ngroups * 416 * 72 * 4


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["200x5", "1000x10"], help="NINTSxNGROUPS")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="simulate into this folder (kept) instead of a temporary one")
    parser.add_argument("--record", action="store_true", help="write the result to benchmarks/results/")
    args = parser.parse_args(argv)
    floor, *_ = peak([sys.executable, "-c", "import miri_testbed.validation.cli"])
    lines = [f"# lrs_tso scenario (SLITLESSPRISM FASTR1, transit, settling, every effect on), seed {args.seed}; "
             f"peak resident memory of simulate in a fresh process; importing the command line alone: "
             f"{floor / GB:.2f} GB",
             f"{'nints x ngroups':>15}  {'ramp array':>10}  {'simulate':>9}  {'x ramp':>6}  {'wall':>5}  {'CPU':>5}  "
             f"{'uncal':>8}  {'truth':>8}"]
    for size in args.sizes:
        nints, ngroups = (int(n) for n in size.split("x"))
        with tempfile.TemporaryDirectory(prefix="miri-tso-") as tmp:
            out = args.keep / size if args.keep else Path(tmp)
            name, ramp = write_suite(Path(tmp) / "suite.toml", nints, ngroups, args.seed)
            used, wall, cpu = peak(CLI + ["simulate", "--suite", str(Path(tmp) / "suite.toml"), "--seed",
                                          str(args.seed), "-o", str(out / "sim")])
            folder = out / "sim" / name
            uncal, truth = ((folder / f"{name}_{kind}.fits").stat().st_size for kind in ("uncal", "truth"))
        lines.append(f"{size:>15}  {ramp / GB:7.2f} GB  {used / GB:6.2f} GB  {used / ramp:6.2f}  {wall:4.0f}s  "
                     f"{cpu:4.0f}s  {uncal / GB:5.2f} GB  {truth / GB:5.2f} GB")
        print(lines[-1], flush=True)
    publish("lrs_tso_simulate", lines)


if __name__ == "__main__":
    main()
