"""EMI correction: remove the interference waveform each pixel picked up at its read time.

Timing (params 2, "Pixel time model", the model of ``jwst/emicorr/emicorr.py``): in
pixel clocks, pixel (y, x) of group k of integration i is read at

    tau = T_n + o_p,  T_n = (i (ngroups + nresets) + k) * frameclocks,
                      o_p = y * rowclocks + (x // 4) * nsamples,

with rowclocks and frameclocks from the EMICORR reference's subarray case (so a CRDS
file drops in), nresets the reset frames between integrations (1 for FASTR1/SLOWR1).
The full frame's right reference columns are read 3 clocks later still
(:func:`instrument.readout.read_offset_clocks`).

Variants (registry step ``emi``):

``joint`` (default). Least squares over all pixels at once of

    y_pn = a_pi + b_p k + c_n + sum_lines sum_{h<=H} [alpha_h cos(h w tau) + beta_h sin(h w tau)]

(per-pixel intercept per integration, one per-pixel rate shared by all integrations,
per-group offsets common to all pixels, which absorb the reset anomaly and frame
drifts, and each line's waveform as H harmonics whose shape is learned from the data).
When the EMICORR reference stores a waveform with harmonics (``phase_amplitudes``, as CRDS's
files and the testbed's measured one do), its shape is the prior of each exposure's: scaled
and shifted to the fitted harmonics, it fixes those the data hardly determine, and an
exposure keeps its own departures where the data show them (``take_shapes`` in
:func:`correct_joint`; SUB128 10 groups, measured reference: 5.3 % -> 0.8 %,
``benchmarks/emi_accuracy.py``).  A stale shape (the departures beyond its stated spread),
a pure sine or no waveform: the shape is learned from the data alone.  The notes (HISTORY)
say which.  ``shape_prior=False`` ignores the reference's shape.
The shared rate matters: a harmonic that is nearly a whole number of periods per frame
(the 2nd in SUB128: 93.0 periods, turning by 2 pi 93 delta per frame at a frequency
offset delta) is, within one integration, nearly a per-pixel ramp and so degenerate with
the rate; across integrations it turns while the rate does not.  Reference pixels
(``REFERENCE_PIXEL`` in the pixel DQ: the 4 columns at each edge of the full frame, which
collect no photo-current but are read through the same outputs) are fitted with no rate
(b_p = 0) and per-group offsets of their own (their drifts need not be the science
pixels'): in one integration they are what tells such a harmonic from the rates (SUB128,
10 groups: Cramer-Rao floor 5.1 % without them, 2.1 % with them).  The simulator reads
them as it reads the rest; that real reference pixels see the same EMI is an assumption
(the pickup is in the readout chain), and ``reference_pixels=False`` turns them off.
A pixel whose rate changes between integrations (a cosmic ray) fails the chi^2 test
below and is clipped.
The per-pixel line is projected out
with one projector P (group times are shared), and because tau = T_n + o_p each
harmonic column factorises, ``cos(h w (T + o)) = cos(h w T) cos(h w o) - sin(h w T)
sin(h w o)``: the 2H x 2H normal equations are sums of per-pixel rotations of a
group-level matrix, accumulated in row blocks in O(N npix H) with one matrix product,
and the common offsets are eliminated by a Schur complement.  Weights: 1 / (read noise^2
+ Poisson variance of the pixel's rate); saturated, DO_NOT_USE and flagged pixels are
left out and pixels whose ramp residual is a chi^2 outlier (cosmic rays) are clipped
once.  The frequency is refined (the reference can be off by ~1e-4): a grid scan of the
explained chi^2 over +/- ``MAX_DRIFT`` on a pixel sample, a parabola through the best
three points, and a finer scan; lines are refined one at a time, and only when the
data prefer another frequency by chi^2 > ``MIN_DRIFT_CHI2`` (with 3 groups and one
integration a frequency offset shows only through the phase gradient within a frame,
and is not measurable).  A harmonic is subtracted only when the group-varying power it
explains exceeds ``MIN_HARMONIC_POWER`` times its noise, with the noise marginalised
over the fitted frequency, and is then shrunk by 1 - noise / power (:func:`_weakest`;
harmonics are dropped one at a time, weakest first, and the rest refitted and tested again):
this is what keeps a poorly determined near-whole-period harmonic from adding noise.  A
line is subtracted only when it is detected as a whole: its Wald statistic gamma_l^T Cov_ll^-1
gamma_l beyond the chi^2_{2 H_l} quantile at ``LINE_PROBABILITY`` (:func:`_undetected`; the
power test alone let pure noise through in nearly collinear harmonics).  All
integrations are fitted together (the
phase runs on through the reset frames).  Needs >= 3 groups: one constraint per pixel
and integration.  Statistical floor: :mod:`validation.emi_score`.

``fold``: phase folding as the pipeline's sequential algorithm does it: each pixel's
ramp is detrended by its own line, the residuals (less their per-group median) are
binned by each pixel's phase at the reference frequency (period / 2 bins, at most
500), the bin means form the waveform template, which is subtracted at every pixel's
phase.  The template keeps only its significant Fourier terms (up to ``FOLD_HARMONICS``,
each tested as the joint fit tests a harmonic, :func:`_significant_template`): a raw
template of bin means would subtract its own noise and move EMI-free rates by 0.1-0.5
sigma.  No frequency refinement.  The line fit absorbs much of the waveform when there
are few groups, so it is biased there (jwst requires 10 or more groups).

``none``; and, with the ``peers`` extra, ``jwst_sequential`` and ``jwst_joint``
(:mod:`calibration.peers`).

A line whose frame is a whole number of periods (:func:`instrument.emi.whole_periods`,
e.g. 390 Hz in FULL, BRIGHTSKY, SUB256) is skipped and the products say so: there the
EMI is a constant per pixel that a slope does not see.  A reference that lacks the
exposure's subarray/readout, or no EMICORR reference at all, skips the step with a
note in the products (the JWST step does the same).

Wherever a line stays in the ramps (a skip, a decline, a line a variant leaves in and says
so with a :class:`LeftIn` note, a whole-period line), its variance goes into the rate's
errors (:mod:`calibration.emi_noise`), from the amplitude of the reference's waveform.
"""
import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import chdtrc, chdtri, gammaincinv  # chi^2 sf, isf, and 2 x it for the median
from threadpoolctl import threadpool_limits

from miri_testbed.instrument import dq, readout
from miri_testbed.instrument import emi as facts
from miri_testbed.instrument.detector import N_OUTPUTS, PIXEL_CLOCK_S

from . import CalibrationInputError, Skip, native, populated_array
from . import references as refs

MAX_HARMONICS = 5
FOLD_HARMONICS = 16  # Fourier terms the fold template may keep (each tested)
MAX_FOLD_CONDITION = 1e3  # largest condition number of the fold template's harmonic fit
MAX_DRIFT = 2e-4  # largest relative frequency offset searched
MIN_HARMONIC_POWER = 6.0  # explained group-varying power / its noise (_weakest); a pure-noise
# harmonic passes with probability exp(-6) = 0.25 % (chi^2_2 > 12), a look-elsewhere margin over the
# 2 x 5 harmonics tested.  4 would keep SUB128's near-whole-period 2nd harmonic more often (10 groups,
# seeds 1-6: 2.9 % instead of 4.5 %) but also pure-noise ones (a ratio that is chi^2_1-like where
# a harmonic's two columns differ in weight passes 4 with ~4 %): SUB64, 6 groups, a pure sine, keeps
# its 3rd and 5th at 4.4 and 5.4 times their noise, 3.9 % instead of 3.0 % (10 seeds of the same
# configuration: mean ratio of the 3rd 1.1, as noise)
MAX_HARMONIC_NOISE = 1.0  # noise of a harmonic's estimate per group-varying read, in read variances
MIN_DRIFT_CHI2 = 2.0  # chi^2 gain for moving off the reference frequency: the fitted offset has the
# smaller expected error once (offset / sigma)^2 > 1, i.e. an observed gain of about 2.  A margin costs
# more than it saves: 4 left SLITLESSPRISM at 3 groups x 1 at 1.23x its floor with a 1e-4 offset (16
# seeds; 2: 0.97x) and gained 0.013x without one (0.835x against 0.848x); 9 left a 2.4-sigma offset
# (FULL, 3 groups, -5e-5) unrefined at 1.37 %
MIN_GROUP_PHASE = 1e-6  # cycles per frame below which a harmonic is constant per pixel
CLIP_PROBABILITY = 1e-4  # chi^2 tail beyond which a pixel's ramp is an outlier
SCAN_PIXELS = 65536  # pixel sample for the frequency scan
SCAN_TOLERANCE = 1e-12  # error of the frequency scan's expanded projections, relative to sum |Rw| (_Expansion)
BLOCK_SAMPLES = 4_000_000  # samples (groups x pixels) per row block
MIN_SHAPE_HARMONIC = 1e-3  # a reference harmonic below this fraction of the fundamental is no part of its shape
SHAPE_JITTER = 0.05  # rms departure of an exposure's harmonic from the reference's shape, relative: the prior's
# width (UNSOURCED: the simulator's emi_shape_jitter placeholder; how stable MIRI's waveform is has not been found)
LINE_PROBABILITY = 1e-3  # a line whose coefficients are this likely in pure noise is not detected (_undetected)
SHAPE_PROBABILITY = 1e-3  # departures less likely than this under the prior: the shape is stale, not used
SHAPE_PHASES = 720  # grid of the shape's shift (0.5 degree of the fundamental) before a parabola refines it
BAD_GROUP = dq.SATURATED | dq.DO_NOT_USE | dq.JUMP_DET


