"""The detector: illumination (e-/s) -> up-the-ramp samples (DN) on the read clock.

Model, per pixel and integration (params 1; defaults 6-12):

    Q_k = min( sum_{j<=k} Poisson((I + D) t_g) + C_k + H_k, W ),   k = 0 .. ngroups-1
    S_k = B + N(Q_k) / g + r_k + N(0, sigma_r^2),  digitised to integers in [0, 65535]

with I the illumination (in a time series ``R(t) [I_s + I_v f(t)]``: a varying part
``I_v f(t)``, e.g. a transit, and the settling response ``R`` of :mod:`settling`, at the
mid-time of the group's charge collection, :func:`readclock.group_mid_times`), D the
dark current (0.2 e-/s; hot pixels far more), t_g the
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

from . import cosmic_rays, emi, nonlinearity, readclock, reset, settling, showers


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
    shape = sub.shape
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


def draw_events(readout, truth, effects, rng):
    """The cosmic rays and showers of an exposure: ``{"hits": ..., "showers": [...]}``.

    ``hits``: the deposits of :func:`cosmic_rays.deposits` (empty arrays without cosmic
    rays); ``showers``: :func:`showers.draw`'s list.
    """
    shape = truth.gain.shape
    hits = {k: np.empty(0) for k in ("hit", "t", "y", "x", "integration", "group", "charge_e")}
    shower_list = []
    if effects.cosmic_rays:
        model = cosmic_rays.CosmicRayModel(rate_per_pixel_s=effects.cosmic_ray_rate)
        hits = cosmic_rays.deposits(readout, shape, model, rng)
    if effects.showers:
        shower_list = showers.draw(readout, shape, showers.ShowerModel(rate_per_detector_s=effects.shower_rate), rng)
    return {"hits": hits, "showers": shower_list}


def _seen(hits, readout):
    """``(integration, group, y, x, charge_e)`` of the cosmic-ray deposits a read sees."""
    seen = hits["group"] < readout.ngroups
    return (*(hits[name][seen].astype(np.int64) for name in ("integration", "group", "y", "x")),
            hits["charge_e"][seen])


class _EventCharge:
    """The charge (e-) the events put in each read, one frame at a time, reads in order.

    A hit's charge stays for the rest of its integration: frame k holds the deposits of
    groups <= k, summed group by group as a cumulative sum over the groups would; the
    showers' released charge comes on top; dead and reference pixels get none.
    """

    def __init__(self, readout, truth, events):
        self.ngroups = readout.ngroups
        i, k, y, x, q = _seen(events["hits"], readout)
        order = np.argsort(i * self.ngroups + k, kind="stable")  # each frame's deposits in table order
        self.frame, self.y, self.x, self.q = (i * self.ngroups + k)[order], y[order], x[order], q[order]
        self.deposits = showers.deposits(events["showers"], readout, truth.gain)
        self.model = showers.ShowerModel()  # how charge is released; only the rate, spent on the draw, is set
        self.starts = readclock.frame_starts(readout)
        self.resets = np.arange(readout.nints) * (readout.ngroups + 1) * readout.frame_time
        self.dead = truth.dead | truth.reference
        self.deposited = np.zeros(truth.gain.shape)

    def __call__(self, i, k):
        """The event charge of read ``k`` of integration ``i``, ``(ny, nx)``."""
        if k == 0:
            self.deposited[:] = 0.0
        n = i * self.ngroups + k
        lo, hi = np.searchsorted(self.frame, [n, n + 1])
        if hi > lo:
            increment = np.zeros(self.deposited.shape)
            np.add.at(increment, (self.y[lo:hi], self.x[lo:hi]), self.q[lo:hi])
            self.deposited += increment
        frame = self.deposited.copy()
        showers.add_charge(frame, self.deposits, self.starts[i, k], self.resets[i], self.model)
        frame[self.dead] = 0.0
        return frame


def _mean_step(illumination_e, readout, truth):
    """Mean charge (e-) a pixel collects in one group: illumination (none in dead and reference pixels) and dark."""
    rate = np.where(truth.dead | truth.reference, 0.0, illumination_e) + truth.dark_rate
    return rate * readout_rules.group_time(readout.subarray, readout.readpatt)


def _mean_steps(illumination_e, readout, truth, effects, variation):
    """The mean charge (e-) of every group, in read order: an iterator of ``(ny, nx)`` arrays.

    Constant light (no ``variation``, no settling): the one :func:`_mean_step`, repeated.
    Otherwise the light at each group's mid-time ``t`` (module docstring),
    ``R(t) (illumination + image * factor(t))`` with ``variation = (image, factor)``.
    """
    if variation is None and not effects.settling:
        step = _mean_step(illumination_e, readout, truth)
        return (step for _ in range(readout.nints * readout.ngroups))

    def steps():
        for t in readclock.group_mid_times(readout).ravel():
            light = illumination_e if variation is None else illumination_e + variation[0] * variation[1](t)
            yield _mean_step(light * settling.response(t, effects), readout, truth)

    return steps()


def _charges(steps, readout, truth, events):
    """``(i, k, Q)``: the charge (e-) of each read, in read order, up to the full well.

    ``steps`` gives the charge collected in each group, frame by frame in read order (the
    Poisson draws, or the mean without Poisson noise); it is accumulated since the
    integration's reset, with the events' charge on top.
    """
    event_charge = _EventCharge(readout, truth, events)
    for i in range(readout.nints):
        collected = np.zeros(truth.gain.shape)
        for k in range(readout.ngroups):
            collected += next(steps)
            charge = event_charge(i, k)
            charge += collected
            np.minimum(charge, truth.full_well, out=charge)
            yield i, k, charge


def event_mask(readout, truth, events):
    """Where events first appear, ``(nints, ngroups, ny, nx)`` uint8 (the truth's EVENTS).

    Bit 1: a cosmic ray, bit 2: a shower (inside its e^-2 ellipse), from the ``hits`` and
    ``showers`` of :func:`ramps`.  Made when it is written, not with the ramps: it is a
    quarter of a ramp.
    """
    mask = np.zeros((readout.nints, readout.ngroups) + truth.gain.shape, np.uint8)
    mask[_seen(events["hits"], readout)[:4]] |= 1
    for d in showers.deposits(events["showers"], readout, truth.gain):
        mask[d.arrival] |= 2
    return mask


def linear_signal(illumination_e, readout, truth, effects, events, variation=None):
    """``B + Q / g`` of every read, DN, float32 ``(nints, ngroups, ny, nx)`` (the truth's LINEAR).

    The ramps of :func:`ramps` without nonlinearity, offsets, EMI and noise.  Made apart
    from the ramps, as each is as large as a ramp: the Poisson draws of :func:`ramps` are
    replayed from the generator state it recorded (``events["poisson_state"]``) and its
    events are added again, so the charge is the ramps' exactly (it costs the time of the
    draws again).  ``variation``: as :func:`ramps` took it.
    """
    steps = _mean_steps(illumination_e, readout, truth, effects, variation)
    if effects.poisson:
        state = events["poisson_state"]
        rng = np.random.Generator(getattr(np.random, state["bit_generator"])())
        rng.bit_generator.state = state
        steps = (rng.poisson(mean) for mean in steps)
    out = np.empty((readout.nints, readout.ngroups) + truth.gain.shape, np.float32)
    for i, k, charge in _charges(steps, readout, truth, events):
        out[i, k] = truth.bias + charge / truth.gain
    return out


def ramps(illumination_e, readout, truth, effects, rng, emi_lines=(), variation=None):
    """Raw ramps in DN, float32 ``(nints, ngroups, ny, nx)``, as the uncal stores them, and what went in.

    What went in: the events (``hits``, ``showers``; their mask: :func:`event_mask`), the
    ``emi`` lines and the ``poisson_state`` from which :func:`linear_signal` makes the
    linear signal.

    ``variation``: ``(image, factor)``, light varying in time on top of
    ``illumination_e`` (:meth:`simulator.illumination.Illumination.varying`); None, and
    settling off, make every group's mean charge the same.

    ``emi_lines`` (:func:`emi.draw`) are added without drawing from ``rng``, so the
    same ``rng`` gives the same noise with and without EMI.

    The ramps are made one frame (integration, group) at a time, so besides them only a
    few frames are in memory.  ``rng`` is drawn as a draw of the whole cube would take it:
    the Poisson charge of every frame (kept in the output until the frame's signal
    replaces it: float32 counts are exact to 2^24 e-, 80 full wells in one group), then
    the events, then the read noise of every frame.
    """
    steps = _mean_steps(illumination_e, readout, truth, effects, variation)
    poisson_state = rng.bit_generator.state
    out = np.empty((readout.nints, readout.ngroups) + truth.gain.shape, np.float32)
    frames = out.reshape((-1,) + truth.gain.shape)
    if effects.poisson:
        for frame, mean in zip(frames, steps, strict=True):
            frame[...] = rng.poisson(mean)
        steps = iter(frames)
    events = draw_events(readout, truth, effects, rng)
    offsets = reset.offsets(readout.ngroups, reset.model_of(effects)) if effects.reset_anomaly else None
    starts, read_offsets = readclock.frame_starts(readout), readclock.pixel_offsets(readout)
    for i, k, charge in _charges(steps, readout, truth, events):
        if effects.nonlinearity:
            charge = nonlinearity.response(charge, truth.full_well, nonlinearity.NonlinearityModel())
        signal = truth.bias + charge / truth.gain
        if offsets is not None:
            signal += offsets[k]
        if emi_lines:
            signal += emi.waveform_at(emi_lines, starts[i, k], read_offsets)
        if effects.read_noise:
            signal += truth.read_noise * rng.standard_normal(signal.shape)
        if effects.digitize:
            signal = np.clip(np.rint(signal), 0, det.ADC_MAX_DN)
        out[i, k] = signal
    return out, dict(events, emi=list(emi_lines), poisson_state=poisson_state)
