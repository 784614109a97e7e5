"""A suite run gives the step shell's warnings once, counted, after the progress bar, not
inside it (the cruciform skip in F1500W broke into the bar of every run)."""
import logging
from collections import Counter

from miri_testbed.calibration import steps
from miri_testbed.validation.runner import _step_notes, forget_folder, print_notes


def test_step_warnings_are_held_back_and_collected(capsys):
    logger = logging.getLogger(steps.__name__)
    with _step_notes() as notes:
        logger.warning("cruciform=subtract: SKIPPED (reference: no cross in F1500W)")
        logger.info("dark=subtract: COMPLETE")
    assert notes == ["cruciform=subtract: SKIPPED (reference: no cross in F1500W)"]
    assert capsys.readouterr().err == ""
    assert logger.propagate and not any(type(h).__name__ == "_Notes" for h in logger.handlers)


def test_notes_printed_once_with_their_cell_count(capsys):
    print_notes(Counter({"a: SKIPPED (x)": 3, "b: SKIPPED (y)": 1}))
    heading, *lines = capsys.readouterr().err.splitlines()
    assert heading.startswith("steps skipped for want of a reference")
    assert lines == ["a: SKIPPED (x) [3 cells]", "b: SKIPPED (y) [1 cell]"]
    print_notes(Counter())
    assert capsys.readouterr().err == ""  # no heading over nothing


def test_notes_that_differ_only_by_their_deleted_cell_folder_are_one_note():
    notes = [f"fringe=reference: SKIPPED (reference: no FRINGE reference in /tmp/miri-testbed-ab1/{name}/refs for "
             f"MIR_MRS MIRIFUSHORT SHORT)" for name in ("point_1a", "extended_1a")]
    assert set(forget_folder(notes, "/tmp/miri-testbed-ab1")) == {
        "fringe=reference: SKIPPED (reference: no FRINGE reference in <the cell's folder> for MIR_MRS MIRIFUSHORT "
        "SHORT)"}
