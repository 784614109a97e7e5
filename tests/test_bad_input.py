"""Bad input gets a clear error naming the problem, a non-zero exit, and no output."""
import json
import shutil

import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

from miri_testbed.simulator import ReferenceOptions, simulate
from miri_testbed.validation.cli import main

from helpers import Observation, star_scene


@pytest.fixture(scope="module")
def exposure(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    obs = Observation(subarray="SUB64", ngroups=4)
    return simulate(star_scene(obs, 1, n=1, margin=14), obs, folder, name="good", seed=1,
                    references=ReferenceOptions(kind="perfect"))


def _calibrate(path, out, refs, capsys):
    code = main(["calibrate", str(path), "-o", str(out), "--refs", str(refs)])
    return code, capsys.readouterr().err


def _assert_refused(code, err, out, *phrases):
    assert code == 2
    assert err.startswith("miri-testbed: error:")
    for phrase in phrases:
        assert phrase in err
    assert not out.exists() or not any(out.iterdir())


def test_good_file_calibrates(exposure, tmp_path, capsys):
    code, err = _calibrate(exposure["uncal"], tmp_path / "out", exposure["refs"], capsys)
    assert code == 0, err
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "good_rate.fits", "good_rateints.fits", "good_cal.fits", "good_cat.ecsv"}


def test_a_rate_file_given_as_an_uncal_is_refused_by_what_it_is(exposure, tmp_path, capsys):
    code, err = _calibrate(exposure["uncal"], tmp_path / "first", exposure["refs"], capsys)
    assert code == 0, err
    code, err = _calibrate(tmp_path / "first" / "good_rate.fits", tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "good_rate.fits: a rate image (2-D SCI), not an uncal ramp",
                    "--combine")

    code, err = _calibrate(tmp_path / "first" / "good_rateints.fits", tmp_path / "ints", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "ints", "good_rateints.fits: SCI has 3 dimensions",
                    "a rateints (rates per integration)", "_rate.fits")


def test_a_spectrum_given_as_an_uncal_is_refused_by_what_it_is(exposure, tmp_path, capsys):
    """An x1d's SCI is empty (its spectra are in EXTRACT1D): it loaded as a RampModel without data (a traceback,
    found by a fresh-clone walkthrough)."""
    x1d = tmp_path / "s_x1d.fits"
    model = dm.MultiSpecModel()
    with dm.open(exposure["uncal"]) as ramp:
        model.update(ramp)  # the exposure's keywords, as a product keeps them
    model.save(x1d)
    with fits.open(x1d, mode="update") as hdus:  # as calibrate's x1d products carry it
        hdus.insert(1, fits.ImageHDU(name="SCI"))
        hdus.insert(2, fits.BinTableHDU.from_columns([fits.Column("WAVELENGTH", "D", array=[5.0])], name="EXTRACT1D"))
    code, err = _calibrate(x1d, tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "s_x1d.fits: SCI has 0 dimensions, not an uncal ramp's 4",
                    "an x1d spectrum product")


def test_truncated_file(exposure, tmp_path, capsys):
    bad = tmp_path / "cut_uncal.fits"
    data = exposure["uncal"].read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    code, err = _calibrate(bad, tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "cut_uncal.fits", "not a readable FITS file")


def test_a_file_cut_in_its_last_extension_gets_our_message_alone(exposure, tmp_path, capsys, recwarn):
    bad = tmp_path / "cut_uncal.fits"
    data = exposure["uncal"].read_bytes()
    bad.write_bytes(data[:-100])
    code, err = _calibrate(bad, tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "cut_uncal.fits", "truncated or corrupt (its last whole extension")
    # astropy's own warning (printed before ours in a terminal) said the same less precisely
    assert not [w for w in recwarn if "truncated" in str(w.message)]


def test_not_a_fits_file(exposure, tmp_path, capsys):
    bad = tmp_path / "text_uncal.fits"
    bad.write_text("hello")
    code, err = _calibrate(bad, tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "not a readable FITS file")


