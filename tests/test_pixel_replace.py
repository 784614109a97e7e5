"""Bad pixels on the LRS trace (simulator.trace_defects), their replacement (calibration.pixel_replace)
and the dropouts they leave without it (validation.lrs_dropouts)."""
from dataclasses import replace
from importlib.util import find_spec
from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import extract1d, pixel_replace, registry
from miri_testbed.calibration.pipeline import calibrate_exposure
from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import lrs
from miri_testbed.simulator import Effects, ReferenceOptions, simulate, spectra
from miri_testbed.simulator import lrs as sim_lrs
from miri_testbed.simulator.config import LrsEffects, LrsObservation, Scene, SpectralSource
from miri_testbed.validation.lrs_dropouts import score_dropouts

from helpers import flight_band_pixels, separable_scene

CONTINUUM = {"continuum": {"kind": "power_law", "index": 1.0, "flux_mjy": 5.0, "ref_um": 7.5}}
BAD = 8
jwst = pytest.mark.skipif(find_spec("jwst") is None, reason="jwst (the peers extra) is not installed")


@pytest.fixture(scope="module")
def render():
    """A noise-free slitless continuum on the flight trace (e-/s) and the trace column of each row."""
    table = lrs.flight_table("lrs_slitless")
    image = sim_lrs.render_source(table, spectra.spectrum_from_dict(CONTINUUM), (416, 72))
    rows = np.arange(416, dtype=float)
    lo, hi = table.row_range
    trace = np.full(416, np.nan)
    inside = (rows >= lo + 20) & (rows <= hi - 20)
    trace[inside] = table.trace(table.wavelength_at_row(rows[inside]))[0]
    lam = np.full(416, np.nan)
    lam[inside] = table.wavelength_at_row(rows[inside])
    trace[~((lam >= 5.5) & (lam <= 12))] = np.nan
    return image, trace


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """Slitless with Poisson and read noise and BAD pixels on the trace centre, 10 groups."""
    folder = tmp_path_factory.mktemp("pixrep")
    noise = replace(Effects.noise_free().detector, poisson=True, read_noise=True)
    effects = replace(Effects.noise_free(), detector=noise, lrs=LrsEffects(trace_perturbation=False,
                                                                          acquisition_error=False,
                                                                          trace_bad_pixels=BAD))
    return simulate(Scene((SpectralSource(CONTINUUM),)), LrsObservation(ngroups=10), folder, name="e", seed=3,
                    effects=effects, references=ReferenceOptions(kind="perfect"))


def _knock_out(image, trace, step=25):
    """Rows ``step`` apart, their trace-centre pixel bad: (sci NaN, dq DO_NOT_USE|DEAD, rows, cols)."""
    rows = np.flatnonzero(np.isfinite(trace))[5::step]
    cols = np.rint(trace[rows]).astype(int)
    sci, dq = image.copy(), np.zeros(image.shape, np.uint32)
    sci[rows, cols] = np.nan
    dq[rows, cols] = dqflags.DO_NOT_USE | dqflags.DEAD
    return sci, dq, rows, cols


def test_a_profile_that_does_not_change_along_the_rows_is_replaced_exactly():
    """``D_ij = f_i p_j``: the bound's delta is 0, so the replacement is the true value to rounding,
    for any row fluxes, any profile and bad pixels anywhere in the window (several per row)."""
    rng = np.random.default_rng(1)
    p = np.exp(-0.5 * ((np.arange(40) - 20.3) / 1.7) ** 2) + 0.01
    truth = rng.uniform(1, 100, 120)[:, None] * p[None, :]
    trace = np.full(120, 20.3)
    sci, dq = truth.copy(), np.zeros(truth.shape, np.uint32)
    bad = [(30, 20), (30, 22), (61, 15), (90, 26)]
    for y, x in bad:
        sci[y, x], dq[y, x] = np.nan, dqflags.DO_NOT_USE
    out, var, out_dq = pixel_replace.profile(sci, np.full(truth.shape, 2.0), dq, trace)
    for y, x in bad:
        assert out[y, x] == pytest.approx(truth[y, x], rel=1e-12)
        assert var[y, x] > 0
        assert out_dq[y, x] == dqflags.FLUX_ESTIMATED
    np.testing.assert_array_equal(np.delete(out.ravel(), [y * 40 + x for y, x in bad]),
                                  np.delete(truth.ravel(), [y * 40 + x for y, x in bad]))


