"""The official ``stcal`` algorithms as variants, run on the same arrays as ours.

Installed with the optional ``peers`` extra; without it these tables are empty and the
registry simply has no ``stcal_*`` names.  Conventions handed to stcal: ramps in DN,
READNOISE as the CDS noise (stcal divides by sqrt(2) for one read), gain in e-/DN, MIRI
FASTR1/SLOWR1 timing (nframes 1, groupgap 0), single process (``max_cores = "none"``).
"""
import math
from importlib.util import find_spec

import numpy as np

from miri_testbed.instrument import dq

from . import Skip, into

#: Whether the peers extra's packages are installed, checked without importing them (stcal's jump imports
#: scipy.signal and scipy.stats, jwst much more: a ``calibrate`` that runs none of them pays for none).
STCAL, JWST = (find_spec(package) is not None for package in ("stcal", "jwst"))


def stcal_ramp_fit(data, groupdq, read_noise, gain, group_time, dark_rate=0.0, algorithm="OLS_C", interference=None):
    """The stcal ramp fit (``OLS_C`` or ``LIKELY``) as a :class:`calibration.ramp_fit.RampFit`.

    stcal does not report its weights, so ``interference`` is not evaluated (``var_interference``
    is None; :mod:`calibration.emi_noise` then takes the weights of an uninterrupted ramp).
    """
    from stcal.ramp_fitting.ramp_fit import ramp_fit_data
    from stcal.ramp_fitting.ramp_fit_class import RampData

    from .ramp_fit import RampFit

    nints, ngroups, ny, nx = data.shape
    ramp = RampData()
    ramp.set_arrays(np.array(data, np.float32), np.array(groupdq, np.uint8), np.zeros((ny, nx), np.uint32),
                    np.zeros((ny, nx), np.float32))
    ramp.set_meta(name="MIRI", frame_time=group_time, group_time=group_time, groupgap=0, nframes=1,
                  drop_frames1=None)
    ramp.set_dqflags(dq.PIXEL)
    cds = np.array(np.broadcast_to(read_noise, (ny, nx)) * math.sqrt(2.0), np.float32)
    gain2d = np.array(np.broadcast_to(gain, (ny, nx)), np.float32)
    image, integ, _ = ramp_fit_data(ramp, False, cds, gain2d, algorithm, "optimal", "none")
    if image is None:  # every pixel unusable
        nan = np.full((ny, nx), np.nan, np.float32)
        return RampFit(nan, nan, nan, np.full((ny, nx), dq.DO_NOT_USE, np.uint32),
                       np.full((nints, ny, nx), np.nan, np.float32), *([np.full((nints, ny, nx), np.nan)] * 2),
                       np.full((nints, ny, nx), dq.DO_NOT_USE, np.uint32))
    return RampFit(image["slope"], image["var_poisson"], image["var_rnoise"], image["dq"].astype(np.uint32),
                   integ["slope"], integ["var_poisson"], integ["var_rnoise"], integ["dq"].astype(np.uint32))


def stcal_jump(data, groupdq, read_noise, gain, group_time, find_showers=False, out=None):
    """The stcal two-point jump detection (with its MIRI shower flagging if asked).

    Parameters
    ----------
    data, groupdq, read_noise, gain, group_time
        As :func:`calibration.jump.detect_jumps`.
    find_showers : bool
        Also run stcal's shower flagging.
    out : (nints, ngroups, ny, nx) uint8, optional
        Where the flags go (:func:`calibration.into`).

    Returns
    -------
    (groupdq, None) or Skip
        The flags, or a :class:`~calibration.Skip` for fewer than 3 groups (JWST's jump
        step is then SKIPPED and never calls stcal).
    """
    from stcal.jump.jump import detect_jumps_data
    from stcal.jump.jump_class import JumpData

    ngroups, ny, nx = data.shape[1:]
    if ngroups < 3:
        return Skip(f"stcal jump: {ngroups} groups (needs >= 3)")
    cds = np.array(np.broadcast_to(read_noise, (ny, nx)) * math.sqrt(2.0), np.float32)
    gain2d = np.array(np.broadcast_to(gain, (ny, nx)), np.float32)
    jump = JumpData(gain2d=gain2d, rnoise2d=cds, dqflags=dq.PIXEL)
    jump.init_arrays_from_arrays(np.array(data, np.float32), np.array(groupdq, np.uint8), np.zeros((ny, nx), np.uint32))
    jump.nframes = 1
    jump.dt_group = np.ones(1)
    jump.n_reads_groupdiff = np.ones(1) * 2
    jump.max_cores = "none"
    jump.find_showers = find_showers
    jump.grps_masked_after_shower = int(math.ceil(15.0 / group_time))
    gdq, _, _, _ = detect_jumps_data(jump)
    return into(out, gdq.astype(np.uint8)), None


