"""The detector's reference files, in JWST reference formats (``stdatamodels``).

``measured`` (default) files are what a calibration programme on this detector would
deliver, noise included; ``perfect`` files are the truth.  The measurement noise is
drawn from the exact distribution of the estimate rather than by simulating every
calibration exposure (same statistics, a fraction of the cost):

* DARK: the average of N dark integrations, each referred to its first group,
  ``D_k = (1/N) sum_n [(Q_nk - Q_n0)/g + r_nk - r_n0]``; the sum of N Poisson
  increments is Poisson(N d t), the mean of N reads is N(0, sigma_r^2/N).
* READNOISE: the CDS noise (JWST convention: the noise of a difference of two reads,
  which ``stcal`` divides by sqrt(2) for one read), as the sample rms of M CDS pairs,
  ``sqrt(2 (sigma_r^2 + 1/12)) sqrt(chi2_M / M)``: the reads are whole DN, and the rounding's
  variance (1/12 DN^2, uniform) is noise a CDS pair sees like the rest (negligible beside a real
  read noise; without read noise it is all there is, and a READNOISE of 0 makes every
  difference a jump).
* GAIN: photon-transfer estimate, ``g (1 + e)``, ``e ~ N(0, gain_error)``.
* SATURATION and LINEARITY: measured from flat-field ramps taken to saturation on
  this detector (:mod:`simulator.flat_ramps`); ``perfect``: the true plateau less the
  same margin, and a polynomial fitted to the inverse of the true response.
* DARK also carries the reset-anomaly and last-frame offsets, as darks taken with the
  same readout do.
* MASK: dead, hot and reference pixels (hot and dead pixels are extreme, so a real
  programme finds all of them; warm pixels are not modelled yet).
* EMICORR (``EmiModel``, ASDF like the CRDS files): the lines, clocks and subarray
  cases of :mod:`instrument.emi`; the waveform of each line (DN, the JWST convention) is,
  when ``measured``, the instrument's shape (:func:`simulator.emi.instrument_waveform`'s
  phases) with the mean power of each harmonic over the exposures' draws
  (:func:`simulator.emi.mean_power`: what a calibration programme that stacks many
  exposures, aligned in phase, measures; each exposure departs from it by its jitter; all
  zero when EMI is off), and this exposure's true waveform (harmonics and phases, at the
  nominal frequency) when ``perfect``.

The mode's own references (the imager's PHOTOM, APCORR, CRUCIFORM, DISTPOLY, REFCAT)
are in :mod:`simulator.imager_references`.
"""
import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import dq, emi
from miri_testbed.instrument.files import save_model
from miri_testbed.instrument.refmeta import Provenance, Selection, describe_model

from . import emi as sim_emi
from . import flat_ramps, nonlinearity, reset
from .config import DetectorEffects

PROVENANCE = Provenance(author="miri-testbed simulator", pedigree="SIMULATION")
#: The variance of rounding a read to whole DN (uniform over one DN), DN^2.
QUANTIZATION_VARIANCE_DN2 = 1.0 / 12.0


def _describe(model, reftype, selection, options, description):
    return describe_model(model, reftype, selection, PROVENANCE, f"{description} ({options.kind})")


def keyed_generator(rng, *key):
    """A generator of its own, the child of ``rng``'s seed under ``key``: nothing is drawn from ``rng``, nor is its
    spawn counter moved, so what ``rng`` draws and spawns afterwards is as without it (``key``'s first element
    large, e.g. ASCII, to keep clear of ``spawn``'s small counters).
    """
    seq = rng.bit_generator.seed_seq
    return np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, *key)))


def smooth_relative_error(wavelength_um, wavelength_range, sigma, rng):
    """A measured flux calibration's relative error at ``wavelength_um``: a grey term and a
    Legendre cubic over ``wavelength_range``, each of ``sigma`` rms (the scatter of a standard
    star's model spectrum and its extraction; the LRS's and the MRS's PHOTOM).
    """
    return smooth_error(wavelength_range, sigma, rng)(wavelength_um)


def smooth_error(wavelength_range, sigma, rng):
    """:func:`smooth_relative_error` as a function of wavelength (um): the same draws (the cubic's three
    coefficients, then the grey term), so either draws the same error from the same generator.
    """
    lo, hi = wavelength_range
    coeffs = np.concatenate([[0.0], rng.standard_normal(3)])
    grey = rng.standard_normal()
    grid = np.linspace(-1, 1, 201)
    norm = np.sqrt(np.mean(np.polynomial.legendre.legval(grid, coeffs)**2))

    def error(wavelength_um):
        t = 2 * (np.asarray(wavelength_um) - lo) / (hi - lo) - 1
        return sigma * (grey + np.polynomial.legendre.legval(t, coeffs) / norm)

    return error


