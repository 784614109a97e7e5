"""cube_build's exact sum variance (calibration.cube_build.Cube.sum_variance) over the pixels that reach the sum.

It takes only the pixels whose boxes reach a spaxel with a nonzero coefficient; the others' shares are 0,
so it must equal the same variance summed over every pixel, for each cube_build variant (the smoothed
ones cut their Gaussians at their block's K bins, which the restriction must keep).
"""
import numpy as np
import pytest

from miri_testbed.calibration import cube_build, registry


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
    """``sum_p (sum_s c_s w_ps / W_s)^2 var(I_p)`` per plane over every used pixel (no selection)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        per_weight = np.where(cube.coverage > 0, coefficients / (cube.coverage * cube.grid.volume), 0.0).ravel()
    out = np.zeros(cube.grid.wavelength.n)
    for index, flat, w in cube_build._blocks(cube.samples, cube.grid, cube.smoothing, cube.alpha_smoothing):
        share = np.sum(per_weight[flat] * w, axis=(1, 2))
        plane = flat[:, 0, 0, :] // (cube.grid.beta.n * cube.grid.alpha.n)
        out += np.bincount(plane.ravel(), (share**2 * cube.samples.intensity_var[index, None]).ravel(),
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
