"""EMI in the suite runner and the report: the residual EMI and its floor per cell, the
folded waveform before and after, and residual vs ngroups per algorithm set."""
import numpy as np
import pandas as pd
import pytest

from miri_testbed.validation import views
from miri_testbed.validation.cli import main
from miri_testbed.validation.results import write_parquet
from miri_testbed.validation.runner import COLUMNS, run_cells, suite_cells
from miri_testbed.validation.scenarios import parse_suite

from helpers import synthetic_results

SUB64 = """
[suite]
name = "emi64"
seeds = [3]

[[scenario]]
name = "sub64_g5"
[scenario.observation]
subarray = "SUB64"
ngroups = 5
[scenario.scene]
background_mjy_sr = 2.0
random_stars = { n = 2, flux_min_mjy = 0.1, flux_max_mjy = 1.0, margin_pix = 14 }
[scenario.effects.detector]
cosmic_rays = false
showers = false
emi_rms_10_dn = 0.0
"""


@pytest.fixture(scope="module")
def emi_cells(tmp_path_factory):
    """One SUB64 5-group exposure (390 Hz, 4 DN rms, 3 harmonics, drift) calibrated with
    each EMI variant: ``{label: (metrics, views)}``."""
    suite = parse_suite(SUB64)
    out = {}
    for algorithms in ({}, {"emi": "fold"}, {"emi": "none"}):
        table, _ = run_cells(suite_cells(suite, algorithms), tmp_path_factory.mktemp("emi"), workers=1,
                             progress=False)
        cut, _ = views.attached(table)
        out[table["algorithms"].iloc[0]] = (table, next(iter(cut.values())))
    return out


def _value(table, metric):
    rows = table[table["metric"] == metric]
    assert len(rows) == 1 and rows["bin"].iloc[0] == 5  # bin: the exposure's ngroups
    return float(rows["value"].iloc[0])


def test_run_scores_emi_residual_against_its_floor(emi_cells):
    """Uncorrected, the whole waveform is left (exactly 1); the joint fit leaves about the
    floor (statistical and Cramer-Rao, which agree for a 390 Hz line in SUB64; within a
    factor 2 either way), far less than phase folding at 5 groups."""
    none = _value(emi_cells["emi=none"][0], "emi_residual_fraction")
    fold = _value(emi_cells["emi=fold"][0], "emi_residual_fraction")
    joint = _value(emi_cells["default"][0], "emi_residual_fraction")
    floor = _value(emi_cells["default"][0], "emi_residual_floor")
    assert none == pytest.approx(1.0, abs=1e-9)
    assert joint < 0.5 * fold < 0.5
    cramer_rao = _value(emi_cells["default"][0], "emi_residual_floor_cr")
    assert 0.5 * floor < joint < 2 * floor and 0.5 * cramer_rao < joint < 2 * cramer_rao
    assert floor == _value(emi_cells["emi=none"][0], "emi_residual_floor")  # a property of the exposure


def test_folded_waveform_before_after_and_truth(emi_cells):
    """The folded ramp residuals before correction follow the injected waveform, and after
    the joint fit they are flat to a small fraction of it; with ``none`` after = before."""
    joint = emi_cells["default"][1]
    assert set(joint) >= {"emi:Hz390", "background"} and "emi:Hz10" not in joint  # 10 Hz at 0 DN
    fold = joint["emi:Hz390"]
    true_rms = np.sqrt(np.mean(fold["true"] ** 2))
    assert true_rms > 1.0  # DN: 4 DN rms, partly absorbed by each pixel's line over 5 groups
    assert np.sqrt(np.mean((fold["before"] - fold["true"]) ** 2)) < 0.4 * true_rms  # read noise: ~0.25
    assert np.sqrt(np.mean(fold["after"] ** 2)) < 0.12 * true_rms  # ~0.05
    none = emi_cells["emi=none"][1]["emi:Hz390"]
    np.testing.assert_array_equal(none["after"], none["before"])


def test_no_emi_rows_without_injected_emi(tmp_path):
    """With EMI off the reference still lists the lines, but there is nothing to score."""
    suite = parse_suite(SUB64.replace("emi_rms_10_dn = 0.0", "emi = false"))
    table, _ = run_cells(suite_cells(suite), tmp_path, workers=1, progress=False)
    assert not table["metric"].str.startswith("emi_").any()
    cut, _ = views.attached(table)
    assert not any(name.startswith("emi:") for name in next(iter(cut.values())))


def emi_study_table():
    """A results table of two algorithm sets with EMI residuals at 3, 5 and 10 groups."""
    rows = []
    for label, scale in (("default", 1.0), ("emi=fold", 8.0)):
        base = synthetic_results(np.random.default_rng(1), 2, label=label)
        for ngroups in (3, 5, 10):
            for seed in (0, 1):
                floor = 0.03 / np.sqrt(ngroups - 2)
                rows += [dict(scenario=f"g{ngroups}", seed=seed, algorithms=label, metric="emi_residual_fraction",
                              value=scale * floor, unit="", bin=float(ngroups)),
                         dict(scenario=f"g{ngroups}", seed=seed, algorithms=label, metric="emi_residual_floor",
                              value=floor, unit="", bin=float(ngroups))]
        rows += base.to_dict("records")
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def test_report_draws_residual_vs_ngroups_per_algorithm_set(tmp_path):
    """A report of one set of a study over ngroups x EMI variants still draws every set."""
    results = tmp_path / "results.parquet"
    write_parquet(emi_study_table(), results)
    out = tmp_path / "report"
    assert main(["report", str(results), "-o", str(out), "--algorithms", "default"]) == 0
    page = (out / "index.html").read_text()
    assert "emi_vs_ngroups.png" in page and (out / "emi_vs_ngroups.png").stat().st_size > 10_000
    # One set only: no such plot, and the page says what it needs.
    one = tmp_path / "one.parquet"
    table = emi_study_table()
    write_parquet(table[table["algorithms"] == "default"], one)
    assert main(["report", str(one), "-o", str(tmp_path / "r1")]) == 0
    assert not (tmp_path / "r1" / "emi_vs_ngroups.png").exists()
    assert "several algorithm sets" in (tmp_path / "r1" / "index.html").read_text()
