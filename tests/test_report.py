"""miri-testbed report: a static HTML page and a Markdown summary from a results table,
the difference from a baseline with regressions highlighted, rendered in headless Chromium."""
import json
import re

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from matplotlib import image

from miri_testbed.simulator.truth import read_truth
from miri_testbed.validation import gate, report, views
from miri_testbed.validation.cli import main
from miri_testbed.validation.detector_score import usable_differences
from miri_testbed.validation.results import write_parquet
from miri_testbed.validation.score import PULL_HIST_EDGES
from miri_testbed.validation.screenshot import find_chromium, screenshot
from miri_testbed.validation.targets import evaluate, load_targets

from helpers import synthetic_results, with_set


@pytest.fixture
def results_with_baseline(tmp_path):
    """A results file whose astrometric errors are 1 mas worse than its baseline's."""
    rng = np.random.default_rng(7)
    table = synthetic_results(rng, 8)
    baseline = tmp_path / "baseline.json"
    gate.save_baseline(baseline, gate.make_baseline(table, "syn", "", "default"))
    worse = table.assign(value=np.where(table.metric == "astrometric_error", table.value + 1.0, table.value))
    hist = np.histogram(rng.normal(size=20000), PULL_HIST_EDGES)[0]
    results = tmp_path / "results.parquet"
    write_parquet(worse, results, {"study": {"suite": "syn"}, "pull_hist": hist.tolist()})
    return results, baseline


def test_report_writes_html_and_markdown_with_regressions_highlighted(results_with_baseline, tmp_path, capsys):
    results, baseline = results_with_baseline
    out = tmp_path / "report"
    assert main(["report", str(results), "-o", str(out), "--baseline", str(baseline)]) == 0
    assert "2 of" in capsys.readouterr().out  # both scenarios' astrometric_error entries
    page = (out / "index.html").read_text()
    assert page.count("<tr class='regressed'>") == 2 and "Difference from the baseline" in page
    md = (out / "summary.md").read_text()
    assert "**REGRESSED**" in md and "**astrometric_error**" in md and "| IMG-FLUX-1 |" in md
    for name in ("metrics.csv", "summary.json", "flux_ratio.png", "pulls.png", "astrometry.png", "astrometric_map.png"):
        assert (out / name).is_file(), name
    # Without a baseline: no comparison section; the Markdown summary still there.
    assert main(["report", str(results), "-o", str(tmp_path / "plain")]) == 0
    assert "<tr class='regressed'>" not in (tmp_path / "plain" / "index.html").read_text()
    assert "Difference from the baseline" not in (tmp_path / "plain" / "summary.md").read_text()


