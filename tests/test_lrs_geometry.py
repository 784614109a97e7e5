"""The LRS flight wavelength tables: shipped, read as jwst reads them, interpolated exactly and invertibly."""
import dataclasses

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given
from hypothesis import strategies as st
from stdatamodels.jwst.datamodels import MiriLRSSpecwcsModel, SpecwcsModel

from miri_testbed.instrument import lrs, modes, readout

LRS_MODES = ["lrs_slit", "lrs_slitless"]


@pytest.mark.parametrize("mode", LRS_MODES)
def test_shipped_files_open_with_the_jwst_models_and_carry_their_licence(mode):
    path = lrs.flight_file(mode)
    assert (path.parent / "LICENSE-miricoord.md").read_text().startswith("BSD 3-Clause License")
    with SpecwcsModel(str(path)) as generic:
        assert generic.meta.exposure.type == modes.mode(mode).exp_type
        assert generic.meta.subarray.name == lrs.SUBARRAYS[mode]
        assert generic.meta.instrument.filter == lrs.DISPERSER
    with MiriLRSSpecwcsModel(str(path)) as model:
        assert len(model.wavetable) == len(lrs.flight_table(mode).wavelength_um)
        sub = readout.subarray(lrs.SUBARRAYS[mode])
        assert (model.meta.subarray.xstart, model.meta.subarray.ystart) == (sub.xstart, sub.ystart)
        assert (model.meta.subarray.xsize, model.meta.subarray.ysize) == (sub.xsize, sub.ysize)


def test_slitless_reference_point_is_siafs_slitlessprism_reference():
    # SIAF (pysiaf 0.29, PRDOPSSOC-075) MIRIM_SLITLESSPRISM XSciRef, YSciRef = 38.5, 301.0 (1-based, subarray):
    # an independent source for the point the SPECWCS gives in FULL-frame pixels (IMXSLTL, IMYSLTL).
    table = lrs.flight_table("lrs_slitless")
    assert (table.x_ref, table.y_ref) == (38.5 - 1, 301.0 - 1)


@pytest.mark.parametrize("mode", LRS_MODES)
def test_trace_lies_on_the_science_pixels_of_its_frame(mode):
    table = lrs.flight_table(mode)
    sub = readout.subarray(table.subarray)
    x, y = table.trace(np.linspace(*table.wavelength_range_um, 2001))
    reference = sub.reference_columns()
    science = np.setdiff1d(np.arange(sub.xsize), reference)
    assert science.min() <= x.min() and x.max() <= science.max()
    assert 0 <= y.min() and y.max() <= sub.ysize - 1


@pytest.mark.parametrize("mode", LRS_MODES)
def test_table_nodes_are_reproduced_exactly(mode):
    table = lrs.flight_table(mode)
    rows = table.y_ref + table.y_center
    np.testing.assert_allclose(table.wavelength_at_row(rows), table.wavelength_um, rtol=1e-13)
    x, y = table.trace(table.wavelength_um)
    np.testing.assert_allclose(y, rows, atol=1e-9)
    np.testing.assert_allclose(x, table.x_ref + table.x_center, atol=1e-9)


@pytest.mark.parametrize("mode", LRS_MODES)
@given(fraction=st.floats(0, 1))
def test_row_to_wavelength_to_row_round_trip(mode, fraction):
    table = lrs.flight_table(mode)
    lo, hi = table.row_range
    y = lo + fraction * (hi - lo)
    assert table.trace(table.wavelength_at_row(y))[1] == pytest.approx(y, abs=1e-9)


@pytest.mark.parametrize("mode", LRS_MODES)
@given(fraction=st.floats(0, 1))
def test_wavelength_to_row_to_wavelength_round_trip(mode, fraction):
    table = lrs.flight_table(mode)
    lo, hi = table.wavelength_range_um
    lam = lo + fraction * (hi - lo)
    assert table.wavelength_at_row(table.trace(lam)[1]) == pytest.approx(lam, abs=1e-12)


@pytest.mark.parametrize("mode", LRS_MODES)
def test_wavelength_falls_strictly_along_rows(mode):
    table = lrs.flight_table(mode)
    lam = table.wavelength_at_row(np.linspace(*table.row_range, 20001))
    assert np.all(np.diff(lam) < 0)
    assert np.all(table.dispersion(lam) < 0)


