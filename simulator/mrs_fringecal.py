"""The testbed's point-source fringe flats: each lit pixel's fringe for a point source where the science's lies.

The FRINGE reference (the fringe flat, :func:`simulator.fringes.fringe_flat`) holds the fringes of extended light,
which fills each slice; a point source's light crosses its slices at other angles and leaves 1-5 % of fringe
behind it (params 5; Gasman et al. 2023, A&A 673, A102).  Gasman et al. (2025, A&A 697, A58) measured, on a bright
star (10 Lac, calibration programme 3779), a library of detector-based fringe flats for unresolved sources in a
nine-point mosaic about every nominal point-source dither position, to be taken as they are or interpolated to the
source's place.  The testbed's programme does the same for each science exposure (:func:`simulator.mrs.
write_point_source_fringe_flat`):

1. **Source.**  A bright star (a :data:`SOURCE_TEMPERATURE_K` blackbody: a smooth continuum without lines) where
   the exposure's first point source lies, moved by a normal error of :data:`POSITION_ERROR_ARCSEC` per axis: the
   library's interpolation to the place the science's centroid gives (PLACEHOLDER: our centroid's accuracy,
   MRS-ASTRO-1 <= 3 mas; the interpolation's own error is not modelled).  SIMPLIFICATION: the library is taken as
   observed through the same TRUE instrument (geometry, etalon) as the science, which it is on the sky.
2. **Exposure.**  Through the TRUE pixels and the etalon's point-source transmission (:class:`simulator.fringes.
   Etalon`), long enough that the brightest pixel holds :data:`PEAK_ELECTRONS`, with photon and read noise
   (:func:`simulator.lrs_wavecal.observe`); no sky (the programme subtracts its dedicated background).
3. **Flat** (:func:`point_source_flat`).  Each slice over the star's smooth image (:func:`smooth_image`: a cubic
   B-spline surface ``B`` in the pixel centre's alpha and wavenumber, knots :data:`ALPHA_KNOT_LD` lambda/D apart in
   alpha and :data:`WAVENUMBER_KNOT_CM` in wavenumber, four fringe periods, so the fringe passes through it), so
   only the fringe (mean 1) remains.  The model fitted is ``F B``, ``F`` the programme's measured extended fringe
   flat: the data's fringe is then 1-3 % (the point source's against the extended light's) instead of 10-30 % and
   the dichroic fringe's 2 %, which a surface over an undersampled PSF otherwise bends to (the dichroic fringe,
   projected into alpha by the slices' drift, made 3C's error 1.1 % per pixel); ``F``'s own noise reaches the flat
   only through ``B``'s smoothing.  Not a fit along each detector column, as the extended flat's: a slice's alpha
   drifts by 3-4 pixels across the columns over the band, so a column sweeps the PSF's core and rings as fast as
   the fringe (a degree-7 column fit left 37 % rms per pixel in 3C).  Kept where the image holds at least
   :data:`MIN_SHARE` of the brightest in the same detector row (the star's core: elsewhere the science's light is
   the sky's, for which the extended flat is right) with an expected noise of at most :data:`MAX_ERROR`, and more
   than :data:`EDGE_CM` from the band's wavenumber ends; NaN elsewhere.
   Never the truth's transmission.  Noise-free, its own error is 0.24-0.38 % rms per pixel of the core (1A 0.38,
   2A 0.26, 3C 0.24, 4C 0.30 %; 0.39 / 0.68 / 1.08 / 0.36 % before ``F`` was carried; 1A's the B-spline against
   its undersampled PSF), against the 1.7-2.6 % (1A/2A) and 0.5-0.8 % (3C/4C) by which a point source's fringes
   differ from the extended light's (tests/test_fringe_point_source.py).

The calibration's ``fringe`` variant ``point_source`` (:mod:`calibration.fringe`) divides the science's point-source
light by it and its sky by the extended flat.
"""
import numpy as np
from scipy import interpolate, sparse
from scipy.sparse import linalg as sparse_linalg

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import mrs

from .spectra import Blackbody, SourceSpectrum

#: The star: a blackbody of this temperature, K, and flux density, mJy, at this wavelength, um (PLACEHOLDER: its
#: spectrum is divided out; only its smoothness matters).
SOURCE_TEMPERATURE_K, SOURCE_MJY, SOURCE_REF_UM = 1.0e4, 1.0e3, 10.0
#: Electrons in the brightest pixel over the programme's integrations (PLACEHOLDER: 0.03 % photon noise there).
PEAK_ELECTRONS = 1.0e7
#: The library flat's position error against the science source's place, arcsec per axis (PLACEHOLDER, above).
POSITION_ERROR_ARCSEC = 0.003
#: The star's smooth image (:func:`smooth_image`): knots this many lambda/D apart in alpha (the PSF's scale: ch1's
#: undersampled core needs ~0.2 pixel) and this far apart in wavenumber, cm^-1 (four periods of the 2.9 cm^-1
#: fringe), and the second-difference penalty's weight.
ALPHA_KNOT_LD, WAVENUMBER_KNOT_CM, SMOOTHING = 0.2, 11.6, 1e-6
#: Within this of a band's wavenumber ends (half a knot span, cm^-1) the fit meets a fringe's part period and
#: follows it (up to 5 % in an x1d's last planes): the flat is left NaN there, where the extended flat serves.
EDGE_CM = WAVENUMBER_KNOT_CM / 2
#: A pixel's fit must hold this share of the brightest in its detector row to be kept, and its expected relative
#: noise must be at most MAX_ERROR (a band the star barely lights, or misses, keeps nothing).
MIN_SHARE, MAX_ERROR = 0.01, 0.01


