"""LRS time-series accuracy over seeds (issue 15, LRS-TSO-1/2): white-light scatter over its limit, depth pulls.

Reads the results of ``miri-testbed run`` (a report folder's ``metrics.csv``) or
``miri-testbed study`` (``results.parquet``) of the ``lrs_tso`` suite's scenarios and
prints, per scenario and pooled over them:

* ``lrs_tso_scatter_over_limit`` (one per cell): median, 16-84 % range, min, max, and
  how many cells exceed 1.05 and 1.1;
* the white light's ``lrs_tso_depth_pull`` (one per cell) and the 0.5-um bins' (14 per
  cell): n, mean with its standard error, and the width (standard deviation) with a 95 %
  interval from a bootstrap over the seeds (a seed's bins share its white fit's ``t0``
  and settling time, so its cells, not its bins, are the independent draws);
* the median stated ``lrs_tso_depth_error_ppm`` of the white light.

``--refit`` takes instead the cell folders a ``miri-testbed run --keep-products`` left
(``<report>/work/<scenario>/seed<N>``, a glob) and fits their x1dints' light curves again
with this tree's ``white_light`` and ``transit_fit`` defaults as :func:`calibration.tso3.run`
does, then scores them (:func:`validation.lrs_tso_score.score_transit`): the transit fit
re-measured without simulating and extracting again.

    python benchmarks/lrs_tso_accuracy.py RESULTS [RESULTS ...] [--refit GLOB ... [--variant linear]] [--record]
"""
import argparse
import glob
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import light_curves, registry, transit  # noqa: E402
from miri_testbed.instrument import lrs  # noqa: E402
from miri_testbed.validation.lrs_tso_score import score_transit  # noqa: E402

from imager_common import publish  # noqa: E402

#: Bootstrap resamples of the seeds, and the generator's seed.
BOOTSTRAP, RNG_SEED = 4000, 0


def read(path):
    path = Path(path)
    if path.is_dir():
        path = path / ("results.parquet" if (path / "results.parquet").exists() else "metrics.csv")
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def refit(pattern, variant="ramp"):
    """The metrics of kept cells (module docstring, ``--refit``) as a results table."""
    from astropy.table import Table
    from stdatamodels.jwst import datamodels as dm

    rows = []
    for folder in map(Path, sorted(glob.glob(pattern))):
        name = folder.parent.name
        with dm.open(folder / "products" / f"{name}_x1dints.fits") as x1d:
            spec, times = x1d.spec[0].spec_table, x1d.int_times
            wave = np.asarray(spec["WAVELENGTH"][0], float)
            flux, error, dq = (np.asarray(spec[c]) for c in ("FLUX", "FLUX_ERROR", "DQ"))
            mid, t_start = np.asarray(times["int_mid_MJD_UTC"], float), float(times["int_start_MJD_UTC"][0])
        ephemeris = transit.read_ephemeris(folder / f"{name}_ephemeris.toml")
        curve, fit = registry.get("white_light", "sum"), registry.get("transit_fit", variant)
        white = curve(wave, flux, error, dq, lrs.WHITE_LIGHT_RANGE_UM)
        white_fit = fit(mid, white.flux, white.error, t_start, ephemeris)
        table = [("white", *lrs.WHITE_LIGHT_RANGE_UM, white_fit.depth, white_fit.depth_error)]
        edges = light_curves.bin_edges(lrs.WHITE_LIGHT_RANGE_UM)
        for k, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            binned = curve(wave, flux, error, dq, (lo, hi))
            result = fit(mid, binned.flux, binned.error, t_start, ephemeris, shape=white_fit)
            table.append((f"bin {k}", lo, hi, result.depth, result.depth_error))
        fits = Table(rows=table, names=("name", "wavelength_min_um", "wavelength_max_um", "depth", "depth_error"))
        whtlt = Table({"whitelight_flux": white.flux, "transit_model": white_fit.model})
        rows += [dict(scenario=name, seed=int(folder.name.removeprefix("seed")), **r)
                 for r in score_transit(folder / f"{name}_truth.fits", fits, whtlt)]
    return pd.DataFrame(rows)


