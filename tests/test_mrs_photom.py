"""The MRS throughput decay (simulator) and its flux calibration (PHOTOM reference, photom step).

The validation side of these tests reads the truth; the calibration does not.
"""
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError, Skip, mrs_extract, mrs_photom, mrs_spec2, registry
from miri_testbed.calibration.detector1 import Detector1
from miri_testbed.calibration.inputs import open_uncal
from miri_testbed.calibration.products import derived
from miri_testbed.calibration.steps import StepLog
from miri_testbed.instrument import imager
from miri_testbed.instrument.optics import T0_MJD
from miri_testbed.simulator import (
    Effects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    mrs_throughput,
    simulate,
)
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator.lrs_references import photons_per_jy
from miri_testbed.simulator.sky import mid_time_mjd

from helpers import history_of

# 40-60 s on 2 cores (MRS references written and read): in the slow stage (pytest -m slow)
pytestmark = pytest.mark.slow

FLAT = {"continuum": {"kind": "flat", "flux_mjy": 100.0}}
YEAR = 365.0


def _effects(decay):
    effects = Effects.noise_free()
    return replace(effects, optics=replace(effects.optics, throughput_decay=decay))


def _observation(epoch_mjd):
    """MIRIFULONG SHORT (3A, 4A), the target in 3A's frame (one pair of geometry files is read)."""
    return MrsObservation(detector="MIRIFULONG", band="SHORT", ngroups=3, epoch_mjd=epoch_mjd, dither_channel=3)


def _light(observation, decay):
    scene = Scene((SpectralSource(FLAT, 0.0, 0.0),), background_mjy_sr=20.0)
    light = smrs.illuminate(scene, observation, _effects(decay), np.random.default_rng(0))
    wavelength = next(c.data for c in light.components if c.name == "WAVELENGTH")
    return light.images[observation.detector], wavelength


def test_the_decay_scales_every_pixels_light_by_the_true_throughput_at_its_wavelength():
    observation = _observation(T0_MJD + 2 * YEAR)
    on, wavelength = _light(observation, True)
    off, _ = _light(observation, False)
    lit = off > 0
    expected = mrs_throughput.relative_throughput(wavelength[lit], mid_time_mjd(observation))
    np.testing.assert_allclose(on[lit] / off[lit], expected, rtol=1e-6)  # the truth map is float32
    assert np.all(on[~lit] == 0)


def test_before_t0_the_decay_changes_nothing():
    observation = _observation(T0_MJD - 10)
    assert np.array_equal(_light(observation, True)[0], _light(observation, False)[0])


def test_the_decay_has_the_documented_size():
    # params 5: a factor ~2 at 25 um over two years, ~50 % at 26 um after one, negligible in
    # channels 1-2, ~0.9 at 15 um; the truth is not the pipeline's power law (linear term).
    t = T0_MJD + np.array([YEAR, 2 * YEAR])
    assert mrs_throughput.relative_throughput(25.0, t[1]) == pytest.approx(0.5, abs=0.03)
    assert mrs_throughput.relative_throughput(26.0, t[0]) == pytest.approx(0.5, abs=0.03)
    assert mrs_throughput.relative_throughput(15.0, t[0]) == pytest.approx(0.9, abs=0.01)
    assert np.all(mrs_throughput.relative_throughput(np.array([5.0, 10.0]), t[1]) > 0.98)
    assert np.all(mrs_throughput.linear_part(25.0, t) < 1)


# ------------------------------------------------------------ the PHOTOM reference and the calibration's photom step

EPOCH = T0_MJD + 3 * YEAR


def _noise_free_rate(exposure):
    """The rate of a noise-free ramp (no bias, no nonlinearity): the last group less the first over their time."""
    data = np.asarray(exposure.data[0], float)
    return (data[-1] - data[0]) / ((data.shape[0] - 1) * exposure.meta.exposure.group_time)


@pytest.fixture(scope="module")
def decayed(tmp_path_factory):
    """MIRIFULONG SHORT three years after t0, noise-free with the decay, perfect
    references: a flat 100 mJy point source.  spec2 runs with mrs_photom (Jy) and without
    (DN/s) on the ramp's exact rate (detector1 is not under test here)."""
    observation = _observation(EPOCH)
    scene = Scene((SpectralSource(FLAT, 0.0, 0.0),))
    sim = simulate(scene, observation, tmp_path_factory.mktemp("mrs_photom"), seed=3,
                   references=ReferenceOptions(kind="perfect"), effects=_effects(True))
    exposure = open_uncal(sim["uncal"])
    rate = _noise_free_rate(exposure)
    d1 = Detector1(rate, np.abs(rate) / 100, np.zeros_like(rate), np.zeros(rate.shape, np.uint32), None,
                   derived(dm.ImageModel, exposure, data=rate.astype(np.float32)), None)
    products = {kind: mrs_spec2.run(StepLog(), exposure, d1, sim["refs"], registry.resolve({"mrs_photom": kind}))
                for kind in ("reference", "none")}
    airy = tmp_path_factory.mktemp("mrs_no_apcorr")  # the same references without the APCORR
    for path in sim["refs"].iterdir():
        if "apcorr" not in path.name:
            (airy / path.name).symlink_to(path)
    log = StepLog()
    products["airy"] = mrs_spec2.run(log, exposure, d1, airy, registry.resolve())
    products["airy_notes"] = log.notes["mrs_extract"]
    return sim, observation, exposure, rate, products


