"""Studies: scenarios x seeds x algorithm sets, resumable, on a process pool or Dask.

A study folder holds

* ``study.json``: the configuration (suite name and exact TOML text, seeds, algorithm
  sets), the package versions and a log of the runs that worked on it;
* ``suite.toml``: the suite text, as run;
* ``cells/<set>/<scenario>/seed<N>.parquet``: one file per finished cell, written
  atomically (temporary file, then rename) as soon as the cell is scored, after its
  before/after views (``seed<N>.views.npz``, first seed of each scenario and set only);
* ``results.parquet``: every cell's rows in cell order, once all cells are done, with
  the configuration and versions in its metadata too, and ``views.npz`` (every cell's
  views, :mod:`validation.views`) beside it.

A cell whose file exists is finished, and a file exists only complete, so a killed
study run again with the same folder computes exactly the missing cells: no row is
lost or duplicated.  The final table is always assembled from the cell files in a fixed
order, so it is the same whichever engine (this process, a local process pool, a Dask
cluster) computed the cells and in whatever order they finished; each cell carries its
seed, so the numbers are the same too.
"""
import contextlib
import json
import re
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from miri_testbed.calibration import registry
from miri_testbed.instrument.files import write_text

from . import views
from .detector_score import PULL_SHAPE, pull_series
from .results import ResultsError, package_versions, read_parquet, write_parquet
from .runner import Cell, iter_cells, print_notes, with_views
from .scenarios import parse_suite, suite_text


class StudyError(ResultsError):
    """A study cannot be run as asked; the message says why."""


def parse_algorithm_set(text):
    """``"default"`` or ``"STEP=NAME[,STEP=NAME...]"`` -> sorted ``((step, name), ...)`` of
    the non-default choices (unknown steps or names are errors from the registry).
    """
    text = text.strip()
    if text == "default":
        return ()
    pairs = [p for p in text.split(",") if p.strip()]
    if not pairs or not all("=" in p for p in pairs):
        raise StudyError(f"algorithm set {text!r}: expected 'default' or STEP=NAME[,STEP=NAME...]")
    chosen = registry.parse(pairs)
    return tuple(sorted((k, v) for k, v in chosen.items() if v != registry.DEFAULTS[k]))


def set_label(algorithms):
    """The canonical name of an algorithm set (as in the ``algorithms`` column)."""
    return Cell(None, 0, algorithms).label


def parse_algorithm_sets(texts):
    """Parse several sets; two spellings of the same set are an error."""
    sets = {}
    for text in texts or ["default"]:
        algorithms = parse_algorithm_set(text)
        label = set_label(algorithms)
        if label in sets:
            raise StudyError(f"algorithm set {text!r} is the same as {sets[label][0]!r} ({label})")
        sets[label] = (text, algorithms)
    return {label: algorithms for label, (_, algorithms) in sets.items()}


def cell_path(folder, cell):
    return Path(folder) / "cells" / cell.label / cell.scenario.name / f"seed{cell.seed}.parquet"


def views_path(folder, cell):
    return cell_path(folder, cell).with_suffix(".views.npz")


def _now():
    return datetime.now(UTC).isoformat(timespec="seconds")


