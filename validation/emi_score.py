"""How much EMI a correction left: scores against the simulator's EMI truth.

* Residual EMI fraction (the group-varying part, which is what biases slopes):

      f = rms_{p,n}[(E - Ê) - <E - Ê>_n] / rms_{p,n}[E - <E>_n]

  with E the injected waveform re-evaluated at every read from the truth file's EMI
  table, READ_OFFSET and FRAME_START (:func:`simulator.emi.from_table`), Ê what the
  correction removed (uncal - corrected), ``<.>_n`` the per-pixel mean over the groups of
  an integration, over usable pixels.
* Statistical floor of a waveform of p parameters fitted to M = sum over pixels of
  (ngroups - 2) nints constraints of noise sigma: ``sigma sqrt(p / M) / rms[E - <E>_n]``.
* Rate noise relative to the EMI-free truth: the same exposure simulated with EMI off
  (same seed, identical noise) gives the rates the correction should reach;
  ``rms(rate - rate_noEMI) / median(err)`` in units of the rate error.
"""
import numpy as np
from astropy.io import fits
from astropy.table import Table

from simulator import emi as sim_emi


def true_waveform(truth_path):
    """The injected EMI at every read, ``(nints, ngroups, ny, nx)``, from a truth file."""
    with fits.open(truth_path) as hdul:
        lines = sim_emi.from_table(Table(hdul["EMI"].data))
        offsets = hdul["READ_OFFSET"].data.astype(np.float64)
        starts = hdul["FRAME_START"].data.astype(np.float64)
    return waveform_at(lines, starts, offsets)


def waveform_at(lines, starts, offsets):
    """Sum of ``lines`` at ``starts[i, k] + offsets[y, x]``."""
    out = np.zeros(starts.shape + offsets.shape)
    for line in lines:
        for index in np.ndindex(starts.shape):
            out[index] += line(starts[index] + offsets)
    return out


def _group_varying(x):
    return x - x.mean(axis=1, keepdims=True)


def residual_fraction(true, removed, usable=None):
    """Residual fraction ``f`` of the module docstring (``usable``: (ny, nx) bool)."""
    usable = np.ones(true.shape[2:], bool) if usable is None else usable
    err = _group_varying(np.asarray(true, np.float64) - np.asarray(removed, np.float64))[..., usable]
    ref = _group_varying(np.asarray(true, np.float64))[..., usable]
    denom = np.sqrt(np.mean(ref**2))
    return float(np.sqrt(np.mean(err**2)) / denom) if denom > 0 else float("nan")


def statistical_floor(true, sigma, nparams, usable=None):
    """``sigma sqrt(p / M) / rms[E - <E>_n]`` (module docstring)."""
    usable = np.ones(true.shape[2:], bool) if usable is None else usable
    nints, ngroups = true.shape[:2]
    m = usable.sum() * nints * (ngroups - 2)
    ref = np.sqrt(np.mean(_group_varying(np.asarray(true, np.float64))[..., usable] ** 2))
    return float(sigma * np.sqrt(nparams / m) / ref) if m > 0 and ref > 0 else float("nan")


def rate_noise_vs_truth(rate, rate_no_emi, err, usable=None):
    """``rms(rate - rate_noEMI) / median(err)`` over usable finite pixels."""
    ok = np.isfinite(rate) & np.isfinite(rate_no_emi) & np.isfinite(err) & (err > 0)
    if usable is not None:
        ok &= usable
    return float(np.sqrt(np.mean((rate[ok] - rate_no_emi[ok]) ** 2)) / np.median(err[ok]))
