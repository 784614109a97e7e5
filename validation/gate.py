"""The CI accuracy gate: a run's metric aggregates against the accepted baseline.

The baseline (``reports/baseline.json``, written only by ``miri-testbed gate
--update-baseline``) records the suite (name and exact TOML text), the seeds, the
algorithm set and, for every (scenario, metric, bin), the *per-seed aggregate*: the mean
loss (:mod:`validation.metrics`, lower is better) of that metric's rows in the cell of
each seed.

A run is compared entry by entry on the seeds it shares with the baseline:

* ``change`` = mean over the shared seeds of (run - baseline) per-seed aggregate;
* ``tolerance`` = ``k * s / sqrt(n)``: ``s`` the standard deviation of the baseline's
  per-seed aggregates (its own spread across seeds), ``n`` the number of shared seeds,
  ``k`` (default 3) stored in the baseline file.  That is, a change must exceed ``k``
  standard errors of the baseline's own measurement of the metric to count.

Status: ``REGRESSED`` when ``change > tolerance``, ``improved`` when
``change < -tolerance``, else ``ok``; ``MISSING`` for an entry the run no longer
produces; ``new`` for one the baseline lacks; ``untested`` where the baseline has fewer
than 2 seeds (no spread to judge by).  REGRESSED and MISSING fail the gate.  An entry
with no spread across seeds (e.g. no false detection in any seed) has zero tolerance:
any worsening fails.  Rerunning the baseline's own seeds with unchanged code reproduces
it exactly, so the gate is a paired comparison.
"""
import json
import math

import numpy as np
import pandas as pd

from miri_testbed.instrument.files import write_text

from .metrics import EVENT_VALUED_BIN, K_DEFAULT, judged, loss, loss_name
from .results import ResultsError, package_versions

FORMAT = 1
FAILING = ("REGRESSED", "MISSING")
TOLERANCE_RULE = "k * std(per-seed aggregates of the baseline) / sqrt(number of shared seeds)"


def seed_aggregates(table):
    """Mean loss per (scenario, metric, bin, seed) of the judged rows of ``table``."""
    rows = table[table["metric"].map(judged)].copy()
    rows["bin"] = rows["bin"].where(~rows["metric"].isin(EVENT_VALUED_BIN))
    rows["loss"] = _losses(rows)
    grouped = rows.groupby(["scenario", "metric", "bin", "seed"], dropna=False)["loss"].mean()
    return grouped.reset_index()


def _losses(rows):
    out = np.empty(len(rows))
    for metric, index in rows.groupby("metric").indices.items():
        out[index] = loss(metric, rows["value"].to_numpy()[index])
    return out


def _key(scenario, metric, bin_):
    return (scenario, metric, None if bin_ is None or (isinstance(bin_, float) and math.isnan(bin_)) else float(bin_))


def make_baseline(table, suite, suite_toml, algorithms, k=K_DEFAULT, created=""):
    """The baseline record of ``table`` (one algorithm set's rows)."""
    entries = []
    for (scenario, metric, bin_), g in seed_aggregates(table).groupby(["scenario", "metric", "bin"], dropna=False):
        entries.append(dict(scenario=scenario, metric=metric, bin=_key(scenario, metric, bin_)[2],
                            loss=loss_name(metric),
                            per_seed={str(int(s)): float(v) for s, v in zip(g["seed"], g["loss"])}))
    return dict(format=FORMAT, k=k, tolerance=TOLERANCE_RULE, suite=suite, suite_toml=suite_toml,
                seeds=sorted(int(s) for s in table["seed"].unique()), algorithms=algorithms, created=created,
                versions=package_versions(), entries=entries)


