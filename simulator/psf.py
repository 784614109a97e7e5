"""Imager point-spread function: diffraction by the JWST pupil, over the band and pixels,
and the monochromatic PSF at any wavelength of the LRS.

Model
-----
* Pupil (built here, no STPSF data): 18 flat-topped hexagonal segments, 1.32 m flat to
  flat (params 7, ESA "Webb's Mirrors"), in two rings around an empty central position,
  with gaps of ``GAP_M`` = 7 mm (APPROXIMATE, not in the params file), giving ~6.6 m tip
  to tip; a circular secondary obscuration of ``SECONDARY_DIAMETER_M`` = 0.74 m and
  three struts ``STRUT_WIDTH_M`` = 0.10 m wide at 90, 210 and 330 degrees (both
  APPROXIMATE, not in the params file).  The pupil is rotated by the imager's V3 angle
  (4.835 deg, SIAF) so the six big spikes are rotated from the detector rows/columns
  (the cruciform, :mod:`simulator.cruciform`, follows rows and columns).  Segments are
  perfect: no wavefront error (the flight Strehl of ~0.8 at 2 um, params 7, makes the
  mid-infrared nearly diffraction-limited); what the optics and detector add is one
  Gaussian blur (below).
* Band: ``N_WAVELENGTHS`` monochromatic PSFs evenly spaced over the filter's band
  ``lambda_mean +/- bandwidth/2`` (bandwidths RECALLED, params 4) with equal photon
  weights: a flat (top-hat) band, a SIMPLIFICATION of the real filter curves.
* Each monochromatic field is a discrete Fourier transform of the pupil evaluated
  directly on the detector's oversampled grid (a matrix Fourier transform, exactly the
  zero-padded FFT at that sampling, without resampling), so the intensity is sampled at
  ``OVERSAMPLE`` points per pixel along each axis, at the SIAF pixel scales.
  Normalisation by Parseval: the whole sky-plane integral of each monochromatic PSF
  is 1; the stamp holds slightly less (the far wings are lost, as light off a stamp is
  lost on the detector).  The aperture correction is normalised the same way.
* Blur: a circular Gaussian (pointing jitter, detector diffusion, wavefront error, in one
  term) whose sigma is fitted per filter so the FWHM of the pixel-convolved PSF equals
  the flight value (params 4: 0.207" F560W .. 0.803" F2550W).  Where diffraction alone
  is already wider than the flight value, the blur is zero and the FWHM is what it is
  (reported by :func:`fwhm_report`).
* Pixels: the oversampled intensity is shifted to the source's sub-pixel position by
  cubic-spline interpolation (the intensity is sampled well above its Nyquist rate) and
  summed in OVERSAMPLE x OVERSAMPLE blocks: the detector-pixel integral.
* Monochromatic (the LRS: its P750L prism is an element of the imager's filter wheel,
  params 4, so the same telescope, pupil rotation and pixel scales are assumed; the
  prism's own optics are not modelled): the PSF at one wavelength
  lambda in ``MONOCHROMATIC_RANGE_UM``, on the same oversampled grid and with the same
  normalisation, blurred by the imager's Gaussian with
  ``sigma(lambda)`` = the per-filter fitted sigmas interpolated linearly between the
  filters' centre wavelengths (held at the end values beyond them: below 5.6 um
  F560W's).  Monochromatic PSFs are computed exactly on a grid of wavelengths (the
  breaks of ``sigma(lambda)`` plus geometric steps of at most ``MONOCHROMATIC_STEP``)
  and interpolated linearly between two nodes a, b:
  ``I(lambda) = (1 - w) I_a + w I_b``, ``w = (lambda - a) / (b - a)``.  The weights sum
  to 1, so the light is conserved (each node's sum is 1 on the whole sky, Parseval);
  the core's shape errs at second order in the step.  Measured against the exact PSF
  inside every interval (``benchmarks/psf_monochromatic.py``, tested in
  ``tests/test_psf_monochromatic.py``): <= 0.33 % of the peak, 0.03 % of the light in a
  5-column box about the trace.  (Weighting the nodes by ``lambda^2``, which makes the
  diffraction peak's ``lambda^-2`` law exact, adds ``((b - a) / (b + a))^2`` to the total
  light, 0.1 % at these steps, and was not taken.)

Cost: ~1-3 s per filter, once; each filter's oversampled PSF is cached on disk
(``$MIRI_TESTBED_CACHE`` or ``~/.cache/miri-testbed``, file name keyed by a hash of
every parameter above, written atomically), so suites never recompute it.  The
monochromatic grid is one more cache file (float32, 16 MB; 2-3 s to build after the
filters' PSFs), keyed by its own parameters and the cache keys of the filters whose
blur it uses; a monochromatic PSF is then a weighted sum of two stored arrays (< 1 ms).
Cannot do: field dependence, wavefront error maps, filter curves, the cruciform (its own
module), coronagraphs, the prism's aberrations, the LRS slit (the LRS's own modules).
"""
import hashlib
import json
import os
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.optimize import brentq

