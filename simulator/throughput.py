"""Flux density in the band -> detected electrons per second.

Model: photons per second from a source of flux density F_nu through a filter of
mean wavelength lambda and width d_lambda, detected with efficiency eta,

    N_e = F_nu * A * eta * (d_lambda / lambda) / h,

(since the photon rate is F_nu * A * d_nu / (h nu) and d_nu / nu = d_lambda / lambda).
A = 25.4 m^2 (params 7, RECALLED), eta = ``instrument.imager.SYSTEM_EFFICIENCY``
(UNSOURCED placeholder).  Time-dependent throughput comes in its own module later.
"""
from astropy import constants as const

from instrument import imager

_MJY_TO_SI = 1e-29  # W m^-2 Hz^-1 per mJy


def electrons_per_second_per_mjy(filter_name):
    """Detected e-/s for a 1 mJy source in ``filter_name``."""
    f = imager.imager_filter(filter_name)
    return (
        _MJY_TO_SI * imager.COLLECTING_AREA_M2 * imager.SYSTEM_EFFICIENCY
        * (f.bandwidth_um / f.wavelength_um) / const.h.si.value
    )


def surface_brightness_to_mjy_per_pixel(mjy_sr):
    """MJy/sr -> mJy falling on one nominal imager pixel."""
    return mjy_sr * 1e9 * imager.pixel_solid_angle_sr()
