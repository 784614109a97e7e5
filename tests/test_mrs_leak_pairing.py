"""A band-3A scenario paired with its target's band-1B scenario (``leak_from``): parsed, refused by name when the
pair cannot be one, judged by LEAK-1 only when paired, and run by the runner as ``calibrate --leak-from`` runs.

Fast: the suite's pairing, its errors and the targets' scope.  Slow (~3-4 min): a paired cell corrects its leak
(to a few 1e-4 of noise beside), the same scenario unpaired keeps it (~0.12 at the leak's peak).
"""
import pickle
import tomllib
from dataclasses import replace

import pytest

from miri_testbed.simulator import Effects, ReferenceOptions
from miri_testbed.validation import runner
from miri_testbed.validation.scenarios import (
    ScenarioError,
    load_suite,
    parse_scenario,
    parse_suite,
    scenario_toml,
    suite_text,
    unpaired_leaks,
)
from miri_testbed.validation.study import Study
from miri_testbed.validation.targets import expected_from, load_targets, scenario_facts

LEAK_1 = next(t for t in load_targets() if t.id == "LEAK-1")


def _suite(leak_from='"b1"', b1=("MIRIFUSHORT", "MEDIUM"), a3=("MIRIFULONG", "SHORT"),
           spectrum='{ continuum = { kind = "flat", flux_mjy = 20.0 } }'):
    scenarios = ""
    for name, (detector, band), pair in (("b1", b1, ""), ("a3", a3, f"leak_from = {leak_from}\n")):
        scenarios += (f'[[scenario]]\nname = "{name}"\n{pair}[scenario.observation]\nmode = "mrs"\n'
                      f'detector = "{detector}"\nband = "{band}"\n[scenario.effects.mrs]\nspectral_leak = true\n'
                      f"[scenario.scene]\nspectral_sources = [{{ spectrum = {spectrum} }}]\n")
    return parse_suite('[suite]\nname = "pair"\nseeds = [1]\n' + scenarios)


def test_a_3a_scenario_names_its_1b_scenario_and_keeps_it_through_toml_and_pickle():
    b1, a3 = _suite().scenarios
    assert a3.leak_from == "b1" and a3.leak_source == b1 and b1.leak_source is None
    assert parse_scenario(tomllib.loads(scenario_toml(a3))["scenario"][0]) == a3  # leak_from written back
    assert pickle.loads(pickle.dumps(a3)).leak_source == b1  # as a cell goes to a pool worker
    assert unpaired_leaks([b1, a3]) == [] and unpaired_leaks([b1, replace(a3, leak_from="")]) == ["a3"]


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(leak_from='"b2"'), "scenario 'a3'.leak_from: no scenario named 'b2' (scenarios: b1, a3)"),
    (dict(b1=("MIRIFUSHORT", "SHORT")), "scenario 'a3'.leak_from: 'b1' is not a band-1B exposure (mode 'mrs', "
                                        "detector MIRIFUSHORT, band MEDIUM); it is ('MIRIFUSHORT', 'SHORT')"),
    (dict(a3=("MIRIFULONG", "MEDIUM")), "scenario 'a3'.leak_from: the spectral leak falls on band 3A"),
    (dict(leak_from="3"), "scenario 'a3'.leak_from: expected the name of a band-1B scenario, got 3"),
])
def test_a_pair_that_cannot_be_one_is_refused_by_name(kwargs, message):
    with pytest.raises(ScenarioError) as err:
        _suite(**kwargs)
    assert message in str(err.value)


def test_leak_1_judges_the_paired_3a_point_sources_of_the_mrs_leak_suite_only(tmp_path):
    suite = load_suite("mrs_leak")
    assert LEAK_1.gating
    assert expected_from(LEAK_1, scenario_facts(suite.scenarios)) == ["point_3a", "point_3a_dither1"]
    unpaired = [replace(s, leak_from="", leak_source=None) for s in suite.scenarios]
    assert expected_from(LEAK_1, scenario_facts(unpaired)) == []
    assert unpaired_leaks(suite.scenarios) == []
    assert unpaired_leaks(unpaired) == ["point_3a", "extended_3a", "point_3a_dither1"]
    # a study rebuilds its suite from the text it recorded: its cells carry the pair, so a resume runs them alike
    study = Study.open(tmp_path / "study", "mrs_leak")
    assert {c.scenario.name: c.scenario.leak_from for c in study.cells()}["point_3a"] == "point_1b"
    assert Study.open(tmp_path / "study").cells() == study.cells()
    assert suite_text("mrs_leak") == study.config["suite_toml"]


def test_an_unpaired_cell_or_spectral_leak_none_calibrates_no_1b(tmp_path):
    b1, a3 = _suite().scenarios
    for cell in (runner.Cell(replace(a3, leak_from="", leak_source=None), 1),
                 runner.Cell(a3, 1, (("spectral_leak", "none"),)), runner.Cell(b1, 1)):
        assert runner.leak_products(cell, tmp_path) == (None, None)
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_a_paired_cell_scores_the_corrected_leak_and_an_unpaired_one_the_leak(tmp_path):
    """Hot point source (the leak 12 % of 3A at its peak), every default effect (a noise-free exposure has no
    detector CRB to score), perfect references, 10 groups, seed 3: the paired cell runs calibrate --leak-from's path
    (noise-free 6.8e-4, session 15); measured 1.41e-3 +/- 0.48e-3 (its noise); the same scenario unpaired ~0.12.
    The paired cell is also scored against its leak-free twin; an unpaired one has none."""
    hot = '{ continuum = { kind = "blackbody", temperature_k = 10000.0, flux_mjy = 500.0, ref_um = 12.2 } }'
    b1, a3 = (replace(s, effects=replace(Effects(), mrs=replace(Effects().mrs, spectral_leak=True)),
                      references=ReferenceOptions(kind="perfect")) for s in _suite(spectrum=hot).scenarios)
    a3 = replace(a3, leak_source=b1)

    def residuals(scenario):
        rows = runner.run_cell(runner.Cell(scenario, 3), tmp_path / (scenario.leak_from or "alone"))[0]
        return dict(zip(rows["metric"], rows["value"], strict=True))

    paired = residuals(a3)
    assert paired["mrs_leak_residual"] < 3e-3
    # against its leak-free twin (the runner's, same seed and references): what the correction left, and no more
    assert paired["mrs_leak_residual_twin"] < 3e-3 and 0 < paired["mrs_leak_residual_twin_error"] < 1e-3
    unpaired = residuals(replace(a3, leak_from="", leak_source=None))
    assert unpaired["mrs_leak_residual"] > 0.1 and "mrs_leak_residual_twin" not in unpaired  # no correction, no twin
