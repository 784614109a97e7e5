"""A planetary transit: the light a planet blocks of a limb-darkened star.

Model (the problem as Mandel & Agol 2002, ApJ 580 L171, pose it; the numerical method is
this module's own).  A planet of radius ratio ``p = R_p / R_*`` at projected separation
``z`` (stellar radii) from the centre of a star whose intensity follows the quadratic
limb-darkening law

    I(r) / I(0) = 1 - u1 (1 - mu) - u2 (1 - mu)^2,   mu = sqrt(1 - r^2),

lets through the relative flux

    F(z, p) = 1 - (1 / F_*) int_0^1 I(r) 2 r kappa(r; z, p) dr,   F_* = pi (1 - u1/3 - u2/6),

with ``2 r kappa(r)`` the arc of the annulus of radius ``r`` inside the planet's disc:
``kappa = pi`` for ``r <= p - z``, ``kappa = arccos((r^2 + z^2 - p^2) / (2 r z))`` for
``|z - p| < r < z + p``, zero elsewhere.

Numerical method: the fully covered annuli ``r <= p - z`` are integrated in closed form
(``int I(mu) mu dmu`` is a polynomial in ``mu``); the partly covered ones, ``a = |z - p|``
to ``b = min(z + p, 1)``, with ``r = (a + b)/2 - (b - a)/2 cos(phi)`` and Gauss-Legendre
nodes in ``phi``: ``kappa`` and ``mu`` vanish as square roots at the ends of the
interval, and the substitution makes them (and so the integrand) smooth in ``phi``.
:data:`NODES` nodes give < 1e-8 of the star's flux at any ``z`` and ``p <= 0.5``, contacts
included (measured 5e-10 at worst; ``tests/test_lrs_tso_sim.py`` holds it to 1e-8 against
the uniform disc's exact overlap area, a brute-force midpoint sum with limb darkening and
the small-planet limit ``p^2 I(z) / <I>``).

Orbit: circular, ``z(t) = a sqrt(sin^2 phase + cos^2 i cos^2 phase)`` with
``phase = 2 pi (t - t0) / P``; the planet is in front of the star when ``cos(phase) > 0``
(no secondary eclipse is modelled: behind the star the flux is 1).

Limb-darkening coefficients must give a positive intensity that falls towards the limb
(Kipping 2013, MNRAS 435 2152: ``u1 + u2 <= 1``, ``u1 >= 0``, ``u1 + 2 u2 >= 0``).
"""
from dataclasses import dataclass
from functools import cache

import numpy as np

#: Gauss-Legendre nodes of the partly covered annuli's integral (module docstring).
NODES = 64
#: Wavelength (um) about which the radius ratio is linear.
REFERENCE_UM = 7.5


@cache
def _nodes(n):
    """Gauss-Legendre nodes and weights on [0, pi]."""
    x, w = np.polynomial.legendre.leggauss(n)
    return np.pi / 2 * (x + 1), np.pi / 2 * w


def _mean_intensity(u1, u2):
    """``<I> = 1 - u1/3 - u2/6``: the disc-averaged intensity over the central one."""
    return 1 - u1 / 3 - u2 / 6


def intensity(r, u1, u2):
    """``I(r) / I(0)`` of the quadratic law (module docstring); ``r`` in stellar radii, <= 1."""
    one_minus_mu = 1 - np.sqrt(1 - np.square(r))
    return 1 - u1 * one_minus_mu - u2 * one_minus_mu**2


def _inner_disc(c, u1, u2):
    """``int_0^c I(r) 2 pi r dr``, closed form: ``2 pi [H(1) - H(mu_c)]``, ``H(mu) = int I(mu) mu dmu``."""
    def h(mu):
        return (1 - u1 - u2) * mu**2 / 2 + (u1 + 2 * u2) * mu**3 / 3 - u2 * mu**4 / 4

    return 2 * np.pi * (h(1.0) - h(np.sqrt(1 - np.square(c))))


def occulted_flux(z, p, u1=0.0, u2=0.0):
    """The relative flux ``F(z, p)`` of a star with a planet in front (module docstring).

    Parameters
    ----------
    z : array_like
        Projected separation of the centres, stellar radii (>= 0).
    p : array_like
        Radius ratio, in (0, 1); broadcast against ``z``.
    u1, u2 : float
        Quadratic limb-darkening coefficients.

    Returns
    -------
    numpy.ndarray
        1 outside the transit, ``1 - p^2`` for a uniform disc fully in front.
    """
    z, p = np.broadcast_arrays(np.abs(np.asarray(z, float)), np.asarray(p, float))
    blocked = _inner_disc(np.clip(p - z, 0, 1), u1, u2)
    a, b = np.abs(z - p), np.minimum(z + p, 1.0)
    partial = b > a
    if np.any(partial):
        a, b, zz, pp = a[partial], b[partial], z[partial], p[partial]
        phi, w = _nodes(NODES)
        half = (b - a)[..., None] / 2
        r = (a + b)[..., None] / 2 - half * np.cos(phi)
        cos_kappa = (r**2 + zz[..., None] ** 2 - pp[..., None] ** 2) / (2 * r * zz[..., None])
        kappa = np.arccos(np.clip(cos_kappa, -1, 1))
        integrand = intensity(r, u1, u2) * 2 * r * kappa * half * np.sin(phi)
        blocked = blocked.copy()
        blocked[partial] += integrand @ w
    return 1 - blocked / (np.pi * _mean_intensity(u1, u2))


