"""The MRS mode: point and extended sources with spectra and a uniform sky -> light on MIRIFUSHORT or MIRIFULONG.

A mode module of :data:`simulator.exposure.MODES` (see :mod:`simulator.imager` for the four
functions).  One exposure is one detector at one grating setting: two bands, one per
channel (:class:`simulator.config.MrsObservation`).  Model:

* **Geometry.**  Each lit pixel of band ``b`` (the slice map of :func:`instrument.mrs.band_map`,
  slice lengths from the SIAF) has flight coordinates from the band's forward polynomials
  at its centre and at its edges: ``alpha`` at ``x -/+ 1/2``, ``lambda`` at ``y -/+ 1/2``
  (the dispersion runs along the rows).  The true geometry moves them by a perturbation
  drawn per band (:func:`draw_perturbation`, recorded in the truth):
  ``lambda_T = lambda_F (1 + v(lambda_F) / c)`` with ``v`` a random cubic (Legendre, over
  the band's range) of ``wavelength_kms`` rms, and ``alpha_T = alpha_F + d_alpha``,
  ``beta_T = beta_k + d_beta`` with constants of ``spatial_mas`` rms
  (:class:`simulator.config.MrsEffects`; PLACEHOLDERS, well under the flight calibration's
  9-27 km/s and 8-23 mas, params 5).  The slice map itself is the flight one (the
  perturbation moves slice edges by < 0.05 px).
* **Sources.**  A :class:`simulator.config.SpectralSource`'s offsets are ``(alpha, beta)``
  from the undithered target in band ``<c>A``'s frame (``c`` the observation's
  ``dither_channel``), the target on the channel's reference point
  (:func:`instrument.mrs_dither.target_v2v3`); that fixes the source on the sky, and a dither
  moves the sky rigidly in V2/V3 by the target's move (the same roll), so every exposure of a
  dither set sees the same sky; the source's V2/V3 goes to each observed band's
  ``(alpha, beta)`` by the band's flight transform.
* **PSF** (:func:`psf_image`).  The diffraction pattern of the imager's pupil model
  (:func:`simulator.psf.diffraction`) seen through the band's frame (:func:`psf_frame`: the
  sky's arcsec per band arcsec, the flight transform's Jacobian, a turn in channels 1-2 and
  alpha 0.95-0.96 of the sky's arcsec in channels 3-4) on square samples of
  ``beta_del / PSF_SAMPLES_PER_SLICE`` over ``PSF_SAMPLES`` samples (9-20" wide: the light
  beyond is lost), blurred by a Gaussian (round on the sky) of FWHM ``sqrt(f^2 - 1) 1.03
  lambda / D`` so the core is ``f`` times the diffraction's, ``f`` linear from 1.6 at 5 um to
  1.15 at 28 um (params 5, A23: "60 % broader than diffraction along the long axis at 5 um,
  15 % at 28 um"; isotropic on the sky here, a SIMPLIFICATION).  Computed at nodes spaced by
  at most ``PSF_STEP`` in lambda (geometric) and interpolated linearly in lambda between them
  (each node holds the same light, so the interpolation conserves it).
* **Slices.**  Slice ``k`` passes the light within its beta strip ``beta_T,k +/-
  beta_del / 2``: the PSF samples' rows weighted by their overlap with the strip and
  summed give its profile along alpha, ``P_k(alpha; lambda)``; a pixel gets
  ``F = int P_k d alpha`` over its ``[alpha_T(x - 1/2), alpha_T(x + 1/2)]`` (the profile's
  cumulative sum, exact for samples of constant density), at its centre wavelength.
* **Extended sources** (:class:`simulator.config.ExtendedSource`, :func:`profile_kernel`).
  A profile ``p(alpha, beta)`` (elliptical Gaussian or uniform disk, integrating to 1) times
  the source's spectrum: a pixel gets ``F = int_pixel (p * PSF_lambda)(alpha, beta) d alpha
  d beta`` over its footprint (its alpha box times its slice's strip) at its centre
  wavelength, computed as for a point source at the profile's centre with each PSF node
  replaced by its convolution with ``p`` sampled on the PSF grid (each sample the profile's
  integral over it, from 5 x 5 points), and the PSF's light beyond its grid (1-4 %) added as
  far wings falling as ``r^-3`` beyond it (:func:`far_light`: a uniform source gets it all back,
  which so gives the uniform sky's surface brightness; a compact one only beyond the grid's
  reach), on the full grid of the convolution (the PSF's
  and the profile's widths); the profile is cut at the PSF grid's width each side.  The
  profile is given in band ``<c>A``'s frame and read in band ``b`` at ``M (d alpha, d beta)``,
  ``M`` the local map of ``b``'s frame into ``<c>A``'s through V2/V3 (:func:`profile_frame`), its
  density times ``|det M|``: the same sky in every band (until session 30 the same offsets, so
  channels 3-4 drew an extended source 4-5 % narrower on the sky along alpha than channels 1-2;
  the PSF likewise, :func:`psf_frame`).  A uniform sky's solid angle is the band's ``|d alpha|
  beta_del`` (in channels 3-4 the band's arcsec^2, not the sky's: the cubes' MJy/sr are per the
  band's arcsec^2, as the calibration's PHOTOM makes them).
* **Spectrum** (:func:`pixel_photons`).  The photons of the source's spectrum in each
  pixel's ``[lambda_T(y - 1/2), lambda_T(y + 1/2)]`` after the line-spread function, a
  Gaussian of FWHM ``lambda / R(lambda)``, ``R`` linear from 3700 at 4.9 um to 1300 at 28 um
  (params "Simulation-ready defaults" 28: UNSOURCED, the per-band Labiano+2021 values
  are not in the reference).  The continuum with its absorption lines is integrated
  exactly (:meth:`simulator.spectra.SourceSpectrum.photons_in_bins`) into bins of a tenth
  of an LSF FWHM, uniform in ``u = int R / lambda d lambda`` (where the LSF has constant
  width), convolved there with the bin-integrated Gaussian (weights summing to 1) and
  integrated into each pixel's interval; an emission line is a Gaussian of
  ``sigma^2 = sigma_line^2 + sigma_LSF(centre)^2`` integrated exactly (normal cdf).  The
  LSF does not depend on where the source sits across its slice (the real one does).
* **Electrons.**  ``e = A eta_c N_pix F``: collecting area ``A``
  (:data:`instrument.imager.COLLECTING_AREA_M2`), the channel's efficiency ``eta_c``
  (:data:`EFFICIENCY`, PLACEHOLDERS: params has no MRS photon-conversion efficiency),
  the pixel's photons and its PSF share.
* **Sky.**  A uniform extended source of flat F_nu: the scene's ``background_mjy_sr`` plus,
  with ``effects.optics.background_model``, the zodiacal + thermal placeholders of
  :mod:`simulator.background` at the band's centre (:func:`band_background_mjy_sr`);
  each pixel sees ``I Omega_pix`` with ``Omega_pix = |d alpha| beta_del``.
* **Throughput decay.**  With ``effects.optics.throughput_decay`` (the switch the imager's
  decay has: one effect of the telescope and instrument optics, every mode sees it), every
  pixel's light, sources and sky, times ``T(lambda, t)`` of :mod:`simulator.mrs_throughput`
  at its true centre wavelength and the exposure's mid-time.
* **Cross-artifact.**  With ``effects.mrs.cross_artifact`` (off by default), the detector's
  summed light gets the row-scattered light of :mod:`simulator.cross_artifact` (truth ``XART``,
  ``XARTKERNEL``; reference MRSXARTCORR).
* **Fringes.**  With ``effects.mrs.fringes`` (off by default), each part of a pixel's light (the sky,
  each source) times the detector etalon's transmission for how that light fills the slice, before they
  are summed and the decay applied (:mod:`simulator.fringes`; truth ``FRINGE``, ``FRINGE_EXTENDED``;
  reference FRINGE, :func:`write_fringe_flat`).

Dedicated background (``MrsObservation.background_exposure``, :func:`companions`): the same
detector, setting and dither position right after the science exposure, on an offset field
that holds the sky above (the same true geometry, its own noise) and none of the sources.

Spectral leak (``effects.mrs.spectral_leak``, off by default; :mod:`simulator.spectral_leak`): band 3A's
pixels also get every source's ``f(lambda) S(lambda / 2)`` (:func:`source_leak`, the 6 um PSF) and the sky's
(:func:`sky_leak`); the truth's ``LEAK`` holds it, and :func:`write_references` writes the MRSPTCORR.

Not here yet: extended sources of other profiles than a Gaussian or a disk (a scene of
several makes a composite), the wavelength shift of a source off
its slice's centre.

Truth (per detector): ``SLICE``, ``ALPHA``, ``BETA``, ``WAVELENGTH`` (every pixel's true
slice and coordinates), ``PERTURBATION`` (per band: the velocity's Legendre coefficients
and range, ``d_alpha``, ``d_beta``), ``SOURCES`` (V2/V3 and each band's alpha/beta),
``LINES``; the spectra are in the configuration.

References: the detector's, the geometry (``ReferenceOptions(kind="perfect")``: the true
geometry in the JWST formats; ``measured``: the flight files with wavelengths measured on a
simulated line source, :mod:`simulator.mrs_wavecal`, and alpha/beta offsets on a simulated
point-source raster, :mod:`simulator.mrs_spatialcal`), PHOTOM and APCORR
(:func:`write_references`, :mod:`simulator.mrs_photom`, :mod:`simulator.mrs_apcorr`); with the
cross-artifact, the MRSXARTCORR (``measured``: the two bands' kernels fitted on a simulated point-source
exposure, :func:`xart_exposure`, :mod:`simulator.mrs_xartcal`); with the spectral leak, band 3A's MRSPTCORR
(``measured``: the leak curve fitted on simulated 1B and 3A exposures of a uniform hot source calibrated with the
measured PHOTOMs, :func:`measured_leak`, :mod:`simulator.mrs_leakcal`).
"""
from dataclasses import dataclass, fields
from functools import lru_cache

import asdf
import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.modeling import models
from astropy.table import Table, vstack
from scipy import ndimage, signal
from scipy.special import ndtr
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import imager, modes, mrs, mrs_dither, refmeta
from miri_testbed.instrument.files import atomic_path

