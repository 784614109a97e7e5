"""End-to-end wall time and peak memory: ``miri-testbed calibrate`` beside jwst's
Detector1Pipeline + Image2Pipeline on one foreign-style full-frame exposure.

The exposure: the default suite's ``f770w_full_field`` (F770W, FULL, FASTR1, one
integration, 40 stars on a 5 MJy/sr sky, every effect on: cosmic rays and showers at
the reference rates, EMI, nonlinearity) with ``--ngroups`` groups, made by
``miri-testbed simulate`` with its measured reference folder, then rewritten as the
archive writes an uncal file (a ``Level1bModel``: uint16 SCI, no DQ arrays).  Both sides
get only that file and the reference folder, as for data from elsewhere.

* ours: ``miri-testbed calibrate UNCAL --refs REFS -o OUT``: detector1, image2 and image3
  (rate, rateints, cal and the source catalog).
* ours to cal (like for like): the same command with the imager's pipeline cut after image2
  (:data:`TO_CAL`): rate, rateints and cal, the products jwst's two pipelines make; ours'
  image3 (cruciform, background, the PSF catalog, alignment) is work jwst's side does not do
  (its source catalog is Image3Pipeline's).
* jwst: ``Detector1Pipeline`` then ``Image2Pipeline`` (rate, rateints, cal; no catalog),
  offline (``benchmarks/jwst_offline.py``: CRDS look-ups refused, so a run that finished
  looked nothing up).  Each reference is an override: the file of the folder that ours
  selects (``calibration.references.select``).  Steps whose reference type the folder
  lacks are skipped (:data:`JWST_SKIPPED` says why); emicorr and firstframe, off by
  default in jwst 3.0, are turned on because ours runs both.  Its jump runs at the step's
  defaults, without shower flagging, which ours does: there jwst does less work than ours.

Each run is a fresh process, timed from start to exit (interpreter, imports, reading and
writing included: what a user waits for); its peak memory is its ``ru_maxrss``
(``memory.peak``).  The three alternate, ``--repeat`` runs each; the medians are
compared: the whole run (ours with its catalog against jwst without one) and like for like
(ours to cal against jwst), each measured in its own processes, not taken from a profile.
What importing alone costs each side is measured the same way.  Then one ``calibrate`` of
ours under cProfile (a fresh process, timed after its imports): the 25 functions of most
cumulative time, and the time of each part, the detector core (jump, showers, ramp fit)
apart from the rest.  The load average is printed: the figures are of a shared 2-core
machine.

    python benchmarks/end_to_end.py [--ngroups 30] [--seed 1] [--repeat 3] [--record]

With ``--record`` the result is ``<date>_end_to_end.txt`` (``_end_to_end_<N>groups.txt``
for another ``--ngroups``).
"""
import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import CLI, GB, SCENARIO, peak, write_suite  # noqa: E402

from miri_testbed.calibration import inputs, pipeline, products, references, registry  # noqa: E402
from miri_testbed.instrument.files import save_model  # noqa: E402
from miri_testbed.validation import cli  # noqa: E402

