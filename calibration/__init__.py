"""Calibration: an exposure and a set of reference files -> calibrated products.

It sees exactly what a real pipeline sees (the uncal file and reference files), so it
runs on real MIRI data too.  Algorithms are plain functions of numpy arrays, kept in a
registry by step and name (:mod:`calibration.registry`); thin step shells
(:mod:`calibration.steps`) resolve the reference files, call them and record what ran;
:mod:`calibration.pipeline` chooses the pipeline by EXP_TYPE (:mod:`calibration.detector1`,
then :mod:`calibration.image2` and :mod:`calibration.image3` for the imager,
:mod:`calibration.spec2` for the LRS).
"""
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
