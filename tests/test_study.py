"""Studies: identical tables on a real dask LocalCluster and locally; a killed study
resumes with no lost or duplicated rows; clear errors for bad input."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from miri_testbed.calibration import CalibrationInputError
from miri_testbed.validation.cli import main
from miri_testbed.validation.results import ResultsError, read_results
from miri_testbed.validation.study import Study, StudyError, cell_path, dask_client, parse_algorithm_set

from helpers import tiny_suite_toml

TINY = tiny_suite_toml([1, 2])
SETS = ["default", "ramp_fit=ols"]


@pytest.fixture(scope="module")
def tiny_suite(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def local_results(tiny_suite, tmp_path_factory):
    """The tiny study (2 seeds x 2 algorithm sets) run in this process."""
    study = Study.open(tmp_path_factory.mktemp("local") / "study", tiny_suite, SETS)
    return study.run(workers=1, progress=False)


def test_local_study_table_and_record(local_results, tiny_suite):
    assert list(local_results.groupby(["algorithms", "seed"], sort=False).size().index) == [
        ("default", 1), ("default", 2), ("ramp_fit=ols", 1), ("ramp_fit=ols", 2)]
    default = local_results[local_results.algorithms == "default"]
    ols = local_results[local_results.algorithms == "ramp_fit=ols"]
    # Same exposures: identical truth rows (detected sources' fluxes), different fits.
    assert default.true_flux_mjy.dropna().tolist() == ols.true_flux_mjy.dropna().tolist()
    assert not default.value.reset_index(drop=True).equals(ols.value.reset_index(drop=True))


def test_study_keeps_the_views_of_each_sets_first_seed(local_results, tiny_suite, tmp_path):
    """Each set's first-seed cell cuts the before/after views; the study folder keeps them
    (``views.npz``), ``read_results`` attaches them, and a report of the study draws them."""
    from miri_testbed.validation import views

    cut, emi_rows = views.attached(local_results)
    assert sorted(cut) == ["default|sub64|1", "ramp_fit=ols|sub64|1"]
    assert {"emi:Hz390", "background"} <= set(cut["default|sub64|1"])
    assert set(emi_rows["algorithms"]) == {"default", "ramp_fit=ols"} and set(emi_rows["bin"]) == {8.0}
    folder = tmp_path / "study"
    Study.open(folder, tiny_suite, SETS).run(workers=1, progress=False)
    assert sorted(views.load(folder / "views.npz")) == sorted(cut)
    table, _ = read_results(folder)
    np.testing.assert_array_equal(views.attached(table)[0]["default|sub64|1"]["emi:Hz390"]["after"],
                                  cut["default|sub64|1"]["emi:Hz390"]["after"])
    assert main(["report", str(folder), "--algorithms", "ramp_fit=ols", "-o", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert "ramp_fit=ols|sub64|1" in page and "default|sub64|1" not in page


def test_study_records_configuration_and_versions(tiny_suite, tmp_path):
    folder = tmp_path / "study"
    Study.open(folder, tiny_suite, ["ramp_fit=ols"], seeds=[3]).run(workers=1, progress=False)
    assert (folder / "suite.toml").read_text() == TINY
    table, meta = read_results(folder)
    assert set(table.seed) == {3} and set(table.algorithms) == {"ramp_fit=ols"}
    assert meta["study"]["suite_toml"] == TINY
    assert meta["study"]["algorithm_sets"] == {"ramp_fit=ols": [["ramp_fit", "ols"]]}
    for package in ("numpy", "scipy", "astropy", "stdatamodels", "miri-testbed"):
        assert meta["versions"][package], package
    assert np.sum(meta["pull_hist"]) > 1000


@pytest.mark.slow
def test_study_on_dask_local_cluster_matches_local_runner(local_results, tiny_suite, tmp_path):
    """A real dask.distributed LocalCluster (2 worker processes) gives the same table,
    both through dask_client(n_local=...) and through the CLI's --scheduler ADDRESS."""
    pytest.importorskip("distributed")
    study = Study.open(tmp_path / "study", tiny_suite, SETS)
    with dask_client(n_local=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        table = study.run(client=client, progress=False, engine="dask-local")
        assert main(["study", "--suite", str(tiny_suite), "--algorithms", *SETS, "-o", str(tmp_path / "cli"),
                     "--scheduler", client.scheduler.address, "--no-progress"]) == 0
    pd.testing.assert_frame_equal(table, local_results, check_exact=True)
    pd.testing.assert_frame_equal(read_results(tmp_path / "cli")[0], local_results, check_exact=True)
    assert Study.open(tmp_path / "cli")._read_record()["runs"][0]["engine"].startswith("dask scheduler tcp://")


def _finished_cells(folder):
    """The cell files renamed into place (a temporary copy sits in a hidden folder); none yet while the walk
    meets a folder the running study removes under it (a cell's temporary one, after its rename)."""
    try:
        return [p for p in (folder / "cells").glob("**/seed*.parquet") if not p.parent.name.startswith(".")]
    except FileNotFoundError:
        return []


def test_killed_study_resumes_without_lost_or_duplicated_rows(local_results, tiny_suite, tmp_path):
    """Kill the study process (SIGKILL) once its first cell file appears, resume it, and
    get exactly the table of the uninterrupted study; finished cells are not recomputed."""
    folder = tmp_path / "study"
    command = [sys.executable, "-m", "miri_testbed.validation.cli", "study", "--suite", str(tiny_suite),
               "--algorithms", *SETS, "-o", str(folder), "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not _finished_cells(folder):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no cell finished in 120 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    study = Study.open(folder)
    finished = {c: cell_path(folder, c).stat().st_mtime_ns for c in study.cells() if cell_path(folder, c).exists()}
    assert 1 <= len(finished) < len(study.cells()), "the kill came too late to test a resume"
    assert not (folder / "results.parquet").exists()
    with pytest.raises(ResultsError, match="unfinished"):
        read_results(folder)

    table = study.run(workers=1, progress=False)
    pd.testing.assert_frame_equal(table, local_results, check_exact=True)
    assert {c: cell_path(folder, c).stat().st_mtime_ns for c in finished} == finished  # not recomputed
    runs = Study.open(folder)._read_record()["runs"]
    assert [r["cells_before"] for r in runs] == [0, len(finished)]
    assert not list(folder.glob("cells/**/.seed*"))


def test_algorithm_sets_are_checked():
    assert parse_algorithm_set("default") == ()
    assert parse_algorithm_set("ramp_fit=likelihood") == ()  # the default, spelled out
    assert parse_algorithm_set("ramp_fit=ols,jump=twopoint") == (("jump", "twopoint"), ("ramp_fit", "ols"))
    with pytest.raises(CalibrationInputError, match="unknown algorithm 'fast' for step 'ramp_fit'"):
        parse_algorithm_set("ramp_fit=fast")
    with pytest.raises(StudyError, match="expected 'default' or STEP=NAME"):
        parse_algorithm_set("ols")


def test_study_errors_name_the_problem(tiny_suite, tmp_path, capsys):
    folder = tmp_path / "study"
    with pytest.raises(StudyError, match="same as 'default'"):
        Study.open(folder, tiny_suite, ["default", "ramp_fit=likelihood"])
    with pytest.raises(StudyError, match="give --suite"):
        Study.open(folder)
    Study.open(folder, tiny_suite, ["default"])
    with pytest.raises(StudyError, match="other algorithm sets"):
        Study.open(folder, algorithm_sets=["ramp_fit=ols"])
    with pytest.raises(StudyError, match="other seeds"):
        Study.open(folder, seeds=[7])
    # A corrupt cell file is named, with what to do about it.
    study = Study.open(folder)
    cell = study.cells()[0]
    cell_path(folder, cell).parent.mkdir(parents=True)
    cell_path(folder, cell).write_bytes(b"PAR1 not really")
    for other in study.cells()[1:]:
        cell_path(folder, other).write_bytes(cell_path(folder, cell).read_bytes())
    with pytest.raises(StudyError, match=r"seed1.parquet: not a readable Parquet file.*delete that cell file"):
        study.run(workers=1, progress=False)
    assert main(["study", "-o", str(tmp_path / "new"), "--suite", str(tiny_suite), "--algorithms", "jump=nope"]) == 2
    assert "unknown algorithm 'nope' for step 'jump'" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_builtin_suites_quick_default_full():
    """The named suites of issue 6 exist and load; full covers every imager filter."""
    from miri_testbed.instrument import imager
    from miri_testbed.validation.scenarios import load_suite

    quick, default, full, emi = (load_suite(n) for n in ("quick", "default", "full", "emi"))
    assert {s.observation.subarray for s in emi.scenarios} == {"SUB128"}  # the EMI study: residual vs ngroups
    assert sorted(s.observation.ngroups for s in emi.scenarios) == [3, 5, 8, 10, 20]
    assert len(quick.scenarios) * len(quick.seeds) <= 6 < len(default.scenarios) * len(default.seeds)
    assert {s.observation.filter for s in full.scenarios} == set(imager.FILTERS)
    assert len(full.seeds) >= 10 and {s.observation.readpatt for s in full.scenarios} == {"FASTR1", "SLOWR1"}
