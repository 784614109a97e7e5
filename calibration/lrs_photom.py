"""LRS flux calibration of an extracted spectrum: aperture correction, slit losses, DN/s -> Jy.

Three steps of spec2 (:mod:`calibration.spec2`), after extract_1d, each a pure function of
the spectrum's rows (one value per detector row, NaN where not extracted) and values read
from a JWST reference file, behind the step shell:

* ``apcorr`` (APCORR, ``MirLrsApcorrModel``: ``apcorr(size, lambda) = 1 / E``, ``E`` the
  share of the light within a box of ``size`` columns centred on the trace; jwst applies
  it in extract_1d).  Variant ``reference``: each row's flux divided by the share its
  aperture holds.  The share of a window ``[c - a, c + b]`` around the trace column ``c``
  is ``(E(2a) + E(2b)) / 2`` for a cross-dispersion profile symmetric about the trace;
  ``E`` interpolated linearly between the table's sizes and wavelengths.  The box
  (:data:`calibration.extract1d.BOX_WIDTH_PIX` with fractional edges) has ``a = b = 4``;
  the optimal window (whole pixels within
  :data:`calibration.extract1d.OPTIMAL_HALF_WIDTH_PIX`) has ``a = c - j_lo + 1/2``,
  ``b = j_hi + 1/2 - c`` (its estimate is of the window's whole rate).  Less the share
  the background subtraction took with the sky (:mod:`calibration.lrs_sky_loss`: the
  PSF's wings in the sky columns, the other nod's in the window), read from the same
  ``E`` when the table's sizes reach that far (else HISTORY says it was not corrected).
* ``pathloss`` (PATHLOSS, ``MirLrsPathlossModel``, slit only): the table's value at the
  source's position, bilinear in the position grid (its WCS keywords; pixels from the
  reference point) as jwst's pathloss reads it, then linear in wavelength, multiplies the
  flux (jwst's LRS convention: the table holds the correction).  The position along the
  slit is where spec2's locate found the trace; across the slit the source is taken as
  centred (nothing in the exposure measures it: target acquisition puts it there to
  ~10 mas).  A position outside the grid uses the slit centre, and HISTORY says so.
  Slitless exposures have no slit: the step declines.
* ``spec_photom`` (PHOTOM, ``MirLrsPhotomModel``, the row for P750L and the exposure's
  subarray): jwst's photom multiplies each pixel by ``photmjsr x relresponse(lambda)``
  (MJy/sr per DN/s) and extract_1d multiplies the summed surface brightness by the pixel's
  solid angle; for a spectrum already summed, ``F_nu [Jy] = DN/s x photmjsr x
  relresponse(lambda) x Omega x 1e6``, relresponse interpolated linearly in wavelength,
  with the table's time dependence (:func:`calibration.photom.time_correction`).  FLUX,
  FLUX_ERROR and the aperture's BACKGROUND become Jy.  Without an LRS PHOTOM the step is
  SKIPPED and they stay DN/s (the columns' units say which).

Every step scales a row's flux and its error by the same factor (apcorr's giving back of the
background's share solves for the rows together, and propagates their errors through the
solve); the factor's own uncertainty is a calibration systematic, not added to the errors
(as jwst).
"""
import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import lrs

from . import CalibrationInputError, Skip, extract1d, lrs_sky_loss
from . import references as refs
from .photom import time_correction

SLIT = "MIR_LRS-FIXEDSLIT"


def _interp(x, xp, fp):
    """Linear interpolation, NaN outside ``xp`` (no extrapolation)."""
    order = np.argsort(xp)
    return np.interp(x, np.asarray(xp)[order], np.asarray(fp)[order], left=np.nan, right=np.nan)


def window_halves(variant, trace_x):
    """Half widths ``(a, b)`` of each row's extraction window left and right of its trace (module docstring).

    Returns None for an extraction variant whose window is not known here.
    """
    if variant == "box":
        half = np.full(trace_x.shape, extract1d.BOX_WIDTH_PIX / 2)
        return half, half
    if variant == "optimal":
        h = extract1d.OPTIMAL_HALF_WIDTH_PIX
        with np.errstate(invalid="ignore"):
            return trace_x - np.ceil(trace_x - h) + 0.5, np.floor(trace_x + h) + 0.5 - trace_x
    return None


