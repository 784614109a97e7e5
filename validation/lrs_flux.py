"""Spectrophotometry of an LRS spectrum: the extracted F_nu over the source's true F_nu.

Per extracted spectrum in Jy (the x1d contract, :mod:`validation.lrs_score`; a spectrum
still in DN/s, without a PHOTOM, is not scored), rows by increasing wavelength:

* **The truth of a row**: the source's true continuum (truth configuration, its lines
  left out) averaged in F_nu over the row's wavelength span, between the midpoints of
  the x1d's WAVELENGTH (the assigned ones: a few nm off the true span, which moves a
  smooth continuum's average by far less than 0.1 %), by the trapezoid rule on
  :data:`SAMPLES_PER_ROW` points.
  Plus the light of the source's emission lines that the PSF spreads along the rows
  into the row (:func:`line_light`): its diffraction wings reach tens of rows, and a
  strong line (the lrs suite's slitless lines have equivalent widths of ~2 um) adds
  1-3 % to the continuum of most rows of 6-11 um.
* **Rows scored**: usable (finite, DQ without DO_NOT_USE), not within a line's window
  (:func:`line_window`: ``max(6, 5 sigma)`` rows of the line spread, a few resolution
  elements, as :mod:`validation.lrs_score` fits lines), and where the lines' spread light is at most
  :data:`LINE_LIMIT` of the continuum (it is a model: the box's share of the PSF).
* **Per bin** of :data:`BIN_UM` over :data:`RANGE_UM`: ``lrs_flux_ratio = sum FLUX /
  sum F_true`` over the bin's scored rows (bin = the bin's centre, um), with
  ``lrs_flux_ratio_error`` its error from FLUX_ERROR (the statistical part only).
* **Per spectrum**: ``lrs_flux_ratio_median``, the median of the bins' ratios whose centres
  are within :data:`MEDIAN_RANGE_UM` (issue 15: "median ratio within 1 % over 6-11 um").
"""
import math

import numpy as np
from astropy import constants

from miri_testbed.simulator import lrs_references

from .lrs_score import MIN_HALF_WINDOW, WINDOW_SIGMA, expected_sigma_rows, lrs_truth, read_x1d, source_continuum

METRICS = ("lrs_flux_ratio", "lrs_flux_ratio_error", "lrs_flux_ratio_median")
#: Width of the wavelength bins, um.
BIN_UM = 0.5
#: Wavelengths binned, um.
RANGE_UM = (5.0, 12.0)
#: Bin centres the median takes, um.
MEDIAN_RANGE_UM = (6.0, 11.0)
#: Largest share of a scored row's continuum the lines' spread light may add.
LINE_LIMIT = 0.1
#: Half width (columns) of the aperture the lines' spread light is reckoned in: the box's.
LINE_COLUMNS = 4.0
#: Points per row of the trapezoid average of the true F_nu.
SAMPLES_PER_ROW = 9


def row_truth_jy(wavelength, continuum):
    """The continuum's mean F_nu (Jy) over each row's span (module docstring); ``wavelength`` increasing."""
    mid = 0.5 * (wavelength[1:] + wavelength[:-1])
    edges = np.concatenate([[2 * wavelength[0] - mid[0]], mid, [2 * wavelength[-1] - mid[-1]]])
    t = np.linspace(0.0, 1.0, SAMPLES_PER_ROW)
    lam = edges[:-1, None] + t[None, :] * np.diff(edges)[:, None]
    return np.trapezoid(continuum.flux_density_mjy(lam), t, axis=1) * 1e-3


def line_window(wavelength, centres):
    """Rows within ``max(MIN_HALF_WINDOW, WINDOW_SIGMA sigma)`` of a line (:mod:`validation.lrs_score`'s window)."""
    u = np.arange(wavelength.size)
    near = np.zeros(wavelength.size, bool)
    for centre in centres:
        if not wavelength[0] <= centre <= wavelength[-1]:
            continue
        row = float(np.interp(centre, wavelength, u))
        dispersion = abs(float(np.gradient(wavelength)[int(round(row))]))
        near |= np.abs(u - row) <= max(MIN_HALF_WINDOW, math.ceil(WINDOW_SIGMA * expected_sigma_rows(centre, 0.0,
                                                                                                   dispersion)))
    return near


