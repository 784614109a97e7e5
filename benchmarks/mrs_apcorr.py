"""The MRS point-source aperture correction (APCORR) in all 12 bands: the x1d's absolute flux.

For each of the six detector settings, one noise-free FULL exposure (3 groups, every
detector effect off, no throughput decay, the 3 km/s / 3 mas geometry perturbation) of a
flat 10 mJy point source at the target, its rate taken exactly from the ramp, calibrated by
spec2 three times on the same rate: with the perfect references (true geometry, perfect
PHOTOM, perfect APCORR), with the same but a measured APCORR (:mod:`simulator.mrs_apcorr`:
0.3 % grey + 0.3 % smooth per band, drawn once per setting), and without an APCORR (the
extraction's Airy correction), with the default ``cube_build``, whose cubes the APCORR is made
for; and once more with the perfect APCORR but the other kernel (:data:`OTHER`: ``drizzle``, jwst's,
if the default smooths in alpha, else ``drizzle_lambda_alpha_smooth``): what a non-default kernel
costs, the table being the default's.  Per band, the median over the good planes of x1d (Jy) /
the truth's 10 mJy, and the worst plane's |ratio - 1| with the perfect APCORR.

    python benchmarks/mrs_apcorr.py [--record]
"""
import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mrs_photom import FLUX_MJY, SETTINGS, exact_rate, spectra  # noqa: E402

from miri_testbed.calibration import registry  # noqa: E402
from miri_testbed.instrument import mrs_dither  # noqa: E402
from miri_testbed.simulator import (  # noqa: E402
    Effects,
    MrsEffects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    mrs_apcorr,
    simulate,
)

from imager_common import publish  # noqa: E402

EFFECTS = replace(Effects.noise_free(), mrs=MrsEffects(geometry_perturbation=True))
#: The cube kernel the APCORR is not made for (module docstring).
OTHER = "drizzle_lambda_alpha_smooth" if registry.DEFAULTS["cube_build"] == "drizzle" else "drizzle"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_apcorr.txt")
    args = parser.parse_args()
    lines = ["band  perfect  worst_plane  measured_apcorr  airy    other     (x1d Jy / truth, median over good planes; "
             f"cube_build {registry.DEFAULTS['cube_build']}; other: cube_build {OTHER}, the perfect APCORR)"]
    start = time.perf_counter()
    for n, (detector, setting) in enumerate(SETTINGS):
        observation = MrsObservation(detector=detector, band=setting, ngroups=3)
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            sim = simulate(Scene((SpectralSource({"continuum": {"kind": "flat", "flux_mjy": FLUX_MJY}}, 0.0, 0.0),)),
                           observation, folder / "sim", seed=11 + n, effects=EFFECTS,
                           references=ReferenceOptions(kind="perfect"))
            exposure, d1 = exact_rate(sim)
            perfect = spectra(exposure, d1, sim["refs"])
            other = spectra(exposure, d1, sim["refs"], {"cube_build": OTHER})
            path = next(Path(sim["refs"]).glob("*apcorr*"))
            measured_model = mrs_apcorr.apcorr_model(observation.bands, observation.channels, observation.band,
                                                     ReferenceOptions(), np.random.default_rng(200 + n),
                                                     mrs_dither.target_v2v3(observation.dither_channel))
            with dm.open(str(path)) as written:
                measured_model.update(written)  # its selection keywords
            measured_model.save(str(path))
            measured = spectra(exposure, d1, sim["refs"])
            path.unlink()
            airy = spectra(exposure, d1, sim["refs"])
        for band in observation.bands:
            lines.append(f"{band:4s} {np.median(perfect[band]):8.4f} {np.max(np.abs(perfect[band] - 1)):12.4f} "
                         f"{np.median(measured[band]):16.4f} {np.median(airy[band]):6.4f} "
                         f"{np.median(other[band]):8.4f}")
        print(f"{detector} {setting} done, {time.perf_counter() - start:.0f} s", flush=True)
    if args.record:
        publish("mrs_apcorr", lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
