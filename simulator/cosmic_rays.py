"""Cosmic-ray hits: Poisson arrivals in time and place, at the pixel's true read time.

Model (params 3; defaults 16-18): hits arrive as a Poisson process of
``rate_per_pixel_s * npix`` per second (5e-5 /pixel/s, the ETC's 8 /cm^2/s on 25 um
pixels), uniform over the subarray and the exposure.  Each deposits a charge Q drawn
log-normally (median 3000 e-, sigma_ln 1.0: UNSOURCED placeholders; Si:As deposits
depend on path length) in its pixel, and ``0.1 Q`` in each edge neighbour and
``0.05 Q`` in each corner neighbour (placeholder footprint for inter-pixel coupling).
The charge first appears in the first read of each pixel after the arrival time
(:func:`simulator.readclock.first_read_after`) and stays for the rest of the integration.
"""
from dataclasses import dataclass

import numpy as np

from . import readclock

FOOTPRINT = np.array([[0.05, 0.1, 0.05], [0.1, 1.0, 0.1], [0.05, 0.1, 0.05]])


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
    q = np.repeat(charge, 9) * np.tile(FOOTPRINT.ravel(), n_hits)
    inside = (y >= 0) & (y < ny) & (x >= 0) & (x < nx)
    hit, y, x, q, tt = hit[inside], y[inside], x[inside], q[inside], np.repeat(t, 9)[inside]
    integration, group = readclock.first_read_after(tt, y, x, readout)
    return {"hit": hit, "t": tt, "y": y, "x": x, "integration": integration, "group": group, "charge_e": q}
