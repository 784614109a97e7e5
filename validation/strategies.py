"""Hypothesis strategies for the testbed's inputs, so users can write their own property
tests against it::

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
from miri_testbed.simulator import DetectorEffects, Observation, ReferenceOptions, Scene
from miri_testbed.simulator.sky import random_star_field

from .scenarios import Scenario

SMALL_SUBARRAYS = ("SUB64", "SUB128", "SUB256")


@st.composite
def observations(draw, filters=tuple(imager.FILTERS), subarrays=SMALL_SUBARRAYS, readpatts=("FASTR1", "SLOWR1"),
                 ngroups=(2, 30), nints=(1, 2), epoch_mjd=(59720.0, 61000.0)):
    """:class:`simulator.Observation` over the given filters, subarrays, readout patterns
    (pairs the instrument does not define are skipped) and ranges of groups, integrations
    and epochs."""
    pairs = [(s, r) for s in subarrays for r in readpatts if r == "FASTR1" or s in readout.SLOW_ROWCLOCKS]
    if not pairs:
        raise ValueError(f"no valid subarray/readout pair among {subarrays} x {readpatts}")
    subarray, readpatt = draw(st.sampled_from(pairs))
    return Observation(filter=draw(st.sampled_from(filters)), subarray=subarray, readpatt=readpatt,
                       ngroups=draw(st.integers(*ngroups)), nints=draw(st.integers(*nints)),
                       epoch_mjd=draw(st.floats(*epoch_mjd)))


@st.composite
def point_sources(draw, observation, n=(0, 5), flux_mjy=(0.01, 10.0), margin_pix=14):
    """A tuple of :class:`simulator.PointSource` inside ``observation``'s field."""
    count = draw(st.integers(*n))
    if count == 0:
        return ()
    low = draw(st.floats(*flux_mjy))
    high = draw(st.floats(low, flux_mjy[1]))
    seed = draw(st.integers(0, 2**32 - 1))
    return random_star_field(observation, count, low, max(high, low), np.random.default_rng(seed), margin_pix)


@st.composite
def scenes(draw, observation, n=(0, 5), flux_mjy=(0.01, 10.0), background_mjy_sr=(0.0, 100.0)):
    """A :class:`simulator.Scene` for ``observation``: point sources and a background."""
    return Scene(draw(point_sources(observation, n, flux_mjy)), draw(st.floats(*background_mjy_sr)))


RATE_RANGES = {"cosmic_ray_rate": (0.0, 5e-4), "shower_rate": (0.0, 0.1), "hot_fraction": (0.0, 1e-2),
               "dead_fraction": (0.0, 1e-2), "bias_scatter_dn": (0.0, 1000.0)}


@st.composite
def effects(draw, **fixed):
    """:class:`simulator.DetectorEffects` with each switch and number drawn (within
    ``RATE_RANGES``, or 0 to twice the default for one not listed there); keywords fix
    fields, e.g. ``effects(cosmic_rays=False)``."""
    values = {}
    for f in fields(DetectorEffects):
        if f.name in fixed:
            values[f.name] = fixed[f.name]
        elif isinstance(f.default, bool):
            values[f.name] = draw(st.booleans())
        elif isinstance(f.default, (int, float)):
            low, high = RATE_RANGES.get(f.name, (0.0, 2.0 * f.default))
            value = draw(st.floats(low, high))
            values[f.name] = int(value) if isinstance(f.default, int) else value
    return DetectorEffects(**values)


@st.composite
def reference_options(draw, kinds=("measured", "perfect")):
    """:class:`simulator.ReferenceOptions`: the kind and the measurement's counts and errors."""
    return ReferenceOptions(kind=draw(st.sampled_from(kinds)), dark_integrations=draw(st.integers(10, 200)),
                            readnoise_pairs=draw(st.integers(20, 400)), gain_error=draw(st.floats(0.0, 0.03)),
                            photom_error=draw(st.floats(0.0, 0.01)), saturation_margin=draw(st.floats(0.9, 1.0)))


@st.composite
def scenarios(draw, subarrays=SMALL_SUBARRAYS, readpatts=("FASTR1",), ngroups=(2, 12), nints=(1, 2),
              n_sources=(0, 4), **effect_fields):
    """A :class:`validation.scenarios.Scenario`: observation, fixed sources, background,
    effects (``effect_fields`` fix some) and reference options."""
    observation = draw(observations(subarrays=subarrays, readpatts=readpatts, ngroups=ngroups, nints=nints))
    scene = draw(scenes(observation, n_sources))
    name = draw(st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True))
    return Scenario(name=name, observation=observation, background_mjy_sr=scene.background_mjy_sr,
                    sources=scene.sources, effects=draw(effects(**effect_fields)), references=draw(reference_options()))
