"""How much EMI a correction left: scores against the simulator's EMI truth.

* Residual EMI fraction (the group-varying part, which is what biases slopes):

      f = rms_{p,n}[(E - Ê) - <E - Ê>_n] / rms_{p,n}[E - <E>_n]

  with E the injected waveform re-evaluated at every read from the truth file's EMI
  table, READ_OFFSET and FRAME_START (:func:`simulator.emi.from_table`), Ê what the
  correction removed (uncal - corrected), ``<.>_n`` the per-pixel mean over the groups of
  an integration, over usable pixels.
* The EMI left in the rates, as users feel it: ``s(x)`` the per-pixel least-squares slope over the
  groups of each integration, averaged over the integrations (DN/group),

      f_rate = rms_p[s(E - Ê)] / rms_p[s(E)],    z_rate = rms_p[s(E - Ê)] / sigma_s,

  the fraction of the EMI's uncorrected effect on the rates, and the same in units of the
  per-pixel rate noise ``sigma_s = sigma sqrt(12 / (n (n^2 - 1)) / nints)`` (sigma the median per-read
  noise with the true rate's Poisson noise, n the groups).
* Statistical floor of a waveform of p parameters fitted to M = sum over pixels of
  (ngroups - 2) nints constraints of noise sigma: ``sigma sqrt(p / M) / rms[E - <E>_n]``.
* Rate noise relative to the EMI-free truth: the same exposure simulated with EMI off
  (same seed, identical noise) gives the rates the correction should reach;
  ``rms(rate - rate_noEMI) / median(err)`` in units of the rate error.  (Not part of a
  suite run: it needs a second simulation and calibration of every cell.)

In a suite run (:mod:`validation.runner`) the pipeline hands what its EMI step removed
(an :class:`EmiCorrection`) over as the step runs (``on_emi`` of
:func:`calibration.pipeline.calibrate`); :func:`score_emi` (the scorer of that product,
:mod:`validation.scorers`) gives the metric rows, :func:`folds` the folded waveforms the
report draws.
"""
from dataclasses import dataclass

import numpy as np

from miri_testbed.instrument import readout
from miri_testbed.simulator import emi as sim_emi

from .emi_floor import cramer_rao_floor, effective_sigma
from .score import as_truth

#: The truth components the EMI scores read.
EMI_TRUTH = ("EMI", "FRAME_START", "READ_OFFSET", "RATE", "DARK", "BADPIX")
#: What :func:`score_emi` writes.
METRICS = ("emi_residual_fraction", "emi_residual_over_floor", "emi_residual_floor", "emi_residual_floor_cr",
           "emi_rate_residual_fraction", "emi_rate_residual_sigma")


@dataclass(frozen=True)
class EmiCorrection:
    """What the pipeline's EMI step did to one exposure, handed over as the step runs.

    Parameters
    ----------
    raw : numpy.ndarray
        The ramps before the step, ``(nints, ngroups, ny, nx)`` DN.
    corrected : numpy.ndarray
        The same after it (equal to ``raw`` when the step was skipped).
    usable : numpy.ndarray
        ``(ny, nx)`` bool: the pixels the step could use.
    """

    raw: object
    corrected: object
    usable: object


def injected(truth):
    """The EMI truth of an exposure.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like

    Returns
    -------
    dict
        ``lines`` (the injected :class:`simulator.emi.EmiLine`), ``starts`` and
        ``offsets`` (frame starts and read offsets, s), ``sigma`` (read noise of one read,
        DN), ``sigma_pixel`` (each pixel's per-read noise with the Poisson noise of its
        true rate, :func:`validation.emi_floor.effective_sigma`), ``badpix`` (bad and
        reference pixels) and ``reference`` (the subarray's reference columns alone).
    """
    truth = as_truth(truth, EMI_TRUTH)
    header = truth.header
    starts = truth.image("FRAME_START").astype(np.float64)
    gain = float(header["GAIN"])
    rate = truth.image("RATE").astype(np.float64) + truth.image("DARK").astype(np.float64) / gain
    group_time = float(starts[0, 1] - starts[0, 0]) if starts.shape[1] > 1 else 0.0
    badpix = truth.image("BADPIX").astype(bool)
    return dict(lines=sim_emi.from_table(truth.table("EMI")), offsets=truth.image("READ_OFFSET").astype(np.float64),
                starts=starts, sigma=float(header["READNOIS"]),
                sigma_pixel=effective_sigma(float(header["READNOIS"]), rate, gain, group_time, starts.shape[1]),
                badpix=badpix, reference=_reference_pixels(header, badpix.shape))


