"""EMI: an interference waveform added at the exact time each pixel is read.

Model (params 2): for each EMI line struck in the exposure's subarray and readout
(:func:`instrument.emi.frequencies_for`), a periodic signal in DN

    E(t) = sum_{h=1..H} A_h sin(2 pi h f (1 + delta) t + phi_h),

with f the nominal frequency (390.625 Hz, 10.039216 Hz), delta a small relative
frequency offset of this exposure (drift), H harmonics of amplitudes A_h and phases
phi_h.  It is evaluated at ``t = frame_start[i, k] + offset[y, x]``, the read time of
pixel (y, x) in group k of integration i (:mod:`readclock`: 10 us clock, 4 outputs,
row and frame clocks, one reset frame between integrations), and added to the signal
before read noise and digitisation, on every pixel the outputs read (reference and
dead pixels too: the pickup is in the readout chain).

Amplitudes are UNSOURCED placeholders: the 390 Hz rms of 4 DN is the params guess
("sqrt(1.2^2 - 1) x 6 DN ~ 4 DN", DERIVED from the documented ~20 % extra read noise);
the 10 Hz line is "minor in full array" (params, "Facts from Law25talk", LRS row), so 1 DN
rms.

The shape is the instrument's: the pickup comes from fixed electronics, which is why the
pipeline stores one measured waveform per line in its EMICORR reference (params 2,
"Waveform shape") and fits only its amplitude and phase (jwst's joint algorithm).  The
CRDS waveforms were not accessible, so the instrument's shape here is an UNSOURCED
placeholder richer than a sine: harmonic h of relative amplitude ``0.8^(h-1) / h`` and
phase ``psi_h = 2.4 (h - 1)`` rad (:func:`instrument_waveform`), scaled to the line's rms.
Each exposure, from its own random stream (``emi``, so switching EMI on or off leaves every
other random number of the exposure unchanged), takes it at a random time origin
(``phi_h = psi_h + h phi_0``, ``phi_0 ~ U(0, 2 pi)``), departs from it by
``emi_shape_jitter`` (each harmonic's amplitude times ``1 + j n_h`` and phase plus
``j m_h``, ``n, m ~ N(0, 1)``; j = 0.05 by default, UNSOURCED), and runs at a frequency off
by ``delta ~ U(-d, d)``.  So the reference's waveform is right on average and never exactly
this exposure's (no inverse crime).

Not modelled: a frequency that wanders within the exposure, amplitude changes within it,
lines other than the two documented ones.
"""
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from miri_testbed.instrument import emi as facts

from . import readclock


@dataclass(frozen=True)
class EmiLine:
    """One EMI line in one exposure: ``E(t) = sum_h A_h sin(2 pi h f (1 + drift) t + phi_h)``."""

    name: str
    frequency_hz: float  # nominal (reference) frequency
    drift: float  # relative frequency offset of this exposure
    amplitudes: tuple  # DN, harmonics 1..H
    phases: tuple  # rad

    @property
    def true_frequency(self):
        return self.frequency_hz * (1.0 + self.drift)

    @property
    def rms(self):
        return float(np.sqrt(np.sum(np.square(self.amplitudes)) / 2))

    def __call__(self, t):
        """The waveform in DN at times ``t`` (s)."""
        t = np.asarray(t, np.float64)
        w = 2 * np.pi * self.true_frequency
        out = np.zeros(t.shape)
        for h, (a, phi) in enumerate(zip(self.amplitudes, self.phases), start=1):
            out += a * np.sin(h * w * t + phi)
        return out


def rms_of(name, effects):
    """The configured rms amplitude (DN) of a line (placeholders, see module docstring)."""
    return {"Hz390": effects.emi_rms_390_dn, "Hz10": effects.emi_rms_10_dn}[name]