def _header_edited(src, dst, edit):
    """A copy of ``src`` at ``dst`` with ``edit(header)`` applied to its primary header."""
    shutil.copy(src, dst)
    with fits.open(dst, mode="update") as hdul:
        edit(hdul[0].header)
    return dst


def test_non_miri_file(exposure, tmp_path, capsys):
    bad = _header_edited(exposure["uncal"], tmp_path / "nircam_uncal.fits",
                         lambda h: h.__setitem__("INSTRUME", "NIRCAM"))
    code, err = _calibrate(bad, tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "INSTRUME is 'NIRCAM', not MIRI")


def test_missing_keyword(exposure, tmp_path, capsys):
    bad = _header_edited(exposure["uncal"], tmp_path / "nokey_uncal.fits", lambda h: h.remove("READPATT"))
    code, err = _calibrate(bad, tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "missing required keyword(s) READPATT")


def test_one_group_ramp(exposure, tmp_path, capsys):
    with dm.open(exposure["uncal"]) as model:
        model.data = model.data[:, :1].copy()
        model.groupdq = model.groupdq[:, :1].copy()
        model.meta.exposure.ngroups = 1
        model.save(tmp_path / "one_uncal.fits")
    code, err = _calibrate(tmp_path / "one_uncal.fits", tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "NGROUPS=1", "at least 2 groups")


def test_nans_in_data(exposure, tmp_path, capsys):
    with dm.open(exposure["uncal"]) as model:
        model.data[0, 2, 10, 20] = np.nan
        model.save(tmp_path / "nan_uncal.fits")
    code, err = _calibrate(tmp_path / "nan_uncal.fits", tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "1 non-finite", "(0, 2, 10, 20)")


def test_shape_disagrees_with_keywords(exposure, tmp_path, capsys):
    bad = _header_edited(exposure["uncal"], tmp_path / "shape_uncal.fits", lambda h: h.__setitem__("NGROUPS", 7))
    code, err = _calibrate(bad, tmp_path / "out", exposure["refs"], capsys)
    _assert_refused(code, err, tmp_path / "out", "disagrees with NINTS=1, NGROUPS=7")


def test_missing_reference_type(exposure, tmp_path, capsys):
    refs = tmp_path / "refs"
    shutil.copytree(exposure["refs"], refs)
    next(refs.glob("*_gain_*.fits")).unlink()
    code, err = _calibrate(exposure["uncal"], tmp_path / "out", refs, capsys)
    _assert_refused(code, err, tmp_path / "out", "no GAIN reference in")


def test_unknown_algorithm(exposure, tmp_path, capsys):
    code = main(["calibrate", str(exposure["uncal"]), "-o", str(tmp_path / "out"), "--algorithm", "ramp_fit=magic"])
    err = capsys.readouterr().err
    _assert_refused(code, err, tmp_path / "out", "unknown algorithm 'magic' for step 'ramp_fit'")


