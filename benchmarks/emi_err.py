"""Rate pulls where the EMI is left in the ramps, with and without its variance in ERR (issue 13).

Each case is simulated (F770W, 4 stars of 0.02-0.5 mJy on 2 MJy/sr, the default detector
with EMI, cosmic rays and showers off so that no unflaggable hit of a 2-group ramp enters
the pulls) and calibrated twice with the same *measured* references: as they are (ERR
holds the EMI variance, :mod:`calibration.emi_noise`), and with the EMICORR waveforms
set to zero (ERR without it, as before issue 13; the EMI steps do not use the amplitudes,
so the rates are the same).  Reported over the usable pixels, all seeds together:

* ``std``: the scorer's robust pull width, 1.4826 MAD of (rate - true) / err
  (``validation.score``), and ``rms``: the plain standard deviation;
* ``pred``: the robust width of a Gaussian plus a sinusoid of random phase whose variance
  is the median pixel's EMI share of ERR^2, ``f = 1 - ERR_without^2 / ERR^2``: what a
  correct ERR gives when EMI is a large part of it (the EMI is a sinusoid, not Gaussian:
  its robust width exceeds its rms);
* ``emi``: the EMI's rms added to ERR for the median pixel, DN/s, and ``f``.

    python benchmarks/emi_err.py [--seeds 1 2 3 4] [--quick] [--record]

``--quick``: the SUB128 2-group case alone.  ``--record`` writes the table to
``benchmarks/results/<date>_emi_err.txt`` (first line: command, versions, commit).
"""
import argparse
import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from miri_testbed.calibration import registry  # noqa: E402
from miri_testbed.calibration.pipeline import calibrate_exposure  # noqa: E402
from miri_testbed.instrument.files import save_model  # noqa: E402
from miri_testbed.simulator import DetectorEffects, Effects, Observation, ReferenceOptions, Scene, simulate  # noqa: E402
from miri_testbed.simulator.exposure import rng_streams  # noqa: E402
from miri_testbed.simulator.sky import random_star_field  # noqa: E402
from miri_testbed.validation.score import as_truth, residuals  # noqa: E402

from imager_common import provenance, publish  # noqa: E402

#: (subarray, ngroups, nints, {step: variant}); the variants of the calibration, the defaults otherwise.
CASES = [
    ("SUB128", 2, 1, {}),
    ("SUB128", 2, 3, {}),
    ("SUB64", 2, 1, {}),
    ("SLITLESSPRISM", 2, 1, {}),
    ("SUB128", 10, 1, {"emi": "none"}),
    ("SUB128", 10, 1, {"emi": "none", "ramp_fit": "ols"}),
    ("SUB128", 10, 1, {"emi": "none", "ramp_fit": "stcal_ols"}),
    ("SUB64", 5, 2, {"emi": "none"}),
    ("SUB128", 10, 1, {}),
]
EFFECTS = Effects(detector=dataclasses.replace(DetectorEffects(), cosmic_rays=False, showers=False))


def robust(p):
    """The scorer's robust width, 1.4826 MAD."""
    return 1.4826 * float(np.median(np.abs(p - np.median(p))))


def without_emi_amplitude(refs, folder):
    """A copy of the reference folder ``refs`` in ``folder`` whose EMICORR waveforms are zero."""
    shutil.copytree(refs, folder)
    path = next(Path(folder).glob("*emicorr*.asdf"))
    with dm.EmiModel(path) as model:
        for name in model.frequencies.instance:
            wave = getattr(model.frequencies, name).phase_amplitudes
            getattr(model.frequencies, name).phase_amplitudes = np.zeros_like(wave)
        save_model(model, path)
    return folder


def run_cell(subarray, ngroups, nints, algorithms, seed, workdir):
    """Pulls with and without the EMI variance in ERR, and the median EMI share of ERR^2."""
    obs = Observation(filter="F770W", subarray=subarray, ngroups=ngroups, nints=nints)
    stars = random_star_field(obs, 4, 0.02, 0.5, rng_streams(seed)["scene"], 12, 0.0)
    sim = simulate(Scene(stars, 2.0), obs, Path(workdir) / "sim", name="e", seed=seed, effects=EFFECTS,
                   references=ReferenceOptions())
    truth = as_truth(sim["truth"])
    out = {}
    for label, refs in (("with", sim["refs"]), ("without", without_emi_amplitude(sim["refs"], Path(workdir) / "r0"))):
        rate = calibrate_exposure(sim["uncal"], refs, algorithms)["rate"]
        out[label] = residuals(truth, rate)
    (diff, err, _), (diff0, err0, _) = out["with"], out["without"]
    assert np.array_equal(diff, diff0), "the EMI amplitudes moved a rate"
    return diff / err, diff0 / err0, 1 - err0**2 / err**2, np.sqrt(np.clip(err**2 - err0**2, 0, None))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--quick", action="store_true", help="the SUB128 2-group case alone")
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/results/")
    args = parser.parse_args(argv)
    cases = CASES[:1] if args.quick else [c for c in CASES if all(v in registry.ALGORITHMS[s]
                                                                   for s, v in c[3].items())]
    lines = [provenance(),
             f"# F770W, 4 stars on 2 MJy/sr, EMI (390 Hz 4 DN rms where it strikes, 10 Hz 1 DN rms; 3 harmonics), "
             f"cosmic rays and showers off; measured references; seeds {args.seeds}",
             "# ERR without EMI: the same references with zero EMICORR waveforms (the ERR before issue 13)",
             f"{'subarray':14s} {'ngr':>3s} {'nint':>4s} {'algorithms':28s} | {'without: std':>12s} {'rms':>6s} | "
             f"{'with: std':>9s} {'rms':>6s} {'pred':>6s} | {'emi DN/s':>8s} {'f':>5s}"]
    print("\n".join(lines), flush=True)
    rng = np.random.default_rng(0)
    for subarray, ngroups, nints, algorithms in cases:
        cells = []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                cells.append(run_cell(subarray, ngroups, nints, algorithms, seed, tmp))
        with_, without, share, emi = (np.concatenate(parts) for parts in zip(*cells, strict=True))
        f = float(np.median(share))
        model = np.sqrt(1 - f) * rng.standard_normal(10**6) + np.sqrt(2 * f) * np.cos(rng.uniform(0, 2 * np.pi, 10**6))
        label = ",".join(f"{k}={v}" for k, v in algorithms.items()) or "defaults"
        line = (f"{subarray:14s} {ngroups:3d} {nints:4d} {label:28s} | {robust(without):12.3f} "
                f"{np.std(without):6.3f} | {robust(with_):9.3f} {np.std(with_):6.3f} {robust(model):6.3f} | "
                f"{np.median(emi):8.2f} {f:5.2f}")
        lines.append(line)
        print(line, flush=True)
    publish("emi_err", lines)


if __name__ == "__main__":
    main()
