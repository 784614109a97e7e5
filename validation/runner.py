"""Run a suite: every (scenario, seed) cell simulated, calibrated and scored.

Cells are independent and carry their own seed, so they run in any order, in this
process, on a local process pool (sized to the machine) or on a ``dask.distributed``
cluster, with identical results.  Each cell's exposures live in
``<workdir>/<scenario>/seed<N>/`` (a temporary folder when no ``workdir`` is given, as
on a remote worker) and are removed once scored unless ``keep_products`` is set.

Each product the pipeline makes is scored by the scorers of its product type
(:mod:`validation.scorers`); what the pipeline's EMI step removed is one more product,
handed over as the step runs (``on_emi`` of :func:`calibration.pipeline.calibrate`) and
scored there.  A band-3A scenario paired with a band-1B one (``leak_from``,
:mod:`validation.scenarios`) has that exposure simulated and calibrated first, in the same
cell with the same seed and algorithms, for its spectral leak correction
(:func:`leak_products`): cells stay independent, so a study resumes as before.

A cell with ``views`` set (the first seed of each scenario,
see :func:`suite_cells`) also returns the before/after views of :mod:`validation.views`;
:func:`run_cells` hands them on in the table's ``attrs`` (:func:`validation.views.attach`),
where the report finds them.
"""
import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from miri_testbed.calibration import registry, steps
from miri_testbed.calibration.pipeline import calibrate
from miri_testbed.simulator import simulate
from miri_testbed.simulator.truth import read_truth

from . import scorers, views
from .detector_score import PULL_SHAPE, pull_histograms
from .emi_score import EmiCorrection
from .lrs_tso_score import write_ephemeris

COLUMNS = ["scenario", "seed", "algorithms", "metric", "value", "unit", "bin", "source_id",
           "true_flux_mjy", "snr"]


@dataclass(frozen=True)
class Cell:
    scenario: object
    seed: int
    algorithms: tuple = ()  # ((step, name), ...)
    views: bool = False  # also cut the before/after views of validation.views

    @property
    def label(self):
        return ",".join(f"{k}={v}" for k, v in self.algorithms) or "default"


def run_cell(cell, workdir, keep_products=False):
    """Simulate, calibrate and score one cell.

    Parameters
    ----------
    cell : Cell
    workdir : path-like
        The cell's files go to ``<workdir>/<scenario>/seed<N>/``.
    keep_products : bool
        Keep them once scored.

    Returns
    -------
    tuple
        The rows (DataFrame, :data:`COLUMNS`), the pull histograms
        (:func:`validation.detector_score.pull_histograms`) and the views dict (empty
        unless ``cell.views``).
    """
    s = cell.scenario
    folder = Path(workdir) / s.name / f"seed{cell.seed}"
    sim = simulate(s.scene(cell.seed), s.observation, folder, name=s.name, seed=cell.seed,
                   effects=s.effects, references=s.references)
    truth = read_truth(sim["truth"])
    write_ephemeris(truth, sim["uncal"])  # a time series' observer knows its orbit and limb darkening
    emi = {"rows": [], "views": {}}

    def score_emi(raw, corrected, usable):  # scored as the step runs: no copy kept, no second fit
        correction = EmiCorrection(raw, corrected, usable)
        emi["rows"] = scorers.score_products(truth, {scorers.EMI_CORRECTION: correction})
        emi["views"] = views.emi_views(truth, correction) if cell.views else {}

    leak_from, leak_refs = leak_products(cell, folder / "leak_from")
    products = calibrate(sim["uncal"], folder / "products", sim["refs"], dict(cell.algorithms), save_ramp=True,
                         on_emi=score_emi, leak_from=leak_from, leak_refs=leak_refs)
    typed = scorers.by_type(products)
    if leak_from is not None:
        typed[scorers.LEAK_FREE] = leak_free_twin(cell, folder / "leak_free", sim["refs"])
    rows = scorers.score_products(truth, typed) + emi["rows"]
    hist = pull_histograms(truth, products["rate"], products["ramp"])
    choice = registry.resolve(dict(cell.algorithms))
    cut = ({**emi["views"], **views.cell_views(truth, products, sim["refs"], choice, sim["uncal"])} if cell.views
           else {})
    if not keep_products:
        shutil.rmtree(folder, ignore_errors=True)
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    frame["scenario"], frame["seed"], frame["algorithms"] = s.name, cell.seed, cell.label
    return frame, hist, cut


