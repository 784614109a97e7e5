"""Which member of the foreign dither set moves its continuum and position (issue 16): the set against its subsets.

The four dithered MIRIFUSHORT SHORT exposures of :mod:`benchmarks.mrs_jwst` (flight geometry, flight files
as references, a point source 0.1" / 0.05" off the target, 50 mJy flat with five lines per band), noise-free
(every effect off, no sky) and noisy (every effect, 5 MJy/sr sky, one seed), through our detector1 once, then
spec3 (:mod:`calibration.mrs_spec3`) on subsets of them: each exposure alone, exposures 1-3, 1 and 4, all
four; for ``cube_build`` ``drizzle`` and ``drizzle_lambda_alpha_smooth``.  Scored as
:mod:`benchmarks.mrs_foreign_twins` scores the set: the continuum (x1d / truth - 1 over the line-free
planes, %; "-" where no plane's aperture is inside the field), the centroid of the collapsed cube against
the truth (mas; a subset's cube is in its first exposure's frame, scored against that exposure's truth), and
the continuum's excess over the mean of exposures 1-3 alone (independent of the APCORR, one table for all).
Before them, where the source sits in each exposure: its alpha from the nearer end of its slice (the SIAF's
extent, :func:`instrument.mrs.siaf_alpha_limits`) against the extraction's aperture radius 3 lambda/D at
the band's middle.

``--alpha-sigma S`` sets :data:`instrument.mrs.CUBE_ALPHA_SIGMA_PIXELS` for the run, so the simulator's
APCORR is made for a cube kernel with that alpha Gaussian (default the default kernel's, 0.5:
``drizzle_lambda_alpha_smooth``'s; 0: ``drizzle``'s); the other kernel's continuum is then off by the tables'
difference, its excess is not.

    python benchmarks/mrs_set_members.py [--alpha-sigma S] [--workdir DIR] [--record]   (~10 min, 2 busy cores)
"""
import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mrs_foreign_twins as ft  # noqa: E402
import mrs_jwst as mj  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

VARIANTS = ("drizzle", "drizzle_lambda_alpha_smooth")
#: The subsets, 0-based exposure indices (the first one's frame is the cube's).
SUBSETS = ((0,), (1,), (2,), (3,), (0, 1, 2), (0, 3), (0, 1, 2, 3))


def source_from_ends(truth_path, band):
    """The source's ``(alpha, distance from the nearer alpha end of its slice)`` in the exposure's frame, arcsec."""
    from miri_testbed.instrument import mrs
    from miri_testbed.simulator.truth import read_truth

    row = [r for r in read_truth(truth_path).table("SOURCES") if str(r["band"]) == band and int(r["id"]) == 0][0]
    geometry = mrs.band(band)
    alpha, beta = float(row["alpha"]), float(row["beta"])
    k = int(np.argmin(np.abs(np.asarray(geometry.beta) - beta)))
    lo, hi = geometry.alpha_limits(geometry.slices[k])
    return alpha, min(alpha - lo, hi - alpha)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alpha-sigma", type=float, default=None,
                        help="instrument.mrs.CUBE_ALPHA_SIGMA_PIXELS for the run: the APCORR's kernel (docstring)")
    parser.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_set_members.txt")
    args = parser.parse_args(argv)
    from miri_testbed.instrument import mrs

    if args.alpha_sigma is not None:
        mrs.CUBE_ALPHA_SIGMA_PIXELS = args.alpha_sigma
    mj.quiet()
    out, lines = transcript()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.workdir or tmp)
        out(f"The foreign 4-point set (benchmarks/mrs_jwst.py) and its subsets (module docstring); APCORR made for "
            f"an alpha Gaussian of {mrs.CUBE_ALPHA_SIGMA_PIXELS} pixel")
        for group, noise_free in (("noise-free", True), ("noisy", False)):
            sims = mj.simulate_foreign(folder / ("sim_nf" if noise_free else "sim"), noise_free=noise_free)
            if noise_free:
                for band in mj.LINES_UM:
                    radius = 3 * float(mrs.lambda_over_d(np.mean(mrs.band(band).wavelength_range)))
                    where = [source_from_ends(str(s["truth"]), band) for s in sims]
                    out(f"   {band}: source alpha / from its slice's nearer end, exposures 1-4: "
                        + ", ".join(f"{a:+.2f} / {d:.2f}\"" for a, d in where)
                        + f"; aperture radius 3 lambda/D {radius:.2f}\"")
                out("   group       cube_build                   exposures  band  continuum %  excess over 1-3 "
                    "alone %  position mas  cpu s")
            exposures, d1s = ft.detector1_set(sims)
            for variant in VARIANTS:
                scored = {}
                for subset in SUBSETS:
                    name = "".join(str(k + 1) for k in subset)
                    start = time.process_time()
                    result = ft.spec3([sims[k] for k in subset], [exposures[k] for k in subset],
                                      [d1s[k] for k in subset], variant, folder / group / f"{variant}_{name}")
                    cpu = time.process_time() - start
                    truth = str(sims[subset[0]]["truth"])
                    scored[name] = (mj.score(truth, result["x1d"]), mj.positions(truth, result, "ours"), cpu)
                for name, (score, where, cpu) in scored.items():
                    for band in mj.LINES_UM:
                        alone = [scored[str(k)][0][band]["continuum"] for k in (1, 2, 3)]
                        excess = score[band]["continuum"] - np.mean(alone)
                        continuum = score[band]["continuum"]
                        out(f"   {group:10s}  {variant:27s}  {name:9s}  {band}   "
                            + ("      -    " if math.isnan(continuum) else f"{continuum:+8.3f}   ")
                            + ("             -          " if math.isnan(excess) else f"    {excess:+8.3f}           ")
                            + f"{where[band]:7.2f}     {cpu:5.1f}")
    print(write_result("mrs_set_members", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
