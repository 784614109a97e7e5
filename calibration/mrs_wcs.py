"""assign_wcs for the MRS (MIR_MRS): every lit pixel's slice, (alpha, beta, lambda) and footprint.

The references are the JWST ones, selected from the folder as CRDS selects them (DETECTOR,
CHANNEL, BAND; :mod:`calibration.references`), so real CRDS files drop in:

- DISTORTION (``DistortionMRSModel``, per band pair): for slice ``k`` the forward
  ``alpha_k(y, x)``, the inverse ``x_k(lambda, alpha)``, ``y_k(lambda, alpha)``, the slice's
  beta (``beta_model[k]``, a constant) and, per band, the slice width ``beta_del``;
- SPECWCS (``SpecwcsModel``), ``lambda_k(y, x)``;
- WAVELENGTHRANGE (``WavelengthrangeModel``), each band's range;
- REGIONS (``RegionsModel``, optional): the slice map, as jwst reads it (its 80 %
  throughput plane, ``regions[7]``, when it has planes).

The models are the file's own, evaluated here at 0-based detector pixels, as jwst's
``assign_wcs.miri`` calls them (``alpha_k(y, x)``; the x and y order of the file).  Nothing
comes from the simulator; :mod:`instrument.mrs` gives only the bands' names, slice counts
and the slices' along-slice extent (below).

**Slice map.**  With a REGIONS file, its map.  Without one (the flight files carry none),
a pixel belongs to slice ``k`` when its centre maps, by the slice's *forward* models, to
``alpha_k(y, x)`` inside the slice's along-slice extent and ``lambda_k(y, x)`` inside the
band's WAVELENGTHRANGE; only columns the slice's *inverse* models put within
:data:`SEARCH_MARGIN_PIX` of the slice's rectangle ``(alpha limits) x (range)`` are tried
(the forward polynomials are fits to the slice alone and must not be believed far
outside it).  Two slices claiming one pixel is an error.  This is a derivation of its
own (forward, pixel by pixel), not :func:`instrument.mrs.band_map`'s edge tracing by the
inverse models; the two agree but at the slice ends, where forward and inverse fits
differ by up to a few tenths of a pixel.  The along-slice extent is not in the
DISTORTION file: it is the SIAF's (:func:`instrument.mrs.siaf_alpha_limits`, pysiaf's
published slice apertures), the same extent the simulator's slice map uses.  That is not
an inverse crime: the ends decide which pixels enter the cube, not where their light is
(alpha and lambda come from the reference's models); a REGIONS file replaces them.

**Footprint.**  A pixel covers ``alpha`` between ``alpha_k(y, x - 1/2)`` and
``alpha_k(y, x + 1/2)`` (its two side edges on its row), ``beta`` within
``beta_k +/- beta_del / 2`` (its slice) and ``lambda`` between ``lambda_k(y - 1/2, x)`` and
``lambda_k(y + 1/2, x)``.  Edges at the side midpoints rather than the extent of the
four corners: neighbours along a row (column) then share their edge exactly, so the
footprints tile each slice in alpha (lambda); the corners' extent would overlap the
neighbours by the slice's tilt (alpha changes along y, lambda along x) and inflate every
footprint's volume by that overlap, which a flux-conserving drizzle divides the pixel's
rate by.  The small parallelogram shear the boxes leave out is second order (the cross
term ``d alpha/d y * d lambda/d x`` of the Jacobian).
"""
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import asdf
import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import mrs
from miri_testbed.instrument.detector import REFERENCE_COLUMNS_LEFT, REFERENCE_COLUMNS_RIGHT

from . import CalibrationInputError
from . import references as refs

EXP_TYPE = "MIR_MRS"
#: Columns beyond the inverse models' rectangle searched for a slice's pixels.
SEARCH_MARGIN_PIX = 3
#: The REGIONS plane jwst uses (80 % of the peak throughput) when the map has planes.
REGIONS_PLANE = 7
#: Wavelength samples of a slice's rectangle edges traced by the inverse models (search bounds only).
_EDGE_SAMPLES = 257


