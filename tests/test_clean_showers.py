"""MRS ``clean_showers`` (calibration.clean_showers): the residual shower light modelled from the inter-slice gaps.

Properties: on a synthetic frame (slices of 20 px with 5 px gaps) the showers' light in the slices is
mostly removed and the slices' own light is not touched; on noise alone the model is the gaps' noise
averaged (< 0.2 of a pixel's), so a shower-free exposure changes by less than its noise; ``none`` (the
default) is a declared skip; and
(slow) a simulated MRS exposure with many showers, its detector1 leaving them unflagged, loses most of
their light in the slices while the same exposure without showers changes by no more than its noise.
"""
from dataclasses import replace

import numpy as np
import pytest

from miri_testbed.calibration import clean_showers as cs
from miri_testbed.calibration import detector1, mrs_wcs, registry
from miri_testbed.calibration.inputs import open_uncal
from miri_testbed.calibration.steps import StepLog
from miri_testbed.instrument import dq as dqflags
from miri_testbed.simulator import DetectorEffects, Effects, MrsObservation, Scene, simulate
from miri_testbed.simulator import showers as sim_showers
from miri_testbed.simulator.truth import read_truth

SHAPE = (256, 300)


def _slices():
    """Slices 20 px wide, 5 px gaps between them, reference columns at the edges as on the detector."""
    x = np.arange(SHAPE[1])
    lit = ((x - 4) % 25 < 20) & (x >= 4) & (x < SHAPE[1] - 4)
    dq = np.zeros(SHAPE, np.uint32)
    dq[:, :4] = dq[:, -4:] = dqflags.REFERENCE_PIXEL
    return np.broadcast_to(lit, SHAPE).copy(), dq


def _showers(rng, n=6):
    """``n`` showers of :mod:`simulator.showers`' shape (semi-axes 10-40 px, e^-2 at the edge), 0.2-1 DN/s peak."""
    ys, xs = np.mgrid[:SHAPE[0], :SHAPE[1]]
    image = np.zeros(SHAPE)
    for _ in range(n):
        shower = dict(x=rng.uniform(0, SHAPE[1]), y=rng.uniform(0, SHAPE[0]), a=rng.uniform(10, 40),
                      b=rng.uniform(10, 40), angle=rng.uniform(0, np.pi))
        image += rng.uniform(0.2, 1.0) * sim_showers.footprint(shower, ys, xs)[0]
    return image


def test_showers_light_in_the_slices_is_mostly_removed_and_the_sky_is_not_touched():
    rng = np.random.default_rng(1)
    lit, dq = _slices()
    sky = np.where(lit, 5.0 + 50.0 * np.exp(-0.5 * ((np.arange(SHAPE[1]) - 150) / 3.0) ** 2), 0.0)  # a bright source
    showers = _showers(rng)
    noise = 0.02 * rng.standard_normal(SHAPE)
    cleaned, var = cs.gaps(sky + showers + noise, np.ones(SHAPE), dq, lit)
    inside = lit & (dq == 0)
    left = (cleaned - sky - noise)[inside]
    assert np.abs(left).sum() < 0.5 * showers[inside].sum()  # most of the showers' light, pixel by pixel, is gone
    assert abs(left.sum()) < 0.1 * showers[inside].sum()  # and nearly all of it in all
    assert np.all(var == 1.0)
    clean_sky, _ = cs.gaps(sky + noise, np.ones(SHAPE), dq, lit)
    change = (clean_sky - sky - noise)[inside]
    # no sky enters the model, only the gaps' noise averaged over ~18 rows of a few pixels: ~0.12 of a pixel's
    assert np.sqrt(np.mean(change ** 2)) < 0.2 * 0.02 and abs(change.mean()) < 0.02 * 0.02
    assert np.array_equal(clean_sky[:, :4], (sky + noise)[:, :4])  # reference pixels as they were


def test_bad_pixels_and_hot_gap_pixels_do_not_enter_the_model():
    lit, dq = _slices()
    rate = np.zeros(SHAPE)
    rate[100, 26] = 1e4  # a cosmic ray's hot pixel in a gap: above the 99.9th percentile
    rate[50, 27] = np.nan
    dq[60, 28] = dqflags.DO_NOT_USE
    rate[60, 28] = 1e4
    model = cs.shower_model(rate, dq, lit)
    assert np.all(model == 0)
    cleaned, _ = cs.gaps(rate, rate, dq, lit)
    assert np.isnan(cleaned[50, 27]) and cleaned[60, 28] == 1e4


def test_none_is_the_default_and_a_declared_skip():
    assert registry.DEFAULTS["clean_showers"] == "none"
    assert registry.declared_skip("clean_showers", "none") is not None
    assert registry.ALGORITHMS["clean_showers"]["gaps"] is cs.gaps


@pytest.fixture(scope="module")
def exposures(tmp_path_factory):
    """A 1A/2A sky exposure with ~30 showers (1 per s) and the same without showers (same seed), their rates
    through detector1 without shower flagging (``showers=none``: every shower's light the jump step misses stays
    in), and the slices (the geometry references)."""
    folder = tmp_path_factory.mktemp("showers")
    rates, lit = {}, None
    for name, detector in (("on", DetectorEffects(shower_rate=1.0)), ("off", DetectorEffects(showers=False))):
        sim = simulate(Scene(background_mjy_sr=5.0), MrsObservation(), folder / name, seed=4,
                       effects=replace(Effects(), detector=detector))
        exposure = open_uncal(sim["uncal"])
        d1 = detector1.run(StepLog(), exposure, sim["refs"], registry.resolve({"showers": "none"}))
        rates[name] = (d1.rate.astype(float), d1.dq, np.sqrt(d1.var_poisson + d1.var_rnoise))
        if lit is None:
            bands = mrs_wcs.assign(StepLog(), registry.resolve({}), mrs_wcs.read_references(sim["refs"], exposure),
                                   d1.rate.shape)
            lit = cs.lit_pixels(bands.values(), d1.rate.shape)
        rates[name, "truth"] = read_truth(sim["truth"])
    return rates, lit


@pytest.mark.slow  # two MRS simulations: ~3 min on 2 loaded cores
def test_a_simulated_exposure_loses_most_of_its_showers_light_and_a_shower_free_one_only_noise(exposures):
    rates, lit = exposures
    (on, dq, err), (off, dq_off, _) = rates["on"], rates["off"]
    assert len(rates["on", "truth"].table("SHOWERS")) > 15
    ok = lit & np.isfinite(on) & np.isfinite(off) & ((dq | dq_off) & dqflags.DO_NOT_USE == 0)
    showers = on - off  # same seed: the showers' light the rate keeps, and noise
    cleaned, _ = cs.gaps(on, err ** 2, dq, lit)
    assert showers[ok].sum() > 10 * np.sqrt(np.sum(err[ok] ** 2))  # far above the noise
    assert abs((cleaned - off)[ok].sum()) < 0.3 * showers[ok].sum()  # most of it removed in the slices
    model = cs.shower_model(off, dq_off, lit)[ok]  # a shower-free exposure: its gaps' noise, averaged
    assert np.sqrt(np.mean(model ** 2)) < 0.2 * np.median(err[ok]) and abs(model.mean()) < 0.02 * np.median(err[ok])
