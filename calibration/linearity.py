"""Linearity correction with the JWST LINEARITY reference.

``x_lin = sum_i c_i x^i`` (Horner), on the raw DN of every group that is not saturated (saturated groups are
left alone, as in the JWST pipeline).  Pixels whose coefficients are not finite are
flagged NO_LIN_CORR and left uncorrected.
"""
import numpy as np

from miri_testbed.instrument import dq


def correct_linearity(data, groupdq, coeffs, out=None):
    """Linearised ramps (float32) and pixel flags for unusable coefficients.

    Parameters
    ----------
    data : (nints, ngroups, ny, nx) float
        Raw ramps (DN).
    groupdq : (nints, ngroups, ny, nx) uint8
    coeffs : (ncoeffs, ny, nx) float
        The LINEARITY polynomial, lowest power first.
    out : (nints, ngroups, ny, nx) float32, optional
        Where the linearised ramps go (``data`` itself: in place; default a new array).

    Returns
    -------
    (out, pixel_flags)
    """
    good = np.all(np.isfinite(coeffs), axis=0)
    c = np.where(good, coeffs, 0.0).astype(np.float64)
    c[1] = np.where(good, c[1], 1.0)
    out = np.empty(data.shape, np.float32) if out is None else out
    for index in np.ndindex(data.shape[:2]):  # one group at a time keeps the float64 work small
        x = data[index].astype(np.float64)
        value = c[-1].copy()
        for ci in c[-2::-1]:
            value = value * x + ci
        out[index] = np.where((groupdq[index] & dq.SATURATED) != 0, data[index], value)
    pixel_flags = np.where(good, np.uint32(0), np.uint32(dq.NO_LIN_CORR))
    return out, pixel_flags
