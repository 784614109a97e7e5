"""XART-1 (the share of the MRS cross-artifact removed) on an ordinary scene: what the noise and the reference cost.

The `mrs_effects` suite's scenario (default: mrs_short_lines, a 20 mJy point source with lines on MIRIFUSHORT SHORT,
the cross-artifact and fringes on) simulated four ways, each calibrated with `straylight=model` and scored by
validation/xart_score.py: noisy or noise-free (`Effects.noise_free()`, the MRS effects kept), with the measured
MRSXARTCORR (3 % drawn errors per parameter) or the true one.  The step's model is the kernels applied to the rate,
so the rate's noise goes into it; `mrs_xart_removed = 1 - sum |R - T| / sum |T|` counts that noise where the artifact
is faint, while `mrs_xart_net = sum R / sum T` does not.  `mrs_xart_noise_floor` is what a perfect model (the true
kernels) reaches on this noise alone, and `mrs_xart_over_target` what XART-1 judges (<= 1 passes; the scorer's
docstring).  Seed 1.

    python benchmarks/mrs_xart_noise.py [--scenario NAME] [--workdir DIR] [--record]   (~4 min, 2 busy cores)
"""
import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.simulator import Effects, simulate  # noqa: E402
from miri_testbed.validation import xart_score  # noqa: E402
from miri_testbed.validation.scenarios import load_suite  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    scenarios = {s.name: s for s in load_suite("mrs_effects").scenarios}
    parser.add_argument("--scenario", default="mrs_short_lines", choices=sorted(scenarios),
                        help="a scenario of the mrs_effects suite")
    parser.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_xart_noise.txt")
    args = parser.parse_args(argv)
    scenario = scenarios[args.scenario]
    out, lines = transcript()
    out(f"XART-1 on mrs_effects/{scenario.name}, seed 1, straylight=model (module docstring)")
    out("   noise       MRSXARTCORR  mrs_xart_removed  mrs_xart_net  mrs_xart_noise_floor  mrs_xart_over_target")
    with tempfile.TemporaryDirectory() as tmp:
        for noise in ("noisy", "noise-free"):
            effects = scenario.effects if noise == "noisy" else replace(Effects.noise_free(), mrs=scenario.effects.mrs)
            for kind in ("measured", "perfect"):
                folder = Path(args.workdir or tmp) / f"{noise}_{kind}"
                sim = simulate(scenario.scene(1), scenario.observation, folder, name=scenario.name, seed=1,
                               effects=effects, references=replace(scenario.references, kind=kind))
                paths = calibrate(sim["uncal"], folder / "out", refs_folder=sim["refs"],
                                  algorithms={"straylight": "model"})
                scored = xart_score.score_xart(sim["truth"], paths["xart"], paths["rate"])
                rows = {r["metric"]: r["value"] for r in scored}
                out(f"   {noise:10s}  {kind:11s}  {rows['mrs_xart_removed']:16.4f}  {rows['mrs_xart_net']:12.4f}  "
                    f"{rows['mrs_xart_noise_floor']:20.4f}  {rows['mrs_xart_over_target']:20.3f}")
    print(write_result("mrs_xart_noise", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
