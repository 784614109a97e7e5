"""cube_build for the MRS: a flux-conserving 3-D drizzle of detector pixels into (alpha, beta, lambda).

Each lit pixel ``p`` of a band (:mod:`calibration.mrs_wcs`) covers the box
``B_p = [alpha_lo, alpha_hi] x [beta_k - beta_del/2, beta_k + beta_del/2] x [lam_lo, lam_hi]``
of volume ``V_p`` (arcsec^2 um); its surface brightness is ``I_p = r_p / V_p`` (``r_p`` its
rate, DN/s) with variance ``var(r_p) / V_p^2``.  A spaxel ``s`` of the regular cube (a box
``V_s``) gets the overlap-weighted mean of the pixels that overlap it,

    S_s = sum_p w_ps I_p / W_s,   W_s = sum_p w_ps,   w_ps = |B_p n B_s|,
    var(S_s) = sum_p w_ps^2 var(I_p) / W_s^2,

(Fruchter & Hook 2002's drizzle with the pixel's own footprint, in three dimensions; jwst's
``cube_build`` ``drizzle`` weighting does the same on sky spaxels, Law et al. 2023).  Both
boxes are axis-aligned, so the overlap is the product of three 1-D overlaps, computed for
every pixel at once.  Where the footprints tile the band without gaps or overlaps (they
do along each row and column, :mod:`calibration.mrs_wcs`) and cover a spaxel, ``W_s = V_s``
and ``sum_s S_s V_s = sum_p r_p``: the cube conserves the detector's flux.  Spaxels half
covered at the field's edges hold the mean of what covers them.

After the MRS photom (:mod:`calibration.mrs_photom`) each pixel already holds a surface
brightness ``I_p`` (MJy/sr: its rate over its solid angle and bandwidth, through the PHOTOM),
and the same mean makes the cube in MJy/sr (``surface_brightness=True``).

``weightmap`` is the covered share ``W_s / V_s``; spaxels nothing covers are NaN.  The
spaxels' errors are correlated (a pixel spreads over up to 3 x 3 x 3 spaxels): a sum over
spaxels takes its exact variance from the pixels (:meth:`Cube.sum_variance`), and the ratio of
that to the sum of the spaxels' variances is the covariance factor.

**Variant ``drizzle_smooth``** (:func:`drizzle_smooth`): the same mean with each pixel's box in
lambda convolved with a Gaussian of :data:`SMOOTH_SIGMA_PLANES` planes (truncated at
:data:`SMOOTH_HALF_WIDTH_SIGMA` sigma), ``w_ps = |B_p n B_s|_(alpha, beta) int_s (box_p * G)(lambda)
d lambda``.  Why: a footprint is 0.90-1.11 of a plane wide (the plane is the band's median, the
dispersion changes), so a pixel spread uniformly over its box lands off the centres of the planes
it reaches by an amount that depends on its phase in the plane grid; a line's few pixels do not
average it out and its first moment moves by up to 0.03 plane (~1 km/s in 1A; docs/mrs.md).  The
smoothed box keeps each pixel's centre (the kernel is symmetric), and its aliasing on the plane grid
falls as ``exp(-2 pi^2 (sigma^2 + w^2/12) / step^2)``: at 0.5 plane a line's moment is kept to
2e-4 plane in a 1-D model.  The footprints still tile, so a flat spectrum stays flat (the
convolution of a tiling is one).  Its price: lines broader by ``sigma`` in quadrature (0.5 plane:
sigma of a 1A line from 0.84 to 0.98 planes) and adjacent planes more correlated.

**Variant ``drizzle_alpha_smooth``** (:func:`drizzle_alpha_smooth`): the same mean with each
pixel's box in alpha convolved with a Gaussian of :data:`SMOOTH_ALPHA_PIXELS` of the band's median
pixel width (``w_ps = int_s (box_p * G)(alpha) d alpha |B_p n B_s|_(beta, lambda)``).  Why: the
PSF's core (FWHM 0.2-0.3" in channels 1-2) is about one pixel across the slice in alpha, and a
slice's pixel edges drift in alpha along its tilted trace, so a spaxel near the peak is fed by
pixels whose edges sit at a phase that changes with lambda: the peak spaxel's spectrum ripples by
~9 % (1A) / ~5 % (2A) in one exposure.  A 4-point dither's half-pixel steps average two phases,
which removes the ripple's first harmonic only (at the peak the error is even in the phase), so the
set keeps ~4 % (1A) / ~1.7 % (2A) on the planes all four exposures cover (docs/mrs.md 'Dither
sets').  The smoothed box is the box's spectrum times ``exp(-2 pi^2 sigma^2 f^2)``, which damps the
harmonics of the pixel period (0.5 pixel: the first by 0.007): the set's ripple there falls to
0.9 % / 0.3 %.  Beta is not smoothed: the slices do not move with lambda, so their sampling makes
no ripple in lambda.  The footprints still tile in alpha, so a uniform scene stays uniform, the
flux is kept, and the variances stay exact.  Its price: the cube's image is broader in alpha (its
FWHM by ~19 % in 1A, ~12 % in 2A, measured on the dither benchmark; beta unchanged), so an APCORR
measured on ``drizzle``'s cubes leaves the x1d 0.8 % (1A) / 0.3 % (2A) low there.

**Variant ``drizzle_lambda_alpha_smooth``** (:func:`drizzle_lambda_alpha_smooth`): both
smoothings at once, ``w_ps = int_s (box_p * G_alpha)(alpha) d alpha |B_p n B_s|_beta int_s (box_p *
G_lambda)(lambda) d lambda``: a line's centre kept as by ``drizzle_smooth``, the ripple damped as by
``drizzle_alpha_smooth`` (the two act on separate axes of a separable weight).  Its prices are both
of theirs.

**Slice ends** (both alpha variants): a Gaussian left free would spread a slice's end pixels beyond
its end (up to 4 sigma, 0.4" in 1A), where they stand for light further out than they saw; where
another exposure's field ends near a source (a dither set) that moved its x1d (+0.45 % in 1A on the
foreign set) and centroid (3.8 mas; docs/mrs.md 'Dither sets').  So the Gaussian is reflected at the
alpha ends ``[a, b]`` of the pixel's slice on its detector row (:class:`Samples` ``row_lo, row_hi``):
on ``[a, b]`` the weight's density is ``g(x) + g(2b - x) + g(2a - x)`` (``g`` the box * G), nothing
outside.  A row's boxes, which tile ``[a, b]``, still tile it (the reflected sum of the row's
indicator is one on ``[a, b]`` while ``b - a`` exceeds 4 sigma), so a uniform scene stays uniform;
each box keeps its length (the mass beyond ``b`` comes back inside; in the few rows narrower than
a box + 4 sigma, where a slice's trace leaves the detector, its weights are scaled back to it), so
the flux is kept.  On the foreign set it took 1A's continuum from +0.45 to +0.18 % and its position from
3.8 to 1.8 mas (noise-free; ``drizzle`` -0.03 %: docs/mrs.md 'Dither sets').

Sampling, per band (:func:`grid_for`): square spaxels of :data:`SPAXEL_ARCSEC` in alpha and
beta (jwst's defaults 0.13 / 0.17 / 0.20 / 0.35" for channels 1-4, parameter reference
section 5, from jwst's CUBEPAR test table), edges on multiples of the spaxel from
``alpha = beta = 0`` (the band's frame); planes of the band's median pixel extent in
lambda (its dispersion per row, from the references' own models) from the shortest to
the longest wavelength its pixels see (WAVELENGTHRANGE is wider than the detector: 1A's
4.68-5.97 um against 4.89-5.75 um on the pixels).  Each slice reaches a little further at one
end than its neighbours: near the ends a plane is covered by some slices only.

**Several exposures** (a dither set, :mod:`calibration.mrs_spec3`): each exposure's pixels
are :class:`Samples` whose boxes are moved into one frame by its pointing
(:mod:`calibration.mrs_pointing`), and the same weighted mean runs over all of them at once
(:func:`concatenate`): ``S_s = sum_k sum_p w_ps I_p / sum_k sum_p w_ps``.  Where ``N``
exposures all cover a spaxel, ``W_s = N V_s`` and ``sum_s S_s V_s`` is the mean over the
exposures of their rate sums; the exposures' pixels are independent, so the variance and
:meth:`Cube.sum_variance` simply run over all of them.  The grid spans every exposure's
boxes; one exposure is the case ``N = 1``, its cube the same as alone.

**Each spaxel from the exposures complete in it** (variants ``<kernel>_complete``, :func:`complete`; issue 16):
where an exposure's field ends near a source (a slice's end in alpha), its spaxels there are estimated from one
side of the undersampled PSF, and mixed with the others' they bias the set's x1d (+0.24 % in 1A on the
foreign set, docs/mrs.md 'Dither sets').  Exposure ``k``'s coverage of spaxel ``s`` is its used pixels' weight
there over the spaxel's volume, with the kernel's own extent (the box, smoothed as the variant smooths it),

    c_ks = sum_(p in k) w~_ps / V_s,

``w~_ps = w_ps`` but in the alpha variants, whose Gaussian is here cut at the ends of the pixel's row instead of
reflected (the share beyond them lost): the reflection makes every spaxel up to a slice's end fully covered, yet
within ~4 sigma of it the reflected tails feed it from one side (+0.22 % in 1A on the foreign set with the
reflected weights as the coverage, +0.06 % with the cut ones: docs/mrs.md); cut, an exposure is complete only
where its kernel, left free, stays inside its rows (~2.3 sigma from an end).  Pixels not ``used`` (DO_NOT_USE,
not finite) weigh nothing, so a bad pixel not replaced upstream makes its exposure incomplete in the spaxels it
reaches.  Exposure ``k`` is selected in ``s`` (``sel_ks``) where
``c_ks >= COMPLETE_MIN`` if any exposure's is, else wherever its pixels reach ``s`` (``sum_(p in k) w_ps > 0``:
the plain mean, at the band's and the field's edges).  Each pixel's weight counts only where its exposure is
selected, ``w'_ps = sel_(k(p)s) w_ps``, in the mean and its variance alike,

    S_s = sum_p w'_ps I_p / W'_s,   var(S_s) = sum_p w'_ps^2 var(I_p) / W'_s^2,   W'_s = sum_p w'_ps,

so :meth:`Cube.sum_variance` stays exact, and the coverage is ``W'_s / V_s``.  Where every exposure is
complete nothing changes; one exposure alone is the same cube bit for bit.  One pass over the pixels, in order of
wavelength: each exposure's sums and coverage are kept only for the planes a later pixel may still reach, and a
plane is selected and added up once the pixels have passed it (no cube-sized sums per exposure; the selection
is kept, a bool per exposure and spaxel).

**The sums** (every variant): a pixel's weights are separable, ``w_ps = wl_pi wb_pj wa_pk`` over the ``Kl`` planes,
``Kb`` beta rows and ``Ka`` alpha columns of its window, so compiled loops (:mod:`calibration.cube_kernels`) take each
pixel's three 1-D weights and add their products straight into the (exposure, plane, spaxel) sums, a row of the cube
at a time; the variance's ``w_ps^2`` is the product of the squares.  No array of the (pixel, spaxel) pairs is made:
27 of them a pixel for ``drizzle``, ~190 for ``drizzle_lambda_alpha_smooth`` (9 x 3 x 7 in 1A), where they were its
cost (docs/mrs.md 'Speed of the kernels').  The smoothed boxes' Gaussian integrals come from a table of the
integrated cdf's Taylor coefficients, within 1e-15 of ``erfc`` and ``exp`` (:mod:`calibration.cube_kernels`).
"""
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from miri_testbed.calibration import cube_kernels
from miri_testbed.instrument import mrs

