"""detector1: an uncal ramp -> rate and rateints, the same for every MIRI exposure type.

dq_init (MASK) -> saturation -> emi (EMICORR) -> firstframe -> lastframe -> linearity
-> dark -> jump -> showers -> ramp_fit, each run through the step shell
(:class:`calibration.steps.StepLog`).  EMI runs before firstframe/lastframe drop groups,
as JWST's emicorr does, so 3-group ramps keep one constraint per pixel.  The required
references are read once, before any step runs; EMICORR is optional (without it the
EMI step is SKIPPED), and read whatever the EMI variant: the EMI the step leaves in is
noise whose variance the ramp fit evaluates with its own weights and VAR_RNOISE and ERR
include (:mod:`calibration.emi_noise`; HISTORY says so).
"""
from dataclasses import dataclass

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq

from . import CalibrationInputError, Skip, emi, emi_noise, populated_array
from . import references as refs
from .dark import dark_rate
from .products import derived
from .steps import COMPLETE

REFTYPES = ("MASK", "SATURATION", "LINEARITY", "DARK", "GAIN", "READNOISE")
#: Weighting of each ramp-fit variant (:func:`calibration.ramp_fit.template_weights`; stcal's OLS
#: weights as Fixsen et al. do, its LIKELY is a likelihood fit).
RAMP_WEIGHTING = {"ols": "ols", "optimal": "optimal", "likelihood": "likelihood", "stcal_ols": "optimal",
                  "stcal_likely": "likelihood"}


@dataclass
class Detector1:
    """What detector1 made.

    Parameters
    ----------
    rate, var_poisson, var_rnoise : (ny, nx) float
        The rate (DN/s, NaN where unusable) and its variances.
    dq : (ny, nx) uint32
        The rate's DQ.
    ramp : RampModel
        The ramp after the detector steps (linearised, dark-subtracted, with the jump
        and saturation flags), as JWST's ``save_calibrated_ramp``.
    rate_model : ImageModel
    rateints : CubeModel
    """

    rate: np.ndarray
    var_poisson: np.ndarray
    var_rnoise: np.ndarray
    dq: np.ndarray
    ramp: object
    rate_model: object
    rateints: object


def reference_arrays(folder, exposure):
    """The detector1 reference models and their arrays cut to the exposure's subarray.

    Parameters
    ----------
    folder : path
        Reference folder.
    exposure : RampModel

    Returns
    -------
    models : dict
        ``{reftype: model}`` of :data:`REFTYPES`.
    arrays : dict
        ``mask``, ``saturation`` (infinite where its DQ says NO_SAT_CHECK), ``linearity``,
        ``dark`` (:class:`calibration.references.Frames`: read a frame at a time), ``gain``
        and ``readnoise`` (of one read: READNOISE files hold the CDS noise, JWST's convention).

    Raises
    ------
    CalibrationInputError
        For a missing reference, or a gain, read noise or saturation that is not finite
        (or a gain that is not positive).
    """
    models = {t: refs.load(folder, t, exposure) for t in REFTYPES}
    arrays = {
        "mask": refs.cutout(models["MASK"].dq, models["MASK"], exposure),
        "saturation": refs.cutout(models["SATURATION"].data, models["SATURATION"], exposure),
        "linearity": refs.cutout(models["LINEARITY"].coeffs, models["LINEARITY"], exposure),
        "dark": refs.Frames(refs.select(folder, "DARK", exposure), "SCI", models["DARK"], exposure),
        "gain": refs.cutout(models["GAIN"].data, models["GAIN"], exposure),
        "readnoise": refs.cutout(models["READNOISE"].data, models["READNOISE"], exposure) / np.sqrt(2.0),
    }
    for name in ("gain", "readnoise", "saturation"):
        if not np.all(np.isfinite(arrays[name])):
            raise CalibrationInputError(f"{models[name.upper()].meta.filename}: {name} has non-finite values")
    unchecked = (refs.cutout(models["SATURATION"].dq, models["SATURATION"], exposure) & dq.NO_SAT_CHECK) != 0
    arrays["saturation"] = np.where(unchecked, np.inf, arrays["saturation"])
    if np.any(arrays["gain"] <= 0):
        raise CalibrationInputError(f"{models['GAIN'].meta.filename}: gain must be positive")
    return models, arrays


