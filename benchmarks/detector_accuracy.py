"""Accuracy of the detector path, ours beside stcal's, against the truth.

Two studies on BRIGHTSKY FASTR1 ramps made by this testbed's simulator (Poisson, read
noise, bias, digitisation, saturation; dark, nonlinearity and EMI off, the bias subtracted:
the data as after perfect dark and linearity correction, so only jump detection and
ramp fitting are measured):

1. Rates: illumination from 0 to 80 % of the full well over the integration, spread
   over the frame, cosmic rays at 4x the reference rate (for statistics on hit
   pixels), no showers.  Per rate level: scatter and bias relative to the Cramer-Rao
   bound, pull width, on clean and on cosmic-ray-hit pixel-integrations; jump
   completeness per deposited charge and the false-flag rate.
2. Showers: background only, reference cosmic rays, showers at 2 per second per full
   detector.  Flagged fraction of each shower's true area (e^-2 ellipse) per peak,
   and the false-flag rate, beside the same exposures without showers: the excess,
   scaled to the reference shower rate, is the false area showers cost.

Run:  python benchmarks/detector_accuracy.py [--seeds 2]     (needs the peers extra for stcal)
"""
import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from miri_testbed.calibration import registry  # noqa: E402
from miri_testbed.calibration.peers import STCAL  # noqa: E402
from miri_testbed.simulator import DetectorEffects, Observation  # noqa: E402
from miri_testbed.simulator.detector import draw_detector, event_mask, ramps  # noqa: E402
from miri_testbed.simulator.exposure import rng_streams  # noqa: E402
from miri_testbed.validation.detector_score import detector_metrics  # noqa: E402

SHOWER_RATE = 2.0  # per second per full detector in study 2: 80x the reference, for statistics

VARIANTS = {
    "ours (default)": dict(jump="likelihood", showers="box", ramp_fit="likelihood"),
    "ours twopoint+likelihood": dict(jump="twopoint", showers="box", ramp_fit="likelihood"),
    "ours optimal": dict(jump="likelihood", showers="box", ramp_fit="optimal"),
    "ours ols": dict(jump="likelihood", showers="box", ramp_fit="ols"),
    "stcal OLS_C": dict(jump="stcal_showers", showers="none", ramp_fit="stcal_ols"),
    "stcal LIKELY": dict(jump="stcal_showers", showers="none", ramp_fit="stcal_likely"),
}


def exposure(seed, effects, rate_e=None, ngroups=30, nints=2):
    obs = Observation(subarray="BRIGHTSKY", readpatt="FASTR1", ngroups=ngroups, nints=nints)
    rngs = rng_streams(seed)
    truth = draw_detector(obs, effects, rngs["detector"])
    if rate_e is None:
        t_int = ngroups * obs.group_time
        top = 0.8 * truth.full_well[0, 0] / t_int
        rate_e = np.concatenate([[0.0], np.geomspace(0.05, top, truth.gain.size - 1)])
        rate_e = rngs["scene"].permutation(rate_e).reshape(truth.gain.shape)
    data, events = ramps(rate_e, obs, truth, effects, rngs["ramps"])
    data -= truth.bias.astype(np.float32)
    showers = Table(rows=[tuple(s.values()) for s in events["showers"]],
                    names=("t", "x", "y", "a", "b", "angle", "peak_dn")) if events["showers"] else \
        Table(names=("t", "x", "y", "a", "b", "angle", "peak_dn"))
    true = dict(rate=rate_e / truth.gain, badpix=truth.dead | truth.hot | truth.reference,
                events=event_mask(obs, truth, events),
                hits=events["hits"], showers=showers, ngroups=ngroups, nints=nints, group_time=obs.group_time,
                gain=float(np.median(truth.gain)), read_noise=float(np.median(truth.read_noise)))
    saturation = 0.97 * truth.full_well / truth.gain
    return data, true, truth, obs, saturation


def calibrate_arrays(data, truth, obs, saturation, choice):
    gdq = registry.get("saturation", "threshold")(data, np.zeros(data.shape, np.uint8), saturation)
    # first and last frames flagged as the pipeline does: the Cramer-Rao bound is for the groups left
    gdq = registry.get("lastframe", "flag")(registry.get("firstframe", "flag")(gdq))
    rn, gain, tg = truth.read_noise, truth.gain, obs.group_time
    gdq, medians = registry.get("jump", choice["jump"])(data, gdq, rn, gain, tg)
    gdq, _ = registry.get("showers", choice["showers"])(data, gdq, rn, gain, tg, medians)
    fit = registry.get("ramp_fit", choice["ramp_fit"])(data, gdq, rn, gain, tg)
    return gdq, fit.rate_ints, np.sqrt(fit.var_poisson_ints + fit.var_rnoise_ints)


