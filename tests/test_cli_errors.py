"""Mistakes a new user makes on the command line: one line ``miri-testbed: error: ...``
naming the problem, exit status 2, no traceback and no output; workers of a killed
study do not outlive it."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq
from miri_testbed.simulator import ReferenceOptions, simulate
from miri_testbed.validation.cli import main

from helpers import Observation, star_scene, tiny_suite_toml


@pytest.fixture(scope="module")
def exposure(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    obs = Observation(subarray="SUB64", ngroups=4)
    return simulate(star_scene(obs, 1, n=1, margin=14), obs, folder, name="good", seed=1,
                    references=ReferenceOptions(kind="perfect"))


def _refused(argv, capsys, *phrases):
    """Run the CLI; assert exit 2 and one ``miri-testbed: error:`` line holding ``phrases``."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("miri-testbed: error:"), err
    for phrase in phrases:
        assert phrase in lines[0]
    return lines[0]


def _calibrate(exposure, out, *more):
    return ["calibrate", exposure["uncal"], "-o", out, "--refs", exposure["refs"], *more]


def test_calibrate_output_that_is_a_file(exposure, tmp_path, capsys):
    out = tmp_path / "products"
    out.write_text("not a folder")
    _refused(_calibrate(exposure, out), capsys, f"output folder {out} is a file, not a folder")
    assert out.read_text() == "not a folder"


