"""The MRS's PHOTOM reference: MJy/sr per DN/s of every lit pixel and the throughput's time dependence.

jwst's photom for MIR_MRS (``MirMrsPhotomModel``, one file per detector and grating setting,
parameter reference section 5) multiplies each pixel's rate by ``SCI`` (1032 x 1024) and
divides it by the power law of the ``TIMECOEFF_POWERLAW_CH<c>`` table of the pixel's
channel, evaluated per wavelength bin at the exposure's mid-time and interpolated to the
pixel's wavelength: the result is a surface brightness in MJy/sr.

A lit pixel ``p`` of band ``b`` sees, from a uniform sky of 1 MJy/sr of flat F_nu,
``E_p = A eta_c n(1 MJy/sr) Omega_p ln(lambda_hi / lambda_lo)`` e-/s before any loss
(:func:`simulator.mrs.render_background`: the true pixel solid angle and wavelength
edges), so the true conversion at t0 is ``C_p = g_p / E_p`` MJy/sr per DN/s (``g_p`` the
pixel's gain).

* ``perfect``: exact at the exposure's mid-time ``t``: TIMECOEFF holds the truth's power
  law at each bin (:func:`simulator.mrs_throughput.time_tables`), and the truth's slow
  linear term, which the JWST tables cannot hold, is folded into SCI:
  ``SCI_p = C_p / (1 - l(lambda_p) dt / 365)``.  Left: the linear interpolation of the
  power law between 0.1-um bins (< 1e-4).
* ``measured`` (default): ``SCI_p = C_p (1 + e_b(lambda_p))``, ``e_b`` a grey term and a
  smooth cubic over the band's range, each of ``photom_error`` rms
  (:func:`simulator.references.smooth_relative_error`: a standard star's model spectrum and
  its extraction; 0.3 %, a PLACEHOLDER inside params' "photometry ~1 % below 24 um"),
  and TIMECOEFF from a simulated monitoring programme
  (:func:`simulator.mrs_throughput.fitted_powerlaw`), which cannot follow the linear term
  (<= 0.3 % from 90 d to 3 years).
* Without ``throughput_decay`` the tables hold year1value 1 and alpha 0.

ERR: ``SCI x photom_error`` (measured), 0 (perfect).  DQ: DO_NOT_USE on pixels no slice
lights (SCI NaN there).  PIXSIZ: each lit pixel's solid angle in arcsec^2 (jwst's
reference-file documentation), from the set's geometry: the true one (perfect), the
flight one (measured, as the measured geometry references are the flight files).
``PHOTMJSR`` (``meta.photometry.conversion_megajanskys``): the median SCI, as a scalar
for the product's header.
"""
from dataclasses import dataclass

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import mrs

from . import mrs_throughput
from .references import smooth_error


@dataclass(frozen=True)
class MeasuredDraws:
    """What a measured PHOTOM draws (module docstring): each band's relative error ``e_b(lambda)`` and the TIMECOEFF.

    Parameters
    ----------
    errors : dict
        ``{band: e_b}``, each a function of the flight wavelength (um).
    tables : dict
        The ``timecoeff_powerlaw_ch<c>`` tables (:func:`simulator.mrs_throughput.time_tables`).
    """

    errors: dict
    tables: dict


def measured_draws(names, options, decay, rng):
    """The :class:`MeasuredDraws` of a measured PHOTOM of bands ``names``, in the order :func:`photom_model` draws them.

    Each band's error (:func:`simulator.references.smooth_error`: its cubic, then its grey term) in band
    order, then the monitoring programme's time tables of channels 1-4 (:func:`simulator.mrs_throughput.time_tables`;
    ``decay`` off: none drawn).  The same generator gives the same PHOTOM, so a band pair's error can be
    reproduced from its generator (:func:`simulator.mrs.band_pair_generator`) without its exposure.
    """
    errors = {name: smooth_error(mrs.band(name).wavelength_range, options.photom_error, rng) for name in names}
    return MeasuredDraws(errors, mrs_throughput.time_tables((1, 2, 3, 4), rng, decay))


def photom_model(bands, gain, options, effects, mid_time_mjd, rng, draws=None):
    """The exposure's ``MirMrsPhotomModel`` (module docstring).

    Parameters
    ----------
    bands : list of (simulator.mrs.TruePixels, (n,) float)
        Each band's true pixels and ``E_p``, e-/s per MJy/sr of flat F_nu before any loss.
    gain : (ny, nx) float
        The detector's true gain, e-/DN.
    options : simulator.config.ReferenceOptions
    effects : simulator.config.Effects
    mid_time_mjd : float
        The exposure's mid-time (the perfect SCI is exact there).
    rng : numpy.random.Generator
        Draws the measured errors and the monitoring programme (:func:`measured_draws`).
    draws : MeasuredDraws, optional
        Those draws made already (``rng`` is then not used).

    Returns
    -------
    stdatamodels.jwst.datamodels.MirMrsPhotomModel
    """
    measured = options.kind == "measured"
    decay = effects.optics.throughput_decay
    shape = (det.FULL_NY, det.FULL_NX)
    if measured and draws is None:
        draws = measured_draws([pixels.perturbation.band for pixels, _ in bands], options, decay, rng)
    sci, pixsiz = np.full(shape, np.nan, np.float32), np.full(shape, np.nan, np.float32)
    for pixels, electrons in bands:
        f = pixels.flight
        geometry = mrs.band(pixels.perturbation.band)
        conversion = gain[f.y, f.x] / electrons
        if measured:
            conversion = conversion * (1 + draws.errors[pixels.perturbation.band](f.wavelength))
            a_lo, a_hi = f.alpha_lo, f.alpha_hi
        else:
            if decay:
                conversion = conversion / mrs_throughput.linear_part(pixels.wavelength, mid_time_mjd)
            a_lo, a_hi = pixels.alpha_edges
        sci[f.y, f.x] = conversion
        pixsiz[f.y, f.x] = (a_hi - a_lo) * geometry.beta_del
    lit = np.isfinite(sci)
    model = dm.MirMrsPhotomModel(data=sci, err=np.where(lit, sci * (options.photom_error if measured else 0.0), np.nan)
                                 .astype(np.float32),
                                 dq=np.where(lit, 0, dqflags.DO_NOT_USE).astype(np.uint32), pixsiz=pixsiz)
    for key, table in (draws.tables if measured else mrs_throughput.time_tables((1, 2, 3, 4), None, decay)).items():
        setattr(model, key, table)
    model.meta.photometry.conversion_megajanskys = float(np.median(sci[lit]))
    return model
