"""cube_build's exact sum variance (calibration.cube_build.Cube.sum_variance) over the pixels that reach the sum.

It takes only the pixels whose boxes reach a spaxel with a nonzero coefficient; the others' shares are 0,
so it must equal the same variance summed over every pixel, for each cube_build variant (the smoothed
ones cut their Gaussians at their block's K bins, which the restriction must keep).  And the variants
``<kernel>_complete`` (each spaxel from the exposures complete in it): their variances exact (pulls of one), a
uniform scene uniform, one exposure alone the kernel's cube bit for bit.
"""
from dataclasses import replace

import numpy as np
import pytest

from miri_testbed.calibration import cube_build, registry

from helpers import block_pairs


def _samples(n=3 * cube_build.BLOCK + 5000, seed=3):
    """Boxes of a made-up band across 21 slices, pixel-sized, of random widths; those beyond alpha 1.7" (that
    reach no coefficient) wider, so that they set their block's K and the reaching pixels alone would not."""
    rng = np.random.default_rng(seed)
    slice_beta = (np.arange(21) - 10) * 0.177
    beta = rng.choice(slice_beta, n)
    alpha_lo = rng.uniform(-1.6, 2.2, n)
    wide = alpha_lo > 1.7
    lam_lo = rng.uniform(4.90, 5.70, n)
    f32 = np.float32
    return cube_build.Samples(
        band="1A", alpha_lo=alpha_lo.astype(f32),
        alpha_hi=(alpha_lo + np.where(wide, 0.45, rng.uniform(0.15, 0.21, n))).astype(f32),
        beta_lo=(beta - 0.0885).astype(f32), beta_hi=(beta + 0.0885).astype(f32),
        lam_lo=lam_lo, lam_hi=lam_lo + 8e-4 * np.where(wide, 3.0, rng.uniform(0.9, 1.11, n)),
        intensity=np.ones(n, f32), intensity_var=rng.uniform(0.5, 2.0, n).astype(f32), used=rng.random(n) > 0.05,
        row_lo=np.full(n, -1.6, f32), row_hi=np.full(n, 2.65, f32))  # alpha Gaussians reflected at the ends


def _full_sum_variance(cube, coefficients):
    """``sum_p (sum_s c_s w_ps / W_s)^2 var(I_p)`` per plane over every used pixel (no restriction), each pixel's
    weights spelled out over its whole (beta, alpha, lambda) window."""
    with np.errstate(invalid="ignore", divide="ignore"):
        per_weight = np.where(cube.coverage > 0, coefficients / (cube.coverage * cube.grid.volume), 0.0)
    per_weight = per_weight.reshape(cube.grid.wavelength.n, -1)
    out = np.zeros(cube.grid.wavelength.n)
    for block in cube_build._blocks(cube.samples, cube.grid, cube.smoothing, cube.alpha_smoothing):
        plane = block.first[:, None] + np.arange(block.wl.shape[1])  # (n, Kl)
        inside = (plane >= 0) & (plane < len(out))
        plane = np.where(inside, plane, 0)
        spatial, u = block_pairs(block)
        c = per_weight[plane[:, None, :], spatial[:, :, None]]  # (n, Kb Ka, Kl)
        if cube.selected is not None:
            c = c * cube.selected.reshape(len(cube.selected), -1)[cube.samples.member[block.index, None, None],
                                                                   plane[:, None, :] * per_weight.shape[1]
                                                                   + spatial[:, :, None]]
        share = np.sum(c * u[:, :, None], axis=1) * block.wl
        out += np.bincount(plane[inside], (share**2 * cube.samples.intensity_var[block.index, None])[inside],
                           minlength=len(out))
    return out


@pytest.mark.parametrize("variant", registry.ALGORITHMS["cube_build"])
def test_the_variance_over_the_reaching_pixels_is_the_variance_over_all(variant):
    samples = _samples()
    cube = registry.ALGORITHMS["cube_build"][variant](samples, cube_build.grid_for(samples))
    grid = cube.grid
    # an aperture of 0.5" and an annulus of 0.8-1.0" about (0.2, -0.1) in the planes of 5.1-5.5 um
    beta, alpha = np.meshgrid(grid.beta.centres, grid.alpha.centres, indexing="ij")
    r = np.hypot(alpha - 0.2, beta + 0.1)
    image = np.where(r < 0.5, 1.0, 0.0) - np.where((r > 0.8) & (r < 1.0), 0.3, 0.0)
    planes = (grid.wavelength.centres > 5.1) & (grid.wavelength.centres < 5.5)
    coefficients = planes[:, None, None] * image * grid.alpha.step * grid.beta.step
    reaching = cube_build._reaching(samples, grid, coefficients != 0, cube.smoothing, cube.alpha_smoothing)
    assert 0 < reaching.sum() < 0.5 * samples.used.sum()  # the selection leaves most pixels out
    fast, full = cube.sum_variance(coefficients), _full_sum_variance(cube, coefficients)
    assert np.all(fast[~planes] == 0) and np.all(full[planes] > 0)
    np.testing.assert_allclose(fast, full, rtol=1e-12, atol=0)


