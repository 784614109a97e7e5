"""Views of an MRS cell for the report: each band's cube, collapsed, and its spectrum against the truth.

Like the detector's views (:mod:`validation.views`), each is a small dict of arrays cut from
the cell's own products, made for the first seed of each scenario; one view per band,
named ``mrs:<band>``:

* ``image``: the band's cube collapsed over its planes (``sum S dlambda`` over the spaxels
  covered at least :data:`calibration.mrs_extract.COVERAGE_MIN`), on ``alpha_range`` x
  ``beta_range`` (arcsec, the cube's outer edges); ``centroid``, the scorer's centroid in it
  (:func:`validation.mrs_score.score_cubes`), and ``true``, the truth's position of source 0
  in the band's flight frame;
* ``wavelength``, ``flux`` (NaN where unusable) and ``unit``: the band's x1d spectrum; ``lines``,
  the true centres of the source's lines in the band; ``true_jy``, the true continuum's F_nu
  at each plane, only when the x1d is in Jy.

Issue 17's effects, before and after their corrections, each only when the exposure was simulated
with it (its truth's ``FRINGE``, leak, ``XART``):

* ``mrs_fringe:<band>`` (:func:`fringe_view`): the x1d over the true continuum, its smooth part
  divided out (``r`` of :mod:`validation.mrs_fringe_score`), on the continuum planes, before
  ``residual_fringe`` (the ``prerf`` product: after the fringe flat alone) and after it, with
  each one's sinusoid amplitude over the fringe's periods and the noise floor;
* ``mrs_leak`` (:func:`leak_view`): band 3A's x1d over the true continuum without the leak near
  12.2 um, before ``spectral_leak`` (the ``preleak`` product) and after it, against ``1 + L / S``,
  the injected leak (:func:`validation.mrs_leak_score.truth_leak`);
* ``mrs_xart`` (:func:`xart_view`, when ``straylight`` ran): a detector row cut, the mean of
  :data:`XART_ROWS` rows about the row the injected artifact is largest in: the rate before
  ``straylight`` (detector1's), the model it subtracted (``xart``), the rate after, the truth's
  injected XART (over the true gain) and the true rate without it; ``gap``, the columns no slice
  lights on those rows (the truth's ``SLICE``), where the rate is the artifact's alone.

A step that did not run leaves no ``before`` (the x1d is then both, and the view says so).
"""
import warnings

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import mrs_extract
from miri_testbed.instrument import dq as dqflags
from miri_testbed.simulator.spectral_leak import LEAK_BAND

from . import lrs_score, mrs_fringe_score, mrs_leak_score, mrs_score
from .lrs_flux import is_jy
from .score import as_truth, open_product

#: Rows averaged in the cross-artifact's row cut (the artifact changes little over them; the noise falls).
XART_ROWS = 17
#: The leak view's half window, in the truth's leak sigma (the scorer fits 6).
LEAK_WINDOW_SIGMA = 8.0


def band_view(truth, cube_path, spectra):
    """``(name, view)`` of one band (module docstring); ``spectra``: :func:`validation.mrs_score.read_spectra`."""
    band, cube = mrs_score.read_cube(cube_path)
    grid = cube.grid
    usable = np.isfinite(cube.data) & (cube.coverage >= mrs_extract.COVERAGE_MIN)
    image = np.sum(np.where(usable, cube.data, 0.0), axis=0) * grid.wavelength.step
    source = [r for r in truth.table("SOURCES") if str(r["band"]) == band and int(r["id"]) == 0]
    view = dict(image=image, alpha_range=grid.alpha.edges[[0, -1]], beta_range=grid.beta.edges[[0, -1]],
                centroid=np.array(mrs_extract.centroid(cube, mrs_score.CENTROID_LD)),
                true=np.array([source[0]["alpha"], source[0]["beta"]], float) if source else np.full(2, np.nan))
    spectrum = spectra.get(band)
    if spectrum is not None:
        lines = truth.table("LINES")
        centres = np.asarray(lines["centre_um"][np.asarray(lines["source_id"]) == spectrum.source_id], float)
        lam = spectrum.wavelength
        view.update(wavelength=lam, flux=np.where(spectrum.usable, spectrum.flux, np.nan), unit=spectrum.unit,
                    lines=centres[(centres >= lam[0]) & (centres <= lam[-1])])
        if is_jy(spectrum):
            continuum = lrs_score.source_continuum(truth, spectrum, "x1d")
            view["true_jy"] = 1e-3 * continuum.flux_density_mjy(lam)
    return f"mrs:{band}", view


def residual_fringe_choice(algorithms):
    """The cell's residual-fringe corrections as a label, e.g. ``"residual_fringe_2d=fit, residual_fringe=fit"``.

    ``"none"`` when neither step is chosen.
    """
    chosen = [f"{step}={name}" for step in ("residual_fringe_2d", "residual_fringe")
              if (name := (algorithms or {}).get(step, "none")) != "none"]
    return ", ".join(chosen) or "none"


