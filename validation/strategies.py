"""Hypothesis strategies for the testbed's inputs.

Users can write their own property tests against the testbed with them::

    from hypothesis import given
    from miri_testbed.validation.strategies import observations, scenarios

    @given(scenarios(subarrays=("SUB64",), ngroups=(3, 8)))
    def test_mine(scenario): ...

Every drawn value is valid for the simulator (SLOWR1 only with FULL, as documented in
:mod:`instrument.readout`).  Star positions come from :func:`simulator.sky.random_star_field`
with a drawn seed, so they respect the light-sensitive area; Hypothesis shrinks the seed,
the count and the fluxes.  Needs ``hypothesis`` (the ``test`` extra).
"""
from dataclasses import fields

import numpy as np
from hypothesis import strategies as st

from miri_testbed.instrument import imager, readout
from miri_testbed.simulator import Effects, Observation, ReferenceOptions, Scene
from miri_testbed.simulator.sky import random_star_field

from .scenarios import Scenario

SMALL_SUBARRAYS = ("SUB64", "SUB128", "SUB256")


@st.composite
def observations(draw, filters=tuple(imager.FILTERS), subarrays=SMALL_SUBARRAYS, readpatts=("FASTR1", "SLOWR1"),
                 ngroups=(2, 30), nints=(1, 2), epoch_mjd=(59720.0, 61000.0)):
    """Draw a :class:`simulator.Observation` valid for the simulator.

    Subarray/readout pairs the instrument does not define (SLOWR1 with anything but
    FULL, :data:`instrument.readout.SLOW_ROWCLOCKS`) are never drawn.

    Parameters
    ----------
    draw : callable
        Supplied by :func:`hypothesis.strategies.composite`; callers omit it.
    filters : sequence of str, optional
        Imager filters to draw from.
    subarrays : sequence of str, optional
        Subarrays to draw from.
    readpatts : sequence of str, optional
        Readout patterns to draw from.
    ngroups, nints : tuple of int, optional
        Inclusive ranges of groups per integration and of integrations.
    epoch_mjd : tuple of float, optional
        Range of the exposure epoch, MJD.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of :class:`simulator.Observation`.

    Raises
    ------
    ValueError
        If no subarray/readout pair of the arguments is valid.
    """
    pairs = [(s, r) for s in subarrays for r in readpatts if r == "FASTR1" or s in readout.SLOW_ROWCLOCKS]
    if not pairs:
        raise ValueError(f"no valid subarray/readout pair among {subarrays} x {readpatts}")
    subarray, readpatt = draw(st.sampled_from(pairs))
    return Observation(filter=draw(st.sampled_from(filters)), subarray=subarray, readpatt=readpatt,
                       ngroups=draw(st.integers(*ngroups)), nints=draw(st.integers(*nints)),
                       epoch_mjd=draw(st.floats(*epoch_mjd)))


@st.composite
def point_sources(draw, observation, n=(0, 5), flux_mjy=(0.01, 10.0), margin_pix=14):
    """Draw point sources inside an observation's light-sensitive field.

    Positions come from :func:`simulator.sky.random_star_field` with a drawn seed; the
    count, the flux range and the seed shrink.

    Parameters
    ----------
    draw : callable
        Supplied by :func:`hypothesis.strategies.composite`; callers omit it.
    observation : simulator.Observation
        The exposure whose field the sources fall in.
    n : tuple of int, optional
        Inclusive range of the number of sources.
    flux_mjy : tuple of float, optional
        Range of the fluxes, mJy.
    margin_pix : int, optional
        Distance kept from the field's edges, pixels.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of tuples of :class:`simulator.PointSource`.
    """
    count = draw(st.integers(*n))
    if count == 0:
        return ()
    low = draw(st.floats(*flux_mjy))
    high = draw(st.floats(low, flux_mjy[1]))
    seed = draw(st.integers(0, 2**32 - 1))
    return random_star_field(observation, count, low, max(high, low), np.random.default_rng(seed), margin_pix)


@st.composite
def scenes(draw, observation, n=(0, 5), flux_mjy=(0.01, 10.0), background_mjy_sr=(0.0, 100.0)):
    """Draw a :class:`simulator.Scene` for an observation: point sources and a background.

    Parameters
    ----------
    draw : callable
        Supplied by :func:`hypothesis.strategies.composite`; callers omit it.
    observation : simulator.Observation
        The exposure the scene is for.
    n : tuple of int, optional
        Inclusive range of the number of point sources.
    flux_mjy : tuple of float, optional
        Range of the source fluxes, mJy.
    background_mjy_sr : tuple of float, optional
        Range of the uniform background, MJy/sr.

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of :class:`simulator.Scene`.
    """
    return Scene(draw(point_sources(observation, n, flux_mjy)), draw(st.floats(*background_mjy_sr)))


