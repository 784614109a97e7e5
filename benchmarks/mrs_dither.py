"""The MRS dither set (issue 16): four exposures in one cube against each exposure alone.

A 4-point dither (channel 1's NEGATIVE point-source pattern) of MIRIFUSHORT SHORT (1A + 2A):
FULL exposures, 3 groups, noise-free (every effect off, so the true geometry is the flight one
and the perfect references are the flight files, as issue 16's jwst figures were taken), a point
source 0.05" off the target along the slices (so that neither end position's aperture reaches a
slice end in 1A) with an 800 K blackbody continuum and five lines per band.  Calibrated by
``calibrate_set`` (the four exposures in one cube per band, :mod:`calibration.mrs_spec3`) and by
``calibrate`` one exposure at a time; scored by the suite's scorer (:mod:`validation.mrs_score`)
against each exposure's truth (the combined products against the first exposure's: its frame).

* ripple_%: the peak-spaxel ripple (issue 16's "single-spaxel resampling ripple"): the spaxel
  brightest in the collapsed cube, its spectrum over the usable planes more than 5 lambda/3000
  from every line, divided by a cubic in lambda fitted to it (the PSF's smooth change), rms of
  the ratio - 1, %; the jwst figure for the same set is 1.7-2.1 % rms; in_range_%: the same over the
  planes within the CUBEPAR's WAVEMIN-WAVEMAX (jwst's cube of the band stops there; ours runs to the
  last pixel, where fewer slices and exposures cover the spaxel);
* fwhm_a, fwhm_b: the FWHM of a 2-D Gaussian fitted to the cube's image (the mean of its line-free
  planes, 13 x 13 spaxels about the peak) in alpha and beta, arcsec;
* cube_mas: the scorer's cube centroid (4 lambda/D window) against the truth, mas;
  x1d_mas: the extraction's centre (its x1d's source position) against the truth, mas;
* line_kms: median and largest |line centre - truth| over the band's five lines, km/s;
* flux: the x1d over the true continuum (median over the line-free planes; the APCORR's).

Each for ``cube_build`` ``drizzle`` (jwst's), ``drizzle_alpha_smooth`` and the default
``drizzle_lambda_alpha_smooth`` (the APCORR the simulator writes is made for the default's cubes).

    python benchmarks/mrs_dither.py [--record]
"""
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import curve_fit
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration.jwst_mrs import WAVELENGTH_RANGE_UM  # noqa: E402
from miri_testbed.calibration.pipeline import calibrate, calibrate_set  # noqa: E402
from miri_testbed.instrument import dq as dqflags  # noqa: E402
from miri_testbed.simulator import Effects, MrsObservation, ReferenceOptions, Scene, SpectralSource, simulate  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation import mrs_score, scorers  # noqa: E402

from imager_common import publish  # noqa: E402

LINES_UM = {"1A": (5.0, 5.15, 5.3, 5.45, 5.6), "2A": (7.6, 7.85, 8.1, 8.35, 8.6)}
CONTINUUM = {"kind": "blackbody", "temperature_k": 800.0, "flux_mjy": 50.0, "ref_um": 7.0}
OFFSET = (-0.05, 0.0)
VARIANTS = ("drizzle", "drizzle_alpha_smooth", "drizzle_lambda_alpha_smooth")


def _rms_ripple(wave, spectrum):
    ratio = spectrum / np.polyval(np.polyfit(wave, spectrum, 3), wave)
    return 100 * float(np.std(ratio - 1))


def _fwhm(image, w):
    """FWHM in alpha and beta (arcsec) of a 2-D Gaussian fitted to ``image`` about its peak (module docstring)."""
    j, i = np.unravel_index(np.nanargmax(image), image.shape)
    y, x = np.mgrid[max(j - 6, 0):j + 7, max(i - 6, 0):i + 7]
    z = image[y, x]
    ok = np.isfinite(z)

    def gauss(yx, amp, y0, x0, sy, sx, sky):
        return amp * np.exp(-0.5 * (((yx[1] - x0) / sx) ** 2 + ((yx[0] - y0) / sy) ** 2)) + sky
    p, _ = curve_fit(gauss, (y[ok], x[ok]), z[ok], p0=(np.nanmax(z), j, i, 1.5, 1.5, 0.0))
    return 2.3548 * abs(p[4]) * abs(w.cdelt1), 2.3548 * abs(p[3]) * abs(w.cdelt2)  # CDELT1/2 in arcsec (ALPHA/BETA)


