"""The dark subtraction and the saturation flagging, done over many integrations at once, are the frame-by-frame
computations, bit for bit.

:func:`calibration.dark.subtract_dark` subtracts a dark frame from all the integrations it serves in one
operation; :func:`calibration.saturation.flag_saturation` tests blocks of integrations and grows the flags by
shifted ORs.  Each is compared with the obvious loop over integrations and groups (scipy's binary dilation for
the neighbours), on inputs with several dark integrations, saturation at frame edges and in several blocks.
"""
import numpy as np
import pytest
from scipy.ndimage import binary_dilation

from miri_testbed.calibration import dark, saturation
from miri_testbed.instrument import dq


@pytest.mark.parametrize("ndark", [1, 2, 6])  # one dark integration; fewer than the exposure's; more
def test_dark_integration_i_is_the_dark_of_min_i_and_the_last(ndark):
    rng = np.random.default_rng(ndark)
    data = rng.normal(1000, 30, (4, 3, 5, 7)).astype(np.float32)
    frames = rng.normal(10, 2, (ndark, 5, 5, 7)).astype(">f4")  # more dark groups than ramp groups, as FITS reads
    expected = np.stack([data[i] - frames[min(i, ndark - 1), :3] for i in range(4)]).astype(np.float32)
    out = dark.subtract_dark(data, frames)
    assert out.dtype == np.float32 and out.tobytes() == expected.tobytes()
    dark.subtract_dark(data, frames, out=data)
    assert data.tobytes() == expected.tobytes()


def _flags_frame_by_frame(data, threshold, grow):
    """The obvious computation: per integration, the running OR over groups, each frame dilated by the 3 x 3."""
    flags = np.zeros(data.shape, np.uint8)
    for i in range(data.shape[0]):
        hit = np.zeros(threshold.shape, bool)
        for k in range(data.shape[1]):
            hit = hit | (data[i, k] >= threshold)
            grown = binary_dilation(hit, np.ones((3, 3), bool), iterations=grow) if grow and hit.any() else hit
            flags[i, k][grown] = dq.SATURATED | dq.DO_NOT_USE
    return flags


@pytest.mark.parametrize("grow", [0, 1, 2])
@pytest.mark.parametrize("block", [1, 6 * 8 * 9 * 2, 1 << 20])  # an integration at a time, 2, all
def test_blocked_saturation_is_the_frame_by_frame_flagging(monkeypatch, grow, block):
    monkeypatch.setattr(saturation, "BLOCK_SAMPLES", block)
    rng = np.random.default_rng(grow)
    data = rng.uniform(0, 100, (5, 6, 8, 9)).astype(np.float32)
    threshold = np.full((8, 9), 99.0)
    threshold[0, 0] = threshold[7, 8] = 30.0  # corners: growth stops at the frame's edges
    threshold[3, 4] = np.inf  # NO_SAT_CHECK
    data[2, 3, 4, 4] = np.nan
    data[4] = 0.0  # an integration without saturation
    groupdq = np.zeros(data.shape, np.uint8)
    groupdq[rng.random(data.shape) < 0.1] = dq.JUMP_DET  # flags already there are kept
    expected = groupdq | _flags_frame_by_frame(data, threshold, grow)
    assert np.count_nonzero(expected & dq.SATURATED) > 0
    out = saturation.flag_saturation(data, groupdq, threshold, grow=grow)
    assert np.array_equal(out, expected)
    saturation.flag_saturation(data, groupdq, threshold, grow=grow, out=groupdq)
    assert np.array_equal(groupdq, expected)
