"""The MRS cross-artifact: simulated (simulator.cross_artifact), an MRSXARTCORR, removed (calibration.straylight).

Properties: the effect off changes nothing bit for bit; switched on, the light grows by exactly
the truth's XART (and the dedicated background's sky scatters as well); the default kernel meets
params items 31-32; a noise-free artifact injected with the simulator's kernels and removed with
the same kernels read back from the file leaves < 1e-4 of it; the file reads in jwst's own step;
bad parameters and files are refused by name; the scorer measures the share removed.
"""
from dataclasses import asdict, replace

import numpy as np
import pytest
from astropy.table import Table
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError, straylight
from miri_testbed.calibration.pipeline import calibrate
from miri_testbed.instrument import detector as det
from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import refmeta
from miri_testbed.simulator import (
    Effects,
    MrsEffects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    simulate,
)
from miri_testbed.simulator import cross_artifact as xa
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator.references import PROVENANCE
from miri_testbed.validation import mrs_views, scorers, xart_score
from miri_testbed.validation.scenarios import load_suite
from miri_testbed.validation.targets import scenario_facts

from helpers import flight_band_pixels, separable_scene

ON = MrsEffects(cross_artifact=True)
SCENE = Scene(background_mjy_sr=50.0)  # a uniform sky: quick to render, every slice lit
WITH_BACKGROUND = MrsObservation(background_exposure=True)


def _illuminate(mrs_effects):
    return smrs.illuminate(SCENE, WITH_BACKGROUND, replace(Effects(), mrs=mrs_effects), np.random.default_rng(3))


def test_off_changes_nothing_and_on_adds_exactly_the_truths_artifact():
    default = _illuminate(MrsEffects())
    off = _illuminate(MrsEffects(cross_artifact_lorentz_fraction=0.3, cross_artifact_fwhm_px=50.0))
    on = _illuminate(ON)
    image = default.images["MIRIFUSHORT"]
    assert np.array_equal(off.images["MIRIFUSHORT"], image)
    assert [c.name for c in off.components] == [c.name for c in default.components]
    assert "XART" not in [c.name for c in default.components]
    artifact = next(c.data for c in on.components if c.name == "XART")
    added = on.images["MIRIFUSHORT"] - image
    assert np.allclose(added, artifact, rtol=1e-6, atol=1e-6 * image.max())
    assert artifact.sum() > 0.01 * image.sum()  # channel 1 scatters ~10 % of its light into the frame
    assert np.all(artifact[:, :det.REFERENCE_COLUMNS_LEFT] == 0)
    # the dedicated background's sky scatters too, and only with the effect on
    (_, bkg, scattered, _), = smrs.companions(SCENE, WITH_BACKGROUND, replace(Effects(), mrs=ON), on)
    (_, _, clean, _), = smrs.companions(SCENE, WITH_BACKGROUND, replace(Effects(), mrs=MrsEffects()), on)
    assert np.array_equal(scattered[bkg.detector], xa.apply(clean[bkg.detector], bkg, ON)[0])
    assert not np.array_equal(scattered[bkg.detector], clean[bkg.detector])


def test_default_kernel_meets_params_items_31_32():
    d = np.arange(-det.FULL_NX, det.FULL_NX + 1)
    integrals = {}
    for band in ("1A", "1B", "1C", "2A", "2B", "2C", "3A", "3B", "3C", "4A", "4C"):
        profile = xa.band_kernel(band, ON).profile(d)
        integrals[band] = profile.sum()
        if band[0] == "1":
            assert profile.max() <= 0.01  # peak <= 1 % of the source (item 32)
    assert 0.1 <= integrals["1A"] <= 0.2  # up to ~20 % of the light (item 31)
    order = ["1A", "1B", "1C", "2A", "2B", "2C", "3A", "3B", "3C"]
    # decreasing with wavelength
    assert all(integrals[a] > integrals[b] for a, b in zip(order[:-1], order[1:], strict=True))
    assert integrals["4A"] == integrals["4C"] == 0


def _exposure(observation):
    """An MRS rate-like model with the keywords a reference is selected by."""
    model = dm.ImageModel(data=np.zeros((det.FULL_NY, det.FULL_NX), np.float32))
    model.meta.instrument.name, model.meta.exposure.type = "MIRI", "MIR_MRS"
    model.meta.exposure.start_time = observation.epoch_mjd
    model.meta.exposure.ngroups = observation.ngroups
    model.meta.subarray.name = "FULL"
    model.meta.instrument.detector = observation.detector
    model.meta.instrument.channel = observation.channels
    model.meta.instrument.band = observation.band
    return model


