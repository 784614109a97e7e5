"""Subarrays, readout patterns and the read clock of the MIRI imager array.

Clock model (params 1, 1a; ``jwst/emicorr/emicorr.py``): one pixel clock is 10 us and
samples 4 adjacent columns (one per output).  A row takes ``rowclocks`` clocks; a frame
takes ``frameclocks = ny * rowclocks + (1024 - ny) * 7`` clocks, since rows outside the
subarray are stepped and reset at 7 clocks each.  FASTR1 and SLOWR1 read every frame
(``nframes = 1``, ``groupgap = 0``), so a group lasts one frame, and they add one reset
frame between integrations.  Within a frame, pixel (y, x) of a subarray is read
``y * rowclocks + (x // 4) * nsamples`` clocks after the frame start; the full frame's
right reference columns (its 258th group of 4) are read 3 clocks later still
(``emicorr.py``: "a right-hand reference pixel at colstop = 258 is pushed +3 clocks";
params 2, "Pixel time model").

Subarray corners (``xstart``, ``ystart``, 1-based, full-frame) are RECALLED from SIAF
(MIRIM_* apertures), not re-read; sizes and clocks are the params table.
"""
from dataclasses import dataclass

import numpy as np

from .detector import FULL_NX, FULL_NY, N_OUTPUTS, PIXEL_CLOCK_S, REFERENCE_COLUMNS_LEFT, REFERENCE_COLUMNS_RIGHT


@dataclass(frozen=True)
class Subarray:
    """A readout window of the imager array (sizes include any reference columns)."""

    name: str
    xstart: int  # 1-based first column in the full frame
    ystart: int  # 1-based first row in the full frame
    xsize: int
    ysize: int
    rowclocks_fast: int  # pixel clocks per row in FASTR1 (params 1a)

    @property
    def shape(self):
        """``(ysize, xsize)``: the shape of one frame's array."""
        return (self.ysize, self.xsize)

    def reference_columns(self):
        """Columns of this subarray that are reference columns of the full frame.

        Returns
        -------
        list of int
            0-based column indices in this subarray (the 4 + 4 of
            :data:`instrument.detector.REFERENCE_COLUMNS_LEFT` / ``_RIGHT`` that fall inside).
        """
        left = [c - (self.xstart - 1) for c in range(REFERENCE_COLUMNS_LEFT)]
        right = [c - (self.xstart - 1) for c in range(FULL_NX - REFERENCE_COLUMNS_RIGHT, FULL_NX)]
        return [c for c in left + right if 0 <= c < self.xsize]


SUBARRAYS = {
    s.name: s
    for s in (
        Subarray("FULL", 1, 1, 1032, 1024, 271),
        Subarray("BRIGHTSKY", 457, 51, 512, 512, 162),
        Subarray("SUB256", 413, 51, 256, 256, 96),
        Subarray("SUB128", 1, 889, 136, 128, 44),
        Subarray("SUB64", 1, 779, 72, 64, 28),
        Subarray("SLITLESSPRISM", 1, 529, 72, 416, 28),
        Subarray("MASK1065", 1, 19, 288, 224, 82),
        Subarray("MASK1140", 1, 245, 288, 224, 82),
        Subarray("MASK1550", 1, 467, 288, 224, 82),
        Subarray("MASKLYOT", 1, 717, 320, 304, 90),
    )
}


@dataclass(frozen=True)
class ReadoutPattern:
    """A MIRI readout pattern: samples per pixel read and frames per group."""

    name: str
    samples_per_read: int  # FASTR1 1; SLOWR1 9 (first dropped, 8 averaged)
    nframes: int = 1
    groupgap: int = 0
    resets_between_integrations: int = 1  # the "R1" patterns add one reset frame


READOUT_PATTERNS = {
    "FASTR1": ReadoutPattern("FASTR1", samples_per_read=1),
    "SLOWR1": ReadoutPattern("SLOWR1", samples_per_read=9),
}

#: Rows of SLOWR1 take 2333 clocks in FULL (params 1); emicorr.py gives no SLOWR1
#: clocks for other subarrays, so SLOWR1 is defined here for FULL only.
SLOW_ROWCLOCKS = {"FULL": 2333}

#: Clocks to step and reset a row outside the subarray (emicorr.py extra_rowclocks).
SKIPPED_ROW_CLOCKS = 7

#: Extra clocks before the read of the full frame's last group of 4 columns, the right
#: reference columns (emicorr.py, params 2 "Pixel time model").
RIGHT_REFERENCE_DELAY_CLOCKS = 3


def subarray(name):
    """Look up a subarray by name.

    Parameters
    ----------
    name : str
        Subarray name, e.g. ``"SUB64"`` (case-insensitive).

    Returns
    -------
    Subarray
        The subarray of :data:`SUBARRAYS` called ``name``.

    Raises
    ------
    ValueError
        For an unknown subarray, listing the known ones.
    """
    try:
        return SUBARRAYS[name.upper()]
    except KeyError:
        raise ValueError(f"unknown MIRI imager subarray {name!r}; known: {', '.join(SUBARRAYS)}") from None