from . import (
    background,
    cross_artifact,
    fringes,
    lrs_wavecal,
    mrs_apcorr,
    mrs_fringecal,
    mrs_leakcal,
    mrs_photom,
    mrs_spatialcal,
    mrs_throughput,
    mrs_wavecal,
    mrs_xartcal,
    psf,
    spectral_leak,
)
from .config import ExtendedSource, MrsEffects, MrsObservation
from .illumination import Illumination
from .references import PROVENANCE, keyed_generator
from .sky import mid_time_mjd
from .spectra import FWHM_PER_SIGMA, PHOTONS_PER_MJY
from .truth import Component

MODE = modes.mode("mrs")
#: Speed of light, km/s.
C_KMS = 299792.458
#: Photon-to-electron efficiency of telescope + MRS + detector per channel.  UNSOURCED
#: PLACEHOLDERS (params 5 has none): they set the e-/s scale, which the truth carries.
EFFICIENCY = {1: 0.20, 2: 0.20, 3: 0.15, 4: 0.07}
#: Resolving power at two wavelengths (um, R), linear between (params defaults 28, UNSOURCED).
RESOLVING_POWER = ((4.9, 3700.0), (28.0, 1300.0))
#: PSF core broadening over diffraction at two wavelengths (um, factor), linear (params 5, A23).
PSF_BROADENING = ((5.0, 1.6), (28.0, 1.15))
#: PSF samples across the grid and per slice width; largest fractional step between PSF nodes.
PSF_SAMPLES, PSF_SAMPLES_PER_SLICE, PSF_STEP = 256, 8, 0.02
#: Points per PSF sample along each axis where an extended source's profile is evaluated.
KERNEL_SUBSAMPLES = 5
#: The step (arcsec) of :func:`profile_frame`'s central differences (the transforms are smooth over it).
PROFILE_FRAME_STEP_ARCSEC = 0.1
#: LSF bins per FWHM, and the half width of the LSF kernel and of the grid's margin, in sigma.
LSF_BINS_PER_FWHM, LSF_HALF_WIDTH_SIGMA = 10, 8.0
_ARCSEC2_SR = (np.pi / 180 / 3600) ** 2


def resolving_power(wavelength_um):
    """``R(lambda)``, linear through :data:`RESOLVING_POWER` (UNSOURCED, params defaults 28)."""
    (l0, r0), (l1, r1) = RESOLVING_POWER
    return r0 + (r1 - r0) * (np.asarray(wavelength_um, float) - l0) / (l1 - l0)


def _resolution_coordinate(wavelength_um):
    """``u(lambda) = int R / lambda d lambda = a ln lambda + b lambda`` for ``R = a + b lambda``."""
    (l0, r0), (l1, r1) = RESOLVING_POWER
    b = (r1 - r0) / (l1 - l0)
    a = r0 - b * l0
    lam = np.asarray(wavelength_um, float)
    return a * np.log(lam) + b * lam


def _wavelength_of(u_values, guess):
    """Invert :func:`_resolution_coordinate` by Newton's method from ``guess`` (``du/dlambda = R / lambda``)."""
    lam = np.asarray(guess, float).copy()
    for _ in range(6):
        lam -= (_resolution_coordinate(lam) - u_values) * lam / resolving_power(lam)
    return lam


def band_background_mjy_sr(name):
    """Zodiacal + thermal sky of band ``name`` at its centre, MJy/sr (PLACEHOLDERS of :mod:`simulator.background`)."""
    lam = float(np.mean(mrs.band(name).wavelength_range))
    zodi = background.ZODI_12UM_MJY_SR * background._planck_nu(lam, background.ZODI_TEMPERATURE_K) \
        / background._planck_nu(12.0, background.ZODI_TEMPERATURE_K)
    thermal = background.THERMAL_25UM_MJY_SR * background._planck_nu(lam, background.THERMAL_TEMPERATURE_K) \
        / background._planck_nu(25.5, background.THERMAL_TEMPERATURE_K)
    return float(zodi + thermal)


@dataclass(frozen=True)
class FlightPixels:
    """A band's lit pixels and their flight coordinates (1-D arrays over the pixels).

    ``y, x``: the pixel; ``slice``: its id; ``alpha_lo, alpha_hi`` alpha at ``x -/+ 1/2``
    sorted; ``wavelength`` at the centre; ``lam_lo, lam_hi`` at ``y -/+ 1/2`` sorted;
    ``alpha`` at the centre; ``beta`` its slice's.
    """

    y: np.ndarray
    x: np.ndarray
    slice: np.ndarray
    alpha: np.ndarray
    alpha_lo: np.ndarray
    alpha_hi: np.ndarray
    beta: np.ndarray
    wavelength: np.ndarray
    lam_lo: np.ndarray
    lam_hi: np.ndarray


@lru_cache(maxsize=12)
def flight_pixels(name):
    """The :class:`FlightPixels` of band ``name`` (built once, cached)."""
    geometry = mrs.band(name)
    pixels = mrs.band_map(name)
    y, x = np.nonzero(pixels.slice)
    ids = pixels.slice[y, x]
    a_lo, a_hi, l_lo, l_hi = (np.empty(len(x)) for _ in range(4))
    for slice_id in geometry.slices:
        on = ids == slice_id
        left, _ = geometry.to_sky(x[on] - 0.5, y[on], slice_id)
        right, _ = geometry.to_sky(x[on] + 0.5, y[on], slice_id)
        _, below = geometry.to_sky(x[on], y[on] - 0.5, slice_id)
        _, above = geometry.to_sky(x[on], y[on] + 0.5, slice_id)
        a_lo[on], a_hi[on] = np.fmin(left, right), np.fmax(left, right)
        l_lo[on], l_hi[on] = np.fmin(below, above), np.fmax(below, above)
    return FlightPixels(y, x, ids, pixels.alpha[y, x], a_lo, a_hi, pixels.beta[y, x], pixels.wavelength[y, x],
                        l_lo, l_hi)


@dataclass(frozen=True)
class Perturbation:
    """The true geometry of one band against the flight one (module docstring).

    Parameters
    ----------
    band : str
    velocity_kms : tuple of float
        Legendre coefficients of ``v(t)`` in km/s, ``t`` = the wavelength mapped from the
        band's WAVELENGTHRANGE onto [-1, 1].
    d_alpha, d_beta : float
        Arcsec.
    """

    band: str
    velocity_kms: tuple
    d_alpha: float
    d_beta: float

    def velocity(self, wavelength_um):
        """``v(lambda)`` in km/s."""
        lo, hi = mrs.band(self.band).wavelength_range
        t = 2 * (np.asarray(wavelength_um, float) - lo) / (hi - lo) - 1
        return np.polynomial.legendre.legval(t, self.velocity_kms)

    def velocity_model(self):
        """``v(lambda)`` in km/s as an astropy model (a Legendre series over the band's range)."""
        lo, hi = mrs.band(self.band).wavelength_range
        coefficients = {f"c{i}": c for i, c in enumerate(self.velocity_kms)}
        return models.Legendre1D(len(self.velocity_kms) - 1, domain=[lo, hi], window=[-1, 1], **coefficients)

    def wavelength(self, flight_um):
        """The true wavelength of a flight one: ``lambda (1 + v(lambda) / c)``."""
        flight_um = np.asarray(flight_um, float)
        return flight_um * (1 + self.velocity(flight_um) / C_KMS)


def draw_perturbation(name, effects, rng):
    """Band ``name``'s :class:`Perturbation` (zero with ``geometry_perturbation`` off, nothing drawn).

    ``v``: four Legendre coefficients drawn standard normal, scaled so ``v`` has
    ``wavelength_kms`` rms over the band; ``d_alpha, d_beta``: normal of ``spatial_mas`` rms.
    """
    if not effects.geometry_perturbation:
        return Perturbation(name, (0.0,), 0.0, 0.0)
    coeffs = rng.standard_normal(4)
    rms = np.sqrt(np.mean(np.polynomial.legendre.legval(np.linspace(-1, 1, 201), coeffs) ** 2))
    d_alpha, d_beta = effects.spatial_mas * 1e-3 * rng.standard_normal(2)
    return Perturbation(name, tuple(float(c) for c in coeffs * effects.wavelength_kms / rms), float(d_alpha),
                        float(d_beta))


@dataclass(frozen=True)
class TruePixels:
    """A band's lit pixels with their true coordinates (:class:`FlightPixels` moved by a :class:`Perturbation`)."""

    flight: FlightPixels
    perturbation: Perturbation

    @property
    def wavelength(self):
        """True wavelength at each pixel centre, um."""
        return self.perturbation.wavelength(self.flight.wavelength)

    @property
    def lam_edges(self):
        """True wavelengths at each pixel's two edges along the dispersion ``(lo, hi)``, um."""
        return self.perturbation.wavelength(self.flight.lam_lo), self.perturbation.wavelength(self.flight.lam_hi)

    @property
    def alpha_edges(self):
        """True alpha at each pixel's two edges along the slice ``(lo, hi)``, arcsec."""
        return self.flight.alpha_lo + self.perturbation.d_alpha, self.flight.alpha_hi + self.perturbation.d_alpha


def psf_nodes(name):
    """The wavelengths (um) where band ``name``'s PSF is computed: the range's ends and geometric steps <= PSF_STEP."""
    lo, hi = mrs.band(name).wavelength_range
    return np.geomspace(lo, hi, int(np.ceil(np.log(hi / lo) / np.log1p(PSF_STEP))) + 1)


def psf_sample_arcsec(name):
    """The PSF grid's sample, arcsec: the band's slice width over PSF_SAMPLES_PER_SLICE."""
    return mrs.band(name).beta_del / PSF_SAMPLES_PER_SLICE


