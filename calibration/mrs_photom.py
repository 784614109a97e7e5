"""photom for the MRS: each lit pixel's rate (DN/s) -> surface brightness (MJy/sr), with the time dependence.

As jwst's photom for MIR_MRS (``PhotomStep.calc_miri``, ``time_dependence.miri_mrs_time_correction``):
the PHOTOM reference (``MirMrsPhotomModel``, one per detector and grating setting, selected on
DETECTOR / EXP_TYPE / BAND) holds ``SCI``, MJy/sr per DN/s of each pixel, and per channel a
``TIMECOEFF_POWERLAW_CH<c>`` table of wavelength bins; a pixel of channel ``c`` at wavelength
``lambda`` (its centre's, from the geometry references: :mod:`calibration.mrs_wcs`) becomes

    S_p = r_p SCI_p / c(lambda_p, t),   var(S_p) = var(r_p) (SCI_p / c)^2,
    c(lambda, t) = the bins' min(1, year1value ((t - t0 + tsoft) / (365 + tsoft))^alpha), linear in lambda,

at the exposure's mid-time ``t`` (EXPSTART, noted in HISTORY, without EXPMID).  Beyond the
first and last bins the interpolation continues linearly, as jwst's (``RegularGridInterpolator``
with ``fill_value=None``).  A reference without TIMECOEFF tables (an older one) is applied
without the time correction, and HISTORY says so (as jwst).  The factor's own uncertainty (ERR)
is a calibration systematic, not added to the pixels' errors (as jwst).

Pixels the reference flags DO_NOT_USE are left out of the cube.  A PHOTOM whose SCI is not
the exposure's frame, a lit pixel with a non-finite or non-positive SCI that is not flagged,
a time table with non-finite values or none for a channel of the exposure while others
have one: errors that name the file.  A missing PHOTOM (or a PHOTOM that is not an MRS one):
the step is SKIPPED and the products stay in DN/s (their units say so).
"""
from dataclasses import dataclass

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags

from . import CalibrationInputError, Skip
from . import references as refs
from .photom import exposure_mid_time, powerlaw_correction

#: The TIMECOEFF columns read, in the order of :func:`time_correction`'s table.
TIME_COLUMNS = ("binwave", "t0", "year1value", "tsoft", "alpha")


@dataclass(frozen=True)
class MrsPhotom:
    """An exposure's MRS PHOTOM, read.

    Parameters
    ----------
    sci : (ny, nx) float
        MJy/sr per DN/s.
    flagged : (ny, nx) bool
        DO_NOT_USE in the reference's DQ.
    tables : dict or None
        ``{channel: (binwave, t0, year1value, tsoft, alpha)}`` arrays; None without TIMECOEFF tables.
    filename : str
    """

    sci: np.ndarray
    flagged: np.ndarray
    tables: dict
    filename: str


def time_correction(wavelength, table, mid_time_mjd):
    """``c(lambda, t)`` of the module docstring at each ``wavelength`` from a channel's ``table``."""
    binwave, t0, year1value, tsoft, alpha = table
    per_bin = np.minimum(powerlaw_correction(mid_time_mjd, t0, year1value, tsoft, alpha), 1.0)
    inside = np.interp(wavelength, binwave, per_bin)
    below = per_bin[0] + (wavelength - binwave[0]) * (per_bin[1] - per_bin[0]) / (binwave[1] - binwave[0])
    above = per_bin[-1] + (wavelength - binwave[-1]) * (per_bin[-1] - per_bin[-2]) / (binwave[-1] - binwave[-2])
    return np.where(wavelength < binwave[0], below, np.where(wavelength > binwave[-1], above, inside))


def reference(rate, var, wavelength, conversion, table, mid_time_mjd):
    """Variant ``reference`` of step ``mrs_photom`` (module docstring): ``(S, var(S))`` of a band's pixels.

    Parameters
    ----------
    rate, var, wavelength : (n,) float
        The pixels' rate (DN/s), its variance and their wavelengths (um).
    conversion : (n,) float
        SCI at the pixels, MJy/sr per DN/s.
    table : tuple of arrays or None
        The channel's time coefficients (:data:`TIME_COLUMNS`); None: no time correction.
    mid_time_mjd : float or None
    """
    factor = conversion if table is None else conversion / time_correction(wavelength, table, mid_time_mjd)
    return rate * factor, var * factor**2


def _time_tables(model, path):
    found = {}
    for channel in (1, 2, 3, 4):
        name = f"timecoeff_powerlaw_ch{channel}"
        table = getattr(model, name, None) if model.hasattr(name) else None
        if table is None or len(table) == 0:
            continue
        columns = tuple(np.asarray(table[c], dtype=float) for c in TIME_COLUMNS)
        if len(columns[0]) < 2 or not all(np.all(np.isfinite(c)) for c in columns):
            raise CalibrationInputError(f"{path.name}: {name.upper()} needs at least 2 bins of finite values")
        order = np.argsort(columns[0])
        found[channel] = tuple(c[order] for c in columns)
    return found or None


def read_photom(folder, exposure):
    """The exposure's MRS PHOTOM (:class:`MrsPhotom`), or a :class:`~calibration.Skip` when there is none.

    Raises
    ------
    CalibrationInputError
        For a SCI or DQ that is not the exposure's frame, or unusable time tables (module docstring).
    """
    model, path = refs.load_optional(folder, "PHOTOM", exposure, lambda p: dm.open(str(p)))
    if model is None:
        return Skip(f"no PHOTOM reference in {folder} for {exposure.meta.exposure.type} "
                    f"{exposure.meta.instrument.detector} {exposure.meta.instrument.band}")
    with model:
        if not isinstance(model, dm.MirMrsPhotomModel):
            return Skip(f"{path.name} is not an MRS PHOTOM ({type(model).__name__})")
        shape = exposure.data.shape[-2:]
        sci, dq = np.asarray(model.data, dtype=float), np.asarray(model.dq)
        if sci.shape != shape or dq.shape != shape:
            raise CalibrationInputError(f"{path.name}: PHOTOM SCI {sci.shape} and DQ {dq.shape} must be the "
                                        f"exposure's frame {shape}")
        return MrsPhotom(sci, (dq & dqflags.DO_NOT_USE) != 0, _time_tables(model, path), path.name)


def resolve(log, photom, exposure, pixels, channel):
    """The reference arguments of ``mrs_photom`` for a band's pixels: ``(conversion, table, mid_time)`` or a Skip."""
    if isinstance(photom, Skip):
        return photom
    conversion = photom.sci[pixels.y, pixels.x]
    bad = ~(np.isfinite(conversion) & (conversion > 0)) & ~photom.flagged[pixels.y, pixels.x]
    if np.any(bad):
        raise CalibrationInputError(f"{photom.filename}: SCI is not finite and positive at {int(bad.sum())} lit "
                                    f"pixels of band {pixels.band.name} that its DQ does not flag DO_NOT_USE")
    if photom.tables is None:
        log.note("mrs_photom", f"mrs_photom {pixels.band.name}: {photom.filename} has no TIMECOEFF tables: "
                               "no time correction")
        return conversion, None, None
    if channel not in photom.tables:
        raise CalibrationInputError(f"{photom.filename}: TIMECOEFF tables for channels {sorted(photom.tables)}, "
                                    f"none for channel {channel}")
    mid_time = exposure_mid_time(log, exposure, "mrs_photom")
    if mid_time is None:
        raise CalibrationInputError(f"{photom.filename} has time coefficients but the exposure has no EXPMID or "
                                    "EXPSTART")
    return conversion, photom.tables[channel], float(mid_time)
