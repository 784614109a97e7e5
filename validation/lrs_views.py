"""Views of an LRS cell for the report: spectrum against truth, dropouts, light curve.

Its spectrum against the truth, its dropouts before and after pixel replacement, its
white-light curve with the transit fit.
Like the detector's views (:mod:`validation.views`), each is a small dict of arrays cut
from the cell's own products, made for the first seed of each scenario:

* ``lrs_spectrum``: the first flux-calibrated (Jy) spectrum of the x1d, its rows by
  increasing wavelength, beside the F_nu the truth puts in each row (the continuum plus
  the lines' spread light, :func:`validation.lrs_flux.against_truth`) and the rows the
  flux scorer uses (outside the lines' windows);
* ``lrs_dropouts``: for an exposure simulated with bad pixels on the trace
  (``LrsEffects.trace_bad_pixels``), the same spectrum extracted again from the cell's rate
  with ``pixel_replace=none`` (the other steps as the cell ran them) beside the x1d, and
  the dropouts the scorer finds in each (:func:`validation.lrs_dropouts.spectrum_dropouts`);
* ``lrs_light_curve``: the white light (``whtlt``) and its fitted model, the true relative
  flux (truth ``LIGHTCURVE``), and the fitted depths of the wavelength bins (``transit``)
  beside the true ones (:func:`validation.lrs_tso_score.true_depth`).
"""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from astropy.table import Table
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import spec2
from miri_testbed.calibration.steps import StepLog
from miri_testbed.instrument.files import save_model

from . import lrs_tso_score
from .lrs_dropouts import spectrum_dropouts
from .lrs_flux import against_truth, is_jy
from .lrs_score import lrs_truth, read_x1d
from .score import as_truth


def spectrum_view(truth, x1d_path):
    """``lrs_spectrum`` (module docstring), or None for an x1d without a spectrum in Jy."""
    spectrum = next((s for s in read_x1d(x1d_path) if is_jy(s)), None)
    if spectrum is None:
        return None
    lam, flux, error, true, scored = against_truth(lrs_truth(truth, ("LINES",), "views"), spectrum, x1d_path)
    return dict(wavelength=lam, flux=flux, error=error, true=true, scored=scored, source_id=spectrum.source_id)


def unreplaced_x1d(rate_path, refs_folder, algorithms, uncal_path):
    """The cell's x1d made again from its rate with ``pixel_replace=none`` (the other steps as ``algorithms``)."""
    choice = {**algorithms, "pixel_replace": "none"}
    with dm.open(str(rate_path)) as rate:
        d1 = SimpleNamespace(rate=rate.data, var_poisson=rate.var_poisson, var_rnoise=rate.var_rnoise, dq=rate.dq,
                             rate_model=rate)
        backgrounds = spec2.background_paths(choice, rate, uncal_path)
        x1d = spec2.run(StepLog(), rate, d1, refs_folder, choice, backgrounds)["x1d"]
    stem = Path(rate_path).stem.removesuffix("_rate")
    return save_model(x1d, Path(rate_path).with_name(f"{stem}_x1d_unreplaced.fits"))


def dropout_view(truth, products, refs_folder, algorithms, uncal_path):
    """``lrs_dropouts`` (module docstring), or None without bad trace pixels or an x1d."""
    if not truth.config["effects"]["lrs"]["trace_bad_pixels"] or "x1d" not in products:
        return None
    truth = lrs_truth(truth, ("LINES",), "views")
    before_path = unreplaced_x1d(products["rate"], refs_folder, algorithms, uncal_path)
    after, scored, lost_after = spectrum_dropouts(truth, read_x1d(products["x1d"])[0], products["x1d"])
    before, _, lost_before = spectrum_dropouts(truth, read_x1d(before_path)[0], before_path)
    return dict(wavelength=after.wavelength, after=after.flux, before=before.flux, error=after.error,
                scored=scored, lost_after=lost_after, lost_before=lost_before, unit=after.unit,
                bad_pixels=int(truth.config["effects"]["lrs"]["trace_bad_pixels"]))


def light_curve_view(truth, products):
    """``lrs_light_curve`` (module docstring), or None without a white light."""
    if "whtlt" not in products:
        return None
    truth = as_truth(truth, lrs_tso_score.TRUTH)
    white = Table.read(products["whtlt"])
    time = np.asarray(white["MJD_UTC"], float)
    flux, error, model = (np.asarray(white[c], float) for c in ("whitelight_flux", "whitelight_flux_error",
                                                                "transit_model"))
    true = np.asarray(truth.table("LIGHTCURVE")["white"], float)
    out = np.isclose(true, 1.0, rtol=0, atol=1e-12) & np.isfinite(model)
    norm = np.nanmedian(model[out]) if out.any() else np.nanmedian(flux)
    view = dict(hours=24 * (time - time[0]), flux=flux / norm, error=error / norm, model=model / norm, true=true)
    if "transit" in products:
        fits = Table.read(products["transit"])
        bins = fits[fits["name"] != "white"]
        lo, hi = (np.asarray(bins[c], float) for c in ("wavelength_min_um", "wavelength_max_um"))
        view.update(bin_um=0.5 * (lo + hi), depth=np.asarray(bins["depth"], float),
                    depth_error=np.asarray(bins["depth_error"], float),
                    true_depth=np.array([lrs_tso_score.true_depth(truth, a, b) for a, b in zip(lo, hi, strict=True)]))
    return view


def cell_views(truth, products, refs_folder, algorithms, uncal_path):
    """The LRS views of one cell (module docstring): ``{view name: view}``."""
    made = {"lrs_spectrum": spectrum_view(truth, products["x1d"]) if "x1d" in products else None,
            "lrs_dropouts": dropout_view(truth, products, refs_folder, algorithms, uncal_path),
            "lrs_light_curve": light_curve_view(truth, products)}
    return {name: view for name, view in made.items() if view is not None}
