"""Every accuracy target names tests that exist; a gating target without data fails where a
scenario of the suite should have produced it."""
import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd

from miri_testbed.validation.runner import COLUMNS
from miri_testbed.validation.scenarios import load_suite, parse_suite
from miri_testbed.validation.targets import (
    Target,
    evaluate,
    expected_from,
    format_value,
    load_targets,
    scenario_facts,
    status,
)

TESTS = Path(__file__).parent


def _test_names(path):
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_target_names_existing_tests():
    targets = load_targets()
    assert targets
    for target in targets:
        assert target.tests, f"target {target.id} names no test"
        for ref in target.tests:
            file, _, name = ref.partition("::")
            path = TESTS.parent / file
            assert path.is_file(), f"target {target.id}: {file} does not exist"
            assert name in _test_names(path), f"target {target.id}: {ref} does not exist"


def _suite(*scenes):
    """Scenarios from (name, scene TOML) pairs, SUB256."""
    text = "[suite]\nseeds = [1]\n" + "".join(
        f'[[scenario]]\nname = "{name}"\n[scenario.observation]\nsubarray = "SUB256"\n[scenario.scene]\n{scene}\n'
        for name, scene in scenes)
    return parse_suite(text).scenarios


STARS = "random_stars = { n = 12, flux_min_mjy = 0.5, flux_max_mjy = 3.0 }"
FEW_STARS = "sources = [{ ra_deg = 80.0, dec_deg = -69.5, flux_mjy = 1.0 }]"
NO_STARS = "background_mjy_sr = 5.0"


def _rows(*rows):
    rows = [dict(zip(("scenario", "metric", "value", "snr"), r, strict=True)) for r in rows]
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def _by_id(results):
    return {r["id"]: r for r in results}


def test_scenario_facts_count_fixed_and_random_stars():
    facts = scenario_facts(_suite(("field", STARS), ("one", FEW_STARS), ("empty", NO_STARS)))
    assert list(facts["stars"]) == [12, 1, 0]
    assert list(facts["brightest_mjy"]) == [3.0, 1.0, 0.0]
    assert set(facts["mode"]) == {"imager"}


def test_every_target_selects_scenarios_of_every_builtin_suite():
    """A misspelt ``scenarios`` query fails here, not at the end of a long run."""
    for name in ("quick", "default", "full", "emi", "lrs"):
        facts = scenario_facts(load_suite(name).scenarios)
        for target in load_targets():
            assert set(expected_from(target, facts)) <= set(facts["name"]), (name, target.id)


def test_gating_target_without_data_fails_where_a_scene_should_produce_it():
    """Stars in the scene, no flux rows out (every star lost): FAIL, naming the scenario."""
    scenarios = _suite(("field", STARS), ("empty", NO_STARS))
    metrics = _rows(("field", "pull_std", 1.0, np.nan), ("empty", "pull_std", 1.0, np.nan))
    results = _by_id(evaluate(metrics, scenarios=scenarios))
    flux = results["IMG-FLUX-1"]
    assert flux["passed"] is False and flux["measured"] is None and status(flux) == "FAIL"
    assert flux["expected"] == ["field"] and "field" in flux["note"] and "empty" not in flux["note"]
    assert results["DET-PULL-1"]["passed"] is True


def test_gating_target_no_scene_can_produce_is_not_applicable():
    """No stars anywhere: the flux target has nothing to measure and does not fail."""
    results = _by_id(evaluate(_rows(("empty", "pull_std", 1.0, np.nan)), scenarios=_suite(("empty", NO_STARS))))
    flux = results["IMG-FLUX-1"]
    assert flux["passed"] is None and status(flux) == "no data" and flux["note"].startswith("not applicable")
    # IMG-ASTRO-2 needs a field to align: one star is not applicable either
    aligned = _by_id(evaluate(_rows(("one", "flux_ratio", 1.0, 200.0)), scenarios=_suite(("one", FEW_STARS))))
    assert aligned["IMG-ASTRO-2"]["passed"] is None and aligned["IMG-FLUX-1"]["passed"] is True


def test_non_gating_target_without_data_is_reported_not_failed():
    results = _by_id(evaluate(_rows(("field", "pull_std", 1.0, np.nan)), scenarios=_suite(("field", STARS))))
    anchor = results["ANCHOR-IMG-FLUX"]
    assert anchor["passed"] is None and status(anchor) == "no data" and anchor["expected"] == ["field"]
    assert anchor["note"].startswith("tracked: no value from field")  # says why, as a gating target's does


def test_without_scenarios_no_data_stays_no_data():
    """Results with no suite (a bare metrics.csv): nothing is known of what should be there."""
    flux = _by_id(evaluate(_rows(("field", "pull_std", 1.0, np.nan))))["IMG-FLUX-1"]
    assert flux["passed"] is None and flux["expected"] is None and flux["note"] == ""


def test_a_target_without_a_scenarios_query_expects_every_scenario():
    target = Target(id="T", metric="pull_std", aggregation="median")
    scenarios = _suite(("field", STARS), ("empty", NO_STARS))
    [result] = evaluate(_rows(("field", "flux_ratio", 1.0, 200.0)), [target], scenarios)
    assert result["passed"] is False and result["expected"] == ["field", "empty"]


def test_a_value_that_rounds_to_its_bound_shows_the_digits_that_tell_them_apart():
    assert format_value(1.0100276, (-math.inf, 1.01)) == "1.01003"
    assert format_value(1.01, (-math.inf, 1.01)) == "1.01"
    assert format_value(0.5234, (-math.inf, 1.01)) == "0.5234"
