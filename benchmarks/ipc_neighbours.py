"""The rates of cosmic-ray neighbours under MIRI's IPC kernel, per jump rule.

Ramps of one rate (Poisson, read noise of one read, gain of :mod:`instrument.detector`)
get cosmic rays on a grid 4 pixels apart (their 3x3 footprints never touch), each
arriving between two frames (all 9 pixels see it in the same group; the rows that see
a hit one group apart are ``tests/test_jump.py``'s) in a random group, with a charge Q
log-uniform in 100 e- .. 1e6 e- shared by :data:`instrument.detector.IPC_KERNEL`.  Each jump rule's flags go to our
likelihood ramp fit; the table gives the mean rate pull of the row, column and corner
neighbours minus that of untouched pixels (so the fit's own small-sample offset
cancels), with its standard error, per bin of the centre's jump in sigma of a group
difference:

* ``ours``: the default jump step (8 neighbours of deposit centres of 10-1000 sigma);
* ``ours, no neighbours``: the same without neighbour flagging;
* ``stcal``: stcal's jump (JWST's 4 neighbours of every jump of 10-1000 sigma; needs the
  peers extra).

Run:  python benchmarks/ipc_neighbours.py [--seeds 4] [--record]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from miri_testbed.calibration.jump import detect_jumps_likelihood  # noqa: E402
from miri_testbed.calibration.peers import STCAL, stcal_jump  # noqa: E402
from miri_testbed.calibration.ramp_fit import fit_ramps  # noqa: E402
from miri_testbed.instrument import detector as det  # noqa: E402

from imager_common import publish  # noqa: E402

GROUP_TIME = 2.77504  # FULL FASTR1, s
SIZE, SPACING = 256, 4
CLASSES = {"row": (0, 1), "column": (1, 0), "corner": (1, 1)}  # (|dy|, |dx|)
EDGES_SIGMA = (0, 4, 10, 30, 100, 300, 1000, 3000, np.inf)


def rules():
    out = {"ours": lambda *a: detect_jumps_likelihood(*a)[0],
           "ours, no neighbours": lambda *a: detect_jumps_likelihood(*a, neighbour_min_sigma=np.inf)[0]}
    if STCAL:
        out["stcal"] = lambda *a: stcal_jump(*a)[0]
    return out


def exposure(seed, ngroups, rate):
    """Ramps (DN), the hits' centres, arrival groups and charges (e-)."""
    rng = np.random.default_rng(seed)
    shape = (ngroups, SIZE, SIZE)
    electrons = rng.poisson(rate * det.GAIN_E_PER_DN * GROUP_TIME, shape).astype(float)
    cy, cx = (a.ravel() for a in np.mgrid[2:SIZE - 2:SPACING, 2:SIZE - 2:SPACING])
    charge = 10 ** rng.uniform(2, 6, cy.size)
    group = rng.integers(1, ngroups, cy.size)
    dy, dx = (a.ravel() for a in np.mgrid[-1:2, -1:2])
    np.add.at(electrons, (group[:, None], cy[:, None] + dy, cx[:, None] + dx), charge[:, None] * det.IPC_KERNEL.ravel())
    data = np.cumsum(electrons, axis=0) / det.GAIN_E_PER_DN + rng.normal(0, det.READ_NOISE_DN, shape)
    return data[None].astype(np.float32), cy, cx, group, charge


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--record", action="store_true", help="write the result to benchmarks/results/")
    args = parser.parse_args()
    lines = [f"IPC kernel (rows dy = -1, 0, 1): {det.IPC_KERNEL.round(4).tolist()}",
             f"{SIZE}x{SIZE} pixels, hits {SPACING} apart, Q log-uniform 1e2-1e6 e-, {args.seeds} seeds per case",
             "neighbour pull mean minus untouched pixels' (standard error), per centre jump in sigma of a difference"]
    noise = np.full((SIZE, SIZE), det.READ_NOISE_DN)
    gain = np.full((SIZE, SIZE), det.GAIN_E_PER_DN)
    for ngroups, rate in ((10, 5.0), (30, 5.0), (10, 100.0)):
        sigma_d = np.sqrt(2 * det.READ_NOISE_DN**2 + rate * GROUP_TIME / det.GAIN_E_PER_DN)
        for name, rule in rules().items():
            pulls = {c: [] for c in CLASSES}
            clean, centre_sigma = [], []
            for seed in range(args.seeds):
                data, cy, cx, group, charge = exposure(seed, ngroups, rate)
                gdq = rule(data, np.zeros(data.shape, np.uint8), noise, gain, GROUP_TIME)
                fit = fit_ramps(data, gdq, noise, gain, GROUP_TIME, method="likelihood")
                pull = (fit.rate - rate) / np.sqrt(fit.var_poisson + fit.var_rnoise)
                touched = np.zeros((SIZE, SIZE), bool)
                dy, dx = (a.ravel() for a in np.mgrid[-1:2, -1:2])
                touched[cy[:, None] + dy, cx[:, None] + dx] = True
                clean.append(pull[~touched])
                centre_sigma.append(charge * det.IPC_KERNEL[1, 1] / det.GAIN_E_PER_DN / sigma_d)
                for c, (ady, adx) in CLASSES.items():
                    pulls[c].append(np.stack([pull[cy + sy * ady, cx + sx * adx] for sy in (-1, 1) for sx in (-1, 1)]))
            clean = np.concatenate(clean)
            centre_sigma = np.concatenate(centre_sigma)
            lines.append(f"\n== {ngroups} groups, {rate:g} DN/s, {name}   (untouched pixels: mean {clean.mean():+.3f}, "
                         f"n {clean.size})")
            lines.append(f"{'centre sigma':>14} {'hits':>6}" + "".join(f"{c:>18}" for c in CLASSES))
            for lo, hi in zip(EDGES_SIGMA[:-1], EDGES_SIGMA[1:], strict=True):
                sel = (centre_sigma >= lo) & (centre_sigma < hi)
                row = f"{lo:>6g}-{hi:<7g} {sel.sum():>6}"
                for c in CLASSES:
                    p = np.concatenate(pulls[c], axis=1)[:, sel].ravel()
                    p = p[np.isfinite(p)]
                    err = np.sqrt(1 / max(p.size, 1) + 1 / clean.size)
                    row += f"   {p.mean() - clean.mean():+.3f} ({err:.3f})" if p.size else f"{'-':>18}"
                lines.append(row)
    publish("ipc_neighbours", lines)


if __name__ == "__main__":
    main()
