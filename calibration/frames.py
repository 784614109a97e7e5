"""First- and last-frame handling, as the JWST MIRI pipeline does it.

The first group of a ramp settles after the reset and the last one is the read-reset
(params 1: firstframe / lastframe): the first group is flagged DO_NOT_USE when the ramp
has more than 3 groups and the last when it has more than 2
(``docs/jwst/firstframe``, ``docs/jwst/lastframe``).  What is left of the reset
transient is removed with the dark, whose reference is measured with the same readout.
"""
import numpy as np

from miri_testbed.instrument import dq


def flag_first_last(groupdq):
    """Return ``groupdq`` with the first and last groups flagged where the rules apply."""
    out = groupdq.copy()
    ngroups = groupdq.shape[1]
    if ngroups > 3:
        out[:, 0] |= np.uint8(dq.DO_NOT_USE)
    if ngroups > 2:
        out[:, -1] |= np.uint8(dq.DO_NOT_USE)
    return out
