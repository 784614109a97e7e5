"""The MRS spectral leak's correction: band 3A less ``f(lambda)`` times band 1B at ``lambda / 2`` (issue 17).

Band 3A's pixels at ``lambda`` also see the light of ``lambda / 2`` (band 1B's) diffracted in the grating's
second order: ``F_3A(lambda) = F(lambda) + f(lambda) F(lambda / 2)`` in flux density (jwst's
``spectral_leak``, ``jwst/spectral_leak/spectral_leak.py``).  ``f`` is the MRSPTCORR reference's LEAKCOR
table (``wavelength``, ``frac_leak``, ``err_leak``), linear between its rows and 0 outside them.

Step ``spectral_leak`` runs on band 3A after ``mrs_extract`` (:mod:`calibration.mrs_spec2`); its band-1B
input is the same target's 1B cube (s3d) and spectrum (x1d), calibrated on their own (``calibrate
--leak-from``).  Variants:

* ``cube`` (the default; what jwst cannot do, jwst#7786, so it serves extended sources too): each spaxel
  of the 3A cube less ``f(lambda)`` times the 1B cube's surface brightness at ``lambda / 2`` at the same
  place on the sky,

      S'_3A(a, b, lambda) = S_3A(a, b, lambda) - f(lambda) <S_1B>(a, b, lambda / 2),

  ``<S_1B>`` linear in lambda between the two 1B planes about ``lambda / 2`` and averaged as 3A's drizzle
  makes the spaxel: over the strips of the one or two 3A slices it overlaps, weighted by the overlap
  (:func:`slice_points`), and over its alpha box convolved with a 3A pixel's; the points go into 1B's frame
  (3A's DISTORTION to V2/V3, moved by the two exposures' pointings, 1B's DISTORTION inverse;
  :func:`frame_map`), where 1B's cube is interpolated bilinearly among its spaxel centres
  (:func:`resampling_matrix`), times the map's Jacobian (:func:`jacobian`).  A dither set's cube takes every
  exposure's slices that meet the spaxel (the cube's strips), each by its overlap (until session 32 the first
  exposure's alone; ``_complete``'s choice of exposures per spaxel is not followed).  Its variance adds
  ``f^2 var(<S_1B>)`` (1B's spaxels taken as independent) and ``(err_f <S_1B>)^2``.  The point source's
  spectrum is then extracted again from the corrected cube (``mrs_extract``'s variant), with the 3A
  pixels' variance (the leak term's, ``f^2 < 1e-3`` of 1B's, is left out there).  3A's field is larger
  than 1B's: a point of a spaxel's average beyond 1B's covered spaxels takes the mean of its turns by 60, 120,
  ..., 300 deg about the point source's centre (in 1B's frame, the sky's turned) that fall on covered spaxels
  (:data:`TURNS`: the PSF's six-fold symmetry); a spaxel with a point that no turn brings into 1B's field takes
  the mean ``<S_1B>`` of the usable spaxels in its ring about the centre (:class:`RingMeans`: rings a spaxel
  wide, at least :data:`RING_MIN_COVERED` of a ring's spaxels usable), i.e. the 1B image continued as its
  azimuthal mean; the rest are left as they are, and counted.  The turns since session 32: at a 4-point
  dither's positions the source sits ~1" from 1B's field centre, the 3A aperture reaches beyond 1B's field, and
  a ring's mean, taken over the arc 1B covers, missed the PSF's spikes there (at position 1 the leak in the
  aperture beyond 1B's field over-subtracted by 22 %, the x1d's leak left 1.6e-3 -> 0.56e-3 of the continuum with
  the turns; docs/mrs.md, 'The leak at a dither's positions').  Why: the extraction's
  background annulus (4.5-6 lambda/D) lies mostly beyond 1B's field, and a leak left there is taken for
  sky (the x1d's noise-free floor, -0.7e-3 of the continuum for a hot point source: docs/mrs.md, 'LEAK-1
  taken apart').  SIMPLIFICATION: the continuation is exact for an image of six-fold symmetry about the centre
  (a point source's PSF, spikes included, to the pupil's symmetry; a uniform extended source) and a guess
  elsewhere (an elongated extended source).
  The leak's image is a 6 um PSF; the 1B cube holds that PSF itself, so the subtraction removes it
  where it falls, which the 1-D form cannot (below).
* ``cube_sharpened``: ``cube`` with each 1B plane first sharpened along beta by the blur that 1B's image has and
  3A's leak has not (:func:`sharpened_in_beta`): 1B's slice ``beta_del``, its drizzle onto spaxels of ``h`` and the
  bilinear interpolation among them add a variance of ``beta_del^2 / 12 + h^2 / 12 + h^2 / 6`` (0.0068 arcsec^2),
  taken out to second order, ``S - (v / 2) d^2 S / d beta^2`` (one Van Cittert step; beta only, which no cube kernel
  smooths: in alpha 1B's and 3A's kernels blur nearly alike).  Measured (docs/mrs.md, '1B's blur in beta taken
  out'): the leak left per spaxel about halves (a red point source's worst from 0.18 % of the continuum to
  0.09 %, a hot one's 2.75 % to 1.31 %), but a hot point source's spectrum keeps more (its x1d 0.045 % -> 0.076 %
  of the continuum noise-free; LEAK-1 0.25e-3 -> 0.54e-3 in the ``mrs_leak`` suite, seed 1): for a cube read spaxel by
  spaxel, not the default.
* ``spectrum`` (jwst's, for a point source): ``F'_3A(lambda) = F_3A(lambda) - f(lambda) F_1B(lambda / 2)``,
  ``F_1B`` linear between 1B's usable planes; ``sigma'^2 = sigma^2 + f^2 sigma_1B^2 + (err_f F_1B)^2``.
  The 3A spectrum's aperture correction is for a 12 um PSF, while the leak is a 6 um one, more of it in
  the aperture: the leak in ``F_3A`` is ``f F(lambda/2)`` times that ratio, and this form leaves the excess.
* ``jwst_spectrum`` (the ``peers`` extra, :mod:`calibration.peers`): jwst's ``do_correction`` on the same
  two spectra (FLUX only: the error passes unchanged, as jwst's).
* ``none``.

A declared skip, saying which, without an MRSPTCORR, without 1B data (or the 1B cube for ``cube``),
or for an uncalibrated (DN/s) band.
"""
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import mrs

