"""Calibration: an exposure and a set of reference files -> calibrated products.

It sees exactly what a real pipeline sees (the uncal file and reference files), so it
runs on real MIRI data too.  Algorithms are plain functions of numpy arrays, kept in a
registry by step and name (:mod:`calibration.registry`); thin step shells
(:mod:`calibration.steps`) resolve the reference files, call them and record what ran;
:mod:`calibration.pipeline` chooses the pipeline by EXP_TYPE (:mod:`calibration.detector1`,
then :mod:`calibration.image2` and :mod:`calibration.image3` for the imager,
:mod:`calibration.spec2` for the LRS).
"""
import mmap
from dataclasses import dataclass

import numpy as np


class CalibrationInputError(ValueError):
    """The input exposure or a reference file cannot be calibrated; the message says why."""


@dataclass(frozen=True)
class Skip:
    """A step that does not run, and why.

    A registry entry that is a ``Skip`` is a declared skip (the ``none`` variants); a
    variant returns one when it declines its input (too few groups, nothing detected);
    a step shell makes one when a reference the step needs is missing.  The shell
    records the step SKIPPED with the reason and passes its input on unchanged.

    Parameters
    ----------
    reason : str
        Why the step does not run, as it goes into HISTORY.
    """

    reason: str


def into(out, array):
    """The array a step writes its result into: a copy of ``array`` in ``out``.

    A step that returns a ramp-sized array (the ramps or their group DQ) takes ``out``,
    as numpy's functions do: None makes a new array, ``array`` itself works in place, so
    detector1 holds one ramp and one group DQ whatever the number of steps.

    Parameters
    ----------
    out : numpy.ndarray or None
    array : numpy.ndarray

    Returns
    -------
    numpy.ndarray
        ``out`` holding ``array``'s values (a new copy when ``out`` is None).
    """
    if out is None:
        return array.copy()
    if out is not array:
        np.copyto(out, array)
    return out


def native(array):
    """``array`` C-contiguous in its dtype's native byte order, itself when it already is.

    numba's kernels (:mod:`calibration.emi_kernels`, :mod:`calibration.detector_kernels`,
    :mod:`calibration.cube_kernels`) take no other layout or byte order, and FITS arrays read through stdatamodels
    are big-endian.
    """
    array = np.asarray(array)
    return np.ascontiguousarray(array, array.dtype.newbyteorder("="))


def populated_array(shape, dtype):
    """A zero-filled array whose memory the system maps and populates in one call.

    For a large array filled once and then streamed through (the uncal's ramps and default GROUPDQ, ramp_fit's
    per-integration outputs, the EMI fit's cache).  numpy's own allocation asks Linux for transparent huge pages
    for a large array, and with THP defrag "madvise" (the usual setting) a fault in such a region compacts memory
    on the spot when the page cache has fragmented it: on this project's 2-core virtual machine the 1.2 GB ramps
    of a 1000 x 10 SLITLESSPRISM series took 1.9-4.2 s of system time against 0.6 s, the EMI fit's 300 MB cache
    0.65 against 0.18 s.  Small pages populated at the mapping (``MAP_POPULATE``) cost less again than touched
    one at a time (1.2 GB: 0.36 against 0.59 s).  Where the system makes huge pages unasked (THP "always") they
    are used.  Passes that stream through the array see no difference.  An anonymous map's pages are zeros, so
    this is also a cheap ``np.zeros``, which it falls back to where mmap cannot populate.
    """
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes == 0 or not hasattr(mmap, "MAP_POPULATE"):
        return np.zeros(shape, dtype)
    pages = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
    return np.frombuffer(pages, dtype).reshape(shape)  # the anonymous map freed with the last array viewing it
