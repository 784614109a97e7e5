"""When each pixel is read: the MIRI read clock (params 1, 2; ``jwst/emicorr/emicorr.py``).

Within a frame, row ``j`` of the subarray starts ``j * rowclocks`` pixel clocks after the
frame start, and the 4 outputs read columns ``4c .. 4c+3`` together, ``c * nsamples``
clocks into the row (the full frame's right reference columns 3 clocks later,
:func:`instrument.readout.read_offset_clocks`).  Rows outside the subarray are stepped at 7 clocks each after the
subarray's rows (the rule that reproduces the documented frame times; their place in
the frame is an approximation).  Every integration starts with one reset frame, so
group ``k`` of integration ``i`` is read at

    t = [i (ngroups + 1) + k + 1] * t_frame + offset(row, column),

and a pixel's charge at a read has accumulated since its own reset, ``(k + 1) t_frame``
earlier.  Times are seconds from the start of the exposure.
"""
import numpy as np

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import readout as readout_rules


def pixel_offsets(readout):
    """Seconds from the frame start to each pixel's read, shape ``(ysize, xsize)``."""
    sub = readout_rules.subarray(readout.subarray)
    rowclocks = readout_rules.rowclocks(readout.subarray, readout.readpatt)
    nsamples = readout_rules.readout_pattern(readout.readpatt).samples_per_read
    return readout_rules.read_offset_clocks(sub.ysize, sub.xsize, rowclocks, nsamples, sub.xstart) * det.PIXEL_CLOCK_S


def frame_starts(readout):
    """Start time of the frame read as group ``k`` of integration ``i``, ``(nints, ngroups)``."""
    i = np.arange(readout.nints)[:, None]
    k = np.arange(readout.ngroups)[None, :]
    return (i * (readout.ngroups + 1) + k + 1) * readout.frame_time


def group_mid_times(readout):
    """When group ``k`` of integration ``i`` collects its charge, mid-interval, s, ``(nints, ngroups)``.

    A group's charge arrives between the pixel's previous read (its reset, for the first
    group) and its read, one frame earlier (a MIRI group is one frame); for a pixel read
    at the frame start that is ``frame_starts - t_frame / 2``.  The pixel's read offset
    (less than a frame) is left out: what varies with this time varies over minutes.
    """
    return frame_starts(readout) - readout.frame_time / 2


def integration_times(readout):
    """Start, middle and end (s from the exposure start) of each integration, three ``(nints,)`` arrays.

    An integration starts with its reset frame and ends with its last read frame, so its
    middle is the mean time of its reads.
    """
    start = np.arange(readout.nints) * (readout.ngroups + 1) * readout.frame_time
    end = start + (readout.ngroups + 1) * readout.frame_time
    return start, (start + end) / 2, end


def integration_of(t, readout):
    """Integration index a time falls in (the reset frame counts as its first frame)."""
    return np.floor(t / ((readout.ngroups + 1) * readout.frame_time)).astype(int)


def first_read_after(t, y, x, readout):
    """``(integration, group)`` of the first read of pixel ``(y, x)`` after time ``t``.

    Read ``k`` is at ``t_int + (k + 1) t_frame + offset`` and the reset at
    ``t_int + offset``, so ``k = floor((t - t_int - offset) / t_frame)``; charge that
    arrives before the pixel's reset or after its last read is reset away, and gets
    group = ngroups (no read sees it).
    """
    i = integration_of(t, readout)
    t_int = i * (readout.ngroups + 1) * readout.frame_time
    k = np.floor((t - t_int - pixel_offsets(readout)[y, x]) / readout.frame_time).astype(int)
    return i, np.where((k < 0) | (k >= readout.ngroups), readout.ngroups, k)


def duration(readout):
    """Exposure length in seconds, from the first reset to the last read."""
    return readout.nints * (readout.ngroups + 1) * readout.frame_time
