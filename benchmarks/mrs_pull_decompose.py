"""MRS-PULL-1 on the mrs_leak suite's bright ``point_1b``, decomposed: which reference or stage makes the excess.

The suite's ``point_1b`` (band 1B, MIRIFUSHORT MEDIUM, with 2B on the same detector; a 10^4 K point source of
500 mJy at 12.2 um, every default effect on, the leak on, 5 MJy/sr of sky, 50 groups: S/N 1100-1600 per plane)
simulated once per seed with measured and once with perfect references (the reference draws have their own
random stream: the two uncal files are identical), detector1 run once (the measured detector files), then spec2
run on that rate with one kind of measured reference swapped for the perfect one at a time, on:

* the **noisy** rate: the pulls as ``run`` scores them (``mrs_flux_pull_rms``, ``_lag1``);
* its **noise-free twin**: the truth's RATE (ILLUM / true gain) with the noisy rate's variances and DQ, scored
  with the noisy spectrum's FLUX_ERROR: ``(r - s) / e`` is the systematic part of the pull (``sys``), its rms
  in % of the flux ``sys %``; and ``noisy - twin`` (the noise alone, ``noise``).

``pull^2 - 1`` is the excess to explain; ``noise^2 + sys^2 - 1`` should match it (the two are independent).
The PHOTOM is split into its SCI (the grey + cubic error, which the scorer's cubic takes out) and its TIMECOEFF
tables (a power law fitted per 0.1-um bin to its own monitoring points: :func:`simulator.mrs_throughput.
fitted_powerlaw`): ``TIMECOEFF perfect`` keeps the measured SCI and takes the perfect tables.

    python benchmarks/mrs_pull_decompose.py [--seeds 2 1] [--workdir DIR] [--plot DIR] [--record]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import mrs_spec2, registry  # noqa: E402
from miri_testbed.calibration.inputs import open_rate  # noqa: E402
from miri_testbed.calibration.pipeline import _from_rate, calibrate, write_products  # noqa: E402
from miri_testbed.calibration.steps import StepLog  # noqa: E402
from miri_testbed.simulator import ReferenceOptions, simulate  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation import lrs_score, mrs_score  # noqa: E402
from miri_testbed.validation.scenarios import load_suite  # noqa: E402

from imager_common import publish  # noqa: E402

SUITE = Path(__file__).resolve().parents[1] / "validation" / "suites" / "mrs_leak.toml"
KINDS = {"PHOTOM": ("photom",), "APCORR": ("apcorr",), "geometry": ("distortion", "specwcs", "wavelengthrange")}
#: (label, reference kinds taken perfect; "TIMECOEFF": the measured PHOTOM with the perfect one's tables).
CASES = (("measured (the suite)", ()),
         ("TIMECOEFF perfect (measured SCI)", ("TIMECOEFF",)),
         ("PHOTOM perfect", ("PHOTOM",)),
         ("APCORR perfect", ("APCORR",)),
         ("geometry perfect", ("geometry",)),
         ("PHOTOM + APCORR + geometry perfect", ("PHOTOM", "APCORR", "geometry")),
         ("all but TIMECOEFF perfect", ("APCORR", "geometry", "SCI")))


def hybrid_photom(measured, perfect, out, keep_tables_from):
    """A PHOTOM with SCI/ERR from one file and the TIMECOEFF tables from the other."""
    base, tables = (measured, perfect) if keep_tables_from == "perfect" else (perfect, measured)
    with fits.open(base) as a, fits.open(tables) as b:
        for hdu in a:
            if hdu.name.startswith("TIMECOEFF"):
                hdu.data = b[hdu.name].data.copy()
        a.writeto(out)


def mixed_refs(folder, measured, perfect, kinds):
    """A refs folder of links: the measured files, those of ``kinds`` the perfect ones (TIMECOEFF/SCI: a hybrid)."""
    folder.mkdir(parents=True)
    for path in Path(measured).iterdir():
        if "photom" in path.name and ("TIMECOEFF" in kinds or "SCI" in kinds):
            hybrid_photom(path, Path(perfect) / path.name, folder / path.name,
                          "perfect" if "TIMECOEFF" in kinds else "measured")
            continue
        swap = any(p in path.name for kind in kinds if kind in KINDS for p in KINDS[kind])
        (folder / path.name).symlink_to((Path(perfect) if swap else Path(measured)) / path.name)
    return folder


def spec2_on_rate(rate_path, refs, outdir, stem):
    """spec2 (default algorithms) on a rate file; the x1d's path."""
    model = open_rate(rate_path)
    products = mrs_spec2.run(StepLog(), model, _from_rate(model), Path(refs), registry.resolve({}))
    return write_products({"x1d": products["x1d"]}, outdir, stem)["x1d"]