RATE_RANGES = {"cosmic_ray_rate": (0.0, 5e-4), "shower_rate": (0.0, 0.1), "hot_fraction": (0.0, 1e-2),
               "dead_fraction": (0.0, 1e-2), "bias_scatter_dn": (0.0, 1000.0), "settling_tau_s": (1.0, 3600.0),
               "fringe_period_cm": (1.0, 5.8), "fringe_period_long_cm": (1.0, 6.4),  # a period of 0 is refused
               "leak_centre_um": (11.5, 13.5), "leak_sigma_um": (0.01, 0.5),  # within 3A (MrsEffects)
               "cross_artifact_fwhm_px": (1.0, 200.0), "cross_artifact_gauss_dx_px": (1.0, 60.0),
               "cross_artifact_gauss_sigma_px": (0.5, 10.0)}  # widths of 0 are refused


@st.composite
def effects(draw, **fixed):
    """Draw :class:`simulator.Effects`: each switch and number of each group drawn.

    Numbers are drawn within :data:`RATE_RANGES` (in the field's unit), or between 0 and
    twice the default (of either sign) for a field not listed there.

    Parameters
    ----------
    draw : callable
        Supplied by :func:`hypothesis.strategies.composite`; callers omit it.
    **fixed
        Fields of any group to fix instead of drawing, e.g. ``effects(cosmic_rays=False)``
        (field names are unique across the groups).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of :class:`simulator.Effects`.
    """
    groups = {}
    for group in fields(Effects):
        values = {}
        for f in fields(group.type):
            if f.name in fixed:
                values[f.name] = fixed[f.name]
            elif isinstance(f.default, bool):
                values[f.name] = draw(st.booleans())
            elif isinstance(f.default, (int, float)):
                low, high = RATE_RANGES.get(f.name, sorted((0.0, 2.0 * f.default)))  # a negative default too
                value = draw(st.floats(low, high))
                values[f.name] = int(value) if isinstance(f.default, int) else value
        groups[group.name] = group.type(**values)
    return Effects(**groups)


@st.composite
def reference_options(draw, kinds=("measured", "perfect")):
    """Draw :class:`simulator.ReferenceOptions`: the kind and the measurement's counts and errors.

    Parameters
    ----------
    draw : callable
        Supplied by :func:`hypothesis.strategies.composite`; callers omit it.
    kinds : sequence of str, optional
        Reference kinds to draw from (``"measured"``, ``"perfect"``).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of :class:`simulator.ReferenceOptions`; gain and photometric errors are
        fractions (at most 3 % and 1 %).
    """
    return ReferenceOptions(kind=draw(st.sampled_from(kinds)), dark_integrations=draw(st.integers(10, 200)),
                            readnoise_pairs=draw(st.integers(20, 400)), gain_error=draw(st.floats(0.0, 0.03)),
                            photom_error=draw(st.floats(0.0, 0.01)))


@st.composite
def scenarios(draw, subarrays=SMALL_SUBARRAYS, readpatts=("FASTR1",), ngroups=(2, 12), nints=(1, 2),
              n_sources=(0, 4), **effect_fields):
    """Draw a :class:`validation.scenarios.Scenario`.

    An observation, fixed sources, a background, detector effects and reference
    options, as a suite's TOML would give them.

    Parameters
    ----------
    draw : callable
        Supplied by :func:`hypothesis.strategies.composite`; callers omit it.
    subarrays : sequence of str, optional
        Subarrays to draw from.
    readpatts : sequence of str, optional
        Readout patterns to draw from.
    ngroups, nints : tuple of int, optional
        Inclusive ranges of groups per integration and of integrations.
    n_sources : tuple of int, optional
        Inclusive range of the number of point sources.
    **effect_fields
        :class:`simulator.Effects` fields to fix (see :func:`effects`).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Of :class:`validation.scenarios.Scenario`.
    """
    observation = draw(observations(subarrays=subarrays, readpatts=readpatts, ngroups=ngroups, nints=nints))
    scene = draw(scenes(observation, n_sources))
    name = draw(st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True))
    return Scenario(name=name, observation=observation, background_mjy_sr=scene.background_mjy_sr,
                    sources=scene.sources, effects=draw(effects(**effect_fields)), references=draw(reference_options()))
