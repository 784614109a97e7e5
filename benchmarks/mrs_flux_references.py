"""MRS-FLUX-1 taken apart: how much of each band's flux ratio the measured references' drawn errors make.

A measured MRS reference set carries drawn errors (PLACEHOLDERS): the PHOTOM's SCI ``C (1 + e_p(lambda))`` and the
APCORR's ``apcorr (1 + e_a(lambda))`` (each a grey term and a Legendre cubic of 0.3 % rms,
:func:`simulator.references.smooth_error`), and the TIMECOEFF tables fitted to a simulated monitoring programme
(:func:`simulator.mrs_throughput.fitted_powerlaw`), which cannot hold the truth's linear loss.  A point source's x1d
is then the truth times

    P(lambda) = (1 + e_p) (1 + e_a) T(lambda, t) / c(lambda, t),

``T`` the true relative throughput at the exposure's mid-time ``t``, ``c`` the tables' correction.  The draws are
reproduced from each cell's seed exactly as the simulator makes them (:func:`simulator.mrs.band_pair_generator`,
then the PHOTOM's errors and tables, then the APCORR's), so ``P`` is known per band without the files.  For each
band result of a finished run (its ``metrics.csv``) this prints the measured ``mrs_flux_ratio``, ``P``'s median
over the band (the ratio the references alone predict) and their quotient: what the cube build, the extraction and
the noise leave.  Validation-side (it reads the simulator's draws): a diagnostic, not a calibration input.

    python benchmarks/mrs_flux_references.py RUN_DIR [RUN_DIR ...] --suite mrs [--record NAME]

Each RUN_DIR is a ``miri-testbed run`` output folder (``metrics.csv``) of ``--suite`` (a built-in name or a TOML).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import mrs_photom as cal_photom  # noqa: E402
from miri_testbed.instrument import mrs  # noqa: E402
from miri_testbed.simulator import mrs as smrs  # noqa: E402
from miri_testbed.simulator import mrs_photom, mrs_throughput  # noqa: E402
from miri_testbed.simulator.exposure import rng_streams  # noqa: E402
from miri_testbed.simulator.references import smooth_error  # noqa: E402
from miri_testbed.simulator.sky import mid_time_mjd  # noqa: E402
from miri_testbed.validation.scenarios import load_suite  # noqa: E402

from imager_common import publish  # noqa: E402

LIMIT = 0.01  # MRS-FLUX-1's |ratio - 1|


def predicted_ratios(scenario, seed, samples=400):
    """``{band: median of P over the band}`` (module docstring) for a measured-reference MRS scenario at ``seed``."""
    observation, options = scenario.observation, scenario.references
    pair_rng = smrs.band_pair_generator(rng_streams(seed)["references"], observation)
    pair_rng.spawn(1)  # the geometry's moves take the first child (simulator.mrs.write_references)
    draws = mrs_photom.measured_draws(observation.bands, options, scenario.effects.optics.throughput_decay, pair_rng)
    apcorr = {name: smooth_error(mrs.band(name).wavelength_range, options.apcorr_error, pair_rng)
              for name in observation.bands}
    mjd = mid_time_mjd(observation)
    out = {}
    for name in observation.bands:
        lam = np.linspace(*mrs.band(name).wavelength_range, samples)
        table = draws.tables[f"timecoeff_powerlaw_ch{name[0]}"]
        correction = cal_photom.time_correction(lam, tuple(np.asarray(table[c], float)
                                                           for c in cal_photom.TIME_COLUMNS), mjd)
        throughput = mrs_throughput.relative_throughput(lam, mjd) if scenario.effects.optics.throughput_decay else 1.0
        out[name] = float(np.median((1 + draws.errors[name](lam)) * (1 + apcorr[name](lam)) * throughput / correction))
    return out


def band_name(observation, bin_value):
    """The band of ``metrics.csv``'s ``bin`` (channel + setting / 10) in ``observation``."""
    channel = int(round(bin_value))
    return next(name for name in observation.bands if int(name[0]) == channel)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--suite", required=True)
    parser.add_argument("--record", nargs="?", const="", default=None, metavar="NAME",
                        help="write benchmarks/results/<date>_mrs_flux_references[_NAME].txt")
    args = parser.parse_args()
    scenarios = {s.name: s for s in load_suite(args.suite).scenarios}
    rows, predicted = [], {}
    for run in args.runs:
        metrics = pd.read_csv(Path(run) / "metrics.csv")
        for r in metrics[metrics.metric == "mrs_flux_ratio"].itertuples():
            scenario = scenarios[r.scenario]
            if scenario.references.kind != "measured":
                continue
            name, cell = band_name(scenario.observation, r.bin), (r.scenario, int(r.seed))
            if cell not in predicted:  # both bands' from one set of draws
                predicted[cell] = predicted_ratios(scenario, cell[1])
            ratio = predicted[cell][name]
            rows.append(dict(run="/".join(Path(run).parts[-2:]), scenario=r.scenario, seed=cell[1], band=name,
                             measured=r.value, references=ratio, left=r.value / ratio))
    table = pd.DataFrame(rows)
    out = [f"{len(table)} band results of {', '.join(args.runs)} (suite {args.suite}): the measured flux ratio, the "
           "ratio the drawn references alone predict (median of (1 + e_p)(1 + e_a) T / c over the band), and "
           "their quotient (what the cube build, the extraction and the noise leave)", ""]
    out.append(table.sort_values("measured").to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for column in ("measured", "references", "left"):
        off = np.abs(table[column] - 1)
        out.append(f"{column:>10}: outside +/-{LIMIT:.0%} {int(np.sum(off > LIMIT))} of {len(table)}, "
                   f"rms {np.sqrt(np.mean((table[column] - 1) ** 2)) * 100:.3f} %, worst {off.max() * 100:.3f} %")
    out.append(f"correlation of measured and references: {np.corrcoef(table.measured, table.references)[0, 1]:.3f}")
    name = "mrs_flux_references" + (f"_{args.record}" if args.record else "")
    publish(name, out) if args.record is not None else print("\n".join(out))


if __name__ == "__main__":
    main()
