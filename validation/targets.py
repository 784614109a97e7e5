"""Accuracy targets (``targets.toml``) evaluated on a long-form metrics table."""
import math
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np

AGGREGATIONS = {"median": np.median, "mean": np.mean, "min": np.min, "max": np.max}


@dataclass(frozen=True)
class Target:
    id: str
    metric: str
    aggregation: str
    where: str = ""
    unit: str = ""
    lower: float = -math.inf
    upper: float = math.inf
    gating: bool = True  # a failed non-gating target is reported, not an error
    tests: tuple = ()
    source: str = ""


def load_targets():
    text = (resources.files("miri_testbed.validation") / "targets.toml").read_text(encoding="utf-8")
    return [Target(**{**row, "tests": tuple(row.get("tests", ()))}) for row in tomllib.loads(text)["target"]]


def evaluate(metrics, targets=None):
    """One dict per target: measured value(s), bounds, n, and ``passed`` (None if no data)."""
    results = []
    for t in targets or load_targets():
        rows = metrics[metrics["metric"] == t.metric]
        if t.where and len(rows):
            rows = rows.query(t.where, engine="python")
        values = rows["value"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            measured, passed = None, None
        elif t.aggregation == "range":
            measured = (float(values.min()), float(values.max()))
            passed = bool(t.lower <= measured[0] and measured[1] <= t.upper)
        else:
            measured = float(AGGREGATIONS[t.aggregation](values))
            passed = bool(t.lower <= measured <= t.upper)
        results.append(dict(id=t.id, metric=t.metric, aggregation=t.aggregation, where=t.where, unit=t.unit,
                            measured=measured, lower=t.lower, upper=t.upper, n=int(values.size),
                            passed=passed, gating=t.gating, source=t.source))
    return results


def status(result):
    """``pass``, ``FAIL``, ``fail (tracked)`` for a failed non-gating target, or ``no data``."""
    if result["passed"] is None:
        return "no data"
    if result["passed"]:
        return "pass"
    return "FAIL" if result["gating"] else "fail (tracked)"


def format_value(value):
    if value is None:
        return "no data"
    if isinstance(value, tuple):
        return f"{value[0]:.4g} .. {value[1]:.4g}"
    return f"{value:.4g}"


def format_bounds(result):
    lo, hi = result["lower"], result["upper"]
    if math.isinf(lo):
        return f"<= {hi:g}"
    if math.isinf(hi):
        return f">= {lo:g}"
    return f"[{lo:g}, {hi:g}]"
