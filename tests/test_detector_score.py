"""The Cramer-Rao bounds the detector scores divide by."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from miri_testbed.validation.detector_score import crb_variance, crb_variance_with_steps, used_groups

TG, RN, GAIN = 2.77504, 6.0 / np.sqrt(2.0), 4.0


@given(ngroups=st.integers(5, 60), rate=st.floats(0.0, 1e4))
def test_without_steps_the_bound_is_that_of_an_uninterrupted_ramp(ngroups, rate):
    rates = np.array([rate])
    steps = np.zeros((1, ngroups), bool)
    steps[0, :2] = True  # arrivals up to the first used group are only an offset
    steps[0, -1] = True  # and one in the dropped last group is never seen
    with_steps = crb_variance_with_steps(rates, steps, ngroups, TG, RN, GAIN)
    plain = crb_variance(rates, used_groups(ngroups), TG, RN, GAIN)
    np.testing.assert_allclose(with_steps, plain, rtol=1e-3)


@given(half=st.integers(3, 30))
def test_a_mid_ramp_step_at_zero_rate_doubles_the_scatter_as_two_ols_halves_predict(half):
    """Read noise only: two independent straight-line fits of m points each, combined,
    against one of 2m points; ``var_ols(m) = 12 sigma^2 / (dt^2 (m^3 - m))``."""
    used = 2 * half
    ngroups = used + 2  # first and last dropped
    steps = np.zeros((1, ngroups), bool)
    steps[0, 1 + half] = True  # the first read of the second half
    ratio = crb_variance_with_steps(np.zeros(1), steps, ngroups, TG, RN, GAIN)[0] / crb_variance(
        np.zeros(1), used, TG, RN, GAIN)[0]
    expected = (12 / (half**3 - half) / 2) / (12 / (used**3 - used))
    assert abs(ratio / expected - 1) < 1e-6


def test_a_ramp_with_no_two_group_segment_has_no_finite_bound():
    steps = np.zeros((1, 5), bool)
    steps[0, 2] = steps[0, 3] = True  # 3 used groups (1..3), each its own segment
    assert np.isinf(crb_variance_with_steps(np.ones(1), steps, 5, TG, RN, GAIN)[0])


def test_sources_inside_a_shower_footprint_are_marked_hit():
    from astropy.table import Table

    from miri_testbed.validation.score import _hit_by_showers

    showers = Table(rows=[(1.0, 50.0, 40.0, 20.0, 10.0, 0.0, 8.0)], names=("t", "x", "y", "a", "b", "angle", "peak_dn"))
    sources = Table(rows=[(50.0, 40.0), (50.0 + 39.0, 40.0), (50.0 + 41.0, 40.0), (50.0, 40.0 + 21.0)],
                    names=("x", "y"))
    assert _hit_by_showers(sources, showers).tolist() == [True, True, False, False]  # 2 semi-axes along each axis
    assert not _hit_by_showers(sources, Table()).any()


def test_each_shower_is_scored_in_its_own_arrival_group_when_showers_overlap():
    from astropy.table import Table

    from miri_testbed.simulator.showers import footprint
    from miri_testbed.validation.detector_score import _shower_masks

    shape, ngroups, tg = (60, 60), 10, 1.0
    showers = Table(rows=[(1.5, 30.0, 30.0, 10.0, 10.0, 0.0, 10.0), (5.5, 32.0, 30.0, 10.0, 10.0, 0.0, 10.0)],
                    names=("t", "x", "y", "a", "b", "angle", "peak_dn"))
    events = np.zeros((1, ngroups) + shape, np.uint8)
    ys, xs = np.indices(shape)
    for row, group in zip(showers, (1, 5), strict=True):  # read k at (k + 1) tg: the first read after t
        _, inside = footprint({k: row[k] for k in row.colnames}, ys, xs)
        events[0, group][inside] |= 2
    affected, areas = _shower_masks(showers, shape, 1, ngroups, tg, events)
    assert [np.unique(k).tolist() for _, _, k, _, _ in areas] == [[1], [5]]
    assert affected[0, 1:, 30, 30].all()  # the release window of the first runs past the second's arrival


def test_undetected_hits_are_unflagged_arrivals_in_usable_differences():
    """Only an arrival a usable difference sees and no step flagged counts: not one before
    the first read, in a dropped group or after saturation, nor a flagged one."""
    from miri_testbed.instrument import dq
    from miri_testbed.validation.detector_score import undetected_hits

    events = np.zeros((1, 6, 1, 7), np.uint8)
    gdq = np.zeros(events.shape, np.uint32)
    gdq[0, 5] = dq.DO_NOT_USE  # a dropped last group
    events[0, 0, 0, 0] = 1  # before the first read: an offset
    events[0, 3, 0, 1] = 1
    gdq[0, 3, 0, 1] = dq.JUMP_DET  # flagged
    events[0, 3, 0, 2] = 1  # unflagged cosmic ray
    events[0, 5, 0, 3] = 1  # in the dropped group
    events[0, 3, 0, 4] = 1
    gdq[0, 2:, 0, 4] |= dq.SATURATED  # after saturation
    events[0, 2, 0, 5] = 2  # unflagged shower
    events[0, 1, 0, 6] = 1
    gdq[0, 0, 0, 6] = dq.DO_NOT_USE  # a dropped first group: difference 0-1 unused
    assert undetected_hits(events, gdq)[0].tolist() == [False, False, True, False, False, True, False]


def test_pull_series_reads_a_single_histogram_as_the_first_series():
    import pytest

    from miri_testbed.validation.detector_score import PULL_SHAPE, pull_series
    from miri_testbed.validation.score import PULL_HIST_EDGES

    single = np.arange(len(PULL_HIST_EDGES) - 1)
    assert pull_series(single).shape == PULL_SHAPE
    assert pull_series(single)[0].tolist() == single.tolist() and not pull_series(single)[1].any()
    with pytest.raises(ValueError, match="pull histogram of shape"):
        pull_series(np.zeros((3, 4)))


def test_a_noise_free_cell_is_scored_without_rows_against_a_bound_it_does_not_have(tmp_path):
    """Without Poisson and read noise the bound's covariance is zero: the cell is scored, its rates have no
    rows against the bound, and the same cell with its noise has them."""
    from dataclasses import replace

    from miri_testbed.simulator import Effects
    from miri_testbed.validation.runner import Cell, run_cell
    from miri_testbed.validation.scenarios import parse_suite

    from helpers import tiny_suite_toml

    scenario = parse_suite(tiny_suite_toml([1])).scenarios[0]
    quiet = replace(scenario, effects=Effects.noise_free())
    metrics = set(run_cell(Cell(quiet, 1, ()), tmp_path / "quiet")[0].metric)
    assert "flux_ratio" in metrics and not any(m.endswith("_over_crb") for m in metrics)
    assert "clean_scatter_over_crb" in set(run_cell(Cell(scenario, 1, ()), tmp_path / "noisy")[0].metric)
