"""extract_1d for an MRS cube: a point source's spectrum through a conical aperture.

**Centre.**  Fitted (:mod:`calibration.mrs_centroid`): from the first moment below, an Airy (x) Gaussian along
beta through the slices' strips as the drizzle samples them, and a Gaussian over the spaxels along alpha, within
2 lambda_c / D; the first moment's bias along beta from the drizzle's resampling of slices onto spaxels
(4C -6 to +8 mas with the source's place in the field, noise-free) is what it removes (docs/mrs.md).  It needs the
cube's slice strips (:attr:`calibration.cube_build.Cube.strips`); without them, or when the fit cannot be trusted
(a neighbour or the field's edge inside its window, no convergence, a move of more than 0.2 lambda_c / D from the
first moment), the first moment is the centre and the step's notes say why (:func:`locate`'s ``reason``).

**First moment** (:func:`first_moment`, the fit's start and fallback).  The cube collapsed over its planes: each
spaxel's mean over the planes where it is covered at least :data:`COVERAGE_MIN`, on the spaxels covered in at
least half as many planes as the best (a sum would weight each slice by the wavelengths it reaches: the centroid
moved 2-6 mas in beta in 3C, noise-free); its brightest spaxel, then the light-weighted centroid
within ``CENTROID_LD lambda_c / D`` of the estimate (``lambda_c`` the band's middle),
iterated :data:`CENTROID_ITERATIONS` times, the light less the collapsed image's median.
The window is wide (4 lambda/D) because a window that cuts the PSF's core draws the centroid
towards the spaxel and slice grid: on the 12 noise-free cubes (1A, 2A) of a source at six
random positions within 0.3" of the target, 2 lambda/D put it 1.0-16.5 mas off the truth
(median 8), 4 lambda/D 0.6-2.9 mas (median 1.9); a Gaussian-weighted window (SExtractor's
XWIN) of sigma lambda/D did no better, up to 6 mas in beta, which the slices sample coarsely.
When the exposure says where its target is (APERNAME, XOFFSET, YOFFSET: the target's V2/V3,
:func:`calibration.mrs_pointing.pointing`, taken to the cube's alpha/beta by the band's
DISTORTION), the brightest spaxel is searched only within :data:`SEARCH_ARCSEC` of it, so a
brighter source elsewhere in the field is not taken for the target (jwst's extract_1d centres
on the target's coordinates the same way unless told to find the brightest); without those
keywords, the brightest spaxel of the whole cube.  Where nothing within :data:`SEARCH_ARCSEC` of the target
stands above the field's median (an extended source alone, a flat field), there is no point source: the step
declines (:class:`NoPointSource`, a :class:`~calibration.Skip`) and spec2 writes the band's cube without its
spectrum.  The window takes only the spaxels nearer the
target's peak than any other source's (a local maximum of at least :data:`NEIGHBOUR_PEAK_SHARE` of
the peak's light beyond :data:`NEIGHBOUR_MIN_LD` lambda_c / D): without that, a source 3x brighter
1.2" away in 2A drew the re-centred window onto itself (1.05" off, a fresh-clone walkthrough).  Its
wings on the target's side still pull the centre a little (a blend): 14.5 mas in 2A from a source
3x brighter 2" away (noise-free, tests/test_mrs_calibration.py).  The background annulus (below)
takes the same side only; the other source's wings on it are still taken for sky.

**Aperture.** In each plane ``l``, a circle of radius ``r_l = APERTURE_LD lambda_l / D`` about
the centre (a cone through the cube: the PSF grows as lambda), ``D`` = 6.5 m (the telescope's
diameter, parameter reference section 7); each spaxel enters with the share ``f_s`` of it
inside the circle (``SUBSAMPLES`` x ``SUBSAMPLES`` points per spaxel). Variant ``annulus``
subtracts the mean surface brightness ``b_l`` of the spaxels in the annulus ``ANNULUS_LD
lambda_l / D`` (those on the target's side of any other source, 'Centre'): ``F_l = sum_s f_s
S_s A - b_l sum_s f_s A`` (``A`` the spaxel area); variant ``aperture`` subtracts nothing. The
flux is the cube's unit times arcsec^2 (spec2 turns MJy/sr x arcsec^2 into Jy).

**Aperture correction.**  With an MRS APCORR for the exposure in the reference folder
(``MirMrsApcorrModel``, selected on DETECTOR / EXP_TYPE / CHANNEL / BAND as the other MRS
references, :func:`read_apcorr`), as jwst's extract_1d for an IFU point source
(``ApCorrRadial``): its ``apcorr`` and ``radius`` rows are interpolated linearly to each
plane's wavelength, then the correction linearly in radius to the plane's ``r_l``
(:meth:`MrsApcorr.at`; beyond the table's wavelengths or radii its end values hold, where
jwst extrapolates).  The table holds the annulus's share of the PSF (it is made for the
``annulus`` variant's 4.5-6 lambda/D, :mod:`simulator.mrs_apcorr` says how); variant
``aperture`` therefore keeps the Airy correction below.

Without an APCORR (the step's notes and HISTORY say so), the correction is that of a
diffraction-limited unobstructed circular pupil (Airy): the share of its light within
``k lambda / D`` is ``EE(k) = 1 - J0(pi k)^2 - J1(pi k)^2`` (Born & Wolf 8.5.4), the same at
every wavelength because every radius is a fixed multiple of ``lambda / D``.  The annulus
holds ``EE(k_out) - EE(k_in)`` spread over its area, and its mean surface brightness times
the aperture's area is subtracted with the background, so

    F_total = F_l / (EE(k_ap) - (EE(k_out) - EE(k_in)) sum_s f_s A / (pi (r_out^2 - r_in^2))),

the annulus's whole area in the last term: where the field cuts the annulus, the mean over its
covered part is still, for a round PSF, the whole annulus's mean (its covered area there made
the correction too small before).

JWST's PSF is not an Airy pattern (the segmented, obscured pupil puts more light in the
wings; the MRS core is 15-60 % broader than diffraction, params section 5, A23), and the
cube adds its pixels' and spaxels' footprints: with ``k_ap`` = 3 the Airy correction leaves
the flux 6-9 % low, smoothly in lambda (docs/mrs.md).

**Errors.**  ``F_l = sum_s c_s S_s`` with ``c_s = f_s A - g_s A sum f A / sum g A``; its
variance comes exactly from the detector pixels (:meth:`calibration.cube_build.Cube.sum_variance`),
the spaxels' covariance included; ``covariance_factor`` is its median ratio to
``sum_s c_s^2 var(S_s)`` (the spaxels taken as independent).  The planes' noise is correlated too (a
detector pixel's box reaches two or three planes): ``correlation[k, l - 1] = cov(F_k, F_(k+l)) /
(sigma_k sigma_(k+l))`` for ``l = 1 ... CORRELATION_LAGS``, the covariance exact from the same pixels
(:meth:`~calibration.cube_build.Cube.sum_variance`), scaled as the variance is (the aperture correction,
``apcorr_k apcorr_(k+l)``), so a correlation, which a later per-plane scaling (the unit, a fringe
divided out) leaves as it is; 0 past the last plane.

A plane gets DQ DO_NOT_USE when its aperture reaches a spaxel covered less than
:data:`COVERAGE_MIN` (the ends of the band, where only some slices reach; the field's edge; a pixel left
out).  Why 0.9 and not half: a spaxel missing some of its pixels holds the mean of those that reach it, which
on the PSF's core stand for other places; the smoothed kernels reach it from further (up to 4 sigma), so a hole
there keeps its coverage above half and its plane biased: on a 500 mJy 1B source (S/N ~1900 a plane) 4 planes
of 1003 beyond 5 sigma, up to 13.5, with 0.5 and the default kernel, none with 0.9 or 0.99 (6 / 12 more planes
flagged; docs/mrs.md 'The default kernel since session 28').
"""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import ndimage
from scipy.special import j0, j1
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument.mrs import lambda_over_d

