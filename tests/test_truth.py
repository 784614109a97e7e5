"""The truth file: one writer, one reader, named components, a versioned layout."""
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from miri_testbed.simulator.truth import (
    LAYOUT_VERSION,
    Component,
    TruthFileError,
    read_truth,
    write_truth_file,
)
from miri_testbed.validation.cli import main

CONFIG = {"scene": {"background_mjy_sr": 2.5, "sources": [{"flux_mjy": 0.1}]},
          "effects": {"detector": {"emi": True, "emi_rms_390_dn": 4.0}, "empty": {}}, "seed": 7}


@pytest.fixture
def mrs_like(tmp_path):
    """A truth file with an exposure component and a per-detector RATE on two detectors."""
    components = [
        Component("SPECTRUM", Table({"wavelength": [5.0, 5.1], "flux": [1.0, 2.0]}), description="true spectrum"),
        Component("RATE", np.full((4, 5), 1.0, np.float32), "DN/s", "true rate", detector="MIRIFUSHORT"),
        Component("RATE", np.full((4, 5), 2.0, np.float32), "DN/s", "true rate", detector="MIRIFULONG"),
    ]
    return write_truth_file(tmp_path / "t_truth.fits", seed=7, config=CONFIG, components=components,
                            header={"NGROUPS": (5, "groups")})


def test_round_trip_of_header_config_and_components(mrs_like):
    truth = read_truth(mrs_like)
    assert truth.seed == 7 and truth.header["NGROUPS"] == 5 and truth.header["TRUTHVER"] == LAYOUT_VERSION
    assert truth.config == CONFIG
    assert truth.table("SPECTRUM")["flux"].tolist() == [1.0, 2.0]
    assert truth.detectors("RATE") == ("MIRIFUSHORT", "MIRIFULONG") and truth.detectors("SPECTRUM") == ()
    assert truth.image("RATE", detector="MIRIFULONG").mean() == 2.0
    assert truth.has("RATE") and truth.has("RATE", "MIRIFUSHORT") and not truth.has("RATE", "MIRIMAGE")
    assert not truth.has("ILLUM")


def test_every_extension_is_named_with_unit_description_and_readable_config(mrs_like):
    with fits.open(mrs_like) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "CONFIG", "SPECTRUM", "RATE", "RATE"]
        assert [h.ver for h in hdul[3:]] == [1, 2]  # (EXTNAME, EXTVER) unique
        rate = hdul["RATE", 2].header
        assert rate["BUNIT"] == "DN/s" and rate["DETECTOR"] == "MIRIFULONG" and "true rate" in str(rate["COMMENT"])
        pairs = dict(zip(hdul["CONFIG"].data["KEY"], hdul["CONFIG"].data["VALUE"], strict=True))
    assert pairs["effects.detector.emi_rms_390_dn"] == "4.0" and pairs["effects.empty"] == "{}"


def test_reader_errors_name_the_file_and_the_problem(mrs_like, tmp_path):
    truth = read_truth(mrs_like)
    with pytest.raises(TruthFileError, match="RATE is per detector \\(MIRIFUSHORT, MIRIFULONG\\); name one"):
        truth.image("RATE")
    with pytest.raises(TruthFileError, match="no RATE for detector MIRIMAGE"):
        truth.image("RATE", detector="MIRIMAGE")
    with pytest.raises(TruthFileError, match="SPECTRUM is a table, not an image"):
        truth.image("SPECTRUM")
    with pytest.raises(TruthFileError, match=f"{mrs_like}: truth file lacks component\\(s\\) ILLUM, SOURCES"):
        truth.require("RATE", "ILLUM", "SOURCES")
    with pytest.raises(TruthFileError, match="no such file"):
        read_truth(tmp_path / "none.fits")
    (tmp_path / "text.fits").write_text("hello")
    with pytest.raises(TruthFileError, match="text.fits: not a readable FITS file"):
        read_truth(tmp_path / "text.fits")
    fits.PrimaryHDU().writeto(tmp_path / "other.fits")
    with pytest.raises(TruthFileError, match="other.fits: not a miri-testbed truth file"):
        read_truth(tmp_path / "other.fits")


def test_a_file_of_another_layout_version_is_refused_naming_both(mrs_like, tmp_path):
    with fits.open(mrs_like) as hdul:
        hdul[0].header["TRUTHVER"] = LAYOUT_VERSION + 1
        hdul.writeto(tmp_path / "newer.fits")
        del hdul[0].header["TRUTHVER"]  # the unversioned files before the layout had a version
        hdul.writeto(tmp_path / "older.fits")
    with pytest.raises(TruthFileError, match=f"layout version {LAYOUT_VERSION + 1}; this reader reads version "
                                             f"{LAYOUT_VERSION}"):
        read_truth(tmp_path / "newer.fits")
    with pytest.raises(TruthFileError, match=f"older.fits: truth-file layout version 1; this reader reads version "
                                             f"{LAYOUT_VERSION}"):
        read_truth(tmp_path / "older.fits")


def test_score_refuses_a_truth_file_of_another_version_cleanly(mrs_like, tmp_path, capsys):
    with fits.open(mrs_like) as hdul:
        del hdul[0].header["TRUTHVER"]
        hdul.writeto(tmp_path / "old_truth.fits")
    code = main(["score", "--truth", str(tmp_path / "old_truth.fits"), "--rate", "r.fits", "--cat", "c.ecsv"])
    assert code == 2 and "truth-file layout version 1; this reader reads version" in capsys.readouterr().err


def test_a_component_given_twice_is_refused(tmp_path):
    twice = [Component("RATE", np.zeros(2)), Component("RATE", np.ones(2))]
    with pytest.raises(ValueError, match="RATE \\(detector None\\) given twice"):
        write_truth_file(tmp_path / "t.fits", seed=0, config={}, components=twice)
    assert not (tmp_path / "t.fits").exists()


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_cut_truth_file_is_refused_as_truncated_without_astropy_s_warning(mrs_like, tmp_path, keep, recwarn):
    data = mrs_like.read_bytes()
    cut = tmp_path / "cut_truth.fits"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(TruthFileError, match="cut_truth.fits: not a readable FITS file, truncated or corrupt"):
        read_truth(cut)
    assert not [w for w in recwarn if "truncated" in str(w.message)]

