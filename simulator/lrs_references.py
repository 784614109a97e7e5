"""The LRS's flux-calibration references: PHOTOM, APCORR and (slit) PATHLOSS, in the JWST formats.

The light of a point source of flux density ``F_nu`` reaches a detector row ``y`` of the
trace as (the model of :mod:`simulator.lrs`)

    DN/s(y) = F_nu R(y) A(lambda, aperture) T(lambda, position),

* ``R(y) = S eta(lambda) n_1Jy(lambda) |d lambda / d y| / g``, the **response**: DN/s per
  row per Jy of all the light: ``S`` the collecting area, ``eta`` the system efficiency
  (:func:`simulator.lrs.system_efficiency`, an UNSOURCED placeholder: PHOTOM carries
  whatever it is), ``n_1Jy = 1 Jy / (h lambda)`` photons s^-1 m^-2 per unit wavelength,
  ``d lambda / d y`` the true trace's dispersion, ``g`` the mean gain; lambda = lambda_T(y);
* ``A``, the share of the light (through the slit) that an extraction aperture holds;
* ``T`` (slit only), the share of the source's light the slit's width passes.

**PHOTOM** (``MirLrsPhotomModel``; jwst's photom for MIR_LRS multiplies each pixel by
``photmjsr x relresponse(lambda)`` in MJy/sr per DN/s, and extract_1d turns a summed
surface brightness into flux density with the pixel's solid angle ``Omega``):
``photmjsr relresponse(lambda) = 1e-6 / (R Omega)`` MJy/sr per DN/s, with
``relresponse = 1`` at :data:`REFERENCE_UM`; one row (filter P750L, the mode's subarray)
tabulated at every quarter row of the trace over 5-14 um.  The wavelength of each
tabulated row is the one the written SPECWCS gives it, as a standard star calibrated
through that SPECWCS measures it: the response follows the rows (the flight table's
dispersion wiggles by a few % from row to row), so a wavelength error of the SPECWCS
does not move it off its rows.  ``perfect``: ``R``;
``measured``: ``R / (1 + e(lambda))``, ``e`` a grey term and a smooth cubic in wavelength
(Legendre over 5-14 um), each of ``photom_error`` rms (:class:`simulator.config.ReferenceOptions`,
0.3 %): the scatter of a standard star's model spectrum and its extraction, a
PLACEHOLDER inside params 6's "photometric calibration < 2 %" (G25 gives the imager's
formal uncertainty as 0.3-1.0 %).

**APCORR** (``MirLrsApcorrModel``, jwst's extract_1d multiplies a spectrum by
``apcorr(npixels, lambda)``, the width of the extraction box in pixels): ``1 / E(w, lambda)``,
``E`` the share of the light within ``+/- w / 2`` columns of the trace, measured on the
simulated monochromatic PSF (:func:`simulator.psf.monochromatic`) summed along the
dispersion: slitless, of all its light; slit, of the light its width passes (the PSF cut
by an endless slit of the same width, centred).  Widths 1-:data:`MAX_WIDTH_PIX` pixels,
:data:`APCORR_WAVELENGTHS_UM`.  The same for ``measured`` and ``perfect``: it is
measured on a PSF model, as CRDS's are.

**PATHLOSS** (``MirLrsPathlossModel``, slit): on a grid of source positions
(``x`` along the slit, ``y`` across, pixels from the reference point; WCS keywords as
jwst's pathloss reads them) and wavelengths, ``1 / T``: jwst multiplies an LRS
spectrum by the table's value.  ``T`` is the share of the PSF the slit's width passes
(:func:`simulator.lrs.slit_mask`), which depends on ``y``; along the slit it is the same
wherever the source sits, because the slit's ends cut only light further from the trace
than any extraction aperture reaches (for a source more than half an aperture from them):
the total through the slit does fall off along it (nod positions 0.2-0.4 % below the
centre, 1.8" from it 1.2-2.5 %), but dividing by that would over-correct an aperture's
light that never lost anything.  The same for ``measured`` and ``perfect``.
"""
from functools import partial

import numpy as np
from astropy import constants
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import imager, lrs, modes
from miri_testbed.instrument.files import save_model
from miri_testbed.instrument.refmeta import Selection

from . import psf
from .references import _describe, smooth_relative_error

#: Wavelength (um) where PHOTOM's relresponse is 1 (photmjsr is the conversion there).
REFERENCE_UM = 7.5
#: Row step of PHOTOM's tabulation, rows.
PHOTOM_ROW_STEP = 0.25
#: Rows tabulated beyond 5-14 um at each end.
PHOTOM_MARGIN_ROWS = 2
#: Wavelengths (um) of the APCORR and PATHLOSS tables.
APCORR_WAVELENGTHS_UM = np.round(np.arange(5.0, 14.01, 0.1), 2)
#: Widest aperture of the APCORR table, pixels: wide enough to give the PSF's share in a
#: background region, a sky 20-33 px from the trace needing 67-px boxes (within the
#: monochromatic PSF's 101-px stamp).
MAX_WIDTH_PIX = 80
#: PATHLOSS grid: step (pixels) of the source positions along and across the slit.
PATHLOSS_STEP_PIX = (2.0, 0.25)


