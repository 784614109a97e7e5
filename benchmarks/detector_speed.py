"""Wall time and peak memory of the detector path, ours beside stcal's, on one array.

The integration: full frame 1032 x 1024, 50 groups, FASTR1, with cosmic rays and
showers at the reference rates, a 10 MJy/sr background and 200 stars, made by this
testbed's simulator.  Every variant runs in a fresh process on the same arrays (the
ramp as float32 DN, read noise, gain); peak memory is the kernel's peak resident set (VmHWM, reset just
before the call) minus the resident set just before it.

Run:  python benchmarks/detector_speed.py [--groups 50] [--repeat 3] [--only ours_default,...]
Needs the ``peers`` extra for the stcal rows.  Prints a table and the ratios.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = {
    "ours_jump": ("likelihood", "none", None),
    "ours_jump_showers": ("likelihood", "box", None),
    "ours_default": ("likelihood", "box", "likelihood"),
    "ours_twopoint_path": ("twopoint", "box", "likelihood"),
    "ours_ols_path": ("likelihood", "box", "ols"),
    "ours_fit_likelihood": (None, None, "likelihood"),
    "ours_fit_ols": (None, None, "ols"),
    "stcal_jump": ("stcal", "none", None),
    "stcal_jump_showers": ("stcal_showers", "none", None),
    "stcal_jump_ols": ("stcal", "none", "stcal_ols"),
    "stcal_jump_showers_ols": ("stcal_showers", "none", "stcal_ols"),
    "stcal_fit_ols": (None, None, "stcal_ols"),
    "stcal_fit_likely": (None, None, "stcal_likely"),
}


def make_integration(path, ngroups, seed=1):
    from miri_testbed.simulator import DetectorEffects, Observation, Scene
    from miri_testbed.simulator.detector import draw_detector, ramps
    from miri_testbed.simulator.exposure import rng_streams
    from miri_testbed.simulator.sky import illumination, random_star_field

    obs = Observation(subarray="FULL", readpatt="FASTR1", ngroups=ngroups)
    rngs = rng_streams(seed)
    effects = DetectorEffects(nonlinearity=False, reset_anomaly=False, emi=False)  # the path measured starts after them
    scene = Scene(random_star_field(obs, 200, 0.01, 1.0, rngs["scene"]), 10.0)
    truth = draw_detector(obs, effects, rngs["detector"])
    illum, _ = illumination(scene, obs)
    data, _ = ramps(illum, obs, truth, effects, rngs["ramps"])
    data -= truth.bias.astype(np.float32)  # as after dark subtraction (bias stays in real data; slopes ignore it)
    np.savez(path, data=data, read_noise=truth.read_noise.astype(np.float32), gain=truth.gain.astype(np.float32),
             group_time=obs.group_time)


def _memory(field):
    """``VmRSS`` or ``VmHWM`` (peak resident set) of this process, bytes."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field))


def _reset_peak():
    """Reset VmHWM to the current resident set (Linux), so the peak of one call is exact
    without a polling thread (which costs the measured code time through the GIL)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def run_variant(name, path):
    import logging

    logging.disable(logging.INFO)
    from miri_testbed.calibration import registry

    arrays = np.load(path)
    data, rn, gain, tg = arrays["data"], arrays["read_noise"], arrays["gain"], float(arrays["group_time"])
    gdq = np.zeros(data.shape, np.uint8)
    jump, showers, fit = VARIANTS[name]
    _reset_peak()
    base = _memory("VmRSS")
    start = time.perf_counter()
    medians = None
    if jump:
        gdq, medians = registry.get("jump", jump)(data, gdq, rn, gain, tg)
    if showers:
        gdq, _ = registry.get("showers", showers)(data, gdq, rn, gain, tg, medians)
    if fit:
        registry.get("ramp_fit", fit)(data, gdq, rn, gain, tg)
    elapsed = time.perf_counter() - start
    print(json.dumps({"name": name, "seconds": elapsed, "peak_bytes": _memory("VmHWM") - base,
                      "ramp_bytes": data.nbytes}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(VARIANTS))
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each variant, interleaved; the fastest is kept (robust to a busy machine)")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        run_variant(args.variant, args.data)
        return
    from miri_testbed.calibration.peers import STCAL

    names = args.only.split(",") if args.only else list(VARIANTS)
    if not STCAL:
        names = [n for n in names if "stcal" not in n]
        print("stcal not installed (pip install -e '.[peers]'): measuring ours only")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "integration.npz"
        make_integration(path, args.groups)
        print(f"full frame 1032 x 1024, {args.groups} groups FASTR1, float32 ramp "
              f"{args.groups * 1032 * 1024 * 4 / 1e9:.2f} GB; variant, wall time, peak memory above the loaded arrays")
        runs = {name: [] for name in names}
        for _ in range(args.repeat):
            for name in names:
                out = subprocess.run([sys.executable, __file__, "--variant", name, "--data", str(path)],
                                     capture_output=True, text=True, check=True)
                runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
        results = {}
        for name in names:
            results[name] = r = min(runs[name], key=lambda run: run["seconds"])
            spread = ", ".join(f"{run['seconds']:.2f}" for run in runs[name])
            print(f"{name:<24} {r['seconds']:8.2f} s  peak {r['peak_bytes'] / 1e9:6.2f} GB "
                  f"({r['peak_bytes'] / r['ramp_bytes']:.2f} x the ramp array)"
                  + (f"  runs: {spread}" if args.repeat > 1 else ""), flush=True)

    def ratio(a, b):
        if a in results and b in results:
            print(f"  {b} / {a}: {results[b]['seconds'] / results[a]['seconds']:.2f}x time, "
                  f"{results[b]['peak_bytes'] / max(results[a]['peak_bytes'], 1):.2f}x peak memory")

    print("\nspeed-ups (stcal / ours; issue 3 targets: >= 2x vs stcal_jump_ols, >= 5x vs stcal_fit_likely, "
          "our peak <= 2x the ramp array):")
    ratio("ours_default", "stcal_jump_ols")
    ratio("ours_default", "stcal_jump_showers_ols")
    ratio("ours_default", "stcal_fit_likely")
    ratio("ours_jump", "stcal_jump")
    ratio("ours_jump_showers", "stcal_jump_showers")
    ratio("ours_fit_ols", "stcal_fit_ols")
    ratio("ours_fit_likelihood", "stcal_fit_likely")


if __name__ == "__main__":
    main()
