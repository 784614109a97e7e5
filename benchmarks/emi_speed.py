"""Speed of the EMI correction on a full-frame 10-group ramp, ours against jwst's joint fit.

Ours (``joint``) against jwst's joint algorithm (``jwst_joint``, with the ``peers``
extra; without it only ours is timed), timed in the same run on the same array.

A FULL FASTR1 ramp (20 e-/s per pixel, read noise, 10 Hz EMI of 4 DN rms with 3
harmonics, frequency off by +1e-4) is corrected by each variant ``--repeat`` times,
interleaved; the fastest wall and CPU times of each are kept and the ratios printed (CPU time is the
fair one on the shared machine: the load average is printed beside it).

    python benchmarks/emi_speed.py [--ngroups 10] [--repeat 2] [--record]
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from miri_testbed.calibration import emi as cal_emi  # noqa: E402
from miri_testbed.calibration import registry  # noqa: E402
from miri_testbed.simulator import ReferenceOptions, emi  # noqa: E402
from miri_testbed.simulator.exposure import ramp_model  # noqa: E402
from miri_testbed.simulator.references import emicorr_model, mask_flags  # noqa: E402
from miri_testbed.validation import emi_score  # noqa: E402

from emi_accuracy import make, quiet_peers  # noqa: E402
from imager_common import publish  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ngroups", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="write the result to benchmarks/results/")
    args = parser.parse_args(argv)
    quiet_peers()
    obs, truth, lines, data = make("FULL", "Hz10", args.ngroups, seed=1)
    exposure = ramp_model(data, obs)
    pixeldq = mask_flags(truth)  # as dq_init sets it from the MASK
    groupdq = np.zeros(data.shape, np.uint8)
    case, _ = cal_emi.case_from_model(emicorr_model(ReferenceOptions(), lines), exposure)
    variants = ["joint"] + (["jwst_joint"] if "jwst_joint" in registry.ALGORITHMS["emi"] else [])
    best = {v: np.inf for v in variants}
    cpu = {v: np.inf for v in variants}
    load = os.getloadavg()[0]
    resid = {}
    true = emi.waveform(lines, obs)
    usable = ~(truth.dead | truth.hot | truth.reference)
    for _ in range(args.repeat):
        for v in variants:
            ramps = data.copy()
            t0, c0 = time.perf_counter(), time.process_time()
            out, _ = registry.get("emi", v)(ramps, groupdq, pixeldq, truth.read_noise, truth.gain, case)
            best[v], cpu[v] = min(best[v], time.perf_counter() - t0), min(cpu[v], time.process_time() - c0)
            resid[v] = emi_score.residual_fraction(true, data.astype(np.float64) - out, usable)
    lines = [f"# FULL FASTR1, {args.ngroups} groups, 10 Hz EMI 4 DN rms, 3 harmonics, drift +1e-4; "
             f"fastest of {args.repeat}; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"]
    lines += [f"{v:12s} {best[v]:8.2f} s wall {cpu[v]:8.2f} s CPU   residual {100 * resid[v]:.3f}%" for v in variants]
    if "jwst_joint" in best:
        lines.append(f"speed-up (jwst_joint / joint): {best['jwst_joint'] / best['joint']:.1f}x wall, "
                     f"{cpu['jwst_joint'] / cpu['joint']:.1f}x CPU")
    publish("emi_speed", lines)


if __name__ == "__main__":
    main()
