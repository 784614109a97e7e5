"""Imager optics (issue 5): diffraction PSF, cruciform, throughput decay."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import cruciform as cal_cruciform
from miri_testbed.calibration.photom import time_correction
from miri_testbed.instrument import imager
from miri_testbed.simulator import Effects, Observation, ReferenceOptions, Scene, cruciform, psf, throughput

from helpers import simulate_and_calibrate


def test_pupil_has_the_jwst_collecting_area():
    trans, dx = psf.pupil()
    area = trans.sum() * dx**2
    # 18 hexagons of 1.32 m flat to flat are 27.2 m^2; struts and the secondary take ~1 m^2.
    assert 25.0 < area < 27.2
    assert trans.max() == 1.0 and trans[trans.shape[0] // 2, trans.shape[1] // 2] == 0.0  # empty centre


@pytest.mark.parametrize("filt", ["F560W", "F770W"])
def test_fitted_blur_matches_the_flight_fwhm(filt):
    info = psf.oversampled(filt)[1]
    assert info["fwhm_arcsec"] == pytest.approx(imager.imager_filter(filt).psf_fwhm_arcsec, rel=0.01)
    assert info["blur_sigma_arcsec"] > 0


@pytest.mark.parametrize("filt", ["F1000W", "F2550W"])
def test_long_wavelengths_are_diffraction_limited_near_the_flight_fwhm(filt):
    """Diffraction alone is already at (slightly above) the flight FWHM: no blur, within 6 %."""
    info = psf.oversampled(filt)[1]
    target = imager.imager_filter(filt).psf_fwhm_arcsec
    assert info["blur_sigma_arcsec"] == 0.0
    assert target <= info["fwhm_arcsec"] < 1.06 * target


@given(dx=st.floats(-0.5, 0.5), dy=st.floats(-0.5, 0.5))
@settings(max_examples=8, phases=[Phase.explicit, Phase.reuse, Phase.generate])
def test_subpixel_placement_keeps_flux_and_moves_the_centroid(dx, dy):
    centred = psf.stamp("F770W")
    shifted = psf.stamp("F770W", dx, dy)
    assert shifted.sum() == pytest.approx(centred.sum(), rel=2e-3)
    n = shifted.shape[0]
    yy, xx = np.indices(shifted.shape) - n // 2
    inner = np.hypot(xx, yy) < 20
    cx = (shifted * xx)[inner].sum() / shifted[inner].sum() - (centred * xx)[inner].sum() / centred[inner].sum()
    cy = (shifted * yy)[inner].sum() / shifted[inner].sum() - (centred * yy)[inner].sum() / centred[inner].sum()
    assert cx == pytest.approx(dx, abs=0.02) and cy == pytest.approx(dy, abs=0.02)


def test_psf_cache_is_keyed_by_the_parameters(monkeypatch):
    psf.oversampled("F560W")
    files = sorted(psf.cache_dir().glob("psf_f560w_*.npz"))
    assert len(files) == 1
    psf.oversampled.cache_clear()
    again, _ = psf.oversampled("F560W")  # from disk
    assert sorted(psf.cache_dir().glob("psf_f560w_*.npz")) == files
    monkeypatch.setattr(psf, "STRUT_WIDTH_M", 0.2)
    assert psf._params("F560W") != psf._params("F1000W")
    import hashlib
    import json
    key = hashlib.sha256(json.dumps(psf._params("F560W"), sort_keys=True).encode()).hexdigest()[:16]
    assert key not in files[0].name  # another strut width is another cache file
    psf.oversampled.cache_clear()


def test_cross_fraction_and_its_fading_with_wavelength():
    assert cruciform.cross_fraction("F560W") == pytest.approx(0.088, abs=0.002)
    assert cruciform.cross_fraction("F770W") == pytest.approx(0.075, abs=0.002)
    assert 0 < cruciform.cross_fraction("F1130W") < cruciform.cross_fraction("F1000W") < cruciform.cross_fraction(
        "F770W")
    assert cruciform.cross_fraction("F1280W") == 0.0 and cruciform.cross_fraction("F2550W") == 0.0


def test_cross_conserves_light_is_absent_from_the_core_and_lies_along_rows_and_columns():
    image = np.zeros((801, 801))
    image[400, 400] = 1.0
    out = cruciform.apply(image, "F560W")
    assert out.sum() == pytest.approx(1.0, rel=1e-3)  # the kernel's 8 e-foldings fit in the frame
    assert abs(out[400, 401]) < 1e-15 and abs(out[402, 400]) < 1e-15  # |x| < 3 px: no cross
    assert out[400, 403] > 0 and out[450, 400] > 0 and out[450, 450] == pytest.approx(0.0, abs=1e-15)


def test_calibration_subtraction_inverts_the_forward_cross():
    rng = np.random.default_rng(3)
    image = np.zeros((256, 256))
    for x, y in rng.uniform(30, 226, (5, 2)):
        psf.add_point_source(image, x, y, 1000.0, "F560W")
    image += 2.0
    observed = cruciform.apply(image, "F560W")
    a, s = cruciform.kernel_parameters("F560W")
    recovered = cal_cruciform.subtract_cross(observed, (a, s, cruciform.CORE_GAP_PIX))
    inner = np.s_[40:-40, 40:-40]  # near the edges light scattered off the array is lost
    np.testing.assert_allclose(recovered[inner], image[inner], atol=2e-3 * image.max())


@given(filt=st.sampled_from(list(imager.FILTERS)), dt=st.floats(0, 3650))
def test_perfect_photom_time_table_is_exact_for_any_epoch(filt, dt):
    model = dm.MirImgPhotomModel(phot_table=np.array([(filt, "FULL", 1.0, 0.0)], dtype=[
        ("filter", "S12"), ("subarray", "S17"), ("photmjsr", "f4"), ("uncertainty", "f4")]))
    for key, table in throughput.time_tables(["FULL"]).items():
        setattr(model, key, table)
    t = throughput.T0_MJD + dt
    assert time_correction(model, filt, "FULL", t) == pytest.approx(float(throughput.relative_throughput(filt, t)),
                                                                     rel=2e-6)


def test_loss_after_one_year_is_the_stated_one():
    for name in imager.FILTERS:
        t = throughput.T0_MJD + 365.0
        assert 1 - throughput.relative_throughput(name, t) == pytest.approx(throughput.loss_after_one_year(name),
                                                                            abs=1e-12)
    assert throughput.loss_after_one_year("F2550W") == 0.21 and throughput.loss_after_one_year("F560W") == 0.0


def test_measured_decay_fit_is_close_but_not_the_truth():
    """The monitoring fit has the exponential form only; the truth has a slow linear term
    too, so the measured correction is close (< 0.5 %) over three years, not exact."""
    rng = np.random.default_rng(1)
    fitted = throughput.fitted_decay("F2550W", rng)
    t = throughput.T0_MJD + np.linspace(0, 1100, 50)
    model = fitted[1] * np.exp(-(t - fitted[0]) / fitted[2]) + fitted[3]
    error = model / throughput.relative_throughput("F2550W", t) - 1
    assert np.abs(error).max() < 5e-3 and np.abs(error).max() > 2e-4


@pytest.mark.slow
@given(filt=st.sampled_from(["F560W", "F1500W", "F2550W"]), dt=st.floats(1, 1100), seed=st.integers(0, 2**31))
@settings(max_examples=3, phases=[Phase.explicit, Phase.reuse, Phase.generate])
def test_noise_free_throughput_correction_is_exact_for_any_epoch(tmp_path_factory, filt, dt, seed):
    """The same noise-free exposure of a uniform sky (same seed: same pixels) at t0 and at
    any later epoch of the decay, perfect references: the calibrated images agree to
    float32 precision although the detected light differs by up to 21 %."""
    obs0 = Observation(filter=filt, subarray="SUB64", ngroups=3, epoch_mjd=throughput.T0_MJD)
    noise_free = Effects.noise_free()
    effects = replace(noise_free, optics=replace(noise_free.optics, throughput_decay=True))
    images, rates = [], []
    for obs in (obs0, replace(obs0, epoch_mjd=throughput.T0_MJD + dt)):
        _, products, _ = simulate_and_calibrate(tmp_path_factory.mktemp("decay"), obs, Scene((), 25.0), seed,
                                                effects=effects, references=ReferenceOptions(kind="perfect"))
        with dm.open(products["cal"]) as cal, dm.open(products["rate"]) as rate:
            images.append(cal.data.copy())
            rates.append(rate.data.copy())
    lit = np.isfinite(images[0]) & (rates[0] > 0)
    assert lit.sum() > 3000
    q = rates[1][lit].astype(float) / rates[0][lit]
    loss = 1 - np.median(q)
    assert loss == pytest.approx(1 - float(throughput.relative_throughput(filt, obs0.epoch_mjd + dt)), abs=1e-5)
    np.testing.assert_allclose(images[1][lit], images[0][lit], rtol=2e-6)
