"""fringe for the MRS: divide the rate and its variance by the fringe flat, as jwst's ``fringe`` step.

The FRINGE reference (``FringeModel``, selected on DETECTOR / EXP_TYPE / BAND) holds in ``SCI`` the
fringe flat ``F``, each lit pixel's fringe transmission for extended light (mean 1 along the
dispersion), measured on a flat field:

    r' = r / F,   var(r') = var(r) / F^2,

on the rate (DN/s) before ``mrs_photom``.  A pixel whose ``F`` is not finite and positive, or that the
reference flags DO_NOT_USE, gets a NaN rate (left out of the cube).  Point sources meet the detector at
other angles than the flat's extended light, so their fringes are left partly (the residual fringe).
Without a FRINGE reference the step is SKIPPED.
"""
from dataclasses import dataclass

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags

from . import CalibrationInputError, Skip
from . import references as refs


def divide(rate, var, flat):
    """Variant ``reference`` of step ``fringe``: ``(rate / F, var / F^2)``; NaN where F is unusable."""
    usable = np.isfinite(flat) & (flat > 0)
    safe = np.where(usable, flat, 1.0)
    return np.where(usable, rate / safe, np.nan), np.where(usable, var / safe**2, np.nan)


@dataclass(frozen=True)
class FringeFlat:
    """An exposure's FRINGE, read: ``flat`` the SCI with pixels flagged DO_NOT_USE made NaN."""

    flat: np.ndarray
    filename: str


def read_fringe(folder, exposure, shape):
    """The exposure's FRINGE (:class:`FringeFlat`), or a :class:`~calibration.Skip` when there is none.

    Raises
    ------
    CalibrationInputError
        For a FRINGE whose SCI is not the exposure's frame ``shape``.
    """
    model, path = refs.load_optional(folder, "FRINGE", exposure, lambda p: dm.FringeModel(str(p)))
    if model is None:
        return Skip(f"no FRINGE reference in {folder} for {exposure.meta.exposure.type} "
                    f"{exposure.meta.instrument.detector} {exposure.meta.instrument.band}")
    with model:
        flat = np.asarray(model.data, dtype=float)
        if flat.shape != tuple(shape):
            raise CalibrationInputError(f"{path.name}: FRINGE SCI {flat.shape} must be the exposure's frame "
                                        f"{tuple(shape)}")
        if model.dq is not None and np.shape(model.dq) == flat.shape:
            flat = np.where((np.asarray(model.dq) & dqflags.DO_NOT_USE) != 0, np.nan, flat)
        return FringeFlat(flat, path.name)


def arguments(fringe):
    """The reference arguments of ``fringe``: ``(F,)``, or the Skip of a missing reference."""
    return fringe if isinstance(fringe, Skip) else (fringe.flat,)
