"""Reference files for an exposure set, in JWST reference formats (``stdatamodels``).

``measured`` (default) files are what a calibration programme on this detector would
deliver, noise included; ``perfect`` files are the truth.  The measurement noise is
drawn from the exact distribution of the estimate rather than by simulating every
calibration exposure (same statistics, a fraction of the cost):

* DARK: the average of N dark integrations, each referred to its first group,
  ``D_k = (1/N) sum_n [(Q_nk - Q_n0)/g + r_nk - r_n0]``; the sum of N Poisson
  increments is Poisson(N d t), the mean of N reads is N(0, sigma_r^2/N).
* READNOISE: the CDS noise (JWST convention: the noise of a difference of two reads,
  which ``stcal`` divides by sqrt(2) for one read), as the sample rms of M CDS pairs,
  ``sqrt(2) sigma_r sqrt(chi2_M / M)``.
* GAIN: photon-transfer estimate, ``g (1 + e)``, ``e ~ N(0, gain_error)``.
* SATURATION: the level where ramps flatten, ``B + margin * W / g``.
* LINEARITY: a polynomial fitted to the inverse of the true response
  (:func:`linearity_coefficients`).
* DARK also carries the reset-anomaly and last-frame offsets, as darks taken with the
  same readout do.
* MASK: dead, hot and reference pixels (hot and dead pixels are extreme, so a real
  programme finds all of them; warm pixels are not modelled yet).
* EMICORR (``EmiModel``, ASDF like the CRDS files): the lines, clocks and subarray
  cases of :mod:`instrument.emi`; the waveform of each line is one period of a unit
  sine when ``measured`` (a calibration programme averages exposures whose harmonics
  differ, so this exposure's shape is not known in advance), and this exposure's true
  shape (harmonics and phases, at the nominal frequency) when ``perfect``.
* PHOTOM: ``photmjsr = g / E(1 MJy/sr)`` times ``(1 + e)``, ``e ~ N(0, photom_error)``.
* PHOTOM also carries the throughput decay (``timecoeff_exponential``,
  :mod:`simulator.throughput`).
* APCORR: encircled energy measured on the simulator's diffraction PSF
  (:mod:`simulator.optics_references`).
"""
from datetime import datetime, timezone
from math import comb

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq, emi, imager, readout
from miri_testbed.instrument.files import save_model

from . import nonlinearity, reset, throughput
from .optics_references import aperture_corrections

USEAFTER = "2022-01-01T00:00:00"


def _describe(model, reftype, observation, options, description):
    model.meta.reftype = reftype
    model.meta.instrument.name = "MIRI"
    model.meta.instrument.detector = "MIRIMAGE"
    model.meta.useafter = USEAFTER
    model.meta.author = "miri-testbed simulator"
    model.meta.pedigree = "SIMULATION"
    model.meta.origin = "miri-testbed"
    model.meta.date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    model.meta.description = f"{description} ({options.kind})"
    if hasattr(model.meta, "subarray") and reftype not in ("PHOTOM", "APCORR"):
        sub = readout.subarray(observation.subarray)
        model.meta.subarray.name = sub.name
        model.meta.subarray.xstart = sub.xstart
        model.meta.subarray.ystart = sub.ystart
        model.meta.subarray.xsize = sub.xsize
        model.meta.subarray.ysize = sub.ysize
        model.meta.subarray.fastaxis = 1
        model.meta.subarray.slowaxis = 2
    if reftype in ("PHOTOM", "APCORR"):
        model.meta.exposure.type = "MIR_IMAGE"
    return model


def _measured_dark(truth, observation, options, offsets, rng):
    ngroups = observation.ngroups
    t_g = observation.group_time
    g = truth.gain
    mean_dn_per_group = truth.dark_rate * t_g / g
    ks = np.arange(ngroups)[:, None, None]
    offsets = (offsets - offsets[0])[:, None, None]
    if options.kind == "perfect":
        return (ks * mean_dn_per_group + offsets).astype(np.float32)
    n = options.dark_integrations
    steps = rng.poisson(np.broadcast_to(n * truth.dark_rate * t_g, (ngroups - 1,) + g.shape))
    charge = np.concatenate([np.zeros((1,) + g.shape), np.cumsum(steps, axis=0)]) / n
    reads = truth.read_noise / np.sqrt(n) * rng.standard_normal((ngroups,) + g.shape)
    return (charge / g + reads - reads[0] + offsets).astype(np.float32)