from miri_testbed.instrument import imager
from miri_testbed.instrument.files import atomic_path

#: Segment flat-to-flat size, m (params 7: "18 hexagonal Be segments, 1.32 m each").
SEGMENT_FLAT_M = 1.32
#: Gap between segments, m.  APPROXIMATE (not in the params file).
GAP_M = 0.007
#: Secondary mirror obscuration diameter, m.  APPROXIMATE (not in the params file).
SECONDARY_DIAMETER_M = 0.74
#: Width of each of the three secondary-mirror struts, m.  APPROXIMATE.
STRUT_WIDTH_M = 0.10
#: Strut directions in the pupil, deg from +V2 (one up along V3, two at 4 and 8 o'clock). APPROXIMATE.
STRUT_ANGLES_DEG = (90.0, 210.0, 330.0)
#: Pupil sampling: points across the pupil grid, grid extent (m), anti-aliasing subsamples.
PUPIL_POINTS = 256
PUPIL_EXTENT_M = 6.8
PUPIL_SUBSAMPLE = 4
#: Monochromatic PSFs per filter band (flat band, a SIMPLIFICATION).
N_WAVELENGTHS = 9
#: Intensity samples per detector pixel along each axis.
OVERSAMPLE = 4
#: Version of this model: bump it when the physics changes so old cache files are ignored.
MODEL_VERSION = 2
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
#: Wavelengths (um) of the monochromatic PSF: the P750L wavelength tables' 3.70-13.99 um
#: (flight SPECWCS, ../shared/reference/miri-crds/lrs) with a margin.
MONOCHROMATIC_RANGE_UM = (3.5, 14.5)
#: Largest fractional step between neighbouring monochromatic grid wavelengths (24 nodes;
#: measured interpolation error 0.33 % of the peak, 0.52 % with 10 %: module docstring).
MONOCHROMATIC_STEP = 0.07
#: Stamp width (pixels) of the monochromatic PSF, at every wavelength so the grid
#: interpolates: wider than SLITLESSPRISM's 72 columns and the 4.7" (42 px) slit; it holds
#: ~96 % of the light at 14.5 um (F1280W's 101-pixel stamp holds 96.6 %).
MONOCHROMATIC_STAMP = 101


def stamp_size(filter_name):
    """Odd stamp width in detector pixels: 101, or 161 for the long-wavelength filters
    (F1500W and longer), whose Airy wings are wider.
    """
    return 161 if imager.imager_filter(filter_name).wavelength_um > 14.0 else 101


def _segment_centres():
    """Centres (m) of the 18 flat-topped hexagons: ring 1 (6) and ring 2 (12)."""
    pitch = SEGMENT_FLAT_M + GAP_M
    centres = []
    for k in range(6):
        a = np.deg2rad(30.0 + 60.0 * k)  # flat-topped hexagons neighbour along their side normals
        centres.append((pitch * np.cos(a), pitch * np.sin(a)))
        centres.append((2 * pitch * np.cos(a), 2 * pitch * np.sin(a)))
        b = np.deg2rad(60.0 * k)
        centres.append((np.sqrt(3) * pitch * np.cos(b), np.sqrt(3) * pitch * np.sin(b)))
    return np.array(centres)


