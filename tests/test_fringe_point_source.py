"""Point-source fringe flats: measured on a star where the science source lies, and the ``fringe`` variant that uses
them (simulator.mrs_fringecal, calibration.fringe.point_source)."""
import numpy as np
import pytest
from astropy.io import fits
from stdatamodels.jwst import datamodels as dm

from miri_testbed.calibration import CalibrationInputError, fringe
from miri_testbed.instrument import detector as det
from miri_testbed.instrument import refmeta
from miri_testbed.simulator import MrsEffects, fringes, mrs_fringecal
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator.references import PROVENANCE

EFFECTS = MrsEffects(geometry_perturbation=False, fringes=True)


def _star(bands, beta):
    """The star's noise-free electrons through each band's point-source etalon, and that etalon and the extended
    light's (full frames)."""
    electrons, point, extended = (np.zeros((det.FULL_NY, det.FULL_NX)) for _ in range(3))
    for name in bands:
        pixels = smrs.TruePixels(smrs.flight_pixels(name), smrs.draw_perturbation(name, EFFECTS, None))
        etalon = fringes.Etalon(pixels, EFFECTS)
        y, x = pixels.flight.y, pixels.flight.x
        point[y, x], extended[y, x] = etalon.point(beta), etalon.extended
        electrons[y, x] = smrs.render_source(pixels, mrs_fringecal.source(), 0.1, beta) * point[y, x]
    return electrons * mrs_fringecal.PEAK_ELECTRONS / electrons.max(), point, extended


@pytest.mark.parametrize("pair", [("1A", "2A"), ("3C", "4C")])
def test_a_flat_measured_on_a_star_holds_its_fringes_where_the_extended_flat_does_not(pair):
    """Noise-free, the star's flat against the etalon's point-source transmission over the star's core: its own
    error (the smooth image's B-spline against an undersampled PSF) is under 3/4 of what the point source's fringes
    differ from the extended light's in every band, weighted by the star's light as a spectrum weighs it (measured
    0.38 / 0.26 / 0.52 / 0.66 in 1A / 2A / 3C / 4C; 3C 0.87 before the smooth image carried the extended flat, whose
    dichroic fringe it bent to; what a spectrum keeps of either: the slow test in test_fringes.py)."""
    electrons, point, extended = _star(pair, 0.05)
    flat, error = mrs_fringecal.point_source_flat(electrons, [smrs.flight_pixels(n) for n in pair],
                                                  np.where(electrons > 0, extended, 1.0))
    for name in pair:
        pixels = smrs.flight_pixels(name)
        core = np.isfinite(flat[pixels.y, pixels.x])
        y, x = pixels.y[core], pixels.x[core]
        assert core.sum() > 20000 and np.all(error[y, x] > 0)
        own = np.sqrt(np.average((point[y, x] / flat[y, x] - 1) ** 2, weights=electrons[y, x]))
        mismatch = np.sqrt(np.average((point[y, x] / extended[y, x] - 1) ** 2, weights=electrons[y, x]))
        assert own < 0.75 * mismatch, name
    lit = electrons > 0
    assert np.all(np.isnan(flat[~lit]))
    # beyond the core (under MIN_SHARE of the row's brightest) the extended flat serves
    assert np.any(lit & ~np.isfinite(flat))


def test_the_smooth_image_is_the_star_whatever_extended_fringe_it_carries():
    """``smooth_image`` fits ``F * B`` to the data: a smooth star seen through an extended flat ``F`` (a 10 %,
    2.9 cm^-1 fringe) is recovered as well as the star seen through no fringe (rms 2e-4 of its peak, the B-spline's
    own), where a fit that does not carry ``F`` bends to the fringe (5e-3)."""
    rng = np.random.default_rng(4)
    alpha = rng.uniform(-1.0, 1.0, 4000)
    wavenumber = rng.uniform(600.0, 700.0, 4000)
    star = 1e6 * np.exp(-0.5 * (alpha / 0.6) ** 2) * (wavenumber / 650.0) ** 2
    fringe = 1 + 0.1 * np.cos(2 * np.pi * wavenumber / 2.9 + 3 * alpha)
    none = np.ones_like(fringe)

    def error(seen, carried):
        return np.std(mrs_fringecal.smooth_image(alpha, wavenumber, seen, carried, 0.0, 0.1) - star) / star.max()

    assert error(star, none) < 5e-4
    assert error(star * fringe, fringe) < 1.1 * error(star, none)
    assert error(star * fringe, none) > 10 * error(star, none)