@dataclass(frozen=True)
class Transit:
    """A transiting planet on a circular orbit: the light curve of a scene's star.

    Parameters
    ----------
    t0_hours : float
        Mid-transit, hours from the exposure start.
    period_days : float
    a_rs : float
        Semi-major axis over the stellar radius (> 1).
    inclination_deg : float
        In (0, 90].
    u1, u2 : float
        Quadratic limb darkening (module docstring for the allowed values).
    rp_rs : float
        Radius ratio at :data:`REFERENCE_UM`.
    rp_rs_slope_per_um : float
        Its slope in wavelength: ``p(lambda) = rp_rs + slope (lambda - 7.5 um)``; it must
        stay in (0, 0.5] over 5-14 um.
    """

    t0_hours: float
    period_days: float
    a_rs: float
    inclination_deg: float
    u1: float
    u2: float
    rp_rs: float
    rp_rs_slope_per_um: float = 0.0

    def __post_init__(self):
        problems = []
        if not self.period_days > 0:
            problems.append(f"period_days must be > 0, got {self.period_days!r}")
        if not self.a_rs > 1:
            problems.append(f"a_rs must be > 1, got {self.a_rs!r}")
        if not 0 < self.inclination_deg <= 90:
            problems.append(f"inclination_deg must be in (0, 90], got {self.inclination_deg!r}")
        if not (self.u1 >= 0 and self.u1 + self.u2 <= 1 and self.u1 + 2 * self.u2 >= 0):
            problems.append(f"u1, u2 = {self.u1!r}, {self.u2!r}: need u1 >= 0, u1 + u2 <= 1, u1 + 2 u2 >= 0 "
                            f"(a positive intensity falling to the limb)")
        ends = self.radius_ratio(np.array([5.0, 14.0]))
        if not np.all((ends > 0) & (ends <= 0.5)):
            problems.append(f"rp_rs with rp_rs_slope_per_um gives {ends[0]:.4g} at 5 um and {ends[1]:.4g} at 14 um; "
                            f"it must stay in (0, 0.5]")
        if problems:
            raise ValueError("; ".join(problems))

    def radius_ratio(self, wavelength_um):
        """``p(lambda)``, linear about :data:`REFERENCE_UM`."""
        return self.rp_rs + self.rp_rs_slope_per_um * (np.asarray(wavelength_um, float) - REFERENCE_UM)

    def separation(self, t_s):
        """Projected separation ``z`` (stellar radii) at ``t_s`` seconds from the exposure start; inf when behind."""
        phase = 2 * np.pi * (np.asarray(t_s, float) - self.t0_hours * 3600.0) / (self.period_days * 86400.0)
        cos_i = np.cos(np.radians(self.inclination_deg))
        z = self.a_rs * np.sqrt(np.sin(phase) ** 2 + (cos_i * np.cos(phase)) ** 2)
        return np.where(np.cos(phase) > 0, z, np.inf)

    def flux(self, t_s, wavelength_um):
        """Relative flux of the star at times ``t_s`` (s from the exposure start) and wavelengths, broadcast."""
        z, p = np.broadcast_arrays(self.separation(t_s), self.radius_ratio(wavelength_um))
        out = np.ones(z.shape)
        inside = z < 1 + p
        if np.any(inside):
            out[inside] = occulted_flux(z[inside], p[inside], self.u1, self.u2)
        return out

    def header(self, epoch_mjd):
        """Truth keywords of the transit: T0_MJD, PERIOD_D, A_RS, INC_DEG, U1, U2, RP_RS, RP_SLOPE."""
        return {"T0_MJD": (epoch_mjd + self.t0_hours / 24, "mid-transit, MJD"),
                "PERIOD_D": (self.period_days, "orbital period, days"),
                "A_RS": (self.a_rs, "semi-major axis / stellar radius"),
                "INC_DEG": (self.inclination_deg, "orbital inclination, deg"),
                "U1": (self.u1, "quadratic limb darkening u1"), "U2": (self.u2, "quadratic limb darkening u2"),
                "RP_RS": (self.rp_rs, f"radius ratio at {REFERENCE_UM} um"),
                "RP_SLOPE": (self.rp_rs_slope_per_um, "d(rp_rs)/d(lambda), per um")}
