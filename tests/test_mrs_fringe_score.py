"""The fringe scorer (FRINGE-1): the largest sinusoid in the fringe's periods against the same on the noise."""
import numpy as np
import pytest

from miri_testbed.validation import metrics, mrs_fringe_score
from miri_testbed.validation.lrs_score import Spectrum

NOISE = 2e-3


def _spectrum(fringe_amplitude, seed=0, noise=NOISE):
    lam = np.linspace(4.9, 5.74, 1000)
    continuum = 50.0 * (1 + 0.1 * (lam - 5.3))  # mJy
    fringe = 1 + fringe_amplitude * np.cos(2 * np.pi * (1e4 / lam) / 2.95 + 0.4)
    rng = np.random.default_rng(seed)
    flux = 1e-3 * continuum * (fringe + noise * rng.standard_normal(lam.size))
    spectrum = Spectrum(0, lam, flux, np.full(lam.size, 1e-3 * noise) * continuum, np.ones(lam.size, bool), "Jy")
    return spectrum, continuum


def _rows(fringe_amplitude, **kw):
    spectrum, continuum = _spectrum(fringe_amplitude, **kw)
    return {r["metric"]: r["value"] for r in mrs_fringe_score.band_rows("1A", spectrum, spectrum.usable, continuum)}


def test_the_fringe_amplitude_finds_an_injected_fringe_and_a_clean_spectrum_sits_at_its_floor():
    injected = _rows(0.01)
    assert abs(injected["mrs_fringe_amplitude"] - 0.01) < 0.1 * 0.01
    clean = [_rows(0.0, seed=s) for s in range(5)]
    # the floor is the statistic on noise alone: a fringe-free spectrum shows about it (not 0)
    ratios = [r["mrs_fringe_amplitude"] / r["mrs_fringe_noise_floor"] for r in clean]
    assert 0.6 < np.median(ratios) < 1.4
    assert all(r["mrs_fringe_over_target"] < 1 for r in clean)
    assert injected["mrs_fringe_over_target"] > 1.5


def test_below_the_half_percent_limit_a_quiet_spectrum_passes_and_above_it_fails():
    """With little noise the floor is far below 0.5 %: the limit is 0.5 % (issue 17)."""
    assert _rows(0.004, noise=1e-4)["mrs_fringe_over_target"] == pytest.approx(0.8, abs=0.05)
    assert _rows(0.006, noise=1e-4)["mrs_fringe_over_target"] == pytest.approx(1.2, abs=0.05)


def test_the_fringe_metrics_have_directions():
    assert all(metrics.judged(m) for m in ("mrs_fringe_amplitude", "mrs_fringe_over_target"))
    assert "mrs_fringe_noise_floor" in metrics.NOT_JUDGED
