"""Peak memory of ``miri-testbed simulate`` and ``calibrate`` on full-frame exposures.

Each command runs as a user runs it, in a fresh process (``python -m
miri_testbed.validation.cli``), and its peak resident memory is that process's
``ru_maxrss`` (``os.wait4``, started from a small launcher so that the benchmark's own
memory is not counted: :data:`LAUNCHER`).  It is given as a multiple of the ramp array,
nints x ngroups x 1024 x 1032 float32, the one array both commands must hold.  The
scenario is the default suite's ``f770w_full_field`` (FULL, FASTR1, one integration,
every effect on, measured references) with ``ngroups`` set; ``calibrate`` uses the
reference folder ``simulate`` wrote.  The first line gives what the interpreter holds
after importing the command line alone (libraries and code): a floor every command pays,
which is most of the peak at 10 groups.  Wall times are of a shared 2-core machine.

    python benchmarks/memory.py [--ngroups 10 100] [--seed 1] [--record]
"""
import argparse
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.validation.scenarios import load_suite, scenario_toml  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

SCENARIO = "f770w_full_field"
CLI = [sys.executable, "-m", "miri_testbed.validation.cli"]
GB = 1e9


#: Runs a command (its arguments) in a child of its own and prints the child's peak resident
#: memory (kB), wall seconds and CPU seconds (user + system).  Linux keeps a process's memory
#: high-water mark across exec, so a command started straight from the benchmark would count
#: the benchmark's own memory; started from this small interpreter, it counts that one's
#: (~10 MB) at most.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, time.perf_counter() - start, usage.ru_utime + usage.ru_stime)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak(command):
    """``(peak resident memory in bytes, wall seconds, CPU seconds)`` of ``command`` run in a
    new process (started through :data:`LAUNCHER`)."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *map(str, command)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stderr[-5000:]}")
    kilobytes, seconds, cpu = done.stdout.split()
    return int(kilobytes) * 1024, float(seconds), float(cpu)  # ru_maxrss is in kB on Linux


def write_suite(path, ngroups, seed):
    """A suite file of the default suite's full-frame scenario with ``ngroups`` groups; its
    ramp array's size in bytes."""
    scenario = next(s for s in load_suite("default").scenarios if s.name == SCENARIO)
    scenario = replace(scenario, observation=replace(scenario.observation, ngroups=ngroups))
    path.write_text(f'[suite]\nname = "memory"\nseeds = [{seed}]\n\n' + scenario_toml(scenario))
    return scenario.observation.nints * ngroups * 1024 * 1032 * 4


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ngroups", type=int, nargs="+", default=[10, 100], help="groups per integration")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="write the result to benchmarks/results/")
    args = parser.parse_args(argv)
    floor, *_ = peak([sys.executable, "-c", "import miri_testbed.validation.cli"])
    out, lines = transcript()
    out(f"# FULL FASTR1 ({SCENARIO} of the default suite), seed {args.seed}; peak resident memory of each "
        f"command in a fresh process; importing the command line alone: {floor / GB:.2f} GB")
    out(f"{'ngroups':>7}  {'ramp array':>10}  {'simulate':>9}  {'x ramp':>6}  {'time':>5}  "
        f"{'calibrate':>9}  {'x ramp':>6}  {'time':>5}")
    for ngroups in args.ngroups:
        with tempfile.TemporaryDirectory(prefix="miri-memory-") as tmp:
            tmp = Path(tmp)
            ramp = write_suite(tmp / "suite.toml", ngroups, args.seed)
            simulated, t_sim, _ = peak(CLI + ["simulate", "--suite", str(tmp / "suite.toml"), "--seed", str(args.seed),
                                           "-o", str(tmp / "sim")])
            folder = tmp / "sim" / SCENARIO
            calibrated, t_cal, _ = peak(CLI + ["calibrate", str(folder / f"{SCENARIO}_uncal.fits"), "--refs",
                                            str(folder / "refs"), "-o", str(tmp / "cal")])
        out(f"{ngroups:7d}  {ramp / GB:7.2f} GB  {simulated / GB:6.2f} GB  {simulated / ramp:6.2f}  "
            f"{t_sim:4.0f}s  {calibrated / GB:6.2f} GB  {calibrated / ramp:6.2f}  {t_cal:4.0f}s")
    print(write_result("memory", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
