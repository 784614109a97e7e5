"""The MRSPTCORR measured on simulated calibration exposures: the fitted leak curve against the truth and against what
the science needs, ``f (1 + e_3A) / (1 + e_1B)``.

Per seed, what ``simulate`` does for the suite ``mrs_leak``'s ``point_3a`` (MIRIFULONG SHORT, every default effect
and the leak on, measured references): the true geometry from the seed's optics stream, the band pair's measured
geometry and PHOTOM draws from its references stream, then ``simulator.mrs.measured_leak`` (simulator.mrs_leakcal:
1B and 3A exposures of a uniform 10^4 K source, calibrated with 3A's PHOTOM and the PHOTOM the 1B exposure of the
same seed writes, the Gaussian fitted over a smooth continuum).  Columns, at the curve's peak:

* ``main``: the amplitude main drew before (the truth's times ``1 + e``, ``e`` of 0.5 % rms from the same generator,
  after the PHOTOM and APCORR: the figures LEAK-1 had), over the truth's;
* ``fit``: the fitted peak over the truth's;
* ``need``: what the correction needs over the truth's: the truth's curve as 3A's pixels hold it (its LSF and
  pixel boxes: -1.7e-4) times ``(1 + e_3A(lambda_0)) / (1 + e_1B(lambda_0 / 2))`` (the PHOTOMs' errors, ``photom``)
  times the two TIMECOEFFs' errors against the truth's throughput at the science's epoch (``T / c``, 3A's over
  1B's, ``time``; the calibration is at simulator.mrs_leakcal.EPOCH_MJD, the science at the observation's);
* ``leak err``: the fitted curve against the needed one (``need`` at every wavelength over +/- 3 sigma), weighted by
  the leak's shape, ``sum (f_m - need) f / sum need f``: the share of the leak a correction with it leaves, as a
  fit of the leak's shape (LEAK-1's) reads it; its pull over the fit's stated sigma of the amplitude (``sigma``,
  relative); ``max |err|``: the largest ``|f_m - need|`` within +/- 2 sigma over the peak (the ratio's slope and
  curvature under the leak and the TIMECOEFF bins' steps, which a Gaussian does not follow); ``at cal``: ``leak err``
  against the need at the calibration's own epoch (the fit's error without the epochs' difference);
* the centre's and sigma's error against the pixels' curve; chi^2/dof; CPU (``time.process_time``) of
  ``measured_leak`` (render, observe, calibrate, fit).
``need`` and ``photom``, ``time`` in the table are at the centre.  The last row: noise-free, perfect PHOTOMs, true
wavelengths (the fit's own floor).

    python benchmarks/mrs_leak_fit.py [--seeds N] [--record]   (~1 min per 4 seeds)
"""
import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.simulator import mrs as smrs  # noqa: E402
from miri_testbed.simulator import mrs_apcorr, mrs_leakcal, mrs_photom, mrs_throughput  # noqa: E402
from miri_testbed.simulator import spectral_leak as sim_leak  # noqa: E402
from miri_testbed.simulator.config import MrsEffects  # noqa: E402
from miri_testbed.simulator.exposure import rng_streams  # noqa: E402
from miri_testbed.simulator.spectra import FWHM_PER_SIGMA  # noqa: E402
from miri_testbed.validation.scenarios import load_suite  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

SOURCE, LEAK = sim_leak.SOURCE_BAND, sim_leak.LEAK_BAND
#: main's placeholder amplitude error (ReferenceOptions.leak_error before this change), for its column.
MAIN_LEAK_ERROR = 0.005


def pixels_curve(truth, pixels):
    """The truth's curve as 3A's pixels hold it: its sigma widened by the LSF and the pixels' boxes, the same area."""
    lo, hi = pixels.lam_edges
    width = float(np.median((hi - lo)[np.abs(pixels.wavelength - truth.centre_um) < truth.sigma_um]))
    lsf = truth.centre_um / float(smrs.resolving_power(truth.centre_um)) / FWHM_PER_SIGMA
    sigma = np.sqrt(truth.sigma_um**2 + lsf**2 + width**2 / 12)
    return sim_leak.LeakCurve(truth.peak * truth.sigma_um / sigma, truth.centre_um, sigma)


