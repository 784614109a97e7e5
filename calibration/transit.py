"""Transit light curves: a limb-darkened transit model and its fit with the detector's systematics.

**Model.**  A planet of radius ratio ``p`` (stellar radii) on a circular orbit (mid-transit
time ``t0``, period ``P``, scaled semi-major axis ``a = a/R*``, inclination ``i``) is at a
projected distance from the star's centre

    z(t) = a sqrt(sin^2 phi + cos^2 i cos^2 phi),   phi = 2 pi (t - t0) / P,

in front of the star when ``cos phi > 0``.  The star's intensity follows the quadratic
limb-darkening law, ``I(r) = 1 - u1 (1 - mu) - u2 (1 - mu)^2``, ``mu = sqrt(1 - r^2)``,
whose disc-integrated flux is ``pi (1 - u1/3 - u2/6)``.  The light the planet blocks is
the sum over annuli of radius ``r`` of ``I(r)`` times the arc ``theta(r)`` of the annulus
inside the planet's disc (the problem of Mandel & Agol 2002, ApJ 580, L171; the method
here is ours, a direct quadrature):

    F(z, p) = 1 - int I(r) r theta(r) dr / (pi (1 - u1/3 - u2/6)),
    theta(r) = 2 arccos((r^2 + z^2 - p^2) / (2 r z))   (2 pi inside, 0 outside the planet),

over ``|z - p| <= r <= min(1, z + p)`` plus, when ``p > z``, the annuli ``r < p - z``
the planet covers entirely.  Each piece ``[lo, hi]`` is integrated by Gauss-Legendre in
``s`` with ``r = lo + (hi - lo)(1 - cos s)/2``: the square-root ends of ``theta`` (at
``z +/- p``) and of ``mu`` (at the limb) become smooth in ``s``, so :data:`NODES` nodes
are accurate to < 1e-7 of ``p^2`` (``tests/test_lrs_tso.py`` against the uniform disc's
overlap area and the small-planet limit ``p^2 I(z) / <I>``).

**Fit.**  The light curve of a source whose detector response settles after the
exposure starts (MIRI TSOs, params 6), with a slow drift, is modelled as

    m(t) = c0 [1 + c1 (t - t_mid)] [1 - A exp(-(t - t_start) / tau)] F(z(t; t0), p),

``t_start`` the exposure's start, ``t_mid`` the middle of the data.  The white light fits
``d, t0, c0, c1, A, tau`` (variant ``ramp``) or ``d, t0, c0, c1`` (``linear``: no
settling term); a spectroscopic light curve fits ``d, c0, c1`` (and ``A``) with the
white fit's ``t0`` and ``tau`` fixed (its shape).  The fitted size is the depth
``d = p^2`` itself, signed: ``F`` is ``1 - sign(d) (1 - F(z, sqrt|d|))``, linear in ``d``
for a small planet, so that a depth measured at S/N ~ 1 (a narrow bin) has a symmetric
error that does not shrink with the fitted depth (an error ``2 p sigma_p`` of a fitted
radius does: it vanishes where the noise pulls ``p`` to 0).  Times enter the fit in
spans of the data from ``t_mid`` (``t0``, ``tau``, and ``c1`` per span): the
least-squares Jacobian is taken by finite differences with steps relative to each
parameter, and a step relative to an MJD (~1.5e-8 x 6e4 d = 80 s) is as long as a
short transit.  The orbit (``P, a, i``) and the limb
darkening (``u1, u2``) are not fitted: they are the observer's, given as an ephemeris
(:func:`read_ephemeris`), as a TSO's ephemeris and its star's limb darkening are known
before the visit; a single transit at the photon limit of a few-minute exposure
constrains them poorly, and each would correlate with the depth.  ``t0`` is found
first on a grid (the linearised model's least squares at each trial ``t0``), then the
whole model is fitted by non-linear weighted least squares (``scipy.optimize.least_squares``,
trust-region reflective, weights ``1/sigma^2``).

**Errors.**  From the least-squares covariance ``(J^T J)^+`` at the solution (``J``: the
weighted residuals' Jacobian, of the light curve over its median, each column scaled to
unit norm before the pseudo-inverse and back after it, so that its cut sees only a real
degeneracy and not the parameters' units; a column of zeros, ``tau`` when ``A = 0``,
is left out, as fixed), scaled by the reduced
chi-square ``chi2 / (N - k)``: the errors follow the measured scatter of the residuals,
not only the stated errors (Bevington & Robinson, ch. 8).  The depth is ``p^2`` (what the
truth tabulates: the planet's area over the star's); ``rp_rs`` is ``sqrt(max(d, 0))``
with error ``sigma_d / 2p``.  Red noise (correlated residuals, e.g. EMI) is not in it.
"""
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from . import CalibrationInputError, Skip

