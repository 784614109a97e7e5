"""What a simulation is asked to make: the scene, the observation, the effects.

Frozen dataclasses with their defaults in one place.  Numbers without a source are
placeholders and say so.
"""
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import emi as emi_facts
from miri_testbed.instrument import imager, lrs, modes, mrs, readout

from .spectra import FWHM_PER_SIGMA, spectrum_from_dict
from .transit import Transit


@dataclass(frozen=True)
class PointSource:
    """An unresolved source: sky position (deg, ICRS) and flux density (mJy) in the band."""

    ra_deg: float
    dec_deg: float
    flux_mjy: float

    def __post_init__(self):
        if not self.flux_mjy >= 0:
            raise ValueError(f"point source flux must be >= 0 mJy, got {self.flux_mjy!r}")


@dataclass(frozen=True)
class Scene:
    """Point sources on a uniform background (MJy/sr).

    ``transit``: a planet crossing the scene's spectral sources (the star of a time
    series, :class:`simulator.transit.Transit`); the sky does not vary.  Only a time
    series (``LrsObservation(tso=True)``) takes one.
    """

    sources: tuple = ()
    background_mjy_sr: float = 0.0
    transit: Transit = None

    def __post_init__(self):
        if not self.background_mjy_sr >= 0:
            raise ValueError(f"background must be >= 0 MJy/sr, got {self.background_mjy_sr!r}")
        if self.transit is not None and not isinstance(self.transit, Transit):
            raise TypeError(f"Scene.transit must be a simulator.transit.Transit, got {type(self.transit).__name__}")


@dataclass(frozen=True)
class Readout:
    """How one detector is read out: everything the detector layer needs, nothing of the mode.

    The detector physics (:mod:`simulator.detector`, :mod:`simulator.readclock`,
    :mod:`simulator.emi`, cosmic rays, showers, the detector reference files) sees only
    this: never a filter, a band or a slit.

    Parameters
    ----------
    detector : str
        ``MIRIMAGE``, ``MIRIFUSHORT`` or ``MIRIFULONG`` (:data:`instrument.detector.DETECTORS`).
    subarray, readpatt : str
        Subarray and readout pattern (:mod:`instrument.readout`).
    ngroups, nints : int
        Groups per integration (>= 2) and integrations (>= 1).
    epoch_mjd : float
        Exposure start, MJD.
    """

    detector: str = "MIRIMAGE"
    subarray: str = "FULL"
    readpatt: str = "FASTR1"
    ngroups: int = 10
    nints: int = 1
    epoch_mjd: float = 60400.0

    def __post_init__(self):
        if self.detector not in det.DETECTORS:
            raise ValueError(f"unknown detector {self.detector!r}; MIRI detectors: {', '.join(det.DETECTORS)}")
        readout.rowclocks(self.subarray, self.readpatt)  # validates both names and the pair
        if self.ngroups < 2:
            raise ValueError(f"ngroups must be >= 2 for a ramp, got {self.ngroups}")
        if self.nints < 1:
            raise ValueError(f"nints must be >= 1, got {self.nints}")

    @property
    def group_time(self):
        """Seconds between group reads (:func:`instrument.readout.group_time`)."""
        return readout.group_time(self.subarray, self.readpatt)

    @property
    def frame_time(self):
        """Seconds per frame (:func:`instrument.readout.frame_time`)."""
        return readout.frame_time(self.subarray, self.readpatt)


class _Exposure:
    """What an observation of any mode asks of its detector: its readout.

    From the observation's mode, subarray, pattern, groups, integrations and epoch.
    """

    @property
    def readout(self):
        """The :class:`Readout` of the mode's (first) detector for this exposure."""
        return Readout(modes.mode(self.mode).detectors[0], self.subarray, self.readpatt, self.ngroups, self.nints,
                       self.epoch_mjd)

    @property
    def group_time(self):
        """Seconds between group reads."""
        return self.readout.group_time


