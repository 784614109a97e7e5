"""The diffraction PSF per filter: FWHM against the flight values, blur, light in the
stamp, encircled energy, the cruciform's share, and the cost of building it.

Run:  python benchmarks/imager_psf.py      (uses a fresh temporary cache, so it times the build)
"""
import os
import tempfile
import time

from miri_testbed.instrument import imager

from imager_common import publish


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MIRI_TESTBED_CACHE"] = tmp
        from miri_testbed.simulator import cruciform, psf
        from miri_testbed.simulator.imager_references import aperture_corrections

        lines = [__doc__.split("\n\n")[0], "",
                 f"{'filter':8s} {'flight':>7s} {'diffr.':>7s} {'model':>7s} {'model/flight':>12s} {'blur sig':>8s} "
                 f"{'stamp':>5s} {'in stamp':>8s} {'r(EE70) px':>10s} {'apcorr70':>8s} {'cross':>6s} {'build s':>7s}"]
        for name, f in imager.FILTERS.items():
            t = time.perf_counter()
            _, info = psf.oversampled(name)
            build = time.perf_counter() - t
            rows = {round(r[0], 3): r for r in aperture_corrections(name)}
            r70 = rows.get(0.7, (0, float("nan"), float("nan")))
            lines.append(f"{name:8s} {f.psf_fwhm_arcsec:7.3f} {info['diffraction_fwhm_arcsec']:7.3f} "
                         f"{info['fwhm_arcsec']:7.3f} {info['fwhm_arcsec'] / f.psf_fwhm_arcsec:12.3f} "
                         f"{info['blur_sigma_arcsec']:8.3f} {psf.stamp_size(name):5d} {info['stamp_fraction']:8.4f} "
                         f"{r70[1]:10.2f} {r70[2]:8.4f} {cruciform.cross_fraction(name):6.3f} {build:7.2f}")
        t = time.perf_counter()
        for _ in range(100):
            psf.stamp("F770W", 0.3, -0.2)
        lines += ["", "FWHM in arcsec (flight: JDox Table 1; model: pixel-convolved, half maximum of the "
                  "azimuthal profile); 'in stamp': light inside the stamp (the rest is in the far wings);",
                  "'cross': fraction of the light the cruciform carries.",
                  f"placing one source (F770W stamp, sub-pixel shift): {(time.perf_counter() - t) * 10:.1f} ms"]
    publish("imager_psf", lines)


if __name__ == "__main__":
    main()