def readout_pattern(name):
    """Look up a readout pattern by name.

    Parameters
    ----------
    name : str
        ``"FASTR1"`` or ``"SLOWR1"`` (case-insensitive).

    Returns
    -------
    ReadoutPattern
        The pattern of :data:`READOUT_PATTERNS` called ``name``.

    Raises
    ------
    ValueError
        For an unsupported pattern, listing the supported ones.
    """
    try:
        return READOUT_PATTERNS[name.upper()]
    except KeyError:
        raise ValueError(
            f"unsupported readout pattern {name!r}; supported: {', '.join(READOUT_PATTERNS)}"
        ) from None


def rowclocks(subarray_name, readpatt):
    """Pixel clocks per row for a subarray and readout pattern (params 1, 1a).

    Parameters
    ----------
    subarray_name : str
        Subarray, e.g. ``"SUB64"``.
    readpatt : str
        ``"FASTR1"`` or ``"SLOWR1"``.

    Returns
    -------
    int
        Pixel clocks (10 us each) per row.

    Raises
    ------
    ValueError
        For an unknown name, or SLOWR1 with a subarray other than FULL (not documented).
    """
    sub = subarray(subarray_name)
    patt = readout_pattern(readpatt)
    if patt.name == "FASTR1":
        return sub.rowclocks_fast
    if sub.name not in SLOW_ROWCLOCKS:
        raise ValueError(
            f"SLOWR1 clocking is documented only for {', '.join(SLOW_ROWCLOCKS)}, not {sub.name}"
        )
    return SLOW_ROWCLOCKS[sub.name]


def read_offset_clocks(ny, nx, rowclocks, nsamples, xstart=1):
    """Pixel clocks from the frame start to the read of each pixel of a subarray.

    ``y rowclocks + (x // 4) nsamples``, plus :data:`RIGHT_REFERENCE_DELAY_CLOCKS` on the
    full frame's right reference columns (``emicorr.py``; params 2 "Pixel time model").

    Parameters
    ----------
    ny, nx : int
        Subarray size, rows and columns.
    rowclocks : int
        Pixel clocks per row (:func:`rowclocks`).
    nsamples : int
        Pixel clocks per read of a group of 4 columns (``samples_per_read`` of the pattern).
    xstart : int, optional
        1-based full-frame column of the subarray's first column.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` float offsets, pixel clocks (10 us each).
    """
    quad = np.arange(nx) // N_OUTPUTS
    late = (xstart - 1 + np.arange(nx)) // N_OUTPUTS == FULL_NX // N_OUTPUTS - 1
    cols = quad * float(nsamples) + np.where(late, RIGHT_REFERENCE_DELAY_CLOCKS, 0)
    return np.arange(ny)[:, None] * float(rowclocks) + cols[None, :]


def frame_clocks(subarray_name, readpatt):
    """Pixel clocks per frame: ``ny * rowclocks + (1024 - ny) * 7`` (emicorr.py).

    Parameters
    ----------
    subarray_name : str
        Subarray, e.g. ``"FULL"``.
    readpatt : str
        ``"FASTR1"`` or ``"SLOWR1"``.

    Returns
    -------
    int
        Pixel clocks (10 us each) per frame.
    """
    sub = subarray(subarray_name)
    return sub.ysize * rowclocks(subarray_name, readpatt) + (FULL_NY - sub.ysize) * SKIPPED_ROW_CLOCKS


def frame_time(subarray_name, readpatt):
    """Frame time of a subarray in a readout pattern.

    Parameters
    ----------
    subarray_name : str
        Subarray, e.g. ``"FULL"``.
    readpatt : str
        ``"FASTR1"`` or ``"SLOWR1"``.

    Returns
    -------
    float
        Frame time, s (2.77504 s for FULL FASTR1, 23.88992 s for FULL SLOWR1).
    """
    return frame_clocks(subarray_name, readpatt) * PIXEL_CLOCK_S


def group_time(subarray_name, readpatt):
    """Group time: ``(nframes + groupgap) * frame_time``.

    Parameters
    ----------
    subarray_name : str
        Subarray, e.g. ``"SUB64"``.
    readpatt : str
        ``"FASTR1"`` or ``"SLOWR1"``.

    Returns
    -------
    float
        Group time, s.
    """
    patt = readout_pattern(readpatt)
    return (patt.nframes + patt.groupgap) * frame_time(subarray_name, readpatt)


def exposure_time(subarray_name, readpatt, ngroups, nints):
    """Total exposure duration: ``ngroups * tgroup * nints + tgroup * (nints - 1)``.

    The second term is the reset frame between integrations of the R1 patterns (JDox
    "Comparison of Old and New MIRI Detector Readout Patterns").

    Parameters
    ----------
    subarray_name : str
        Subarray, e.g. ``"SUB64"``.
    readpatt : str
        ``"FASTR1"`` or ``"SLOWR1"``.
    ngroups : int
        Groups per integration.
    nints : int
        Integrations.

    Returns
    -------
    float
        Exposure duration, s.
    """
    tg = group_time(subarray_name, readpatt)
    return ngroups * tg * nints + tg * (nints - 1) * readout_pattern(readpatt).resets_between_integrations