def twin_rate(noisy_rate, truth, out):
    """The noisy rate file with SCI the truth's RATE (its variances and DQ kept)."""
    with dm.ImageModel(str(noisy_rate)) as model:
        model.data = read_truth(truth).image("RATE").astype(np.float32)
        model.save(str(out))
    return out


def band_ratios(truth, x1d):
    """``{band: (wavelength, r, e, planes mask)}``: FLUX / truth and FLUX_ERROR / truth (mrs_score's planes)."""
    t = read_truth(truth)
    out = {}
    for band, spectrum in mrs_score.read_spectra(x1d).items():
        scored = mrs_score.continuum_planes(spectrum, t.table("LINES"))
        cont = lrs_score.source_continuum(t, spectrum, x1d).flux_density_mjy(spectrum.wavelength) * 1e-3
        out[band] = (spectrum.wavelength, spectrum.flux / cont, spectrum.error / cont, scored)
    return out


def lag1(pull, planes):
    adjacent = np.flatnonzero(np.diff(planes) == 1)
    return float(np.corrcoef(pull[adjacent], pull[adjacent + 1])[0, 1])


def compare(truth, noisy_x1d, twin_x1d):
    """Per band: (pull rms, lag1, sys rms, sys % rms, noise rms, planes), and the arrays for a plot."""
    noisy, twin = band_ratios(truth, noisy_x1d), band_ratios(truth, twin_x1d)
    rows, arrays = {}, {}
    for band, (wl, r, e, scored) in noisy.items():
        _, rt, _, scored_t = twin[band]
        planes = np.flatnonzero(scored & scored_t & np.isfinite(rt))
        pull = mrs_score.flux_pulls(wl[planes], r[planes], e[planes])
        inlier = np.abs(pull) <= 5
        sys_pull = mrs_score.flux_pulls(wl[planes], rt[planes], e[planes])
        noise = mrs_score.flux_pulls(wl[planes], r[planes] - rt[planes] + 1, e[planes])
        sys_pct = float(np.sqrt(np.mean((sys_pull * e[planes]) ** 2))) * 100
        rows[band] = (float(np.sqrt(np.mean(pull[inlier] ** 2))), lag1(pull, planes),
                      float(np.sqrt(np.mean(sys_pull ** 2))), sys_pct,
                      float(np.sqrt(np.mean(noise ** 2))), planes.size, float(np.median(1 / e[planes])))
        arrays[band] = (wl[planes], pull, sys_pull, e[planes])
    return rows, arrays


def powerlaw_at(table, mjd, wavelength):
    """jwst's power-law correction of a TIMECOEFF table at ``mjd``, linear in wavelength between its bins."""
    t = table
    value = (mjd - t["t0"] + t["tsoft"]) ** t["alpha"] * t["year1value"] / (365 + t["tsoft"]) ** t["alpha"]
    return np.interp(wavelength, t["binwave"], value)


def timecoeff_term(sims, arrays):
    """Per band: the measured TIMECOEFF's error alone, ``c_perfect / c_measured - 1`` at the exposure's mid-time
    (jwst's power law per bin, linear between bins) about the scorer's cubic: ``(rms %, rms / e)``."""
    mid = fits.getheader(sims["measured"]["uncal"], "SCI").get("EXPMID") or fits.getheader(
        sims["measured"]["uncal"]).get("EXPMID")
    out = {}
    name = next(p.name for p in Path(sims["measured"]["refs"]).iterdir() if "photom" in p.name)
    with fits.open(Path(sims["measured"]["refs"]) / name) as pm, fits.open(Path(sims["perfect"]["refs"]) / name) as pp:
        for band, (wl, _, _, e) in arrays.items():
            table = f"TIMECOEFF_POWERLAW_CH{band[0]}"
            ratio = powerlaw_at(pp[table].data, mid, wl) / powerlaw_at(pm[table].data, mid, wl)
            term = mrs_score.flux_pulls(wl, ratio, e)
            out[band] = (float(np.sqrt(np.mean((term * e) ** 2))) * 100, float(np.sqrt(np.mean(term ** 2))))
    return out


