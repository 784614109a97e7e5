"""The medium-resolution spectrometer (MRS): the flight geometry of its 12 bands (params section 5).

Facts (params 5): four channels, each cut by an image slicer into 21 / 17 / 16 / 12
slices (SIAF), each dispersed by one of three grating settings SHORT / MEDIUM / LONG
(bands A / B / C); channels 1 + 2 fall on MIRIFUSHORT (channel 1 left, x < 512), 3 + 4 on
MIRIFULONG (channel 4 left); one setting lights one band of each channel, so an exposure
gives two bands per detector, on the full 1032 x 1024 frame (params 1).  Sky coordinates:
``alpha`` along a slice, ``beta`` across the slices (the slice's centre), arcsec.

Geometry: the flight reference files in ``data/mrs/`` (BSD-3, STScI-MIRI/miricoord "flt9",
INFLIGHT 2022-06-08; licence in ``data/mrs/LICENSE-miricoord.md``), read with
``stdatamodels`` as jwst's ``assign_wcs.miri`` reads them (0-based detector pixels):

- DISTORTION (``DistortionMRSModel``), per band pair: for slice ``k``, ``alpha_k(y, x)``
  and the inverse ``x_k(lambda, alpha)``, ``y_k(lambda, alpha)`` (2-D polynomials), the
  slice's beta ``beta_zero + (n - 1) beta_del`` (slice ``n`` of the channel, id
  ``100 channel + n``) and, per channel, ``(alpha, beta) -> (V2, V3)`` and its inverse;
- SPECWCS (``SpecwcsModel``; jwst has no MRS-specific model), ``lambda_k(y, x)``;
- WAVELENGTHRANGE (``WavelengthrangeModel``), the range of each band ("1SHORT" ...).

They need only core dependencies: ``stdatamodels`` brings ``asdf``, ``asdf-astropy`` and
``gwcs``, which deserialise the polynomials as ``astropy.modeling`` models.

The slice map (what jwst reads from REGIONS, not public in these files) is derived from
the inverse polynomials, the band's wavelength range and each slice's along-slice extent
from the SIAF (``pysiaf``'s MIRI_SIAF.xml, BSD-3: the ``MIRIFU_<band>SLICE<nn>``
apertures, :meth:`MrsBand.alpha_limits`; see :func:`band_map`); the real REGIONS marks
where the measured throughput exceeds a fraction (jwst uses the 80 % plane), so the two
may differ at slice ends.  The dither patterns are in :mod:`.mrs_dither`.
"""
import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from .detector import FULL_NX, FULL_NY, REFERENCE_COLUMNS_LEFT, REFERENCE_COLUMNS_RIGHT

#: Grating settings (MIRI keyword BAND) and their band letters.
SETTINGS = {"SHORT": "A", "MEDIUM": "B", "LONG": "C"}
#: The 12 bands, channel then setting.
BANDS = tuple(f"{c}{b}" for c in "1234" for b in "ABC")
#: Slices per channel (params 5: SIAF counts of MIRIFU_nXSLICEmm apertures).
SLICES_PER_CHANNEL = {1: 21, 2: 17, 3: 16, 4: 12}
#: Detector of each channel (params 5: ch1+2 on MIRIFUSHORT, ch3+4 on MIRIFULONG).
DETECTOR_OF_CHANNEL = {1: "MIRIFUSHORT", 2: "MIRIFUSHORT", 3: "MIRIFULONG", 4: "MIRIFULONG"}
#: The pipeline's default cube spaxel per channel, arcsec (params 5, "Cube spaxel size (pipeline
#: default)": jwst's CUBEPAR): a fact of how MRS cubes are built, which an APCORR measured on them holds.
CUBE_SPAXEL_ARCSEC = {1: 0.13, 2: 0.17, 3: 0.20, 4: 0.35}
#: The testbed's default cube kernel's Gaussian in alpha: its sigma in the band's median pixel width
#: (:mod:`calibration.cube_build`).  The default ``drizzle_lambda_alpha_smooth_complete`` smooths alpha by
#: ``cube_build.SMOOTH_ALPHA_PIXELS`` (0.5); 0 would be ``drizzle`` (jwst's), which smooths nothing.
#: A choice of the testbed, not a MIRI fact: here because the default cube's image, and so an APCORR
#: measured on the default cubes (:mod:`simulator.mrs_apcorr`), holds it (both packages read it).
CUBE_ALPHA_SIGMA_PIXELS = 0.5
#: Telescope diameter, m (params section 7): the ``D`` of every ``lambda / D``.
TELESCOPE_DIAMETER_M = 6.5
#: Wavelength samples per slice edge when the slice map is traced (a row's edge is
#: interpolated between them: far below a pixel, the edges being smooth).
_EDGE_SAMPLES = 4097


