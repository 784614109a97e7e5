"""The neighbouring slices' fill of a hole across a slice's width, scored on measured pixels (issue 17).

``calibration.pixel_replace.across_slices`` estimates the pixels a shower's mask leaves unusable over a slice's
whole width (the straylight model scatters that estimate; variant ``profile_neighbours`` puts it in the cube).
Its test (tests/test_pixel_replace.py) is a separable scene, where it is exact.  This scores it on a real
exposure: scenario ``mrs_ch12_short_yr0p5`` of suite ``mrs`` (a 20 mJy point source with lines, every detector
effect, measured references), simulated and taken to the rate; then, in each band, holes the width of a slice and
:data:`HOLE_ROWS` rows long are cut out of good pixels (the brightest slice in beta and its two neighbours, every
:data:`HOLE_STEP` rows), filled by ``across_slices`` from the rest, and the estimates compared with the measured
values they replaced.  Per hole: the estimate's sum over the measured sum less 1 (the light a spectrum would get),
and the pulls ``(estimate - measured) / sqrt(var_estimate + var_measured)`` (rms; 1 when the stated variance
holds); a hole is a ``line`` hole when one of the truth's lines falls within it.

    python benchmarks/mrs_hole_fill.py [--seed 1] [--workdir DIR] [--record]     (~2 min)
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import mrs_wcs, pixel_replace, registry  # noqa: E402
from miri_testbed.calibration.extract1d import usable  # noqa: E402
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.calibration.steps import StepLog  # noqa: E402
from miri_testbed.simulator import simulate  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation.scenarios import load_suite  # noqa: E402

from imager_common import publish, transcript  # noqa: E402

SCENARIO = "mrs_ch12_short_yr0p5"
#: A hole's length in rows (a shower's mask over tens of rows: seed 22 of ``mrs_effects`` left ~90) and the rows
#: between the holes' starts.
HOLE_ROWS, HOLE_STEP = 90, 110


def holes(pixels, values, good):
    """``(slice, first row, indices)`` of each hole: the brightest slice in beta and its two neighbours."""
    order = np.argsort(pixels.band.beta)
    light = np.bincount(pixels.slice, weights=np.where(good, values, 0.0), minlength=order.size)
    brightest = int(np.flatnonzero(order == int(np.argmax(light)))[0])
    for rank in (brightest - 1, brightest, brightest + 1):
        if not 0 <= rank < order.size:
            continue
        k = int(order[rank])
        rows = pixels.y[pixels.slice == k]
        for first in range(rows.min() + 20, rows.max() - HOLE_ROWS - 20, HOLE_STEP):
            yield k, first, np.flatnonzero((pixels.slice == k) & (pixels.y >= first)
                                           & (pixels.y < first + HOLE_ROWS) & good)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_hole_fill.txt")
    args = parser.parse_args()
    scenario = next(s for s in load_suite("mrs").scenarios if s.name == SCENARIO)
    out, lines = transcript()
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.workdir or tmp)
        sim = simulate(scenario.scene(args.seed), scenario.observation, folder / "sim", name=scenario.name,
                       seed=args.seed, effects=scenario.effects, references=scenario.references)
        rate_path = calibrate(sim["uncal"], folder / "cal", sim["refs"], {})["rate"]
        centres = np.asarray(read_truth(sim["truth"]).table("LINES")["centre_um"], float)
        with dm.open(rate_path) as rate:
            sci, err, dq = (np.asarray(a, float) for a in (rate.data, rate.err, rate.dq))
            bands = mrs_wcs.assign(StepLog(), registry.resolve({}), mrs_wcs.read_references(Path(sim["refs"]), rate),
                                   sci.shape)
        out(f"{SCENARIO} of suite mrs, seed {args.seed}: holes of {HOLE_ROWS} rows across a slice's width in the "
            "rate (DN/s), filled by calibration.pixel_replace.across_slices")
        out("| band | slice | rows | kind | pixels filled / holed | sum error % | pulls rms | pulls > 5 % |")
        out("|---|---|---|---|---|---|---|---|")
        summary = []
        for name, pixels in bands.items():
            values, var = sci[pixels.y, pixels.x], err[pixels.y, pixels.x] ** 2
            good = usable(values, var, dq[pixels.y, pixels.x].astype(np.int64))
            for k, first, hole in holes(pixels, values, good):
                kept = good.copy()
                kept[hole] = False
                estimate, estimate_var, replaced = pixel_replace.across_slices(values, var, pixels, kept)
                filled = hole[replaced[hole]]
                lam = pixels.wavelength[hole]
                kind = "line" if np.any((centres > lam.min()) & (centres < lam.max())) else "continuum"
                error = estimate[filled].sum() / values[filled].sum() - 1
                pulls = (estimate[filled] - values[filled]) / np.sqrt(estimate_var[filled] + var[filled])
                rms = np.sqrt(np.mean(pulls ** 2))
                summary.append((name, kind, error, rms))
                out(f"| {name} | {k} | {first}-{first + HOLE_ROWS - 1} | {kind} | {filled.size} / {hole.size} | "
                    f"{100 * error:+.2f} | {rms:.2f} | {100 * np.mean(abs(pulls) > 5):.2f} |")
        out("")
        out("| band | kind | holes | sum error % median | worst | pulls rms median |")
        out("|---|---|---|---|---|---|")
        for name in bands:
            for kind in ("continuum", "line"):
                rows = [(e, p) for b, c, e, p in summary if b == name and c == kind]
                if rows:
                    errors, pulls = np.array(rows).T
                    out(f"| {name} | {kind} | {len(rows)} | {100 * np.median(errors):+.2f} | "
                        f"{100 * errors[np.argmax(abs(errors))]:+.2f} | {np.median(pulls):.2f} |")
    out(f"({time.time() - start:.0f} s wall)")
    if args.record:
        publish("mrs_hole_fill", lines)


if __name__ == "__main__":
    main()
