"""Source flux bias and rate noise after each EMI correction, against the EMI-free twin.

The cases of ``emi_accuracy.py`` (390 Hz in SUB128, SUB64, SLITLESSPRISM; 10 Hz in FULL,
whose frame is a whole number of 390 Hz periods), by ngroups and seed: one exposure of
point sources on a 5 MJy/sr background (F770W) is simulated twice with the same seed, with
EMI and without it.  The EMI has its own random stream, so the two share every other
random number (sources, pointing, detector, photon and read noise, references): the
EMI-free twin calibrated without EMI correction is exactly what a perfect correction
would give.  As in ``emi_accuracy.py`` the case's line has 4 DN rms (the other line 0 DN,
but listed in the reference, so each correction also fits it), 3 harmonics (the instrument's
shape at a random phase, jittered); its frequency offset is drawn in +/-1e-4 relative (the simulator's
own draw), and the EMICORR reference is the simulator's ``measured`` one (the instrument's
shape at each harmonic's mean power, in DN; each exposure departs from it by its jitter since
2026-12-04; unit sines before 2026-12-03).  Cosmic rays and showers are off.
Each exposure goes through the whole pipeline (``calibrate_exposure``: detector steps,
ramp fit, photom, cruciform, background, aperture catalog), with ``emi=<variant>``.

Source fluxes are log-uniform between the fluxes of aperture S/N 10 and 100 (predicted
from the read noise and background of the case), so that read noise, which the EMI
competes with, dominates the faint end.  Reported per variant:

* (a) ``dF/sig``: flux (EMI on, corrected) minus flux (twin, not corrected), in units of
  the twin's flux error, for the sources found in both catalogs (matched within 1 pixel):
  mean +- standard error over sources and seeds ("unbiased within errors": |mean| < 2 SE),
  and the rms (the scatter the EMI adds to the flux, in sigma).  Sources at different
  positions are read at different EMI phases, so they are treated as independent.
* (b) ``noise``: ``validation.emi_score.rate_noise_vs_truth``: rms(rate - rate_twin) /
  median(err) over the usable light-sensitive pixels, mean over seeds.
* (c) with EMI off (the twin itself), the rate change each correction makes,
  (rate_variant - rate_none) / err per usable pixel: the largest |change| over pixels and
  seeds and the rms (must be < 0.1 sigma), over the pixels whose jump flags stay as they
  were; ``flips`` counts the pixels where the corrected ramp crossed the jump detector's
  threshold the other way (a discontinuous change of the rate, several sigma, that any
  change of the data near the threshold makes) or whose rate became NaN.

    python benchmarks/emi_flux.py [--seeds 1 2 3] [--quick] [--no-peers] [--record]

``--quick``: SUB64 and FULL, ngroups 3 and 10, one seed.  ``--record`` writes the table to
``benchmarks/results/<date>_emi_flux.txt`` (first line: command, versions, commit).
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from miri_testbed.calibration import registry  # noqa: E402
from miri_testbed.calibration.pipeline import calibrate_exposure  # noqa: E402
from miri_testbed.instrument import detector as det  # noqa: E402
from miri_testbed.instrument import dq  # noqa: E402
from miri_testbed.simulator import DetectorEffects, Effects, Observation, Scene, simulate, throughput  # noqa: E402
from miri_testbed.simulator.sky import random_star_field  # noqa: E402
from miri_testbed.validation import emi_score  # noqa: E402

from emi_accuracy import CASES, quiet_peers  # noqa: E402
from imager_common import provenance, write_result  # noqa: E402

NGROUPS = (3, 5, 10)
BACKGROUND_MJY_SR = 5.0
STARS = {"SUB64": 4, "SUB128": 10, "SLITLESSPRISM": 16, "FULL": 40}  # fit the light-sensitive area
APERTURE_PIX = 5.5  # photometric radius the pipeline picks at F770W (APCORR row of EE 0.86)
ENCIRCLED = 0.86
SNR_RANGE = (10.0, 100.0)
MATCH_PIX = 1.0
EMI_RMS_DN = 4.0
ALGORITHMS = {"alignment": "none"}  # alignment moves no flux; the rest are the defaults


def flux_for_snr(obs, snr):
    """Flux (mJy) whose aperture S/N is ``snr``: OLS rate variance of a pixel from read
    noise and background shot noise, summed over the aperture, plus the source's shot noise."""
    n, tg = obs.ngroups, obs.group_time
    sky = throughput.surface_brightness_to_mjy_per_pixel(BACKGROUND_MJY_SR)
    e_per_mjy = throughput.electrons_per_second_per_mjy(obs.filter)
    rn_e = det.READ_NOISE_DN * det.GAIN_E_PER_DN
    t_ramp = (n - 1) * tg
    var_pix = 12 * rn_e**2 / (tg**2 * n * (n**2 - 1)) + 1.2 * sky * e_per_mjy / t_ramp
    var_ap = np.pi * APERTURE_PIX**2 * var_pix
    # s = ENC e F / sqrt(var_ap + 1.2 ENC e F / T): a quadratic in x = ENC e F
    a, b = 1.0, -(snr**2) * 1.2 / t_ramp
    x = (-b + np.sqrt(b**2 + 4 * a * snr**2 * var_ap)) / 2
    return x / (ENCIRCLED * e_per_mjy)


