"""cube_build's weights and sums (calibration.cube_build): the smoothed boxes' cut, and the separable sums.

A box convolved with a Gaussian cut at ``SMOOTH_HALF_WIDTH_SIGMA`` sigma from its edges keeps its length less
the two tails beyond the cut (at most ``2 (phi(4) - 4 (1 - Phi(4))) sigma = 1.4e-5 sigma``), whatever bins it
is taken over; reflected at its row's ends it keeps its length exactly.  The compiled overlaps are the integrals
spelled out with scipy's ``ndtr``.  The drizzle's sums, made by compiled loops over each pixel's separable weights
(:mod:`calibration.cube_kernels`), are the sums over every (pixel, spaxel) pair spelled out, to rounding, for every
kernel with and without the selection of complete exposures.
"""
import numpy as np
import pytest
from scipy.special import ndtr
from scipy.stats import norm

from miri_testbed.calibration import cube_build, registry

from helpers import block_pairs


def test_a_smoothed_box_keeps_its_length_less_the_tails_beyond_the_cut():
    rng = np.random.default_rng(2)
    axis, sigma = cube_build.Axis(0.0, 1.0, 200), 0.5
    lo = rng.uniform(20.0, 180.0, 1000)
    hi = lo + rng.uniform(0.9, 1.11, 1000)
    cut = cube_build.SMOOTH_HALF_WIDTH_SIGMA

    def tail(t):  # int_t^inf Q(x) dx, Q the Gaussian's upper tail
        return norm.pdf(t) - t * norm.sf(t)

    # the box * G's mass beyond lo - 4 sigma and hi + 4 sigma (each side the box's near edge's tail less its far one's)
    tails = 2 * sigma * (tail(cut) - tail(cut + (hi - lo) / sigma))
    assert np.all(tails < 1.5e-5 * sigma)  # the docstring's bound
    index, length = axis.overlaps(lo, hi, sigma)
    np.testing.assert_allclose(length.sum(axis=1), hi - lo - tails, rtol=0, atol=1e-12)
    # the same weights over wider windows of bins: the cut is the box's, not the window's
    wide_index, wide = axis.overlaps(lo, hi, sigma, widest=3.0)
    k = index.shape[1]
    np.testing.assert_array_equal(wide_index[:, :k], index)
    np.testing.assert_array_equal(wide[:, :k], length)
    assert wide.shape[1] > k and np.all(wide[:, k:] == 0)
    # reflected at the ends of a row (some boxes within 4 sigma of them): the length kept, nothing beyond the ends
    ends = (np.full(len(lo), 19.5), np.full(len(lo), 180.5))
    index, length = axis.overlaps(lo, hi, sigma, ends=ends)
    np.testing.assert_allclose(length.sum(axis=1), hi - lo, rtol=1e-12)
    assert np.all(length[(index + 1 <= 19.5) | (index >= 180.5)] == 0)


def _spelled_out(axis, lo, hi, sigma, ends=None):
    """Each box's length in the bins of :meth:`Axis.span`, the box * G's integral over each bin by scipy's ``ndtr``:
    ``F(e) = R(e - lo) - R(e - hi)``, ``R(z) = z Phi(z / sigma) + sigma phi(z / sigma)``, the Gaussian cut at 4 sigma
    from the box's edges; with ``ends`` reflected there, ``F(e) - F(2b - e) - F(2a - e)`` on ``[a, b]``, each box
    scaled back to its length; and, with ``ends``, the lengths with the Gaussian cut there instead."""
    first, k = axis.span(lo, hi, sigma)
    reach = cube_build.SMOOTH_HALF_WIDTH_SIGMA * sigma
    edges = axis.start + (first[:, None] + np.arange(k + 1)) * axis.step
    low, high = lo - reach, hi + reach
    if ends is not None:
        low, high = np.maximum(low, ends[0]), np.minimum(high, ends[1])
    edges = np.clip(edges, low[:, None], high[:, None])

    def below(e):
        e = np.clip(e, (lo - reach)[:, None], (hi + reach)[:, None])
        ramp = [z * ndtr(z / sigma) + sigma * norm.pdf(z / sigma) for z in (e - lo[:, None], e - hi[:, None])]
        return ramp[0] - ramp[1]

    cut = np.diff(below(edges), axis=1)
    length = cut
    if ends is not None:
        a, b = ends[0][:, None], ends[1][:, None]
        length = np.diff(below(edges) - below(2 * b - edges) - below(2 * a - edges), axis=1)
        length *= (hi - lo)[:, None] / np.sum(length, axis=1, keepdims=True)
    inside = (first[:, None] + np.arange(k) >= 0) & (first[:, None] + np.arange(k) < axis.n)
    return np.where(inside, length, 0.0), np.where(inside, cut, 0.0)


