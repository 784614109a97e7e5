"""The MRS as a simulator mode: flux conservation, true wavelengths, slices, the uncal and its truth."""
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import imager, mrs
from miri_testbed.simulator import (
    Effects,
    MrsEffects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    simulate,
)
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator.spectra import spectrum_from_dict
from miri_testbed.simulator.truth import read_truth

LINE_UM = {"1A": 5.3, "2A": 8.1}


def _line_spectrum(*centres, continuum_mjy=0.0):
    return {"continuum": {"kind": "flat", "flux_mjy": continuum_mjy},
            "lines": [{"kind": "emission", "centre_um": c, "flux_w_m2": 1e-16} for c in centres]}


def _effects(**mrs_fields):
    return replace(Effects.noise_free(), mrs=MrsEffects(**mrs_fields))


@cache
def _light(along=0.0, across=0.0, geometry_perturbation=False, wavelength_kms=3.0, spatial_mas=3.0, seed=1):
    scene = Scene((SpectralSource(_line_spectrum(*LINE_UM.values()), along, across),))
    effects = _effects(geometry_perturbation=geometry_perturbation, wavelength_kms=wavelength_kms,
                       spatial_mas=spatial_mas)
    return smrs.illuminate(scene, MrsObservation(ngroups=3), effects, np.random.default_rng(seed))


def _component(light, name):
    return next(c.data for c in light.components if c.name == name)


@pytest.mark.parametrize("along, across", [(0.0, 0.0), (0.4, 0.3), (-0.6, -0.5)])
def test_noise_free_electrons_are_the_lines_photons_through_the_efficiency_less_the_light_off_the_slices(along,
                                                                                                          across):
    # Each band's electrons = A eta photons x (PSF light inside the slices' strips and SIAF
    # lengths).  Bound 0.2 %: the slice map holds whole pixels whose centres are inside, so
    # its ends differ from the SIAF's by up to half a pixel where the PSF's far wings are
    # (measured 0.01-0.06 % for sources > 1" from a slice end).
    light = _light(along, across)
    image = light.images["MIRIFUSHORT"]
    sources = _component(light, "SOURCES")
    for name, centre in LINE_UM.items():
        row = sources[sources["band"] == name][0]
        line = spectrum_from_dict(_line_spectrum(centre)).emission[0]
        electrons = image[mrs.band_map(name).slice > 0].sum()
        expected = imager.COLLECTING_AREA_M2 * smrs.EFFICIENCY[int(name[0])] * line.photons
        fraction = smrs.light_in_slices(name, centre, float(row["alpha"]), float(row["beta"]))
        assert 0.8 < fraction < 1
        assert electrons / (expected * fraction) == pytest.approx(1, abs=2e-3), name


def test_the_line_spread_function_conserves_a_continuum_with_absorption():
    # One detector column's pixels tile its wavelengths; after the LSF their photons sum to the
    # spectrum's over the column, up to what the LSF carries across its two ends (a few 1e-5
    # of a smooth continuum).
    spectrum = spectrum_from_dict({"continuum": {"kind": "blackbody", "temperature_k": 800.0, "flux_mjy": 50.0,
                                                 "ref_um": 7.0},
                                   "lines": [{"kind": "absorption", "centre_um": 5.2, "tau": 1.5, "fwhm_um": 0.01}]})
    pixels = smrs.flight_pixels("1A")
    column = (pixels.slice == 111) & (pixels.x == int(np.median(pixels.x[pixels.slice == 111])))
    lo, hi = pixels.lam_lo[column], pixels.lam_hi[column]
    total = smrs.pixel_photons(spectrum, lo, hi).sum()
    assert total == pytest.approx(spectrum.photons_in_bins([lo.min(), hi.max()])[0], rel=1e-4)
    # the absorption line is smoothed (shallower, as wide as the LSF) but keeps its photons' deficit
    wide = smrs.pixel_photons(spectrum, lo, hi) / (hi - lo)
    exact = spectrum.photons_in_bins(np.r_[lo, hi[-1]])[np.argsort(lo)] / (hi - lo)
    assert wide.min() > exact.min()


