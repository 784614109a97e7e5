"""The fringe scorer (FRINGE-1): the largest sinusoid in the fringe's periods against the same on the noise."""
import warnings

import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import mrs_extract, mrs_spec2
from miri_testbed.validation import metrics, mrs_fringe_score, mrs_score
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


def test_the_noise_pvalue_is_uniform_on_noise_alone_and_zero_on_a_fringe(monkeypatch):
    # a fringe-free spectrum's amplitude lands anywhere among the noise draws' (the p-value is uniform in [0, 1];
    # 40 spectra: mean 0.5 +/- 0.046), a 1 % fringe above all of them
    monkeypatch.setattr(mrs_fringe_score, "FLOOR_DRAWS", 200)
    pvalues = np.array([_rows(0.0, seed=s)["mrs_fringe_noise_pvalue"] for s in range(1, 41)])
    assert 0.5 - 0.15 < pvalues.mean() < 0.5 + 0.15
    assert np.mean(pvalues < 0.25) < 0.5 and np.mean(pvalues > 0.75) < 0.5
    assert _rows(0.01)["mrs_fringe_noise_pvalue"] == 0.0


def test_the_fail_rate_is_how_often_fringe_free_spectra_fail_fringe_1(monkeypatch):
    # With 5 % noise a plane the floor's 1.2x is the limit (not 0.5 %): the statistic, a maximum over the scan,
    # spreads beyond 1.2x its median, so fringe-free spectra fail FRINGE-1 at the rate the draws say
    monkeypatch.setattr(mrs_fringe_score, "FLOOR_DRAWS", 200)
    rows = [_rows(0.0, seed=s, noise=0.05) for s in range(1, 61)]
    rate = np.mean([r["mrs_fringe_noise_fail_rate"] for r in rows])
    failed = np.mean([r["mrs_fringe_over_target"] > 1 for r in rows])
    assert 0.02 < rate < 0.5
    assert abs(failed - rate) < 4 * np.sqrt(rate * (1 - rate) / len(rows))


def _correlated(n, rho, seed):
    """Unit noise with lag-1 correlation ``rho`` (an MA(1) process: ``(z_i + b z_(i-1)) / sqrt(1 + b^2)``)."""
    b = (1 - np.sqrt(1 - 4 * rho**2)) / (2 * rho)
    z = np.random.default_rng(seed).standard_normal(n + 1)
    return (z[1:] + b * z[:-1]) / np.sqrt(1 + b**2)


def test_with_no_correlation_the_floor_is_the_white_floor():
    spectrum, continuum = _spectrum(0.0)
    scored = spectrum.usable.copy()
    scored[300:340] = scored[700:712] = False  # lines left out
    sigma, _, e = mrs_fringe_score.relative_residual(spectrum, scored, continuum[scored])
    zero = np.zeros((scored.size, 4))
    assert mrs_fringe_score.spectrum_floor(sigma, e, scored, zero) == mrs_fringe_score.noise_floor(sigma, e)
    assert mrs_fringe_score.spectrum_floor(sigma, e, scored, None) == mrs_fringe_score.noise_floor(sigma, e)


def test_the_correlation_matrix_takes_the_planes_true_adjacency():
    rng = np.random.default_rng(2)
    correlation = rng.uniform(-0.2, 0.5, (40, 3))
    planes = np.flatnonzero(rng.random(40) < 0.6)  # a subset: gaps of one, two, more planes
    matrix = mrs_score.correlation_matrix(planes, correlation)
    for i, p in enumerate(planes):
        for j, q in enumerate(planes):
            lag = abs(int(q) - int(p))
            expected = 1.0 if lag == 0 else correlation[min(p, q), lag - 1] if lag <= 3 else 0.0
            assert matrix[i, j] == expected


def test_the_correlated_floor_is_what_correlated_noise_reads():
    # Noise correlated from plane to plane (lag 1: 0.5, as a smoothed cube's) reads more at the fringe's periods
    # (10-20 planes) than white noise of the same errors: the floor with the correlation is its median, the white
    # floor falls short (by ~sqrt(1 + 2 rho) = 1.4).
    spectrum, continuum = _spectrum(0.0)
    scored = spectrum.usable
    sigma, _, e = mrs_fringe_score.relative_residual(spectrum, scored, continuum)
    correlation = np.zeros((scored.size, 2))
    correlation[:-1, 0] = 0.5  # as _correlated's: rho at lag 1, 0 beyond
    floor = mrs_fringe_score.spectrum_floor(sigma, e, scored, correlation)
    white = mrs_fringe_score.noise_floor(sigma, e)
    reads = [mrs_fringe_score.fringe_amplitude(sigma, e * _correlated(e.size, 0.5, s), e) for s in range(40)]
    assert 0.85 < np.median(reads) / floor < 1.15
    assert white < 0.8 * floor


def test_the_x1d_carries_the_correlation_where_a_jwst_reader_still_reads_it(tmp_path):
    # plane_correlation is an array of the spec outside its table: the table's columns stay jwst's, the file opens
    # and validates without a warning, and the scorer reads the correlation back; a spec without it (a foreign x1d)
    # reads None (the white floor).
    n = 50
    correlation = np.random.default_rng(1).uniform(0, 0.6, (n, mrs_extract.CORRELATION_LAGS))
    spectrum = mrs_extract.MrsSpectrum(np.linspace(5, 5.5, n), np.ones(n), np.full(n, 0.01), np.zeros(n),
                                       np.zeros(n, np.uint32), np.ones(n), (0.0, 0.0), np.ones(n), 1.0, correlation)
    model = dm.MultiSpecModel()
    model.spec.append(mrs_spec2.spec_product(spectrum, "1A", calibrated=True))
    foreign = mrs_spec2.spec_product(spectrum, "2A", calibrated=True)
    del foreign.plane_correlation
    model.spec.append(foreign)
    path = tmp_path / "x_x1d.fits"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with dm.open(path) as read:
            read.validate()
            assert read.spec[0].spec_table.dtype.names == dm.SpecModel().get_dtype("spec_table").names
    with fits.open(path) as hdus:
        assert [h.name for h in hdus].count("EXTRACT1D") == 2
    found = mrs_score.plane_correlations(path)
    np.testing.assert_allclose(found["1A"], correlation, rtol=1e-6)  # float32 in the file
    assert found["2A"] is None