def apcorr(flux, error, wavelength, halves, table, removed=None):
    """Variant ``reference`` of ``apcorr`` (module docstring).

    Parameters
    ----------
    flux, error, wavelength : (n,) float
    halves : (a, b) of (n,) float or None
        :func:`window_halves`.
    table : (wavelength (m,), sizes (k,), enclosed (m, k))
        ``E`` at the table's wavelengths and sizes.
    removed : (u, v, region) or None
        The pixels whose source light the background subtraction took ``(n, p)``
        (:func:`calibration.lrs_sky_loss.removed_pixels`), within the table's sizes, and
        the :class:`calibration.lrs_sky_loss.Region` they came from; None: nothing taken,
        or not corrected.

    Returns
    -------
    (flux, error)
    """
    if halves is None:
        return Skip("the extraction's window is not known, so neither is its share of the light")
    lam_t, sizes, ee = table
    at_lambda = np.array([_interp(wavelength, lam_t, ee[:, k]) for k in range(sizes.size)])  # (k, n)
    if np.any(2 * np.nanmax(np.concatenate(halves)) > sizes.max()):
        raise CalibrationInputError(f"APCORR sizes end at {sizes.max()} px, narrower than the extraction window")
    share = np.zeros(wavelength.shape)
    for half in halves:
        share += 0.5 * np.array([np.interp(2 * h, sizes, at_lambda[:, i]) if np.isfinite(h) else np.nan
                                 for i, h in enumerate(half)])
    if removed is None:
        return flux / share, error / share
    u, v, where = removed
    coupling = lrs_sky_loss.coupling(u, v, where.trace_x, sizes, at_lambda, where.slit_rows)
    return lrs_sky_loss.give_back(flux, error, share, coupling, np.isfinite(where.trace_x) & np.isfinite(wavelength))


def pathloss(flux, error, wavelength, correction):
    """Variant ``reference`` of ``pathloss``: flux and error times the correction at each row's wavelength.

    ``correction``: ``(wavelength (m,), value (m,))`` at the source's position, or a
    :class:`~calibration.Skip` (slitless).
    """
    if isinstance(correction, Skip):
        return correction
    factor = _interp(wavelength, *correction)
    return flux * factor, error * factor


def spec_photom(flux, error, wavelength, conversion):
    """Variant ``reference`` of ``spec_photom``: ``(flux, error)`` times Jy per DN/s at each row, and that factor.

    ``conversion``: ``(wavelength (m,), Jy per DN/s (m,))``.
    """
    factor = _interp(wavelength, *conversion)
    return flux * factor, error * factor, factor


def _row(table, subarray):
    """The P750L row of a PHOTOM table for ``subarray`` (a GENERIC row serves any), or None."""
    filters = np.char.strip(np.char.upper(np.asarray(table["filter"]).astype(str)))
    subs = np.char.strip(np.char.upper(np.asarray(table["subarray"]).astype(str)))
    for wanted in (subarray, "GENERIC"):
        rows = np.flatnonzero((filters == lrs.DISPERSER) & (subs == wanted))
        if rows.size:
            return table[rows[0]]
    return None


def _open(path):
    """A reference as the data model its file names (an imager PHOTOM or APCORR is told apart by its columns)."""
    return dm.open(str(path))