def _write(folder, options=None, rng=None):
    model = xa.reference_model(ON, options or ReferenceOptions(kind="perfect"), rng or np.random.default_rng(0))
    refmeta.describe_model(model, "MRSXARTCORR", refmeta.Selection(exp_type="MIR_MRS"), PROVENANCE, "test")
    path = folder / "xart.fits"
    model.save(path)
    return path


def _scene_image(seed):
    """Bright point-like spots and a faint sky on every other 20-column stripe (slices and gaps), e-/s."""
    rng = np.random.default_rng(seed)
    image = np.zeros((det.FULL_NY, det.FULL_NX))
    lit = (np.arange(det.FULL_NX) // 20) % 2 == 0
    lit[:det.REFERENCE_COLUMNS_LEFT] = lit[det.FULL_NX - det.REFERENCE_COLUMNS_RIGHT:] = False
    image[:, lit] = 5.0
    for _ in range(30):
        y, x = rng.integers(0, det.FULL_NY), rng.choice(np.flatnonzero(lit))
        image[y, x] += rng.uniform(1e3, 1e5)
    return image


@pytest.mark.parametrize("detector", ["MIRIFUSHORT", "MIRIFULONG"])
def test_noise_free_injection_and_removal_round_trip(tmp_path, detector):
    observation = MrsObservation(detector=detector, band="MEDIUM")
    truth = _scene_image(1)
    observed, artifact = xa.apply(truth, observation, ON)
    _write(tmp_path)
    xartcorr = straylight.read_xartcorr(tmp_path, _exposure(observation))
    dq = np.zeros(truth.shape, np.uint32)
    dq[:, :det.REFERENCE_COLUMNS_LEFT] = dq[:, det.FULL_NX - det.REFERENCE_COLUMNS_RIGHT:] = dqflags.REFERENCE_PIXEL
    corrected, var = straylight.model(observed, observed, dq, xartcorr)
    assert var is observed  # the variance is left as it is
    residual = np.abs((observed - corrected) - artifact).sum() / np.abs(artifact).sum()
    assert residual < 1e-4  # the fixed point after ITERATIONS passes, in float32
    if detector == "MIRIFULONG":  # channel 4 (left) scatters nothing; channel 3 (right) a little
        assert np.abs(artifact).sum() < 0.05 * truth.sum()


def test_the_measured_file_is_not_the_truth(tmp_path):
    path = _write(tmp_path, ReferenceOptions(), np.random.default_rng(4))
    with dm.MirMrsXArtCorrModel(str(path)) as model:
        measured = model.ch1a_table["lor_scale"][0], model.ch1a_table["gau_xoff"][0]
    true = xa.band_kernel("1A", ON)
    assert measured[0] != pytest.approx(true.lor_scale, rel=1e-6) and measured[0] == pytest.approx(true.lor_scale,
                                                                                                    rel=0.2)
    assert measured[1] != pytest.approx(true.gau_xoff, rel=1e-6)


@pytest.mark.slow  # jwst's C loop over every lit pixel: ~40 s
def test_the_file_reads_in_jwsts_step(tmp_path):
    pytest.importorskip("jwst")
    from jwst.straylight import StraylightStep

    from miri_testbed.calibration.jwst_lrs import _overrides, offline

    observation = MrsObservation()
    path = _write(tmp_path)
    truth = np.zeros((det.FULL_NY, det.FULL_NX))
    truth[300:700, 200] = 1e4  # a bright column in channel 1
    observed, artifact = xa.apply(truth, observation, ON)
    image = dm.IFUImageModel(data=observed.astype(np.float32), dq=np.zeros(observed.shape, np.uint32))
    for key, value in asdict(observation).items():
        if key in ("detector", "band"):
            setattr(image.meta.instrument, key, value)
    image.meta.instrument.name, image.meta.instrument.channel = "MIRI", observation.channels
    image.meta.exposure.type = "MIR_MRS"
    with offline():
        result = StraylightStep.call(image, **_overrides(StraylightStep, {"mrsxartcorr": path}))
    assert result.meta.cal_step.straylight == "COMPLETE"
    # jwst subtracts the file's kernels convolved with the OBSERVED rate (not the true one) and a constant pedestal
    removed = (observed - result.data)[300:700, det.REFERENCE_COLUMNS_LEFT:-det.REFERENCE_COLUMNS_RIGHT]
    expected = xa.scattered(observed, *xa.detector_kernels(observation, ON))[300:700, 4:-4]
    offset = np.median(removed - expected)
    assert np.abs(removed - expected - offset).max() < 1e-3 * expected.max()
    assert (removed.sum() - artifact.sum()) > 0.05 * artifact.sum()  # hence it removes too much here


def test_bad_parameters_and_files_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="cross_artifact_fwhm_px"):
        MrsEffects(cross_artifact_fwhm_px=0.0)
    with pytest.raises(ValueError, match="cross_artifact_gauss_fractions"):
        MrsEffects(cross_artifact_gauss_fractions=(0.1, 0.1, 0.1))
    with pytest.raises(ValueError, match="xart_error"):
        ReferenceOptions(xart_error=-0.1)
    observation = MrsObservation()
    path = _write(tmp_path)
    with dm.MirMrsXArtCorrModel(str(path)) as model:
        model.ch2a_table = model.ch2a_table[:10]
        model.save(path)
    with pytest.raises(CalibrationInputError, match="CH2A must have a row per detector row"):
        straylight.read_xartcorr(tmp_path, _exposure(observation))


