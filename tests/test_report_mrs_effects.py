"""The report's MRS effects section: each effect's metric per scenario and band (or detector), none without rows."""
import pandas as pd

from miri_testbed.validation.report import MRS_EFFECT_COLUMNS, mrs_effects_section


def _rows(*rows):
    return pd.DataFrame([dict(scenario=s, seed=seed, metric=m, value=v, bin=b) for s, seed, m, v, b in rows])


def test_the_section_tables_each_effect_by_band_and_detector(tmp_path):
    metrics = _rows(("fr", 1, "mrs_fringe_amplitude", 0.002, 1.1), ("fr", 2, "mrs_fringe_amplitude", 0.004, 1.1),
                    ("fr", 1, "mrs_fringe_over_target", 0.4, 1.1), ("xa", 1, "mrs_xart_removed", 0.97, None),
                    ("lk", 1, "mrs_leak_residual", 6e-4, 3.1), ("other", 1, "flux_ratio", 1.0, None))
    html = mrs_effects_section(tmp_path, metrics, None)
    assert "<td>fr</td><td>1A</td><td>0.003</td>" in html  # the median of the seeds, band 1A
    assert "<td>xa</td><td>detector</td>" in html and "<td>0.97</td>" in html
    assert "<td>lk</td><td>3A</td>" in html and MRS_EFFECT_COLUMNS["mrs_leak_residual"] in html
    assert "other" not in html


def test_no_section_without_effect_rows(tmp_path):
    assert mrs_effects_section(tmp_path, _rows(("s", 1, "mrs_flux_ratio", 1.0, 1.1)), None) == ""