def ramp_fit_variants():
    """The stcal ramp fits as ``ramp_fit`` variants (none without the peers extra)."""
    if not STCAL:
        return {}
    return {
        "stcal_ols": lambda *a, **k: stcal_ramp_fit(*a, **k, algorithm="OLS_C"),
        "stcal_likely": lambda *a, **k: stcal_ramp_fit(*a, **k, algorithm="LIKELY"),
    }


def jump_variants():
    """The stcal jump detection (with and without its showers) as ``jump`` variants (none without the peers extra)."""
    if not STCAL:
        return {}
    return {
        "stcal": stcal_jump,
        "stcal_showers": lambda *a, **k: stcal_jump(*a, **k, find_showers=True),
    }


def jwst_emicorr(data, groupdq, pixeldq, read_noise, gain, case, algorithm="joint", out=None):
    """The jwst EMI correction, run offline on the case's ``EmiModel`` (no CRDS).

    ``jwst.emicorr.emicorr.apply_emicorr`` on an in-memory ``RampModel``.

    Parameters
    ----------
    data, groupdq, pixeldq, read_noise, gain, case
        As :func:`calibration.emi.correct_joint`.
    algorithm : str
        ``sequential`` (phase folding, >= 10 groups advised) or ``joint`` (amplitude and
        phase of the reference waveform).
    out : (nints, ngroups, ny, nx) float32, optional
        Where the corrected ramps go (:func:`calibration.into`).

    Returns
    -------
    (data, notes) or Skip
        The corrected ramps, or a :class:`~calibration.Skip` when jwst skipped the
        correction or changed nothing.
    """
    from jwst.emicorr.emicorr import apply_emicorr
    from stdatamodels.jwst import datamodels as dm

    model = dm.RampModel(data=np.array(data, np.float32), groupdq=np.array(groupdq, np.uint8),
                         pixeldq=np.array(pixeldq, np.uint32))
    model.meta.instrument.name = "MIRI"
    model.meta.instrument.detector = case.detector
    model.meta.subarray.name = case.subarray
    model.meta.subarray.xstart = case.xstart
    model.meta.subarray.xsize = case.xsize or data.shape[-1]
    model.meta.subarray.ysize = data.shape[-2]
    model.meta.exposure.readpatt = case.readpatt
    model.meta.exposure.nsamples = case.nsamples
    model.meta.exposure.ngroups, model.meta.exposure.nints = data.shape[1], data.shape[0]
    result = apply_emicorr(model, case.model, algorithm=algorithm)
    version = __import__("jwst").__version__
    if result is None:
        return Skip(f"emi jwst_{algorithm}: jwst {version} skipped the correction (see its log)")
    corrected = np.asarray(result.data, np.float32)
    if np.array_equal(corrected, np.asarray(data, np.float32)):  # e.g. sequential below its group limit
        return Skip(f"emi jwst_{algorithm}: jwst {version} ran but changed nothing ({data.shape[1]} groups)")
    return into(out, corrected), [f"emi jwst_{algorithm}: jwst {version}"]


def emi_variants():
    """The jwst EMI corrections as ``emi`` variants (none without the peers extra)."""
    if not JWST:
        return {}
    return {
        "jwst_sequential": lambda *a, **k: jwst_emicorr(*a, **k, algorithm="sequential"),
        "jwst_joint": lambda *a, **k: jwst_emicorr(*a, **k, algorithm="joint"),
    }


