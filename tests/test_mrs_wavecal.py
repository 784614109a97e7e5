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