@lru_cache(maxsize=256)
def psf_image(name, wavelength_um):
    """The PSF of band ``name`` at ``wavelength_um`` (module docstring): rows along beta, columns along alpha.

    ``PSF_SAMPLES`` square samples of :func:`psf_sample_arcsec`, centred between the two
    middle samples, each the fraction of the light it holds (cached per band and node).
    """
    sample = psf_sample_arcsec(name)
    frame = psf_frame(name)
    image = psf.diffraction(wavelength_um, sample, PSF_SAMPLES, tuple(map(tuple, frame)))
    (l0, f0), (l1, f1) = PSF_BROADENING
    factor = f0 + (f1 - f0) * (wavelength_um - l0) / (l1 - l0)
    sigma = 1.03 * mrs.lambda_over_d(wavelength_um) * np.sqrt(factor**2 - 1) / FWHM_PER_SIGMA / sample
    # the sky's round Gaussian in the band's frame: covariance sigma^2 (A^T A)^-1
    metric = frame.T @ frame
    if np.allclose(metric, np.eye(2), rtol=0, atol=1e-6):  # channels 1-2: the frame is a turn
        return ndimage.gaussian_filter(image, sigma, mode="constant")
    covariance = sigma**2 * np.linalg.inv(metric)
    reach = np.ceil(4 * np.sqrt(np.diag(covariance))).astype(int)  # out to 4 sigma along each axis
    beta, alpha = np.meshgrid(np.arange(-reach[1], reach[1] + 1), np.arange(-reach[0], reach[0] + 1), indexing="ij")
    offsets = np.stack([alpha, beta], axis=-1)
    kernel = np.exp(-0.5 * np.einsum("...i,ij,...j->...", offsets, np.linalg.inv(covariance), offsets))
    return signal.fftconvolve(image, kernel / kernel.sum(), mode="same")


def psf_frame(name):
    """``A``: the sky's arcsec along the pupil's axes (V2 flipped, V3) per arcsec of band ``name``'s (alpha, beta).

    The flight transform's Jacobian to V2/V3 at the band's centre with V2's sign turned (every band's map to
    V2/V3 is a mirror; the pupil is mirror-symmetric about V3, so the flip changes nothing but makes ``A`` a
    turn times a stretch): channels 1-2's is a turn (by 8.2-8.4 deg from V3 to -beta), channels 3-4's alpha is
    0.95-0.96 of the sky's arcsec with a shear of ~0.02 (the flight DISTORTION files; :func:`profile_frame`
    reads a source's profile the same way).  Its change over the field (< 0.6 %) is not followed.  Until session
    30 the PSF was turned the other way (the turn's sense with the mirror ignored) and drawn in each band's
    arcsec as if they were the sky's.
    """
    return np.diag([-1.0, 1.0]) @ _v2v3_jacobian(mrs.band(name), np.zeros(2))


def _strip_weights(name, beta_source, slice_betas, samples=PSF_SAMPLES):
    """Overlap (0-1) of each slice's beta strip with each row of ``samples`` PSF samples, ``(slices, samples)``.

    The grid is centred on ``beta_source``.
    """
    sample = psf_sample_arcsec(name)
    half = mrs.band(name).beta_del / 2
    centres = beta_source + (np.arange(samples) - (samples - 1) / 2) * sample
    lo, hi = centres - sample / 2, centres + sample / 2
    strips = np.asarray(slice_betas)[:, None]
    return np.clip((np.minimum(hi, strips + half) - np.maximum(lo, strips - half)) / sample, 0, 1)


def light_in_slices(name, wavelength_um, alpha, beta):
    """The share of a point source's light at ``(alpha, beta)`` that band ``name``'s slices pass at ``wavelength_um``.

    Straight from the PSF grid (linear between its two nodes, as :func:`psf_share`): the
    light within the slices' beta strips (flight betas) and their SIAF lengths along alpha.
    """
    geometry = mrs.band(name)
    nodes = psf_nodes(name)
    i = int(np.clip(np.searchsorted(nodes, wavelength_um) - 1, 0, len(nodes) - 2))
    w = (wavelength_um - nodes[i]) / (nodes[i + 1] - nodes[i])
    image = (1 - w) * psf_image(name, float(nodes[i])) + w * psf_image(name, float(nodes[i + 1]))
    edges = alpha + (np.arange(PSF_SAMPLES + 1) - PSF_SAMPLES / 2) * psf_sample_arcsec(name)
    cumulative = np.cumsum(_strip_weights(name, beta, np.array(geometry.beta)) @ image, axis=1)
    return sum(float(np.diff(np.interp(geometry.alpha_limits(s), edges, np.r_[0, cumulative[k]]))[0])
               for k, s in enumerate(geometry.slices))


def profile_frame(name, alpha, beta, dither_channel):
    """``M`` (2 x 2): offsets in band ``name``'s frame at ``(alpha, beta)`` -> offsets in band ``<dither_channel>A``'s.

    ``J_ref^-1 J``, each ``J`` the local Jacobian of a band's flight transform to V2/V3 (central differences of
    :data:`PROFILE_FRAME_STEP_ARCSEC`) at the same point of the sky: an extended source's profile is given in the
    reference band's frame (:class:`simulator.config.ExtendedSource`), and the same sky lies in every band's frame
    turned by up to a few degrees and, in channels 3-4, with alpha 0.95-0.96 of the sky's arcsec (the flight
    DISTORTION files).  Exactly the identity in the reference band itself.
    """
    geometry, reference = mrs.band(name), mrs.band(f"{dither_channel}A")
    if reference is geometry:
        return np.eye(2)
    point = np.array([alpha, beta], float)
    there = np.array(reference.from_v2v3(*geometry.to_v2v3(*point)), float)
    return np.linalg.solve(_v2v3_jacobian(reference, there), _v2v3_jacobian(geometry, point))


def _v2v3_jacobian(geometry, point):
    """``d(V2, V3) / d(alpha, beta)`` of ``geometry`` at ``point`` (central differences)."""
    h = PROFILE_FRAME_STEP_ARCSEC
    a = point[0] + np.array([-h, h, 0.0, 0.0])
    b = point[1] + np.array([0.0, 0.0, -h, h])
    v2, v3 = geometry.to_v2v3(a, b)
    return np.array([[v2[1] - v2[0], v2[3] - v2[2]], [v3[1] - v3[0], v3[3] - v3[2]]]) / (2 * h)


def profile_kernel(name, source, frame=None):
    """An :class:`simulator.config.ExtendedSource`'s profile on band ``name``'s PSF grid (rows beta, columns alpha).

    Each sample the profile's integral over its square (the mean of ``KERNEL_SUBSAMPLES``^2
    points in it times its area), over an odd number of samples centred on the source's
    centre, out to its :attr:`~simulator.config.ExtendedSource.extent_arcsec` (at most the PSF grid's width
    each side).  ``frame``: :func:`profile_frame` at the source (None: the identity); the profile is read at
    ``M (d_alpha, d_beta)`` and its density times ``|det M|``, so the band holds the same sky and the same light.
    """
    sample = psf_sample_arcsec(name)
    frame = np.eye(2) if frame is None else np.asarray(frame, float)
    reach = source.extent_arcsec / min(np.linalg.svd(frame, compute_uv=False))  # the extent in this band's arcsec
    half = min(int(np.ceil(reach / sample)) + 1, PSF_SAMPLES)
    sub = (np.arange(KERNEL_SUBSAMPLES) + 0.5) / KERNEL_SUBSAMPLES - 0.5
    points = (np.arange(-half, half + 1)[:, None] + sub[None, :]).ravel() * sample
    d_alpha, d_beta = np.meshgrid(points, points)  # rows beta, columns alpha
    density = source.surface_density(d_alpha, d_beta, frame)
    n = 2 * half + 1
    return density.reshape(n, KERNEL_SUBSAMPLES, n, KERNEL_SUBSAMPLES).mean(axis=(1, 3)) * sample**2


def psf_share(true_pixels, alpha_source, beta_source, kernel=None, grating_order=1):
    """Each pixel's share of the source's light (module docstring, slices): 1-D over the band's pixels.

    ``kernel``: an extended source's profile on the PSF grid (:func:`profile_kernel`), which
    every PSF node is convolved with first (module docstring, extended sources).  ``grating_order``: the
    grating order of the light, whose PSF at a pixel of wavelength ``lambda`` is the one of
    ``lambda / grating_order`` (the spectral leak's 2, :mod:`simulator.spectral_leak`).
    """
    name = true_pixels.perturbation.band
    geometry = mrs.band(name)
    flight = true_pixels.flight
    betas = np.array(geometry.beta) + true_pixels.perturbation.d_beta
    size = PSF_SAMPLES if kernel is None else PSF_SAMPLES + len(kernel) - 1  # the convolution's full grid
    weights = _strip_weights(name, beta_source, betas, size)
    sample = psf_sample_arcsec(name)
    edges = alpha_source + (np.arange(size + 1) - size / 2) * sample
    a_lo, a_hi = true_pixels.alpha_edges
    lam = true_pixels.wavelength
    nodes = psf_nodes(name)
    index = np.clip(np.searchsorted(nodes, lam) - 1, 0, len(nodes) - 2)
    w = np.clip((lam - nodes[index]) / (nodes[index + 1] - nodes[index]), 0, 1)
    share = np.zeros(len(lam))
    far = None if kernel is None else far_light(kernel, PSF_SAMPLES)  # the same for every node
    order = np.argsort(flight.slice, kind="stable")
    bounds = np.searchsorted(flight.slice[order], geometry.slices + (geometry.slices[-1] + 1,))
    for n, node in enumerate(nodes):
        near = (index == n) | (index == n - 1)
        if not np.any(near):
            continue
        image = psf_image(name, float(node) / grating_order)
        if kernel is not None:
            image = extended_image(image, kernel, far)
        cumulative = np.concatenate([np.zeros((len(betas), 1)), np.cumsum(weights @ image, axis=1)], axis=1)
        node_weight = np.where(index == n, 1 - w, w)
        for k in range(len(geometry.slices)):
            pix = order[bounds[k]:bounds[k + 1]]
            pix = pix[near[pix]]
            part = np.interp(a_hi[pix], edges, cumulative[k]) - np.interp(a_lo[pix], edges, cumulative[k])
            share[pix] += node_weight[pix] * part
    return share


def far_light(kernel, n):
    """Where an extended source's PSF light beyond an ``n``-sample grid lands, per unit of it (full grid).

    On :func:`extended_image`'s grid (the convolution's full grid), ``F = p * H + p_edge (1 - 1_p * H)``: ``H`` the
    far wings, ``c / r^3`` beyond the PSF grid's square (half-width ``R = n / 2`` samples) and 0 within, ``c = R /
    (4 sqrt 2)`` so that it holds 1 over the plane (the diffraction wing's azimuthal mean; round in the band's arcsec
    and without the hexagon's spikes, a SIMPLIFICATION); ``p`` the profile on its grid, cut at
    :func:`profile_kernel`'s reach, and beyond that cut continued at ``p_edge``, the mean of its outermost samples
    (``1_p`` its grid's indicator).  So a uniform source gets all of it back (its distant parts send it in: the sky's
    surface brightness, the PHOTOM's), and a compact one gets it only beyond the grid's reach, where its far wings
    fall.
    """
    k = len(kernel)
    m = n + 2 * k - 2  # H's offsets reach from any point of the full grid to any of the profile's
    d = np.arange(m) - (m - 1) / 2
    d_alpha, d_beta = np.meshgrid(d, d)
    radius = np.hypot(d_alpha, d_beta)
    wings = np.where((np.abs(d_alpha) > n / 2) | (np.abs(d_beta) > n / 2), n / 2 / (4 * np.sqrt(2)) / radius**3, 0.0)
    edge = np.concatenate([kernel[0], kernel[-1], kernel[1:-1, 0], kernel[1:-1, -1]]).mean()
    beyond = 1 - signal.fftconvolve(np.ones_like(kernel), wings, mode="valid")
    return signal.fftconvolve(kernel, wings, mode="valid") + edge * beyond


