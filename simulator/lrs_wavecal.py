"""The testbed's LRS wavelength calibration: a SPECWCS measured from a simulated line-source exposure.

As the MIRI team calibrated the prism, with a source of known lines, the testbed observes
one at the reference point through the TRUE optics (the true trace, PSF and slit of
:mod:`simulator.lrs`), then measures it knowing only the flight table:

1. **Exposure.**  The noise-free e-/s of the line source and the sky, times
   ``exposure_s`` (:attr:`simulator.config.ReferenceOptions.wavecal_exposure_s`), drawn
   as Poisson electrons plus a read noise of :data:`instrument.detector.READ_NOISE_CDS_DN`
   per pixel; the sky is taken off row by row as the median of columns
   :data:`SKY_COLUMNS_PIX` from the flight trace.
2. **Line rows.**  A box of +/- :data:`BOX_HALF_WIDTH_PIX` about the flight trace gives a
   spectrum per row; each line's row ``y_k`` is the centre of a Gaussian plus a straight
   continuum fitted by weighted least squares over +/- :data:`FIT_HALF_WINDOW_ROWS` rows
   about the row the flight table predicts.
3. **Correction.**  Each line gives the flight table's error there,
   ``d_k = lambda_k - lambda_flight(y_k)``; a polynomial ``c`` in wavelength of degree
   ``min(DEGREE, n - 2)`` is fitted to them (weights from the row errors times the
   dispersion), and the measured table is
   ``lambda_measured(node) = lambda_flight(node) + c(clip(lambda_flight(node), lines' span))``:
   held at its end values beyond the first and last line, where nothing measures it.

The measured table keeps the flight table's rows and trace columns (the across-trace
position is found in the science data by the calibration).  Its error against the truth
is that of the measurement: the photon noise of the line rows, and the polynomial's
failure to follow a perturbation of another form (the truth's is a cubic in the row,
:func:`simulator.lrs.true_table`; this one is a polynomial in wavelength).

The line list is that of a planetary nebula: forbidden lines of Mg, Ar, Ne, S and the
H2 0-0 S(3) line at their laboratory (vacuum) wavelengths, chosen at least 0.6 um apart so
no fit window (about +/- 0.05-0.5 um) holds two lines.  Their fluxes, the continuum and the
sky are PLACEHOLDERS: a bright line source, as a calibration programme would choose.
"""
import numpy as np
from scipy.optimize import least_squares

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import lrs

from .spectra import EmissionLine, PowerLaw, SourceSpectrum

#: Calibration lines, um (laboratory vacuum wavelengths): [Mg V], [Ar II], [Ne VI],
#: [Ar III], H2 S(3), [S IV], [Cl IV], [Ne II].
LINES_UM = (5.6098, 6.9853, 7.6524, 8.9914, 9.6649, 10.5105, 11.7619, 12.8135)
#: Each line's flux, W m^-2, and the continuum under them, mJy (PLACEHOLDERS: a bright nebula).
LINE_FLUX_W_M2, CONTINUUM_MJY = 2e-15, 1.0
#: The sky under the calibration source, MJy/sr (PLACEHOLDER, a typical mid-infrared sky).
SKY_MJY_SR = 5.0
#: Half width of the extraction box, pixels; the sky columns' distance from the trace, pixels.
BOX_HALF_WIDTH_PIX = 4
SKY_COLUMNS_PIX = (8, 15)
#: Rows each side of a line's predicted row in its fit.
FIT_HALF_WINDOW_ROWS = 6
#: A fitted line must reach this S/N in amplitude to be measured.
MIN_LINE_SNR = 10.0
#: Highest degree of the correction polynomial.
DEGREE = 3


def line_source():
    """The calibration source's spectrum (:data:`LINES_UM`, unresolved, on a flat continuum)."""
    lines = tuple(EmissionLine(centre_um=lam, flux_w_m2=LINE_FLUX_W_M2, fwhm_um=0.0) for lam in LINES_UM)
    return SourceSpectrum(PowerLaw(flux_mjy=CONTINUUM_MJY, ref_um=7.5, index=0.0), lines)


def observe(expected_e_per_s, exposure_s, rng):
    """A calibration exposure's electrons: Poisson on ``expected * exposure_s`` plus the read noise."""
    read_noise_e = det.READ_NOISE_CDS_DN * det.GAIN_E_PER_DN
    return rng.poisson(expected_e_per_s * exposure_s) + read_noise_e * rng.standard_normal(expected_e_per_s.shape)