def photons_per_jy(wavelength_um):
    """Photons s^-1 m^-2 um^-1 of a flux density of 1 Jy: ``1e-26 / (h lambda) * 1e-6``."""
    lam_m = np.asarray(wavelength_um, dtype=float) * 1e-6
    return 1e-26 / (constants.h.value * lam_m) * 1e-6


def response(table, y, gain, efficiency):
    """``R(y)``, DN/s per row per Jy of a point source's whole light (module docstring).

    Parameters
    ----------
    table : instrument.lrs.LrsTable
        The true trace.
    y : numpy.ndarray
        Rows (table coordinate: detector rows of a source at the reference point).
    gain : float
        e-/DN.
    efficiency : callable
        ``eta(lambda)``.
    """
    lam = table.wavelength_at_row(y)
    return (imager.COLLECTING_AREA_M2 * efficiency(lam) * photons_per_jy(lam) * np.abs(table.dispersion(lam))
            / gain)


def _usable_rows(table):
    """Rows every :data:`PHOTOM_ROW_STEP` over 5-14 um and :data:`PHOTOM_MARGIN_ROWS` beyond, within the table.

    The margin lets a SPECWCS a few nm off the truth still find every row of the
    spectrum (the rows beyond record only the PSF's spread light).
    """
    lo = max(table.wavelength_range_um[0], lrs.WAVELENGTH_RANGE_UM[0])
    hi = min(table.wavelength_range_um[1], lrs.WAVELENGTH_RANGE_UM[1])
    first, last = np.sort(table.trace(np.array([lo, hi]))[1])
    low, high = table.row_range
    return np.arange(max(np.floor(first) - PHOTOM_MARGIN_ROWS, np.ceil(low)),
                     min(np.ceil(last) + PHOTOM_MARGIN_ROWS, np.floor(high)) + 1e-9, PHOTOM_ROW_STEP)


