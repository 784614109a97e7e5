"""MRS fringes: the detector as a Fabry-Perot etalon whose phase depends on how a pixel is lit.

Model.  The transmission of a plane-parallel etalon of reflectance ``R`` (the Airy formula,
Born & Wolf, *Principles of Optics*, sec. 7.6.1), normalised to mean 1 over a period:

    T(delta) = (1 - R^2) / (1 + R^2 - 2 R cos delta) = 1 + 2 sum_k R^k cos(k delta),
    delta = 4 pi n d(x, y) sigma cos(theta),

``sigma = 1e4 / lambda`` the pixel's true wavenumber (cm^-1, at its centre; the light's spread over the
pixel and the LSF is not averaged: a SIMPLIFICATION).  Peak to peak ``4 R / (1 - R^2)``: the default
``R = 0.05`` gives 20 %, in the 10-30 % of params 5 (Ar20); ``R`` is an effective reflectance, not the
detector's.  The optical thickness is ``n d(x, y) = (1 + P(x, y)) / (2 Delta_sigma)`` with ``Delta_sigma``
the fringe period at normal incidence, 2.9 cm^-1 below 16 um (params 5, jwst ``FFREQ_1D``: the
anti-reflection coating and pixel metallisation) and ``fringe_period_long_cm`` above 16 um (another cavity,
AR coating and buried contact: its period is UNSOURCED, a PLACEHOLDER), switched abruptly at 16 um (a
SIMPLIFICATION); ``P`` a quadratic of the frame's ``x, y`` scaled to [-1, 1] (``fringe_thickness``:
coefficients of ``x, y, x^2, x y, y^2``, PLACEHOLDERS).

Incidence.  ``theta^2 = theta_max^2 (u^2 + v^2)``: ``u`` where the light crosses its slice (beta from the
slice's centre in half slice widths), ``v`` the pixel's alpha in half slice lengths (the slicer images
alpha onto the detector, so any light of a pixel has its pixel's ``v``); ``theta_max`` =
``fringe_angle_deg`` (UNSOURCED PLACEHOLDER, 1 deg: it sets how far a point source's fringes stand from
the fringe flat's).  A point source's light in slice ``k`` crosses it at ``u = clip((beta_s - beta_k) /
(beta_del / 2), -1, 1)`` (the slice's edge for the slices beside it); extended light (the sky, an
:class:`~simulator.config.ExtendedSource`, a fringe flat) fills the slice: ``T`` averaged over ``u``
uniform in [-1, 1] (Gauss-Legendre), less contrast and another phase.

Dichroic (channels 3 and 4): times ``1 + a cos(2 pi sigma / 0.4 cm^-1)`` (period params 5, jwst
``FFREQ_1D``; ``a = dichroic_fringe_amplitude``, 0.02, UNSOURCED, params 30), the same for any light.

The fringe flat (:func:`fringe_flat`) is MEASURED from a simulated extended-source flat exposure: the
etalon's extended-light transmission on a uniform field, with photon and read noise, each slice
divided by a smooth 2-D fit of it (its continuum).
"""
import numpy as np

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import mrs

#: Below this wavelength (um) the primary cavity, above it the long one (params 5, jwst residual_fringe docs).
CAVITY_SWITCH_UM = 16.0
#: The dichroic fringe's period, cm^-1 (params 5, jwst ``FFREQ_1D``), and the channels it is in.
DICHROIC_PERIOD_CM, DICHROIC_CHANNELS = 0.4, (3, 4)
#: Gauss-Legendre nodes over ``u`` in [-1, 1] for extended light (T(u) moves by < 0.3 order across a slice).
EXTENDED_NODES = 12
#: The fringe flat: its median electrons per pixel (0.1 % photon noise; the exposure time follows) and
#: the degrees (along the rows, across the columns) of the Legendre series that gives each slice's continuum.
FLAT_ELECTRONS, FLAT_CONTINUUM_DEGREE = 1.0e6, (7, 3)


def airy(delta, reflectance):
    """The etalon's transmission normalised to mean 1 over a period, ``(1 - R^2) / (1 + R^2 - 2 R cos delta)``."""
    r = reflectance
    return (1 - r * r) / (1 + r * r - 2 * r * np.cos(delta))


