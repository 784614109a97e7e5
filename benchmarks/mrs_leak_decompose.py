"""LEAK-1 on the mrs_leak suite's ``point_3a``, decomposed: which stage and which reference leave the leak.

The suite's pair (band 1B then band 3A of a 10^4 K point source, 500 mJy at 12.2 um, every default effect on
and the leak on, 5 MJy/sr of sky, 50 groups) simulated once per seed with measured references and once with
perfect ones (the reference draws have their own random stream: the two uncal files are identical, so a swap
changes the references only), then calibrated as ``run`` does (1B, then 3A with ``spectral_leak=cube``
``--leak-from`` 1B's cube and x1d) with, one at a time:

* ``mrs_pixel_replace`` = ``none`` on 1B, on 3A, on both (the replacement's share);
* one kind of measured reference replaced by the perfect one (the 3A MRSPTCORR, 1B's or 3A's PHOTOM, the
  geometry, the detector files ...), or all of them (the references' share);
* the same pair noise-free (``Effects.noise_free()`` and the leak, perfect references: the algorithm's
  floor), and noise-free with the bad pixels on (the replacement's own error on a noise-free scene).

Printed per case: ``mrs_leak_residual`` (LEAK-1's value, ``|a| max g``) with its 1-sigma noise and the signed
``a max g`` (negative: the leak over-subtracted), so that the cases' differences add up.  The suite's value is
the first row of each seed (``run --suite mrs_leak`` gives the same number).

    python benchmarks/mrs_leak_decompose.py [--seeds 1 2] [--record]
"""
import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.simulator import Effects, MrsObservation, ReferenceOptions, Scene, SpectralSource, simulate  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation import mrs_leak_score, mrs_score  # noqa: E402

from imager_common import publish  # noqa: E402

SOURCE = {"continuum": {"kind": "blackbody", "temperature_k": 10000.0, "flux_mjy": 500.0, "ref_um": 12.2}}
OBSERVATIONS = {"1b": MrsObservation(detector="MIRIFUSHORT", band="MEDIUM", ngroups=50),
                "3a": MrsObservation(detector="MIRIFULONG", band="SHORT", ngroups=50)}
SKY_MJY_SR = 5.0
#: Reference files by kind (a substring of the file's name in a simulated refs folder).
KINDS = {"MRSPTCORR": ("mrsptcorr",), "PHOTOM": ("photom",), "DISTORTION": ("distortion",),
         "SPECWCS": ("specwcs",), "APCORR": ("apcorr",),
         "detector": ("dark", "gain", "linearity", "mask", "readnoise", "saturation", "emicorr")}
#: (label, simulation, mrs_pixel_replace of 1B and of 3A, {band: reference kinds taken perfect}).
CASES = (("suite (measured refs, replacement on both)", "measured", "profile", "profile", {}),
         ("replacement none on both", "measured", "none", "none", {}),
         ("replacement none on 1B", "measured", "none", "profile", {}),
         ("replacement none on 3A", "measured", "profile", "none", {}),
         ("perfect MRSPTCORR", "measured", "profile", "profile", {"3a": ("MRSPTCORR",)}),
         ("perfect 1B PHOTOM", "measured", "profile", "profile", {"1b": ("PHOTOM",)}),
         ("perfect 3A PHOTOM", "measured", "profile", "profile", {"3a": ("PHOTOM",)}),
         ("perfect MRSPTCORR + both PHOTOMs", "measured", "profile", "profile",
          {"1b": ("PHOTOM",), "3a": ("MRSPTCORR", "PHOTOM")}),
         ("perfect geometry (DISTORTION, SPECWCS) both", "measured", "profile", "profile",
          {"1b": ("DISTORTION", "SPECWCS"), "3a": ("DISTORTION", "SPECWCS")}),
         ("perfect APCORR both", "measured", "profile", "profile", {"1b": ("APCORR",), "3a": ("APCORR",)}),
         ("perfect detector files both", "measured", "profile", "profile",
          {"1b": ("detector",), "3a": ("detector",)}),
         ("every reference perfect", "measured", "profile", "profile", {"1b": tuple(KINDS), "3a": tuple(KINDS)}),
         ("noise-free, perfect refs", "noise-free", "profile", "profile", {}),
         ("noise-free + bad pixels, perfect refs", "noise-free bad pixels", "profile", "profile", {}),
         ("noise-free + bad pixels, replacement none", "noise-free bad pixels", "none", "none", {}))


