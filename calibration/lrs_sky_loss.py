"""The source's own light an LRS background subtraction removes, for the aperture correction.

A background taken near a point source holds some of its light: the PSF's wings (its
diffraction spikes run along the rows) reach the ``columns`` sky 20-33 px from the trace
(:mod:`calibration.lrs_background`), and the other nod of an along-slit pair puts its
source's wings into the science's window (16.5 px away).  Both extractions
(:mod:`calibration.extract1d`) estimate the rate in a window ``[c_i - a, c_i + b]`` about
the trace ``c_i`` (the box's 8 columns with fractional edges; the optimal window's whole
pixels, whose profile is taken from the same data, so a component smooth along the rows,
as these are, is estimated with the rest: a pedestal ``p`` adds ``p`` per window pixel
whatever the weights), with ``f_j`` the fraction of pixel ``j`` inside it.  With ``T_r``
the whole light of row ``r``'s wavelengths, row ``i``'s estimate loses

    sum_r K_ir T_r,    K_ir = sum_k v_ik P_r(j_ik - c_r - D_k, i - r),

over the pixels ``(i, j_ik)`` whose source light was subtracted, each counting ``v_ik`` in
the row's estimate, ``D_k`` the offset of the source image that lit it:

* ``columns``: the row's sky pixels (``INNER_PIX <= |j - c_i| <= OUTER_PIX``, seeing the
  sky), each ``v = (a + b) / m_i`` for ``m_i`` of them, ``D = 0``: the sky level moves the
  window's rate by ``a + b`` times itself, and the median of sky pixels whose noise exceeds
  the wings' light moves by the mean of that light (the median of ``B + n_k + c_k``, ``n``
  symmetric noise and ``|c_k| << sigma``, shifts by the mean ``c_k`` to first order).
  Without noise the clipped median is the wings' middle value instead (its difference from
  the mean is the error of this correction there; tests/test_lrs_flux.py bounds it).
* ``nod``: the window's pixels, ``v = f_j / n`` for each of the ``n`` backgrounds
  averaged, ``D`` the other nod's offset from the science's trace (both found in their
  rates, :func:`calibration.extract1d.locate`).

``P_r(u, d)``, the share of row ``r``'s light in the pixel ``u`` columns and ``d`` rows
from it, is ``p_r(u) W(d | u)``.  Across the dispersion, ``p_r(u) = G(u + 1/2) -
G(u - 1/2)`` with ``G(t) = sign(t) E(2|t|) / 2``: the cross-dispersion profile taken
symmetric about the trace, ``E(w)`` the APCORR's share within a box of ``w`` columns
(``E(0) = 0``) at row ``r``'s wavelength, linear between the table's widths.  Along it,
``W(d | u)`` (``sum_d W = 1``, so a continuum, ``T_r = T_i``, loses
``sum_k v_ik p_i(u_ik)`` whatever the shape along the rows) is:

* slitless: the far wings of a diffraction-limited PSF fall as ``rho^-3`` (the Airy
  envelope; the sky lies 6-15 ``lambda/D`` from the trace), whose light at fixed ``u``
  spreads over the rows as ``W(d | u) = F(d + 1/2) - F(d - 1/2)``, ``F(t) = t / (2 sqrt(u^2
  + t^2))``.  Assumed rather than read from a file: JWST has no reference file of the PSF's
  reach along the dispersion.  Against the testbed's monochromatic PSF (hexagonal pupil,
  5.8-10.6 um) the model puts 10 % of a line's sky light within 2 rows where the PSF puts
  10-16 %, and 77 % within 30 rows where it puts 76-84 %.
* slit: the slit (:data:`instrument.lrs.SLIT_WIDTH_ARCSEC`, 4.6 rows) passes the wings only
  within its width, over which a wing ``u >> 1`` column away is flat: ``W(d)`` is the
  share of a uniform strip of that width, centred on the row, falling in row ``d``.

The shape matters for an emission line, whose slitless wings reach tens of rows along the
dispersion and there put far more light in the sky (relative to those rows' own) than a
continuum does.

The apcorr step then solves ``E_i T_i - sum_r K_ir T_r = F_i`` for the rows' light
(:func:`give_back`), ``E_i`` the window's share, ``F_i`` the extracted flux (as the
imager's APCORR is ``1 / (EE(r) - A_ap <PSF>_annulus)``,
:mod:`simulator.imager_references`).  The APCORR must reach the farthest pixel,
``2 (max |u| + 1/2)`` columns: a table that does not (CRDS's LRS APCORR stops at narrow
boxes) leaves the loss uncorrected, and HISTORY says so.
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
    slit_rows : float or None
        The slit's width along the dispersion, rows (None: slitless).
    """

    kind: str
    trace_x: np.ndarray
    sky_columns: np.ndarray = None
    other_dx: tuple = ()
    slit_rows: float = None


def region(variant, backgrounds, trace_x, sky_columns, other_dx, slit_rows=None):
    """The :class:`Region` of the spec_background ``variant`` that ran, or None (nothing subtracted).

    ``auto`` is ``nod`` with background exposures and ``columns`` without, as
    :func:`calibration.lrs_background.auto` chooses.
    """
    kind = {"auto": "nod" if backgrounds else "columns"}.get(variant, variant)
    if kind == "columns":
        return Region("columns", trace_x, sky_columns=sky_columns, slit_rows=slit_rows)
    if kind == "nod":
        return Region("nod", trace_x, sky_columns, tuple(other_dx), slit_rows)
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