#: Spaxel size per channel, arcsec (params section 5, "Cube spaxel size (pipeline default)").
SPAXEL_ARCSEC = mrs.CUBE_SPAXEL_ARCSEC
#: Pixels per block of the drizzle (bounds its memory: a block's sums span its few planes, module docstring).
BLOCK = 16384
#: Variant drizzle_smooth: the Gaussian's sigma in planes, and where it is cut, in sigma (module docstring).
SMOOTH_SIGMA_PLANES, SMOOTH_HALF_WIDTH_SIGMA = 0.5, 4.0
#: Variants drizzle_alpha_smooth, drizzle_lambda_alpha_smooth: the Gaussian's sigma in alpha, in the band's median
#: pixel width (module docstring).  The default kernel's too (``drizzle_lambda_alpha_smooth_complete``): the
#: simulator's APCORR holds it through :data:`instrument.mrs.CUBE_ALPHA_SIGMA_PIXELS` (tests/test_mrs_apcorr.py).
SMOOTH_ALPHA_PIXELS = 0.5
#: Variants ``<kernel>_complete``: the coverage from which an exposure counts as complete in a spaxel (module
#: docstring).  Not 1: the boxes are float32 (their tiling is exact to ~1e-7) and the reflected kernels' rows
#: narrower than a box + 4 sigma are rescaled; a 1 % hole (a bad pixel's corner) is tolerated.
COMPLETE_MIN = 0.99


