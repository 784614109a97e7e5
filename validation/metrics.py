"""Which way is better, per metric: each judged metric maps to a *loss* (lower is better).

* a metric with an ideal value ``x`` (flux ratio 1, pull width 1, biases 0): ``|v - x|``;
* a metric that should be small (astrometric error, false detections, false flags,
  scatter over the Cramer-Rao bound, the EMI left after correction): ``v``;
* a fraction that should be large (detected, jump completeness, shower coverage):
  ``1 - v``.

Counts of pixels or events (``pull_n``, ``clean_n``, ...) say how much data a row rests
on, not how good it is: they are not judged; nor are ``emi_residual_floor`` and
``emi_residual_floor_cr``, the floors of the EMI residual, which the exposure sets.
:mod:`validation.compare` and :mod:`validation.gate` both judge through :func:`loss`, so
"better" means one thing.
"""
import numpy as np

#: The gate's default tolerance, in standard errors of the baseline (:mod:`validation.gate`).
K_DEFAULT = 3.0

IDEAL = {"flux_ratio": 1.0, "flux_ratio_shower_hit": 1.0, "flux_ratio_saturated": 1.0,
         "flux_ratio_isolated": 1.0, "flux_ratio_blended": 1.0,
         "pull_mean": 0.0, "pull_std": 1.0, "pull_rms": 1.0,
         "rate_bias_sigma": 0.0, "clean_bias_over_crb": 0.0, "cr_bias_over_crb": 0.0, "clean_pull_std": 1.0,
         "cr_pull_std": 1.0, "lrs_wavelength_error": 0.0, "lrs_wavelength_error_calibration": 0.0,
         "lrs_flux_ratio": 1.0, "lrs_flux_ratio_median": 1.0, "lrs_tso_depth_pull": 0.0, "mrs_flux_ratio": 1.0,
         "mrs_flux_pull_rms": 1.0, "mrs_flux_pull_std": 1.0, "mrs_sb_ratio": 1.0,
         "mrs_xart_net": 1.0}
LOWER = {"astrometric_error", "astrometric_error_aligned", "alignment_refused", "false_detections",
         "false_flag_rate", "clean_scatter_over_crb",
         "cr_scatter_over_crb", "cr_scatter_over_crb_steps", "emi_residual_fraction",
         "emi_residual_over_floor", "emi_rate_residual_fraction", "emi_rate_residual_sigma", "pull_outlier_fraction",
         "lrs_lines_lost", "lrs_dropouts",
         "lrs_tso_scatter_over_limit", "lrs_tso_white_scatter_ppm",
         "mrs_wavelength_error", "mrs_wavelength_error_band", "mrs_lines_lost", "mrs_centroid_error",
         "mrs_band_offset", "mrs_flux_pull_outlier_fraction", "mrs_leak_residual", "mrs_fringe_amplitude",
         "mrs_fringe_over_target", "mrs_leak_cube_residual", "mrs_leak_cube_sum_residual", "mrs_xart_over_target",
         "mrs_leak_residual_twin"}
HIGHER_FRACTION = {"detected", "detected_fraction", "jump_completeness", "shower_flagged_fraction",
                   "mrs_usable_fraction", "mrs_xart_removed"}
# Not judged on purpose: amounts of data, and signed components of a judged metric.
NOT_JUDGED = {"pull_n", "clean_n", "cr_n", "jump_n", "ra_offset", "dec_offset",
              "astrometric_error_unaligned",  # before alignment: a diagnostic of the input
              "emi_residual_floor", "emi_residual_floor_cr",  # set by the exposure, not the algorithm
              "nearest_neighbour_pix", "contamination",  # how crowded the scene is
              "lrs_lines_expected", "lrs_line_snr",  # how much the spectrum holds
              "lrs_wavelength_error_kms", "lrs_wavelength_pull",  # lrs_wavelength_error (judged) rescaled
              "lrs_dropout_rows", "lrs_flux_ratio_error",  # how much the spectrum holds
              "lrs_tso_depth_error_ppm",  # the depth's stated error: set by the exposure
              "mrs_lines_expected", "mrs_line_snr",  # how much the spectrum holds
              "mrs_wavelength_offset", "mrs_wavelength_pull",  # mrs_wavelength_error (judged) signed, rescaled
              "mrs_centroid_alpha_offset", "mrs_centroid_beta_offset",  # mrs_centroid_error's components
              "mrs_centroid_fitted",  # which estimator placed the centre (1 the fit, 0 the first moment)
              "mrs_wavelength_perturbation",  # the flight geometry's own error there: set by the truth
              "mrs_flux_pull_n", "mrs_flux_pull_lag1",  # how many planes; their correlation, set by the drizzle
              "mrs_flux_ratio_error",  # mrs_flux_ratio's noise: set by the exposure
              "mrs_leak_residual_error", "mrs_leak_residual_twin_error",  # their noise: set by the exposure
              "mrs_leak_cube_spaxels",  # how many spaxels mrs_leak_cube_residual takes the max of
              "mrs_fringe_noise_floor", "mrs_fringe_white_floor",  # the fringe statistic on noise: set by the errors
              "mrs_fringe_noise_pvalue", "mrs_fringe_noise_fail_rate",  # where the amplitude falls among those draws
              "mrs_xart_noise_floor"}  # a perfect cross-artifact model on the rate's noise: set by the exposure
# Metrics whose ``bin`` is the event's own value (a shower's peak), not a fixed bin edge:
# aggregates pool their rows instead of keeping one entry per value.
EVENT_VALUED_BIN = {"shower_flagged_fraction"}


def judged(metric):
    """Whether ``metric`` has a direction (ideal value, lower or higher is better).

    Parameters
    ----------
    metric : str
        Metric name, as in the ``metric`` column of a results table.

    Returns
    -------
    bool
        True when :func:`loss` can judge it.
    """
    return metric in IDEAL or metric in LOWER or metric in HIGHER_FRACTION


def undirected(metrics):
    """List the metrics that nobody has given a direction yet.

    A new metric belongs in one of the sets above (or in :data:`NOT_JUDGED`) before
    compare and gate can judge it.

    Parameters
    ----------
    metrics : iterable of str
        Metric names.

    Returns
    -------
    list of str
        Sorted names that are neither judged nor deliberately unjudged.
    """
    return sorted(m for m in set(metrics) if not judged(m) and m not in NOT_JUDGED)


def loss(metric, values):
    """Loss (lower is better) of values of a metric.

    Parameters
    ----------
    metric : str
        A judged metric name.
    values : array_like
        Values of ``metric``, in its own unit.

    Returns
    -------
    numpy.ndarray
        ``|v - ideal|``, ``v`` or ``1 - v`` (float), in the unit of ``values``.

    Raises
    ------
    KeyError
        If ``metric`` has no defined direction.
    """
    values = np.asarray(values, float)
    if metric in IDEAL:
        return np.abs(values - IDEAL[metric])
    if metric in LOWER:
        return values
    if metric in HIGHER_FRACTION:
        return 1.0 - values
    raise KeyError(f"metric {metric!r} has no defined direction")


def loss_name(metric):
    """Describe how the loss of a metric is computed, for tables.

    Parameters
    ----------
    metric : str
        A metric name.

    Returns
    -------
    str
        ``"|v - x|"`` for an ideal value x, ``"v"`` or ``"1 - v"``.
    """
    if metric in IDEAL:
        return f"|v - {IDEAL[metric]:g}|"
    return "v" if metric in LOWER else "1 - v"