#: Gauss-Legendre nodes per radial piece (module docstring: < 1e-7 of p^2).
NODES = 48
#: Trial mid-transit times of the grid search per transit duration (at most :data:`T0_GRID_MAX` in all).
T0_PER_DURATION = 8
T0_GRID_MAX = 2000
#: Initial settling time constant, as a fraction of the time span (the fit moves it).
TAU_START_FRACTION = 0.2
#: Keys of an ephemeris file (:func:`read_ephemeris`): required, then optional.
EPHEMERIS_KEYS = ("period_days", "a_rs", "inclination_deg", "u1", "u2")
EPHEMERIS_OPTIONAL = ("t0_mjd",)
#: The fit's parameters held fixed for a spectroscopic light curve, by their names in ``TransitFit.params``.
PUBLIC = {"t0": "t0_mjd", "tau": "tau_days"}

_X, _W = np.polynomial.legendre.leggauss(NODES)
_S = 0.5 * np.pi * (_X + 1.0)  # Gauss-Legendre in s on [0, pi]
_WS = 0.5 * np.pi * _W


@dataclass(frozen=True)
class Ephemeris:
    """What the observer knows of the orbit and the star (module docstring).

    Parameters
    ----------
    period_days, a_rs, inclination_deg : float
        Period, semi-major axis over the star's radius, inclination.
    u1, u2 : float
        Quadratic limb darkening.
    t0_mjd : float, optional
        A mid-transit time to start from (else the grid search finds it).
    """

    period_days: float
    a_rs: float
    inclination_deg: float
    u1: float
    u2: float
    t0_mjd: float = None

    def __post_init__(self):
        for name in EPHEMERIS_KEYS:
            if not np.isfinite(getattr(self, name)):
                raise CalibrationInputError(f"ephemeris: {name} must be finite")
        if self.period_days <= 0 or self.a_rs <= 1:
            raise CalibrationInputError("ephemeris: period_days must be > 0 and a_rs > 1")


def read_ephemeris(path):
    """An :class:`Ephemeris` from a TOML file of :data:`EPHEMERIS_KEYS` (and ``t0_mjd``).

    Raises
    ------
    CalibrationInputError
        For a file that cannot be read, or a key missing, unknown or not a number (named).
    """
    try:
        values = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CalibrationInputError(f"ephemeris {path}: {error}") from None
    unknown = sorted(set(values) - set(EPHEMERIS_KEYS) - set(EPHEMERIS_OPTIONAL))
    missing = [k for k in EPHEMERIS_KEYS if k not in values]
    if unknown or missing:
        raise CalibrationInputError(f"ephemeris {path}: " + "; ".join(
            ([f"unknown key(s) {', '.join(unknown)}"] if unknown else [])
            + ([f"missing key(s) {', '.join(missing)}"] if missing else []))
            + f" (keys: {', '.join(EPHEMERIS_KEYS + EPHEMERIS_OPTIONAL)})")
    bad = [k for k, v in values.items() if isinstance(v, bool) or not isinstance(v, (int, float))]
    if bad:
        raise CalibrationInputError(f"ephemeris {path}: {', '.join(bad)} must be a number")
    return Ephemeris(**{k: float(v) for k, v in values.items()})


