"""Saturation flagging: a group at or above the pixel's threshold, and every later one.

The group and every later group of that integration is flagged SATURATED | DO_NOT_USE (the charge cannot fall
once the well is full, so later groups are saturated too even when noise dips them).
"""
import numpy as np

from miri_testbed.instrument import dq


def flag_saturation(data, groupdq, threshold):
    """Return ``groupdq`` with saturated groups flagged; ``data`` in raw DN."""
    hit = np.maximum.accumulate(data >= threshold, axis=1)
    return groupdq | np.where(hit, np.uint8(dq.SATURATED | dq.DO_NOT_USE), np.uint8(0))