@dataclass(frozen=True)
class Axis:
    """Regular bins: ``n`` bins of width ``step`` from ``start``."""

    start: float
    step: float
    n: int

    @property
    def edges(self):
        """The ``n + 1`` bin edges."""
        return self.start + self.step * np.arange(self.n + 1)

    @property
    def centres(self):
        """The ``n`` bin centres."""
        return self.start + self.step * (np.arange(self.n) + 0.5)

    def span(self, lo, hi, sigma=0.0, widest=None):
        """The bins :meth:`overlaps` takes each interval over: ``first`` (per interval) and ``K`` bins from it.

        ``K`` is the most bins an interval as wide as ``widest`` can touch (default: the widest of these),
        its box convolved with a Gaussian of ``sigma`` cut at ``SMOOTH_HALF_WIDTH_SIGMA`` sigma.
        """
        reach = SMOOTH_HALF_WIDTH_SIGMA * sigma
        first = np.floor((lo - reach - self.start) / self.step).astype(np.int64)
        if widest is None:
            widest = np.max(hi - lo) if len(lo) else None
        return first, 1 if widest is None else int(np.ceil((widest + 2 * reach) / self.step)) + 1

    def overlaps(self, lo, hi, sigma=0.0, widest=None, ends=None, with_cut=False):
        """Each interval's overlap with the bins: ``(index, length)``, ``(len(lo), K)`` (bins out of range: 0).

        ``K`` and the bins are :meth:`span`'s.  With ``sigma > 0`` the interval is a box convolved
        with a Gaussian of ``sigma`` (axis units) cut at ``SMOOTH_HALF_WIDTH_SIGMA`` sigma from the box's
        edges: ``length`` is the box's length times its share in each of the ``K`` bins (the share beyond the
        cut, ``2 (phi(4) - 4 (1 - Phi(4))) sigma = 1.4e-5 sigma`` of the box's length, is lost).
        ``ends`` (``(a, b)``, per interval, around it): the Gaussian is reflected at ``a`` and ``b``,
        so the box's share stays in ``[a, b]`` and each box is given back its length (module docstring, 'slice
        ends').  ``with_cut``: also the lengths with the Gaussian cut at ``a`` and ``b`` instead, the share beyond
        them lost (the selection's coverage, module docstring): ``(index, length, cut)``.
        """
        first, k = self.span(lo, hi, sigma, widest)
        # a compiled loop over the boxes (calibration.cube_kernels.overlaps says how the integrals are taken)
        lo, hi = np.ascontiguousarray(lo, float), np.ascontiguousarray(hi, float)
        index, length, cut = np.empty((len(lo), k), np.int64), np.empty((len(lo), k)), np.empty((len(lo), k))
        a, b = (np.ascontiguousarray(e, float) for e in ends) if ends is not None and sigma > 0 else (lo[:0], lo[:0])
        cube_kernels.overlaps(lo, hi, first, k, self.start, self.step, self.n, sigma,
                              SMOOTH_HALF_WIDTH_SIGMA * sigma, a, b, ends is not None and sigma > 0, index, length, cut)
        return (index, length, cut) if with_cut else (index, length)