from imager_common import publish  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
JWST = [sys.executable, str(ROOT / "benchmarks" / "jwst_offline.py")]
#: jwst steps run with overrides from the folder: ``{step: {jwst reftype: our REFTYPE, or None for N/A}}``.
JWST_OVERRIDES = {
    "dq_init": {"mask": "MASK"},
    "emicorr": {"emicorr": "EMICORR"},
    "saturation": {"saturation": "SATURATION", "superbias": None},  # SUPERBIAS: near-infrared detectors only
    "linearity": {"linearity": "LINEARITY"},
    "dark_current": {"dark": "DARK"},
    "refpix": {"refpix": None, "sirskernel": None},  # NIRSpec IRS2 / near-infrared; MIRI's uses reference columns
    "jump": {"gain": "GAIN", "readnoise": "READNOISE"},
    "ramp_fit": {"gain": "GAIN", "readnoise": "READNOISE"},
    "gain_scale": {"gain": "GAIN"},
    "photom": {"photom": "PHOTOM", "area": None},  # no AREA: PIXAR_SR comes from PHOTOM
}
#: jwst steps skipped, and why.
JWST_SKIPPED = {
    "ipc": "no IPC reference in the folder",
    "reset": "no RESET reference in the folder",
    "rscd": "no RSCD reference in the folder",
    "bkg_subtract": "no background member: it would not run (skipped so it looks up no BKG reference)",
    "assign_wcs": "no DISTORTION / FILTEROFFSET reference in the folder (its DISTPOLY is a testbed table)",
    "flat_field": "no FLAT reference in the folder",
    "resample": "needs the WCS of assign_wcs",
}
#: jwst steps off by default that ours runs, turned on.
JWST_TURNED_ON = ("emicorr", "firstframe")
#: The least any pipeline built on stdatamodels pays (run as ``python -c FLOOR UNCAL OUT``): the interpreter, the
#: data models' imports and their ASDF extensions, the uncal read as a RampModel, a rate and a rateints of its size
#: written.  Nothing calibrated: a bound on how far below jwst's time ours can go.
FLOOR = """
import sys
import numpy as np
from stdatamodels.jwst import datamodels as dm
with dm.RampModel(sys.argv[1]) as ramp:
    data = np.asarray(ramp.data[:, -1], np.float32)
dm.ImageModel(data=data[0], err=data[0].copy(), dq=np.zeros(data.shape[1:], np.uint32)).save(sys.argv[2] + "_rate.fits")
dm.CubeModel(data=data, err=data.copy(), dq=np.zeros(data.shape, np.uint32)).save(sys.argv[2] + "_rateints.fits")
"""
#: Ours to cal (run as ``python -c TO_CAL UNCAL REFS OUT``): ``miri-testbed calibrate`` with the imager's pipeline
#: cut after image2 (rate, rateints, cal: what jwst's Detector1Pipeline + Image2Pipeline make); everything else as
#: the whole command (reading and checking the uncal, the references, the products written).
TO_CAL = """
import sys
from dataclasses import replace
from miri_testbed.calibration import image2, pipeline
from miri_testbed.validation import cli

def image2_only(log, exposure, d1, folder, choice, background_paths):
    cal = image2.run(log, exposure, d1, folder, choice)
    log.stamp(cal)
    return {"cal": cal}

key = ("MIR_IMAGE", False)
pipeline.PIPELINES[key] = replace(pipeline.PIPELINES[key], run=image2_only)
sys.exit(cli.main(["calibrate", sys.argv[1], "--refs", sys.argv[2], "-o", sys.argv[3]]))
"""
SIDES = {"ours": "ours, whole (+ image3: cruciform, catalog, alignment)", "ours to cal": "ours to cal (no image3)",
         "jwst": "jwst (Detector1 + Image2)"}
CORE = ("jump", "showers", "ramp_fit")  # the detector core: what benchmarks/detector_speed.py times
STEP_RECORD = re.compile(r"^(\w+)=(\w+): (COMPLETE|SKIPPED)")  # a step's HISTORY record in our products


def foreign_copy(uncal, path):
    """Write the ramps of ``uncal`` as the archive writes an uncal file: a ``Level1bModel``,
    SCI as uint16 DN, no DQ arrays (the pipeline makes them)."""
    with dm.RampModel(str(uncal)) as ramp:
        data = np.round(ramp.data)
        if np.any(data != ramp.data) or data.min() < 0 or data.max() > np.iinfo(np.uint16).max:
            raise ValueError(f"{uncal}: SCI is not whole DN within uint16, as an archive uncal's is")
        model = dm.Level1bModel(data=data.astype(np.uint16))
        model.update(ramp)
        save_model(model, path)