@dataclass(frozen=True)
class Observation(_Exposure):
    """One MIRI imager exposure, as an observer asks for it (filter, readout, pointing).

    ``pa_aper_deg`` is the position angle of the detector's +y axis, east of north.
    ``background_exposure``: also take a dedicated background exposure of an offset field
    right after (:mod:`simulator.background`), so the exposure set is an association of
    the science exposure and its background.  The detector layer sees only
    :attr:`readout`.
    """

    filter: str = "F770W"
    subarray: str = "FULL"
    readpatt: str = "FASTR1"
    ngroups: int = 10
    nints: int = 1
    epoch_mjd: float = 60400.0
    ra_deg: float = 80.0
    dec_deg: float = -69.5
    pa_aper_deg: float = 0.0
    background_exposure: bool = False

    #: The observing mode (:data:`instrument.modes.MODES`).
    mode: ClassVar[str] = "imager"

    def __post_init__(self):
        imager.imager_filter(self.filter)
        self.readout  # validates the readout fields


    @property
    def frame_time(self):
        """Seconds per frame."""
        return self.readout.frame_time


@dataclass(frozen=True)
class SpectralSource:
    """An unresolved source with a spectrum, placed relative to an LRS mode's reference point.

    Parameters
    ----------
    spectrum : dict
        The spectrum in the scenario form of :func:`simulator.spectra.spectrum_from_dict`
        (continuum and lines); checked when the source is made.
    along_slit_arcsec, across_slit_arcsec : float
        Offset from the reference point (the slit centre; slitless: the acquisition
        point), along the slit (detector +x) and across it (detector +y, the dispersion
        direction: an offset across the slit moves every wavelength along the rows).
    """

    spectrum: dict
    along_slit_arcsec: float = 0.0
    across_slit_arcsec: float = 0.0

    def __post_init__(self):
        spectrum_from_dict(self.spectrum)

    @property
    def source_spectrum(self):
        """The :class:`simulator.spectra.SourceSpectrum`."""
        return spectrum_from_dict(self.spectrum)


#: The spatial profiles of an :class:`ExtendedSource`.
PROFILES = ("gaussian", "disk")