@dataclass(frozen=True)
class CubeGrid:
    """The cube's three axes: ``alpha``, ``beta`` (arcsec) and ``wavelength`` (um)."""

    alpha: Axis
    beta: Axis
    wavelength: Axis

    @property
    def shape(self):
        """``(n_lambda, n_beta, n_alpha)``, the order of the cube's array."""
        return self.wavelength.n, self.beta.n, self.alpha.n

    @property
    def volume(self):
        """One spaxel's volume, arcsec^2 um."""
        return self.alpha.step * self.beta.step * self.wavelength.step


def _spatial_axis(lo, hi, step):
    first, last = np.floor(lo / step), np.ceil(hi / step)
    return Axis(float(first * step), step, int(last - first))


@dataclass(frozen=True)
class Samples:
    """Detector pixels as the drizzle takes them, in the cube's frame (1-D arrays, one entry per pixel).

    Parameters
    ----------
    band : str
        "1A" ... "4C".
    alpha_lo, alpha_hi, beta_lo, beta_hi, lam_lo, lam_hi : (n,) float
        The box ``B_p`` (arcsec, arcsec, um); float32 in alpha and beta, float64 in lambda.
    intensity, intensity_var : (n,) float32
        ``I_p`` and ``var(I_p)``.

    Why float32 (a dither set's pixels are the drizzle's largest memory): alpha and beta are within
    ~5" of the band's origin, where float32's spacing is 5e-7", 4e-6 of the smallest spaxel
    (0.13"): the overlaps move by that share, far below any spaxel's noise; a rate file's SCI
    and VAR are float32 already.  Lambda stays float64: at 28 um float32's spacing is 2e-6 um,
    1e-3 of a plane, a shift a line's centre would see.  The drizzle sums in float64.
    used : (n,) bool
        The pixels that go in (good, with a finite intensity and a box of positive volume); the
        others only bound the grid (:func:`grid_for`), as every lit pixel does.
    row_lo, row_hi : (n,) float32, optional
        The alpha range of the pixel's slice on its detector row (the least ``alpha_lo``, the greatest
        ``alpha_hi`` of the row's lit pixels of the slice): where an alpha Gaussian is reflected (module
        docstring, 'slice ends').  None: not reflected.
    member : (n,) uint8, optional
        The exposure each pixel is from (0, 1, ..., set by :func:`concatenate`); None: one exposure.
    """

    band: str
    alpha_lo: np.ndarray
    alpha_hi: np.ndarray
    beta_lo: np.ndarray
    beta_hi: np.ndarray
    lam_lo: np.ndarray
    lam_hi: np.ndarray
    intensity: np.ndarray
    intensity_var: np.ndarray
    used: np.ndarray
    row_lo: np.ndarray | None = None
    row_hi: np.ndarray | None = None
    member: np.ndarray | None = None


def samples(pixels, values, var, good, surface_brightness=False, move=None):
    """One exposure's band pixels as :class:`Samples` (module docstring).

    Parameters
    ----------
    pixels : calibration.mrs_wcs.MrsPixels
    values, var : (ny, nx) float
        The rate (DN/s) and its variance, or a surface brightness and its variance.
    good : (n_pixels,) bool
        Pixels to use (:func:`calibration.mrs_wcs.usable`).
    surface_brightness : bool
        ``values`` is already a surface brightness (MJy/sr after the MRS photom,
        :mod:`calibration.mrs_photom`): ``I_p = values_p``, not ``r_p / V_p``; the cube is then
        in its unit.
    move : callable, optional
        ``move(alpha, beta, output) -> alpha`` (``output`` 0) or ``beta`` (1), the exposure's frame -> the
        cube's (a dithered exposure, :func:`calibration.mrs_pointing.mover`), applied to the midpoints of the
        boxes' sides; None: the exposure's frame is the cube's.

    Returns
    -------
    Samples
    """
    p, half = pixels, pixels.band.beta_del / 2
    a_lo, a_hi, b_lo, b_hi = p.alpha_lo, p.alpha_hi, p.beta - half, p.beta + half
    if move is not None:
        a_lo, a_hi = _moved_sides(move, a_lo, a_hi, p.beta)
        b_lo, b_hi = move(p.alpha, b_lo, 1), move(p.alpha, b_hi, 1)
    volume = (a_hi - a_lo) * (b_hi - b_lo) * (p.lam_hi - p.lam_lo)
    per = 1.0 if surface_brightness else volume
    with np.errstate(invalid="ignore", divide="ignore"):
        intensity = values[p.y, p.x] / per
        intensity_var = var[p.y, p.x] / per**2
    used = good & (volume > 0) & np.isfinite(intensity)
    a_lo, a_hi, b_lo, b_hi, intensity, intensity_var = (np.asarray(a, np.float32) for a in (
        a_lo, a_hi, b_lo, b_hi, intensity, intensity_var))  # float32 but lambda (Samples says why)
    row = np.unique(p.slice.astype(np.int64) * (int(p.y.max(initial=0)) + 1) + p.y, return_inverse=True)[1]
    row_lo, row_hi = np.full(row.max(initial=-1) + 1, np.inf, np.float32), np.full(row.max(initial=-1) + 1, -np.inf,
                                                                                    np.float32)
    np.minimum.at(row_lo, row, a_lo)
    np.maximum.at(row_hi, row, a_hi)
    return Samples(p.band.name, a_lo, a_hi, b_lo, b_hi, p.lam_lo, p.lam_hi, intensity, intensity_var, used,
                   row_lo[row], row_hi[row])


