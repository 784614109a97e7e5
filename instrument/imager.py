"""The MIRI imager: filters, PSF widths, pixel scale, orientation (params section 4, 7).

Filter mean wavelengths and flight PSF FWHM are JDox "MIRI Point Spread Functions"
Table 1; bandwidths are RECALLED from JDox "MIRI Filters and Dispersers" (not re-read).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Filter:
    """An imager filter: its name, mean wavelength and width (um), and flight PSF FWHM (arcsec)."""

    name: str
    wavelength_um: float  # mean wavelength
    bandwidth_um: float  # RECALLED
    psf_fwhm_arcsec: float  # flight, commissioning PID 1028


FILTERS = {
    f.name: f
    for f in (
        Filter("F560W", 5.589, 1.2, 0.207),
        Filter("F770W", 7.528, 2.2, 0.269),
        Filter("F1000W", 9.883, 2.0, 0.328),
        Filter("F1130W", 11.298, 0.7, 0.375),
        Filter("F1280W", 12.712, 2.4, 0.420),
        Filter("F1500W", 14.932, 3.0, 0.488),
        Filter("F1800W", 17.875, 3.0, 0.591),
        Filter("F2100W", 20.563, 5.0, 0.674),
        Filter("F2550W", 25.147, 4.0, 0.803),
    )
}

#: Pixel scale at the FULL reference point, arcsec/pixel (SIAF MIRIM_FULL Xsci/YsciScale).
PIXEL_SCALE_X_ARCSEC = 0.1105
PIXEL_SCALE_Y_ARCSEC = 0.1113

#: Angle of the imager's y axis from V3, degrees (SIAF V3IdlYAngle).
V3_IDL_Y_ANGLE_DEG = 4.83545

#: Telescope collecting area, m^2 (25.4 is RECALLED in params; ESA gives ~25).
COLLECTING_AREA_M2 = 25.4

#: End-to-end photon-to-electron efficiency of telescope + imager + detector.
#: UNSOURCED placeholder (params has no QE(lambda) curve); it sets only the scale of
#: e-/s per mJy, which both the truth and the measured PHOTOM file carry.
SYSTEM_EFFICIENCY = 0.3


def imager_filter(name):
    """Look up an imager filter by name.

    Parameters
    ----------
    name : str
        Filter name, e.g. ``"F770W"`` (case-insensitive).

    Returns
    -------
    Filter
        The filter of :data:`FILTERS` called ``name``.

    Raises
    ------
    ValueError
        For an unknown filter, listing the known ones.
    """
    try:
        return FILTERS[name.upper()]
    except KeyError:
        raise ValueError(f"unknown MIRI imager filter {name!r}; known: {', '.join(FILTERS)}") from None


def pixel_solid_angle_sr():
    """Nominal solid angle of one imager pixel.

    The product of the SIAF pixel scales at the FULL reference point
    (:data:`PIXEL_SCALE_X_ARCSEC`, :data:`PIXEL_SCALE_Y_ARCSEC`); distortion is ignored.

    Returns
    -------
    float
        Solid angle, sr.
    """
    arcsec = 3.141592653589793 / (180 * 3600)
    return PIXEL_SCALE_X_ARCSEC * PIXEL_SCALE_Y_ARCSEC * arcsec**2


def nominal_electrons_per_second_per_mjy(filter_name):
    """Nominal detected electron rate for a 1 mJy source, ``F_nu A eta (d_lambda/lambda) / h``.

    The photon rate of a source of flux density F_nu through a band of width d_nu is
    ``F_nu A d_nu / (h nu)``, and ``d_nu / nu = d_lambda / lambda``.  A is
    :data:`COLLECTING_AREA_M2` (RECALLED), eta :data:`SYSTEM_EFFICIENCY` (an UNSOURCED
    placeholder), so this fixes the scale of the photometric factor only.

    Parameters
    ----------
    filter_name : str
        Imager filter, e.g. ``"F770W"``.

    Returns
    -------
    float
        Detected rate, e-/s per mJy.
    """
    f = imager_filter(filter_name)
    planck_h = 6.62607015e-34  # J s, exact (SI 2019)
    mjy_si = 1e-29  # W m^-2 Hz^-1
    return mjy_si * COLLECTING_AREA_M2 * SYSTEM_EFFICIENCY * (f.bandwidth_um / f.wavelength_um) / planck_h


def mjy_per_pixel(surface_brightness_mjy_sr):
    """Convert a surface brightness to the flux density falling on one nominal imager pixel.

    Parameters
    ----------
    surface_brightness_mjy_sr : float or numpy.ndarray
        Surface brightness, MJy/sr.

    Returns
    -------
    float or numpy.ndarray
        Flux density per pixel, mJy (:func:`pixel_solid_angle_sr`).
    """
    return surface_brightness_mjy_sr * 1e9 * pixel_solid_angle_sr()


def nominal_photmjsr(filter_name, gain):
    """Nominal photometric conversion (PHOTMJSR) of a uniformly lit pixel.

    Parameters
    ----------
    filter_name : str
        Imager filter, e.g. ``"F770W"``.
    gain : float or numpy.ndarray
        Gain, e-/DN.

    Returns
    -------
    float or numpy.ndarray
        Surface brightness per count rate, MJy/sr per DN/s.
    """
    return gain / (mjy_per_pixel(1.0) * nominal_electrons_per_second_per_mjy(filter_name))