class Study:
    """A study folder: its configuration, cells and results."""

    def __init__(self, folder, config):
        self.folder = Path(folder)
        self.config = config
        suite = parse_suite(config["suite_toml"], config["suite"])
        unsafe = [s.name for s in suite.scenarios if not re.fullmatch(r"[A-Za-z0-9_.+-]+", s.name) or s.name[0] == "."]
        if unsafe:
            raise StudyError(f"scenario name(s) {unsafe} cannot name cell folders; use letters, digits, _ . + -")
        self.suite = replace(suite, seeds=tuple(config["seeds"]))
        self.sets = {label: tuple(tuple(p) for p in algos) for label, algos in config["algorithm_sets"].items()}

    @classmethod
    def open(cls, folder, suite=None, algorithm_sets=None, seeds=None):
        """Open the study in ``folder``, creating it from ``suite`` (a name or TOML path),
        ``algorithm_sets`` (see :func:`parse_algorithm_set`) and ``seeds`` (default: the
        suite's) if it is new.  Given for an existing study, they must match it.
        """
        folder = Path(folder)
        record = folder / "study.json"
        wanted = {}
        if suite is not None:
            wanted["suite_toml"] = suite_text(suite)
        if seeds:
            if not all(isinstance(s, int) and s >= 0 for s in seeds):
                raise StudyError(f"seeds must be non-negative integers, got {list(seeds)}")
            wanted["seeds"] = list(seeds)
        if algorithm_sets is not None:
            wanted["algorithm_sets"] = {k: [list(p) for p in v] for k, v in parse_algorithm_sets(algorithm_sets).items()}
        if record.exists():
            try:
                config = json.loads(record.read_text(encoding="utf-8"))["config"]
            except (ValueError, KeyError) as exc:
                raise StudyError(f"{record}: not a study record ({exc})") from None
            for key, value in wanted.items():
                if config[key] != value:
                    raise StudyError(f"{folder} holds a study with other {key.replace('_', ' ')} "
                                     f"({config[key] if key != 'suite_toml' else 'suite text'}); "
                                     f"resume it without changing them, or use a new folder")
            return cls(folder, config)
        if suite is None:
            raise StudyError(f"{folder} holds no study yet: give --suite to start one")
        if folder.exists() and any(folder.iterdir()):
            raise StudyError(f"{folder} is not empty and holds no study; use a new folder")
        parsed = parse_suite(wanted["suite_toml"], suite)
        wanted.setdefault("seeds", list(parsed.seeds))
        wanted.setdefault("algorithm_sets", {"default": []})
        config = dict(suite=parsed.name, **wanted)
        study = cls(folder, config)
        write_text(folder / "suite.toml", config["suite_toml"])
        study._write_record(dict(config=config, created=_now(), versions=package_versions(), runs=[]))
        return study

    def _write_record(self, record):
        write_text(self.folder / "study.json", json.dumps(record, indent=2) + "\n")

    def _read_record(self):
        return json.loads((self.folder / "study.json").read_text(encoding="utf-8"))

    def cells(self):
        """Every cell, in the fixed order of the results table: set, scenario, seed (views
        on the first seed of each set and scenario).
        """
        return with_views([Cell(s, seed, algos) for algos in self.sets.values() for s in self.suite.scenarios
                           for seed in self.suite.seeds])

    def pending(self):
        return [c for c in self.cells() if not cell_path(self.folder, c).exists()]

    def run(self, workers=None, client=None, progress=True, engine="local"):
        """Compute the pending cells, then write ``results.parquet``; return the results table."""
        for leftover in (self.folder / "cells").glob("**/.seed*.*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a write a killed run left unfinished
        cells, todo = self.cells(), self.pending()
        record = self._read_record()
        run = dict(started=_now(), engine=engine, cells_before=len(cells) - len(todo), versions=package_versions())
        record["runs"].append(run)
        self._write_record(record)
        start = time.perf_counter()
        notes = Counter()
        with tqdm(total=len(cells), initial=len(cells) - len(todo), unit="cell", disable=not progress,
                  desc=f"study {self.suite.name}", smoothing=0.1) as bar:
            with contextlib.closing(iter_cells(todo, workers=workers, client=client)) as results:
                # closing: an interrupt stops the workers at once
                for i, frame, hist, cut, n in results:
                    notes.update(set(n))
                    meta = dict(scenario=todo[i].scenario.name, seed=todo[i].seed, algorithms=todo[i].label,
                                pull_hist=hist.tolist())
                    if cut:  # before the rows: a cell whose rows exist is complete
                        views.save(views_path(self.folder, todo[i]), {"cell": cut})
                    write_parquet(frame, cell_path(self.folder, todo[i]), meta)
                    bar.update()
        print_notes(notes)
        run.update(finished=_now(), cells_computed=len(todo), seconds=round(time.perf_counter() - start, 2))
        self._write_record(record)
        return self.assemble()

    def assemble(self):
        """Concatenate the cell files in cell order into ``results.parquet``, their views
        into ``views.npz``.
        """
        frames, hist = [], np.zeros(PULL_SHAPE, np.int64)
        cut = {}
        for cell in self.cells():
            saved = views.load(views_path(self.folder, cell)).get("cell")
            if saved:
                cut[views.cell_key(cell.label, cell.scenario.name, cell.seed)] = saved
            path = cell_path(self.folder, cell)
            if not path.exists():
                raise StudyError(f"{self.folder}: cell {cell.label} {cell.scenario.name} seed {cell.seed} "
                                 f"is not finished")
            try:
                frame, meta = read_parquet(path)
            except ResultsError as exc:
                raise StudyError(f"{exc}; delete that cell file and run the study again to recompute it") from None
            frames.append(frame)
            hist += pull_series(meta["pull_hist"])
        table = pd.concat(frames, ignore_index=True)
        record = self._read_record()
        meta = dict(study=record["config"], versions=record["runs"][-1]["versions"] if record["runs"] else
                    record["versions"], pull_hist=hist.tolist())
        views.save(self.folder / "views.npz", cut)
        write_parquet(table, self.folder / "results.parquet", meta)
        return views.attach(table, cut)


def _load_on_worker():
    """Import the pipeline on a Dask worker (done once, before the cells are timed)."""
    import miri_testbed.validation.runner  # noqa: F401

    return True


@contextmanager
def dask_client(n_local=None, address=None):
    """A ``distributed.Client``: on a new LocalCluster of ``n_local`` single-threaded
    worker processes, or connected to the scheduler at ``address``.  Every worker
    imports the pipeline first, so a worker without this package is a clear error.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise StudyError("--dask-local and --scheduler need dask.distributed: pip install -e '.[dask]'") from None
    with contextlib.ExitStack() as stack:
        if address:
            try:
                client = stack.enter_context(Client(address, timeout="10s"))
            except (OSError, TimeoutError) as exc:
                raise StudyError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
        else:
            cluster = stack.enter_context(LocalCluster(n_workers=n_local, threads_per_worker=1, processes=True,
                                                       dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        try:
            client.run(_load_on_worker)
        except ImportError as exc:
            raise StudyError(f"the Dask workers cannot import miri-testbed ({exc}); install it on them") from None
        yield client