def instrument_waveform(name, effects):
    """``(amplitudes DN, phases rad)`` of harmonics 1..H of the instrument's line ``name`` (module docstring).

    The placeholder shape ``0.8^(h-1) / h``, ``psi_h = 2.4 (h - 1)``, scaled so the line's rms is
    the configured one (zero when ``effects.emi`` is off).
    """
    h = np.arange(1, max(effects.emi_harmonics, 0) + 1)
    rel = 0.8 ** (h - 1) / h
    rms = rms_of(name, effects) if effects.emi else 0.0
    return rel * rms / np.sqrt(np.sum(rel**2) / 2), (2.4 * (h - 1)) % (2 * np.pi)  # H = 0: empty arrays


def mean_power(name, effects):
    """Mean square ``A_h^2 / 2`` of each harmonic of line ``name`` over the exposures' draws, DN^2.

    What a calibration programme that stacks many exposures measures: the instrument's
    amplitudes with the jitter's spread, ``A_h^2 (1 + j^2) / 2`` (module docstring).  Zero when
    ``effects.emi`` is off.

    Returns
    -------
    (emi_harmonics,) float
    """
    amplitudes, _ = instrument_waveform(name, effects)
    return amplitudes**2 * (1 + effects.emi_shape_jitter**2) / 2


def draw(readout, effects, rng):
    """The EMI lines of an exposure (empty when ``effects.emi`` is off): the instrument's waveform at a
    random time origin, with its jitter and drift (module docstring).
    """
    if not effects.emi or effects.emi_harmonics < 1:
        return []
    lines = []
    for name in facts.frequencies_for(readout.subarray, readout.readpatt):
        amplitudes, psi = instrument_waveform(name, effects)
        h = np.arange(1, amplitudes.size + 1)
        origin = rng.uniform(0, 2 * np.pi)
        jitter = effects.emi_shape_jitter * rng.standard_normal((2, h.size))
        amps = amplitudes * np.abs(1 + jitter[0])
        phases = (psi + h * origin + jitter[1]) % (2 * np.pi)
        drift = rng.uniform(-effects.emi_drift, effects.emi_drift) if effects.emi_drift > 0 else 0.0
        lines.append(EmiLine(name, facts.FREQUENCIES[name], float(drift), tuple(map(float, amps)),
                             tuple(map(float, phases))))
    return lines


def waveform(lines, readout, integration=None):
    """Sum of the lines at every read, ``(nints, ngroups, ny, nx)`` (or one integration's
    ``(ngroups, ny, nx)``), from the read clock of :mod:`readclock`.
    """
    starts = readclock.frame_starts(readout)
    return waveform_at(lines, starts if integration is None else starts[integration],
                       readclock.pixel_offsets(readout))


def waveform_at(lines, starts, offsets):
    """Sum of ``lines`` at every ``starts[...] + offsets[y, x]`` (s): shape
    ``starts.shape + offsets.shape``.
    """
    out = np.zeros(starts.shape + offsets.shape)
    for line in lines:
        for index in np.ndindex(starts.shape):
            out[index] += line(starts[index] + offsets)
    return out


def table(lines):
    """The lines as a truth table: one row per line and harmonic."""
    rows = [(ln.name, ln.frequency_hz, ln.drift, h, a, p)
            for ln in lines for h, (a, p) in enumerate(zip(ln.amplitudes, ln.phases), start=1)]
    names = ("line", "frequency_hz", "drift", "harmonic", "amplitude_dn", "phase_rad")
    if not rows:
        return Table(names=names, dtype=("U8", float, float, int, float, float))
    return Table(rows=rows, names=names)


def from_table(tab):
    """The lines back from :func:`table`."""
    lines = []
    for name in dict.fromkeys(str(n) for n in tab["line"]):
        rows = tab[np.array([str(n) == name for n in tab["line"]])]
        rows = rows[np.argsort(rows["harmonic"])]
        lines.append(EmiLine(name, float(rows["frequency_hz"][0]), float(rows["drift"][0]),
                             tuple(map(float, rows["amplitude_dn"])), tuple(map(float, rows["phase_rad"]))))
    return lines