def fringe_view(truth, band, after, before, variant, correlation=None):
    """The ``mrs_fringe:<band>`` view (module docstring), or None for a band the fringe scorer cannot score.

    ``after``, ``before``: the band's x1d and ``prerf`` :class:`validation.lrs_score.Spectrum` (``before``
    None when ``residual_fringe`` did not run); ``variant``: the cell's residual-fringe corrections
    (:func:`residual_fringe_choice`); ``correlation``: the x1d's ``plane_correlation`` for the floor, or None
    (:func:`validation.mrs_fringe_score.spectrum_floor`).
    """
    lines = truth.table("LINES")
    scored = mrs_score.continuum_planes(after, lines)
    continuum = lrs_score.source_continuum(truth, after, "x1d").flux_density_mjy(after.wavelength[scored])
    view = dict(wavelength=after.wavelength[scored], variant=variant)
    for name, spectrum in (("after", after), ("before", before)):
        found = None if spectrum is None else mrs_fringe_score.relative_residual(spectrum, scored, continuum)
        if found is None:
            if name == "after":
                return None
            continue
        sigma, r, e = found
        periods, amplitudes = mrs_fringe_score.amplitudes(sigma, r, e)
        view.update({name: r, f"{name}_amplitudes": amplitudes, "periods": periods})
        if name == "after":
            view.update(error=e, floor=mrs_fringe_score.spectrum_floor(sigma, e, scored, correlation))
    return view


def leak_view(truth, after, before):
    """The ``mrs_leak`` view (module docstring), or None without the leak or a 3A spectrum in Jy.

    ``after``, ``before``: 3A's x1d and ``preleak`` spectra (``before`` None when ``spectral_leak`` did not run).
    """
    found = mrs_leak_score.truth_leak(truth.config, after.source_id, after.wavelength) if is_jy(after) else None
    if found is None:
        return None
    continuum, leak, curve = found
    near = after.usable & (np.abs(after.wavelength - curve.centre_um) < LEAK_WINDOW_SIGMA * curve.sigma_um)
    view = dict(wavelength=after.wavelength[near], injected=1 + leak[near] / continuum[near],
                error=1e3 * after.error[near] / continuum[near])
    for name, spectrum in (("after", after), ("before", before)):
        if spectrum is None:
            continue
        flux = np.where(spectrum.usable, 1e3 * spectrum.flux, np.nan)
        view[name] = flux[near] / continuum[near]
        view[f"{name}_residual"] = mrs_leak_score.leak_residual(spectrum.wavelength, flux, continuum, leak,
                                                               curve.centre_um, curve.sigma_um)[0]
    return view


def xart_view(truth, rate_path, xart_path):
    """The ``mrs_xart`` view (module docstring): row cuts of the rate before and after ``straylight``, DN/s."""
    with open_product(xart_path, dm.ImageModel, "xart", "an MRS cross-artifact model") as model:
        subtracted, dq = np.asarray(model.data, float), np.asarray(model.dq)
        detector = model.meta.instrument.detector
    with open_product(rate_path, dm.ImageModel, "rate", "a rate image") as model:
        before = np.asarray(model.data, float)
    injected = truth.image("XART", detector) / float(truth.header["GAIN"])
    usable = np.isfinite(before) & ((dq & (dqflags.DO_NOT_USE | dqflags.REFERENCE_PIXEL)) == 0)
    centre = int(np.argmax(injected.sum(axis=1)))
    rows = slice(max(centre - XART_ROWS // 2, 0), centre + XART_ROWS // 2 + 1)

    def cut(image):
        with warnings.catch_warnings():  # a column with no usable pixel on these rows: NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(np.where(usable[rows], image[rows], np.nan), axis=0)

    return dict(before=cut(before), model=cut(subtracted), after=cut(before - subtracted), injected=cut(injected),
                true=cut(_image(truth, "RATE", detector) - injected), rows=np.array([rows.start, rows.stop - 1]),
                gap=np.all(_image(truth, "SLICE", detector)[rows] == 0, axis=0) & np.any(usable[rows], axis=0),
                detector=str(detector))


def _image(truth, name, detector):
    """The truth's image ``name`` of ``detector``, or the exposure's (one detector's truth keeps some without it)."""
    return truth.image(name, detector if detector in truth.detectors(name) else None)


def _spectra(products, suffix):
    return mrs_score.read_spectra(products[suffix]) if suffix in products else {}


def cell_views(truth, products, algorithms=None):
    """The MRS views of one cell (module docstring): ``{view name: view}``; ``algorithms``: its ``{step: name}``."""
    if "s3d" not in products:
        return {}
    truth = as_truth(truth, ("LINES", "SOURCES"))
    spectra = _spectra(products, "x1d")
    paths = products["s3d"] if isinstance(products["s3d"], tuple | list) else (products["s3d"],)
    views = dict(band_view(truth, path, spectra) for path in paths)
    if truth.has("FRINGE"):
        before = _spectra(products, "prerf")
        correlations = mrs_score.plane_correlations(products["x1d"]) if spectra else {}
        for band, spectrum in spectra.items():
            view = fringe_view(truth, band, spectrum, before.get(band), residual_fringe_choice(algorithms),
                               correlations.get(band))
            if view is not None:
                views[f"mrs_fringe:{band}"] = view
    if LEAK_BAND in spectra:
        view = leak_view(truth, spectra[LEAK_BAND], _spectra(products, "preleak").get(LEAK_BAND))
        if view is not None:
            views["mrs_leak"] = view
    if truth.has("XART") and "xart" in products:
        views["mrs_xart"] = xart_view(truth, products["rate"], products["xart"])
    return views