from . import CalibrationInputError, Skip, mrs_centroid
from . import references as refs

#: Aperture radius and background annulus in lambda / D.
APERTURE_LD, ANNULUS_LD = 3.0, (4.5, 6.0)
#: Radius of the centroid's window in lambda / D at the band's middle, and its iterations.
CENTROID_LD, CENTROID_ITERATIONS = 4.0, 5
#: Radius of the search for the target's peak about where the pointing puts it, arcsec: JWST's
#: pointing is good to 0.1-0.2" typically, 2" in rare early cases (parameter reference, "Facts from
#: Law25talk", imager astrometry); PLACEHOLDER for the MRS.
SEARCH_ARCSEC = 0.5
#: Another source: a local maximum of the collapsed image of at least this share of the target's peak,
#: more than NEIGHBOUR_MIN_LD lambda_c / D from it (module docstring; a PSF's own rings stay far below).
NEIGHBOUR_PEAK_SHARE, NEIGHBOUR_MIN_LD = 0.1, 2.0
#: Spaxels covered less than this are not used (cube_build's weightmap; module docstring, last paragraph).
COVERAGE_MIN = 0.9
#: Points per spaxel side for the aperture's share of a spaxel.
SUBSAMPLES = 5
#: The planes' noise correlation kept, lags 1 ... this (module docstring, 'Errors'): beyond it < 1e-6 on every plane
#: with each kernel (suite mrs_fringes, largest |rho| per lag: ``drizzle`` 0.42-0.48, <= 0.0013, 0; smoothed in
#: lambda 0.69, 0.16, 0.014, 2.5e-4, 7e-7; docs/mrs.md 'Fringes', session 24).
CORRELATION_LAGS = 4


