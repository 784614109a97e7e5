"""Our side of the LRS time-series speed test, an older commit's code against this tree's, in the same conditions.

``benchmarks/lrs_tso_speed.py``'s ``calibrate`` of the 1000 x 10 SLITLESSPRISM TSO (its ``--side ours``: every
stage timed in wall and CPU seconds), run by the code of ``--base`` (``git archive`` into a temporary folder, put
first on ``PYTHONPATH``, so it replaces the installed package) and by this tree's, alternating, each run a fresh
process (``memory.peak``: its CPU time and peak resident memory).  On the shared 2-core machine a run's CPU time
moves with the load by 10-30 %, so a change is measured against its base in the same minutes, not against a
result recorded at another load.  Printed: each run's stage CPU seconds, the detector1 stages other than EMI
summed, the whole process, its peak, the load; then the median of each side and their ratio.  The products of the
last run of each side are compared array by array (``identical`` or not).

    python benchmarks/lrs_tso_ab.py --base COMMIT [--repeat 2] [--workdir DIR] [--record]

With ``--record`` the result is ``benchmarks/results/<date>_lrs_tso_ab.txt``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import GB, LAUNCHER  # noqa: E402

from imager_common import ROOT, publish  # noqa: E402

#: The stages summed: detector1's but EMI, the reading and the writing (issue 15's "the rest").
STAGES = ("read the uncal", "saturation", "firstframe", "linearity", "dark", "jump", "showers", "ramp_fit",
          "write the products")
PACKAGES = ("calibration", "simulator", "instrument", "validation")


def base_tree(commit, folder):
    """``PYTHONPATH`` that imports ``miri_testbed`` from ``commit``'s files (archived into ``folder``)."""
    tree = Path(folder) / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, *PACKAGES], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    package = Path(folder) / "path" / "miri_testbed"
    package.mkdir(parents=True)
    for name in PACKAGES:
        (package / name).symlink_to(tree / name)
    return str(package.parent)


def run(side, env, uncal, refs, workdir):
    """One fresh ``--side ours`` run: ``(stage seconds, CPU s, peak bytes, output folder)``."""
    out = Path(workdir) / f"ab_{side}"
    out.mkdir(exist_ok=True)
    for old in out.glob("*"):
        old.unlink()
    config = Path(workdir) / f"ab_{side}_config.json"
    report = Path(workdir) / f"ab_{side}.json"
    config.write_text(json.dumps({"uncal": str(uncal), "refs": str(refs), "output": str(out), "report": str(report)}))
    done = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, str(Path(__file__).parent /
                                                                              "lrs_tso_speed.py"),
                           "--side", "ours", str(config)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{side} failed:\n{done.stderr[-3000:]}")
    kilobytes, _, cpu = done.stdout.split()
    return json.loads(report.read_text())["seconds"], float(cpu), int(kilobytes) * 1024, out


def identical(a, b):
    """Whether every FITS array and ECSV table of folder ``a`` is the same, bit for bit, in ``b``."""
    from astropy.io import fits

    for path in sorted(a.glob("*.fits")):
        with fits.open(path) as x, fits.open(b / path.name) as y:
            for hdu in x:
                if hdu.name != "ASDF" and hdu.data is not None and hdu.data.tobytes() != y[hdu.name].data.tobytes():
                    return False
    return all(p.read_text() == (b / p.name).read_text() for p in a.glob("*.ecsv"))


def measure(args):
    from lrs_tso_speed import exposure

    uncal, refs = exposure(args.workdir, args.nints, args.ngroups, args.seed)
    workdir = uncal.parent
    lines = [f"# our calibrate of the lrs_tso scenario at {args.nints} x {args.ngroups} (an archive uncal), the code "
             f"of {args.base} (base) and of this tree (new) alternating, fresh processes; CPU seconds"]
    runs = {"base": [], "new": []}
    with tempfile.TemporaryDirectory() as folder:
        env = {"base": dict(os.environ, PYTHONPATH=base_tree(args.base, folder)), "new": dict(os.environ)}
        for repeat in range(args.repeat):
            for side in ("base", "new"):
                load = os.getloadavg()[0]
                seconds, cpu, used, out = run(side, env[side], uncal, refs, workdir)
                summed = sum(seconds[s][1] for s in STAGES if s in seconds)
                runs[side].append((summed, cpu, used, seconds, out))
                lines.append(f"{side} run {repeat + 1}: these stages {summed:.2f}, process {cpu:.1f}, peak "
                             f"{used / GB:.2f} GB, load {load:.1f}-{os.getloadavg()[0]:.1f}: "
                             + ", ".join(f"{s} {seconds[s][1]:.2f}" for s in STAGES if s in seconds)
                             + f"; emi {seconds['emi'][1]:.2f}")
                print(lines[-1], flush=True)
    medians = {side: np.median([r[0] for r in rows]) for side, rows in runs.items()}
    for side, rows in runs.items():
        stage = {s: np.median([r[3][s][1] for r in rows if s in r[3]]) for s in STAGES}
        lines.append(f"{side} median: these stages {medians[side]:.2f}, process {np.median([r[1] for r in rows]):.1f}, "
                     f"peak {max(r[2] for r in rows) / GB:.2f} GB: " + ", ".join(f"{s} {v:.2f}" for s, v in
                                                                                 stage.items()))
    lines.append(f"new / base, these stages: {medians['new'] / medians['base']:.2f}; products of the last runs "
                 f"{'identical' if identical(runs['base'][-1][4], runs['new'][-1][4]) else 'DIFFERENT'}")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--nints", type=int, default=1000)
    parser.add_argument("--ngroups", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/miri-lrs-tso-speed"),
                        help="lrs_tso_speed.py's: where the exposure is simulated once and kept")
    parser.add_argument("--record", action="store_true", help="write the result to benchmarks/results/")
    publish("lrs_tso_ab", measure(parser.parse_args()))


if __name__ == "__main__":
    main()
