"""Results tables on disk: Parquet files that carry their own description, CSV, study
folders; and the package versions that made them.

A results table is the long-form metrics table of :mod:`validation.runner`
(``COLUMNS``).  Parquet files written here hold, in their schema metadata under
``miri_testbed``, a JSON object: the study configuration, package versions and the
summed pull histogram, so a table read back alone still says how it was made.
"""
import json
import platform
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from miri_testbed.instrument.files import atomic_path

from . import views
from .errors import ResultsError
from .runner import COLUMNS

META_KEY = b"miri_testbed"
PACKAGES = ("miri-testbed", "numpy", "scipy", "astropy", "stdatamodels", "photutils", "pandas", "pyarrow",
            "stcal", "jwst", "dask", "distributed")


def package_versions():
    """``{package: version}`` of the packages that shape the results (None: not installed)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def write_parquet(frame, path, meta=None):
    """Write ``frame`` to ``path`` atomically, with ``meta`` (JSON-able) in its metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[META_KEY] = json.dumps(meta or {}).encode()
    table = table.replace_schema_metadata(schema_meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def read_parquet(path):
    """``(frame, meta)`` from a Parquet file written by :func:`write_parquet`."""
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"{path}: not a readable Parquet file ({exc})") from None
    raw = (table.schema.metadata or {}).get(META_KEY)
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        raise ResultsError(f"{path}: corrupt miri_testbed metadata") from None
    return table.to_pandas(), meta


def _report_meta(path):
    """The meta of a report folder's ``metrics.csv``, from the ``summary.json`` beside it.

    ``{"study": {"suite": ..., "suite_toml": ...}, "pull_hist": ...}`` as a Parquet file's (the
    suite's text only from a report that recorded it); ``{}`` without one.
    """
    if not path.is_file():
        return {}
    try:
        summary = json.loads(path.read_text())
        suite = summary["context"]["suite"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ResultsError(f"{path}: not a report summary ({type(exc).__name__}: {exc})") from None
    return {"study": {"suite": suite, "suite_toml": summary["context"].get("suite_toml", "")},
            "pull_hist": summary.get("pull_hist")}


def read_results(path):
    """``(table, meta)`` from a study folder, a ``.parquet`` or a ``.csv`` results file,
    with the before/after views of ``views.npz`` beside it attached (:func:`validation.views.attach`);
    a report folder's ``metrics.csv`` takes its suite and pull histograms from the
    ``summary.json`` beside it.

    Raises :class:`ResultsError` naming the file for a missing, unreadable or
    unfinished input, or one that is not a metrics table.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / "results.parquet").is_file():
            raise ResultsError(f"{path}: no results.parquet (not a study folder, or the study is unfinished: "
                               f"run 'miri-testbed study -o {path}' again to finish it)")
        path = path / "results.parquet"
    if not path.exists():
        raise ResultsError(f"{path}: no such file")
    if path.suffix == ".csv":
        try:
            frame, meta = pd.read_csv(path), _report_meta(path.parent / "summary.json")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ResultsError(f"{path}: not a readable CSV file ({exc})") from None
    else:
        frame, meta = read_parquet(path)
    missing = [c for c in ("scenario", "seed", "algorithms", "metric", "value") if c not in frame.columns]
    if missing:
        raise ResultsError(f"{path}: not a metrics table (missing column(s) {', '.join(missing)})")
    frame = frame.reindex(columns=list(dict.fromkeys([*COLUMNS, *frame.columns])))
    frame["algorithms"] = frame["algorithms"].fillna("default").astype(str)
    try:
        frame["value"] = frame["value"].astype(float)
        frame["bin"] = frame["bin"].astype(float)
        frame["source_id"] = frame["source_id"].astype(float)
    except (TypeError, ValueError) as exc:
        raise ResultsError(f"{path}: non-numeric value, bin or source_id ({exc})") from None
    try:
        cut = views.load(path.parent / "views.npz")
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ResultsError(f"{path.parent / 'views.npz'}: not a readable views file ({exc})") from None
    return views.attach(frame, cut), meta


def select_set(table, label, where="results"):
    """The rows of algorithm set ``label``; an unknown label is an error listing the sets."""
    sets = sorted(table["algorithms"].unique())
    if label not in sets:
        raise ResultsError(f"{where}: no algorithm set {label!r}; it has: {', '.join(sets) or 'none'}")
    return table[table["algorithms"] == label]
