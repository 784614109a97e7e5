"""Flux density in the band -> detected electrons per second.

The true throughput is the nominal one of ``instrument.imager``
(``N_e = F_nu A eta (d_lambda / lambda) / h``, A = 25.4 m^2 RECALLED, eta an
UNSOURCED placeholder).  The time-dependent loss joins here in its own issue.
"""
from instrument import imager


def electrons_per_second_per_mjy(filter_name):
    """Detected e-/s for a 1 mJy source in ``filter_name``."""
    return imager.nominal_electrons_per_second_per_mjy(filter_name)


def surface_brightness_to_mjy_per_pixel(mjy_sr):
    """MJy/sr -> mJy falling on one nominal imager pixel."""
    return imager.mjy_per_pixel(mjy_sr)
