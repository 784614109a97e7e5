"""Photometric calibration: DN/s -> MJy/sr with the PHOTOM reference's factor.

``S [MJy/sr] = R [DN/s] * PHOTMJSR(filter, subarray)``; variances scale with the
square.  The factor's own uncertainty is a calibration systematic and is not added to
the per-pixel errors (as in the JWST pipeline).

Time dependence (as ``jwst.photom.time_dependence``): when the PHOTOM reference has
``timecoeff_linear``, ``timecoeff_exponential`` or ``timecoeff_powerlaw`` rows for the
filter and subarray, the correction at the exposure's mid-time ``t``,

    linear      1 - lossperyear (t - t0) / 365
    exponential amplitude exp(-(t - t0) / tau) + const
    powerlaw    (t - t0 + tsoft)^alpha (365 + tsoft)^-alpha year1value

(multiplied together when several are present) divides PHOTMJSR.
"""
import numpy as np

from . import CalibrationInputError


def conversion_factor(phot_table, filter_name, subarray):
    """PHOTMJSR for ``filter_name`` and ``subarray`` (a GENERIC row serves any subarray)."""
    row = _rows(phot_table, filter_name, subarray)
    if row is None:
        raise CalibrationInputError(f"PHOTOM reference has no row for filter {filter_name}, subarray {subarray}")
    value = float(row["photmjsr"])
    if not np.isfinite(value) or value <= 0:
        raise CalibrationInputError(f"PHOTOM row for {filter_name}/{str(row['subarray']).strip()} has an unusable "
                                    f"PHOTMJSR {value}")
    return value


def apply_photom(rate, var_poisson, var_rnoise, factor):
    """Surface brightness and its variances from a rate image and PHOTMJSR."""
    return rate * factor, var_poisson * factor**2, var_rnoise * factor**2


def _rows(table, filter_name, subarray):
    """The row of ``table`` for the filter and subarray (a GENERIC row serves any), or None."""
    filters = np.char.strip(np.char.upper(np.asarray(table["filter"]).astype(str)))
    subs = np.char.strip(np.char.upper(np.asarray(table["subarray"]).astype(str)))
    for wanted in (subarray.upper(), "GENERIC"):
        rows = np.flatnonzero((filters == filter_name.upper()) & (subs == wanted))
        if rows.size:
            return table[rows[0]]
    return None


def powerlaw_correction(mid_time_mjd, t0, year1value, tsoft, alpha):
    """``(t - t0 + tsoft)^alpha (365 + tsoft)^-alpha year1value`` (jwst ``powerlaw_correction``, unbounded)."""
    return (mid_time_mjd - t0 + tsoft) ** alpha / (365.0 + tsoft) ** alpha * year1value


def exposure_mid_time(log, exposure, step):
    """The MJD where a throughput's time dependence is evaluated: EXPMID, else EXPSTART.

    EXPSTART comes with a note in ``step``'s HISTORY (an exposure lasts minutes, the decay months).
    """
    mid_time = exposure.meta.exposure.mid_time
    if mid_time is None:
        mid_time = exposure.meta.exposure.start_time
        log.note(step, f"{step}: no EXPMID; throughput time dependence evaluated at EXPSTART")
    return mid_time


def time_correction(photom_model, filter_name, subarray, mid_time_mjd):
    """The throughput correction of the PHOTOM reference at MJD ``mid_time_mjd``.

    1 without time coefficients for this filter.
    """
    correction = 1.0
    for kind in ("timecoeff_linear", "timecoeff_exponential", "timecoeff_powerlaw"):
        table = getattr(photom_model, kind, None) if photom_model.hasattr(kind) else None
        if table is None or len(table) == 0:
            continue
        row = _rows(table, filter_name, subarray)
        if row is None:
            continue
        if mid_time_mjd is None:
            raise CalibrationInputError(f"PHOTOM has {kind} but the exposure has no EXPMID (mid-time)")
        t = float(mid_time_mjd) - float(row["t0"])
        if kind == "timecoeff_linear":
            correction *= 1.0 - float(row["lossperyear"]) * t / 365.0
        elif kind == "timecoeff_exponential":
            correction *= float(row["amplitude"]) * np.exp(-t / float(row["tau"])) + float(row["const"])
        else:
            correction *= powerlaw_correction(float(mid_time_mjd), float(row["t0"]), float(row["year1value"]),
                                              float(row["tsoft"]), float(row["alpha"]))
    if not np.isfinite(correction) or correction <= 0:
        raise CalibrationInputError(f"PHOTOM time correction for {filter_name}/{subarray} is unusable: {correction}")
    return float(correction)


def time_dependent_factor(photom_model, filter_name, subarray, mid_time_mjd):
    """PHOTMJSR at the exposure's mid-time: the table's factor divided by :func:`time_correction`."""
    return (conversion_factor(photom_model.phot_table, filter_name, subarray)
            / time_correction(photom_model, filter_name, subarray, mid_time_mjd))
