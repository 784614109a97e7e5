"""Reference selection by the files' own metadata, and files from other tools."""
import shutil

import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError
from miri_testbed.calibration import references as refs
from miri_testbed.calibration.pipeline import calibrate
from miri_testbed.instrument import detector as det
from miri_testbed.instrument import dq, readout
from miri_testbed.simulator import DetectorEffects, Effects, ReferenceOptions, simulate

from helpers import Observation, star_scene


@pytest.fixture(scope="module")
def exposure(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refsel")
    obs = Observation(subarray="SUB128", ngroups=5, epoch_mjd=60500.0)
    return simulate(star_scene(obs, 2, n=2, margin=20), obs, folder, name="e", seed=2,
                    references=ReferenceOptions(kind="perfect"))


def _with_header(src, dst, **keys):
    if src != dst:
        shutil.copy(src, dst)
    with fits.open(dst, mode="update") as hdul:
        for k, v in keys.items():
            hdul[0].header[k] = v


def test_latest_useafter_not_after_the_exposure_wins(exposure, tmp_path):
    folder = tmp_path / "refs"
    shutil.copytree(exposure["refs"], folder)
    gain = next(folder.glob("*_gain_*.fits"))
    _with_header(gain, folder / "newer.fits", USEAFTER="2024-01-01T00:00:00")
    _with_header(gain, folder / "future.fits", USEAFTER="2030-01-01T00:00:00")
    model = dm.open(exposure["uncal"])
    assert refs.select(folder, "GAIN", model).name == "newer.fits"


def test_other_readout_pattern_or_too_few_dark_groups_never_match(exposure, tmp_path):
    folder = tmp_path / "refs"
    shutil.copytree(exposure["refs"], folder)
    dark = next(folder.glob("*_dark_*.fits"))
    _with_header(dark, dark, READPATT="SLOWR1")
    model = dm.open(exposure["uncal"])
    with pytest.raises(CalibrationInputError, match="no DARK reference"):
        refs.select(folder, "DARK", model)
    _with_header(dark, dark, READPATT="FASTR1", NGROUPS=3)
    with pytest.raises(CalibrationInputError, match="no DARK reference"):
        refs.select(folder, "DARK", model)


def test_full_frame_reference_is_cut_to_the_subarray(exposure):
    full = dm.GainModel(data=np.arange(1024 * 1032, dtype=np.float32).reshape(1024, 1032))
    full.meta.subarray.xstart, full.meta.subarray.ystart = 1, 1
    model = dm.open(exposure["uncal"])
    sub = readout.subarray("SUB128")
    cut = refs.cutout(full.data, full, model)
    assert cut.shape == (128, 136)
    assert cut[0, 0] == full.data[sub.ystart - 1, sub.xstart - 1]


def test_uncal_written_by_another_tool_calibrates_with_nominal_references(tmp_path):
    """A RampModel made directly with stdatamodels (not by our simulator): flat 20 DN/s on
    the documented pedestal."""
    ngroups, tg = 6, readout.group_time("SUB256", "FASTR1")
    ramp = (det.BIAS_DN + 20.0 * tg * np.arange(1, ngroups + 1, dtype=np.float32))[None, :, None, None]
    model = dm.RampModel(data=np.broadcast_to(ramp, (1, ngroups, 256, 256)).astype(np.float32))
    m = model.meta
    m.instrument.name, m.instrument.detector, m.instrument.filter = "MIRI", "MIRIMAGE", "F1000W"
    m.exposure.type, m.exposure.readpatt = "MIR_IMAGE", "FASTR1"
    m.exposure.ngroups, m.exposure.nints, m.exposure.nframes, m.exposure.groupgap = ngroups, 1, 1, 0
    m.exposure.group_time = m.exposure.frame_time = tg
    m.exposure.start_time = 60300.0
    m.subarray.name, m.subarray.xstart, m.subarray.ystart = "SUB256", 413, 51
    m.subarray.xsize, m.subarray.ysize = 256, 256
    for key, value in dict(crpix1=128.5, crpix2=128.5, crval1=10.0, crval2=-30.0, cdelt1=3.07e-5, cdelt2=3.09e-5,
                           pc1_1=-1.0, pc1_2=0.0, pc2_1=0.0, pc2_2=1.0, ctype1="RA---TAN", ctype2="DEC--TAN").items():
        setattr(m.wcsinfo, key, value)
    model.save(tmp_path / "other_uncal.fits")
    paths = calibrate(tmp_path / "other_uncal.fits", tmp_path / "out")
    rate = dm.open(paths["rate"])
    dark = 0.2 / 4.0  # nominal dark current, DN/s
    # the nominal LINEARITY is measured (scripts/make_nominal_detector.py): at this low
    # signal it scales the slope by its first coefficient, not by exactly 1
    from importlib import resources

    from astropy.table import Table

    measured = Table.read(resources.files("miri_testbed.calibration") / "data" / "detector_nominal.ecsv",
                          format="ascii.ecsv")
    slope = measured["coefficient"][1]
    assert abs(slope - 1) < 1e-3
    np.testing.assert_allclose(rate.data, 20.0 * slope - dark, rtol=1e-4)


def test_simulated_exposure_with_built_in_nominal_references(tmp_path):
    """The nominal folder knows nothing of this detector's reset transient or bias: the
    rates are then off by the transient, but the jump and shower steps must not mistake
    a transient shared by every pixel for cosmic rays or showers."""
    obs = Observation(subarray="SUB256", ngroups=20)
    effects = Effects(detector=DetectorEffects(showers=False))  # so that any shower found is a false one
    sim = simulate(star_scene(obs, 3, n=6, margin=20), obs, tmp_path / "sim", name="e", seed=3, effects=effects)
    paths = calibrate(sim["uncal"], tmp_path / "out")
    rate = dm.open(paths["rate"])
    assert np.isfinite(rate.data).mean() > 0.95
    assert rate.meta.exposure.extended_emission_events == 0
    assert np.mean((rate.dq & dq.JUMP_DET) != 0) < 0.1


def test_nominal_aperture_corrections_are_those_of_the_psf_model():
    """The shipped nominal APCORR table (calibration may not import the simulator) must
    follow the PSF model: regenerate it with scripts/make_nominal_apcorr.py when not."""
    from importlib import resources

    from astropy.table import Table

    from miri_testbed.simulator.imager_references import aperture_corrections

    path = resources.files("miri_testbed.calibration") / "data" / "apcorr_nominal.ecsv"
    table = Table.read(path, format="ascii.ecsv")
    rows = table[table["filter"] == "F770W"]
    expected = np.array(aperture_corrections("F770W"))
    shipped = np.column_stack([rows[c] for c in ("eefraction", "radius", "apcorr", "skyin", "skyout")])
    np.testing.assert_allclose(shipped, expected, rtol=1e-5, atol=1e-5)


def test_nominal_saturation_and_linearity_are_those_of_the_detector_model():
    """The shipped nominal SATURATION/LINEARITY table (measured on simulated flats) must
    follow the detector model: regenerate it with scripts/make_nominal_detector.py when not."""
    from importlib import resources

    from astropy.table import Table

    from miri_testbed.simulator.flat_ramps import nominal_measurement

    table = Table.read(resources.files("miri_testbed.calibration") / "data" / "detector_nominal.ecsv",
                       format="ascii.ecsv")
    saturation, bias, poly = nominal_measurement()
    assert table.meta["saturation_dn"] == pytest.approx(saturation, abs=0.01)
    assert table.meta["bias_dn"] == pytest.approx(bias, abs=0.01)
    np.testing.assert_allclose(table["coefficient"], poly, rtol=1e-9, atol=0)


def test_a_missing_reference_names_the_selectors_the_exposure_sets(tmp_path):
    """An MRS exposure has a BAND and no FILTER: the refusal names its band, not 'None'."""
    exposure = dm.RampModel((1, 2, 4, 4))
    exposure.meta.instrument.name = "MIRI"
    exposure.meta.instrument.detector = "MIRIFUSHORT"
    exposure.meta.instrument.channel = "12"
    exposure.meta.instrument.band = "SHORT"
    exposure.meta.exposure.type = "MIR_MRS"
    exposure.meta.exposure.readpatt = "FASTR1"
    exposure.meta.exposure.ngroups = 2
    exposure.meta.exposure.start_time = 60400.0
    exposure.meta.subarray.name = "FULL"
    with pytest.raises(CalibrationInputError) as err:
        refs.select(tmp_path, "DISTORTION", exposure)
    message = str(err.value)
    assert "None" not in message
    assert "CHANNEL=12 BAND=SHORT" in message and "DETECTOR=MIRIFUSHORT" in message and "NGROUPS=2" in message


def test_without_read_noise_the_perfect_readnoise_is_the_rounding_s_and_no_difference_is_a_jump(tmp_path):
    """Digitized reads carry the ADC's rounding, 1/12 DN^2 per read: the CDS READNOISE of an exposure simulated
    without read noise (nor Poisson noise, cosmic rays or showers) is sqrt(2/12) DN, not 0, so the jump step does
    not take the rounding of a faint ramp for a jump in every pixel."""
    obs = Observation(subarray="SUB64", ngroups=10)
    quiet = DetectorEffects(poisson=False, read_noise=False, cosmic_rays=False, showers=False, emi=False)
    sim = simulate(star_scene(obs, 4, n=2, margin=14), obs, tmp_path / "sim", name="e", seed=4,
                   effects=Effects(detector=quiet), references=ReferenceOptions(kind="perfect"))
    with dm.open(next(p for p in sim["refs"].iterdir() if "readnoise" in p.name)) as rn:
        np.testing.assert_allclose(rn.data, np.sqrt(2 / 12), rtol=1e-6)
    rate = dm.open(calibrate(sim["uncal"], tmp_path / "out", sim["refs"])["rate"])
    assert np.mean((rate.dq & dq.JUMP_DET) != 0) < 0.01