def test_a_noise_free_trace_is_replaced_within_the_derived_bound(render):
    """On the simulator's noise-free slitless render, each replaced trace-centre pixel is within
    the module's bound ``f (|delta_b| + (S_b/s) sqrt(sum_G w delta^2 / sum_G w (S/s)^2))`` of its
    true value, with ``S`` the mean of the three nearest row pairs and ``delta = S/s - p_i``
    (uniform weights); the bound itself is below 1 % of the pixel, as the PSF changes slowly
    along the rows."""
    image, trace = render
    sci, dq, rows, cols = _knock_out(image, trace)
    out, _, out_dq = pixel_replace.profile(sci, np.ones(image.shape), dq, trace)
    j = np.arange(image.shape[1])
    errors, bounds = [], []
    for i, c in zip(rows, cols, strict=True):
        window = np.abs(j - trace[i]) <= extract1d.OPTIMAL_HALF_WIDTH_PIX
        s = image[[i + k for k in (-3, -2, -1, 1, 2, 3)]][:, window].mean(axis=0)
        p = image[i, window] / image[i, window].sum()
        delta = s / s.sum() - p
        b = np.flatnonzero(j[window] == c)[0]
        good = np.arange(window.sum()) != b
        f = image[i, window].sum()
        bounds.append(f * (abs(delta[b]) + s[b] / s.sum() * np.sqrt(np.sum(delta[good] ** 2)
                                                                   / np.sum((s[good] / s.sum()) ** 2))))
        errors.append(abs(out[i, c] - image[i, c]))
    assert np.all(np.array(errors) <= np.array(bounds) * (1 + 1e-9))
    assert np.all(np.array(bounds) < 0.01 * image[rows, cols])
    assert np.all(out_dq[rows, cols] == dqflags.DEAD | dqflags.FLUX_ESTIMATED)


def test_a_row_without_good_pixels_stays_nan_and_flagged(render):
    """Every pixel of a row bad: nothing to scale the profile to, so the row's pixels stay NaN and
    DO_NOT_USE, and the box gives the row NaN with DO_NOT_USE (no crash)."""
    image, trace = render
    i = np.flatnonzero(np.isfinite(trace))[40]
    sci, dq = image.copy(), np.zeros(image.shape, np.uint32)
    sci[i], dq[i] = np.nan, dqflags.DO_NOT_USE
    out, var, out_dq = pixel_replace.profile(sci, np.ones(image.shape), dq, trace)
    assert np.all(np.isnan(out[i])) and np.all(out_dq[i] == dqflags.DO_NOT_USE)
    spectrum = extract1d.box(out, var, np.zeros(image.shape[0]), out_dq, trace)
    assert np.isnan(spectrum.flux[i]) and spectrum.dq[i] & dqflags.DO_NOT_USE


def test_trace_bad_pixels_sit_on_the_trace_centre_in_the_mask_and_the_truth(noisy):
    """BAD distinct pixels within 1 px of the true trace centre, dead or hot, DO_NOT_USE with
    DEAD or HOT in the MASK, in the truth's TRACE_BAD_PIXELS and BADPIX."""
    with fits.open(noisy["truth"]) as truth:
        placed, trace, badpix = truth["TRACE_BAD_PIXELS"].data, truth["TRACE"].data, truth["BADPIX"].data
    assert len(placed) == BAD and len(set(zip(placed["y"], placed["x"], strict=True))) == BAD
    order = np.argsort(trace["y"])
    centre = np.interp(placed["y"], trace["y"][order], trace["x"][order])
    assert np.all(np.abs(placed["x"] - centre) <= 1.0)
    mask = dm.MaskModel(str(noisy["reference_files"]["MASK"])).dq[placed["y"], placed["x"]]
    kind = np.where(placed["kind"] == "hot", dqflags.HOT, dqflags.DEAD)
    assert np.all(mask & dqflags.DO_NOT_USE) and np.all(mask & kind)
    assert np.all(badpix[placed["y"], placed["x"]] == 1)


