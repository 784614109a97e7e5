"""The MRS dither patterns (PRD PRDOPSSOC-055, shipped in ``data/mrs/``; params section 5).

``mrsdither-PRDOPSSOC-055.txt`` (STScI-MIRI/miricoord ``data/dithers``, BSD-3, licence in
``data/mrs/LICENSE-miricoord.md``) lists every MRS dither position: its index, the band
whose (alpha, beta) frame it is given in, alpha, beta, V2, V3 and the offset from the
channel's reference point in the Ideal frame (arcsec).  What the telescope executes is the
Ideal offset; the alpha/beta columns were computed in 2022 through the distortion of the
time: mapped through the shipped flt9 distortion (:func:`miri_testbed.instrument.mrs.band`)
the point-source sets' alpha/beta land 0.02-0.22" from the table's V2/V3 (measured; the
2025 boresight moved), so a simulator places a dither by its V2/V3 (or Ideal offset) and
maps that through the flight distortion.
"""
import re
from dataclasses import dataclass
from functools import cache

from .mrs import flight_file, miri_siaf

_DITHER_FILE = "mrsdither-PRDOPSSOC-055.txt"


@dataclass(frozen=True)
class DitherPosition:
    """One row of the MRS dither table (PRDOPSSOC-055).

    Parameters
    ----------
    index : int
        PosnIndex, 1-based.
    band : str
        The band whose (alpha, beta) frame the row is given in (1A, 2A, 3A or 4A).
    alpha, beta, v2, v3 : float
        The position, arcsec.
    dx_ideal, dy_ideal : float
        Its offset from the channel's reference point in the Ideal frame, arcsec.
    """

    index: int
    band: str
    alpha: float
    beta: float
    v2: float
    v3: float
    dx_ideal: float
    dy_ideal: float


@cache
def dither_positions():
    """Every row of the shipped MRS dither table, in its order (tuple of :class:`DitherPosition`)."""
    rows = []
    for line in flight_file(_DITHER_FILE).read_text().splitlines():
        fields = line.split()
        if not fields or line.startswith("#") or fields[0] == "PosnIndex":
            continue
        if len(fields) != 8 or not re.fullmatch(r"[1-4][ABC]", fields[1]):
            raise ValueError(f"{_DITHER_FILE}: unreadable row {line!r}")
        rows.append(DitherPosition(int(fields[0]), fields[1], *(float(v) for v in fields[2:])))
    if [r.index for r in rows] != list(range(1, len(rows) + 1)):
        raise ValueError(f"{_DITHER_FILE}: positions are not numbered 1 ... {len(rows)}")
    return tuple(rows)


def dither_pattern(points, source="point", channel=1, orientation="negative"):
    """The positions of an MRS dither pattern, from the PRD table.

    The table's sets, in order (miricoord ``makedither_mrs.writeresults_prd`` at the
    commit that wrote the file, 2022-06-27): for each channel 1-4, eight point-source
    positions, the NEGATIVE 4-point set then the POSITIVE one (1-32); the 4-point
    extended-source sets optimised for ALL channels (33-36) and for channels 1-4 (37-52);
    then a calibration scan (53 on), no observer pattern.  A 2-point pattern is the first
    two positions of the 4-point set (as the same code's JDox figures draw them; for the
    POSITIVE orientation an assumption by analogy).

    Parameters
    ----------
    points : int
        2 or 4.
    source : str
        "point" or "extended".
    channel : int or str
        1-4, or "ALL" (extended sources only).
    orientation : str
        "negative" or "positive" (point sources only).

    Returns
    -------
    tuple of DitherPosition
    """
    if points not in (2, 4):
        raise ValueError(f"MRS dither patterns have 2 or 4 points, not {points!r}")
    source, orientation, channel = str(source).lower(), str(orientation).lower(), str(channel).upper()
    if source == "point" and channel in "1234" and len(channel) == 1 and orientation in ("negative", "positive"):
        start = 8 * (int(channel) - 1) + (0 if orientation == "negative" else 4)
    elif source == "extended" and channel in ("ALL", "1", "2", "3", "4"):
        start = 32 if channel == "ALL" else 36 + 4 * (int(channel) - 1)
    else:
        raise ValueError(f"no MRS dither pattern for source={source!r}, channel={channel!r}, "
                         f"orientation={orientation!r} (point: channel 1-4, negative/positive; "
                         "extended: channel ALL or 1-4)")
    return dither_positions()[start:start + points]


def target_v2v3(channel, position=None):
    """Where the target lands, telescope ``(V2, V3)`` arcsec: the channel's reference point, dithered.

    The reference point is the SIAF aperture ``MIRIFU_CHANNEL<channel>A``'s (pysiaf; it is
    the flt9 distortion's ``(alpha, beta) = (0, 0)`` of band ``<channel>A`` to 0.1 mas); a
    dither position puts the target at its Ideal offset ``(dx_ideal, dy_ideal)`` from the
    reference point of its own band's aperture, through pysiaf's ``idl_to_tel``.

    Parameters
    ----------
    channel : int
        1-4 (without a dither position).
    position : DitherPosition, optional
        None: no dither.

    Returns
    -------
    tuple of float
    """
    name = f"{position.band}" if position is not None else f"{int(channel)}A"
    aperture = miri_siaf()[f"MIRIFU_CHANNEL{name}"]
    dx, dy = (position.dx_ideal, position.dy_ideal) if position is not None else (0.0, 0.0)
    v2, v3 = aperture.idl_to_tel(dx, dy)
    return float(v2), float(v3)