from . import CalibrationInputError, Skip, mrs_pointing
from . import references as refs

#: The band the leak falls on, the band it comes from, and the grating order (lambda / 2).
LEAK_BAND, SOURCE_BAND, ORDER = "3A", "1B", 2
#: Points per 3A spaxel side at which the 1B cube is interpolated (the spaxel's average).
SUBSAMPLES = 4
#: The turns (radians) about a point source's centre that carry a point beyond 1B's field into it: the telescope's
#: PSF has six-fold symmetry (its hexagonal segments and three struts at 120 deg; with the intensity's symmetry
#: under a half turn, six spikes), so the 6 um image there is, to that symmetry, its turns' mean.
TURNS = np.deg2rad(60.0 * np.arange(1, 6))
#: A ring about the source continues the 1B image beyond 1B's field where this share of its spaxels is covered
#: (a few spaxels at the background annulus's radii; at 0.25 a third of the annulus's uncovered spaxels were
#: reached and the x1d's noise-free floor went -0.71 % -> -0.48 % of the leak, at 0.05 all but one: -0.15 %).
RING_MIN_COVERED = 0.05


@dataclass(frozen=True)
class LeakTable:
    """The LEAKCOR table: ``f`` and its error at ``wavelength`` (um); ``filename`` the MRSPTCORR's path."""

    wavelength: np.ndarray
    frac: np.ndarray
    err: np.ndarray
    filename: str

    def at(self, wavelength_um):
        """``(f, err_f)`` at ``wavelength_um``, linear between the rows, 0 outside them."""
        return tuple(np.interp(wavelength_um, self.wavelength, column, left=0.0, right=0.0)
                     for column in (self.frac, self.err))


def read_table(path):
    """The :class:`LeakTable` of an MRSPTCORR file (``MirMrsPtCorrModel``); an empty or unsorted table is refused."""
    with dm.MirMrsPtCorrModel(str(path)) as model:
        table = model.leakcor_table
        wavelength, frac, err = (np.asarray(table[c], float) for c in ("wavelength", "frac_leak", "err_leak"))
    if wavelength.size < 2 or np.any(np.diff(wavelength) <= 0) or not np.all(np.isfinite(frac)):
        raise ValueError("its LEAKCOR table needs >= 2 rows of increasing wavelength and finite frac_leak")
    return LeakTable(wavelength, frac, np.nan_to_num(err), str(path))


