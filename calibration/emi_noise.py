"""The variance that EMI left in the ramps adds to a fitted slope, for the rate's errors.

Where the EMI step does not remove a line (2-group ramps, which the fits decline; the
``none`` variant; a line the fit did not detect or a fold template with nothing
significant, :class:`calibration.emi.LeftIn`; a line skipped because the frame is a whole
number of its periods), the line stays in every group and moves each pixel's slope.  Its
phase at the exposure's start is unknown (the interference is not synchronised with the
readout), so it is noise, and its variance joins VAR_RNOISE and ERR.

Model.  Pixel p of group n is read at tau_pn = T_n + o_p (pixel clocks,
:class:`calibration.emi.EmiCase`: T_n the frame start of group n, running on through the
integrations and their reset frames, o_p the pixel's clock offset in the frame).  A line
of frequency f whose waveform has harmonics of amplitude A_h adds

    e_pn = sum_h A_h cos(h w tau_pn + phi_h),   w = 2 pi f

to group n.  Every ramp fit here is linear, slope = sum_n c_n y_n (:mod:`calibration.ramp_fit`),
so the slope moves by sum_n c_n e_pn; with the phase uniform over [0, 2 pi) its variance is

    Var = sum_h (A_h^2 / 2) |S_h|^2,   S_h = sum_n c_n exp(i h w T_n)

(the cross terms of two harmonics average to zero, so harmonics add in quadrature).  The
pixel's offset o_p only turns S_h by exp(i h w o_p), so Var is the same for every pixel
that has the same weights.  Two special cases:

* 2 groups: c = (-1, 1) / t_g, so |S_h|^2 = 4 sin^2(h w F / 2) / t_g^2 (F the frame time).
* A frame that is a whole number of periods (w F = 2 pi m): exp(i h w T_n) is the same for
  every n, and S_h = exp(i h w T_0) sum_n c_n = 0, since slope weights sum to 0: a per-pixel
  constant adds nothing, the reason the EMI step skips such a line.

Weights c_n are the ramp fit's own: every fit of :mod:`calibration.ramp_fit` applies the
weights it gives a pixel (segments cut by jumps or saturation, integrations combined
with their inverse-variance weights) to the phasors exp(i h w T_n) and returns the
variance (``interference``).  The phase runs on through the integrations, so their EMI
is coherent and S_h sums over every read of the exposure.  stcal's fits do not report
their weights: for them every pixel takes the weights of an uninterrupted ramp on the
groups most pixels use (:func:`uninterrupted_variance`, an APPROXIMATION that misses
ramps cut short).  Only the strongest harmonics of a stored waveform are followed, until
they hold 99.9 % of its power (at most 16 per line).

Amplitudes: the stored waveform of the line in the EMICORR reference (``phase_amplitudes``,
one period in DN: the JWST ``EmiModel`` convention, ``jwst/emicorr/emicorr.py``, whose
sequential fit with ``scale_reference=False`` subtracts it as stored; params 2, "Waveform
shape").  A_h^2 / 2 is the mean square of its harmonic h (its discrete Fourier series).
The flight waveforms are in CRDS, which was not accessible: the testbed's references carry
the simulated instrument's mean power per harmonic (simulator, ``measured``) or the params 2
guess, ~4 DN rms at 390 Hz and a 1 DN rms placeholder at 10 Hz (nominal, ``uncertain``).
A line without a stored waveform has no known amplitude; the products then say that its
variance is not in ERR.

What it does not include: the residual of a correction that ran (its statistical floor is
in :mod:`validation.emi_score`); a frequency drift (Var is taken at the reference
frequency); the averaging of SLOW reads over 8 samples (at 390 Hz an amplitude loss of
0.2 %).  The EMI of neighbouring pixels is correlated (one phase per exposure; the 4
columns read at the same clock see the same value), which a per-pixel variance cannot say.
"""
import numpy as np

from miri_testbed.instrument import dq
from miri_testbed.instrument.detector import PIXEL_CLOCK_S

from . import emi
from .ramp_fit import template_weights
from .steps import SKIPPED

POWER_KEPT = 0.999  # fraction of a line's power in the harmonics followed (line_phasors)
MAX_HARMONICS = 16  # harmonics followed per line, at most


def harmonic_powers(waveform):
    """Mean square A_h^2 / 2 (DN^2) of each harmonic h = 1, 2, ... of a waveform.

    Parameters
    ----------
    waveform : (n,) array_like
        One period, sampled at n equally spaced phases, DN.

    Returns
    -------
    (n // 2,) float
        The power of harmonics 1 .. n // 2 (the constant is left out: it adds nothing to a slope).
    """
    w = np.asarray(waveform, np.float64)
    z = np.fft.rfft(w)[1:] / w.size
    powers = 2 * np.abs(z) ** 2
    if w.size % 2 == 0:  # the Nyquist term is a real alternating sequence: mean square |z|^2
        powers[-1] /= 2
    return powers