def scene_for(obs, seed):
    rng = np.random.default_rng([seed, 20261124])
    lo, hi = (flux_for_snr(obs, s) for s in SNR_RANGE)
    return Scene(sources=random_star_field(obs, STARS[obs.subarray], lo, hi, rng, margin_pix=12,
                                           min_separation_pix=14), background_mjy_sr=BACKGROUND_MJY_SR)


def effects_for(line_name, emi=True):
    """The case's line at EMI_RMS_DN, the other at 0 DN (as in ``emi_accuracy.py``)."""
    return Effects(detector=DetectorEffects(cosmic_rays=False, showers=False, emi=emi, emi_harmonics=3, emi_drift=1e-4,
                                            emi_rms_390_dn=EMI_RMS_DN if line_name == "Hz390" else 0.0,
                                            emi_rms_10_dn=EMI_RMS_DN if line_name == "Hz10" else 0.0))


def usable_pixels(rate):
    flags = np.asarray(rate.dq)
    return ((flags & (dq.DO_NOT_USE | dq.REFERENCE_PIXEL)) == 0) & np.isfinite(rate.data) & (rate.err > 0)


def match(cat, ref):
    """Index into ``cat`` of the source within MATCH_PIX of each row of ``ref`` (-1: none)."""
    if len(cat) == 0 or len(ref) == 0:
        return np.full(len(ref), -1)
    x, y = np.asarray(cat["xcentroid"].value), np.asarray(cat["ycentroid"].value)
    out = []
    for xr, yr in zip(np.asarray(ref["xcentroid"].value), np.asarray(ref["ycentroid"].value), strict=True):
        d = np.hypot(x - xr, y - yr)
        out.append(int(np.argmin(d)) if d.min() < MATCH_PIX else -1)
    return np.array(out)


def jumps(products):
    """Pixels with a jump flagged in any group."""
    return ((products["ramp"].groupdq & dq.JUMP_DET) != 0).any(axis=(0, 1))


