"""The testbed's MRS wavelength calibration (simulator.mrs_wavecal): a SPECWCS measured from a line source."""
import numpy as np
import pytest

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import mrs
from miri_testbed.simulator import MrsEffects, MrsObservation, ReferenceOptions, lrs_wavecal, mrs_wavecal
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator.mrs import C_KMS

# 40-60 s on 2 cores (MRS references written and read): in the slow stage (pytest -m slow)
pytestmark = pytest.mark.slow

OBSERVATION = MrsObservation(detector="MIRIFUSHORT", band="SHORT")


def _perturbations(effects, seed):
    rng = np.random.default_rng(seed)
    return {name: smrs.draw_perturbation(name, effects, rng) for name in OBSERVATION.bands}, rng


def test_the_measured_specwcs_removes_the_flight_files_wavelength_error(tmp_path):
    """The truth is flight plus a 3 km/s rms cubic per band: the measured SPECWCS written by
    write_geometry, read as jwst reads it (models taken from the closed file, slice k's at (y, x))
    at lit pixels of every slice, is off the truth by well under the flight files' error, and
    the DISTORTION's inverse brings the true wavelength back to the pixel."""
    perturbations, rng = _perturbations(MrsEffects(), 1)
    paths = smrs.write_geometry(tmp_path, OBSERVATION, perturbations, ReferenceOptions(), rng)
    with smrs.dm.DistortionMRSModel(str(paths["DISTORTION"])) as model:
        slices, y_model = list(model.slices), list(model.y_model)
    with smrs.dm.SpecwcsModel(str(paths["SPECWCS"])) as model:
        lambda_model = list(model.model)
    for name in OBSERVATION.bands:
        truth = smrs.TruePixels(smrs.flight_pixels(name), perturbations[name])
        f = truth.flight
        sample = np.arange(0, len(f.x), 53)
        measured, true = np.empty(len(sample)), truth.wavelength[sample]
        back, back_flight = np.empty(len(sample)), np.empty(len(sample))
        for k, slice_id in enumerate(slices):
            on = f.slice[sample] == slice_id
            if np.any(on):
                y, x = f.y[sample][on], f.x[sample][on]
                measured[on] = lambda_model[k](y, x)
                back[on] = y_model[k](true[on], f.alpha[sample][on]) - y
                back_flight[on] = mrs.band(name).to_detector(f.alpha[sample][on], f.wavelength[sample][on],
                                                             slice_id)[1] - y
        error_kms = C_KMS * (measured / true - 1)
        flight_kms = C_KMS * (f.wavelength[sample] / true - 1)
        rms = [np.sqrt(np.mean(e**2)) for e in (error_kms, flight_kms)]
        assert rms[0] < 0.5 and rms[0] < rms[1] / 10, (name, rms)
        # the inverse polynomials' own error (a few hundredths of a row) plus the measurement's
        assert np.max(np.abs(back)) < np.max(np.abs(back_flight)) + 0.01


def test_without_a_perturbation_the_measurement_is_the_flight_geometry():
    """No perturbation, a very long exposure (noise negligible): the measured correction is the fits' own
    bias, a small fraction of the 2 km/s of MRS-WAVE-1 at every lit pixel."""
    perturbations, rng = _perturbations(MrsEffects(geometry_perturbation=False), 0)
    velocities = smrs.measured_velocities(OBSERVATION, perturbations, ReferenceOptions(wavecal_exposure_s=1e7), rng)
    for name in OBSERVATION.bands:
        assert np.max(np.abs(velocities[name](smrs.flight_pixels(name).wavelength))) < 0.05


def test_an_exposure_without_lines_is_refused_naming_the_band():
    rng = np.random.default_rng(0)
    dark = lrs_wavecal.observe(np.zeros((det.FULL_NY, det.FULL_NX)), 1000.0, rng)
    spectrum = mrs_wavecal.comb("1A", smrs.resolving_power, smrs._resolution_coordinate)
    with pytest.raises(RuntimeError, match="MRS wavelength calibration of band 1A: .* line rows measured"):
        mrs_wavecal.measured_velocity("1A", dark, mrs.band_map("1A"), spectrum, 1.7)


@pytest.mark.parametrize("detector, setting", [("MIRIFUSHORT", "SHORT"), ("MIRIFULONG", "LONG")])
def test_the_raster_measures_each_bands_spatial_offset(detector, setting):
    """A 30 mas shift of one band and a zero one of the other come back from the raster's centroids
    within 2 mas (the 16 pointing errors' mean, 0.5 mas rms, and the S-curve left by 4 phases):
    the measurement follows the truth, not the flight files."""
    observation = MrsObservation(detector=detector, band=setting)
    first, second = observation.bands
    perturbations = {first: smrs.Perturbation(first, (0.0,), 0.030, -0.030),
                     second: smrs.Perturbation(second, (0.0,), 0.0, 0.0)}
    offsets = smrs.raster_offsets(observation, perturbations, np.random.default_rng(5))
    np.testing.assert_allclose(offsets[first], [0.030, -0.030], atol=0.002)
    np.testing.assert_allclose(offsets[second], [0.0, 0.0], atol=0.002)


def test_the_measured_distortion_carries_the_raster_offset(tmp_path):
    """The measured DISTORTION's alpha and beta at a lit pixel are the flight ones moved by the offset
    the raster measured (within 2 mas of the truth's), as jwst's assign_wcs reads them."""
    from stdatamodels.jwst import datamodels as dm

    observation = MrsObservation(detector="MIRIFUSHORT", band="SHORT")
    rng = np.random.default_rng(3)
    perturbations = {name: smrs.draw_perturbation(name, MrsEffects(spatial_mas=20.0), rng)
                     for name in observation.bands}
    paths = smrs.write_geometry(tmp_path, observation, perturbations, ReferenceOptions(), np.random.default_rng(4))
    flight = mrs.band("1A")
    slice_id = flight.slices[5]
    y = 512.0
    x = float(np.median(np.nonzero(mrs.band_map("1A").slice[512] == slice_id)[0]))
    with dm.DistortionMRSModel(str(paths["DISTORTION"])) as distortion:
        k = list(distortion.slices).index(slice_id)
        alpha = float(distortion.alpha_model[k](y, x))
        beta = float(distortion.beta_model[k](0.0))
    true = perturbations["1A"]
    assert abs(alpha - (flight.to_sky(x, y, slice_id)[0] + true.d_alpha)) < 0.002
    assert abs(beta - (flight.beta[5] + true.d_beta)) < 0.002