def lambda_over_d(wavelength_um):
    """``lambda / D`` in arcsec (:data:`TELESCOPE_DIAMETER_M`): the MRS's apertures and PSF widths scale with it."""
    return np.asarray(wavelength_um, float) * 1e-6 / TELESCOPE_DIAMETER_M * (180 / np.pi * 3600)


def band_name(name):
    """The band ``name`` checked and normalised ("1a" -> "1A"); an unknown band is a ``ValueError``."""
    key = str(name).upper()
    if key not in BANDS:
        raise ValueError(f"unknown MRS band {name!r}; bands: {', '.join(BANDS)}")
    return key


def _setting(band):
    return {v: k for k, v in SETTINGS.items()}[band[1]]


def flight_file(name):
    """A shipped file of ``data/mrs/`` (an ``importlib.resources`` traversable)."""
    return resources.files("miri_testbed.instrument") / "data" / "mrs" / name


@contextmanager
def _opened(model_class, name):
    with resources.as_file(flight_file(name)) as path, model_class(str(path)) as model:
        yield model


@cache
def wavelength_ranges():
    """The wavelength range (um) of each band from the flight WAVELENGTHRANGE file, ``{"1A": (lo, hi), ...}``."""
    from stdatamodels.jwst.datamodels import WavelengthrangeModel

    with _opened(WavelengthrangeModel, "jwst_miri_mrs_wavelengthrange_flt9.asdf") as model:
        ranges = dict(zip(model.waverange_selector, model.wavelengthrange, strict=True))
    return {b: tuple(float(v) for v in ranges[f"{b[0]}{_setting(b)}"]) for b in BANDS}


