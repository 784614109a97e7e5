"""The foreign set's figures from subsets of its exposures (issue 16, session 28): without the members cut short.

:mod:`benchmarks.mrs_line_flux_parts` finds the line-flux errors in the spectrum's level on a line's scale, and
that level's structure in the members whose slice ends cross the source's aperture (exposure 4 in 1A, exposures
1 and 3 in 2A). Here the set of ``mrs_complete.py``'s workdir (noise-free and noisy) through our spec3 with
VARIANT as it is and from subsets of its exposures, each scored as :mod:`benchmarks.mrs_foreign_twins` scores
(line centres median / worst km/s, continuum %, line fluxes median / worst %, position mas (median-collapsed),
ripple % in the CUBEPAR's range): what an extraction that used only the members complete over the whole aperture
would give (a subset per band: both bands are printed for each); noise-free, beside them each line's model-free
sum (:mod:`benchmarks.mrs_line_flux_parts`'s ``sum``) against the line-free twin of the same members (that script
makes them: run it first).

    python benchmarks/mrs_line_flux_subsets.py --workdir DIR [--variant V] [--record]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mrs_foreign_twins as ft  # noqa: E402
import mrs_jwst as mj  # noqa: E402
import mrs_line_flux_parts as parts  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

SUBSETS = {"all four": (0, 1, 2, 3), "d1-d3": (0, 1, 2), "d2+d4": (1, 3)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True, help="mrs_complete.py's workdir")
    parser.add_argument("--variant", default=parts.DEFAULT)
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_"
                        "mrs_line_flux_subsets.txt")
    args = parser.parse_args(argv)
    mj.quiet()
    out, lines = transcript()
    folder = Path(args.workdir)
    line_w = float(mj.SPECTRUM["lines"][0]["flux_w_m2"])
    out(f"The foreign set from subsets of its exposures, {args.variant} (module docstring); per band:")
    out("   case                 subset      band  centre med/worst km/s  continuum %  line flux med/worst %  "
        "position mas (median-collapsed)  ripple % in range  line sigma km/s")
    for group, noise_free in (("noise-free", True), ("noisy", False)):
        sims = mj.simulate_foreign(folder / ("sim_nf" if noise_free else "sim"), noise_free=noise_free)
        exposures, d1s = ft.detector1_set(sims)
        for name, members in SUBSETS.items():
            pick = list(members)
            result = ft.spec3([sims[k] for k in pick], [exposures[k] for k in pick], [d1s[k] for k in pick],
                              args.variant, folder / "subsets" / group / name.replace(" ", "_"))
            # scored against the first exposure's truth (the cube is in its frame; d2+d4's frame is d2's)
            ft.row(group, f"{name:11s}", result, [sims[pick[0]]], out)
            twin = folder / "noise-free_nolines_subsets" / args.variant / name.replace(" ", "_") / "ours_x1d.fits"
            if name == "all four":
                twin = folder / "noise-free_nolines" / args.variant / "ours_x1d.fits"
            if group == "noise-free" and twin.exists():
                tables, twins = parts.x1d_tables(result["x1d"]), parts.x1d_tables(twin)
                for band, centres in mj.LINES_UM.items():
                    wave, flux, tflux = tables[band][0], tables[band][1], twins[band][1]
                    sums = []
                    for centre in centres:
                        k = int(np.argmin(np.abs(wave - centre)))
                        sl = slice(k - parts.HALF, k + parts.HALF + 1)
                        sums.append(100 * (parts.watts(wave[sl], flux[sl] - tflux[sl]) / line_w - 1))
                    out(f"      {band} model-free sums (the x1d less the line-free twin's of the same members, "
                        f"mrs_line_flux_parts.py's), %: " + " ".join(f"{v:+.3f}" for v in sums))
    print(write_result("mrs_line_flux_subsets", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