def _measured_dark(truth, readout, options, offsets, rng):
    """The DARK's groups, float32 ``(ngroups, ny, nx)`` (module docstring), one group at a time.

    The cube is as large as the ramp.  The Poisson charge of every group is drawn first
    (held in the output as float32 counts, exact to 2^24 e-), then the read noise of every
    group, as a draw of the whole cube would take them.
    """
    ngroups = readout.ngroups
    t_g = readout.group_time
    g = truth.gain
    offsets = offsets - offsets[0]
    out = np.empty((ngroups,) + g.shape, np.float32)
    if options.kind == "perfect":
        mean_dn_per_group = truth.dark_rate * t_g / g
        for k in range(ngroups):
            out[k] = k * mean_dn_per_group + offsets[k]
        return out
    n = options.dark_integrations
    mean_step = n * truth.dark_rate * t_g
    for k in range(1, ngroups):
        out[k] = rng.poisson(mean_step)
    counts = np.zeros(g.shape, np.int64)
    sigma = truth.read_noise / np.sqrt(n)
    for k in range(ngroups):
        if k:
            counts += out[k].astype(np.int64)
        reads = sigma * rng.standard_normal(g.shape)
        if k == 0:
            first = reads
        out[k] = (counts / n) / g + reads - first + offsets[k]
    return out


def perfect_saturation(truth):
    """The true SATURATION: the noise-free plateau ``B + N(W)/g`` less the margin of
    :func:`simulator.flat_ramps.measure_saturation`, ``NO_SAT_CHECK`` on dead and reference pixels.
    """
    plateau = truth.bias + nonlinearity.response(truth.full_well, truth.full_well,
                                                 nonlinearity.NonlinearityModel()) / truth.gain
    threshold = plateau - flat_ramps.SATURATION_SIGMA * np.maximum(truth.read_noise, 0.5)
    unchecked = truth.dead | truth.reference
    threshold[unchecked] = np.median(threshold[~unchecked])
    return threshold, unchecked


def perfect_linearity(truth, enabled, samples=64):
    """The true response's inverse ``h(u) = N^-1(g u) / g`` fitted by the LINEARITY
    polynomial up to the full well (the inverse is not a polynomial: a small model error
    remains, as in a real file), folded with each pixel's true bias.
    """
    poly = np.zeros(flat_ramps.LINEARITY_DEGREE + 1)
    poly[1] = 1.0
    if enabled:
        g = float(np.mean(truth.gain))
        w = float(np.mean(truth.full_well))
        charge = np.linspace(0, w, samples)
        measured = nonlinearity.response(charge, w, nonlinearity.NonlinearityModel()) / g
        poly = np.polynomial.polynomial.polyfit(measured, charge / g, flat_ramps.LINEARITY_DEGREE)
        poly[0] = 0.0  # zero signal is zero signal
    return det.linearity_coefficients(poly, truth.bias)


def _saturation_and_linearity(truth, readout, options, effects, rng):
    """SATURATION (threshold, unchecked pixels) and LINEARITY coefficients: measured from
    flat ramps taken on this detector (:mod:`simulator.flat_ramps`), or the truth.
    """
    if not effects.saturation:  # an infinite well: nothing saturates, nothing to measure
        shape = truth.gain.shape
        return np.full(shape, 1e9), np.zeros(shape, bool), perfect_linearity(truth, effects.nonlinearity)
    if options.kind == "perfect":
        threshold, unchecked = perfect_saturation(truth)
        return threshold, unchecked, perfect_linearity(truth, effects.nonlinearity)
    data, times = flat_ramps.take_flat(truth, readout, effects, rng)
    threshold, unchecked = flat_ramps.measure_saturation(data)
    poly, bias = flat_ramps.measure_linearity(data, times, threshold, rng)
    return threshold, unchecked, det.linearity_coefficients(poly, bias)


def emicorr_model(options, emi_lines=(), effects=None):
    """The EMICORR reference (see the module docstring) as a JWST ``EmiModel``.

    Parameters
    ----------
    options : simulator.config.ReferenceOptions
    emi_lines : list of simulator.emi.EmiLine
        This exposure's EMI (only a ``perfect`` EMICORR uses it).
    effects : simulator.config.DetectorEffects, optional
        The instrument's EMI (its mean power per harmonic, :func:`simulator.emi.mean_power`;
        default: the default effects').
    """
    effects = DetectorEffects() if effects is None else effects
    waves = {name: emi.sine_series(np.sqrt(2 * sim_emi.mean_power(name, effects)),
                                   sim_emi.instrument_waveform(name, effects)[1]) for name in emi.FREQUENCIES}
    if options.kind == "perfect":
        phase = (np.arange(emi.WAVEFORM_BINS) + 0.5) / emi.WAVEFORM_BINS
        for line in emi_lines:
            waves[line.name] = line(phase / line.true_frequency)
    tree = emi.emicorr_tree(waves)
    model = dm.EmiModel()
    model.frequencies = tree["frequencies"]
    model.subarray_cases = tree["subarray_cases"]
    return _describe(model, "EMICORR", Selection(), options, "EMI lines, clocks and waveforms")


