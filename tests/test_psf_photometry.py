"""PSF-fitting photometry (catalog variant ``psf``), the PSF reference and the crowding scores."""
import shutil
import warnings

import numpy as np
import pytest
from astropy.table import Table
from hypothesis import given
from hypothesis import strategies as st
from photutils.psf import GriddedPSFModel, ImagePSF
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import image3, psf_photometry
from miri_testbed.calibration.catalog import Detections, aperture_fluxes, aperture_row
from miri_testbed.calibration.pipeline import calibrate_exposure
from miri_testbed.simulator import Observation, ReferenceOptions, epsf, psf, simulate
from miri_testbed.simulator.imager_references import aperture_corrections, write_psf_reference
from miri_testbed.validation import crowding

from helpers import history_of, simulate_and_calibrate, star_scene

FILTERS = ["F770W", "F1800W"]


def _aperture(filter_name):
    """The image3 aperture ``(radius, apcorr, skyin, skyout)`` of the filter's APCORR rows."""
    rows = Table(rows=[(filter_name, "GENERIC") + row for row in aperture_corrections(filter_name)],
                 names=("filter", "subarray", "eefraction", "radius", "apcorr", "skyin", "skyout"))
    return aperture_row(rows, filter_name, "SUB256", image3.EEFRACTION, image3.MIN_APERTURE_RADIUS)


def _psf_model(tmp_path, filter_name, kind):
    path = write_psf_reference(tmp_path, Observation(filter=filter_name), ReferenceOptions(kind=kind))["PSFGRID"]
    return GriddedPSFModel.read(path, format="webbpsf")


@given(filt=st.sampled_from(FILTERS), separation_fwhm=st.floats(1.0, 2.0), brightness=st.floats(1.0, 4.0),
       angle=st.floats(0, 2 * np.pi), phase=st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)))
def test_psf_photometry_recovers_a_blended_pair_that_apertures_cannot(tmp_path_factory, filt, separation_fwhm,
                                                                      brightness, angle, phase):
    """Two noise-free stars 1-2 FWHM apart, one up to 4 times the other, the truth's PSF as
    the reference: the PSF fit recovers both fluxes within 0.2 %, while the fainter
    star's aperture (the testbed's, its background from the sky annulus) is more than
    1 % too bright with its neighbour's light.  The fit starts 0.3 pixel off."""
    model = _psf_model(tmp_path_factory.mktemp("psf"), filt, "perfect")
    aperture = _aperture(filt)
    fwhm = psf.fwhm_pixels(filt)
    x = np.array([100.0 + phase[0], 100.0 + phase[0] + separation_fwhm * fwhm * np.cos(angle)])
    y = np.array([100.0 + phase[1], 100.0 + phase[1] + separation_fwhm * fwhm * np.sin(angle)])
    flux = np.array([1e4 * brightness, 1e4])
    sky, sigma = 10.0, 0.1
    image = np.full((201, 201), sky)
    for xi, yi, fi in zip(x, y, flux, strict=True):
        psf.add_point_source(image, xi, yi, fi, filt)
    det = Detections(image, np.zeros(image.shape, bool), sky, sigma, fwhm, x + 0.3, y - 0.3)
    err = np.full(image.shape, sigma)

    fx, fy, fitted, _ = psf_photometry.fit_sources(det, err, model, aperture)
    order = [int(np.argmin(np.hypot(fx - xi, fy - yi))) for xi, yi in zip(x, y, strict=True)]
    psf_ratio = fitted[order] * psf_photometry.model_aperture_flux(model, aperture) * aperture[1] / flux
    np.testing.assert_allclose(psf_ratio, 1.0, atol=2e-3)

    net, _ = aperture_fluxes(det, err, np.column_stack([x, y]), aperture)
    aperture_ratio = net * aperture[1] / flux
    assert aperture_ratio[1] > 1.01


