"""Compare two algorithm sets of a study on identical exposures.

Rows of set A and set B are paired when they describe the same thing in the same
exposure: same scenario, seed, metric and bin, and for source rows the same
``source_id`` (a source that only one set detected has no pair; ``detected`` counts it).
Each pair gives a difference of losses ``loss(B) - loss(A)`` (:mod:`validation.metrics`:
lower loss is better), and for each metric per scenario and bin, and pooled over the
scenarios (``scenario = all``, when there are several), the mean difference gets a percentile bootstrap
confidence interval (resampling pairs; seeded, so a comparison is reproducible).

Verdict of B against A: ``better`` when the whole interval is below 0, ``worse`` when
it is above 0, otherwise ``no significant difference``; ``too few pairs`` below
``min_pairs`` pairs (a bootstrap of a handful of values is too narrow to trust).
Every row is one test at the given confidence: with many rows, expect about
``(1 - confidence)`` of the truly unchanged ones to show a verdict by chance.
"""
import zlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from miri_testbed.instrument.files import atomic_path, write_text  # noqa: E402

from .metrics import EVENT_VALUED_BIN, judged, loss, loss_name  # noqa: E402
from .results import select_set  # noqa: E402

KEYS = ["scenario", "seed", "metric", "bin", "source_id"]
NO_DIFFERENCE = "no significant difference"
COLUMNS = ["scenario", "metric", "bin", "loss", "n_pairs", "unpaired", "mean_a", "mean_b", "loss_a", "loss_b",
           "diff", "ci_low", "ci_high", "verdict"]


def bootstrap_ci(d, rng, n_boot=2000, confidence=0.95):
    """Percentile bootstrap interval of the mean of ``d``."""
    d = np.asarray(d, float)
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // d.size)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        means[start:stop] = d[rng.integers(0, d.size, (stop - start, d.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def verdict(d, low, high, min_pairs):
    if np.all(d == 0):
        return NO_DIFFERENCE
    if d.size < min_pairs:
        return "too few pairs"
    return "better" if high < 0 else "worse" if low > 0 else NO_DIFFERENCE


def pair_rows(table, a, b):
    """``(pairs, unpaired)``: one row per pair of judged rows of sets ``a`` and ``b``
    (columns ``value_a``, ``value_b``), and the rows of either set without a partner (or
    with a NaN value).
    """
    sides = []
    for label in (a, b):
        rows = select_set(table, label)
        rows = rows[rows["metric"].map(judged)].copy()
        rows[["bin", "source_id"]] = rows[["bin", "source_id"]].fillna(-np.inf)  # NaN keys pair with NaN
        rows["occurrence"] = rows.groupby(KEYS, sort=False).cumcount()
        sides.append(rows[KEYS + ["occurrence", "value"]])
    merged = sides[0].merge(sides[1], on=KEYS + ["occurrence"], how="outer", suffixes=("_a", "_b"), sort=False)
    merged[["bin", "source_id"]] = merged[["bin", "source_id"]].replace(-np.inf, np.nan)
    both = merged["value_a"].notna() & merged["value_b"].notna()
    return merged[both].reset_index(drop=True), merged[~both].reset_index(drop=True)


def _groups(frame, pooled):
    """``frame`` with the grouping columns ``where`` (scenario, or ``all``) and ``binkey``
    (the bin, -inf for none, so that it groups).
    """
    binkey = frame["bin"].where(~frame["metric"].isin(EVENT_VALUED_BIN))
    return frame.assign(where="all" if pooled else frame["scenario"], binkey=binkey.fillna(-np.inf))


