"""The testbed's MRS wavelength calibration: a SPECWCS measured from a simulated line-source exposure.

As MIRI's MRS wavelengths were calibrated on an etalon's fringes and on line sources, the
testbed observes an extended line source filling the field through the TRUE geometry and
line-spread function of :mod:`simulator.mrs` (:func:`simulator.mrs.wavecal_exposure`), then
measures it knowing only the flight files:

1. **Source.**  An etalon-like comb (:func:`comb`): unresolved lines evenly spaced by
   :data:`LINE_SPACING_FWHM` resolution elements (uniform in ``u = int R / lambda d lambda``)
   over the band's WAVELENGTHRANGE, each of :data:`LINE_FLUX_W_M2_ARCSEC2`, on a flat
   continuum of :data:`CONTINUUM_MJY_ARCSEC2`.  All PLACEHOLDERS: a bright calibration
   source, not the flight etalon's line list or finesse.
2. **Exposure.**  e-/s times ``wavecal_exposure_s``, Poisson electrons plus the read noise
   (:func:`simulator.lrs_wavecal.observe`).
3. **Line rows.**  In every pixel column of every slice, each line's row ``y`` is the centre
   of a pixel-integrated Gaussian plus a constant fitted by weighted least squares
   (Gauss-Newton, all lines at once) over +/- :data:`FIT_HALF_WIDTH_FWHM` resolution
   elements about the row the flight files predict.
4. **Correction.**  Each line gives the flight files' error there as a velocity,
   ``v = c (lambda_line / lambda_F(x, y) - 1)``; a function ``v_m(lambda_F)`` *linear between*
   :data:`KNOTS` knots evenly spaced over the measured lines' span (the end segments extended
   linearly to the few rows beyond the first and last line) is fitted to them by weighted
   least squares, with the lines off by more than
   :data:`CLIP_SIGMA` of the fit dropped once.  The measured SPECWCS is the flight one
   composed with ``lambda -> lambda (1 + v_m(lambda) / c)``, as the perfect one is with the
   truth's (:func:`simulator.mrs.moved_geometry`).

No inverse crime: the truth's velocity is a cubic (Legendre) in wavelength
(:func:`simulator.mrs.draw_perturbation`); this one is piecewise linear, so it follows the
truth only to its curvature over a knot interval (~0.1 km/s for a 3 km/s rms cubic), plus
the photon noise of the line rows.  With :data:`KNOTS` knots and ~10^4 lines per band the
noise per knot is a few m/s, so the knots do not follow noise.  The spatial (alpha/beta)
offsets are measured apart, on a point-source raster (:mod:`simulator.mrs_spatialcal`).
"""
import numpy as np
from astropy.modeling import models
from scipy.special import ndtr

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import mrs

from .spectra import FWHM_PER_SIGMA, EmissionLine, PowerLaw, SourceSpectrum

#: Speed of light, km/s.
C_KMS = 299792.458
#: Comb spacing in resolution elements (PLACEHOLDER: etalon-like, lines far enough apart that a
#: fit window holds one).
LINE_SPACING_FWHM = 5.0
#: Each line's surface brightness, W m^-2 arcsec^-2, and the continuum, mJy arcsec^-2 (PLACEHOLDERS:
#: a bright source, ~10^4 e- per line and column in 1000 s in channel 1).
LINE_FLUX_W_M2_ARCSEC2, CONTINUUM_MJY_ARCSEC2 = 3e-18, 0.05
#: Half width of a line's fit window, resolution elements.
FIT_HALF_WIDTH_FWHM = 1.5
#: Every this many detector columns is measured (and rendered: the exposure's cost).
COLUMN_STEP = 4
#: Gauss-Newton iterations of the line fits.
ITERATIONS = 10
#: A fitted line must reach this S/N in amplitude to be measured.
MIN_LINE_SNR = 10.0
#: Knots of the piecewise-linear velocity correction over a band's range.
KNOTS = 11
#: Lines off the correction by more than this many of their errors are dropped (once).
CLIP_SIGMA = 5.0


