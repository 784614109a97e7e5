"""Shared by the imager benchmarks: run scenario cells through the suite runner and,
with ``--record``, write the result table (atomically) under ``benchmarks/results/``
(without it a run prints only, so the recorded figures stay those of the full runs)."""
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from miri_testbed.calibration.products import software_version  # noqa: E402
from miri_testbed.instrument.files import write_text  # noqa: E402
from miri_testbed.validation.runner import Cell, run_cells  # noqa: E402


def run(scenarios, seeds, workdir, algorithms=None, workers=1, keep_products=False):
    """Long-form metrics of every (scenario, seed) cell with one algorithm set (with
    ``keep_products``, each cell's files stay in ``workdir/<scenario>/seed<N>/``)."""
    algos = tuple(sorted((algorithms or {}).items()))
    cells = [Cell(s, seed, algos) for s in scenarios for seed in seeds]
    table, _ = run_cells(cells, workdir, workers=workers, keep_products=keep_products, progress=False)
    return table


def median_iqr(values):
    values = np.asarray(values, float)
    if values.size == 0:
        return np.nan, np.nan, 0
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return q2, q3 - q1, values.size


def provenance():
    """The first line of a recorded result: the command, the versions, the time and the
    commit (``+local changes`` when the code differs from it)."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "calibration", "simulator",
                                "validation", "instrument", "benchmarks", ":!benchmarks/results"], capture_output=True,
                               text=True).stdout  # a result just recorded is no code change
        commit += "+local changes" if dirty.strip() else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}", f"miri-testbed {software_version()}"]
    if find_spec("jwst") is not None:
        from importlib.metadata import version

        versions.append(f"jwst {version('jwst')}")
    path = Path(sys.argv[0]).resolve()
    script = path.relative_to(ROOT) if path.is_relative_to(ROOT) else sys.argv[0]
    return (f"# python {script} {' '.join(sys.argv[1:])}   ({', '.join(versions)}; "
            f"{datetime.now(UTC):%Y-%m-%dT%H:%MZ}; commit {commit})")


def transcript():
    """``(out, lines)``: ``out(text)`` prints a line at once (a long benchmark shows its progress) and keeps it
    in ``lines`` for :func:`write_result`."""
    lines = []

    def out(text):
        print(text, flush=True)
        lines.append(text)

    return out, lines


def write_result(name, text):
    """Record ``text`` as the result ``name`` if ``--record`` was given, with
    :func:`provenance` as its first line; the message to print."""
    if "--record" not in sys.argv:
        return "nothing recorded (pass --record to update benchmarks/results/)"
    path = ROOT / "benchmarks" / "results" / f"{datetime.now(UTC):%Y-%m-%d}_{name}.txt"
    write_text(path, text if text.startswith("# python ") else provenance() + "\n" + text)
    return f"written {path}"


def publish(name, lines):
    """Print the table ``lines`` and record it as the result ``name`` (see :func:`write_result`)."""
    text = "\n".join(lines) + "\n"
    print(text)
    print(write_result(name, text))
