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

from miri_testbed.instrument import dq

from . import into

GROW_PIXELS = 1
#: Samples tested together: whole integrations, a few MB of flags at a time (not frame by frame: 1000 x 10
#: SLITLESSPRISM frames of 30 000 pixels, the loop's overhead was most of the time).
BLOCK_SAMPLES = 1 << 20


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
    step = max(1, BLOCK_SAMPLES // max(1, data[0].size))
    for i0 in range(0, data.shape[0], step):
        ints = slice(i0, i0 + step)
        hit = data[ints] >= threshold
        if not hit.any():
            continue
        for k in range(1, hit.shape[1]):  # a pixel saturated once stays saturated
            hit[:, k] |= hit[:, k - 1]
        for _ in range(grow):
            _grow(hit)
        np.bitwise_or(out[ints], flag, out=out[ints], where=hit)
    return out


def _grow(hit):
    """Add the 8 neighbours of every True pixel of each frame (the last two axes) to ``hit``, in place.

    A binary dilation by the 3 x 3 square, nothing beyond the frame's edges: as the square is a row of 3 times
    a column of 3, the neighbours along x, then those along y.
    """
    grown = hit.copy()
    grown[..., 1:] |= hit[..., :-1]
    grown[..., :-1] |= hit[..., 1:]
    hit[...] = grown
    grown[..., 1:, :] |= hit[..., :-1, :]
    grown[..., :-1, :] |= hit[..., 1:, :]
    hit[...] = grown