def test_without_the_step_the_bad_pixels_are_dropouts_with_it_none(noisy, tmp_path):
    """Step off: every row with a bad pixel in the box is a dropout (DO_NOT_USE partial sum),
    and no other row is; step on (default): no dropout, the replaced rows' DQ is clean."""
    with fits.open(noisy["truth"]) as truth:
        placed = truth["TRACE_BAD_PIXELS"].data
    counts = {}
    for variant in ("none", "profile"):
        x1d = calibrate_exposure(noisy["uncal"], noisy["refs"], {"pixel_replace": variant})["x1d"]
        path = tmp_path / f"{variant}_x1d.fits"
        x1d.save(path)
        rows = score_dropouts(noisy["truth"], path)
        counts[variant] = next(r["value"] for r in rows if r["metric"] == "lrs_dropouts")
        scored = next(r["value"] for r in rows if r["metric"] == "lrs_dropout_rows")
    assert scored > 300
    assert counts["none"] >= 0.5 * BAD  # the few placed near the ends or a line are not scored
    assert counts["none"] <= len(set(placed["y"]))
    assert counts["profile"] == 0


@jwst
def test_the_jwst_variants_reproduce_jwsts_own_unit_test():
    """jwst's test_pixel_replace_no_container, miri_lrs case (20 x 20 ones, a NaN at (10, 10),
    a NON_SCIENCE row and column): through our wrapper both algorithms put 1.0 there, swap
    DO_NOT_USE for FLUX_ESTIMATED and leave the non-science pixels alone."""
    shape, bad = (20, 20), (10, 10)
    sci, var = np.ones(shape), np.ones(shape)
    dq = np.zeros(shape, np.uint32)
    sci[bad], var[bad], dq[bad] = np.nan, np.nan, dqflags.DO_NOT_USE | dm.dqflags.pixel["OTHER_BAD_PIXEL"]
    for edge in (np.s_[:, 1], np.s_[1, :]):
        sci[edge], var[edge], dq[edge] = np.nan, np.nan, dqflags.DO_NOT_USE | dqflags.NON_SCIENCE
    for name in ("jwst_fit_profile", "jwst_mingrad"):
        out, out_var, out_dq = registry.get("pixel_replace", name)(sci, var, dq, np.full(20, 10.0))
        assert out[bad] == 1.0 and out_var[bad] == pytest.approx(1.0)
        assert out_dq[bad] == dq[bad] - dqflags.DO_NOT_USE + dqflags.FLUX_ESTIMATED
        assert np.all(np.isnan(out[:, 1])) and np.all(out_dq[1, :] == dqflags.DO_NOT_USE | dqflags.NON_SCIENCE)


@jwst
@pytest.mark.parametrize("variant", ["jwst_fit_profile", "jwst_mingrad"])
def test_the_jwst_variants_run_in_spec2_and_leave_no_dropouts(noisy, tmp_path, variant):
    """spec2 with a jwst variant: the step COMPLETE, no dropouts left."""
    x1d = calibrate_exposure(noisy["uncal"], noisy["refs"], {"pixel_replace": variant})["x1d"]
    assert x1d.meta.cal_step.pixel_replace == "COMPLETE"
    path = tmp_path / "x1d.fits"
    x1d.save(path)
    assert next(r["value"] for r in score_dropouts(noisy["truth"], path) if r["metric"] == "lrs_dropouts") == 0


