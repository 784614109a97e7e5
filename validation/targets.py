"""Accuracy targets (``targets.toml``) evaluated on a long-form metrics table.

A target's ``scenarios`` names the scenarios expected to produce its rows: a pandas
query over :func:`scenario_facts` (one row per scenario of the suite), every scenario
when empty.  Given the suite's scenarios, :func:`evaluate` fails a *gating* target that
has no data while some scenario of the suite matches (a scene whose stars all vanished
must not pass); a target no scenario matches is "not applicable".
"""
import math
import tomllib
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

AGGREGATIONS = {"median": np.median, "mean": np.mean, "min": np.min, "max": np.max}
#: The columns of :func:`scenario_facts`.
FACTS = ["name", "mode", "filter", "subarray", "readpatt", "ngroups", "nints", "stars", "brightest_mjy",
         "spectral_sources", "lines", "tso", "cross_artifact", "fringes", "spectral_leak",
         "leak_paired"]


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
    scenarios: str = ""  # query over scenario_facts: the scenarios expected to produce rows (empty: all)


def load_targets():
    text = (resources.files("miri_testbed.validation") / "targets.toml").read_text(encoding="utf-8")
    return [Target(**{**row, "tests": tuple(row.get("tests", ()))}) for row in tomllib.loads(text)["target"]]


def scenario_facts(scenarios):
    """What a target's ``scenarios`` query can ask of each scenario.

    Parameters
    ----------
    scenarios : iterable of validation.scenarios.Scenario

    Returns
    -------
    pandas.DataFrame
        One row per scenario: ``name``, ``mode`` (``instrument.modes``: ``imager``,
        ``lrs_slit``, ``lrs_slitless``, ``mrs``), ``filter`` (the LRS's: its disperser, P750L;
        the MRS has none: empty),
        ``subarray``, ``readpatt``, ``ngroups``, ``nints``, ``stars`` (true point sources
        in the scene, fixed and random), ``brightest_mjy`` (the largest flux a star of
        the scene can have, 0 without stars), ``spectral_sources`` (an LRS or MRS scene's sources)
        ``lines`` (their spectral lines, emission and absorption), and the MRS effects simulated:
        ``cross_artifact``, ``fringes``, ``spectral_leak`` (``effects.mrs``'s switches), and ``leak_paired``
        (a band-3A scenario naming its band-1B one, ``leak_from``, :mod:`validation.scenarios`).
    """
    rows = []
    for s in scenarios:
        obs, random = s.observation, s.random_stars
        fluxes = [p.flux_mjy for p in s.sources] + ([random.flux_max_mjy] if random and random.n else [])
        rows.append(dict(name=s.name, mode=obs.mode, filter=getattr(obs, "filter", ""), subarray=obs.subarray,
                         readpatt=obs.readpatt,
                         ngroups=obs.ngroups, nints=obs.nints, stars=len(s.sources) + (random.n if random else 0),
                         brightest_mjy=max(fluxes, default=0.0), spectral_sources=len(s.spectral_sources),
                         lines=sum(len(p.spectrum.get("lines", ())) for p in s.spectral_sources),
                         tso=bool(getattr(obs, "tso", False)), cross_artifact=s.effects.mrs.cross_artifact,
                         fringes=s.effects.mrs.fringes, spectral_leak=s.effects.mrs.spectral_leak,
                         leak_paired=bool(s.leak_from)))
    return pd.DataFrame(rows, columns=FACTS)


def expected_from(target, facts):
    """Names of the scenarios (rows of :func:`scenario_facts`) expected to produce ``target``'s rows."""
    chosen = facts.query(target.scenarios, engine="python") if target.scenarios and len(facts) else facts
    return list(chosen["name"])


def _no_data_note(target, expected):
    """Why a target has no data: no scenario applies, or which ones did not produce it (and the rows' filter)."""
    if expected is None:
        return ""
    if not expected:
        return f"not applicable: no scenario has {target.scenarios}"
    scope = f"{', '.join(expected)} ({target.scenarios or 'every scenario'})"
    where = f"; rows need {target.where}" if target.where else ""
    return f"expected from {scope}{where}" if target.gating else f"tracked: no value from {scope}{where}"


def evaluate(metrics, targets=None, scenarios=None):
    """Evaluate the targets on a results table.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Long-form results.
    targets : list of Target, optional
        Default: :func:`load_targets`.
    scenarios : iterable of validation.scenarios.Scenario, optional
        The suite's scenarios.  Given, a target with ``Target.scenarios`` is measured on
        the rows of the scenarios it selects only, and a gating target without data fails
        when some scenario is expected to produce it.

    Returns
    -------
    list of dict
        One per target: measured value(s), bounds, ``n``, ``passed`` (None: no data, and
        not expected or nothing known of the scenarios), ``expected`` (the scenarios
        expected to produce it, None without ``scenarios``) and ``note`` (for a target
        without data: that no scenario applies or, gating, which ones should have
        produced it).
    """
    facts = scenario_facts(scenarios) if scenarios is not None else None
    results = []
    for t in targets or load_targets():
        rows = metrics[metrics["metric"] == t.metric]
        expected = expected_from(t, facts) if facts is not None else None
        if expected is not None and t.scenarios:  # the target speaks of these scenarios only
            rows = rows[rows["scenario"].isin(expected)]
        if t.where and len(rows):
            rows = rows.query(t.where, engine="python")
        values = rows["value"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        note = ""
        if values.size == 0:
            measured, note = None, _no_data_note(t, expected)
            passed = False if t.gating and expected else None
        elif t.aggregation == "range":
            measured = (float(values.min()), float(values.max()))
            passed = bool(t.lower <= measured[0] and measured[1] <= t.upper)
        else:
            measured = float(AGGREGATIONS[t.aggregation](values))
            passed = bool(t.lower <= measured <= t.upper)
        results.append(dict(id=t.id, metric=t.metric, aggregation=t.aggregation, where=t.where, unit=t.unit,
                            measured=measured, lower=t.lower, upper=t.upper, n=int(values.size),
                            passed=passed, gating=t.gating, source=t.source, expected=expected, note=note))
    return results


def status(result):
    """``pass``, ``FAIL``, ``fail (tracked)`` for a failed non-gating target, or ``no data``.

    A gating target with no data where some scenario should have produced it is ``FAIL``
    (its ``note`` says which scenarios).
    """
    if result["passed"] is None:
        return "no data"
    if result["passed"]:
        return "pass"
    return "FAIL" if result["gating"] else "fail (tracked)"


def format_value(value, bounds=()):
    """``value`` to 4 significant digits, or as many as tell it from one of ``bounds`` it does not equal.

    1.0100276 against ``<= 1.01`` reads 1.01003, not 1.01.
    """
    if value is None:
        return "no data"
    if isinstance(value, tuple):
        return f"{value[0]:.4g} .. {value[1]:.4g}"
    for digits in (4, 6, 8, 17):
        text = f"{value:.{digits}g}"
        if not any(float(text) == b != value for b in bounds):
            break
    return text


def format_measured(result):
    """A target result's measured value, told apart from its bounds (:func:`format_value`)."""
    return format_value(result["measured"], (result["lower"], result["upper"]))


def format_bounds(result):
    lo, hi = result["lower"], result["upper"]
    if math.isinf(lo):
        return f"<= {hi:g}"
    if math.isinf(hi):
        return f">= {lo:g}"
    return f"[{lo:g}, {hi:g}]"
