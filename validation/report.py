"""The report folder: metrics table, per-target summary, plots, a static HTML page and a
Markdown summary for pull-request comments.

Everything is written atomically; the page opens from disk (no server) and embeds its
plots as PNG files beside it.  Given a gate comparison (:func:`validation.gate.check`),
both pages add the difference from the baseline, regressions highlighted.
"""
import html
import io
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from instrument.files import atomic_path, write_text  # noqa: E402

from .gate import FAILING, TOLERANCE_RULE, ordered  # noqa: E402
from .score import PULL_HIST_EDGES  # noqa: E402
from .targets import format_bounds, format_value, status  # noqa: E402


def _save_figure(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_flux_ratio(metrics, path):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rows = metrics[metrics["metric"] == "flux_ratio"]
    for name, group in rows.groupby("scenario"):
        ax.scatter(group["true_flux_mjy"], group["value"], s=12, alpha=0.7, label=name)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhspan(0.995, 1.005, color="0.85", zorder=0, label="+/-0.5 %")
    ax.set_xscale("log")
    ax.set_xlabel("true flux density (mJy)")
    ax.set_ylabel("measured / true flux")
    ax.set_ylim(0.9, 1.1)
    ax.legend(fontsize=8)
    ax.set_title("Aperture photometry vs truth")
    _save_figure(fig, path)


def plot_pulls(hist, path):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    centres = 0.5 * (PULL_HIST_EDGES[1:] + PULL_HIST_EDGES[:-1])
    width = np.diff(PULL_HIST_EDGES)
    total = hist.sum()
    density = hist / (total * width) if total else hist
    ax.bar(centres, density, width=width, color="tab:blue", alpha=0.6, label=f"rate pulls ({total:,} pixels)")
    x = np.linspace(PULL_HIST_EDGES[0], PULL_HIST_EDGES[-1], 400)
    ax.plot(x, np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), "k-", lw=1.5, label="unit Gaussian")
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 1)
    ax.set_xlabel("(rate - true rate) / err")
    ax.set_ylabel("probability density")
    ax.legend(fontsize=8)
    ax.set_title("Rate pulls")
    _save_figure(fig, path)


def plot_astrometry(metrics, path):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rows = metrics[metrics["metric"] == "astrometric_error"]
    for name, group in rows.groupby("scenario"):
        ax.scatter(group["snr"], group["value"], s=12, alpha=0.7, label=name)
    ax.axhline(10.0, color="r", lw=0.8, ls="--", label="10 mas target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured S/N")
    ax.set_ylabel("astrometric error (mas)")
    ax.legend(fontsize=8)
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
    ax.legend(fontsize=8)
    ax.set_title("Astrometric residuals")
    _save_figure(fig, path)


def summary_table(metrics):
    """Median, 16th and 84th percentile and count of each metric per scenario."""
    rows = metrics[metrics["bin"].isna() | (metrics["metric"].isin(["flux_ratio", "astrometric_error"]))]
    grouped = rows.groupby(["scenario", "metric"])["value"]
    table = grouped.agg(median="median", p16=lambda v: np.percentile(v, 16), p84=lambda v: np.percentile(v, 84),
                        n="count")
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


def _targets_html(results):
    rows = []
    for r in results:
        result = status(r)
        css = {"pass": "pass", "FAIL": "fail", "fail (tracked)": "tracked", "no data": "nodata"}[result]
        rows.append(
            f"<tr class='{css}'><td>{html.escape(r['id'])}</td><td>{html.escape(r['metric'])}"
            f"</td><td>{html.escape(r['aggregation'])} {html.escape(r['where'])}</td>"
            f"<td>{html.escape(format_value(r['measured']))}</td><td>{html.escape(format_bounds(r))} "
            f"{html.escape(r['unit'])}</td><td>{r['n']}</td><td>{'yes' if r['gating'] else 'no'}</td>"
            f"<td>{result}</td><td>{html.escape(r['source'])}</td></tr>"
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
img { max-width: 48%; margin: 0.5%; border: 1px solid #ddd; }
tr.regressed td { background: #f8c8c8; font-weight: bold; }
tr.improved td { background: #d4f0d4; }
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
        result = status(r)
        lines.append(f"| {r['id']} | {r['aggregation']} {r['metric']} | {format_value(r['measured'])} | "
                     f"{format_bounds(r)} {r['unit']} | {r['n']} | {'yes' if r['gating'] else 'no'} | "
                     f"{'**' + result + '**' if result == 'FAIL' else result} |")
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


def write_report(outdir, metrics, hist, target_results, context, baseline_result=None):
    """Write ``metrics.csv``, ``summary.json``, plots, ``index.html`` and ``summary.md``
    into ``outdir``; with ``baseline_result``, the difference from the baseline too."""
    outdir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    metrics.to_csv(buffer, index=False)
    write_text(outdir / "metrics.csv", buffer.getvalue())
    write_text(outdir / "summary.json", json.dumps(_strict({"context": context, "targets": target_results}),
                                                   indent=2, default=str, allow_nan=False))
    plot_flux_ratio(metrics, outdir / "flux_ratio.png")
    plot_pulls(hist, outdir / "pulls.png")
    plot_astrometry(metrics, outdir / "astrometry.png")
    plot_astrometric_map(metrics, outdir / "astrometric_map.png")
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>MIRI testbed report: {html.escape(context['suite'])}</title>
<style>{STYLE}</style></head><body>
<h1>MIRI testbed report: suite <code>{html.escape(context['suite'])}</code></h1>
<p>{html.escape(context['created'])} &middot; {context['cells']} cells &middot; algorithms
<code>{html.escape(json.dumps(context['algorithms']))}</code> &middot; summary for PRs: <a href="summary.md">summary.md</a> &middot; miri-testbed {html.escape(context['version'])}</p>
<h2>Accuracy targets</h2>
{_targets_html(target_results)}
<h2>Plots</h2>
<img src="flux_ratio.png" alt="flux ratio vs flux"><img src="pulls.png" alt="pull histogram">
<img src="astrometry.png" alt="astrometric error vs S/N"><img src="astrometric_map.png" alt="astrometric residual map">
{_baseline_html(baseline_result) if baseline_result is not None else ""}
<h2>Metrics by scenario</h2>
{_html_table(summary_table(metrics))}
<p>Full long-form table: <a href="metrics.csv">metrics.csv</a>; per-target figures: <a href="summary.json">summary.json</a>.</p>
</body></html>
"""
    write_text(outdir / "index.html", page)
    write_text(outdir / "summary.md", markdown_summary(target_results, context, baseline_result))
    return outdir / "index.html"
