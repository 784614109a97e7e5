"""Small builders shared by the tests."""
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import emi as cal_emi
from miri_testbed.calibration import mrs_wcs
from miri_testbed.calibration.pipeline import calibrate
from miri_testbed.instrument import emi as facts
from miri_testbed.instrument import mrs
from miri_testbed.instrument.detector import FULL_NX, FULL_NY
from miri_testbed.simulator import Effects, Observation, ReferenceOptions, Scene, detector, emi, simulate
from miri_testbed.simulator.exposure import ramp_model, rng_streams
from miri_testbed.simulator.references import emicorr_model
from miri_testbed.simulator.sky import random_star_field
from miri_testbed.validation.runner import COLUMNS
from miri_testbed.validation.score import score


def history_of(model):
    """The texts of a data model's HISTORY, in order (from its tree: stdatamodels deprecates the ``history``
    attribute), each with its continuation entries (``calibration.products.add_history``) joined back on."""
    texts = []
    for entry in model.instance.get("history", {}).get("entries", []):
        line = str(entry.get("description", ""))
        if line.startswith("  ") and texts:
            texts[-1] += " " + line[2:]
        else:
            texts.append(line)
    return texts


def star_scene(observation, seed, n=8, flux=(0.02, 0.5), background=2.0, margin=25, separation=0.0):
    stars = random_star_field(observation, n, flux[0], flux[1], rng_streams(seed)["scene"], margin, separation)
    return Scene(stars, background)


def simulate_and_calibrate(tmp_path, observation, scene, seed=0, effects=None, references=None):
    sim = simulate(scene, observation, tmp_path / "sim", name="exp", seed=seed,
                   effects=effects or Effects(), references=references or ReferenceOptions())
    products = calibrate(sim["uncal"], tmp_path / "out", sim["refs"])
    rows, hist = score(sim["truth"], products["rate"], products["cat"])
    return sim, products, pd.DataFrame(rows)


def noise_free():
    return dict(effects=Effects.noise_free(), references=ReferenceOptions(kind="perfect"))


def tiny_suite_toml(seeds):
    """A suite of one SUB64 scene with two stars and 8 groups: a study cell in seconds."""
    return f"""
[suite]
name = "tiny"
seeds = {list(seeds)}

[[scenario]]
name = "sub64"
[scenario.observation]
subarray = "SUB64"
ngroups = 8
[scenario.scene]
background_mjy_sr = 2.0
random_stars = {{ n = 2, flux_min_mjy = 0.1, flux_max_mjy = 1.0, margin_pix = 14 }}
"""


def synthetic_results(rng, n_seeds=12, n_sources=5, scenarios=("s1", "s2"), label="default"):
    """A results table shaped like the runner's: exposure rows, binned rows, source rows."""
    rows = []
    for scenario in scenarios:
        for seed in range(n_seeds):
            rows.append(dict(metric="pull_std", value=1 + 0.02 * rng.normal(), unit=""))
            rows += [dict(metric="pull_mean", value=0.01 * rng.normal(), unit="", bin=b) for b in (0.0, 10.0)]
            rows.append(dict(metric="pull_n", value=float(rng.integers(1000, 2000)), unit="pixel"))
            for sid in range(n_sources):
                ctx = dict(source_id=float(sid), true_flux_mjy=0.1 * (sid + 1), snr=30.0 * (sid + 1))
                rows.append(dict(metric="flux_ratio", value=1 + 0.01 * rng.normal(), unit="", **ctx))
                rows.append(dict(metric="astrometric_error", value=abs(5 + rng.normal()), unit="mas", **ctx))
                rows.append(dict(metric="detected", value=float(rng.random() < 0.9), unit="", **ctx))
            for r in rows:
                r.setdefault("scenario", scenario)
                r.setdefault("seed", seed)
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    frame["algorithms"] = label
    return frame


def with_set(table, label, **changes):
    """A copy of ``table`` as algorithm set ``label``, with ``metric=function(values)`` applied."""
    other = table.copy()
    other["algorithms"] = label
    for metric, change in changes.items():
        sel = other["metric"] == metric
        other.loc[sel, "value"] = change(other.loc[sel, "value"].to_numpy())
    return pd.concat([table, other], ignore_index=True)


def emi_ramps(subarray, ngroups, lines, effects, seed=0, nints=1, rate=20.0):
    """``(observation, detector truth, ramps)`` of a uniformly lit subarray (``rate`` e-/s) with EMI ``lines``."""
    obs = Observation(subarray=subarray, ngroups=ngroups, nints=nints)
    rngs = rng_streams(seed)
    truth = detector.draw_detector(obs, effects, rngs["detector"])
    data, _ = detector.ramps(np.full(truth.gain.shape, rate), obs, truth, effects, rngs["ramps"], lines)
    return obs, truth, data


