"""The MRS simulator mode (issue 16): render time, flux conservation and line positions per band pair.

For two detector settings (MIRIFUSHORT SHORT = 1A + 2A, MIRIFULONG LONG = 3C + 4C), one
point source with one unresolved emission line per band, the geometry perturbed (60 km/s
rms, so true and flight rows differ) and every detector effect off:

* cold_s: the first :func:`simulator.mrs.illuminate` in the process (slice maps, the
  flight pixel coordinates, the SIAF and the PSF nodes built); warm_s: the next one
  (caches warm; what a dither set or a suite pays per exposure);
* flux: per band, the electrons on the band's pixels over ``A eta photons`` times the PSF
  light inside the slices' strips and SIAF lengths (1 = conserved);
* line: per band, over the slices holding >= 2 % of the line, the largest distance (px)
  between the line's centroid along the middle column and the row where the true
  wavelength map reaches the line, and the largest distance from the flight row.

    python benchmarks/mrs_render.py [--record]
"""
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.instrument import imager, mrs  # noqa: E402
from miri_testbed.simulator import Effects, MrsEffects, MrsObservation, Scene, SpectralSource  # noqa: E402
from miri_testbed.simulator import mrs as smrs  # noqa: E402
from miri_testbed.simulator.spectra import spectrum_from_dict  # noqa: E402

from imager_common import publish  # noqa: E402

SETTINGS = {("MIRIFUSHORT", "SHORT"): {"1A": 5.3, "2A": 8.1}, ("MIRIFULONG", "LONG"): {"3C": 16.7, "4C": 26.0}}


def row_of(wavelength, wavelengths, rows):
    """The row where a column's wavelengths reach ``wavelength`` (they run either way along the rows)."""
    order = np.argsort(wavelengths)
    return np.interp(wavelength, wavelengths[order], rows[order])


def line_offsets(light, name, centre):
    image = light.images[next(iter(light.images))]
    truth = {c.name: c.data for c in light.components}
    flight = mrs.band_map(name)
    total = image[flight.slice > 0].sum()
    to_true, to_flight = [], []
    for slice_id in mrs.band(name).slices:
        on = truth["SLICE"] == slice_id
        if image[on].sum() < 0.02 * total:
            continue
        column = int(np.median(np.nonzero(on)[1]))
        rows = np.flatnonzero(on[:, column])
        true_row = row_of(centre, truth["WAVELENGTH"][rows, column], rows)
        near = rows[np.abs(rows - true_row) <= 8]
        centroid = np.sum(image[near, column] * near) / image[near, column].sum()
        to_true.append(abs(centroid - true_row))
        to_flight.append(abs(centroid - row_of(centre, flight.wavelength[rows, column], rows)))
    return max(to_true), max(to_flight), len(to_true)


def main():
    lines = ["# MRS simulator mode (simulator.mrs): one point source, one line per band, effects off, 60 km/s rms",
             "detector     setting cold_s warm_s band flux_ratio line_true_px line_flight_px slices"]
    effects = replace(Effects.noise_free(), mrs=MrsEffects(geometry_perturbation=True, wavelength_kms=60.0))
    for (detector, setting), centres in SETTINGS.items():
        spectrum = {"continuum": {"kind": "flat", "flux_mjy": 0.0},
                    "lines": [{"kind": "emission", "centre_um": c, "flux_w_m2": 1e-16} for c in centres.values()]}
        scene = Scene((SpectralSource(spectrum, 0.3, 0.2),))
        observation = MrsObservation(detector=detector, band=setting, ngroups=3)
        times = []
        for seed in (1, 2):
            start = time.perf_counter()
            light = smrs.illuminate(scene, observation, effects, np.random.default_rng(seed))
            times.append(time.perf_counter() - start)
        sources = next(c.data for c in light.components if c.name == "SOURCES")
        for name, centre in centres.items():
            row = sources[sources["band"] == name][0]
            line = spectrum_from_dict({"continuum": {"kind": "flat", "flux_mjy": 0.0},
                                       "lines": [{"kind": "emission", "centre_um": centre, "flux_w_m2": 1e-16}]})
            electrons = light.images[detector][mrs.band_map(name).slice > 0].sum()
            expected = (imager.COLLECTING_AREA_M2 * smrs.EFFICIENCY[int(name[0])] * line.emission[0].photons
                        * smrs.light_in_slices(name, centre, float(row["alpha"]), float(row["beta"])))
            to_true, to_flight, count = line_offsets(light, name, centre)
            lines.append(f"{detector:12s} {setting:7s} {times[0]:6.2f} {times[1]:6.2f} {name:4s} "
                         f"{electrons / expected:10.5f} {to_true:12.3f} {to_flight:14.3f} {count:6d}")
    publish("mrs_render", lines)


if __name__ == "__main__":
    main()