def jwst_straylight(rate, var, dq, xartcorr, bands=()):
    """The jwst ``correct_xartifact`` on the rate, as an ``IFUImageModel``, with the same MRSXARTCORR file.

    Returns ``(corrected rate, var)``: jwst leaves the variance as it is.  ``bands`` (the slices' pixels, which
    ours reads to estimate a DO_NOT_USE pixel's light) is not used: in jwst such a pixel scatters nothing.
    """
    from jwst.straylight.straylight import correct_xartifact
    from stdatamodels.jwst import datamodels as dm

    image = dm.IFUImageModel(data=np.array(rate, np.float32), dq=np.array(dq, np.uint32))
    image.meta.instrument.channel, image.meta.instrument.band = xartcorr.channel, xartcorr.band
    with dm.MirMrsXArtCorrModel(str(xartcorr.path)) as pars:
        corrected = correct_xartifact(image, pars)
    return np.asarray(corrected.data, float), var


def straylight_variants():
    """The jwst straylight as a ``straylight`` variant (none without the peers extra)."""
    return {"jwst_straylight": jwst_straylight} if JWST else {}


def jwst_spectral_leak(cube, spectrum, extract, leak, source, to_1b, pixel_alpha, jy_scale):
    """The jwst spectral leak correction (``jwst.spectral_leak.spectral_leak.do_correction``) on the 3A spectrum.

    As variant ``spectrum`` of :mod:`calibration.spectral_leak` (same arguments and return), with jwst's
    code on in-memory x1d models of the two spectra (in Jy) and the MRSPTCORR file: FLUX only, the error
    passes unchanged (jwst's does not propagate one).
    """
    from dataclasses import replace

    from jwst.spectral_leak.spectral_leak import do_correction
    from stdatamodels.jwst import datamodels as dm

    if source.spectrum is None:
        return Skip(f"spectral_leak jwst_spectrum: no band 1B spectrum among {', '.join(source.names)}")
    if spectrum is None:
        return Skip("spectral_leak jwst_spectrum: no band 3A spectrum (no point source)")
    spectra = []
    for wavelength, flux in ((source.spectrum[0], source.spectrum[1]), (spectrum.wavelength, spectrum.flux * jy_scale)):
        table = np.zeros(len(wavelength), dtype=dm.SpecModel().get_dtype("spec_table"))
        table["WAVELENGTH"], table["FLUX"] = wavelength, flux
        model = dm.MultiSpecModel()
        model.spec.append(dm.SpecModel(spec_table=table))
        spectra.append(model)
    corrected, _ = do_correction(leak.filename, *spectra)
    version = __import__("jwst").__version__
    return cube, replace(spectrum, flux=np.asarray(corrected, float) / jy_scale), [
        f"spectral_leak jwst_spectrum: jwst {version} do_correction"]


def spectral_leak_variants():
    """The jwst spectral leak correction as a ``spectral_leak`` variant (none without the peers extra)."""
    if not JWST:
        return {}
    return {"jwst_spectrum": jwst_spectral_leak}


def jwst_residual_fringe_1d(wavelength, flux, error, usable, channel, correlation=None, flat_period=None):
    """The jwst 1-D residual fringe fit as the ``residual_fringe`` variant ``jwst_1d``: ``(flux, error, fitted)``.

    ``jwst.residual_fringe.utils.fit_residual_fringes_1d`` with its defaults (it takes no errors and its own
    periods, so the planes' noise ``correlation`` and the fringe flat's period are not used).
    jwst returns the corrected flux only; the error is scaled as the flux was, and the amplitude is
    ``sqrt(2)`` rms of ``flux / corrected - 1`` (as :mod:`calibration.residual_fringe` reports its own).  Only the
    usable, finite points go to jwst, which cannot take NaN.
    """
    from jwst.residual_fringe.utils import fit_residual_fringes_1d

    wavelength, flux, error = (np.asarray(a, float) for a in (wavelength, flux, error))
    good = np.asarray(usable, bool) & np.isfinite(wavelength) & np.isfinite(flux)
    corrected = flux.copy()
    corrected[good] = fit_residual_fringes_1d(flux[good], wavelength[good], channel=channel)
    ratio = np.where(good & (corrected != 0), flux / np.where(corrected != 0, corrected, 1.0), 1.0)
    amplitude = np.sqrt(2) * np.std(ratio[good] - 1)
    return corrected, error / ratio, f"jwst fit_residual_fringes_1d: amplitude {amplitude:.4f}"


def residual_fringe_variants():
    """Jwst's 1-D residual fringe fit as the ``residual_fringe`` variant ``jwst_1d`` (none without the peers extra)."""
    if not JWST:
        return {}
    return {"jwst_1d": jwst_residual_fringe_1d}