def jwst_steps(uncal, refs):
    """The step parameters of jwst's two pipelines: overrides from ``refs``, skips, steps turned on."""
    with inputs.open_uncal(uncal) as exposure:
        chosen = {t: str(references.select(refs, t, exposure)) for reftypes in JWST_OVERRIDES.values()
                  for t in reftypes.values() if t}
    steps = {step: {f"override_{t}": chosen[ours] if ours else "N/A" for t, ours in reftypes.items()}
             for step, reftypes in JWST_OVERRIDES.items()}
    for step in JWST_SKIPPED:
        steps.setdefault(step, {})["skip"] = True
    for step in JWST_TURNED_ON:
        steps.setdefault(step, {})["skip"] = False
    return steps


def cumulative(stats, function):
    """Cumulative seconds of ``function`` in ``stats`` (0 when it did not run)."""
    code = getattr(function, "__code__", None)
    key = code and (code.co_filename, code.co_firstlineno, code.co_name)
    return stats.stats[key][3] if key in stats.stats else 0.0


def profile_ours(uncal, refs, output):
    """One ``calibrate`` under cProfile (``--profile``, a fresh process): the top 25 and the parts."""
    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):  # the command prints its products' paths
        status = profiler.runcall(cli.main, ["calibrate", uncal, "--refs", refs, "-o", output])
    if status:
        raise SystemExit(status)
    stats = pstats.Stats(profiler)
    total = cumulative(stats, cli.main)
    print(f"# ours under cProfile: calibrate {total:.2f} s (imports not included); top 25 by cumulative time")
    print(f"{'cumulative':>10}  {'own':>6}  {'calls':>7}  function")
    for (filename, line, name), (_, calls, own, cum, _) in sorted(stats.stats.items(), key=lambda i: -i[1][3])[:25]:
        where = re.sub(r".*/(site-packages|miri_testbed)/", "", filename).removeprefix(f"{ROOT}/")
        print(f"{cum:9.2f}s  {own:5.2f}s  {calls:7d}  {where}:{line}({name})")
    steps = registry.resolve(None)
    parts = {"read and check the uncal (inputs.open_uncal)": cumulative(stats, inputs.open_uncal),
             "read the references (references.load)": cumulative(stats, references.load)}
    parts.update({f"{step} ({variant})": cumulative(stats, registry.ALGORITHMS[step][variant])
                  for step, variant in steps.items()})
    parts["make the product models (products.derived)"] = cumulative(stats, products.derived)
    parts["write the products (pipeline.write_products)"] = cumulative(stats, pipeline.write_products)
    parts["the rest (step shells, DQ and array bookkeeping, metadata)"] = total - sum(parts.values())
    core = {f"{step} ({steps[step]})" for step in CORE}
    print("\n# ours under cProfile, calibrate by part (* = detector core); parts under 0.01 s left out")
    for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        if seconds >= 0.01:
            print(f"{'*' if name in core else ' '} {seconds:6.2f} s  {100 * seconds / total:5.1f} %  {name}")
    in_core = sum(parts[name] for name in core)
    print(f"detector core {in_core:.2f} s, outside it {total - in_core:.2f} s ({100 * (1 - in_core / total):.0f} %); "
          f"calibrate / core = {total / in_core:.2f}")


def cal_steps(path):
    """``(ran, skipped)`` step names of a cal product: ours from its HISTORY records, jwst's from cal_step."""
    with dm.open(str(path)) as model:
        entries = model.instance.get("history", {}).get("entries", [])  # the tree: the attribute is deprecated
        records = [STEP_RECORD.match(str(entry.get("description", ""))) for entry in entries]
        records = [(m[1], m[3]) for m in records if m]
        if not records:
            records = sorted(model.meta.cal_step.instance.items())
    return [s for s, status in records if status == "COMPLETE"], [s for s, status in records if status != "COMPLETE"]


def agreement(ours, theirs):
    """Median jwst / ours of the cal images over the brightest 1 % of pixels (finite in both)."""
    with dm.open(str(ours)) as a, dm.open(str(theirs)) as b:
        good = np.isfinite(a.data) & np.isfinite(b.data)
        bright = good & (a.data > np.percentile(a.data[good], 99))
        return float(np.median(b.data[bright] / a.data[bright]))


