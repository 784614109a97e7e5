"""A point source's centre in an MRS cube, fitted with a model of how the drizzle sampled it (issue 16, MRS-ASTRO-1).

**Why.**  The extraction's first moment (:func:`calibration.mrs_extract.first_moment`: the light-weighted centroid
of the collapsed cube within 4 lambda/D) is biased along beta by the drizzle's resampling: a spaxel holds the
overlap-weighted mean of the slices over it (:mod:`calibration.cube_build`), so the first moment over spaxels puts
slice ``k``'s light at the overlap-weighted mean of the centres of the spaxels its strip covers, ``beta_k + eps_k``;
the slice width is not a multiple of the spaxel (4C 0.656" / 0.35", 3C 0.390" / 0.20"), so ``eps_k`` beats from
slice to slice, and the bias is a smooth function of where the source sits in the field: 4C -6.1 to +7.5 mas over
two slice widths, 3C -2.5 to +3.1, noise-free (docs/mrs.md, 'The centroid against the source's place in its
slice'; ``benchmarks/mrs_centroid_phase.py``).

**The model.**  Started from the first moment, two 1-D least-squares fits:

* beta (:func:`fit_beta`), within :data:`BETA_LD` ``lambda_c / D`` of the start: the mean image over the planes
  that every covered spaxel of the window uses (less its median over the covered spaxels), summed over the
  window's alpha columns, against ``A m(beta) + c``, where ``m`` is an unobstructed circular 6.5 m pupil's Airy
  pattern at those planes' mean wavelength, summed along alpha over the same columns about the source's alpha (the
  Airy the extraction's aperture correction assumes without an APCORR), convolved with a Gaussian of free width
  (the MRS core is 15-60 % broader than diffraction), integrated over each slice's strip ``[lo_k, hi_k]`` and
  averaged over each spaxel row as the drizzle averages it: ``m_j = sum_k o_jk M_k / sum_k o_jk`` with ``o_jk`` the
  overlap of row ``j`` with strip ``k``.  Free: ``A``, the centre, the width and the constant ``c`` (the median
  taken off the image is not the model's zero, and ``c`` takes up part of a PSF's departure from the Airy
  pattern in its wings: a 0.11 central obscuration, JWST's, moves a synthetic 4C fit by < 1 mas with ``c``, by up
  to 14 with no ``c`` and an obscuration of 0.3, tests/test_mrs_centroid_fit.py, session 26).
* alpha (:func:`fit_alpha`), within :data:`ALPHA_LD` ``lambda_c / D``: the collapsed image
  (:func:`calibration.mrs_extract.collapsed_image`) summed over the window's rows, against a Gaussian integrated
  over each spaxel's alpha box (the detector pixels' edges drift along the slices' traces, so along alpha the cube
  is sampled finely enough for a Gaussian).

**The strips are the cube's own** (:attr:`calibration.cube_build.Cube.strips`, :func:`calibration.cube_build.
slice_strips`): the beta boxes of the pixels that went into it, that is the slices of the DISTORTION reference the
cube was built with (a measured or foreign reference moves them by its offsets) and, for a dither set
(:mod:`calibration.mrs_spec3`), every exposure's slices moved into the cube's frame by its pointing: the drizzle's
mean over all of them is the same overlap-weighted mean, each exposure's strips taken with equal weight (as the
drizzle weighs exposures that all cover the window).  An s3d written by the testbed carries them
(``slice_strips``, :mod:`calibration.mrs_spec2`); a cube without them (another pipeline's, a hand-made one) gets the
first moment.  Nothing of the simulator is used: not its PSF (a hexagonal segmented pupil, broadened), not the
truth.

**The windows** (beta 2, alpha 2 lambda/D) and the constant were chosen on the noise-free sweeps (8 positions over
a slice width of 2A and 4C) and the noisy seeds 1-8 of :mod:`benchmarks.mrs_centroid_phase`'s scenarios (session 26;
its record runs seeds 13-24): session 25's prototype (1.5 lambda/D, no constant, the Airy summed over all alpha)
left 4C's noisy beta at +0.67 +/- 1.20 mas; this fit +0.32 +/- 1.35, 3C -0.10 +/- 0.33, 2A -0.70 +/- 0.14, 1A
-0.70 +/- 0.11 (the first moment -5.10 +/- 3.25, -2.01 +/- 0.65, -0.87 +/- 0.45, -1.89 +/- 0.53); with the
constant at 1.5 lambda/D 1A's beta fit was unstable (up to 14 mas: ~3 slices hold too little of the profile
for a constant), at 2.5 4C's noise grew.

**Fallback** (:class:`FitFailed`, the reason kept): the first moment, when the cube carries no strips, another
source's spaxels (:func:`calibration.mrs_extract._own_side`) or an uncovered spaxel fall inside a window, too few
rows or columns or no plane common to the window, a fit that does not converge, has no positive amplitude, or moves
more than :data:`MAX_SHIFT_LD` ``lambda_c / D`` from the first moment (a faint source's noise, a blend).  The
extraction's notes and HISTORY say which estimator placed the centre, and :mod:`validation.mrs_score` writes it as
a metric (``mrs_centroid_fitted``).

**Cost**: 7.1 ms CPU a cube, median, the first moment's 1.6 ms included (the 256 x 256 Airy image and the fits;
``benchmarks/mrs_centroid_phase.py``, session 26); :func:`calibration.cube_build.slice_strips` adds ~35 ms per
exposure and band to each cube (a sort of 400 000 pixels' beta boxes, synthetic; the calibration of an exposure
takes 3-4 s).

**Cannot**: model a PSF far from the Airy pattern (a synthetic annular pupil of obscuration 0.3 with little
broadening leaves 4C's fit up to 8 mas off, worse than the first moment; the profile must be symmetric about its
centre, as the first moment assumes too), separate a blend (a neighbour inside a window makes it fall back), or
follow the source across planes (one centre for the band).
"""
import numpy as np
from scipy.optimize import least_squares
from scipy.special import j1, ndtr