def pupil(points=PUPIL_POINTS, extent=PUPIL_EXTENT_M, subsample=PUPIL_SUBSAMPLE, rotation_deg=None, transform=None):
    """Transmission (0..1, area-weighted) of the JWST pupil on a ``points`` x ``points``
    grid spanning ``extent`` metres; returns ``(transmission, pixel size in m)``.

    The pupil's own axes: ``y`` along V3 (the strut at 90 deg), ``x`` across it (the pupil is mirror-symmetric
    about V3, so ``x``'s sign is immaterial).  ``rotation_deg`` turns the pupil into the grid's frame (the
    imager's ``V3IdlYAngle`` by default); ``transform`` ``((t_xx, t_xy), (t_yx, t_yy))`` instead samples it at
    ``T (x, y)``, any linear map (:func:`diffraction`'s ``frame``).
    """
    n = points * subsample
    d = extent / n
    c = (np.arange(n) - (n - 1) / 2) * d
    x, y = np.meshgrid(c, c)
    if transform is not None:
        (txx, txy), (tyx, tyy) = transform
        xr, yr = txx * x + txy * y, tyx * x + tyy * y
    else:
        r = np.deg2rad(imager.V3_IDL_Y_ANGLE_DEG if rotation_deg is None else rotation_deg)
        # rotate the sample points the other way = rotate the pupil
        xr, yr = np.cos(r) * x + np.sin(r) * y, -np.sin(r) * x + np.cos(r) * y
    apothem = SEGMENT_FLAT_M / 2
    clear = np.zeros((n, n), bool)
    for cx, cy in _segment_centres():
        u, v = np.abs(xr - cx), np.abs(yr - cy)
        clear |= (v <= apothem) & (u * np.sqrt(3) / 2 + v / 2 <= apothem)
    clear &= np.hypot(xr, yr) > SECONDARY_DIAMETER_M / 2
    for angle in np.deg2rad(STRUT_ANGLES_DEG):
        along = xr * np.cos(angle) + yr * np.sin(angle)
        across = -xr * np.sin(angle) + yr * np.cos(angle)
        clear &= ~((along > 0) & (np.abs(across) < STRUT_WIDTH_M / 2))
    trans = clear.reshape(points, subsample, points, subsample).mean(axis=(1, 3))
    return trans, extent / points


def _sampling():
    """Oversampled grid spacing (radians) along x and y: the SIAF pixel scales / OVERSAMPLE."""
    arcsec = np.pi / 180 / 3600
    return imager.PIXEL_SCALE_X_ARCSEC * arcsec / OVERSAMPLE, imager.PIXEL_SCALE_Y_ARCSEC * arcsec / OVERSAMPLE


def _blurred(intensity, sigma):
    """The intensity convolved with the Gaussian blur of ``sigma`` oversampled samples (none at 0)."""
    return ndimage.gaussian_filter(intensity, sigma, mode="constant") if sigma > 0 else intensity


def _mft_intensity(trans, dx, wavelength_m, n_out, scale_x_rad, scale_y_rad):
    """Intensity (fraction of the total per sample) on an ``n_out`` x ``n_out`` grid of
    spacing ``scale_*_rad``, centred between the middle samples' convention below.
    """
    npup = trans.shape[0]
    r = (np.arange(npup) - (npup - 1) / 2) * dx
    u = (np.arange(n_out) - (n_out - 1) / 2)
    ax = np.exp(-2j * np.pi * np.outer(u * scale_x_rad, r) / wavelength_m)
    ay = np.exp(-2j * np.pi * np.outer(u * scale_y_rad, r) / wavelength_m)
    field = ay @ trans @ ax.T
    norm = dx**2 * scale_x_rad * scale_y_rad / (wavelength_m**2 * np.sum(trans**2))
    return np.abs(field) ** 2 * norm


