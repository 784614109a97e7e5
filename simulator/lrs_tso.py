"""An LRS time series (slitless TSO): the star's light through a transit, and its truth.

Called by :func:`simulator.lrs.illuminate` for ``LrsObservation(tso=True)``.  The scene's
transit (:class:`simulator.transit.Transit`) dims the light of its spectral sources, not
the sky: the illumination's varying part (:class:`simulator.illumination.Variation`) is
the sources' e-/s with, on detector row ``y``,

    factor(t) = F(t, lambda_y) - 1,

``F`` the transit's relative flux at the true wavelength ``lambda_y`` of the row (the
truth's ``WAVELENGTH``: a source at the reference point, so the acquisition's miss of
~0.1 row is left out), held at the ends of 5-14 um beyond them.  The depth is applied
per row after the PSF has spread each wavelength over neighbouring rows, so the PSF's
mixing of wavelengths between rows is ignored in the depth: a row's light takes the depth
of its own wavelength, exact for a grey depth and small for smooth ones (the PSF core
spans ~3 rows, ~0.1 um at 7.5 um).  The detector layer evaluates it at each group's
mid-time, with the settling response (:mod:`simulator.settling`) on all the light.

Truth components:

* ``LIGHTCURVE``: ``integration`` (1-based), ``time_mjd`` (mid-integration,
  :func:`simulator.readclock.integration_times`), ``white`` (the sources' relative flux
  summed over :data:`instrument.lrs.WHITE_LIGHT_RANGE_UM`, weighted by their electrons in
  each row: ``sum_y S_y F(t, lambda_y) / sum_y S_y`` over the rows whose true wavelength is
  in range, which is what the rows of a noise-free exposure hold) and ``settling`` (the
  settling response at mid-integration; 1 with it off);
* ``DEPTH``: ``wavelength_um`` (the true wavelengths of the rows in 5-14 um, increasing)
  and ``depth``, ``p(lambda)^2`` (zero without a transit; the limb-darkened transit is
  deeper at its centre than ``p^2``);
* the transit's parameters as header keywords (:meth:`simulator.transit.Transit.header`).
"""
from dataclasses import replace

import numpy as np
from astropy.table import Table

from miri_testbed.instrument import lrs

from . import readclock, settling
from .illumination import Variation
from .truth import Component


def _row_wavelengths(light):
    """Each row's true wavelength (the WAVELENGTH truth, NaN off the table), and its depth's.

    The depth's: the same, filled beyond the table and held within 5-14 um.
    """
    true = next(c.data for c in light.components if c.name == "WAVELENGTH")[:, 0].astype(float)
    rows, known = np.arange(true.size), np.isfinite(true)
    return true, np.clip(np.interp(rows, rows[known], true[known]), *lrs.WAVELENGTH_RANGE_UM)


def time_series(light, scene, observation, effects, sky):
    """The illumination ``light`` of a TSO with its transit and its truth (module docstring).

    Parameters
    ----------
    light : simulator.illumination.Illumination
        The exposure's constant light (sources and sky) and truth.
    scene : simulator.config.Scene
    observation : simulator.config.LrsObservation
    effects : simulator.config.Effects
    sky : numpy.ndarray
        The sky's e-/s in the frame (it does not vary).

    Returns
    -------
    simulator.illumination.Illumination
    """
    detector, image = next(iter(light.images.items()))
    sources = image - sky
    true, lam = _row_wavelengths(light)
    transit = scene.transit
    ro = observation.readout
    _, mid, _ = readclock.integration_times(ro)
    white_rows = (true >= lrs.WHITE_LIGHT_RANGE_UM[0]) & (true <= lrs.WHITE_LIGHT_RANGE_UM[1])
    electrons = sources.sum(axis=1)[white_rows]
    if transit is None:
        white, variation, header = np.ones(ro.nints), None, {}
    else:
        white = transit.flux(mid[:, None], lam[white_rows]) @ electrons / electrons.sum()
        variation = Variation({detector: sources}, lambda t: transit.flux(t, lam)[:, None] - 1)
        header = transit.header(ro.epoch_mjd)
    depth_lam = np.sort(true[(true >= lrs.WAVELENGTH_RANGE_UM[0]) & (true <= lrs.WAVELENGTH_RANGE_UM[1])])
    depth = transit.radius_ratio(depth_lam) ** 2 if transit is not None else np.zeros(depth_lam.size)
    components = (
        Component("LIGHTCURVE", Table({"integration": np.arange(1, ro.nints + 1),
                                       "time_mjd": ro.epoch_mjd + mid / 86400, "white": white,
                                       "settling": settling.response(mid, effects.detector)}),
                  description=f"per integration: mid-time (MJD), the sources' true relative flux over "
                              f"{lrs.WHITE_LIGHT_RANGE_UM[0]}-{lrs.WHITE_LIGHT_RANGE_UM[1]} um (electron-weighted "
                              f"by row), the settling response on all light"),
        Component("DEPTH", Table({"wavelength_um": depth_lam, "depth": depth}),
                  description="true transit depth p(lambda)^2 at the rows' true wavelengths"),
    )
    return replace(light, header={**light.header, **header}, components=light.components + components,
                   variation=variation)
