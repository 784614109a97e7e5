"""Bad pixels on the LRS trace centre: the cause of 'dropouts' in extracted spectra (issue 15).

Params 6 (LRS): "bad pixels on the trace centre cause 'dropouts' that a pixel-replacement
step interpolates".  Random dead and hot pixels (:func:`simulator.detector.draw_detector`,
fractions of 1e-3 and 2e-3) land on the few pixels of a trace's core only now and then;
this effect puts ``count`` of them there, so a study sees what they do to a spectrum.

Model.  The candidates are the pixels ``(r, j)`` within 1 pixel of the true trace centre
of source 0 (the source the x1d extracts), ``|j - x_c(r)| <= 1`` with
``x_c(r) = x_T(lambda_T(r - dy)) + dx`` (:mod:`simulator.lrs`: the true table, the source's
offset ``(dx, dy)``), on the rows whose true wavelength is within
:data:`instrument.lrs.WAVELENGTH_RANGE_UM`.  ``count`` distinct candidates are drawn
uniformly, each dead or hot with equal odds (PLACEHOLDER: params gives no split); a hot
pixel's dark current is log-uniform in 10-1000 e-/s, the detector's own hot-pixel range
(placeholder, :func:`simulator.detector.draw_detector`).  They become part of the
detector's truth (:func:`apply`): a dead pixel collects nothing, a hot one its dark
current, and the MASK reference flags them as it flags every dead and hot pixel
(:func:`simulator.references.mask_flags`: DEAD or HOT with DO_NOT_USE), which a real
bad-pixel mask does for pixels this extreme.  The truth records them as the component
``TRACE_BAD_PIXELS`` (and in ``BADPIX``).
"""
from dataclasses import dataclass, replace

import numpy as np
from astropy.table import Table

from miri_testbed.instrument import lrs

from .truth import Component

#: log10 of the hot pixels' dark current range, e-/s (the detector's placeholder range).
HOT_DARK_LOG10 = (1.0, 3.0)
#: Largest distance of a placed pixel's centre from the trace centre, pixels.
HALF_WIDTH_PIX = 1.0


@dataclass(frozen=True)
class Defects:
    """Pixels made bad: rows ``y``, columns ``x``, ``hot`` (False: dead) and ``dark_rate`` (e-/s)."""

    y: np.ndarray
    x: np.ndarray
    hot: np.ndarray
    dark_rate: np.ndarray


def candidates(table, shape, dx, dy):
    """The pixels within :data:`HALF_WIDTH_PIX` of the trace centre (module docstring): ``(rows, cols)``.

    Parameters
    ----------
    table : instrument.lrs.LrsTable
        The true trace.
    shape : tuple
        The frame (ny, nx).
    dx, dy : float
        The source's offset from the reference point, pixels.
    """
    lo, hi = (max(table.wavelength_range_um[0], lrs.WAVELENGTH_RANGE_UM[0]),
              min(table.wavelength_range_um[1], lrs.WAVELENGTH_RANGE_UM[1]))
    y_lo, y_hi = sorted(float(y) for y in table.trace([lo, hi])[1])
    rows = np.arange(max(int(np.ceil(y_lo + dy)), 0), min(int(np.floor(y_hi + dy)), shape[0] - 1) + 1)
    centre = table.trace(table.wavelength_at_row(rows - dy))[0] + dx
    offsets = np.arange(-int(HALF_WIDTH_PIX) - 1, int(HALF_WIDTH_PIX) + 2)
    cols = np.rint(centre)[:, None].astype(int) + offsets[None, :]
    near = (np.abs(cols - centre[:, None]) <= HALF_WIDTH_PIX) & (cols >= 0) & (cols < shape[1])
    return np.broadcast_to(rows[:, None], cols.shape)[near], cols[near]


def draw(table, shape, dx, dy, count, rng):
    """``count`` bad pixels on the trace centre (module docstring).

    Parameters
    ----------
    table, shape, dx, dy
        As :func:`candidates`.
    count : int
    rng : numpy.random.Generator

    Returns
    -------
    Defects

    Raises
    ------
    ValueError
        When the trace has fewer candidate pixels than ``count``.
    """
    rows, cols = candidates(table, shape, dx, dy)
    if count > rows.size:
        raise ValueError(f"trace_bad_pixels = {count} but the trace centre has only {rows.size} pixels")
    chosen = np.sort(rng.choice(rows.size, size=count, replace=False))
    hot = rng.random(count) < 0.5
    dark = np.where(hot, 10 ** rng.uniform(*HOT_DARK_LOG10, count), 0.0)
    return Defects(rows[chosen], cols[chosen], hot, dark)


def apply(truth, defects):
    """The detector truth with ``defects`` made dead or hot (a new :class:`simulator.detector.DetectorTruth`).

    A reference pixel is left as it is.
    """
    dead, hot, dark = truth.dead.copy(), truth.hot.copy(), truth.dark_rate.copy()
    keep = ~truth.reference[defects.y, defects.x]
    y, x, is_hot = defects.y[keep], defects.x[keep], defects.hot[keep]
    dead[y, x], hot[y, x] = ~is_hot, is_hot
    dark[y, x] = defects.dark_rate[keep]
    return replace(truth, dead=dead, hot=hot, dark_rate=dark)


def component(defects):
    """The truth component ``TRACE_BAD_PIXELS``: each placed pixel's row, column, kind and dark current."""
    return Component("TRACE_BAD_PIXELS",
                     Table({"y": defects.y, "x": defects.x,
                            "kind": np.where(defects.hot, "hot", "dead"), "dark_rate": defects.dark_rate}),
                     description="bad pixels placed on the trace centre (simulator.trace_defects): 0-based "
                                 "row y, column x, dead or hot, dark current e-/s")
