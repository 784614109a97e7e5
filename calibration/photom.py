"""Photometric calibration: DN/s -> MJy/sr with the PHOTOM reference's factor.

``S [MJy/sr] = R [DN/s] * PHOTMJSR(filter, subarray)``; variances scale with the
square.  The factor's own uncertainty is a calibration systematic and is not added to
the per-pixel errors (as in the JWST pipeline).  Time dependence joins in its issue.
"""
import numpy as np

from . import CalibrationInputError


def conversion_factor(phot_table, filter_name, subarray):
    """PHOTMJSR for ``filter_name`` and ``subarray`` (a GENERIC row serves any subarray)."""
    filters = np.char.strip(np.char.upper(np.asarray(phot_table["filter"]).astype(str)))
    subs = np.char.strip(np.char.upper(np.asarray(phot_table["subarray"]).astype(str)))
    for wanted in (subarray.upper(), "GENERIC"):
        rows = np.flatnonzero((filters == filter_name.upper()) & (subs == wanted))
        if rows.size:
            value = float(phot_table["photmjsr"][rows[0]])
            if not np.isfinite(value) or value <= 0:
                raise CalibrationInputError(f"PHOTOM row for {filter_name}/{wanted} has an unusable PHOTMJSR {value}")
            return value
    raise CalibrationInputError(f"PHOTOM reference has no row for filter {filter_name}, subarray {subarray}")


def apply_photom(rate, var_poisson, var_rnoise, factor):
    """Surface brightness and its variances from a rate image and PHOTMJSR."""
    return rate * factor, var_poisson * factor**2, var_rnoise * factor**2