from miri_testbed.instrument.mrs import lambda_over_d

#: A Gaussian's FWHM over its sigma; the Airy pattern's FWHM in lambda / D.
FWHM_PER_SIGMA, AIRY_FWHM_LD = 2.0 * np.sqrt(2.0 * np.log(2.0)), 1.03
#: Windows (half-widths, lambda_c / D): the alpha Gaussian's and the beta model's (module docstring).
ALPHA_LD, BETA_LD = 2.0, 2.0
#: The fits' starting width: 1.4 x the diffraction core's (the MRS core is 15-60 % broader, params section 5).
WIDTH_FACTOR = 1.4
#: The beta model's samples: per slice width, and across.
AIRY_PER_SLICE, AIRY_SAMPLES = 8, 256
#: A fit further than this (lambda_c / D) from the first moment is not believed (module docstring).
MAX_SHIFT_LD = 0.2
#: Fewest spaxel rows (beta) and columns (alpha) a window must hold.
MIN_SPAXELS = 3


class FitFailed(Exception):
    """The fit cannot place the centre; the message says why (the first moment is used)."""


def overlap(lo_a, hi_a, lo_b, hi_b):
    """``(len(lo_a), len(lo_b))``: the overlaps of intervals ``[lo_a, hi_a]`` with ``[lo_b, hi_b]``."""
    return np.clip(np.minimum(hi_a[:, None], hi_b[None, :]) - np.maximum(lo_a[:, None], lo_b[None, :]), 0, None)


def row_weights(strips, edges):
    """Each spaxel row's (``edges``: the beta axis's) overlap-weighted share of every strip, rows normalised."""
    weights = overlap(edges[:-1], edges[1:], strips[:, 0], strips[:, 1])
    return weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-30)


