"""Absolute astrometric alignment of an imager exposure to a reference catalog.

Inputs: the detected sources' centroids (detector pixels), the exposure's commanded WCS
(``meta.wcsinfo``), a DISTPOLY reference (the distortion, ``detector = undistorted +
sum (dx, dy) u^i v^j``) and a REFCAT reference (catalog RA/Dec of the field, like Gaia).

1. Undistort the centroids (fixed-point inversion of the polynomial, 5 iterations).
2. Project the catalog into undistorted pixels with the commanded WCS.
3. Coarse offset: every (detection, catalog star) pair closer than ``search_pix`` votes
   for its offset in a 2-D histogram of ``vote_bin_pix`` bins; the peak (summed over
   2 x 2 bins) is the shift.  It must hold at least ``min_matches`` votes.
4. Match each detection to the nearest shifted catalog star within ``match_pix``
   (one-to-one), fit a similarity transform (shift, rotation, scale: 4 parameters) by
   least squares, sigma-clip the residuals at ``clip_sigma`` (robust MAD scale, at least
   ``min_clip_scale_pix``: the clip is for mismatches; with five bright stars the fit's
   residuals are ~0.003 px and a star 0.02 px (2 mas) off was clipped, refusing the
   alignment), refit;
   repeat ``iterations`` times, re-matching each time with the current transform.
5. Refuse (:class:`AlignmentError`, naming why) when fewer than ``min_matches`` stars
   match, when the fit's rms exceeds ``max_rms_pix``, or when the transform is outside
   the sane range (scale off by > 1 %, rotation > 1 deg).  Never a silently wrong WCS.
6. The fitted transform becomes a new tangent point (CRVAL) and CD matrix (fitted to the
   composed mapping, :func:`aligned_wcs`); RA/Dec of every detection are recomputed
   through the distortion and the new WCS.

Cost: milliseconds for hundreds of stars.  Cannot do: proper motions, fields whose
pointing error exceeds ``search_pix``, non-linear residual distortion fitting.
"""
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from . import CalibrationInputError, Skip
from . import references as refs


class AlignmentError(ValueError):
    """The exposure could not be aligned; the message says why."""


@dataclass(frozen=True)
class Distortion:
    """The DISTPOLY distortion: ``detector = undistorted + sum (dx, dy) u^i v^j``.

    Parameters
    ----------
    terms : tuple
        ``((i, j, dx, dy), ...)``; empty: no distortion.
    centre : (float, float)
        Full-frame pixel at ``u = v = 0``.
    scale : float
        Pixels per unit of ``u`` and ``v``.
    """

    terms: tuple = ()  # ((i, j, dx, dy), ...)
    centre: tuple = (515.5, 511.5)
    scale: float = 512.0

    def offset(self, x_full, y_full):
        """The distortion ``(dx, dy)`` at full-frame pixel positions."""
        u = (np.asarray(x_full, float) - self.centre[0]) / self.scale
        v = (np.asarray(y_full, float) - self.centre[1]) / self.scale
        dx, dy = np.zeros_like(u), np.zeros_like(v)
        for i, j, cx, cy in self.terms:
            dx += cx * u**i * v**j
            dy += cy * u**i * v**j
        return dx, dy

    def undistort(self, x, y, x0=0.0, y0=0.0, iterations=5):
        """Undistorted (x, y) of detector positions (``x0, y0``: subarray origin in the full frame)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        xu, yu = x.copy(), y.copy()
        for _ in range(iterations if self.terms else 0):
            dx, dy = self.offset(xu + x0, yu + y0)
            xu, yu = x - dx, y - dy
        return xu, yu


def _read_distortion(path):
    with fits.open(path) as hdul:
        h, table = hdul[0].header, hdul["DISTPOLY"].data
        terms = tuple((int(r["i"]), int(r["j"]), float(r["dx"]), float(r["dy"])) for r in table)
        return Distortion(terms, (float(h["XCENTRE"]), float(h["YCENTRE"])), float(h["SCALE"]))


def load_distortion(folder, exposure):
    """The DISTPOLY reference's :class:`Distortion` and its path, or no distortion without one."""
    distortion, path = refs.load_optional(folder, "DISTPOLY", exposure, _read_distortion)
    return (Distortion() if distortion is None else distortion), path