def study(seeds, effects, rate_e=None):
    rows = []
    names = [n for n in VARIANTS if STCAL or "stcal" not in n]
    for seed in seeds:
        data, true, truth, obs, saturation = exposure(seed, effects, rate_e)
        for name in names:
            gdq, rate, err = calibrate_arrays(data, truth, obs, saturation, VARIANTS[name])
            for row in detector_metrics(true, gdq, rate.astype(np.float64), err.astype(np.float64)):
                rows.append(dict(row, variant=name, seed=seed))
    return pd.DataFrame(rows)


def main():
    logging.disable(logging.INFO)
    np.seterr(all="ignore")
    import warnings

    warnings.simplefilter("ignore", RuntimeWarning)  # stcal LIKELY divides by zero on empty pixels
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--variants", help="comma-separated subset of: " + ", ".join(VARIANTS))
    args = parser.parse_args()
    if args.variants:
        for name in set(VARIANTS) - set(args.variants.split(",")):
            del VARIANTS[name]
    seeds = list(range(1, args.seeds + 1))
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 20)

    rates = study(seeds, DetectorEffects(dark=False, bad_pixels=False, nonlinearity=False, emi=False,
                                         reset_anomaly=False, showers=False, cosmic_ray_rate=2e-4))
    rates["bin"] = rates["bin"].fillna(-1)  # -1: rows that are not per bin (the false-flag rate)

    def weighted(frame):  # average over seeds weighted by the number of pixels
        return frame.groupby(["metric", "bin", "variant"])["value"].mean().unstack("variant")

    print("== Rates per true-rate level (bin = lower edge, DN/s; full well in 26 s is ~1950 DN/s)")
    for population in ("clean", "cr"):
        metrics = ("scatter_over_crb",) + (("scatter_over_crb_steps",) if population == "cr" else ()) + (
            "bias_over_crb", "pull_std", "n")
        for metric in metrics:
            table = weighted(rates[rates.metric == f"{population}_{metric}"])
            print(f"\n{population}_{metric}\n{table.round(3).to_string()}")
    print("\n== Jumps: completeness per deposited charge (bin = lower edge, DN)")
    print(weighted(rates[rates.metric == "jump_completeness"]).round(3).to_string())
    print(weighted(rates[rates.metric == "jump_n"]).round(0).to_string())
    print("\nfalse-flag rate per difference:")
    print(weighted(rates[rates.metric == "false_flag_rate"]).to_string())

    sky = np.full((512, 512), 40.0)
    showers = study(seeds, DetectorEffects(dark=False, bad_pixels=False, nonlinearity=False, emi=False,
                                           reset_anomaly=False, shower_rate=SHOWER_RATE), rate_e=sky)
    quiet = study(seeds, DetectorEffects(dark=False, bad_pixels=False, nonlinearity=False, emi=False,
                                         reset_anomaly=False, showers=False), rate_e=sky)
    print("\n== Showers: flagged fraction of the true area, by peak (DN)")
    sf = showers[showers.metric == "shower_flagged_fraction"].copy()
    sf["peak"] = pd.cut(sf["bin"], [0, 6, 8, 12, 16, 24, 41])
    stats = sf.groupby(["variant", "peak"], observed=True)["value"].agg(["mean", "min", "count"])
    for stat in ("mean", "min", "count"):  # one narrow table per statistic
        print(f"\n{stat} over showers (issue 3 target: min >= 0.8 for peaks of 8 DN and above)")
        print(stats[stat].unstack("peak").round(3).to_string())
    print("\nfalse-flag rate per difference (showers on):")
    with_showers = showers[showers.metric == "false_flag_rate"].groupby("variant")["value"].mean()
    print(with_showers.to_string())
    without = quiet[quiet.metric == "false_flag_rate"].groupby("variant")["value"].mean()
    print("\nfalse-flag rate per difference (the same exposures without showers):")
    print(without.to_string())
    factor = SHOWER_RATE / DetectorEffects().shower_rate
    print(f"\nshower false area: the excess over the no-shower rate, scaled from {SHOWER_RATE:g}/s to the "
          f"reference {DetectorEffects().shower_rate:g}/s per detector (target < 1e-4 of the frame):")
    print(((with_showers - without) / factor).to_string(float_format=lambda v: f"{v:.2e}"))


if __name__ == "__main__":
    main()