def extended_image(psf_node, kernel, far=None):
    """An extended source's image at one PSF node on the convolution's full grid: ``PSF * p + (1 - sum PSF) F``.

    ``p`` the profile (:func:`profile_kernel`), ``F`` :func:`far_light` (computed here unless given: it is the same
    for every node of a band).  Until session 31 the PSF was scaled to hold all its light instead, which gave the
    far wings to a compact source's core: a band's image of one sky was brighter by one over its grid's share of
    the PSF's light, 2.2 % more in 1B's 5.7" grid than in 3A's 12.5" at 6.1 um, which the leak's cube correction
    then over-subtracted (docs/mrs.md, 'The extended source's leak sum located').
    """
    far = far_light(kernel, len(psf_node)) if far is None else far
    return signal.fftconvolve(psf_node, kernel, mode="full") + (1 - psf_node.sum()) * far


def pixel_photons(spectrum, lam_lo, lam_hi):
    """Photons s^-1 m^-2 of ``spectrum`` in each ``[lam_lo, lam_hi]`` after the LSF (module docstring, spectrum)."""
    lo, hi = float(np.min(lam_lo)), float(np.max(lam_hi))
    margin = LSF_HALF_WIDTH_SIGMA / FWHM_PER_SIGMA  # in u, where the FWHM is 1
    du = 1.0 / LSF_BINS_PER_FWHM
    u = np.arange(_resolution_coordinate(lo) - margin, _resolution_coordinate(hi) + margin + du, du)
    grid = _wavelength_of(u, lo * np.exp((u - _resolution_coordinate(lo)) / resolving_power(lo)))
    smooth = spectrum.smooth()
    half = int(np.ceil(LSF_HALF_WIDTH_SIGMA / FWHM_PER_SIGMA / du))
    k = np.arange(-half, half + 1) * du * FWHM_PER_SIGMA  # bin edges -/+ du/2 around each, in sigma
    kernel = ndtr(k + du * FWHM_PER_SIGMA / 2) - ndtr(k - du * FWHM_PER_SIGMA / 2)
    convolved = np.convolve(smooth.photons_in_bins(grid), kernel / kernel.sum(), mode="same")
    cumulative = np.concatenate([[0.0], np.cumsum(convolved)])
    photons = np.interp(lam_hi, grid, cumulative) - np.interp(lam_lo, grid, cumulative)
    for line in spectrum.emission:
        sigma = np.hypot(line.sigma_um, line.centre_um / resolving_power(line.centre_um) / FWHM_PER_SIGMA)
        photons = photons + line.photons * (ndtr((lam_hi - line.centre_um) / sigma)
                                            - ndtr((lam_lo - line.centre_um) / sigma))
    return photons


def render_source(true_pixels, spectrum, alpha_source, beta_source, kernel=None, grating_order=1):
    """e-/s of one source at ``(alpha, beta)`` (the band's frame) on each of the band's pixels.

    A point source, or with ``kernel`` (:func:`profile_kernel`) an extended one centred there;
    ``grating_order`` as :func:`psf_share`'s.
    """
    lam_lo, lam_hi = true_pixels.lam_edges
    channel = int(true_pixels.perturbation.band[0])
    return (imager.COLLECTING_AREA_M2 * EFFICIENCY[channel] * pixel_photons(spectrum, lam_lo, lam_hi)
            * psf_share(true_pixels, alpha_source, beta_source, kernel, grating_order))


def pixel_solid_angle_arcsec2(true_pixels):
    """Each pixel's true solid angle on the sky, ``|d alpha| beta_del``, arcsec^2."""
    a_lo, a_hi = true_pixels.alpha_edges
    return (a_hi - a_lo) * mrs.band(true_pixels.perturbation.band).beta_del


def render_background(true_pixels, mjy_sr):
    """e-/s of a uniform sky of flat F_nu ``mjy_sr`` on each of the band's pixels (module docstring, sky)."""
    lam_lo, lam_hi = true_pixels.lam_edges
    geometry = mrs.band(true_pixels.perturbation.band)
    solid_angle = pixel_solid_angle_arcsec2(true_pixels) * _ARCSEC2_SR
    photons = PHOTONS_PER_MJY * mjy_sr * 1e9 * solid_angle * np.log(lam_hi / lam_lo)
    return imager.COLLECTING_AREA_M2 * EFFICIENCY[geometry.channel] * photons


def _sky_mjy_sr(name, background_mjy_sr, effects):
    """The sky of band ``name``, MJy/sr: ``background_mjy_sr`` + the band's placeholders with the background model."""
    return background_mjy_sr + (band_background_mjy_sr(name) if effects.optics.background_model else 0.0)


def render_sky(true_pixels, background_mjy_sr, effects):
    """e-/s of the uniform sky on each of the band's pixels (module docstring, sky).

    ``background_mjy_sr`` plus, with ``effects.optics.background_model``, the band's zodiacal +
    thermal placeholders (:func:`band_background_mjy_sr`); on band 3A with ``effects.mrs.spectral_leak``,
    plus the leak of band 1B's sky (:func:`sky_leak`).
    """
    name = true_pixels.perturbation.band
    sky = _sky_mjy_sr(name, background_mjy_sr, effects)
    light = render_background(true_pixels, sky) if sky > 0 else np.zeros(len(true_pixels.flight.x))
    if effects.mrs.spectral_leak and name == spectral_leak.LEAK_BAND:
        light = light + sky_leak(true_pixels, background_mjy_sr, effects)
    return light


def sky_leak(true_pixels, background_mjy_sr, effects):
    """e-/s of the uniform sky's spectral leak on band 3A's pixels: ``f(lambda) I_1B`` (:mod:`simulator.spectral_leak`).

    ``I_1B`` the sky of band 1B (:func:`render_sky`'s at 1B's centre), as flat F_nu over 3A's pixels.
    """
    curve = spectral_leak.LeakCurve.from_effects(effects.mrs)
    return (render_background(true_pixels, _sky_mjy_sr(spectral_leak.SOURCE_BAND, background_mjy_sr, effects))
            * curve(true_pixels.wavelength))


def source_leak(true_pixels, source, alpha, beta, effects, kernel=None):
    """e-/s of one source's spectral leak ``f(lambda) S(lambda/2)`` on 3A's pixels (:mod:`simulator.spectral_leak`).

    Rendered as the source itself (:func:`render_source`, with ``kernel``, its profile if extended,
    :func:`profile_kernel`) with the 6 um PSF (``grating_order`` 2).
    """
    spectrum = spectral_leak.LeakSpectrum(source.source_spectrum, spectral_leak.LeakCurve.from_effects(effects.mrs))
    return render_source(true_pixels, spectrum, alpha, beta, kernel, grating_order=spectral_leak.ORDER)


def _decayed(light, true_pixels, effects, mid_time):
    """``light`` times the throughput's decay at each pixel's true wavelength and ``mid_time`` (when it is on)."""
    if not effects.optics.throughput_decay:
        return light
    return light * mrs_throughput.relative_throughput(true_pixels.wavelength, mid_time)


def render_extended(true_pixels, spectrum):
    """e-/s of a uniform extended source of ``spectrum`` per arcsec^2 on each of the band's pixels.

    The spectrum's mJy and W m^-2 are per arcsec^2; its photons through the LSF
    (:func:`pixel_photons`) times each pixel's solid angle.
    """
    lam_lo, lam_hi = true_pixels.lam_edges
    channel = int(true_pixels.perturbation.band[0])
    return (imager.COLLECTING_AREA_M2 * EFFICIENCY[channel] * pixel_photons(spectrum, lam_lo, lam_hi)
            * pixel_solid_angle_arcsec2(true_pixels))


def source_positions(scene, observation):
    """Each source's telescope ``(V2, V3)`` (module docstring, sources)."""
    frame = mrs.band(f"{observation.dither_channel}A")
    position = None
    if observation.dither_points:
        pattern = mrs_dither.dither_pattern(observation.dither_points, "point", observation.dither_channel,
                                            observation.dither_orientation)
        position = pattern[observation.dither_position - 1]
    home = mrs_dither.target_v2v3(observation.dither_channel)
    v2_move, v3_move = np.subtract(mrs_dither.target_v2v3(observation.dither_channel, position), home)
    origin = frame.from_v2v3(*home)
    # the offset is on the sky about the undithered target; the dither shifts the sky (not the offset in alpha/beta,
    # which the distortion would make a different sky offset at each position, by up to 4 mas in a channel-4 pattern)
    return [tuple(float(v) + m for v, m in zip(frame.to_v2v3(origin[0] + s.along_slit_arcsec,
                                                             origin[1] + s.across_slit_arcsec), (v2_move, v3_move),
                                                strict=True))
            for s in scene.sources]