def _moved_sides(move, lo, hi, beta):
    """``(move(lo, beta, 0), move(hi, beta, 0))``, a side shared by neighbouring boxes moved once.

    Along a detector row a slice's boxes tile in alpha (:mod:`calibration.mrs_wcs`: one pixel's side is
    the same number as the next pixel's other side, at the same beta), so a side equal to its neighbour's
    other side takes that side's move.  ``move`` is elementwise, so these are the numbers of moving every
    side (bit for bit) from ~half the polynomial evaluations (a dither set's moves were ~1.2 s CPU of the
    1A + 2A set's ~11 s, docs/mrs.md 'Against jwst').
    """
    moved_lo = move(lo, beta, 0)
    source, index = np.full(len(hi), -1), np.arange(len(hi))
    same = beta[1:] == beta[:-1]
    after = same & (hi[:-1] == lo[1:])  # alpha grows along the row: the side is the next box's lo
    source[:-1][after] = index[1:][after]
    before = same & (hi[1:] == lo[:-1]) & (source[1:] < 0)  # alpha falls along the row: the previous box's lo
    source[1:][before] = index[:-1][before]
    alone = source < 0
    moved_hi = np.empty_like(moved_lo)
    moved_hi[~alone] = moved_lo[source[~alone]]
    moved_hi[alone] = move(hi[alone], beta[alone], 0)
    return moved_lo, moved_hi


def concatenate(parts):
    """Several exposures' :class:`Samples` of one band as one (the drizzle then runs over all at once).

    ``parts``, a list, is emptied as each is copied in, so that its copy is freed at once (the set's
    pixels are then held once, not twice, at the peak of its memory).

    Raises
    ------
    ValueError
        When the parts are of different bands, or some have their rows' alpha ranges and some not.
    """
    bands = sorted({p.band for p in parts})
    if len(bands) != 1:
        raise ValueError(f"one cube is of one band; the exposures' pixels are of {', '.join(bands) or 'none'}")
    if len(parts) == 1:
        return parts.pop()
    if any(p.member is not None for p in parts):
        raise ValueError("the exposures' pixels are already a set's (concatenated); give each exposure's once")
    if len(parts) > np.iinfo(np.uint8).max + 1:
        raise ValueError(f"{len(parts)} exposures in one cube: at most {np.iinfo(np.uint8).max + 1}")
    names = [f.name for f in fields(Samples)[1:] if getattr(parts[0], f.name) is not None]
    if len({p.row_lo is None for p in parts}) != 1:
        raise ValueError("some exposures' pixels come with their slice rows' alpha ranges, some without")
    member = np.repeat(np.arange(len(parts), dtype=np.uint8), [len(p.used) for p in parts])
    # np.empty takes its pages as they are written: each part is freed as the next is copied
    out, start = {n: np.empty(sum(len(p.used) for p in parts), getattr(parts[0], n).dtype) for n in names}, 0
    while parts:
        part = parts.pop(0)
        for name in names:
            out[name][start:start + len(part.used)] = getattr(part, name)
        start += len(part.used)
    return Samples(bands[0], **out, member=member)


def grid_for(samples, spaxel_arcsec=None):
    """The band's cube sampling (module docstring), over every pixel's box.

    Parameters
    ----------
    samples : Samples
        One exposure's, or several's (:func:`concatenate`): the grid then spans all their boxes.
    spaxel_arcsec : float, optional
        Default: :data:`SPAXEL_ARCSEC` of the band's channel.

    Returns
    -------
    CubeGrid
    """
    step = spaxel_arcsec or SPAXEL_ARCSEC[int(samples.band[0])]
    lo, hi = float(np.min(samples.lam_lo)), float(np.max(samples.lam_hi))
    dlam = float(np.median(samples.lam_hi - samples.lam_lo))
    return CubeGrid(_spatial_axis(float(np.min(samples.alpha_lo)), float(np.max(samples.alpha_hi)), step),
                    _spatial_axis(float(np.min(samples.beta_lo)), float(np.max(samples.beta_hi)), step),
                    Axis(lo, dlam, int(np.ceil((hi - lo) / dlam))))


