"""MRS line centres through the chain, noise-free (issue 16's line-centre systematic): where a line's centre goes.

A point source (0.1" along and 0.05" across the slices from the target) with only emission lines
(no continuum, so every first moment is exact, nothing subtracted), 20 unresolved lines per band
at 10-90 % of the band's range (a seeded jitter of up to a quarter of their spacing, so they fall at
every phase of the pixel and plane grids), rendered by the simulator (:func:`simulator.mrs.render_source`)
through the FLIGHT geometry (no perturbation) and calibrated with the same geometry written as the
perfect references (:func:`simulator.mrs.write_geometry`), in 1A, 2A (MIRIFUSHORT SHORT) and 3C, 4C
(MIRIFULONG LONG).  No ramps: the e-/s are the rate (the detector layer is linear, noise-free).
Per line, its velocity error ``c (m - lambda_0) / lambda_0``, km/s, of the first moment ``m`` over
``+/- 8 sigma`` of:

* det: the detector pixels' e-/s at their footprint's centre ``(lambda(y - 1/2) + lambda(y + 1/2)) / 2``
  (:mod:`calibration.mrs_wcs`), over every lit pixel of the band;
* bin: the same pixels' light spread uniformly over each footprint and summed into the cube's planes
  (1-D, no drizzle normalisation), at the plane centres;
* cube: the drizzled cube (:func:`calibration.cube_build.drizzle`) summed over all spaxels per plane;
* x1d: the extracted spectrum (:func:`calibration.mrs_extract.annulus`, Airy correction);
* fit bin, fit x1d: the scorer's Gaussian fit (:func:`validation.lrs_score.fit_line`, equal weights) to
  'bin' and to the x1d: the centre of the best-fitting symmetric profile, which a skewed one moves
  differently from its moment;
* smooth cube, smooth x1d, smooth fit: cube, x1d and fit with variant ``drizzle_smooth``
  (:func:`calibration.cube_build.drizzle_smooth`: each pixel's box smoothed in lambda), and the
  lines' widths (fitted sigma, planes) with each variant.

Per band: median and largest |error| of each stage, and the footprints' widths in lambda over the
plane's (the cube's step is their median): the spread that makes 'bin' differ from 'det'.

    python benchmarks/mrs_line_centres.py [--record]    (about 3 min on one core)
"""
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.special import ndtr
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import cube_build, mrs_extract, mrs_wcs  # noqa: E402
from miri_testbed.instrument import mrs  # noqa: E402
from miri_testbed.simulator import MrsObservation, ReferenceOptions, Scene, SpectralSource  # noqa: E402
from miri_testbed.simulator import mrs as smrs  # noqa: E402
from miri_testbed.validation import lrs_score  # noqa: E402

from imager_common import publish  # noqa: E402

C_KMS = 299792.458
SETTINGS = (("MIRIFUSHORT", "SHORT"), ("MIRIFULONG", "LONG"))
BANDS = ("1A", "2A", "3C", "4C")
N_LINES, HALF_WINDOW_SIGMA, SEED = 20, 8.0, 16
OFFSET = (0.1, 0.05)
FLUX_W_M2 = 2e-17


def exposure_model(observation):
    """An empty rate model carrying the keywords the MRS references are selected by."""
    model = dm.ImageModel((1024, 1032))
    model.meta.instrument.name = "MIRI"
    model.meta.instrument.detector = observation.detector
    model.meta.instrument.channel = observation.channels
    model.meta.instrument.band = observation.band
    model.meta.exposure.type = "MIR_MRS"
    model.meta.exposure.start_time = 60000.0
    model.meta.exposure.ngroups = 3
    model.meta.subarray.name = "FULL"
    return model


def line_centres(name, rng):
    lam = smrs.flight_pixels(name).wavelength
    lo, hi = np.percentile(lam, [10, 90])
    step = (hi - lo) / (N_LINES - 1)
    return np.linspace(lo, hi, N_LINES) + rng.uniform(-step / 4, step / 4, N_LINES)


def moment(weights, positions, centre, sigma):
    near = np.abs(positions - centre) < HALF_WINDOW_SIGMA * sigma
    return np.sum(weights[near] * positions[near]) / np.sum(weights[near])