def illuminate(scene, observation, effects, rng):
    """The MRS illumination of the observation's detector (module docstring).

    Parameters
    ----------
    scene : simulator.config.Scene
        Its sources are :class:`simulator.config.SpectralSource`.
    observation : simulator.config.MrsObservation
    effects : simulator.config.Effects
    rng : numpy.random.Generator
        The optics stream (the perturbation of each band, in band order).

    Returns
    -------
    simulator.illumination.Illumination
    """
    image = np.zeros((det.FULL_NY, det.FULL_NX))
    maps = {key: np.full(image.shape, np.nan, np.float32) for key in ("ALPHA", "BETA", "WAVELENGTH")}
    slices = np.zeros(image.shape, np.int16)
    transmission = {key: np.ones(image.shape, np.float32) for key in ("FRINGE", "FRINGE_EXTENDED")}
    v2v3 = source_positions(scene, observation)
    rows, perturbations, leak_image = [], [], None
    mid_time = mid_time_mjd(observation)
    for name in observation.bands:
        perturbation = draw_perturbation(name, effects.mrs, rng)
        perturbations.append(perturbation)
        pixels = TruePixels(flight_pixels(name), perturbation)
        # (light, a point source's beta): the parts stay apart for the fringes; the sky's with its leak on 3A
        parts = [(render_sky(pixels, scene.background_mjy_sr, effects), None)]
        leaks = effects.mrs.spectral_leak and name == spectral_leak.LEAK_BAND
        leak = sky_leak(pixels, scene.background_mjy_sr, effects) if leaks else None
        geometry = mrs.band(name)
        for i, (source, (v2, v3)) in enumerate(zip(scene.sources, v2v3, strict=True)):
            alpha, beta = (float(c) for c in geometry.from_v2v3(v2, v3))
            kernel = (profile_kernel(name, source, profile_frame(name, alpha, beta, observation.dither_channel))
                      if isinstance(source, ExtendedSource) else None)
            fill = None if kernel is not None else beta
            parts.append((render_source(pixels, source.source_spectrum, alpha, beta, kernel), fill))
            if leaks:
                source_part = source_leak(pixels, source, alpha, beta, effects, kernel)
                parts.append((source_part, fill))
                leak += source_part
            rows.append((i, name, v2, v3, alpha, beta))
        light = parts[0][0].copy()
        for part, _ in parts[1:]:
            light += part
        f = pixels.flight
        if effects.mrs.fringes:
            light = _fringed(parts, light, fringes.Etalon(pixels, effects.mrs), f, transmission)
        light = _decayed(light, pixels, effects, mid_time)
        if leaks:  # the truth's LEAK: the leak's light before the fringes
            leak_image = np.zeros(image.shape, np.float32)
            leak_image[f.y, f.x] = _decayed(leak, pixels, effects, mid_time)
        image[f.y, f.x] = light
        slices[f.y, f.x] = f.slice
        maps["ALPHA"][f.y, f.x] = f.alpha + perturbation.d_alpha
        maps["BETA"][f.y, f.x] = f.beta + perturbation.d_beta
        maps["WAVELENGTH"][f.y, f.x] = pixels.wavelength
    detector = observation.detector
    sources = Table(rows=rows, names=("id", "band", "v2", "v3", "alpha", "beta"),
                    dtype=(int, str, float, float, float, float)) if rows else Table(
        names=("id", "band", "v2", "v3", "alpha", "beta"), dtype=(int, str, float, float, float, float))
    for column in ("v2", "v3", "alpha", "beta"):
        sources[column].unit = u.arcsec
    lines = [source.source_spectrum.line_truth() for source in scene.sources]
    for i, t in enumerate(lines):
        t["source_id"] = np.full(len(t), i)
    components = (
        Component("SLICE", slices, description="true slice id of each pixel (100 channel + n), 0 none",
                  detector=detector),
        Component("ALPHA", maps["ALPHA"], unit="arcsec", description="true alpha of each pixel centre",
                  detector=detector),
        Component("BETA", maps["BETA"], unit="arcsec", description="true beta of each pixel's slice",
                  detector=detector),
        Component("WAVELENGTH", maps["WAVELENGTH"], unit="um", description="true wavelength of each pixel centre",
                  detector=detector),
        Component("PERTURBATION", _perturbation_table(perturbations),
                  description="true geometry against the flight one per band: v(lambda) Legendre coefficients "
                              "(km/s) over the band's range, d_alpha, d_beta (arcsec)", detector=detector),
        Component("SOURCES", sources, description="sources: true V2/V3 and alpha/beta in each band's frame",
                  detector=detector),
        Component("LINES", _stack(lines), description="each source's lines (simulator.spectra line_truth)"),
    )
    if effects.mrs.cross_artifact:  # scattered in the detector: after all the light, before the detector layer
        image, artifact = cross_artifact.apply(image, observation, effects.mrs)
        components += (
            Component("XART", artifact.astype(np.float32), unit="electron/s", detector=detector,
                      description="injected cross-artifact (simulator.cross_artifact), included in the light"),
            Component("XARTKERNEL", cross_artifact.kernel_table(observation, effects.mrs), detector=detector,
                      description="true cross-artifact kernel per band (MRSXARTCORR quantities, px)"))
    if leak_image is not None:
        components += (Component("LEAK", leak_image, unit="electron / s",
                                 description="the spectral leak's e-/s in each pixel of band 3A (sources and sky; "
                                             "simulator.spectral_leak), included in the illumination",
                                 detector=detector),)
    if effects.mrs.fringes:
        components += (
            Component("FRINGE", transmission["FRINGE"], description="fringe transmission of each pixel's light, "
                      "all sources and sky (fringed / unfringed light; simulator.fringes)", detector=detector),
            Component("FRINGE_EXTENDED", transmission["FRINGE_EXTENDED"], description="fringe transmission of "
                      "extended light filling the slice (what an ideal fringe flat holds)", detector=detector))
    header = {"CHANNEL": (observation.channels, "MRS channels"), "BAND": (observation.band, "MRS grating setting")}
    return Illumination({detector: image}, header, components)


def _fringed(parts, light, etalon, flight, transmission):
    """The band's light through the etalon (:mod:`simulator.fringes`), both transmissions kept in ``transmission``.

    The sky and extended sources take the extended light's transmission, each point source its own.
    """
    fringed = sum(part * (etalon.extended if beta is None else etalon.point(beta)) for part, beta in parts)
    transmission["FRINGE"][flight.y, flight.x] = np.where(light > 0, fringed / np.where(light > 0, light, 1),
                                                          etalon.extended)
    transmission["FRINGE_EXTENDED"][flight.y, flight.x] = etalon.extended
    return fringed


def _perturbation_table(perturbations):
    degree = max(len(p.velocity_kms) for p in perturbations)
    return Table({"band": [p.band for p in perturbations],
                  "wavelength_min_um": [mrs.band(p.band).wavelength_range[0] for p in perturbations],
                  "wavelength_max_um": [mrs.band(p.band).wavelength_range[1] for p in perturbations],
                  "velocity_kms": np.array([np.pad(p.velocity_kms, (0, degree - len(p.velocity_kms)))
                                            for p in perturbations]),
                  "d_alpha": [p.d_alpha for p in perturbations] * u.arcsec,
                  "d_beta": [p.d_beta for p in perturbations] * u.arcsec})


def perturbations_from_table(table):
    """The :class:`Perturbation` of each band from a truth ``PERTURBATION`` table, ``{band: Perturbation}``."""
    return {str(row["band"]): Perturbation(str(row["band"]), tuple(float(c) for c in row["velocity_kms"]),
                                           float(row["d_alpha"]), float(row["d_beta"])) for row in table}


def _stack(tables):
    columns = ["source_id", "kind", "centre_um", "fwhm_um", "tau", "flux_w_m2", "continuum_mjy"]
    rows = [t[columns] for t in tables if len(t)]
    if not rows:
        return Table(names=columns, dtype=(int, str, float, float, float, float, float))
    return vstack(rows)


def describe_exposure(meta, observation):
    """Set the MRS keywords of an uncal: EXP_TYPE MIR_MRS, CHANNEL, BAND and the dither's (as MRS uncals carry them).

    APERNAME is the aperture whose reference point the target is put on, ``MIRIFU_CHANNEL<c>A``
    (:func:`source_positions`), and XOFFSET / YOFFSET the dither's offset in its Ideal frame (0 without a dither).
    """
    meta.exposure.type = MODE.exp_type
    meta.instrument.channel = observation.channels
    meta.instrument.band = observation.band
    meta.aperture.name = f"MIRIFU_CHANNEL{observation.dither_channel}A"
    if observation.dither_points:
        position = mrs_dither.dither_pattern(observation.dither_points, "point", observation.dither_channel,
                                             observation.dither_orientation)[observation.dither_position - 1]
        meta.dither.primary_type = f"{observation.dither_points}-POINT"
        meta.dither.optimized_for = "POINT-SOURCE"
        meta.dither.direction = observation.dither_orientation.upper()
        meta.dither.primary_channel = f"CHANNEL{observation.dither_channel}"
        meta.dither.position_number = dither_position(observation)
        meta.dither.total_points = observation.dither_points
        meta.dither.x_offset, meta.dither.y_offset = position.dx_ideal, position.dy_ideal
    else:
        meta.dither.primary_type = "NONE"
        meta.dither.total_points = 1
        meta.dither.position_number = dither_position(observation)
        meta.dither.x_offset, meta.dither.y_offset = 0.0, 0.0


def _velocity_factor(velocity, sign):
    """The model ``lambda -> lambda (1 + sign v(lambda) / c)`` for a model ``v`` in km/s.

    ``sign`` -1: the inverse to first order in v/c, exact to (v/c)^2 ~ 1e-10.
    """
    return models.Identity(1) * (models.Const1D(1.0) + models.Const1D(sign / C_KMS) * velocity)


def moved_geometry(distortion, specwcs, moves):
    """The flight DISTORTION and SPECWCS models with each slice's moved, in place.

    ``moves[k] = (v, d_alpha, d_beta)`` for slice ``k``: ``alpha_k | Shift(d_alpha)``,
    ``beta_k | Shift(d_beta)``, the inverse ``(lambda (1 - v/c), alpha - d_alpha) | x_k`` and
    ``y_k``, and ``lambda_k | lambda (1 + v/c)`` (:func:`_velocity_factor`).
    """
    distortion.alpha_model = [a | models.Shift(da) for a, (_, da, _) in zip(distortion.alpha_model, moves, strict=True)]
    distortion.beta_model = [b | models.Shift(db) for b, (_, _, db) in zip(distortion.beta_model, moves, strict=True)]
    distortion.x_model = [(_velocity_factor(v, -1) & models.Shift(-da)) | x
                          for x, (v, da, _) in zip(distortion.x_model, moves, strict=True)]
    distortion.y_model = [(_velocity_factor(v, -1) & models.Shift(-da)) | y
                          for y, (v, da, _) in zip(distortion.y_model, moves, strict=True)]
    specwcs.model = [lam | _velocity_factor(v, 1) for lam, (v, _, _) in zip(specwcs.model, moves, strict=True)]