def test_the_scorer_measures_the_share_removed():
    injected = np.array([1.0, 2.0, 3.0, 4.0])
    assert xart_score.removed_fraction(injected, injected) == (1.0, 1.0)
    assert xart_score.removed_fraction(np.zeros(4), injected) == (0.0, 0.0)
    assert xart_score.removed_fraction(2 * injected, injected) == (0.0, 2.0)  # twice as much is as bad as none
    assert xart_score.removed_fraction(injected[::-1], injected) == pytest.approx((0.2, 1.0))  # right light, misplaced
    facts = scenario_facts(load_suite("mrs_xart").scenarios)
    assert facts["cross_artifact"].all() and set(facts["mode"]) == {"mrs"}
    assert not scenario_facts(load_suite("mrs").scenarios)["cross_artifact"].any()


@pytest.mark.parametrize("noise", [1.0, 0.1, 0.01])
def test_the_noise_floor_is_what_a_perfect_model_reaches_and_a_wrong_one_stays_above_it(noise):
    """A perfect model (the true kernels) on a noisy rate removes the floor's share; a 20 % too strong one does not."""
    observation = MrsObservation()
    kernels = xa.kernel_table(observation, ON)
    operator = xart_score.true_operator(kernels, observation.detector)
    true = np.zeros((det.FULL_NY, det.FULL_NX))
    true[:, 100:110], true[:, 700:705] = 50.0, 20.0  # two bright traces, one in each half
    injected = xa.apply(true, observation, ON)[1]
    dq = np.zeros(true.shape, np.uint32)
    dq[:, :det.REFERENCE_COLUMNS_LEFT] = dq[:, det.FULL_NX - det.REFERENCE_COLUMNS_RIGHT:] = dqflags.REFERENCE_PIXEL
    usable = dq == 0
    err = np.full(true.shape, noise)
    rate = (true + injected + err * np.random.default_rng(1).standard_normal(true.shape)).astype(np.float32)
    floor = xart_score.noise_floor(err, dq, usable, injected, operator)
    assert 0.9 < floor < 1  # 0.93 at 1 (the artifact ~2 % of the traces, their noise the whole frame's)
    removed = xart_score.removed_fraction((rate - straylight.model(rate, None, dq, operator)[0])[usable],
                                          injected[usable])[0]
    assert abs(removed - floor) < 0.05 * (1 - floor)  # the model's error is its noise, and the floor that noise
    strong = Table(rows=[dict(band=b, **asdict(xa.band_kernel(b, ON).scaled(1.2))) for b in observation.bands])
    wrong = xart_score.true_operator(strong, observation.detector)
    removed_wrong = xart_score.removed_fraction((rate - straylight.model(rate, None, dq, wrong)[0])[usable],
                                                injected[usable])[0]
    assert 1 - removed_wrong > 1.2 * (1 - floor)  # 20 % too much light: above 1.2x the floor at every noise here


