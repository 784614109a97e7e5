"""The MRS throughput decay: the true loss in time per wavelength, and what a monitoring programme measures of it.

Since launch the MRS has lost throughput, most at long wavelengths: channels 1-2
negligibly, channel 3 by 1-10 % and channel 4 by 15-50 % by May 2023, ~50 % at 26 um after
the first year, a factor ~2 at 25 um over the first two years, about 10 % more predicted
in 4C over the following four years (params 5 "Time-dependent throughput: magnitude":
STScI news 2023-05-25 and 2023-09-29, L25; defaults 34-35).  The pipeline corrects it with
a power law per wavelength bin (params 5 "pipeline form", jwst ``photom/time_dependence.py``).

True relative throughput at wavelength lambda and MJD t, ``dt = t - t0``:

    T(lambda, t) = min(1, y1(lambda) ((dt + ts) / (365 + ts))^alpha(lambda)) [1 - l(lambda) dt / 365],

no loss before t0 (MJD 59720, :data:`instrument.optics.T0_MJD`, the imager's APPROXIMATE start).

* ``y1 = 1 - L1``: the loss after one year ``L1(lambda)`` is a monotone cubic (PCHIP) through
  :data:`LOSS_ONE_YEAR_NODES`: 0.10 at 15 um (default 34: "~0.9 at 15 um"), 0.15 at the
  channel 3/4 boundary (the ends of "ch3 1-10 %", "ch4 15-50 %"), 0.46 at 25 um and 0.52
  at 28.6 um (so ~0.48 at 26 um: "~50 % after the first year"); 0.01-0.02 in channels 1-2,
  a PLACEHOLDER for "negligible" (small, not zero, so the effect is visible in every band).
  The nodes are anchors read off the sources; the curve between them is an INTERPOLATION.
* ``alpha = KAPPA ln y1``: one profile in time at every wavelength; ``KAPPA`` = 0.17 makes
  ``T(25 um)`` 0.54 after one year, 0.50 after two ("a factor ~2") and 11 % lower again
  after six ("about 10 % more in 4C over the following four years").  ``ts`` =
  :data:`TSOFT_DAYS` (1 day, PLACEHOLDER); the cap at 1 holds for the first ~0.02 d only.
* ``l(lambda)``: a slow linear loss per year, :data:`LINEAR_LOSS_PER_YEAR_25UM` at 25 um,
  scaled like ``L1``: an UNSOURCED PLACEHOLDER (the pipeline's optional ``timecoeff_linear``
  form, as the imager's, :mod:`simulator.throughput`) that makes the truth richer than the
  power law a monitoring fit assumes (DESIGN: no inverse crime).

Measured (:func:`fitted_powerlaw`): in each wavelength bin of the PHOTOM's TIMECOEFF
tables (:func:`bin_wavelengths`, every :data:`BIN_STEP_UM`), ``y1`` and ``alpha`` fitted by
linear least squares to ``ln T`` (``ts`` and t0 held) from a monitoring programme: a
standard star every ``MONITOR_CADENCE_D`` days from one cadence after t0 over
``MONITOR_SPAN_D`` days (the imager's placeholders, :mod:`simulator.throughput`).  Epoch
``j``'s measurement in bin ``i`` is ``T (1 + e_j + n_ij)``: ``e_j`` common to the channel's
bins, of ``MONITOR_ERROR`` rms, from the visits' own generator (:func:`time_tables`; the
imager's 0.3 % per epoch: a visit's pointing, aperture and background errors move a whole
spectrum together; params 5 "Photometric calibration", repeatability 0.1-1.2 %, and L25's
MRS repeatability < 1 %); ``n_ij`` the star's photon noise in the bin, independent, of
:data:`MONITOR_BIN_ERROR` rms.  (Before session 27 every bin drew its own 0.3 % per epoch,
which put steps of a few 1e-4 between neighbouring bins of the correction that no real
programme's bright star makes: docs/mrs.md, 'MRS-PULL-1 on the bright sources taken
apart'.)  A SIMPLIFICATION: ``e_j`` is grey over a channel, whose three bands a real visit
observes in three exposures.  The fit cannot follow the linear term.
"""
import numpy as np
from scipy.interpolate import PchipInterpolator

from miri_testbed.instrument import mrs
from miri_testbed.instrument.optics import T0_MJD

from .references import keyed_generator
from .throughput import MONITOR_CADENCE_D, MONITOR_ERROR, MONITOR_SPAN_D

#: Loss after one year at wavelengths (um, L1): anchors of the module docstring (channels 1-2 PLACEHOLDERS).
LOSS_ONE_YEAR_NODES = ((4.9, 0.01), (11.0, 0.02), (15.0, 0.10), (18.0, 0.15), (25.0, 0.46), (28.6, 0.52))
#: ``alpha = KAPPA ln y1`` (matched to the two- and six-year figures, module docstring).
KAPPA = 0.17
#: Softening time of the power law, days (PLACEHOLDER).
TSOFT_DAYS = 1.0
#: Slow linear loss per year at 25 um, scaled like L1 elsewhere (UNSOURCED PLACEHOLDER).
LINEAR_LOSS_PER_YEAR_25UM = 0.005
#: Spacing of the PHOTOM's TIMECOEFF wavelength bins, um.
BIN_STEP_UM = 0.1
#: Key of the monitoring visits' generator under the references' (:func:`time_tables`): "MON".
VISITS_KEY = 0x4D4F4E
#: The monitoring star's photon noise in one bin at one epoch (S/N 1000 per 0.1 um: PLACEHOLDER, unsourced;
#: a bright standard star's S/N >~ 100 per cube plane over the 15-120 planes of a bin, channel 4 to 1).
MONITOR_BIN_ERROR = 1e-3