@dataclass(frozen=True)
class SourceBand:
    """Band 1B of the target: its cube (or None) and spectrum (or None), and the 1B cube's frame.

    ``cube``: ``(data, var, covered, alpha, beta, wavelength)``, the axes the spaxels' centres (arcsec, um);
    ``spectrum``: ``(wavelength, flux, error)`` over the usable planes, in Jy; ``band``: 1B's
    :class:`calibration.mrs_wcs.BandWcs` and ``pointing`` its exposure's (or None).
    """

    cube: tuple
    spectrum: tuple
    band: object
    pointing: object
    names: tuple


def _axis(wcs, n, size):
    return getattr(wcs, f"crval{n}") + getattr(wcs, f"cdelt{n}") * (np.arange(size) + 1 - getattr(wcs, f"crpix{n}"))


def _is_1b(model):
    meta = model.meta.instrument
    return str(meta.channel).strip() == SOURCE_BAND[0] and str(meta.band).strip().upper() == "MEDIUM"


#: What each ``spectral_leak`` variant needs of band 1B: its cube, or its spectrum.
NEEDS = {"cube": "cube", "cube_sharpened": "cube", "spectrum": "spectrum", "jwst_spectrum": "spectrum"}


def check_source(source, variant):
    """Refuse ``--leak-from`` products that lack what ``variant`` needs, rather than skip the correction asked for.

    Raises
    ------
    CalibrationInputError
        Naming the missing product and the variant that needs it.
    """
    need = NEEDS.get(variant)
    if need is not None and getattr(source, need) is None:
        what = "cube (its _ch1-medium_s3d.fits)" if need == "cube" else "spectrum (its _x1d.fits)"
        raise CalibrationInputError(f"--leak-from {' '.join(source.names)}: no band 1B {what}, which "
                                    f"spectral_leak={variant} needs")


def open_source_band(paths, folder, read_references):
    """The :class:`SourceBand` of ``calibrate --leak-from``: band 1B's s3d and/or x1d products.

    ``read_references(folder, exposure)``: :func:`calibration.mrs_wcs.read_references`, for 1B's
    DISTORTION (in ``folder``, ``--leak-refs``, selected by the cube's detector and setting).

    Raises
    ------
    CalibrationInputError
        A file that is neither band 1B's cube nor an x1d with a 1B spectrum, in MJy/sr and Jy.
    """
    cube = spectrum = band = pointing = None
    for path in paths:
        try:
            opened = dm.open(str(path))
        except (OSError, ValueError, TypeError) as exc:
            raise CalibrationInputError(f"{path}: not a readable JWST product ({exc}); --leak-from takes band 1B's "
                                        "s3d and x1d files") from None
        with opened as model:
            if isinstance(model, dm.IFUCubeModel) and _is_1b(model):
                if str(model.meta.bunit_data).strip() != "MJy/sr":
                    raise CalibrationInputError(f"{path}: the 1B cube is in {model.meta.bunit_data}, not MJy/sr: "
                                                "calibrate it with an MRS PHOTOM")
                data = np.asarray(model.data, float)
                covered = (np.asarray(model.dq) & dqflags.DO_NOT_USE) == 0
                wcs = model.meta.wcsinfo
                cube = (np.where(covered, data, 0.0), np.where(covered, np.asarray(model.err, float) ** 2, 0.0),
                        covered, _axis(wcs, 1, data.shape[2]), _axis(wcs, 2, data.shape[1]),
                        _axis(wcs, 3, data.shape[0]))
                try:
                    band = read_references(folder, _exposure_of(model)).bands[SOURCE_BAND]
                except CalibrationInputError as exc:
                    raise CalibrationInputError(f"{exc} (band 1B's geometry for --leak-from: pass --leak-refs with the "
                                                "1B exposure's reference folder)") from None
                try:
                    pointing = mrs_pointing.pointing(model, str(path))
                except CalibrationInputError:
                    pointing = None
                continue
            specs = [s for s in getattr(model, "spec", []) if str(s.name) == SOURCE_BAND]
            if not specs:
                raise CalibrationInputError(f"{path}: neither band 1B's cube (s3d, CHANNEL 1, BAND MEDIUM) nor an "
                                            "x1d with a 1B spectrum: --leak-from takes band 1B's products")
            table = specs[0].spec_table
            if str(table.columns["flux"].unit).strip() != "Jy":
                raise CalibrationInputError(f"{path}: the 1B spectrum is in {table.columns['flux'].unit}, not Jy: "
                                            "calibrate it with an MRS PHOTOM")
            wl, flux, err = (np.asarray(table[c], float) for c in ("WAVELENGTH", "FLUX", "FLUX_ERROR"))
            good = ((np.asarray(table["DQ"]) & dqflags.DO_NOT_USE) == 0) & np.isfinite(flux) & np.isfinite(err)
            spectrum = (wl[good], flux[good], err[good])
    return SourceBand(cube, spectrum, band, pointing, tuple(str(p) for p in paths))