@dataclass(frozen=True)
class ExtendedSource:
    """A resolved MRS source: a spectrum spread over a spatial profile (issue 16).

    Parameters
    ----------
    spectrum : dict
        As :class:`SpectralSource`'s; its mJy and W m^-2 are the whole source's (the profile
        integrates to 1).
    along_slit_arcsec, across_slit_arcsec : float
        The profile's centre, read as a :class:`SpectralSource`'s offsets are: ``(alpha, beta)``
        from the target in band ``<dither_channel>A``'s frame.
    profile : str
        ``gaussian``: elliptical, ``fwhm_major_arcsec``, ``fwhm_minor_arcsec``, the major axis at
        ``pa_deg`` from +alpha towards +beta; ``disk``: uniform within ``radius_arcsec``.

    The surface density at offsets ``(da, db)`` from the centre (:meth:`surface_density`,
    per arcsec^2), with ``u = da cos(pa) + db sin(pa)``, ``v = -da sin(pa) + db cos(pa)``,
    ``s = FWHM / sqrt(8 ln 2)``:

        gaussian: p = exp(-(u^2 / s_major^2 + v^2 / s_minor^2) / 2) / (2 pi s_major s_minor)
        disk:     p = [da^2 + db^2 <= R^2] / (pi R^2)

    ``(da, db)`` are offsets in band ``<dither_channel>A``'s frame, so the profile is one shape on
    the sky: another band reads it through the local map of its frame into that one
    (:func:`simulator.mrs.profile_frame`: the channels' frames turn by a few degrees, and channels 3-4's
    alpha is 0.95-0.96 of the sky's arcsec in the flight DISTORTION files), its density times that
    map's determinant, so every band holds the same light.
    """

    spectrum: dict
    along_slit_arcsec: float = 0.0
    across_slit_arcsec: float = 0.0
    profile: str = "gaussian"
    fwhm_major_arcsec: float = 1.0
    fwhm_minor_arcsec: float = 1.0
    pa_deg: float = 0.0
    radius_arcsec: float = 1.0

    def __post_init__(self):
        spectrum_from_dict(self.spectrum)
        if self.profile not in PROFILES:
            raise ValueError(f"ExtendedSource.profile must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        for name in ("fwhm_major_arcsec", "fwhm_minor_arcsec", "radius_arcsec"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ExtendedSource.{name} must be > 0, got {getattr(self, name)!r}")
        if self.fwhm_minor_arcsec > self.fwhm_major_arcsec:
            raise ValueError(f"ExtendedSource.fwhm_minor_arcsec ({self.fwhm_minor_arcsec}) must be <= "
                             f"fwhm_major_arcsec ({self.fwhm_major_arcsec})")

    @property
    def source_spectrum(self):
        """The :class:`simulator.spectra.SourceSpectrum` (the whole source's)."""
        return spectrum_from_dict(self.spectrum)

    @property
    def extent_arcsec(self):
        """Radius beyond which the profile holds < 1e-6 of the light: 3 major FWHM (7 sigma), or the disk's."""
        return 3.0 * self.fwhm_major_arcsec if self.profile == "gaussian" else self.radius_arcsec

    def surface_density(self, d_alpha, d_beta, frame=None):
        """The profile (per arcsec^2) at offsets ``(d_alpha, d_beta)`` (arcsec) from its centre (class docstring).

        ``frame``: ``M`` (2 x 2), the offsets' map into the profile's own frame
        (:func:`simulator.mrs.profile_frame`); the profile is read at ``M (d_alpha, d_beta)`` and its density
        times ``|det M|``, per arcsec^2 of the offsets' frame (None: the identity).
        """
        da, db = np.asarray(d_alpha, float), np.asarray(d_beta, float)
        if frame is not None:
            m = np.asarray(frame, float)
            return self.surface_density(m[0, 0] * da + m[0, 1] * db, m[1, 0] * da + m[1, 1] * db) * abs(np.linalg.det(m))
        if self.profile == "disk":
            return (da**2 + db**2 <= self.radius_arcsec**2) / (np.pi * self.radius_arcsec**2)
        pa = np.deg2rad(self.pa_deg)
        u, v = da * np.cos(pa) + db * np.sin(pa), -da * np.sin(pa) + db * np.cos(pa)
        s_major, s_minor = self.fwhm_major_arcsec / FWHM_PER_SIGMA, self.fwhm_minor_arcsec / FWHM_PER_SIGMA
        return np.exp(-0.5 * ((u / s_major) ** 2 + (v / s_minor) ** 2)) / (2 * np.pi * s_major * s_minor)


@dataclass(frozen=True)
class LrsObservation(_Exposure):
    """One LRS exposure: P750L through the slit (FULL frame) or slitless (SLITLESSPRISM).

    ``nod``: for the slit, the along-slit nod position of the science exposure, ``"A"``
    (-0.908") or ``"B"`` (+0.908"; MAST keyword dictionary SPATSTEP "point source:
    -0.908, 0.908"; which of the two JWST calls 1 is not recorded here, a PLACEHOLDER
    sign), or ``"none"`` (the source where the scene puts it).  A nodded exposure's
    association carries the other nod as its background, as the ALONG SLIT NOD pattern
    gives the pipeline.  Slitless has no nods.

    ``tso``: a time series (slitless only): the uncal is a TSO visit (TSOVISIT, an
    INT_TIMES table: :mod:`simulator.tso`) and a scene's transit is simulated.
    """

    mode: str = "lrs_slitless"
    readpatt: str = "FASTR1"
    ngroups: int = 10
    nints: int = 1
    epoch_mjd: float = 60400.0
    nod: str = "none"
    tso: bool = False

    def __post_init__(self):
        if self.mode not in lrs.SUBARRAYS:
            raise ValueError(f"LRS mode must be one of {', '.join(lrs.SUBARRAYS)}, got {self.mode!r}")
        if self.nod not in lrs.NOD_OFFSETS_ARCSEC:
            raise ValueError(f"nod must be one of {', '.join(lrs.NOD_OFFSETS_ARCSEC)}, got {self.nod!r}")
        if self.mode == "lrs_slitless" and self.nod != "none":
            raise ValueError("slitless LRS exposures have no nods (nod = 'none')")
        if self.tso and self.mode != "lrs_slitless":
            raise ValueError(f"an LRS time series (tso = true) is slitless (mode 'lrs_slitless'), got {self.mode!r}")
        self.readout  # validates the readout fields

    @property
    def subarray(self):
        """FULL for the slit, SLITLESSPRISM slitless (:data:`instrument.lrs.SUBARRAYS`)."""
        return lrs.SUBARRAYS[self.mode]

    @property
    def filter(self):
        """The disperser, P750L (the FILTER keyword of LRS exposures)."""
        return lrs.DISPERSER