def _slices_frame():
    """Two slices of a separable scene ``f_i p_j`` (rows: wavelength; columns: along the slice), the first
    slice's left end moving by a column at row 60 (as a real slice's extent does every few tens of rows)."""
    rng = np.random.default_rng(2)
    ny, nx = 120, 50
    p = np.exp(-0.5 * ((np.arange(nx) - 12.4) / 1.3) ** 2) + np.exp(-0.5 * ((np.arange(nx) - 37.8) / 1.6) ** 2) + 0.02
    truth = rng.uniform(1, 100, ny)[:, None] * p[None, :]
    label = np.full((ny, nx), -1)
    label[:, 3:24], label[60:, 2] = 0, 0
    label[:, 27:47] = 1
    y, x = np.nonzero(label >= 0)
    return truth, SimpleNamespace(y=y, x=x, slice=label[y, x])


def test_mrs_bad_pixels_of_a_separable_scene_are_replaced_exactly_within_their_slice():
    """``mrs_pixel_replace=profile``: with ``D_ij = f_i p_j`` the replacement is exact (the bound's delta is 0),
    also beside the row where the slice's end moves (the window is the bad pixel's +/- 6 columns, not the
    whole row, which no clean pair of rows would match there) and with two bad pixels in one window; the
    good pixels and the other slice are untouched, the replaced ones join the good ones."""
    truth, pixels = _slices_frame()
    values = truth[pixels.y, pixels.x]
    good = np.ones(values.size, bool)
    bad = [(59, 12), (60, 12), (60, 14), (30, 37)]
    index = [np.flatnonzero((pixels.y == y) & (pixels.x == x))[0] for y, x in bad]
    given = values.copy()
    given[index[:3]], good[index] = np.nan, False  # the last one finite but flagged
    out, var, out_good, note = pixel_replace.slices(given, np.full(values.size, 2.0), pixels, good)
    np.testing.assert_allclose(out[index], values[index], rtol=1e-12)
    assert np.all(var[index] > 0) and out_good.all()
    np.testing.assert_array_equal(np.delete(out, index), np.delete(values, index))
    assert note == "4 of 4 bad pixels replaced from their slice's neighbouring rows"


def test_mrs_a_bad_pixel_without_a_clean_pair_of_rows_stays_bad():
    """A bad pixel whose column is bad in every other row within MAX_DISTANCE has no profile: it stays NaN and
    not good, and the note counts it as not replaced."""
    truth, pixels = _slices_frame()
    values = truth[pixels.y, pixels.x]
    column = (pixels.x == 40) & (np.abs(pixels.y - 50) <= pixel_replace.MAX_DISTANCE)
    given, good = values.copy(), ~column
    given[column] = np.nan
    out, _, out_good, note = pixel_replace.slices(given, np.ones(values.size), pixels, good)
    assert np.isnan(out[column]).all() and not out_good[column].any()
    assert note == f"0 of {column.sum()} bad pixels replaced from their slice's neighbouring rows"


def test_mrs_without_bad_pixels_nothing_changes():
    """No bad pixel: the values, variances and the good mask come back bit for bit."""
    truth, pixels = _slices_frame()
    values, var = truth[pixels.y, pixels.x], np.linspace(1.0, 3.0, pixels.y.size)
    out, out_var, out_good, note = pixel_replace.slices(values, var, pixels, np.ones(values.size, bool))
    np.testing.assert_array_equal(out, values)
    np.testing.assert_array_equal(out_var, var)
    assert out_good.all() and note == "0 of 0 bad pixels replaced from their slice's neighbouring rows"



@pytest.fixture(scope="module")
def band_1a():
    """Band 1A's pixels from the flight geometry files (the DISTORTION's inverse gives the neighbours' positions)."""
    return flight_band_pixels("MIRIFUSHORT", "SHORT")["1A"]