def _exposure_of(cube):
    """A stand-in exposure with the 1B cube's detector and setting, to select its geometry references."""
    model = dm.ImageModel((1, 1))
    detector = str(cube.meta.instrument.detector).strip().upper()
    model.meta.instrument.name, model.meta.instrument.detector = "MIRI", detector
    model.meta.instrument.channel = "".join(str(c) for c, d in mrs.DETECTOR_OF_CHANNEL.items() if d == detector)
    model.meta.instrument.band = cube.meta.instrument.band
    model.meta.exposure.type = "MIR_MRS"
    model.meta.exposure.start_time = cube.meta.exposure.start_time  # USEAFTER
    return model


def frame_map(band_3a, pointing_3a, band_1b, pointing_1b):
    """``(alpha, beta)`` of 3A's frame -> 1B's frame at the same sky point (module docstring).

    A sky point ``d`` from the target is at ``V2/V3 = t_k + d`` in exposure ``k`` (its pointing ``t_k``,
    :mod:`calibration.mrs_pointing`); without both pointings the two exposures are taken as at one.
    """
    dv2, dv3 = (0.0, 0.0) if pointing_3a is None or pointing_1b is None else (
        pointing_1b.v2 - pointing_3a.v2, pointing_1b.v3 - pointing_3a.v3)

    def to_1b(alpha, beta):
        v2, v3 = band_3a.to_v2v3(alpha, beta)
        return band_1b.to_v2v3.inverse(v2 + dv2, v3 + dv3)
    return to_1b


def slice_points(beta, step, strips):
    """Where and how much each 3A spaxel row sees of the slices: ``(points, weights, whole)``.

    A spaxel of ``[beta - step/2, beta + step/2]`` is the drizzle of the pixels of the slices it overlaps, each pixel
    the mean over its slice's whole strip: so each overlapping strip's :data:`SUBSAMPLES` points, weighted by its
    share of the overlaps.  ``strips`` ``(n, 2)``: the slices' ``(lo, hi)`` in beta, one exposure's (they tile: a
    spaxel meets at most two) or a dither set's every exposure's (each strip that meets the spaxel, by its overlap).
    ``points``, ``weights`` ``(n_beta, m SUBSAMPLES)``, ``m`` the most strips a row meets (unused ones weighted 0);
    ``whole`` where the strips together cover the spaxel.
    """
    strips = np.asarray(strips, float)
    lo, hi = beta - step / 2, beta + step / 2
    overlap = np.clip(np.minimum(hi[:, None], strips[None, :, 1]) - np.maximum(lo[:, None], strips[None, :, 0]), 0,
                      None)
    most = max(1, int(np.max(np.count_nonzero(overlap, axis=1))))
    order = np.argsort(-overlap, axis=1, kind="stable")[:, :most]  # the strips that meet the row first
    chosen = np.take_along_axis(overlap, order, axis=1)
    total = chosen.sum(axis=1, keepdims=True)
    share = np.divide(chosen, total, out=np.zeros_like(chosen), where=total > 0)
    sub = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES
    lo_k, width = strips[order, 0], strips[order, 1] - strips[order, 0]
    points = (lo_k[:, :, None] + width[:, :, None] * sub).reshape(len(beta), -1)
    # the strips' union: merged where they meet or overlap
    merged = []
    for a, b in strips[np.argsort(strips[:, 0], kind="stable")]:
        if merged and a <= merged[-1][1] + 1e-9:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    union = np.asarray(merged)
    covered = np.clip(np.minimum(hi[:, None], union[None, :, 1]) - np.maximum(lo[:, None], union[None, :, 0]), 0,
                      None).sum(axis=1)
    return points, np.repeat(share, SUBSAMPLES, axis=1) / SUBSAMPLES, np.isclose(covered, step)