_LOSS = PchipInterpolator(*np.array(LOSS_ONE_YEAR_NODES).T, extrapolate=True)


def loss_after_one_year(wavelength_um):
    """``L1(lambda)`` (module docstring)."""
    return np.clip(_LOSS(np.asarray(wavelength_um, float)), 0.0, 1.0)


def powerlaw_coefficients(wavelength_um):
    """True ``(t0, year1value, tsoft, alpha)`` of the power-law part at ``wavelength_um`` (arrays)."""
    y1 = 1.0 - loss_after_one_year(wavelength_um)
    return T0_MJD, y1, TSOFT_DAYS, KAPPA * np.log(y1)


def linear_loss_per_year(wavelength_um):
    """True slow linear loss per year ``l(lambda)`` (UNSOURCED placeholder, scaled like L1)."""
    return LINEAR_LOSS_PER_YEAR_25UM * loss_after_one_year(wavelength_um) / float(loss_after_one_year(25.0))


def powerlaw_part(wavelength_um, mjd):
    """``min(1, y1 ((dt + ts) / (365 + ts))^alpha)`` at ``wavelength_um`` and MJD ``mjd`` (1 before t0)."""
    t0, y1, ts, alpha = powerlaw_coefficients(wavelength_um)
    dt = np.maximum(np.asarray(mjd, float) - t0, 0.0)
    return np.minimum(1.0, y1 * ((dt + ts) / (365.0 + ts)) ** alpha)


def linear_part(wavelength_um, mjd):
    """``1 - l(lambda) dt / 365`` (1 before t0)."""
    dt = np.maximum(np.asarray(mjd, float) - T0_MJD, 0.0)
    return 1.0 - linear_loss_per_year(wavelength_um) * dt / 365.0


def relative_throughput(wavelength_um, mjd):
    """True ``T(lambda, t)`` relative to t0 (module docstring)."""
    return powerlaw_part(wavelength_um, mjd) * linear_part(wavelength_um, mjd)


def bin_wavelengths(channel):
    """The TIMECOEFF bins of ``channel``: every :data:`BIN_STEP_UM` over its bands' ranges, one bin beyond each end."""
    ranges = [r for band, r in mrs.wavelength_ranges().items() if band[0] == str(channel)]
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    return np.arange(np.floor(lo / BIN_STEP_UM) - 1, np.ceil(hi / BIN_STEP_UM) + 1.5) * BIN_STEP_UM


def fitted_powerlaw(wavelength_um, rng, visits_rng):
    """``(t0, year1value, tsoft, alpha)`` per bin as a monitoring programme measures them (module docstring).

    ``rng`` draws each bin's own error at each visit, ``visits_rng`` the visits' common ones.
    """
    t = T0_MJD + np.arange(MONITOR_CADENCE_D, MONITOR_SPAN_D, MONITOR_CADENCE_D)
    lam = np.asarray(wavelength_um, float)
    own = MONITOR_BIN_ERROR * rng.standard_normal((lam.size, t.size))
    common = MONITOR_ERROR * visits_rng.standard_normal(t.size)
    y = relative_throughput(lam[:, None], t[None, :]) * (1 + common[None, :] + own)
    design = np.column_stack([np.ones_like(t), np.log((t - T0_MJD + TSOFT_DAYS) / (365.0 + TSOFT_DAYS))])
    (log_y1, alpha), *_ = np.linalg.lstsq(design, np.log(y).T, rcond=None)
    return T0_MJD, np.exp(log_y1), TSOFT_DAYS, alpha


def time_tables(channels, rng=None, decay=True):
    """The MRS PHOTOM's ``timecoeff_powerlaw_ch<c>`` tables for ``channels``, ``{name: table}``.

    The truth's power law at each bin when ``rng`` is None (a perfect reference; its
    linear term cannot be written in this form and goes into SCI), else
    :func:`fitted_powerlaw`, each bin's errors from ``rng`` (as many draws as every bin's
    0.3 % took before session 27, so what ``rng`` draws after the tables, e.g. the APCORR's
    errors, is as it was) and the visits' common ones from a generator keyed under ``rng``'s
    (:func:`simulator.references.keyed_generator`).  Without ``decay`` a monitoring programme
    finds none: year1value 1, alpha 0.
    """
    visits_rng = None if rng is None or not decay else keyed_generator(rng, VISITS_KEY)
    tables = {}
    for channel in channels:
        lam = bin_wavelengths(channel)
        if not decay:
            t0, y1, ts, alpha = T0_MJD, np.ones(lam.size), TSOFT_DAYS, np.zeros(lam.size)
        else:
            t0, y1, ts, alpha = powerlaw_coefficients(lam) if rng is None else fitted_powerlaw(lam, rng, visits_rng)
        table = np.zeros(lam.size, dtype=[("binwave", "f4"), ("alpha", "f4"), ("year1value", "f4"), ("tsoft", "f4"),
                                          ("t0", "f4")])
        table["binwave"], table["alpha"], table["year1value"], table["tsoft"], table["t0"] = lam, alpha, y1, ts, t0
        tables[f"timecoeff_powerlaw_ch{channel}"] = table
    return tables
