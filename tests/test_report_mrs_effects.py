"""The report's MRS effects section: each effect's metric per scenario and band (or detector), none without rows;
the before/after figures of the effects the run's scenarios simulated (their views), and of no other."""
import numpy as np
import pandas as pd

from miri_testbed.validation import views
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


def _fringe_view():
    lam = np.linspace(4.9, 5.7, 200)
    periods = np.linspace(2.4, 3.4, 30)
    return dict(wavelength=lam, variant="fit", before=0.02 * np.sin(2 * np.pi * 1e4 / lam / 2.9), after=np.zeros(200),
                error=np.full(200, 1e-3), floor=1e-3, periods=periods, before_amplitudes=np.full(30, 0.02),
                after_amplitudes=np.full(30, 1e-3))


def _xart_view():
    x = np.arange(1032.0)
    injected = 1 / (1 + ((x - 300) / 50) ** 2)
    return dict(before=injected + 10, model=injected, after=np.full(1032, 10.0), injected=injected,
                true=np.full(1032, 10.0), rows=np.array([10, 26]), gap=(x % 25) < 3, detector="MIRIFUSHORT")


def _leak_view():
    lam = np.linspace(11.6, 12.8, 300)
    injected = 1 + 0.1 * np.exp(-0.5 * ((lam - 12.2) / 0.1) ** 2)
    return dict(wavelength=lam, injected=injected, error=np.full(300, 1e-3), before=injected, before_residual=0.1,
                after=np.ones(300), after_residual=1e-4)


def _with_views(metrics, cut):
    return views.attach(metrics.assign(algorithms="default"), cut)


def test_the_section_draws_each_simulated_effect_before_and_after_and_no_other(tmp_path):
    metrics = _rows(("fr", 1, "mrs_fringe_amplitude", 0.002, 1.1), ("xa", 1, "mrs_xart_removed", 0.97, None))
    cut = {"default|fr|1": {"mrs_fringe:1A": _fringe_view(), "mrs_fringe:2A": _fringe_view()},
           "default|xa|1": {"mrs_xart": _xart_view()}}
    html = mrs_effects_section(tmp_path, _with_views(metrics, cut), None)
    assert html.count("<img class='view' src='mrs_view_0_") == 2  # both bands' fringes
    assert html.count("<img class='view' src='mrs_view_2_") == 1  # the cross-artifact's row cut
    assert "Spectral leak" not in html and "mrs_view_1_" not in html  # no scenario simulated the leak
    for png in ("mrs_view_0_0.png", "mrs_view_0_1.png", "mrs_view_2_0.png"):
        assert (tmp_path / png).stat().st_size > 1000
    leak = mrs_effects_section(tmp_path / "leak", _with_views(_rows(("lk", 1, "mrs_leak_residual", 1e-4, 3.1)),
                                                               {"default|lk|1": {"mrs_leak": _leak_view()}}), None)
    assert "Spectral leak" in leak and "mrs_view_1_0.png" in leak and "Fringes" not in leak


def test_a_run_without_views_has_the_table_and_no_figure(tmp_path):
    html = mrs_effects_section(tmp_path, _with_views(_rows(("xa", 1, "mrs_xart_removed", 0.97, None)), {}), None)
    assert "<td>xa</td>" in html and "<img" not in html and not list(tmp_path.glob("*.png"))
    other_set = _with_views(_rows(("xa", 1, "mrs_xart_removed", 0.97, None)), {"fringe=fit|xa|1": {"mrs_xart":
                                                                                                   _xart_view()}})
    assert "<img" not in mrs_effects_section(tmp_path, other_set, None)  # another algorithm set's views are not this