def _bilinear(a1, b1, alpha_1b, beta_1b, covered):
    """Bilinear interpolation among 1B's spaxel centres at 1B-frame points: ``(i0, j0, corner weights, ok)``.

    ``corner weights`` ``[(di, dj, c), ...]`` for the four corners; ``ok`` where the point lies on 1B's grid and all
    four corners are ``covered`` (off the grid ``i0, j0`` are 0 and the point is not ok).
    """
    ia = (a1 - alpha_1b[0]) / (alpha_1b[1] - alpha_1b[0])
    ib = (b1 - beta_1b[0]) / (beta_1b[1] - beta_1b[0])
    i0, j0 = np.floor(ib).astype(int), np.floor(ia).astype(int)
    fb, fa = ib - i0, ia - j0
    inside = (i0 >= 0) & (i0 < len(beta_1b) - 1) & (j0 >= 0) & (j0 < len(alpha_1b) - 1)
    i0, j0 = np.where(inside, i0, 0), np.where(inside, j0, 0)
    corners = [(0, 0, (1 - fb) * (1 - fa)), (0, 1, (1 - fb) * fa), (1, 0, fb * (1 - fa)), (1, 1, fb * fa)]
    ok = inside.copy()
    for di, dj, _ in corners:
        ok &= covered[i0 + di, j0 + dj]
    return i0, j0, corners, ok


def resampling_matrix(alpha, beta, step, pixel_alpha, strips, to_1b, alpha_1b, beta_1b, covered, centre_1b=None):
    """The sparse ``W`` with ``<S_1B>_s = sum_j W_sj S_1B,j`` over 3A's spaxels ``s`` (module docstring, ``cube``).

    ``alpha, beta, step``: 3A's spaxel centres (1-D axes) and sizes ``(d_alpha, d_beta)``; ``pixel_alpha``: 3A's
    pixel width in alpha; ``strips``: 3A's slices' beta strips (:func:`slice_points`); ``alpha_1b, beta_1b``:
    1B's axes; ``covered``: 1B's spaxels with data (2-D); ``centre_1b``: a point source's centre in 1B's frame, about
    which a point beyond 1B's covered spaxels takes the mean of its turns by multiples of 60 deg that are covered
    (:data:`TURNS`; None: none taken).  Returns ``(W, usable, turned)``: ``usable[s]`` false where a point (and
    each of its turns) falls off 1B's grid or next to an uncovered spaxel, or the slices do not cover the spaxel
    whole; ``turned[s]`` where a point of a usable spaxel was taken from its turns.
    """
    sub = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5
    # along alpha a spaxel is the drizzle of pixels over it: 1B's image averaged over the spaxel's box and a pixel's
    da = (sub[:, None] * step[0] + sub[None, :] * pixel_alpha).ravel()
    b_points, b_weights, whole_rows = slice_points(beta, step[1], strips)
    n_beta, n_alpha, n_b_points = len(beta), len(alpha), b_points.shape[1]
    a = np.broadcast_to(alpha[None, :, None, None] + da[None, None, None, :], (n_beta, n_alpha, n_b_points, da.size))
    b = np.broadcast_to(b_points[:, None, :, None], a.shape)
    w = np.broadcast_to(b_weights[:, None, :, None] / da.size, a.shape).ravel()
    n_points = n_b_points * da.size
    a1, b1 = (np.asarray(c, float).ravel() for c in to_1b(a.ravel(), b.ravel()))
    i0, j0, corners, ok = _bilinear(a1, b1, alpha_1b, beta_1b, covered)
    point = np.arange(len(w))
    parts = [(point[ok], i0[ok], j0[ok], [(di, dj, c[ok]) for di, dj, c in corners], w[ok])]
    missing = ~ok & (w > 0)
    found = np.zeros(len(w))
    if centre_1b is not None and np.any(missing):
        # 1B's frame is the sky's turned (channels 1-2, docs/mrs.md 'psf_frame'): a turn there is one on the sky
        lost = np.flatnonzero(missing)
        da1, db1 = a1[lost] - centre_1b[0], b1[lost] - centre_1b[1]
        turns = []
        for turn in TURNS:
            cos, sin = np.cos(turn), np.sin(turn)
            ti, tj, tc, t_ok = _bilinear(centre_1b[0] + cos * da1 - sin * db1, centre_1b[1] + sin * da1 + cos * db1,
                                         alpha_1b, beta_1b, covered)
            turns.append((ti, tj, tc, t_ok))
            found[lost] += t_ok
        share = np.where(found[lost] > 0, w[lost] / np.maximum(found[lost], 1), 0.0)
        for ti, tj, tc, t_ok in turns:
            parts.append((lost[t_ok], ti[t_ok], tj[t_ok], [(di, dj, c[t_ok]) for di, dj, c in tc], share[t_ok]))
    rows, cols, weights = [], [], []
    n_b, n_a = len(beta_1b), len(alpha_1b)
    for points, pi, pj, pc, pw in parts:
        for di, dj, c in pc:
            rows.append(points // n_points)
            cols.append((pi + di) * n_a + (pj + dj))
            weights.append(pw * c)
    n_spaxels = n_beta * n_alpha
    matrix = sparse.csr_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(n_spaxels, n_b * n_a))
    whole = np.repeat(whole_rows, n_alpha)
    starts = np.arange(0, len(ok), n_points)
    usable = np.logical_and.reduceat(ok | (w == 0) | (found > 0), starts) & whole
    turned = np.logical_or.reduceat(found > 0, starts) & usable
    return sparse.diags(jacobian(to_1b, *np.meshgrid(alpha, beta)).ravel()) @ matrix, usable, turned