def peak_ripple(path, band, lines_um):
    """Peak-spaxel ripple over all usable planes and within WAVEMIN-WAVEMAX, % rms, and the image's FWHM."""
    with dm.IFUCubeModel(str(path)) as cube:
        data = np.where((cube.dq & dqflags.DO_NOT_USE) == 0, cube.data, np.nan).astype(float)
        w = cube.meta.wcsinfo
        wave = w.crval3 + w.cdelt3 * np.arange(data.shape[0])
    j, i = np.unravel_index(np.nanargmax(np.nansum(data, axis=0)), data.shape[1:])
    spectrum = data[:, j, i]
    far = np.isfinite(spectrum) & np.all([np.abs(wave - c) > 5 * c / 3000 for c in lines_um], axis=0)
    lo, hi = WAVELENGTH_RANGE_UM[band]
    inside = far & (wave >= lo) & (wave <= hi)
    return (_rms_ripple(wave[far], spectrum[far]), _rms_ripple(wave[inside], spectrum[inside]),
            *_fwhm(np.nanmean(data[far], axis=0), w))


def x1d_centres(path):
    with dm.MultiSpecModel(str(path)) as model:
        return {spec.name: (spec.source_xpos, spec.source_ypos) for spec in model.spec}


def scores(truth_path, paths):
    """``{band: (ripple_%, in_range_%, fwhm_a, fwhm_b, cube_mas, x1d_mas, median |kms|, max |kms|, flux)}``."""
    truth = read_truth(truth_path)
    rows = scorers.score_products(truth, {scorers.SPECTRUM1D: paths["x1d"], scorers.CUBE: tuple(paths["s3d"])})
    sources = truth.table("SOURCES")
    centres = x1d_centres(paths["x1d"])
    out = {}
    for (band, lines), s3d in zip(LINES_UM.items(), paths["s3d"], strict=True):
        pick = {r["metric"]: r["value"] for r in rows if r.get("bin") == mrs_score.band_bin(band)}
        kms = [r["value"] for r in rows if r["metric"] == "mrs_wavelength_error" and
               min(abs(r["bin"] - c) for c in lines) < 1e-6]
        row = sources[sources["band"] == band][0]
        x1d_mas = 1e3 * np.hypot(centres[band][0] - row["alpha"], centres[band][1] - row["beta"])
        out[band] = (*peak_ripple(s3d, band, lines), pick["mrs_centroid_error"], x1d_mas, float(np.median(kms)),
                     float(np.max(kms)), pick["mrs_flux_ratio"])
    return out


def main():
    spectrum = {"continuum": CONTINUUM, "lines": [{"kind": "emission", "centre_um": c, "flux_w_m2": 3e-17}
                                                  for lines in LINES_UM.values() for c in lines]}
    scene = Scene((SpectralSource(spectrum, *OFFSET),))
    lines = ["variant                     set           band ripple_% in_range_% fwhm_a fwhm_b cube_mas x1d_mas "
             "line_kms(med) line_kms(max)   flux    time_s"]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        sims = [simulate(scene, MrsObservation(ngroups=3, dither_points=4, dither_position=k), folder / f"d{k}",
                         name=f"d{k}", seed=5, references=ReferenceOptions(kind="perfect"),
                         effects=Effects.noise_free()) for k in (1, 2, 3, 4)]
        refs = sims[0]["refs"]
        for variant in VARIANTS:
            algorithms = {"cube_build": variant}
            start = time.perf_counter()
            combined = calibrate_set([s["uncal"] for s in sims], folder / variant / "set", "set", refs_folder=refs,
                                     algorithms=algorithms)
            elapsed = time.perf_counter() - start
            results = {"combined": (scores(sims[0]["truth"], combined), elapsed)}
            for k, sim in enumerate(sims, start=1):
                start = time.perf_counter()
                paths = calibrate(sim["uncal"], folder / variant / f"single{k}", refs_folder=refs,
                                  algorithms=algorithms)
                results[f"single {k}"] = (scores(sim["truth"], paths), time.perf_counter() - start)
            lines.extend(_rows(variant, results))
    publish("mrs_dither", lines)


def _rows(variant, results):
    rows = []
    for label, (per_band, seconds) in results.items():
        for band, (ripple, in_range, fwhm_a, fwhm_b, cube_mas, x1d_mas, kms_med, kms_max, flux) in per_band.items():
            rows.append(f"{variant:27s} {label:13s} {band:4s} {ripple:8.2f} {in_range:10.2f} {fwhm_a:6.3f} "
                        f"{fwhm_b:6.3f} {cube_mas:8.1f} {x1d_mas:7.1f} {kms_med:13.3f} {kms_max:13.3f} {flux:7.4f} "
                        f"{seconds:7.1f}")
    for band in LINES_UM:
        s = np.array([per_band[band] for label, (per_band, _) in results.items() if label != "combined"])
        rows.append(f"{variant:27s} {'singles mean':13s} {band:4s} {s[:, 0].mean():8.2f} {s[:, 1].mean():10.2f} "
                    f"{s[:, 2].mean():6.3f} {s[:, 3].mean():6.3f} {s[:, 4].mean():8.1f} {s[:, 5].mean():7.1f} "
                    f"{s[:, 6].mean():13.3f} {s[:, 7].max():13.3f} {s[:, 8].mean():7.4f}")
    return rows


if __name__ == "__main__":
    main()
