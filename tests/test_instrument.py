"""The documented clock rules reproduce the parameter reference's frame times."""
import pytest

from miri_testbed.instrument import readout

# (subarray, frameclocks) from params section 1a.
FRAME_CLOCKS = {"FULL": 277_504, "BRIGHTSKY": 86_528, "SUB256": 29_952, "SUB128": 11_904, "SUB64": 8_512,
                "SLITLESSPRISM": 15_904, "MASK1065": 23_968, "MASKLYOT": 32_400}


@pytest.mark.parametrize("name, clocks", FRAME_CLOCKS.items())
def test_frame_clock_rule_reproduces_table(name, clocks):
    assert readout.frame_clocks(name, "FASTR1") == clocks


def test_full_frame_times():
    assert readout.frame_time("FULL", "FASTR1") == pytest.approx(2.77504)
    assert readout.frame_time("FULL", "SLOWR1") == pytest.approx(23.88992)


def test_exposure_time_adds_one_reset_frame_between_integrations():
    tg = readout.group_time("SUB256", "FASTR1")
    assert readout.exposure_time("SUB256", "FASTR1", 10, 3) == pytest.approx(10 * tg * 3 + 2 * tg)


def test_reference_columns_only_where_the_subarray_touches_the_edges():
    assert readout.subarray("FULL").reference_columns() == [0, 1, 2, 3, 1028, 1029, 1030, 1031]
    assert readout.subarray("SUB128").reference_columns() == [0, 1, 2, 3]
    assert readout.subarray("SUB256").reference_columns() == []


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="unknown MIRI imager subarray 'SUB999'"):
        readout.subarray("SUB999")
    with pytest.raises(ValueError, match="SLOWR1 clocking is documented only for FULL"):
        readout.frame_time("SUB256", "SLOWR1")


@pytest.mark.parametrize("name", ["FULL", "SUB128", "SUB256", "BRIGHTSKY"])
def test_read_offsets_follow_the_row_and_output_clock(name):
    """y rowclocks + (x // 4) nsamples, and 3 clocks more only on the full frame's right
    reference columns (the 258th group of 4)."""
    sub = readout.subarray(name)
    rowclocks = readout.rowclocks(name, "SLOWR1" if name == "FULL" else "FASTR1")
    nsamples = 9 if name == "FULL" else 1
    clocks = readout.read_offset_clocks(sub.ysize, sub.xsize, rowclocks, nsamples, sub.xstart)
    late = [c for c in range(sub.xsize) if sub.xstart - 1 + c >= 1028]
    for x in (0, 5, sub.xsize - 1):
        expected = 7 * rowclocks + (x // 4) * nsamples + (3 if x in late else 0)
        assert clocks[7, x] == expected
    assert late == ([1028, 1029, 1030, 1031] if name == "FULL" else [])
