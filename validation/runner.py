"""Run a suite: every (scenario, seed) cell simulated, calibrated and scored.

Cells are independent and carry their own seed, so they run in any order on a local
process pool (sized to the machine) with identical results.  Each cell's exposures
live in ``<report>/work/<scenario>/seed<N>/`` and are removed once scored unless
``keep_products`` is set.
"""
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from calibration.pipeline import calibrate
from simulator import simulate

from .detector_score import score_detector
from .score import PULL_HIST_EDGES, score

COLUMNS = ["scenario", "seed", "algorithms", "metric", "value", "unit", "bin", "source_id",
           "true_flux_mjy", "snr"]


@dataclass(frozen=True)
class Cell:
    scenario: object
    seed: int
    algorithms: tuple = ()  # ((step, name), ...)

    @property
    def label(self):
        return ",".join(f"{k}={v}" for k, v in self.algorithms) or "default"


def run_cell(cell, workdir, keep_products=False):
    """Simulate, calibrate and score one cell; return (rows DataFrame, pull histogram)."""
    s = cell.scenario
    folder = Path(workdir) / s.name / f"seed{cell.seed}"
    sim = simulate(s.scene(cell.seed), s.observation, folder, name=s.name, seed=cell.seed,
                   effects=s.effects, references=s.references)
    products = calibrate(sim["uncal"], folder / "products", sim["refs"], dict(cell.algorithms), save_ramp=True)
    rows, hist = score(sim["truth"], products["rate"], products["cat"])
    rows += score_detector(sim["truth"], products["ramp"], products["rateints"])
    if not keep_products:
        shutil.rmtree(folder, ignore_errors=True)
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    frame["scenario"], frame["seed"], frame["algorithms"] = s.name, cell.seed, cell.label
    return frame, hist


def default_workers():
    return max(1, min(os.cpu_count() or 1, 4))


def run_cells(cells, workdir, workers=None, keep_products=False, progress=True):
    """Run ``cells``; return the long-form metrics table and the summed pull histogram."""
    workers = workers or default_workers()
    frames, hist = [], np.zeros(len(PULL_HIST_EDGES) - 1, np.int64)
    bar = tqdm(total=len(cells), unit="cell", disable=not progress, desc="cells")
    if workers == 1:
        results = (run_cell(c, workdir, keep_products) for c in cells)
        for frame, h in results:
            frames.append(frame)
            hist += h
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_cell, c, workdir, keep_products) for c in cells]
            for future in as_completed(futures):
                frame, h = future.result()
                frames.append(frame)
                hist += h
                bar.update()
    bar.close()
    table = pd.concat(frames, ignore_index=True).sort_values(["scenario", "seed", "metric"], kind="stable")
    return table.reset_index(drop=True), hist


def suite_cells(suite, algorithms=None):
    algos = tuple(sorted((algorithms or {}).items()))
    return [Cell(s, seed, algos) for s in suite.scenarios for seed in suite.seeds]
