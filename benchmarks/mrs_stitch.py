"""Band-to-band flux consistency over the 12 MRS bands: the stitched spectrum's overlap ratios.

For each of the six detector settings (all 12 bands), one FULL exposure (FASTR1, 10 groups)
of the same flat 50 mJy point source 0.1" / 0.05" off the target, calibrated with the
references the simulator measured; the six x1d products are stitched
(:mod:`calibration.mrs_stitch`) and each overlap's flux ratio upper / lower band is printed
with its pull ``(r - 1) / sigma_r``. Three cases: ``noisy`` (every effect on, measured
references, seeds 1..N), ``noisy-perf`` (the same exposures with perfect references: what the
measured references' errors add) and ``noise-free`` (every effect off, perfect references: what
the extraction and the aperture correction leave, which no reference error explains).

    python benchmarks/mrs_stitch.py [--seeds 2] [--record]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration.pipeline import calibrate, stitch  # noqa: E402
from miri_testbed.simulator import Effects, MrsObservation, ReferenceOptions, Scene, SpectralSource, simulate  # noqa: E402

from imager_common import publish  # noqa: E402

SETTINGS = [(d, s) for d in ("MIRIFUSHORT", "MIRIFULONG") for s in ("SHORT", "MEDIUM", "LONG")]
SOURCE = SpectralSource({"continuum": {"kind": "flat", "flux_mjy": 50.0}}, 0.1, 0.05)
CASES = {"noisy": (Effects(), ReferenceOptions()),
         "noisy-perf": (Effects(), ReferenceOptions(kind="perfect")),
         "noise-free": (Effects.noise_free(), ReferenceOptions(kind="perfect"))}


def overlaps(case, seed, folder):
    effects, references = CASES[case]
    x1ds = []
    for detector, setting in SETTINGS:
        name = f"{detector.lower()}_{setting.lower()}"
        sim = simulate(Scene((SOURCE,)), MrsObservation(detector=detector, band=setting, ngroups=10),
                       folder / name, name=name, seed=seed, effects=effects, references=references)
        x1ds.append(calibrate(sim["uncal"], folder / "out", sim["refs"])["x1d"])
    return [o for o in stitch(x1ds, folder / "out" / "stitched_x1d.fits")[1] if not o.gap]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="noisy seeds 1..N (default 2)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_stitch.txt")
    args = parser.parse_args()
    lines = ["case        seed  overlap   lo-hi um          ratio    sigma    pull"]
    pulls, start = {}, time.perf_counter()
    for case, seeds in (("noise-free", [1]), ("noisy", range(1, args.seeds + 1)),
                        ("noisy-perf", range(1, args.seeds + 1))):
        for seed in seeds:
            with tempfile.TemporaryDirectory() as folder:
                for o in overlaps(case, seed, Path(folder)):
                    pull = (o.ratio - 1) / o.ratio_err
                    pulls.setdefault(case, []).append((o.ratio, pull))
                    lines.append(f"{case:11s} {seed:4d}  {o.lower}/{o.upper}  {o.lo_um:6.3f}-{o.hi_um:6.3f}  "
                                 f"{o.ratio:9.5f} {o.ratio_err:8.5f} {pull:7.2f}")
            print(f"{case} seed {seed} done, {time.perf_counter() - start:.0f} s", flush=True)
    for case, values in pulls.items():
        off, pull = np.abs(np.array([v[0] for v in values]) - 1), np.array([v[1] for v in values])
        lines.append(f"{case}: {len(values)} overlaps, |ratio - 1| median {np.median(off):.4f} worst {off.max():.4f}; "
                     f"pull rms {np.sqrt(np.mean(pull**2)):.2f}")
    if args.record:
        publish("mrs_stitch", lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