def test_unknown_scenario_key(tmp_path, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text('[suite]\nseeds=[1]\n[[scenario]]\nname="a"\n[scenario.observation]\nfliter="F770W"\n')
    code = main(["run", "--suite", str(suite), "-o", str(tmp_path / "rep")])
    err = capsys.readouterr().err
    _assert_refused(code, err, tmp_path / "rep", "scenario 'a'.observation: unknown key(s) fliter")


def test_unknown_suite(tmp_path, capsys):
    code = main(["run", "--suite", "nosuch", "-o", str(tmp_path / "rep")])
    _assert_refused(code, capsys.readouterr().err, tmp_path / "rep", "unknown suite 'nosuch'", "default", "quick")


def test_wrongly_typed_scenario_value(tmp_path, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text('[suite]\nseeds=[1]\n[[scenario]]\nname="a"\n[scenario.effects.detector]\ndigitize="no"\n')
    code = main(["run", "--suite", str(suite), "-o", str(tmp_path / "rep")])
    _assert_refused(code, capsys.readouterr().err, tmp_path / "rep",
                    "scenario 'a'.effects.detector.digitize: expected bool")


def test_score_refuses_swapped_or_mismatched_files(exposure, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["calibrate", str(exposure["uncal"]), "-o", str(out), "--refs", str(exposure["refs"])]) == 0
    capsys.readouterr()
    rate, cat = out / "good_rate.fits", out / "good_cat.ecsv"
    code = main(["score", "--truth", str(rate), "--rate", str(rate), "--cat", str(cat)])
    assert code == 2 and "not a miri-testbed truth file" in capsys.readouterr().err
    code = main(["score", "--truth", str(exposure["truth"]), "--rate", str(rate), "--cat", str(exposure["truth"])])
    assert code == 2 and "not an ECSV source catalog" in capsys.readouterr().err


def test_run_exits_1_when_a_target_fails(tmp_path, capsys):
    """A photometric reference 5 % off (an honest reference error, not a code change) must
    fail the flux target, and the main job must say so in its exit status."""
    suite = tmp_path / "s.toml"
    suite.write_text(
        '[suite]\nseeds=[1]\n[[scenario]]\nname="bad_photom"\n'
        '[scenario.observation]\nsubarray="SUB256"\nngroups=10\n'
        '[scenario.scene]\nrandom_stars={n=6, flux_min_mjy=0.5, flux_max_mjy=3.0}\n'  # well above S/N 100
        '[scenario.references]\nphotom_error=0.0\n'
        '[scenario.effects.detector]\ncosmic_rays=false\nshowers=false\n'
    )
    # the control run takes exact references: with measured ones this 6-star scene's
    # median sits at the 0.5 % bound (1.005, the measured LINEARITY's scale error among it)
    perfect = suite.read_text().replace("photom_error=0.0", 'kind="perfect"')
    (tmp_path / "ok.toml").write_text(perfect)
    assert main(["run", "--suite", str(tmp_path / "ok.toml"), "-o", str(tmp_path / "ok"), "--workers", "1"]) == 0
    bad = suite.read_text().replace("photom_error=0.0", "photom_error=0.05").replace("seeds=[1]", "seeds=[3]")
    suite.write_text(bad)
    code = main(["run", "--suite", str(suite), "-o", str(tmp_path / "bad"), "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 1 and "targets failed: IMG-FLUX-1" in out
    # the report redrawn from the run's folder judges the targets as the run did (same scenario filters)
    assert main(["report", str(tmp_path / "bad" / "metrics.csv"), "-o", str(tmp_path / "redrawn")]) == 0
    assert "not applied" not in capsys.readouterr().err
    judged = [[(t["id"], t["measured"], t["n"], t["passed"], t["note"])
               for t in json.loads((folder / "summary.json").read_text())["targets"]]
              for folder in (tmp_path / "bad", tmp_path / "redrawn")]
    assert judged[0] == judged[1]


def test_run_fails_when_every_star_vanishes(tmp_path, capsys):
    """Stars far below the noise are all lost: the flux and astrometry targets have no data
    although the scene has stars, so the run fails and the table names the scenario."""
    suite = tmp_path / "s.toml"
    suite.write_text(
        '[suite]\nseeds=[1]\n[[scenario]]\nname="lost_stars"\n'
        '[scenario.observation]\nsubarray="SUB256"\nngroups=10\n'
        '[scenario.scene]\nrandom_stars={n=12, flux_min_mjy=1e-7, flux_max_mjy=2e-7}\n'
    )
    code = main(["run", "--suite", str(suite), "-o", str(tmp_path / "rep"), "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 1
    failed = next(line for line in out.splitlines() if line.startswith("targets failed:"))
    for target in ("IMG-FLUX-1", "IMG-ASTRO-1", "IMG-ASTRO-2"):
        assert f"{target} (no data)" in failed
    flux = next(line for line in out.splitlines() if line.startswith("IMG-FLUX-1"))
    assert "FAIL" in flux and "expected from lost_stars (stars > 0)" in flux
    summary = (tmp_path / "rep" / "summary.md").read_text()
    assert "expected from lost_stars" in summary