def line_light(wavelength, lines, slit):
    """F_nu (Jy) each row gets from the emission lines' light spread along the rows (module docstring).

    ``lines``: the truth's LINES rows of the source.  A line of flux ``F`` (W m^-2) puts
    ``F W(d)`` into a row ``d`` rows away, over the row's width ``dlambda``:
    ``F W(d) lambda^2 / (c dlambda)`` in F_nu; ``W`` of the light within
    :data:`LINE_COLUMNS` of the trace (an extraction aperture's, its aperture correction
    taking it to the whole), since the PSF's wings along the rows lie mostly outside it.
    """
    u = np.arange(wavelength.size, dtype=float)
    width = np.abs(np.gradient(wavelength)) * 1e-6
    out = np.zeros(wavelength.size)
    for line in lines:
        centre = float(line["centre_um"])
        if str(line["kind"]) != "emission" or not wavelength[0] <= centre <= wavelength[-1]:
            continue
        offsets, spread = lrs_references.line_spread([centre], slit, LINE_COLUMNS)
        d = u - float(np.interp(centre, wavelength, u))
        share = np.interp(d, offsets, spread[0], left=0.0, right=0.0)
        out += float(line["flux_w_m2"]) * share * (wavelength * 1e-6) ** 2 / (constants.c.value * width) * 1e26
    return out


def is_jy(spectrum):
    """Whether an extracted spectrum is flux calibrated (F_nu in Jy)."""
    return spectrum.unit.strip().lower() == "jy"


def against_truth(truth, spectrum, x1d_path):
    """A spectrum in Jy beside its truth, by increasing wavelength (module docstring).

    Parameters
    ----------
    truth : simulator.truth.Truth
        Of an LRS exposure, with ``LINES``.
    spectrum : validation.lrs_score.Spectrum
    x1d_path : path-like

    Returns
    -------
    wavelength, flux, error, true : (n,) float
        The rows, and the true F_nu each should hold (continuum plus the lines' spread light).
    scored : (n,) bool
        Usable rows outside the lines' windows and their spread light's reach.
    """
    lines = truth.table("LINES")
    continuum = source_continuum(truth, spectrum, x1d_path)
    order = np.argsort(spectrum.wavelength)
    lam, flux, error, usable = (a[order] for a in (spectrum.wavelength, spectrum.flux, spectrum.error,
                                                     spectrum.usable))
    mine = lines[np.asarray(lines["source_id"]) == spectrum.source_id]
    true = row_truth_jy(lam, continuum)
    spread = line_light(lam, mine, truth.config["mode"] == "lrs_slit")
    scored = usable & ~line_window(lam, np.asarray(mine["centre_um"], float)) & (spread <= LINE_LIMIT * true)
    return lam, flux, error, true + spread, scored


def score_flux(truth, x1d_path, source_id=None):
    """``lrs_flux_ratio`` per bin and ``lrs_flux_ratio_median`` of each spectrum in Jy (module docstring).

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
        Of an LRS exposure.
    x1d_path : path-like
    source_id : int, optional
        A foreign x1d's one spectrum is read as this source (:func:`validation.lrs_score.read_x1d`).

    Returns
    -------
    list of dict

    Raises
    ------
    ScoreInputError
        A truth of another mode, an x1d :func:`validation.lrs_score.read_x1d` refuses, or a
        spectrum of a source the truth does not have.
    """
    truth = lrs_truth(truth, ("LINES",), "flux")
    rows = []
    for spectrum in read_x1d(x1d_path, source_id):
        if not is_jy(spectrum):
            continue  # not flux calibrated
        lam, flux, error, true, scored = against_truth(truth, spectrum, x1d_path)
        context = dict(source_id=spectrum.source_id)
        ratios = []
        for lo in np.arange(RANGE_UM[0], RANGE_UM[1] - 1e-9, BIN_UM):
            chosen = scored & (lam >= lo) & (lam < lo + BIN_UM)
            if not chosen.any() or not np.sum(true[chosen]) > 0:
                continue
            ratio = float(np.sum(flux[chosen]) / np.sum(true[chosen]))
            centre = lo + BIN_UM / 2
            rows += [dict(metric="lrs_flux_ratio", value=ratio, unit="ratio", bin=centre, **context),
                     dict(metric="lrs_flux_ratio_error", value=float(np.sqrt(np.sum(error[chosen] ** 2))
                                                                      / np.sum(true[chosen])),
                          unit="ratio", bin=centre, **context)]
            if MEDIAN_RANGE_UM[0] <= centre <= MEDIAN_RANGE_UM[1]:
                ratios.append(ratio)
        if ratios:
            rows.append(dict(metric="lrs_flux_ratio_median", value=float(np.median(ratios)), unit="ratio", **context))
    return rows
