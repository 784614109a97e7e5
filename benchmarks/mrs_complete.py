"""Each spaxel from the exposures complete in it (issue 16): the foreign dither set, each kernel with and without.

The four dithered MIRIFUSHORT SHORT exposures of :mod:`benchmarks.mrs_jwst` (flight geometry, flight files as
references, a point source 0.1" / 0.05" off the target, 50 mJy flat with five lines per band), noise-free
(every effect off, no sky) and noisy (every effect, 5 MJy/sr sky, one seed), through our detector1 once,
then spec3 (:mod:`calibration.mrs_spec3`) with ``cube_build`` ``drizzle``, ``drizzle_smooth`` and
``drizzle_lambda_alpha_smooth``, each also as ``<kernel>_complete`` (:mod:`calibration.cube_build`, 'Each spaxel
from the exposures complete in it'), scored against the TRUTH as :mod:`benchmarks.mrs_foreign_twins` scores
(line centres median / worst |v| km/s, continuum %, line fluxes median / worst |%|, position of the collapsed
cube's centroid mas (of the median-collapsed one), peak-spaxel ripple % rms in the CUBEPAR's range, the lines' fitted
Gaussian sigma in km/s: the cube's resolution), with the CPU seconds of spec3 and the load.

Each kernel with its own APCORR: the simulator's perfect table (:mod:`simulator.mrs_apcorr`) made with
:data:`instrument.mrs.CUBE_ALPHA_SIGMA_PIXELS` = the kernel's alpha Gaussian (0 for ``drizzle`` and
``drizzle_smooth``, whose lambda smoothing does not change the image; :data:`calibration.cube_build.SMOOTH_ALPHA_PIXELS`
for ``drizzle_lambda_alpha_smooth``), as the candidate APCORR of docs/mrs.md was made; the table with 0 is
checked to be the simulated set's own (made for the default kernel's, :data:`instrument.mrs.CUBE_ALPHA_SIGMA_PIXELS`).

    python benchmarks/mrs_complete.py [--workdir DIR] [--variants V ...] [--complete-min C] [--lambda-sigma S]
        [--record]
    (~4 min once simulated; ``--complete-min``: the threshold swept, session 21; ``--lambda-sigma``: the smoothed
    kernels' lambda Gaussian, planes, session 34)
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mrs_foreign_twins as ft  # noqa: E402
import mrs_jwst as mj  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

KERNELS = ("drizzle", "drizzle_smooth", "drizzle_lambda_alpha_smooth")
VARIANTS = tuple(v for k in KERNELS for v in (k, f"{k}_complete"))


def alpha_sigma(variant):
    """The kernel's alpha Gaussian in median pixels (:mod:`calibration.cube_build`): the APCORR's."""
    from miri_testbed.calibration import cube_build

    return cube_build.SMOOTH_ALPHA_PIXELS if "alpha" in variant else 0.0


def refs_for(sims, sigma, folder):
    """``sims`` with their references in ``folder``: theirs, the APCORR made for an alpha Gaussian of ``sigma``."""
    from miri_testbed.instrument import mrs

    if sigma == mrs.CUBE_ALPHA_SIGMA_PIXELS:
        return sims
    refs = Path(sims[0]["refs"])
    folder.mkdir(parents=True, exist_ok=True)
    made = mj.kernel_apcorr(refs, sigma, folder)
    for other in refs.iterdir():
        if other.name != made.name and not (folder / other.name).exists():
            (folder / other.name).symlink_to(other.resolve())
    return [dict(s, refs=folder) for s in sims]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    parser.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS,
                        help=f"cube_build variants (default {VARIANTS})")
    parser.add_argument("--complete-min", type=float, help="the coverage from which an exposure is complete in a "
                        "spaxel (default calibration.cube_build.COMPLETE_MIN; another is recorded as "
                        "<date>_mrs_complete_min<value>.txt)")
    parser.add_argument("--lambda-sigma", type=float, help="the lambda Gaussian of the smoothed kernels, planes "
                        "(default calibration.cube_build.SMOOTH_SIGMA_PLANES; another is recorded as "
                        "<date>_mrs_complete_lambda<value>.txt)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_complete.txt")
    args = parser.parse_args(argv)
    mj.quiet()
    out, lines = transcript()
    from miri_testbed.calibration import cube_build

    name = "mrs_complete"
    if args.complete_min is not None and args.complete_min != cube_build.COMPLETE_MIN:
        cube_build.COMPLETE_MIN, name = args.complete_min, f"mrs_complete_min{args.complete_min:g}"
        out(f"COMPLETE_MIN = {args.complete_min:g} (not the default)")
    if args.lambda_sigma is not None and args.lambda_sigma != cube_build.SMOOTH_SIGMA_PLANES:
        cube_build.SMOOTH_SIGMA_PLANES, name = args.lambda_sigma, f"{name}_lambda{args.lambda_sigma:g}"
        out(f"SMOOTH_SIGMA_PLANES = {args.lambda_sigma:g} (not the default)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.workdir or tmp)
        out("The foreign 4-point set (benchmarks/mrs_jwst.py), each cube_build kernel with and without the selection, "
            "each with its own APCORR, against the truth (module docstring); per band:")
        out("   case                 cube_build                            band  centre med/worst km/s  continuum %  "
            "line flux med/worst %  position mas (median-collapsed)  ripple % in range  line sigma km/s   "
            "spec3 cpu s (load)")
        for group, noise_free in (("noise-free", True), ("noisy", False)):
            sims = mj.simulate_foreign(folder / ("sim_nf" if noise_free else "sim"), noise_free=noise_free)
            exposures, d1s = ft.detector1_set(sims)
            for variant in args.variants:
                sigma = alpha_sigma(variant)
                kernel_sims = refs_for(sims, sigma, folder / f"refs_alpha{sigma}_{group}")
                start = time.process_time()
                result = ft.spec3(kernel_sims, exposures, d1s, variant, folder / group / variant)
                cpu, load = time.process_time() - start, os.getloadavg()[0]
                ft.row(group, f"{variant:37s}", result, kernel_sims,
                       lambda text, cpu=cpu, load=load: out(f"{text}      {cpu:6.1f} ({load:.1f})"))
    print(write_result(name, "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
