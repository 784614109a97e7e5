"""The miri-testbed command: simulate, calibrate, stitch, score, run, study, compare, gate, report.

Errors in the input (a bad file, an unknown scenario key, a missing reference, an
output folder that cannot be written) print one line ``miri-testbed: error: ...`` that
names the problem and exit with status 2; nothing half-written is left behind, since
every output is written atomically.  Output folders are checked before any work starts.
"""
import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from miri_testbed.calibration import CalibrationInputError, registry
from miri_testbed.calibration.products import software_version
from miri_testbed.instrument.files import write_text

from .errors import ResultsError, ScenarioError, ScoreInputError
from .metrics import K_DEFAULT

# Each command imports its own modules (pandas, the simulator, the report's matplotlib, dask): `calibrate`
# pays for none of them.


class CommandLineError(ValueError):
    """An argument cannot be used as given; the message says why."""


def _output_folder(path):
    """``path`` as a folder this process can write in (or create), checked, not created.

    Checked before a command does its work, so a run of hours does not end in a
    traceback at its first write; nothing is created, so a command refused later for
    another reason leaves no empty folder behind.

    Raises
    ------
    CommandLineError
        ``path`` or a folder above it is a file, or the folder cannot be created or written.
    """
    path = Path(path)
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        where = "" if existing == path else f": {existing}"
        raise CommandLineError(f"output folder {path}{where} is a file, not a folder")
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        raise CommandLineError(f"cannot write in output folder {path}: {exc.strerror or exc}") from None
    finally:
        for folder in created:  # deepest first: the command makes them when it writes
            with contextlib.suppress(OSError):
                folder.rmdir()
    return path


def _output_file(path):
    """``path`` as a file that can be written (its folder as :func:`_output_folder`)."""
    path = Path(path)
    if path.is_dir():
        raise CommandLineError(f"output file {path} is a folder, not a file")
    _output_folder(path.parent)
    return path


def _os_message(exc):
    """One line for an operating-system error: the file and what went wrong."""
    return f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)


def cmd_simulate(args):
    from miri_testbed.simulator import ReferenceOptions, simulate
    from miri_testbed.simulator.truth import read_truth

    from .lrs_tso_score import write_ephemeris
    from .scenarios import load_suite

    suite = load_suite(args.suite)
    chosen = [s for s in suite.scenarios if s.name == args.scenario] if args.scenario else list(suite.scenarios)
    if not chosen:
        raise ScenarioError(f"suite {suite.name} has no scenario {args.scenario!r}; "
                            f"it has: {', '.join(s.name for s in suite.scenarios)}")
    _output_folder(args.output)
    seed = suite.seeds[0] if args.seed is None else args.seed
    for s in chosen:
        refs = ReferenceOptions(**{**s.references.__dict__, "kind": "perfect"}) if args.perfect_refs else s.references
        out = simulate(s.scene(seed), s.observation, Path(args.output) / s.name, name=s.name, seed=seed,
                       effects=s.effects, references=refs)
        background = f"  background {out['background']}" if "background" in out else ""
        ephemeris = write_ephemeris(read_truth(out["truth"]), out["uncal"])  # a transit's: what its observer knows
        ephemeris = f"  ephemeris {ephemeris}" if ephemeris else ""
        print(f"{s.name} (seed {seed}): {out['uncal']}  truth {out['truth']}  refs {out['refs']}/{background}{ephemeris}")
    return 0