def compare(table, a, b, confidence=0.95, n_boot=2000, seed=0, min_pairs=10):
    """The comparison table of set ``b`` against set ``a`` (columns ``COLUMNS``)."""
    pairs, unpaired = pair_rows(table, a, b)
    rows = []
    for pooled in (False, True) if pairs["scenario"].nunique() > 1 else (False,):
        lone = _groups(unpaired, pooled).groupby(["metric", "where", "binkey"]).size()
        for (metric, where, b_key), g in _groups(pairs, pooled).groupby(["metric", "where", "binkey"], sort=True):
            la, lb = loss(metric, g["value_a"]), loss(metric, g["value_b"])
            d = lb - la
            rng = np.random.default_rng([seed, zlib.crc32(f"{where}|{metric}|{b_key}".encode())])
            low, high = (0.0, 0.0) if np.all(d == 0) else bootstrap_ci(d, rng, n_boot, confidence)
            rows.append(dict(scenario=where, metric=metric, bin=np.nan if b_key == -np.inf else b_key,
                             loss=loss_name(metric), n_pairs=d.size, unpaired=int(lone.get((metric, where, b_key), 0)),
                             mean_a=float(g["value_a"].mean()), mean_b=float(g["value_b"].mean()),
                             loss_a=float(la.mean()), loss_b=float(lb.mean()), diff=float(d.mean()),
                             ci_low=low, ci_high=high, verdict=verdict(d, low, high, min_pairs)))
    return pd.DataFrame(rows, columns=COLUMNS)


def _fmt(v):
    if isinstance(v, float):
        return "" if np.isnan(v) else f"{v:.4g}"
    return str(v)


def markdown(result, a, b, confidence):
    """The comparison as a Markdown table, pooled rows first."""
    order = result.assign(pooled=result["scenario"] != "all").sort_values(["pooled", "scenario", "metric", "bin"],
                                                                            kind="stable")
    cols = ["scenario", "metric", "bin", "loss", "n_pairs", "loss_a", "loss_b", "diff", "ci_low", "ci_high", "verdict"]
    lines = [f"## {b} against {a}", "",
             f"Mean paired difference of losses, loss(B) - loss(A) (lower is better), with "
             f"{confidence:.0%} bootstrap intervals.  A = `{a}`, B = `{b}`.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in order.iterrows():
        cells = [_fmt(r[c]).replace("|", "\\|") for c in cols]
        if r["verdict"] in ("better", "worse"):
            cells[-1] = f"**{cells[-1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(result, a, b, path):
    """Relative change of the mean loss, B against A, per metric and bin, pooled over
    scenarios, with its interval; rows whose A loss is 0 cannot be scaled and are left out.
    """
    pooled = result[result["scenario"] == "all"] if (result["scenario"] == "all").any() else result
    rows = pooled[pooled["loss_a"] > 0].iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(rows) + 1.5))
    colours = {"better": "tab:green", "worse": "tab:red"}
    y = np.arange(len(rows))
    scale = rows["loss_a"].to_numpy()
    centre = 100 * rows["diff"].to_numpy() / scale
    err = 100 * np.vstack([rows["diff"] - rows["ci_low"], rows["ci_high"] - rows["diff"]]) / scale
    for i, v in enumerate(rows["verdict"]):
        ax.errorbar(centre[i], y[i], xerr=err[:, i:i + 1], fmt="o", color=colours.get(v, "0.5"), ms=4, capsize=2)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [m + ("" if np.isnan(bn) else f" [{bn:g}]") for m, bn in zip(rows["metric"], rows["bin"])],
                  fontsize=7)
    ax.set_xlabel("change of mean loss, B vs A (%)  (< 0: B better)")
    ax.set_xlim(max(-100, ax.get_xlim()[0]), min(100, ax.get_xlim()[1]))
    ax.set_title(f"B = {b}  vs  A = {a}", fontsize=9)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)


def write_comparison(result, a, b, outdir, confidence=0.95):
    """``comparison.csv``, ``comparison.md`` and ``comparison.png`` in ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    write_text(outdir / "comparison.csv", result.to_csv(index=False))
    write_text(outdir / "comparison.md", markdown(result, a, b, confidence))
    plot(result, a, b, outdir / "comparison.png")
    return [outdir / n for n in ("comparison.csv", "comparison.md", "comparison.png")]