def test_mrs_a_shower_sized_hole_gets_the_light_of_a_separable_scene_from_the_neighbouring_slices(band_1a):
    """``across_slices``: a hole over the whole width of the source's brightest slice for 60 rows, about the
    line's peak (what a shower's mask can leave), is estimated from the slices either side: for a scene separable
    in beta the scale is exact, so the error is the bilinear interpolation's, second order in the pixel over
    the scene's scale, ``<= (1/8)(1/3)^2 = 1.4 %`` of the local curvature's scale for Gaussians 3 pixels wide;
    the hole's total light within 1 % and every pixel within 3 % of the hole's brightest.  The good pixels keep
    their values; nothing outside the hole is marked replaced."""
    pixels = band_1a
    truth = separable_scene(pixels, 3.0)
    peak = np.argmax(truth)
    row = pixels.y[peak]
    hole = (pixels.slice == pixels.slice[peak]) & (np.abs(pixels.y - row) < 30)
    given = np.where(hole, np.nan, truth)
    var = 1e-4 * truth  # Poisson-like
    out, out_var, replaced = pixel_replace.across_slices(given, var, pixels, ~hole)
    np.testing.assert_array_equal(replaced, hole)
    np.testing.assert_array_equal(out[~hole], truth[~hole])
    np.testing.assert_array_equal(out_var[~hole], var[~hole])
    assert abs(out[hole].sum() / truth[hole].sum() - 1) < 0.01
    assert np.max(np.abs(out[hole] - truth[hole])) < 0.03 * truth[hole].max()
    assert np.all(out_var[hole] > 0) and np.all(np.isfinite(out_var[hole]))  # their size: the noisy test below
    note = pixel_replace.slices_and_neighbours(given, var, pixels, ~hole)[3]
    assert note.endswith(f"0 of {hole.sum()} bad pixels replaced from their slice's neighbouring rows, "
                         f"{hole.sum()} more from the neighbouring slices")


def test_mrs_across_slices_without_bad_pixels_changes_nothing(band_1a):
    truth = separable_scene(band_1a, 3.0)
    var = np.full(truth.size, 2.0)
    out, out_var, replaced = pixel_replace.across_slices(truth, var, band_1a, np.ones(truth.size, bool))
    np.testing.assert_array_equal(out, truth)
    np.testing.assert_array_equal(out_var, var)
    assert not replaced.any()


def test_mrs_across_slices_errors_cover_a_noisy_holes_errors(band_1a):
    """With noise above the interpolation's error (2 % of the peak per pixel, against <= 1 % of it), the
    hole's pulls against the truth have a width near 1: at most 1.1 (the variance holds the noise), and not
    below 0.75 (the floor, the slice's own pixels' variance, binds where the neighbour carries little signal;
    measured 0.85-0.96 over seeds 0-4); their mean within 0.2 of 0 (measured -0.09 over seeds 0-4: the template's
    noise taken out of the ratio's denominator; -0.42 with a plain least-squares ratio, which noise in the
    template shrinks, the hole's light 5 % low)."""
    truth = separable_scene(band_1a, 3.0)
    peak = np.argmax(truth)
    hole = (band_1a.slice == band_1a.slice[peak]) & (np.abs(band_1a.y - band_1a.y[peak]) < 30)
    var = np.full(truth.size, (0.02 * truth.max()) ** 2)
    pulls = []
    for seed in range(3):
        noisy = truth + np.random.default_rng(seed).standard_normal(truth.size) * np.sqrt(var)
        out, out_var, _ = pixel_replace.across_slices(np.where(hole, np.nan, noisy), var, band_1a, ~hole)
        pulls.append((out[hole] - truth[hole]) / np.sqrt(out_var[hole]))
    width = np.concatenate(pulls).std()
    assert 0.75 < width < 1.1
    assert abs(np.concatenate(pulls).mean()) < 0.2
    assert np.all(out_var[hole] >= var[0] / 2 - 1e-12)  # the floor, averaged over two neighbours' estimates
