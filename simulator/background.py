"""Imager sky backgrounds: zodiacal light, telescope thermal emission, the Lyot-field offset.

All numbers here are UNSOURCED placeholders (params 4 "Thermal background per filter":
Dicken+2024 tabulates it but was not read; params 7: zodiacal light dominates below
~15 um, telescope thermal emission beyond ~20 um).  Shapes:

* zodiacal light: a 265 K blackbody in F_nu, scaled to ``ZODI_12UM_MJY_SR`` at 12 um
  (a moderate ecliptic latitude; placeholder);
* telescope thermal: a ``THERMAL_TEMPERATURE_K`` greybody scaled to
  ``THERMAL_25UM_MJY_SR`` at 25.5 um (placeholder);
* each evaluated at the filter's mean wavelength (no band integration);
* Lyot field: the coronagraph's Lyot box (full-frame x < ``LYOT_X_MAX``,
  y >= ``LYOT_Y_MIN``, APPROXIMATE from the FULL-frame layout) sees a background higher
  by a fraction ``lyot_offset`` (Law25talk: "can differ slightly"; size UNSOURCED).

Dedicated background exposure (``Observation.background_exposure``, ``MrsObservation.background_exposure``;
params "long-wavelength imaging needs background observations"): the same observation of an offset field
``DEDICATED_OFFSET_ARCSEC`` north-east of the target (a placeholder: the observer's choice,
far enough that the target's sources are off the array), starting when the science
exposure ends, that sees the scene's background and none of its point sources
(:func:`dedicated_observation`).
"""
from dataclasses import replace

import numpy as np

from miri_testbed.instrument import imager, readout

ZODI_TEMPERATURE_K = 265.0
ZODI_12UM_MJY_SR = 25.0
THERMAL_TEMPERATURE_K = 45.0
THERMAL_25UM_MJY_SR = 150.0
LYOT_X_MAX = 300
LYOT_Y_MIN = 740
DEDICATED_OFFSET_ARCSEC = 300.0


def _planck_nu(wavelength_um, temperature_k):
    """Planck B_nu up to a constant: nu^3 / (exp(h nu / k T) - 1)."""
    hc_over_k = 14387.77  # um K
    x = hc_over_k / (np.asarray(wavelength_um, float) * temperature_k)
    return (1.0 / np.asarray(wavelength_um, float)) ** 3 / np.expm1(x)


def zodiacal_mjy_sr(filter_name):
    lam = imager.imager_filter(filter_name).wavelength_um
    return float(ZODI_12UM_MJY_SR * _planck_nu(lam, ZODI_TEMPERATURE_K) / _planck_nu(12.0, ZODI_TEMPERATURE_K))


def thermal_mjy_sr(filter_name):
    lam = imager.imager_filter(filter_name).wavelength_um
    return float(THERMAL_25UM_MJY_SR * _planck_nu(lam, THERMAL_TEMPERATURE_K)
                 / _planck_nu(25.5, THERMAL_TEMPERATURE_K))


def model_mjy_sr(filter_name):
    """Zodiacal + thermal background of the filter, MJy/sr (placeholders)."""
    return zodiacal_mjy_sr(filter_name) + thermal_mjy_sr(filter_name)


def lyot_mask(observation):
    """Pixels of the exposure's subarray inside the Lyot box (boolean, subarray shape)."""
    sub = readout.subarray(observation.subarray)
    x = np.arange(sub.xsize) + sub.xstart - 1
    y = np.arange(sub.ysize) + sub.ystart - 1
    return (y[:, None] >= LYOT_Y_MIN) & (x[None, :] < LYOT_X_MAX)


def relative_map(observation, lyot_offset):
    """Multiplicative background map: 1, and 1 + ``lyot_offset`` in the Lyot box."""
    return 1.0 + lyot_offset * lyot_mask(observation)


def dedicated_observation(observation):
    """The dedicated background exposure of ``observation``: the same setting (filter or MRS
    band, subarray, readout, dither position), starting when the science exposure ends.

    An observation with a sky position (the imager's ``ra_deg, dec_deg``) is pointed
    ``DEDICATED_OFFSET_ARCSEC`` away (half north, half east); the MRS places its scene about
    its target and has none, so its offset field is the same observation, which the caller
    lights with the scene's sky alone (:func:`simulator.mrs.companions`).
    """
    duration = readout.exposure_time(observation.subarray, observation.readpatt, observation.ngroups,
                                     observation.nints)
    later = replace(observation, epoch_mjd=observation.epoch_mjd + duration / 86400.0)
    if not hasattr(observation, "ra_deg"):
        return later
    step = DEDICATED_OFFSET_ARCSEC / np.sqrt(2.0) / 3600.0
    dec = observation.dec_deg + step
    ra = (observation.ra_deg + step / np.cos(np.deg2rad(dec))) % 360.0
    return replace(later, dec_deg=float(dec), ra_deg=float(ra))