def test_an_emission_line_lands_where_the_true_geometry_puts_its_wavelength():
    # A 60 km/s rms perturbation (about a pixel in 1A) separates the true rows from the flight
    # ones: in the middle column of each slice that sees the source, the line's centroid
    # along y lies within 0.1 px of the row where the TRUE wavelength map reaches the line
    # (the flight row being more than 0.5 px away somewhere, so the test tells them apart).
    light = _light(geometry_perturbation=True, wavelength_kms=60.0, spatial_mas=3.0, seed=4)
    continuum_free = light.images["MIRIFUSHORT"]
    true_lambda = _component(light, "WAVELENGTH")
    slices = _component(light, "SLICE")
    separations = []
    for name, centre in LINE_UM.items():
        flight = mrs.band_map(name)
        for slice_id in mrs.band(name).slices:
            on = slices == slice_id
            if continuum_free[on].sum() < 0.02 * continuum_free[mrs.band_map(name).slice > 0].sum():
                continue
            ys, xs = np.nonzero(on)
            column = int(np.median(xs))
            rows = np.flatnonzero(on[:, column])
            order = np.argsort(true_lambda[rows, column])  # wavelength runs either way along the rows
            true_row = np.interp(centre, true_lambda[rows, column][order], rows[order])
            flight_row = np.interp(centre, flight.wavelength[rows, column][order], rows[order])
            near = rows[np.abs(rows - true_row) <= 8]
            profile = continuum_free[near, column]
            centroid = np.sum(profile * near) / profile.sum()
            assert abs(centroid - true_row) < 0.1, (name, slice_id, centroid, true_row)
            separations.append(abs(centroid - flight_row))
    assert len(separations) >= 4 and max(separations) > 0.5


def test_without_the_perturbation_the_truth_is_the_flight_geometry():
    light = _light()
    for name in LINE_UM:
        flight = mrs.band_map(name)
        lit = flight.slice > 0
        np.testing.assert_array_equal(_component(light, "SLICE")[lit], flight.slice[lit])
        for key, array in (("WAVELENGTH", flight.wavelength), ("ALPHA", flight.alpha), ("BETA", flight.beta)):
            np.testing.assert_array_equal(_component(light, key)[lit], array[lit].astype(np.float32))


def test_a_perturbation_of_zero_size_changes_nothing():
    np.testing.assert_array_equal(_light(geometry_perturbation=True, wavelength_kms=0.0, spatial_mas=0.0).images[
        "MIRIFUSHORT"], _light().images["MIRIFUSHORT"])
    perturbed = _light(geometry_perturbation=True)
    assert not np.array_equal(perturbed.images["MIRIFUSHORT"], _light().images["MIRIFUSHORT"])
    table = _component(perturbed, "PERTURBATION")
    velocity = smrs.perturbations_from_table(table)["1A"].velocity(np.linspace(*mrs.band("1A").wavelength_range, 50))
    assert 0 < np.sqrt(np.mean(velocity**2)) < 10  # km/s: a few, under the flight calibration's 9-27


def test_a_source_offset_by_one_slice_in_beta_moves_its_light_to_the_next_slice():
    def brightest(light, name):
        image, slices = light.images["MIRIFUSHORT"], mrs.band_map(name).slice
        ids = np.array(mrs.band(name).slices)
        return ids[np.argmax([image[slices == s].sum() for s in ids])]

    step = mrs.band("1A").beta_del
    here, there = _light(0.0, 0.0), _light(0.0, step)
    assert brightest(there, "1A") == brightest(here, "1A") + 1