def leak_products(cell, folder):
    """``(leak_from, leak_refs)`` of ``calibrate`` for ``cell``: its band-1B scenario's (``leak_from``) cube and
    spectrum and reference folder, simulated with the cell's seed and calibrated with its algorithms in
    ``folder``, as ``calibrate --leak-from ... --leak-refs ...`` takes them; ``(None, None)`` for an unpaired
    scenario or ``spectral_leak=none`` (nothing would use them).
    """
    source = cell.scenario.leak_source
    if source is None or registry.resolve(dict(cell.algorithms))["spectral_leak"] == "none":
        return None, None
    sim = simulate(source.scene(cell.seed), source.observation, Path(folder) / source.name, name=source.name,
                   seed=cell.seed, effects=source.effects, references=source.references)
    paths = calibrate(sim["uncal"], Path(folder) / source.name / "products", sim["refs"], dict(cell.algorithms))
    cube_1b = [p for p in paths["s3d"] if "_ch1-" in p.name]  # the exposure's channel-2 cube is no use to 3A
    return cube_1b + ([paths["x1d"]] if "x1d" in paths else []), sim["refs"]  # an extended 1B field: its cube


def leak_free_twin(cell, folder, refs):
    """The x1d of ``cell``'s exposure simulated without the spectral leak (the same seed, scene and detector) and
    calibrated with its algorithms and the leak-on exposure's reference folder ``refs`` (so every reference, and
    every error drawn in it, is the same), ``spectral_leak`` off: what a leak correction should give back
    (:func:`validation.mrs_leak_score.score_against_twin`).  Its noise is its own draw: the leak changes the
    Poisson means, so the random stream does not stay aligned after the first pixel that differs.
    """
    s = cell.scenario
    effects = replace(s.effects, mrs=replace(s.effects.mrs, spectral_leak=False))
    sim = simulate(s.scene(cell.seed), s.observation, Path(folder), name=s.name, seed=cell.seed, effects=effects,
                   references=s.references)
    algorithms = {**dict(cell.algorithms), "spectral_leak": "none"}
    return calibrate(sim["uncal"], Path(folder) / "products", refs, algorithms)["x1d"]


