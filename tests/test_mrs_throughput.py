"""The MRS monitoring programme's fitted power law (simulator.mrs_throughput.fitted_powerlaw).

Its errors have the structure the module docstring states: a part common to a channel's bins
(the visit's ``MONITOR_ERROR``) and a part of each bin's own (the star's photon noise,
``MONITOR_BIN_ERROR``), each carried into the fitted correction at an epoch by least squares.
"""
import numpy as np

from miri_testbed.instrument.optics import T0_MJD
from miri_testbed.simulator import mrs_throughput as mt
from miri_testbed.simulator.throughput import MONITOR_CADENCE_D, MONITOR_ERROR, MONITOR_SPAN_D


def test_the_fitted_correction_errs_by_a_common_part_and_a_part_of_each_bin():
    lam = mt.bin_wavelengths(3)
    epoch = T0_MJD + 3 * 365.0
    x = np.array([1.0, np.log((epoch - T0_MJD + mt.TSOFT_DAYS) / (365.0 + mt.TSOFT_DAYS))])
    t = T0_MJD + np.arange(MONITOR_CADENCE_D, MONITOR_SPAN_D, MONITOR_CADENCE_D)
    design = np.column_stack([np.ones_like(t), np.log((t - T0_MJD + mt.TSOFT_DAYS) / (365.0 + mt.TSOFT_DAYS))])
    gain = np.sqrt(x @ np.linalg.inv(design.T @ design) @ x)  # a point's error -> the correction's at the epoch

    rng, visits_rng = np.random.default_rng(7), np.random.default_rng(8)
    draws = []
    for _ in range(1000):
        _, y1, _, alpha = mt.fitted_powerlaw(lam, rng, visits_rng)
        draws.append(np.log(y1) + alpha * x[1])
    residual = np.array(draws) - np.mean(draws, axis=0)  # the mean holds the linear term the fit cannot follow
    common = residual.mean(axis=1)
    own = residual - common[:, None]
    n = lam.size
    expected_common = gain * np.hypot(MONITOR_ERROR, mt.MONITOR_BIN_ERROR / np.sqrt(n))
    expected_own = gain * mt.MONITOR_BIN_ERROR * np.sqrt(1 - 1 / n)
    assert 0.9 < np.std(common) / expected_common < 1.1
    assert 0.95 < np.std(own) / expected_own < 1.05
    # neighbouring bins: no correlation beyond the common part's
    assert abs(np.corrcoef(own[:, :-1].ravel(), own[:, 1:].ravel())[0, 1] + 1 / (n - 1)) < 0.03
