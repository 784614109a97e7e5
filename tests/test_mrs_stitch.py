"""Stitching MRS bands (calibration.mrs_stitch): one spectrum, every plane an input plane, overlap ratios honest."""
import itertools
import re
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError, mrs_stitch
from miri_testbed.instrument import mrs
from miri_testbed.validation.cli import main

from helpers import history_of

RANGES = mrs.wavelength_ranges()
#: The cubes' plane step is about half a resolution element (R ~ 1500-4000 over the bands).
STEP_PER_UM = 1 / 6000
SPEC_DTYPE = dm.SpecModel().get_dtype("spec_table")


def band_table(band, flux_jy=0.05, scale=1.0, noise=0.0, rng=None):
    """A band's spec_table (the cubes' sampling over its WAVELENGTHRANGE): flat ``flux_jy`` x ``scale`` + noise."""
    lo, hi = RANGES[band]
    wl = np.arange(lo, hi, STEP_PER_UM * lo)
    table = np.zeros(wl.size, dtype=SPEC_DTYPE)
    table["WAVELENGTH"], table["FLUX_ERROR"], table["NPIXELS"] = wl, max(noise, 1e-6) * flux_jy, 20.0
    table["FLUX"] = flux_jy * scale + (rng.normal(0, noise * flux_jy, wl.size) if noise else 0.0)
    return table


@cache
def band_spectrum(band, scale=1.0, unit="Jy"):
    spec = dm.SpecModel(spec_table=band_table(band, scale=scale))
    for name in ("flux", "flux_error", "background"):
        spec.spec_table.columns[name].unit = unit
    spec.spec_table.columns["wavelength"].unit = "um"
    spec.name, spec.source_id, spec.source_type = band, 0, "POINT"
    return spec


def x1d(*specs):
    model = dm.MultiSpecModel()
    model.meta.instrument.name = "MIRI"
    for spec in specs:
        model.spec.append(spec)
    return model


def settings_products(bands, **kwargs):
    """One x1d per grating setting, each with its bands of both channels, as calibrate writes them."""
    by_setting = {}
    for band in bands:
        by_setting.setdefault(band[1], []).append(band_spectrum(band, **kwargs.get(band, {})))
    return [x1d(*specs) for specs in by_setting.values()]


def test_a_flat_source_stitches_into_one_flat_spectrum_with_unit_overlap_ratios():
    bands = [f"{c}{s}" for c in "12" for s in "ABC"]
    product, overlaps = mrs_stitch.stitch(settings_products(bands))
    (spec,) = product.spec
    wl, flux = np.asarray(spec.spec_table["WAVELENGTH"]), np.asarray(spec.spec_table["FLUX"])
    assert spec.name == "1A-2C"
    assert np.all(np.diff(wl) > 0)
    assert wl[0] == pytest.approx(RANGES["1A"][0]) and wl[-1] > RANGES["2C"][1] - 2 * STEP_PER_UM * wl[-1]
    np.testing.assert_allclose(flux, 0.05)
    assert [(o.lower, o.upper) for o in overlaps] == list(itertools.pairwise(bands))
    for o in overlaps:
        assert o.lo_um < o.split_um < o.hi_um
        assert o.ratio == pytest.approx(1.0, abs=1e-9)


def test_a_mis_scaled_band_shows_in_both_its_overlaps_and_is_not_rescaled():
    bands = ["1A", "1B", "1C"]
    product, overlaps = mrs_stitch.stitch(settings_products(bands, **{"1B": {"scale": 1.02}}))
    assert overlaps[0].ratio == pytest.approx(1.02, rel=1e-9)
    assert overlaps[1].ratio == pytest.approx(1 / 1.02, rel=1e-9)
    table = product.spec[0].spec_table
    inside_1b = (table["WAVELENGTH"] >= overlaps[0].split_um) & (table["WAVELENGTH"] < overlaps[1].split_um)
    np.testing.assert_allclose(table["FLUX"][inside_1b], 0.05 * 1.02)


