"""EMI (electromagnetic interference) facts of the MIRI readout (params section 2).

* Frequencies: 390.625 Hz, whose period is exactly 256 pixel clocks (2.56 ms), and the
  "10 Hz" heater line, 10.039216 Hz (period ~9961 clocks) (params 2, rows "Dominant
  frequency" and "Second frequency"; names ``Hz390`` / ``Hz10`` as in the JWST EMICORR
  reference file).
* Which configurations are struck (params 2, "Which configurations get which
  frequencies", from ``default_subarray_cases`` of ``jwst/emicorr/emicorr.py``):
  390 Hz and 10 Hz in SLITLESSPRISM, MASKLYOT, MASK1065/1140/1550, SUB64, SUB128;
  10 Hz only in FULL (FAST and SLOW), BRIGHTSKY and SUB256.
* A frame that lasts a whole number of periods (``frame_clocks % period == 0``) sees
  the wave at the same phase in every group: the EMI is then a constant per pixel,
  which a slope does not see.  DERIVED (params 2): the 390 Hz-free set above is exactly
  the set of frames that are a whole number of 256-clock periods.

Amplitudes are not documented (UNSOURCED, params 2 "Amplitude"): :data:`RMS_DN` holds the
guesses the nominal EMICORR reference and the simulator's defaults take, uncertain.
"""
from fractions import Fraction

import numpy as np

from . import readout
from .detector import PIXEL_CLOCK_S

#: EMI lines, Hz, by their JWST EMICORR names.
FREQUENCIES = {"Hz390": 390.625, "Hz10": 10.039216}

#: Guessed rms of each line, DN, uncertain: 390 Hz: params 2 "Amplitude", "sqrt(1.2^2 - 1) x 6 DN ~ 4 DN"
#: (DERIVED from the documented ~20 % extra read noise); 10 Hz: UNSOURCED placeholder ("minor in full array",
#: params, LRS row).
RMS_DN = {"Hz390": 4.0, "Hz10": 1.0}

#: Subarrays struck by each line (params 2).
STRUCK = {
    "Hz390": ("SLITLESSPRISM", "MASKLYOT", "MASK1065", "MASK1140", "MASK1550", "SUB64", "SUB128"),
    "Hz10": ("FULL", "BRIGHTSKY", "SUB256", "SLITLESSPRISM", "MASKLYOT", "MASK1065", "MASK1140", "MASK1550",
             "SUB64", "SUB128"),
}


def period_clocks(frequency_hz):
    """Period of an EMI line in pixel clocks, ``1 / (f * 10 us)``.

    Parameters
    ----------
    frequency_hz : float
        Frequency of the line, Hz.

    Returns
    -------
    float
        Period in pixel clocks of 10 us (256 exactly for 390.625 Hz).
    """
    return 1.0 / (frequency_hz * PIXEL_CLOCK_S)


def frequencies_for(subarray_name, readpatt):
    """Names of the EMI lines that strike a subarray in a readout pattern (params 2).

    Parameters
    ----------
    subarray_name : str
        Subarray, e.g. ``"SUB64"`` (case-insensitive).
    readpatt : str
        Readout pattern, ``"FASTR1"`` or ``"SLOWR1"``.

    Returns
    -------
    tuple of str
        Keys of :data:`FREQUENCIES` (``"Hz390"``, ``"Hz10"``) in :data:`STRUCK` order.

    Raises
    ------
    ValueError
        For an unknown subarray or pattern, or a pair the instrument does not define.
    """
    readout.rowclocks(subarray_name, readpatt)  # validates the pair
    sub = readout.subarray(subarray_name).name
    return tuple(name for name, subs in STRUCK.items() if sub in subs)


def whole_periods(frame_clocks, frequency_hz):
    """Whether a frame of ``frame_clocks`` lasts a whole number of periods of a line.

    Exact rational arithmetic on the clock counts: 390.625 Hz is 256 clocks, so FULL
    FASTR1 (277 504 = 1084 x 256), BRIGHTSKY and SUB256 are whole; SUB64 (33.25
    periods) is not.  A line whose period is not a rational number of clocks with a
    small denominator (10.039216 Hz) is never whole.

    Parameters
    ----------
    frame_clocks : int
        Length of a frame in pixel clocks (:func:`instrument.readout.frame_clocks`).
    frequency_hz : float
        Frequency of the line, Hz.

    Returns
    -------
    bool
        True when ``frame_clocks`` is an integer multiple of the period.
    """
    period = Fraction(1) / (Fraction(str(frequency_hz)) * Fraction(str(PIXEL_CLOCK_S)))
    return (Fraction(int(frame_clocks)) / period).denominator == 1