#: A bootstrap over fewer cells (seeds) gives no interval worth printing.
MIN_CELLS_FOR_INTERVAL = 5


def width_interval(pulls_by_cell, rng):
    """Mean, its standard error, the width and the width's 95 % bootstrap interval over cells."""
    values = np.concatenate(pulls_by_cell)
    n = len(pulls_by_cell)
    widths = [np.std(np.concatenate([pulls_by_cell[k] for k in rng.integers(0, n, n)]), ddof=1)
              for _ in range(BOOTSTRAP)]
    means = [np.mean(np.concatenate([pulls_by_cell[k] for k in rng.integers(0, n, n)])) for _ in range(BOOTSTRAP)]
    lo, hi = np.percentile(widths, [2.5, 97.5])
    return values.size, values.mean(), np.std(means), np.std(values, ddof=1), lo, hi


def summarise(table, label, rng):
    lines = [f"## {label}: {table[['scenario', 'seed']].drop_duplicates().shape[0]} cells"]
    ratio = table.loc[table.metric == "lrs_tso_scatter_over_limit", "value"].to_numpy(float)
    if ratio.size:
        q16, q50, q84 = np.percentile(ratio, [16, 50, 84])
        lines.append(f"scatter/limit: median {q50:.3f}, 16-84 % {q16:.3f}-{q84:.3f}, min {ratio.min():.3f}, "
                     f"max {ratio.max():.3f}; > 1.05 in {np.sum(ratio > 1.05)}/{ratio.size}, "
                     f"> 1.1 in {np.sum(ratio > 1.1)}/{ratio.size}")
    pulls = table[table.metric == "lrs_tso_depth_pull"]
    errors = table[(table.metric == "lrs_tso_depth_error_ppm") & table["bin"].isna()]["value"]
    for kind, rows in (("white", pulls[pulls["bin"].isna()]), ("bins", pulls[pulls["bin"].notna()])):
        cells = [g["value"].to_numpy(float) for _, g in rows.groupby(["scenario", "seed"])]
        if len(cells) < 2:
            continue
        n, mean, se, width, lo, hi = width_interval(cells, rng)
        spread = (f"95 %: {lo:.3f}-{hi:.3f}" if len(cells) >= MIN_CELLS_FOR_INTERVAL else
                  f"no interval from {len(cells)} cells: run more seeds")
        lines.append(f"{kind} depth pulls: n {n}, mean {mean:+.3f} +/- {se:.3f}, width {width:.3f} "
                     f"({spread})" + (f"; stated white error median {errors.median():.0f} ppm"
                                      if kind == "white" else ""))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="*", help="report folders, metrics.csv, study folders or results.parquet")
    parser.add_argument("--refit", nargs="+", default=[], metavar="GLOB", help="kept cell folders to refit")
    parser.add_argument("--variant", default="ramp", help="transit_fit variant of --refit (default ramp)")
    parser.add_argument("--record", action="store_true", help="write the result to benchmarks/results/")
    args = parser.parse_args(argv)
    table = pd.concat([read(p) for p in args.results] + [refit(g, args.variant) for g in args.refit], ignore_index=True)
    table = table[table.metric.str.startswith("lrs_tso_")]
    rng = np.random.default_rng(RNG_SEED)
    sources = args.results + [f"{g} (refitted, transit_fit={args.variant})" for g in args.refit]
    lines = [f"# lrs_tso accuracy over seeds from {', '.join(sources)}"]
    for scenario, rows in table.groupby("scenario"):
        lines += summarise(rows, scenario, rng)
    if table.scenario.nunique() > 1:
        lines += summarise(table, "all scenarios pooled", rng)
    publish("lrs_tso_accuracy", lines)


if __name__ == "__main__":
    main()