def sharpened_in_beta(plane, variance, covered, step, beta_del):
    """A 1B plane (rows beta) and its variance less 1B's extra blur in beta (module docstring, ``cube_sharpened``).

    ``S'_j = S_j - c (S_{j+1} - 2 S_j + S_{j-1})``, ``c = v / (2 step^2)``, ``v = beta_del^2 / 12 + step^2 / 4``, where
    both neighbours are ``covered`` (else ``S_j`` as it is); the spaxels taken as independent,
    ``var'_j = (1 + 2c)^2 var_j + c^2 (var_{j+1} + var_{j-1})``.
    """
    c = (beta_del**2 / 12 + step**2 / 4) / (2 * step**2)
    inner = np.zeros_like(covered)
    inner[1:-1] = covered[1:-1] & covered[2:] & covered[:-2]
    second = np.zeros_like(plane)
    second[1:-1] = plane[2:] - 2 * plane[1:-1] + plane[:-2]
    spread = np.zeros_like(variance)
    spread[1:-1] = (1 + 2 * c) ** 2 * variance[1:-1] + c**2 * (variance[2:] + variance[:-2])
    return np.where(inner, plane - c * second, plane), np.where(inner, spread, variance)


def jacobian(to_1b, alpha, beta, h=0.01):
    """``|d(alpha_1B, beta_1B) / d(alpha, beta)|`` at 3A's ``(alpha, beta)`` (central differences of ``h`` arcsec).

    A surface brightness per arcsec^2 of 1B's ``(alpha, beta)`` (the PHOTOM's pixel area ``|d alpha| beta_del``) is
    this times that per arcsec^2 of 3A's: 3A's alpha is ~0.96 sky arcsec (its DISTORTION), 1B's ~1.
    """
    a_p, b_p = (np.asarray(c, float) for c in to_1b(alpha + h, beta))
    a_m, b_m = (np.asarray(c, float) for c in to_1b(alpha - h, beta))
    a_q, b_q = (np.asarray(c, float) for c in to_1b(alpha, beta + h))
    a_r, b_r = (np.asarray(c, float) for c in to_1b(alpha, beta - h))
    return np.abs((a_p - a_m) * (b_q - b_r) - (a_q - a_r) * (b_p - b_m)) / (2 * h) ** 2


