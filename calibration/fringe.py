"""fringe for the MRS: divide the rate and its variance by the fringe flat, as jwst's ``fringe`` step.

The FRINGE reference (``FringeModel``, selected on DETECTOR / EXP_TYPE / BAND) holds in ``SCI`` the
fringe flat ``F``, each lit pixel's fringe transmission for extended light (mean 1 along the
dispersion), measured on a flat field:

    r' = r / F,   var(r') = var(r) / F^2,

on the rate (DN/s) before ``mrs_photom``.  A pixel whose ``F`` is not finite and positive, or that the
reference flags DO_NOT_USE, gets a NaN rate (left out of the cube).  Point sources meet the detector at
other angles than the flat's extended light, so their fringes are left partly (the residual fringe).
Without a FRINGE reference the step is SKIPPED.

Variant ``point_source`` (what Gasman et al. 2025, A&A 697, A58, built for unresolved sources; not a jwst step):
the PSFRINGE reference (``FringeModel``, selected on DETECTOR / BAND and the exposure's dither position PATT_NUM)
holds ``P``, the fringe of a point source where the science's lies, measured on a star (NaN beyond the star's
core: :mod:`simulator.mrs_fringecal` makes the testbed's).  A core pixel holds the source's light through ``P``
and the sky's through ``F``; the sky ``B`` (DN/s: the step runs on the rate) is the median of ``r / F`` over the
pixels of the same slice and detector row beyond the core (one wavelength, along the slice), so

    r' = (r - B F) / P + B,   var(r') = var(r) / P^2

there, and ``r / F`` elsewhere.  Left out of the variance, as the FRINGE's error is in ``reference``: the
PSFRINGE's own (its ERR, 0.03-0.5 % per pixel for the testbed's star) and ``B``'s (a median over the row's
pixels, times ``1 - F / P`` of a few per cent).  Without a PSFRINGE for the exposure's dither position, or for an
exposure that states none, the variant is an error naming it; without a FRINGE the step is SKIPPED, as
``reference`` is.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags

from . import CalibrationInputError, Skip
from . import references as refs

#: The PSFRINGE values the variant takes: outside them a pixel is taken as beyond the core (a foreign file's garbage).
POINT_FLAT_RANGE = (0.5, 2.0)


def divide(rate, var, flat, *_):
    """Variant ``reference`` of step ``fringe``: ``(rate / F, var / F^2)``; NaN where F is unusable."""
    usable = np.isfinite(flat) & (flat > 0)
    safe = np.where(usable, flat, 1.0)
    return np.where(usable, rate / safe, np.nan), np.where(usable, var / safe**2, np.nan)


def point_source(rate, var, flat, point_flat, slices):
    """Variant ``point_source`` of step ``fringe``: the point source's light over its own flat (module docstring).

    ``point_flat``: the PSFRINGE's ``P`` (NaN beyond the star's core); ``slices``: each pixel's slice (a unique
    id per band and slice, -1 off the slices).  Where ``P`` is usable (within :data:`POINT_FLAT_RANGE`: a fringe
    of 10-30 % peak to peak never leaves it), ``r' = (r - B F) / P + B``, ``B`` the sky of the pixel's slice row,
    the median of ``r / F`` over that row's pixels where ``P`` is not defined (0 where none is),
    ``var' = var / P^2``; elsewhere :func:`divide`.
    """
    out, out_var = divide(rate, var, flat)
    defined = np.isfinite(point_flat)
    usable = defined & (point_flat > POINT_FLAT_RANGE[0]) & (point_flat < POINT_FLAT_RANGE[1])
    core = usable & np.isfinite(out) & (slices >= 0)
    sky_pixels = ~defined & np.isfinite(out) & (slices >= 0)
    rows = np.broadcast_to(np.arange(rate.shape[0])[:, None], rate.shape)
    key = slices.astype(np.int64) * rate.shape[0] + rows
    sky = pd.Series(out[sky_pixels]).groupby(key[sky_pixels]).median()
    level = sky.reindex(key[core]).fillna(0.0).to_numpy()
    p, f = point_flat[core], flat[core]
    out[core] = (rate[core] - level * f) / p + level
    out_var[core] = var[core] / p**2
    return out, out_var


@dataclass(frozen=True)
class FringeFlat:
    """An exposure's FRINGE or PSFRINGE, read: ``flat`` the SCI with pixels flagged DO_NOT_USE made NaN."""

    flat: np.ndarray
    filename: str


def _read_flat(folder, reftype, exposure, shape):
    """The exposure's ``reftype`` (FRINGE or PSFRINGE) as a :class:`FringeFlat`, or None when there is none."""
    model, path = refs.load_optional(folder, reftype, exposure, lambda p: dm.FringeModel(str(p)))
    if model is None:
        return None
    with model:
        flat = np.asarray(model.data, dtype=float)
        if flat.shape != tuple(shape):
            raise CalibrationInputError(f"{path.name}: {reftype} SCI {flat.shape} must be the exposure's frame "
                                        f"{tuple(shape)}")
        if model.dq is not None and np.shape(model.dq) == flat.shape:
            flat = np.where((np.asarray(model.dq) & dqflags.DO_NOT_USE) != 0, np.nan, flat)
        return FringeFlat(flat, path.name)


def read_fringe(folder, exposure, shape):
    """The exposure's FRINGE (:class:`FringeFlat`), or a :class:`~calibration.Skip` when there is none.

    Raises
    ------
    CalibrationInputError
        For a FRINGE whose SCI is not the exposure's frame ``shape``.
    """
    flat = _read_flat(folder, "FRINGE", exposure, shape)
    if flat is None:
        return Skip(f"no FRINGE reference in {folder} for {exposure.meta.exposure.type} "
                    f"{exposure.meta.instrument.detector} {exposure.meta.instrument.band}")
    return flat


def read_point_source_fringe(folder, exposure, shape):
    """The exposure's PSFRINGE (:class:`FringeFlat`: the point-source fringe flat of its dither position).

    Raises
    ------
    CalibrationInputError
        For an exposure that states no dither position (PATT_NUM), without a PSFRINGE for its position (variant
        ``point_source`` needs it), or for a SCI that is not the exposure's frame ``shape``.
    """
    where = f"{exposure.meta.instrument.detector} {exposure.meta.instrument.band}"
    position = exposure.meta.dither.position_number
    if position is None:
        raise CalibrationInputError(f"fringe point_source: the {where} exposure states no dither position "
                                    "(PATT_NUM), which selects its PSFRINGE")
    flat = _read_flat(folder, "PSFRINGE", exposure, shape)
    if flat is None:
        raise CalibrationInputError(
            f"fringe point_source: no PSFRINGE reference in {folder} for {where} at dither position {position} (the "
            "point-source fringe flat of the source's place; a dither set needs every position's in the one "
            "reference folder; variant 'reference' needs only the FRINGE)")
    return flat


def slice_frame(pixels, shape):
    """Each pixel's slice as one id over the bands of ``pixels`` (``{band: MrsPixels}``), -1 off the slices."""
    frame = np.full(shape, -1, np.int32)
    for number, band_pixels in enumerate(pixels.values()):
        frame[band_pixels.y, band_pixels.x] = 1000 * number + band_pixels.slice
    return frame


def arguments(fringe, point=None, slices=None):
    """The reference arguments of ``fringe``: ``(F, P, slices)``, or the Skip of a missing FRINGE.

    ``point``: the exposure's PSFRINGE (:class:`FringeFlat`, variant ``point_source``), else None.
    """
    if isinstance(fringe, Skip):
        return fringe
    return fringe.flat, None if point is None else point.flat, slices