@dataclass(frozen=True)
class MrsObservation(_Exposure):
    """One MRS exposure: one detector's FULL frame at one grating setting and dither position.

    ``detector``: MIRIFUSHORT (channels 1 + 2) or MIRIFULONG (3 + 4); ``band``: the
    grating setting SHORT / MEDIUM / LONG (A / B / C).  A dither set or the other
    detector is another exposure.  The scene's :class:`SpectralSource` offsets are read
    as ``(alpha, beta)`` (along, across the slices, arcsec) from the target in the frame
    of band ``<dither_channel>A``; the target lands on that channel's reference point
    (SIAF ``MIRIFU_CHANNEL<c>A``) moved by the dither position's Ideal offset
    (:mod:`instrument.mrs_dither`; ``dither_points`` 0: no dither).  Only the point-source
    patterns (``orientation`` negative or positive) are offered.  ``background_exposure``:
    also take a dedicated background exposure right after, the same setting and dither
    position on an offset field that holds the scene's sky and none of its sources
    (:func:`simulator.mrs.companions`), listed as the association's ``background``.
    """

    detector: str = "MIRIFUSHORT"
    band: str = "SHORT"
    readpatt: str = "FASTR1"
    ngroups: int = 10
    nints: int = 1
    epoch_mjd: float = 60400.0
    dither_points: int = 0
    dither_position: int = 1
    dither_channel: int = 1
    dither_orientation: str = "negative"
    background_exposure: bool = False

    #: The observing mode (:data:`instrument.modes.MODES`).
    mode: ClassVar[str] = "mrs"
    #: The MRS reads the full frame (params 5).
    subarray: ClassVar[str] = "FULL"

    def __post_init__(self):
        if self.detector not in set(mrs.DETECTOR_OF_CHANNEL.values()):
            raise ValueError(f"MRS detector must be MIRIFUSHORT or MIRIFULONG, got {self.detector!r}")
        if self.band not in mrs.SETTINGS:
            raise ValueError(f"MRS band (grating setting) must be one of {', '.join(mrs.SETTINGS)}, got {self.band!r}")
        if self.dither_points not in (0, 2, 4):
            raise ValueError(f"MRS dither_points must be 0 (none), 2 or 4, got {self.dither_points!r}")
        if self.dither_points and not 1 <= self.dither_position <= self.dither_points:
            raise ValueError(f"dither_position must be 1-{self.dither_points}, got {self.dither_position!r}")
        if self.dither_channel not in (1, 2, 3, 4):
            raise ValueError(f"dither_channel must be 1-4, got {self.dither_channel!r}")
        if self.dither_orientation not in ("negative", "positive"):
            raise ValueError(f"dither_orientation must be 'negative' or 'positive', got {self.dither_orientation!r}")
        self.readout  # validates the readout fields

    @property
    def readout(self):
        """The :class:`Readout` of the exposure's detector."""
        return Readout(self.detector, self.subarray, self.readpatt, self.ngroups, self.nints, self.epoch_mjd)

    @property
    def channels(self):
        """The two channels on the detector, as the CHANNEL keyword ("12" or "34")."""
        return "12" if self.detector == "MIRIFUSHORT" else "34"

    @property
    def bands(self):
        """The two bands the exposure lights (e.g. ("1A", "2A"))."""
        return tuple(f"{c}{mrs.SETTINGS[self.band]}" for c in self.channels)