def test_report_errors_name_the_problem(results_with_baseline, tmp_path, capsys):
    results, baseline = results_with_baseline
    two = tmp_path / "two.parquet"
    write_parquet(with_set(synthetic_results(np.random.default_rng(1), 2), "ramp_fit=ols"), two)
    assert main(["report", str(two), "-o", str(tmp_path / "r")]) == 2
    assert "several algorithm sets (default, ramp_fit=ols); choose one with --algorithms" in capsys.readouterr().err
    assert main(["report", str(two), "-o", str(tmp_path / "r"), "--algorithms", "ramp_fit=ols"]) == 0
    assert main(["report", str(results), "-o", str(tmp_path / "r2"), "--baseline", str(tmp_path / "none.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r2").exists()
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(results.read_bytes()[: results.stat().st_size // 2])
    assert main(["report", str(corrupt), "-o", str(tmp_path / "r3")]) == 2
    assert f"{corrupt}: not a readable Parquet file" in capsys.readouterr().err


def _near(pixels, rgb, tol=0.06):
    return int((np.abs(pixels[..., :3] - np.asarray(rgb)).max(axis=-1) < tol).sum())


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium binary (chromium, chromium-browser, google-chrome) "
                                                    "on PATH nor MIRI_TESTBED_CHROMIUM")
def test_report_renders_in_headless_chromium(results_with_baseline, tmp_path):
    """The page opened from disk in a real headless browser shows text, the plots (the
    pull histogram's blue) and the highlighted regression rows.  The same check by hand:
    ``python -m miri_testbed.validation.screenshot reports/NAME/index.html shot.png``."""
    results, baseline = results_with_baseline
    out = tmp_path / "report"
    assert main(["report", str(results), "-o", str(out), "--baseline", str(baseline)]) == 0
    png = screenshot(out / "index.html", tmp_path / "shot.png", width=1280, height=3000)
    pixels = image.imread(png)
    assert pixels.shape[:2] == (3000, 1280)
    assert pixels[..., :3].std() > 0.05  # not a blank page
    assert (pixels[..., :3].max(axis=-1) < 0.3).mean() > 0.002  # dark text
    assert _near(pixels, (0.473, 0.680, 0.824)) > 2000  # the pull histogram's bars (tab:blue, alpha 0.6)
    assert _near(pixels, (0xF8 / 255, 0xC8 / 255, 0xC8 / 255)) > 500  # regressed rows' background


def test_published_anchors_are_listed_until_measured():
    """The published anchors (imager flux ~1 %, MRS wavelength 9-27 km/s, LRS wavelength
    +/-20 nm) are targets that do not gate; imager results hold none of the spectroscopic
    metrics, so those report 'no data'."""
    targets = {t.id: t for t in load_targets()}
    assert (targets["ANCHOR-IMG-FLUX"].lower, targets["ANCHOR-IMG-FLUX"].upper) == (0.99, 1.01)
    assert not any(t.gating for name, t in targets.items() if name.startswith("ANCHOR"))
    assert (targets["ANCHOR-MRS-WAVE"].lower, targets["ANCHOR-MRS-WAVE"].upper) == (0, 27)
    assert targets["ANCHOR-LRS-WAVE"].upper == 20 and targets["ANCHOR-LRS-WAVE"].unit == "nm"
    rows = synthetic_results(np.random.default_rng(0), 3)
    results = {r["id"]: r for r in evaluate(rows)}
    assert results["ANCHOR-MRS-WAVE"]["passed"] is None and results["ANCHOR-LRS-WAVE"]["passed"] is None
    assert results["ANCHOR-IMG-FLUX"]["n"] > 0


VIEWS_SUITE = """
[suite]
name = "views"
seeds = [1]

[[scenario]]
name = "f560w_sub128"
[scenario.observation]
filter = "F560W"
subarray = "SUB128"
ngroups = 8
[scenario.scene]
background_mjy_sr = 2.0
random_stars = { n = 3, flux_min_mjy = 5.0, flux_max_mjy = 20.0, margin_pix = 14 }
[scenario.effects.detector]
cosmic_rays = true
cosmic_ray_rate = 5e-3
shower_rate = 200.0
"""
EFFECT_TITLES = ("EMI: folded waveform", "Showers", "Cosmic rays", "Cruciform", "Background")


@pytest.fixture(scope="module")
def views_report(tmp_path_factory):
    """``miri-testbed run`` of one F560W SUB128 exposure with every effect on (390 Hz EMI,
    many cosmic rays and showers, bright stars with the cross): its report folder, with
    the cell's files in ``work/``."""
    folder = tmp_path_factory.mktemp("views")
    (folder / "views.toml").write_text(VIEWS_SUITE)
    main(["run", "--suite", str(folder / "views.toml"), "-o", str(folder / "report"), "--workers", "1",
          "--keep-products"])
    return folder / "report"


def _view_images(page):
    """``[(png, effect title), ...]`` of the effect views on a report page."""
    return [(png, alt.rsplit(": ", 1)[0]) for png, alt in re.findall(r"<img class='view' src='([^']+)' alt='([^']+)'",
                                                                     page)]


def test_report_shows_before_after_views_of_each_effect(views_report, tmp_path):
    """One figure per effect that is on, drawn from the run's own exposure; ``report`` redraws the same views
    from the report folder's ``views.npz``."""
    page = (views_report / "index.html").read_text()
    shown = _view_images(page)
    assert sorted(title for _, title in shown) == sorted(EFFECT_TITLES)
    for png, _ in shown:
        pixels = image.imread(views_report / png)
        assert 150 < pixels.shape[0] < 400 and pixels.shape[1] < 700  # small figures
        assert pixels[..., :3].std() > 0.05, png  # something drawn
    assert "emi_residual_fraction" in page
    again = tmp_path / "again"
    assert main(["report", str(views_report / "metrics.csv"), "-o", str(again)]) == 0
    page_again = (again / "index.html").read_text()
    assert _view_images(page_again) == shown
    for png, _ in shown:
        assert image.imread(again / png).shape == image.imread(views_report / png).shape
    # Every usable pixel in one of the pull series.
    metrics = pd.read_csv(views_report / "metrics.csv")
    pull_n = metrics[(metrics["metric"] == "pull_n") & metrics["bin"].isna()]["value"].sum()
    assert np.sum(json.loads((views_report / "summary.json").read_text())["pull_hist"]) == pull_n > 0
    # The suite's name, not the file's, and the same pull histograms (from summary.json).
    assert "suite <code>views</code>" in page_again and "metrics.csv</code>" not in page_again
    assert np.array_equal(image.imread(again / "pulls.png"), image.imread(views_report / "pulls.png"))


def test_effect_figures_text_is_legible_at_the_size_the_page_shows(views_report, tmp_path, monkeypatch):
    """Every text of every effect figure is at least ``MIN_TEXT_PX`` = 10 pixels, and the page
    shows the figures at their own size (no downscaling)."""
    from matplotlib.text import Text

    sizes = {}
    save = report._save_figure

    def measured(fig, path, dpi=110):
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        sizes[path.name] = min(t.get_fontsize() * dpi / 72 for t in texts)
        save(fig, path, dpi)

    monkeypatch.setattr(report, "_save_figure", measured)
    html = report.effect_sections(tmp_path, views.load(views_report / "views.npz"))
    assert len(sizes) == len(_view_images(html)) == len(EFFECT_TITLES)
    assert min(sizes.values()) >= report.MIN_TEXT_PX == 10, sizes
    assert re.search(r"img\.view \{ max-width: 100%; \}", report.STYLE)


def test_cosmic_ray_view_centres_on_the_largest_hit_the_ramp_shows(views_report):
    """The cut-out's marked core pixel holds the charge the truth deposited there: the rate
    without jump flags exceeds the true rate by that charge over the time of the usable
    differences; the jump step flagged it; and no larger hit arrived in a usable difference
    (arrivals before the first read or in a dropped group leave no trace in a rate)."""
    view = views.load(views_report / "views.npz")["default|f560w_sub128|1"]["cosmic_ray"]
    cell = views_report / "work" / "f560w_sub128" / "seed1"
    truth = read_truth(cell / "f560w_sub128_truth.fits")
    usable = usable_differences(fits.getdata(cell / "products" / "f560w_sub128_ramp.fits", "GROUPDQ"))
    hits = truth.table("CR_HITS")
    hits = hits[hits["group"] < truth.header["NGROUPS"]]
    seen = usable[hits["integration"], hits["group"], hits["y"], hits["x"]]
    y, x = view["core_y"], view["core_x"]
    deposited = float(np.sum(hits["charge_e"][seen & (hits["y"] == y) & (hits["x"] == x)])) / truth.header["GAIN"]
    assert view["core_dn"] <= deposited * (1 + 1e-9)  # other hits may land on the core too
    iy, ix = y - view["y0"], x - view["x0"]
    excess = float(view["before"][iy, ix] - view["true"][iy, ix])  # DN/s
    seconds = usable[:, :, y, x].sum() * truth.header["TGROUP"]
    noise = 1.4826 * np.nanmedian(np.abs(view["after"] - view["true"]))  # a pixel's rate noise, DN/s
    print(f"deposited {deposited:.1f} DN, measured {excess * seconds:.1f} DN, noise {noise * seconds:.1f} DN")
    assert abs(excess * seconds - deposited) < 0.02 * deposited + 5 * noise * seconds
    assert view["flagged"][iy, ix] == 1
    total, core = {}, {}  # per hit: its charge, and (charge, seen) of its brightest pixel
    for row, row_seen in zip(hits, seen, strict=True):
        total[row["hit"]] = total.get(row["hit"], 0.0) + row["charge_e"]
        core[row["hit"]] = max(core.get(row["hit"], (-1.0, False)), (row["charge_e"], row_seen))
    largest = max(total[h] for h in total if core[h][1])
    assert view["size"].startswith(f"{largest:.0f} e-")


def test_views_render_in_headless_chromium(views_report, tmp_path):
    """The effect views render in a real browser: their colour maps (the diverging
    residual maps' deep red and blue, viridis) show on the page."""
    if find_chromium() is None:
        pytest.skip("no Chromium binary")
    png = screenshot(views_report / "index.html", tmp_path / "shot.png", width=1280, height=4000)
    pixels = image.imread(png)
    deep_red, deep_blue = _near(pixels, (0.404, 0.0, 0.122), 0.1), _near(pixels, (0.020, 0.188, 0.380), 0.1)
    viridis_low, viridis_high = _near(pixels, (0.267, 0.005, 0.329), 0.08), _near(pixels, (0.993, 0.906, 0.144), 0.08)
    print(deep_red, deep_blue, viridis_low, viridis_high)
    assert deep_red > 100 and deep_blue > 40 and viridis_low > 30 and viridis_high > 30


def test_report_names_the_exposures_whose_alignment_was_refused():
    from miri_testbed.validation.report import _alignment_html

    rows = pd.DataFrame({"scenario": ["few", "few", "many"], "seed": [1, 2, 1], "metric": ["alignment_refused"] * 3,
                         "value": [1.0, 0.0, 0.0]})
    text = _alignment_html(rows)
    assert "refused" in text and "1 of 3 exposures" in text and "few (seeds 1)" in text
    assert "every one of 3" in _alignment_html(rows.assign(value=0.0))


def test_the_transit_section_summarises_each_scenarios_time_series(tmp_path):
    """Per algorithm set and scenario: the cells, the median scatter over its limit, the white
    depth pulls' mean and the bins' pulls' mean and spread; nothing without time-series rows."""
    rows = []
    for seed, (ratio, white, bins) in enumerate([(0.9, 0.5, (1.0, -1.0)), (1.1, -0.1, (2.0, 0.0))], start=1):
        rows += [dict(scenario="tso", seed=seed, algorithms="default", metric="lrs_tso_scatter_over_limit",
                      value=ratio, bin=np.nan),
                 dict(scenario="tso", seed=seed, algorithms="default", metric="lrs_tso_depth_pull", value=white,
                      bin=np.nan)]
        rows += [dict(scenario="tso", seed=seed, algorithms="default", metric="lrs_tso_depth_pull", value=b, bin=w)
                 for b, w in zip(bins, (6.0, 7.0), strict=True)]
    page = report.transit_section(tmp_path, pd.DataFrame(rows), None)
    cells = re.findall(r"<td>([^<]*)</td>", page)
    assert cells == ["default", "tso", "2", "1", "0.2", "0.5", f"{np.std([1.0, -1.0, 2.0, 0.0], ddof=1):.5g}"]
    assert report.transit_section(tmp_path, pd.DataFrame(rows[:0], columns=list(rows[0])), None) == ""
