"""spec2 for the LRS (MIR_LRS-FIXEDSLIT, MIR_LRS-SLITLESS): rate -> x1d, a 1-D spectrum in DN/s.

assign_wcs (:mod:`calibration.lrs_wcs`: wavelength and trace column of each row from the
SPECWCS reference) -> the source found along x (:func:`calibration.extract1d.locate`) ->
spec_background (:mod:`calibration.lrs_background`: the other nod, or sky columns) ->
pixel_replace (:mod:`calibration.pixel_replace`: bad pixels near the trace from the profile) ->
extract_1d (:mod:`calibration.extract1d`: box or optimal), each through the step shell.

The product, ``<name>_x1d.fits``, is a ``MultiSpecModel`` with one ``spec`` per extracted
source (the science nod's source; slitless, the source at the reference point), named
``source 0``: its ``spec_table`` has a row per detector row whose assigned wavelength is
within :data:`instrument.lrs.WAVELENGTH_RANGE_UM` (5-14 um), by increasing WAVELENGTH
(um), with FLUX and FLUX_ERROR in DN/s summed over the extraction aperture (no
photometric calibration yet: the columns' units say ``DN/s``), DQ, NPIXELS and BACKGROUND
(the subtracted background in the same aperture, DN/s); the FLUX_VAR_* and surface
brightness columns are NaN (not computed).  ``source_xpos``/``source_ypos`` are the
trace's column and row at the reference point (0-based, the exposure's frame).  The rows
are detector rows, not resampled.

Where the source is along x: the SPECWCS trace is that of a source at the reference
point; nods and acquisition put it elsewhere along the slit, so the trace is moved by the
offset found in the rate image, searched within the slit (its length,
:data:`instrument.lrs.SLIT_LENGTH_ARCSEC`, about the reference point, which is the slit
centre) or slitless within :data:`LOCATE_SLITLESS_PIX` (target acquisition is good to
~10 mas).  A source too faint to find (S/N < 5 over the whole trace) keeps the table's
trace, and HISTORY says so.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import imager, lrs

from . import CalibrationInputError, background, detector1, extract1d, lrs_photom, lrs_sky_loss, lrs_wcs, registry
from .inputs import open_uncal
from .products import derived
from .steps import StepLog

SLIT = "MIR_LRS-FIXEDSLIT"
#: Largest offset from the SPECWCS trace searched for a slitless source, pixels.
LOCATE_SLITLESS_PIX = 5.0
#: Columns at each end of the slit left out of the sky (its edges cut pixels partly).
SLIT_MARGIN_PIX = 1.0


def nodded(exposure):
    """Whether ``exposure`` is one of an along-slit nod pair (PATTTYPE ALONG-SLIT-NOD)."""
    return "NOD" in str(exposure.meta.dither.primary_type or "").upper()


def background_paths(choice, exposure, uncal_path, given=None):
    """The other nod exposure(s) the ``spec_background`` step subtracts.

    ``given`` (a path or a list), else the ``background`` members of the associations beside
    the uncal that list it as ``science`` (:func:`calibration.background.association_backgrounds`);
    none for the ``columns`` and ``none`` variants.

    Raises
    ------
    CalibrationInputError
        For exposures given with ``columns`` or ``none``; for ``nod`` without one; for
        ``auto`` on a nod exposure without its other nod; for a file that does not exist
        or is the science exposure itself.
    """
    variant = choice["spec_background"]
    given = [given] if isinstance(given, (str, Path)) else list(given or [])
    uncal_path = Path(uncal_path)
    if variant not in ("auto", "nod"):
        if given:
            raise CalibrationInputError(f"background exposure(s) {', '.join(map(str, given))} given but the "
                                        f"spec_background step is {variant!r}; choose spec_background=nod")
        return []
    paths = [Path(p) for p in given] or background.association_backgrounds(uncal_path)
    if not paths and (variant == "nod" or nodded(exposure)):
        why = (f"an along-slit nod exposure (PATTTYPE {exposure.meta.dither.primary_type})" if nodded(exposure)
               else "spec_background=nod")
        raise CalibrationInputError(
            f"{uncal_path}: {why} needs the other nod as its background: no association (*_asn.json) beside it "
            f"lists a background member, and none was given (--background FILE); choose spec_background=columns "
            f"to take the sky from columns away from the trace")
    return background.checked_paths(paths, uncal_path)


def background_rates(paths, science, folder, choice):
    """Background exposures checked and calibrated through detector1: ``[(rate, var)]``.

    The LRS's other nods, the MRS's dedicated backgrounds; each checked against the science
    (:func:`calibration.background.check_dedicated`).
    """
    calibrated = []
    for path in paths:
        other = open_uncal(path)
        background.check_dedicated(science, other)
        d1 = detector1.run(StepLog(), other, folder, choice)  # a background's steps make no product of their own
        calibrated.append((d1.rate, d1.var_poisson + d1.var_rnoise))
    return calibrated


def sky_columns(exposure, table, dq):
    """Columns that see the sky: science columns (no REFERENCE_PIXEL), and for the slit those inside it."""
    columns = ~np.any((dq & dqflags.REFERENCE_PIXEL) != 0, axis=0)
    if str(exposure.meta.exposure.type).upper() == SLIT:
        half = lrs.SLIT_LENGTH_ARCSEC / 2 / imager.PIXEL_SCALE_X_ARCSEC - SLIT_MARGIN_PIX
        columns &= np.abs(np.arange(dq.shape[1]) - table.x_ref) <= half
    return columns


def _spectrum_rows(wavelength, trace_x, nx):
    """Rows to extract: wavelength in the documented range, the widest aperture inside the frame."""
    lo, hi = lrs.WAVELENGTH_RANGE_UM
    half = max(extract1d.BOX_WIDTH_PIX / 2, extract1d.OPTIMAL_HALF_WIDTH_PIX)
    with np.errstate(invalid="ignore"):
        return (wavelength >= lo) & (wavelength <= hi) & (trace_x - half >= 0) & (trace_x + half <= nx - 1)


def x1d_product(rate_model, wavelength, spectrum, background_rate, rows, source_xy):
    """The x1d ``MultiSpecModel`` (module docstring).

    Parameters
    ----------
    rate_model : ImageModel
        Its metadata go to the product.
    wavelength : (ny,) float
        Assigned wavelength of each row.
    spectrum : calibration.extract1d.Extracted
    background_rate : (ny, nx) float
        The background the spec_background step subtracted.
    rows : (ny,) bool
        Rows in the product.
    source_xy : (float, float)
        ``source_xpos``, ``source_ypos``.

    Returns
    -------
    MultiSpecModel
    """
    index = np.flatnonzero(rows)
    index = index[np.argsort(wavelength[index])]
    table = np.zeros(index.size, dtype=dm.SpecModel().get_dtype("spec_table"))
    for name in table.dtype.names:
        if table.dtype[name].kind == "f":
            table[name] = np.nan
    background_in = np.sum(spectrum.weights * np.nan_to_num(background_rate), axis=1)
    table["WAVELENGTH"] = wavelength[index]
    table["FLUX"], table["FLUX_ERROR"] = spectrum.flux[index], spectrum.error[index]
    table["DQ"], table["NPIXELS"] = spectrum.dq[index], spectrum.npixels[index]
    table["BACKGROUND"] = background_in[index]
    spec = dm.SpecModel(spec_table=table)
    spec.spec_table.columns["wavelength"].unit = "um"
    for name in ("flux", "flux_error", "background"):
        spec.spec_table.columns[name].unit = "DN/s"
    spec.name, spec.source_id, spec.source_type = "source 0", 0, "POINT"
    spec.source_xpos, spec.source_ypos = source_xy
    x1d = derived(dm.MultiSpecModel, rate_model)
    x1d.spec.append(spec)
    return x1d


@dataclass
class Traced:
    """What spec2 knows before it extracts (:func:`trace_and_background`).

    Parameters
    ----------
    table : calibration.lrs_wcs.LrsTable
        The SPECWCS read in the exposure's frame.
    wavelength, trace_x : (ny,) float
        Assigned wavelength and trace column (the table's plus ``dx``) of each row.
    dx : float
        The source's offset along x from the table's trace, found in the rate.
    rows : (ny,) bool
        Rows in the product (:func:`_spectrum_rows`).
    sci, var : (ny, nx) float
        The background-subtracted rate and its variance.
    var_row : (ny,) float
        The background estimate's variance shared by each row's pixels.
    background_region : calibration.lrs_sky_loss.Region or None
        Where the background was taken (None: nothing subtracted), for apcorr.
    """

    table: object
    wavelength: np.ndarray
    trace_x: np.ndarray
    dx: float
    rows: np.ndarray
    sci: np.ndarray
    var: np.ndarray
    var_row: np.ndarray
    background_region: object = None


def trace_and_background(log, exposure, d1, folder, choice, background_paths=()):
    """assign_wcs, the source's offset along x and spec_background on the rate (module docstring).

    Parameters
    ----------
    log, exposure, d1, folder, choice, background_paths
        As :func:`run`.

    Returns
    -------
    Traced
    """
    table = lrs_wcs.load_table(folder, exposure)
    ny, nx = d1.rate.shape
    wavelength, table_x = log.run("assign_wcs", choice["assign_wcs"], np.arange(ny, dtype=float), table)
    var = d1.var_poisson + d1.var_rnoise
    sky = sky_columns(exposure, table, d1.dq)
    slit = str(exposure.meta.exposure.type).upper() == SLIT
    search = lrs.SLIT_LENGTH_ARCSEC / 2 / imager.PIXEL_SCALE_X_ARCSEC if slit else LOCATE_SLITLESS_PIX
    dx, snr = extract1d.locate(d1.rate, var, d1.dq, np.where(_spectrum_rows(wavelength, table_x, nx), table_x, np.nan),
                               sky, search)
    log.note("extract_1d", f"extract_1d: trace {dx:+.3f} px along x from the SPECWCS trace (found at S/N {snr:.0f})"
             if snr >= extract1d.LOCATE_MIN_SNR else
             f"extract_1d: source not found (S/N {snr:.1f} < {extract1d.LOCATE_MIN_SNR:g}): the SPECWCS trace is used")
    trace_x = table_x + dx
    rows = _spectrum_rows(wavelength, trace_x, nx)
    variant = choice["spec_background"]
    nods = []  # the other nods, calibrated, when the step resolves them

    def resolve_nods():
        nods.extend(background_rates(background_paths, exposure, folder, choice))
        return (nods,)

    sci, var, var_row = log.run("spec_background", variant, d1.rate, var, trace_x, sky, resolve=resolve_nods)
    table_rows = np.where(_spectrum_rows(wavelength, table_x, nx), table_x, np.nan)
    found = [extract1d.locate(rate, v, d1.dq, table_rows, sky, search) for rate, v in nods]
    other_dx = [d - dx for d, s in found if s >= extract1d.LOCATE_MIN_SNR]
    ran = variant if log.record("spec_background").status == "COMPLETE" and len(other_dx) == len(nods) else "none"
    if background_paths and variant in ("auto", "nod"):
        names = ", ".join(Path(p).name for p in background_paths)
        log.note("spec_background", f"spec_background: nod background {names}")
    elif variant == "auto":
        log.note("spec_background", "spec_background: auto ran columns (no nod background)")
    return Traced(table, wavelength, trace_x, dx, rows, sci, var, var_row,
                  lrs_sky_loss.region(ran, nods, np.where(rows, trace_x, np.nan), sky, other_dx,
                                      lrs.SLIT_WIDTH_ARCSEC / imager.PIXEL_SCALE_Y_ARCSEC if slit else None))


def source_position(traced, choice):
    """``source_xpos``, ``source_ypos``: the trace's column and row at the reference point."""
    table = traced.table
    x = registry.get("assign_wcs", choice["assign_wcs"])(np.array([table.y_ref]), table)[1][0] + traced.dx
    return float(x), float(table.y_ref)


def run(log, exposure, d1, folder, choice, background_paths=()):
    """spec2 of one LRS exposure: ``{"x1d": MultiSpecModel}``.

    Parameters
    ----------
    log : StepLog
    exposure : RampModel
    d1 : calibration.detector1.Detector1
    folder : path
        Reference folder (its SPECWCS is required).
    choice : dict
        ``{step: variant}``.
    background_paths : list of path
        The other nod(s) (:func:`background_paths`).

    Returns
    -------
    dict

    Raises
    ------
    CalibrationInputError
        Without a SPECWCS reference for the exposure, or with a background exposure that
        does not match it.
    """
    t = trace_and_background(log, exposure, d1, folder, choice, background_paths)
    trace = np.where(t.rows, t.trace_x, np.nan)
    sci, var, dq = log.run("pixel_replace", choice["pixel_replace"], t.sci, t.var, d1.dq, trace)
    spectrum = log.run("extract_1d", choice["extract_1d"], sci, var, t.var_row, dq, trace)
    source_xy = source_position(t, choice)
    spectrum, photom, unit, files = lrs_photom.run(log, exposure, folder, choice, spectrum, t.wavelength,
                                                   np.where(t.rows, t.trace_x, np.nan), source_xy[0] - t.table.x_ref,
                                                   t.background_region)
    x1d = x1d_product(d1.rate_model, t.wavelength, spectrum, (d1.rate - t.sci) * photom[:, None], t.rows, source_xy)
    lrs_photom.label(x1d, unit, files)
    x1d.meta.ref_file.specwcs.name = t.table.filename
    log.stamp(x1d)
    return {"x1d": x1d}