def test_the_overlap_ratio_error_is_its_scatter():
    """Over many noisy draws, (ratio - 1) / ratio_err has unit spread: the error is not made up."""
    rng = np.random.default_rng(5)
    pulls = []
    for _ in range(1000):
        o = mrs_stitch.overlap("2A", "2B", {b: band_table(b, noise=0.01, rng=rng) for b in ("2A", "2B")})
        pulls.append((o.ratio - 1) / o.ratio_err)
    assert abs(np.mean(pulls)) < 0.1
    assert 0.93 < np.std(pulls) < 1.07


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(mrs.BANDS), min_size=2, max_size=12, unique=True))
def test_every_stitched_plane_is_one_input_plane_in_wavelength_order(bands):
    products = settings_products(bands)
    product, overlaps = mrs_stitch.stitch(products)
    present = [b for b in mrs.BANDS if b in bands]
    assert [(o.lower, o.upper) for o in overlaps] == list(itertools.pairwise(present))  # each junction, gap or not
    table = product.spec[0].spec_table
    wl = np.asarray(table["WAVELENGTH"])
    assert np.all(np.diff(wl) > 0)
    inputs = np.concatenate([np.asarray(s.spec_table["WAVELENGTH"]) for p in products for s in p.spec])
    assert np.isin(wl, inputs).all()
    # only overlaps are trimmed: the planes dropped all lie inside an overlap
    dropped = np.setdiff1d(inputs, wl)
    inside = np.zeros(dropped.size, bool)
    for o in overlaps:
        inside |= (dropped >= o.lo_um) & (dropped <= o.hi_um)
    assert inside.all()


@pytest.mark.parametrize("products, message", [
    (lambda: [x1d(band_spectrum("1A"))], "nothing to stitch: 1 band(s) (1A)"),
    (lambda: [x1d(band_spectrum("1A")), x1d(band_spectrum("1A"), band_spectrum("2A"))],
     "band 1A is in two x1d products (x1d 1, x1d 2)"),
    (lambda: [x1d(band_spectrum("1A")), x1d(band_spectrum("1B", unit="DN/s/um"))],
     "different units (1A Jy, 1B DN/s/um)"),
])
def test_what_cannot_be_stitched_is_refused_by_name(products, message):
    with pytest.raises(CalibrationInputError, match=re.escape(message)):
        mrs_stitch.stitch(products())


def test_a_spectrum_not_named_by_a_band_is_refused():
    other = dm.SpecModel(spec_table=band_table("1B"))
    other.name = "SLIT"
    with pytest.raises(CalibrationInputError, match="its spectrum SLIT is not an MRS band"):
        mrs_stitch.stitch([x1d(band_spectrum("1A")), x1d(other)])


def test_a_stitched_product_is_refused_as_already_stitched():
    stitched, _ = mrs_stitch.stitch(settings_products(["1A", "1B"]))
    with pytest.raises(CalibrationInputError, match="x1d 2 is already a stitched spectrum \\(bands 1A-1B\\)"):
        mrs_stitch.stitch([x1d(band_spectrum("2A")), stitched])


def test_the_command_writes_the_stitched_product_and_refuses_a_file_that_is_not_an_x1d(tmp_path, capsys):
    paths = []
    for k, product in enumerate(settings_products(["1A", "1B", "2A", "2B"])):
        paths.append(tmp_path / f"set{k}_x1d.fits")
        product.save(paths[-1])
    out = tmp_path / "stitched_x1d.fits"
    assert main(["stitch", *map(str, paths), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "1A/1B: overlap" in captured.out and "2A/2B: overlap" in captured.out
    assert "1B/2A: no overlap (a band between them is missing)" in captured.out
    assert "warning: the stitched spectrum has no data from" in captured.err and "(between 1B and 2A)" in captured.err
    with dm.MultiSpecModel(str(out)) as model:
        assert [str(s.name) for s in model.spec] == ["1A-2B"]
        assert (model.meta.instrument.channel, model.meta.instrument.band) == ("12", "MULTIPLE")
        history = " ".join(history_of(model))
        assert "mrs_stitch: 1A/1B: overlap" in history and "(not applied)" in history
        assert "mrs_stitch: 1B/2A: no overlap" in history
    assert main(["stitch", str(paths[0]), str(tmp_path), "-o", str(out)]) == 2
    assert "is a folder, not a FITS file" in capsys.readouterr().err
    cut = tmp_path / "cut_x1d.fits"  # cut inside its second band's table: it must not read as a one-band x1d
    cut.write_bytes(paths[0].read_bytes()[:paths[0].stat().st_size * 3 // 4])
    assert main(["stitch", str(paths[1]), str(cut), "-o", str(out)]) == 2
    assert "cut_x1d.fits: not a readable FITS file, truncated or corrupt" in capsys.readouterr().err
    (tmp_path / "notes_x1d.fits").write_text("not fits")
    assert main(["stitch", str(paths[0]), str(tmp_path / "notes_x1d.fits"), "-o", str(out)]) == 2
    assert "notes_x1d.fits: not a readable FITS file" in capsys.readouterr().err