def _pieces(z, p):
    """Radial pieces ``(lo, hi, full)`` per separation: partial arcs, and annuli wholly covered."""
    lo = np.minimum(np.abs(z - p), 1.0)
    hi = np.minimum(1.0, z + p)
    covered = np.clip(p - z, 0.0, 1.0)  # r < p - z: inside the planet
    return lo, np.maximum(hi, lo), covered


def _intensity(r, u1, u2):
    one_minus_mu = 1.0 - np.sqrt(np.clip(1.0 - r * r, 0.0, None))
    return 1.0 - u1 * one_minus_mu - u2 * one_minus_mu**2


def blocked(z, p, u1, u2):
    """The fraction of the star's light the planet blocks at separations ``z`` (module docstring)."""
    z = np.atleast_1d(np.asarray(z, dtype=float))
    out = np.zeros(z.shape)
    near = z < 1.0 + p
    if not near.any() or p <= 0:
        return out
    zz = z[near, None]
    lo, hi, covered = (a[:, None] for a in _pieces(z[near], p))
    hi_arc = np.minimum(hi, 1.0)
    r = lo + (hi_arc - lo) * 0.5 * (1.0 - np.cos(_S))
    jac = (hi_arc - lo) * 0.5 * np.sin(_S)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_arc = (r * r + zz * zz - p * p) / (2.0 * r * zz)
    theta = 2.0 * np.arccos(np.clip(np.nan_to_num(cos_arc, nan=-1.0), -1.0, 1.0))
    arcs = np.sum(_WS * jac * _intensity(r, u1, u2) * r * theta, axis=1)
    rc = covered * 0.5 * (1.0 - np.cos(_S))
    full = np.sum(_WS * covered * 0.5 * np.sin(_S) * _intensity(rc, u1, u2) * rc * 2.0 * np.pi, axis=1)
    out[near] = (arcs + full) / (np.pi * (1.0 - u1 / 3.0 - u2 / 6.0))
    return out


def separation(t, t0, ephemeris):
    """Projected star-planet distance (stellar radii); infinite while the planet is behind the star."""
    phi = 2.0 * np.pi * (np.asarray(t, dtype=float) - t0) / ephemeris.period_days
    inc = np.radians(ephemeris.inclination_deg)
    z = ephemeris.a_rs * np.sqrt(np.sin(phi) ** 2 + (np.cos(inc) * np.cos(phi)) ** 2)
    return np.where(np.cos(phi) > 0, z, np.inf)


def transit(t, p, t0, ephemeris):
    """Relative flux ``F(z(t; t0), p)`` of the star during a transit (module docstring)."""
    return 1.0 - blocked(separation(t, t0, ephemeris), p, ephemeris.u1, ephemeris.u2)


@dataclass
class TransitFit:
    """A fitted light curve.

    Parameters
    ----------
    params : dict
        Fitted values: ``depth, rp_rs, t0_mjd, c0, c1`` (``c1`` per day) and with the
        settling term ``A, tau_days``.
    errors : dict
        Their standard errors (module docstring; NaN for a parameter held fixed).
    depth, depth_error : float
        ``d = p^2`` (signed) and its standard error.
    model : (N,) float
        The fitted model at every time (NaN where the data were not usable).
    chi2_red : float
        Reduced chi-square of the fit (the errors' scale factor is its square root).
    n_points : int
    scatter : float
        Standard deviation of the residuals over the model, relative.
    """

    params: dict
    errors: dict
    depth: float
    depth_error: float
    model: np.ndarray
    chi2_red: float
    n_points: int
    scatter: float
    fixed: dict = field(default_factory=dict)


def _systematics(s, s_start, c0, c1, amplitude, tau):
    """The baseline at times ``s`` in spans from the data's middle (``s_start``: the exposure's start)."""
    settle = 1.0 - amplitude * np.exp(-(s - s_start) / tau) if tau else 1.0
    return c0 * (1.0 + c1 * s) * settle


def signed_transit(t, depth, t0, ephemeris):
    """:func:`transit` of a planet of area ``|depth|``, its deficit negated for ``depth < 0`` (module docstring)."""
    return 1.0 - np.sign(depth) * blocked(separation(t, t0, ephemeris), np.sqrt(abs(depth)), ephemeris.u1,
                                          ephemeris.u2)