def photom_conversion(folder, exposure):
    """``(wavelength, Jy per DN/s)`` from the exposure's LRS PHOTOM, its file name; or a Skip and None."""
    model, path = refs.load_optional(folder, "PHOTOM", exposure, _open)
    if model is None:
        return Skip(f"no PHOTOM reference in {folder} for {exposure.meta.exposure.type}"), None
    with model:
        names = model.phot_table.dtype.names if model.hasattr("phot_table") else ()
        if "relresponse" not in names:
            return Skip(f"{path.name} is not an LRS PHOTOM (no wavelength-dependent relresponse)"), None
        sub = str(exposure.meta.subarray.name).strip().upper()
        row = _row(model.phot_table, sub)
        if row is None:
            return Skip(f"{path.name} has no row for {lrs.DISPERSER} / {sub}"), None
        area = model.meta.photometry.pixelarea_steradians
        if not area or not np.isfinite(area) or area <= 0:
            raise CalibrationInputError(f"{path}: PHOTOM has no pixel solid angle (PIXAR_SR)")
        n = int(row["nelem"]) if "nelem" in names and row["nelem"] > 0 else len(row["wavelength"])
        lam = np.array(row["wavelength"][:n], dtype=float)
        lam = lam * 1e6 if 0 < lam.max() < 1e-4 else lam  # metres in some files (as jwst)
        factor = float(row["photmjsr"]) * np.array(row["relresponse"][:n], dtype=float) * float(area) * 1e6
        factor /= time_correction(model, lrs.DISPERSER, sub, exposure.meta.exposure.mid_time)
        if not np.all(np.isfinite(factor[np.isfinite(lam)])):
            raise CalibrationInputError(f"{path}: PHOTOM row {lrs.DISPERSER}/{sub} has non-finite values")
        return (lam, factor), path.name


def apcorr_table(folder, exposure):
    """``(wavelength, sizes, E)`` from the exposure's APCORR row, its file name; or a Skip and None."""
    model, path = refs.load_optional(folder, "APCORR", exposure, _open)
    if model is None:
        return Skip(f"no APCORR reference in {folder} for {exposure.meta.exposure.type}"), None
    with model:
        table = model.apcorr_table if model.hasattr("apcorr_table") else None
        if table is None or "size" not in table.dtype.names or "wavelength" not in table.dtype.names:
            return Skip(f"{path.name} is not an LRS APCORR (no size and wavelength)"), None
        sub = str(exposure.meta.subarray.name).strip().upper()
        subs = np.char.strip(np.char.upper(np.asarray(table["subarray"]).astype(str)))
        rows = np.flatnonzero((subs == sub) | (subs == "GENERIC"))
        if not rows.size:
            return Skip(f"{path.name} has no row for subarray {sub}"), None
        row = table[rows[0]]
        nw, ns = int(row["nelem_wl"]), int(row["nelem_size"])
        sizes = np.array(row["size"][:ns], dtype=float)
        order = np.argsort(sizes)
        ee = 1.0 / np.array(row["apcorr"][:nw, :ns], dtype=float)[:, order]
        return (np.array(row["wavelength"][:nw], dtype=float), sizes[order], ee), path.name


def pathloss_vector(folder, exposure, along_pix):
    """The slit's correction at ``(x, y) = (along_pix, 0)``: ``((wavelength, value), note, file)``, or a Skip."""
    model, path = refs.load_optional(folder, "PATHLOSS", exposure, lambda p: dm.MirLrsPathlossModel(str(p)))
    if model is None:
        return Skip(f"no PATHLOSS reference in {folder} for {SLIT}"), "", None
    with model:
        table, w = model.pathloss_table, model.meta.wcsinfo
        cube = np.array(table["pathloss"], dtype=float)  # (wavelength, y, x)
        lam = np.array(table["wavelength"], dtype=float)
        col = (w.crpix1 or 0.0) + (along_pix - (w.crval1 or 0.0)) / (w.cdelt1 or 1.0) - 1
        row = (w.crpix2 or 0.0) + (0.0 - (w.crval2 or 0.0)) / (w.cdelt2 or 1.0) - 1
        note = f"pathloss: source {along_pix:+.2f} px along the slit, taken as centred across it"
        ny, nx = cube.shape[1:]
        if not (0 <= col <= nx - 1 and 0 <= row <= ny - 1):
            note = (f"pathloss: source {along_pix:+.2f} px along the slit is outside {path.name}'s grid: the slit "
                    f"centre's value used")
            col = (w.crpix1 or 0.0) - (w.crval1 or 0.0) / (w.cdelt1 or 1.0) - 1
        i, j = min(int(row), ny - 2), min(int(col), nx - 2)
        fy, fx = row - i, col - j
        value = ((1 - fy) * (1 - fx) * cube[:, i, j] + (1 - fy) * fx * cube[:, i, j + 1]
                 + fy * (1 - fx) * cube[:, i + 1, j] + fy * fx * cube[:, i + 1, j + 1])
        return (lam, value), note, path.name