@dataclass(frozen=True)
class EmiLine:
    """A line of the EMICORR reference: name, frequency (Hz), stored waveform (one period, DN; None if absent)."""

    name: str
    frequency_hz: float
    waveform: np.ndarray = None


class LeftIn(str):
    """A note of the EMI step saying that it left line ``line`` in the ramps (its text goes to HISTORY).

    A variant that runs but does not correct a line (not detected, nothing significant
    to subtract) says so with one; :mod:`calibration.emi_noise` then counts the line's
    variance in the rate's errors.
    """

    def __new__(cls, text, line):  # noqa: D102 (the class docstring says it)
        note = super().__new__(cls, text)
        note.line = line
        return note


@dataclass(frozen=True)
class EmiCase:
    """What the EMICORR reference says about an exposure's configuration."""

    subarray: str
    readpatt: str
    detector: str
    rowclocks: int
    frameclocks: int
    nsamples: int
    nresets: int
    lines: tuple  # EmiLine to correct
    skipped: tuple  # (line name, reason)
    xstart: int = 1
    xsize: int = 0
    model: object = None  # the EmiModel itself (for the jwst peers)

    def group_clocks(self, nints, ngroups):
        """Frame start of each (integration, group), pixel clocks, flattened ``(nints * ngroups,)``."""
        i = np.arange(nints)[:, None]
        k = np.arange(ngroups)[None, :]
        return ((i * (ngroups + self.nresets) + k) * float(self.frameclocks)).ravel()

    def pixel_clocks(self, ny, nx):
        """Clocks from the frame start to each pixel's read, ``(ny, nx)``."""
        return readout.read_offset_clocks(ny, nx, self.rowclocks, self.nsamples, self.xstart)


def _case_key(subarray, readpatt):
    speed = "SLOW" if "SLOW" in readpatt.upper() else "FAST"
    return (f"{subarray}_{speed}" if subarray.upper() == "FULL" else subarray), speed


def case_from_model(model, exposure):
    """The :class:`EmiCase` of ``exposure`` (a ``RampModel``) in an ``EmiModel``.

    Returns ``(case, None)``, or ``(None, reason)`` when the reference has no case for it.
    """
    meta = exposure.meta
    sub, readpatt, detector = str(meta.subarray.name), str(meta.exposure.readpatt), str(meta.instrument.detector)
    key, speed = _case_key(sub, readpatt)
    name = getattr(model.meta, "filename", None) or "EMICORR reference"
    case = getattr(model.subarray_cases, key, None)
    if case is None:
        return None, f"{name} has no subarray case {key!r} (readout {readpatt}): EMI not corrected"
    freqs = getattr(case.freqs, speed, None)
    if freqs is not None and speed == "SLOW":
        freqs = getattr(freqs, detector, None)
    if not freqs:
        return None, f"{name} lists no EMI line for {key} {readpatt} {detector}: EMI not corrected"
    lines, skipped = [], []
    for line_name in list(freqs):
        line = reference_line(model, str(line_name))
        if line is None:
            raise CalibrationInputError(f"{name}: subarray case {key} names line {line_name!r}, "
                                        f"which is not among its frequencies")
        f = line.frequency_hz
        if facts.whole_periods(case.frameclocks, f):
            n = int(round(case.frameclocks / facts.period_clocks(f)))
            skipped.append((line.name, f"frame of {case.frameclocks} clocks is {n} whole periods of "
                                       f"{f} Hz: the EMI is a per-pixel constant that slopes do not see"))
            continue
        lines.append(line)
    nresets = meta.exposure.nresets_between_ints
    nresets = 1 if nresets is None and readpatt.upper() in ("FASTR1", "SLOWR1") else int(nresets or 0)
    return EmiCase(sub, readpatt, detector, int(case.rowclocks), int(case.frameclocks),
                   int(meta.exposure.nsamples or (9 if speed == "SLOW" else 1)), nresets, tuple(lines),
                   tuple(skipped), int(meta.subarray.xstart or 1), int(meta.subarray.xsize or exposure.data.shape[-1]),
                   model), None


def reference_line(model, name):
    """The :class:`EmiLine` called ``name`` in an ``EmiModel`` (None when it has no such frequency)."""
    info = getattr(model.frequencies, name, None)
    if info is None:
        return None
    wave = getattr(info, "phase_amplitudes", None)
    return EmiLine(name, float(info.frequency), None if wave is None else np.asarray(wave, np.float64))


def find_case(folder, exposure):
    """Load EMICORR from ``folder`` and return ``(case, reason)`` as :func:`case_from_model`."""
    try:
        model = refs.load(folder, "EMICORR", exposure)
    except CalibrationInputError as exc:
        return None, f"EMI not corrected: {exc}"
    return case_from_model(model, exposure)


# ----------------------------------------------------------------------------- joint fit

@functools.cache
def _kernels():
    """:mod:`calibration.emi_kernels`, imported when the joint fit first runs.

    numba (~0.16 s, ~0.13 GB) is then not loaded by what only imports the registry (the CLI's other commands,
    the scorers).
    """
    from . import emi_kernels

    return emi_kernels


def project_off_ramps(Y, nints, ngroups, rate="shared", in_place=False):
    """``P Y`` along axis 0 (``nints * ngroups`` reads): P = I - X X^+ projects off the per-pixel ramp model.

    The model has one intercept per integration and a rate: one shared by all integrations
    (``"shared"``), one per integration (``"per_integration"``) or none (``"none"``:
    reference pixels; it is then the per-integration centring).  The intercepts and the
    centred read index are orthogonal, so P Y is Y less its mean in each integration less
    its projection on the centred index (over all integrations, or each apart): O(N) per
    column (:func:`calibration.emi_kernels.project`), where the N x N projector was O(N^2) in time and memory
    (1000 integrations of 10 groups: 800 MB, and most of the step's time).  The result is a new float64 array,
    or ``Y`` itself (C-contiguous float64) when ``in_place``.
    """
    kernels = _kernels()
    if rate not in kernels.RATES:
        raise ValueError(f"unknown ramp model rate {rate!r}")
    R = Y if in_place else np.array(Y, np.float64, order="C")
    kernels.project(R.reshape(nints * ngroups, -1), ngroups, kernels.RATES[rate])
    return R


_ALPHA = np.eye(2)
_BETA = np.array([[0.0, 1.0], [-1.0, 0.0]])  # rotation M = ALPHA cos + BETA sin


def _pairs(columns):
    """Indices of the (cos, sin) pairs of harmonic columns ``columns`` in G or gamma."""
    return np.stack([2 * np.asarray(columns, int), 2 * np.asarray(columns, int) + 1], axis=1).ravel()


class _Basis:
    """Harmonic columns of the lines: group-level ``G`` (N x 2J) and per-column h*w (J,).

    ``like``: a basis of the same read times whose columns at the same h*w are taken, not computed again, with
    their projections (:meth:`projected`): the frequency scan moves one line at a time.
    """

    def __init__(self, T, omegas, harmonics, like=None):
        self.omegas, self.T = list(omegas), T
        self.hw = np.array([h * w for w, hs in zip(omegas, harmonics, strict=True) for h in hs])
        self.owner = [(li, h) for li, hs in enumerate(harmonics) for h in hs]
        known = {} if like is None else {x: j for j, x in enumerate(like.hw)}
        self.like = like
        self.new = [j for j, x in enumerate(self.hw) if x not in known]
        self.taken = (_pairs([j for j, x in enumerate(self.hw) if x in known]),  # G's columns taken from like's
                      _pairs([known[x] for x in self.hw if x in known]))
        self.G = np.empty((T.size, 2 * self.hw.size))
        if self.taken[0].size:
            self.G[:, self.taken[0]] = like.G[:, self.taken[1]]
        z = self.phasors(T, self.new)
        self.G[:, 2 * np.array(self.new, int)], self.G[:, 2 * np.array(self.new, int) + 1] = z.real.T, z.imag.T
        self._projected = {}

    def projected(self, P):
        """``P(G)`` for a ramp projector ``P`` (:func:`project_off_ramps`), computed once per basis and projector."""
        if P not in self._projected:
            if self.taken[0].size:
                PG = np.empty_like(self.G)
                PG[:, self.taken[0]] = self.like.projected(P)[:, self.taken[1]]
                PG[:, _pairs(self.new)] = P(self.G[:, _pairs(self.new)])
            else:
                PG = P(self.G)
            self._projected[P] = PG
        return self._projected[P]

    def line_columns(self, li):
        """Indices of line ``li``'s coefficients (two per harmonic) in gamma."""
        return np.array([c for j, (lj, _) in enumerate(self.owner) if lj == li for c in (2 * j, 2 * j + 1)], int)

    def phasors(self, x, columns=None):
        """exp(i h w x) of the columns ``columns`` (default all), ``(len(columns), x.size)`` complex.

        exp(i h w x) is the h-th power of exp(i w x), one complex exponential per line (the trig functions
        were most of the fit's time, and the frequency scan's).
        """
        columns = range(self.hw.size) if columns is None else columns
        z = np.empty((len(columns), x.size), np.complex128)
        for li, w in enumerate(self.omegas):
            rows = {self.owner[j][1]: r for r, j in enumerate(columns) if self.owner[j][0] == li}
            if not rows:
                continue
            base, power = np.exp(1j * w * x), 1.0
            for h in range(1, max(rows) + 1):
                power = power * base
                if h in rows:
                    z[rows[h]] = power
        return z

    def pixel_trig(self, o):
        """Cos and sin of h w o for every column, ``(J, npix)`` each."""
        z = self.phasors(o)
        return np.ascontiguousarray(z.real), np.ascontiguousarray(z.imag)


