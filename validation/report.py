"""The report folder: metrics, per-target summary, plots, an HTML page, a Markdown summary.

The Markdown summary is for pull-request comments.

The page has a section per product type the results hold (:data:`SECTIONS`, by the
product types of :mod:`validation.scorers`): the rate image (pulls), the source catalog
(flux ratio vs flux, astrometric error vs S/N and the residual map), the EMI correction
(residual vs ngroups per algorithm set, when the results hold several of each), the
LRS's extracted spectra (line-centre error vs wavelength, the lines lost), the MRS's cubes
and spectra (per band: lines, centroid, flux; the band-to-band offset; line centres) and issue
17's effects (their metrics, and each simulated effect before and after its correction); then
the before/after views of each effect cut from the run's own exposures
(:mod:`validation.views`, saved as ``views.npz`` beside the page), at most
``MAX_VIEWS`` figures per effect.

Everything is written atomically; the page opens from disk (no server) and embeds its
plots as PNG files beside it.  Given a gate comparison (:func:`validation.gate.check`),
both pages add the difference from the baseline, regressions highlighted.
"""
import html
import io
import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import AsinhNorm, ListedColormap, SymLogNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from miri_testbed.instrument.files import atomic_path, write_text  # noqa: E402

from . import mrs_fringe_score, mrs_score, scorers  # noqa: E402
from . import views as effect_views  # noqa: E402
from .detector_score import PULL_SERIES, pull_series  # noqa: E402
from .gate import FAILING, TOLERANCE_RULE, ordered  # noqa: E402
from .score import PULL_HIST_EDGES  # noqa: E402
from .targets import format_bounds, format_measured, status  # noqa: E402

MAX_VIEWS = 3  # figures per effect
VIEW_DPI = 72  # 1 pt = 1 px: the page shows the effect figures at their own size
MIN_TEXT_PX = 10  # the smallest text of an effect figure, in pixels of the page
VIEW_STYLE = {"font.size": MIN_TEXT_PX * 72 / VIEW_DPI, "figure.titlesize": "large"}


def _save_figure(fig, path, dpi=110):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def _scatter_per_scenario(metrics, metric, x, size=12):
    """A figure with one scatter series per scenario: ``metric``'s values against column ``x``."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rows = metrics[metrics["metric"] == metric]
    for name, group in rows.groupby("scenario"):
        ax.scatter(group[x], group["value"], s=size, alpha=0.7, label=name)
    return fig, ax


def plot_flux_ratio(metrics, path):
    """Measured / true flux of every matched source vs its true flux, per scenario."""
    fig, ax = _scatter_per_scenario(metrics, "flux_ratio", "true_flux_mjy")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhspan(0.995, 1.005, color="0.85", zorder=0, label="+/-0.5 %")
    ax.set_xscale("log")
    ax.set_xlabel("true flux density (mJy)")
    ax.set_ylabel("measured / true flux")
    ax.set_ylim(0.9, 1.1)
    ax.legend(fontsize=9)
    ax.set_title("Aperture photometry vs truth")
    _save_figure(fig, path)


#: Probability that a unit Gaussian exceeds :data:`PULL_TAIL`.
PULL_TAIL = 4.0
GAUSS_TAIL = 0.5 * math.erfc(PULL_TAIL / math.sqrt(2))
SERIES_COLOURS = ("tab:blue", "tab:orange")


def plot_pulls(hist, path):
    """The rate pulls' histograms beside a unit Gaussian.

    ``hist``: one row per :data:`validation.detector_score.PULL_SERIES`, over
    :data:`PULL_HIST_EDGES`.  The series are stacked, each as a density of all the
    pixels, so their sum is the histogram of every pixel.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    centres = 0.5 * (PULL_HIST_EDGES[1:] + PULL_HIST_EDGES[:-1])
    width = np.diff(PULL_HIST_EDGES)
    total = hist.sum()
    bottom = np.zeros(len(centres))
    for counts, name, colour in zip(hist, PULL_SERIES, SERIES_COLOURS, strict=True):
        density = counts / (total * width) if total else counts.astype(float)
        ax.bar(centres, density, width=width, bottom=bottom, color=colour, alpha=0.6,
               label=f"{name} ({counts.sum():,} pixels)")
        bottom = bottom + density
    x = np.linspace(PULL_HIST_EDGES[0], PULL_HIST_EDGES[-1], 400)
    ax.plot(x, np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), "k-", lw=1.5, label="unit Gaussian")
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1)
    ax.set_xlabel("(rate - true rate) / err")
    ax.set_ylabel("probability density (all pixels)")
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    ax.set_title("Rate pulls")
    _save_figure(fig, path)


def pull_tail_note(hist):
    """One sentence: the pulls above +:data:`PULL_TAIL` of each series against a Gaussian's."""
    above = hist[:, PULL_HIST_EDGES[:-1] >= PULL_TAIL].sum(axis=1)
    parts = [f"{n:,} of the {total:,} pixels {name} ({total * GAUSS_TAIL:.3g} for a unit Gaussian)"
             for name, n, total in zip(PULL_SERIES, above, hist.sum(axis=1), strict=True)]
    return (f"Pulls above +{PULL_TAIL:g}: {'; '.join(parts)}.  A pixel with an undetected true hit is one whose "
            f"ramp holds a cosmic ray or shower arriving in a usable group difference that no step flagged "
            f"(truth EVENTS against the ramp's group flags); its charge raises the rate.")


def plot_astrometry(metrics, path):
    """Astrometric error of every matched source vs its measured S/N, per scenario."""
    fig, ax = _scatter_per_scenario(metrics, "astrometric_error", "snr")
    ax.axhline(10.0, color="r", lw=0.8, ls="--", label="10 mas target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured S/N")
    ax.set_ylabel("astrometric error (mas)")
    ax.legend(fontsize=9)
    ax.set_title("Position error vs S/N")
    _save_figure(fig, path)


def plot_astrometric_map(metrics, path):
    """Measured - true position of every matched source (east, north), per scenario."""
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    rows = metrics[metrics["metric"].isin(["ra_offset", "dec_offset"])]
    offsets = rows.pivot_table(index=["scenario", "seed", "algorithms", "source_id"], columns="metric",
                               values="value").reset_index()
    for name, group in offsets.groupby("scenario") if {"ra_offset", "dec_offset"} <= set(offsets.columns) else ():
        ax.scatter(group["ra_offset"], group["dec_offset"], s=12, alpha=0.7, label=name)
    ax.add_patch(plt.Circle((0, 0), 10.0, fill=False, color="r", ls="--", label="10 mas"))
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("east offset, measured - true (mas)")
    ax.set_ylabel("north offset, measured - true (mas)")
    ax.legend(fontsize=9)
    ax.set_title("Astrometric residuals")
    _save_figure(fig, path)


