"""First- and last-frame handling, as the JWST MIRI pipeline does it.

The first group of a ramp settles after the reset and the last one is the read-reset
(params 1: firstframe / lastframe): the first group is flagged DO_NOT_USE when the ramp
has more than 3 groups and the last when it has more than 2
(``docs/jwst/firstframe``, ``docs/jwst/lastframe``); with fewer the step declines, as
JWST's steps are then SKIPPED.  What is left of the reset transient is removed with the
dark, whose reference is measured with the same readout.
"""
import numpy as np

from miri_testbed.instrument import dq

from . import Skip


def _flag_group(groupdq, index):
    out = groupdq.copy()
    out[:, index] |= np.uint8(dq.DO_NOT_USE)
    return out


def flag_first(groupdq):
    """The group DQ with the first group DO_NOT_USE, or a :class:`~calibration.Skip` for 3 groups or fewer.

    Parameters
    ----------
    groupdq : (nints, ngroups, ny, nx) uint8

    Returns
    -------
    (nints, ngroups, ny, nx) uint8 or Skip
    """
    ngroups = groupdq.shape[1]
    if ngroups <= 3:
        return Skip(f"{ngroups} groups: the first group is kept (flagged only with more than 3)")
    return _flag_group(groupdq, 0)


def flag_last(groupdq):
    """The group DQ with the last group DO_NOT_USE, or a :class:`~calibration.Skip` for 2 groups or fewer.

    Parameters
    ----------
    groupdq : (nints, ngroups, ny, nx) uint8

    Returns
    -------
    (nints, ngroups, ny, nx) uint8 or Skip
    """
    ngroups = groupdq.shape[1]
    if ngroups <= 2:
        return Skip(f"{ngroups} groups: the last group is kept (flagged only with more than 2)")
    return _flag_group(groupdq, -1)
