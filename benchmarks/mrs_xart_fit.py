"""The MRSXARTCORR measured on a simulated calibration exposure: the fitted kernels' error against the truth.

Per band pair (both detectors, the three settings), the cross-artifact calibration exposure of
simulator.mrs_xartcal (a 1 Jy flat point source at the detector's first channel's reference point, 60 integrations
as long as fill the brightest pixel to 0.6 of the well, its sky subtracted with a background exposure of the
same length; every 8th row) simulated through a drawn
true geometry with the default true kernels, and each band's free kernel parameters fitted
(simulator.mrs_xartcal.fit).  Over `--seeds` noise draws (each its own geometry): the mean and rms relative
error of each parameter against the truth, the fit's mean stated 1-sigma, the rms pull (error / stated sigma),
and the noise-free fit's largest relative error (the form is the truth's: only the fixed point's truncation
and the solver's tolerance); and the same of each kernel's integral over the row (the light the step removes
scales with it).  Channel 4 has no artifact: its amplitude's error is given relative to channel 3's.
Then a three-position raster along alpha (-0.2, 0, +0.2 arcsec, each the full exposure) on the SHORT pairs, to
show what more positions buy.  Times: `time.process_time` of the render (PSFs cached) and of the fit.

    python benchmarks/mrs_xart_fit.py [--seeds N] [--record]   (~5 min, 2 busy cores)
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.instrument import mrs  # noqa: E402
from miri_testbed.simulator import MrsEffects, MrsObservation  # noqa: E402
from miri_testbed.simulator import cross_artifact as xa  # noqa: E402
from miri_testbed.simulator import mrs as smrs  # noqa: E402
from miri_testbed.simulator import mrs_xartcal as xc  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

EFFECTS = MrsEffects(cross_artifact=True)
RASTER = (-0.2, 0.0, 0.2)


def measure(observation, seed, noisy, offsets=(0.0,)):
    """``({band: Kernel}, {band: {parameter: sigma}}, render s, fit s)`` of one calibration exposure."""
    rng = np.random.default_rng(seed)
    perturbations = {name: smrs.draw_perturbation(name, EFFECTS, rng) for name in observation.bands}
    smrs.xart_exposure(observation, perturbations, EFFECTS, None, offsets)  # PSFs cached: the render's time alone
    t0 = time.process_time()
    electrons, variance = smrs.xart_exposure(observation, perturbations, EFFECTS, rng if noisy else None, offsets)
    t1 = time.process_time()
    gaps = np.tile(xc.gap_pixels(observation.bands, xc.rows()), (len(offsets), 1))
    kernels, errors, _ = xc.fit(electrons, variance, gaps, observation.bands)
    return kernels, errors, t1 - t0, time.process_time() - t1


def relative(name, key, value):
    """``value`` relative to the truth's parameter (to channel 3's amplitude for channel 4's zero amplitude)."""
    true = getattr(xa.band_kernel(name, EFFECTS), key)
    if true:
        return value / true
    return value / xa.band_kernel(f"3{name[1]}", EFFECTS).lor_scale


def integral(kernel):
    """The kernel's integral over the row (+-1032 px): the share of a pixel's light it scatters."""
    return float(kernel.profile(np.arange(-1032, 1033)).sum())


def table(out, observation, seeds, offsets=(0.0,)):
    """One band pair's rows (module docstring)."""
    runs = [measure(observation, seed, True, offsets) for seed in range(1, seeds + 1)]
    exact = measure(observation, 0, False, offsets)
    for name in observation.bands:
        true = xa.band_kernel(name, EFFECTS)
        for key in runs[0][1][name]:
            errors = np.array([relative(name, key, getattr(k[name], key) - getattr(true, key)) for k, *_ in runs])
            sigmas = np.array([relative(name, key, e[name][key]) for _, e, *_ in runs])
            pulls = errors / sigmas
            noise_free = relative(name, key, getattr(exact[0][name], key) - getattr(true, key))
            rms, rms_pull = np.sqrt(np.mean(errors ** 2)), np.sqrt(np.mean(pulls ** 2))
            out(f"   {observation.detector:11s} {name}  {key:10s}  {np.mean(errors):+9.4f}  {rms:8.4f}"
                f"  {np.mean(sigmas):12.4f}  {rms_pull:8.2f}  {noise_free:+14.1e}")
        total = integral(true)
        if total:  # the light the step removes scales with the kernel's integral
            errors = np.array([integral(k[name]) / total - 1 for k, *_ in runs])
            exact_error = integral(exact[0][name]) / total - 1
            out(f"   {observation.detector:11s} {name}  {'integral':10s}  {np.mean(errors):+9.4f}"
                f"  {np.sqrt(np.mean(errors ** 2)):8.4f}  {'':12s}  {'':8s}  {exact_error:+14.1e}")
    render = np.median([r[2] for r in runs])
    fit = np.median([r[3] for r in runs])
    out(f"   {observation.detector:11s} {'/'.join(observation.bands)}: render {render:.2f} s, fit {fit:.2f} s CPU "
        f"(medians over {seeds})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="noise draws per band pair")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_xart_fit.txt")
    args = parser.parse_args(argv)
    out, lines = transcript()
    out(f"MRSXARTCORR fitted on a simulated calibration exposure (simulator.mrs_xartcal): {xc.SOURCE_MJY:g} mJy, "
        f"{xc.INTEGRATIONS} integrations filling the brightest pixel to {xc.WELL_FILL:g} of the well, background "
        f"subtracted, every {xc.ROW_STEP}th row; {args.seeds} noise draws per band pair")
    header = ("   detector    band parameter    mean err  rms err  stated sigma  rms pull  noise-free err"
              "   (relative to the truth)")
    out("One position (the reference's exposure):")
    out(header)
    for detector in ("MIRIFUSHORT", "MIRIFULONG"):
        for setting in mrs.SETTINGS:
            table(out, MrsObservation(detector=detector, band=setting), args.seeds)
    out(f"A raster of {len(RASTER)} positions along alpha {RASTER} arcsec, each the full exposure:")
    out(header)
    for detector in ("MIRIFUSHORT", "MIRIFULONG"):
        table(out, MrsObservation(detector=detector, band="SHORT"), args.seeds, RASTER)
    print(write_result("mrs_xart_fit", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
