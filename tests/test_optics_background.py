"""Backgrounds (issue 5): the simulator's placeholders and the 2-D background variant."""
import numpy as np
import pytest

from miri_testbed.calibration import background as cal_background
from miri_testbed.simulator import Observation, background, psf


def test_zodiacal_dominates_short_and_thermal_long_wavelengths():
    assert background.zodiacal_mjy_sr("F770W") > 100 * background.thermal_mjy_sr("F770W")
    assert background.thermal_mjy_sr("F2550W") > 2 * background.zodiacal_mjy_sr("F2550W")
    levels = [background.model_mjy_sr(f) for f in ("F560W", "F1000W", "F1500W", "F2100W", "F2550W")]
    assert levels == sorted(levels)


def test_lyot_box_is_in_the_full_frame_only_at_top_left():
    full = background.lyot_mask(Observation(subarray="FULL"))
    assert full[1000, 100] and not full[100, 100] and not full[1000, 600]
    assert not background.lyot_mask(Observation(subarray="SUB256")).any()


def test_map_variant_removes_a_step_and_a_gradient_and_keeps_the_stars():
    rng = np.random.default_rng(7)
    ny, nx = 256, 256
    yy, xx = np.mgrid[:ny, :nx]
    sky = 10.0 + 0.01 * xx + 0.5 * (yy > 128)  # gradient and a 5 % step
    image = sky + 0.05 * rng.standard_normal((ny, nx))
    stars = np.zeros((ny, nx))
    for x, y in rng.uniform(30, 226, (8, 2)):
        psf.add_point_source(stars, x, y, 200.0, "F1000W")
    error = (image + stars) - cal_background.subtract_map(image + stars) - sky  # the map minus the true sky
    inner = np.s_[20:-20, 20:-20]
    far = np.abs(yy - 128) > 56  # the step is smoothed over the 3 x 3 filter of 32-px boxes
    assert np.median(np.abs(error[inner][far[inner]])) < 0.02  # 0.2 % of the sky, 4 % of the step
    assert np.median(error[inner]) == pytest.approx(0.0, abs=0.005)
    assert np.median(np.abs((sky - np.median(sky))[inner])) > 0.3  # what a constant would leave
