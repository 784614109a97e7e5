"""The source's own light an LRS background subtraction removes, for the aperture correction.

A background taken near a point source holds some of its light: the PSF's wings (its
diffraction spikes run along the rows) reach the ``columns`` sky 20-33 px from the trace
(:mod:`calibration.lrs_background`), and the other nod of an along-slit pair puts its
source's wings into the science's window (16.5 px away).  Both extractions
(:mod:`calibration.extract1d`) estimate the rate in a window ``[c_i - a, c_i + b]`` about
the trace ``c_i`` (the box's 8 columns with fractional edges; the optimal window's whole
pixels, whose profile is taken from the same data, so a component smooth along the rows,
as these are, is estimated with the rest: a pedestal ``p`` adds ``p`` per window pixel
whatever the weights), with ``f_j`` the fraction of pixel ``j`` inside it.  Row ``i`` then
loses a share of its source's whole light

    L_i = sum_k v_ik p_i(u_ik),

``u_ik`` the offsets, in columns from the source's trace, of the pixels whose source light
was subtracted, and ``v_ik`` what each counts in the row's estimate:

* ``columns``: the row's sky pixels (``INNER_PIX <= |u| <= OUTER_PIX``, seeing the sky),
  each ``v = (a + b) / m_i`` for ``m_i`` of them: the sky level moves the window's rate by
  ``a + b`` times itself, and the median of sky pixels whose noise exceeds the wings' light
  moves by the mean of that light (the median of ``B + n_k + c_k``, ``n`` symmetric noise
  and ``|c_k| << sigma``, shifts by the mean ``c_k`` to first order).  Without noise the
  clipped median is the wings' middle value instead (its difference from the mean is the
  error of this correction there; tests/test_lrs_flux.py bounds it).
* ``nod``: the window's pixels seen from the other nod's trace, ``u = j - (c_i + D)``,
  ``v = f_j / n`` for each of the ``n`` backgrounds averaged, ``D`` the other nod's offset
  from the science's trace (both found in their rates, :func:`calibration.extract1d.locate`).

``p_i(u)``, the share of the light in the pixel column centred ``u`` columns from the trace,
is ``G(u + 1/2) - G(u - 1/2)`` with ``G(t) = sign(t) E(2|t|) / 2``: the cross-dispersion
profile taken symmetric about the trace, ``E(w)`` the APCORR's share within a box of ``w``
columns (``E(0) = 0``) at the row's wavelength, linear between the table's widths.  The
apcorr step divides a row by ``E_window - L_i`` instead of ``E_window`` (as the imager's
APCORR is ``1 / (EE(r) - A_ap <PSF>_annulus)``, :mod:`simulator.imager_references`).

Assumed: the row's light has the PSF of its own wavelength.  For a continuum smooth over
the PSF's reach along the rows that holds (a row's sky gets its neighbours' wings, and
they are its own light's); an emission line's wings, which reach tens of rows along the
dispersion and put there far more light into the sky columns (relative to the box) than
a continuum's, are not corrected.  The APCORR must reach the farthest pixel,
``2 (max |u| + 1/2)`` columns: a table that does not (CRDS's LRS APCORR stops at narrow
boxes) leaves ``L`` uncorrected, and HISTORY says so.
"""
from dataclasses import dataclass

import numpy as np

from .lrs_background import INNER_PIX, OUTER_PIX


@dataclass(frozen=True)
class Region:
    """Where a background subtraction took its background, relative to the source's trace.

    Parameters
    ----------
    kind : str
        ``columns`` or ``nod``.
    trace_x : (ny,) float
        The source's trace column per row (NaN: not extracted).
    sky_columns : (nx,) bool
        Columns that see the sky (``columns``; its length is the frame's width).
    other_dx : tuple of float
        Each other nod's trace offset from the science's, columns (``nod``).
    """

    kind: str
    trace_x: np.ndarray
    sky_columns: np.ndarray = None
    other_dx: tuple = ()


def region(variant, backgrounds, trace_x, sky_columns, other_dx):
    """The :class:`Region` of the spec_background ``variant`` that ran, or None (nothing subtracted).

    ``auto`` is ``nod`` with background exposures and ``columns`` without, as
    :func:`calibration.lrs_background.auto` chooses.
    """
    kind = {"auto": "nod" if backgrounds else "columns"}.get(variant, variant)
    if kind == "columns":
        return Region("columns", trace_x, sky_columns=sky_columns)
    if kind == "nod":
        return Region("nod", trace_x, sky_columns, tuple(other_dx))
    return None


def removed_pixels(where, halves):
    """``(u, v)``: the offsets from the trace and weights of the pixels subtracted from each row.

    Parameters
    ----------
    where : Region
    halves : (a, b) of (ny,) float
        The extraction window's half widths left and right of the trace
        (:func:`calibration.lrs_photom.window_halves`).

    Returns
    -------
    u, v : (ny, m) float
        ``v = 0`` where a column holds nothing for that row.
    """
    a, b = (np.nan_to_num(h) for h in halves)
    ny, nx = where.trace_x.size, where.sky_columns.size
    j = np.arange(nx)[None, :]
    c = np.nan_to_num(where.trace_x, nan=-1e9)[:, None]
    u = j - c
    if where.kind == "columns":
        sky = where.sky_columns[None, :] & (np.abs(u) >= INNER_PIX) & (np.abs(u) <= OUTER_PIX)
        m = sky.sum(axis=1)
        v = np.where(sky, ((a + b) / np.maximum(m, 1))[:, None], 0.0)
        return np.where(sky, u, 0.0), v
    weights = np.clip(np.minimum(j + 0.5, c + b[:, None]) - np.maximum(j - 0.5, c - a[:, None]), 0.0, 1.0)
    us = [u - dx for dx in where.other_dx]
    return (np.hstack([np.where(weights > 0, x, 0.0) for x in us]) if us else np.zeros((ny, 0)),
            np.hstack([weights / len(us)] * len(us)) if us else np.zeros((ny, 0)))


def width_needed(u, v):
    """The widest box (columns) whose share :func:`loss` reads: ``2 (max |u| + 1/2)``."""
    used = np.abs(u[v != 0])
    return 2 * (float(used.max()) + 0.5) if used.size else 0.0


def loss(u, v, sizes, enclosed_at_rows):
    """``L_i = sum_k v_ik p_i(u_ik)`` (module docstring).

    Parameters
    ----------
    u, v : (ny, m) float
        :func:`removed_pixels`.
    sizes : (k,) float
        The APCORR's box widths, increasing, reaching :func:`width_needed`.
    enclosed_at_rows : (k, ny) float
        ``E`` at those widths and each row's wavelength (NaN: none).

    Returns
    -------
    (ny,) float
    """
    widths = np.concatenate([[0.0], sizes])
    out = np.zeros(u.shape[0])
    for i in np.flatnonzero(np.any(v != 0, axis=1)):
        e = np.concatenate([[0.0], enclosed_at_rows[:, i]])
        used = v[i] != 0

        def g(t, e=e):
            return np.sign(t) * np.interp(2 * np.abs(t), widths, e) / 2

        out[i] = np.sum(v[i, used] * (g(u[i, used] + 0.5) - g(u[i, used] - 0.5)))
    return out
