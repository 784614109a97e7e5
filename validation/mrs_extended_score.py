"""Score an MRS cube against an extended source's true surface brightness: ``mrs_sb_ratio`` (issue 16).

The truth (the input cube, sky x wavelength) is not stored: it follows from each
:class:`simulator.ExtendedSource` of the truth's configuration and its centre in each band's
frame (the truth's ``SOURCES``), on the cube's own spaxel grid:

    I(alpha, beta, lambda) = F_nu(lambda) p(alpha - alpha_0, beta - beta_0)

in MJy/sr (``F_nu`` the source's continuum in mJy, its lines left out; ``p`` its profile per
arcsec^2, :meth:`simulator.ExtendedSource.surface_density`, at each spaxel's centre, read through the band's
frame as the simulator reads it, :func:`simulator.mrs.profile_frame`).  The cube
holds the sky blurred by the PSF, so the region scored keeps away from where the blur moves
light: the covered spaxels where the truth is at least half its peak, eroded by
:data:`EROSION_LD` lambda/D (at the band's middle) in alpha and beta.  Per band and extended
source (``source_id``, ``bin`` = :func:`validation.mrs_score.band_bin`):

    mrs_sb_ratio = sum_region cube / sum_region I

over the planes farther than :data:`LINE_WINDOW_FWHM` line-spread FWHM from every line of the
source.  For a source much broader than the PSF (uniform-ish) it measures the cube's surface
brightness scale (PHOTOM, cube_build); a source not that broad is scored only where its
eroded half-maximum region leaves spaxels (else no row), and its core still loses some light
to the PSF's wings beyond the erosion (``1 - EE`` of the PSF at 2 lambda/D, a few %, where
the profile falls off across it).  A cube in DN/s (no MRS PHOTOM) gives no row.
"""
import numpy as np
from scipy import ndimage
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import mrs
from miri_testbed.simulator import ExtendedSource
from miri_testbed.simulator import mrs as mrs_sim
from miri_testbed.simulator.spectra import SourceSpectrum, spectrum_from_dict

from .mrs_score import _mrs_truth, band_bin, read_cube
from .score import open_product

METRICS = ("mrs_sb_ratio",)
#: The half-maximum region is eroded by this many lambda/D (at the band's middle).
EROSION_LD = 2.0
#: Planes within this many line-spread FWHM of a line of the source are left out.
LINE_WINDOW_FWHM = 5.0
_ARCSEC2_SR = (np.pi / 180 / 3600) ** 2


def extended_sources(truth):
    """``{source id: ExtendedSource}`` of the truth's scene (its configuration)."""
    return {i: ExtendedSource(**s) for i, s in enumerate(truth.config["scene"]["sources"]) if "profile" in s}


def true_surface_brightness(source, wavelength_um, alpha, beta, centre, frame=None):
    """``I`` (MJy/sr, module docstring) on the grid ``(wavelength, beta, alpha)`` of the given axes' centres.

    ``frame``: :func:`simulator.mrs.profile_frame` at the centre (None: the identity), as the simulator reads the
    profile in the band.
    """
    f_nu = SourceSpectrum(spectrum_from_dict(source.spectrum).continuum).flux_density_mjy(wavelength_um)
    p = source.surface_density(alpha[None, :] - centre[0], beta[:, None] - centre[1], frame)
    return f_nu[:, None, None] * p[None, :, :] * 1e-9 / _ARCSEC2_SR


def region(truth_plane, grid, band):
    """The spaxels scored (module docstring): truth >= half its peak, eroded by EROSION_LD lambda/D."""
    lam = float(np.mean(mrs.band(band).wavelength_range))
    radius = EROSION_LD * mrs.lambda_over_d(lam)
    na, nb = int(np.ceil(radius / grid.alpha.step)), int(np.ceil(radius / grid.beta.step))
    da, db = np.arange(-na, na + 1) * grid.alpha.step, np.arange(-nb, nb + 1) * grid.beta.step
    disk = np.hypot(da[None, :], db[:, None]) <= radius
    return ndimage.binary_erosion(truth_plane >= 0.5 * truth_plane.max(), structure=disk)


def _unit(path):
    with open_product(path, dm.IFUCubeModel, "s3d", "a cube") as model:
        return str(model.meta.bunit_data)


def score_cubes(truth, cube_paths):
    """``mrs_sb_ratio`` rows of each band's cube and each extended source (module docstring); none without one.

    Raises
    ------
    ScoreInputError
        A truth of another mode, or a file that is not a cube.
    """
    truth = _mrs_truth(truth, ("SOURCES",), "MRS extended-source")
    sources = extended_sources(truth)
    if not sources:
        return []
    table, lines = truth.table("SOURCES"), truth.table("LINES")
    dither_channel = int(truth.config["observation"].get("dither_channel", 1))
    rows = []
    for path in cube_paths if isinstance(cube_paths, tuple | list) else (cube_paths,):
        band, cube = read_cube(path)
        if _unit(path) != "MJy/sr":
            continue
        grid = cube.grid
        wavelength = grid.wavelength.centres
        for source_id, source in sources.items():
            where = table[(table["band"] == band) & (table["id"] == source_id)][0]
            centre = (float(where["alpha"]), float(where["beta"]))
            frame = mrs_sim.profile_frame(band, *centre, dither_channel)
            true = true_surface_brightness(source, wavelength, grid.alpha.centres, grid.beta.centres, centre, frame)
            keep = region(true[len(wavelength) // 2], grid, band)
            fwhm = wavelength / mrs_sim.resolving_power(wavelength)
            planes = np.ones(len(wavelength), bool)
            for line in lines[lines["source_id"] == source_id]:
                planes &= np.abs(wavelength - float(line["centre_um"])) > LINE_WINDOW_FWHM * fwhm
            measured = cube.data[planes][:, keep]
            usable = np.isfinite(measured)
            if not usable.any():
                continue
            ratio = float(np.sum(measured[usable]) / np.sum(true[planes][:, keep][usable]))
            rows.append(dict(metric="mrs_sb_ratio", value=ratio, unit="ratio", source_id=source_id,
                             bin=band_bin(band)))
    return rows