def test_a_psf_model_is_tied_to_the_aperture_scale_whatever_its_normalisation(tmp_path):
    """model_aperture_flux scales with the model: a model twice as bright measures twice."""
    model = _psf_model(tmp_path, "F770W", "perfect")
    aperture = _aperture("F770W")
    single, doubled = (ImagePSF(k * model.data[0], oversampling=epsf.OVERSAMPLE) for k in (1, 2))
    assert psf_photometry.model_aperture_flux(doubled, aperture) == pytest.approx(
        2 * psf_photometry.model_aperture_flux(single, aperture), rel=1e-9)
    # The truth's model is normalised to the source's light: its aperture measurement is
    # what the APCORR reference divides out.
    assert psf_photometry.model_aperture_flux(model, aperture) * aperture[1] == pytest.approx(1.0, abs=5e-4)


def test_the_psf_on_some_pixels_is_the_whole_model_image_there_bit_for_bit(tmp_path):
    """The PSF evaluated on chosen pixels alone (``light_on_bad_pixels``) and stamps summed over
    their bounding box into an image (each group's part in ``fit_sources``) give the whole model
    image's values there, bit for bit, and nothing elsewhere; a source off the image adds nothing."""
    model = _psf_model(tmp_path, "F770W", "perfect")
    rng = np.random.default_rng(3)
    shape = (120, 140)
    x = np.append(rng.uniform(-20, 160, 6), -80.0)  # the last one's stamp misses the image
    y = np.append(rng.uniform(-20, 140, 6), 60.0)
    flux = rng.uniform(1, 100, 7)
    whole = psf_photometry.model_image(model, x, y, flux, shape)
    where = rng.random(shape) < 0.1
    on = psf_photometry.model_image(model, x, y, flux, shape, where)
    np.testing.assert_array_equal(on, np.where(where, whole, 0.0))
    assert np.count_nonzero(on) > 100
    base = rng.normal(size=shape)
    added = base.copy()
    psf_photometry._add_stamps(added, psf_photometry._stamps(model, x, y, flux, shape), where)
    np.testing.assert_array_equal(added, base + on)


def test_interlacing_a_dither_without_noise_gives_the_truth_epsf(monkeypatch):
    """The measurement procedure itself: without photon noise, sky or pointing scatter the
    interlaced phase images are exactly the truth's ePSF; with them (the reference a
    calibration programme delivers) they are not."""

    class Exact:
        def standard_normal(self, n):
            return np.zeros(n)

        def poisson(self, lam):
            return lam

    monkeypatch.setattr(epsf, "SKY_ELECTRONS", 0.0)
    monkeypatch.setattr(epsf, "REPEATS", 1)
    monkeypatch.setattr(epsf, "sigma_clipped_stats", lambda frame, sigma: (0.0, 0.0, 0.0))
    half = 12
    exact = epsf.interlace(epsf._phase_images("F770W", half, Exact()), half) / epsf.STAR_ELECTRONS
    truth = epsf.perfect("F770W")
    c, h = truth.shape[0] // 2, exact.shape[0] // 2
    np.testing.assert_allclose(exact, truth[c - h:c + h + 1, c - h:c + h + 1], rtol=0, atol=1e-12 * truth.max())


def test_the_measured_psf_reference_is_not_the_truth(tmp_path):
    """No inverse crime: the measured ePSF is close to the truth's but not it."""
    measured = _psf_model(tmp_path / "m", "F770W", "measured").data[0]
    truth = _psf_model(tmp_path / "p", "F770W", "perfect").data[0]
    c, h = truth.shape[0] // 2, measured.shape[0] // 2
    truth = truth[c - h:c + h + 1, c - h:c + h + 1]
    truth = truth * measured.sum() / truth.sum()
    core = np.abs(np.arange(-h, h + 1)) <= 8  # 2 pixels
    difference = np.abs(measured - truth)[np.ix_(core, core)].max() / truth.max()
    assert 1e-4 < difference < 0.05


