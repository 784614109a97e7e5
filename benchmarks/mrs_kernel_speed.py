"""The cube kernels' cost against ``drizzle``'s, alternated in one process (issue 16; docs/mrs.md, kernels' speed).

The foreign 4-point set of :mod:`benchmarks.mrs_jwst` (noise-free, or noisy with ``--noisy``; simulated into
``--workdir`` the first time), through our detector1 once, then:

1. spec3 (:mod:`calibration.mrs_spec3`, as :mod:`benchmarks.mrs_complete` runs it, cubes and x1d written) with each
   variant in turn, ``--rounds`` rounds: the process's CPU seconds, the load beside each, and each variant's ratio to
   ``drizzle``'s of the same round;
2. ``cube_build`` alone on the same :class:`calibration.cube_build.Samples` (each band's, captured from the first
   spec3), alternated the same way;
3. tracemalloc's peak over one spec3 of each variant (numba's own small buffers are not traced; every cube-sized
   array is numpy's).

The machine is shared (2 cores): the ratios within a round are the figure, the seconds move with the load.

    python benchmarks/mrs_kernel_speed.py [--workdir DIR] [--noisy] [--rounds R] [--variants V ...] [--record]
"""
import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mrs_foreign_twins as ft  # noqa: E402
import mrs_jwst as mj  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

VARIANTS = ("drizzle", "drizzle_lambda_alpha_smooth", "drizzle_lambda_alpha_smooth_complete")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    parser.add_argument("--noisy", action="store_true", help="the noisy set (default: noise-free)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=VARIANTS, help=f"cube_build variants (default {VARIANTS}; "
                        "the first is the reference of the ratios)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_kernel_speed.txt")
    args = parser.parse_args(argv)
    mj.quiet()
    out, lines = transcript()
    from miri_testbed.calibration import registry

    kernels = registry.ALGORITHMS["cube_build"]
    captured = []

    def capturing(samples, grid, kernel=kernels[args.variants[0]]):
        captured.append((samples, grid))
        return kernel(samples, grid)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.workdir or tmp)
        group = "noisy" if args.noisy else "noise-free"
        sims = mj.simulate_foreign(folder / ("sim" if args.noisy else "sim_nf"), noise_free=not args.noisy)
        exposures, d1s = ft.detector1_set(sims)
        out(f"The foreign 4-point set ({group}, benchmarks/mrs_jwst.py), after our detector1; CPU s (load), "
            f"ratio to {args.variants[0]} of the same round:")

        def spec3(variant):
            return ft.spec3(sims, exposures, d1s, variant, folder / "speed" / group / variant)

        def rounds(title, run):
            out(title)
            for r in range(args.rounds):
                cpu = {}
                for variant in args.variants:
                    start = time.process_time()
                    run(variant)
                    cpu[variant] = time.process_time() - start
                    load = os.getloadavg()[0]
                    out(f"   round {r + 1}  {variant:40s} {cpu[variant]:6.2f} s ({load:.1f})  "
                        f"x{cpu[variant] / cpu[args.variants[0]]:.2f}")

        # the first spec3 (a warm-up: numba's caches, the files) keeps the Samples
        kernels[args.variants[0]] = capturing
        spec3(args.variants[0])
        kernels[args.variants[0]] = capturing.__defaults__[0]
        rounds("1. spec3 (1A + 2A, four exposures):", spec3)
        rounds("2. cube_build alone on the same Samples (1A + 2A):",
               lambda variant: [kernels[variant](samples, grid) for samples, grid in captured])
        out("3. tracemalloc's peak over spec3, MiB:")
        for variant in args.variants:
            tracemalloc.start()
            spec3(variant)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out(f"   {variant:40s} {peak / 2**20:6.0f}")
    print(write_result("mrs_kernel_speed" + ("_noisy" if args.noisy else ""), "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
