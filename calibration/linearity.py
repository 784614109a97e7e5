"""Linearity correction with the JWST LINEARITY reference.

``x_lin = sum_i c_i x^i`` (Horner), on the raw DN of every group that is not saturated (saturated groups are
left alone, as in the JWST pipeline).  Pixels whose coefficients are not finite are
flagged NO_LIN_CORR and left uncorrected.
"""
import numpy as np

from miri_testbed.instrument import dq


def correct_linearity(data, groupdq, coeffs):
    """Linearised ramps (float32) and pixel flags for unusable coefficients."""
    good = np.all(np.isfinite(coeffs), axis=0)
    c = np.where(good, coeffs, 0.0).astype(np.float64)
    c[1] = np.where(good, c[1], 1.0)
    out = np.empty(data.shape, np.float32)
    for i in range(data.shape[0]):  # one integration at a time keeps the float64 work small
        x = data[i].astype(np.float64)
        value = np.broadcast_to(c[-1], x.shape).copy()
        for ci in c[-2::-1]:
            value = value * x + ci
        out[i] = np.where((groupdq[i] & dq.SATURATED) != 0, data[i], value)
    pixel_flags = np.where(good, np.uint32(0), np.uint32(dq.NO_LIN_CORR))
    return out, pixel_flags
