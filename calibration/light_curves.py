"""Light curves from spectra per integration (the ``white_light`` step): white and in wavelength bins.

Variant ``sum`` (the only one, as jwst's ``white_light``): the light curve of a range of
wavelengths ``[lo, hi]`` is each integration's sum of the spectrum's rows whose assigned
wavelength is in the range, ``L_t = sum_i f_ti``, with variance ``sum_i sigma_ti^2`` (the
rows' errors are independent but for the shared background estimate, whose share is
small and common to every integration).  One set of rows serves every integration, so
the curve is a fixed sum: a row that is not usable (non-finite, DO_NOT_USE) in half of
the integrations or more leaves the sum, and an integration in which a remaining row is
not usable gets NaN (left out of the fit), rather than a sum of other rows.

The white light's range is :data:`instrument.lrs.WHITE_LIGHT_RANGE_UM`; the
spectroscopic light curves are in bins of :data:`BIN_WIDTH_UM` from its lower end.
"""
from dataclasses import dataclass

import numpy as np

from miri_testbed.instrument import dq as dqflags

#: Width of the spectroscopic light curves' wavelength bins, um.
BIN_WIDTH_UM = 0.5


@dataclass
class LightCurve:
    """A light curve: ``flux``, ``error`` per integration and the rows summed (``rows``, bool per row)."""

    flux: np.ndarray
    error: np.ndarray
    rows: np.ndarray


def summed(wavelength, flux, error, dq, wave_range):
    """Variant ``sum`` (module docstring).

    Parameters
    ----------
    wavelength : (ny,) float
        Assigned wavelength of each row, um.
    flux, error : (nints, ny) float
        The spectra per integration.
    dq : (nints, ny) uint32
    wave_range : (float, float)
        ``lo, hi``, um.

    Returns
    -------
    LightCurve
    """
    lo, hi = wave_range
    bad = ~np.isfinite(flux) | ~np.isfinite(error) | ((dq & dqflags.DO_NOT_USE) != 0)
    with np.errstate(invalid="ignore"):
        rows = (wavelength >= lo) & (wavelength <= hi) & (bad.mean(axis=0) < 0.5)
    spoiled = bad[:, rows].any(axis=1) | ~rows.any()
    total = np.where(spoiled, np.nan, np.sum(np.where(bad, 0.0, flux)[:, rows], axis=1))
    sigma = np.where(spoiled, np.nan, np.sqrt(np.sum(np.where(bad, 0.0, error)[:, rows] ** 2, axis=1)))
    return LightCurve(total, sigma, rows)


def bin_edges(wave_range, width=BIN_WIDTH_UM):
    """Bin edges, ``width`` wide from ``lo``; a last part-bin under half a width joins the one before."""
    lo, hi = wave_range
    edges = np.arange(lo, hi + 1e-9, width)
    if hi - edges[-1] > 0.5 * width or edges.size == 1:
        edges = np.append(edges, hi)
    else:
        edges[-1] = hi
    return edges