def _check_range(obj, name, low, high=None):
    value = getattr(obj, name)
    if not (value >= low and (high is None or value <= high)):
        where = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{type(obj).__name__}.{name} must be {where}, got {value!r}")


@dataclass(frozen=True)
class DetectorEffects:
    """Which ordinary detector effects are simulated, in any mode; all on by default.

    Bad-pixel fractions, the bias scatter and the EMI amplitudes and drift are
    UNSOURCED placeholders (params 1 "Hot/dead pixels": no overall fraction found;
    params 2 "Amplitude").
    """

    poisson: bool = True
    read_noise: bool = True
    dark: bool = True
    bias: bool = True
    bad_pixels: bool = True
    saturation: bool = True
    digitize: bool = True
    nonlinearity: bool = True
    reset_anomaly: bool = True
    reset_settling_dn: float = -40.0  # UNSOURCED placeholder: the settling after a reset (simulator.reset)
    last_frame_dn: float = 20.0  # UNSOURCED placeholder: the last frame's offset (simulator.reset)
    cosmic_rays: bool = True
    showers: bool = True
    cosmic_ray_rate: float = 5e-5  # hits per pixel per second (params 3, ETC 8 /cm^2/s)
    shower_rate: float = 1 / 40  # per second per full detector (params 3, JDox, very approximate)
    hot_fraction: float = 2e-3  # placeholder
    dead_fraction: float = 1e-3  # placeholder
    bias_scatter_dn: float = 300.0  # placeholder pixel-to-pixel pedestal scatter
    emi: bool = True  # EMI lines of params 2 at each pixel's read time (simulator.emi)
    emi_rms_390_dn: float = emi_facts.RMS_DN["Hz390"]  # UNSOURCED guess: params 2 "~ 4 DN" (DERIVED)
    emi_rms_10_dn: float = emi_facts.RMS_DN["Hz10"]  # UNSOURCED placeholder: "10 Hz minor in full array"
    emi_harmonics: int = 3  # harmonics per line, fundamental included (0: no EMI)
    emi_drift: float = 1e-4  # largest relative frequency offset of an exposure (placeholder)
    emi_shape_jitter: float = 0.05  # the waveform's departure from the instrument's per exposure (UNSOURCED)
    # The settling ramp of time series (simulator.settling): OFF by default, unlike the rest,
    # as it is documented for TSOs only; amplitude and time constant are UNSOURCED PLACEHOLDERS.
    settling: bool = False
    settling_amplitude: float = 0.005
    settling_tau_s: float = 1200.0

    def __post_init__(self):
        for name in ("cosmic_ray_rate", "shower_rate", "bias_scatter_dn", "emi_rms_390_dn", "emi_rms_10_dn",
                     "emi_harmonics", "emi_drift", "emi_shape_jitter"):
            _check_range(self, name, 0)
        for name in ("hot_fraction", "dead_fraction", "settling_amplitude"):
            _check_range(self, name, 0, 1)
        for name in ("reset_settling_dn", "last_frame_dn"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"DetectorEffects.{name} must be a finite number of DN, got {getattr(self, name)!r}")
        if not self.settling_tau_s > 0:
            raise ValueError(f"DetectorEffects.settling_tau_s must be > 0, got {self.settling_tau_s!r}")


