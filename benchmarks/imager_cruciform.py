"""Photometric and astrometric bias of the cruciform at F560W and F770W, per correction.

Fields: SUB256, every effect on (cruciform included), measured references (the
CRUCIFORM kernel measured to 2 %), two scenes per filter:

* ``isolated``: 8 stars of 1-10 mJy at least 45 px apart;
* ``crowded``: 25 stars of 0.05-20 mJy anywhere (the crosses of bright stars run over
  fainter ones and through the sky annuli).

Calibration variants of the ``cruciform`` step: ``none`` (baseline: aperture photometry
with the PSF's aperture correction), ``apcorr`` (aperture correction times 1 + 2 sum K),
``subtract`` (the cross removed from the image by inverting the kernel).  A control row
simulates the same fields without the cruciform (``none``).  Reported: median flux
ratio and its IQR for S/N > 100 and for all matched sources, median astrometric error.

Run:  python benchmarks/imager_cruciform.py [--seeds 1 2 3]
"""
import argparse
import tempfile

import numpy as np

from miri_testbed.simulator import Effects, ImagerEffects, Observation
from miri_testbed.validation.scenarios import RandomStars, Scenario

from imager_common import median_iqr, publish, run

FILTERS = ("F560W", "F770W")
SCENES = {"isolated": RandomStars(8, 1.0, 10.0, margin_pix=30, min_separation_pix=45.0),
          "crowded": RandomStars(25, 0.05, 20.0, margin_pix=20)}


def scenarios(cruciform=True):
    effects = Effects(imager=ImagerEffects(cruciform=cruciform))
    return [Scenario(f"{f.lower()}_{scene}", Observation(filter=f, subarray="SUB256", ngroups=20),
                     background_mjy_sr=3.0, random_stars=stars, effects=effects)
            for f in FILTERS for scene, stars in SCENES.items()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/results/")
    args = parser.parse_args()
    tables = {}
    with tempfile.TemporaryDirectory() as tmp:
        tables["no cruciform in the sky, none"] = run(scenarios(False), args.seeds, tmp, {"cruciform": "none"})
        for variant in ("none", "apcorr", "subtract"):
            tables[f"cruciform, {variant}"] = run(scenarios(True), args.seeds, tmp, {"cruciform": variant})
    lines = [__doc__.split("\n\n")[0], f"seeds {args.seeds}", "",
             f"{'scene':16s} {'simulation, correction':32s} {'bias S/N>100':>12s} {'IQR':>7s} {'n':>4s} "
             f"{'bias all':>9s} {'IQR':>7s} {'n':>4s} {'astro mas':>9s}"]
    for f in FILTERS:
        for scene in SCENES:
            name = f"{f.lower()}_{scene}"
            for label, table in tables.items():
                t = table[table.scenario == name]
                flux = t[t.metric == "flux_ratio"]
                b, biqr, bn = median_iqr(flux.loc[flux.snr > 100, "value"])
                a, aiqr, an = median_iqr(flux["value"])
                astro = t.loc[(t.metric == "astrometric_error") & (t.snr > 100), "value"]
                lines.append(f"{name:16s} {label:32s} {b - 1:+12.4f} {biqr:7.4f} {bn:4d} {a - 1:+9.4f} {aiqr:7.4f} "
                             f"{an:4d} {np.median(astro) if len(astro) else np.nan:9.2f}")
            lines.append("")
    publish("imager_cruciform", lines)


if __name__ == "__main__":
    main()