def _params(filter_name):
    f = imager.imager_filter(filter_name)
    return {
        "model": MODEL_VERSION, "filter": f.name, "wavelength_um": f.wavelength_um, "bandwidth_um": f.bandwidth_um,
        "fwhm_target_arcsec": f.psf_fwhm_arcsec, "segment": SEGMENT_FLAT_M, "gap": GAP_M,
        "secondary": SECONDARY_DIAMETER_M, "strut": STRUT_WIDTH_M, "strut_angles": STRUT_ANGLES_DEG,
        "rotation": imager.V3_IDL_Y_ANGLE_DEG, "pupil": [PUPIL_POINTS, PUPIL_EXTENT_M, PUPIL_SUBSAMPLE],
        "nlambda": N_WAVELENGTHS, "oversample": OVERSAMPLE, "stamp": stamp_size(f.name),
        "scale": [imager.PIXEL_SCALE_X_ARCSEC, imager.PIXEL_SCALE_Y_ARCSEC],
    }


def cache_dir():
    """``$MIRI_TESTBED_CACHE`` or ``~/.cache/miri-testbed``, then ``psf/``."""
    root = os.environ.get("MIRI_TESTBED_CACHE") or Path.home() / ".cache" / "miri-testbed"
    return Path(root) / "psf"


def _pixel_convolved(intensity):
    """The oversampled intensity convolved with one detector pixel (a box of OVERSAMPLE samples)."""
    return ndimage.uniform_filter(intensity, OVERSAMPLE, mode="constant")


def measure_fwhm_arcsec(intensity, pixel=True):
    """FWHM (arcsec, mean pixel scale) of a centred oversampled PSF after pixel convolution
    (or of the intensity itself with ``pixel=False``): twice the radius where the
    azimuthally averaged profile falls to half its peak.
    """
    img = _pixel_convolved(intensity) if pixel else intensity
    n = img.shape[0]
    c = (n - 1) / 2
    yy, xx = np.indices(img.shape)
    r = np.hypot((xx - c) * imager.PIXEL_SCALE_X_ARCSEC, (yy - c) * imager.PIXEL_SCALE_Y_ARCSEC) / OVERSAMPLE
    rbin = np.round(r / (imager.PIXEL_SCALE_X_ARCSEC / OVERSAMPLE / 2)).astype(int)
    counts = np.bincount(rbin.ravel())
    used = counts > 0
    prof = (np.bincount(rbin.ravel(), img.ravel())[used] / counts[used])
    radii = (np.bincount(rbin.ravel(), r.ravel())[used] / counts[used])
    half = prof[0] / 2
    i = int(np.argmax(prof < half))
    return 2 * float(np.interp(half, [prof[i], prof[i - 1]], [radii[i], radii[i - 1]]))


def _compute(filter_name):
    f = imager.imager_filter(filter_name)
    trans, dx = pupil()
    n_out = stamp_size(f.name) * OVERSAMPLE
    sx, sy = _sampling()
    waves = np.linspace(f.wavelength_um - f.bandwidth_um / 2, f.wavelength_um + f.bandwidth_um / 2, N_WAVELENGTHS)
    mono = np.mean([_mft_intensity(trans, dx, w * 1e-6, n_out, sx, sy) for w in waves], axis=0)
    # Matrix products may round differently with another BLAS thread count (a dask worker,
    # a test process): rounding to float32 makes every process build the same PSF.
    mono = mono.astype(np.float32).astype(np.float64)
    diffraction_fwhm = measure_fwhm_arcsec(mono)
    target = f.psf_fwhm_arcsec

    def excess(sigma):
        return measure_fwhm_arcsec(_blurred(mono, sigma)) - target

    sigma = 0.0 if excess(0.0) >= 0 else brentq(excess, 0.0, 8.0 * OVERSAMPLE, xtol=1e-3)
    intensity = _blurred(mono, sigma)
    info = {"diffraction_fwhm_arcsec": diffraction_fwhm, "fwhm_arcsec": measure_fwhm_arcsec(intensity),
            "blur_sigma_arcsec": sigma * imager.PIXEL_SCALE_X_ARCSEC / OVERSAMPLE,
            "stamp_fraction": float(intensity.sum())}
    return intensity, info