def airy_encircled(k):
    """The share of an Airy pattern's light within ``k lambda / D``: ``1 - J0(pi k)^2 - J1(pi k)^2``."""
    x = np.pi * np.asarray(k, float)
    return 1 - j0(x) ** 2 - j1(x) ** 2


@dataclass(frozen=True)
class MrsApcorr:
    """An exposure's MRS APCORR, read (module docstring).

    Parameters
    ----------
    wavelength : (n_w,) float
        um, increasing.
    radius, apcorr : (n_r, n_w) float
        Radii (arcsec) and the corrections there.
    filename : str
    """

    wavelength: np.ndarray
    radius: np.ndarray
    apcorr: np.ndarray
    filename: str

    def at(self, wavelength, radius):
        """The correction at each plane's ``wavelength`` (um) and aperture ``radius`` (arcsec), ``(n,)``."""
        radii = np.array([np.interp(wavelength, self.wavelength, row) for row in self.radius])
        values = np.array([np.interp(wavelength, self.wavelength, row) for row in self.apcorr])
        return np.array([np.interp(r, radii[:, i], values[:, i]) for i, r in enumerate(radius)])


def _apcorr_table(model, path):
    table = model.apcorr_table
    try:
        wavelength, radius, apcorr = (np.asarray(getattr(table, c), dtype=float)
                                      for c in ("wavelength", "radius", "apcorr"))
    except (AttributeError, TypeError, ValueError) as exc:
        raise CalibrationInputError(f"{path.name}: APCORR table needs numeric wavelength, radius and apcorr "
                                    f"({exc})") from None
    units = str(getattr(table, "radius_units", "")).lower()
    if not units.startswith("arcsec"):
        raise CalibrationInputError(f"{path.name}: APCORR radius_units must be arcsec, got {units!r}")
    n = wavelength.size
    if wavelength.ndim != 1 or n < 2 or radius.shape != apcorr.shape or radius.ndim != 2 or radius.shape[1] != n \
            or radius.shape[0] < 2:
        raise CalibrationInputError(f"{path.name}: APCORR needs wavelength (n_w >= 2,) and radius, apcorr "
                                    f"(n_r >= 2, n_w); got {wavelength.shape}, {radius.shape}, {apcorr.shape}")
    if not all(np.all(np.isfinite(a)) for a in (wavelength, radius, apcorr)) or np.any(apcorr <= 0) \
            or np.any(radius <= 0):
        raise CalibrationInputError(f"{path.name}: APCORR wavelength, radius and apcorr must be finite, radius and "
                                    "apcorr positive")
    order = np.argsort(wavelength)
    return MrsApcorr(wavelength[order], radius[:, order], apcorr[:, order], path.name)


