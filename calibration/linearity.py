"""Linearity correction with the JWST LINEARITY reference.

``x_lin = sum_i c_i x^i`` (Horner, float64), on the raw DN of every group that is not saturated (saturated groups
are left alone, as in the JWST pipeline).  Pixels whose coefficients are not finite are
flagged NO_LIN_CORR and left uncorrected.
"""
import numpy as np

from miri_testbed.instrument import dq

#: Samples corrected together: a block of frames (2 MB of float64 per work array, in the cache), not frame by frame
#: (1000 x 10 SLITLESSPRISM frames of 30 000 pixels: the loop's overhead was most of the time).
BLOCK_SAMPLES = 1 << 18


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
    nints, ngroups, ny, nx = data.shape
    frames = max(1, BLOCK_SAMPLES // (ny * nx))
    groups = min(ngroups, frames)  # a block: whole integrations, or some groups of one
    ints = max(1, frames // ngroups)
    x, value = np.empty((2, ints, groups, ny, nx))  # a block's work arrays, reused: no temporaries
    for i0 in range(0, nints, ints):
        for k0 in range(0, ngroups, groups):
            index = (slice(i0, i0 + ints), slice(k0, k0 + groups))
            raw = data[index]
            xb, vb = x[: raw.shape[0], : raw.shape[1]], value[: raw.shape[0], : raw.shape[1]]
            xb[...] = raw  # float32 DN widened once (exact), not in each product
            np.multiply(xb, c[-1], out=vb)
            for ci in c[-2:0:-1]:  # in place: the same products and sums as value * x + ci
                vb += ci
                vb *= xb
            vb += c[0]
            saturated = (groupdq[index] & dq.SATURATED) != 0
            if saturated.any():
                np.copyto(vb, xb, where=saturated)
            out[index] = vb
    pixel_flags = np.where(good, np.uint32(0), np.uint32(dq.NO_LIN_CORR))
    return out, pixel_flags