class _Expansion:
    """The projections of a class's ramps on the harmonic columns near base frequencies, for the frequency scan.

    Each harmonic column (h, w) has ``b + i b' = sum_{n,p} Rw_np exp(i h w (T_n + o_p))``
    (:func:`_accumulate`).  With the pixel offsets about their middle, ``o_p = o_c + delta_p``
    (``|delta_p| <= D``), and ``w = w0 (1 + d)``, the Taylor series of exp(i h w0 d delta_p) gives

        b + i b' = sum_n exp(i h w (T_n + o_c)) sum_{m<M} (i h w0 d D)^m / m! Z_m(n),
        Z_m(n) = sum_p Rw_np exp(i h w0 delta_p) (delta_p / D)^m.

    The Z are one product with the ramps (M columns per harmonic); a trial frequency then
    costs O(N M), not O(N npix) (the scan's ~170 solves were 40 % of the step at 1000 x 10
    SLITLESSPRISM).  The series' remainder is at most x^M / M! e^x of each term (x = h w0
    |d| D), so M is the smallest with x^M / M! e^x <= ``SCAN_TOLERANCE`` at the largest
    offset allowed, and ``|b - b_exact| <= SCAN_TOLERANCE sum |Rw|`` (float32 rounding of
    the products aside, as in the direct sum).
    """

    def __init__(self, part, basis, max_offsets):
        """``part`` as :func:`_part` gives it, ``basis`` at w0, ``max_offsets`` the largest |d| of each line."""
        Rw, o = part[0], part[2]
        self.centre = (o.min() + o.max()) / 2
        delta = o - self.centre
        self.D = max(float(np.abs(delta).max()), 1.0)
        self.hw0 = basis.hw
        self.max_offset = np.array([max_offsets[li] for li, _ in basis.owner])
        self.terms = self.terms_for(basis, max_offsets, self.D)
        c, s = basis.pixel_trig(delta)
        rows = []
        for j, M in enumerate(self.terms):
            powers = (delta / self.D)[None, :] ** np.arange(M)[:, None]
            rows += [c[j] * powers, s[j] * powers]
        Z = np.concatenate(rows).astype(Rw.dtype) @ Rw.T  # (2 sum M, N), in the cache's float32
        self.Z, start = [], 0
        self.unmoved = {}  # column -> its projections at its base frequency (a line the scan does not move)
        for M in self.terms:
            self.Z.append(Z[start : start + M].astype(np.float64) + 1j * Z[start + M : start + 2 * M])
            start += 2 * M

    @staticmethod
    def terms_for(basis, max_offsets, D):
        """The series' terms M of each column of ``basis`` for offsets up to ``max_offsets`` (per line), ``D``."""
        return [_taylor_terms(basis.hw[j] * D * max_offsets[li]) for j, (li, _) in enumerate(basis.owner)]

    def projections(self, basis):
        """``b`` (2J) of :func:`_accumulate` for ``basis`` (the base one's harmonics, offset frequencies)."""
        d = basis.hw / self.hw0 - 1
        if np.any(np.abs(d) > self.max_offset + 1e-12):
            raise ValueError("frequency outside the range the expansion was made for")
        b = np.empty(2 * d.size)
        for j, (Z, M) in enumerate(zip(self.Z, self.terms, strict=True)):
            if d[j] == 0 and j in self.unmoved:
                value = self.unmoved[j]
            else:
                m = np.arange(M)
                coef = (1j * self.hw0[j] * d[j] * self.D) ** m / np.cumprod(np.maximum(m, 1.0))  # m!: 21! > int64
                phasor = basis.G[:, 2 * j] + 1j * basis.G[:, 2 * j + 1]  # exp(i h w T)
                value = np.exp(1j * basis.hw[j] * self.centre) * (phasor @ (coef @ Z))
                if d[j] == 0:
                    self.unmoved[j] = value
            b[2 * j], b[2 * j + 1] = value.real, value.imag
        return b


def _taylor_terms(x):
    """The fewest terms M of the series of exp(i y), |y| <= x, whose remainder x^M / M! e^x <= SCAN_TOLERANCE."""
    M, term = 1, x
    while term * np.exp(x) > SCAN_TOLERANCE:
        M += 1
        term *= x / M
    return M


def _part(Rw, wq, o):
    """A class's aggregated ramps as :func:`_accumulate` takes them, with ``Rw`` summed over the read times.

    That sum does not depend on the frequencies: taken once, not at each of the frequency
    scan's solves (a pass over the whole cache each).
    """
    return Rw, wq, o, Rw.sum(axis=1, dtype=np.float64)


def _accumulate(Rw, wq, o, rsum, basis, expansion=None):
    """The sums over pixels the normal equations need (additive over pixel blocks).

    From ``Rw``, the weighted projected ramps summed over the pixels that share a read time
    (the 4 outputs), ``wq`` their summed weights, ``o`` their clock offsets and ``rsum``
    the sum of ``Rw`` over them (:func:`_part`); the projections ``b`` from ``expansion``
    (an :class:`_Expansion` of these ramps) when given.
    """
    c, s = basis.pixel_trig(o)
    if expansion is None:
        U = basis.G.T.astype(Rw.dtype) @ Rw  # in the cache's float32 when from it: no float64 copy of the cache
        u0, u1 = U[0::2], U[1::2]
        b = np.empty(U.shape[0])
        b[0::2] = np.sum(c * u0 - s * u1, axis=1)
        b[1::2] = np.sum(s * u0 + c * u1, axis=1)
    else:
        b = expansion.projections(basis)
    F = np.concatenate([c, s])
    return {"b": b, "gram": np.einsum("ip,jp->ij", F * wq, F),  # einsum: BLAS threads stall on this shape
            "sumc": c @ wq, "sums": s @ wq, "rsum": rsum, "W": float(wq.sum())}


def _accumulate_classes(classes, basis, expansions=None):
    """:func:`_accumulate` for each pixel class of :meth:`_JointFit.aggregate`.

    The classes (science, reference) each have their own ramp model; None for a class with no pixels.
    ``expansions``: an :class:`_Expansion` of each class (the frequency scan).
    """
    expansions = expansions or (None,) * len(classes)
    return tuple(None if part is None else _accumulate(*part, basis, expansion)
                 for part, expansion in zip(classes, expansions, strict=True))


def _columns_of(accs, columns, J):
    """The sums of :func:`_accumulate_classes` ``accs`` (of J harmonic columns) of the columns ``columns`` alone."""
    columns = np.asarray(columns, int)
    pairs = _pairs(columns)
    rows = np.concatenate([columns, columns + J])  # gram: the cos rows, then the sin rows
    return tuple(None if a is None else {"b": a["b"][pairs], "gram": a["gram"][np.ix_(rows, rows)],
                                         "sumc": a["sumc"][columns], "sums": a["sums"][columns], "rsum": a["rsum"],
                                         "W": a["W"]} for a in accs)


def _add(a, b):
    """Sum of two sums of :func:`_accumulate_classes` (either may be None)."""
    if a is None or b is None:
        return b if a is None else a
    return tuple(y if x is None else x if y is None else {k: x[k] + y[k] for k in x} for x, y in zip(a, b, strict=True))