def cube(cube_3a, spectrum_3a, extract, leak, source, to_1b, pixel_alpha, jy_scale, sharpen=False):
    """Variant ``cube`` (module docstring): ``(corrected Cube, its spectrum, notes)``, or a Skip without 1B's cube.

    The step's arguments: ``cube_3a`` (a :class:`calibration.cube_build.Cube` in MJy/sr), ``spectrum_3a``
    (its :class:`calibration.mrs_extract.MrsSpectrum`, or None without a point source: then the rings are about
    the middle of 1B's reach and no spectrum is returned), ``extract(cube) -> MrsSpectrum``; references from
    :func:`resolve`: ``leak`` (:class:`LeakTable`), ``source`` (:class:`SourceBand`), ``to_1b``
    (:func:`frame_map`), ``pixel_alpha`` (3A's pixel width in alpha, arcsec),
    ``jy_scale`` (Jy per the spectrum's unit); ``sharpen``: 1B's planes sharpened in beta first (``cube_sharpened``).
    """
    if source.cube is None:
        return Skip(f"spectral_leak cube: no band 1B cube among {', '.join(source.names)}")
    data_1b, var_1b, covered_1b, alpha_1b, beta_1b, wave_1b = source.cube
    grid = cube_3a.grid
    spatial_1b = covered_1b.any(axis=0)
    beta, alpha = np.meshgrid(grid.beta.centres, grid.alpha.centres, indexing="ij")
    centre_1b = None if spectrum_3a is None else tuple(float(c) for c in to_1b(*spectrum_3a.centre))
    # the slices the cube was made of (a dither set's every exposure's: cube_build.slice_strips)
    matrix, usable, turned = resampling_matrix(grid.alpha.centres, grid.beta.centres,
                                               (grid.alpha.step, grid.beta.step), pixel_alpha, cube_3a.strips, to_1b,
                                               alpha_1b, beta_1b, spatial_1b, centre_1b)
    squared = matrix.multiply(matrix)
    # without a point source (an extended field) the rings are about the middle of 1B's reach
    centre = spectrum_3a.centre if spectrum_3a is not None else (np.mean(alpha.ravel()[usable]),
                                                                 np.mean(beta.ravel()[usable]))
    rings = RingMeans(np.hypot(alpha - centre[0], beta - centre[1]).ravel(), usable, grid.alpha.step)
    f, err_f = leak.at(grid.wavelength.centres)
    data, var = cube_3a.data.copy(), cube_3a.var.copy()
    n_plane = data.shape[1] * data.shape[2]
    for k in np.flatnonzero(f > 0):
        position = np.interp(grid.wavelength.centres[k] / ORDER, wave_1b, np.arange(len(wave_1b)), left=-1, right=-1)
        if position < 0:
            continue
        i = min(int(position), len(wave_1b) - 2)
        w = position - i
        plane = (1 - w) * data_1b[i] + w * data_1b[i + 1]
        plane_var = (1 - w) ** 2 * var_1b[i] + w**2 * var_1b[i + 1]
        if sharpen:
            plane, plane_var = sharpened_in_beta(plane, plane_var, spatial_1b, abs(beta_1b[1] - beta_1b[0]),
                                                 source.band.beta_del)
        mean = rings.fill(matrix @ plane.ravel()).reshape(data.shape[1:])
        mean_var = rings.fill(squared @ plane_var.ravel(), variance=True).reshape(data.shape[1:])
        take = rings.reached.reshape(data.shape[1:]) & np.isfinite(data[k])
        data[k][take] -= f[k] * mean[take]
        var[k][take] += f[k] ** 2 * mean_var[take] + (err_f[k] * mean[take]) ** 2
    corrected = replace(cube_3a, data=data, var=var)
    spectrum = None if spectrum_3a is None else extract(corrected)
    continued = int(np.count_nonzero(rings.reached & ~usable))
    left = int(n_plane - np.count_nonzero(rings.reached))
    name = "cube_sharpened" if sharpen else "cube"
    return corrected, spectrum, [f"spectral_leak {name}: {np.count_nonzero(f > 0)} planes of 3A less f x the 1B "
                                 f"cube at lambda/2; of {n_plane} spaxels, {int(np.count_nonzero(turned))} reaching "
                                 f"beyond 1B's field through their 60-deg turns about the source, {continued} beyond "
                                 f"it less its ring's mean, {left} left as they are"]


def cube_sharpened(cube_3a, spectrum_3a, extract, leak, source, to_1b, pixel_alpha, jy_scale):
    """Variant ``cube_sharpened`` (module docstring): :func:`cube` with 1B's planes sharpened in beta first."""
    return cube(cube_3a, spectrum_3a, extract, leak, source, to_1b, pixel_alpha, jy_scale, sharpen=True)


