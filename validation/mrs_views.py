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
"""
import numpy as np

from miri_testbed.calibration import mrs_extract

from . import lrs_score, mrs_score
from .lrs_flux import is_jy
from .score import as_truth


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


def cell_views(truth, products):
    """The MRS views of one cell (module docstring): ``{view name: view}``."""
    if "s3d" not in products:
        return {}
    truth = as_truth(truth, ("LINES", "SOURCES"))
    spectra = mrs_score.read_spectra(products["x1d"]) if "x1d" in products else {}
    paths = products["s3d"] if isinstance(products["s3d"], tuple | list) else (products["s3d"],)
    return dict(band_view(truth, path, spectra) for path in paths)