def test_the_variant_takes_the_sky_through_the_extended_flat_and_the_source_through_its_own():
    """``r = S P + B F`` on a slice's core, the sky alone beyond it: ``(r - B F) / P + B`` gives back ``S + B``
    exactly, ``B`` the median of ``r / F`` beyond the core of the same slice row; beyond the core ``r / F``."""
    rng = np.random.default_rng(3)
    shape = (6, 10)
    flat = 1 + 0.1 * rng.standard_normal(shape)
    point = np.full(shape, np.nan)
    point[:, 3:6] = 1 + 0.1 * rng.standard_normal((6, 3))
    slices = np.full(shape, -1)
    slices[:, 1:9] = 7
    sky = np.linspace(2.0, 3.0, shape[0])[:, None] * np.ones(shape)
    source = np.zeros(shape)
    source[:, 3:6] = 50.0
    rate = np.where(np.isfinite(point), source * point, 0) + sky * flat
    out, var = fringe.point_source(rate, np.ones(shape), flat, point, slices)
    np.testing.assert_allclose(out[:, 1:9], (source + sky)[:, 1:9], rtol=1e-12)
    np.testing.assert_allclose(var[:, 3:6], 1 / point[:, 3:6] ** 2)
    np.testing.assert_allclose(out[:, [0, 9]], (rate / flat)[:, [0, 9]])  # off the slices: the extended flat
    # nothing to correct (P = F = 1) changes nothing
    ones = np.ones(shape)
    np.testing.assert_allclose(fringe.point_source(rate, ones, ones, np.where(np.isfinite(point), 1.0, np.nan),
                                                   slices)[0], rate, rtol=1e-14)
    # a value no fringe makes (a foreign file's garbage) is not taken: that pixel is divided by F alone
    point[2, 4] = 1e-4
    out = fringe.point_source(rate, np.ones(shape), flat, point, slices)[0]
    assert out[2, 4] == pytest.approx(rate[2, 4] / flat[2, 4], rel=1e-12)


def test_a_band_the_star_misses_keeps_no_flat():
    """Read noise alone where the star should be (a source beyond the band's field): nothing is kept, so the
    variant divides that band by the extended flat."""
    electrons = _star(("1A", "2A"), 0.05)[0]
    pixels = smrs.flight_pixels("1A")
    electrons[pixels.y, pixels.x] = np.random.default_rng(2).normal(0.0, 20.0, len(pixels.y))
    flat, _ = mrs_fringecal.point_source_flat(electrons, [smrs.flight_pixels(n) for n in ("1A", "2A")],
                                              np.ones(electrons.shape))
    assert np.all(np.isnan(flat[pixels.y, pixels.x]))
    other = smrs.flight_pixels("2A")
    assert np.isfinite(flat[other.y, other.x]).sum() > 10000


def _write(folder, position):
    model = dm.FringeModel(data=np.full((det.FULL_NY, det.FULL_NX), float(position), np.float32))
    refmeta.describe_model(model, "PSFRINGE", refmeta.Selection(detector="MIRIFUSHORT", band="SHORT"), PROVENANCE,
                           "test")
    path = folder / f"psfringe_pos{position}.fits"
    model.save(path)
    fits.setval(path, "PATT_NUM", value=position)
    return path


@pytest.mark.parametrize("position", [1, 2])
def test_each_dither_position_reads_its_own_flat_and_a_missing_one_is_named(tmp_path, position):
    for n in (1, 2):
        _write(tmp_path, n)
    exposure = dm.RampModel()
    exposure.meta.instrument.name, exposure.meta.instrument.detector = "MIRI", "MIRIFUSHORT"
    exposure.meta.instrument.band, exposure.meta.exposure.type = "SHORT", "MIR_MRS"
    exposure.meta.exposure.start_time = 60000.0
    exposure.meta.dither.position_number = position
    read = fringe.read_point_source_fringe(tmp_path, exposure, (det.FULL_NY, det.FULL_NX))
    assert read.filename == f"psfringe_pos{position}.fits" and np.all(read.flat == position)
    exposure.meta.dither.position_number = 3
    with pytest.raises(CalibrationInputError, match="PSFRINGE.*dither position 3.*every position"):
        fringe.read_point_source_fringe(tmp_path, exposure, (det.FULL_NY, det.FULL_NX))
    exposure.meta.dither.position_number = None
    with pytest.raises(CalibrationInputError, match="states no dither position"):
        fringe.read_point_source_fringe(tmp_path, exposure, (det.FULL_NY, det.FULL_NX))
