"""Pointing, distortion and catalog alignment (issue 5)."""
from dataclasses import replace

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import alignment
from miri_testbed.simulator import DetectorEffects, Effects, Observation, OpticsEffects, ReferenceOptions
from miri_testbed.simulator.pointing import DISTORTION, TruePointing, celestial_wcs, true_pixels

from helpers import history_of, simulate_and_calibrate, star_scene

#: The stated range the alignment must recover: shifts up to 2" per axis (Law25talk: 2" in
#: rare cases), rolls up to 0.1 deg (20 x the simulated rms roll error, a placeholder).
MAX_SHIFT_ARCSEC = 2.0
MAX_ROLL_DEG = 0.1


def _field(n, rng, obs):
    x = rng.uniform(30, 1000, n)
    y = rng.uniform(30, 1000, n)
    return celestial_wcs(obs).wcs_pix2world(x, y, 0)


@given(de=st.floats(-MAX_SHIFT_ARCSEC, MAX_SHIFT_ARCSEC), dn=st.floats(-MAX_SHIFT_ARCSEC, MAX_SHIFT_ARCSEC),
       droll=st.floats(-MAX_ROLL_DEG, MAX_ROLL_DEG), n=st.integers(10, 200), seed=st.integers(0, 2**31))
@settings(max_examples=25, phases=[Phase.explicit, Phase.reuse, Phase.generate])
def test_alignment_recovers_any_shift_and_roll_in_range(de, dn, droll, n, seed):
    """Detections of a field seen with a pointing error and the distortion, centroided to
    0.02 px: after alignment every position is within 3 mas of the catalog's."""
    rng = np.random.default_rng(seed)
    obs = Observation(subarray="FULL")
    ra, dec = _field(n, rng, obs)
    terms = tuple((i, j, dx, dy) for (i, j), (dx, dy) in DISTORTION.items())
    x, y = true_pixels(obs, TruePointing(de, dn, droll, terms), ra, dec)
    xn, yn = x + 0.02 * rng.standard_normal(n), y + 0.02 * rng.standard_normal(n)
    distortion = alignment.Distortion(terms)
    wcs, info = alignment.align(xn, yn, celestial_wcs(obs), (ra, dec), distortion)
    assert info["n_matched"] >= 0.9 * n
    # the recovered pointing, judged on the noise-free positions: only the fit's own error
    # remains, ~ sigma sqrt(4 / n) per axis for 4 parameters (sigma = 0.02 px = 2.2 mas)
    mra, mdec = alignment.sky_positions(x, y, wcs, distortion)
    sep = SkyCoord(mra * u.deg, mdec * u.deg).separation(SkyCoord(ra * u.deg, dec * u.deg)).to_value(u.mas)
    expected = 1.18 * 2.2 * np.sqrt(4 / n)  # median of the radial error
    assert np.median(sep) < 2 * expected + 0.2 and sep.max() < 8 * expected + 0.5
    before = SkyCoord(*celestial_wcs(obs).wcs_pix2world(x, y, 0), unit="deg").separation(
        SkyCoord(ra * u.deg, dec * u.deg)).to_value(u.mas)
    assert np.median(before) > np.median(sep) or np.hypot(de, dn) < 0.01


@pytest.mark.parametrize("n", [0, 1, 4])
def test_too_few_stars_is_a_clear_refusal(n):
    rng = np.random.default_rng(n)
    obs = Observation(subarray="FULL")
    ra, dec = _field(n, rng, obs)
    x, y = true_pixels(obs, TruePointing(0.5, -0.3), ra, dec)
    with pytest.raises(alignment.AlignmentError, match="too few stars"):
        alignment.align(x, y, celestial_wcs(obs), (ra, dec), alignment.Distortion())


@given(seed=st.integers(0, 2**31), off=st.floats(0.005, 0.04))
@settings(max_examples=20)
def test_five_precise_stars_align_though_one_is_a_few_mas_off(seed, off):
    """Five stars centroided to 0.003 px, one 0.005-0.04 px (0.5-4.4 mas) off: aligned with
    all five (the clip is for mismatches; with the MAD of five such residuals as its scale a
    2 mas star was clipped and the alignment refused), while a star 1 px off among ten is
    clipped."""
    rng = np.random.default_rng(seed)
    ref = rng.uniform(0, 250, (5, 2))
    det = ref + 0.003 * rng.standard_normal((5, 2))
    det[0] += off * np.array([np.cos(seed), np.sin(seed)])
    _, matched, _ = alignment.fit_alignment(det, ref)
    assert matched == 5
    ref10 = rng.uniform(0, 250, (10, 2))
    det10 = ref10 + 0.003 * rng.standard_normal((10, 2))
    det10[0] += 1.0
    assert alignment.fit_alignment(det10, ref10)[1] == 9


def test_unrelated_catalog_is_refused_not_matched():
    rng = np.random.default_rng(5)
    obs = Observation(subarray="FULL")
    ra, dec = _field(40, rng, obs)
    x, y = rng.uniform(30, 1000, (2, 40))  # detections with no relation to the catalog
    with pytest.raises(alignment.AlignmentError):
        alignment.align(x, y, celestial_wcs(obs), (ra, dec), alignment.Distortion())


def test_pipeline_flags_a_refused_alignment_and_keeps_the_commanded_wcs(tmp_path):
    obs = Observation(filter="F1000W", subarray="SUB128", ngroups=5)
    noise_free = Effects.noise_free()
    effects = replace(noise_free, optics=replace(noise_free.optics, pointing_error=True, pointing_error_arcsec=1.0))
    sim, products, scores = simulate_and_calibrate(tmp_path, obs, star_scene(obs, 2, n=3, margin=25), 2,
                                                   effects=effects, references=ReferenceOptions(kind="perfect"))
    cat = QTable.read(products["cat"])
    assert cat.meta["alignment"]["status"] == "REFUSED"
    assert "refused" in cat.meta["alignment"]["reason"] and "too few stars" in cat.meta["alignment"]["reason"]
    with dm.open(products["cal"]) as cal:
        assert cal.meta.cal_step.tweakreg == "SKIPPED"
        assert cal.meta.wcsinfo.crval1 == pytest.approx(obs.ra_deg)
        assert any("too few stars" in entry for entry in history_of(cal))
    assert scores.loc[scores["metric"] == "alignment_refused", "value"].tolist() == [1.0]
    assert "astrometric_error_aligned" not in set(scores["metric"])


def test_pipeline_aligns_a_field_to_a_few_mas(tmp_path):
    obs = Observation(filter="F770W", subarray="SUB256", ngroups=10)
    effects = Effects(DetectorEffects(cosmic_rays=False, showers=False), OpticsEffects(pointing_error_arcsec=1.0))
    sim, products, scores = simulate_and_calibrate(tmp_path, obs, star_scene(obs, 4, n=15, flux=(0.5, 5.0)), 4,
                                                   effects=effects)
    cat = QTable.read(products["cat"])
    assert cat.meta["alignment"]["status"] == "COMPLETE", cat.meta["alignment"]
    err = scores.loc[(scores.metric == "astrometric_error") & (scores.snr > 100), "value"]
    assert len(err) >= 5 and err.median() < 5.0
    before = scores.loc[(scores.metric == "astrometric_error_unaligned") & (scores.snr > 100), "value"]
    assert len(before) == len(err) and before.median() > 3 * err.median()