@pytest.mark.parametrize("mode", LRS_MODES)
@given(fraction=st.floats(0.001, 0.999))
def test_dispersion_is_the_derivative_of_wavelength_at_row(mode, fraction):
    table = lrs.flight_table(mode)
    lo, hi = table.wavelength_range_um
    lam = lo + fraction * (hi - lo)
    y, h = table.trace(lam)[1], 1e-4
    lo_row, hi_row = table.row_range
    y = min(max(y, lo_row + h), hi_row - h)
    finite = (table.wavelength_at_row(y + h) - table.wavelength_at_row(y - h)) / (2 * h)
    # Central differences of a C1 cubic: error <= h * (jump of the 2nd derivative), ~1e-7 um/px here.
    assert table.dispersion(table.wavelength_at_row(y)) == pytest.approx(finite, abs=1e-6)


@pytest.mark.parametrize("mode", LRS_MODES)
def test_dispersion_at_interior_nodes_lies_between_the_adjacent_row_slopes(mode):
    table = lrs.flight_table(mode)
    order = np.argsort(table.y_center)
    secants = np.diff(table.wavelength_um[order]) / np.diff(table.y_center[order])
    slopes = table.dispersion(table.wavelength_um[order][1:-1])
    low, high = np.minimum(secants[:-1], secants[1:]), np.maximum(secants[:-1], secants[1:])
    assert np.all((slopes >= low - 1e-12) & (slopes <= high + 1e-12))


# ../shared/reference/miri-crds/README.md, measured from the slitless file: |d lambda/d y| in um/px.
README_DISPERSION = {5.0: 0.083, 7.5: 0.035, 10.0: 0.022, 12.0: 0.017}


@pytest.mark.parametrize("wavelength, quoted", README_DISPERSION.items())
def test_slitless_dispersion_matches_the_reference_readme(wavelength, quoted):
    # The README quotes 3 decimals (+-0.0005), and the table defines a local slope only to within the
    # spread of the slopes of the row interval holding the wavelength and its two neighbours (any
    # interpolant through the nodes, and any finite difference, gives a value in about that range).
    table = lrs.flight_table("lrs_slitless")
    order = np.argsort(table.y_center)
    y, lam = table.y_center[order], table.wavelength_um[order]
    secants = np.abs(np.diff(lam) / np.diff(y))
    k = int(np.floor(table.trace(wavelength)[1] - table.y_ref - y[0]))
    near = secants[max(k - 1, 0):k + 2]
    tolerance = 0.0005 + (near.max() - near.min())
    assert abs(table.dispersion(wavelength)) == pytest.approx(quoted, abs=tolerance)


def test_slitless_trace_column_matches_the_reference_readme():
    # README: "slitless trace at x ~ 37.6 -> 37.0" (5 -> 12 um), quoted to 0.1 px.
    x, _ = lrs.flight_table("lrs_slitless").trace([5.0, 12.0])
    np.testing.assert_allclose(x, [37.6, 37.0], atol=0.05)


@pytest.mark.parametrize("mode", LRS_MODES)
def test_out_of_range_and_nan_are_refused_by_name(mode):
    table = lrs.flight_table(mode)
    lo, hi = table.wavelength_range_um
    for bad in (lo - 1e-6, hi + 1e-6, np.nan):
        with pytest.raises(ValueError, match="wavelength .* outside the lrs_.* table's range"):
            table.trace([7.0, bad])
        with pytest.raises(ValueError, match="wavelength .* outside"):
            table.dispersion(bad)
    rows = table.row_range
    for bad in (rows[0] - 1e-6, rows[1] + 1e-6, np.nan):
        with pytest.raises(ValueError, match="row .* outside"):
            table.wavelength_at_row(bad)


def test_modes_that_are_not_the_lrs_are_refused():
    with pytest.raises(ValueError, match="'imager' is not an LRS mode; LRS modes: lrs_slit, lrs_slitless"):
        lrs.flight_table("imager")
    with pytest.raises(ValueError, match="unknown observing mode 'prism'"):
        lrs.flight_file("prism")


def test_a_specwcs_without_the_slitless_reference_point_is_refused(tmp_path):
    path = tmp_path / "specwcs.fits"
    with fits.open(lrs.flight_file("lrs_slitless")) as hdul:
        del hdul[0].header["IMXSLTL"]
        hdul.writeto(path)
    assert lrs.read_table(path, "lrs_slit").x_ref == lrs.flight_table("lrs_slit").x_ref
    with pytest.raises(ValueError, match="no IMXSLTL"):
        lrs.read_table(path, "lrs_slitless")


def test_tables_are_immutable_and_validated():
    table = lrs.flight_table("lrs_slit")
    with pytest.raises(ValueError):
        table.wavelength_um[0] = 1.0
    folded = table.wavelength_um.copy()
    folded[10] = folded[12]
    with pytest.raises(ValueError, match="WAVELENGTH is not strictly monotone"):
        dataclasses.replace(table, wavelength_um=folded)
    with pytest.raises(ValueError, match="x_center: needs 388 finite values"):
        dataclasses.replace(table, x_center=table.x_center[:-1])
