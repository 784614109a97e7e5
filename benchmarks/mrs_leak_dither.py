"""Does a dithered band 1B take the spectral leak out of band 3A's cube spaxel by spaxel? (issue 17, 'in cubes')

The hot point source of ``benchmarks/mrs_leak.py`` (10^4 K blackbody, 50 mJy at 12.2 um: the leak 12 % of 3A's
continuum at its peak), noise-free, perfect references, 10 groups, on the 4-point point-source dither pattern
(channel 1's, negative).  Band 1B (MIRIFUSHORT MEDIUM) taken at one position alone or at all four positions and
combined into one cube (``calibrate --combine``); band 3A (MIRIFULONG SHORT, leak on) and its leak-free twin the
same way (:data:`CASES`: each position alone, 1B and 3A there; the 1B set for 3A at position 1; both sets).  3A is
calibrated with ``spectral_leak`` = ``none``, ``cube`` and ``cube_sharpened`` from the 1B cube (and x1d).
Printed per row: the 3A x1d's ``mrs_leak_residual`` (the leak left at its peak over the continuum, against the
truth of 3A's first position), and over the 3A cube's core
(:func:`validation.mrs_leak_score.cube_residuals`) against the leak-free twin, the per-spaxel leak left, max and
median (``twin max``, ``twin median``, as in ``mrs_leak.py``), and the core sum's residual.

Why: the per-spaxel residual of one 1B exposure is information-limited (docs/mrs.md, 'The per-spaxel term
located': 1B's 0.177" slices undersample the 6 um PSF); with a 4-point 1B dither the floor of a least-roughness
image is 0.22 / 0.042 % (max / median), that of overlap weights (what a drizzled cube is) 4.8 / 1.3 %.  A combined
3A set's correction takes the slices of its first exposure (:mod:`calibration.spectral_leak`), an approximation
measured here.

    python benchmarks/mrs_leak_dither.py [--record]
"""
import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration.pipeline import calibrate, calibrate_set  # noqa: E402
from miri_testbed.simulator import (  # noqa: E402
    Effects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    simulate,
)
from miri_testbed.validation import mrs_leak_score, mrs_score  # noqa: E402

from imager_common import publish  # noqa: E402
from mrs_leak import HOT, twin_residuals  # noqa: E402

POINTS = 4
OBS_1B = MrsObservation(detector="MIRIFUSHORT", band="MEDIUM", ngroups=10, dither_points=POINTS)
OBS_3A = MrsObservation(detector="MIRIFULONG", band="SHORT", ngroups=10, dither_points=POINTS)
VARIANTS = ("none", "cube", "cube_sharpened")


def _simulate(observation, effects, folder, name, positions):
    return [simulate(Scene((SpectralSource(HOT),)), replace(observation, dither_position=p), folder / f"{name}{p}",
                     name=f"{name}{p}", seed=p, effects=effects, references=ReferenceOptions(kind="perfect"))
            for p in positions]


def _calibrate(sims, folder, algorithms=None, **leak):
    """One exposure alone (``calibrate``) or a set combined (``calibrate_set``): its products' paths."""
    if len(sims) == 1:
        return calibrate(sims[0]["uncal"], folder, sims[0]["refs"], algorithms, **leak)
    return calibrate_set([s["uncal"] for s in sims], folder, "set", sims[0]["refs"], algorithms, **leak)


#: ``(1B's positions, 3A's positions)``: each position alone (1B and 3A there, calibrated one by one, as a user who
#: does not combine), the 1B set combined for 3A at position 1, and both sets combined.
CASES = tuple(((p,), (p,)) for p in range(1, POINTS + 1)) + ((tuple(range(1, POINTS + 1)), (1,)),
                                                            (tuple(range(1, POINTS + 1)),) * 2)


def run(folder):
    base = Effects.noise_free()
    on = replace(base, mrs=replace(base.mrs, spectral_leak=True))
    every = range(1, POINTS + 1)
    sims = {"1B": _simulate(OBS_1B, on, folder, "b1_", every), "3A": _simulate(OBS_3A, on, folder, "a3_", every),
            "off": _simulate(OBS_3A, base, folder, "off_", every)}
    rows = []
    for b_positions, a_positions in CASES:
        members = {key: [sims[key][p - 1] for p in positions]
                   for key, positions in (("1B", b_positions), ("3A", a_positions), ("off", a_positions))}
        tag = f"{''.join(map(str, b_positions))}_{''.join(map(str, a_positions))}"
        b1 = _calibrate(members["1B"], folder / f"cal_1b_{tag}")
        leak_from = [next(p for p in b1["s3d"] if "_ch1-" in p.name), b1["x1d"]]
        off = _calibrate(members["off"], folder / f"cal_off_{tag}")
        truth = members["3A"][0]["truth"]
        for variant in VARIANTS:
            products = _calibrate(members["3A"], folder / f"cal_3a_{tag}_{variant}", {"spectral_leak": variant},
                                  **({} if variant == "none" else {"leak_from": leak_from,
                                                                   "leak_refs": members["1B"][0]["refs"]}))
            x1d = {r["metric"]: r["value"] for r in mrs_score.score_x1d(truth, products["x1d"])}
            cube = {r["metric"]: r["value"] for r in mrs_leak_score.score_cubes(truth, products["s3d"])}
            twin_max, twin_median = twin_residuals(truth, products["s3d"], off["s3d"])
            rows.append((",".join(map(str, b_positions)), ",".join(map(str, a_positions)), variant,
                         x1d["mrs_leak_residual"], twin_max, twin_median, cube["mrs_leak_cube_sum_residual"]))
            print(rows[-1], flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_leak_dither.txt")
    args = parser.parse_args()
    out = ["1B positions  3A positions  variant         x1d leak_residual  twin max %  twin median %  cube sum %"]
    with tempfile.TemporaryDirectory() as folder:
        for b_positions, a_positions, variant, residual, twin_max, twin_median, summed in run(Path(folder)):
            out.append(f"{b_positions:>12s}  {a_positions:>12s}  {variant:14s}  {residual:17.5f}  "
                       f"{100 * twin_max:10.3f}  {100 * twin_median:13.3f}  {100 * summed:10.3f}")
    if args.record:
        publish("mrs_leak_dither", out)
    print("\n".join(out))


if __name__ == "__main__":
    main()
