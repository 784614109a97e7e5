"""The settling ramp of MIRI time series: the detector's response in the first minutes.

MIRI time series reach their precision only "after settling" (params 6, TSO precision:
"50 ppm or better after settling", Law25talk citing Bouwman+2023): the photo-current
reads low at the start of an exposure and relaxes.  Modelled as a multiplicative
response on the photo-current (not on the dark current),

    R(t) = 1 - A exp(-t / tau),

with ``t`` seconds from the exposure start, evaluated at each group's charge-collection
mid-time (:func:`simulator.readclock.group_mid_times`).  ``A`` and ``tau``
(:class:`simulator.config.DetectorEffects` ``settling_amplitude``, ``settling_tau_s``)
are UNSOURCED PLACEHOLDERS: params gives no shape or size of the ramp.
"""
import numpy as np


def response(t_s, effects):
    """``R(t)`` at ``t_s`` seconds from the exposure start; 1 with ``effects.settling`` off.

    Parameters
    ----------
    t_s : array_like
    effects : simulator.config.DetectorEffects

    Returns
    -------
    numpy.ndarray or float
    """
    if not effects.settling:
        return np.ones_like(np.asarray(t_s, float))
    return 1 - effects.settling_amplitude * np.exp(-np.asarray(t_s, float) / effects.settling_tau_s)