def _emi_case(log, case, reason):
    """The EMI step's reference argument ``(case,)``, or a Skip without a line to correct."""
    if case is None:
        return Skip(reason)
    skipped = [f"emi: {line} skipped: {why}" for line, why in case.skipped]
    if not case.lines:
        return Skip("; ".join(skipped))
    log.note("emi", *skipped)
    return (case,)


def _emi_left_in(log, case, reason, notes, shape):
    """The EMI the EMI step left in the ramps, as the ramp fit's ``interference`` (None when there is none).

    Each line left in gets a note in HISTORY.  Without an EMICORR case, or for a line whose
    waveform the reference does not store, the amplitude is not known, and the note says
    that ERR leaves it out.
    """
    if case is None:  # the step was skipped
        log.note("emi", f"emi: EMI not removed; its variance is not in ERR ({reason})")
        return None
    known = []
    for line, why in emi_noise.left_in(log.record("emi"), notes, case):
        if line.waveform is None:
            log.note("emi", f"emi: {line.name} not removed ({why}); {case.model.meta.filename} stores no waveform "
                            f"for it, so its variance is not in ERR")
        else:
            log.note("emi", f"emi: {line.name} ({line.frequency_hz} Hz) not removed ({why})")
            known.append(line)
    return emi_noise.interference(known, case, *shape[:2]) if known else None


def _add_emi_variance(log, case, fit, interference, groupdq, ref, group_time, dark, variant):
    """Add the variance of the EMI left in to the fit's read-noise variances and say so in HISTORY.

    EMI is pickup in the readout chain, independent of the signal: read noise's kind
    (params 2 counts it as extra read noise), so it goes into VAR_RNOISE, and with it into
    ERR and every later product.
    """
    var, var_ints = fit.var_interference, fit.var_interference_ints
    how = "with the ramp fit's weights"
    if var is None:  # a fit that does not evaluate it (stcal's)
        method = RAMP_WEIGHTING.get(variant, "ols")
        var, var_ints = emi_noise.uninterrupted_variance(interference, groupdq, np.nan_to_num(fit.rate) + dark,
                                                         ref["readnoise"], ref["gain"], group_time, method)
        how = f"with {method} weights of uninterrupted ramps (an approximation for {variant})"
    fit.var_rnoise = fit.var_rnoise + var
    fit.var_rnoise_ints = fit.var_rnoise_ints + var_ints
    log.note("emi", f"emi: its variance from EMICORR {case.model.meta.filename}, {how}, added to VAR_RNOISE and "
                    f"ERR: {np.sqrt(np.nanmedian(var)):.3g} DN/s rms (median pixel)")


def _require_a_rate(exposure, rate, rate_dq):
    """Refuse an exposure in which no science pixel has a usable rate.

    Stages 2 and 3 would only turn an all-NaN rate into NaN products and warnings; an
    exposure saturated everywhere from its first groups (or otherwise entirely flagged)
    is an input that cannot be calibrated.  Reference pixels do not count.

    Raises
    ------
    CalibrationInputError
        Naming the file and how many science pixels are saturated.
    """
    science = (rate_dq & dq.REFERENCE_PIXEL) == 0
    if np.any(np.isfinite(rate[science]) & ((rate_dq[science] & dq.DO_NOT_USE) == 0)):
        return
    n, saturated = int(science.sum()), int(np.count_nonzero(rate_dq[science] & dq.SATURATED))
    why = (f"every science pixel ({n}) is saturated too early to give a rate" if saturated == n else
           f"no science pixel has a usable rate ({saturated} of {n} saturated, the rest unusable)")
    raise CalibrationInputError(f"{exposure.meta.filename}: {why}; nothing to calibrate")


def _per_integration(fit, unusable, pixeldq):
    """The rateints' arrays from ramp_fit's per-integration ones, made in place (``fit``'s are changed).

    A time series' are 120 MB each (1000 x 72 x 416); new arrays for the NaNs of unusable pixels, the DQ and
    the float32 conversions cost a first touch of fresh memory each (:func:`calibration.populated_array`).
    """
    rate, var_p, var_r = (np.asarray(a, np.float32) for a in (fit.rate_ints, fit.var_poisson_ints,
                                                                  fit.var_rnoise_ints))
    rate[:, unusable] = np.nan
    err = populated_array(rate.shape, np.float32)
    np.sqrt(np.add(var_p, var_r, out=err), out=err)
    return {"data": rate, "dq": np.bitwise_or(fit.dq_ints, pixeldq, out=fit.dq_ints), "err": err,
            "var_poisson": var_p, "var_rnoise": var_r}


