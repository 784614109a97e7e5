"""The MRS cube centre on hard scenes: the fit against the first moment (issue 16, MRS-ASTRO-1; session 26).

The extraction's centre (:func:`calibration.mrs_extract.locate`: :mod:`calibration.mrs_centroid`'s fit, started from
the first moment and falling back to it) where the fit could do worse than the first moment: a faint source
(the `mrs_effects` scenarios' spectra scaled by 0.1 and 0.03: S/N per plane ~10x and ~30x lower), a source towards
the field's edge in alpha (along the slices, 1.5" and 2.2") and in beta (across, 2.6" in 3C/4C, 1.4" in 1A/2A),
and a second source along alpha beside the target (as bright at 2", 3x at 1.2", half at 3" in 3C/4C; those
separations over 2.5 in 1A/2A).  The scenarios' own effects without the MRS's fringes and cross-artifact, perfect
references, :data:`SEEDS` (not the seeds the windows were chosen on), each cube read from its s3d as
:mod:`validation.mrs_score` reads it, the peak searched about the truth.  Per scene and band: the error's length
(mas) of the first moment and of the centre, mean and max over the seeds, the fallbacks (and why, in the rows), the
cubes where the centre is more than 3 mas worse than the first moment, and those beyond MRS-ASTRO-1's 10 mas.  A
source outside a band's field (1A's is 3.3" long: 2.2" along is beyond it) has no light near the truth: the
brightest spaxel's centre is scored, as :mod:`validation.mrs_score` does, and the row says so.

    python benchmarks/mrs_centroid_hard.py [--scenario NAME] [--record]   (~11 min, 2 cores)
"""
import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mrs_centroid_phase import SCENARIOS, chosen_scenarios  # noqa: E402

from miri_testbed.calibration import CalibrationInputError, mrs_extract  # noqa: E402
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.simulator import ReferenceOptions, simulate  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation import mrs_score  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

SEEDS = (31, 32, 33, 34)
#: A centre this much further from the truth than the first moment counts as worse (mas).
WORSE_MAS = 3.0


def scaled(source, factor):
    """``source`` with its continuum and lines ``factor`` times as bright."""
    spectrum = dict(source.spectrum)
    spectrum["continuum"] = dict(spectrum["continuum"], flux_mjy=spectrum["continuum"]["flux_mjy"] * factor)
    spectrum["lines"] = [dict(line, flux_w_m2=line["flux_w_m2"] * factor) for line in spectrum.get("lines", [])]
    return replace(source, spectrum=spectrum)


def scenes(name, source):
    """``(label, sources)`` of every hard scene (module docstring); the target is the first source."""
    long = "ch34" in name
    yield "faint x0.1", (scaled(source, 0.1),)
    yield "faint x0.03", (scaled(source, 0.03),)
    yield "along 1.5\"", (replace(source, along_slit_arcsec=1.5),)
    yield "along 2.2\"", (replace(source, along_slit_arcsec=2.2),)
    across = 2.6 if long else 1.4
    yield f"across {across}\"", (replace(source, across_slit_arcsec=across),)
    for separation, factor in ((2.0, 1.0), (1.2, 3.0), (3.0, 0.5)):
        separation = separation if long else separation / 2.5
        other = replace(scaled(source, factor), along_slit_arcsec=source.along_slit_arcsec + separation)
        yield f"neighbour {separation:.2f}\" x{factor:g}", (source, other)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="only this scenario (default: both)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_centroid_hard.txt")
    args = parser.parse_args(argv)
    out, lines = transcript()
    perfect = ReferenceOptions(kind="perfect")
    out("error = |measured - true| (mas); first: the first moment; centre: the extraction's (the fit, or the first "
        "moment where it falls back: the reason)")
    out("scenario            scene                   band  seed   first  centre  fallback")
    rows = []
    for name, scenario, effects in chosen_scenarios(args.scenario):
        for label, sources in scenes(name, scenario.scene(1).sources[0]):
            for seed in SEEDS:
                with tempfile.TemporaryDirectory() as tmp:
                    sim = simulate(replace(scenario.scene(seed), sources=sources), scenario.observation,
                                   Path(tmp) / "sim", name=name, seed=seed, effects=effects, references=perfect)
                    paths = calibrate(sim["uncal"], Path(tmp) / "out", refs_folder=sim["refs"])
                    truth = read_truth(sim["truth"]).table("SOURCES")
                    for path in paths["s3d"]:
                        band, cube = mrs_score.read_cube(path)
                        row = [r for r in truth if str(r["band"]) == band and int(r["id"]) == 0][0]
                        true = np.array([float(row["alpha"]), float(row["beta"])])
                        try:
                            centre = mrs_extract.locate(cube, target=tuple(true))
                        except CalibrationInputError:  # no light near the truth: as the scorer, the brightest spaxel
                            centre = mrs_extract.locate(cube)
                            centre = centre._replace(reason=f"[no light near the truth] {centre.reason}".strip())
                        first = 1e3 * float(np.hypot(*(np.array(centre.first) - true)))
                        fitted = 1e3 * float(np.hypot(centre.alpha - true[0], centre.beta - true[1]))
                        rows.append(dict(name=name, label=label, band=band, first=first, centre=fitted,
                                         reason=centre.reason))
                        out(f"{name:18s}  {label:22s}  {band:4s}  {seed:4d}  {first:6.2f}  {fitted:6.2f}  "
                            f"{centre.reason or '-'}")
    out("")
    out(f"per scene and band over seeds {', '.join(map(str, SEEDS))}: the error's length mean / max (mas), fallbacks, "
        f"centre worse than the first moment by > {WORSE_MAS:g} mas, above 10 mas (the first moment's)")
    out("scenario            scene                   band   first mean / max   centre mean / max   fallbacks  "
        "worse  > 10 mas")
    for key in dict.fromkeys((r["name"], r["label"], r["band"]) for r in rows):
        rs = [r for r in rows if (r["name"], r["label"], r["band"]) == key]
        first, centre = np.array([r["first"] for r in rs]), np.array([r["centre"] for r in rs])
        out(f"{key[0]:18s}  {key[1]:22s}  {key[2]:4s}   {first.mean():6.2f} / {first.max():6.2f}    "
            f"{centre.mean():6.2f} / {centre.max():6.2f}    {sum(bool(r['reason']) for r in rs)} of {len(rs)}    "
            f"{int(np.sum(centre > first + WORSE_MAS))}    {int(np.sum(centre > 10))} ({int(np.sum(first > 10))})")
    print(write_result("mrs_centroid_hard", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