@dataclass(frozen=True, eq=False)
class BandWcs:
    """One band's geometry as its reference files give it.

    Parameters
    ----------
    name : str
        "1A" ... "4C".
    slices : tuple of int
        Slice ids, ``100 channel + n``.
    beta : numpy.ndarray
        Each slice's beta, arcsec.
    beta_del : float
        The slice width, arcsec.
    wavelength_range : tuple of float
        From WAVELENGTHRANGE, um.
    alpha, wavelength, x, y : tuple
        Per slice, the DISTORTION's ``alpha_k(y, x)``, SPECWCS's ``lambda_k(y, x)`` and the
        DISTORTION's inverse ``x_k(lambda, alpha)``, ``y_k(lambda, alpha)``.
    to_v2v3 : astropy model
        The band's ``(alpha, beta) -> (V2, V3)``.
    """

    name: str
    slices: tuple
    beta: np.ndarray
    beta_del: float
    wavelength_range: tuple
    alpha: tuple
    wavelength: tuple
    x: tuple
    y: tuple
    to_v2v3: object


@dataclass(frozen=True)
class MrsPixels:
    """A band's lit pixels and their coordinates (1-D arrays over the pixels, module docstring).

    ``y, x``: the pixel (0-based, full frame); ``slice``: its index in the band's slices
    (0 ... N-1); ``alpha``, ``wavelength``: at its centre; ``beta``: its slice's;
    ``alpha_lo, alpha_hi``, ``lam_lo, lam_hi``: its footprint, sorted.
    """

    band: BandWcs
    y: np.ndarray
    x: np.ndarray
    slice: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    wavelength: np.ndarray
    alpha_lo: np.ndarray
    alpha_hi: np.ndarray
    lam_lo: np.ndarray
    lam_hi: np.ndarray


@dataclass(frozen=True)
class MrsReferences:
    """The geometry references of one exposure: ``bands`` (``{name: BandWcs}``), the REGIONS map or None, file names."""

    bands: dict
    regions: object
    filenames: dict


def check_exposure(exposure):
    """The exposure's band names ("1A", "2A"); an error names a wrong EXP_TYPE, detector, CHANNEL or BAND."""
    exp_type = str(exposure.meta.exposure.type).strip().upper()
    detector = str(exposure.meta.instrument.detector).strip().upper()
    if exp_type != EXP_TYPE:
        raise CalibrationInputError(f"MRS assign_wcs is for EXP_TYPE {EXP_TYPE}, not {exp_type}")
    channels = [c for c, d in mrs.DETECTOR_OF_CHANNEL.items() if d == detector]
    if not channels:
        raise CalibrationInputError(f"EXP_TYPE {EXP_TYPE} on detector {detector}: the MRS detectors are MIRIFUSHORT "
                                    f"(channels 1, 2) and MIRIFULONG (3, 4)")
    channel = str(exposure.meta.instrument.channel or "").strip()
    if channel != "".join(map(str, channels)):
        raise CalibrationInputError(f"MRS exposure on {detector} with CHANNEL {channel or 'missing'!r}: that detector "
                                    f"sees channels {''.join(map(str, channels))}")
    setting = str(exposure.meta.instrument.band or "").strip().upper()
    if setting not in mrs.SETTINGS:
        raise CalibrationInputError(f"MRS exposure with BAND {setting or 'missing'!r}: the grating settings are "
                                    f"{', '.join(mrs.SETTINGS)}")
    return [f"{c}{mrs.SETTINGS[setting]}" for c in channels]


def _select(folder, reftype, exposure, required=True):
    try:
        return refs.select(folder, reftype, exposure)
    except CalibrationInputError as exc:
        if not required:
            return None
        raise CalibrationInputError(f"{exc}: MRS assign_wcs needs its {reftype} reference") from None


def _open(path, reftype, model_class):
    if path is None:
        return None
    try:
        # without asdf's schema validation of the whole tree on read (~1 s of the ~2.5 s parse a band pair,
        # 2026-12-04, docs/mrs.md 'Against jwst'; asdf says it will be off by default): _read checks what it uses and
        # refuses a file whose tree lacks it, naming the file
        with asdf.config_context() as config:
            config.validate_on_read = False
            return model_class(str(path))
    except Exception as exc:
        raise CalibrationInputError(f"{path}: cannot be read as an MRS {reftype} reference ({exc})") from None