def read_apcorr(folder, exposure):
    """The exposure's MRS APCORR (:class:`MrsApcorr`), or None when the folder has none.

    Raises
    ------
    CalibrationInputError
        For a file that is not a readable MRS APCORR or whose table is unusable (NaN, missing
        columns, shapes that disagree, radii not in arcsec), naming the file.
    """
    model, path = refs.load_optional(folder, "APCORR", exposure, lambda p: dm.MirMrsApcorrModel(str(p)))
    if model is None:
        return None
    with model:
        return _apcorr_table(model, path)


@dataclass(frozen=True)
class MrsSpectrum:
    """A band's extracted spectrum (per plane) and where it was taken.

    Parameters
    ----------
    wavelength, flux, error, background : (n,) float
        um; DN/s/um (aperture-corrected), its error, the subtracted background in the aperture (DN/s/um).
    dq : (n,) uint32
    npixels : (n,) float
        Spaxels in the aperture (summed shares).
    centre : (float, float)
        The source's ``(alpha, beta)``, arcsec.
    apcorr : (n,) float
        The aperture correction applied.
    covariance_factor : float
        Median of the exact variance over the independent-spaxel one.
    correlation : (n, CORRELATION_LAGS) float
        The noise correlation of plane ``k`` with plane ``k + l`` in column ``l - 1`` (module docstring, 'Errors').
    centre_reason : str
        Empty when the fit placed the centre; else why the first moment did (module docstring, 'Centre').
    """

    wavelength: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    background: np.ndarray
    dq: np.ndarray
    npixels: np.ndarray
    centre: tuple
    apcorr: np.ndarray
    covariance_factor: float
    correlation: np.ndarray
    centre_reason: str = ""


def _usable(cube):
    return np.isfinite(cube.data) & (cube.coverage >= COVERAGE_MIN)


class Centre(NamedTuple):
    """:func:`locate`'s answer: the centre, the first moment it started from, and why the fit was not used."""

    alpha: float
    beta: float
    first: tuple
    reason: str

    @property
    def fitted(self):
        """The fit placed the centre (``reason`` empty)."""
        return not self.reason


def locate(cube, radius_ld=CENTROID_LD, target=None):
    """The source's centre (:class:`Centre`, module docstring 'Centre'): the fit, or the first moment and why.

    ``radius_ld``: the first moment's window (lambda_c / D); ``target``: where the pointing puts the target
    ``(alpha, beta)``, arcsec, or None; the peak is then searched within :data:`SEARCH_ARCSEC` of it.
    """
    return _locate(cube, radius_ld, target)[0]


def centroid(cube, radius_ld=CENTROID_LD, target=None):
    """The source's ``(alpha, beta)`` in the cube (:func:`locate`: fitted, else the first moment)."""
    centre = locate(cube, radius_ld, target)
    return centre.alpha, centre.beta


def first_moment(cube, radius_ld=CENTROID_LD, target=None):
    """The light-weighted centroid of the collapsed cube within ``radius_ld lambda_c / D``, ``(alpha, beta)``.

    Module docstring, 'First moment'; ``target`` as :func:`locate`'s.
    """
    return _locate(cube, radius_ld, target, fit=False)[0].first


def collapsed_image(cube):
    """``(image, covered)``: the cube collapsed as :func:`centroid` sees it, (beta, alpha).

    Each spaxel's mean over its usable planes, less the median over the covered spaxels (those with at least half
    the most planes any has), 0 elsewhere.
    """
    return _collapsed(cube, _usable(cube))


def _collapsed(cube, usable):
    """:func:`collapsed_image` with the cube's ``usable`` spaxels already found."""
    planes = np.sum(usable, axis=0)
    covered = planes >= 0.5 * planes.max()
    return mrs_centroid.mean_image(cube.data, usable, covered), covered


class NoPointSource(CalibrationInputError):
    """No point source where the pointing puts the target: a field flat there (an extended source alone)."""


