"""Flux density in the band -> detected electrons per second, and its loss with time.

Nominal throughput: that of ``instrument.imager`` (``N_e = F_nu A eta (d_lambda /
lambda) / h``, A = 25.4 m^2 RECALLED, eta an UNSOURCED placeholder).

Time-dependent loss (params 4 "Time-dependent throughput", defaults 25-26; the
documented facts t0, tau and the loss after one year L are in :mod:`instrument.optics`):
the relative throughput at MJD t is

    T(t) = [A exp(-(t - t0) / tau) + C] [1 - l (t - t0) / 365],   A + C = 1,   tau = 200 d (G25, IFC),

with t0 = MJD 59720 (APPROXIMATE: the IFC code's start day before per-filter fits) and
no loss before t0.  The slow linear term ``l`` (the pipeline's optional
``timecoeff_linear`` form, params 4) is ``LINEAR_LOSS_PER_YEAR_F2550W`` at F2550W, scaled
like L below: an UNSOURCED placeholder that makes the truth richer than the exponential
a monitoring fit assumes (DESIGN: no inverse crime).  The amplitude follows from the fractional loss after one year,
``L = 1 - T(t0 + 365)``, here with the linear term included (:func:`decay_coefficients`;
without it this is the documented ``A = L / (1 - exp(-365 / tau))`` of the nominal PHOTOM).  L is 0.21 at F2550W (STScI
news 2023-09-29, G25) and falls LINEARLY in wavelength to 0 at F560W: an INTERPOLATION,
not sourced (the per-filter A and C are in CRDS PHOTOM, an open item of the params file).

The PHOTOM reference carries this in its ``timecoeff_exponential`` (and, when perfect,
``timecoeff_linear``) tables (JWST convention: the conversion factor is divided by the
product of the corrections).  A ``measured`` reference fits only A and C of the
exponential (tau held at 200 d, as IFC does) to a simulated monitoring programme:
a standard star every ``MONITOR_CADENCE_D`` days over ``MONITOR_SPAN_D``
days, each measurement with a relative error of ``MONITOR_ERROR`` (placeholders).
"""
import numpy as np

from miri_testbed.instrument import imager
from miri_testbed.instrument.optics import LOSS_ONE_YEAR_F2550W, T0_MJD, TAU_DAYS, loss_after_one_year

#: Slow linear loss per year at F2550W after t0 (UNSOURCED placeholder, see above).
LINEAR_LOSS_PER_YEAR_F2550W = 0.003
#: Simulated monitoring programme behind a measured PHOTOM time table (placeholders).
MONITOR_CADENCE_D = 30.0
MONITOR_SPAN_D = 1500.0
MONITOR_ERROR = 0.003


def electrons_per_second_per_mjy(filter_name):
    """Detected e-/s for a 1 mJy source in ``filter_name`` before any loss (at t0)."""
    return imager.nominal_electrons_per_second_per_mjy(filter_name)


def surface_brightness_to_mjy_per_pixel(mjy_sr):
    """MJy/sr -> mJy falling on one nominal imager pixel."""
    return imager.mjy_per_pixel(mjy_sr)


def decay_coefficients(filter_name):
    """True ``(t0, amplitude, tau, const)`` of the exponential part of the decay (the
    loss after one year, with the linear term, is :func:`loss_after_one_year`).
    """
    lin = linear_loss_per_year(filter_name)
    # [A e^(-365/tau) + 1 - A] (1 - lin) = 1 - L  =>  A = (1 - (1 - L) / (1 - lin)) / (1 - e^(-365/tau))
    amplitude = (1.0 - (1.0 - loss_after_one_year(filter_name)) / (1.0 - lin)) / (1.0 - np.exp(-365.0 / TAU_DAYS))
    return T0_MJD, amplitude, TAU_DAYS, 1.0 - amplitude


def linear_loss_per_year(filter_name):
    """True slow linear loss per year (UNSOURCED placeholder, scaled like the decay)."""
    return LINEAR_LOSS_PER_YEAR_F2550W * loss_after_one_year(filter_name) / LOSS_ONE_YEAR_F2550W


def relative_throughput(filter_name, mjd):
    """True throughput at MJD ``mjd`` relative to t0 (1 before t0)."""
    t0, amplitude, tau, const = decay_coefficients(filter_name)
    dt = np.maximum(np.asarray(mjd, float) - t0, 0.0)
    return (amplitude * np.exp(-dt / tau) + const) * (1.0 - linear_loss_per_year(filter_name) * dt / 365.0)


def electrons_per_second_per_mjy_at(filter_name, mjd):
    """Detected e-/s for a 1 mJy source at MJD ``mjd`` (nominal x relative throughput)."""
    return electrons_per_second_per_mjy(filter_name) * float(relative_throughput(filter_name, mjd))


def fitted_decay(filter_name, rng):
    """``(t0, amplitude, tau, const)`` as a monitoring programme measures them: A and C
    fitted by linear least squares (tau held at 200 d) to noisy relative throughputs.
    """
    t = T0_MJD + np.arange(0.0, MONITOR_SPAN_D, MONITOR_CADENCE_D)
    y = relative_throughput(filter_name, t) * (1 + MONITOR_ERROR * rng.standard_normal(t.size))
    design = np.column_stack([np.exp(-(t - T0_MJD) / TAU_DAYS), np.ones_like(t)])
    (amplitude, const), *_ = np.linalg.lstsq(design, y, rcond=None)
    return T0_MJD, float(amplitude), TAU_DAYS, float(const)


def time_tables(subarrays, rng=None, decay=True):
    """The PHOTOM time-dependence tables for every filter and subarray, ``{name: table}``:
    the truth (``timecoeff_exponential`` and ``timecoeff_linear``) when ``rng`` is None (a
    perfect reference), else :func:`fitted_decay` per filter (exponential only).  Without
    ``decay`` (the simulated instrument does not decay) a monitoring programme finds none:
    amplitude 0, const 1.
    """
    exponential, linear = [], []
    for name in imager.FILTERS:
        if not decay:
            exponential.extend((name, s, T0_MJD, 0.0, TAU_DAYS, 1.0) for s in subarrays)
            continue
        t0, amplitude, tau, const = decay_coefficients(name) if rng is None else fitted_decay(name, rng)
        exponential.extend((name, s, t0, amplitude, tau, const) for s in subarrays)
        linear.extend((name, s, T0_MJD, linear_loss_per_year(name)) for s in subarrays)
    tables = {"timecoeff_exponential": np.array(exponential, dtype=[
        ("filter", "S12"), ("subarray", "S17"), ("t0", "f4"), ("amplitude", "f4"), ("tau", "f4"), ("const", "f4")])}
    if decay and rng is None:
        tables["timecoeff_linear"] = np.array(linear, dtype=[("filter", "S12"), ("subarray", "S17"), ("t0", "f4"),
                                                             ("lossperyear", "f4")])
    return tables