def read_references(folder, exposure):
    """The exposure's DISTORTION, SPECWCS, WAVELENGTHRANGE (and REGIONS if any), read (module docstring).

    The files are parsed once per process and version (path, modification time and size; the parse
    takes ~2 s CPU a band pair): a later call gets the same :class:`BandWcs` (frozen, their arrays
    read-only; their astropy models are shared and must not be changed) in new dicts.  They are read
    without asdf's schema validation (:func:`_open`): a file whose tree lacks what is used here is refused.

    Parameters
    ----------
    folder : path
    exposure : DataModel
        An MIR_MRS exposure: its DETECTOR, CHANNEL and BAND select the files.

    Returns
    -------
    MrsReferences

    Raises
    ------
    CalibrationInputError
        For an exposure that is not an MRS one (wrong EXP_TYPE, detector, CHANNEL or BAND),
        a missing or unreadable reference, or files that do not hold the exposure's bands.
    """
    names = check_exposure(exposure)
    paths = [_select(folder, reftype, exposure, required=reftype != "REGIONS")
             for reftype in ("DISTORTION", "SPECWCS", "WAVELENGTHRANGE", "REGIONS")]
    versions = tuple(None if p is None else (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    read = _read(versions, tuple(names), str(exposure.meta.instrument.band).strip().upper())
    return MrsReferences(dict(read.bands), read.regions, dict(read.filenames))


@lru_cache(maxsize=2)
def _read(versions, names, setting):
    """:func:`read_references`'s parse of the files ``versions`` (``(path, mtime, size)``, REGIONS' or None)."""
    dist_path, spec_path, range_path, regions_path = (None if v is None else Path(v[0]) for v in versions)
    dist = _open(dist_path, "DISTORTION", dm.DistortionMRSModel)
    spec = _open(spec_path, "SPECWCS", dm.SpecwcsModel)
    ranges = _open(range_path, "WAVELENGTHRANGE", dm.WavelengthrangeModel)
    regions = _open(regions_path, "REGIONS", dm.RegionsModel)
    with dist, spec, ranges:
        try:
            bands = _bands(dist, spec, ranges, names, setting, (dist_path.name, spec_path.name))
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise CalibrationInputError(f"{dist_path.name}, {spec_path.name}, {range_path.name}: not MRS DISTORTION, "
                                        f"SPECWCS and WAVELENGTHRANGE references holding bands {', '.join(names)} "
                                        f"({type(exc).__name__}: {exc})") from None
    region_map = None
    filenames = {"distortion": dist_path.name, "specwcs": spec_path.name, "wavelengthrange": range_path.name}
    if regions is not None:
        with regions:
            region_map = np.array(regions.regions)
            region_map = region_map[REGIONS_PLANE] if region_map.ndim == 3 else region_map
        region_map.flags.writeable = False
        filenames["regions"] = regions_path.name
    return MrsReferences(bands, region_map, filenames)


def _bands(dist, spec, ranges, names, setting, files):
    """``{name: BandWcs}`` of the bands ``names`` from the open DISTORTION, SPECWCS and WAVELENGTHRANGE models.

    ``files``: the DISTORTION's and SPECWCS's file names, for the messages.
    """
    dist_name, spec_name = files
    ids = [int(s) for s in dist.slices]
    if ids != [int(s) for s in spec.slices]:
        raise CalibrationInputError(f"{dist_name} and {spec_name} list different slices")
    selector = {str(k): tuple(float(v) for v in r)
                for k, r in zip(ranges.waverange_selector, ranges.wavelengthrange, strict=True)}
    beta_del = dict(zip(dist.bdel.channel_band, dist.bdel.delta_beta, strict=True))
    to_v2v3 = dict(zip(dist.abv2v3_model.channel_band, dist.abv2v3_model.model, strict=True))
    bands = {}
    for name in names:
        key = f"{name[0]}{setting}"
        mine = [k for k, s in enumerate(ids) if s // 100 == int(name[0])]
        if len(mine) != mrs.SLICES_PER_CHANNEL[int(name[0])] or key not in beta_del or key not in selector:
            raise CalibrationInputError(f"{dist_name}: no {mrs.SLICES_PER_CHANNEL[int(name[0])]} slices, "
                                        f"slice width and wavelength range for band {name} ({key})")
        beta = np.array([float(dist.beta_model[k](0.0)) for k in mine])
        beta.flags.writeable = False
        bands[name] = BandWcs(
            name=name, slices=tuple(ids[k] for k in mine), beta=beta,
            beta_del=float(beta_del[key]), wavelength_range=selector[key],
            alpha=tuple(dist.alpha_model[k] for k in mine), wavelength=tuple(spec.model[k] for k in mine),
            x=tuple(dist.x_model[k] for k in mine), y=tuple(dist.y_model[k] for k in mine),
            to_v2v3=to_v2v3[key])
    return bands


def _columns_to_search(band, k, alpha_limits, nx):
    """Columns where slice ``k`` may lie: its rectangle's edges by the inverse models, widened by the margin."""
    lam = np.linspace(*band.wavelength_range, _EDGE_SAMPLES)
    xs = np.concatenate([np.asarray(band.x[k](lam, np.full_like(lam, a))) for a in alpha_limits])
    xs = xs[np.isfinite(xs)]
    if xs.size == 0:
        return np.arange(0)
    lo = max(int(np.floor(xs.min())) - SEARCH_MARGIN_PIX, 0)
    hi = min(int(np.ceil(xs.max())) + SEARCH_MARGIN_PIX, nx - 1)
    return np.arange(lo, hi + 1)


def _usable_columns(nx):
    columns = np.zeros(nx, bool)
    columns[REFERENCE_COLUMNS_LEFT:nx - REFERENCE_COLUMNS_RIGHT] = True
    return columns


def band_pixels(band, shape, regions=None):
    """Variant ``reference`` of step ``mrs_wcs``: a band's lit pixels and their coordinates (module docstring).

    Parameters
    ----------
    band : BandWcs
    shape : (int, int)
        The detector frame (full frame, 1024 x 1032).
    regions : (ny, nx) int array, optional
        A REGIONS slice map (slice ids, 0 none); without it the map is derived.

    Returns
    -------
    MrsPixels

    Raises
    ------
    CalibrationInputError
        When two slices claim a pixel or a slice has no pixel.
    """
    ny, nx = shape
    usable = _usable_columns(nx)
    rows = np.arange(ny, dtype=float)
    parts = []
    owner = np.full(shape, -1, np.int16)
    for k, slice_id in enumerate(band.slices):
        if regions is not None:
            y, x = np.nonzero((regions == slice_id) & usable[None, :])
            alpha = np.asarray(band.alpha[k](y.astype(float), x.astype(float)))
            lam = np.asarray(band.wavelength[k](y.astype(float), x.astype(float)))
        else:
            limits = mrs.siaf_alpha_limits(band.name)[k]
            columns = _columns_to_search(band, k, limits, nx)
            columns = columns[usable[columns]].astype(float)
            yy, xx = np.meshgrid(rows, columns, indexing="ij")
            alpha = np.asarray(band.alpha[k](yy, xx))
            lam = np.asarray(band.wavelength[k](yy, xx))
            with np.errstate(invalid="ignore"):
                inside = ((alpha >= limits[0]) & (alpha <= limits[1]) & (lam >= band.wavelength_range[0])
                          & (lam <= band.wavelength_range[1]))
            y, x = yy[inside].astype(int), xx[inside].astype(int)
            alpha, lam = alpha[inside], lam[inside]
        if y.size == 0:
            raise CalibrationInputError(f"MRS band {band.name}: slice {slice_id} has no pixel on the detector")
        taken = owner[y, x] >= 0
        if np.any(taken):
            other = band.slices[int(owner[y, x][taken][0])]
            raise CalibrationInputError(f"MRS band {band.name}: slices {other} and {slice_id} claim the same pixels")
        owner[y, x] = k
        yf, xf = y.astype(float), x.astype(float)
        left, right = (np.asarray(band.alpha[k](yf, xf + d)) for d in (-0.5, 0.5))
        below, above = (np.asarray(band.wavelength[k](yf + d, xf)) for d in (-0.5, 0.5))
        parts.append((y, x, np.full(y.size, k, np.int16), alpha, lam, np.fmin(left, right), np.fmax(left, right),
                      np.fmin(below, above), np.fmax(below, above)))
    y, x, index, alpha, lam, a_lo, a_hi, l_lo, l_hi = (np.concatenate(c) for c in zip(*parts, strict=True))
    return MrsPixels(band, y, x, index, alpha, band.beta[index], lam, a_lo, a_hi, l_lo, l_hi)


def assign(log, choice, references, shape):
    """Step ``mrs_wcs`` for each band of the exposure: ``{name: MrsPixels}`` (through the step shell)."""
    return {name: log.run("mrs_wcs", choice["mrs_wcs"], band, shape, references.regions)
            for name, band in references.bands.items()}


def usable(pixels, rate, dq):
    """Pixels to build a cube from: finite rate, not DO_NOT_USE (a boolean over the band's pixels)."""
    flags = dq[pixels.y, pixels.x]
    return np.isfinite(rate[pixels.y, pixels.x]) & ((flags & dqflags.DO_NOT_USE) == 0)