def box_spectrum(electrons, flight):
    """Sky-subtracted box sums about the flight trace: ``(rows, counts, variance)``, the table's rows in the frame."""
    ny, nx = electrons.shape
    lo, hi = flight.row_range
    rows = np.arange(max(int(np.ceil(lo)), 0), min(int(np.floor(hi)), ny - 1) + 1)
    x = flight.trace(flight.wavelength_at_row(rows))[0]
    offset = np.arange(nx)[None, :] - x[:, None]
    data = electrons[rows]
    sky_cols = (np.abs(offset) >= SKY_COLUMNS_PIX[0]) & (np.abs(offset) <= SKY_COLUMNS_PIX[1])
    sky = np.array([np.median(d[s]) for d, s in zip(data, sky_cols, strict=True)])
    box = np.abs(offset) <= BOX_HALF_WIDTH_PIX
    counts = np.sum(np.where(box, data - sky[:, None], 0.0), axis=1)
    read_noise_e = det.READ_NOISE_CDS_DN * det.GAIN_E_PER_DN
    variance = np.sum(np.where(box, np.maximum(data, 0.0) + read_noise_e**2, 0.0), axis=1)
    return rows, counts, variance


def line_row(rows, counts, variance, predicted):
    """The centre row of a Gaussian plus a straight continuum fitted about ``predicted``, and its error.

    Returns ``(nan, nan)`` when the window leaves the spectrum, or the fit does not converge
    or finds no line (amplitude below :data:`MIN_LINE_SNR` of its error).
    """
    window = np.abs(rows - predicted) <= FIT_HALF_WINDOW_ROWS
    if np.count_nonzero(window) < 2 * FIT_HALF_WINDOW_ROWS:
        return np.nan, np.nan
    y, f, sigma = rows[window].astype(float), counts[window], np.sqrt(variance[window])

    def residual(p):
        amplitude, centre, width, c0, c1 = p
        return (amplitude * np.exp(-0.5 * ((y - centre) / width) ** 2) + c0 + c1 * (y - predicted) - f) / sigma

    edge = 0.5 * (f[0] + f[-1])
    start = (max(f.max() - edge, 1e-9), np.clip(y[np.argmax(f)], predicted - 2.9, predicted + 2.9), 1.0, edge, 0.0)
    fit = least_squares(residual, start, bounds=([0, predicted - 3, 0.3, -np.inf, -np.inf],
                                                 [np.inf, predicted + 3, 5.0, np.inf, np.inf]))
    jac = fit.jac
    covariance = np.linalg.pinv(jac.T @ jac) * max(1.0, 2 * fit.cost / (y.size - 5))
    if not (fit.success and fit.x[0] > MIN_LINE_SNR * np.sqrt(covariance[0, 0])):
        return np.nan, np.nan
    return float(fit.x[1]), float(np.sqrt(covariance[1, 1]))


def measured_table(flight, electrons):
    """The flight table corrected by the lines measured in ``electrons`` (module docstring).

    Parameters
    ----------
    flight : instrument.lrs.LrsTable
        The flight table of the mode.
    electrons : numpy.ndarray
        The calibration exposure (:func:`observe`), the mode's frame.

    Returns
    -------
    table : instrument.lrs.LrsTable
    lines : numpy.ndarray
        Per line: wavelength (um), measured row, its error (rows), and the flight table's
        error there ``d_k`` (um); rows of lines not measured are NaN.
    """
    rows, counts, variance = box_spectrum(electrons, flight)
    lo, hi = flight.wavelength_range_um
    measured = []
    for lam in LINES_UM:
        if not lo <= lam <= hi:
            continue
        y, err = line_row(rows, counts, variance, float(flight.trace(lam)[1]))
        d = lam - float(flight.wavelength_at_row(y)) if np.isfinite(y) else np.nan
        measured.append((lam, y, err, d))
    lines = np.array(measured)
    ok = np.isfinite(lines[:, 1])
    if np.count_nonzero(ok) < 2:
        raise RuntimeError(f"LRS wavelength calibration: {np.count_nonzero(ok)} of {len(lines)} lines measured")
    lam, y, err, d = lines[ok].T
    sigma_um = np.maximum(err * np.abs(flight.dispersion(lam)), 1e-6)
    degree = min(DEGREE, lam.size - 2)
    coefficients = np.polynomial.polynomial.polyfit(lam, d, degree, w=1 / sigma_um)
    node = np.clip(flight.wavelength_um, lam.min(), lam.max())
    corrected = flight.wavelength_um + np.polynomial.polynomial.polyval(node, coefficients)
    table = lrs.LrsTable(flight.mode, flight.subarray, corrected, flight.x_center, flight.y_center,
                         flight.x_ref, flight.y_ref)
    return table, lines
