"""What a simulation is asked to make: the scene, the observation, the effects.

Frozen dataclasses with their defaults in one place.  Numbers without a source are
placeholders and say so.
"""
from dataclasses import dataclass, fields

from miri_testbed.instrument import imager, readout


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
    """Point sources on a uniform background (MJy/sr)."""

    sources: tuple = ()
    background_mjy_sr: float = 0.0

    def __post_init__(self):
        if not self.background_mjy_sr >= 0:
            raise ValueError(f"background must be >= 0 MJy/sr, got {self.background_mjy_sr!r}")


@dataclass(frozen=True)
class Observation:
    """One MIRI imager exposure.

    ``pa_aper_deg`` is the position angle of the detector's +y axis, east of north.
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

    def __post_init__(self):
        imager.imager_filter(self.filter)
        readout.rowclocks(self.subarray, self.readpatt)  # validates both names and the pair
        if self.ngroups < 2:
            raise ValueError(f"ngroups must be >= 2 for a ramp, got {self.ngroups}")
        if self.nints < 1:
            raise ValueError(f"nints must be >= 1, got {self.nints}")

    @property
    def group_time(self):
        return readout.group_time(self.subarray, self.readpatt)

    @property
    def frame_time(self):
        return readout.frame_time(self.subarray, self.readpatt)


@dataclass(frozen=True)
class DetectorEffects:
    """Which ordinary detector effects are simulated; all on by default.

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
    cosmic_rays: bool = True
    showers: bool = True
    cosmic_ray_rate: float = 5e-5  # hits per pixel per second (params 3, ETC 8 /cm^2/s)
    shower_rate: float = 1 / 40  # per second per full detector (params 3, JDox, very approximate)
    hot_fraction: float = 2e-3  # placeholder
    dead_fraction: float = 1e-3  # placeholder
    bias_scatter_dn: float = 300.0  # placeholder pixel-to-pixel pedestal scatter
    emi: bool = True  # EMI lines of params 2 at each pixel's read time (simulator.emi)
    emi_rms_390_dn: float = 4.0  # UNSOURCED placeholder: params 2 "A guess ... ~ 4 DN" (DERIVED)
    emi_rms_10_dn: float = 1.0  # UNSOURCED placeholder: "10 Hz minor in full array" (params, LRS row)
    emi_harmonics: int = 3  # harmonics per line, fundamental included (0: no EMI)
    emi_drift: float = 1e-4  # largest relative frequency offset of an exposure (placeholder)
    # Imager optics (issue 5; models and sources in simulator.psf, cruciform, throughput, pointing).
    cruciform: bool = True  # row/column scattering at short wavelengths
    throughput_decay: bool = True  # A exp(-(t - t0)/tau) + C at the exposure's mid-time
    pointing_error: bool = True  # true pointing differs from the commanded one
    pointing_error_arcsec: float = 0.15  # rms radial pointing error (Law25talk: 0.1-0.2" typical, 2" rare)
    roll_error_deg: float = 0.005  # rms roll error, UNSOURCED placeholder
    distortion: bool = True  # placeholder distortion polynomial (simulator.pointing)
    background_model: bool = False  # add zodiacal + thermal placeholders (simulator.background) to the scene's
    lyot_offset: float = 0.0  # fractional extra background in the Lyot box, UNSOURCED (Law25talk: "slightly")
    background_exposure: bool = False  # also write a dedicated background exposure (simulator.background)

    @classmethod
    def noise_free(cls):
        """Every effect off: the ramp is exactly ``rate * t / gain``."""
        return cls(**{f.name: False for f in fields(cls) if f.type in (bool, "bool")})


@dataclass(frozen=True)
class ReferenceOptions:
    """How the reference files are made.

    ``measured`` (the default): each file is what a calibration programme would
    measure, with its noise: darks averaged over ``dark_integrations`` integrations,
    read noise from ``readnoise_pairs`` CDS pairs per pixel, gain to
    ``gain_error`` and the photometric factor to ``photom_error`` (G25: formal
    uncertainty 0.3-1.0 %; the counts are placeholders).  ``perfect``: the truth, so
    a study can separate algorithm error from reference error.
    """

    kind: str = "measured"
    dark_integrations: int = 100
    readnoise_pairs: int = 200
    gain_error: float = 0.01
    photom_error: float = 0.003
    saturation_margin: float = 0.97  # threshold at 97 % of the true hard saturation

    def __post_init__(self):
        if self.kind not in ("measured", "perfect"):
            raise ValueError(f"reference kind must be 'measured' or 'perfect', got {self.kind!r}")


__all__ = ["PointSource", "Scene", "Observation", "DetectorEffects", "ReferenceOptions"]
