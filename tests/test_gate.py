"""The CI accuracy gate: a degraded algorithm variant fails it, the unchanged one
passes; tolerances come from the baseline's spread across seeds; clear errors."""
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from miri_testbed.calibration import registry
from miri_testbed.validation import gate
from miri_testbed.validation.cli import main
from miri_testbed.validation.results import ResultsError, write_parquet
from miri_testbed.validation.runner import COLUMNS

from helpers import tiny_suite_toml

TINY = tiny_suite_toml([1, 2, 3])


def _scaled_ramp_fit(*args, **kwargs):
    """The default ramp fit with every rate 2 % too high: a deliberately degraded variant."""
    fit = registry.get("ramp_fit", registry.DEFAULTS["ramp_fit"])(*args, **kwargs)
    return replace(fit, rate=fit.rate * 1.02, rate_ints=fit.rate_ints * 1.02)


@pytest.fixture(scope="module")
def tiny_baseline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate")
    (folder / "tiny.toml").write_text(TINY)
    baseline = folder / "baseline.json"
    assert main(["gate", "--baseline", str(baseline), "--suite", str(folder / "tiny.toml"), "--update-baseline",
                 "--workers", "1", "--no-progress"]) == 0
    return baseline


@pytest.mark.slow
def test_unchanged_calibration_passes_and_degraded_variant_fails(tiny_baseline, monkeypatch, capsys):
    record = json.loads(tiny_baseline.read_text())
    assert record["seeds"] == [1, 2, 3] and record["algorithms"] == "default" and record["k"] == 3.0
    capsys.readouterr()
    # Unchanged: the suite recorded in the baseline, rerun, reproduces it.
    assert main(["gate", "--baseline", str(tiny_baseline), "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "gate: pass" in out and "REGRESSED" not in out
    # The degraded variant, registered here only, on the same exposures.
    monkeypatch.setitem(registry.ALGORITHMS["ramp_fit"], "scaled_1.02", _scaled_ramp_fit)
    assert main(["gate", "--baseline", str(tiny_baseline), "--algorithms", "ramp_fit=scaled_1.02",
                 "--workers", "1", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "gate: FAIL" in out
    regressed = {line.split()[1] for line in out.splitlines() if line.endswith("REGRESSED")}
    assert regressed, out
    # Only what a rate scale can move regresses: jump flags and detections come before
    # the ramp fit, and those entries are unchanged.
    assert all(m.startswith(("pull_", "rate_", "clean_", "cr_", "flux_ratio")) for m in regressed), regressed
    unchanged = [line for line in out.splitlines() if line.split()[1:2] in (["jump_completeness"], ["false_flag_rate"])]
    assert unchanged and all(line.split()[-1] in ("ok", "untested") for line in unchanged), unchanged


def synthetic(seeds, shift=0.0, metric="astrometric_error"):
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        value = 5.0 + rng.normal(0, 1.0) + shift
        rows.append(dict(scenario="s", seed=seed, algorithms="default", metric=metric, value=value))
        rows.append(dict(scenario="s", seed=seed, algorithms="default", metric="false_detections", value=0.0))
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def test_tolerance_is_k_standard_errors_of_the_baseline_spread():
    seeds = list(range(8))
    base_table = synthetic(seeds)
    baseline = gate.make_baseline(base_table, "s", "", "default", k=3.0)
    per_seed = base_table[base_table.metric == "astrometric_error"].value.to_numpy()
    se = per_seed.std(ddof=1) / np.sqrt(len(seeds))
    for shift, status in ((0.0, "ok"), (2.5 * se, "ok"), (3.5 * se, "REGRESSED"), (-3.5 * se, "improved")):
        result = gate.check(synthetic(seeds, shift), baseline).set_index("metric")
        assert result.loc["astrometric_error", "tolerance"] == pytest.approx(3 * se)
        assert result.loc["astrometric_error", "status"] == status, shift
        assert gate.passed(result) == (status != "REGRESSED")
    # No spread (no false detection in any seed): any new false detection regresses.
    worse = synthetic(seeds)
    worse.loc[(worse.metric == "false_detections") & (worse.seed == 3), "value"] = 1.0
    assert gate.check(worse, baseline).set_index("metric").loc["false_detections", "status"] == "REGRESSED"
    # Compared on the shared seeds only; an entry the run lost is MISSING and fails.
    half = gate.check(synthetic(seeds[:4]), baseline).set_index("metric")
    assert half.loc["astrometric_error", "n"] == 4 and half.loc["astrometric_error", "status"] == "ok"
    lost = gate.check(synthetic(seeds, metric="flux_ratio"), baseline).set_index("metric")
    assert lost.loc["astrometric_error", "status"] == "MISSING" and lost.loc["flux_ratio", "status"] == "new"
    assert not gate.passed(lost)


def test_gate_reads_results_files_and_updates_the_baseline_atomically(tmp_path, capsys):
    results = tmp_path / "results.parquet"
    write_parquet(synthetic(range(6)), results, {"study": {"suite": "syn", "suite_toml": "x"}})
    baseline = tmp_path / "reports" / "baseline.json"
    assert main(["gate", "--baseline", str(baseline), "--results", str(results), "--update-baseline"]) == 0
    record = gate.load_baseline(baseline)
    assert record["suite"] == "syn" and record["seeds"] == list(range(6)) and len(record["entries"]) == 2
    assert [p.name for p in baseline.parent.iterdir()] == ["baseline.json"]  # no temporary left
    assert main(["gate", "--baseline", str(baseline), "--results", str(results)]) == 0
    write_parquet(synthetic(range(6), shift=3.0), results)
    assert main(["gate", "--baseline", str(baseline), "--results", str(results)]) == 1
    assert "REGRESSED" in capsys.readouterr().out
    other = tmp_path / "other.parquet"  # a study of another suite is not compared with this baseline
    write_parquet(synthetic(range(6)), other, {"study": {"suite": "syn", "suite_toml": "y"}})
    assert main(["gate", "--baseline", str(baseline), "--results", str(other)]) == 2
    assert "not the suite the baseline" in capsys.readouterr().err


def test_gate_errors_name_the_problem(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert main(["gate", "--baseline", str(missing)]) == 2
    assert f"baseline {missing} does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["gate", "--baseline", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    bad.write_text(json.dumps({"format": 1}))
    with pytest.raises(ResultsError, match="not a miri-testbed baseline"):
        gate.load_baseline(bad)
    results = tmp_path / "r.csv"
    results.write_text("a,b\n1,2\n")
    baseline = tmp_path / "b.json"
    gate.save_baseline(baseline, gate.make_baseline(synthetic(range(3)), "s", "", "default"))
    assert main(["gate", "--baseline", str(baseline), "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert "not a metrics table (missing column(s) scenario, seed, algorithms, metric, value)" in err
    assert main(["gate", "--baseline", str(baseline), "--suite", "quick"]) == 2
    assert "not the suite the baseline" in capsys.readouterr().err
    assert main(["gate", "--baseline", str(baseline)]) == 2
    assert "made from a results file and records no suite" in capsys.readouterr().err