DIMENSIONLESS = "dimensionless"
#: Per-line metrics: their ``bin`` is the line's true centre, and the summary pools the lines.
PER_LINE = ("lrs_wavelength_error", "lrs_wavelength_error_kms", "lrs_wavelength_pull", "lrs_line_snr")
#: The MRS's rows are per line or per band (``bin``): pooled per scenario in the summary table.
PER_BAND = mrs_score.X1D_METRICS + mrs_score.CUBE_METRICS


def summary_table(metrics):
    """Unit, median, 16th and 84th percentile and count of each metric per scenario.

    A metric's unit is its rows' (:data:`DIMENSIONLESS` where they have none).
    """
    rows = metrics[metrics["bin"].isna() | (metrics["metric"].isin(["flux_ratio", "astrometric_error",
                                                                     *effect_views.EMI_METRICS, *PER_LINE,
                                                                     *PER_BAND]))]
    rows = rows.assign(unit=rows["unit"].fillna("").astype(str).replace("", DIMENSIONLESS))
    grouped = rows.groupby(["scenario", "metric"])
    table = grouped["value"].agg(median="median", p16=lambda v: np.percentile(v, 16),
                                 p84=lambda v: np.percentile(v, 84), n="count")
    table.insert(0, "unit", grouped["unit"].agg(lambda u: ", ".join(sorted(set(u)))))
    return table.reset_index()