def _pixel_sum(acc, basis, K):
    """Sum over pixels of w_p D_p^T M D_p, ``(2J, 2J)``, for a group-level projector M given as ``K`` = G^T M G.

    D_p are the waveform columns of pixel p: each pixel's columns are the group-level ones
    rotated by its own phase, so the sum is a contraction of ``G^T M G`` with the
    pixel sums of the rotations (``acc["gram"]``).
    """
    J = basis.hw.size
    K4 = K.reshape(J, 2, J, 2)
    g = acc["gram"]
    Cc, Cs, Sc, Ss = g[:J, :J], g[:J, J:], g[J:, :J], g[J:, J:]
    return (np.einsum("kulv,ua,vb,kl->kalb", K4, _ALPHA, _ALPHA, Cc)
            + np.einsum("kulv,ua,vb,kl->kalb", K4, _ALPHA, _BETA, Cs)
            + np.einsum("kulv,ua,vb,kl->kalb", K4, _BETA, _ALPHA, Sc)
            + np.einsum("kulv,ua,vb,kl->kalb", K4, _BETA, _BETA, Ss)).reshape(2 * J, 2 * J)


def _solve(accs, basis, projectors):
    """Waveform coefficients, their normal matrix, explained chi^2 and common offsets.

    Coefficients gamma (2J), their normal matrix S, explained chi^2, and each pixel
    class's common per-read offsets (None for an empty class).  ``accs`` and
    ``projectors`` (``P(Y)``, :func:`project_off_ramps`): one per class (science, reference), each
    with its own offsets, eliminated by its own Schur complement.  The offsets' columns are
    B = M (P G)^T, M block-diagonal with the pixel sums of the rotations (2 x 2 per harmonic), so that
    B B^T = M K M^T and B r = M (P G)^T r with K = (P G)^T P G = G^T P G (P a projector): no N-long B.
    """
    J = basis.hw.size
    S, rhs, parts = np.zeros((2 * J, 2 * J)), np.zeros(2 * J), []
    for acc, P in zip(accs, projectors, strict=True):
        if acc is None or acc["W"] <= 0:
            parts.append(None)
            continue
        PG = basis.projected(P)
        K = PG.T @ PG
        M = np.zeros((2 * J, 2 * J))  # M_(j,a),(j,u) = msum_jua
        for j in range(J):
            M[2 * j : 2 * j + 2, 2 * j : 2 * j + 2] = (_ALPHA * acc["sumc"][j] + _BETA * acc["sums"][j]).T
        S += _pixel_sum(acc, basis, K) - M @ K @ M.T / acc["W"]
        rhs += acc["b"] - M @ (PG.T @ acc["rsum"]) / acc["W"]
        parts.append((acc, PG, M))
    d = np.sqrt(np.maximum(np.diag(S), 1e-300))  # Jacobi scaling: columns differ by orders of magnitude
    gamma = np.linalg.lstsq(S / np.outer(d, d), rhs / d, rcond=1e-12)[0] / d
    offsets = [None if part is None else (part[0]["rsum"] - part[1] @ (part[2].T @ gamma)) / part[0]["W"]
               for part in parts]
    return gamma, S, float(rhs @ gamma), offsets


def _waveform(gamma, basis, o):
    """The fitted waveform at every read of pixels with clock offsets ``o``: ``(N, npix)``."""
    c, s = basis.pixel_trig(o)
    g0, g1 = gamma[0::2, None], gamma[1::2, None]
    V = np.empty((gamma.size, o.size))
    V[0::2] = c * g0 + s * g1
    V[1::2] = -s * g0 + c * g1
    return basis.G @ V


def _readable(a):
    """Whether the kernels (:mod:`calibration.emi_kernels`) read ``a`` as it is: C-contiguous, native byte order.

    Ramps read from FITS by stdatamodels are big-endian.
    """
    return a.flags.c_contiguous and a.dtype.isnative