def line_phasors(line, clocks):
    """A line's harmonics at the reads: ``exp(2 pi i h f T)`` and their powers.

    The strongest harmonics are kept until they hold :data:`POWER_KEPT` of the line's power
    (at most :data:`MAX_HARMONICS`): a stored waveform's 250 harmonics are mostly its noise.

    Parameters
    ----------
    line : calibration.emi.EmiLine
        With its stored waveform (DN).
    clocks : array_like
        Read times T in pixel clocks (:meth:`calibration.emi.EmiCase.group_clocks`).

    Returns
    -------
    phasors : clocks.shape + (J,) complex
    powers : (J,) float
        P_h = A_h^2 / 2, DN^2.
    """
    all_powers = harmonic_powers(line.waveform)
    order = np.argsort(all_powers)[::-1]
    held = np.cumsum(all_powers[order])
    n = min(int(np.searchsorted(held, POWER_KEPT * held[-1])) + 1, MAX_HARMONICS) if held[-1] > 0 else 0
    h = order[:n] + 1
    cycles = np.asarray(clocks, np.float64) * (line.frequency_hz * PIXEL_CLOCK_S)
    turns = np.mod(cycles[..., None] * h, 1.0)  # exactly 0 for whole periods
    return np.exp(2j * np.pi * turns), all_powers[order[:n]]


def slope_variance(phasors, powers, weights):
    """Variance of linear slope estimates from a line of unknown phase (module docstring).

    ``Var = sum_h P_h |sum_n c_n z_nh|^2``, ``z_nh = exp(i h w T_n)``.

    Parameters
    ----------
    phasors : (N, H) complex
        Harmonics at the reads (:func:`line_phasors`).
    powers : (H,) float
        Their mean squares P_h, DN^2.
    weights : (..., N) float
        Slope weights c_n of the reads (1/s for a slope in DN/s).

    Returns
    -------
    (...,) float
        The variance, DN^2/s^2 for weights in 1/s.
    """
    return np.abs(np.asarray(weights, np.float64) @ phasors) ** 2 @ np.asarray(powers, np.float64)


def left_in(record, notes, case):
    """The lines the EMI step left in the ramps, with why: ``[(EmiLine, reason)]``.

    Parameters
    ----------
    record : calibration.steps.StepRecord
        The EMI step's record.
    notes : list of str
        Its variant's notes (a :class:`calibration.emi.LeftIn` names a line it did not correct).
    case : EmiCase or None
        The EMICORR reference's case for the exposure.
    """
    if case is None:
        return []
    whole = [(emi.reference_line(case.model, name), f"{name} skipped: {why}") for name, why in case.skipped]
    if record.status == SKIPPED:  # the step's own note gives the reason; each line's points to it
        skipped = f"{record.step}={record.variant}: {record.status}, as noted above"
        return [(line, skipped) for line in case.lines] + whole
    said = {note.line: str(note) for note in notes if isinstance(note, emi.LeftIn)}
    return [(line, said[line.name]) for line in case.lines if line.name in said] + whole


def interference(lines, case, nints, ngroups):
    """The ``lines`` left in as the ramp fit's ``interference`` (:func:`calibration.ramp_fit.fit_ramps`).

    Returns
    -------
    phasors : (nints, ngroups, J) complex
        Every kept harmonic of every line at each group's read time.
    powers : (J,) float
        Their powers, DN^2.
    """
    clocks = case.group_clocks(nints, ngroups).reshape(nints, ngroups)
    parts = [line_phasors(line, clocks) for line in lines]
    return (np.concatenate([z for z, _ in parts], axis=-1) if parts else np.zeros((nints, ngroups, 0), complex),
            np.concatenate([p for _, p in parts]) if parts else np.zeros(0))


def uninterrupted_variance(interference, groupdq, rate, read_noise, gain, group_time, method):
    """The variance of an ``interference`` with the weights of uninterrupted ramps.

    For a fit that does not evaluate it (stcal's).  APPROXIMATION (module docstring): every
    pixel is given the weights of :func:`calibration.ramp_fit.template_weights` on the groups
    most pixels use, at its rate, and integrations equal weights.

    Parameters
    ----------
    interference : (phasors, powers)
        From :func:`interference`.
    groupdq : (nints, ngroups, ny, nx) uint8
        Group DQ after the detector steps.
    rate, read_noise, gain : (ny, nx) float
        Each pixel's rate (DN/s, dark included), read noise of one read (DN), gain (e-/DN).
    group_time : float
        Seconds between groups.
    method : str
        The fit's weighting (``ols``, ``optimal``, ``likelihood``).

    Returns
    -------
    var_rate : (ny, nx) float
        DN^2/s^2.
    var_int : (nints, ny, nx) float
        Each integration's.
    """
    phasors, powers = interference
    nints, ngroups, ny, nx = groupdq.shape
    usable = [sum(np.count_nonzero((groupdq[i, k] & dq.UNUSABLE_GROUP) == 0) for i in range(nints))
              for k in range(ngroups)]  # a plane at a time: no ramp-sized temporary
    used = np.array(usable) > 0.5 * nints * ny * nx
    if used.sum() < 2:
        return np.zeros((ny, nx)), np.zeros((nints, ny, nx))
    times = group_time * (np.flatnonzero(used) + 1.0)
    table, which = template_weights(method, times, np.nan_to_num(rate).ravel(), read_noise.ravel(), gain.ravel())
    one = np.zeros((table.shape[0], ngroups))
    one[:, used] = table
    var_rate = slope_variance(phasors.reshape(nints * ngroups, -1), powers, np.tile(one, nints) / nints)
    var_int = slope_variance(phasors[0], powers, one)  # the same in every integration: its phase only turns
    return var_rate[which].reshape(ny, nx), np.broadcast_to(var_int[which].reshape(ny, nx), (nints, ny, nx))