def _html_table(frame):
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = "".join(
            f"<td>{v:.5g}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>" for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _note(result):
    """A target's note (why it has no data), set off for a result cell."""
    return f": {result['note']}" if result.get("note") else ""


def _targets_html(results):
    rows = []
    for r in results:
        result = status(r)
        css = {"pass": "pass", "FAIL": "fail", "fail (tracked)": "tracked", "no data": "nodata"}[result]
        rows.append(
            f"<tr class='{css}'><td>{html.escape(r['id'])}</td><td>{html.escape(r['metric'])}"
            f"</td><td>{html.escape(r['aggregation'])} {html.escape(r['where'])}</td>"
            f"<td>{html.escape(format_measured(r))}</td><td>{html.escape(format_bounds(r))} "
            f"{html.escape(r['unit'])}</td><td>{r['n']}</td><td>{'yes' if r['gating'] else 'no'}</td>"
            f"<td>{result}{html.escape(_note(r))}</td><td>{html.escape(r['source'])}</td></tr>"
        )
    head = "<tr><th>target</th><th>metric</th><th>over</th><th>measured</th><th>threshold</th><th>n</th>" \
           "<th>gates</th><th>result</th><th>source</th></tr>"
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; }
th { background: #eee; }
tr.pass td:nth-child(8) { color: #070; font-weight: bold; }
tr.fail td:nth-child(8) { color: #b00; font-weight: bold; }
tr.tracked td:nth-child(8) { color: #b60; }
tr.nodata td:nth-child(8) { color: #777; }
p.refused { color: #b60; }
img { max-width: 48%; margin: 0.5%; border: 1px solid #ddd; }
tr.regressed td { background: #f8c8c8; font-weight: bold; }
tr.improved td { background: #d4f0d4; }
img.view { max-width: 100%; }
p.note { color: #555; font-size: 0.9em; max-width: 70em; }
"""


def _num(v):
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.4g}"


BASELINE_COLUMNS = ["scenario", "metric", "bin", "loss", "n", "baseline", "run", "change", "tolerance", "status"]


def _baseline_cells(row):
    """The cells of one gate row as text."""
    return [str(getattr(row, c)) if c in ("scenario", "metric", "loss", "status") else _num(getattr(row, c))
            for c in BASELINE_COLUMNS]


def _baseline_html(result):
    rows = []
    for r in ordered(result).itertuples():
        css = "regressed" if r.status in FAILING else "improved" if r.status == "improved" else ""
        rows.append(f"<tr class='{css}'>" + "".join(f"<td>{html.escape(c)}</td>" for c in _baseline_cells(r)) + "</tr>")
    head = "".join(f"<th>{c}</th>" for c in BASELINE_COLUMNS)
    failed = int(result["status"].isin(FAILING).sum())
    return (f"<h2>Difference from the baseline</h2><p>{failed} regressed or missing of {len(result)} entries. "
            f"Loss: lower is better; tolerance = {html.escape(TOLERANCE_RULE)}.</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def markdown_summary(target_results, context, baseline_result=None):
    """The report in a few Markdown tables, for a pull-request comment."""
    failed = [r["id"] for r in target_results if r["passed"] is False and r["gating"]]
    algorithms = context["algorithms"]
    if isinstance(algorithms, dict):
        algorithms = " ".join(f"{k}={v}" for k, v in algorithms.items())
    lines = [f"### MIRI testbed: suite `{context['suite']}`", "",
             f"{context['cells']} cells, algorithms `{algorithms}`, miri-testbed {context['version']}, "
             f"{context['created']}.  Targets: **{'FAIL: ' + ', '.join(failed) if failed else 'all gating pass'}**.",
             "", "| target | measure | measured | threshold | n | gates | result |", "|---|---|---|---|---|---|---|"]
    for r in target_results:
        result, note = status(r), _note(r).replace("|", "\\|")
        lines.append(f"| {r['id']} | {r['aggregation']} {r['metric']} | {format_measured(r)} | "
                     f"{format_bounds(r)} {r['unit']} | {r['n']} | {'yes' if r['gating'] else 'no'} | "
                     f"{'**' + result + '**' if result == 'FAIL' else result}{note} |")
    if baseline_result is not None:
        counts = baseline_result["status"].value_counts()
        lines += ["", "#### Difference from the baseline", "",
                  ", ".join(f"{n} {s}" for s, n in counts.items()) + f" (tolerance: {TOLERANCE_RULE}).", ""]
        shown = ordered(baseline_result[baseline_result["status"] != "ok"])
        if len(shown):
            lines += ["| " + " | ".join(BASELINE_COLUMNS) + " |", "|" + "---|" * len(BASELINE_COLUMNS)]
            for r in shown.itertuples():
                cells = [c.replace("|", "\\|") for c in _baseline_cells(r)]
                if r.status in FAILING:
                    cells = [f"**{c}**" if c else c for c in cells]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _strict(value):
    """Infinite or NaN floats become null, so summary.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _alignment_html(metrics):
    """Which exposures refused alignment (too few stars).

    Their astrometry is the commanded pointing's, and "after alignment" targets leave them out.
    """
    rows = metrics[(metrics["metric"] == "alignment_refused") & (metrics["value"] > 0)]
    tried = int((metrics["metric"] == "alignment_refused").sum())
    if rows.empty:
        return f"<p>Alignment: every one of {tried} exposures aligned.</p>" if tried else ""
    cells = ", ".join(f"{html.escape(str(name))} (seeds {', '.join(str(s) for s in sorted(group['seed']))})"
                      for name, group in rows.groupby("scenario"))
    return (f"<p class=\"refused\">Alignment refused (too few stars; WCS left at the commanded pointing) in "
            f"{len(rows)} of {tried} exposures: {cells}.</p>")


def rate_section(outdir, metrics, hist):
    """The rate image's section: the pull histogram of every usable pixel, undetected hits apart."""
    plot_pulls(hist, outdir / "pulls.png")
    return (f'<h2>Rate image</h2>\n<p class="note">{html.escape(pull_tail_note(hist))}</p>\n'
            f'<img src="pulls.png" alt="pull histogram">')


def catalog_section(outdir, metrics, hist):
    """The source catalog's section: alignment, flux ratio, astrometric error and residual map."""
    plot_flux_ratio(metrics, outdir / "flux_ratio.png")
    plot_astrometry(metrics, outdir / "astrometry.png")
    plot_astrometric_map(metrics, outdir / "astrometric_map.png")
    return f"""<h2>Source catalog</h2>
{_alignment_html(metrics)}
<img src="flux_ratio.png" alt="flux ratio vs flux"><img src="astrometry.png" alt="astrometric error vs S/N">
<img src="astrometric_map.png" alt="astrometric residual map">"""


#: The LRS's suite goal for line centres (issue 15: < 2 nm over 5-12 um, S/N > 50), drawn as a band.
LRS_WAVELENGTH_GOAL_NM = 2.0


def _line_centres_figure(fig, ax, goal, unit, goal_label, title, path):
    """Finish a line-centre scatter: zero, the goal's band of +/- ``goal``, axes, legend, title; save it."""
    ax.axhline(0.0, color="k", lw=0.8)
    ax.axhspan(-goal, goal, color="0.85", zorder=0, label=f"+/-{goal:g} {unit} ({goal_label})")
    ax.set_xlabel("true line centre (um)")
    ax.set_ylabel(f"measured - true centre ({unit})")
    ax.legend(fontsize=8)
    ax.set_title(title)
    _save_figure(fig, path)


def plot_line_centres(metrics, path):
    """Measured - true centre of every fitted line vs its true wavelength, per scenario."""
    fig, ax = _scatter_per_scenario(metrics, "lrs_wavelength_error", "bin", size=14)
    _line_centres_figure(fig, ax, LRS_WAVELENGTH_GOAL_NM, "nm", "issue 15 suite goal", "LRS line centres vs truth",
                         path)


def _lost_lines_html(metrics):
    """How many expected lines each scenario lost (a median over the fitted ones does not show them)."""
    count = metrics[metrics["metric"].isin(["lrs_lines_expected", "lrs_lines_lost"])]
    totals = count.pivot_table(index="scenario", columns="metric", values="value", aggfunc="sum")
    parts = [f"{html.escape(str(name))}: {int(row.get('lrs_lines_lost', 0))} of {int(row.get('lrs_lines_expected', 0))}"
             for name, row in totals.iterrows()]
    return f"<p>Lines lost (expected, fit failed), all seeds: {'; '.join(parts)}.</p>" if parts else ""


def spectrum_section(outdir, metrics, hist):
    """The LRS's extracted spectra: line-centre errors vs wavelength, and the lines lost (none: no LRS rows)."""
    if not metrics["metric"].isin(scorers.LRS_X1D_METRICS).any():
        return ""
    plot_line_centres(metrics, outdir / "line_centres.png")
    return f"""<h2>Extracted spectra (x1d)</h2>
{_lost_lines_html(metrics)}
<img src="line_centres.png" alt="line-centre error vs wavelength">"""


def emi_correction_section(outdir, metrics, hist):
    """The EMI correction's section: residual vs ngroups of every algorithm set (:func:`emi_section`)."""
    return emi_section(outdir, effect_views.attached(metrics)[1])


def transit_section(outdir, metrics, hist):
    """The time series' section: per scenario, the white light's scatter over its limit and the depth pulls."""
    rows = []
    for (algorithms, name), group in metrics.groupby(["algorithms", "scenario"]):
        ratio = group[group["metric"] == "lrs_tso_scatter_over_limit"]["value"]
        pulls = group[group["metric"] == "lrs_tso_depth_pull"]
        white, bins = pulls[pulls["bin"].isna()]["value"], pulls[pulls["bin"].notna()]["value"]
        if ratio.empty and pulls.empty:
            continue
        rows.append({"algorithms": algorithms, "scenario": name, "cells": int(group["seed"].nunique()),
                     "white scatter / limit (median)": float(ratio.median()),
                     "white depth pull (mean)": float(white.mean()),
                     "bins' depth pulls: mean": float(bins.mean()), "bins' depth pulls: sd": float(bins.std())})
    if not rows:
        return ""
    return f"""<h2>Time series (transit)</h2>
<p>The white light's scatter about its fitted model over the information limit, and the
transit depths' pulls (fitted - true over the stated error), white and per wavelength bin
(<code>validation/lrs_tso_score.py</code>); the light curves are drawn among the views below.</p>
{_html_table(pd.DataFrame(rows))}"""


def plot_mrs_line_centres(metrics, path):
    """Measured - true centre of every fitted MRS line vs its true wavelength, and the flight geometry's own error."""
    fig, ax = _scatter_per_scenario(metrics, "mrs_wavelength_offset", "bin", size=16)
    perturbation = metrics[metrics["metric"] == "mrs_wavelength_perturbation"]
    ax.scatter(perturbation["bin"], perturbation["value"], marker="x", color="k", s=20,
               label="flight geometry vs truth there (-v)")
    _line_centres_figure(fig, ax, MRS_WAVELENGTH_GOAL_KMS, "km/s", "issue 16 suite goal, median per band",
                         "MRS line centres vs truth", path)


def _mrs_band_table(metrics):
    """Per scenario and band: lines, the band's median line error, the centroid's error, the flux ratio, the pulls."""
    columns = {"mrs_lines_expected": "lines expected", "mrs_lines_lost": "lines lost",
               "mrs_wavelength_error_band": "median |line error| S/N>50 (km/s)",
               "mrs_centroid_error": "centroid error (mas)", "mrs_flux_ratio": "flux ratio (Jy x1d only)",
               "mrs_flux_pull_rms": "spectrum pull rms", "mrs_flux_pull_outlier_fraction": "planes |pull| > 5"}
    rows = metrics[metrics["metric"].isin(columns)]
    if rows.empty:
        return pd.DataFrame()
    table = rows.pivot_table(index=["scenario", "bin"], columns="metric", values="value", aggfunc="median")
    table = table.reindex(columns=[c for c in columns if c in table.columns]).rename(columns=columns).reset_index()
    table.insert(1, "band", [f"{int(b)}{' ABC'[round(10 * (b - int(b)))]}" for b in table.pop("bin")])
    return table


def mrs_section(outdir, metrics, hist):
    """The MRS's cubes and spectra: per band its lines, centroid and flux; the band-to-band offset; line centres."""
    table = _mrs_band_table(metrics)
    if table.empty:
        return ""
    offsets = metrics[metrics["metric"] == "mrs_band_offset"].groupby("scenario")["value"]
    parts = [f"{html.escape(str(name))}: median {v.median():.3g} mas, max {v.max():.3g} mas ({v.size} exposures)"
             for name, v in offsets]
    plot = ""
    if metrics["metric"].eq("mrs_wavelength_offset").any():
        plot_mrs_line_centres(metrics, outdir / "mrs_line_centres.png")
        plot = '<img src="mrs_line_centres.png" alt="MRS line-centre error vs wavelength">'
    return f"""<h2>MRS cubes and spectra (s3d, x1d)</h2>
<p>Per band, medians over seeds (<code>validation/mrs_score.py</code>): line centres against the
true ones, the cube's centroid against the true position, the flux ratio when the x1d is in Jy
(absent: no MRS PHOTOM), the spectrum's pulls about a smooth fit to FLUX / truth (width, share beyond 5).</p>
{_html_table(table)}
<p>Band-to-band centroid offset (V2/V3): {'; '.join(parts) or 'none'}.</p>
{plot}"""


#: The issue-17 effects' metrics in the report, by scorer: column titles.
MRS_EFFECT_COLUMNS = {"mrs_fringe_amplitude": "fringe left (amplitude)", "mrs_fringe_noise_floor": "its noise floor",
                      "mrs_fringe_white_floor": "white-noise floor",
                      "mrs_fringe_over_target": "FRINGE-1 ratio (<= 1)",
                      "mrs_fringe_noise_pvalue": "noise reaches it (p)",
                      "mrs_fringe_noise_fail_rate": "noise alone fails FRINGE-1",
                      "mrs_leak_residual": "leak left (of 3A continuum)", "mrs_leak_residual_error": "its 1 sigma",
                      "mrs_leak_residual_twin": "leak left against the leak-free twin (LEAK-1)",
                      "mrs_leak_residual_twin_error": "its 1 sigma",
                      "mrs_xart_removed": "cross-artifact removed", "mrs_xart_net": "subtracted / injected",
                      "mrs_xart_noise_floor": "a perfect model on this noise",
                      "mrs_xart_over_target": "XART-1 ratio (<= 1)"}


def mrs_effects_section(outdir, metrics, hist):
    """Issue 17's effects after their corrections: fringes and the leak per band, the cross-artifact per detector.

    Then the figures of :data:`MRS_EFFECT_VIEWS` for the effects the run's views hold (:mod:`validation.mrs_views`:
    only the scenarios that simulate an effect have its view), at most :data:`MAX_MRS_VIEWS` each.
    """
    rows = metrics[metrics["metric"].isin(MRS_EFFECT_COLUMNS)]
    if rows.empty:
        return ""
    table = rows.assign(bin=rows["bin"].fillna(0)).pivot_table(index=["scenario", "bin"], columns="metric",
                                                                 values="value", aggfunc="median")
    table = table.reindex(columns=[c for c in MRS_EFFECT_COLUMNS if c in table.columns])
    table = table.rename(columns=MRS_EFFECT_COLUMNS).reset_index()
    table.insert(1, "band", [f"{int(b)}{' ABC'[round(10 * (b - int(b)))]}" if b else "detector"
                             for b in table.pop("bin")])
    figures = []
    cut = _views_of(metrics)
    for index, (title, wanted, plot, detail) in enumerate(MRS_EFFECT_VIEWS):
        found = _found_views(cut, wanted, lambda v: 0, MAX_MRS_VIEWS)
        if found:  # an effect no scenario simulates shows no view
            figures += [f"<h3>{html.escape(title)}</h3>",
                        *_view_figures(outdir, found, title, plot, detail, f"mrs_view_{index}")]
    return f"""<h2>MRS effects after their corrections (issue 17)</h2>
<p>Medians over seeds: the residual fringe in each band's spectrum over the fringe periods against the
same statistic on noise (<code>validation/mrs_fringe_score.py</code>), the spectral leak left in 3A
(<code>validation/mrs_leak_score.py</code>), the share of the injected cross-artifact the straylight step
removed per detector (<code>validation/xart_score.py</code>). The effects are off unless a scenario turns
them on (suites <code>mrs_fringes</code>, <code>mrs_leak</code>, <code>mrs_xart</code>). Below, each
effect before and after its correction in the first seed of each scenario that simulates it
(<code>validation/mrs_views.py</code>).</p>
{_html_table(table)}
{chr(10).join(figures)}"""


#: Figures per MRS effect (a fringe view is one band: two band pairs' four).
MAX_MRS_VIEWS = 4


def plot_mrs_fringe(view, title, path):
    """Fringes: each band's point-source spectrum before and after the residual-fringe correction.

    The x1d over the true continuum (smooth part divided out, continuum planes) before the residual-fringe
    correction (after the fringe flat alone) and after it; right, the amplitude of a sinusoid fitted at each period of
    the fringe's band, with the noise floor (the same on pure noise of the spectrum's errors and plane-to-plane
    correlation) and FRINGE-1's limit
    (max(1.2 floor, 0.5 %)).  Without a residual-fringe correction the x1d is drawn alone.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.4), layout="constrained", width_ratios=(2.2, 1))
    lam, floor = view["wavelength"], float(view["floor"])
    variant = str(view["variant"])
    after_label = "fringe flat only" if variant == "none" else f"after {variant}"
    # the x1d before the 1-D fit (prerf) is after the 2-D one when both ran
    before_label = "before residual_fringe" if "residual_fringe_2d=" in variant else "fringe flat only"
    left.fill_between(lam, -100 * view["error"], 100 * view["error"], color="0.88", label="1 sigma", lw=0)
    if "before" in view:
        left.plot(lam, 100 * view["before"], "-", color="tab:orange", lw=0.6, label=before_label)
        right.plot(view["periods"], 100 * view["before_amplitudes"], "-", color="tab:orange")
    left.plot(lam, 100 * view["after"], "-", color="tab:blue", lw=0.6, label=after_label)
    left.axhline(0, color="k", lw=0.5)
    left.set_xlabel("wavelength (um)")
    left.set_ylabel("x1d / true continuum - 1 (%)")
    left.legend(fontsize=8, ncols=3, loc="upper right")
    right.plot(view["periods"], 100 * view["after_amplitudes"], "-", color="tab:blue")
    right.axhline(100 * floor, color="k", ls="--", lw=0.8, label=f"noise floor {100 * floor:.3g} %")
    limit = max(mrs_fringe_score.FLOOR_FACTOR * floor, mrs_fringe_score.AMPLITUDE_LIMIT)
    right.axhline(100 * limit, color="r", ls="-.", lw=0.8, label=f"FRINGE-1 limit {100 * limit:.3g} %")
    right.set_yscale("log")
    right.set_xlabel("fringe period (cm^-1)")
    right.set_ylabel("sinusoid amplitude (%)")
    right.legend(fontsize=8)
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def plot_mrs_leak(view, title, path):
    """Spectral leak: band 3A near 12.2 um before and after the leak correction.

    Band 3A's x1d over the true continuum without the leak, before the leak correction and after it,
    against the injected leak (1 + leak / continuum); the legend gives the leak left at its peak
    (mrs_leak_residual, LEAK-1 < 0.1 %).  Without a leak correction the x1d is drawn alone.
    """
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    lam = view["wavelength"]
    ax.fill_between(lam, 1 - view["error"], 1 + view["error"], color="0.88", lw=0, label="1 sigma")
    ax.plot(lam, view["injected"], "k--", lw=1, label="injected: 1 + leak / continuum")
    if "before" in view:
        ax.plot(lam, view["before"], "-", color="tab:orange", lw=0.7,
                label=f"before spectral_leak ({100 * view['before_residual']:.3g} % left)")
    ax.plot(lam, view["after"], "-", color="tab:blue", lw=0.7,
            label=f"{'after spectral_leak' if 'before' in view else 'not corrected'} "
                  f"({100 * view['after_residual']:.3g} % left)")
    ax.axhline(1, color="k", lw=0.5)
    ax.set_xlabel("wavelength (um)")
    ax.set_ylabel("3A x1d / true continuum")
    ax.legend(fontsize=8)
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def plot_mrs_xart(view, title, path):
    """Cross-artifact: a detector row cut before and after the straylight step.

    The mean of 17 rows about the row the artifact is largest in: the rate before the straylight step
    and after it with the true rate (top, symmetric log), and the model the step subtracted against the
    injected artifact, with what is left (after - true rate; bottom, linear); grey: the inter-slice
    gaps, where the rate is the artifact's alone.
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9.5, 5), sharex=True, layout="constrained",
                                      height_ratios=(1.2, 1))
    x = np.arange(view["before"].size)
    for ax in (top, bottom):
        ax.fill_between(x, 0, 1, where=view["gap"].astype(bool), transform=ax.get_xaxis_transform(), color="0.9",
                        lw=0)
    top.plot(x, view["before"], "-", color="tab:orange", lw=0.7, label="before straylight")
    top.plot(x, view["after"], "-", color="tab:blue", lw=0.7, label="after")
    top.plot(x, view["true"], "k-", lw=0.5, label="true rate (no artifact)")
    top.set_yscale("symlog", linthresh=max(float(np.nanmax(view["injected"])), 1e-6))
    top.set_ylabel("rate (DN/s)")
    top.legend(fontsize=8, ncols=3, loc="upper right")
    bottom.plot(x, view["injected"], "k--", lw=1, label="injected (truth XART)")
    bottom.plot(x, view["model"], "-", color="tab:orange", lw=0.8, label="subtracted model")
    bottom.plot(x, view["after"] - view["true"], "-", color="tab:blue", lw=0.5, label="after - true rate")
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set_xlabel("detector column")
    bottom.set_ylabel("DN/s")
    bottom.legend(fontsize=8, ncols=3, loc="upper right")
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


MRS_EFFECT_VIEWS = [  # (title, view-name test, plot, detail)
    ("Fringes: before and after the residual-fringe correction", lambda v: v.startswith("mrs_fringe:"),
     plot_mrs_fringe, lambda name, v: f"band {name.split(':')[1]}"),
    ("Spectral leak: band 3A near 12.2 um, before and after its correction", lambda v: v == "mrs_leak",
     plot_mrs_leak, lambda name, v: "band 3A"),
    ("Cross-artifact: a row cut before and after the straylight step", lambda v: v == "mrs_xart",
     plot_mrs_xart, lambda name, v: f"{v['detector']}, rows {v['rows'][0]}-{v['rows'][1]}"),
]


#: The MRS's suite goal for line centres (issue 16: median |error| < 2 km/s per band, S/N > 50), drawn as a band.
MRS_WAVELENGTH_GOAL_KMS = 2.0

#: Product type (:mod:`validation.scorers`) -> its report sections, in page order, each
#: ``section(outdir, metrics, hist) -> HTML``, drawn when the results hold its type's rows.
SECTIONS = {
    scorers.RATE: (rate_section,),
    scorers.CATALOG: (catalog_section,),
    scorers.EMI_CORRECTION: (emi_correction_section,),
    scorers.SPECTRUM1D: (spectrum_section,),
    scorers.TRANSIT: (transit_section,),
    scorers.CUBE: (mrs_section, mrs_effects_section),
}


def product_sections(outdir, metrics, hist):
    """The HTML of the sections of every product type in ``metrics`` (:data:`SECTIONS`).

    Parameters
    ----------
    outdir : pathlib.Path
        Where the sections' plots go.
    metrics : pandas.DataFrame
        The results table.
    hist : numpy.ndarray
        The summed pull histograms (:func:`validation.detector_score.pull_histograms`).

    Returns
    -------
    str
    """
    present = scorers.product_types(metrics)
    parts = [section(outdir, metrics, hist) for kind, sections in SECTIONS.items() if kind in present
             for section in sections]
    return "\n".join(parts)


def write_report(outdir, metrics, hist, target_results, context, baseline_result=None):
    """Write the report folder.

    ``metrics.csv``, ``summary.json`` (with the pull histograms, so that ``report``
    draws them again from the folder), the sections of each product type in the results
    (:data:`SECTIONS`) with their plots, ``views.npz`` and the before/after views,
    ``index.html`` and ``summary.md``; with ``baseline_result``, the difference from the
    baseline too.  The effect views and the EMI rows of every algorithm set come from
    ``metrics.attrs`` (:func:`validation.views.attached`).

    Parameters
    ----------
    outdir : pathlib.Path
    metrics : pandas.DataFrame
        The long-form results of one algorithm set.
    hist : numpy.ndarray
        The summed pull histograms (:func:`validation.detector_score.pull_series`: a single
        histogram, as older results hold, is the first series).
    target_results : list of dict
        :func:`validation.targets.evaluate`'s.
    context : dict
        suite, created, cells, algorithms, version.
    baseline_result : pandas.DataFrame, optional
        :func:`validation.gate.check`'s comparison.

    Returns
    -------
    pathlib.Path
        The page, ``outdir / "index.html"``.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    metrics.to_csv(buffer, index=False)
    write_text(outdir / "metrics.csv", buffer.getvalue())
    hist = pull_series(hist)
    summary = {"context": context, "targets": target_results, "pull_hist": hist.tolist()}
    write_text(outdir / "summary.json", json.dumps(_strict(summary), indent=2, default=str, allow_nan=False))
    cut = _views_of(metrics)
    effect_views.save(outdir / "views.npz", cut)
    products_html = product_sections(outdir, metrics, hist)
    effects_html = effect_sections(outdir, cut)
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>MIRI testbed report: {html.escape(context['suite'])}</title>
<style>{STYLE}</style></head><body>
<h1>MIRI testbed report: suite <code>{html.escape(context['suite'])}</code></h1>
<p>{html.escape(context['created'])} &middot; {context['cells']} cells &middot; algorithms
<code>{html.escape(json.dumps(context['algorithms']))}</code> &middot; summary for PRs:
<a href="summary.md">summary.md</a> &middot; miri-testbed {html.escape(context['version'])}</p>
<h2>Accuracy targets</h2>
{_targets_html(target_results)}
{products_html}
{effects_html}
{_baseline_html(baseline_result) if baseline_result is not None else ""}
<h2>Metrics by scenario</h2>
{_html_table(summary_table(metrics))}
<p>Full long-form table: <a href="metrics.csv">metrics.csv</a>; per-target figures:
<a href="summary.json">summary.json</a>.</p>
</body></html>
"""
    write_text(outdir / "index.html", page)
    write_text(outdir / "summary.md", markdown_summary(target_results, context, baseline_result))
    return outdir / "index.html"


# ------------------------------------------------------------------ EMI and effect views

def plot_emi_vs_ngroups(rows, path):
    """The EMI left after correction vs the number of groups, one line per algorithm set.

    The median over scenarios and seeds at each ngroups, with the statistical floor (read
    noise over the amount of data, sigma sqrt(p / M)) and the Cramer-Rao floor of an
    unbiased fit that learns the frequency (higher where a line is nearly a whole number of
    periods per frame; a fit that drops such a line's harmonics can go below it).
    """
    fig, ax = plt.subplots(figsize=(7, 4.5))
    residual = rows[rows["metric"] == "emi_residual_fraction"]
    for label, group in residual.groupby("algorithms"):
        med = group.groupby("bin")["value"].median()
        ax.plot(med.index, 100 * med.to_numpy(), "o-", label=label)
    for metric, style, name in (("emi_residual_floor", "k--", "statistical floor"),
                                ("emi_residual_floor_cr", "k:", "Cramer-Rao floor (unbiased)")):
        floor = rows[rows["metric"] == metric].groupby("bin")["value"].median()
        shown = np.isfinite(floor.to_numpy())  # infinite: a direction the data cannot measure
        ax.plot(floor.index[shown], 100 * floor.to_numpy()[shown], style, label=name)
    ax.axhline(0.5, color="r", lw=0.8, ls="-.", label="0.5 % target (issue 4)")
    ax.set_yscale("log")
    ax.set_xlabel("groups per integration")
    ax.set_ylabel("residual EMI (% of injected, group-varying rms)")
    ax.legend(fontsize=9)
    ax.set_title("EMI residual vs ngroups, per algorithm set")
    _save_figure(fig, path)


def plot_emi_fold(view, title, path):
    """The ramp residuals folded by phase at the line's frequency.

    Raw data (before), after the EMI step, and the injected waveform treated the same way (truth).
    """
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    ax.plot(view["phase"], view["before"], "-", color="0.5", label="before (uncal)")
    ax.plot(view["phase"], view["true"], "k--", label="injected (truth)")
    ax.plot(view["phase"], view["after"], "-", color="tab:blue", label="after the EMI step")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel(f"phase at {view['frequency_hz']:.4f} Hz")
    ax.set_ylabel("ramp residual (DN)")
    ax.legend()
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def _images(axes, panels, norm, cmap="viridis"):
    for ax, (image, name) in zip(axes, panels, strict=False):
        shown = ax.imshow(image, origin="lower", norm=norm, cmap=cmap, interpolation="nearest")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    return shown


FLAG_COLOURS = ("white", "tab:orange")  # not flagged, flagged


def plot_cosmic(view, title, path):
    """A cut-out around the largest shower or the largest cosmic-ray hit the ramp can show.

    The rate with every group difference used (no jump flags) less the true rate, the
    calibrated rate less the true rate (DN/s, symmetric log stretch, linear within 3
    noise sigma), and the pixels the jump and shower steps flagged (orange); a cosmic
    ray's core pixel is marked (+).
    """
    fig, axes = plt.subplots(1, 3, figsize=(8.5, 3.6), layout="constrained")
    before, after = view["before"] - view["true"], view["after"] - view["true"]
    finite = after[np.isfinite(after)]
    sigma = 1.4826 * float(np.median(np.abs(finite - np.median(finite)))) if finite.size else 1.0
    sigma = sigma or 1.0
    top = max(float(np.nanmax(np.abs(before))), 5 * sigma)
    shown = _images(axes[:2], [(before, "no jump flags"), (after, "calibrated")],
                    SymLogNorm(linthresh=3 * sigma, vmin=-top, vmax=top), "RdBu_r")
    _images(axes[2:], [(view["flagged"], "flagged")], plt.Normalize(0, 1), ListedColormap(FLAG_COLOURS))
    axes[2].set_facecolor(FLAG_COLOURS[0])
    handles = [Patch(facecolor=c, edgecolor="0.4", label=name)
               for c, name in zip(FLAG_COLOURS, ("not flagged", "flagged (jump, shower)"), strict=True)]
    if "core_y" in view:
        core = (view["core_x"] - view["x0"], view["core_y"] - view["y0"])
        for ax in axes:
            ax.plot(*core, "+", color="k", ms=12, mew=1.5)
        handles.append(Line2D([], [], ls="", marker="+", color="k", ms=12, mew=1.5, label="core pixel"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    ticks = [-top, -3 * sigma, 0, 3 * sigma, top]
    bar = fig.colorbar(shown, ax=axes[:2], shrink=0.8, label="rate - true (DN/s)", ticks=ticks)
    bar.ax.set_yticklabels([f"{t:.3g}" for t in ticks])
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def plot_cruciform(view, title, path):
    """A stamp of the brightest source of a filter with a cross.

    The cal image before and after the cruciform variant, and what the variant removed
    (before - after), all less the image median, on one asinh stretch saturated at 3 % of
    the star's peak so that the faint row and column arms show.
    """
    fig, axes = plt.subplots(1, 3, figsize=(8.5, 3.4), layout="constrained")
    before, after = view["before"], view["after"]
    top = 0.03 * float(np.nanmax(before))
    shown = _images(axes, [(before, "before (cal)"), (after, f"after ({view['variant']})"),
                           (before - after, "removed")],
                    AsinhNorm(linear_width=top / 20, vmin=-top, vmax=top), "RdBu_r")
    bar = fig.colorbar(shown, ax=axes, shrink=0.8, label="MJy/sr")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))  # no superscripts: smaller text
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def plot_background(view, title, path):
    """The cal image, its 2-D background estimate and the image less it.

    The estimate is ``background=map``'s; block medians, MJy/sr; the scene's true level
    in the title.
    """
    fig, axes = plt.subplots(1, 3, figsize=(8.5, 3.4), layout="constrained")
    lo, hi = np.nanpercentile(view["before"], [2, 98])
    _images(axes[:2], [(view["before"], "before (cal)"), (view["estimate"], "estimate (map)")],
            plt.Normalize(lo, hi))
    resid = view["after"]
    top = float(np.nanpercentile(np.abs(resid), 98)) or 1.0
    shown = _images(axes[2:], [(resid, "cal - estimate")], plt.Normalize(-top, top), "RdBu_r")
    fig.colorbar(shown, ax=axes[2], shrink=0.8, label="MJy/sr")
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def plot_lrs_spectrum(view, title, path):
    """The extracted spectrum (Jy) against the F_nu the truth puts in each row, and their ratio.

    The truth is the continuum plus the lines' spread light; the ratio is drawn on the rows
    the flux scorer uses (outside the lines' windows), with the spectrum's 1-sigma band.
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 4.2), sharex=True, layout="constrained",
                                      height_ratios=(2, 1))
    lam, flux, true, scored = view["wavelength"], view["flux"], view["true"], view["scored"].astype(bool)
    top.plot(lam, 1e3 * true, "k-", lw=1, label="truth")
    top.plot(lam, 1e3 * flux, "-", color="tab:blue", lw=0.8, label="x1d")
    top.set_ylabel("F_nu (mJy)")
    top.set_yscale("log")
    top.legend()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio, band = flux / true, view["error"] / true
    bottom.fill_between(lam[scored], 1 - band[scored], 1 + band[scored], color="0.85", label="1 sigma")
    bottom.plot(lam[scored], ratio[scored], ".", color="tab:blue", ms=2)
    bottom.axhline(1, color="k", lw=0.6)
    bottom.set_ylim(0.95, 1.05)
    bottom.set_ylabel("x1d / truth")
    bottom.set_xlabel("wavelength (um)")
    bottom.set_xlim(5, 14)
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def plot_lrs_dropouts(view, title, path):
    """The spectrum extracted without pixel replacement and with it, and the dropouts in each.

    Dropouts are rows the dropout scorer finds lost or off the source's smooth continuum by
    more than 5 sigma (crosses: before; none should be left after).
    """
    fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
    lam = view["wavelength"]
    before, after = view["before"], view["after"]
    lost_before, lost_after = view["lost_before"].astype(bool), view["lost_after"].astype(bool)
    ax.plot(lam, before, "-", color="0.6", lw=0.8, label=f"pixel_replace none ({int(lost_before.sum())} dropouts)")
    ax.plot(lam, after, "-", color="tab:blue", lw=0.8, label=f"x1d ({int(lost_after.sum())} dropouts)")
    ax.plot(lam[lost_before], np.nan_to_num(before[lost_before]), "x", color="tab:red", ms=7, mew=1.5)
    ax.plot(lam[lost_after], after[lost_after], "o", mfc="none", color="k", ms=8)
    ax.set_xlabel("wavelength (um)")
    ax.set_ylabel(f"flux ({view['unit']})")
    ax.set_yscale("log")
    ax.set_xlim(5, 14)
    ax.legend()
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def plot_light_curve(view, title, path):
    """The white light with its fitted model and the true relative flux, and the bins' depths.

    The model holds the baseline, the settling and the transit; with a transit product, the
    wavelength bins' fitted depths are drawn against the true ones (their 1-sigma errors).
    """
    bins = "depth" in view
    fig, axes = plt.subplots(1, 2 if bins else 1, figsize=(8.5 if bins else 6, 3.4), layout="constrained",
                             squeeze=False)
    ax = axes[0, 0]
    hours = view["hours"]
    ax.errorbar(hours, view["flux"], view["error"], fmt=".", color="tab:blue", ms=2, lw=0.5, label="white light")
    ax.plot(hours, view["model"], "-", color="tab:orange", label="fitted model")
    ax.plot(hours, view["true"], "k--", lw=0.8, label="truth (transit)")
    ax.set_xlabel("time (h)")
    ax.set_ylabel("relative flux")
    ax.legend()
    if bins:
        ax = axes[0, 1]
        ax.errorbar(view["bin_um"], 1e6 * view["depth"], 1e6 * view["depth_error"], fmt="o", color="tab:blue",
                    ms=3, label="fitted")
        ax.plot(view["bin_um"], 1e6 * view["true_depth"], "k_", ms=12, mew=1.5, label="truth")
        ax.set_xlabel("wavelength (um)")
        ax.set_ylabel("depth (ppm)")
        ax.legend()
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def plot_mrs_band(view, title, path):
    """Each band's cube collapsed over wavelength, and its extracted spectrum.

    On the cube: the true position (+) and the scorer's centroid (x); on the spectrum: the
    true line centres (dotted) and, in Jy, the true continuum.
    """
    spectrum = "wavelength" in view
    fig, axes = plt.subplots(1, 2 if spectrum else 1, figsize=(9 if spectrum else 4, 3.6), layout="constrained",
                             squeeze=False, width_ratios=(1, 1.6) if spectrum else None)
    ax = axes[0, 0]
    (a0, a1), (b0, b1) = view["alpha_range"], view["beta_range"]
    ax.imshow(view["image"], origin="lower", extent=(a0, a1, b0, b1), cmap="viridis",
              norm=AsinhNorm(linear_width=max(float(np.nanmax(view["image"])) * 1e-2, 1e-30)))
    ax.plot(*view["true"], "+", color="w", ms=12, mew=1.5, label="truth")
    ax.plot(*view["centroid"], "x", color="tab:red", ms=9, mew=1.5, label="centroid")
    ax.set_xlabel("alpha (arcsec)")
    ax.set_ylabel("beta (arcsec)")
    ax.legend(fontsize=8, loc="lower right")
    if spectrum:
        ax = axes[0, 1]
        ax.plot(view["wavelength"], view["flux"], "-", color="tab:blue", lw=0.7, label="x1d")
        if "true_jy" in view:
            ax.plot(view["wavelength"], view["true_jy"], "k-", lw=0.8, label="true continuum")
        for k, centre in enumerate(np.atleast_1d(view["lines"])):
            ax.axvline(centre, color="k", ls=":", lw=0.8, label="true lines" if k == 0 else None)
        ax.set_xlabel("wavelength (um)")
        ax.set_ylabel(f"flux ({view['unit']})")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    _save_figure(fig, path, VIEW_DPI)


def _view_title(cell, detail):
    _, scenario, seed = cell.split("|")
    return f"{scenario} seed {seed}: {detail}"


def _emi_detail(name, view):
    return f"{name} ({view['frequency_hz']:.4f} Hz, {view['rms_dn']:.2g} DN rms injected)"


def _cosmic_detail(view):
    return f"largest {view['kind']} ({view['size']}), cut-out from x={view['x0']}, y={view['y0']}"


def _cruciform_detail(view):
    return f"{view['filter']}, {view['flux_mjy']:.3g} mJy; {view['record']}"


def _background_detail(view):
    after = float(np.nanmedian(view["after"]))
    true = ("zodiacal + thermal model" if view["modelled"] else f"true {view['true_mjy_sr']:.4g} MJy/sr")
    return f"{true}; estimate median {float(np.nanmedian(view['estimate'])):.4g}, after {after:.2g} MJy/sr"


EFFECTS = [  # (section title, view-name test, plot, detail, order (strongest first))
    ("EMI: folded waveform", lambda v: v.startswith("emi:"), plot_emi_fold,
     lambda name, v: _emi_detail(name[4:], v), lambda v: -float(v["rms_dn"])),
    ("Showers", lambda v: v == "shower", plot_cosmic, lambda name, v: _cosmic_detail(v), lambda v: 0),
    ("Cosmic rays", lambda v: v == "cosmic_ray", plot_cosmic, lambda name, v: _cosmic_detail(v), lambda v: 0),
    ("Cruciform", lambda v: v == "cruciform", plot_cruciform, lambda name, v: _cruciform_detail(v),
     lambda v: -float(v["contrast"])),
    ("Background", lambda v: v == "background", plot_background, lambda name, v: _background_detail(v),
     lambda v: not v["modelled"]),
    ("LRS: spectrum against the truth", lambda v: v == "lrs_spectrum", plot_lrs_spectrum,
     lambda name, v: f"source {int(v['source_id'])}", lambda v: 0),
    ("LRS: dropouts, before and after pixel replacement", lambda v: v == "lrs_dropouts", plot_lrs_dropouts,
     lambda name, v: f"{int(v['bad_pixels'])} bad pixels on the trace", lambda v: -float(v["lost_before"].sum())),
    ("LRS: white-light curve and transit fit", lambda v: v == "lrs_light_curve", plot_light_curve,
     lambda name, v: f"{v['hours'].size} integrations", lambda v: 0),
    ("MRS: each band's cube and spectrum against the truth", lambda v: v.startswith("mrs:"), plot_mrs_band,
     lambda name, v: f"band {name[4:]}", lambda v: 0),
]


def _doc(text):
    return " ".join(text.split())


def _found_views(cut, wanted, order, limit=MAX_VIEWS):
    """The ``(cell, name, view)`` of ``cut`` whose name is ``wanted``, ``order``'s first ``limit``."""
    found = [(cell, name, view) for cell, cell_views in cut.items() for name, view in cell_views.items()
             if wanted(name)]
    return sorted(found, key=lambda item: order(item[2]))[:limit]


def _view_figures(outdir, found, title, plot, detail, prefix):
    """Draw each of ``found`` (:func:`_found_views`) as ``<prefix>_<k>.png``; the HTML: the plot's doc and images."""
    parts = [f"<p class='note'>{html.escape(_doc(plot.__doc__))}</p><div class='views'>"]
    for k, (cell, name, view) in enumerate(found):
        png = f"{prefix}_{k}.png"
        with matplotlib.rc_context(VIEW_STYLE):
            plot(view, _view_title(cell, detail(name, view)), outdir / png)
        parts.append(f"<img class='view' src='{png}' alt='{html.escape(title)}: {html.escape(cell)}'>")
    parts.append("</div>")
    return parts


def effect_sections(outdir, cut):
    """Draw up to ``MAX_VIEWS`` figures per effect; return the HTML of the before/after section.

    ``cut``: ``{cell: {view: fields}}``.
    """
    parts = ["<h2>Before and after, per effect</h2>",
             "<p>Cut from the run's own exposures (first seed of each scenario); only effects on in "
             "some cell are drawn.</p>"]
    for index, (title, wanted, plot, detail, order) in enumerate(EFFECTS):
        found = _found_views(cut, wanted, order)
        parts.append(f"<h3>{html.escape(title)}</h3>")
        if not found:
            parts.append("<p class='note'>No cell with this effect on.</p>")
            continue
        parts += _view_figures(outdir, found, title, plot, detail, f"view_{index}")
    return "\n".join(parts)


def _views_of(metrics):
    """The views attached to ``metrics`` of its algorithm sets' cells (:func:`validation.views.attached`)."""
    cut, _ = effect_views.attached(metrics)
    if not cut:
        return {}
    labels = set(metrics["algorithms"].astype(str))
    return {cell: v for cell, v in cut.items() if cell.split("|")[0] in labels}


def emi_section(outdir, rows):
    """The residual-vs-ngroups plot, or a line saying what it needs.

    Drawn when ``rows`` hold EMI residuals at several ngroups and from several algorithm sets.
    """
    residual = rows[rows["metric"] == "emi_residual_fraction"]
    if residual.empty:
        return ""
    if residual["bin"].nunique() < 2 or residual["algorithms"].nunique() < 2:
        return ("<h2>EMI residual vs ngroups</h2><p class='note'>Drawn for results with EMI residuals at "
                "several ngroups from several algorithm sets, e.g. <code>miri-testbed study --suite emi "
                "--algorithms default emi=fold emi=none -o studies/emi</code>.</p>")
    plot_emi_vs_ngroups(rows, outdir / "emi_vs_ngroups.png")
    return ("<h2>EMI residual vs ngroups</h2><p class='note'>" + html.escape(_doc(plot_emi_vs_ngroups.__doc__))
            + "</p><img src='emi_vs_ngroups.png' alt='EMI residual vs ngroups'>")