class RingMeans:
    """The 1B image continued beyond 1B's field as its mean over rings about the source (:func:`cube`).

    ``radius`` (n,): each spaxel's distance from the source's centre; ``covered`` (n,) bool: the spaxels 1B's
    cube reaches; ``width``: the rings' width (a spaxel).  ``reached``: the covered spaxels and those of the rings
    at least :data:`RING_MIN_COVERED` covered.
    """

    def __init__(self, radius, covered, width):
        self.ring = np.floor(radius / width).astype(np.int64)
        self.covered = np.asarray(covered, bool)
        n = np.bincount(self.ring, minlength=self.ring.max() + 1)
        self.count = np.bincount(self.ring[self.covered], minlength=len(n))
        self.reached = self.covered | (self.count >= RING_MIN_COVERED * np.maximum(n, 1))[self.ring]

    def fill(self, values, variance=False):
        """``values`` (n,) where covered, the ring's mean of them elsewhere, 0 where not :attr:`reached`.

        With ``variance``: ``values`` are variances, and the ring's is its mean's (covered spaxels independent).
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(self.ring[self.covered], values[self.covered], minlength=len(self.count)) / self.count
        if variance:
            mean = mean / self.count
        return np.where(self.covered, values, np.where(self.reached, mean[self.ring], 0.0))


def leak_spectrum(wavelength, leak, source):
    """``(f F_1B(lambda/2), its variance)`` on ``wavelength`` (um), 0 where 1B has no plane about lambda/2."""
    wl_1b, flux_1b, err_1b = source.spectrum
    f, err_f = leak.at(wavelength)
    half = np.asarray(wavelength, float) / ORDER
    if wl_1b.size == 0:  # no usable 1B plane: nothing to subtract
        return np.zeros(half.shape), np.zeros(half.shape)
    flux, err = (np.interp(half, wl_1b, v, left=0.0, right=0.0) for v in (flux_1b, err_1b))
    return f * flux, (f * err) ** 2 + (err_f * flux) ** 2


def spectrum(cube_3a, spectrum_3a, extract, leak, source, to_1b, pixel_alpha, jy_scale):
    """Variant ``spectrum`` (module docstring): ``(cube, corrected spectrum, notes)``; arguments as :func:`cube`'s."""
    if source.spectrum is None:
        return Skip(f"spectral_leak spectrum: no band 1B spectrum among {', '.join(source.names)}")
    if spectrum_3a is None:
        return Skip("spectral_leak spectrum: no band 3A spectrum (no point source; the cube variants correct its cube)")
    flux, variance = leak_spectrum(spectrum_3a.wavelength, leak, source)
    error = np.sqrt(spectrum_3a.error**2 + variance / jy_scale**2)
    # the planes' covariance is 3A's (the 1B term's own is not known here): its correlation over the new errors
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = np.where(error > 0, spectrum_3a.error / error, 0.0)
    correlation = spectrum_3a.correlation * kept[:, None]
    for lag in range(1, correlation.shape[1] + 1):
        correlation[:-lag, lag - 1] *= kept[lag:]
    corrected = replace(spectrum_3a, flux=spectrum_3a.flux - flux / jy_scale, error=error, correlation=correlation)
    return cube_3a, corrected, [f"spectral_leak spectrum: 3A less f x the 1B spectrum at lambda/2 "
                                f"({np.count_nonzero(flux)} planes)"]


def resolve(folder, exposure, band, calibrated, source, target_band, jy_scale):
    """The step's reference arguments ``(leak, source, to_1b, pixel_alpha, jy_scale)``, or a Skip (what is missing).

    ``exposure``: the 3A exposure (its MRSPTCORR and pointing); ``source``: :func:`open_source_band`'s or None;
    ``target_band``: 3A's :class:`calibration.mrs_wcs.BandWcs`.
    """
    if not calibrated:
        return Skip(f"spectral_leak: band {band} is in DN/s (mrs_photom skipped); the leak is subtracted in MJy/sr")
    leak, path = refs.load_optional(folder, "MRSPTCORR", exposure, read_table)
    if leak is None:
        return Skip(f"spectral_leak: no MRSPTCORR reference in {folder}")
    if source is None:
        return Skip("spectral_leak: no band 1B data (calibrate --leak-from the target's 1B s3d and x1d)")
    try:
        pointing = mrs_pointing.pointing(exposure, "the exposure")
    except CalibrationInputError:
        pointing = None
    to_1b = None if source.band is None else frame_map(target_band, pointing, source.band, source.pointing)
    return leak, source, to_1b, pixel_alpha_width(target_band.name), jy_scale


def pixel_alpha_width(name):
    """Band ``name``'s median pixel width in alpha, arcsec (the flight slice map, :func:`instrument.mrs.band_map`)."""
    alpha = mrs.band_map(name).alpha
    steps = np.abs(np.diff(alpha, axis=1))
    return float(np.nanmedian(steps[steps < 1.0]))  # across a slice's edge the step jumps: left out


def check_bands(bands, source):
    """Refuse band 1B's data (``--leak-from``) for an exposure without band 3A (nothing would use it)."""
    if source is not None and LEAK_BAND not in bands:
        raise CalibrationInputError(f"--leak-from is for an exposure of band {LEAK_BAND} (MIRIFULONG, BAND SHORT); "
                                    f"this one has {', '.join(bands)}")