@dataclass(frozen=True)
class OpticsEffects:
    """Telescope and sky effects every mode sees (models and sources in
    :mod:`simulator.throughput`, :mod:`simulator.pointing`, :mod:`simulator.background`).
    """

    throughput_decay: bool = True  # loss with time at the exposure's mid-time (imager: simulator.throughput;
    #                                MRS, per wavelength: simulator.mrs_throughput)
    pointing_error: bool = True  # true pointing differs from the commanded one
    pointing_error_arcsec: float = 0.15  # rms radial pointing error (Law25talk: 0.1-0.2" typical, 2" rare)
    roll_error_deg: float = 0.005  # rms roll error, UNSOURCED placeholder
    distortion: bool = True  # placeholder distortion polynomial (simulator.pointing)
    background_model: bool = False  # add zodiacal + thermal placeholders (simulator.background) to the scene's

    def __post_init__(self):
        _check_range(self, "pointing_error_arcsec", 0)
        _check_range(self, "roll_error_deg", 0)


@dataclass(frozen=True)
class ImagerEffects:
    """Effects of the imager's own optics (:mod:`simulator.cruciform`, :mod:`simulator.background`)."""

    cruciform: bool = True  # row/column scattering at short wavelengths
    lyot_offset: float = 0.0  # fractional extra background in the Lyot box, UNSOURCED (Law25talk: "slightly")

    def __post_init__(self):
        _check_range(self, "lyot_offset", -1)


@dataclass(frozen=True)
class LrsEffects:
    """Effects of the LRS's own optics (:mod:`simulator.lrs`).

    The true trace is the flight SPECWCS table moved by a smooth perturbation of
    ``trace_wavelength_nm`` rms in wavelength and ``trace_x_pix`` rms across the
    dispersion (the flight solution is good to a few nm: issue 15; both PLACEHOLDERS);
    ``acquisition_error_arcsec`` rms per axis is where target acquisition really puts
    the source (PLACEHOLDER; LRS TA is quoted at ~10 mas).  ``trace_bad_pixels``: that
    many dead or hot pixels within 1 px of source 0's trace centre
    (:mod:`simulator.trace_defects`; 0, the default, places none).
    """

    trace_perturbation: bool = True
    trace_wavelength_nm: float = 3.0
    trace_x_pix: float = 0.05
    acquisition_error: bool = True
    acquisition_error_arcsec: float = 0.01
    trace_bad_pixels: int = 0

    def __post_init__(self):
        for name in ("trace_wavelength_nm", "trace_x_pix", "acquisition_error_arcsec", "trace_bad_pixels"):
            _check_range(self, name, 0)
        if self.trace_bad_pixels != int(self.trace_bad_pixels):
            raise ValueError(f"LrsEffects.trace_bad_pixels must be a whole number, got {self.trace_bad_pixels!r}")


