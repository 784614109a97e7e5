"""Dithered MRS exposures in one frame: each exposure's (alpha, beta) through its own pointing.

A dither moves the telescope so that the target lands at the offset ``(XOFFSET, YOFFSET)``
(arcsec, the Ideal frame of the science aperture APERNAME, e.g. ``MIRIFU_CHANNEL1A``) from
the aperture's reference point; the SIAF gives that point's telescope coordinates,
``t_k = I(XOFFSET_k, YOFFSET_k)`` (pysiaf's ``idl_to_tel``, as :func:`instrument.mrs.idl_to_tel`
computes it from a shipped table of the MRS apertures).
A pixel of exposure ``k`` at ``(alpha, beta)`` sees the sky at ``(V2, V3) = T(alpha, beta)``
(the DISTORTION reference's ``abv2v3`` model of the band), ``T(alpha, beta) - t_k`` from the
target.  The cube is built in the frame of a reference exposure ``r`` (the first of the set),
where that sky point is at

    M_k(alpha, beta) = T^-1(T(alpha, beta) - (t_k - t_r)) - T^-1(T(alpha, beta)) + (alpha, beta),

the two inverses' difference cancelling the inverse polynomials' own round-trip error (< 0.03 mas
left against the simulator's truth).  A pixel's box goes through ``M_k`` by the midpoints of its
sides: ``alpha_lo, alpha_hi`` at its ``beta``, ``beta -/+ beta_del/2`` at its ``alpha``, so the box
follows the map's local scale (alpha/beta is not uniform on the sky: a rigid translation of the
boxes over a 3-4" dither gained or lost 0.4-0.5 % of the light in channels 3-4); the map's small
rotation and shear over a box are left out (the box stays axis-aligned, as
:mod:`calibration.mrs_wcs` leaves out the pixel's own shear).  An exposure at the reference's
pointing is not moved at all, so a single exposure gives the cube of its own frame exactly.

The dithers of one set share a roll (a visit's dithers are offsets only) and span a few
arcsec, where the V2/V3 -> sky tangent-plane map is a rigid shift to ``(3"/206265)^2 ~ 2e-10``.
jwst's ``cube_build`` goes through RA/Dec with each exposure's WCS pointing (``meta.wcsinfo``,
from the telescope's attitude); the testbed's uncal carries no sky pointing, so the commanded
offsets are used: on real data that leaves out the dithers' execution error.
"""
from dataclasses import dataclass

import numpy as np
from astropy.modeling.mappings import Mapping

from miri_testbed.instrument import mrs

from . import CalibrationInputError

#: Two pointings closer than this (arcsec, in V2/V3) are the same dither position.
SAME_POSITION_ARCSEC = 1e-3


@dataclass(frozen=True)
class Pointing:
    """Where an exposure's target lands: its file, aperture (APERNAME), dither position and ``(v2, v3)`` (arcsec)."""

    name: str
    aperture: str
    position: int
    v2: float
    v3: float


def _keyword(model, name, keyword, path):
    value = model.meta
    for part in path.split("."):
        value = getattr(value, part, None)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CalibrationInputError(f"{name}: no {keyword} (meta.{path}): combining dithered MRS exposures needs "
                                    "each one's pointing (APERNAME, XOFFSET, YOFFSET)")
    return value


def pointing(model, name):
    """An exposure's :class:`Pointing` from APERNAME, XOFFSET, YOFFSET (module docstring).

    Raises
    ------
    CalibrationInputError
        A missing keyword (named), or an APERNAME that is not an MRS aperture of the SIAF.
    """
    aperture = str(_keyword(model, name, "APERNAME", "aperture.name")).strip()
    x, y = (float(_keyword(model, name, k, f"dither.{a}")) for k, a in (("XOFFSET", "x_offset"),
                                                                          ("YOFFSET", "y_offset")))
    if aperture not in mrs.MRS_APERTURES:
        raise CalibrationInputError(f"{name}: APERNAME {aperture!r} is not an MRS aperture of the SIAF "
                                    f"({mrs.MRS_APERTURES[0]} ... {mrs.MRS_APERTURES[-1]})")
    v2, v3 = mrs.idl_to_tel(aperture, x, y)
    return Pointing(name, aperture, int(model.meta.dither.position_number or 0), float(v2), float(v3))


def check_set(pointings):
    """Refuse two exposures of a set at the same dither position, naming both."""
    for i, a in enumerate(pointings):
        for b in pointings[:i]:
            if np.hypot(a.v2 - b.v2, a.v3 - b.v3) < SAME_POSITION_ARCSEC:
                raise CalibrationInputError(f"{b.name} and {a.name} are at the same dither position (PATT_NUM "
                                            f"{b.position} and {a.position}, V2/V3 {a.v2:.4f}\", {a.v3:.4f}\"): a "
                                            "dither set has each position once")


def mover(band, pointing_k, reference):
    """``M_k`` (module docstring): ``(alpha, beta)`` of exposure ``k`` -> the reference's frame, arcsec.

    Parameters
    ----------
    band : calibration.mrs_wcs.BandWcs
        Its ``to_v2v3`` is the DISTORTION's ``T``.
    pointing_k, reference : Pointing

    Returns
    -------
    callable or None
        ``move(alpha, beta, output=None) -> (alpha, beta)``, or with ``output`` 0 (1) the moved alpha (beta)
        alone, which evaluates one of ``T^-1``'s two polynomials, not both (:func:`_outputs`); None when the
        two pointings are the same (nothing moves).
    """
    dv2, dv3 = pointing_k.v2 - reference.v2, pointing_k.v3 - reference.v3
    if dv2 == 0 and dv3 == 0:
        return None
    transform = band.to_v2v3
    inverse = _outputs(transform.inverse)

    def moved(i, start, v2, v3):
        return np.asarray(start + (inverse[i](v2 - dv2, v3 - dv3) - inverse[i](v2, v3)))

    def move(alpha, beta, output=None):
        v2, v3 = transform(alpha, beta)
        if output is None:
            return moved(0, alpha, v2, v3), moved(1, beta, v2, v3)
        return moved(output, (alpha, beta)[output], v2, v3)

    return move


def _outputs(model):
    """The two outputs of a model of two inputs, each as a callable of both inputs.

    The DISTORTION's ``v2v3_ab`` is ``Mapping | A & B`` (one polynomial per output, jwst's form): each
    output is then ``Mapping(A's inputs) | A``, the same arithmetic as in the whole model (so the same
    numbers, bit for bit), at half its cost when one output is needed (a dither set's boxes,
    :func:`calibration.cube_build.samples`).  Any other model is evaluated whole for each output.
    """
    if getattr(model, "op", None) == "|" and isinstance(model.left, Mapping) and getattr(model.right, "op", "") == "&":
        first, second = model.right.left, model.right.right
        if first.n_outputs == second.n_outputs == 1:
            mapping, n = model.left.mapping, model.left.n_inputs
            return (Mapping(mapping[:first.n_inputs], n_inputs=n) | first,
                    Mapping(mapping[first.n_inputs:], n_inputs=n) | second)
    return tuple(lambda x, y, i=i: model(x, y)[i] for i in range(2))