def cmd_calibrate(args):
    from miri_testbed.calibration.pipeline import calibrate, calibrate_set

    pairs = list(args.algorithm or [])
    if args.background and not any(p.partition("=")[0].strip() == "background" for p in pairs):
        pairs.append("background=dedicated")  # a background exposure given is one to subtract
    algorithms = registry.parse(pairs)
    _output_folder(args.output)
    if args.combine is not None:
        if args.background or args.ephemeris:
            raise CommandLineError("--combine (an MRS dither set) takes no --background or --ephemeris")
        # one set, one product: the uncal files are calibrated together (calibration.mrs_spec3)
        jobs = [partial(calibrate_set, args.uncal, args.output, args.combine, args.refs, algorithms,
                        args.leak_from, args.leak_refs)]
    else:
        jobs = [partial(calibrate, uncal, args.output, args.refs, algorithms, background_paths=args.background,
                        ephemeris=args.ephemeris, leak_from=args.leak_from, leak_refs=args.leak_refs)
                for uncal in args.uncal]
    failed = 0
    for job in jobs:
        try:
            paths = job()
        except CalibrationInputError as exc:
            # only a reference missing from the nominal folder is helped by --refs (calibration.references)
            missing_reference = args.refs is None and " reference in " in str(exc)
            hint = ("; no --refs given, so the built-in nominal folder (imager and LRS references, none for the "
                    "MRS) was used: pass --refs, e.g. the folder simulate wrote") if missing_reference else ""
            print(f"miri-testbed: error: {exc}{hint}", file=sys.stderr)
            failed += 1
            continue
        # an MRS exposure has a product per band under one key: print each path
        print(" ".join(str(q) for p in paths.values() for q in (p if isinstance(p, tuple | list) else (p,))))
    return 2 if failed else 0


def cmd_stitch(args):
    from miri_testbed.calibration.pipeline import stitch

    path, overlaps = stitch(args.x1d, _output_file(args.output))
    for o in overlaps:
        print(o)
        if o.gap:
            print(f"warning: the stitched spectrum has no data from {o.lo_um:.4f} to {o.hi_um:.4f} um "
                  f"(between {o.lower} and {o.upper})", file=sys.stderr)
    print(path)
    return 0


