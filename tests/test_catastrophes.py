"""Catastrophes are metrics: what a robust width and a median hide is counted."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from miri_testbed.validation.score import GAUSSIAN_OUTLIER_FRACTION, OUTLIER_PULL, _rate_rows


def _value(rows, metric):
    return next(r["value"] for r in rows if r["metric"] == metric and "bin" not in r)


@settings(max_examples=20, deadline=None)
@given(n_wild=st.integers(0, 500), seed=st.integers(0, 2**32 - 1))
def test_outlier_fraction_counts_the_wild_pixels_the_robust_width_hides(n_wild, seed):
    """10^5 unit-Gaussian pulls plus ``n_wild`` pixels at 20-500 sigma: the robust width
    stays near 1 while the outlier fraction counts them."""
    rng = np.random.default_rng(seed)
    pulls = rng.standard_normal(100_000)
    pulls[:n_wild] = rng.uniform(20, 500, n_wild) * rng.choice([-1, 1], n_wild)
    rows = _rate_rows(pulls, np.ones_like(pulls), np.full(pulls.size, 5.0))
    assert _value(rows, "pull_std") == pytest.approx(1.0, abs=0.03)
    gaussian = np.mean(np.abs(pulls[n_wild:]) > OUTLIER_PULL) * (pulls.size - n_wild) / pulls.size
    assert _value(rows, "pull_outlier_fraction") == pytest.approx(n_wild / pulls.size + gaussian, abs=1e-12)


def test_gaussian_outlier_fraction_is_that_of_a_unit_normal():
    from scipy.stats import norm

    assert GAUSSIAN_OUTLIER_FRACTION == pytest.approx(2 * norm.sf(OUTLIER_PULL), rel=1e-3)
