"""The extraction's centroid (calibration.mrs_extract.centroid) on synthetic cubes: what its collapse weights."""
from types import SimpleNamespace

import numpy as np
import pytest

from miri_testbed.calibration import mrs_extract
from miri_testbed.calibration.cube_build import Axis, CubeGrid


def _cube(covered_planes):
    """A round Gaussian source on a spaxel centre, the same in every plane; spaxel rows above the source
    covered in only ``covered_planes`` of the 200 planes (slices that reach fewer wavelengths)."""
    grid = CubeGrid(alpha=Axis(-3.05, 0.1, 61), beta=Axis(-3.05, 0.1, 61), wavelength=Axis(20.0, 0.01, 200))
    beta, alpha = np.meshgrid(grid.beta.centres, grid.alpha.centres, indexing="ij")
    image = np.exp(-(alpha**2 + beta**2) / (2 * 0.4**2))
    data = np.broadcast_to(image, grid.shape).copy()
    coverage = np.ones(grid.shape)
    coverage[covered_planes:, beta > 0.25] = 0.0
    return SimpleNamespace(grid=grid, data=data, coverage=coverage)


@pytest.mark.parametrize("covered_planes", [200, 140, 101])
def test_the_centroid_does_not_weight_a_spaxel_by_the_planes_that_cover_it(covered_planes):
    # The source is at (0, 0) in every plane: the rows covered in fewer planes (at least half, so they are
    # used) hold the same light per plane, and the centroid stays on the source (a sum over the planes put it
    # 43 and 75 mas low in beta with 140 and 101 of 200 planes).
    alpha, beta = mrs_extract.centroid(_cube(covered_planes), target=(0.0, 0.0))
    assert abs(alpha) < 1e-4 and abs(beta) < 1e-4


def _two_sources(separation, ratio, sigma=0.15):
    """A 2A-like cube (8 um, 0.17" spaxels): the target at (0.05, 0.03)", another source ``ratio`` times as
    bright ``separation`` arcsec away along alpha; round Gaussians of ``sigma``."""
    grid = CubeGrid(alpha=Axis(-3.06, 0.17, 36), beta=Axis(-3.06, 0.17, 36), wavelength=Axis(7.5, 0.01, 50))
    beta, alpha = np.meshgrid(grid.beta.centres, grid.alpha.centres, indexing="ij")
    image = (np.exp(-((alpha - 0.05)**2 + (beta - 0.03)**2) / (2 * sigma**2))
             + ratio * np.exp(-((alpha - 0.05 - separation)**2 + (beta - 0.03)**2) / (2 * sigma**2)))
    return SimpleNamespace(grid=grid, data=np.broadcast_to(image, grid.shape).copy(), coverage=np.ones(grid.shape))


@pytest.mark.parametrize("separation, ratio", [(-1.2, 3.0), (1.2, 3.0), (1.0, 10.0), (2.0, 0.5)])
def test_a_neighbour_in_the_window_does_not_draw_the_centre_onto_itself(separation, ratio):
    # The window (4 lambda/D = 1.0" at 8 um) reaches the neighbour: before, its light pulled the
    # re-centred window onto it (1.05" off for 3x at 1.2", a walkthrough's 2A cube).  Only the spaxels
    # nearer the target's peak count: the neighbour's wing beyond the bisector is < 1e-3 of it here.
    alpha, beta = mrs_extract.centroid(_two_sources(separation, ratio), target=(0.0, 0.0))
    assert np.hypot(alpha - 0.05, beta - 0.03) < 0.005


def test_a_lone_source_has_no_neighbour():
    cube = _two_sources(1.2, 0.0)
    beta, alpha = np.meshgrid(cube.grid.beta.centres, cube.grid.alpha.centres, indexing="ij")
    image = cube.data[0] - np.median(cube.data[0])
    peak = np.unravel_index(np.argmax(image), image.shape)
    assert mrs_extract._own_side(image, alpha, beta, peak, 0.25).all()