def row_spread(d, u, slit_rows=None):
    """``W(d | u)``: the share of a wing's light at column offset ``u`` landing ``d`` rows away (module docstring).

    ``slit_rows``: the slit's width in rows (a uniform strip), None slitless (``rho^-3``).
    """
    if slit_rows is not None:
        half = slit_rows / 2
        return np.clip(np.minimum(d + 0.5, half) - np.maximum(d - 0.5, -half), 0.0, None) / slit_rows

    def f(t):
        return t / (2 * np.sqrt(u * u + t * t))

    return f(d + 0.5) - f(d - 0.5)


def coupling(u, v, trace_x, sizes, enclosed_at_rows, slit_rows=None):
    """``K_ir``: the share of row ``r``'s light taken from row ``i``'s estimate (module docstring).

    Parameters
    ----------
    u, v : (ny, m) float
        :func:`removed_pixels`.
    trace_x : (ny,) float
        The source's trace column per row (NaN: no light assigned to that row).
    sizes : (k,) float
        The APCORR's box widths, increasing, reaching :func:`width_needed`.
    enclosed_at_rows : (k, ny) float
        ``E`` at those widths and each row's wavelength (NaN: none).
    slit_rows : float or None
        :attr:`Region.slit_rows`.

    Returns
    -------
    (ny, ny) float
    """
    widths = np.concatenate([[0.0], sizes])
    ny = u.shape[0]
    out = np.zeros((ny, ny))
    hit = np.flatnonzero(np.any(v != 0, axis=1))
    lit = np.flatnonzero(np.isfinite(trace_x) & np.all(np.isfinite(enclosed_at_rows), axis=0))
    used = np.flatnonzero(np.any(v != 0, axis=0))
    if hit.size == 0 or lit.size == 0:
        return out
    c = np.nan_to_num(trace_x)
    # Entry q of every row is one pixel column seen from one image (removed_pixels), so its
    # column less the lighting image's offset, u_iq + c_i, is the same in every row it is used.
    owner = np.argmax(np.abs(v[:, used]), axis=0)
    column = u[owner, used] + c[owner]  # (m,)
    weight = v[hit][:, used]  # (h, m)
    offset = column[None, :] - c[lit, None]  # (l, m): each pixel from each lighting row's trace
    table = np.concatenate([np.zeros((1, ny)), enclosed_at_rows]).T[lit]  # (l, k + 1)
    share = _half_share(offset + 0.5, table, widths) - _half_share(offset - 0.5, table, widths)  # p_r(u)
    for block in np.array_split(np.arange(lit.size), -(-lit.size // ROWS_PER_BLOCK)):
        spread = row_spread(hit[:, None, None] - lit[block][None, :, None], offset[block][None], slit_rows)
        out[np.ix_(hit, lit[block])] = np.einsum("hm,bm,hbm->hb", weight, share[block], spread)
    return out


#: Lighting rows per block of :func:`coupling` (its temporaries: rows x this x columns).
ROWS_PER_BLOCK = 64


def _half_share(t, e, widths):
    """``G(t) = sign(t) E(2|t|) / 2``, ``E`` linear between ``widths`` (held beyond the last) per row of ``t``."""
    w = np.minimum(2 * np.abs(t), widths[-1])
    j = np.clip(np.searchsorted(widths, w, side="right"), 1, widths.size - 1)
    f = (w - widths[j - 1]) / (widths[j] - widths[j - 1])
    low = np.take_along_axis(e, j - 1, axis=-1)
    high = np.take_along_axis(e, j, axis=-1)
    return np.sign(t) * (low + f * (high - low)) / 2


def give_back(flux, error, share, coupling_matrix, lit):
    """Solve ``E_i T_i - sum_r K_ir T_r = F_i`` for the rows' light ``T`` and its error.

    A lit row without a flux of its own (a gap in the spectrum) is taken to hold its nearest
    measured row's light.  The error is propagated through the solve,
    ``Cov(T) = A^-1 diag(sigma^2) A^-T``.

    Parameters
    ----------
    flux, error, share : (ny,) float
        ``F``, its error and ``E`` (NaN: not measured).
    coupling_matrix : (ny, ny) float
        :func:`coupling`.
    lit : (ny,) bool
        Rows holding the source's light.

    Returns
    -------
    flux, error : (ny,) float
        ``T`` and its error, NaN where ``F`` or ``E`` is.
    """
    measured = np.flatnonzero(np.isfinite(flux) & np.isfinite(share))
    out_flux, out_error = np.full(flux.shape, np.nan), np.full(flux.shape, np.nan)
    if measured.size == 0:
        return out_flux, out_error
    rows = np.flatnonzero(lit)
    after = np.searchsorted(measured, rows)
    lo, hi = np.clip(after - 1, 0, measured.size - 1), np.clip(after, 0, measured.size - 1)
    source = np.where(np.abs(rows - measured[lo]) <= np.abs(measured[hi] - rows), lo, hi)
    folded = np.zeros((flux.size, measured.size))
    np.add.at(folded.T, source, coupling_matrix[:, rows].T)
    matrix = np.diag(share[measured]) - folded[measured]
    inverse = np.linalg.inv(matrix)
    out_flux[measured] = inverse @ flux[measured]
    out_error[measured] = np.sqrt((inverse * inverse) @ np.nan_to_num(error[measured]) ** 2)
    return out_flux, out_error