def _reference_pixels(header, shape):
    """The subarray's reference columns (instrument facts), ``shape`` bool."""
    reference = np.zeros(shape, bool)
    if "SUBARRAY" in header:
        reference[:, readout.subarray(header["SUBARRAY"]).reference_columns()] = True
    return reference


def true_waveform(truth):
    """The injected EMI at every read, ``(nints, ngroups, ny, nx)`` DN.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like

    Returns
    -------
    numpy.ndarray
    """
    emi = injected(truth)
    return sim_emi.waveform_at(emi["lines"], emi["starts"], emi["offsets"])


def _group_varying(x):
    return x - x.mean(axis=1, keepdims=True)


def residual_fraction(true, removed, usable=None, of="group_varying"):
    """Residual fraction ``f`` of the module docstring (``usable``: (ny, nx) bool).

    With ``of="rms"`` the same residual over rms[E], the injected rms itself (the issue's
    wording; rms[E - <E>_n] <= rms[E], so this is the smaller number, by up to a third at
    3 groups where the phase advances little from group to group).
    """
    if of not in ("group_varying", "rms"):
        raise ValueError(f"residual_fraction: of={of!r}, expected 'group_varying' or 'rms'")
    usable = np.ones(true.shape[2:], bool) if usable is None else usable
    true = np.asarray(true, np.float64)
    err = _group_varying(true - np.asarray(removed, np.float64))[..., usable]
    ref = (_group_varying(true) if of == "group_varying" else true)[..., usable]
    denom = np.sqrt(np.mean(ref**2))
    return float(np.sqrt(np.mean(err**2)) / denom) if denom > 0 else float("nan")


def rate_effect(true, removed, sigma, usable=None):
    """``(f_rate, z_rate)`` of the module docstring; ``sigma`` the per-read noise, DN (scalar or (ny, nx))."""
    usable = np.ones(true.shape[2:], bool) if usable is None else usable
    nints, ngroups = true.shape[:2]
    k = np.arange(ngroups) - (ngroups - 1) / 2

    def slope(x):
        return np.einsum("k,ikp->p", k, np.asarray(x, np.float64)[..., usable]) / (nints * np.sum(k**2))

    left, effect = slope(np.asarray(true, np.float64) - removed), slope(true)
    sigma_s = float(np.median(np.broadcast_to(sigma, usable.shape)[usable])) * np.sqrt(
        12 / (ngroups * (ngroups**2 - 1)) / nints)
    rms = float(np.sqrt(np.mean(left**2)))
    ref = float(np.sqrt(np.mean(effect**2)))
    return (rms / ref if ref > 0 else float("nan")), rms / sigma_s


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


#: Phase bins of the folded-waveform view.
FOLD_BINS = 48
#: Pixels sampled for the folded-waveform view (all of them in the small subarrays).
FOLD_PIXELS = 40000


def _detrended(ramps):
    """Ramp residuals: ``(nints, ngroups, npix)`` -> same shape.

    Each pixel's ramp less its own line over the groups (per integration), less the
    median over pixels of each group.
    """
    k = np.arange(ramps.shape[1], dtype=np.float64)
    X = np.stack([np.ones_like(k), k], axis=1)
    P = np.eye(k.size) - X @ np.linalg.pinv(X)
    out = np.einsum("gk,ikp->igp", P, np.asarray(ramps, np.float64))
    return out - np.median(out, axis=2, keepdims=True)