def _grid_t0(t, y, w, t_start, t_mid, ephemeris, tau, p_trial):
    """The trial ``t0`` whose linearised model (constant, slope, settling, scaled transit) fits best."""
    inc = np.radians(ephemeris.inclination_deg)
    chord = np.sqrt(max((1.0 + p_trial) ** 2 - (ephemeris.a_rs * np.cos(inc)) ** 2, 1e-6))
    duration = ephemeris.period_days / np.pi * np.arcsin(min(chord / (ephemeris.a_rs * np.sin(inc)), 1.0))
    n = int(np.clip(np.ceil(T0_PER_DURATION * (t[-1] - t[0]) / duration), 2, T0_GRID_MAX))
    trials = np.linspace(t[0], t[-1], n)
    columns = [np.ones_like(t), t - t_mid] + ([np.exp(-(t - t_start) / tau)] if tau else [])
    base = np.column_stack(columns) * w[:, None]
    best, best_chi2, best_amp = trials[0], np.inf, 0.0
    for t0 in trials:
        shape = blocked(separation(t, t0, ephemeris), p_trial, ephemeris.u1, ephemeris.u2)
        if not shape.any():
            continue
        design = np.column_stack([base, -shape * w])
        coef, *_ = np.linalg.lstsq(design, y * w, rcond=None)
        chi2 = np.sum((design @ coef - y * w) ** 2)
        if chi2 < best_chi2 and coef[-1] > 0:
            best, best_chi2, best_amp = t0, chi2, coef[-1] / coef[0]
    return best, best_amp


