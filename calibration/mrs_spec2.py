"""spec2 for the MRS (MIR_MRS): rate -> a cube per band (s3d) and a point source's spectrum per band (x1d).

``mrs_wcs`` (:mod:`calibration.mrs_wcs`: each lit pixel's slice, alpha, beta, lambda and
footprint from the DISTORTION, SPECWCS, WAVELENGTHRANGE and, if any, REGIONS references) ->
``cube_build`` (:mod:`calibration.cube_build`: a 3-D drizzle into each band's regular
(alpha, beta, lambda) cube) -> ``mrs_extract`` (:mod:`calibration.mrs_extract`: a conical
aperture about the centroid, an annulus background, an Airy aperture correction), each
through the step shell, once per band of the exposure (two per detector).

Products, in DN/s (no MRS PHOTOM yet):

- ``s3d``: a tuple of ``IFUCubeModel``, one per band (written ``<name>_ch<c>-<setting>_s3d.fits``,
  as jwst names its per-band cubes): ``data`` the surface brightness in
  DN / (s arcsec^2 um) on axes (lambda, beta, alpha) of the band's own frame, ``err``,
  ``dq`` (DO_NOT_USE where nothing covers), ``weightmap`` the covered share of each spaxel;
  the axes in ``meta.wcsinfo`` (CRPIX/CRVAL/CDELT, 1-based, ALPHA/BETA/WAVE).
- ``x1d``: a ``MultiSpecModel`` with one ``spec`` per band, named ``<band>`` (``1A`` ...),
  a row per plane: WAVELENGTH (um), FLUX and FLUX_ERROR (DN/s/um, aperture-corrected), DQ,
  NPIXELS (spaxels in the aperture), BACKGROUND (DN/s/um in the aperture, corrected as the
  flux is); ``source_xpos``/``source_ypos`` the centroid's alpha/beta (arcsec).
"""
import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import mrs

from . import CalibrationInputError, cube_build, mrs_wcs
from .products import derived

CUBE_UNIT = "DN / (s arcsec2 um)"
FLUX_UNIT = "DN/s/um"


def background_paths(choice, exposure, uncal_path, given=None):
    """No background exposures for the MRS yet (dedicated backgrounds are open).

    Called before detector1, it also refuses an exposure that is not an MRS one
    (:func:`calibration.mrs_wcs.check_exposure`), so no work is done on it.
    """
    mrs_wcs.check_exposure(exposure)
    if given:
        raise CalibrationInputError("background exposures for the MRS are not supported yet; the extraction "
                                    "takes its background from an annulus in the cube")
    return []


def cube_product(rate_model, cube, band):
    """The ``IFUCubeModel`` of one band's :class:`calibration.cube_build.Cube` (module docstring)."""
    covered = np.isfinite(cube.data)
    product = derived(dm.IFUCubeModel, rate_model, data=np.where(covered, cube.data, 0.0).astype(np.float32),
                      err=np.sqrt(np.where(covered, cube.var, 0.0)).astype(np.float32),
                      dq=np.where(covered, 0, dqflags.DO_NOT_USE).astype(np.uint32),
                      weightmap=cube.coverage.astype(np.float32))
    product.meta.instrument.channel = band[0]
    product.meta.instrument.band = band_setting(band)
    product.meta.bunit_data = CUBE_UNIT
    product.meta.bunit_err = CUBE_UNIT
    wcs = product.meta.wcsinfo
    for n, (axis, name, unit) in enumerate(((cube.grid.alpha, "ALPHA", "arcsec"), (cube.grid.beta, "BETA", "arcsec"),
                                            (cube.grid.wavelength, "WAVE", "um")), start=1):
        setattr(wcs, f"crpix{n}", 1.0)
        setattr(wcs, f"crval{n}", float(axis.centres[0]))
        setattr(wcs, f"cdelt{n}", float(axis.step))
        setattr(wcs, f"ctype{n}", name)
        setattr(wcs, f"cunit{n}", unit)
    return product


def band_setting(band):
    """The grating setting (keyword BAND) of a band name: "1A" -> "SHORT"."""
    return {v: k for k, v in mrs.SETTINGS.items()}[band[1]]


def spec_product(spectrum, band):
    """One band's ``SpecModel`` (module docstring)."""
    table = np.zeros(len(spectrum.wavelength), dtype=dm.SpecModel().get_dtype("spec_table"))
    for name in table.dtype.names:
        if table.dtype[name].kind == "f":
            table[name] = np.nan
    table["WAVELENGTH"], table["FLUX"], table["FLUX_ERROR"] = spectrum.wavelength, spectrum.flux, spectrum.error
    table["DQ"], table["NPIXELS"], table["BACKGROUND"] = spectrum.dq, spectrum.npixels, spectrum.background
    spec = dm.SpecModel(spec_table=table)
    spec.spec_table.columns["wavelength"].unit = "um"
    for name in ("flux", "flux_error", "background"):
        spec.spec_table.columns[name].unit = FLUX_UNIT
    spec.name, spec.source_id, spec.source_type = band, 0, "POINT"
    spec.source_xpos, spec.source_ypos = spectrum.centre
    return spec


def run(log, exposure, d1, folder, choice, background_paths=()):
    """spec2 of one MRS exposure: ``{"s3d": (IFUCubeModel, ...), "x1d": MultiSpecModel}`` (module docstring).

    Raises
    ------
    CalibrationInputError
        For an exposure that is not an MRS one or a missing geometry reference
        (:func:`calibration.mrs_wcs.read_references`).
    """
    references = mrs_wcs.read_references(folder, exposure)
    pixels = mrs_wcs.assign(log, choice, references, d1.rate.shape)
    var = d1.var_poisson + d1.var_rnoise
    cubes, x1d = [], derived(dm.MultiSpecModel, d1.rate_model)
    for band, band_pixels in pixels.items():
        good = mrs_wcs.usable(band_pixels, d1.rate, d1.dq)
        cube = log.run("cube_build", choice["cube_build"], band_pixels, d1.rate, var, good,
                       cube_build.grid_for(band_pixels))
        spectrum = log.run("mrs_extract", choice["mrs_extract"], cube)
        log.note("mrs_extract", f"mrs_extract {band}: centre alpha {spectrum.centre[0]:+.4f}\" beta "
                                f"{spectrum.centre[1]:+.4f}\", aperture correction {np.median(spectrum.apcorr):.4f} "
                                f"(Airy), covariance factor {spectrum.covariance_factor:.3f}")
        cubes.append(cube_product(d1.rate_model, cube, band))
        x1d.spec.append(spec_product(spectrum, band))
    for product in (*cubes, x1d):
        for kind, name in references.filenames.items():
            getattr(product.meta.ref_file, kind).name = name
        log.stamp(product)
    return {"s3d": tuple(cubes), "x1d": x1d}
