"""Photometry per background variant, with a dedicated background exposure simulated.

Fields: SUB256, every effect on plus the zodiacal + thermal background placeholders
(``background_model``) and a dedicated background exposure (``background_exposure``:
the offset field right after the science, same detector, its own noise), measured
references.  F770W (zodiacal, ~20 MJy/sr with the placeholders): 10 stars of 0.1-2 mJy;
F2100W (thermal-dominated): 10 stars of 1-10 mJy; stars at least 30 px apart.

Calibration variants of the ``background`` step: ``local`` (the catalog's sky annulus
only), ``map`` (Background2D with source masking, then the annulus), ``dedicated`` (the
background exposure calibrated like the science and subtracted pixel by pixel, its
variance added, then the annulus).  Reported: median flux ratio - 1 and its IQR for
S/N > 100 and for all matched sources.  On a flat sky the annulus already removes the
level, so ``dedicated`` is expected to be as unbiased as ``local`` and noisier (the
background exposure's own noise is added): what it buys is robustness to sky structure
an annulus cannot see, not precision.

Run:  python benchmarks/imager_background.py [--seeds 1 2 3] [--record]
"""
import argparse
import tempfile

from miri_testbed.simulator import Effects, Observation, OpticsEffects
from miri_testbed.validation.scenarios import RandomStars, Scenario

from imager_common import median_iqr, publish, run

FIELDS = {"F770W": RandomStars(10, 0.1, 2.0, margin_pix=25, min_separation_pix=30.0),
          "F2100W": RandomStars(10, 1.0, 10.0, margin_pix=25, min_separation_pix=30.0)}
VARIANTS = ("local", "map", "dedicated")


def scenarios():
    effects = Effects(optics=OpticsEffects(background_model=True))
    return [Scenario(f"{f.lower()}_sub256",
                     Observation(filter=f, subarray="SUB256", ngroups=20, background_exposure=True),
                     random_stars=stars, effects=effects) for f, stars in FIELDS.items()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tables = {v: run(scenarios(), args.seeds, tmp, {"background": v}) for v in VARIANTS}
    lines = [__doc__.split("\n\n")[0], f"seeds {args.seeds}", "",
             f"{'field':14s} {'background':10s} {'bias S/N>100':>12s} {'IQR':>7s} {'n':>4s} "
             f"{'bias all':>9s} {'IQR':>7s} {'n':>4s}"]
    for f in FIELDS:
        name = f"{f.lower()}_sub256"
        for variant, table in tables.items():
            flux = table[(table.scenario == name) & (table.metric == "flux_ratio")]
            b, biqr, bn = median_iqr(flux.loc[flux.snr > 100, "value"])
            a, aiqr, an = median_iqr(flux["value"])
            lines.append(f"{name:14s} {variant:10s} {b - 1:+12.4f} {biqr:7.4f} {bn:4d} {a - 1:+9.4f} {aiqr:7.4f} "
                         f"{an:4d}")
        lines.append("")
    publish("imager_background", lines)


if __name__ == "__main__":
    main()
