"""Showers: large, diffuse, low-level charge events (params 3; defaults 19-20).

Model: showers arrive as a Poisson process at 1 per 40 s per full 1032x1024 detector
(scaled by the subarray's area), uniform in place and time.  Each is an elliptical
Gaussian halo with semi-axes a, b uniform in 10-40 pixels (the semi-axis is where the
deposit falls to e^-2 of its peak, i.e. 2 sigma), random orientation, and a peak
deposit drawn log-uniformly in 4-40 DN (placeholders: no measured distribution; the
JWST jump step's own limit is 4 DN/s).  A fraction (70 %, placeholder) of the charge
lands at once; the rest is released exponentially with a 5 s time constant, so it
keeps arriving for ~15 s and later groups are hit too (params: "charge released over
~15 s").  Each pixel sees the charge accumulated up to its own read times.

The true shower area, scored by validation, is the ellipse of the semi-axes.
"""
from dataclasses import dataclass

import numpy as np

from miri_testbed.instrument import detector as det

from . import readclock


@dataclass(frozen=True)
class ShowerModel:
    rate_per_detector_s: float = 1 / 40
    semi_axis_pix: tuple = (10.0, 40.0)
    peak_dn: tuple = (4.0, 40.0)
    fast_fraction: float = 0.7
    release_time_s: float = 5.0


def draw(readout, shape, model, rng):
    """List of showers: dicts ``t, x, y, a, b, angle, peak_dn``."""
    ny, nx = shape
    duration = readclock.duration(readout)
    area = ny * nx / (det.FULL_NX * det.FULL_NY)
    n = rng.poisson(model.rate_per_detector_s * area * duration)
    showers = []
    for _ in range(n):
        showers.append(dict(
            t=rng.uniform(0, duration), x=rng.uniform(0, nx), y=rng.uniform(0, ny),
            a=rng.uniform(*model.semi_axis_pix), b=rng.uniform(*model.semi_axis_pix),
            angle=rng.uniform(0, np.pi),
            peak_dn=float(np.exp(rng.uniform(np.log(model.peak_dn[0]), np.log(model.peak_dn[1])))),
        ))
    return showers


def footprint(shower, ys, xs):
    """Relative deposit (peak 1) and the e^-2 ellipse mask on the pixel grid ``ys, xs``."""
    c, s = np.cos(shower["angle"]), np.sin(shower["angle"])
    u = ((xs - shower["x"]) * c + (ys - shower["y"]) * s) / shower["a"]
    v = (-(xs - shower["x"]) * s + (ys - shower["y"]) * c) / shower["b"]
    r2 = u * u + v * v
    return np.exp(-2.0 * r2), r2 <= 1.0


def _released(time, t0, model):
    """Fraction of a shower's charge released by ``time`` (fast part at t0, then exponential)."""
    dt = time - t0
    slow = 1 - np.exp(-np.clip(dt, 0, None) / model.release_time_s)
    return np.where(dt > 0, model.fast_fraction + (1 - model.fast_fraction) * slow, 0.0)


@dataclass(frozen=True)
class Deposit:
    """Where a shower leaves its charge.

    The box of pixels it reaches (``rows``, ``cols``), the charge each of them gets in all
    (``total``, e-), their read offsets (s), the arrival time ``t`` (s) and the reads
    ``(integration, group, y, x)`` where it first appears inside its e^-2 ellipse.
    """

    rows: slice
    cols: slice
    total: np.ndarray
    offsets: np.ndarray
    t: float
    arrival: tuple


def deposits(showers, readout, gain):
    """The :class:`Deposit` of each shower on a detector of gain ``gain`` (e-/DN), in order."""
    ny, nx = gain.shape
    offsets = readclock.pixel_offsets(readout)
    out = []
    for shower in showers:
        reach = 2.5 * max(shower["a"], shower["b"])  # the deposit is < 4e-6 of its peak beyond
        y0, y1 = max(int(shower["y"] - reach), 0), min(int(shower["y"] + reach) + 1, ny)
        x0, x1 = max(int(shower["x"] - reach), 0), min(int(shower["x"] + reach) + 1, nx)
        if y0 >= y1 or x0 >= x1:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1]
        profile, inside = footprint(shower, ys, xs)
        i, k = readclock.first_read_after(np.full(ys.shape, shower["t"]), ys, xs, readout)
        ok = inside & (k < readout.ngroups)
        out.append(Deposit(slice(y0, y1), slice(x0, x1), shower["peak_dn"] * gain[y0:y1, x0:x1] * profile,
                           offsets[y0:y1, x0:x1].copy(), shower["t"], (i[ok], k[ok], ys[ok], xs[ok])))
    return out


def add_charge(frame, deposits, read_start, reset_start, model):
    """Add to ``frame`` (e-, ``(ny, nx)``) the charge of every shower one read sees.

    That is what was released between each pixel's reset and its read: the frame is read
    from ``read_start``, the integration was reset from ``reset_start`` (both s; each pixel
    adds its own read offset).
    """
    for d in deposits:
        released = _released(read_start + d.offsets, d.t, model) - _released(reset_start + d.offsets, d.t, model)
        frame[d.rows, d.cols] += d.total * released