def photmjsr(filter_name, gain):
    """True MJy/sr per DN/s of a uniformly lit pixel with gain ``gain``."""
    e_per_s = throughput.surface_brightness_to_mjy_per_pixel(1.0) * throughput.electrons_per_second_per_mjy(
        filter_name
    )
    return gain / e_per_s


def linearity_coefficients(bias, gain, full_well, enabled, margin, degree=4, samples=64):
    """Per-pixel polynomial (raw DN -> linearised DN) of the JWST LINEARITY format.

    The inverse response ``h(u) = N^-1(g u) / g`` of bias-subtracted signal u is fitted
    once by a degree-4 polynomial over 0 .. margin * W (the response is the same in every
    pixel; its inverse is not a polynomial, so the fit leaves a small model error, as a
    real LINEARITY file does); the pixel's pedestal B is folded in by expanding
    ``B + h(x - B)`` in powers of the raw value x.
    """
    coeffs = np.zeros((degree + 1,) + bias.shape)
    if not enabled:
        coeffs[1] = 1.0
        return coeffs.astype(np.float32)
    g = float(np.mean(gain))
    w = float(np.mean(full_well))
    charge = np.linspace(0, margin * w, samples)
    measured = nonlinearity.response(charge, w, nonlinearity.NonlinearityModel()) / g
    p = np.polynomial.polynomial.polyfit(measured, charge / g, degree)  # h(u) = sum p_j u^j
    p[0] = 0.0  # zero signal is zero signal
    for j, pj in enumerate(p):
        for m in range(j + 1):  # p_j (x - B)^j = sum_m C(j, m) x^m (-B)^(j-m)
            coeffs[m] += pj * comb(j, m) * (-bias) ** (j - m)
    coeffs[0] += bias
    return coeffs.astype(np.float32)


def emicorr_model(options, emi_lines=()):
    """The EMICORR reference (see the module docstring) as a JWST ``EmiModel``."""
    phase = (np.arange(emi.WAVEFORM_BINS) + 0.5) / emi.WAVEFORM_BINS
    waves = {name: np.sin(2 * np.pi * phase) for name in emi.FREQUENCIES}
    if options.kind == "perfect":
        for line in emi_lines:
            waves[line.name] = line(phase / line.true_frequency) / max(line.rms * np.sqrt(2), 1e-30)
    tree = emi.emicorr_tree(waves)
    model = dm.EmiModel()
    model.frequencies = tree["frequencies"]
    model.subarray_cases = tree["subarray_cases"]
    model.meta.reftype = "EMICORR"
    model.meta.instrument.name = "MIRI"
    model.meta.useafter = USEAFTER
    model.meta.author = "miri-testbed simulator"
    model.meta.pedigree = "SIMULATION"
    model.meta.description = f"EMI lines, clocks and waveforms ({options.kind})"
    return model


def mask_flags(truth):
    """The MASK's DQ array for a :class:`simulator.detector.DetectorTruth`, and so the
    pixel DQ the pipeline's dq_init starts a ramp with: DEAD or HOT with DO_NOT_USE, and
    REFERENCE_PIXEL on the reference columns."""
    mask = np.zeros(truth.gain.shape, np.uint32)
    mask[truth.dead] |= dq.DEAD | dq.DO_NOT_USE
    mask[truth.hot] |= dq.HOT | dq.DO_NOT_USE
    mask[truth.reference] |= dq.REFERENCE_PIXEL
    return mask