def source():
    """The star's spectrum (module docstring, 1), as ``render_source`` takes it."""
    return SourceSpectrum(Blackbody(SOURCE_TEMPERATURE_K, SOURCE_MJY, SOURCE_REF_UM), ())


def point_source_flat(electrons, bands, extended_flat):
    """The point-source fringe flat MEASURED from the star's ``electrons`` (a full frame): ``(flat, relative error)``.

    ``bands``: the :class:`simulator.mrs.FlightPixels` of the exposure's bands; ``extended_flat``: the programme's
    measured FRINGE (full frame), which the smooth image's model carries.  Module docstring, 3; NaN where no band
    lights and beyond the star's core.
    """
    flat, error = np.full(electrons.shape, np.nan), np.full(electrons.shape, np.nan)
    read_noise_e = det.READ_NOISE_CDS_DN * det.GAIN_E_PER_DN
    for pixels in bands:
        continuum = np.zeros(electrons.shape)  # each band's star apart: its brightness differs from the other's
        for slice_id in np.unique(pixels.slice):
            on = pixels.slice == slice_id
            y, x = pixels.y[on], pixels.x[on]
            spacing = ALPHA_KNOT_LD * mrs.lambda_over_d(float(np.median(pixels.wavelength[on])))
            continuum[y, x] = smooth_image(pixels.alpha[on], 1e4 / pixels.wavelength[on], electrons[y, x],
                                           extended_flat[y, x], read_noise_e, spacing)
        y, x = pixels.y, pixels.x
        wavenumber = 1e4 / pixels.wavelength
        inside = (wavenumber - wavenumber.min() > EDGE_CM) & (wavenumber.max() - wavenumber > EDGE_CM)
        bright = continuum[y, x] >= MIN_SHARE * continuum.max(axis=1)[y]
        noise = np.sqrt(np.maximum(continuum[y, x], 0) + read_noise_e**2) / np.maximum(continuum[y, x], 1e-30)
        kept = inside & bright & (noise <= MAX_ERROR)
        values = electrons[y, x][kept]
        flat[y[kept], x[kept]] = values / continuum[y, x][kept]
        error[y[kept], x[kept]] = noise[kept]
    return flat, error


def smooth_image(alpha, wavenumber, values, extended_flat, read_noise_e, alpha_spacing):
    """A slice's star without its fringes: a B-spline surface ``B`` in ``(alpha, wavenumber)``, ``F B`` fitted.

    ``F`` is ``extended_flat``, the measured extended fringe flat at each pixel, ``values`` the star's electrons.

    Along a detector column the star is not smooth (the slice's alpha drifts across the columns along the
    dispersion, so a column sweeps the PSF's core and rings as fast as the fringe), but each pixel's light is a
    smooth function of its centre's alpha and its wavenumber: knots ``alpha_spacing`` apart in alpha (arcsec;
    the columns' drift samples between them) and :data:`WAVENUMBER_KNOT_CM` apart in wavenumber (four
    fringe periods: the fringe passes through), with a small second-difference penalty (:data:`SMOOTHING`) where
    the pixels leave a knot's span empty.  Weighted by ``1 / sigma``, ``sigma^2`` the photon and read noise
    (``read_noise_e``) of the data, then fitted again with that of the first fit's model (data weights pull a fit
    low).  Returns ``B`` at each pixel (the star, the extended fringe taken out).
    """
    def basis(coordinate, spacing):
        # uniform knots running three spans past the data: no clamped end, whose last span bends to the fringe
        lo, hi = coordinate.min(), coordinate.max()
        n = max(int(np.ceil((hi - lo) / spacing)), 1)
        step = (hi - lo) / n
        knots = lo + step * np.arange(-3, n + 4)
        return interpolate.BSpline.design_matrix(coordinate, knots, 3, extrapolate=True).tocsr(), len(knots) - 4

    along, n_alpha = basis(alpha, alpha_spacing)
    across, n_wave = basis(wavenumber, WAVENUMBER_KNOT_CM)
    rows = np.repeat(np.arange(len(values)), 16)
    a_idx, a_val = along.indices.reshape(-1, 4), along.data.reshape(-1, 4)
    w_idx, w_val = across.indices.reshape(-1, 4), across.data.reshape(-1, 4)
    columns = (a_idx[:, :, None] * n_wave + w_idx[:, None, :]).ravel()
    weights = (a_val[:, :, None] * w_val[:, None, :]).ravel()
    design = sparse.csr_matrix((weights, (rows, columns)), shape=(len(values), n_alpha * n_wave))
    carried = sparse.diags(extended_flat) @ design
    d_alpha = sparse.kron(_second_difference(n_alpha), sparse.identity(n_wave))
    d_wave = sparse.kron(sparse.identity(n_alpha), _second_difference(n_wave))
    penalty = SMOOTHING * (d_alpha.T @ d_alpha + d_wave.T @ d_wave)
    expected = values
    for _ in range(2):
        sigma = np.sqrt(np.maximum(expected, 0) + read_noise_e**2)
        scaled = sparse.diags(1 / sigma) @ carried
        coefficients = sparse_linalg.spsolve((scaled.T @ scaled + penalty).tocsc(), scaled.T @ (values / sigma))
        expected = carried @ coefficients
    return design @ coefficients


def _second_difference(n):
    return sparse.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(max(n - 2, 0), n))