@pytest.mark.slow  # a noise-free simulation and two calibrations of one detector: ~50 s
def test_a_noise_free_exposure_through_calibrate_and_the_scorer(tmp_path):
    effects = replace(Effects.noise_free(), mrs=ON)
    source = SpectralSource({"continuum": {"kind": "flat", "flux_mjy": 1000.0}}, 0.1, 0.05)
    sim = simulate(Scene((source,), background_mjy_sr=5.0), MrsObservation(ngroups=3), tmp_path, seed=2,
                   effects=effects, references=ReferenceOptions(kind="perfect"))
    paths = calibrate(sim["uncal"], tmp_path / "out", refs_folder=sim["refs"])
    rows = {r["metric"]: r["value"] for r in scorers.score_products(sim["truth"], {scorers.XART: paths["xart"],
                                                                                   scorers.RATE: paths["rate"]})}
    assert rows["mrs_xart_removed"] > 0.999 and rows["mrs_xart_net"] == pytest.approx(1.0, abs=1e-3)
    # noise-free: the floor is a perfect model's on the rate's ERR (read noise alone here), the target the plain 95 %
    assert rows["mrs_xart_over_target"] == pytest.approx((1 - rows["mrs_xart_removed"]) / 0.05)
    none = calibrate(sim["uncal"], tmp_path / "none", refs_folder=sim["refs"], algorithms={"straylight": "none"})
    assert "xart" not in none
    # the report's view: the cross-artifact's row cut, and no view of an effect not simulated
    cut = mrs_views.cell_views(sim["truth"], paths)
    assert not [name for name in cut if name.startswith(("mrs_fringe", "mrs_leak"))]
    view = cut["mrs_xart"]
    assert np.nanmax(np.abs(view["model"] - view["injected"])) < 1e-2 * np.nanmax(view["injected"])
    assert "mrs_xart" not in mrs_views.cell_views(sim["truth"], none)


def test_a_masked_hole_scatters_the_light_the_neighbouring_slices_give_it(tmp_path):
    """A shower's mask over the brightest slice's whole width for 60 rows about a line (DO_NOT_USE, NaN): given
    the bands' pixels, the model lets the hole scatter the light estimated from the neighbouring slices
    (:func:`calibration.pixel_replace.across_slices`) and removes the noise-free artifact as if nothing were
    masked, within the estimate's share; without them (as jwst) the hole scatters nothing and its artifact
    stays.  With nothing masked, the pixels change nothing, bit for bit."""
    observation = MrsObservation(detector="MIRIFUSHORT", band="SHORT")
    bands = flight_band_pixels(observation.detector, observation.band)
    truth = np.zeros((det.FULL_NY, det.FULL_NX))
    for pixels in bands.values():
        truth[pixels.y, pixels.x] = 1e4 * separable_scene(pixels, 3.0)
    observed, artifact = xa.apply(truth, observation, ON)
    _write(tmp_path)
    xartcorr = straylight.read_xartcorr(tmp_path, _exposure(observation))
    dq = np.zeros(truth.shape, np.uint32)
    dq[:, :det.REFERENCE_COLUMNS_LEFT] = dq[:, det.FULL_NX - det.REFERENCE_COLUMNS_RIGHT:] = dqflags.REFERENCE_PIXEL
    pixels = bands["1A"]
    peak = np.argmax(truth[pixels.y, pixels.x])
    hole = (pixels.slice == pixels.slice[peak]) & (np.abs(pixels.y - pixels.y[peak]) < 30)
    masked_dq = dq.copy()
    masked_dq[pixels.y[hole], pixels.x[hole]] |= dqflags.DO_NOT_USE
    masked = observed.copy()
    masked[pixels.y[hole], pixels.x[hole]] = np.nan
    usable = masked_dq == 0

    def left(corrected):
        return np.abs((observed - corrected) - artifact)[usable].sum() / np.abs(artifact[usable]).sum()

    assert np.array_equal(straylight.model(observed, None, dq, xartcorr, tuple(bands.values()))[0],
                          straylight.model(observed, None, dq, xartcorr)[0])
    filled = left(straylight.model(masked, None, masked_dq, xartcorr, tuple(bands.values()))[0])
    blind = left(straylight.model(masked, None, masked_dq, xartcorr)[0])
    hole_share = truth[pixels.y[hole], pixels.x[hole]].sum() / truth.sum()
    assert blind > 0.5 * hole_share  # the hole's light is missing from the model, and so its artifact
    assert filled < 0.02 * hole_share  # its light estimated within ~1 % (tests/test_pixel_replace.py)