def mean_image(data, usable, covered):
    """Each spaxel's mean over its ``usable`` planes of ``data``, less the median over the ``covered`` spaxels, else 0.

    The collapsed image both the first moment (:func:`calibration.mrs_extract.collapsed_image`, every plane) and the
    beta fit (the planes common to its window) read.
    """
    # the mean over a spaxel's usable planes, not their sum: the slices reach different wavelengths (1-1054
    # planes a spaxel in 3C), and a sum weights a slice by its planes, 2-6 mas in beta (docs/mrs.md)
    image = np.sum(np.where(usable, data, 0.0), axis=0) / np.maximum(np.sum(usable, axis=0), 1)
    return np.where(covered, image - np.median(image[covered]), 0.0)


def gauss_box(lo, hi, mu, sigma):
    """A unit Gaussian's mean density over ``[lo, hi]``."""
    return (ndtr((hi - mu) / sigma) - ndtr((lo - mu) / sigma)) / (hi - lo)


def airy_marginal(ld, sample, n=None, alpha_range=None):
    """An unobstructed circular pupil's diffraction pattern (``lambda / D`` = ``ld``) summed along alpha.

    On ``n`` samples of ``sample`` centred between the middle two, in beta; summed over ``alpha_range`` ``(lo, hi)``
    (arcsec from the centre: the fit's columns; each alpha sample weighted by its share inside), or over all.
    """
    n = AIRY_SAMPLES if n is None else n
    x = (np.arange(n) - (n - 1) / 2) * sample
    r = np.pi * np.hypot(x[:, None], x[None, :]) / ld
    image = np.where(r > 0, (2 * j1(np.maximum(r, 1e-12)) / np.maximum(r, 1e-12)) ** 2, 1.0)
    if alpha_range is None:
        return image.sum(axis=1)
    share = overlap(x - sample / 2, x + sample / 2, np.array([alpha_range[0]]), np.array([alpha_range[1]]))[:, 0]
    return image @ (share / sample)


def _check(fit, start, ld, what):
    if fit.status <= 0 or not np.all(np.isfinite(fit.x)):
        raise FitFailed(f"the {what} fit did not converge ({fit.message})")
    if fit.x[0] <= 0:
        raise FitFailed(f"the {what} fit found no positive amplitude")
    if abs(fit.x[1] - start) > MAX_SHIFT_LD * ld:
        raise FitFailed(f"the {what} fit moved {1e3 * (fit.x[1] - start):+.1f} mas from the first moment (more than "
                        f"{MAX_SHIFT_LD} lambda/D)")
    return float(fit.x[1])


def _window(grid, start, radius, covered, ours, what):
    """The window's rows and columns (bool), checked (module docstring, 'Fallback')."""
    for axis, at, name in ((grid.alpha, start[0], "alpha"), (grid.beta, start[1], "beta")):
        if at - radius < axis.edges[0] or at + radius > axis.edges[-1]:
            raise FitFailed(f"the {what} fit's window leaves the cube's grid along {name}")
    rows = np.abs(grid.beta.centres - start[1]) <= radius
    cols = np.abs(grid.alpha.centres - start[0]) <= radius
    if rows.sum() < MIN_SPAXELS or cols.sum() < MIN_SPAXELS:
        raise FitFailed(f"the {what} window holds {rows.sum()} x {cols.sum()} spaxels")
    box = np.ix_(rows, cols)
    if not np.all(covered[box]):
        raise FitFailed(f"the {what} window reaches spaxels the cube does not cover")
    if not np.all(ours[box]):
        raise FitFailed(f"another source's spaxels are inside the {what} window")
    return rows, cols


def fit_alpha(grid, image, covered, ours, start):
    """The alpha centre (arcsec): a Gaussian integrated over the spaxels' alpha boxes (module docstring)."""
    ld = lambda_over_d(np.mean(grid.wavelength.edges[[0, -1]]))
    rows, cols = _window(grid, start, ALPHA_LD * ld, covered, ours, "alpha")
    edges = grid.alpha.edges
    profile = image[np.ix_(rows, cols)].sum(axis=0)
    sigma0 = WIDTH_FACTOR * AIRY_FWHM_LD * ld / FWHM_PER_SIGMA

    def residual(p):
        return p[0] * gauss_box(edges[:-1][cols], edges[1:][cols], p[1], abs(p[2])) - profile

    fit = least_squares(residual, [max(profile.max(), 1e-30) * sigma0 * 2.5, start[0], sigma0], x_scale="jac")
    return _check(fit, start[0], ld, "alpha")