def _spectra(x1d):
    return {spec.name: (np.array(spec.spec_table), spec.spec_table.columns["flux"].unit) for spec in x1d.spec}


def test_the_perfect_photom_gives_jansky_and_takes_the_decay_out(decayed):
    # With the perfect PHOTOM and APCORR the x1d in Jy is the truth's F_nu: median within
    # 0.5 % per band (measured 0.9998 in 3A, 0.9973 in 4A; planes
    # 0.996-1.001); DN/s over the truth's DN/s at launch is the
    # extraction's share times the decay.  Their ratio over T(lambda, t) is the PHOTOM's own
    # error: measured < 1e-4, bound 1e-3.  Left in DN/s the spectrum has lost 5 % (3A) and 23 % (4A).
    sim, observation, _, _, products = decayed
    gain = _gain(sim["refs"])
    jy, dn = _spectra(products["reference"]["x1d"]), _spectra(products["none"]["x1d"])
    mid = mid_time_mjd(observation)
    for band in observation.bands:
        (table, unit), (raw, raw_unit) = jy[band], dn[band]
        assert (unit, raw_unit) == ("Jy", "DN/s/um")
        good = table["DQ"] == 0
        lam = table["WAVELENGTH"][good]
        share = table["FLUX"][good] / (FLAT["continuum"]["flux_mjy"] * 1e-3)
        launch_dn = (imager.COLLECTING_AREA_M2 * smrs.EFFICIENCY[int(band[0])] * photons_per_jy(lam)
                     * FLAT["continuum"]["flux_mjy"] * 1e-3 / gain)
        raw_share = raw["FLUX"][good] / launch_dn
        decay = mrs_throughput.relative_throughput(lam, mid)
        assert good.sum() > 0.9 * good.size and abs(np.median(share) - 1) < 0.005, (band, np.median(share))
        np.testing.assert_allclose(share / (raw_share / decay), 1, atol=1e-3, err_msg=band)
        assert np.median(raw_share / share) < 0.96, band


def _gain(refs):
    with dm.GainModel(str(next(refs.glob("*gain*")))) as model:
        return float(np.median(model.data))


def test_the_cube_is_in_mjy_per_sr(decayed):
    # Spaxel by spaxel, the MJy/sr cube over the DN / (s arcsec2 um) one (without mrs_photom) is the
    # true conversion of a flat F_nu at launch, g / (A eta n_1Jy(lambda)) Jy per DN/s/um, over the
    # decay T(lambda, t): median within 1e-3 in every plane (measured < 1e-4).
    sim, observation, _, _, products = decayed
    gain, mid = _gain(sim["refs"]), mid_time_mjd(observation)
    for cube, raw in zip(products["reference"]["s3d"], products["none"]["s3d"], strict=True):
        assert (cube.meta.bunit_data, raw.meta.bunit_data) == ("MJy/sr", "DN / (s arcsec2 um)")
        assert (cube.meta.cal_step.photom, raw.meta.cal_step.photom) == ("COMPLETE", "SKIPPED")
        w = cube.meta.wcsinfo
        lam = w.crval3 + w.cdelt3 * np.arange(cube.data.shape[0])
        jy_per_dn = gain / (imager.COLLECTING_AREA_M2 * smrs.EFFICIENCY[int(cube.meta.instrument.channel)]
                            * photons_per_jy(lam) * mrs_throughput.relative_throughput(lam, mid))
        expected = jy_per_dn / mrs_spec2.JY_PER_MJY_SR_ARCSEC2  # MJy/sr per DN / (s arcsec2 um)
        both = (cube.weightmap > 0.99) & (raw.weightmap > 0.99) & (raw.data > 1e-3 * raw.data.max())
        ratio = np.where(both, cube.data / np.where(both, raw.data, 1), np.nan) / expected[:, None, None]
        planes = np.sum(both, axis=(1, 2)) > 10
        np.testing.assert_allclose(np.nanmedian(ratio[planes], axis=(1, 2)), 1, atol=1e-3)


def _tables(channel, decay=True):
    table = mrs_throughput.time_tables((channel,), None, decay)[f"timecoeff_powerlaw_ch{channel}"]
    return tuple(np.asarray(table[c], float) for c in mrs_photom.TIME_COLUMNS)