def check(table, baseline):
    """One row per entry: baseline and run aggregates, change, tolerance, status."""
    current = {}
    for (scenario, metric, bin_), g in seed_aggregates(table).groupby(["scenario", "metric", "bin"], dropna=False):
        current[_key(scenario, metric, bin_)] = {str(int(s)): float(v) for s, v in zip(g["seed"], g["loss"])}
    k = float(baseline["k"])
    rows = []
    for entry in baseline["entries"]:
        key = _key(entry["scenario"], entry["metric"], entry["bin"])
        base = entry["per_seed"]
        now = current.pop(key, {})
        shared = sorted(set(base) & set(now), key=int)
        row = dict(scenario=key[0], metric=key[1], bin=key[2], loss=entry["loss"], n=len(shared),
                   baseline=np.nan, run=np.nan, change=np.nan, tolerance=np.nan)
        if not shared:
            rows.append(dict(row, baseline=float(np.mean(list(base.values()))), status="MISSING"))
            continue
        b = np.array([base[s] for s in shared])
        r = np.array([now[s] for s in shared])
        change = float(np.mean(r - b))
        row.update(baseline=float(b.mean()), run=float(r.mean()), change=change)
        if len(base) < 2:
            rows.append(dict(row, status="untested"))
            continue
        tolerance = k * float(np.std(list(base.values()), ddof=1)) / math.sqrt(len(shared))
        slack = 1e-9 * max(1.0, abs(row["baseline"]))  # floating-point noise between machines
        status = "REGRESSED" if change > tolerance + slack else "improved" if change < -tolerance - slack else "ok"
        rows.append(dict(row, tolerance=tolerance, status=status))
    for key, now in current.items():
        rows.append(dict(scenario=key[0], metric=key[1], bin=key[2], loss=loss_name(key[1]), n=len(now),
                         baseline=np.nan, run=float(np.mean(list(now.values()))), change=np.nan, tolerance=np.nan,
                         status="new"))
    return pd.DataFrame(rows)


def passed(result):
    return not result["status"].isin(FAILING).any()


def load_baseline(path):
    """The baseline record at ``path``; a missing or malformed file is a :class:`ResultsError`."""
    try:
        record = json.loads(open(path, encoding="utf-8").read())
    except FileNotFoundError:
        raise ResultsError(f"baseline {path} does not exist; make one with "
                           f"'miri-testbed gate --baseline {path} --suite NAME --update-baseline'") from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"baseline {path}: not valid JSON ({exc})") from None
    missing = [k for k in ("format", "k", "suite", "suite_toml", "seeds", "algorithms", "entries")
               if not isinstance(record, dict) or k not in record]
    if missing:
        raise ResultsError(f"baseline {path}: not a miri-testbed baseline (missing {', '.join(missing)})")
    if record["format"] != FORMAT:
        raise ResultsError(f"baseline {path}: format {record['format']}, this version reads format {FORMAT}")
    return record


def save_baseline(path, record):
    """Write ``record`` to ``path`` atomically."""
    write_text(path, json.dumps(record, indent=1) + "\n")


def ordered(result):
    """``result`` with failures first, then improvements, new and untested entries."""
    order = {"REGRESSED": 0, "MISSING": 1, "improved": 2, "new": 3, "untested": 4, "ok": 5}
    return result.assign(_o=result["status"].map(order)).sort_values(
        ["_o", "scenario", "metric", "bin"], kind="stable").drop(columns="_o")


def format_table(result):
    """The gate's table as text, failures first."""
    result = ordered(result)
    lines = [f"{'scenario':<22} {'metric':<24} {'bin':>7} {'loss':<8} {'n':>2} {'baseline':>11} {'run':>11} "
             f"{'change':>11} {'tolerance':>10}  status"]
    for _, r in result.iterrows():
        def num(v):
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"
        lines.append(f"{r['scenario']:<22} {r['metric']:<24} {num(r['bin']):>7} {r['loss']:<8} {r['n']:>2} "
                     f"{num(r['baseline']):>11} {num(r['run']):>11} {num(r['change']):>11} "
                     f"{num(r['tolerance']):>10}  {r['status']}")
    return "\n".join(lines)