def effects_of(simulation):
    """The simulation's effects, the leak on."""
    base = Effects() if simulation == "measured" else Effects.noise_free()
    if simulation == "noise-free bad pixels":
        base = replace(base, detector=replace(base.detector, bad_pixels=True))
    return replace(base, mrs=replace(base.mrs, spectral_leak=True))


def simulate_pair(folder, simulation, references, seed):
    """``{band: simulate()'s dict}`` of the pair."""
    scene = Scene((SpectralSource(SOURCE),), background_mjy_sr=SKY_MJY_SR)
    return {key: simulate(scene, obs, folder / key, name=f"point_{key}", seed=seed, effects=effects_of(simulation),
                          references=ReferenceOptions(kind=references))
            for key, obs in OBSERVATIONS.items()}


def mixed_refs(folder, measured, perfect, kinds):
    """A refs folder of links: the measured files, those of ``kinds`` the perfect ones."""
    if not kinds:
        return measured
    folder.mkdir(parents=True)
    for path in Path(measured).iterdir():
        swap = any(p in path.name for kind in kinds for p in KINDS[kind])
        (folder / path.name).symlink_to((Path(perfect) if swap else Path(measured)) / path.name)
    return folder


def leak_left(truth, x1d):
    """``(mrs_leak_residual, its error, signed a max g)`` of the 3A x1d."""
    rows = {r["metric"]: r["value"] for r in mrs_score.score_x1d(truth, x1d)}
    spectrum = mrs_score.read_spectra(x1d)["3A"]
    continuum, leak, curve = mrs_leak_score.truth_leak(read_truth(truth).config, 0, spectrum.wavelength)
    _, a, _ = mrs_leak_score.leak_residual(spectrum.wavelength, np.where(spectrum.usable, spectrum.flux * 1e3, np.nan),
                                           continuum, leak, curve.centre_um, curve.sigma_um)
    return rows["mrs_leak_residual"], rows["mrs_leak_residual_error"], a * np.max(leak / continuum)


def run_seed(folder, seed):
    """The table's lines of one seed."""
    sims = {("measured", "measured"): None, ("measured", "perfect"): None,
            ("noise-free", "perfect"): None, ("noise-free bad pixels", "perfect"): None}
    for simulation, references in sims:
        sims[simulation, references] = simulate_pair(folder / f"{simulation}_{references}".replace(" ", "_"),
                                                     simulation, references, seed)
    lines = []
    for n, (label, simulation, replace_1b, replace_3a, perfect) in enumerate(CASES):
        start = time.process_time()
        references = "measured" if simulation == "measured" else "perfect"
        pair, ideal = sims[simulation, references], sims.get((simulation, "perfect"))
        refs = {key: mixed_refs(folder / f"refs{n}_{key}", pair[key]["refs"], ideal and ideal[key]["refs"],
                                perfect.get(key, ())) for key in OBSERVATIONS}
        b1 = calibrate(pair["1b"]["uncal"], folder / f"cal{n}", refs["1b"], {"mrs_pixel_replace": replace_1b})
        a3 = calibrate(pair["3a"]["uncal"], folder / f"cal{n}", refs["3a"],
                       {"mrs_pixel_replace": replace_3a, "spectral_leak": "cube"},
                       leak_from=[b1["s3d"][0], b1["x1d"]], leak_refs=refs["1b"])
        value, error, signed = leak_left(pair["3a"]["truth"], a3["x1d"])
        lines.append(f"{seed:4d}  {label:46s} {value:10.3e} {error:9.2e} {signed:+11.3e}  "
                     f"{time.process_time() - start:6.0f}")
        print(lines[-1], flush=True)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_leak_decompose.txt")
    args = parser.parse_args()
    out = ["seed  case                                           leak_resid   +/- 1sd  signed a*g  cpu s"]
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as folder:
            out += run_seed(Path(folder), seed)
    publish("mrs_leak_decompose", out)


if __name__ == "__main__":
    main()