def in_phase(subarray_name, readpatt, frequency_hz):
    """Whether the frames of a subarray/readout are a whole number of periods of a line.

    Such a line is at the same phase in every group: a constant per pixel, which a
    slope does not see (module docstring, DERIVED from params 2).

    Parameters
    ----------
    subarray_name : str
        Subarray, e.g. ``"SUB256"``.
    readpatt : str
        Readout pattern, ``"FASTR1"`` or ``"SLOWR1"``.
    frequency_hz : float
        Frequency of the line, Hz.

    Returns
    -------
    bool
    """
    return whole_periods(readout.frame_clocks(subarray_name, readpatt), frequency_hz)


def subarray_cases():
    """Build the ``subarray_cases`` tree of a JWST EMICORR reference from the facts above.

    One case per subarray (``FULL_FAST`` / ``FULL_SLOW`` for the full frame, as
    ``jwst.emicorr.get_subarcase`` looks them up): its row and frame clocks (params 1a)
    and the lines to correct, ``{"FAST": [...]}`` or ``{"SLOW": {detector: [...]}}``.

    Returns
    -------
    dict
        ``{case: {"rowclocks": int, "frameclocks": int, "freqs": {...}}}``, clocks in
        pixel clocks of 10 us.
    """
    from .detector import DETECTORS

    cases = {}
    for name in readout.SUBARRAYS:
        for patt in readout.READOUT_PATTERNS:
            try:
                rowclocks = readout.rowclocks(name, patt)
            except ValueError:  # SLOWR1 is documented for FULL only
                continue
            speed = "SLOW" if patt.startswith("SLOW") else "FAST"
            lines = list(frequencies_for(name, patt))
            key = f"{name}_{speed}" if name == "FULL" else name
            freqs = {"FAST": lines} if speed == "FAST" else {"SLOW": {d: lines for d in DETECTORS}}
            cases[key] = {"rowclocks": rowclocks, "frameclocks": readout.frame_clocks(name, patt), "freqs": freqs}
    return cases


#: Phase bins of a stored EMICORR waveform (500 for 10 Hz FAST in the JWST files, params 2).
WAVEFORM_BINS = 500


def sine_series(amplitudes, phases=None, n=WAVEFORM_BINS):
    """One period of ``sum_h a_h sin(2 pi h phi + psi_h)`` at the phases of a stored waveform, ``(n,)`` DN.

    Parameters
    ----------
    amplitudes : sequence of float
        ``a_h`` of harmonics 1, 2, ..., DN.
    phases : sequence of float, optional
        ``psi_h``, rad (default 0).
    n : int
        Phase bins, sampled at ``(j + 0.5) / n`` (:func:`emicorr_tree`).
    """
    phase = (np.arange(n) + 0.5) / n
    phases = np.zeros(len(amplitudes)) if phases is None else phases
    return sum(a * np.sin(2 * np.pi * h * phase + psi)
               for h, (a, psi) in enumerate(zip(amplitudes, phases, strict=True), start=1)) + np.zeros(n)


def emicorr_tree(phase_amplitudes):
    """Build the ``frequencies`` and ``subarray_cases`` of a JWST EMICORR (``EmiModel``) reference.

    Parameters
    ----------
    phase_amplitudes : dict of str to array_like
        Maps a line name of :data:`FREQUENCIES` to its waveform over one period, DN
        (the values are the interference itself, as jwst's sequential correction subtracts
        them with ``scale_reference=False``), sampled at phases ``(j + 0.5) / n`` (the
        convention of ``jwst.emicorr.emicorr_refwave``).

    Returns
    -------
    dict
        ``{"frequencies": {name: {"frequency": Hz, "phase_amplitudes": float32 array}},
        "subarray_cases": subarray_cases()}``.
    """
    frequencies = {name: {"frequency": FREQUENCIES[name], "phase_amplitudes": np.asarray(wave, np.float32)}
                   for name, wave in phase_amplitudes.items()}
    return {"frequencies": frequencies, "subarray_cases": subarray_cases()}
