"""The MRS APCORR reference (simulator side): its encircled energy, the cube's kernel and the measured table's error.

The calibration side (the correction applied, the Airy fallback, bad files refused) is in
tests/test_mrs_photom.py, on that module's noise-free exposure.
"""
import numpy as np
import pytest

from miri_testbed.instrument import mrs
from miri_testbed.simulator import ReferenceOptions, mrs_apcorr
from miri_testbed.simulator import mrs as smrs


def _gaussian(sigma, sample, n=201):
    c = (np.arange(n) - (n - 1) / 2) * sample
    image = np.exp(-(c[:, None] ** 2 + c[None, :] ** 2) / (2 * sigma**2))
    return image / image.sum()


def test_the_encircled_share_of_a_gaussian_is_the_analytic_one():
    # E(r) = 1 - exp(-r^2 / 2 sigma^2) within 1e-3 (whole samples inside r: measured 7e-4 at r = sigma)
    # at radii of 20-60 samples, as the extraction's 3 lambda/D is 22 samples of beta_del / 8 in channel 1.
    sample, sigma = 0.01, 0.2
    radii = sigma * np.array([1.0, 2.0, 3.0])
    shares = mrs_apcorr.encircled(_gaussian(sigma, sample, n=401), sample, radii)
    np.testing.assert_allclose(shares, 1 - np.exp(-radii**2 / (2 * sigma**2)), atol=1e-3)


def test_the_cube_kernel_keeps_the_light_and_widens_by_the_box():
    # A box of width w conserves the light and adds w^2 / 12 to the variance (fractional ends included).
    sample, sigma, width = 0.01, 0.05, 0.137
    image = _gaussian(sigma, sample)
    boxed = mrs_apcorr._box(image, width, sample, axis=1)
    c = (np.arange(image.shape[0]) - (image.shape[0] - 1) / 2) * sample
    variance = lambda im: np.sum(im.sum(axis=0) * c**2) / im.sum()  # noqa: E731
    assert boxed.sum() == pytest.approx(1, abs=1e-12)
    assert variance(boxed) - variance(image) == pytest.approx(width**2 / 12, rel=0.02)


def test_the_measured_table_is_the_perfect_one_with_a_smooth_error_of_its_size():
    options = ReferenceOptions(apcorr_error=0.003)
    perfect = mrs_apcorr.apcorr_model(("4C",), "34", "LONG", ReferenceOptions(kind="perfect"), None).apcorr_table
    measured = mrs_apcorr.apcorr_model(("4C",), "34", "LONG", options, np.random.default_rng(4)).apcorr_table
    wavelength = np.asarray(perfect.wavelength)
    assert np.all(np.diff(wavelength) > 0) and np.array_equal(wavelength, smrs.psf_nodes("4C").astype(np.float32))
    ld = mrs.lambda_over_d(wavelength)
    np.testing.assert_allclose(perfect.radius, np.outer(mrs_apcorr.RADII_LD, ld), rtol=1e-6)
    ratio = np.asarray(measured.apcorr) / np.asarray(perfect.apcorr)
    assert np.allclose(ratio, ratio[0], rtol=1e-6)  # one error per wavelength, the same at every radius
    assert 0 < np.max(np.abs(ratio - 1)) < 5 * 2 * options.apcorr_error
    assert np.all(np.asarray(perfect.apcorr) > 1) and np.all(np.asarray(perfect.apcorr_err) == 0)
    np.testing.assert_allclose(measured.apcorr_err, np.asarray(measured.apcorr) * options.apcorr_error, rtol=1e-6)