def line_spread(wavelength_um, slit, half_columns=None):
    """The PSF's light per detector row around its centre, ``W(d)`` for ``d`` a multiple of 1/4 row.

    The monochromatic PSF (slit: cut by the slit's width) summed over columns (or over
    those within ``half_columns`` of its centre) and normalised to 1; ``W(d)`` is its share
    inside a row whose centre is ``d`` rows from the PSF's centre.  Returns
    ``(offsets d, W (len(wavelength_um), len(d)))``.
    """
    n = psf.MONOCHROMATIC_STAMP * psf.OVERSAMPLE
    centres = (np.arange(n) + 0.5 - n / 2) / psf.OVERSAMPLE  # sample centres, rows from the PSF centre
    d = np.arange(-(n // 2), n // 2 + 1) / psf.OVERSAMPLE
    cut = _width_cut(0.0) if slit else np.ones(n)
    columns = slice(None) if half_columns is None else np.abs(centres) < half_columns
    out = np.empty((len(wavelength_um), d.size))
    for i, lam in enumerate(wavelength_um):
        profile = psf.monochromatic(lam)[:, columns].sum(axis=1) * cut
        profile /= profile.sum()
        cumulative = np.concatenate([[0.0], np.cumsum(profile)])
        # samples with |d + centre| < 1/2: a run of OVERSAMPLE samples
        lo = np.searchsorted(centres, -d - 0.5)
        out[i] = cumulative[np.minimum(lo + psf.OVERSAMPLE, n)] - cumulative[lo]
    return d, out


def row_response(mode, true_table, y, gain, efficiency):
    """What a row of a point source's spectrum records per Jy: ``R`` seen through the line spread.

    A row gathers the light of the neighbouring rows' wavelengths as the PSF spreads it
    along the dispersion: ``R_row(y) = sum_d W_lambda(y)(d) R(y - d)`` (:func:`line_spread`,
    quarter-row steps, ``R = 0`` outside 5-14 um where the simulator lays no light), as a
    standard star measures the response row by row.  The tabulation step is the PSF's
    sampling, :data:`PHOTOM_ROW_STEP` = 1 / ``psf.OVERSAMPLE``.
    """
    d, spread = line_spread(APCORR_WAVELENGTHS_UM, mode == "lrs_slit")
    lo, hi = true_table.row_range
    grid = np.arange(y.min() - d.max(), y.max() - d.min() + 1e-9, PHOTOM_ROW_STEP)
    inside = (grid >= lo) & (grid <= hi)
    r = np.zeros(grid.size)
    r[inside] = response(true_table, grid[inside], gain, efficiency)
    lam_grid = np.full(grid.size, np.nan)
    lam_grid[inside] = true_table.wavelength_at_row(grid[inside])
    r[~((lam_grid >= lrs.WAVELENGTH_RANGE_UM[0]) & (lam_grid <= lrs.WAVELENGTH_RANGE_UM[1]))] = 0.0
    lam = true_table.wavelength_at_row(y)
    k = np.clip(np.searchsorted(APCORR_WAVELENGTHS_UM, lam) - 1, 0, APCORR_WAVELENGTHS_UM.size - 2)
    f = np.clip((lam - APCORR_WAVELENGTHS_UM[k]) / np.diff(APCORR_WAVELENGTHS_UM)[k], 0, 1)
    weights = (1 - f)[:, None] * spread[k] + f[:, None] * spread[k + 1]
    start = np.rint((y - grid[0]) / PHOTOM_ROW_STEP).astype(int)  # index of y in the grid
    steps = np.rint(d / PHOTOM_ROW_STEP).astype(int)
    # each quarter-row bin holds a quarter of a row's light
    return np.sum(weights * r[start[:, None] - steps[None, :]], axis=1) / psf.OVERSAMPLE


def photom_model(mode, true_table, specwcs_table, gain, efficiency, error=None):
    """The PHOTOM of ``mode`` (module docstring): ``MirLrsPhotomModel`` with one row.

    ``error``: ``e(lambda)`` as a function (measured), or None (perfect).
    """
    y = _usable_rows(true_table)
    lam = specwcs_table.wavelength_at_row(y)
    r = row_response(mode, true_table, y, gain, efficiency)
    if error is not None:
        r = r / (1 + error(lam))
    order = np.argsort(lam)
    lam, r = lam[order], r[order]
    conversion = 1e-6 / (r * imager.pixel_solid_angle_sr())  # MJy/sr per DN/s
    photmjsr = float(np.interp(REFERENCE_UM, lam, conversion))
    n = lam.size
    dtype = [("filter", "S12"), ("subarray", "S17"), ("photmjsr", "f4"), ("uncertainty", "f4"), ("nelem", "i2"),
             ("wavelength", "f4", (n,)), ("relresponse", "f4", (n,)), ("reluncertainty", "f4", (n,))]
    row = (lrs.DISPERSER, lrs.SUBARRAYS[mode], photmjsr, 0.0, n, lam, conversion / photmjsr, np.zeros(n))
    model = dm.MirLrsPhotomModel(phot_table=np.array([row], dtype=dtype))
    model.meta.photometry.pixelarea_steradians = imager.pixel_solid_angle_sr()
    model.meta.photometry.pixelarea_arcsecsq = imager.PIXEL_SCALE_X_ARCSEC * imager.PIXEL_SCALE_Y_ARCSEC
    return model


def _width_cut(across_pix):
    """The fraction of each PSF sample row (y) inside the slit's width, for a source ``across_pix`` off its centre."""
    n = psf.MONOCHROMATIC_STAMP * psf.OVERSAMPLE
    edges = (np.arange(n + 1) - n / 2) / psf.OVERSAMPLE + across_pix
    half = lrs.SLIT_WIDTH_ARCSEC / imager.PIXEL_SCALE_Y_ARCSEC / 2
    return np.clip((np.minimum(edges[1:], half) - np.maximum(edges[:-1], -half)) * psf.OVERSAMPLE, 0, 1)


def enclosed(wavelength_um, slit, widths):
    """``E(w, lambda)``: the share of the light within ``+/- w / 2`` columns of the trace (module docstring).

    Returns
    -------
    numpy.ndarray
        ``(len(wavelength_um), len(widths))``.
    """
    n = psf.MONOCHROMATIC_STAMP * psf.OVERSAMPLE
    centres = (np.arange(n) + 0.5 - n / 2) / psf.OVERSAMPLE
    cut = _width_cut(0.0)[:, None] if slit else 1.0
    out = np.empty((len(wavelength_um), len(widths)))
    for i, lam in enumerate(wavelength_um):
        image = psf.monochromatic(lam) * cut
        profile = image.sum(axis=0)
        total = image.sum() if slit else 1.0  # the PSF's samples are fractions of all its light
        # the half widths fall on sample edges (integer widths, 4 samples per pixel)
        out[i] = [profile[np.abs(centres) < w / 2].sum() / total for w in widths]
    return out


def width_throughput(wavelength_um, across_pix):
    """``T``: the share of the PSF the slit's width passes, for a source ``across_pix`` off its centre."""
    return np.array([float(np.sum(psf.monochromatic(lam) * _width_cut(across_pix)[:, None]))
                     for lam in wavelength_um])


def apcorr_model(mode):
    """The APCORR of ``mode`` (module docstring): ``MirLrsApcorrModel`` with one row."""
    widths = np.arange(1, MAX_WIDTH_PIX + 1)
    lam = APCORR_WAVELENGTHS_UM
    ee = enclosed(lam, mode == "lrs_slit", widths)
    dtype = [("subarray", "S17"), ("wavelength", "f4", (lam.size,)), ("nelem_wl", "i2"),
             ("size", "u1", (widths.size,)), ("nelem_size", "i2"), ("apcorr", "f4", ee.shape),
             ("apcorr_err", "f4", ee.shape)]
    row = (lrs.SUBARRAYS[mode], lam, lam.size, widths, widths.size, 1.0 / ee, np.zeros(ee.shape))
    model = dm.MirLrsApcorrModel(apcorr_table=np.array([row], dtype=dtype))
    model.sizeunit = "pixel"
    return model


def pathloss_model():
    """The slit's PATHLOSS (module docstring): ``MirLrsPathlossModel``, ``1 / T`` on (wavelength, y, x)."""
    half_length = lrs.SLIT_LENGTH_ARCSEC / imager.PIXEL_SCALE_X_ARCSEC / 2
    half_width = lrs.SLIT_WIDTH_ARCSEC / imager.PIXEL_SCALE_Y_ARCSEC / 2
    step_x, step_y = PATHLOSS_STEP_PIX
    nx, ny = 2 * int(half_length // step_x) + 1, 2 * int(half_width // step_y) + 1
    ys = (np.arange(ny) - ny // 2) * step_y
    lam = APCORR_WAVELENGTHS_UM
    t = np.stack([width_throughput(lam, y) for y in ys], axis=1)  # (wavelength, y)
    cube = np.repeat((1.0 / t)[:, :, None], nx, axis=2).astype(np.float32)
    table = np.zeros(lam.size, dtype=[("wavelength", "f4"), ("pathloss", "f4", (ny, nx)),
                                      ("pathloss_err", "f4", (ny, nx))])
    table["wavelength"], table["pathloss"] = lam, cube
    model = dm.MirLrsPathlossModel(pathloss_table=table)
    w = model.meta.wcsinfo
    w.wcsaxes = 2
    w.crpix1, w.crval1, w.cdelt1, w.ctype1, w.cunit1 = nx // 2 + 1, 0.0, step_x, "X", "pixel"
    w.crpix2, w.crval2, w.cdelt2, w.ctype2, w.cunit2 = ny // 2 + 1, 0.0, step_y, "Y", "pixel"
    return model


def write_flux_references(folder, mode, options, true_table, specwcs_table, gain, efficiency, rng):
    """Write the mode's PHOTOM and APCORR, and the slit's PATHLOSS (module docstring).

    Parameters
    ----------
    folder : pathlib.Path
    mode : str
        ``lrs_slit`` or ``lrs_slitless``.
    options : simulator.config.ReferenceOptions
    true_table, specwcs_table : instrument.lrs.LrsTable
        The true trace, and the one the written SPECWCS holds.
    gain : float
        The detector's mean gain, e-/DN.
    efficiency : callable
        The system efficiency ``eta(lambda)``.
    rng : numpy.random.Generator
        Draws the measured PHOTOM's error.

    Returns
    -------
    dict
        ``{reftype: path}``.
    """
    selection = Selection(detector="MIRIMAGE", exp_type=modes.mode(mode).exp_type)
    error = None
    if options.kind == "measured":
        error = partial(np.interp, xp=APCORR_WAVELENGTHS_UM,
                        fp=smooth_relative_error(APCORR_WAVELENGTHS_UM, lrs.WAVELENGTH_RANGE_UM, options.photom_error,
                                                   rng))
    photom = _describe(photom_model(mode, true_table, specwcs_table, gain, efficiency, error), "PHOTOM", selection,
                       options, "LRS P750L response, MJy/sr per DN/s x relresponse(lambda)")
    apcorr = _describe(apcorr_model(mode), "APCORR", selection, options,
                       "LRS aperture corrections measured on the simulated PSF")
    paths = {"PHOTOM": save_model(photom, folder / f"miri_testbed_photom_{mode}.fits"),
             "APCORR": save_model(apcorr, folder / f"miri_testbed_apcorr_{mode}.fits")}
    if mode == "lrs_slit":
        pathloss = _describe(pathloss_model(), "PATHLOSS", selection, options,
                             "LRS slit losses measured on the simulated PSF, 1 / throughput")
        paths["PATHLOSS"] = save_model(pathloss, folder / "miri_testbed_pathloss_lrs_slit.fits")
    return paths