def run_cell(subarray, line_name, ngroups, seed, variants, workdir):
    """Per variant: flux pulls of matched sources, rate noise vs the twin, EMI-off changes."""
    obs = Observation(subarray=subarray, ngroups=ngroups)
    scene = scene_for(obs, seed)
    on = simulate(scene, obs, Path(workdir) / "on", name="x", seed=seed, effects=effects_for(line_name))
    off = simulate(scene, obs, Path(workdir) / "off", name="x", seed=seed, effects=effects_for(line_name, False))
    twin = calibrate_exposure(off["uncal"], off["refs"], {**ALGORITHMS, "emi": "none"}, save_ramp=True)
    ok = usable_pixels(twin["rate"])
    ref_cat, twin_rate, twin_err = twin["cat"], twin["rate"].data, twin["rate"].err
    ref_flux = np.asarray(ref_cat["flux"].value) if len(ref_cat) else np.empty(0)
    ref_err = np.asarray(ref_cat["flux_err"].value) if len(ref_cat) else np.empty(0)
    rows = {}
    for v in variants:
        prod = calibrate_exposure(on["uncal"], on["refs"], {**ALGORITHMS, "emi": v})
        idx = match(prod["cat"], ref_cat)
        hit = idx >= 0
        flux = np.asarray(prod["cat"]["flux"].value)[idx[hit]] if hit.any() else np.empty(0)
        row = {"pull": (flux - ref_flux[hit]) / ref_err[hit], "nref": len(ref_cat),
               "noise": emi_score.rate_noise_vs_truth(prod["rate"].data, twin_rate, twin_err, ok)}
        if v == "none":
            row["change"], row["flips"] = np.zeros(int(ok.sum())), 0
        else:  # EMI off: the change, left out where the jump decision flipped or the rate was lost (counted)
            still = calibrate_exposure(off["uncal"], off["refs"], {**ALGORITHMS, "emi": v}, save_ramp=True)
            flipped = ok & ((jumps(still) != jumps(twin)) | ~np.isfinite(still["rate"].data))
            row["change"] = ((still["rate"].data - twin_rate) / twin_err)[ok & ~flipped]
            row["flips"] = int(flipped.sum())
        rows[v] = row
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--quick", action="store_true", help="SUB64 and FULL, ngroups 3 and 10, first seed only")
    parser.add_argument("--no-peers", action="store_true", help="leave out jwst_sequential and jwst_joint")
    parser.add_argument("--record", action="store_true", help="write the table to benchmarks/results/")
    args = parser.parse_args(argv)
    quiet_peers()
    variants = ["none", "fold", "joint"]
    if not args.no_peers:
        variants += [v for v in ("jwst_sequential", "jwst_joint") if v in registry.ALGORITHMS["emi"]]
    cases, seeds, ngroups_list = CASES, args.seeds, NGROUPS
    if args.quick:
        cases, ngroups_list, seeds = [c for c in CASES if c[0] in ("SUB64", "FULL")], (3, 10), args.seeds[:1]
    lines = [provenance(),
             f"# F770W, {BACKGROUND_MJY_SR} MJy/sr, sources at aperture S/N {SNR_RANGE[0]:g}-{SNR_RANGE[1]:g}; "
             f"EMI: one line at {EMI_RMS_DN:g} DN rms (the other at 0 DN), 3 harmonics, |offset| <= 1e-4; "
             f"seeds {seeds}",
             "# dF/sig: (flux - flux_twin) / flux_err_twin over matched sources, mean +- s.e. and rms; "
             "noise: rms(rate - rate_twin) / median(err);",
             "# EMI off: (rate_variant - rate_none) / err per usable pixel, max |.| and rms (target < 0.1), "
             "over the pixels whose jump flags the correction left as they were; flips: pixels where it changed them "
             "(or lost the rate)",
             f"{'subarray':14s} {'line':5s} {'ngr':>3s} {'variant':16s} {'matched':>8s} {'dF/sig mean +- se':>20s} "
             f"{'rms':>7s} {'noise':>7s} {'off: max':>9s} {'rms':>7s} {'flips':>5s}"]
    print("\n".join(lines), flush=True)
    t0 = time.perf_counter()
    for subarray, line_name in cases:
        for ngroups in ngroups_list:
            cells = []
            for seed in seeds:
                with tempfile.TemporaryDirectory() as tmp:
                    cells.append(run_cell(subarray, line_name, ngroups, seed, variants, tmp))
            for v in variants:
                pull = np.concatenate([c[v]["pull"] for c in cells])
                change = np.concatenate([c[v]["change"] for c in cells])
                nref = sum(c[v]["nref"] for c in cells)
                flips = sum(c[v]["flips"] for c in cells)
                noise = np.mean([c[v]["noise"] for c in cells])
                if pull.size > 1:
                    stat = f"{pull.mean():+8.3f} +- {pull.std(ddof=1) / np.sqrt(pull.size):6.3f}"
                    rms = f"{np.sqrt(np.mean(pull**2)):7.3f}"
                else:
                    stat, rms = f"{'n/a':>20s}", f"{'n/a':>7s}"
                off = (f"{np.abs(change).max():9.4f} {np.sqrt(np.mean(change**2)):7.4f} {flips:5d}" if v != "none"
                       else f"{'-':>9s} {'-':>7s} {'-':>5s}")
                row = (f"{subarray:14s} {line_name:5s} {ngroups:3d} {v:16s} {f'{pull.size}/{nref}':>8s} "
                       f"{stat:>20s} {rms} {noise:7.3f} {off}")
                lines.append(row)
                print(row, flush=True)
    lines.append(f"# {time.perf_counter() - t0:.0f} s wall")
    print(lines[-1])
    print(write_result("emi_flux", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