def one_seed(scenario, seed):
    """One seed's row (module docstring)."""
    observation, effects, options = scenario.observation, scenario.effects, scenario.references
    streams = rng_streams(seed)
    perturbations = {name: smrs.draw_perturbation(name, effects.mrs, streams["optics"]) for name in observation.bands}
    pair_rng = smrs.band_pair_generator(streams["references"], observation)
    moves = smrs.geometry_moves(observation, perturbations, options, pair_rng.spawn(1)[0])
    draws = mrs_photom.measured_draws(observation.bands, options, effects.optics.throughput_decay, pair_rng)
    mrs_apcorr.apcorr_model(observation.bands, observation.channels, observation.band, options, pair_rng,
                            smrs.mrs_dither.target_v2v3(observation.dither_channel))
    main = 1 + MAIN_LEAK_ERROR * pair_rng.standard_normal()  # main's draw (the generator as write_references has it)
    noise_rng = pair_rng.spawn(1)[0]
    t0 = time.process_time()
    fit = smrs.measured_leak(perturbations, moves, draws, options, effects, streams["references"], streams["optics"],
                             noise_rng)
    cpu = time.process_time() - t0
    truth = sim_leak.LeakCurve.from_effects(effects.mrs)
    held = pixels_curve(truth, smrs.TruePixels(smrs.flight_pixels(LEAK), perturbations[LEAK]))
    source_draws = smrs.leak_source_photom(options, effects, streams["references"])
    source_true = smrs.leak_source_perturbation(effects, streams["optics"])
    lam = held.centre_um + held.sigma_um * np.linspace(-3, 3, 241)  # the curve over +/- 3 sigma
    photom = (1 + draws.errors[LEAK](lam)) / (1 + source_draws.errors[SOURCE](lam / 2))

    def timing(t):
        """``T / c`` of 3A over 1B's at ``lam`` and MJD ``t`` (the TIMECOEFFs' errors against the truth)."""
        if not effects.optics.throughput_decay:
            return np.ones_like(lam)
        ratios = []
        for band, band_draws, true, wavelength in ((LEAK, draws, perturbations[LEAK], lam),
                                                   (SOURCE, source_draws, source_true, lam / 2)):
            table = band_draws.tables[f"timecoeff_powerlaw_ch{band[0]}"]
            ratios.append(mrs_throughput.relative_throughput(true.wavelength(wavelength), t)
                          / mrs_leakcal.timecoeff_correction(table, wavelength, t))
        return ratios[0] / ratios[1]

    weight = held(lam)
    need, own = (held(lam) * photom * timing(t) for t in (observation.epoch_mjd, mrs_leakcal.EPOCH_MJD))
    fitted = fit.curve(lam)
    # the leak-weighted relative error (what a fit of the leak's shape, as LEAK-1's, reads) and the largest
    projected, projected_own = (float(np.sum((fitted - n) * weight) / np.sum(n * weight)) for n in (need, own))
    largest = float(np.max(np.abs(fitted - need)[np.abs(lam - held.centre_um) <= 2 * held.sigma_um])) / held.peak
    centre = len(lam) // 2
    sigma = fit.errors[0] / fit.curve.peak
    return (f"   {seed:4d}  {main:8.5f}  {fit.curve.peak / truth.peak:8.5f}  {need[centre] / truth.peak:8.5f}"
            f"  {photom[centre] - 1:+9.5f}  {timing(observation.epoch_mjd)[centre] - 1:+9.5f}  {projected:+10.2e}"
            f"  {sigma:8.1e}  {projected / sigma:+6.2f}  {largest:9.1e}  {projected_own:+10.2e}"
            f"  {(fit.curve.centre_um - held.centre_um) * 1e3:+8.4f}  {fit.curve.sigma_um / held.sigma_um - 1:+9.1e}"
            f"  {fit.chi2 / fit.dof:6.2f}  {cpu:5.2f}",
            projected, main - 1, fit.curve.peak / truth.peak - 1, sigma, cpu, projected_own, largest)