def comb(name, resolving_power, resolution_coordinate):
    """Band ``name``'s calibration source (module docstring, 1), per arcsec^2.

    ``resolving_power(lambda)`` and ``resolution_coordinate(lambda)`` are the instrument's
    (:mod:`simulator.mrs`): the lines are ``LINE_SPACING_FWHM`` apart in ``u``.
    """
    lo, hi = mrs.band(name).wavelength_range
    grid = np.linspace(lo, hi, 4001)
    u = resolution_coordinate(grid)
    centres = np.interp(np.arange(u[0] + LINE_SPACING_FWHM / 2, u[-1], LINE_SPACING_FWHM), u, grid)
    lines = tuple(EmissionLine(centre_um=float(c), flux_w_m2=LINE_FLUX_W_M2_ARCSEC2, fwhm_um=0.0) for c in centres)
    return SourceSpectrum(PowerLaw(flux_mjy=CONTINUUM_MJY_ARCSEC2, ref_um=float(lo), index=0.0), lines)


def _windows(band_map, electrons, centres, fwhm_rows):
    """Every line's fit window in every measured column (:data:`COLUMN_STEP`) of every slice.

    ``band_map``: the band's flight slice and wavelength maps (:func:`instrument.mrs.band_map`).
    Returns ``(rows, counts, x, slice, line)``: ``rows, counts`` (windows, 2 h + 1) and per
    window its column, slice and line index; windows leaving the slice are dropped.
    """
    h = int(np.ceil(FIT_HALF_WIDTH_FWHM * fwhm_rows))
    offsets = np.arange(-h, h + 1)
    ys, xs = np.nonzero(band_map.slice)
    ids = band_map.slice[ys, xs]
    measured = xs % COLUMN_STEP == 0
    parts = []
    for slice_id, x in sorted(set(zip(ids[measured].tolist(), xs[measured].tolist(), strict=True))):
        y = ys[(ids == slice_id) & (xs == x)]
        lam = band_map.wavelength[y, x]
        order = np.argsort(lam)
        inside = np.flatnonzero((centres > lam[order[0]]) & (centres < lam[order[-1]]))
        centre_rows = np.rint(np.interp(centres[inside], lam[order], y[order])).astype(int)
        rows = np.clip(centre_rows[:, None] + offsets, 0, band_map.slice.shape[0] - 1)
        ok = np.all(band_map.slice[rows, x] == slice_id, axis=1) & np.all(rows - centre_rows[:, None] == offsets,
                                                                          axis=1)  # not clipped
        n = np.count_nonzero(ok)
        parts.append((rows[ok], electrons[rows[ok], x], np.full(n, x), np.full(n, slice_id), inside[ok]))
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def fit_rows(rows, counts, sigma_start):
    """Centre rows of pixel-integrated Gaussians plus constants fitted to each window, and their errors.

    Weighted Gauss-Newton on all windows at once (variance: the counts plus the read noise
    squared).  Returns ``(centre, error)``; NaN where a fit fails or finds no line (amplitude
    under :data:`MIN_LINE_SNR` of its error, or a centre off its window's middle pixel).
    """
    read_noise_e = det.READ_NOISE_CDS_DN * det.GAIN_E_PER_DN
    y = rows.astype(float)
    weight = 1 / (np.maximum(counts, 0.0) + read_noise_e**2)
    middle = y[:, y.shape[1] // 2]
    c = np.minimum(counts[:, 0], counts[:, -1])
    p = np.stack([np.maximum(np.sum(counts - c[:, None], axis=1), 1.0), middle,
                  np.full(len(y), sigma_start), c], axis=1)
    for _ in range(ITERATIONS):
        amplitude, centre, sigma, constant = (p[:, i, None] for i in range(4))
        a, b = (y + 0.5 - centre) / sigma, (y - 0.5 - centre) / sigma
        pdf_a, pdf_b = np.exp(-0.5 * a**2), np.exp(-0.5 * b**2)
        profile = ndtr(a) - ndtr(b)
        jacobian = np.stack([profile, -amplitude * (pdf_a - pdf_b) / (np.sqrt(2 * np.pi) * sigma),
                             -amplitude * (a * pdf_a - b * pdf_b) / (np.sqrt(2 * np.pi) * sigma),
                             np.ones_like(y)], axis=2)
        residual = counts - (amplitude * profile + constant)
        weighted = np.swapaxes(jacobian * weight[:, :, None], 1, 2)
        normal = weighted @ jacobian
        step = np.linalg.solve(normal + 1e-12 * np.eye(4), weighted @ residual[:, :, None])[:, :, 0]
        p = p + step
        p[:, 1] = np.clip(p[:, 1], middle - 1.5, middle + 1.5)
        p[:, 2] = np.clip(p[:, 2], 0.2, y.shape[1] / 2)
    error = np.sqrt(np.abs(np.diagonal(np.linalg.pinv(normal), axis1=1, axis2=2)))
    good = (p[:, 0] > MIN_LINE_SNR * error[:, 0]) & (np.abs(p[:, 1] - middle) < 1.0) & np.isfinite(error[:, 1])
    return np.where(good, p[:, 1], np.nan), np.where(good, error[:, 1], np.nan)


def _hat_basis(wavelength, knots):
    """The piecewise-linear basis on ``knots`` (extended linearly beyond them) at ``wavelength``, (n, knots)."""
    identity = np.eye(len(knots))
    return np.stack([models.Tabular1D(points=knots, lookup_table=column, bounds_error=False,
                                      fill_value=None)(wavelength) for column in identity], axis=1)


def measured_velocity(name, electrons, band_map, spectrum, fwhm_rows):
    """The flight files' wavelength error in band ``name`` measured in a calibration exposure (module docstring).

    Parameters
    ----------
    name : str
        The band.
    electrons : numpy.ndarray
        The calibration exposure of the detector, full frame.
    band_map : instrument.mrs.BandMap
        The band's flight slice and wavelength maps (:func:`instrument.mrs.band_map`).
    spectrum : simulator.spectra.SourceSpectrum
        The calibration source (:func:`comb`): its lines' wavelengths are known.
    fwhm_rows : float
        A typical line width, rows (sets the fit windows).

    Returns
    -------
    velocity : astropy.modeling.models.Tabular1D
        ``v_m(lambda)`` in km/s of a flight wavelength in um.
    lines : numpy.ndarray
        Per measured line and column: flight wavelength (um), velocity (km/s), its error (km/s).
    """
    centres = np.array([line.centre_um for line in spectrum.emission])
    rows, counts, x, slices, line = _windows(band_map, electrons, centres, fwhm_rows)
    centre, error = fit_rows(rows, counts, fwhm_rows / FWHM_PER_SIGMA)
    ok = np.isfinite(centre)
    if np.count_nonzero(ok) < 2 * KNOTS:
        raise RuntimeError(f"MRS wavelength calibration of band {name}: {np.count_nonzero(ok)} line rows measured "
                           f"of {len(centre)} windows, need {2 * KNOTS}")
    centre, error, x, slices, line = centre[ok], error[ok], x[ok], slices[ok], line[ok]
    geometry = mrs.band(name)
    flight, step = np.empty(len(centre)), np.empty(len(centre))
    for slice_id in np.unique(slices):
        on = slices == slice_id
        flight[on] = geometry.to_sky(x[on].astype(float), centre[on], slice_id)[1]
        step[on] = geometry.to_sky(x[on].astype(float), centre[on] + 1.0, slice_id)[1] - flight[on]
    velocity = C_KMS * (centres[line] / flight - 1)
    sigma = C_KMS * error * np.abs(step) / flight
    knots = np.linspace(flight.min(), flight.max(), KNOTS)
    basis = _hat_basis(flight, knots)
    keep = np.ones(len(flight), bool)
    for _ in range(2):
        values = np.linalg.lstsq(basis[keep] / sigma[keep, None], velocity[keep] / sigma[keep], rcond=None)[0]
        keep = np.abs(velocity - basis @ values) < CLIP_SIGMA * sigma
    model = models.Tabular1D(points=knots, lookup_table=values, bounds_error=False, fill_value=None)
    return model, np.stack([flight, velocity, sigma], axis=1)[keep]