def band_errors(name, observation, references, rng):
    """``{stage: (N_LINES,) km/s}`` and the footprints' widths over the plane (module docstring)."""
    true = smrs.TruePixels(smrs.flight_pixels(name), smrs.Perturbation(name, (0.0,), 0.0, 0.0))
    scene = Scene((SpectralSource({"continuum": {"kind": "blackbody", "temperature_k": 800.0, "flux_mjy": 50.0,
                                                 "ref_um": 7.0}, "lines": []}, *OFFSET),))
    v2, v3 = smrs.source_positions(scene, observation)[0]
    alpha, beta = (float(c) for c in mrs.band(name).from_v2v3(v2, v3))
    share = smrs.psf_share(true, alpha, beta)
    lo, hi = true.lam_edges
    centres = line_centres(name, rng)
    sigmas = centres / smrs.resolving_power(centres) / smrs.FWHM_PER_SIGMA
    electrons = share * sum(ndtr((hi - c) / s) - ndtr((lo - c) / s) for c, s in zip(centres, sigmas, strict=True))
    pixels = mrs_wcs.band_pixels(references.bands[name], (1024, 1032))
    rate = np.zeros((1024, 1032))
    rate[true.flight.y, true.flight.x] = electrons
    samples = cube_build.samples(pixels, rate, np.zeros_like(rate), np.ones(len(pixels.y), bool))
    grid = cube_build.grid_for(samples)
    cube = cube_build.drizzle(samples, grid)
    planes = grid.wavelength.centres
    index, overlap = grid.wavelength.overlaps(pixels.lam_lo, pixels.lam_hi)
    on = rate[pixels.y, pixels.x]
    binned = np.bincount(index.ravel(), (overlap / (pixels.lam_hi - pixels.lam_lo)[:, None] * on[:, None]).ravel(),
                         minlength=grid.wavelength.n)
    whole = np.nansum(cube.data, axis=(1, 2))
    spectrum = mrs_extract.annulus(cube)
    smooth = cube_build.drizzle_smooth(samples, grid)
    smooth_whole, smooth_spectrum = np.nansum(smooth.data, axis=(1, 2)), mrs_extract.annulus(smooth)
    step = grid.wavelength.step
    stages = {k: [] for k in ("det", "bin", "cube", "x1d", "fit bin", "fit x1d", "smooth cube", "smooth x1d",
                              "smooth fit")}
    widths = {"fit x1d": [], "smooth fit": []}
    for c, s in zip(centres, sigmas, strict=True):
        stages["det"].append(moment(on, (pixels.lam_lo + pixels.lam_hi) / 2, c, s))
        stages["bin"].append(moment(binned, planes, c, s))
        stages["cube"].append(moment(whole, planes, c, s))
        stages["x1d"].append(moment(spectrum.flux, planes, c, s))
        stages["smooth cube"].append(moment(smooth_whole, planes, c, s))
        stages["smooth x1d"].append(moment(smooth_spectrum.flux, planes, c, s))
        u_true, sigma_u = (c - planes[0]) / step, math.hypot(s / step, math.sqrt(2 / 12))
        half = max(lrs_score.MIN_HALF_WINDOW, math.ceil(lrs_score.WINDOW_SIGMA * sigma_u))
        rows = np.arange(math.ceil(u_true - half), math.floor(u_true + half) + 1)
        for stage, values, smoothing in (("fit bin", binned, 0.0), ("fit x1d", spectrum.flux, 0.0),
                                         ("smooth fit", smooth_spectrum.flux, cube_build.SMOOTH_SIGMA_PLANES)):
            sigma_u = math.hypot(s / step, math.sqrt(2 / 12), smoothing)
            flux = values[rows]
            fit = lrs_score.fit_line(rows.astype(float), flux, np.full(rows.size, 1e-3 * flux.max()), u_true,
                                     sigma_u, half)
            stages[stage].append(planes[0] + step * fit.centre if fit is not None else math.nan)
            if stage != "fit bin":
                widths[stage].append(fit.sigma if fit is not None else math.nan)
    errors = {k: C_KMS * (np.array(v) - centres) / centres for k, v in stages.items()}
    return centres, errors, (pixels.lam_hi - pixels.lam_lo) / step, widths


def main():
    rng = np.random.default_rng(SEED)
    lines = ["# MRS line centres, noise-free, flight geometry = perfect references, line-only point source "
             f"({N_LINES} lines per band): |velocity error| km/s, median / max",
             "band  w/d p5-p95   det           bin           cube          x1d           fit bin       fit x1d"
             "       smooth cube   smooth x1d    smooth fit    fitted sigma (planes): drizzle, smooth"]
    detail = ["", "# per line: band, centre um, det, bin, cube, x1d, fit bin, fit x1d, smooth cube, smooth x1d, "
                  "smooth fit (km/s)"]
    with tempfile.TemporaryDirectory() as folder:
        for detector, setting in SETTINGS:
            observation = MrsObservation(detector=detector, band=setting)
            flat = {n: smrs.Perturbation(n, (0.0,), 0.0, 0.0) for n in observation.bands}
            smrs.write_geometry(Path(folder), observation, flat, ReferenceOptions(kind="perfect"), rng)
            references = mrs_wcs.read_references(folder, exposure_model(observation))
            for name in observation.bands:
                if name not in BANDS:
                    continue
                centres, errors, footprints, sigmas = band_errors(name, observation, references, rng)
                p5, p95 = np.percentile(footprints, [5, 95])
                cells = "  ".join(f"{np.nanmedian(np.abs(e)):.3f} / {np.nanmax(np.abs(e)):.3f}"
                                  for e in errors.values())
                lines.append(f"{name}    {p5:.3f}-{p95:.3f}  {cells}  "
                             + ", ".join(f"{np.nanmedian(v):.3f}" for v in sigmas.values()))
                detail += [f"{name} {c:.5f} " + " ".join(f"{errors[k][i]:+.3f}" for k in errors)
                           for i, c in enumerate(centres)]
                print(lines[-1], flush=True)
    publish("mrs_line_centres", lines + detail)


if __name__ == "__main__":
    main()
