"""Point-source fringe flats (``fringe=point_source``, the PSFRINGE) against the fringe flat and the 1-D fit (issue 17).

(1) Noise-free, ``perfect`` references (the PSFRINGE measured noise-free where the source lies): a point source
(an 800 K blackbody, 50 mJy at 7 um, at alpha 0.1", beta 0.05") on MIRIFUSHORT SHORT (1A/2A) and MIRIFULONG LONG
(3C/4C), with fringes and without; per band and variant, the x1d over the fringe-free x1d: its rms and mean, and
the rms without 20 planes at each end (``inner``), and on those inner planes FRINGE-1's statistic without noise:
the largest sinusoid amplitude over the fringe's band of periods, 2.4-3.4 cm^-1
(:func:`validation.mrs_fringe_score.fringe_amplitude`, equal weights), the fringe a faint spectrum keeps where the
1-D fit is rightly silent.  (2) Suite ``mrs_fringes`` (bright sources, every effect,
measured references, seed 1) per variant: per band the flux ratio, the fringe amplitude, FRINGE-1's
``mrs_fringe_over_target`` and the lines' median centre error (``mrs_wavelength_error_band``).  Variants:
``fringe=reference`` (jwst's, the default), ``reference`` then ``residual_fringe=fit``, ``point_source``,
``point_source`` then ``fit``.

    python benchmarks/mrs_fringe_point_source.py [--record]
"""
import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.simulator import (  # noqa: E402
    Effects,
    MrsEffects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    simulate,
)
from miri_testbed.validation.mrs_fringe_score import fringe_amplitude  # noqa: E402

from imager_common import publish, transcript  # noqa: E402

CONTINUUM = {"continuum": {"kind": "blackbody", "temperature_k": 800.0, "flux_mjy": 50.0, "ref_um": 7.0}}
VARIANTS = {"reference": {}, "reference+fit": {"residual_fringe": "fit"},
            "point_source": {"fringe": "point_source"},
            "point_source+fit": {"fringe": "point_source", "residual_fringe": "fit"}}
SETTINGS = {"MIRIFUSHORT SHORT": MrsObservation(ngroups=3),
            "MIRIFULONG LONG": MrsObservation(ngroups=3, detector="MIRIFULONG", band="LONG")}
INNER = 20


def spectra(path):
    """Per band name ``(wavelength um, flux)`` of an x1d."""
    with dm.MultiSpecModel(str(path)) as model:
        return {s.name: (np.array(s.spec_table["WAVELENGTH"], float), np.array(s.spec_table["FLUX"], float))
                for s in model.spec}


def noise_free(folder, out):
    """(1): the x1d over the fringe-free one per band and variant."""
    scene = Scene((SpectralSource(CONTINUUM, 0.1, 0.05),))
    for label, observation in SETTINGS.items():
        flux = {}
        for on in (False, True):
            effects = replace(Effects.noise_free(), mrs=MrsEffects(fringes=on))
            sim = simulate(scene, observation, folder / f"{label}_{on}".replace(" ", "_"), seed=5,
                           references=ReferenceOptions(kind="perfect"), effects=effects)
            for name, algorithms in (VARIANTS.items() if on else [("reference", {})]):
                paths = calibrate(sim["uncal"], folder / f"{label}_{on}_{name}".replace(" ", "_"), sim["refs"],
                                  algorithms)
                flux[on, name] = spectra(paths["x1d"])
        for band, (wavelength, clean) in flux[False, "reference"].items():
            for name in VARIANTS:
                ratio = flux[True, name][band][1] / clean
                finite = np.isfinite(ratio)
                inner, inner_um = ratio[finite][INNER:-INNER], wavelength[finite][INNER:-INNER]
                amplitude = fringe_amplitude(1e4 / inner_um, inner / np.mean(inner) - 1, np.ones(inner.size))
                out(f"| {band} | {name} | {100 * np.nanstd(ratio):.3f} | {100 * np.nanstd(inner):.3f} | "
                    f"{100 * amplitude:.3f} | {np.nanmean(ratio):.4f} |")


def suite(folder, out):
    """(2): suite mrs_fringes per variant."""
    for name, algorithms in VARIANTS.items():
        chosen = [item for step, variant in algorithms.items() for item in ("--algorithm", f"{step}={variant}")]
        report = folder / name
        subprocess.run(["miri-testbed", "run", "--suite", "mrs_fringes", "--workers", "1", *chosen, "-o",
                        str(report)], check=False, capture_output=True)
        table = pd.read_csv(report / "metrics.csv")
        picked = table[table.metric.isin(["mrs_flux_ratio", "mrs_fringe_amplitude", "mrs_fringe_over_target",
                                          "mrs_wavelength_error_band"])]
        wide = picked.pivot_table(index="bin", columns="metric", values="value")
        for band, row in wide.iterrows():
            out(f"| {band:g} | {name} | {row.mrs_flux_ratio:.4f} | {100 * row.mrs_fringe_amplitude:.3f} | "
                f"{row.mrs_fringe_over_target:.3f} | {row.mrs_wavelength_error_band:.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true",
                        help="write benchmarks/results/<date>_mrs_fringe_point_source.txt")
    args = parser.parse_args()
    out, lines = transcript()
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        out("(1) noise-free, perfect references: x1d / fringe-free x1d, %")
        out("| band | variant | rms | inner rms | inner fringe-band amplitude | mean |")
        out("|---|---|---|---|---|---|")
        noise_free(Path(tmp), out)
        out("")
        out("(2) suite mrs_fringes, measured references, seed 1")
        out("| band | variant | flux ratio | fringe amplitude % | FRINGE-1 over target | lines' median |v|, km/s |")
        out("|---|---|---|---|---|---|")
        suite(Path(tmp), out)
    out(f"({time.time() - start:.0f} s wall)")
    if args.record:
        publish("mrs_fringe_point_source", lines)


if __name__ == "__main__":
    main()