class _JointFit:
    """The ramps of one exposure, projected off each pixel's ramp model, and their sums.

    The sums are those the normal equations need.  Reference pixels (``REFERENCE_PIXEL``; no photo-current) are
    a class of their own when ``reference_pixels``: no rate, and their own common offsets.
    """

    def __init__(self, data, groupdq, pixeldq, read_noise, gain, case, reference_pixels=True):
        self.data = data
        self.nints, self.ngroups, self.ny, self.nx = data.shape
        self.N = self.nints * self.ngroups
        self.reads = data.reshape(self.N, -1) if _readable(data) else None  # (N, npix); None: a copy of each block
        # P(Y) of the science and the reference pixels; the latter's is also the per-integration centring C
        self.projectors = tuple(functools.partial(project_off_ramps, nints=self.nints, ngroups=self.ngroups, rate=rate)
                                for rate in ("shared", "none"))
        self.T = case.group_clocks(self.nints, self.ngroups)
        self.o = case.pixel_clocks(self.ny, self.nx).ravel()
        self.Q = N_OUTPUTS if self.nx % N_OUTPUTS == 0 else 1  # pixels read at the same clock
        self.rows = max(1, BLOCK_SAMPLES // (self.N * self.nx))
        bad = (np.bitwise_or.reduce(groupdq.reshape(self.N, self.ny, self.nx), axis=0) & BAD_GROUP) != 0
        bad |= (pixeldq & dq.DO_NOT_USE) != 0
        rn = np.broadcast_to(np.asarray(read_noise, np.float64), (self.ny, self.nx))
        gn = np.broadcast_to(np.asarray(gain, np.float64), (self.ny, self.nx))
        bad |= ~np.isfinite(rn) | ~np.isfinite(gn) | (gn <= 0)
        self.rn2 = np.where(bad, 1.0, rn**2).ravel()
        self.gain = np.where(bad, 1.0, gn).ravel()
        self.good = ~bad.ravel()
        # A read time is a reference one when all the pixels read at it are reference pixels.
        ref = ((pixeldq & dq.REFERENCE_PIXEL) != 0).ravel() if reference_pixels else np.zeros(self.o.size, bool)
        self.reference = np.repeat(ref.reshape(-1, self.Q).all(axis=1), self.Q)
        self.weight = self.cached = self.sample = None
        self.memo = {}  # (pixel sample?, frequencies) -> (columns, their sums), :meth:`sums`

    def chi2(self, reads, sl, offsets, waveform=None, start=0):
        """Each pixel's ||P (y - e) - offsets||^2 for the ramps of slice ``sl`` less the ``waveform`` e.

        P the pixel's projector (its class's: :func:`project_off_ramps`), the offsets each
        class's common per-read ones (None: none); the ramps are the columns of ``reads`` (N, npix), C-contiguous,
        from ``start``, the waveform ``(N, npix / Q)`` at each read time (None: none).  One pass over the ramps,
        no residual array (:func:`calibration.emi_kernels.residual_chi2`).
        """
        science = ~self.reference[sl][:: self.Q]
        if waveform is None:
            waveform = np.zeros((self.N, science.size))
        off = np.stack([np.zeros(self.N) if o is None else o for o in offsets])
        return _kernels().residual_chi2(reads, start, waveform, self.Q, off, science, self.ngroups)

    def row_blocks(self):
        """``(y0, y1, sl)`` of each block of rows, ``sl`` its slice of the flattened pixels."""
        for y0 in range(0, self.ny, self.rows):
            y1 = min(self.ny, y0 + self.rows)
            yield y0, y1, slice(y0 * self.nx, y1 * self.nx)

    def blocks(self):
        """``(sl, reads, start)``: each row block's pixel slice, and its ramps: ``reads`` ``(N, npix)`` from ``start``.

        ``reads`` is the ramps themselves in their own dtype (float32), not a copy: the kernels that read them
        (:mod:`calibration.emi_kernels`) convert each value to float64 as they read it.  (A copy of the block
        when the ramps are not C-contiguous in the machine's byte order: the kernels read no other.)
        """
        for y0, y1, sl in self.row_blocks():
            if self.reads is not None:
                yield sl, self.reads, sl.start
            else:
                yield sl, native(self.data[:, :, y0:y1]).reshape(self.N, -1), 0

    def _weights(self, sl, reads, start):
        slope = _kernels().slopes(reads, start, sl.stop - sl.start, self.ngroups)
        charge = np.where(self.reference[sl], 0.0, np.maximum(slope, 0))  # reference pixels collect none
        var = self.rn2[sl] + charge / self.gain[sl] * self.ngroups / 6.0 + 1 / 12  # + quantisation
        return np.where(self.good[sl], 1.0 / var, 0.0)

    def aggregate(self, reads, start, w, sl):
        """Weighted projected ramps and weights summed over the pixels read at the same time.

        With their clock offsets and sums (:func:`_part`): ``(Rw, wq, o, rsum)`` for the science
        and the reference read times apart (None for a class with none), from the ramps of slice
        ``sl`` (the columns of ``reads`` from ``start``).  The pixels
        read at one time share a class and so a projector P, and sum_p w_p P y_p = P sum_p
        w_p y_p: the ramps are summed first and projected after, a quarter of the work.
        """
        q = self.Q
        wq, o, ref = w.reshape(-1, q).sum(axis=1), self.o[sl][::q], self.reference[sl][::q]
        sums = _kernels().weighted_reads(reads, start, w, q, ~ref)  # the science and the reference read times
        return tuple(_part(P(R, in_place=True), wq[m], o[m]) if m.any() else None
                     for P, R, m in zip(self.projectors, sums, (~ref, ref), strict=True))

    def prepare(self, basis):
        """Weights of all pixels, and the sums for ``basis`` in the same pass."""
        self.weight = np.zeros(self.o.size)
        acc = None
        for sl, reads, start in self.blocks():
            self.weight[sl] = self._weights(sl, reads, start)
            acc = _add(acc, _accumulate_classes(self.aggregate(reads, start, self.weight[sl], sl), basis))
        return acc

    def cache(self, offsets):
        """Keep the aggregated ramps in memory, so that the later solves need no pass over the data.

        A fit that refines its frequency solves about 60 times; without the cache each solve
        re-read and re-projected every ramp (most of the step's time in a FULL 100-group
        exposure, ``benchmarks/end_to_end.py``).  N x npix/4 float32, a quarter of the size of
        the ramps, filled block by block (no second copy).  Each class's common per-read
        ``offsets`` (those of a first solve, :func:`_solve`) are taken out first: the fit has
        such offsets free, so its solution does not change, and what float32 keeps to 1e-7 is
        then the ramps' residual about them, not drifts of tens of DN (the reference pixels').
        """
        ref = self.reference[:: self.Q]
        self.cached = tuple((populated_array((self.N, m.sum()), np.float32), np.empty(m.sum()), self.o[:: self.Q][m])
                            if m.any() else None for m in (~ref, ref))
        filled = [0, 0]
        for sl, reads, start in self.blocks():
            for c, part in enumerate(self.aggregate(reads, start, self.weight[sl], sl)):
                if part is not None:
                    Rw, wq = part[:2]
                    columns = slice(filled[c], filled[c] + wq.size)
                    if offsets[c] is not None:
                        Rw -= np.outer(offsets[c], wq)  # Rw is a new array (P's)
                    self.cached[c][0][:, columns], self.cached[c][1][columns] = Rw, wq
                    filled[c] = columns.stop
        self.cached = tuple(None if part is None else _part(*part) for part in self.cached)

    def make_sample(self):
        """The aggregated projected ramps of a sample of read times, for the frequency scan.

        Every ``nq // SCAN_PIXELS``-th read time: columns of the cache (:meth:`cache`).
        """
        ref = self.reference[:: self.Q]
        if ref.size < 2 * SCAN_PIXELS:  # every read time: the cache itself (a copy would cost a pass and memory)
            self.sample = self.cached
            return
        taken = np.arange(ref.size) % max(1, ref.size // SCAN_PIXELS) == 0
        self.sample = tuple(None if part is None or not taken[m].any() else _part(*(x[..., taken[m]] for x in part[:3]))
                            for part, m in zip(self.cached, (~ref, ref), strict=True))

    def sums(self, basis, sample=False):
        """The sums of :func:`_accumulate` for ``basis`` over the pixel sample, or all pixels (:meth:`cache`).

        The sums of the last columns asked for at each set of frequencies are kept, and those of any of
        their subsets taken from them (:func:`_columns_of`): the harmonic selection drops harmonics one at a
        time at the same frequencies, and the frequency test and the shape ask again for columns already
        summed, so most solves cost no pass over the cache (the same numbers but for the float32 rounding
        of the cache's product with the group-level columns, ``tests/test_emi.py``).
        """
        parts = self.sample if sample else self.cached
        key = (parts is not self.cached, tuple(basis.omegas))
        kept = self.memo.get(key)
        if kept is None or not set(basis.owner) <= set(kept[0]):
            kept = self.memo[key] = basis.owner, _accumulate_classes(parts, basis)
        return _columns_of(kept[1], [kept[0].index(owner) for owner in basis.owner], len(kept[0]))

    def waveform(self, gamma, basis, sl):
        """The fitted waveform at every read of the read times of slice ``sl``: ``(N, npix / Q)``.

        Once per read time: the Q pixels read at it share it.
        """
        return _waveform(gamma, basis, self.o[sl][:: self.Q])

    def clip(self, gamma, basis, offsets):
        """Drop pixels whose ramp residual is a chi^2 outlier (cosmic rays, bad ramps).

        The noise scale comes from the science pixels' median chi^2.
        """
        dof_science, dof_reference = max(self.N - 2 * self.nints, 1), self.N - self.nints
        chi2 = np.zeros(self.o.size)
        for sl, reads, start in self.blocks():
            chi2[sl] = self.weight[sl] * self.chi2(reads, sl, offsets, self.waveform(gamma, basis, sl), start)
        used = self.weight > 0
        science = used & ~self.reference
        scale = np.median(chi2[science]) / (2 * gammaincinv(dof_science / 2, 0.5)) if science.any() else 1.0
        limit = np.where(self.reference, chdtri(dof_reference, CLIP_PROBABILITY),
                         chdtri(dof_science, CLIP_PROBABILITY))
        outliers = used & (chi2 > scale * limit)
        self.weight[outliers] = 0.0
        return int(outliers.sum()), scale


def _explained(fit, omegas, harmonics, sample=False):
    """The chi^2 the waveform at frequencies ``omegas`` explains (pixel sample or all)."""
    basis = _Basis(fit.T, omegas, harmonics)
    return _solve(fit.sums(basis, sample=sample), basis, fit.projectors)[2]


def _scan(fit, omegas, harmonics, li, span, npoints, sample):
    """The relative frequency offset of line ``li`` in [-span, span] that explains the most chi^2.

    On the pixel sample, or all pixels: a grid of odd ``npoints``, then a parabola
    through the best three.  The projections on the trial columns come from one
    :class:`_Expansion` about ``omegas`` when its series are shorter than the grid (a long
    frame, a high harmonic and a wide span need many terms: SLOWR1 FULL), else directly.
    """
    grid = np.linspace(-span, span, npoints)
    parts = fit.sample if sample else fit.cached
    base = _Basis(fit.T, omegas, harmonics)
    offsets = [span if lj == li else 0.0 for lj in range(len(omegas))]
    D = max(float(np.ptp(fit.o)) / 2, 1.0)  # the largest half-range of any class's offsets
    expand = sum(_Expansion.terms_for(base, offsets, D)) < npoints * base.hw.size
    expansions = tuple(None if part is None or not expand else _Expansion(part, base, offsets) for part in parts)
    score = []
    for d in grid:
        trial = list(omegas)
        trial[li] = omegas[li] * (1 + d)
        basis = _Basis(fit.T, trial, harmonics, like=base)  # the other lines' columns are the base's
        score.append(_solve(_accumulate_classes(parts, basis, expansions), basis, fit.projectors)[2])
    score = np.array(score)
    i = int(np.argmax(score))
    if 0 < i < npoints - 1:
        y0, y1, y2 = score[i - 1 : i + 2]
        denom = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / denom if denom < 0 else 0.0
        return grid[i] + shift * (grid[1] - grid[0])
    return grid[i]


def _advance(case, frequency_hz, h):
    """Phase advance of harmonic ``h`` from one frame to the next, cycles from the nearest whole number.

    0 means the harmonic is a per-pixel constant that no slope sees.
    """
    x = h * case.frameclocks / facts.period_clocks(frequency_hz)
    return abs(x - round(x))


def _covariance(S, scale):
    """The inverse of S times ``scale``, with Jacobi scaling (columns differ by orders of magnitude)."""
    d = np.sqrt(np.maximum(np.diag(S), 1e-300))
    return np.linalg.pinv(S / np.outer(d, d), rcond=1e-12) / np.outer(d, d) * scale


def _marginal_covariance(fit, omegas, harmonics, gamma, S, refined, span_clocks, scale):
    """Covariance of the waveform coefficients with the refined lines' frequencies free.

    The frequencies of the lines in ``refined`` are marginalised over.  The Fisher matrix of (gamma, delta_l)
    is L^T S3 L: S3 the normal matrix of the columns at omega_l and omega_l (1 +/- h),
    L the map taking delta_l to the central difference (D(+h) - D(-h)) gamma_l / 2h.  A
    harmonic whose group-varying part rests on the fitted frequency (one nearly a whole
    number of periods per frame) is then as uncertain as it really is.  S3 is summed over
    the frequency scan's pixel sample and scaled to all pixels by their total weight (it
    only sets the noise of the harmonic test).  Also returns each refined line's
    standard error of delta, ``{line index: sigma}``.
    """
    basis = _Basis(fit.T, omegas, harmonics)
    if not refined:
        return _covariance(S, scale), {}
    J2 = 2 * basis.hw.size
    ext_omegas, ext_harmonics, derivative_columns = list(omegas), list(harmonics), []
    for li in refined:
        h = 0.01 / (max(harmonics[li]) * omegas[li] * span_clocks)  # 0.01 rad of the top harmonic
        own = basis.line_columns(li)
        for sign in (1, -1):
            ext_omegas.append(omegas[li] * (1 + sign * h))
            ext_harmonics.append(harmonics[li])
        derivative_columns.append((own, h))
    ext = _Basis(fit.T, ext_omegas, ext_harmonics)
    sample = fit.sums(ext, sample=True)
    S3 = _solve(sample, ext, fit.projectors)[1] * (fit.weight.sum() / sum(a["W"] for a in sample if a is not None))
    L = np.zeros((2 * ext.hw.size, J2 + len(refined)))
    L[:J2, :J2] = np.eye(J2)
    start = J2
    for r, (own, h) in enumerate(derivative_columns):
        n = own.size
        L[start : start + n, J2 + r] = gamma[own] / (2 * h)
        L[start + n : start + 2 * n, J2 + r] = -gamma[own] / (2 * h)
        start += 2 * n
    cov = _covariance(L.T @ S3 @ L, scale)
    return cov[:J2, :J2], {li: float(np.sqrt(max(cov[J2 + r, J2 + r], 0.0))) for r, li in enumerate(refined)}


def _weakest(gamma, cov, basis, V, reads):
    """The harmonic least worth subtracting and each harmonic's shrinkage factor.

    The harmonic is ``(line, h)``, or None when every one is worth it.  Harmonic h is worth subtracting when
    the group-varying power it explains, gamma_h^T V_h gamma_h (``V`` = sum_p w_p D_p^T C
    D_p, C the per-integration centring, i.e. the part of the waveform a slope can see),
    exceeds MIN_HARMONIC_POWER times its own noise, tr(Cov_h V_h).  Subtracting it lowers
    the expected residual when its true power exceeds tr(Cov_h V_h), and E[gamma^T V
    gamma] = true power + tr(Cov_h V_h).  When V_h is proportional to S_hh this is the
    chi^2_2 test at 2 MIN_HARMONIC_POWER; a harmonic that is nearly a whole number of
    periods per frame (e.g. the 2nd in SUB128, 93 periods) is mostly a per-pixel ramp,
    poorly determined (``cov`` marginalised over a fitted frequency), and is kept only if
    strong.  A harmonic whose noise per group-varying read, tr(Cov_h V_h) / ``reads``
    (``reads`` = sum_p w_p tr C), exceeds MAX_HARMONIC_NOISE fails however strong it
    looks, and first: an estimate worse than one read is guesswork for an interference of
    about the read noise, and such a direction (10 Hz in a 3-group subarray ramp, nearly
    a per-pixel ramp) passes the power test by chance (chi^2_1 > 6: 1.4 %) with a noise
    of 1e11.  The shrinkage factor 1 - noise / power is the empirical-Bayes weight of an
    estimate against its noise.
    """
    weakest, margin, shrink = None, np.inf, {}
    for j, owner in enumerate(basis.owner):
        block = slice(2 * j, 2 * j + 2)
        ratio, shrink[owner] = _worth(gamma[block], cov[block, block], V[block, block], reads)
        if ratio <= 1.0 and ratio < margin:
            weakest, margin = owner, ratio
    return weakest, shrink


def _undetected(gamma, cov, basis):
    """The line least likely to be there, ``(line, 1)``, or None when every line is detected.

    A line is detected when its coefficients as a whole differ from zero beyond noise: the
    Wald statistic gamma_l^T Cov_ll^-1 gamma_l, chi^2 with 2 H_l degrees of freedom when the line
    is absent, has a tail probability below LINE_PROBABILITY.  :func:`_weakest` asks another
    question, whether each harmonic is worth subtracting, and in a direction the data hardly
    determine its power test passes by chance far more often than its margin suggests: 10 Hz in
    SUB128 at 3 groups is close to one per-pixel curvature pattern, its harmonics nearly
    collinear, and pure noise made them pass in one seed of eight (a 1.4 DN waveform that left
    6x the EMI's own effect in the rates).  The whole line's statistic counts such a direction once.
    """
    worst, largest = None, LINE_PROBABILITY
    for li in {lj for lj, _ in basis.owner}:
        block = basis.line_columns(li)
        tail = chdtrc(block.size, _wald(gamma[block], cov[np.ix_(block, block)]))
        if tail >= largest:
            worst, largest = (li, 1), tail
    return worst


def _wald(g, cov):
    """The Wald statistic g^T Cov^-1 g (Jacobi scaled: the columns differ by orders of magnitude)."""
    d = np.sqrt(np.maximum(np.diag(cov), 1e-300))
    return float((g / d) @ np.linalg.pinv(cov / np.outer(d, d), rcond=1e-12) @ (g / d))


def reference_shape(waveform, harmonics):
    """The reference waveform's complex amplitudes ``c_h`` at ``harmonics``, or None when it has no shape.

    W(theta) = sum_h Re(c_h exp(i h theta)) over one period sampled uniformly (a sampling that
    starts elsewhere than jwst's ``(j + 0.5) / n`` is a shift of the waveform, which the fit
    takes up).  None when the reference stores no waveform, when its fundamental is not among
    ``harmonics`` or is zero, or when it is one sine (no harmonic above ``MIN_SHAPE_HARMONIC``
    of the fundamental): a sine's amplitude and phase are what the fit learns anyway.
    """
    if waveform is None or 1 not in harmonics or waveform.size < 2 * max(harmonics) + 1:
        return None
    phase = (np.arange(waveform.size) + 0.5) / waveform.size
    c = np.array([2 / waveform.size * np.sum(waveform * np.exp(-2j * np.pi * h * phase)) for h in harmonics])
    fundamental = abs(c[harmonics.index(1)])
    if fundamental == 0 or not any(abs(ch) > MIN_SHAPE_HARMONIC * fundamental
                                   for h, ch in zip(harmonics, c, strict=True) if h > 1):
        return None
    return c


def _shape_columns(shape, harmonics, phi):
    """The unit-amplitude shape shifted by ``phi`` as coefficients (alpha_h, beta_h), ``(len(phi), 2H)``.

    alpha_h - i beta_h = c_h exp(-i h phi), ``phi`` in radians of the fundamental.
    """
    z = shape[None, :] * np.exp(-1j * np.outer(phi, harmonics))
    t = np.empty((z.shape[0], 2 * z.shape[1]))
    t[:, 0::2], t[:, 1::2] = z.real, -z.imag
    return t


def _fit_shape(g, cov, shape, harmonics):
    """The reference shape, scaled and shifted to the line's fitted coefficients, and its covariance.

    Minimises (A t(phi) - g)^T F (A t(phi) - g), F = Cov^-1 the information in the line's free
    coefficients ``g`` (so a harmonic that the data hardly determine, such as SUB128's
    near-whole-period 2nd, is taken from the shape): for each phi on a grid the best A >= 0 is
    t^T F g / t^T F t, the explained chi^2 (t^T F g)^2 / t^T F t; a parabola through the best
    three refines phi.  The covariance is that of the two parameters (A, phi) carried to the
    coefficients by their Jacobian.  Returns ``(A t(phi), Cov)`` (zero when no positive amplitude fits).
    """
    d = np.sqrt(np.maximum(np.diag(cov), 1e-300))
    F = np.linalg.pinv(cov / np.outer(d, d), rcond=1e-12) / np.outer(d, d)
    h = np.asarray(harmonics, np.float64)
    step = 2 * np.pi / SHAPE_PHASES
    phi = np.arange(SHAPE_PHASES) * step
    T = _shape_columns(shape, h, phi)
    num, den = T @ (F @ g), np.einsum("pi,ij,pj->p", T, F, T)
    q = np.maximum(num, 0.0) ** 2 / den
    i = int(np.argmax(q))
    y0, y1, y2 = q[i - 1], q[i], q[(i + 1) % SHAPE_PHASES]
    curvature = y0 - 2 * y1 + y2
    best = phi[i] + (0.5 * (y0 - y2) / curvature * step if curvature < 0 else 0.0)
    t = _shape_columns(shape, h, np.array([best]))[0]
    amplitude = max(float(t @ F @ g) / float(t @ F @ t), 0.0)
    dt = _shape_columns(-1j * h * shape, h, np.array([best]))[0]  # d t / d phi
    J = np.column_stack([t, max(amplitude, 1e-12) * dt])
    return amplitude * t, J @ np.linalg.pinv(J.T @ F @ J) @ J.T


def _worth(g, cov, v, reads):
    """``(power / (MIN_HARMONIC_POWER noise), shrinkage)`` of an estimate ``g`` with covariance ``cov``.

    The test of :func:`_weakest` (ratio > 1: worth subtracting) in the group-varying metric ``v``.
    """
    power, noise = float(g @ v @ g), float(np.trace(cov @ v))
    ratio = power / (MIN_HARMONIC_POWER * noise) if noise < MAX_HARMONIC_NOISE * reads else 0.0
    return ratio, (1.0 - noise / power if power > 0 else 0.0)


# One BLAS thread: the fit's products are skinny (2J x N by N x npix/4) or small and many (the
# frequency scan's); on a shared machine the threads' waits cost far more than they gain
# (1000 x 10 SLITLESSPRISM at load 2.5 on 2 cores: the step 48 s with OpenBLAS's 2 threads, 14 s
# with one; benchmarks/lrs_tso_speed.py).
@threadpool_limits.wrap(limits=1, user_api="blas")
def correct_joint(data, groupdq, pixeldq, read_noise, gain, case, max_harmonics=MAX_HARMONICS,
                  max_drift=MAX_DRIFT, refine=True, reference_pixels=True, shape_prior=True, out=None):
    """The ``joint`` variant (module docstring).

    Parameters
    ----------
    data : (nints, ngroups, ny, nx) float32
        Raw ramps in DN.
    groupdq : (nints, ngroups, ny, nx) uint8
    pixeldq : (ny, nx) uint32
    read_noise, gain : (ny, nx) float
        Read noise of one read (DN) and gain (e-/DN).
    case : EmiCase
        The EMICORR reference's case for the exposure (:func:`case_from_model`).
    max_harmonics, max_drift, refine, reference_pixels, shape_prior
        Fit settings (module docstring).
    out : (nints, ngroups, ny, nx) float32, optional
        Where the corrected ramps go (``data`` itself: in place, block by block after the
        fit; default a new array).

    Returns
    -------
    (data, notes) or Skip
        The corrected ramps and what was fitted, or a :class:`~calibration.Skip` when
        it declines (fewer than 3 groups, too few usable pixels, no line detected).
    """
    nints, ngroups = data.shape[:2]
    if ngroups < 3:
        return Skip(f"emi joint: {ngroups} groups (needs >= 3)")
    fit = _JointFit(data, groupdq, pixeldq, read_noise, gain, case, reference_pixels)
    omegas = [2 * np.pi * line.frequency_hz * PIXEL_CLOCK_S for line in case.lines]
    drifts = [0.0] * len(case.lines)
    span_clocks = fit.T[-1] + fit.o.max() - fit.T[0]

    def current():  # the angular frequencies at the drifts fitted so far
        return [w * (1 + d) for w, d in zip(omegas, drifts, strict=True)]

    def solve(harmonics, first=False):
        basis = _Basis(fit.T, current(), harmonics)
        acc = fit.prepare(basis) if first else fit.sums(basis)  # the first pass also weights the pixels
        gamma, S, _, offsets = _solve(acc, basis, fit.projectors)
        science = acc[0] if acc[0] is not None else acc[1]  # the pixels the correction is for
        CG = basis.projected(fit.projectors[1])  # C G, C the per-integration centring
        return basis, gamma, S, offsets, _pixel_sum(science, basis, CG.T @ CG)

    def visible():  # harmonics not exactly constant per pixel at the current frequencies
        return [[h for h in range(1, max_harmonics + 1)
                 if _advance(case, line.frequency_hz * (1 + d), h) > MIN_GROUP_PHASE]
                for line, d in zip(case.lines, drifts, strict=True)]

    harmonics = visible()
    if not any(harmonics):
        return Skip("emi joint: every harmonic is a per-pixel constant in this frame")
    basis, gamma, S, offsets, _ = solve(harmonics, first=True)
    nusable = int((fit.weight > 0).sum())
    if nusable < 4 * max_harmonics * len(case.lines):
        return Skip(f"emi joint: only {nusable} usable pixels")
    nclip, scale = fit.clip(gamma, basis, offsets)
    scale = max(scale, 1.0)  # data quieter than the noise model (read, Poisson, quantisation) prove no more
    fit.cache(offsets)
    reads = fit.weight[~fit.reference].sum() * nints * (ngroups - 1)  # tr C

    def select(harmonics, refined=None):
        """Backward elimination of the harmonics not worth subtracting.

        Drop the weakest harmonic that is not worth subtracting (:func:`_weakest`; a line
        with its fundamental) and test the rest again, refitted
        without it, until every one left is worth it.  Harmonics of a line are far from
        orthogonal in short ramps (10 Hz in SUB128, 3 groups), so one that does not earn
        its place inflates the noise of the others.  ``refined``: lines whose frequency
        was fitted (the noise is then marginalised over it).
        """
        while any(harmonics):
            basis, gamma, S, offsets, V = solve(harmonics)
            if refined is None:
                cov, drift_sigma = _covariance(S, scale), {}
            else:
                fitted = [li for li in refined if harmonics[li]]
                cov, drift_sigma = _marginal_covariance(fit, current(), harmonics, gamma, S, fitted, span_clocks,
                                                        scale)
            weakest, shrink = _weakest(gamma, cov, basis, V, reads)
            if weakest is None:
                weakest = _undetected(gamma, cov, basis)
            if weakest is None:
                return harmonics, basis, gamma, shrink, drift_sigma
            li, h = weakest
            harmonics = [([] if h == 1 else [x for x in hs if x != h]) if lj == li else hs
                         for lj, hs in enumerate(harmonics)]
        return harmonics, None, None, {}, {}

    def take_shapes(shapes, harmonics):
        """The lines that take their reference's shape: ``{line: ({h: coefficients}, chi^2 / dof)}``.

        ``shapes``: ``{line: (harmonics, c_h)}`` (:func:`reference_shape`).  All those harmonics are
        fitted free (the other lines with theirs: gamma, covariance Sigma), the shape is scaled and
        shifted to them (:func:`_fit_shape`, g = A t(phi)), and the exposure's waveform is the
        posterior mean with the shape as a prior of covariance P (each harmonic's two coefficients
        with variance (SHAPE_JITTER A |c_h|)^2):

            gamma' = g + P (Sigma + P)^-1 (gamma - g),

        so a harmonic the data determine well is the data's, one they hardly determine (SUB128's
        near-whole-period 2nd) the shape's, one the shape lacks is zero.  (A, phi) are fitted
        again with (Sigma + P), P from the new amplitude, twice.  The shape is taken when the line is
        detected (the shape's explained chi^2 t^T Sigma^-1 t beyond the chi^2_{2H} quantile at
        LINE_PROBABILITY: in pure noise it is at most the chi^2_{2H} of the free coefficients, so the
        test is conservative; the free coefficients' own Wald statistic is no use here: with read noise
        alone, SUB64 at 3 groups, it came out 1e3-2.5e4 on 10 degrees of freedom for 10 Hz, whose normal
        equations have a condition number ~1e12), worth subtracting (:func:`_worth`) and the departures
        agree with P: (gamma - g)^T (Sigma + P)^-1 (gamma - g) below the chi^2 quantile
        1 - SHAPE_PROBABILITY of 2 H - 2 degrees of freedom.  Else (a
        stale shape) the line keeps what :func:`select` learned.
        """
        full = [shapes[li][0] if li in shapes else hs for li, hs in enumerate(harmonics)]
        basis, gamma, S, _, V = solve(full)
        fitted = [li for li in refined if full[li]]
        cov = (_marginal_covariance(fit, current(), full, gamma, S, fitted, span_clocks, scale)[0] if fitted
               else _covariance(S, scale))
        taken = {}
        for li, (hs, shape) in shapes.items():
            block = basis.line_columns(li)
            g, c, v = gamma[block], cov[np.ix_(block, block)], V[np.ix_(block, block)]
            template = _fit_shape(g, c, shape, hs)
            if chdtrc(g.size, _wald(template[0], c)) >= LINE_PROBABILITY:  # not detected
                continue
            for _ in range(2):  # twice: P from the amplitude, the shape refitted with Sigma + P
                A = np.sqrt(float(template[0] @ template[0]) / float(np.sum(np.abs(shape) ** 2)))
                P = np.diag(np.repeat((SHAPE_JITTER * A * np.abs(shape)) ** 2, 2))
                template = _fit_shape(g, c + P, shape, hs)
            if _worth(*template, v, reads)[0] <= 1.0:
                continue
            departure = g - template[0]
            chi2 = float(departure @ np.linalg.solve(c + P, departure))
            dof = max(2 * len(hs) - 2, 1)
            if chdtrc(dof, chi2) < SHAPE_PROBABILITY:
                continue
            coefs = template[0] + P @ np.linalg.solve(c + P, departure)
            taken[li] = {h: coefs[2 * k : 2 * k + 2] for k, h in enumerate(hs)}, chi2 / dof
        return taken

    harmonics, basis, gamma, shrink, drift_sigma = select(harmonics)
    refined, unrefined = [], {}  # unrefined: {line: why its frequency stayed the reference's}
    if refine and any(harmonics):
        fit.make_sample()
        for li, w in enumerate(omegas):
            if not harmonics[li]:
                continue
            if w * span_clocks * max_drift < 0.03:  # fundamental's phase error, rad
                unrefined[li] = f"the largest offset, {max_drift:.0e}, moves its phase < 0.03 rad here"
                continue
            top = max(harmonics[li])
            step = 0.5 / (top * w * span_clocks)  # 0.5 rad of the top harmonic per step
            npoints = int(np.clip(2 * np.ceil(max_drift / step) + 1, 5, 161)) | 1
            cur = current()
            coarse = _scan(fit, cur, harmonics, li, max_drift, npoints, sample=True)
            trial = list(cur)
            trial[li] = omegas[li] * (1 + coarse)
            fine = _scan(fit, trial, harmonics, li, 2 * max_drift / (npoints - 1), 5, sample=False)
            drift = float(np.clip((1 + coarse) * (1 + fine) - 1, -max_drift, max_drift))
            trial[li] = omegas[li] * (1 + drift)
            gain = _explained(fit, trial, harmonics) - _explained(fit, cur, harmonics)  # all pixels
            if gain / scale < MIN_DRIFT_CHI2:  # the data do not tell the frequency better
                unrefined[li] = (f"the data prefer no other frequency (chi^2 gain {gain / scale:.1f} < "
                                 f"{MIN_DRIFT_CHI2:g})")
                continue
            drifts[li] = drift
            refined.append(li)
        still = [v if h else [] for v, h in zip(visible(), harmonics, strict=True)]
        harmonics, basis, gamma, shrink, drift_sigma = select(still, refined)
    coefficients = {} if basis is None else {owner: gamma[2 * j : 2 * j + 2] * shrink[owner]
                                             for j, owner in enumerate(basis.owner)}
    shapes = {}  # {line: (harmonics, c_h)}, at the fitted frequencies (SUB128's 2nd is whole periods at 390.625 Hz)
    for li, (line, hs) in enumerate(zip(case.lines, visible(), strict=True)):
        if shape_prior and (shape := reference_shape(line.waveform, hs)) is not None:
            shapes[li] = hs, shape
    shaped = take_shapes(shapes, harmonics) if shapes else {}
    for li, (coefs, _) in shaped.items():
        coefficients = {owner: c for owner, c in coefficients.items() if owner[0] != li}
        coefficients.update({(li, h): c for h, c in coefs.items()})
        top = max(float(np.hypot(*c)) for c in coefs.values())
        harmonics[li] = [h for h, c in coefs.items() if np.hypot(*c) > MIN_SHAPE_HARMONIC * top]
    if not any(harmonics):
        return Skip(f"emi joint: no EMI line detected ({', '.join(line.name for line in case.lines)}: "
                    f"not significant, or fundamental below its noise)")
    basis = _Basis(fit.T, current(), harmonics)
    gamma = np.concatenate([coefficients[owner] for owner in basis.owner])
    out = np.empty(data.shape, np.float32) if out is None else out
    notes = []

    def offset_note(li):
        if li in drift_sigma:
            return f"offset {drifts[li]:+.2e} +/- {drift_sigma[li]:.1e}"
        return f"offset not fitted: {unrefined.get(li, 'refinement off')}"

    def shape_note(li):
        if li in shaped:
            return f"shape: the reference's as a prior (departures chi^2/dof {shaped[li][1]:.2f})"
        if li in shapes:
            return "shape: learned (the reference's did not fit the data)"
        if not shape_prior:
            return "shape: learned (reference shape not used)"
        return "shape: learned (the reference stores no shape beyond a sine)"

    direct = fit.reads is not None and _readable(out)
    for y0, y1, sl in fit.row_blocks():
        E = fit.waveform(gamma, basis, sl)
        if direct:
            _kernels().subtract_waveform(fit.reads, sl.start, E, fit.Q, out.reshape(fit.N, -1))
        else:  # the kernels read and write no other layout or byte order: a copy of the block, then copied in
            block = native(data[:, :, y0:y1])
            _kernels().subtract_waveform(block.reshape(fit.N, -1), 0, E, fit.Q, block.reshape(fit.N, -1))
            out[:, :, y0:y1] = block
    for li, line in enumerate(case.lines):
        if not harmonics[li]:
            notes.append(LeftIn(f"emi joint: {line.name} ({line.frequency_hz} Hz) not detected (not significant "
                                f"as a whole, fundamental below its noise, or not determined to better than one read); "
                                f"not corrected", line.name))
            continue
        amps = [float(np.hypot(*pair)) for pair in gamma[basis.line_columns(li)].reshape(-1, 2)]
        rms = float(np.sqrt(np.sum(np.square(amps)) / 2))
        notes.append(f"emi joint: {line.name} fitted at {line.frequency_hz * (1 + drifts[li]):.7f} Hz "
                     f"(reference {line.frequency_hz} Hz, {offset_note(li)}), harmonics "
                     f"{harmonics[li]}, rms {rms:.3f} DN, {shape_note(li)}; {int((fit.weight > 0).sum())} pixels, "
                     f"{nclip} clipped")
    return out, notes


# ----------------------------------------------------------------------------- folding

def _significant_template(sums, counts, sample_var, max_harmonics=FOLD_HARMONICS):
    """The folded template as the Fourier terms it supports.

    The bin means m_b (noise
    variance sample_var / count_b) are fitted by weighted least squares with harmonics
    1..H of the phase, and harmonic h is kept when its chi^2_2 exceeds 2 MIN_HARMONIC_POWER
    (as the joint fit's test), so a template of pure noise subtracts nothing.  Returns the
    template on the bins and the harmonics kept.
    """
    n = sums.size
    filled = counts > 0
    if sample_var <= 0 or filled.sum() < 3:
        return np.zeros(n), []
    phase = 2 * np.pi * (np.arange(n) + 0.5) / n
    w = counts[filled] / sample_var
    m = sums[filled] / counts[filled]
    # When the filled bins cover only part of the phase circle (10 Hz in a short subarray
    # ramp) high harmonics are degenerate there: use the most harmonics whose weighted
    # design is well conditioned (singular values within MAX_FOLD_CONDITION).
    for H in range(min(max_harmonics, (int(filled.sum()) - 1) // 2), 0, -1):
        X = np.concatenate([np.stack([np.cos(h * phase), np.sin(h * phase)], 1) for h in range(1, H + 1)], 1)
        Xf = X[filled] - np.average(X[filled], axis=0, weights=w)  # the template's mean is free (per-pixel offsets)
        u, sv, vt = np.linalg.svd(Xf * np.sqrt(w)[:, None], full_matrices=False)
        if sv.min() > sv.max() / MAX_FOLD_CONDITION:
            break
    else:
        return np.zeros(n), []
    coef = vt.T @ ((u.T @ (np.sqrt(w) * (m - np.average(m, weights=w)))) / sv)
    cov = (vt.T / sv**2) @ vt

    def chi2(h):
        block = slice(2 * h - 2, 2 * h)
        return float(coef[block] @ np.linalg.solve(cov[block, block], coef[block]))

    kept = [h for h in range(1, H + 1) if chi2(h) > 2 * MIN_HARMONIC_POWER]
    cols = np.concatenate([[2 * h - 2, 2 * h - 1] for h in kept]).astype(int) if kept else np.zeros(0, int)
    template = X[:, cols] @ coef[cols]
    return template - template.mean(), kept


def correct_fold(data, groupdq, pixeldq, read_noise, gain, case, nbins=None, out=None):
    """The ``fold`` variant (module docstring).

    Parameters
    ----------
    data, groupdq, pixeldq, read_noise, gain, case
        As :func:`correct_joint`.
    nbins : int, optional
        Phase bins (default: half the period in pixel clocks, at most 500).
    out : (nints, ngroups, ny, nx) float32, optional
        Where the corrected ramps go (``data`` itself: in place; default a new array).

    Returns
    -------
    (data, notes) or Skip
        The corrected ramps and the template of each line, or a
        :class:`~calibration.Skip` for fewer than 3 groups.
    """
    nints, ngroups, ny, nx = data.shape
    if ngroups < 3:
        return Skip(f"emi fold: {ngroups} groups (needs >= 3)")
    N = nints * ngroups
    Y = data.reshape(N, -1).astype(np.float64)
    R = project_off_ramps(Y, nints, ngroups, rate="per_integration")  # the pipeline detrends each integration
    good = ~(np.bitwise_or.reduce(groupdq.reshape(N, -1) & BAD_GROUP, axis=0) != 0)
    good &= (pixeldq.ravel() & dq.DO_NOT_USE) == 0
    R -= np.median(R[:, good], axis=1)[:, None]
    tau = case.group_clocks(nints, ngroups)[:, None] + case.pixel_clocks(ny, nx).ravel()[None, :]
    corrected = data.reshape(N, -1).astype(np.float64)
    notes = []
    for line in case.lines:
        period = facts.period_clocks(line.frequency_hz)
        n = nbins or min(500, int(period / 2))
        bins = np.minimum((np.mod(tau / period, 1.0) * n).astype(np.int64), n - 1)
        sums = np.bincount(bins[:, good].ravel(), R[:, good].ravel(), minlength=n)
        counts = np.bincount(bins[:, good].ravel(), minlength=n)
        template, kept = _significant_template(sums, counts, float(np.var(R[:, good])) if good.any() else 0.0)
        noise = template[bins]
        corrected -= noise
        R -= noise
        text = (f"emi fold: {line.name} at {line.frequency_hz} Hz, {n} phase bins, harmonics {kept}, "
                f"template rms {template.std():.3f} DN")
        notes.append(text if kept else LeftIn(f"{text}: nothing significant; not corrected", line.name))
    out = np.empty(data.shape, np.float32) if out is None else out
    out[...] = corrected.reshape(data.shape)
    return out, notes
