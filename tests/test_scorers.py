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


def test_spectra_per_integration_and_cubes_are_registered_without_a_scorer_yet():
    for kind in (scorers.SPECTRA_PER_INTEGRATION, scorers.CUBE):
        assert scorers.SCORERS[kind] == ()
    assert scorers.score_products(None, {scorers.SPECTRA_PER_INTEGRATION: "a_x1dints.fits",
                                         scorers.CUBE: "a_s3d.fits"}) == []
    names = [s.score.__name__ for s in scorers.SCORERS[scorers.SPECTRUM1D]]
    assert names == ["score_x1d", "score_dropouts", "score_flux"]


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
    assert "Awaits spectroscopy" in page and "for spectra_per_integration, cube" in page
    assert "Extracted spectra" not in page
    page = report.product_sections(tmp_path, _table(["pull_std"]), hist)
    assert "Rate image" in page and "Source catalog" not in page
