"""Data-quality initialisation: the MASK reference's flags joined to the pixel DQ.

The MASK flags (dead, hot, reference pixels, ...) are added to the exposure's own pixel
DQ, as JWST's ``dq_init`` does.
"""
import numpy as np


def apply_mask(pixeldq, mask):
    """The pixel DQ with the MASK flags added.

    Parameters
    ----------
    pixeldq : (ny, nx) uint32
        The exposure's pixel DQ.
    mask : (ny, nx) int
        The MASK reference's DQ, cut to the exposure's subarray.

    Returns
    -------
    (ny, nx) uint32
    """
    return pixeldq | mask.astype(np.uint32)
