"""Calibration: an exposure and a set of reference files -> calibrated products.

It sees exactly what a real pipeline sees (the uncal file and reference files), so it
runs on real MIRI data too.  Algorithms are plain functions of numpy arrays, kept in a
registry by step and name (:mod:`calibration.registry`); :mod:`calibration.pipeline`
is the thin layer that moves data between JWST data models and those arrays.
"""


class CalibrationInputError(ValueError):
    """The input exposure or a reference file cannot be calibrated; the message says why."""