def test_the_time_dependence_is_jwsts_and_nothing_without_the_decay():
    time_dependence = pytest.importorskip("jwst.photom.time_dependence")
    lam = np.linspace(17.0, 29.0, 301)  # beyond both ends of channel 4's bins
    table = mrs_throughput.time_tables((4,), None, True)["timecoeff_powerlaw_ch4"]
    coeffs = {"left": {c: table[c] for c in table.dtype.names}}
    for mjd in (T0_MJD + 0.5, T0_MJD + 100, EPOCH):
        theirs = time_dependence._get_mrs_correction_function("left", coeffs, mjd)(lam)
        np.testing.assert_allclose(mrs_photom.time_correction(lam, _tables(4), mjd), theirs, rtol=1e-6)
    assert np.all(mrs_photom.time_correction(lam, _tables(4, decay=False), EPOCH) == 1)


def test_missing_and_bad_photom_references(decayed, tmp_path):
    sim, _, exposure, rate, _ = decayed
    skip = mrs_photom.read_photom(tmp_path, exposure)
    assert isinstance(skip, Skip) and "no PHOTOM reference" in skip.reason
    log = StepLog()
    log.run("mrs_photom", "reference", rate[:2, 0], rate[:2, 0], np.ones(2), resolve=lambda: skip)
    assert str(log.records[-1]).startswith("mrs_photom=reference: SKIPPED (reference: no PHOTOM")

    photom = dm.MirMrsPhotomModel(str(next(sim["refs"].glob("*photom*"))))
    flight = smrs.flight_pixels("4A")
    pixels = SimpleNamespace(y=flight.y, x=flight.x, band=SimpleNamespace(name="4A"))
    bad = photom.copy()
    bad.data = bad.data[:, :1024]
    bad.save(tmp_path / "bad.fits")
    with pytest.raises(CalibrationInputError, match="must be the exposure's frame"):
        mrs_photom.read_photom(tmp_path, exposure)
    bad = photom.copy()
    bad.data[pixels.y[0], pixels.x[0]] = np.nan
    bad.save(tmp_path / "bad.fits")
    with pytest.raises(CalibrationInputError, match="not finite and positive at 1 lit pixels of band 4A"):
        mrs_photom.resolve(StepLog(), mrs_photom.read_photom(tmp_path, exposure), exposure, pixels, 4)
    bad.timecoeff_powerlaw_ch4["alpha"][3] = np.nan
    bad.save(tmp_path / "bad.fits")
    with pytest.raises(CalibrationInputError, match="TIMECOEFF_POWERLAW_CH4 needs"):
        mrs_photom.read_photom(tmp_path, exposure)


# ------------------------------------------------------------ the APCORR reference and the extraction's correction

def test_without_an_apcorr_the_extraction_falls_back_to_airy(decayed):
    # Same cube, same centre: the fluxes differ by the corrections alone, the Airy one (1.0775,
    # the same at every plane) against the APCORR's; the notes (HISTORY) say which was used.
    _, observation, _, _, products = decayed
    table, airy = _spectra(products["reference"]["x1d"]), _spectra(products["airy"]["x1d"])
    expected = 1 / (mrs_extract.airy_encircled(3.0) - (mrs_extract.airy_encircled(6.0)
                                                        - mrs_extract.airy_encircled(4.5)) * 3**2 / (6**2 - 4.5**2))
    for band in observation.bands:
        good = table[band][0]["DQ"] == 0
        ratio = airy[band][0]["FLUX"][good] / table[band][0]["FLUX"][good]
        assert 0.9 < np.median(ratio) < 0.95, band  # the Airy correction's shortfall (docs/mrs.md)
        np.testing.assert_allclose(airy[band][0]["BACKGROUND"][good] / table[band][0]["BACKGROUND"][good], ratio,
                                   rtol=1e-6)
        assert abs(np.median(airy[band][0]["FLUX"][good] * 10 / ratio) / np.median(table[band][0]["FLUX"][good]
                                                                               * 10) - 1) < 1e-6
    assert all("(Airy: no MRS APCORR in" in note for note in products["airy_notes"])
    history = " ".join(history_of(products["reference"]["x1d"]))
    assert "_apcorr.asdf), covariance" in history  # meta.ref_file has no APCORR entry: HISTORY names it
    assert expected == pytest.approx(1.0775, abs=1e-4)


def test_bad_apcorr_references_are_refused_by_name(decayed, tmp_path):
    _, _, exposure, _, _ = decayed
    assert mrs_extract.read_apcorr(tmp_path, exposure) is None
    source = dm.MirMrsApcorrModel(str(next(decayed[0]["refs"].glob("*apcorr*"))))
    for change, message in ((lambda t: t.apcorr.__setitem__((2, 3), np.nan), "must be finite"),
                            (lambda t: setattr(t, "radius", t.radius[:, :4]), "radius, apcorr"),
                            (lambda t: setattr(t, "radius_units", "pixel"), "radius_units must be arcsec")):
        bad = source.copy()
        change(bad.apcorr_table)
        bad.save(tmp_path / "bad_apcorr.asdf")
        with pytest.raises(CalibrationInputError, match=f"bad_apcorr.asdf: APCORR .*{message}"):
            mrs_extract.read_apcorr(tmp_path, exposure)
    (tmp_path / "bad_apcorr.asdf").write_text("not asdf")
    with pytest.raises(CalibrationInputError):
        mrs_extract.read_apcorr(tmp_path, exposure)