def write_reference_set(folder, truth, observation, options, effects, rng, emi_lines=()):
    """Write GAIN, READNOISE, DARK, SATURATION, MASK, LINEARITY, PHOTOM, APCORR and
    EMICORR into ``folder``."""
    measured = options.kind == "measured"
    sub = observation.subarray.upper()
    written = {}

    gain = truth.gain * (1 + options.gain_error * rng.standard_normal(truth.gain.shape)) if measured else truth.gain
    model = dm.GainModel(data=gain.astype(np.float32))
    model.meta.bunit_data = "electron/DN"
    written["GAIN"] = _describe(model, "GAIN", observation, options, "gain from photon transfer")

    rn = np.sqrt(2.0) * truth.read_noise
    if measured:
        m = options.readnoise_pairs
        rn = rn * np.sqrt(rng.chisquare(m, rn.shape) / m)
    written["READNOISE"] = _describe(
        dm.ReadnoiseModel(data=rn.astype(np.float32)), "READNOISE", observation, options,
        "CDS read noise, DN",
    )

    offsets = (reset.offsets(observation.ngroups, reset.ResetModel()) if effects.reset_anomaly
               else np.zeros(observation.ngroups))
    dark = _measured_dark(truth, observation, options, offsets, rng)[None]
    model = dm.DarkMIRIModel(data=dark, err=np.zeros_like(dark), dq=np.zeros((1, 1) + dark.shape[2:], np.uint32),
                             average_dark_current=np.full(dark.shape[2:], np.median(truth.dark_rate),
                                                          np.float32))
    model.meta.exposure.readpatt = observation.readpatt
    model.meta.exposure.ngroups = observation.ngroups
    model.meta.exposure.nframes = 1
    model.meta.exposure.groupgap = 0
    written["DARK"] = _describe(model, "DARK", observation, options, "dark signal per group, first group = 0")

    threshold = truth.bias + options.saturation_margin * truth.full_well / truth.gain
    threshold = np.where(np.isfinite(threshold), threshold, 1e9)
    written["SATURATION"] = _describe(
        dm.SaturationModel(data=threshold.astype(np.float32), dq=np.zeros(threshold.shape, np.uint32)),
        "SATURATION", observation, options, "saturation threshold in raw DN",
    )

    finite_well = np.where(np.isfinite(truth.full_well), truth.full_well, 1e12)
    coeffs = linearity_coefficients(truth.bias, truth.gain, finite_well, effects.nonlinearity,
                                    options.saturation_margin)
    written["LINEARITY"] = _describe(
        dm.LinearityModel(coeffs=coeffs, dq=np.zeros(truth.gain.shape, np.uint32)), "LINEARITY", observation,
        options, "polynomial from raw DN to linear DN",
    )

    written["MASK"] = _describe(dm.MaskModel(dq=mask_flags(truth)), "MASK", observation, options, "bad-pixel mask")

    mean_gain = float(np.mean(truth.gain))
    rows = []
    for name in imager.FILTERS:
        factor = photmjsr(name, mean_gain)
        if measured:
            factor *= 1 + options.photom_error * rng.standard_normal()
        rows.extend((name, s, factor, factor * options.photom_error) for s in readout.SUBARRAYS)
    table = np.array(rows, dtype=[("filter", "S12"), ("subarray", "S17"), ("photmjsr", "f4"), ("uncertainty", "f4")])
    model = dm.MirImgPhotomModel(phot_table=table)
    # Throughput decay (simulator.throughput): truth when perfect, a monitoring fit when measured.
    for key, table in throughput.time_tables(readout.SUBARRAYS, rng.spawn(1)[0] if measured else None,
                                             effects.throughput_decay).items():
        setattr(model, key, table)
    model.meta.photometry.pixelarea_steradians = imager.pixel_solid_angle_sr()
    model.meta.photometry.pixelarea_arcsecsq = imager.PIXEL_SCALE_X_ARCSEC * imager.PIXEL_SCALE_Y_ARCSEC
    written["PHOTOM"] = _describe(model, "PHOTOM", observation, options, "MJy/sr per DN/s")

    rows = [(observation.filter, sub) + row for row in aperture_corrections(observation.filter)]
    table = np.array(rows, dtype=[("filter", "S12"), ("subarray", "S17"), ("eefraction", "f4"), ("radius", "f4"),
                                  ("apcorr", "f4"), ("skyin", "f4"), ("skyout", "f4")])
    written["APCORR"] = _describe(dm.MirImgApcorrModel(apcorr_table=table), "APCORR", observation, options,
                                  "aperture corrections measured on the simulated PSF")

    paths = {"EMICORR": save_model(emicorr_model(options, emi_lines), folder / "miri_testbed_emicorr.asdf")}
    for reftype, model in written.items():
        stem = f"miri_testbed_{reftype.lower()}_{sub.lower()}"
        if reftype == "DARK":
            stem += f"_{observation.readpatt.lower()}"
        paths[reftype] = save_model(model, folder / f"{stem}.fits")
    return paths
