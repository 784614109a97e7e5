"""The MRS throughput decay (simulator) and its flux calibration (PHOTOM reference, photom step).

The validation side of these tests reads the truth; the calibration does not.
"""
from dataclasses import replace

import numpy as np
import pytest

from miri_testbed.instrument.optics import T0_MJD
from miri_testbed.simulator import Effects, MrsObservation, Scene, SpectralSource, mrs_throughput
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator.sky import mid_time_mjd

FLAT = {"continuum": {"kind": "flat", "flux_mjy": 100.0}}
YEAR = 365.0


def _effects(decay):
    effects = Effects.noise_free()
    return replace(effects, optics=replace(effects.optics, throughput_decay=decay))


def _light(observation, decay):
    scene = Scene((SpectralSource(FLAT, 0.0, 0.0),), background_mjy_sr=20.0)
    light = smrs.illuminate(scene, observation, _effects(decay), np.random.default_rng(0))
    wavelength = next(c.data for c in light.components if c.name == "WAVELENGTH")
    return light.images[observation.detector], wavelength


def test_the_decay_scales_every_pixels_light_by_the_true_throughput_at_its_wavelength():
    observation = MrsObservation(detector="MIRIFULONG", band="LONG", ngroups=3, epoch_mjd=T0_MJD + 2 * YEAR)
    on, wavelength = _light(observation, True)
    off, _ = _light(observation, False)
    lit = off > 0
    expected = mrs_throughput.relative_throughput(wavelength[lit], mid_time_mjd(observation))
    np.testing.assert_allclose(on[lit] / off[lit], expected, rtol=1e-6)  # the truth map is float32
    assert np.all(on[~lit] == 0)


def test_before_t0_the_decay_changes_nothing():
    observation = MrsObservation(detector="MIRIFULONG", band="LONG", ngroups=3, epoch_mjd=T0_MJD - 10)
    assert np.array_equal(_light(observation, True)[0], _light(observation, False)[0])


def test_the_decay_has_the_documented_size():
    # params 5: a factor ~2 at 25 um over two years, ~50 % at 26 um after one, negligible in
    # channels 1-2, ~0.9 at 15 um; the truth is not the pipeline's power law (linear term).
    t = T0_MJD + np.array([YEAR, 2 * YEAR])
    assert mrs_throughput.relative_throughput(25.0, t[1]) == pytest.approx(0.5, abs=0.03)
    assert mrs_throughput.relative_throughput(26.0, t[0]) == pytest.approx(0.5, abs=0.03)
    assert mrs_throughput.relative_throughput(15.0, t[0]) == pytest.approx(0.9, abs=0.01)
    assert np.all(mrs_throughput.relative_throughput(np.array([5.0, 10.0]), t[1]) > 0.98)
    assert np.all(mrs_throughput.linear_part(25.0, t) < 1)
