"""Dark subtraction: the reference's dark signal of group k is subtracted from group k.

``dark`` has shape ``(ndark_ints, ndark_groups, ny, nx)``; its first ``ngroups`` groups
are used, and integration i of the exposure uses dark integration ``min(i, ndark_ints-1)``
(MIRI darks may differ between the first and later integrations).  The dark is used one
frame at a time, so it may be read from its file frame by frame
(:class:`calibration.references.Frames`): a DARK is as large as the ramps it serves.
"""
import numpy as np


def subtract_dark(data, dark, out=None):
    """``data - dark`` group by group, float32 ``(nints, ngroups, ny, nx)``.

    Parameters
    ----------
    data : (nints, ngroups, ny, nx) float
    dark : numpy.ndarray or calibration.references.Frames
        ``(ndark_ints, ndark_groups, ny, nx)``: an array, or anything with that ``shape``
        whose ``dark[j, k]`` is a frame.
    out : (nints, ngroups, ny, nx) float32, optional
        Where the result goes (``data`` itself: in place; default a new array).
    """
    nints, ngroups = data.shape[:2]
    last = dark.shape[0] - 1
    out = np.empty(data.shape, np.float32) if out is None else out
    for k in range(ngroups):
        for j in range(min(nints, last + 1)):
            ints = slice(j, j + 1 if j < last else nints)  # the last dark integration serves the rest
            np.subtract(data[ints, k], dark[j, k], out=out[ints, k])
    return out


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
