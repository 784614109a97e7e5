"""The MRS calibration (issue 16): cube build and extraction time and accuracy on noise-free exposures.

For two detector settings (MIRIFUSHORT SHORT = 1A + 2A, MIRIFULONG LONG = 3C + 4C), one FULL
exposure (3 groups, every detector effect off) of a point source 0.1" / 0.05" off the target
with an 800 K blackbody continuum and one emission line per band, through a perturbed true
geometry (3 km/s, 3 mas rms) with the perfect references, calibrated by detector1 and then,
per band, timed separately:

* read_s: reading the DISTORTION / SPECWCS / WAVELENGTHRANGE (once per exposure);
  wcs_s: the band's slice map and footprints; cube_s: the drizzle; extract_s: the extraction;
* conserve: sum(cube x spaxel volume) over the detector rate, over the planes all slices cover;
* cont_rms: rms of the extracted continuum over the truth's photons x A x eta / gain after
  a quadratic in lambda (the smooth throughput) is divided out; level: its median;
* line_kms: the line's continuum-subtracted centroid minus the truth's centre;
* pos_mas: the centroid's distance from the truth's alpha/beta;
* covfac: the extraction's exact variance over the independent-spaxel one (median).

    python benchmarks/mrs_cube.py
"""
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import cube_build, detector1, mrs_extract, mrs_wcs, registry  # noqa: E402
from miri_testbed.calibration.inputs import open_uncal  # noqa: E402
from miri_testbed.calibration.steps import StepLog  # noqa: E402
from miri_testbed.instrument import imager  # noqa: E402
from miri_testbed.simulator import (  # noqa: E402
    Effects,
    MrsEffects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    simulate,
)
from miri_testbed.simulator import mrs as smrs  # noqa: E402
from miri_testbed.simulator.spectra import spectrum_from_dict  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402

from imager_common import publish  # noqa: E402

SETTINGS = {("MIRIFUSHORT", "SHORT"): {"1A": 5.3, "2A": 8.1}, ("MIRIFULONG", "LONG"): {"3C": 16.7, "4C": 26.0}}
CONTINUUM = {"kind": "blackbody", "temperature_k": 800.0, "flux_mjy": 50.0, "ref_um": 7.0}
C_KMS = 299792.458


def conservation(pixels, band, rate, cube):
    lo = max(pixels.lam_lo[pixels.slice == k].min() for k in range(len(band.slices)))
    hi = min(pixels.lam_hi[pixels.slice == k].max() for k in range(len(band.slices)))
    edges = cube.grid.wavelength.edges
    planes = np.flatnonzero((edges[:-1] >= lo) & (edges[1:] <= hi))
    w0, w1 = edges[planes[0]], edges[planes[-1] + 1]
    share = np.clip(np.minimum(pixels.lam_hi, w1) - np.maximum(pixels.lam_lo, w0), 0, None) / (
        pixels.lam_hi - pixels.lam_lo)
    return np.nansum(cube.data[planes]) * cube.grid.volume / np.sum(rate[pixels.y, pixels.x] * share)


def spectrum_scores(name, spectrum, centre_um, gain):
    good, wavelength = spectrum.dq == 0, spectrum.wavelength
    edges = cube_edges(wavelength)
    photons = spectrum_from_dict({"continuum": CONTINUUM}).photons_in_bins(edges) / np.diff(edges)
    expected = imager.COLLECTING_AREA_M2 * smrs.EFFICIENCY[int(name[0])] * photons / gain
    element = centre_um / smrs.resolving_power(centre_um)
    ratio = spectrum.flux / expected
    far = good & (np.abs(wavelength - centre_um) > 5 * element)
    shape = np.polyfit(wavelength[far], ratio[far], 2)
    residual = ratio[far] / np.polyval(shape, wavelength[far]) - 1
    near = good & (np.abs(wavelength - centre_um) < 3 * element)
    excess = spectrum.flux[near] - np.polyval(shape, wavelength[near]) * expected[near]
    found = np.sum(excess * wavelength[near]) / excess.sum()
    return np.median(ratio[far]), residual.std(), (found - centre_um) / centre_um * C_KMS


def cube_edges(centres):
    step = np.median(np.diff(centres))
    return np.r_[centres - step / 2, centres[-1] + step / 2]


def main():
    lines = ["detector     setting band read_s wcs_s cube_s extract_s  conserve  level cont_rms line_kms pos_mas "
             "covfac planes"]
    effects = replace(Effects.noise_free(), mrs=MrsEffects(geometry_perturbation=True))
    for (detector, setting), centres in SETTINGS.items():
        spectrum = {"continuum": CONTINUUM,
                    "lines": [{"kind": "emission", "centre_um": c, "flux_w_m2": 3e-17} for c in centres.values()]}
        with tempfile.TemporaryDirectory() as folder:
            sim = simulate(Scene((SpectralSource(spectrum, 0.1, 0.05),)),
                           MrsObservation(detector=detector, band=setting, ngroups=3), Path(folder), seed=5,
                           references=ReferenceOptions(kind="perfect"), effects=effects)
            exposure = open_uncal(sim["uncal"])
            d1 = detector1.run(StepLog(), exposure, sim["refs"], registry.resolve())
            with dm.GainModel(str(next(Path(sim["refs"]).glob("*gain*")))) as model:
                gain = float(np.median(model.data))
            sources = read_truth(sim["truth"]).table("SOURCES", detector)
            start = time.perf_counter()
            references = mrs_wcs.read_references(sim["refs"], exposure)
            read_s = time.perf_counter() - start
        var = d1.var_poisson + d1.var_rnoise
        for name, band in references.bands.items():
            start = time.perf_counter()
            pixels = mrs_wcs.band_pixels(band, d1.rate.shape)
            wcs_s = time.perf_counter() - start
            start = time.perf_counter()
            samples = cube_build.samples(pixels, d1.rate, var, mrs_wcs.usable(pixels, d1.rate, d1.dq))
            cube = cube_build.drizzle(samples, cube_build.grid_for(samples))
            cube_s = time.perf_counter() - start
            start = time.perf_counter()
            extracted = mrs_extract.annulus(cube)
            extract_s = time.perf_counter() - start
            level, rms, kms = spectrum_scores(name, extracted, centres[name], gain)
            row = sources[sources["band"] == name][0]
            pos = np.hypot(extracted.centre[0] - row["alpha"], extracted.centre[1] - row["beta"]) * 1e3
            lines.append(f"{detector:12s} {setting:7s} {name:4s} {read_s:6.2f} {wcs_s:5.2f} {cube_s:6.2f} "
                         f"{extract_s:9.2f} {conservation(pixels, band, d1.rate, cube):9.5f} {level:6.3f} "
                         f"{rms:8.5f} {kms:8.3f} {pos:7.1f} {extracted.covariance_factor:6.2f} "
                         f"{cube.grid.wavelength.n:6d}")
    publish("mrs_cube", lines)


if __name__ == "__main__":
    main()