def test_the_uncal_is_an_mrs_ramp_model_with_its_keywords_and_truth(tmp_path):
    observation = MrsObservation(detector="MIRIFULONG", band="MEDIUM", ngroups=3, dither_points=4,
                                 dither_position=2, dither_channel=3)
    scene = Scene((SpectralSource(_line_spectrum(14.5, 21.0, continuum_mjy=5.0)),), background_mjy_sr=5.0)
    out = simulate(scene, observation, tmp_path, seed=3, references=ReferenceOptions(kind="perfect"))
    with dm.RampModel(str(out["uncal"])) as model:
        assert model.data.shape == (1, 3, 1024, 1032)
        assert model.meta.exposure.type == "MIR_MRS"
        assert model.meta.instrument.detector == "MIRIFULONG"
        assert model.meta.instrument.channel == "34"
        assert model.meta.instrument.band == "MEDIUM"
        assert model.meta.subarray.name == "FULL"
        assert (model.meta.dither.position_number, model.meta.dither.total_points) == (2, 4)
        assert model.meta.dither.primary_type == "4-POINT" and model.meta.dither.optimized_for == "POINT-SOURCE"
    truth = read_truth(out["truth"])
    wavelength = truth.image("WAVELENGTH", "MIRIFULONG")
    lit = truth.image("SLICE", "MIRIFULONG") > 0
    assert set(np.unique(truth.image("SLICE", "MIRIFULONG")[lit]) // 100) == {3, 4}
    assert np.nanmin(wavelength) > mrs.band("3B").wavelength_range[0]
    assert set(truth.table("SOURCES", "MIRIFULONG")["band"]) == {"3B", "4B"}
    assert len(truth.table("LINES")) == 2
    # The perfect references are the TRUE geometry, read as jwst reads them: forward models at
    # lit pixels (called as instrument.mrs calls them) give the truth's alpha and wavelength, the inverse
    # ones come back to the pixel.
    alpha_truth = truth.image("ALPHA", "MIRIFULONG")
    slices = truth.image("SLICE", "MIRIFULONG")
    with dm.DistortionMRSModel(str(out["reference_files"]["DISTORTION"])) as dist, \
            dm.SpecwcsModel(str(out["reference_files"]["SPECWCS"])) as spec:
        assert dist.meta.instrument.channel == "34" and dist.meta.instrument.band == "MEDIUM"
        for k in (3, 20):
            ys, xs = np.nonzero(slices == dist.slices[k])
            y, x = ys[::97], xs[::97]
            np.testing.assert_allclose(dist.alpha_model[k](y, x), alpha_truth[y, x], atol=1e-5)
            np.testing.assert_allclose(spec.model[k](y, x), wavelength[y, x], rtol=1e-7)
            back_x = dist.x_model[k](wavelength[y, x].astype(float), alpha_truth[y, x].astype(float))
            assert np.max(np.abs(back_x - x)) < 0.5


def test_bad_mrs_observations_are_refused():
    for bad, message in ((dict(detector="MIRIMAGE"), "MIRIFUSHORT or MIRIFULONG"), (dict(band="A"), "grating"),
                         (dict(dither_points=3), "dither_points"), (dict(dither_points=2, dither_position=3),
                                                                    "dither_position")):
        with pytest.raises(ValueError, match=message):
            MrsObservation(**bad)



@pytest.mark.parametrize("band", ["1B", "3A", "4C"])
def test_a_band_s_psf_is_the_sky_s_psf_seen_through_the_band_s_frame(band, monkeypatch):
    """The band's PSF at offsets u is the sky's (the pupil in its own axes, the same blur) at A u, per sample times
    |det A|, A the flight transform's Jacobian (V2 flipped): a band's PSF is turned as the DISTORTION turns the sky
    (until session 30 the other way, A^T u), and channels 3-4's alpha is 0.95-0.96 of the sky's arcsec.  Read over
    2-5 lambda/D, where the pattern is not round; the pupil's own sampling, turned, leaves ~0.3 % there."""
    from scipy import ndimage

    frame = smrs.psf_frame(band)
    scale = np.hypot(*frame[:, 0])
    assert (0.94 < scale < 0.97) if band[0] in "34" else scale == pytest.approx(1.0, abs=1e-6)
    wavelength = float(np.mean(mrs.band(band).wavelength_range))
    image = smrs.psf_image(band, wavelength)
    with monkeypatch.context() as patch:
        patch.setattr(smrs, "psf_frame", lambda name: np.eye(2))
        sky = smrs.psf_image.__wrapped__(band, wavelength)
    centre = (smrs.PSF_SAMPLES - 1) / 2
    beta, alpha = np.indices(image.shape) - centre  # offsets in samples
    radius = np.hypot(alpha, beta) * smrs.psf_sample_arcsec(band) / mrs.lambda_over_d(wavelength)
    ring = (radius >= 2) & (radius < 5)

    def misfit(matrix):
        at_alpha, at_beta = matrix @ np.stack([alpha[ring], beta[ring]])
        expected = ndimage.map_coordinates(sky, [at_beta + centre, at_alpha + centre], order=3)
        return np.sqrt(np.mean((image[ring] - expected * abs(np.linalg.det(frame))) ** 2 / np.mean(image[ring] ** 2)))

    assert misfit(frame) < 1e-2
    assert misfit(frame.T) > 0.1