def wavecal_exposure(observation, perturbations, options, rng):
    """The wavelength calibration exposure of the observation's detector (:mod:`simulator.mrs_wavecal`).

    Each band's comb rendered through its TRUE geometry (:func:`render_extended`) on the columns
    measured (:data:`simulator.mrs_wavecal.COLUMN_STEP`: the others stay dark, to save time), in
    electrons after ``options.wavecal_exposure_s`` (Poisson + read noise); returns
    ``(electrons, {band: comb})``.
    """
    expected = np.zeros((det.FULL_NY, det.FULL_NX))
    combs = {}
    for name in observation.bands:
        combs[name] = mrs_wavecal.comb(name, resolving_power, _resolution_coordinate)
        flight = flight_pixels(name)
        pixels = TruePixels(_subset(flight, flight.x % mrs_wavecal.COLUMN_STEP == 0), perturbations[name])
        expected[pixels.flight.y, pixels.flight.x] = render_extended(pixels, combs[name])
    return lrs_wavecal.observe(expected, options.wavecal_exposure_s, rng), combs


def _subset(flight, keep):
    """The :class:`FlightPixels` where ``keep`` is true."""
    return FlightPixels(*(getattr(flight, f.name)[keep] for f in fields(FlightPixels)))


def raster_offsets(observation, perturbations, rng):
    """Each band's measured ``(d_alpha, d_beta)``, arcsec (:mod:`simulator.mrs_spatialcal`).

    Per band, the raster's point source rendered through the TRUE geometry
    (:func:`render_source`) on the pixels measured (:func:`simulator.mrs_spatialcal.measured_pixels`), at each
    commanded position plus its pointing error, observed (Poisson + read noise) and centroided
    in the flight coordinates.
    """
    offsets = {}
    for name in observation.bands:
        flight = flight_pixels(name)
        rows = _subset(flight, mrs_spatialcal.measured_pixels(flight.y, flight.slice, flight.wavelength))
        pixels = TruePixels(rows, perturbations[name])
        commanded = mrs_spatialcal.raster(name, float(np.median(rows.alpha_hi - rows.alpha_lo)))
        pointed = commanded + mrs_spatialcal.POINTING_MAS * 1e-3 * rng.standard_normal(commanded.shape)
        spectrum = mrs_spatialcal.source()
        exposures = [lrs_wavecal.observe(render_source(pixels, spectrum, a, b), mrs_spatialcal.EXPOSURE_S, rng)
                     for a, b in pointed]
        offsets[name] = mrs_spatialcal.measured_offset(name, exposures, rows.alpha, rows.beta, commanded)[0]
    return offsets


def measured_velocities(observation, perturbations, options, rng):
    """Each band's measured velocity correction ``{band: v_m}`` (:func:`simulator.mrs_wavecal.measured_velocity`)."""
    electrons, combs = wavecal_exposure(observation, perturbations, options, rng)
    velocities = {}
    for name in observation.bands:
        pixels = flight_pixels(name)
        lam = float(np.median(pixels.wavelength))
        fwhm_rows = lam / float(resolving_power(lam)) / float(np.median(pixels.lam_hi - pixels.lam_lo))
        velocities[name] = mrs_wavecal.measured_velocity(name, electrons, mrs.band_map(name), combs[name],
                                                         fwhm_rows)[0]
    return velocities