@dataclass(frozen=True)
class Cube:
    """A band's cube (module docstring) and how it was made.

    Parameters
    ----------
    grid : CubeGrid
    data, var : (n_lambda, n_beta, n_alpha) float
        Surface brightness (DN/s per arcsec^2 per um, or the input's unit with ``surface_brightness``) and its
        variance; NaN where nothing covers.
    coverage : (n_lambda, n_beta, n_alpha) float
        ``W_s / V_s`` (``W'_s / V_s`` with the selection, module docstring).
    samples : Samples
        The pixels (those ``used`` went in).
    smoothing : float
        The Gaussian's sigma in lambda (um) the boxes were convolved with (0: ``drizzle``, module docstring).
    alpha_smoothing : float
        The same in alpha (arcsec; variants ``drizzle_alpha_smooth``, ``drizzle_lambda_alpha_smooth``).
    selected : (n_members, n_lambda, n_beta, n_alpha) bool, optional
        ``sel_ks``: the exposures whose pixels went into each spaxel (variants ``<kernel>_complete``, module
        docstring); None: every pixel everywhere it reaches.
    strips : (n, 2) float, optional
        The beta strips ``(lo, hi)`` of the slices whose pixels went in, every exposure's, in the cube's frame
        (:func:`slice_strips`; the centre's fit models the drizzle's sampling with them,
        :mod:`calibration.mrs_centroid`); None: not known (a cube read from a file without them).
    """

    grid: CubeGrid
    data: np.ndarray
    var: np.ndarray
    coverage: np.ndarray
    samples: Samples
    smoothing: float = 0.0
    alpha_smoothing: float = 0.0
    selected: np.ndarray | None = None
    strips: np.ndarray | None = None

    def sum_variance(self, coefficients, lags=0):
        """Exact variance of ``sum_s c_s S_s`` for each plane, from the pixels (the spaxels' covariance included).

        ``sum_s c_s S_s = sum_p (sum_s c_s w_ps / W_s) I_p``, so its variance is
        ``sum_p (sum_s c_s w_ps / W_s)^2 var(I_p)``, taken per plane (a pixel's share of
        each plane it touches), and its covariance between planes ``k`` and ``k + l`` is
        ``sum_p share_pk share_p(k+l) var(I_p)`` (a pixel whose box reaches both planes: the resampling's).

        Parameters
        ----------
        coefficients : (n_lambda, n_beta, n_alpha) float
            ``c_s`` (0 where a spaxel is not in the sum).
        lags : int
            The covariances to return, ``l = 1 ... lags``.

        Returns
        -------
        (n_lambda,) float
            With ``lags`` = 0: the variance.
        (n_lambda, 1 + lags) float
            Otherwise: column ``l`` the covariance of plane ``k`` with ``k + l`` (0 where ``k + l`` is beyond the
            last plane; column 0 the variance).
        """
        # in place: a cube-sized array at a time, the extraction's peak of memory
        per_weight = self.coverage * self.grid.volume
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(coefficients, per_weight, out=per_weight)
        per_weight[~(self.coverage > 0)] = 0.0
        # only the pixels that reach a spaxel in the sum add to it: the others' shares are 0
        reaching = _reaching(self.samples, self.grid, per_weight != 0, self.smoothing, self.alpha_smoothing)
        per_weight = per_weight.reshape(self.grid.wavelength.n, -1)
        # column l: the covariance of plane k with k + l (0: the variance), each pixel's share of each plane it
        # touches, sum_s c_s w'_ps / W'_s, multiplied pairwise
        out = np.zeros((self.grid.wavelength.n, 1 + lags))
        selected = None if self.selected is None else self.selected.reshape(len(self.selected), *per_weight.shape)
        for block in _blocks(self.samples, self.grid, self.smoothing, self.alpha_smoothing, reaching):
            block.add_share_sums(out, per_weight, self.samples.intensity_var[block.index], selected,
                                 None if selected is None else self.samples.member[block.index])
        return out[:, 0] if lags == 0 else out


def _reaching(samples, grid, mask, smoothing=0.0, alpha_smoothing=0.0):
    """Which used pixels reach a spaxel of ``mask`` (``grid.shape`` bool) by their :meth:`Axis.span` in each axis.

    A superset of those with a nonzero weight there (each axis's ``K`` is the widest used pixel's, at
    least its block's, :func:`_blocks`).  By a summed-area table of ``mask``: a box's count from its 8 corners.
    """
    table = np.zeros(tuple(n + 1 for n in mask.shape), np.int32)
    table[1:, 1:, 1:] = mask
    for axis in range(3):  # in place (the zero first plane, row and column stay zero)
        np.cumsum(table, axis, out=table)
    used = np.flatnonzero(samples.used)
    out = np.zeros(len(samples.used), bool)
    axes = ((grid.wavelength, samples.lam_lo, samples.lam_hi, smoothing), (grid.beta, samples.beta_lo,
            samples.beta_hi, 0.0), (grid.alpha, samples.alpha_lo, samples.alpha_hi, alpha_smoothing))
    # in float64 (the boxes' float32 cast first, as _blocks does), one array of the samples' size at a time
    widest = [float(np.max(np.subtract(hi, lo, dtype=float), where=samples.used, initial=-np.inf)) if len(used)
              else 0.0 for _, lo, hi, _ in axes]
    for start in range(0, len(used), BLOCK):
        index = used[start:start + BLOCK]
        ends, empty = [], np.zeros(len(index), bool)
        for (axis, lo, hi, sigma), wide in zip(axes, widest, strict=True):
            first, k = axis.span(lo[index].astype(float), hi[index].astype(float), sigma, wide)
            empty |= (first + k <= 0) | (first >= axis.n)  # no bin of the window is in the grid
            ends.append((np.clip(first, 0, axis.n), np.clip(first + k, 0, axis.n)))  # the window, [lo, hi)
        (l0, l1), (b0, b1), (a0, a1) = ends
        count = (table[l1, b1, a1] - table[l0, b1, a1] - table[l1, b0, a1] - table[l1, b1, a0]
                 + table[l0, b0, a1] + table[l0, b1, a0] + table[l1, b0, a0] - table[l0, b0, a0])
        out[index] = (count > 0) & ~empty
    return out