def thickness_factor(x, y, effects):
    """``1 + P(x, y)``: the optical thickness relative to its nominal (module docstring)."""
    xs = 2 * np.asarray(x, float) / (det.FULL_NX - 1) - 1
    ys = 2 * np.asarray(y, float) / (det.FULL_NY - 1) - 1
    cx, cy, cxx, cxy, cyy = effects.fringe_thickness
    return 1 + cx * xs + cy * ys + cxx * xs * xs + cxy * xs * ys + cyy * ys * ys


def _along_slice(true_pixels):
    """Each pixel's ``v``: its alpha in half lengths of its slice (module docstring)."""
    geometry = mrs.band(true_pixels.perturbation.band)
    flight = true_pixels.flight
    v = np.empty(len(flight.x))
    for slice_id in geometry.slices:
        on = flight.slice == slice_id
        lo, hi = geometry.alpha_limits(slice_id)
        v[on] = (flight.alpha[on] - (lo + hi) / 2) / ((hi - lo) / 2)
    return v


class Etalon:
    """The fringes of one band's pixels (module docstring): ``extended`` and :meth:`point` transmissions.

    Parameters
    ----------
    true_pixels : simulator.mrs.TruePixels
    effects : simulator.config.MrsEffects
    """

    def __init__(self, true_pixels, effects):
        self.effects = effects
        lam = true_pixels.wavelength
        self.sigma = 1e4 / lam
        period = np.where(lam < CAVITY_SWITCH_UM, effects.fringe_period_cm, effects.fringe_period_long_cm)
        flight = true_pixels.flight
        self.phase = 2 * np.pi * thickness_factor(flight.x, flight.y, effects) * self.sigma / period  # 4 pi n d sigma
        self.v2 = _along_slice(true_pixels) ** 2
        self.beta = flight.beta + true_pixels.perturbation.d_beta
        self.half_width = mrs.band(true_pixels.perturbation.band).beta_del / 2
        channel = int(true_pixels.perturbation.band[0])
        a = effects.dichroic_fringe_amplitude if channel in DICHROIC_CHANNELS else 0.0
        self.dichroic = 1 + a * np.cos(2 * np.pi * self.sigma / DICHROIC_PERIOD_CM)
        nodes, weights = np.polynomial.legendre.leggauss(EXTENDED_NODES)
        self.extended = sum(w / 2 * self._at(np.full(len(lam), u)) for u, w in zip(nodes, weights, strict=True))

    def _at(self, u):
        """``T`` of light crossing each pixel's slice at ``u`` (half widths from its centre)."""
        theta = np.radians(self.effects.fringe_angle_deg) * np.sqrt(u * u + self.v2)
        return airy(self.phase * np.cos(theta), self.effects.fringe_reflectance) * self.dichroic

    def point(self, beta_source):
        """``T`` of a point source at ``beta_source`` (arcsec, the band's frame) on each pixel."""
        return self._at(np.clip((beta_source - self.beta) / self.half_width, -1, 1))


def fringe_flat(electrons, bands):
    """The fringe flat MEASURED from a flat exposure's ``electrons`` (a full frame): 1 where no band lights.

    ``bands``: the :class:`simulator.mrs.FlightPixels` of the exposure's bands.  Each slice is divided by
    its continuum, a 2-D Legendre series of degrees :data:`FLAT_CONTINUUM_DEGREE` along the rows (the
    dispersion: smooth over tens of fringe periods) and across the columns fitted to it by least squares,
    so only the fringe (mean 1) remains; one fit per slice, so a short column at a slice's curved edge
    is as well served as a full one.  Returns ``(flat, relative error)``, the error from the photon and
    read noise.
    """
    flat, error = np.ones(electrons.shape), np.zeros(electrons.shape)
    read_noise_e = det.READ_NOISE_CDS_DN * det.GAIN_E_PER_DN
    for pixels in bands:
        for slice_id in np.unique(pixels.slice):
            on = pixels.slice == slice_id
            y, x = pixels.y[on], pixels.x[on]
            values = electrons[y, x]
            design = np.polynomial.legendre.legvander2d(_unit(y), _unit(x), FLAT_CONTINUUM_DEGREE)
            continuum = design @ np.linalg.lstsq(design, values, rcond=None)[0]
            flat[y, x] = values / continuum
            error[y, x] = np.sqrt(np.maximum(values, 0) + read_noise_e**2) / continuum
    return flat, error


def _unit(values):
    """``values`` mapped linearly onto [-1, 1]."""
    lo, hi = values.min(), values.max()
    return 2 * (values - lo) / max(hi - lo, 1) - 1