class _Notes(logging.Handler):
    """Collects the step shell's warnings (a step skipped for want of a reference) of one cell."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _step_notes():
    """Hold the step shell's warnings back while a cell runs: printed by each worker as they
    come, they would break into the progress bar; :func:`print_notes` gives them once, counted.
    """
    logger, notes = logging.getLogger(steps.__name__), _Notes()
    propagate = logger.propagate
    logger.addHandler(notes)
    logger.propagate = False
    try:
        yield notes.messages
    finally:
        logger.removeHandler(notes)
        logger.propagate = propagate


def compute_cell(cell, workdir=None, keep_products=False):
    """:func:`run_cell` in ``workdir``, or in a temporary folder of the machine that runs it;
    returns its rows, pull histograms and views, and the step shell's warnings.
    """
    with _step_notes() as notes:
        if workdir is not None:
            result = run_cell(cell, workdir, keep_products)
            return (*result, notes if keep_products else forget_folder(notes, workdir))
        with tempfile.TemporaryDirectory(prefix="miri-testbed-") as tmp:
            result = run_cell(cell, tmp)
        return (*result, forget_folder(notes, tmp))


def forget_folder(notes, folder):
    """``notes`` with every path under ``folder`` (where the cells' files went, deleted) in one word.

    The cells' notes then differ only where they say something different, and are printed once.
    """
    return [re.sub(re.escape(str(folder)) + r"\S*", "<the cell's folder>", note) for note in notes]


def print_notes(notes, stream=None):
    """Each distinct step warning of a run once, with the number of cells that gave it, under a line saying
    what they are (most often expected: the simulator writes only the references of the effects a scenario has).
    """
    if notes:
        print("steps skipped for want of a reference (expected where the scenario does not simulate the effect the "
              "reference corrects: its reference set has none):", file=stream or sys.stderr)
    for message, cells in sorted(notes.items()):
        print(f"{message} [{cells} cell{'s' if cells > 1 else ''}]", file=stream or sys.stderr)


def default_workers():
    return max(1, min(os.cpu_count() or 1, 4))


def _die_with_parent():
    """Pool-worker initializer: end this worker as soon as the process that started it dies.

    A pool's workers wait on its call queue; a parent killed with SIGKILL cannot stop
    them, and they would wait forever.  A dead parent's children are re-parented, so a
    daemon thread that sees the parent pid change ends the worker at once.  Polling keeps
    it portable (Linux's PR_SET_PDEATHSIG has no macOS equivalent); the half-second
    poll costs nothing beside a cell of seconds.
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)  # no cleanup to wait for: the cell's results had nowhere to go

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def iter_cells(cells, workdir=None, workers=None, client=None, keep_products=False):
    """Yield ``(index, rows, pull histogram, views, step warnings)`` for each of ``cells`` as it finishes.

    ``client``: a ``distributed.Client`` (the cells run on its cluster); otherwise
    ``workers`` local processes (1: in this process).
    """
    if client is not None:
        from distributed import as_completed as dask_completed

        futures = {client.submit(compute_cell, c, workdir, keep_products, pure=False): i for i, c in enumerate(cells)}
        for future in dask_completed(futures):
            yield (futures[future], *future.result())
            future.release()
        return
    workers = workers or default_workers()
    if workers == 1 or len(cells) <= 1:
        for i, c in enumerate(cells):
            yield (i, *compute_cell(c, workdir, keep_products))
        return
    pool = ProcessPoolExecutor(max_workers=min(workers, len(cells)), initializer=_die_with_parent)
    try:
        futures = {pool.submit(compute_cell, c, workdir, keep_products): i for i, c in enumerate(cells)}
        for future in as_completed(futures):
            yield (futures[future], *future.result())
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) or failed: stop at once rather than run the queued
        # cells; finished ones are already saved.  The executor has no public way to stop
        # its workers before Python 3.14 (terminate_workers), hence _processes.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()  # not terminate(): workers inherit the CLI's SIGTERM handler
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def run_cells(cells, workdir, workers=None, keep_products=False, progress=True):
    """Run ``cells``; return the long-form metrics table (the cells' views attached,
    :func:`validation.views.attach`) and the summed pull histograms.
    """
    frames, hist = [None] * len(cells), np.zeros(PULL_SHAPE, np.int64)
    cut, notes = {}, Counter()
    with tqdm(total=len(cells), unit="cell", disable=not progress, desc="cells") as bar:
        with contextlib.closing(iter_cells(cells, workdir, workers, keep_products=keep_products)) as results:
            for i, frame, h, v, n in results:  # closing: an interrupt stops the workers at once
                frames[i] = frame
                hist += h
                notes.update(set(n))
                if v:
                    cut[views.cell_key(cells[i].label, cells[i].scenario.name, cells[i].seed)] = v
                bar.update()
    print_notes(notes)
    table = pd.concat(frames, ignore_index=True).sort_values(["scenario", "seed", "metric"], kind="stable")
    return views.attach(table.reset_index(drop=True), cut), hist


def with_views(cells):
    """``cells`` with ``views`` set on the first seed of each (algorithm set, scenario)."""
    seen = set()
    out = []
    for c in cells:
        key = (c.label, c.scenario.name)
        out.append(Cell(c.scenario, c.seed, c.algorithms, key not in seen))
        seen.add(key)
    return out


def suite_cells(suite, algorithms=None):
    """The cells of ``suite`` (scenario x seed) for one algorithm set, views on the first seed."""
    algos = tuple(sorted((algorithms or {}).items()))
    return with_views([Cell(s, seed, algos) for s in suite.scenarios for seed in suite.seeds])