def cache_key(filter_name):
    """Hash of every parameter of the filter's PSF (names its cache files)."""
    return hashlib.sha256(json.dumps(_params(filter_name), sort_keys=True).encode()).hexdigest()[:16]


@lru_cache(maxsize=16)
def oversampled(filter_name):
    """``(intensity, info)``: the filter's oversampled PSF (sum = fraction of the light in
    the stamp), centred on the middle detector pixel, from the disk cache or computed.
    """
    params = _params(filter_name)
    key = cache_key(filter_name)
    path = cache_dir() / f"psf_{params['filter'].lower()}_{key}.npz"
    if path.exists():
        try:
            with np.load(path) as data:
                return data["intensity"], json.loads(str(data["info"]))
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is recomputed and replaced
    intensity, info = _compute(filter_name)
    info["params"] = params
    with atomic_path(path) as tmp:
        np.savez(tmp, intensity=intensity, info=json.dumps(info))
    return intensity, info


@lru_cache(maxsize=16)
def _spline_coefficients(filter_name):
    return ndimage.spline_filter(oversampled(filter_name)[0], order=3, mode="constant")


def _shifted_pixels(coeffs, dx, dy):
    """Cubic-spline coefficients of an oversampled PSF shifted by ``(dx, dy)`` pixels and
    summed over each detector pixel.
    """
    shifted = ndimage.shift(coeffs, (dy * OVERSAMPLE, dx * OVERSAMPLE), order=3, mode="constant", prefilter=False)
    n = coeffs.shape[0] // OVERSAMPLE
    return shifted.reshape(n, OVERSAMPLE, n, OVERSAMPLE).sum(axis=(1, 3))


def stamp(filter_name, dx=0.0, dy=0.0):
    """The pixel-integrated PSF (stamp_size square) of a source offset by ``(dx, dy)``
    pixels (|d| <= 0.5) from the centre of the middle pixel.
    """
    return _shifted_pixels(_spline_coefficients(filter_name), dx, dy)


def add_point_source(image, x, y, total, filter_name):
    """Add ``total`` (any unit) spread by the filter's PSF centred at 0-based pixel
    ``(x, y)``; the stamp is clipped at the array edges (light off the array is lost).
    """
    ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
    psf = stamp(filter_name, x - ix, y - iy)
    half = psf.shape[0] // 2
    ny, nx = image.shape
    x0, x1 = max(ix - half, 0), min(ix + half + 1, nx)
    y0, y1 = max(iy - half, 0), min(iy + half + 1, ny)
    if x0 >= x1 or y0 >= y1:
        return
    image[y0:y1, x0:x1] += total * psf[y0 - iy + half:y1 - iy + half, x0 - ix + half:x1 - ix + half]


def render(shape, x, y, filter_name):
    """A PSF image of ``shape`` for a unit-flux source centred at ``(x, y)``."""
    image = np.zeros(shape)
    add_point_source(image, x, y, 1.0, filter_name)
    return image


def fwhm_pixels(filter_name):
    """The achieved FWHM of the filter's PSF in mean imager pixels."""
    scale = 0.5 * (imager.PIXEL_SCALE_X_ARCSEC + imager.PIXEL_SCALE_Y_ARCSEC)
    return oversampled(filter_name)[1]["fwhm_arcsec"] / scale


def fwhm_report():
    """Rows ``(filter, target FWHM, diffraction-only FWHM, achieved FWHM, blur sigma)`` in arcsec."""
    rows = []
    for name, f in imager.FILTERS.items():
        info = oversampled(name)[1]
        rows.append((name, f.psf_fwhm_arcsec, info["diffraction_fwhm_arcsec"], info["fwhm_arcsec"],
                     info["blur_sigma_arcsec"]))
    return rows


def _check_wavelength(wavelength_um):
    lo, hi = MONOCHROMATIC_RANGE_UM
    if not lo <= wavelength_um <= hi:  # also refuses NaN
        raise ValueError(f"wavelength {wavelength_um} um is outside the monochromatic PSF range {lo}-{hi} um")