def mask_flags(truth):
    """The MASK's DQ array for a :class:`simulator.detector.DetectorTruth`, and so the
    pixel DQ the pipeline's dq_init starts a ramp with: DEAD or HOT with DO_NOT_USE, and
    REFERENCE_PIXEL on the reference columns.
    """
    mask = np.zeros(truth.gain.shape, np.uint32)
    mask[truth.dead] |= dq.DEAD | dq.DO_NOT_USE
    mask[truth.hot] |= dq.HOT | dq.DO_NOT_USE
    mask[truth.reference] |= dq.REFERENCE_PIXEL
    return mask


def write_detector_references(folder, truth, readout, options, effects, rng, emi_lines=()):
    """Write the detector's references (GAIN, READNOISE, DARK, SATURATION, LINEARITY,
    MASK, EMICORR) for ``readout`` into ``folder``; return ``{reftype: path}``.

    Parameters
    ----------
    folder : pathlib.Path
    truth : simulator.detector.DetectorTruth
    readout : simulator.config.Readout
        The detector and readout they serve (the files' selectors).
    options : simulator.config.ReferenceOptions
        ``measured`` or ``perfect`` (see the module docstring).
    effects : simulator.config.DetectorEffects
    rng : numpy.random.Generator
        The references stream; the mode's references continue drawing from it.
    emi_lines : list of simulator.emi.EmiLine
        This exposure's EMI (only a ``perfect`` EMICORR uses it).
    """
    measured = options.kind == "measured"
    sub = readout.subarray.upper()
    selection = Selection(detector=readout.detector, subarray=sub)
    written = {}

    gain = truth.gain * (1 + options.gain_error * rng.standard_normal(truth.gain.shape)) if measured else truth.gain
    model = dm.GainModel(data=gain.astype(np.float32))
    model.meta.bunit_data = "electron/DN"
    written["GAIN"] = _describe(model, "GAIN", selection, options, "gain from photon transfer")

    # a digitized read carries the ADC's rounding, variance 1/12 DN^2, which CDS pairs measure with the rest
    rn = np.sqrt(2.0 * (truth.read_noise**2 + (QUANTIZATION_VARIANCE_DN2 if effects.digitize else 0.0)))
    if measured:
        m = options.readnoise_pairs
        rn = rn * np.sqrt(rng.chisquare(m, rn.shape) / m)
    written["READNOISE"] = _describe(
        dm.ReadnoiseModel(data=rn.astype(np.float32)), "READNOISE", selection, options, "CDS read noise, DN",
    )

    # Its own stream (spawning leaves the references stream's draws as they were), and
    # before the DARK, so the flat ramps and the DARK, each as large as a ramp, are not
    # in memory together.
    threshold, unchecked, coeffs = _saturation_and_linearity(truth, readout, options, effects, rng.spawn(1)[0])
    written["SATURATION"] = _describe(
        dm.SaturationModel(data=threshold.astype(np.float32),
                           dq=np.where(unchecked, np.uint32(dq.NO_SAT_CHECK), np.uint32(0))),
        "SATURATION", selection, options, "saturation threshold in raw DN, measured where flat ramps stop rising",
    )
    written["LINEARITY"] = _describe(
        dm.LinearityModel(coeffs=coeffs, dq=np.zeros(truth.gain.shape, np.uint32)), "LINEARITY", selection,
        options, "polynomial from raw DN to linear DN, measured on flat ramps",
    )

    offsets = (reset.offsets(readout.ngroups, reset.model_of(effects)) if effects.reset_anomaly
               else np.zeros(readout.ngroups))
    dark = _measured_dark(truth, readout, options, offsets, rng)[None]
    # ERR: zeros in FITS's own (big-endian) byte order are written without being touched,
    # so a ramp-sized array of them takes no memory
    model = dm.DarkMIRIModel(data=dark, err=np.zeros(dark.shape, ">f4"),
                             dq=np.zeros((1, 1) + dark.shape[2:], np.uint32),
                             average_dark_current=np.full(dark.shape[2:], np.median(truth.dark_rate),
                                                          np.float32))
    model.meta.exposure.readpatt = readout.readpatt
    model.meta.exposure.ngroups = readout.ngroups
    model.meta.exposure.nframes = 1
    model.meta.exposure.groupgap = 0
    written["DARK"] = _describe(model, "DARK", selection, options, "dark signal per group, first group = 0")

    written["MASK"] = _describe(dm.MaskModel(dq=mask_flags(truth)), "MASK", selection, options, "bad-pixel mask")

    paths = {"EMICORR": save_model(emicorr_model(options, emi_lines, effects), folder / "miri_testbed_emicorr.asdf")}
    stem = f"{readout.detector.lower()}_{sub.lower()}"
    for reftype, model in written.items():
        suffix = f"_{readout.readpatt.lower()}" if reftype == "DARK" else ""
        paths[reftype] = save_model(model, folder / f"miri_testbed_{reftype.lower()}_{stem}{suffix}.fits")
    return paths
