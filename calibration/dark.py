"""Dark subtraction: the reference's dark signal of group k is subtracted from group k.

``dark`` has shape ``(ndark_ints, ndark_groups, ny, nx)``; its first ``ngroups`` groups
are used, and integration i of the exposure uses dark integration ``min(i, ndark_ints-1)``
(MIRI darks may differ between the first and later integrations).
"""
import numpy as np


def subtract_dark(data, dark):
    """``data - dark`` group by group, float32 ``(nints, ngroups, ny, nx)``."""
    nints, ngroups = data.shape[:2]
    index = np.minimum(np.arange(nints), dark.shape[0] - 1)
    return (data - dark[index, :ngroups]).astype(np.float32)


def dark_rate(dark, group_time):
    """Mean dark current in DN/s implied by the reference's last integration."""
    last = dark[-1]
    return (last[-1] - last[0]) / ((last.shape[0] - 1) * group_time)