def run(log, exposure, folder, choice, spectrum, wavelength, trace_x, along_pix, background_region=None):
    """apcorr, pathloss and spec_photom of an extracted spectrum (module docstring).

    Parameters
    ----------
    log : StepLog
    exposure : RampModel
    folder : path
        Reference folder.
    choice : dict
        ``{step: variant}``.
    spectrum : calibration.extract1d.Extracted
    wavelength, trace_x : (ny,) float
        Each row's assigned wavelength and trace column.
    along_pix : float
        The source's position along the slit, pixels from the reference point.
    background_region : calibration.lrs_sky_loss.Region or None
        Where spec_background took the background (None: nothing subtracted).

    Returns
    -------
    spectrum : Extracted
        Its flux and error calibrated.
    photom : (ny,) float
        spec_photom's factor per row (1 when it did not run), for the background.
    unit : str
        ``Jy`` when spec_photom ran, else ``DN/s``.
    files : dict
        ``{step: reference file name}`` of the steps that read one.
    """
    flux, error, files = spectrum.flux, spectrum.error, {}

    def resolved(step, found):
        value, name = found
        if name:
            files[step] = name
            log.note(step, f"{step}: {name}")
        return value if isinstance(value, Skip) else (value,)

    halves = window_halves(choice["extract_1d"], trace_x)

    def resolve_apcorr():
        found = resolved("apcorr", apcorr_table(folder, exposure))
        if isinstance(found, Skip) or background_region is None or halves is None:
            return found
        u, v = lrs_sky_loss.removed_pixels(background_region, halves)
        needed, widest = lrs_sky_loss.width_needed(u, v), float(found[0][1].max())
        if needed > widest:
            log.note("apcorr", f"apcorr: the source light in the {background_region.kind} background not corrected: "
                               f"its pixels need boxes {needed:.1f} columns wide, {files['apcorr']} ends at {widest:g}")
            return found + (None,)
        log.note("apcorr", f"apcorr: less the source light in the {background_region.kind} background")
        return found + ((u, v, background_region),)

    flux, error = log.run("apcorr", choice["apcorr"], flux, error, wavelength, halves, resolve=resolve_apcorr)

    def resolve_pathloss():
        if str(exposure.meta.exposure.type).upper() != SLIT:
            return (Skip("slitless: no slit"),)  # the variant declines: a fact of the mode, not a missing file
        vector, note, name = pathloss_vector(folder, exposure, along_pix)
        if note:
            log.note("pathloss", note)
        return resolved("pathloss", (vector, name))

    flux, error = log.run("pathloss", choice["pathloss"], flux, error, wavelength, resolve=resolve_pathloss)
    flux, error, factor = log.run("spec_photom", choice["spec_photom"], flux, error, wavelength,
                                  resolve=lambda: resolved("spec_photom", photom_conversion(folder, exposure)))
    unit = "Jy" if log.record("spec_photom").status == "COMPLETE" else "DN/s"
    return (extract1d.Extracted(flux, error, spectrum.npixels, spectrum.dq, spectrum.weights), factor, unit,
            files)


#: Where a step's reference file name goes in the product's ``meta.ref_file`` (the x1d schema
#: has no APCORR entry: HISTORY names it).
REF_FILE = {"pathloss": "pathloss", "spec_photom": "photom"}


def label(x1d, unit, files):
    """Set the x1d's flux units (FLUX, FLUX_ERROR, BACKGROUND) and the reference files the steps read."""
    for spec in x1d.spec:
        for name in ("flux", "flux_error", "background"):
            spec.spec_table.columns[name].unit = unit
    for step, name in files.items():
        if step in REF_FILE:
            getattr(x1d.meta.ref_file, REF_FILE[step]).name = name
