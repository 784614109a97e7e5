"""The detector: illumination (e-/s) -> up-the-ramp samples (DN) on the read clock.

Model, per pixel and integration (params 1; defaults 6-12):

    Q_k = min( sum_{j<=k} Poisson((I + D) t_g) + C_k + H_k, W ),   k = 0 .. ngroups-1
    S_k = B + N(Q_k) / g + r_k + N(0, sigma_r^2),  digitised to integers in [0, 65535]

with I the illumination, D the dark current (0.2 e-/s; hot pixels far more), t_g the
group time of the subarray and readout (a pixel is read one frame after its reset and
every frame after), C_k and H_k the charge of cosmic rays and showers that arrived
before the pixel's read k (:mod:`cosmic_rays`, :mod:`showers`, on the pixel's own
read times from :mod:`readclock`), W the full well (210 000 e-), N the nonlinear
response (:mod:`nonlinearity`), g the gain (4 e-/DN), B the bias pedestal
(placeholder), r_k the reset-anomaly and last-frame offsets (:mod:`reset`), E the EMI
waveform at the pixel's read time (:mod:`emi`; added to S_k before the read noise) and
sigma_r the read noise of one read (6/sqrt(2) DN, CDS reading uncertain).  Dead pixels collect
nothing.  Each integration starts from a reset.

This is the detector layer every mode shares: it takes a :class:`simulator.config.Readout`
and :class:`simulator.config.DetectorEffects`, never a filter, band or slit.

Not modelled yet: RSCD's dependence on the previous integration, persistence.
"""
from dataclasses import dataclass

import numpy as np

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import readout as readout_rules

from . import cosmic_rays, emi, nonlinearity, reset, showers


@dataclass
class DetectorTruth:
    """The true per-pixel properties of the detector in the exposure's subarray."""

    gain: np.ndarray  # e-/DN
    read_noise: np.ndarray  # DN per read
    bias: np.ndarray  # DN
    dark_rate: np.ndarray  # e-/s
    full_well: np.ndarray  # e-
    dead: np.ndarray  # bool
    hot: np.ndarray  # bool
    reference: np.ndarray  # bool: reference columns


def draw_detector(readout, effects, rng):
    """Per-pixel detector truth for the exposure's subarray."""
    sub = readout_rules.subarray(readout.subarray)
    shape = (sub.ysize, sub.xsize)
    reference = np.zeros(shape, bool)
    reference[:, sub.reference_columns()] = True
    dead = np.zeros(shape, bool)
    hot = np.zeros(shape, bool)
    if effects.bad_pixels:
        dead = (rng.random(shape) < effects.dead_fraction) & ~reference
        hot = (rng.random(shape) < effects.hot_fraction) & ~reference & ~dead
    dark = np.full(shape, det.DARK_CURRENT_E_PER_S if effects.dark else 0.0)
    # Hot pixels: dark log-uniform in 10-1000 e-/s (placeholder range).
    dark[hot] = 10 ** rng.uniform(1, 3, hot.sum())
    dark[dead | reference] = 0.0
    bias = np.zeros(shape)
    if effects.bias:
        bias = det.BIAS_DN + effects.bias_scatter_dn * rng.standard_normal(shape)
    return DetectorTruth(
        gain=np.full(shape, det.GAIN_E_PER_DN),
        read_noise=np.full(shape, det.READ_NOISE_DN if effects.read_noise else 0.0),
        bias=bias,
        dark_rate=dark,
        full_well=np.full(shape, det.FULL_WELL_E if effects.saturation else np.inf),
        dead=dead,
        hot=hot,
        reference=reference,
    )


def accumulate(rate_e, readout, poisson, rng):
    """Collected charge (e-) at each group read, shape ``(nints, ngroups, ny, nx)``."""
    t_g = readout_rules.group_time(readout.subarray, readout.readpatt)
    shape = (readout.nints, readout.ngroups) + rate_e.shape
    mean_step = np.broadcast_to(rate_e * t_g, shape)
    steps = rng.poisson(mean_step).astype(np.float64) if poisson else np.array(mean_step, np.float64)
    return np.cumsum(steps, axis=1)


def events(readout, truth, effects, rng):
    """Cosmic-ray and shower charge at each read (e-) and their truth records."""
    shape = (readout.nints, readout.ngroups) + truth.gain.shape
    charge = np.zeros(shape)
    mask = np.zeros(shape, np.uint8)  # bit 1: cosmic-ray arrival, bit 2: shower arrival
    hits = {k: np.empty(0) for k in ("hit", "t", "y", "x", "integration", "group", "charge_e")}
    shower_list = []
    if effects.cosmic_rays:
        hits = cosmic_rays.deposits(readout, truth.gain.shape,
                                    cosmic_rays.CosmicRayModel(rate_per_pixel_s=effects.cosmic_ray_rate), rng)
        seen = hits["group"] < readout.ngroups
        increments = np.zeros(shape)
        np.add.at(increments, (hits["integration"][seen], hits["group"][seen], hits["y"][seen], hits["x"][seen]),
                  hits["charge_e"][seen])
        charge += np.cumsum(increments, axis=1)
        mask[hits["integration"][seen], hits["group"][seen], hits["y"][seen], hits["x"][seen]] |= 1
    if effects.showers:
        model = showers.ShowerModel(rate_per_detector_s=effects.shower_rate)
        shower_list = showers.draw(readout, truth.gain.shape, model, rng)
        arrival = np.zeros(shape, bool)
        showers.add_charge(charge, arrival, shower_list, readout, truth.gain, model)
        mask[arrival] |= 2
    dead = truth.dead | truth.reference
    charge[:, :, dead] = 0.0
    return charge, mask, hits, shower_list


def ramps(illumination_e, readout, truth, effects, rng, emi_lines=()):
    """Raw ramps in DN, float32 ``(nints, ngroups, ny, nx)``, as the uncal stores them,
    and the truth of what went in: linear signal (DN), event masks and lists.

    ``emi_lines`` (:func:`emi.draw`) are added without drawing from ``rng``, so the
    same ``rng`` gives the same noise with and without EMI.
    """
    rate = np.where(truth.dead | truth.reference, 0.0, illumination_e) + truth.dark_rate
    charge = accumulate(rate, readout, effects.poisson, rng)
    event_charge, event_mask, hits, shower_list = events(readout, truth, effects, rng)
    charge += event_charge
    np.minimum(charge, truth.full_well, out=charge)
    linear = (truth.bias + charge / truth.gain).astype(np.float32)
    if effects.nonlinearity:
        charge = nonlinearity.response(charge, truth.full_well, nonlinearity.NonlinearityModel())
    signal = truth.bias + charge / truth.gain
    if effects.reset_anomaly:
        signal += reset.offsets(readout.ngroups, reset.ResetModel())[:, None, None]
    emi.add(signal, emi_lines, readout)
    if effects.read_noise:
        signal += truth.read_noise * rng.standard_normal(signal.shape)
    if effects.digitize:
        signal = np.clip(np.rint(signal), 0, det.ADC_MAX_DN)
    return signal.astype(np.float32), dict(linear=linear, mask=event_mask, hits=hits, showers=shower_list,
                                           emi=list(emi_lines))
