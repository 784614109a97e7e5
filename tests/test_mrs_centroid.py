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
