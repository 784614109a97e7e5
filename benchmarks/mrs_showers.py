"""MRS residual-shower cleaning: ours (calibration.clean_showers ``gaps``) vs jwst's ``clean_showers``, same rates.

Issue 17 (cross-artifact): "model subtraction, and the residual-shower cleaning in the inter-slice gaps".
A 1A/2A exposure (MIRIFUSHORT SHORT, FASTR1, 10 groups, a 5 MJy/sr sky), every default detector effect
and showers at 1 per s (40x the default rate: ~30 in the exposure), and the same exposure (same seed)
without showers.  Each goes through detector1 twice: with the default shower flagging (``showers=box``)
and without it (``showers=none``: every shower's light the jump step misses stays in the rate).  On the
slice pixels (the geometry references' slices, as the step sees them), ``R = rate_on - rate_off`` is the
showers' light the rate keeps (same seed: the rest of the noise cancels but where the flags differ):

* ``in footprints``: the net ``sum R`` over the slice pixels inside the showers' e^-2 ellipses (the
  truth's SHOWERS), before and after cleaning, and the share removed ``1 - after / before``;
* ``all slices``: the same over every slice pixel (the showers' tails included);
* ``shower-free rms``: the model of the shower-free exposure on the slices, rms over the pixels' median
  error (what the cleaning adds to an exposure without showers);
* CPU per frame (``time.process_time``, best of 3 for ours, 1 for jwst).

jwst's is ``jwst.straylight.straylight.clean_showers`` (jwst 3.0, peers extra) with its default
parameters (18 x 5 px Gaussian, 0.1/99.9 percentiles) on an ``IFUImageModel`` of the same rate and
DQ, given the same gap map as ours (the slices grown by 1 px, as plane 3 of its regions).

    python benchmarks/mrs_showers.py [--record]
"""
import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.ndimage import binary_dilation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import clean_showers as cs  # noqa: E402
from miri_testbed.calibration import detector1, mrs_wcs, registry  # noqa: E402
from miri_testbed.calibration.inputs import open_uncal  # noqa: E402
from miri_testbed.calibration.steps import StepLog  # noqa: E402
from miri_testbed.instrument import dq as dqflags  # noqa: E402
from miri_testbed.simulator import DetectorEffects, Effects, MrsObservation, Scene, simulate  # noqa: E402
from miri_testbed.simulator import showers as sim_showers  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402

from imager_common import publish  # noqa: E402

SHOWER_RATE = 1.0  # per s per detector


def jwst_clean(rate, dq, lit):
    """jwst's clean_showers on the rate, with ``lit`` grown by 1 px as its slice map (module docstring)."""
    from jwst.straylight import straylight as jwst_straylight
    from stdatamodels.jwst import datamodels as dm

    regions = np.zeros((9, *rate.shape), np.int32)
    regions[3] = binary_dilation(lit, structure=np.ones((1, 2 * cs.MARGIN_PX + 1), bool))
    model = dm.IFUImageModel(data=rate.astype(np.float32), dq=dq.astype(np.uint32))
    cleaned, _ = jwst_straylight.clean_showers(model, regions)
    return np.asarray(cleaned.data, float)


def ours(rate, dq, lit):
    return cs.gaps(rate, rate, dq, lit)[0]


def footprints(truth, shape):
    """Pixels inside any shower's e^-2 ellipse (the truth's SHOWERS)."""
    table = truth.table("SHOWERS")
    ys, xs = np.mgrid[:shape[0], :shape[1]]
    inside = np.zeros(shape, bool)
    for row in table:
        inside |= sim_showers.footprint(dict(zip(table.colnames, row, strict=True)), ys, xs)[1]
    return inside, len(table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_showers.txt")
    args = parser.parse_args()
    lines = [f"load before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}"]
    with tempfile.TemporaryDirectory() as tmp:
        sims = {name: simulate(Scene(background_mjy_sr=5.0), MrsObservation(), Path(tmp) / name, seed=4,
                               effects=replace(Effects(), detector=detector))
                for name, detector in (("on", DetectorEffects(shower_rate=SHOWER_RATE)),
                                       ("off", DetectorEffects(showers=False)))}
        exposure = open_uncal(sims["on"]["uncal"])
        shape = exposure.data.shape[-2:]
        lit = cs.lit_pixels(mrs_wcs.assign(StepLog(), registry.resolve({}),
                                           mrs_wcs.read_references(sims["on"]["refs"], exposure), shape).values(),
                            shape)
        foot, n = footprints(read_truth(sims["on"]["truth"]), lit.shape)
        lines += [f"MIRIFUSHORT SHORT, sky 5 MJy/sr, FASTR1 10 groups, {n} showers (rate {SHOWER_RATE:g}/s), seed 4",
                  "detector1 showers  cleaning   footprints: before    after  removed   all slices: before    after"
                  "   shower-free rms/err   cpu_s/frame"]
        for flagging in ("none", "box"):
            rates = {}
            for name, sim in sims.items():
                d1 = detector1.run(StepLog(), open_uncal(sim["uncal"]), sim["refs"],
                                   registry.resolve({"showers": flagging}))
                rates[name] = (d1.rate.astype(float), d1.dq, np.sqrt(d1.var_poisson + d1.var_rnoise))
            (on, dq, err), (off, dq_off, _) = rates["on"], rates["off"]
            ok = lit & np.isfinite(on) & np.isfinite(off) & ((dq | dq_off) & dqflags.DO_NOT_USE == 0)
            before = on - off
            for name, clean, repeats in (("none", None, 0), ("ours", ours, 3), ("jwst", jwst_clean, 1)):
                times = []
                after, shower_free = before, off
                for _ in range(repeats):
                    start = time.process_time()
                    cleaned = clean(on, dq, lit)
                    times.append(time.process_time() - start)
                if clean is not None:
                    after, shower_free = cleaned - off, clean(off, dq_off, lit)
                change = (shower_free - off)[ok]
                b, a = before[ok & foot].sum(), after[ok & foot].sum()
                lines.append(f"{flagging:17s} {name:8s} {b:20.1f} {a:8.1f} {1 - a / b:8.3f} {before[ok].sum():20.1f} "
                             f"{after[ok].sum():8.1f} {np.sqrt(np.mean(change ** 2)) / np.median(err[ok]):21.3f} "
                             f"{min(times) if times else float('nan'):13.3f}")
            print(f"showers={flagging} done", flush=True)
    lines += ["DN/s summed over the slice pixels (R = rate with showers - rate without, same seed); removed = 1 - "
              "after / before", f"load after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}"]
    if args.record:
        publish("mrs_showers", lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
