"""First- and last-frame handling, as the JWST MIRI pipeline does it.

The first group of a ramp settles after the reset and the last one is the read-reset
(params 1: firstframe / lastframe): the first group is flagged DO_NOT_USE when the ramp
has more than 3 groups and the last when it has more than 2
(``docs/jwst/firstframe``, ``docs/jwst/lastframe``); with fewer the step declines, as
JWST's steps are then SKIPPED.  A pixel saturated by its third group keeps its first
group (JWST's ``bright_use_group1``, the firstframe default): its first two groups are
then the only difference left to give a rate, and a settling first group is better
than none.  What is left of the reset transient is removed with the dark, whose
reference is measured with the same readout.
"""
import numpy as np

from miri_testbed.instrument import dq

from . import Skip, into


def flag_first(groupdq, bright_use_group1=True, out=None):
    """The group DQ with the first group DO_NOT_USE, or a :class:`~calibration.Skip` for 3 groups or fewer.

    Parameters
    ----------
    groupdq : (nints, ngroups, ny, nx) uint8
    bright_use_group1 : bool
        Keep the first group of pixels whose third group is SATURATED.
    out : (nints, ngroups, ny, nx) uint8, optional
        Where the flags go (:func:`calibration.into`; ``groupdq`` itself: in place).

    Returns
    -------
    (nints, ngroups, ny, nx) uint8 or Skip
    """
    ngroups = groupdq.shape[1]
    if ngroups <= 3:
        return Skip(f"{ngroups} groups: the first group is kept (flagged only with more than 3)")
    out = into(out, groupdq)
    flag = np.uint8(dq.DO_NOT_USE)
    if bright_use_group1:
        out[:, 0] |= np.where((groupdq[:, 2] & dq.SATURATED) != 0, np.uint8(0), flag)
    else:
        out[:, 0] |= flag
    return out


def flag_last(groupdq, out=None):
    """The group DQ with the last group DO_NOT_USE, or a :class:`~calibration.Skip` for 2 groups or fewer.

    Parameters
    ----------
    groupdq : (nints, ngroups, ny, nx) uint8
    out : (nints, ngroups, ny, nx) uint8, optional
        Where the flags go (:func:`calibration.into`; ``groupdq`` itself: in place).

    Returns
    -------
    (nints, ngroups, ny, nx) uint8 or Skip
    """
    ngroups = groupdq.shape[1]
    if ngroups <= 2:
        return Skip(f"{ngroups} groups: the last group is kept (flagged only with more than 2)")
    out = into(out, groupdq)
    out[:, -1] |= np.uint8(dq.DO_NOT_USE)
    return out
