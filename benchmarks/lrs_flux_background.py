"""Where an LRS spectrum's light goes in the background subtraction (docs/lrs.md, "Flux calibration").

Noise-free exposures of the lrs suite's source (slitless, or the slit at nod A), with and
without its lines, on no sky and on 5 MJy/sr, perfect references: lrs_flux_ratio_median and
the 0.5-um bins over 6-11 um for spec_background none (no sky only) and auto, box and optimal.

    python benchmarks/lrs_flux_background.py lrs_slitless [OUT_DIR]
"""
import sys
from dataclasses import replace
from pathlib import Path

from miri_testbed.calibration.pipeline import calibrate_exposure
from miri_testbed.simulator import Effects, ReferenceOptions, simulate
from miri_testbed.simulator.config import LrsEffects, LrsObservation, Scene, SpectralSource
from miri_testbed.validation import lrs_flux

mode = sys.argv[1] if len(sys.argv) > 1 else "lrs_slitless"
CONT = {"kind": "blackbody", "temperature_k": 600.0, "flux_mjy": 10.0 if mode == "lrs_slitless" else 4.0, "ref_um": 7.5}
F = 1e-15 if mode == "lrs_slitless" else 2e-16
LINES = [{"kind": "emission", "centre_um": c, "flux_w_m2": F, "fwhm_um": 0.0} for c in (5.8, 6.9, 8.2, 9.7, 11.3)]
EFFECTS = replace(Effects.noise_free(), lrs=LrsEffects(trace_perturbation=True, acquisition_error=False,
                                                       trace_wavelength_nm=3.0, trace_x_pix=0.05))
base = Path(sys.argv[2] if len(sys.argv) > 2 else "lrs_flux_background") / mode
nod = "A" if mode == "lrs_slit" else None
for lines in (False, True):
    for bkg in (0.0, 5.0):
        folder = base / f"l{int(lines)}_b{bkg:g}"
        spec = {"continuum": CONT, "lines": LINES if lines else []}
        kw = dict(mode=mode, ngroups=3) | ({"nod": nod} if nod else {})
        if not (folder / "e_uncal.fits").exists():
            simulate(Scene((SpectralSource(spec),), background_mjy_sr=bkg), LrsObservation(**kw), folder,
                     name="e", seed=4, effects=EFFECTS, references=ReferenceOptions(kind="perfect"))
        uncal, refs, truth = folder / "e_uncal.fits", folder / "refs", folder / "e_truth.fits"
        for sb in (("none", "auto") if bkg == 0 else ("auto",)):
            for ex in ("box", "optimal"):
                x1d = calibrate_exposure(uncal, refs, {"spec_background": sb, "extract_1d": ex})["x1d"]
                p = x1d.save(str(folder / f"x_{sb}_{ex}.fits"))
                rows = lrs_flux.score_flux(truth, p)
                med = [r["value"] for r in rows if r["metric"] == "lrs_flux_ratio_median"]
                bins = {r["bin"]: r["value"] for r in rows if r["metric"] == "lrs_flux_ratio"}
                print(f"{mode} lines={lines} sky={bkg} bg={sb:5s} {ex:8s} median={med[0]:.4f} "
                      + " ".join(f"{b:.2f}:{v:.4f}" for b, v in sorted(bins.items()) if 6 <= b <= 11), flush=True)