def test_calibrate_output_below_a_file(exposure, tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    _refused(_calibrate(exposure, tmp_path / "afile" / "out"), capsys, f"{tmp_path / 'afile'} is a file, not a folder")


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs, where nobody may create a folder")
def test_calibrate_output_that_cannot_be_written(exposure, capsys):
    # sysfs refuses new folders even to root, for whom a chmod 555 folder stays writable
    _refused(_calibrate(exposure, "/sys/miri-testbed-out"), capsys,
             "cannot write in output folder /sys/miri-testbed-out")


def test_combine_is_for_an_mrs_dither_set(exposure, tmp_path, capsys):
    _refused(_calibrate(exposure, tmp_path / "out", "--combine", "set"), capsys,
             "EXP_TYPE MIR_IMAGE: only MRS (MIR_MRS) exposures of a dither set are combined")
    _refused(_calibrate(exposure, tmp_path / "out", "--combine", "set", "--background", exposure["uncal"]), capsys,
             "--combine (an MRS dither set) takes no --background or --ephemeris")
    assert not (tmp_path / "out").exists()


def test_refs_that_is_a_file(exposure, tmp_path, capsys):
    refs = tmp_path / "refs.fits"
    refs.write_text("")
    line = _refused(["calibrate", exposure["uncal"], "-o", tmp_path / "out", "--refs", refs], capsys,
                    f"reference folder {refs} is a file, not a folder")
    assert "does not exist" not in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_refs_that_does_not_exist(exposure, tmp_path, capsys):
    _refused(["calibrate", exposure["uncal"], "-o", tmp_path / "out", "--refs", tmp_path / "nothing"], capsys,
             "does not exist")


def test_uncal_that_does_not_exist(exposure, tmp_path, capsys):
    _refused(["calibrate", tmp_path / "typo_uncal.fits", "-o", tmp_path / "out", "--refs", exposure["refs"]], capsys,
             "typo_uncal.fits: no such file")


def test_uncal_that_is_a_folder(exposure, tmp_path, capsys):
    _refused(["calibrate", tmp_path, "-o", tmp_path / "out", "--refs", exposure["refs"]], capsys,
             "is a folder, not a FITS file")


def _with_data(exposure, path, edit):
    """A copy of the exposure's uncal at ``path`` with ``edit(data)`` applied."""
    with dm.open(exposure["uncal"]) as model:
        edit(model.data)
        model.save(path)
    return path


def test_all_saturated_exposure(exposure, tmp_path, capsys, recwarn):
    """Every group of every pixel at the ADC's top: no rate anywhere, an error (not NaN
    products with a RuntimeWarning).  SUB64's reference pixels keep a rate and do not count."""
    bad = _with_data(exposure, tmp_path / "sat_uncal.fits", lambda d: d.__setitem__(Ellipsis, 65535.0))
    _refused(["calibrate", bad, "-o", tmp_path / "out", "--refs", exposure["refs"]], capsys,
             "sat_uncal.fits: every science pixel", "is saturated")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_one_usable_patch_still_calibrates(exposure, tmp_path, capsys):
    """The refusal is for no usable pixel at all: a 5x5 unsaturated patch in a saturated
    frame keeps its rates (its centre is beyond the saturated pixels' charge spill)."""
    def saturate_around(data):
        patch = data[:, :, 30:35, 30:35].copy()
        data[...] = 65535.0
        data[:, :, 30:35, 30:35] = patch

    uncal = _with_data(exposure, tmp_path / "patch_uncal.fits", saturate_around)
    assert main(["calibrate", str(uncal), "-o", str(tmp_path / "out"), "--refs", str(exposure["refs"])]) == 0
    with dm.open(tmp_path / "out" / "patch_rate.fits") as rate:
        science = (rate.dq & dq.REFERENCE_PIXEL) == 0
        assert np.isfinite(rate.data[32, 32])
        assert np.count_nonzero(np.isfinite(rate.data[science])) <= 25


def test_unknown_algorithm_in_run_and_study(tmp_path, capsys):
    _refused(["run", "--suite", "quick", "-o", tmp_path / "rep", "--algorithm", "jump=magic"], capsys,
             "unknown algorithm 'magic' for step 'jump'")
    _refused(["study", "--suite", "quick", "-o", tmp_path / "study", "--algorithms", "jump=magic"], capsys,
             "unknown algorithm 'magic' for step 'jump'")


@pytest.mark.parametrize("argv", [
    ["simulate", "--suite", "quick", "-o", "{file}"],
    ["run", "--suite", "quick", "-o", "{file}"],
    ["study", "--suite", "quick", "-o", "{file}"],
])
def test_output_folder_that_is_a_file_for_every_command(argv, tmp_path, capsys):
    """Refused before any cell is simulated."""
    afile = tmp_path / "afile"
    afile.write_text("")
    _refused([a.format(file=afile) for a in argv], capsys, f"output folder {afile} is a file, not a folder")


def test_output_file_that_is_a_folder(exposure, tmp_path, capsys):
    _refused(["score", "--truth", exposure["truth"], "--rate", "x", "--cat", "y", "-o", tmp_path], capsys,
             f"output file {tmp_path} is a folder, not a file")
    _refused(["gate", "--baseline", tmp_path, "--suite", "quick", "--update-baseline"], capsys,
             f"output file {tmp_path} is a folder, not a file")


@pytest.mark.parametrize("products", [[], ["--cat", "c.ecsv", "--x1d", "s_x1d.fits"]])
def test_score_needs_one_product_beside_the_rate(products, exposure, capsys):
    _refused(["score", "--truth", exposure["truth"], "--rate", "r.fits", *products], capsys,
             "--cat (an imager catalog, with --rate) or --x1d (an LRS or MRS spectrum; an MRS one with its cubes, "
             "--s3d)")


def test_an_imager_catalog_is_scored_with_its_rate(exposure, capsys):
    _refused(["score", "--truth", exposure["truth"], "--cat", "c.ecsv"], capsys,
             "score --cat (an imager catalog) needs the exposure's --rate")


def test_score_takes_cubes_with_an_x1d_only(exposure, capsys):
    _refused(["score", "--truth", exposure["truth"], "--rate", "r.fits", "--cat", "c.ecsv", "--s3d", "a_s3d.fits"],
             capsys, "score --s3d (an MRS exposure's cubes) goes with its --x1d")


def test_rate_that_is_not_a_rate_image(exposure, capsys):
    _refused(["score", "--truth", exposure["truth"], "--rate", exposure["uncal"], "--cat", "c.ecsv"], capsys,
             "good_uncal.fits: a RampModel, not a rate image")


def test_score_refuses_a_product_of_another_exposure(exposure, tmp_path, capsys):
    """The same scene and observation with another seed: only the OBSLABEL tells them apart."""
    obs = Observation(subarray="SUB64", ngroups=4)
    other = simulate(star_scene(obs, 1, n=1, margin=14), obs, tmp_path, name="good", seed=2,
                     references=ReferenceOptions(kind="perfect"))
    _refused(["score", "--truth", other["truth"], "--rate", exposure["uncal"], "--cat", "c.ecsv"], capsys,
             f"{exposure['uncal']} was not made from the exposure of truth file {other['truth']}: its OBSLABEL is "
             "'good seed 1 ", "the truth's OBSLABEL 'good seed 2 ")


def test_the_target_name_is_the_scenes(exposure, tmp_path):
    """TARGPROP names the scene: another seed keeps it, another scene does not (a set's check reads it)."""
    obs = Observation(subarray="SUB64", ngroups=4)
    reseeded = simulate(star_scene(obs, 1, n=1, margin=14), obs, tmp_path / "a", name="good", seed=2,
                        references=ReferenceOptions(kind="perfect"))
    other = simulate(star_scene(obs, 1, n=2, margin=14), obs, tmp_path / "b", name="good", seed=1,
                     references=ReferenceOptions(kind="perfect"))
    target = fits.getval(exposure["uncal"], "TARGPROP")
    assert target.startswith("scene ")
    assert fits.getval(reseeded["uncal"], "TARGPROP") == target != fits.getval(other["uncal"], "TARGPROP")


def test_score_into_a_closed_pipe_is_quiet(exposure, tmp_path):
    """``score | head``: no traceback, no 'Broken pipe' message."""
    assert main([str(a) for a in _calibrate(exposure, tmp_path)]) == 0
    command = [sys.executable, "-m", "miri_testbed.validation.cli", "score", "--truth", str(exposure["truth"]),
               "--rate", str(tmp_path / "good_rate.fits"), "--cat", str(tmp_path / "good_cat.ecsv")]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run.stdout.close()  # as head does after its line; here before the first, so the write surely meets it
    stderr = run.communicate(timeout=120)[1].decode()
    assert run.returncode in (0, 1) and "Traceback" not in stderr and "Broken pipe" not in stderr, stderr


@pytest.mark.parametrize("argv, phrase", [
    (["simulate", "--suite", "quick", "--seed", "-1", "-o", "out"], "argument --seed: must be an integer >= 0, got -1"),
    (["run", "--suite", "quick", "--workers", "0"], "argument --workers: must be an integer >= 1, got 0"),
    (["study", "-o", "out", "--seeds", "1", "-2"], "argument --seeds: must be an integer >= 0, got -2"),
])
def test_out_of_range_numbers_are_usage_errors(argv, phrase, tmp_path, capsys, monkeypatch):
    """argparse's own refusal (usage, then the error naming the option), exit 2, before any work."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert phrase in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def _suite_file(tmp_path, random_stars):
    suite = tmp_path / "s.toml"
    suite.write_text('[suite]\nseeds=[1]\n[[scenario]]\nname="a"\n[scenario.observation]\nsubarray="SUB64"\n'
                     f'ngroups=4\n[scenario.scene]\nrandom_stars={random_stars}\n')
    return suite


def test_random_stars_that_cannot_be_drawn(tmp_path, capsys):
    suite = _suite_file(tmp_path, "{n=3, flux_min_mjy=2.0, flux_max_mjy=1.0}")
    _refused(["simulate", "--suite", suite, "-o", tmp_path / "sim"], capsys,
             "scenario 'a'.scene.random_stars: need 0 < flux_min_mjy <= flux_max_mjy")
    suite = _suite_file(tmp_path, "{n=3, flux_min_mjy=1.0, flux_max_mjy=2.0, margin_pix=40}")
    _refused(["simulate", "--suite", suite, "-o", tmp_path / "sim"], capsys,
             "scenario 'a'.scene.random_stars: subarray SUB64 is too small for a 40-pixel margin")


def test_no_random_stars_is_an_empty_field(tmp_path, capsys):
    """``n = 0`` is a scene without stars, not an error."""
    suite = _suite_file(tmp_path, "{n=0, flux_min_mjy=1.0, flux_max_mjy=2.0}")
    assert main(["simulate", "--suite", str(suite), "-o", str(tmp_path / "sim")]) == 0
    assert (tmp_path / "sim" / "a" / "a_uncal.fits").is_file()


def test_simulate_takes_the_suite_files_seed_unless_given_one(tmp_path, capsys):
    suite = _suite_file(tmp_path, "{n=0, flux_min_mjy=1.0, flux_max_mjy=2.0}")
    suite.write_text(suite.read_text().replace("seeds=[1]", "seeds=[7, 8]"))
    for args, seed in (([], 7), (["--seed", "3"], 3)):
        assert main(["simulate", "--suite", str(suite), "-o", str(tmp_path / f"sim{seed}"), *args]) == 0
        assert f"a (seed {seed}):" in capsys.readouterr().out
        assert fits.getheader(tmp_path / f"sim{seed}" / "a" / "a_truth.fits")["SEED"] == seed


def _children(pid):
    """Live (not zombie) child processes of ``pid``, from /proc."""
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if int(ppid) == pid and state not in "ZX":
            kids.append(int(entry.name))
    return kids


def _alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_study_workers_die_with_their_parent(tmp_path):
    """SIGKILL a study mid-run: its pool workers must not wait forever for work."""
    suite = tmp_path / "tiny.toml"
    suite.write_text(tiny_suite_toml(range(1, 41)))  # minutes of cells: still running when killed
    study = subprocess.Popen([sys.executable, "-m", "miri_testbed.validation.cli", "study", "--suite", str(suite),
                              "-o", str(tmp_path / "study"), "--workers", "2", "--no-progress"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and study.poll() is None:
            time.sleep(0.2)
            workers = _children(study.pid)
        assert len(workers) == 2, "the study did not start its two workers"
        time.sleep(1.0)  # workers busy in their first cells
        study.send_signal(signal.SIGKILL)
        study.wait()
        deadline = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "workers outlived their SIGKILLed parent"
    finally:
        for pid in [w for w in workers if _alive(w)] + ([study.pid] if study.poll() is None else []):
            os.kill(pid, signal.SIGKILL)  # leave nothing behind whatever the outcome