def fit(time, flux, error, t_start, ephemeris, settling=True, shape=None):
    """Fit the light curve ``flux(time)`` (module docstring).

    Parameters
    ----------
    time : (N,) float
        Mid-integration times, MJD.
    flux, error : (N,) float
        The light curve and its errors (any unit); non-finite or non-positive errors are
        left out.
    t_start : float
        The exposure's start, MJD.
    ephemeris : Ephemeris
    settling : bool
        Whether the model has the settling term ``A, tau``.
    shape : TransitFit, optional
        The white light's fit: its ``t0`` (and ``tau``) are held fixed (a spectroscopic
        light curve).

    Returns
    -------
    TransitFit

    Raises
    ------
    CalibrationInputError
        With fewer usable points than twice the free parameters.
    """
    time, flux, error = (np.asarray(a, dtype=float) for a in (time, flux, error))
    good = np.isfinite(time) & np.isfinite(flux) & np.isfinite(error) & (error > 0)
    t, y, e = time[good], flux[good], error[good]
    order = np.argsort(t)
    t, y, e = t[order], y[order], e[order]
    # fitted: depth, t0 and tau in spans from the data's middle, c1 per span (module docstring: "Fit")
    names = ["depth", "t0", "c0", "c1"] + (["A", "tau"] if settling else [])
    t_mid = 0.5 * (t[0] + t[-1]) if t.size else 0.0
    span = max(t[-1] - t[0], 1e-6) if t.size else 1.0
    fixed = {}
    if shape is not None:
        given = {"t0": (shape.params["t0_mjd"] - t_mid) / span}
        if "tau_days" in shape.params:
            given["tau"] = shape.params["tau_days"] / span
        fixed = {k: v for k, v in given.items() if k in names}
    free = [n for n in names if n not in fixed]
    if t.size < 2 * len(free):
        raise CalibrationInputError(f"a transit fit of {len(free)} parameters needs at least {2 * len(free)} "
                                    f"usable points, got {t.size}")
    s_start = (t_start - t_mid) / span
    norm = float(np.median(y)) or 1.0  # the fit runs on y / norm: every parameter near unity or below
    y, e = y / norm, e / norm
    tau0 = fixed.get("tau", TAU_START_FRACTION) if settling else 0.0
    if "t0" in fixed:
        t0_start, depth_start = fixed["t0"], shape.depth
    else:
        t0_mjd, amp = _grid_t0(t, y, 1.0 / e, t_start, t_mid, ephemeris, tau0 * span, 0.1)
        t0_mjd = ephemeris.t0_mjd if ephemeris.t0_mjd is not None else t0_mjd
        t0_start, depth_start = (t0_mjd - t_mid) / span, 0.01 * amp  # the deficit scales as the depth (trial 0.01)
    start = {"depth": depth_start, "t0": t0_start, "c0": 1.0, "c1": 0.0, "A": 0.0, "tau": tau0}
    lower = {"depth": -0.25, "t0": -1.0, "c0": -np.inf, "c1": -np.inf, "A": -1.0, "tau": 1e-3}
    upper = {"depth": 0.25, "t0": 1.0, "c0": np.inf, "c1": np.inf, "A": 1.0, "tau": 100.0}
    scale = {"depth": 1e-3, "t0": 1e-3, "c0": 1e-3, "c1": 1e-3, "A": 1e-3, "tau": 0.1}

    def model(x, times):
        v = {**fixed, **dict(zip(free, x, strict=True))}
        return (_systematics((times - t_mid) / span, s_start, v["c0"], v["c1"], v.get("A", 0.0), v.get("tau", 0.0))
                * signed_transit(times, v["depth"], t_mid + v["t0"] * span, ephemeris))

    x0 = np.array([np.clip(start[n], lower[n], upper[n]) for n in free])
    result = least_squares(lambda x: (model(x, t) - y) / e, x0, bounds=([lower[n] for n in free],
                                                                        [upper[n] for n in free]),
                           x_scale=[scale[n] for n in free], method="trf")
    dof = max(t.size - len(free), 1)
    chi2_red = float(np.sum(result.fun**2) / dof)
    # the covariance of the columns scaled to unit norm (the parameters' units differ by orders of magnitude,
    # and a pseudo-inverse's cut must see only a real degeneracy)
    norms = np.linalg.norm(result.jac, axis=0)
    use = norms > 0
    scaled = result.jac[:, use] / norms[use]
    cov = np.full((len(free), len(free)), np.nan)
    cov[np.ix_(use, use)] = np.linalg.pinv(scaled.T @ scaled, rcond=1e-12) / np.outer(norms[use], norms[use]) * chi2_red
    v = {**fixed, **dict(zip(free, map(float, result.x), strict=True))}
    sigma = {n: float(np.sqrt(cov[k, k])) for k, n in enumerate(free)}
    sigma.update({n: np.nan for n in fixed})
    depth, sigma_d = v["depth"], sigma["depth"]
    p = np.sqrt(max(depth, 0.0))
    # back to MJD and days: t0 = t_mid + t0' span, tau = tau' span, c1 = c1' / span
    params = {"depth": depth, "rp_rs": float(p), "t0_mjd": t_mid + v["t0"] * span, "c0": v["c0"] * norm,
              "c1": v["c1"] / span}
    errors = {"depth": sigma_d, "rp_rs": sigma_d / (2.0 * p) if p > 0 else np.nan, "t0_mjd": sigma["t0"] * span,
              "c0": sigma["c0"] * norm, "c1": sigma["c1"] / span}
    if settling:
        params.update(A=v["A"], tau_days=v["tau"] * span)
        errors.update(A=sigma["A"], tau_days=sigma["tau"] * span)
    full = np.full(time.shape, np.nan)
    full[good] = model(result.x, time[good]) * norm
    return TransitFit(params, errors, depth, sigma_d, full, chi2_red, int(t.size),
                      float(np.std(y / model(result.x, t) - 1.0)), {PUBLIC[k]: params[PUBLIC[k]] for k in fixed})


def _declining(settling):
    def variant(time, flux, error, t_start, ephemeris, shape=None):
        try:
            return fit(time, flux, error, t_start, ephemeris, settling=settling, shape=shape)
        except CalibrationInputError as error:  # too few points: the step declines
            return Skip(str(error))
    return variant


#: Variant ``ramp``: :func:`fit` with the settling term; declines (a Skip) where :func:`fit` raises.
fit_ramp = _declining(True)
#: Variant ``linear``: :func:`fit` without the settling term (a constant and a slope).
fit_linear = _declining(False)