def fold(lines, starts, offsets, raw, corrected, usable, nbins=FOLD_BINS, npix=FOLD_PIXELS):
    """The folded waveform of each EMI line, before and after correction, with the truth.

    Returns ``{line name: dict(phase, before, after, true, frequency_hz, rms_dn)}``: the
    ramp residuals (each pixel's ramp less its own straight line over the groups, less
    the per-group median over pixels) of the raw and the corrected data, and of the
    injected line alone treated the same way, binned (median per bin) by each read's
    phase at the line's true frequency.  A sample of ``npix`` usable pixels is used.
    """
    ys, xs = np.nonzero(usable)
    if ys.size == 0 or raw.shape[1] < 3:
        return {}
    pick = np.random.default_rng(0).permutation(ys.size)[:npix]
    ys, xs = ys[pick], xs[pick]
    t = starts[:, :, None] + offsets[ys, xs][None, None, :]
    before, after = _detrended(raw[:, :, ys, xs]), _detrended(corrected[:, :, ys, xs])
    out = {}
    for line in lines:
        phase = np.mod(line.true_frequency * t, 1.0).ravel()
        index = np.minimum((phase * nbins).astype(int), nbins - 1)
        order = np.argsort(index, kind="stable")
        cuts = np.searchsorted(index[order], np.arange(1, nbins))
        true = _detrended(line(t))

        def binned(values, order=order, cuts=cuts):
            return np.array([np.median(v) if v.size else np.nan for v in np.split(values.ravel()[order], cuts)])

        out[line.name] = dict(phase=(np.arange(nbins) + 0.5) / nbins, before=binned(before), after=binned(after),
                              true=binned(true), frequency_hz=line.true_frequency, rms_dn=line.rms)
    return out


def _struck(truth, correction):
    """``(EMI truth, the lines injected with some amplitude, usable good pixels)``."""
    emi = injected(truth)
    return emi, [ln for ln in emi["lines"] if ln.rms > 0], correction.usable & ~emi["badpix"]


def score_emi(truth, correction):
    """Metric rows of one exposure's EMI correction.

    ``emi_residual_fraction`` (``f`` of the module docstring), ``emi_residual_over_floor``
    (``f`` over the Cramer-Rao floor: near or below 1 for a correction at the information
    limit, 0 where nothing can be learned), ``emi_residual_floor`` (its
    statistical floor ``sigma sqrt(p / M)``, p = 2 x the injected harmonics) and
    ``emi_residual_floor_cr`` (the Cramer-Rao floor of an unbiased fit with the frequency
    learned, :func:`validation.emi_floor.cramer_rao_floor`: it knows when a line is nearly a
    whole number of periods per frame, e.g. 10 Hz in SUB128, where it is far above the
    statistical floor; a fit that drops such a line's poorly determined harmonics can go
    below it; per-pixel noise with the Poisson noise of the true rate), sigma the truth's
    read noise of one read; ``emi_rate_residual_fraction`` and ``emi_rate_residual_sigma``
    (``f_rate``, ``z_rate``), all with ``bin`` = the exposure's ngroups, so a study over
    ngroups can draw residual vs ngroups.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
    correction : EmiCorrection

    Returns
    -------
    list of dict
        The rows; none when the truth has no EMI.
    """
    emi, lines, usable = _struck(truth, correction)
    if not lines:
        return []
    starts, offsets = emi["starts"], emi["offsets"]
    true = sim_emi.waveform_at(lines, starts, offsets)
    removed = np.asarray(correction.raw, np.float64) - correction.corrected
    ngroups = float(correction.raw.shape[1])
    nparams = 2 * sum(len(ln.amplitudes) for ln in lines)
    floors = {"emi_residual_floor": statistical_floor(true, emi["sigma"], nparams, usable),
              "emi_residual_floor_cr": cramer_rao_floor(lines, starts, offsets, emi["sigma_pixel"], usable,
                                                         reference=emi["reference"])}
    fraction = residual_fraction(true, removed, usable)
    rate_fraction, rate_sigma = rate_effect(true, removed, emi["sigma_pixel"], usable)
    rows = [dict(metric="emi_residual_fraction", value=fraction, unit="", bin=ngroups),
            dict(metric="emi_residual_over_floor", value=fraction / floors["emi_residual_floor_cr"], unit="",
                 bin=ngroups),
            dict(metric="emi_rate_residual_fraction", value=rate_fraction, unit="", bin=ngroups),
            dict(metric="emi_rate_residual_sigma", value=rate_sigma, unit="rate sigma", bin=ngroups)]
    return rows + [dict(metric=name, value=value, unit="", bin=ngroups) for name, value in floors.items()]


def folds(truth, correction):
    """The folded waveform (:func:`fold`) of each line injected into an exposure.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
    correction : EmiCorrection

    Returns
    -------
    dict
        ``{line name: fold}``; empty when the truth has no EMI.
    """
    emi, lines, usable = _struck(truth, correction)
    if not lines:
        return {}
    return fold(lines, emi["starts"], emi["offsets"], correction.raw, correction.corrected, usable)
