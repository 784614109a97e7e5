"""The MRS's dedicated background against the annulus alone, on a faint point source over the sky.

One FULL exposure (FASTR1, 10 groups) per setting, MIRIFUSHORT SHORT (1A, 2A) and MIRIFULONG
LONG (3C, 4C, where the thermal sky dominates), every effect on and the zodiacal + thermal sky
model (``OpticsEffects(background_model=True)``, PLACEHOLDER levels), the references the
simulator measured, a flat ``--mjy`` point source 0.1" / 0.05" off the target, with its
dedicated background exposure (``MrsObservation(background_exposure=True)``); calibrated with
``background=local`` (the extraction's annulus alone) and ``background=dedicated`` (the
background's rate subtracted first, then the annulus).  Per band: the median x1d flux over the
source's true flux density, the median error and the median annulus background in the
aperture (BACKGROUND), each over the median flux, and the mean over planes of the two
variants' flux difference with its standard error (the medians' difference is noisier).

    python benchmarks/mrs_background.py [--seeds 1] [--mjy 5] [--record]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration.pipeline import calibrate_exposure  # noqa: E402
from miri_testbed.simulator import (  # noqa: E402
    Effects,
    MrsObservation,
    OpticsEffects,
    Scene,
    SpectralSource,
    simulate,
)

from imager_common import publish  # noqa: E402

SETTINGS = (("MIRIFUSHORT", "SHORT"), ("MIRIFULONG", "LONG"))
EFFECTS = Effects(optics=OpticsEffects(background_model=True))


def run(detector, setting, seed, mjy, folder):
    """``{band: ({variant: (flux ratio, relative error, background / flux)}, (d, sigma_d))}`` of one exposure.

    ``d``: the mean over the planes both variants keep of (dedicated - local) FLUX over the median
    local flux, ``sigma_d`` its standard error (planes taken as independent; neighbours correlate).
    """
    source = SpectralSource({"continuum": {"kind": "flat", "flux_mjy": mjy}}, 0.1, 0.05)
    obs = MrsObservation(detector=detector, band=setting, ngroups=10, background_exposure=True)
    sim = simulate(Scene((source,)), obs, folder, name="e", seed=seed, effects=EFFECTS)
    rows, fluxes = {}, {}
    for variant in ("local", "dedicated"):
        x1d = calibrate_exposure(sim["uncal"], sim["refs"], {"background": variant})["x1d"]
        for spec in x1d.spec:
            t = spec.spec_table
            good = np.isfinite(t["FLUX"]) & (t["FLUX_ERROR"] > 0)
            fluxes[(variant, spec.name)] = np.where(good, t["FLUX"], np.nan)
            flux, err, bkg = (np.asarray(t[c])[good] for c in ("FLUX", "FLUX_ERROR", "BACKGROUND"))
            # medians of each column, then their ratios: a per-plane ratio's median is biased where the
            # noise is large, and the annulus's noise enters FLUX and BACKGROUND with opposite signs
            rows.setdefault(spec.name, {})[variant] = (np.median(flux) / (mjy * 1e-3), np.median(err) / np.median(flux),
                                                       np.median(bkg) / np.median(flux))
    out = {}
    for band, variants in rows.items():
        local, dedicated = fluxes[("local", band)], fluxes[("dedicated", band)]
        diff = (dedicated - local)[np.isfinite(local) & np.isfinite(dedicated)] / np.nanmedian(local)
        out[band] = (variants, (float(np.mean(diff)), float(np.std(diff) / np.sqrt(diff.size))))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="seeds 1..N (default 1)")
    parser.add_argument("--mjy", type=float, default=5.0, help="the source's flat flux density, mJy (default 5)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_background.txt")
    args = parser.parse_args()
    lines = [f"source {args.mjy} mJy flat; every effect and the sky model, measured references; x1d median per band",
             "seed band  variant    flux/true  err/flux  bkg/flux   mean(dedicated - local) / flux"]
    start = time.perf_counter()
    for seed in range(1, args.seeds + 1):
        for detector, setting in SETTINGS:
            with tempfile.TemporaryDirectory() as folder:
                for band, (variants, (d, sigma)) in run(detector, setting, seed, args.mjy, Path(folder)).items():
                    for variant, (ratio, rel, bkg) in variants.items():
                        extra = f"   {d:+.4f} +- {sigma:.4f}" if variant == "dedicated" else ""
                        lines.append(f"{seed:4d} {band:4s}  {variant:9s}  {ratio:9.4f}  {rel:7.4f}  {bkg:8.3f}{extra}")
    lines.append(f"{time.perf_counter() - start:.0f} s")
    publish("mrs_background", lines)


if __name__ == "__main__":
    main()