def load_refcat(folder, exposure):
    """``(ra, dec)`` arrays of the REFCAT reference, or None when the folder has none."""
    def read(path):
        table = fits.getdata(path, "REFCAT")
        return np.asarray(table["ra"], float), np.asarray(table["dec"], float)

    return refs.load_optional(folder, "REFCAT", exposure, read)[0]


def similarity_fit(src, dst, weights=None):
    """Least-squares similarity transform ``dst = s R src + t``.

    Returns ``(a, b, tx, ty)`` with ``x' = a x - b y + tx``, ``y' = b x + a y + ty``.
    """
    x, y = src[:, 0], src[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    design = np.vstack([np.column_stack([x, -y, one, zero]), np.column_stack([y, x, zero, one])])
    target = np.concatenate([dst[:, 0], dst[:, 1]])
    params, *_ = np.linalg.lstsq(design, target, rcond=None)
    return params


def apply_similarity(params, xy):
    """The similarity ``params = (a, b, tx, ty)`` (:func:`similarity_fit`) applied to ``(n, 2)`` positions."""
    a, b, tx, ty = params
    return np.column_stack([a * xy[:, 0] - b * xy[:, 1] + tx, b * xy[:, 0] + a * xy[:, 1] + ty])


def _match(det, ref, radius):
    """One-to-one nearest matches within ``radius``: index arrays (det, ref)."""
    if len(det) == 0 or len(ref) == 0:
        return np.empty(0, int), np.empty(0, int)
    d = np.hypot(det[:, None, 0] - ref[None, :, 0], det[:, None, 1] - ref[None, :, 1])
    pairs = np.argwhere(d < radius)
    order = np.argsort(d[pairs[:, 0], pairs[:, 1]])
    used_d, used_r, out = set(), set(), []
    for i, j in pairs[order]:
        if i not in used_d and j not in used_r:
            used_d.add(i)
            used_r.add(j)
            out.append((i, j))
    out = np.array(out, int).reshape(-1, 2)
    return out[:, 0], out[:, 1]


def fit_alignment(det, ref, *, min_matches=5, search_pix=30.0, vote_bin_pix=1.0, match_pix=2.0, clip_sigma=3.0,
                  iterations=5, max_rms_pix=0.5, min_clip_scale_pix=0.05):
    """Similarity transform taking detected positions onto the catalog's projected positions.

    From detected (undistorted) pixel positions ``det`` to the catalog's projected pixel
    positions ``ref`` (both ``(n, 2)``), centred on their
    centroid for conditioning.  Returns ``(params, n_matched, rms_pix)``; raises
    :class:`AlignmentError` when the fit cannot be trusted.
    """
    det, ref = np.asarray(det, float).reshape(-1, 2), np.asarray(ref, float).reshape(-1, 2)
    if len(det) < min_matches or len(ref) < min_matches:
        raise AlignmentError(f"too few stars to align: {len(det)} detected, {len(ref)} in the reference catalog "
                             f"(need {min_matches} matches)")
    offsets = (ref[None, :, :] - det[:, None, :]).reshape(-1, 2)
    offsets = offsets[np.hypot(offsets[:, 0], offsets[:, 1]) < search_pix]
    edges = np.arange(-search_pix, search_pix + vote_bin_pix, vote_bin_pix)
    hist, _, _ = np.histogram2d(offsets[:, 0], offsets[:, 1], bins=[edges, edges])
    summed = hist[:-1, :-1] + hist[1:, :-1] + hist[:-1, 1:] + hist[1:, 1:]
    ix, iy = np.unravel_index(np.argmax(summed), summed.shape)
    votes = summed[ix, iy]
    if votes < min_matches:
        raise AlignmentError(f"no consistent offset: the best offset has {int(votes)} matching pairs "
                             f"(need {min_matches}) within {search_pix} px")
    in_peak = ((offsets[:, 0] >= edges[ix]) & (offsets[:, 0] < edges[ix + 2])
               & (offsets[:, 1] >= edges[iy]) & (offsets[:, 1] < edges[iy + 2]))
    shift = np.median(offsets[in_peak], axis=0)
    centre = det.mean(axis=0)
    params = np.array([1.0, 0.0, shift[0] + centre[0], shift[1] + centre[1]])
    d0, r0 = det - centre, ref
    keep = None
    for _ in range(iterations):
        i, j = _match(apply_similarity(params, d0), r0, match_pix)
        if len(i) < min_matches:
            raise AlignmentError(f"only {len(i)} detected sources match the reference catalog within {match_pix} px "
                                 f"(need {min_matches})")
        resid = apply_similarity(params, d0[i]) - r0[j]
        r = np.hypot(resid[:, 0], resid[:, 1])
        scale = max(1.4826 * np.median(r), min_clip_scale_pix)
        keep = r <= clip_sigma * scale
        if keep.sum() < min_matches:
            raise AlignmentError(f"only {int(keep.sum())} matches survive sigma clipping (need {min_matches})")
        params = similarity_fit(d0[i][keep], r0[j][keep])
        match_pix = max(min(match_pix, 5 * clip_sigma * scale), 0.3)
    resid = apply_similarity(params, d0[i][keep]) - r0[j][keep]
    rms = float(np.sqrt(np.mean(np.sum(resid**2, axis=1))))
    a, b = params[0], params[1]
    scale_factor, rotation = float(np.hypot(a, b)), float(np.degrees(np.arctan2(b, a)))
    if rms > max_rms_pix:
        raise AlignmentError(f"alignment rms {rms:.3f} px exceeds {max_rms_pix} px over {int(keep.sum())} matches")
    if abs(scale_factor - 1) > 0.01 or abs(rotation) > 1.0:
        raise AlignmentError(f"implausible alignment: scale {scale_factor:.5f}, rotation {rotation:.3f} deg")
    # back to un-centred coordinates: x' = M (x - c) + t = M x + (t - M c)
    m = np.array([[a, -b], [b, a]])
    t = params[2:] - m @ centre
    return np.array([a, b, t[0], t[1]]), int(keep.sum()), rms


def celestial_wcs(meta):
    """FITS celestial WCS from a product's ``meta.wcsinfo`` (0-based pixel API of astropy)."""
    info = meta.wcsinfo
    keys = ("crpix1", "crpix2", "crval1", "crval2", "cdelt1", "cdelt2", "pc1_1", "pc1_2", "pc2_1", "pc2_2")
    missing = [k for k in keys if getattr(info, k, None) is None]
    if missing:
        raise CalibrationInputError(f"exposure has no celestial WCS: missing wcsinfo {', '.join(missing)}")
    w = WCS(naxis=2)
    w.wcs.ctype = [info.ctype1 or "RA---TAN", info.ctype2 or "DEC--TAN"]
    w.wcs.crpix = [info.crpix1, info.crpix2]
    w.wcs.crval = [info.crval1, info.crval2]
    w.wcs.cdelt = [info.cdelt1, info.cdelt2]
    w.wcs.pc = [[info.pc1_1, info.pc1_2], [info.pc2_1, info.pc2_2]]
    return w


def aligned_wcs(wcs, params, half_size=600.0):
    """The TAN WCS equal to ``w'(p) = w(T(p))`` for the similarity ``T``.

    CRVAL at ``w(T(crpix))`` and the CD matrix fitted by least squares to the standard coordinates
    (about the new CRVAL) of a grid of points within ``half_size`` pixels.  (Taking CD as
    CD M would be wrong by the rotation of local north between the two tangent points,
    dRA sin(Dec): 0.013 px at 500 px for a 2" shift at Dec -70.)  Exact up to the
    gnomonic re-projection's second-order terms (~1e-12 rad here).
    """
    a, b, tx, ty = params
    m = np.array([[a, -b], [b, a]])
    c0 = np.array(wcs.wcs.crpix) - 1.0
    moved = m @ c0 + np.array([tx, ty])
    ra0, dec0 = wcs.wcs_pix2world(moved[0:1], moved[1:2], 0)
    g = np.linspace(-half_size, half_size, 7)
    gx, gy = (v.ravel() + c for v, c in zip(np.meshgrid(g, g), c0, strict=True))
    tpts = m @ np.vstack([gx, gy]) + np.array([[tx], [ty]])
    ra, dec = wcs.wcs_pix2world(tpts[0], tpts[1], 0)
    plane = WCS(naxis=2)  # identity CD: pixel offsets from CRPIX are standard coordinates in degrees
    plane.wcs.ctype = list(wcs.wcs.ctype)
    plane.wcs.crpix = [1.0, 1.0]
    plane.wcs.crval = [float(ra0[0]), float(dec0[0])]
    xi, eta = plane.wcs_world2pix(ra, dec, 0)
    design = np.column_stack([gx - c0[0], gy - c0[1]])
    cd, *_ = np.linalg.lstsq(design, np.column_stack([xi, eta]), rcond=None)
    new = WCS(naxis=2)
    new.wcs.ctype = list(wcs.wcs.ctype)
    new.wcs.crpix = list(wcs.wcs.crpix)
    new.wcs.crval = [float(ra0[0]), float(dec0[0])]
    new.wcs.cdelt = list(wcs.wcs.cdelt)
    new.wcs.pc = cd.T / np.array(wcs.wcs.cdelt)[:, None]
    return new


def align(x, y, wcs, refcat, distortion, origin=(0.0, 0.0), **kwargs):
    """Align detections at detector ``(x, y)`` to ``refcat`` (module docstring).

    Parameters
    ----------
    x, y, wcs, refcat, distortion, origin
        As :func:`align_to_catalog`.
    **kwargs
        Settings of :func:`fit_alignment`.

    Returns
    -------
    (WCS, info)
        The aligned WCS and ``{n_matched, rms_mas, scale, rotation_deg}``.

    Raises
    ------
    AlignmentError
        When the fit cannot be trusted.
    """
    xu, yu = distortion.undistort(x, y, *origin)
    rx, ry = wcs.wcs_world2pix(refcat[0], refcat[1], 0)
    params, n, rms = fit_alignment(np.column_stack([xu, yu]), np.column_stack([rx, ry]), **kwargs)
    scale_mas = 1000 * 3600 * abs(wcs.wcs.cdelt[0])
    info = {"n_matched": n, "rms_mas": rms * scale_mas, "scale": float(np.hypot(params[0], params[1])),
            "rotation_deg": float(np.degrees(np.arctan2(params[1], params[0])))}
    return aligned_wcs(wcs, params), info


def sky_positions(x, y, wcs, distortion, origin=(0.0, 0.0)):
    """RA, Dec (degrees) of detector positions through the distortion and ``wcs``.

    Parameters
    ----------
    x, y, wcs, distortion, origin
        As :func:`align_to_catalog`.

    Returns
    -------
    ra, dec : array
    """
    xu, yu = distortion.undistort(x, y, *origin)
    return wcs.wcs_pix2world(xu, yu, 0)


def align_to_catalog(x, y, wcs, refcat, distortion, origin=(0.0, 0.0)):
    """Variant ``catalog``: :func:`align`, declining when the fit cannot be trusted.

    Parameters
    ----------
    x, y : array
        Detected positions (detector pixels of the subarray).
    wcs : astropy.wcs.WCS
        The commanded celestial WCS.
    refcat : (ra, dec)
        The REFCAT reference catalog, degrees.
    distortion : Distortion
        The DISTPOLY reference.
    origin : (x0, y0)
        The subarray's origin in the full frame (0-based).

    Returns
    -------
    (WCS, info) or Skip
        The aligned WCS and the fit's summary, or a :class:`~calibration.Skip` saying
        why the alignment was refused (:class:`AlignmentError`).
    """
    try:
        return align(x, y, wcs, refcat, distortion, origin)
    except AlignmentError as exc:
        return Skip(f"alignment refused: {exc}")