def floor(scenario):
    """The noise-free fit with perfect PHOTOMs and true wavelengths, against the pixels' curve."""
    effects = replace(scenario.effects, optics=replace(scenario.effects.optics, throughput_decay=False))
    rng = np.random.default_rng(0)
    true = {name: smrs.draw_perturbation(name, effects.mrs, rng) for name in (LEAK, SOURCE)}
    spectra = smrs.calibrated_leak_exposures(smrs.leak_exposures(true, effects, None),
                                             {n: p.velocity_model() for n, p in true.items()}, {}, effects)
    fit = mrs_leakcal.fit(spectra[LEAK], spectra[SOURCE][:3], sim_leak.LeakCurve.from_effects(MrsEffects()))
    held = pixels_curve(sim_leak.LeakCurve.from_effects(effects.mrs), smrs.TruePixels(smrs.flight_pixels(LEAK),
                                                                                     true[LEAK]))
    return fit.curve.peak / held.peak - 1, fit.curve.centre_um - held.centre_um, fit.curve.sigma_um / held.sigma_um - 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=8, help="seeds 1..N")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_leak_fit.txt")
    args = parser.parse_args(argv)
    scenario = next(s for s in load_suite("mrs_leak").scenarios if s.name == "point_3a")
    out, lines = transcript()
    out(f"MRSPTCORR fitted on simulated 1B and 3A exposures (simulator.mrs_leakcal): a uniform "
        f"{mrs_leakcal.SOURCE_TEMPERATURE_K:.0f} K source of {mrs_leakcal.SOURCE_MJY_SR:g} MJy/sr at "
        f"{mrs_leakcal.SOURCE_REF_UM} um, {mrs_leakcal.INTEGRATIONS} integrations to {mrs_leakcal.WELL_FILL} of the "
        f"well, at MJD {mrs_leakcal.EPOCH_MJD:g}; the suite mrs_leak's point_3a (science at MJD "
        f"{scenario.observation.epoch_mjd:g}), seeds 1-{args.seeds}; amplitudes at the peak over the truth's")
    out("   seed      main       fit      need     photom      time    leak err     sigma    pull  max |err|"
        "     at cal  centre nm  sigma err  chi2/n    cpu")
    rows = [one_seed(scenario, seed) for seed in range(1, args.seeds + 1)]
    for row in rows:
        out(row[0])
    errors, mains, fits, sigmas, cpus, owns, largest = (np.array([r[k] for r in rows]) for k in range(1, 8))
    out(f"   over the seeds: leak err {np.sqrt(np.mean(errors**2)):.1e} rms (mean {np.mean(errors):+.1e}), stated "
        f"sigma {np.mean(sigmas):.1e}, rms pull {np.sqrt(np.mean((errors / sigmas)**2)):.2f}; max |err| up to "
        f"{np.max(largest):.1e} of the peak; at the calibration's epoch {np.sqrt(np.mean(owns**2)):.1e} rms (rms pull "
        f"{np.sqrt(np.mean((owns / sigmas)**2)):.2f}); fit/truth - 1 {np.sqrt(np.mean(fits**2)):.2e} rms (the "
        f"PHOTOMs' ratio, as it should be); main's drawn amplitude {np.sqrt(np.mean(mains**2)):.2e} rms; CPU "
        f"{np.median(cpus):.2f} s median")
    peak, centre, width = floor(scenario)
    out(f"   noise-free, perfect PHOTOMs, true wavelengths, no decay: peak {peak:+.1e}, centre {centre * 1e3:+.5f} nm, "
        f"sigma {width:+.1e} against the pixels' curve")
    print(write_result("mrs_leak_fit", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