class _Block(NamedTuple):
    """A block of pixels' drizzle weights, separable (:func:`_blocks`): ``w_ps = wl_pi wb_pj wa_pk``.

    For the plane ``first_p + i``, the beta row ``first_b_p + j`` and the alpha column ``first_a_p + k`` of the
    pixel's window (its weight 0 outside the grid).  ``index`` (n,): the pixels among the samples; ``first``,
    ``first_b``, ``first_a`` (n,): the first bin of each pixel's window in each axis (may be outside the grid); ``wl``
    (n, Kl), ``wb`` (n, Kb), ``wa`` (n, Ka): the weights in each axis, ``wa_cut`` the alpha ones with the Gaussian
    cut at the rows' ends (``w~_ps``, module docstring; ``wa`` unless reflected); ``shape``: the grid's (n_beta,
    n_alpha).
    """

    index: np.ndarray
    first: np.ndarray
    wl: np.ndarray
    first_b: np.ndarray
    wb: np.ndarray
    first_a: np.ndarray
    wa: np.ndarray
    wa_cut: np.ndarray
    shape: tuple

    def add_sums(self, out, base, samples, groups=None):
        """Add the block's sums to ``out[q, g, i - base, s]`` (:func:`calibration.cube_kernels.add_sums`).

        ``sum w``, ``sum w I``, ``sum w^2 var(I)`` and, with 4 ``q``, the coverage's ``sum w~``, per group ``g``
        (``groups``: each pixel's, else 0) on ``out``'s planes.
        """
        cube_kernels.add_sums(out, base, np.zeros(len(self.index), np.uint8) if groups is None else groups,
                              self.first, self.wl, self.first_b, self.wb, self.first_a, self.wa, self.wa_cut,
                              *self.shape, samples.intensity[self.index], samples.intensity_var[self.index])

    def add_share_sums(self, out, values, var, selected=None, groups=None):
        """``out[i, l]`` += the block's ``sum_p share_pi share_p(i+l) var_p`` (``Cube.sum_variance``'s sums).

        ``share_pi = sum_s w_ps values[i, s]``, ``values`` (n_lambda, n_spatial) taken as 0 outside the grid and
        (``selected``, (n_groups, n_lambda, n_spatial) bool, and ``groups``, each pixel's ``g_p``) where
        ``selected[g_p]`` is not True; ``var`` each pixel's; ``out`` (n_lambda, 1 + lags).
        """
        some = selected is not None
        cube_kernels.share_sums(values, selected if some else np.zeros((0, 0, 0), bool),
                                groups if some else np.zeros(len(self.index), np.uint8), self.first, self.wl,
                                self.first_b, self.wb, self.first_a, self.wa, *self.shape, var, out)


def _blocks(samples, grid, smoothing=0.0, alpha_smoothing=0.0, only=None):
    """The drizzle's weights of the used pixels, a block at a time, separable (:class:`_Block`).

    The three 1-D overlaps of each pixel (:meth:`Axis.overlaps`), the one in lambda smoothed by ``smoothing``
    (um), the one in alpha by ``alpha_smoothing`` (arcsec).  The pixels come in order of wavelength, so a
    block's spaxels lie in a few planes and the planes before its first are those of earlier blocks alone.  A
    pixel's weights do not depend on its block (the Gaussians are cut at a reach from its own box).
    ``only`` (a mask over the samples): those pixels alone.
    """
    used = np.flatnonzero(samples.used if only is None else samples.used & only)
    order = used[np.argsort(samples.lam_lo[used], kind="stable")]
    row = None if samples.row_lo is None else (samples.row_lo, samples.row_hi)

    def overlaps(index, axis, lo, hi, sigma=0.0, ends=None):
        # in float64, as the grid: a float32 box's first bin could round to the next
        lo, hi = lo[index].astype(float), hi[index].astype(float)
        if ends is not None:
            ends = tuple(e[index].astype(float) for e in ends)
        widest = np.max(hi - lo)
        _, length, cut = axis.overlaps(lo, hi, sigma, widest, ends, with_cut=True)
        return axis.span(lo, hi, sigma, widest)[0], length, cut

    for start in range(0, len(order), BLOCK):
        index = order[start:start + BLOCK]
        first_a, wa, wa_cut = overlaps(index, grid.alpha, samples.alpha_lo, samples.alpha_hi, alpha_smoothing, row)
        first_b, wb, _ = overlaps(index, grid.beta, samples.beta_lo, samples.beta_hi)
        first, wl, _ = overlaps(index, grid.wavelength, samples.lam_lo, samples.lam_hi, smoothing)
        yield _Block(index, first, wl, first_b, wb, first_a, wa, wa_cut, (grid.beta.n, grid.alpha.n))


def drizzle(samples, grid, complete=False):
    """Variant ``drizzle`` of step ``cube_build`` (module docstring).

    Parameters
    ----------
    samples : Samples
        One exposure's pixels, or a dither set's (:func:`concatenate`): one weighted mean over all.
    grid : CubeGrid
    complete : bool
        Each spaxel from the exposures complete in it (module docstring; :func:`complete`).

    Returns
    -------
    Cube
    """
    return _drizzle(samples, grid, 0.0, complete=complete)


def drizzle_smooth(samples, grid, complete=False):
    """Variant ``drizzle_smooth`` of step ``cube_build``: :func:`drizzle`, each box smoothed in lambda.

    By a Gaussian of :data:`SMOOTH_SIGMA_PLANES` planes (module docstring: it keeps a line's centre).
    """
    return _drizzle(samples, grid, SMOOTH_SIGMA_PLANES * grid.wavelength.step, complete=complete)


def drizzle_alpha_smooth(samples, grid, complete=False):
    """Variant ``drizzle_alpha_smooth`` of step ``cube_build``: :func:`drizzle`, each box smoothed in alpha.

    By a Gaussian of :data:`SMOOTH_ALPHA_PIXELS` of the used pixels' median width in alpha (module
    docstring: it damps the peak spaxel's resampling ripple).
    """
    return _drizzle(samples, grid, 0.0, _alpha_sigma(samples), complete)


