"""The MRS spatial calibration (issue 16): the raster's measured alpha/beta offsets against the truth.

For every detector setting (the 12 bands) and seeds 1..N of the perturbation draw (3 mas rms
per axis, the default ``MrsEffects``), :func:`simulator.mrs.raster_offsets` measures each band's
``(d_alpha, d_beta)`` on its simulated point-source raster (:mod:`simulator.mrs_spatialcal`);
printed: the truth, the measurement, their difference (mas), and per band the rms error over
the seeds beside the rms of the truth's offsets (the flight files' error, what the measured
references take out).

    python benchmarks/mrs_spatialcal.py [--seeds 5] [--record]
"""
import argparse
import time
from pathlib import Path

import numpy as np

from miri_testbed.instrument.files import atomic_path
from miri_testbed.simulator import MrsEffects, MrsObservation
from miri_testbed.simulator import mrs as smrs

SETTINGS = [(d, s) for d in ("MIRIFUSHORT", "MIRIFULONG") for s in ("SHORT", "MEDIUM", "LONG")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_spatialcal.txt")
    args = parser.parse_args()
    lines = [f"# python benchmarks/mrs_spatialcal.py --seeds {args.seeds}",
             "# detector setting seed band: true d_alpha d_beta | measured | error (mas); seconds per detector"]
    errors, truths = {}, {}
    for detector, setting in SETTINGS:
        observation = MrsObservation(detector=detector, band=setting)
        for seed in range(1, args.seeds + 1):
            rng = np.random.default_rng(seed)
            perturbations = {n: smrs.draw_perturbation(n, MrsEffects(), rng) for n in observation.bands}
            start = time.perf_counter()
            offsets = smrs.raster_offsets(observation, perturbations, np.random.default_rng(1000 + seed))
            seconds = time.perf_counter() - start
            for name in observation.bands:
                true = 1e3 * np.array([perturbations[name].d_alpha, perturbations[name].d_beta])
                measured = 1e3 * np.asarray(offsets[name])
                errors.setdefault(name, []).append(measured - true)
                truths.setdefault(name, []).append(true)
                lines.append(f"{detector} {setting} {seed} {name}: {true[0]:+6.2f} {true[1]:+6.2f} | "
                             f"{measured[0]:+6.2f} {measured[1]:+6.2f} | {measured[0] - true[0]:+5.2f} "
                             f"{measured[1] - true[1]:+5.2f}   {seconds:.1f} s")
            print(lines[-1], flush=True)
    lines.append("# band: rms error alpha, beta (mas) | rms of the truth's offsets (the flight files' error)")
    for name in sorted(errors):
        e, t = np.array(errors[name]), np.array(truths[name])
        rms_e, rms_t = np.sqrt(np.mean(e**2, axis=0)), np.sqrt(np.mean(t**2, axis=0))
        lines.append(f"{name}: {rms_e[0]:.2f} {rms_e[1]:.2f} | {rms_t[0]:.2f} {rms_t[1]:.2f}")
    print("\n".join(lines[-13:]))
    if args.record:
        path = Path(__file__).parent / "results" / f"{time.strftime('%Y-%m-%d')}_mrs_spatialcal.txt"
        with atomic_path(path) as tmp:
            Path(tmp).write_text("\n".join(lines) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
