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


def dark_rate(dark_model, group_time, gain):
    """Typical dark current in DN/s, for the shot noise of the ramp fit.

    The reference's AVDRKCUR (``average_dark_current``, e-/s as in the JWST pipeline,
    divided by the median gain) when it has one; otherwise the
    median over pixels of the slope of the second half of its last integration (the
    last group excluded), where the reset transient has died away.  One number: a
    per-pixel slope of a short dark is far noisier than the current itself.
    """
    average = dark_model.average_dark_current
    if average is not None and np.size(average) and np.nanmedian(average) > 0:
        return float(np.nanmedian(average) / np.nanmedian(gain))
    last = dark_model.data[-1]
    n = last.shape[0]
    first, final = n // 2, n - 2
    if final <= first:
        return 0.0
    return float(max(np.median((last[final] - last[first]) / ((final - first) * group_time)), 0.0))