def _blur_filters():
    """The imager filters whose blur ``sigma(lambda)`` interpolates over the monochromatic
    range: every filter below its upper end and the first one at or beyond it.
    """
    ordered = sorted(imager.FILTERS.values(), key=lambda f: f.wavelength_um)
    beyond = next((i for i, f in enumerate(ordered) if f.wavelength_um >= MONOCHROMATIC_RANGE_UM[1]), len(ordered) - 1)
    return [f.name for f in ordered[:beyond + 1]]


def blur_sigma_arcsec(wavelength_um):
    """Sigma (arcsec) of the Gaussian blur at ``wavelength_um``: the per-filter fitted
    sigmas (:func:`oversampled`) interpolated linearly in wavelength between the filters'
    centres, constant beyond the first and last of :func:`_blur_filters`.
    """
    names = _blur_filters()
    centres = [imager.imager_filter(n).wavelength_um for n in names]
    return float(np.interp(wavelength_um, centres, [oversampled(n)[1]["blur_sigma_arcsec"] for n in names]))


def monochromatic_nodes():
    """Grid wavelengths (um) of the monochromatic PSF: the range's ends and the filter
    centres inside it (the breaks of ``sigma(lambda)``), each interval between them cut
    into the fewest equal geometric steps of at most ``MONOCHROMATIC_STEP``.
    """
    lo, hi = MONOCHROMATIC_RANGE_UM
    breaks = [lo, *(w for w in (imager.imager_filter(n).wavelength_um for n in _blur_filters()) if lo < w < hi), hi]
    nodes = [lo]
    for a, b in pairwise(breaks):
        steps = int(np.ceil(np.log(b / a) / np.log1p(MONOCHROMATIC_STEP)))
        nodes.extend(np.geomspace(a, b, steps + 1)[1:])
    return np.array(nodes)


def _monochromatic_direct(wavelengths_um):
    """Exact monochromatic PSFs ``(n, N, N)`` at ``wavelengths_um``: the MFT rounded to
    float32 as in :func:`_compute`, then the blur ``sigma(lambda)``.
    """
    trans, dx = pupil()
    sx, sy = _sampling()
    out = []
    for w in wavelengths_um:
        mono = _mft_intensity(trans, dx, w * 1e-6, MONOCHROMATIC_STAMP * OVERSAMPLE, sx, sy)
        mono = mono.astype(np.float32).astype(np.float64)
        out.append(_blurred(mono, blur_sigma_arcsec(w) / imager.PIXEL_SCALE_X_ARCSEC * OVERSAMPLE))
    return np.array(out)


def _monochromatic_params():
    return {
        "model": MODEL_VERSION, "kind": "monochromatic", "range_um": list(MONOCHROMATIC_RANGE_UM),
        "step": MONOCHROMATIC_STEP, "blur_filters": {n: cache_key(n) for n in _blur_filters()},
        "segment": SEGMENT_FLAT_M, "gap": GAP_M, "secondary": SECONDARY_DIAMETER_M, "strut": STRUT_WIDTH_M,
        "strut_angles": STRUT_ANGLES_DEG, "rotation": imager.V3_IDL_Y_ANGLE_DEG,
        "pupil": [PUPIL_POINTS, PUPIL_EXTENT_M, PUPIL_SUBSAMPLE], "oversample": OVERSAMPLE,
        "stamp": MONOCHROMATIC_STAMP, "scale": [imager.PIXEL_SCALE_X_ARCSEC, imager.PIXEL_SCALE_Y_ARCSEC],
    }


