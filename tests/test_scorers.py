"""Scorers and report sections registered by product type."""
import numpy as np
import pandas as pd
import pytest

from miri_testbed.validation import report, scorers
from miri_testbed.validation.runner import COLUMNS


def test_pipeline_suffixes_map_to_product_types_and_unknown_ones_are_refused():
    typed = scorers.by_type({"rate": "a_rate.fits", "cat": "a_cat.ecsv", "x1d": "a_x1d.fits", "s3d": "a_s3d.fits"})
    assert typed == {scorers.RATE: "a_rate.fits", scorers.CATALOG: "a_cat.ecsv", scorers.SPECTRUM1D: "a_x1d.fits",
                     scorers.CUBE: "a_s3d.fits"}
    with pytest.raises(ValueError, match="product suffix\\(es\\) i2d have no product type"):
        scorers.by_type({"rate": "a_rate.fits", "i2d": "a_i2d.fits"})


def test_spectra_per_integration_are_registered_without_a_scorer_yet_and_each_x1d_scorer_names_its_modes():
    assert scorers.SCORERS[scorers.SPECTRA_PER_INTEGRATION] == ()
    assert scorers.score_products(None, {scorers.SPECTRA_PER_INTEGRATION: "a_x1dints.fits"}) == []
    x1d = scorers.SCORERS[scorers.SPECTRUM1D]
    assert [(s.score.__module__.rsplit(".", 1)[-1], s.score.__name__) for s in x1d] == [
        ("lrs_score", "score_x1d"), ("lrs_dropouts", "score_dropouts"), ("lrs_flux", "score_flux"),
        ("mrs_score", "score_x1d"), ("mrs_fringe_score", "score_x1d")]
    assert [s.scores("lrs_slit") for s in x1d] == [True, True, True, False, False]
    assert [s.scores("mrs") for s in x1d] == [False, False, False, True, True]
    cube = scorers.SCORERS[scorers.CUBE]
    assert [(s.score.__module__.rsplit(".", 1)[-1], s.score.__name__) for s in cube] == [
        ("mrs_score", "score_cubes"), ("mrs_extended_score", "score_cubes"), ("mrs_leak_score", "score_cubes")]
    assert [s.scores("mrs") for s in cube] == [True, True, True]
    assert all(s.scores("imager") for s in scorers.SCORERS[scorers.RATE])  # no modes: any


def test_score_products_refuses_unregistered_types_and_missing_companions():
    with pytest.raises(ValueError, match="product type\\(s\\) lightcurve are not registered"):
        scorers.score_products(None, {"lightcurve": "x"})
    with pytest.raises(ValueError, match="the rateints scorer score_detector also needs: ramp"):
        scorers.score_products(None, {scorers.RATEINTS: "a_rateints.fits"})


def _table(metrics):
    rows = [dict(scenario="s", seed=0, algorithms="default", metric=m, value=1.0, unit="", source_id=0.0,
                 true_flux_mjy=0.1, snr=30.0) for m in metrics]
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def test_product_types_of_a_results_table_come_from_the_scorers_metrics():
    assert scorers.product_types(_table(["flux_ratio", "pull_std"])) == {scorers.CATALOG, scorers.RATE}
    assert scorers.product_types(_table(["clean_pull_std", "emi_residual_fraction"])) == {
        scorers.RATEINTS, scorers.EMI_CORRECTION}
    assert scorers.product_types(_table(["something_else"])) == set()
    assert scorers.product_types(_table(["lrs_lines_lost"])) == {scorers.SPECTRUM1D}


def test_the_report_draws_the_sections_of_the_product_types_present(tmp_path):
    hist = np.zeros((2, 120), np.int64)  # the two pull series (validation.detector_score.PULL_SERIES)
    page = report.product_sections(tmp_path, _table(["flux_ratio", "astrometric_error", "detected"]), hist)
    assert "Source catalog" in page and (tmp_path / "flux_ratio.png").is_file()
    assert "Rate image" not in page and not (tmp_path / "pulls.png").exists()
    assert "Extracted spectra" not in page
    page = report.product_sections(tmp_path, _table(["pull_std"]), hist)
    assert "Rate image" in page and "Source catalog" not in page


def test_the_mrs_section_tables_each_band_and_leaves_the_lrs_spectrum_section_out(tmp_path):
    hist = np.zeros((2, 120), np.int64)
    made = (("mrs_wavelength_offset", -0.4, "km/s", 5.3), ("mrs_wavelength_perturbation", -0.3, "km/s", 5.3),
            ("mrs_wavelength_error_band", 0.4, "km/s", 1.1), ("mrs_lines_expected", 1.0, "line", 1.1),
            ("mrs_lines_lost", 0.0, "line", 1.1), ("mrs_centroid_error", 2.0, "mas", 1.1),
            ("mrs_centroid_error", 3.0, "mas", 2.1), ("mrs_band_offset", 4.0, "mas", np.nan),
            ("mrs_flux_pull_rms", 1.02, "", 1.1))
    rows = [dict(scenario="m", seed=1, algorithms="default", metric=m, value=v, unit=u, bin=b, source_id=0.0)
            for m, v, u, b in made]
    metrics = pd.DataFrame(rows).reindex(columns=COLUMNS)
    assert scorers.product_types(metrics) == {scorers.SPECTRUM1D, scorers.CUBE}
    page = report.product_sections(tmp_path, metrics, hist)
    assert "MRS cubes and spectra" in page and "Extracted spectra (x1d)" not in page
    assert "<td>1A</td>" in page and "<td>2A</td>" in page and "median 4 mas" in page
    assert "spectrum pull rms" in page
    assert (tmp_path / "mrs_line_centres.png").is_file()
    summary = report.summary_table(metrics)
    assert {"mrs_wavelength_error_band", "mrs_centroid_error", "mrs_band_offset"} <= set(summary["metric"])



def test_an_x1d_without_a_spectrum_is_refused(tmp_path):
    """An x1d cut after its primary HDU reads as a MultiSpecModel without spectra: refused, not scored as nothing."""
    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.validation import lrs_score, mrs_score
    from miri_testbed.validation.score import ScoreInputError

    path = tmp_path / "cut_x1d.fits"
    dm.MultiSpecModel().save(path)
    for read in (mrs_score.read_spectra, lrs_score.open_x1d):
        with pytest.raises(ScoreInputError, match="holds no spectrum"):
            read(path)


def test_score_names_a_cut_product_as_truncated(tmp_path, recwarn):
    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.validation.score import ScoreInputError, open_product

    rate = tmp_path / "r_rate.fits"
    dm.ImageModel(data=np.ones((8, 8), np.float32)).save(rate)
    cut = tmp_path / "cut_rate.fits"
    cut.write_bytes(rate.read_bytes()[:-100])
    with pytest.raises(ScoreInputError, match="cut_rate.fits: not a readable FITS file, truncated or corrupt "
                                              "\\(its last whole extension"):
        open_product(cut, dm.ImageModel, "rate", "a rate image")
    with open_product(rate, dm.ImageModel, "rate", "a rate image") as model:  # a whole one still opens
        assert model.data.shape == (8, 8)
    assert not [w for w in recwarn if "truncated" in str(w.message) or "2880" in str(w.message)]