def same_cal(whole, to_cal):
    """Whether two cal products hold the same SCI, ERR and DQ (NaN where NaN): ours to cal calibrates as the whole."""
    with dm.open(str(whole)) as a, dm.open(str(to_cal)) as b:
        return all(np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True) for name in ("data", "err", "dq"))


def load():
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(args, tmp):
    """Make the exposure, time both sides, profile ours: the result lines."""
    write_suite(tmp / "suite.toml", args.ngroups, args.seed)
    subprocess.run(CLI + ["simulate", "--suite", str(tmp / "suite.toml"), "--seed", str(args.seed), "-o",
                          str(tmp / "sim")], check=True, capture_output=True)
    refs = tmp / "sim" / SCENARIO / "refs"
    uncal = tmp / f"{SCENARIO}_uncal.fits"
    foreign_copy(tmp / "sim" / SCENARIO / f"{SCENARIO}_uncal.fits", uncal)
    config = {"uncal": str(uncal), "steps": jwst_steps(uncal, refs), "crds_path": str(tmp / "crds")}
    lines = [f"# {SCENARIO} of the default suite at {args.ngroups} groups (FULL FASTR1 F770W, one integration, "
             f"cosmic rays and showers), seed {args.seed}, written as an archive uncal (uint16, no DQ); fresh "
             f"processes, medians of {args.repeat} alternating runs; {load()} at the start"]
    imports = {side: peak([sys.executable, "-c", f"import {module}"])
               for side, module in (("ours", "miri_testbed.validation.cli"), ("jwst", "jwst.pipeline"))}
    floor = peak([sys.executable, "-c", FLOOR, str(uncal), str(tmp / "floor")])
    runs = {side: [] for side in SIDES}
    for r in range(args.repeat):
        runs["ours"].append(peak(CLI + ["calibrate", str(uncal), "--refs", str(refs), "-o", str(tmp / f"ours{r}")]))
        runs["ours to cal"].append(peak([sys.executable, "-c", TO_CAL, str(uncal), str(refs), str(tmp / f"to_cal{r}")]))
        (tmp / f"jwst{r}").mkdir()
        report = tmp / f"jwst{r}" / "seconds.json"
        (tmp / "jwst.json").write_text(json.dumps({**config, "output": str(tmp / f"jwst{r}"), "report": str(report)}))
        runs["jwst"].append((*peak(JWST + [str(tmp / "jwst.json")]), json.loads(report.read_text())))
        print(f"run {r + 1} of {args.repeat}: " + ", ".join(f"{side} {runs[side][-1][1]:.1f} s" for side in SIDES),
              flush=True)
    median = {side: [statistics.median(run[i] for run in runs[side]) for i in (0, 1, 2)] for side in runs}
    width = max(map(len, SIDES.values()))
    lines.append(f"{'':{width}}  {'wall':>7}  {'runs':<18}  {'CPU':>7}  {'peak':>7}  {'runs':<18}  imports alone")
    for side, label in SIDES.items():
        walls = ", ".join(f"{run[1]:.1f}" for run in runs[side])
        peaks = ", ".join(f"{run[0] / GB:.2f}" for run in runs[side])
        alone = imports[side.split()[0]]
        lines.append(f"{label:{width}}  {median[side][1]:5.1f} s  {walls:<18}  {median[side][2]:5.1f} s  "
                     f"{median[side][0] / GB:4.2f} GB  {peaks:<18}  "
                     f"{alone[1]:.1f} s, {alone[0] / GB:.2f} GB")
    for side, what in (("ours", "whole run (ours with its catalog, jwst without one)"),
                       ("ours to cal", "like for like (ours to cal: the products jwst makes)")):
        time_ratio, cpu_ratio, memory_ratio = (median["jwst"][i] / median[side][i] for i in (1, 2, 0))
        lines.append(f"jwst / ours, {what}: {time_ratio:.2f}x the wall time (goal >= 3: "
                     f"{'met' if time_ratio >= 3 else 'NOT met'}; CPU time {cpu_ratio:.2f}x), {memory_ratio:.2f}x the "
                     f"peak memory (goal >= 3: "
                     f"{'met' if memory_ratio >= 3 else 'NOT met'})")
    image3 = median["ours"][2] - median["ours to cal"][2]
    lines.append(f"ours' image3 (cruciform, background, catalog, alignment: not in jwst's two pipelines): "
                 f"{image3:.1f} s CPU of the whole run's {median['ours'][2]:.1f} s (the difference of the two "
                 f"medians); {load()} at the end")
    lines.append(f"floor (FLOOR: open the uncal as a RampModel, write a rate and a rateints, nothing calibrated): "
                 f"{floor[2]:.1f} s CPU, {floor[0] / GB:.2f} GB; jwst's CPU / 3 = {median['jwst'][2] / 3:.1f} s, "
                 f"{median['jwst'][2] / 3 - floor[2]:.1f} s above the floor for all of ours' calibration")
    seconds = {name: statistics.median(run[3].get(name, 0.0) for run in runs["jwst"]) for name in runs["jwst"][0][3]}
    stcal = seconds["jump"] + seconds["ramp_fit"]
    lines.append(f"jwst in-process: Detector1Pipeline {seconds['Detector1Pipeline']:.1f} s, Image2Pipeline "
                 f"{seconds['Image2Pipeline']:.1f} s; its jump + ramp_fit steps (stcal) {stcal:.1f} s; our whole "
                 f"calibrate / those = {median['ours'][1] / stcal:.2f}")
    lines.append("jwst steps (median s, those >= 0.05): " + ", ".join(
        f"{name} {s:.2f}" for name, s in seconds.items() if not name.endswith("Pipeline") and s >= 0.05))
    last = args.repeat - 1
    ours_cal, jwst_cal = tmp / f"ours{last}" / f"{SCENARIO}_cal.fits", tmp / f"jwst{last}" / f"{SCENARIO}_cal.fits"
    ran, skipped = cal_steps(ours_cal)
    lines.append(f"ours ran: {', '.join(ran)}; skipped: {', '.join(skipped) or 'none'}")
    ran, skipped = cal_steps(jwst_cal)
    lines.append(f"jwst ran: {', '.join(ran)} ({' and '.join(JWST_TURNED_ON)} turned on; off by default)")
    lines.append("jwst skipped, no reference: " + "; ".join(f"{s} ({why})" for s, why in JWST_SKIPPED.items()))
    lines.append("jwst skipped by its defaults or by itself: " + ", ".join(s for s in skipped if s not in JWST_SKIPPED))
    lines.append(f"agreement: median jwst / ours of the cal images over the brightest 1 % of pixels "
                 f"{agreement(ours_cal, jwst_cal):.4f}; ours to cal's cal (SCI, ERR, DQ) "
                 f"{'identical to' if same_cal(ours_cal, tmp / f'to_cal{last}' / ours_cal.name) else 'DIFFERS from'} "
                 f"the whole run's")
    profile = subprocess.run([sys.executable, __file__, "--profile", str(uncal), str(refs), str(tmp / "profiled")],
                             check=True, capture_output=True, text=True)
    return lines + [""] + profile.stdout.strip().splitlines()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ngroups", type=int, default=30, help="groups of the integration")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (alternating); medians")
    parser.add_argument("--record", action="store_true", help="write the result to benchmarks/results/")
    parser.add_argument("--profile", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        return profile_ours(*args.profile)
    with tempfile.TemporaryDirectory(prefix="miri-end-to-end-") as tmp:
        lines = measure(args, Path(tmp))
    publish("end_to_end" + ("" if args.ngroups == 30 else f"_{args.ngroups}groups"), lines)


if __name__ == "__main__":
    main()
