"""The monochromatic PSF (LRS): its grid, the interpolation error against the exact PSF
inside every grid interval, FWHM against diffraction and the filters, and its costs.

Run:  python benchmarks/psf_monochromatic.py [--record]   (a fresh temporary cache, so it
times the first call: the per-filter PSFs whose blur it uses, then the grid)
"""
import os
import tempfile
import time

import numpy as np

from imager_common import publish

#: Where inside each grid interval the interpolation is checked (fractions of its width).
FRACTIONS = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875)
D_M = 6.5  # JWST primary, m (params 7)


def box(intensity, half_width=2):
    """Light in the 2 * half_width + 1 pixel columns about the centre."""
    from miri_testbed.simulator import psf

    columns = intensity.sum(axis=0).reshape(-1, psf.OVERSAMPLE).sum(axis=1)
    c = columns.size // 2
    return columns[c - half_width:c + half_width + 1].sum()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MIRI_TESTBED_CACHE"] = tmp
        from miri_testbed.instrument import imager
        from miri_testbed.simulator import psf

        t = time.perf_counter()
        psf.monochromatic(7.0)
        cold = time.perf_counter() - t
        grid_file = next(psf.cache_dir().glob("psf_monochromatic_*.npz"))
        grid_file.unlink()
        psf._monochromatic_grid.cache_clear()
        t = time.perf_counter()
        psf.monochromatic(7.0)
        build = time.perf_counter() - t
        size_mb = grid_file.stat().st_size / 1e6
        psf._monochromatic_grid.cache_clear()
        t = time.perf_counter()
        psf.monochromatic(7.0)
        load = time.perf_counter() - t

        nodes = psf.monochromatic_nodes()
        lines = [__doc__.split("\n\n")[0], "",
                 f"grid: {len(nodes)} nodes, {nodes[0]}-{nodes[-1]} um, steps <= {psf.MONOCHROMATIC_STEP:.0%}, "
                 f"stamp {psf.MONOCHROMATIC_STAMP} px x {psf.OVERSAMPLE} samples; cache file {size_mb:.1f} MB",
                 f"first call, empty cache: {cold:.2f} s (of which the grid alone: {build:.2f} s); "
                 f"grid from disk: {load * 1e3:.0f} ms", "",
                 "interpolated against exact, worst of " + ", ".join(f"{f:g}" for f in FRACTIONS)
                 + " of each interval: max |difference| / peak, and the relative error of the light",
                 "in the stamp and in a 5-column box about the centre (a box extraction's), in %:",
                 f"{'interval um':>15s} {'blur sigma':>11s} {'peak':>6s} {'stamp':>6s} {'box':>6s}"]
        worst = np.zeros(3)
        for a, b in zip(nodes[:-1], nodes[1:], strict=True):
            waves = [a + f * (b - a) for f in FRACTIONS]
            errs = np.max([[np.abs(i - e).max() / e.max(), abs(i.sum() / e.sum() - 1), abs(box(i) / box(e) - 1)]
                           for i, e in zip(map(psf.monochromatic, waves), psf._monochromatic_direct(waves),
                                           strict=True)], axis=0)
            worst = np.maximum(worst, errs)
            lines.append(f"{a:6.3f}-{b:6.3f}  {psf.blur_sigma_arcsec(a):4.3f}-{psf.blur_sigma_arcsec(b):4.3f} "
                         + " ".join(f"{100 * e:6.3f}" for e in errs))
        lines += [f"{'worst':>28s} " + " ".join(f"{100 * e:6.3f}" for e in worst), "",
                  f"{'lambda um':>9s} {'blur sigma':>10s} {'FWHM':>7s} {'no-pixel':>9s} {'/(lambda/D)':>11s} "
                  f"{'in stamp':>8s} {'filter FWHM':>18s}"]
        centres = {f.wavelength_um: name for name, f in imager.FILTERS.items()}
        for w in sorted({3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 14.5}
                        | {c for c in centres if c <= nodes[-1]}):
            m = psf.monochromatic(w)
            nopix = psf.measure_fwhm_arcsec(m, pixel=False)
            filt = (f"{psf.oversampled(centres[w])[1]['fwhm_arcsec']:7.3f} {centres[w]}" if w in centres else "")
            lines.append(f"{w:9.3f} {psf.blur_sigma_arcsec(w):10.4f} {psf.measure_fwhm_arcsec(m):7.3f} {nopix:9.3f} "
                         f"{nopix / (w * 1e-6 / D_M * 180 / np.pi * 3600):11.3f} {m.sum():8.4f} {filt:>18s}")
        waves = np.linspace(3.7, 14.0, 200)
        timings = []
        t = time.perf_counter()
        psf._monochromatic_direct(waves[:20])  # one pupil for all
        timings.append((time.perf_counter() - t) / 20 * 1e3)
        for call in (psf.monochromatic, lambda w: psf.monochromatic_stamp(w, 0.3, -0.2),
                     lambda w: psf.cross_dispersion_profile(w, 0.3)):
            t = time.perf_counter()
            for w in waves:
                call(w)
            timings.append((time.perf_counter() - t) / len(waves) * 1e3)
        lines += ["", "arcsec; FWHM after the pixel (as the imager's) and of the intensity alone; D = 6.5 m; "
                  "'filter FWHM': the filter's band-averaged PSF at its centre",
                  f"per wavelength: exact PSF {timings[0]:.1f} ms (20 at once), interpolated {timings[1]:.2f} ms, "
                  f"shifted stamp {timings[2]:.1f} ms, cross-dispersion profile {timings[3]:.2f} ms"]
    publish("psf_monochromatic", lines)


if __name__ == "__main__":
    main()