@lru_cache(maxsize=1)
def _monochromatic_grid():
    """``(nodes, intensities)``: the grid's wavelengths and its float32 PSFs, from the disk
    cache or computed.
    """
    params = _monochromatic_params()
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / f"psf_monochromatic_{key}.npz"
    if path.exists():
        try:
            with np.load(path) as data:
                return data["nodes"], data["intensity"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is recomputed and replaced
    nodes = monochromatic_nodes()
    intensity = _monochromatic_direct(nodes).astype(np.float32)
    with atomic_path(path) as tmp:
        np.savez(tmp, nodes=nodes, intensity=intensity, params=json.dumps(params))
    return nodes, intensity


def monochromatic(wavelength_um):
    """The oversampled PSF at one wavelength, on :func:`oversampled`'s grid and
    normalisation (``MONOCHROMATIC_STAMP`` pixels square, OVERSAMPLE samples per pixel,
    centred on the middle pixel, each sample the fraction of the light it holds).

    Interpolated linearly between the two neighbouring grid PSFs (module docstring).

    Parameters
    ----------
    wavelength_um : float
        Wavelength in ``MONOCHROMATIC_RANGE_UM``.

    Returns
    -------
    numpy.ndarray
        ``(N, N)`` float64 intensity, ``N = MONOCHROMATIC_STAMP * OVERSAMPLE``.

    Raises
    ------
    ValueError
        If the wavelength is outside the range.
    """
    _check_wavelength(wavelength_um)
    nodes, intensity = _monochromatic_grid()
    i = int(np.clip(np.searchsorted(nodes, wavelength_um) - 1, 0, len(nodes) - 2))
    a, b = nodes[i], nodes[i + 1]
    w = (wavelength_um - a) / (b - a)
    return (1 - w) * intensity[i] + w * intensity[i + 1]


def monochromatic_stamp(wavelength_um, dx=0.0, dy=0.0):
    """The pixel-integrated monochromatic PSF (``MONOCHROMATIC_STAMP`` square) of a source
    offset by ``(dx, dy)`` pixels (|d| <= 0.5) from the centre of the middle pixel, made as
    :func:`stamp` makes a filter's.
    """
    coeffs = ndimage.spline_filter(monochromatic(wavelength_um), order=3, mode="constant")
    return _shifted_pixels(coeffs, dx, dy)


def cross_dispersion_profile(wavelength_um, dx=0.0):
    """The monochromatic PSF summed along detector y (the LRS dispersion axis) and over
    each pixel column, for a source offset by ``dx`` pixels (|dx| <= 0.5) from the centre
    of the middle column: ``MONOCHROMATIC_STAMP`` values summing to the stamp's light.
    """
    profile = monochromatic(wavelength_um).sum(axis=0)
    shifted = ndimage.shift(profile, dx * OVERSAMPLE, order=3, mode="constant")
    return shifted.reshape(MONOCHROMATIC_STAMP, OVERSAMPLE).sum(axis=1)


@lru_cache(maxsize=12)
def _mapped_pupil(transform):
    return pupil(transform=transform)


def diffraction(wavelength_um, sample_arcsec, n, frame):
    """Diffraction-only intensity of the same pupil at any wavelength, on square samples (the MRS's PSF).

    The matrix Fourier transform of :func:`pupil` (the imager's PSFs and grids are not touched:
    another sampling, no cache file) on an ``n`` x ``n`` grid of ``sample_arcsec`` square samples
    centred between the middle samples (odd ``n``: on the middle one), each sample the fraction of
    the light it holds (Parseval: the whole sky integral is 1).  No blur: the caller adds its own.
    The grid's offsets ``u`` lie at ``A u`` on the sky in the pupil's axes (``frame`` ``A``), so the
    field ``sum_x P(x) exp(-2 pi i x . A u / lambda)`` is the transform of the pupil sampled at
    ``A^-T p`` (``p = A^T x``): the same matrix transform on that pupil.

    Parameters
    ----------
    wavelength_um, sample_arcsec : float
    n : int
    frame : tuple of tuples
        ``A`` (2 x 2, hashable): the sky's arcsec along the pupil's ``x``, ``y`` (V3) per arcsec of the grid's
        columns and rows.

    Returns
    -------
    numpy.ndarray
        ``(n, n)``, rows along the grid's second axis, columns along its first.
    """
    transform = np.linalg.inv(np.asarray(frame, float)).T
    trans, dx = _mapped_pupil(tuple(map(tuple, transform)))
    scale = sample_arcsec * np.pi / 180 / 3600
    return _mft_intensity(trans, dx, wavelength_um * 1e-6, n, scale, scale)