def _locate(cube, radius_ld, target, fit=True):
    """:func:`locate`'s :class:`Centre` and the spaxels on the target's side (:func:`_own_side`)."""
    grid = cube.grid
    usable = _usable(cube)
    image, covered = _collapsed(cube, usable)
    beta, alpha = np.meshgrid(grid.beta.centres, grid.alpha.centres, indexing="ij")
    search = image
    if target is not None:
        near = np.hypot(alpha - target[0], beta - target[1]) <= SEARCH_ARCSEC
        if not np.any(near & (image > 0)):
            raise NoPointSource(f"mrs_extract: no light within {SEARCH_ARCSEC}\" of where the pointing puts the target "
                                f"(alpha {target[0]:+.3f}\", beta {target[1]:+.3f}\") above the field's median")
        search = np.where(near, image, -np.inf)
    j, i = np.unravel_index(np.argmax(search), image.shape)
    centre = np.array([alpha[j, i], beta[j, i]])
    ld = lambda_over_d(np.mean(grid.wavelength.edges[[0, -1]]))
    ours = _own_side(image, alpha, beta, (j, i), ld)
    for _ in range(CENTROID_ITERATIONS):
        near = (np.hypot(alpha - centre[0], beta - centre[1]) <= radius_ld * ld) & (image > 0) & ours
        light = image[near]
        centre = np.array([np.sum(light * alpha[near]), np.sum(light * beta[near])]) / light.sum()
    first = (float(centre[0]), float(centre[1]))
    if not fit:
        return Centre(*first, first, "not fitted"), ours
    try:
        # a cube-like object without strips (a hand-made one) gets the first moment, as a file without them does
        fitted = mrs_centroid.fit_centre(grid, cube.data, usable, image, covered, ours, first,
                                         getattr(cube, "strips", None))
    except mrs_centroid.FitFailed as exc:
        return Centre(*first, first, str(exc)), ours
    return Centre(*fitted, first, ""), ours


def _own_side(image, alpha, beta, peak, ld):
    """The spaxels nearer the target's peak than any other source's (module docstring, 'Centre').

    Other sources: local maxima (3 x 3) of ``image`` of at least :data:`NEIGHBOUR_PEAK_SHARE` of the
    peak's light, more than :data:`NEIGHBOUR_MIN_LD` ``ld`` from it.  Without them, every spaxel.
    """
    maxima = (image == ndimage.maximum_filter(image, size=3)) & (image >= NEIGHBOUR_PEAK_SHARE * image[peak])
    distance = np.hypot(alpha - alpha[peak], beta - beta[peak])
    others = maxima & (distance > NEIGHBOUR_MIN_LD * ld)
    if not others.any():
        return np.ones(image.shape, bool)
    nearest_other = np.min(np.hypot(alpha[..., None] - alpha[others], beta[..., None] - beta[others]), axis=-1)
    return distance < nearest_other


def _shares(grid, centre, radii):
    """Each spaxel's share inside circles of ``radii`` about ``centre``: ``(len(radii), n_beta, n_alpha)``."""
    offsets = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5
    a = (grid.alpha.centres[:, None] + offsets * grid.alpha.step).ravel() - centre[0]
    b = (grid.beta.centres[:, None] + offsets * grid.beta.step).ravel() - centre[1]
    d = np.hypot(b[:, None], a[None, :]).reshape(grid.beta.n, SUBSAMPLES, grid.alpha.n, SUBSAMPLES)
    d = np.sort(d.transpose(0, 2, 1, 3).reshape(grid.beta.n, grid.alpha.n, -1), axis=-1)
    n = SUBSAMPLES**2
    out = np.empty((len(radii), grid.beta.n, grid.alpha.n))
    for start in range(0, len(radii), 64):
        r = radii[start:start + 64]
        out[start:start + 64] = np.sum(d[None] <= r[:, None, None, None], axis=-1) / n
    return out