@cache
def _band_pair(pair):
    """Both channels' bands of one pair of files ("12A" ... "34C"), read once: ``{band: MrsBand}``."""
    from stdatamodels.jwst.datamodels import DistortionMRSModel, SpecwcsModel

    with (_opened(DistortionMRSModel, f"jwst_miri_mrs{pair}_distortion_flt9.asdf") as dist,
          _opened(SpecwcsModel, f"jwst_miri_mrs{pair}_specwcs_flt9.asdf") as spec):
        if list(dist.slices) != list(spec.slices):
            raise ValueError(f"MRS {pair}: the distortion and specwcs files list different slices")
        beta_zero = dict(zip(dist.bzero.channel_band, dist.bzero.beta_zero, strict=True))
        beta_del = dict(zip(dist.bdel.channel_band, dist.bdel.delta_beta, strict=True))
        to_v2v3 = dict(zip(dist.abv2v3_model.channel_band, dist.abv2v3_model.model, strict=True))
        bands = {}
        for channel in (int(pair[0]), int(pair[1])):
            name = f"{channel}{pair[2]}"
            key = f"{channel}{_setting(name)}"
            mine = [k for k, s in enumerate(dist.slices) if s // 100 == channel]
            bands[name] = MrsBand(
                name=name, slices=tuple(int(dist.slices[k]) for k in mine),
                beta=tuple(float(dist.beta_model[k].amplitude.value) for k in mine),
                beta_zero=float(beta_zero[key]), beta_del=float(beta_del[key]),
                wavelength_range=wavelength_ranges()[name],
                _alpha=tuple(dist.alpha_model[k] for k in mine), _lambda=tuple(spec.model[k] for k in mine),
                _x=tuple(dist.x_model[k] for k in mine), _y=tuple(dist.y_model[k] for k in mine),
                _to_v2v3=to_v2v3[key])
    return bands


#: The shipped table of :func:`siaf_alpha_limits` (``data/mrs/``), written by :func:`measure_siaf_alpha_limits`.
SIAF_ALPHA_LIMITS_FILE = "siaf_alpha_limits.json"


@cache
def _siaf_alpha_table():
    return json.loads(flight_file(SIAF_ALPHA_LIMITS_FILE).read_text())


def siaf_alpha_limits(name):
    """Each slice's along-slice extent from the SIAF: ``((alpha_lo, alpha_hi), ...)`` in slice order, arcsec.

    Read from the shipped table :data:`SIAF_ALPHA_LIMITS_FILE`, which ``scripts/make_siaf_alpha_limits.py``
    writes from :func:`measure_siaf_alpha_limits` (``tests/test_mrs_geometry.py`` checks the two agree bit
    for bit): measuring takes ~1 s a band pair (the flight files' and the SIAF's parse), which every MRS
    calibration spent on constants (docs/mrs.md 'Speed').
    """
    return tuple((lo, hi) for lo, hi in _siaf_alpha_table()["limits"][band_name(name)])


@cache
def measure_siaf_alpha_limits(name):
    """:func:`siaf_alpha_limits` measured from the SIAF and the flight geometry (what the shipped table holds).

    The aperture ``MIRIFU_<band>SLICE<nn>`` of slice ``nn`` (pysiaf's MIRI_SIAF.xml) is a
    quadrilateral whose four vertices (Ideal frame) go to V2/V3 by pysiaf's
    ``idl_to_tel`` and to (alpha, beta) by the band's flight transform
    (:meth:`MrsBand.from_v2v3`): a rectangle whose two short sides are the slice's ends.
    Each end is the mean alpha of its two vertices (they differ by < 1 mas in every band).

    Raises
    ------
    ValueError
        When an aperture is missing or its across-slice edges are not the slice's
        ``beta +/- beta_del / 2`` within 5 mas (then it is not the slice it is named after).
    """
    geometry = band(name)
    siaf = miri_siaf()
    limits = []
    for n, (slice_id, beta) in enumerate(zip(geometry.slices, geometry.beta, strict=True), start=1):
        aperture_name = f"MIRIFU_{geometry.name}SLICE{n:02d}"
        if aperture_name not in siaf.apernames:
            raise ValueError(f"the SIAF has no aperture {aperture_name} for slice {slice_id}")
        aperture = siaf[aperture_name]
        x = np.array([getattr(aperture, f"XIdlVert{i}") for i in range(1, 5)])
        y = np.array([getattr(aperture, f"YIdlVert{i}") for i in range(1, 5)])
        alpha, beta_v = geometry.from_v2v3(*aperture.idl_to_tel(x, y))
        edges = np.sort(beta_v)
        expected = (beta - geometry.beta_del / 2, beta + geometry.beta_del / 2)
        if np.max(np.abs(np.r_[edges[:2] - expected[0], edges[2:] - expected[1]])) > 0.005:
            raise ValueError(f"SIAF {aperture_name} spans beta {edges[0]:.3f}-{edges[-1]:.3f}, not slice "
                             f"{slice_id}'s {expected[0]:.3f}-{expected[1]:.3f}")
        order = np.argsort(alpha)
        limits.append((float(alpha[order[:2]].mean()), float(alpha[order[2:]].mean())))
    return tuple(limits)


#: The shipped table of :func:`idl_to_tel`'s apertures (``data/mrs/``), written by :func:`measure_mrs_apertures`.
MRS_APERTURES_FILE = "siaf_mrs_apertures.json"
#: The MRS apertures of the SIAF an exposure's APERNAME names (one per band: where its pointing is given).
MRS_APERTURES = tuple(f"MIRIFU_CHANNEL{name}" for name in BANDS)


@cache
def _mrs_aperture_table():
    return json.loads(flight_file(MRS_APERTURES_FILE).read_text())["apertures"]


def idl_to_tel(aperture, x, y):
    """An MRS aperture's Ideal ``(x, y)`` -> telescope ``(V2, V3)``, arcsec: pysiaf's ``idl_to_tel``, bit for bit.

    The planar approximation (JWST-STScI-001550 section 4.3, pysiaf's default method):
    ``V2 = V2Ref + p cos(t) x + sin(t) y``, ``V3 = V3Ref - p sin(t) x + cos(t) y`` with ``t`` the
    aperture's V3IdlYAngle and ``p`` its VIdlParity, the four numbers read from the shipped table
    :data:`MRS_APERTURES_FILE` (``scripts/make_siaf_alpha_limits.py`` writes it from the SIAF;
    ``tests/test_mrs_geometry.py`` checks it and these sums against pysiaf's, bit for bit): a dither
    set's pointings (:mod:`calibration.mrs_pointing`) no longer import pysiaf, whose import (it
    brings matplotlib) and parse took ~1.6 s CPU in every MRS spec3 process.

    Raises
    ------
    KeyError
        For an aperture not in :data:`MRS_APERTURES`.
    """
    v2_ref, v3_ref, angle_deg, parity = _mrs_aperture_table()[aperture]
    angle = np.deg2rad(angle_deg)
    return ((parity * np.cos(angle)) * x + np.sin(angle) * y + v2_ref,
            ((0.0 - parity) * np.sin(angle)) * x + np.cos(angle) * y + v3_ref)


@cache
def measure_mrs_apertures():
    """``{aperture: (V2Ref, V3Ref, V3IdlYAngle, VIdlParity)}`` of :data:`MRS_APERTURES` from pysiaf's SIAF."""
    siaf = miri_siaf()
    return {name: tuple(getattr(siaf[name], k) for k in ("V2Ref", "V3Ref", "V3IdlYAngle", "VIdlParity"))
            for name in MRS_APERTURES}


@cache
def miri_siaf():
    """The MIRI SIAF of pysiaf, parsed once."""
    # pysiaf 0.29 asks github.com for the newest PRD when first imported, with no timeout:
    # behind a firewall that drops packets that waits forever.  A proxy that refuses at once
    # (the discard port on this machine) makes it fail fast, and it logs a warning: not ours.
    quiet = logging.getLogger("pysiaf")
    level, proxies = quiet.level, {k: os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy")}
    quiet.setLevel(logging.ERROR)
    os.environ.update({k: "http://127.0.0.1:9" for k in proxies})
    try:
        import pysiaf

        return pysiaf.Siaf("MIRI")
    finally:
        quiet.setLevel(level)
        for k, v in proxies.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def band(name):
    """The flight geometry of one band (read once with the other channel of its file pair, shared: immutable).

    Parameters
    ----------
    name : str
        "1A" ... "4C".

    Returns
    -------
    MrsBand
    """
    name = band_name(name)
    return _band_pair(("12" if name[0] in "12" else "34") + name[1])[name]


@dataclass(frozen=True, eq=False)
class MrsBand:
    """One band's flight geometry: per-slice polynomials and the channel's sky transform.

    Parameters
    ----------
    name : str
        "1A" ... "4C".
    slices : tuple of int
        Slice ids, ``100 channel + n`` for slice ``n`` = 1 ... N of the channel.
    beta : tuple of float
        Each slice's beta (its centre across the slices), arcsec.
    beta_zero, beta_del : float
        Beta of slice 1 and the slice width, arcsec: ``beta_n = beta_zero + (n - 1) beta_del``.
    wavelength_range : tuple of float
        The band's range from WAVELENGTHRANGE, um.

    Notes
    -----
    Detector coordinates are 0-based pixel centres of the full frame (as jwst's).
    """

    name: str
    slices: tuple
    beta: tuple
    beta_zero: float
    beta_del: float
    wavelength_range: tuple
    _alpha: tuple
    _lambda: tuple
    _x: tuple
    _y: tuple
    _to_v2v3: object

    @property
    def channel(self):
        """The channel, 1 ... 4."""
        return int(self.name[0])

    @property
    def detector(self):
        """The detector the band falls on."""
        return DETECTOR_OF_CHANNEL[self.channel]

    @property
    def setting(self):
        """The grating setting (keyword BAND): SHORT, MEDIUM or LONG."""
        return _setting(self.name)

    def alpha_limits(self, slice_id):
        """The along-slice extent of one slice, ``(alpha_lo, alpha_hi)`` arcsec, from the SIAF.

        The flight distortion files give no along-slice extent; SIAF's slice apertures do
        (:func:`siaf_alpha_limits`).  The real REGIONS marks where measured throughput
        exceeds a fraction, which may end a slice a little inside or beyond these.
        """
        return siaf_alpha_limits(self.name)[self._index(slice_id)]

    def _index(self, slice_id):
        try:
            return self.slices.index(int(slice_id))
        except ValueError:
            raise ValueError(f"band {self.name} has no slice {slice_id}; its slices: "
                             f"{self.slices[0]}-{self.slices[-1]}") from None

    def to_sky(self, x, y, slice_id):
        """Forward transform of one slice: detector ``(x, y)`` -> ``(alpha, lambda)``.

        ``alpha = alpha_k(y, x)`` (arcsec), ``lambda = lambda_k(y, x)`` (um), the flight
        polynomials of slice ``k`` (jwst ``assign_wcs.miri.detector_to_abl``); beta is the
        slice's :attr:`beta`.

        Parameters
        ----------
        x, y : array_like
            0-based detector pixels.
        slice_id : int
            One of :attr:`slices`.

        Returns
        -------
        alpha, wavelength : numpy.ndarray
        """
        k = self._index(slice_id)
        x, y = np.asarray(x, float), np.asarray(y, float)
        return np.asarray(self._alpha[k](y, x)), np.asarray(self._lambda[k](y, x))

    def to_detector(self, alpha, wavelength, slice_id):
        """Inverse transform of one slice: ``(alpha, lambda)`` -> detector ``(x, y)``.

        ``x = x_k(lambda, alpha)``, ``y = y_k(lambda, alpha)``: the file's own inverse
        polynomials (fitted separately from the forward ones, so a round trip closes only
        to their fit accuracy).

        Parameters
        ----------
        alpha, wavelength : array_like
            Arcsec, um.
        slice_id : int
            One of :attr:`slices`.

        Returns
        -------
        x, y : numpy.ndarray
            0-based detector pixels.
        """
        k = self._index(slice_id)
        alpha, wavelength = np.asarray(alpha, float), np.asarray(wavelength, float)
        return np.asarray(self._x[k](wavelength, alpha)), np.asarray(self._y[k](wavelength, alpha))

    def slice_of_beta(self, beta):
        """The slice id containing ``beta`` (jwst ``MIRI_AB2Slice``), 0 outside the channel's slices."""
        n = np.floor((np.asarray(beta, float) - self.beta_zero) / self.beta_del + 0.5).astype(int) + 1
        inside = (n >= 1) & (n <= len(self.slices))
        return np.where(inside, 100 * self.channel + n, 0)

    def to_v2v3(self, alpha, beta):
        """``(alpha, beta)`` -> telescope ``(V2, V3)``, arcsec (the channel's flight polynomials)."""
        return tuple(np.asarray(v) for v in self._to_v2v3(np.asarray(alpha, float), np.asarray(beta, float)))

    def from_v2v3(self, v2, v3):
        """``(V2, V3)`` -> ``(alpha, beta)``, arcsec (the file's inverse polynomials)."""
        inverse = self._to_v2v3.inverse
        return tuple(np.asarray(v) for v in inverse(np.asarray(v2, float), np.asarray(v3, float)))

    def slice_footprint(self, slice_id):
        """The detector pixels of one slice: per row, the columns between its two long edges.

        A slice is the detector image of the rectangle ``alpha`` in :meth:`alpha_limits`,
        ``lambda`` in :attr:`wavelength_range` under the inverse polynomials.  Its long
        edges are the curves ``(x_k, y_k)(lambda, alpha_lo)`` and ``(lambda, alpha_hi)``,
        traced at 4097 wavelengths over the range; on each row ``y`` (a pixel centre) the
        edge's ``x`` is interpolated where the curve crosses ``y`` (``y`` is monotone in
        lambda along an edge, which is checked), and the pixels whose centre ``x`` lies
        between the two edges belong to the slice.  A row that one edge does not reach
        (beyond the wavelength range) is not in the slice; the reference columns never are.

        Parameters
        ----------
        slice_id : int
            One of :attr:`slices`.

        Returns
        -------
        rows, first, last : numpy.ndarray
            Rows of the frame the slice covers and, on each, its first and last column.
        """
        lam = np.linspace(*self.wavelength_range, _EDGE_SAMPLES)
        rows = np.arange(FULL_NY, dtype=float)
        edges = []
        for alpha in self.alpha_limits(slice_id):
            x, y = self.to_detector(np.full_like(lam, alpha), lam, slice_id)
            on = (y > -1) & (y < FULL_NY)  # the polynomials beyond the frame are not needed
            x, y = x[on], y[on]
            step = np.sign(y[-1] - y[0])
            if not np.all(step * np.diff(y) > 0):
                raise ValueError(f"band {self.name} slice {slice_id}: y is not monotone in lambda on its edge")
            x_at = np.interp(rows, y[::int(step)], x[::int(step)], left=np.nan, right=np.nan)
            edges.append(x_at)
        lo, hi = np.fmin(*edges), np.fmax(*edges)
        first = np.maximum(np.ceil(lo), REFERENCE_COLUMNS_LEFT)
        last = np.minimum(np.floor(hi), FULL_NX - REFERENCE_COLUMNS_RIGHT - 1)
        keep = np.isfinite(lo) & np.isfinite(hi) & (last >= first)
        return rows[keep].astype(int), first[keep].astype(int), last[keep].astype(int)


@dataclass(frozen=True, eq=False)
class PixelMap:
    """Every pixel's slice and sky coordinates on the full 1032 x 1024 frame (read-only arrays).

    Parameters
    ----------
    slice : numpy.ndarray
        Slice id of each pixel (``100 channel + n``), 0 for none; int16, ``(1024, 1032)``.
    alpha, beta, wavelength : numpy.ndarray
        Arcsec, arcsec, um at each pixel centre; NaN where ``slice`` is 0.
    """

    slice: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    wavelength: np.ndarray

    def __post_init__(self):
        for array in (self.slice, self.alpha, self.beta, self.wavelength):
            array.flags.writeable = False


@cache
def band_map(name):
    """The slice map of one band and each lit pixel's ``(alpha, beta, lambda)`` (built once, cached).

    The slice map is derived, not read (no REGIONS file ships): each slice's pixels are
    those of :meth:`MrsBand.slice_footprint`, the detector image of ``alpha`` within
    the slice's SIAF extent (:meth:`MrsBand.alpha_limits`) and ``lambda`` within the
    band's WAVELENGTHRANGE under the slice's inverse polynomials.
    Each pixel centre then gets the forward polynomials of its slice.

    Parameters
    ----------
    name : str
        "1A" ... "4C".

    Returns
    -------
    PixelMap

    Raises
    ------
    ValueError
        When two slices claim the same pixel.
    """
    geometry = band(name)
    slices = np.zeros((FULL_NY, FULL_NX), np.int16)
    alpha, beta, wavelength = (np.full((FULL_NY, FULL_NX), np.nan) for _ in range(3))
    columns = np.arange(FULL_NX)
    for slice_id, slice_beta in zip(geometry.slices, geometry.beta, strict=True):
        rows, first, last = geometry.slice_footprint(slice_id)
        inside = (columns >= first[:, None]) & (columns <= last[:, None])
        y, x = np.nonzero(inside)
        y = rows[y]
        if np.any(slices[y, x]):
            raise ValueError(f"band {geometry.name}: slice {slice_id} overlaps slice {slices[y, x].max()}")
        slices[y, x] = slice_id
        alpha[y, x], wavelength[y, x] = geometry.to_sky(x, y, slice_id)
        beta[y, x] = slice_beta
    return PixelMap(slices, alpha, beta, wavelength)


def detector_map(detector, setting):
    """The pixel map of one detector at a grating setting: its two channels' bands together (REGIONS-like).

    Parameters
    ----------
    detector : str
        "MIRIFUSHORT" or "MIRIFULONG".
    setting : str
        "SHORT", "MEDIUM" or "LONG".

    Returns
    -------
    PixelMap

    Raises
    ------
    ValueError
        For another detector or setting, or when the two channels' slices overlap.
    """
    setting = str(setting).upper()
    if setting not in SETTINGS:
        raise ValueError(f"unknown MRS setting {setting!r}; settings: {', '.join(SETTINGS)}")
    channels = [c for c, d in DETECTOR_OF_CHANNEL.items() if d == str(detector).upper()]
    if not channels:
        raise ValueError(f"{detector!r} is not an MRS detector; MRS detectors: MIRIFUSHORT, MIRIFULONG")
    first, second = (band_map(f"{c}{SETTINGS[setting]}") for c in channels)
    if np.any((first.slice > 0) & (second.slice > 0)):
        raise ValueError(f"{detector} {setting}: the slices of channels {channels} overlap")
    pick = first.slice > 0
    return PixelMap(*(np.where(pick, a, b) for a, b in zip(
        (first.slice, first.alpha, first.beta, first.wavelength),
        (second.slice, second.alpha, second.beta, second.wavelength), strict=True)))
