"""cube_build's plane-to-plane covariance of an aperture sum (``Cube.sum_variance(coefficients, lags)``).

A pixel whose box reaches two planes puts its noise in both, so the aperture sum's planes are correlated;
``sum_variance`` with ``lags`` gives ``cov(F_k, F_(k+l)) = sum_p share_pk share_p(k+l) var(I_p)``.  Here
it must equal a Monte Carlo over noise-only realisations of the pixels, drizzled, within the Monte Carlo's
own error, for ``drizzle`` and a ``_complete`` variant (whose selection the shares must honour); and its
variance column must be ``lags=0``'s bit for bit.
"""
from dataclasses import replace

import numpy as np
import pytest

from miri_testbed.calibration import cube_build, registry

LAGS = 3


def _exposures(seed=11):
    """Three exposures of a made-up band, each tiling its own field in (alpha, beta) with boxes one plane long
    in lambda (60 %) or 2.2 (so a box reaches up to four planes: lags 1-3), the third's field ending inside the
    others' (the ``_complete`` selection then differs from the plain drizzle); 3 % of the pixels not used."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, (shift, end) in enumerate(((0.0, 0.8), (0.1, 0.8), (0.05, 0.0))):
        a, b, lam = np.meshgrid(np.arange(-0.8, end, 0.2) + shift, (np.arange(-3, 4) + 0.3 * k) * 0.177,
                                5.0 + (np.arange(30) + 0.4 * k) * 8e-4, indexing="ij")
        a, b, lam = a.ravel(), b.ravel(), lam.ravel()
        f32, n = np.float32, a.size
        lam = lam + rng.uniform(0, 4e-4, n)
        parts.append(cube_build.Samples(
            band="1A", alpha_lo=a.astype(f32), alpha_hi=(a + 0.2).astype(f32), beta_lo=(b - 0.0885).astype(f32),
            beta_hi=(b + 0.0885).astype(f32), lam_lo=lam, lam_hi=lam + 8e-4 * np.where(rng.random(n) < 0.6, 1.0, 2.2),
            intensity=np.zeros(n, f32), intensity_var=rng.uniform(0.5, 2.0, n).astype(f32),
            used=rng.random(n) > 0.03, row_lo=np.full(n, -0.8 + shift, f32), row_hi=np.full(n, end + shift + 0.2, f32)))
    return cube_build.concatenate(parts)


def _aperture(grid):
    """A cone (radius growing with the plane) about (-0.1, 0): each plane's coefficients differ."""
    beta, alpha = np.meshgrid(grid.beta.centres, grid.alpha.centres, indexing="ij")
    radius = np.linspace(0.3, 0.45, grid.wavelength.n)[:, None, None]
    return (np.hypot(alpha + 0.1, beta) < radius) * grid.alpha.step * grid.beta.step


@pytest.mark.parametrize("variant", ["drizzle", "drizzle_complete"])  # ~4 s each
def test_the_lag_covariances_match_a_monte_carlo(variant):
    # Over realisations of the pixels' noise, q_l = sum_k w_k F_k F_(k+l) has mean sum_k w_k cov_k(k+l) (the noise
    # has mean 0); w_k random in [0, 2] per plane, so a covariance put in the wrong plane would show.  The test
    # is against the realisations' own spread of q_l (4 standard errors), and asks lags 1-2 to be 5 of them from 0.
    rng = np.random.default_rng(4)
    clean = _exposures()
    grid = cube_build.grid_for(clean)
    build = registry.ALGORITHMS["cube_build"][variant]
    truth = build(clean, grid)
    if variant.endswith("_complete"):
        assert not np.all(truth.selected[2][truth.coverage > 0])  # the selection leaves the third out somewhere
    coefficients = _aperture(grid)
    exact = truth.sum_variance(coefficients.copy(), LAGS)
    np.testing.assert_array_equal(exact[:, 0], truth.sum_variance(coefficients.copy()))
    assert all(np.all(exact[grid.wavelength.n - lag:, lag] == 0) for lag in range(1, LAGS + 1))  # none past the end
    weights = rng.uniform(0, 2, grid.wavelength.n)
    sums = []
    for _ in range(300):
        noise = (rng.standard_normal(len(clean.intensity)) * np.sqrt(clean.intensity_var)).astype(np.float32)
        cube = build(replace(clean, intensity=noise), grid)
        sums.append(np.nansum(cube.data * coefficients, axis=(1, 2)))
    sums = np.array(sums)
    for lag in range(LAGS + 1):
        q = np.sum(weights[:grid.wavelength.n - lag] * sums[:, :grid.wavelength.n - lag] * sums[:, lag:], axis=1)
        expected = np.sum(weights[:grid.wavelength.n - lag] * exact[:grid.wavelength.n - lag, lag])
        error = np.std(q) / np.sqrt(len(q))
        assert abs(np.mean(q) - expected) < 4 * error, (lag, np.mean(q), expected, error)
        if lag <= 2:
            assert expected > 5 * error, (lag, expected, error)  # the covariance is there, and measured