def drizzle_lambda_alpha_smooth(samples, grid, complete=False):
    """Variant ``drizzle_lambda_alpha_smooth`` of step ``cube_build``: each box smoothed in lambda and alpha.

    As :func:`drizzle_smooth` in lambda (a line's centre kept) and :func:`drizzle_alpha_smooth` in alpha
    (the peak spaxel's ripple damped), in one drizzle (module docstring).
    """
    return _drizzle(samples, grid, SMOOTH_SIGMA_PLANES * grid.wavelength.step, _alpha_sigma(samples), complete)


def complete(variant):
    """Variant ``<kernel>_complete`` of step ``cube_build``: ``variant``, each spaxel from the exposures complete in it.

    ``variant`` is one of :func:`drizzle`, :func:`drizzle_smooth`, :func:`drizzle_alpha_smooth`,
    :func:`drizzle_lambda_alpha_smooth` (module docstring, 'Each spaxel from the exposures complete in it').
    """
    def variant_complete(samples, grid):
        return variant(samples, grid, complete=True)

    variant_complete.__name__ = variant_complete.__qualname__ = f"{variant.__name__}_complete"
    return variant_complete


def _alpha_sigma(samples):
    """:data:`SMOOTH_ALPHA_PIXELS` of the used pixels' median width in alpha, arcsec."""
    used = samples.used
    width = float(np.median(samples.alpha_hi[used] - samples.alpha_lo[used])) if used.any() else 0.0
    return SMOOTH_ALPHA_PIXELS * width


def _drizzle(samples, grid, smoothing, alpha_smoothing=0.0, complete=False):
    planes, n_spatial = grid.wavelength.n, grid.beta.n * grid.alpha.n
    sums = np.zeros((3, planes, n_spatial))  # sum w, sum w I, sum w^2 var(I) (module docstring)
    members = samples.member if complete else None
    if members is None or members.max(initial=0) == 0:  # no selection, or one exposure: the plain sums
        for block in _blocks(samples, grid, smoothing, alpha_smoothing):
            block.add_sums(sums[:, None], 0, samples)
        selected = None
    else:
        sums, selected = _selected_sums(samples, grid, smoothing, alpha_smoothing, sums, members)
    weight, total, total_var = sums
    # in place: the mean, its variance and the coverage take the sums' arrays (a cube-sized array more at a time)
    empty = ~(weight > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total /= weight
        total_var /= np.square(weight)
    total[empty], total_var[empty] = np.nan, np.nan
    weight /= grid.volume
    return Cube(grid, total.reshape(grid.shape), total_var.reshape(grid.shape), weight.reshape(grid.shape), samples,
                smoothing, alpha_smoothing, None if selected is None else selected.reshape((-1, *grid.shape)),
                slice_strips(samples))


def slice_strips(samples):
    """``(n, 2)``: the beta strips ``(lo, hi)`` of every exposure's slices in the cube's frame, arcsec.

    A slice's used pixels share one beta box in their exposure's frame (:mod:`calibration.mrs_wcs`: the
    DISTORTION's ``beta_k +/- beta_del / 2``); moved into the cube's frame (a dither set) its sides change a
    little along alpha, so each exposure's boxes are grouped by their centres (a gap of a quarter of the median
    width between groups: the slices are a width apart) and each group's median sides kept.  Sorted by ``lo``.
    """
    used = samples.used
    lo, hi = np.asarray(samples.beta_lo[used], float), np.asarray(samples.beta_hi[used], float)
    member = np.zeros(len(lo), np.uint8) if samples.member is None else samples.member[used]
    out = []
    for m in np.unique(member):
        mine = np.flatnonzero(member == m)
        centre = (lo[mine] + hi[mine]) / 2
        order = mine[np.argsort(centre, kind="stable")]
        sorted_centre = (lo[order] + hi[order]) / 2
        gap = np.median(hi[mine] - lo[mine]) / 4
        for group in np.split(order, np.flatnonzero(np.diff(sorted_centre) > gap) + 1):
            out.append((np.median(lo[group]), np.median(hi[group])))
    strips = np.array(out, float).reshape(-1, 2)
    return strips[np.argsort(strips[:, 0], kind="stable")]


def _selected_sums(samples, grid, smoothing, alpha_smoothing, sums, member):
    """``sums`` with each pixel's weight where its exposure is selected (module docstring), and the selection.

    One pass: each exposure's sums are kept only for the planes still open (those a later block of pixels, in
    order of wavelength, may reach: :func:`_blocks`); a plane is selected and added up when the blocks have
    passed it.
    """
    planes, n_groups = grid.wavelength.n, int(member.max()) + 1
    selected = np.zeros((n_groups, planes, sums.shape[2]), bool)
    # per exposure, the planes [base, base + len): sum w, sum w I, sum w^2 var(I), sum w~
    pending, base = np.zeros((4, n_groups, 0, sums.shape[2])), 0

    def settle(end):
        nonlocal pending, base
        cube_kernels.select(pending, COMPLETE_MIN * grid.volume, sums[:, base:end], selected[:, base:end])
        pending, base = pending[:, :, end - base:], end

    for block in _blocks(samples, grid, smoothing, alpha_smoothing):
        settle(int(np.clip(block.first.min(), base, planes)))
        hi = min(int(block.first.max()) + block.wl.shape[1], planes)
        if hi - base > pending.shape[2]:
            pending = np.concatenate([pending, np.zeros((4, n_groups, hi - base - pending.shape[2], sums.shape[2]))],
                                     axis=2)
        block.add_sums(pending, base, samples, member[block.index])
    settle(planes)
    return sums, selected
