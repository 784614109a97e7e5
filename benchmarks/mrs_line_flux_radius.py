"""The foreign set's line fluxes and continuum structure against the extraction's radius (issue 16, session 28).

Whether the spectrum's level structure that sets the line-flux errors (:mod:`benchmarks.mrs_line_flux_parts`)
comes from the aperture's edge: our spec3 with VARIANT again with ``calibration.mrs_extract.APERTURE_LD`` set to
each of RADII (lambda / D; the APCORR's table holds 2-4, the default 3), on the noise-free set, its line-free twin
and the noisy set of ``mrs_complete.py``'s workdir (``mrs_line_flux_parts.py`` made the twin). Per band and
radius: the line-free twin's x1d / the true continuum over the usable planes at least 0.05 um from the band's
ends: median - 1, and after a cubic in lambda its rms and the rms of its 21-plane running mean (the structure on
a line's scale and above), %; the line fluxes model-free (``sum``: the x1d less the twin's over +/- 8 planes,
over the truth) and the scorer's fit, median / worst |%| noise-free; noisy, the fit's median / worst and its
median own 1-sigma (%).

    python benchmarks/mrs_line_flux_radius.py --workdir DIR [--radii 2 3 4] [--variant V] [--record]
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


def sims_of(folder, group):
    """The workdir's simulated set ``group`` (already simulated: no simulation here)."""
    return mj.simulate_foreign(folder / group, noise_free=group != "sim")


def level_stats(wave, flux, continuum):
    """``(median - 1, rms, rms of the 21-plane running mean)`` of ``flux / continuum`` (module docstring), %.

    The rms after a cubic in lambda (as :func:`mrs_line_flux_parts.twin_structure`), over the usable planes at
    least 0.05 um inside the band's ends.
    """
    ok = np.isfinite(flux) & (flux > 0)
    ok &= (wave > wave[ok][0] + 0.05) & (wave < wave[ok][-1] - 0.05)
    ratio = flux[ok] / continuum
    x = wave[ok] - wave[ok].mean()
    residual = ratio / np.polyval(np.polyfit(x, ratio, 3), x) - 1
    smooth = np.convolve(residual, np.ones(21) / 21, mode="valid")
    return 100 * (np.median(ratio) - 1), 100 * np.std(residual), 100 * np.std(smooth)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True, help="mrs_complete.py's workdir, with mrs_line_flux_parts.py's "
                        "twin")
    parser.add_argument("--radii", nargs="+", type=float, default=(2.0, 3.0, 4.0))
    parser.add_argument("--variant", default=parts.DEFAULT)
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_"
                        "mrs_line_flux_radius.txt")
    args = parser.parse_args(argv)
    mj.quiet()
    out, lines = transcript()
    from miri_testbed.calibration import mrs_extract

    folder = Path(args.workdir)
    spectrum = mj.SPECTRUM
    sets = {"twin": parts.line_free_sims(folder), "noise-free": sims_of(folder, "sim_nf"),
            "noisy": sims_of(folder, "sim")}
    d1 = {name: ft.detector1_set(sims) for name, sims in sets.items()}
    continuum = float(spectrum["continuum"]["flux_mjy"]) * 1e-3
    line_w = float(spectrum["lines"][0]["flux_w_m2"])
    out(f"The foreign set, {args.variant}, the extraction's radius varied (module docstring); per band, %:")
    out("   radius  band   twin level: median  rms  rms(21)   lines noise-free: sum med/worst   fit med/worst"
        "   noisy: fit med/worst  sigma")
    default = mrs_extract.APERTURE_LD
    try:
        for radius in args.radii:
            mrs_extract.APERTURE_LD = radius
            results = {name: ft.spec3(sets[name], *d1[name], args.variant,
                                      folder / f"radius{radius:g}" / name) for name in sets}
            tables = {name: parts.x1d_tables(r["x1d"]) for name, r in results.items()}
            scored = {name: mj.score(str(sets[name][0]["truth"]), results[name]["x1d"])
                      for name in ("noise-free", "noisy")}
            for band, centres in mj.LINES_UM.items():
                wave, tflux = tables["twin"][band][:2]
                flux = tables["noise-free"][band][1]
                sums = []
                for centre in centres:
                    k = int(np.argmin(np.abs(wave - centre)))
                    sl = slice(k - parts.HALF, k + parts.HALF + 1)
                    sums.append(100 * abs(parts.watts(wave[sl], flux[sl] - tflux[sl]) / line_w - 1))
                med, rms, rms21 = level_stats(wave, tflux, continuum)
                nf, noisy = scored["noise-free"][band], scored["noisy"][band]
                out(f"   {radius:4.1f}    {band}        {med:+7.3f}  {rms:5.3f}  {rms21:5.3f}        "
                    f"{np.median(sums):5.3f} / {max(sums):5.3f}     {nf['line_median']:5.3f} / {nf['line_worst']:5.3f}"
                    f"        {noisy['line_median']:5.3f} / {noisy['line_worst']:5.3f}  {noisy['line_sigma']:5.3f}")
    finally:
        mrs_extract.APERTURE_LD = default
    print(write_result("mrs_line_flux_radius", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