def xart_exposure(observation, perturbations, mrs_effects, rng, alpha_offsets=(0.0,)):
    """The cross-artifact calibration exposure of the observation's detector (:mod:`simulator.mrs_xartcal`).

    The point source at the reference point of the detector's first channel (moved along alpha by each of
    ``alpha_offsets``, arcsec in that channel's A frame: a raster, one exposure per position), through each band's
    TRUE pixels (:func:`render_source`) on :func:`simulator.mrs_xartcal.rows`, plus the band's sky
    (:func:`band_background_mjy_sr`), with the TRUE cross-artifact (:func:`simulator.cross_artifact.apply`),
    observed (:func:`simulator.mrs_xartcal.observe`, integrations of :func:`simulator.mrs_xartcal.integration_s`),
    less a background exposure of the same sky and its artifact observed alike.  Returns ``(electrons, variance)``,
    ``(positions x rows, columns)``.
    """
    measured = mrs_xartcal.rows()
    channel = int(observation.channels[0])
    frame = mrs.band(f"{channel}A")
    home = frame.from_v2v3(*mrs_dither.target_v2v3(channel))
    spectrum = mrs_xartcal.source()
    shape = (len(measured), det.FULL_NX)
    sky = np.zeros(shape)
    pixels = {}
    for name in observation.bands:
        flight = flight_pixels(name)
        pixels[name] = TruePixels(_subset(flight, flight.y % mrs_xartcal.ROW_STEP == 0), perturbations[name])
        sky[pixels[name].flight.y // mrs_xartcal.ROW_STEP, pixels[name].flight.x] = render_background(
            pixels[name], band_background_mjy_sr(name))
    scattered_sky = cross_artifact.apply(sky, observation, mrs_effects)[0]
    variance_read = mrs_xartcal.read_noise_e() ** 2
    electrons, variance = [], []
    for offset in alpha_offsets:
        v2, v3 = frame.to_v2v3(home[0] + offset, home[1])
        light = sky.copy()
        for name, p in pixels.items():
            alpha, beta = (float(c) for c in mrs.band(name).from_v2v3(v2, v3))
            light[p.flight.y // mrs_xartcal.ROW_STEP, p.flight.x] += render_source(p, spectrum, alpha, beta)
        light = cross_artifact.apply(light, observation, mrs_effects)[0]
        integration = mrs_xartcal.integration_s(light)
        on = mrs_xartcal.observe(light, integration, rng)
        off = mrs_xartcal.observe(scattered_sky, integration, rng)
        electrons.append(on - off)
        variance.append(np.maximum(on, 0) + np.maximum(off, 0) + 2 * variance_read)
    return np.concatenate(electrons), np.concatenate(variance)


def measured_xart_kernels(observation, perturbations, mrs_effects, rng):
    """The observation's two bands' MRSXARTCORR kernels fitted on :func:`xart_exposure` (:mod:`simulator.mrs_xartcal`).

    Returns ``({band: Kernel}, {band: {parameter: 1-sigma}})``.
    """
    electrons, variance = xart_exposure(observation, perturbations, mrs_effects, rng)
    gaps = np.tile(mrs_xartcal.gap_pixels(observation.bands, mrs_xartcal.rows()),
                   (len(electrons) // len(mrs_xartcal.rows()), 1))
    kernels, errors, _ = mrs_xartcal.fit(electrons, variance, gaps, observation.bands)
    return kernels, errors


def _pair_and_selection(observation):
    """The band pair's file-name code (e.g. ``12A``) and the reference-selection keywords of the observation."""
    return observation.channels + mrs.SETTINGS[observation.band], refmeta.Selection(
        detector=observation.detector, exp_type=MODE.exp_type, channel=observation.channels, band=observation.band)


def geometry_moves(observation, perturbations, options, rng):
    """Each band's move of its flight geometry, ``{band: (v, d_alpha, d_beta)}`` (:func:`moved_geometry`'s per band).

    ``perfect``: the truth's (``v`` its velocity model); ``measured``: the velocity measured on a simulated line
    source (:func:`measured_velocities`) and the offsets on a point-source raster (:func:`raster_offsets`), both
    with ``rng``'s noise.  ``v`` is an astropy model of the flight wavelength, km/s.
    """
    if options.kind == "perfect":
        return {name: (p.velocity_model(), p.d_alpha, p.d_beta) for name, p in perturbations.items()}
    velocities = measured_velocities(observation, perturbations, options, rng)
    offsets = raster_offsets(observation, perturbations, rng)
    return {name: (velocities[name], *offsets[name]) for name in observation.bands}


def write_geometry(folder, observation, perturbations, options, rng=None, moves=None):
    """The DISTORTION, SPECWCS and WAVELENGTHRANGE of the observation's band pair in ``folder``; ``{reftype: path}``.

    ``perturbations``: the truth's ``{band: Perturbation}``; ``rng``: the measured wavelength
    calibration's noise (:func:`measured_velocities`); ``moves``: :func:`geometry_moves`' result, when made
    already (``rng`` is then not used).  See :func:`write_references`.
    """
    if moves is None:
        moves = geometry_moves(observation, perturbations, options, rng)
    description = ("MRS true geometry (perfect)" if options.kind == "perfect" else
                   "MRS geometry measured on a simulated line source (wavelengths) and point-source raster")
    pair, selection = _pair_and_selection(observation)
    paths = {}
    with mrs._opened(dm.DistortionMRSModel, f"jwst_miri_mrs{pair}_distortion_flt9.asdf") as flight:
        distortion = flight.copy()
    with mrs._opened(dm.SpecwcsModel, f"jwst_miri_mrs{pair}_specwcs_flt9.asdf") as flight:
        specwcs = flight.copy()
    moved_geometry(distortion, specwcs,
                   [moves[f"{s // 100}{mrs.SETTINGS[observation.band]}"] for s in distortion.slices])
    with asdf.config_context() as config:
        # the measured velocity's knots inline: a reader may close the file before evaluating (jwst does)
        config.array_inline_threshold = 10 * mrs_wavecal.KNOTS
        paths["DISTORTION"] = _save(distortion, "DISTORTION", selection,
                                    folder / f"miri_testbed_mrs{pair}_distortion.asdf", description)
        paths["SPECWCS"] = _save(specwcs, "SPECWCS", selection, folder / f"miri_testbed_mrs{pair}_specwcs.asdf",
                                 description)
    with mrs._opened(dm.WavelengthrangeModel, "jwst_miri_mrs_wavelengthrange_flt9.asdf") as flight:
        model = flight.copy()
    paths["WAVELENGTHRANGE"] = _save(model, "WAVELENGTHRANGE", refmeta.Selection(exp_type=MODE.exp_type),
                                     folder / "miri_testbed_mrs_wavelengthrange.asdf", description)
    return paths


def band_pair_generator(references_rng, observation):
    """The band pair's generator of its measured references' errors: a child of ``references_rng``'s seed.

    Keyed on the detector and the grating setting.  Each band's PHOTOM and APCORR are measured on
    their own standard-star exposures, and each setting's wavelengths and offsets on its own
    calibration exposures, so the errors of the six band pairs are independent draws; a dither set's
    positions (one detector and setting) share them.  (Before, every pair took the seed's stream
    itself: 4A, 4B and 4C of one seed carried the same error curve.)
    """
    return keyed_generator(references_rng, BAND_PAIR_KEY, MODE.detectors.index(observation.detector),
                           list(mrs.SETTINGS).index(observation.band))


#: The first element of :func:`band_pair_generator`'s spawn key: it keeps its children apart from the ones
#: ``spawn`` makes (whose keys add one small counter).
BAND_PAIR_KEY = 0x4D5253


def write_references(folder, scene, observation, options, effects, truth, light, references_rng, optics_rng):
    """The MRS geometry, PHOTOM and APCORR references; ``{reftype: path}``.

    PHOTOM (:mod:`simulator.mrs_photom`): MJy/sr per DN/s of every lit pixel and the
    throughput's time coefficients, perfect or measured; APCORR (:mod:`simulator.mrs_apcorr`):
    the point-source aperture correction of the cube's extraction, perfect or measured;
    ``references_rng`` draws the measured ones' errors (the PHOTOM's first).

    Geometry (:func:`write_geometry`, :func:`moved_geometry`), ``perfect``: the TRUE geometry in the JWST formats, the
    flight files of the detector's band pair with each slice's models moved by the truth's
    PERTURBATION: DISTORTION (``DistortionMRSModel``: ``alpha_k | Shift(d_alpha)``,
    ``beta_k | Shift(d_beta)``, the inverse ``(lambda (1 - v/c), alpha - d_alpha) | x_k`` and
    ``y_k``, exact to (v/c)^2 ~ 1e-10), SPECWCS (``SpecwcsModel``: ``lambda_k | lambda (1 + v/c)``)
    and the flight WAVELENGTHRANGE (the ranges are not perturbed).  ``measured`` (the default):
    the same with the velocity ``v_m`` measured on a simulated line-source exposure of the
    detector (:func:`measured_velocities`, :mod:`simulator.mrs_wavecal`; its noise from a
    generator spawned from ``references_rng``, so the PHOTOM's draws come first as before) and
    the alpha/beta offsets measured on a simulated point-source raster (:func:`raster_offsets`,
    :mod:`simulator.mrs_spatialcal`, the same generator after the wavelengths'); its error
    against the truth is the measurement's (no inverse crime: ``v_m`` is piecewise linear, ``v``
    a cubic; the offsets are centroids that know no PSF).

    With the cross-artifact on, the MRSXARTCORR (:func:`simulator.cross_artifact.reference_model`): ``measured``,
    the two bands' kernels fitted on :func:`xart_exposure` (:func:`measured_xart_kernels`), its noise and the
    other bands' drawn errors from a generator spawned from ``references_rng`` (spawning draws nothing from it: the
    other files stay as without the effect).

    With the spectral leak on band 3A, the MRSPTCORR (:func:`leak_model`): ``measured``, the curve fitted on
    simulated 1B and 3A exposures (:func:`measured_leak`, :mod:`simulator.mrs_leakcal`), calibrated with this
    PHOTOM and 1B's as the 1B exposure of the same seed writes it; its noise from a generator spawned after the
    others, and one normal still drawn where the amplitude error was drawn before, so every other file (the
    FRINGE after it too) stays as it was.
    """
    table = next(c.data for c in light.components if c.name == "PERTURBATION" and c.detector == observation.detector)
    perturbations = perturbations_from_table(table)
    pair_rng = band_pair_generator(references_rng, observation)
    folder.mkdir(parents=True, exist_ok=True)
    moves = geometry_moves(observation, perturbations, options, pair_rng.spawn(1)[0])
    paths = write_geometry(folder, observation, perturbations, options, moves=moves)
    pair, selection = _pair_and_selection(observation)
    bands = [(pixels, render_background(pixels, 1.0)) for pixels in
             (TruePixels(flight_pixels(name), perturbations[name]) for name in observation.bands)]
    measured = options.kind == "measured"
    draws = (mrs_photom.measured_draws(observation.bands, options, effects.optics.throughput_decay, pair_rng)
             if measured else None)
    photom = mrs_photom.photom_model(bands, truth.gain, options, effects, mid_time_mjd(observation), pair_rng, draws)
    paths["PHOTOM"] = _save(photom, "PHOTOM", selection, folder / f"miri_testbed_mrs{pair}_photom.fits",
                            f"MRS MJy/sr per DN/s and throughput time dependence ({options.kind})")
    apcorr = mrs_apcorr.apcorr_model(observation.bands, observation.channels, observation.band, options,
                                     pair_rng, mrs_dither.target_v2v3(observation.dither_channel))
    paths["APCORR"] = _save(apcorr, "APCORR", selection, folder / f"miri_testbed_mrs{pair}_apcorr.asdf",
                            f"MRS point-source aperture correction, annulus {mrs_apcorr.ANNULUS_LD} lambda/D "
                            f"({options.kind})")
    if effects.mrs.cross_artifact:  # its generator spawned last: the files above stay as without it
        xart_rng = pair_rng.spawn(1)[0]
        fitted = None
        if measured:
            fitted = measured_xart_kernels(observation, perturbations, effects.mrs, xart_rng)[0]
        xart = cross_artifact.reference_model(effects.mrs, options, xart_rng, fitted)
        how = ("truth" if fitted is None else
               f"{' and '.join(observation.bands)} fitted on a simulated point-source exposure, the others drawn")
        paths["MRSXARTCORR"] = _save(xart, "MRSXARTCORR", refmeta.Selection(exp_type=MODE.exp_type),
                                     folder / f"miri_testbed_mrs{pair}_xartcorr.fits",
                                     f"MRS cross-artifact kernels of the 12 bands ({options.kind}: {how})")
    if effects.mrs.spectral_leak and spectral_leak.LEAK_BAND in observation.bands:
        leak_fit = None
        if measured:
            # one normal drawn where the placeholder amplitude was drawn (before the fit), so the FRINGE drawn after
            # it stays as it was; the fit's noise from a generator spawned after the others (spawning draws nothing)
            pair_rng.standard_normal()
            leak_fit = measured_leak(perturbations, moves, draws, options, effects, references_rng, optics_rng,
                                     pair_rng.spawn(1)[0])
        how = ("truth" if leak_fit is None else
               f"fitted on simulated 1B and 3A exposures of a uniform {mrs_leakcal.SOURCE_TEMPERATURE_K:.0f} K source")
        paths["MRSPTCORR"] = _save(leak_model(effects.mrs, options, leak_fit), "MRSPTCORR", selection,
                                   folder / f"miri_testbed_mrs{pair}_mrsptcorr.fits",
                                   f"MRS spectral leak 1B -> 3A, LEAKCOR only ({options.kind}: {how})")
    if effects.mrs.fringes:
        paths["FRINGE"] = write_fringe_flat(folder, observation, perturbations, effects.mrs, pair_rng)
        # its generator spawned after the FRINGE's draws (every file above stays as it was), one per dither position
        library_rng = pair_rng.spawn(dither_position(observation))[-1] if measured else None
        flat = write_point_source_fringe_flat(folder, scene, observation, perturbations, light, effects.mrs,
                                              paths["FRINGE"], library_rng)
        if flat is not None:
            paths["PSFRINGE"] = flat
    return paths


def leak_source_observation():
    """The exposure that observes the leak's source band (1B: MIRIFUSHORT MEDIUM), as a :class:`MrsObservation`."""
    band = spectral_leak.SOURCE_BAND
    return MrsObservation(detector=mrs.DETECTOR_OF_CHANNEL[int(band[0])],
                          band={code: setting for setting, code in mrs.SETTINGS.items()}[band[1]])


def leak_source_photom(options, effects, references_rng):
    """The measured PHOTOM draws of the leak's source band pair (1B's) as the 1B exposure of the same seed makes them.

    ``references_rng``: the exposure set's references stream (:func:`simulator.exposure.rng_streams`), whose seed
    the 1B exposure's shares; its band pair's generator (:func:`band_pair_generator`) makes the same draws in the
    same order (:func:`simulator.mrs_photom.measured_draws`), so the error and the TIMECOEFF are those its PHOTOM
    holds (tests/test_mrs_leakcal.py).
    """
    observation = leak_source_observation()
    return mrs_photom.measured_draws(observation.bands, options, effects.optics.throughput_decay,
                                     band_pair_generator(references_rng, observation))


def leak_source_perturbation(effects, optics_rng):
    """The leak's source band's (1B's) true geometry: the :class:`Perturbation` the 1B exposure of the same seed draws.

    That exposure draws it first from its optics stream (:func:`illuminate`), whose seed ``optics_rng``'s shares.
    """
    return draw_perturbation(spectral_leak.SOURCE_BAND, effects.mrs,
                             np.random.default_rng(optics_rng.bit_generator.seed_seq))


def leak_exposures(perturbations, effects, rng):
    """The leak calibration's exposures (:mod:`simulator.mrs_leakcal`, 1-2): ``{band: (TruePixels, rate, variance)}``.

    ``perturbations``: the true geometry of 1B and 3A; each band's uniform source (and its sky) through its TRUE
    pixels, on 3A with the leak of both (the truth's curve), the throughput at the programme's epoch, then
    :func:`simulator.mrs_leakcal.observe` (``rng`` None: noise-free).
    """
    exposures = {}
    calibrator = mrs_leakcal.source()
    for name in (spectral_leak.SOURCE_BAND, spectral_leak.LEAK_BAND):
        pixels = TruePixels(flight_pixels(name), perturbations[name])
        light = render_extended(pixels, calibrator) + render_sky(pixels, 0.0, effects)
        if name == spectral_leak.LEAK_BAND and effects.mrs.spectral_leak:
            curve = spectral_leak.LeakCurve.from_effects(effects.mrs)
            light = light + render_extended(pixels, spectral_leak.LeakSpectrum(calibrator, curve))
        light = _decayed(light, pixels, effects, mrs_leakcal.EPOCH_MJD)
        exposures[name] = (pixels, *mrs_leakcal.observe(light, rng))
    return exposures


def calibrated_leak_exposures(exposures, velocities, draws, effects):
    """Each leak calibration exposure's pixels in MJy/sr (:func:`simulator.mrs_leakcal.surface_brightness`).

    ``{band: (wavelength, surface brightness, variance, correction)}``, ``correction`` the PHOTOM's time correction
    the pixels were divided by.  ``velocities``: ``{band: v}``, the velocity model of
    the geometry the calibration assigns wavelengths with (``lambda_F (1 + v / c)``), None: the flight wavelengths;
    ``draws``: ``{band: MeasuredDraws}`` of its measured PHOTOM, None: a perfect one (no error, the truth's
    throughput at the pixel's true wavelength).
    """
    spectra = {}
    for name, (pixels, rate, variance) in exposures.items():
        flight = pixels.flight.wavelength
        v = velocities.get(name)
        wavelength = flight if v is None else flight * (1 + np.asarray(v(flight), float) / C_KMS)
        if draws.get(name) is None:
            error = 0.0
            correction = (mrs_throughput.relative_throughput(pixels.wavelength, mrs_leakcal.EPOCH_MJD)
                          if effects.optics.throughput_decay else 1.0)
        else:
            error = draws[name].errors[name](flight)
            correction = mrs_leakcal.timecoeff_correction(draws[name].tables[f"timecoeff_powerlaw_ch{name[0]}"],
                                                          wavelength, mrs_leakcal.EPOCH_MJD)
        spectra[name] = (wavelength, *mrs_leakcal.surface_brightness(rate, variance, render_background(pixels, 1.0),
                                                                     error, correction), correction)
    return spectra


def measured_leak(perturbations, moves, draws, options, effects, references_rng, optics_rng, rng):
    """The leak curve measured as :mod:`simulator.mrs_leakcal` says: a :class:`simulator.mrs_leakcal.LeakFit`.

    ``perturbations``, ``moves``, ``draws``: 3A's band pair's truth, measured geometry (:func:`geometry_moves`) and
    PHOTOM draws; 1B's true geometry and PHOTOM are those of the 1B exposure of the same seed
    (:func:`leak_source_perturbation`, :func:`leak_source_photom`); ``rng``: the exposures' noise.
    """
    source, leak = spectral_leak.SOURCE_BAND, spectral_leak.LEAK_BAND
    true = {source: leak_source_perturbation(effects, optics_rng), leak: perturbations[leak]}
    spectra = calibrated_leak_exposures(leak_exposures(true, effects, rng), {leak: moves[leak][0]},
                                        {source: leak_source_photom(options, effects, references_rng), leak: draws},
                                        effects)
    nominal = spectral_leak.LeakCurve.from_effects(MrsEffects())
    return mrs_leakcal.fit(spectra[leak], spectra[source][:3], nominal)


#: The LEAKCOR table's wavelength step, um: linear interpolation of the Gaussian curve errs by
#: ``step^2 / 8 * A / sigma^2`` <= 1e-5 in ``f`` (0.03 % of its peak) at the placeholder curve.
LEAK_TABLE_STEP_UM = 0.005


def leak_model(mrs_effects, options, fitted=None):
    """The spectral leak's MRSPTCORR reference (``MirMrsPtCorrModel``): its LEAKCOR table, as jwst reads it.

    ``wavelength`` over band 3A's range every :data:`LEAK_TABLE_STEP_UM`; ``perfect``: ``frac_leak`` the truth's
    curve (:mod:`simulator.spectral_leak`), ``err_leak`` 0; ``measured``: the curve ``fitted`` on simulated
    calibration exposures (:func:`measured_leak`, :mod:`simulator.mrs_leakcal`), ``err_leak`` its 1-sigma from the
    fit's covariance.  The table is sampled, the curves analytic.
    """
    lo, hi = mrs.band(spectral_leak.LEAK_BAND).wavelength_range
    wavelength = np.arange(lo, hi + LEAK_TABLE_STEP_UM / 2, LEAK_TABLE_STEP_UM)
    table = np.zeros(len(wavelength), dtype=dm.MirMrsPtCorrModel().get_dtype("leakcor_table"))
    table["wavelength"] = wavelength
    if options.kind == "measured":
        if fitted is None:
            raise ValueError("a measured MRSPTCORR needs the fitted leak (simulator.mrs.measured_leak)")
        table["frac_leak"], table["err_leak"] = fitted.curve(wavelength), fitted.curve_error(wavelength)
    else:
        table["frac_leak"] = spectral_leak.LeakCurve.from_effects(mrs_effects)(wavelength)
    return dm.MirMrsPtCorrModel(leakcor_table=table)


def write_fringe_flat(folder, observation, perturbations, effects, rng):
    """The FRINGE reference (``FringeModel``) of the observation's band pair, MEASURED; its path.

    A flat exposure: a uniform extended field (flat F_nu) through each band's TRUE geometry and the
    etalon's extended-light transmission (:class:`simulator.fringes.Etalon`), long enough for a median of
    :data:`simulator.fringes.FLAT_ELECTRONS` per pixel, with photon and read noise
    (:func:`simulator.lrs_wavecal.observe`); the fringe flat is each slice over its smooth 2-D fit
    (:func:`simulator.fringes.fringe_flat`), never the truth's transmission.
    """
    expected = np.zeros((det.FULL_NY, det.FULL_NX))
    for name in observation.bands:
        pixels = TruePixels(flight_pixels(name), perturbations[name])
        expected[pixels.flight.y, pixels.flight.x] = (render_background(pixels, 1.0)
                                                      * fringes.Etalon(pixels, effects).extended)
    exposure_s = fringes.FLAT_ELECTRONS / float(np.median(expected[expected > 0]))
    flat, error = fringes.fringe_flat(lrs_wavecal.observe(expected, exposure_s, rng),
                                      [flight_pixels(name) for name in observation.bands])
    model = dm.FringeModel(data=flat.astype(np.float32), err=error.astype(np.float32),
                           dq=np.zeros(flat.shape, np.uint32))
    pair = _pair_and_selection(observation)[0]
    selection = refmeta.Selection(detector=observation.detector, band=observation.band)  # FringeModel has no EXP_TYPE
    return _save(model, "FRINGE", selection, folder / f"miri_testbed_mrs{pair}_fringe.fits",
                 f"MRS fringe flat measured from a simulated extended-source flat ({fringes.FLAT_ELECTRONS:.0e} e- "
                 "per pixel, each slice column over its smooth fit)")


def dither_position(observation):
    """The exposure's dither position, PATT_NUM: 1 undithered."""
    return observation.dither_position if observation.dither_points else 1


def write_point_source_fringe_flat(folder, scene, observation, perturbations, light, effects, extended_flat, rng):
    """The point-source fringe flat (``FringeModel``, REFTYPE ``PSFRINGE``) of the exposure's dither position.

    Measured as :mod:`simulator.mrs_fringecal` says, where the scene's first point source lies in each band (the
    truth's SOURCES), moved by the library's position error; ``rng`` None: noise-free and at the source's place.
    ``extended_flat``: the path of the pair's measured FRINGE, which the star's smooth image carries.  Selected by
    DETECTOR, BAND and the exposure's dither position (PATT_NUM, 1 undithered).  Its path, or None for a scene
    without a point source.
    """
    first = next((i for i, source in enumerate(scene.sources) if not isinstance(source, ExtendedSource)), None)
    if first is None:
        return None
    table = next(c.data for c in light.components if c.name == "SOURCES" and c.detector == observation.detector)
    move = (np.zeros(2) if rng is None
            else rng.normal(0.0, mrs_fringecal.POSITION_ERROR_ARCSEC, 2))
    expected = np.zeros((det.FULL_NY, det.FULL_NX))
    for name in observation.bands:
        row = table[(table["id"] == first) & (table["band"] == name)][0]
        alpha, beta = float(row["alpha"]) + move[0], float(row["beta"]) + move[1]
        pixels = TruePixels(flight_pixels(name), perturbations[name])
        expected[pixels.flight.y, pixels.flight.x] = (render_source(pixels, mrs_fringecal.source(), alpha, beta)
                                                      * fringes.Etalon(pixels, effects).point(beta))
    exposure_s = mrs_fringecal.PEAK_ELECTRONS / float(expected.max())
    electrons = expected * exposure_s if rng is None else lrs_wavecal.observe(expected, exposure_s, rng)
    with dm.FringeModel(extended_flat) as extended:
        flat, error = mrs_fringecal.point_source_flat(electrons, [flight_pixels(name) for name in observation.bands],
                                                      extended.data)
    model = dm.FringeModel(data=flat.astype(np.float32), err=error.astype(np.float32),
                           dq=np.zeros(flat.shape, np.uint32))
    pair, position = _pair_and_selection(observation)[0], dither_position(observation)
    return _save(model, "PSFRINGE", refmeta.Selection(detector=observation.detector, band=observation.band),
                 folder / f"miri_testbed_mrs{pair}_psfringe_pos{position}.fits",
                 f"MRS point-source fringe flat at dither position {position}, measured on a simulated star where "
                 "the science source lies (simulator.mrs_fringecal)",
                 keywords=[("PATT_NUM", position, "dither position served")])


def _save(model, reftype, selection, path, description, keywords=()):
    """Describe ``model`` as a ``reftype`` reference and write it atomically to ``path``; its path.

    ``keywords``: ``(name, value, comment)`` primary-header cards the data model has no attribute for.
    """
    refmeta.describe_model(model, reftype, selection, PROVENANCE, description)
    with atomic_path(path) as tmp:
        model.save(tmp)
        for name, value, comment in keywords:
            fits.setval(tmp, name, value=value, comment=comment)
    return path


def companions(scene, observation, effects, light):
    """The association's other exposures: ``[(role, observation, {detector: e-/s}, keywords)]``.

    With ``observation.background_exposure``, the dedicated background
    (:func:`simulator.background.dedicated_observation`: the same detector, setting and dither
    position, right after the science): each band's pixels, through the science exposure's
    true geometry (its ``PERTURBATION``), see the scene's sky alone (:func:`render_sky`, with
    the throughput at the background's own mid-time, and its cross-artifact when simulated), flagged
    BKGDTARG.  A dither set's other positions or the other detector are other calls.
    """
    if not observation.background_exposure:
        return []
    obs = background.dedicated_observation(observation)
    table = next(c.data for c in light.components if c.name == "PERTURBATION" and c.detector == observation.detector)
    perturbations = perturbations_from_table(table)
    image = np.zeros((det.FULL_NY, det.FULL_NX))
    for name in obs.bands:
        pixels = TruePixels(flight_pixels(name), perturbations[name])
        image[pixels.flight.y, pixels.flight.x] = _decayed(render_sky(pixels, scene.background_mjy_sr, effects),
                                                           pixels, effects, mid_time_mjd(obs))
    if effects.mrs.cross_artifact:  # the sky scatters in the detector as the science exposure's light does
        image = cross_artifact.apply(image, obs, effects.mrs)[0]
    return [("background", obs, {obs.detector: image}, {"meta.observation.bkgdtarg": True})]