@given(ratio=st.floats(0.1, 10.0), separation=st.integers(3, 12))
def test_contamination_of_a_pair_scales_with_the_flux_ratio(ratio, separation):
    """Two stars a whole number of pixels apart (the pair is point-symmetric on the pixel
    grid, as the PSF is): each one's contamination is the other's flux over its own times
    the same aperture overlap, so c1 / c2 = (F2 / F1)**2; a star alone has none."""
    x, y, flux = np.array([50.0, 50.0 + separation]), np.array([50.0, 50.0]), np.array([1.0, ratio])
    c = crowding.contamination(x, y, flux, "F1000W", 5.0, (101, 101))
    assert c[0] / c[1] == pytest.approx(ratio**2, rel=1e-4)
    assert crowding.contamination(x[:1], y[:1], flux[:1], "F1000W", 5.0, (101, 101))[0] == 0.0
    assert np.all(crowding.nearest_neighbour(x, y) == pytest.approx(separation))


def test_psf_photometry_without_a_psf_reference_measures_in_apertures_and_says_so(tmp_path):
    """catalog=psf on a reference folder without PSFGRID (real CRDS has none): the catalog
    is measured in apertures, the step record says aperture, and HISTORY says why; with
    the reference, the step record says psf."""
    obs = Observation(filter="F770W", subarray="SUB64", ngroups=5)
    sim = simulate(star_scene(obs, 2, n=2, flux=(0.5, 2.0), margin=14), obs, tmp_path / "sim", name="e", seed=2)
    with_psf = calibrate_exposure(sim["uncal"], sim["refs"], algorithms={"catalog": "psf"})
    assert with_psf["cat"].meta["steps"]["catalog"] == {"variant": "psf", "status": "COMPLETE"}
    refs = tmp_path / "refs"
    shutil.copytree(sim["refs"], refs)
    for path in refs.glob("*_psfgrid_*.fits"):
        path.unlink()
    without = calibrate_exposure(sim["uncal"], refs, algorithms={"catalog": "psf"})
    assert without["cat"].meta["steps"]["catalog"] == {"variant": "aperture", "status": "COMPLETE"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # stdatamodels: "history attribute will soon be deprecated"
        history = " ".join(history_of(without["cal"]))
    assert "catalog=psf: no PSFGRID reference in the folder; aperture photometry instead" in history


def test_a_star_saturated_from_group_two_keeps_its_cross_out_of_its_flux(tmp_path):
    """SUB256, 6 groups, 150-300 mJy at F770W: each core saturates by group 2, so it is NaN
    in the cal product and the PSF is fit on the wings, where the cross of the core's
    light lies (~10 % of the flux is in the F770W cross).  The catalog gives the core back
    the light of its fitted PSF before subtracting the cross again: every star within 4
    sigma of its true flux (exact references, so the error is the catalog's own), and
    HISTORY says so.  Before that second pass such stars came out 1-2 % too bright (FULL,
    F770W, > 12 mJy)."""
    obs = Observation(filter="F770W", subarray="SUB256", ngroups=6)
    sim, products, rows = simulate_and_calibrate(tmp_path, obs, star_scene(obs, 3, n=3, flux=(150.0, 300.0),
                                                                           background=5.0, separation=60),
                                                 seed=3, references=ReferenceOptions(kind="perfect"))
    cal = dm.open(products["cal"])
    assert (~np.isfinite(cal.data)).sum() >= 3 * 9  # every core (and its grown neighbours) is lost
    found = rows[rows.metric == "flux_ratio"]
    assert len(found) == 3
    pull = (found.value - 1) * found.snr / found.value  # snr = measured flux / its error
    assert np.all(np.abs(pull) < 4), pull
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        history = "".join(history_of(cal))  # entries are wrapped lines
    assert "saturated cores: their cross re-subtracted" in history
