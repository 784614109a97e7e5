"""Algorithm comparison: paired differences, bootstrap intervals, verdicts."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from miri_testbed.validation.cli import main
from miri_testbed.validation.compare import NO_DIFFERENCE, bootstrap_ci, compare, pair_rows
from miri_testbed.validation.results import write_parquet

from helpers import synthetic_results, with_set


@given(seed=st.integers(0, 2**32 - 1), n_seeds=st.integers(1, 15), n_sources=st.integers(0, 6))
def test_a_set_against_itself_shows_no_difference_anywhere(seed, n_seeds, n_sources):
    table = with_set(synthetic_results(np.random.default_rng(seed), n_seeds, n_sources), "copy")
    result = compare(table, "default", "copy")
    assert len(result) > 0
    assert (result["verdict"] == NO_DIFFERENCE).all()
    assert (result["diff"] == 0).all() and (result["unpaired"] == 0).all()
    assert "pull_n" not in set(result["metric"])  # counts are not judged


@given(seed=st.integers(0, 2**32 - 1), sign=st.sampled_from([-1, 1]), n_seeds=st.integers(10, 20))
def test_a_known_shift_gets_the_right_verdict(seed, sign, n_seeds):
    """Astrometric errors move by 6 standard errors of their paired mean difference (with
    independent noise per pair) and flux ratios by 0.2 % away from or towards 1, in the
    direction ``sign`` of their loss; pull widths do not move."""
    rng = np.random.default_rng(seed)
    table = synthetic_results(rng, n_seeds)
    n = 2 * n_seeds * 5  # source rows per metric, pooled over both scenarios
    step = 6 / np.sqrt(n)

    def noisy(values, scale):
        return values + scale * (sign * step + rng.normal(size=values.size))

    table = with_set(
        table, "shifted",
        astrometric_error=lambda v: noisy(v, 0.1),  # loss v: +sign is worse
        flux_ratio=lambda v: v + np.sign(v - 1) * sign * 0.002,  # +sign: away from 1, worse
    )
    result = compare(table, "default", "shifted").set_index(["scenario", "metric"])
    expected = "worse" if sign > 0 else "better"
    assert result.loc[("all", "astrometric_error"), "verdict"] == expected
    assert result.loc[("all", "flux_ratio"), "verdict"] == expected
    assert result.loc[("all", "pull_std"), "verdict"] == NO_DIFFERENCE


def test_every_metric_the_scorers_write_has_a_direction_or_is_deliberately_unjudged():
    """A new metric in score.py or detector_score.py must be given a direction (or be
    listed as not judged) before compare and gate can use it."""
    import ast
    from pathlib import Path

    from miri_testbed import validation
    from miri_testbed.validation.metrics import undirected

    names = set()
    for module in ("score.py", "detector_score.py", "crowding.py", "lrs_score.py"):
        tree = ast.parse((Path(validation.__file__).parent / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "metric":
                if isinstance(node.value, ast.Constant):
                    names.add(node.value.value)
                elif isinstance(node.value, ast.JoinedStr):  # f"{name}_scatter_over_crb" for name in clean, cr
                    tail = "".join(v.value for v in node.value.values if isinstance(v, ast.Constant))
                    names |= {"clean" + tail, "cr" + tail}
            if isinstance(node, ast.Tuple) and len(node.elts) == 3 and isinstance(node.elts[0], ast.Constant) \
                    and isinstance(node.elts[0].value, str) and node.elts[0].value.startswith(("pull_", "rate_")):
                names.add(node.elts[0].value)  # score._pull_rows: (metric, value, unit)
    assert {"flux_ratio", "pull_std", "clean_scatter_over_crb", "jump_completeness", "lrs_lines_lost"} <= names
    from miri_testbed.validation import scorers
    names |= {m for kinds in scorers.SCORERS.values() for s in kinds for m in s.metrics}  # every scorer's declared
    assert undirected(names) == [], ("give these metrics a direction in validation/metrics.py "
                                     "(IDEAL, LOWER or HIGHER_FRACTION) or list them in NOT_JUDGED")


def test_a_lower_completeness_is_worse():
    rng = np.random.default_rng(5)
    table = synthetic_results(rng, 15)
    table.loc[table.metric == "detected", "value"] = 1.0
    table = with_set(table, "lossy", detected=lambda v: np.where(np.arange(v.size) % 4 == 0, 0.0, v))
    row = compare(table, "default", "lossy").set_index(["scenario", "metric"]).loc[("all", "detected")]
    assert row["verdict"] == "worse" and row["loss_b"] == pytest.approx(0.25, abs=0.01)


def test_bootstrap_interval_covers_the_true_mean_at_its_level():
    """Coverage of the 95 % interval over 300 samples of 40 skewed differences."""
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(300):
        d = rng.exponential(1.0, 40) - 1.0  # true mean 0
        low, high = bootstrap_ci(d, rng, n_boot=1000)
        hits += low <= 0 <= high
    assert hits < 300
    assert 0.88 <= hits / 300 <= 0.99


def test_source_rows_pair_by_source_id_not_by_order():
    rng = np.random.default_rng(2)
    table = synthetic_results(rng, 10, scenarios=("s1",))
    other = table.sample(frac=1.0, random_state=3)  # shuffled rows
    other = other[~((other.metric == "flux_ratio") & (other.source_id == 2) & (other.seed == 0))]
    other = other.assign(algorithms="shuffled")
    pairs, unpaired = pair_rows(pd.concat([table, other]), "default", "shuffled")
    assert (pairs["value_a"] == pairs["value_b"]).all()
    assert len(unpaired) == 1 and unpaired.iloc[0]["source_id"] == 2
    result = compare(pd.concat([table, other]), "default", "shuffled").set_index("metric")
    assert result.loc["flux_ratio", "unpaired"] == 1 and result.loc["flux_ratio", "n_pairs"] == 49


def test_compare_command_writes_table_markdown_and_plot(tmp_path, capsys):
    rng = np.random.default_rng(4)
    table = with_set(synthetic_results(rng, 12), "ramp_fit=ols", astrometric_error=lambda v: v + 0.5)
    write_parquet(table, tmp_path / "results.parquet")
    assert main(["compare", str(tmp_path), "--a", "default", "--b", "ramp_fit=ols"]) == 0
    out = tmp_path / "compare" / "ramp_fit=ols_vs_default"
    csv = pd.read_csv(out / "comparison.csv")
    assert csv.set_index(["scenario", "metric"]).loc[("all", "astrometric_error"), "verdict"] == "worse"
    md = (out / "comparison.md").read_text()
    assert "\\|v - 1\\|" in md and "**worse**" in md
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert "worse  astrometric_error" in capsys.readouterr().out
    assert main(["compare", str(tmp_path), "--a", "default", "--b", "jump=twopoint"]) == 2
    assert "no algorithm set 'jump=twopoint'; it has: default, ramp_fit=ols" in capsys.readouterr().err