def run(log, exposure, folder, choice, on_emi=None):
    """detector1 on an opened exposure.

    The steps work on the exposure's own ramps and group DQ (``out``, :mod:`calibration.registry`),
    so detector1 holds no other ramp-sized array: afterwards they are the calibrated ramp's,
    as JWST's steps change the model they are given.  (With ``on_emi``, which compares the
    raw ramps with the corrected ones, the EMI step writes new ramps.)

    Parameters
    ----------
    log : StepLog
        Receives one record per step.
    exposure : RampModel
        The checked uncal (:func:`calibration.inputs.open_uncal`).
    folder : path
        Reference folder.
    choice : dict
        ``{step: variant}`` (:func:`calibration.registry.resolve`).
    on_emi : callable, optional
        ``on_emi(raw, corrected, usable)``, called after the EMI step whatever it did
        (``corrected`` is ``raw`` when it was skipped; ``usable``: pixels with no
        DO_NOT_USE flag and no saturated group).

    Returns
    -------
    Detector1
    """
    models, ref = reference_arrays(folder, exposure)
    rn, gain, group_time = ref["readnoise"], ref["gain"], float(exposure.meta.exposure.group_time)
    raw, groupdq = exposure.data, exposure.groupdq
    pixeldq = log.run("dq_init", choice["dq_init"], exposure.pixeldq, ref["mask"])
    groupdq = log.run("saturation", choice["saturation"], raw, groupdq, ref["saturation"], out=groupdq)
    case, reason = emi.find_case(folder, exposure)  # also when not corrected: the EMI left in is noise
    data, notes = log.run("emi", choice["emi"], raw, groupdq, pixeldq, rn, gain,
                          resolve=lambda: _emi_case(log, case, reason), out=None if on_emi else raw)
    log.note("emi", *map(str, notes))
    if on_emi is not None:
        on_emi(raw, data, ((pixeldq & dq.DO_NOT_USE) == 0) & ~np.any(groupdq & dq.SATURATED, axis=(0, 1)))
    groupdq = log.run("firstframe", choice["firstframe"], groupdq, out=groupdq)
    groupdq = log.run("lastframe", choice["lastframe"], groupdq, out=groupdq)
    data, lin_flags = log.run("linearity", choice["linearity"], data, groupdq, ref["linearity"], out=data)
    pixeldq = pixeldq | lin_flags
    data = log.run("dark", choice["dark"], data, ref["dark"], out=data)
    groupdq, mean_diff = log.run("jump", choice["jump"], data, groupdq, rn, gain, group_time, out=groupdq)
    groupdq, n_showers = log.run("showers", choice["showers"], data, groupdq, rn, gain, group_time, mean_diff,
                                 out=groupdq)
    dark = dark_rate(models["DARK"], group_time, gain)
    interference = _emi_left_in(log, case, reason, notes, data.shape)
    fit = log.run("ramp_fit", choice["ramp_fit"], data, groupdq, rn, gain, group_time, dark,
                  interference=interference)
    unusable = (pixeldq & dq.DO_NOT_USE) != 0
    rate = np.where(unusable, np.nan, fit.rate)
    rate_dq = pixeldq | fit.dq
    _require_a_rate(exposure, rate, rate_dq)
    if interference is not None:
        _add_emi_variance(log, case, fit, interference, groupdq, ref, group_time, dark, choice["ramp_fit"])
    var_p = np.where(unusable, np.nan, fit.var_poisson)
    var_r = np.where(unusable, np.nan, fit.var_rnoise)
    rate_model = derived(dm.ImageModel, exposure, data=rate.astype(np.float32), dq=rate_dq,
                         err=np.sqrt(var_p + var_r).astype(np.float32), var_poisson=var_p, var_rnoise=var_r)
    rateints = derived(dm.CubeModel, exposure, **_per_integration(fit, unusable, pixeldq))
    for product in (rate_model, rateints):
        product.meta.bunit_data = product.meta.bunit_err = "DN/s"
        if log.record("showers").status == COMPLETE:
            product.meta.exposure.extended_emission_events = n_showers
        for reftype in REFTYPES:
            getattr(product.meta.ref_file, reftype.lower()).name = str(models[reftype].meta.filename)
        log.stamp(product)
    ramp = derived(dm.RampModel, exposure, data=data, groupdq=groupdq, pixeldq=pixeldq)
    return Detector1(rate, var_p, var_r, rate_dq, ramp, rate_model, rateints)