def cmd_score(args):
    import pandas as pd

    from . import scorers
    from .runner import COLUMNS
    from .score import as_truth, check_same_exposure, score, score_rate

    if (args.cat is None) == (args.x1d is None):
        raise CommandLineError("score needs one product: --cat (an imager catalog, with --rate) "
                               "or --x1d (an LRS or MRS spectrum; an MRS one with its cubes, --s3d)")
    if args.s3d and args.x1d is None:
        raise CommandLineError("score --s3d (an MRS exposure's cubes) goes with its --x1d")
    if args.cat is not None and args.rate is None:
        raise CommandLineError("score --cat (an imager catalog) needs the exposure's --rate")
    if args.output:
        _output_file(args.output)
    truth = as_truth(args.truth)
    check_same_exposure(truth, [p for p in (args.rate, args.x1d, *(args.s3d or ())) if p])
    if args.cat is not None:
        rows, _ = score(truth, args.rate, args.cat)
    else:
        products = {scorers.SPECTRUM1D: args.x1d, **({scorers.CUBE: tuple(args.s3d)} if args.s3d else {})}
        rows = (score_rate(truth, args.rate) if args.rate else []) + scorers.score_products(truth, products)
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    frame["scenario"] = args.label or Path(args.truth).name.removesuffix("_truth.fits")
    frame["unit"] = frame["unit"].fillna("")
    if args.output:
        write_text(args.output, frame.to_csv(index=False))
        print(args.output)
    else:
        print(frame.dropna(axis=1, how="all").to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    return 0


def print_targets(results):
    from . import targets as target_table

    measures = [f"{r['aggregation']} {r['metric']}" for r in results]
    width = max([30, *map(len, measures)])  # a long metric name must not shift its row's columns
    print(f"{'target':<15} {'measure':<{width}} {'measured':>18} {'threshold':>16} {'unit':<5} {'n':>8}  gates  result")
    for r, measure in zip(results, measures, strict=True):
        note = f"  {r['note']}" if r.get("note") else ""
        print(f"{r['id']:<15} {measure:<{width}} "
              f"{target_table.format_measured(r):>18} {target_table.format_bounds(r):>16} {r['unit']:<5} "
              f"{r['n']:>8}  {'yes' if r['gating'] else 'no ':<5}  {target_table.status(r)}{note}")


def _note_unpaired_leaks(scenarios):
    """Say which band-3A scenarios keep their spectral leak: no ``leak_from`` names their band-1B scenario."""
    from .scenarios import unpaired_leaks

    for name in unpaired_leaks(scenarios):
        print(f"note: scenario {name} simulates the spectral leak in band 3A but names no leak_from (its band-1B "
              "scenario): its leak stays uncorrected and LEAK-1 does not judge it", file=sys.stderr)


def cmd_run(args):
    from . import targets as target_table
    from .report import write_report
    from .runner import default_workers, run_cells, suite_cells
    from .scenarios import load_suite, suite_text

    suite = load_suite(args.suite)
    _note_unpaired_leaks(suite.scenarios)
    algorithms = registry.parse(args.algorithm)
    created = datetime.now(UTC)
    outdir = _output_folder(args.output or f"reports/{suite.name}-{created.strftime('%Y%m%dT%H%M%S')}")
    cells = suite_cells(suite, {k: v for k, v in algorithms.items() if v != registry.DEFAULTS[k]})
    print(f"suite {suite.name}: {len(suite.scenarios)} scenarios x {len(suite.seeds)} seeds = {len(cells)} cells, "
          f"{args.workers or default_workers()} workers")
    metrics, hist = run_cells(cells, outdir / "work", workers=args.workers, keep_products=args.keep_products)
    if not args.keep_products:
        shutil.rmtree(outdir / "work", ignore_errors=True)
    results = target_table.evaluate(metrics, scenarios=suite.scenarios)
    # the suite's text goes into summary.json so that `report` on this folder applies the
    # targets' scenario filters as run did
    context = dict(suite=suite.name, seeds=list(suite.seeds), scenarios=[s.name for s in suite.scenarios],
                   cells=len(cells), algorithms=algorithms, created=created.isoformat(timespec="seconds"),
                   version=software_version(), suite_toml=suite_text(args.suite))
    page = write_report(outdir, metrics, hist, results, context)
    print()
    print_targets(results)
    print(f"\nreport: {page}")
    failed = [r["id"] + (" (no data)" if r["measured"] is None else "") for r in results
              if r["passed"] is False and r["gating"]]
    if failed:
        print(f"targets failed: {', '.join(failed)}")
        return 1
    return 0


def cmd_study(args):
    from .runner import default_workers
    from .study import Study, dask_client

    _output_folder(args.output)
    study = Study.open(args.output, args.suite, args.algorithms, args.seeds)
    _note_unpaired_leaks(study.suite.scenarios)
    cells, todo = study.cells(), study.pending()
    if args.scheduler:
        engine, client = f"dask scheduler {args.scheduler}", dask_client(address=args.scheduler)
    elif args.dask_local:
        engine, client = f"dask LocalCluster, {args.dask_local} workers", dask_client(n_local=args.dask_local)
    else:
        engine, client = f"local, {args.workers or default_workers()} processes", None
    print(f"study {study.suite.name} in {study.folder}: {len(study.suite.scenarios)} scenarios x "
          f"{len(study.suite.seeds)} seeds x {len(study.sets)} algorithm sets ({', '.join(study.sets)}) = "
          f"{len(cells)} cells, {len(cells) - len(todo)} already done; {engine}")
    with client if client is not None else contextlib.nullcontext() as c:
        start = time.perf_counter()
        table = study.run(workers=args.workers, client=c, progress=not args.no_progress, engine=engine)
    seconds = time.perf_counter() - start
    rate = f", {60 * len(todo) / seconds:.1f} cells/min" if todo and seconds > 0 else ""
    print(f"{len(todo)} cells computed in {seconds:.1f} s{rate}; {len(table)} rows: {study.folder / 'results.parquet'}")
    return 0


def cmd_compare(args):
    import pandas as pd

    from .compare import compare, write_comparison
    from .results import read_results
    from .study import parse_algorithm_set, set_label

    table, _ = read_results(args.results)
    a, b = (set_label(parse_algorithm_set(x)) for x in (args.a, args.b))
    source = Path(args.results)
    outdir = _output_folder(args.output or (source if source.is_dir() else source.parent) / "compare" / f"{b}_vs_{a}")
    result = compare(table, a, b, args.confidence, args.n_boot, args.seed, args.min_pairs)
    _warn_undirected(table)
    paths = write_comparison(result, a, b, outdir, args.confidence)
    counts = result["verdict"].value_counts()
    print(f"B = {b} against A = {a}: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    for _, r in result[result["verdict"].isin(["better", "worse"])].iterrows():
        where = r["scenario"] + ("" if pd.isna(r["bin"]) else f" bin {r['bin']:g}")
        print(f"  {r['verdict']:<6} {r['metric']:<24} {where:<30} loss {r['loss_a']:.4g} -> {r['loss_b']:.4g} "
              f"[{r['ci_low']:.3g}, {r['ci_high']:.3g}]")
    print(" ".join(str(p) for p in paths))
    return 0


def _gate_table(args, baseline):
    """The rows to gate and (suite name, suite text, algorithm set) they come from."""
    from .results import read_results, select_set
    from .runner import run_cells, suite_cells
    from .scenarios import parse_suite, suite_text
    from .study import parse_algorithm_set, set_label

    label = set_label(parse_algorithm_set(args.algorithms or (baseline or {}).get("algorithms", "default")))
    if args.results:
        table, meta = read_results(args.results)
        study = meta.get("study", {})
        text = study.get("suite_toml", "")
        if baseline and not args.update_baseline and text and baseline["suite_toml"] and text != baseline["suite_toml"]:
            raise ResultsError(f"{args.results} comes from suite {study.get('suite', '?')!r}, not the suite the baseline "
                               f"{args.baseline} was made from; gate the same suite, or review and --update-baseline")
        return select_set(table, label, args.results), (study.get("suite", str(args.results)), text, label)
    if args.suite:
        name, text = args.suite, suite_text(args.suite)
        if baseline and not args.update_baseline and text != baseline["suite_toml"]:
            raise ResultsError(f"suite {args.suite} is not the suite the baseline {args.baseline} was made from; "
                               f"review the change and rerun with --update-baseline")
    elif baseline and not baseline["suite_toml"]:
        raise ResultsError(f"baseline {args.baseline} was made from a results file and records no suite: "
                           f"gate with --results, or give --suite")
    elif baseline:
        name, text = baseline["suite"], baseline["suite_toml"]
    else:
        raise ResultsError("--update-baseline without a baseline file needs --suite or --results")
    suite = parse_suite(text, name)
    seeds = args.seeds or (baseline["seeds"] if baseline else suite.seeds)
    suite = replace(suite, seeds=tuple(seeds))
    cells = suite_cells(suite, dict(parse_algorithm_set(label)))
    print(f"gate: suite {suite.name}, seeds {list(seeds)}, algorithms {label}: {len(cells)} cells")
    with tempfile.TemporaryDirectory(prefix="miri-testbed-gate-") as tmp:
        table, _ = run_cells(cells, tmp, workers=args.workers, progress=not args.no_progress)
    return table, (suite.name, text, label)


def _warn_undirected(table):
    from .metrics import undirected

    missing = undirected(table["metric"].unique())
    if missing:
        print(f"note: not judged, no direction in validation/metrics.py: {', '.join(missing)}")


def cmd_gate(args):
    import pandas as pd

    from . import gate

    if args.update_baseline:
        _output_file(args.baseline)
    exists = Path(args.baseline).exists()
    baseline = gate.load_baseline(args.baseline) if exists or not args.update_baseline else None
    table, (suite, text, label) = _gate_table(args, baseline)
    _warn_undirected(table)
    if baseline:
        result = gate.check(table, baseline)
        print(gate.format_table(result))
        counts = result["status"].value_counts()
        print(f"\n{len(result)} entries: " + ", ".join(f"{n} {s}" for s, n in counts.items()) +
              f"  (tolerance {gate.TOLERANCE_RULE}, k = {baseline['k']:g})")
    if args.update_baseline:
        record = gate.make_baseline(table, suite, text, label, args.k,
                                    datetime.now(UTC).isoformat(timespec="seconds"))
        gate.save_baseline(args.baseline, record)
        print(f"baseline written: {args.baseline} ({len(record['entries'])} entries, seeds {record['seeds']})")
        return 0
    if gate.passed(result):
        print("gate: pass (nothing regressed)")
        return 0
    print("gate: FAIL (" + ", ".join(f"{r.metric} {r.scenario}" + ("" if pd.isna(r.bin) else f" bin {r.bin:g}")
                                     for r in result[result.status.isin(gate.FAILING)].itertuples()) + ")")
    return 1


def cmd_report(args):
    import numpy as np

    from . import gate
    from . import targets as target_table
    from .report import write_report
    from .results import read_results, select_set
    from .scenarios import parse_suite
    from .score import PULL_HIST_EDGES
    from .study import parse_algorithm_set, set_label

    table, meta = read_results(args.results)
    _output_folder(args.output)
    sets = sorted(table["algorithms"].unique())
    if args.algorithms:
        label = set_label(parse_algorithm_set(args.algorithms))
    elif len(sets) == 1:
        label = sets[0]
    else:
        raise ResultsError(f"{args.results} holds several algorithm sets ({', '.join(sets)}); choose one with --algorithms")
    metrics = select_set(table, label, args.results)
    hist = np.asarray(meta.get("pull_hist") or np.zeros(len(PULL_HIST_EDGES) - 1), np.int64)
    study = meta.get("study", {})
    context = dict(suite=study.get("suite", Path(args.results).name), seeds=sorted(int(s) for s in metrics["seed"].unique()),
                   scenarios=list(dict.fromkeys(metrics["scenario"])), cells=int(metrics.groupby(["scenario", "seed"]).ngroups),
                   algorithms=label, created=datetime.now(UTC).isoformat(timespec="seconds"),
                   version=software_version(), results=str(args.results), suite_toml=study.get("suite_toml", ""))
    baseline = gate.check(metrics, gate.load_baseline(args.baseline)) if args.baseline else None
    scenarios = parse_suite(study["suite_toml"], study["suite"]).scenarios if study.get("suite_toml") else None
    if scenarios is None:
        print(f"note: {args.results} carries no suite text, so the targets' 'scenarios =' filters are not applied "
              "(a study folder or a report folder written by this version carries it)", file=sys.stderr)
    results = target_table.evaluate(metrics, scenarios=scenarios)
    page = write_report(Path(args.output), metrics, hist, results, context, baseline)
    print_targets(results)
    if baseline is not None:
        failed = int(baseline["status"].isin(gate.FAILING).sum())
        print(f"\nbaseline {args.baseline}: {failed} of {len(baseline)} entries regressed or missing")
    print(f"\nreport: {page}\nsummary for pull requests: {page.parent / 'summary.md'}")
    return 0


def _at_least(minimum):
    """An argparse type: an integer >= ``minimum`` (a bad one is argparse's usage error, exit 2)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value
    return parse


SEED, COUNT = _at_least(0), _at_least(1)  # seeds feed numpy's SeedSequence; counts of workers, resamples


def build_parser():
    parser = argparse.ArgumentParser(prog="miri-testbed", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"miri-testbed {software_version()}")
    algorithm_help = "algorithm variant, repeatable; " + "; ".join(
        f"{step}: {', '.join(names)} (default {registry.DEFAULTS[step]})" for step, names in registry.ALGORITHMS.items())
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("simulate", help="simulate exposures (uncal + truth + reference folder)")
    p.add_argument("--suite", default="default", help="built-in suite name or TOML file (default: default)")
    p.add_argument("--scenario", help="scenario name within the suite (default: all)")
    p.add_argument("--seed", type=SEED, help="integer seed of every random stream (default: the suite's first seed)")
    p.add_argument("--perfect-refs", action="store_true", help="write the true reference files, not measured ones")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("calibrate", help="calibrate uncal files into their products (imager: rate, rateints, cal, catalog; LRS: x1d, x1dints, white light, transit; MRS: s3d cubes and x1d per band)")
    p.add_argument("uncal", nargs="+", help="<name>_uncal.fits files")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--refs", help="reference folder (default: the built-in nominal folder)")
    p.add_argument("--algorithm", action="append", metavar="STEP=NAME", help=algorithm_help)
    p.add_argument("--background", action="append", metavar="FILE",
                   help="dedicated background exposure (uncal) to subtract, as background=dedicated; repeat to "
                        "average several (default for background=dedicated: the level-2 association beside the uncal)")
    p.add_argument("--ephemeris", metavar="FILE",
                   help="a time series' ephemeris (TOML: period_days, a_rs, inclination_deg, u1, u2) for its transit "
                        "fit (default: <name>_ephemeris.toml beside the uncal; simulate writes it)")
    p.add_argument("--combine", metavar="NAME",
                   help="calibrate the files as one MRS dither set (one detector and setting, each at its own "
                        "dither position; the first one's frame is the cubes'; uncal files, or _rate.fits files "
                        "detector1 already made): each uncal's rate, and one NAME_ch<c>-<setting>_s3d.fits per band "
                        "and NAME_x1d.fits for the set, as spec3")
    p.add_argument("--leak-from", action="append", metavar="FILE",
                   help="an MRS band-3A exposure's spectral leak correction from the same target's band 1B: its "
                        "_ch1-medium_s3d.fits and/or _x1d.fits, one per --leak-from (spectral_leak=cube needs the "
                        "cube, =spectrum the x1d)")
    p.add_argument("--leak-refs", metavar="DIR",
                   help="the folder of band 1B's DISTORTION for --leak-from (default: --refs)")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("stitch", help="stitch MRS x1d products of different bands into one spectrum, "
                                      "split at the middle of each overlap; prints each overlap's flux ratio",
                       description="Stitch the x1d products of MRS bands (one spectrum per band; a dither set's "
                                   "bands combined first with calibrate --combine) into one spectrum. Each "
                                   "overlap of neighbouring bands is split at its middle, and the two bands' "
                                   "flux ratio over it is printed and kept in HISTORY (not applied); bands that "
                                   "do not overlap leave a gap, with a warning. Output: one MultiSpecModel.")
    p.add_argument("x1d", nargs="+", help="<name>_x1d.fits products (each band in one of them)")
    p.add_argument("-o", "--output", required=True, help="the stitched x1d file")
    p.set_defaults(func=cmd_stitch)

    p = sub.add_parser("score", help="score products against a truth file",
                       description="Score products against the truth of the exposure they were made from (a "
                                   "product of another exposure is refused). One row per metric: metric, value, "
                                   "unit, and where it applies bin (a pull's true-rate bin: its lower edge, DN/s; "
                                   "an LRS spectrum's 0.5 um bin or line: its centre, um; an MRS band: channel + "
                                   "setting / 10, 1A = 1.1, 4C = 4.3; an MRS line: its true centre, um), "
                                   "source_id, true_flux_mjy, snr. docs/metrics.md defines every metric.")
    p.add_argument("--truth", required=True)
    p.add_argument("--rate", help="the exposure's rate: needed with --cat; with --x1d it adds the detector's rows "
                                  "(leave it out for a dither set's products: no one rate is the set's)")
    p.add_argument("--cat", help="source catalog (ECSV) of an imager exposure")
    p.add_argument("--x1d", help="1-D spectrum (x1d) of an LRS or MRS exposure")
    p.add_argument("--s3d", nargs="+", metavar="S3D", help="an MRS exposure's cubes (one per band), with its --x1d")
    p.add_argument("--label", default="", help="scenario label for the rows")
    p.add_argument("-o", "--output", help="CSV file (default: print)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("run", help="run a suite end to end and write a report folder "
                                   "(exit 1 if a gating accuracy target fails)")
    p.add_argument("--suite", default="default", help="built-in suite name or TOML file (default: default)")
    p.add_argument("-o", "--output", help="report folder (default: reports/<suite>-<time>)")
    p.add_argument("--workers", type=COUNT, help="parallel processes (default: number of cores, at most 4)")
    p.add_argument("--keep-products", action="store_true", help="keep the simulated and calibrated files")
    p.add_argument("--algorithm", action="append", metavar="STEP=NAME", help=algorithm_help)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("study", help="run (or resume) a study: scenarios x seeds x algorithm sets, "
                                     "results as Parquet in the study folder")
    p.add_argument("-o", "--output", required=True, help="study folder; run again with the same folder to resume")
    p.add_argument("--suite", help="built-in suite name or TOML file (needed to start a study)")
    p.add_argument("--algorithms", nargs="+", metavar="SET",
                   help="algorithm sets: 'default' or STEP=NAME[,STEP=NAME...] (default: default); " + algorithm_help)
    p.add_argument("--seeds", nargs="+", type=SEED, help="seeds (default: the suite's)")
    engine = p.add_mutually_exclusive_group()
    engine.add_argument("--workers", type=COUNT, help="local processes (default: number of cores, at most 4)")
    engine.add_argument("--dask-local", type=COUNT, metavar="N", help="run on a new dask LocalCluster of N workers")
    engine.add_argument("--scheduler", metavar="ADDRESS", help="run on the dask cluster at ADDRESS (tcp://host:8786)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("compare", help="paired comparison of two algorithm sets of a study, with bootstrap intervals")
    p.add_argument("results", help="study folder or results file (.parquet or .csv)")
    p.add_argument("--a", required=True, metavar="SET", help="reference algorithm set (e.g. default)")
    p.add_argument("--b", required=True, metavar="SET", help="algorithm set judged against A (e.g. ramp_fit=ols)")
    p.add_argument("-o", "--output", help="output folder (default: <study>/compare/<B>_vs_<A>)")
    p.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--n-boot", type=COUNT, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=SEED, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--min-pairs", type=int, default=10, help="fewer pairs give no verdict (default 10)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("gate", help="compare a suite run (or a results file) with the accepted baseline; "
                                    "exit 1 if a metric regressed")
    p.add_argument("--baseline", required=True, help="baseline JSON (e.g. reports/baseline.json)")
    p.add_argument("--suite", help="suite to run (default: the one recorded in the baseline; must match it)")
    p.add_argument("--results", help="gate this study folder or results file instead of running a suite")
    p.add_argument("--seeds", nargs="+", type=SEED, help="seeds (default: the baseline's; with --update-baseline "
                                                        "and no baseline yet: the suite's)")
    p.add_argument("--algorithms", metavar="SET", help="algorithm set to gate (default: the baseline's)")
    p.add_argument("--workers", type=COUNT, help="local processes (default: number of cores, at most 4)")
    p.add_argument("--update-baseline", action="store_true", help="rewrite the baseline from this run (atomically)")
    p.add_argument("--k", type=float, default=K_DEFAULT,
                   help=f"tolerance in standard errors, stored in a new baseline (default {K_DEFAULT:g})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_gate)

    p = sub.add_parser("report", help="static HTML report and Markdown summary of a results table")
    p.add_argument("results", help="study folder or results file (.parquet or .csv, e.g. a report's metrics.csv)")
    p.add_argument("-o", "--output", required=True, help="report folder (e.g. reports/NAME/)")
    p.add_argument("--baseline", help="baseline JSON: add the difference from it, regressions highlighted")
    p.add_argument("--algorithms", metavar="SET", help="algorithm set to report (needed if the table has several)")
    p.set_defaults(func=cmd_report)
    return parser


def _terminated(signum, frame):
    raise KeyboardInterrupt  # SIGTERM takes Ctrl-C's path: workers stopped, resume hint, exit 130


def main(argv=None):
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers, not at the interpreter's exit
        return code
    except (CalibrationInputError, ScenarioError, ScoreInputError, ResultsError, CommandLineError) as exc:
        print(f"miri-testbed: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`score | head`): what it read is all it wanted; silence the flush at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file or folder the system refuses (permissions, disk full, a file for a folder)
        print(f"miri-testbed: error: {_os_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Every finished cell or product is already on disk (atomic writes); a study resumes.
        print("miri-testbed: interrupted; finished cells are saved: rerun the same command to resume a study",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