def plot(arrays_by_case, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    bands = sorted(next(iter(arrays_by_case.values())))
    fig, axes = plt.subplots(len(arrays_by_case), len(bands), figsize=(7 * len(bands), 2.6 * len(arrays_by_case)),
                             squeeze=False, sharex="col")
    for i, (label, arrays) in enumerate(arrays_by_case.items()):
        for j, band in enumerate(bands):
            wl, pull, sys_pull, e = arrays[band]
            ax = axes[i, j]
            ax.plot(wl, pull * e * 100, ",", color="0.6", label="noisy (r - s), %")
            ax.plot(wl, sys_pull * e * 100, "-", color="C3", lw=0.8, label="twin (r - s), %")
            ax.plot(wl, e * 100, "-", color="C0", lw=0.6, label="FLUX_ERROR / truth, %")
            ax.plot(wl, -e * 100, "-", color="C0", lw=0.6)
            ax.set_ylim(-0.35, 0.35)
            ax.set_title(f"{band}: {label}", fontsize=9)
            if i == 0 and j == 0:
                ax.legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_seed(folder, seed, plot_dir):
    """The table's lines of one seed."""
    scenario = next(s for s in load_suite(SUITE).scenarios if s.name == "point_1b")
    sims = {kind: simulate(scenario.scene(seed), scenario.observation, folder / kind, name="point_1b", seed=seed,
                           effects=scenario.effects, references=ReferenceOptions(kind=kind))
            for kind in ("measured", "perfect")}
    measured, perfect = sims["measured"]["refs"], sims["perfect"]["refs"]
    start = time.process_time()
    noisy_rate = calibrate(sims["measured"]["uncal"], folder / "suite", measured)["rate"]
    twin = twin_rate(noisy_rate, sims["measured"]["truth"], folder / "twin_rate.fits")
    lines, arrays_by_case = [], {}
    for n, (label, kinds) in enumerate(CASES):
        refs = mixed_refs(folder / f"refs{n}", measured, perfect, kinds) if kinds else measured
        x1d_noisy = spec2_on_rate(noisy_rate, refs, folder / f"noisy{n}", "point_1b")
        x1d_twin = spec2_on_rate(twin, refs, folder / f"twin{n}", "point_1b")
        rows, arrays_by_case[label] = compare(sims["measured"]["truth"], x1d_noisy, x1d_twin)
        for band, (rms, l1, sys_rms, sys_pct, noise, nplanes, snr) in rows.items():
            lines.append(f"{seed:4d}  {label:36s} {band}  {rms:6.3f} {rms ** 2 - 1:+7.3f}  {l1:5.2f}  {noise:6.3f}  "
                         f"{sys_rms:6.3f} {noise ** 2 + sys_rms ** 2 - 1:+7.3f}  {sys_pct:6.4f}  {snr:5.0f} "
                         f"{nplanes:5d}  {time.process_time() - start:5.0f}")
            print(lines[-1], flush=True)
        start = time.process_time()
    for band, (pct, pulls) in timecoeff_term(sims, arrays_by_case[CASES[0][0]]).items():
        label = "TIMECOEFF error alone (about cubic)"
        blank = " " * 31
        lines.append(f"{seed:4d}  {label:36s} {band}  {blank}{pulls:6.3f} {'':7s}  {pct:6.4f}")
        print(lines[-1], flush=True)
    if plot_dir:
        plot(arrays_by_case, Path(plot_dir) / f"mrs_pull_decompose_seed{seed}.png",
             f"point_1b seed {seed}: FLUX/truth - cubic (noisy grey, noise-free twin red) and +-FLUX_ERROR (blue)")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--workdir", help="keep the products here (default: a temporary folder)")
    parser.add_argument("--plot", help="write mrs_pull_decompose_seed<N>.png here")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_pull_decompose.txt")
    args = parser.parse_args()
    out = ["seed  case                                 band  pull  pull^2-1  lag1  noise    sys  n^2+s^2-1  sys %"
           "   S/N  planes  cpu s"]
    for seed in args.seeds:
        if args.workdir:
            out += run_seed(Path(args.workdir) / f"seed{seed}", seed, args.plot)
        else:
            with tempfile.TemporaryDirectory() as folder:
                out += run_seed(Path(folder), seed, args.plot)
    publish("mrs_pull_decompose", out) if args.record else print("\n".join(out))


if __name__ == "__main__":
    main()