def fit_beta(grid, data, usable, covered, ours, start, strips, alpha):
    """The beta centre (arcsec): the Airy (x) Gaussian model through the slices' strips (module docstring).

    ``alpha``: the source's alpha (the model is summed over the window's columns about it).
    """
    ld = lambda_over_d(np.mean(grid.wavelength.edges[[0, -1]]))
    rows, cols = _window(grid, start, BETA_LD * ld, covered, ours, "beta")
    inside = rows[:, None] & cols[None, :]
    common = np.flatnonzero(np.all(usable[:, inside], axis=1))
    if common.size == 0:
        raise FitFailed("no plane is usable on every spaxel of the beta window")
    weights = row_weights(strips, grid.beta.edges[np.r_[np.flatnonzero(rows), np.flatnonzero(rows)[-1] + 1]])
    if np.any(weights.sum(axis=1) < 0.5):
        raise FitFailed("the beta window reaches rows no slice covers")
    width = float(np.median(strips[:, 1] - strips[:, 0]))
    sample = width / AIRY_PER_SLICE
    edges = (np.arange(AIRY_SAMPLES + 1) - AIRY_SAMPLES / 2) * sample
    kx = np.arange(-AIRY_SAMPLES // 4, AIRY_SAMPLES // 4 + 1) * sample
    profile = mean_image(data[common], usable[common], covered)[np.ix_(rows, cols)].sum(axis=1)
    a_edges = grid.alpha.edges
    marginal = airy_marginal(lambda_over_d(float(np.mean(grid.wavelength.centres[common]))), sample,
                             alpha_range=(a_edges[:-1][cols][0] - alpha, a_edges[1:][cols][-1] - alpha))
    lo, hi = strips[:, 0], strips[:, 1]

    def model(mu, sigma):
        kernel = np.exp(-0.5 * (kx / max(abs(sigma), 1e-3 * sample)) ** 2)
        cum = np.r_[0, np.cumsum(np.convolve(marginal, kernel / kernel.sum(), mode="same"))]
        cum = cum / cum[-1]
        return weights @ ((np.interp(hi - mu, edges, cum) - np.interp(lo - mu, edges, cum)) / (hi - lo))

    def residual(p):
        return p[0] * model(p[1], p[2]) + p[3] - profile

    fit = least_squares(residual, [max(profile.max(), 1e-30) / model(start[1], sample).max(), start[1], 2 * sample,
                                   0.0], x_scale="jac")
    return _check(fit, start[1], ld, "beta")


def fit_centre(grid, data, usable, image, covered, ours, start, strips):
    """``(alpha, beta)``, arcsec: both fits from the first moment ``start`` (module docstring).

    Parameters
    ----------
    grid : calibration.cube_build.CubeGrid
    data, usable : (n_lambda, n_beta, n_alpha) float, bool
        The cube and the spaxels it may use.
    image, covered : (n_beta, n_alpha) float, bool
        The collapsed image and its covered spaxels (:func:`calibration.mrs_extract.collapsed_image`).
    ours : (n_beta, n_alpha) bool
        The spaxels on the target's side of any other source.
    start : (float, float)
        The first moment.
    strips : (n, 2) float or None
        The slices' beta strips in the cube's frame (:func:`calibration.cube_build.slice_strips`).

    Raises
    ------
    FitFailed
        With the reason (module docstring, 'Fallback').
    """
    if strips is None or len(strips) == 0:
        raise FitFailed("the cube carries no slice strips")
    strips = np.asarray(strips, float)
    alpha = fit_alpha(grid, image, covered, ours, start)
    return alpha, fit_beta(grid, data, usable, covered, ours, start, strips, alpha)