def test_the_compiled_overlaps_are_the_integrals_spelled_out():
    # cube_kernels.overlaps takes the integrated cdf from a table of its Taylor coefficients: within 1e-15 of
    # scipy's ndtr and exp, so each bin's share within a few 1e-15 of the box's length (rounding of the differences)
    rng = np.random.default_rng(3)
    axis, sigma = cube_build.Axis(0.0, 1.0, 40), 0.5
    lo = rng.uniform(-3.0, 40.0, 2000)
    hi = lo + rng.uniform(0.9, 1.11, len(lo))
    ends = (np.floor(lo) - rng.uniform(0.0, 3.0, len(lo)), np.ceil(hi) + rng.uniform(0.0, 3.0, len(lo)))
    for e in (None, ends):
        index, length, cut = axis.overlaps(lo, hi, sigma, ends=e, with_cut=True)
        want, want_cut = _spelled_out(axis, lo, hi, sigma, e)
        np.testing.assert_allclose(length, want, rtol=0, atol=1e-14)
        np.testing.assert_allclose(cut, want_cut, rtol=0, atol=1e-14)
    # the plain boxes (drizzle): the overlaps exactly
    index, length = axis.overlaps(lo, hi)
    left = axis.start + (axis.span(lo, hi)[0][:, None] + np.arange(length.shape[1])) * axis.step
    want = np.clip(np.minimum(hi[:, None], left + axis.step) - np.maximum(lo[:, None], left), 0, None)
    np.testing.assert_array_equal(length, np.where((left >= 0) & (left < axis.n), want, 0.0))


def _set(seed=4, n=cube_build.BLOCK + 2000):
    """Three exposures of a made-up band: pixel-sized boxes of random widths, moved, the third's field shorter (each
    exposure more than a block: the blocks' sums meet)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, (shift, end) in enumerate(((0.0, 1.0), (0.1, 1.0), (0.05, 0.1))):
        alpha = rng.uniform(-1.0 + shift, end + shift - 0.2, n)
        beta = (rng.integers(-5, 6, n) + 0.3 * k) * 0.177
        lam = rng.uniform(5.0, 5.03, n)
        f32 = np.float32
        parts.append(cube_build.Samples(
            band="1A", alpha_lo=alpha.astype(f32), alpha_hi=(alpha + rng.uniform(0.18, 0.21, n)).astype(f32),
            beta_lo=(beta - 0.0885).astype(f32), beta_hi=(beta + 0.0885).astype(f32), lam_lo=lam,
            lam_hi=lam + 8e-4 * rng.uniform(0.9, 1.11, n), intensity=rng.normal(1.0, 0.3, n).astype(f32),
            intensity_var=rng.uniform(0.5, 2.0, n).astype(f32), used=rng.random(n) > 0.03,
            row_lo=np.full(n, -1.0 + shift, f32), row_hi=np.full(n, end + shift, f32)))
    return cube_build.concatenate(parts)


def _pairs(samples, grid, smoothing, alpha_smoothing, selected=None):
    """The weight, total and variance sums over every (pixel, spaxel) pair; each exposure's coverage (cut weights)."""
    size = int(np.prod(grid.shape))
    sums = np.zeros((3, size))
    covered = np.zeros((int(samples.member.max()) + 1, size))
    for block in cube_build._blocks(samples, grid, smoothing, alpha_smoothing):
        plane = block.first[:, None] + np.arange(block.wl.shape[1])
        inside = ((plane >= 0) & (plane < grid.wavelength.n))[:, None, :]
        spatial, u = block_pairs(block)
        flat = (np.clip(plane, 0, grid.wavelength.n - 1)[:, None, :] * (grid.beta.n * grid.alpha.n)
                + spatial[:, :, None])  # (n, Kb Ka, Kl)
        member = samples.member[block.index, None, None]
        w = np.where(inside, u[:, :, None] * block.wl[:, None, :], 0.0)
        if selected is not None:
            w = w * selected.reshape(len(selected), -1)[member, flat]
        for q, values in enumerate((w, w * samples.intensity[block.index, None, None],
                                    w**2 * samples.intensity_var[block.index, None, None])):
            np.add.at(sums[q], flat.ravel(), values.ravel())
        np.add.at(covered, (np.broadcast_to(member, flat.shape).ravel(), flat.ravel()),
                  np.where(inside, block_pairs(block, cut=True)[1][:, :, None] * block.wl[:, None, :], 0.0).ravel())
    return sums, covered


@pytest.mark.parametrize("variant", registry.ALGORITHMS["cube_build"])
def test_the_separable_sums_are_the_sums_over_every_pair(variant):
    samples = _set()
    grid = cube_build.grid_for(samples)
    cube = registry.ALGORITHMS["cube_build"][variant](samples, grid)
    if cube.selected is not None:
        # the selection from each exposure's coverage with the cut weights, pair by pair
        covered = _pairs(samples, grid, cube.smoothing, cube.alpha_smoothing)[1]
        full = covered >= cube_build.COMPLETE_MIN * grid.volume
        # a spaxel within rounding of the threshold could go either way: none is here
        assert not np.any(np.abs(covered / grid.volume - cube_build.COMPLETE_MIN) < 1e-9)
        np.testing.assert_array_equal(cube.selected.reshape(len(full), -1),
                                      np.where(np.any(full, axis=0), full, covered > 0))
        assert not np.all(cube.selected[2][cube.coverage > 0])  # it selects
    (weight, total, total_var), _ = _pairs(samples, grid, cube.smoothing, cube.alpha_smoothing, cube.selected)
    np.testing.assert_allclose(cube.coverage.ravel(), weight / grid.volume, rtol=1e-12, atol=1e-15)
    inside = weight > 0
    np.testing.assert_array_equal(np.isfinite(cube.data).ravel(), inside)
    np.testing.assert_allclose(cube.data.ravel()[inside], total[inside] / weight[inside], rtol=1e-10)
    np.testing.assert_allclose(cube.var.ravel()[inside], total_var[inside] / weight[inside] ** 2, rtol=1e-10)