def _dithered(seed=5):
    """Three exposures of a made-up band, each tiling its own field with boxes of one size (alpha, beta, lambda),
    moved by a fraction of a box; the third's field ends at alpha 0.1", inside the others' (the case the
    selection is for: cube_build docstring, 'Each spaxel from the exposures complete in it'), and 3 % of the
    pixels not used (bad)."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, (shift, end) in enumerate(((0.0, 1.0), (0.1, 1.0), (0.05, 0.1))):
        a, b, lam = np.meshgrid(np.arange(-1.0, end, 0.2) + shift, (np.arange(-5, 6) + 0.3 * k) * 0.177,
                                5.0 + (np.arange(40) + 0.4 * k) * 8e-4, indexing="ij")
        a, b, lam = a.ravel(), b.ravel(), lam.ravel()
        f32, n = np.float32, a.size
        parts.append(cube_build.Samples(
            band="1A", alpha_lo=a.astype(f32), alpha_hi=(a + 0.2).astype(f32), beta_lo=(b - 0.0885).astype(f32),
            beta_hi=(b + 0.0885).astype(f32), lam_lo=lam, lam_hi=lam + 8e-4,
            intensity=np.exp(-((a + 0.1) ** 2 + b**2) / 0.08).astype(f32),  # a compact source by the third's end
            intensity_var=rng.uniform(0.5, 2.0, n).astype(f32) * 1e-4, used=rng.random(n) > 0.03,
            row_lo=np.full(n, -1.0 + shift, f32), row_hi=np.full(n, end + shift + 0.2, f32)))
    return parts


@pytest.mark.parametrize("variant", ["drizzle_complete", "drizzle_lambda_alpha_smooth_complete"])  # <= 4 s each
def test_the_selected_cubes_pulls_are_one(variant):
    # The selection keeps each pixel's weight only where its exposure is selected, in the mean and its variance
    # alike: over noisy realisations of the pixels (Gaussian, of their variance) each spaxel's pull against the
    # noise-free cube, and each plane's aperture sum's against Cube.sum_variance (the spaxels' covariance), have
    # unit spread.  100 realisations of ~40 planes: the spreads' own error ~1 % (aperture), far less per spaxel.
    rng = np.random.default_rng(8)
    clean = cube_build.concatenate(_dithered())
    grid = cube_build.grid_for(clean)
    build = registry.ALGORITHMS["cube_build"][variant]
    truth = build(clean, grid)
    assert truth.selected is not None and not np.all(truth.selected[2][truth.coverage > 0])  # it selects
    beta, alpha = np.meshgrid(grid.beta.centres, grid.alpha.centres, indexing="ij")
    coefficients = np.broadcast_to(np.hypot(alpha + 0.1, beta) < 0.5, grid.shape) * grid.alpha.step * grid.beta.step
    deviation = np.sqrt(truth.sum_variance(coefficients))
    inside = np.isfinite(truth.data)
    spaxel_pulls, sum_pulls = [], []
    for _ in range(100):
        noise = rng.standard_normal(len(clean.intensity)) * np.sqrt(clean.intensity_var)
        cube = build(replace(clean, intensity=(clean.intensity + noise).astype(np.float32)), grid)
        np.testing.assert_array_equal(cube.selected, truth.selected)  # the selection is the geometry's, not the data's
        spaxel_pulls.append(((cube.data - truth.data) / np.sqrt(truth.var))[inside])
        sum_pulls.append(np.nansum((cube.data - truth.data) * coefficients, axis=(1, 2)) / deviation)
    assert np.std(spaxel_pulls) == pytest.approx(1, abs=0.02)
    assert np.std(sum_pulls) == pytest.approx(1, abs=0.05)


@pytest.mark.parametrize("variant", ["drizzle_complete", "drizzle_lambda_alpha_smooth_complete"])
def test_the_selected_variance_over_the_reaching_pixels_is_the_variance_over_all(variant):
    samples = cube_build.concatenate(_dithered())
    cube = registry.ALGORITHMS["cube_build"][variant](samples, cube_build.grid_for(samples))
    beta, alpha = np.meshgrid(cube.grid.beta.centres, cube.grid.alpha.centres, indexing="ij")
    coefficients = np.zeros(cube.grid.shape)
    coefficients[10:25] = np.hypot(alpha + 0.1, beta) < 0.5
    fast, full = cube.sum_variance(coefficients), _full_sum_variance(cube, coefficients)
    assert np.all(full[10:25] > 0)
    np.testing.assert_allclose(fast, full, rtol=1e-12, atol=0)


@pytest.mark.parametrize("kernel", [cube_build.drizzle, cube_build.drizzle_lambda_alpha_smooth])
def test_the_selection_keeps_a_uniform_scene_and_leaves_one_exposure_alone(kernel):
    parts = _dithered()
    uniform = cube_build.concatenate([replace(p, intensity=np.ones_like(p.intensity)) for p in parts])
    cube = kernel(uniform, cube_build.grid_for(uniform), complete=True)
    assert np.any(cube.selected.sum(axis=0)[cube.coverage > 0] < 3)  # some spaxels from fewer exposures
    np.testing.assert_allclose(cube.data[np.isfinite(cube.data)], 1.0, rtol=1e-6)
    one = cube_build.concatenate(_dithered()[2:])
    grid = cube_build.grid_for(one)
    plain, selected = kernel(one, grid), kernel(one, grid, complete=True)
    for name in ("data", "var", "coverage"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(selected, name))
    assert selected.selected is None

