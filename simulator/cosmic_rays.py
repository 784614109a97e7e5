"""Cosmic-ray hits: Poisson arrivals in time and place, at the pixel's true read time.

Model (params 3; defaults 16-18): hits arrive as a Poisson process of
``rate_per_pixel_s * npix`` per second (5e-5 /pixel/s, the ETC's 8 /cm^2/s on 25 um
pixels), uniform over the subarray and the exposure.  Each deposits a charge Q drawn
log-normally (median 3000 e-, sigma_ln 1.0: UNSOURCED placeholders; Si:As deposits
depend on path length) in one pixel, which inter-pixel capacitance shows in its 3x3
neighbourhood as ``Q K[dy + 1, dx + 1]``, K the MIRI kernel
:data:`instrument.detector.IPC_KERNEL` (0.834 Q in the pixel, 0.033 Q in each row
neighbour, 0.024 Q in each column neighbour, 0.013 Q in each corner: stpsf's values,
UNCERTAIN, sources there).  Charge spread by diffusion or by oblique tracks over
several pixels is not modelled.  The charge first appears in the first read of each
pixel after the arrival time (:func:`simulator.readclock.first_read_after`) and stays
for the rest of the integration.

Illumination gets no IPC here: the PSF's blur is fitted to flight FWHMs, which hold it
(:mod:`simulator.psf`); showers neither: 10-40 pixels wide, a kernel summing to 1
changes them by < 0.5 % of their peak.
"""
from dataclasses import dataclass

import numpy as np

from miri_testbed.instrument import detector as det

from . import readclock


@dataclass(frozen=True)
class CosmicRayModel:
    rate_per_pixel_s: float = 5e-5
    median_charge_e: float = 3000.0
    sigma_ln: float = 1.0


def deposits(readout, shape, model, rng):
    """Table of pixel deposits: dict of arrays ``hit, t, y, x, integration, group, charge_e``."""
    ny, nx = shape
    duration = readclock.duration(readout)
    n_hits = rng.poisson(model.rate_per_pixel_s * ny * nx * duration)
    t = rng.uniform(0, duration, n_hits)
    yc = rng.integers(0, ny, n_hits)
    xc = rng.integers(0, nx, n_hits)
    charge = model.median_charge_e * np.exp(model.sigma_ln * rng.standard_normal(n_hits))
    dy, dx = np.mgrid[-1:2, -1:2]
    hit = np.repeat(np.arange(n_hits), 9)
    y = np.repeat(yc, 9) + np.tile(dy.ravel(), n_hits)
    x = np.repeat(xc, 9) + np.tile(dx.ravel(), n_hits)
    q = np.repeat(charge, 9) * np.tile(det.IPC_KERNEL.ravel(), n_hits)
    inside = (y >= 0) & (y < ny) & (x >= 0) & (x < nx)
    hit, y, x, q, tt = hit[inside], y[inside], x[inside], q[inside], np.repeat(t, 9)[inside]
    integration, group = readclock.first_read_after(tt, y, x, readout)
    return {"hit": hit, "t": tt, "y": y, "x": x, "integration": integration, "group": group, "charge_e": q}