def _extract(cube, subtract_background, table, target):
    grid = cube.grid
    wavelength = grid.wavelength.centres
    ld = lambda_over_d(wavelength)
    located, ours = _locate(cube, CENTROID_LD, target)
    centre = (located.alpha, located.beta)
    area = grid.alpha.step * grid.beta.step
    usable = _usable(cube)
    # the cube-sized arrays are made in place and freed before sum_variance, the extraction's peak of memory
    f = _shares(grid, centre, APERTURE_LD * ld)
    complete = np.sum(f * ~usable, axis=(1, 2)) == 0
    f *= usable
    npixels = np.sum(f, axis=(1, 2))
    aperture_area = npixels * area
    coefficients = f  # f * usable * area, in f's array: f is not used again
    coefficients *= area
    data = np.where(usable, cube.data, 0.0)
    ee = airy_encircled(APERTURE_LD)  # the fallback without an APCORR (module docstring)
    background = np.zeros(len(wavelength))
    if subtract_background:
        g = _shares(grid, centre, ANNULUS_LD[1] * ld)
        g -= _shares(grid, centre, ANNULUS_LD[0] * ld)
        g *= usable
        g *= ours
        annulus_area = np.sum(g, axis=(1, 2)) * area
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(annulus_area > 0, np.sum(g * data, axis=(1, 2)) * area / annulus_area, 0.0)
            spill = np.where(annulus_area > 0, aperture_area / annulus_area, 0.0)
        g *= area
        g *= spill[:, None, None]
        coefficients -= g
        del g
        background = mean * aperture_area
        complete &= annulus_area > 0
        # a round PSF's mean over the annulus's covered part is its mean over the whole annulus
        whole_annulus = np.pi * (ANNULUS_LD[1] ** 2 - ANNULUS_LD[0] ** 2) * ld**2
        ee = ee - (airy_encircled(ANNULUS_LD[1]) - airy_encircled(ANNULUS_LD[0])) * aperture_area / whole_annulus
    apcorr = 1 / np.broadcast_to(ee, wavelength.shape) if table is None else table.at(wavelength, APERTURE_LD * ld)
    flux = (np.sum(coefficients * data, axis=(1, 2))) * apcorr
    del data
    naive = np.sum(coefficients**2 * np.where(usable, cube.var, 0.0), axis=(1, 2)) * apcorr**2
    del usable
    moments = cube.sum_variance(coefficients, CORRELATION_LAGS)
    variance = moments[:, 0] * apcorr**2
    correlation = np.zeros((len(wavelength), CORRELATION_LAGS))
    with np.errstate(invalid="ignore", divide="ignore"):
        for lag in range(1, CORRELATION_LAGS + 1):  # apcorr_k apcorr_(k+l) of the covariance cancels
            correlation[:-lag, lag - 1] = moments[:-lag, lag] / np.sqrt(moments[:-lag, 0] * moments[lag:, 0])
    correlation[~np.isfinite(correlation)] = 0.0  # a plane without noise (nothing in the aperture)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = (variance / naive)[complete & (naive > 0)]
    ratios = ratios[~np.isnan(ratios)]
    factor = float(np.median(ratios)) if ratios.size else np.nan  # no complete plane: no factor (no warning)
    dq = np.where(complete, 0, dqflags.DO_NOT_USE).astype(np.uint32)
    return MrsSpectrum(wavelength, flux, np.sqrt(variance), background * apcorr, dq, npixels, centre, apcorr, factor,
                       correlation, located.reason)


def _extract_or_skip(cube, subtract_background, table, target):
    """:func:`_extract`, or a :class:`~calibration.Skip` where there is no point source to extract.

    The band's cube is still a product: :mod:`calibration.mrs_spec2` writes it without the band's spectrum.
    """
    try:
        return _extract(cube, subtract_background, table, target)
    except NoPointSource as exc:
        return Skip(f"{exc}: no point source to extract (an extended field); the band's cube is kept, its "
                    "spectrum left out")


def annulus(cube, apcorr=None, target=None):
    """Variant ``annulus`` of step ``mrs_extract``: the conical aperture less the annulus's background.

    ``apcorr``: the exposure's :class:`MrsApcorr`, or None for the Airy correction; ``target``: where
    the pointing puts the target in the cube, or None (:func:`centroid`).  A :class:`~calibration.Skip` (the
    step declined) where the field has no point source near the target (:class:`NoPointSource`).
    """
    return _extract_or_skip(cube, True, apcorr, target)


def aperture(cube, apcorr=None, target=None):
    """Variant ``aperture`` of step ``mrs_extract``: the conical aperture, nothing subtracted.

    The Airy correction always: an APCORR holds the annulus's share (module docstring), so ``apcorr`` is not used.
    A :class:`~calibration.Skip` where there is no point source, as :func:`annulus`.
    """
    return _extract_or_skip(cube, False, None, target)