@dataclass(frozen=True)
class MrsEffects:
    """Effects of the MRS's own optics (:mod:`simulator.mrs`).

    The true geometry is the flight one moved by a smooth perturbation per band: the
    wavelengths by a velocity, a random cubic in wavelength of ``wavelength_kms`` rms
    over the band, and the sky frame by a constant ``(d_alpha, d_beta)`` of
    ``spatial_mas`` rms per axis (both PLACEHOLDERS, well under the flight calibration's
    9-27 km/s and 8-23 mas, params 5).  ``geometry_perturbation`` off: the flight
    geometry exactly.

    ``spectral_leak`` (off by default, :mod:`simulator.spectral_leak`): band 3A's pixels at
    ``lambda`` also get ``f(lambda) F_nu(lambda / 2)``, ``f`` a Gaussian of peak ``leak_peak`` at
    ``leak_centre_um`` and ``leak_sigma_um`` (params 33: 0.03, 12.2 um, 0.1 um, PLACEHOLDERS until
    the CRDS MRSPTCORR LEAKCOR curve is sourced).
    ``fringes`` (off by default, :mod:`simulator.fringes`): the detector etalon of effective
    reflectance ``fringe_reflectance`` (peak to peak 4R/(1-R^2), 20 % at 0.05: params 5, 10-30 %),
    periods ``fringe_period_cm`` below 16 um (2.9 cm^-1, params 5) and ``fringe_period_long_cm`` above
    (UNSOURCED), thickness coefficients ``fringe_thickness`` (x, y, x^2, xy, y^2 over the frame scaled to
    [-1, 1], PLACEHOLDERS), the beam's largest incidence ``fringe_angle_deg`` (UNSOURCED) and the
    channel 3-4 dichroic fringe's ``dichroic_fringe_amplitude`` (UNSOURCED, params 30).
    """

    geometry_perturbation: bool = True
    wavelength_kms: float = 3.0
    spatial_mas: float = 3.0
    # the cross-artifact (simulator.cross_artifact; off this session): the light each kernel part carries in
    # band 1A (Lorentzian; channel 1's two Gaussian pairs), scaled by (lambda_1A / lambda)^index, and the
    # shapes, px.  UNSOURCED amplitudes and Gaussian offset/width (params 3, items 31-32)
    cross_artifact: bool = False
    cross_artifact_lorentz_fraction: float = 0.10
    cross_artifact_gauss_fractions: tuple = (0.05, 0.03)
    cross_artifact_fwhm_px: float = 100.0
    cross_artifact_gauss_dx_px: float = 30.0
    cross_artifact_gauss_sigma_px: float = 5.0
    cross_artifact_wavelength_index: float = 2.0
    spectral_leak: bool = False
    leak_peak: float = 0.03
    leak_centre_um: float = 12.2
    leak_sigma_um: float = 0.1
    fringes: bool = False
    fringe_reflectance: float = 0.05
    fringe_period_cm: float = 2.9
    fringe_period_long_cm: float = 3.2
    fringe_thickness: tuple = (3e-4, -2e-4, 1.5e-4, 1e-4, -1e-4)
    fringe_angle_deg: float = 1.0
    dichroic_fringe_amplitude: float = 0.02

    def __post_init__(self):
        for name in ("wavelength_kms", "spatial_mas", "cross_artifact_wavelength_index"):
            _check_range(self, name, 0)
        _check_range(self, "cross_artifact_lorentz_fraction", 0, 0.5)
        for name in ("cross_artifact_fwhm_px", "cross_artifact_gauss_dx_px", "cross_artifact_gauss_sigma_px"):
            if not getattr(self, name) > 0:
                raise ValueError(f"MrsEffects.{name} must be > 0, got {getattr(self, name)!r}")
        fractions = tuple(self.cross_artifact_gauss_fractions)
        if len(fractions) != 2 or not all(0 <= f <= 0.5 for f in fractions):
            raise ValueError("MrsEffects.cross_artifact_gauss_fractions must be two fractions in [0, 0.5] (inner "
                             f"and outer Gaussian pair), got {self.cross_artifact_gauss_fractions!r}")
        object.__setattr__(self, "cross_artifact_gauss_fractions", tuple(float(f) for f in fractions))
        _check_range(self, "leak_peak", 0, 1)
        # the leak is 1B's light in second order on 3A: its curve within 3A's WAVELENGTHRANGE (11.29-13.75 um)
        _check_range(self, "leak_centre_um", 11.29, 13.75)
        _check_range(self, "leak_sigma_um", 1e-3, 0.5)
        # fringes (simulator.fringes): R < 0.5 keeps the modulation 4R/(1-R^2) under 270 %; PLACEHOLDERS there
        _check_range(self, "fringe_reflectance", 0, 0.5)
        for name in ("fringe_period_cm", "fringe_period_long_cm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"MrsEffects.{name} must be > 0 cm^-1, got {getattr(self, name)!r}")
        _check_range(self, "fringe_angle_deg", 0, 10)
        _check_range(self, "dichroic_fringe_amplitude", 0, 0.5)
        coefficients = tuple(self.fringe_thickness)
        if len(coefficients) != 5 or not all(np.isfinite(c) and abs(c) < 0.1 for c in coefficients):
            raise ValueError("MrsEffects.fringe_thickness must be 5 finite coefficients (x, y, x^2, xy, y^2) "
                             f"each within +/-0.1 of the nominal thickness, got {self.fringe_thickness!r}")
        object.__setattr__(self, "fringe_thickness", tuple(float(c) for c in coefficients))


@dataclass(frozen=True)
class Effects:
    """Every simulated effect, grouped by where it acts: the detector (any mode), the
    telescope and sky (any mode), and each mode's own optics.

    Parameters
    ----------
    detector : DetectorEffects
    optics : OpticsEffects
    imager : ImagerEffects
    lrs : LrsEffects
    mrs : MrsEffects
    """

    detector: DetectorEffects = DetectorEffects()
    optics: OpticsEffects = OpticsEffects()
    imager: ImagerEffects = ImagerEffects()
    lrs: LrsEffects = LrsEffects()
    mrs: MrsEffects = MrsEffects()

    def __post_init__(self):
        for f in fields(self):
            if not isinstance(getattr(self, f.name), f.type):
                raise TypeError(f"Effects.{f.name} must be a {f.type.__name__}, got {type(getattr(self, f.name)).__name__}")

    @classmethod
    def noise_free(cls):
        """Every switch off: the ramp is exactly ``rate * t / gain``, the optics ideal."""
        return cls(**{f.name: f.type(**{g.name: False for g in fields(f.type) if g.type in (bool, "bool")})
                      for f in fields(cls)})


@dataclass(frozen=True)
class ReferenceOptions:
    """How the reference files are made.

    ``measured`` (the default): each file is what a calibration programme would
    measure, with its noise: darks averaged over ``dark_integrations`` integrations,
    read noise from ``readnoise_pairs`` CDS pairs per pixel, gain to
    ``gain_error`` and the photometric factor to ``photom_error`` (G25: formal
    uncertainty 0.3-1.0 %; the counts are placeholders), the MRS aperture correction to
    ``apcorr_error`` (PLACEHOLDER, :mod:`simulator.mrs_apcorr`), the MRS cross-artifact kernels of the
    observation's two bands fitted on a simulated point-source exposure (:mod:`simulator.mrs_xartcal`) and
    each parameter of the other ten bands' kernels (in the file, not read by the exposure's step) to
    ``xart_error`` (relative rms, PLACEHOLDER, :mod:`simulator.cross_artifact`); the LRS SPECWCS from a line
    source observed for ``wavecal_exposure_s`` seconds (:mod:`simulator.lrs_wavecal`;
    PLACEHOLDER length); the MRS spectral leak's curve (MRSPTCORR) fitted on simulated band 1B and 3A exposures
    of a uniform hot source calibrated with the measured PHOTOMs (:mod:`simulator.mrs_leakcal`: its error is that
    measurement's, and it carries the two PHOTOMs' errors, which so cancel in the correction).  ``perfect``: the
    truth, so a study can separate algorithm error from reference error.
    """

    kind: str = "measured"
    dark_integrations: int = 100
    readnoise_pairs: int = 200
    gain_error: float = 0.01
    photom_error: float = 0.003
    apcorr_error: float = 0.003
    xart_error: float = 0.03
    wavecal_exposure_s: float = 1000.0

    def __post_init__(self):
        if self.kind not in ("measured", "perfect"):
            raise ValueError(f"reference kind must be 'measured' or 'perfect', got {self.kind!r}")
        if not self.wavecal_exposure_s > 0:
            raise ValueError(f"wavecal_exposure_s must be > 0 seconds, got {self.wavecal_exposure_s!r}")
        if not 0 <= self.xart_error < 0.5:
            raise ValueError(f"xart_error must be a relative rms in [0, 0.5), got {self.xart_error!r}")


__all__ = ["PointSource", "SpectralSource", "Scene", "Readout", "Observation", "LrsObservation", "MrsObservation",
           "DetectorEffects", "OpticsEffects", "ImagerEffects", "LrsEffects", "MrsEffects", "Effects",
           "ReferenceOptions"]
