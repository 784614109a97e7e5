"""Saturation flagging: the group at the threshold, every later one, and the 8 neighbours.

A group whose raw value reaches the SATURATION threshold is flagged SATURATED |
DO_NOT_USE, and so is every later group of the integration (the charge cannot fall
once the well is full, so later groups are saturated too even when noise dips them).
Charge that no longer fits in a full well spills into the neighbouring pixels, so the
8 neighbours of a saturated pixel get the same flags from the same group on (JWST's
``n_pix_grow_sat = 1``, the saturation step's default).  Pixels whose SATURATION DQ
carries NO_SAT_CHECK are never tested (their threshold comes in as infinity).
"""
import numpy as np
from scipy.ndimage import binary_dilation

from miri_testbed.instrument import dq

from . import into

GROW_PIXELS = 1
NEIGHBOURS = np.ones((3, 3), bool)  # the 8 neighbours and the pixel


def flag_saturation(data, groupdq, threshold, grow=GROW_PIXELS, out=None):
    """Return ``groupdq`` with saturated groups flagged; ``data`` in raw DN.

    Parameters
    ----------
    data : (nints, ngroups, ny, nx) float
        Raw ramps (DN).
    groupdq : (nints, ngroups, ny, nx) uint8
    threshold : (ny, nx) float
        SATURATION in raw DN (``inf``: not checked).
    grow : int
        Neighbours flagged around a saturated pixel (charge spill; 0: none).
    out : (nints, ngroups, ny, nx) uint8, optional
        Where the flags go (:func:`calibration.into`; ``groupdq`` itself: in place).
    """
    out = into(out, groupdq)
    flag = np.uint8(dq.SATURATED | dq.DO_NOT_USE)
    for i in range(data.shape[0]):
        hit = np.zeros(threshold.shape, bool)
        for k in range(data.shape[1]):  # one group at a time: a pixel saturated once stays saturated
            hit |= data[i, k] >= threshold
            out[i, k][binary_dilation(hit, NEIGHBOURS, iterations=grow) if grow and hit.any() else hit] |= flag
    return out