def emi_case(obs, data, lines=(), kind="measured", model=None):
    """``(case, reason)`` of calibration's EMI step for ``data``, from ``model`` or an EMICORR reference of ``kind``."""
    model = model or emicorr_model(ReferenceOptions(kind=kind), lines)
    return cal_emi.case_from_model(model, ramp_model(data, obs))


def emi_line(name, amplitudes, phases, drift):
    """A simulated EMI line called ``name`` (``"Hz390"``, ``"Hz10"``) at its documented frequency."""
    return emi.EmiLine(name, facts.FREQUENCIES[name], drift, tuple(amplitudes), tuple(phases))


def correlated_noise(rng, size):
    """Unit-variance noise with the default cube kernel's plane correlation (lag 1 0.61, lag 2 0.12: a 3-plane
    moving average), and that correlation as the x1d's ``plane_correlation`` holds it, ``(noise, (size, 4))``."""
    kernel = np.array([0.4, 1.0, 0.4]) / np.sqrt(1.32)
    noise = np.convolve(rng.standard_normal(size + 2), kernel, mode="valid")
    return noise, np.tile([2 * kernel[0] * kernel[1], kernel[0] * kernel[2], 0.0, 0.0], (size, 1))


__all__ = ["Observation", "correlated_noise", "emi_case", "emi_line", "emi_ramps", "noise_free",
           "simulate_and_calibrate", "star_scene", "synthetic_results", "tiny_suite_toml", "with_set"]


def block_pairs(block, cut=False):
    """A ``calibration.cube_build._Block``'s weights in the pairs' form: ``(spatial, u)``, each (n, Kb Ka).

    ``spatial`` the flat (beta, alpha) spaxels of each pixel's window (outside the grid its edge's), ``u`` their
    weights ``wb wa`` (``wb wa_cut`` with ``cut``; 0 outside the grid), so tests can spell the sums out pair by pair.
    """
    n_beta, n_alpha = block.shape
    ib = np.clip(block.first_b[:, None] + np.arange(block.wb.shape[1]), 0, n_beta - 1)
    ia = np.clip(block.first_a[:, None] + np.arange(block.wa.shape[1]), 0, n_alpha - 1)
    u = block.wb[:, :, None] * (block.wa_cut if cut else block.wa)[:, None, :]
    return (ib[:, :, None] * n_alpha + ia[:, None, :]).reshape(len(ib), -1), u.reshape(len(ib), -1)


@cache
def flight_band_pixels(detector, setting):
    """``{band: MrsPixels}`` of one detector and setting from the flight geometry files shipped in the package."""
    model = dm.ImageModel((1, 1))
    meta = model.meta
    meta.instrument.name, meta.exposure.type, meta.subarray.name = "MIRI", "MIR_MRS", "FULL"
    meta.instrument.detector, meta.instrument.band = detector, setting
    meta.instrument.channel = "12" if detector == "MIRIFUSHORT" else "34"
    meta.exposure.start_time, meta.exposure.readpatt, meta.exposure.ngroups = 60400.0, "FASTR1", 10
    references = mrs_wcs.read_references(Path(mrs.__file__).parent / "data" / "mrs", model)
    return {name: mrs_wcs.band_pixels(band, (FULL_NY, FULL_NX)) for name, band in references.bands.items()}


def separable_scene(pixels, scale_px):
    """A point source whose PSF is a Gaussian in alpha times one in beta, on a continuum with an emission line:
    ``S = g(alpha) g(beta) (1 + 5 g(lambda))``, each Gaussian ``scale_px`` of the pixel's extent wide (beta's
    1.5 slices), over ``pixels`` (a band's :class:`calibration.mrs_wcs.MrsPixels`)."""
    def g(u, centre, width):
        return np.exp(-0.5 * ((u - centre) / width) ** 2)
    pixel_alpha, pixel_lam = np.median(pixels.alpha_hi - pixels.alpha_lo), np.median(pixels.lam_hi - pixels.lam_lo)
    return (g(pixels.alpha, 0.05, scale_px * pixel_alpha) * g(pixels.beta, 0.1, 1.5 * pixels.band.beta_del)
            * (1 + 5 * g(pixels.wavelength, np.median(pixels.wavelength), scale_px * pixel_lam)))
