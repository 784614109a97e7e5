"""The LRS simulator (simulator.lrs): the rendered light against its own model."""
import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st

from miri_testbed.instrument import imager
from miri_testbed.instrument import lrs as lrs_facts
from miri_testbed.simulator import Effects, ReferenceOptions, lrs, psf, simulate, spectra
from miri_testbed.simulator.config import LrsEffects, LrsObservation, Scene, SpectralSource

SLITLESS = (416, 72)
FAINT = {"kind": "flat", "flux_mjy": 1e-12}


def _line(centre, fwhm=0.0):
    return spectra.spectrum_from_dict({"continuum": FAINT, "lines": [
        {"kind": "emission", "centre_um": centre, "flux_w_m2": 1e-16, "fwhm_um": fwhm}]})


def _centroid(image, axis, around, half=25):
    profile = image.sum(axis=axis)
    pos = np.arange(profile.size)
    window = np.abs(pos - around) <= half
    return (profile[window] * pos[window]).sum() / profile[window].sum()


@pytest.mark.slow
@settings(max_examples=10, deadline=None)
@given(centre=st.floats(5.6, 12.5), seed=st.integers(0, 1000))
def test_an_unresolved_line_lands_on_the_true_trace(centre, seed):
    """Noise-free, no slit: a line's light is centred on the (perturbed) true trace at its
    wavelength, to 0.02 px in y (the dispersion: ~0.4-1.7 nm), whatever the perturbation."""
    table = lrs.true_table("lrs_slitless", LrsEffects(trace_wavelength_nm=5.0), np.random.default_rng(seed))
    image = lrs.render_source(table, _line(centre), SLITLESS)
    _, y = table.trace(centre)
    assert _centroid(image, 1, y, half=int(min(25, y - 1, SLITLESS[0] - 2 - y))) == pytest.approx(y, abs=0.02)


def test_a_source_keeps_its_light_on_a_frame_that_holds_its_psf():
    """FULL frame, no slit: the image holds every photon of 5-14 um times the area, the
    efficiency and the PSF stamp's share of the light (a Riemann sum on 0.5 nm bins)."""
    spectrum = spectra.spectrum_from_dict({"continuum": {"kind": "blackbody", "temperature_k": 800.0,
                                                         "flux_mjy": 5.0, "ref_um": 7.5},
                                           "lines": [{"kind": "emission", "centre_um": 8.0, "flux_w_m2": 3e-17}]})
    table = lrs_facts.flight_table("lrs_slit")
    image = lrs.render_source(table, spectrum, (1024, 1032))
    edges = np.arange(5.0, 14.0 + 1e-9, 5e-4)
    mid = 0.5 * (edges[:-1] + edges[1:])
    share = np.array([psf.monochromatic(w).sum() for w in mid[::50]])
    expected = np.sum(spectrum.photons_in_bins(edges) * lrs.system_efficiency(mid) * np.repeat(share, 50)[:mid.size])
    assert image.sum() == pytest.approx(expected * imager.COLLECTING_AREA_M2, rel=2e-3)


def test_the_slit_loses_more_light_off_centre_and_at_long_wavelengths():
    """The slit passes less of a source offset across it, and less at 12 um than at 6 um
    (the PSF is wider); never more than the source's light."""
    table = lrs_facts.flight_table("lrs_slit")
    shape = (1024, 1032)

    def passed(centre, across):
        full = lrs.render_source(table, _line(centre), shape).sum()
        cut = lrs.render_source(table, _line(centre), shape, dy=across / imager.PIXEL_SCALE_Y_ARCSEC,
                                mask=lrs.slit_mask(0.0, across)).sum()
        return cut / full

    centred6, centred12, off6 = passed(6.0, 0.0), passed(12.0, 0.0), passed(6.0, 0.15)
    assert 0 < centred12 < centred6 <= 1
    assert off6 < centred6


def test_trace_perturbation_off_is_the_flight_table():
    table = lrs.true_table("lrs_slitless", LrsEffects(trace_perturbation=False), np.random.default_rng(0))
    flight = lrs_facts.flight_table("lrs_slitless")
    np.testing.assert_array_equal(table.wavelength_um, flight.wavelength_um)
    perturbed = lrs.true_table("lrs_slitless", LrsEffects(trace_wavelength_nm=3.0), np.random.default_rng(0))
    shift = (perturbed.wavelength_um - flight.wavelength_um) * 1e3
    assert np.sqrt(np.mean(shift**2)) == pytest.approx(3.0, rel=1e-9)


def test_slitless_sky_is_a_uniform_pedestal_of_the_whole_band():
    table = lrs_facts.flight_table("lrs_slitless")
    image = lrs.render_background(table, "lrs_slitless", SLITLESS, 10.0)
    sky = spectra.SourceSpectrum(spectra.PowerLaw(flux_mjy=10.0 * 1e9 * imager.pixel_solid_angle_sr(), ref_um=7.5,
                                                  index=0.0))
    edges = np.linspace(5.0, min(14.0, table.wavelength_range_um[1]), 36001)  # the slitless table stops at 13.99
    expected = np.sum(sky.photons_in_bins(edges) * lrs.system_efficiency(0.5 * (edges[1:] + edges[:-1])))
    assert np.all(image == image[0, 0])
    assert image[0, 0] == pytest.approx(expected * imager.COLLECTING_AREA_M2, rel=1e-4)


def test_a_nodded_slit_exposure_carries_its_other_nod_and_the_true_trace(tmp_path):
    """simulate() of nod A: the association holds nod B as its background, the source
    1.816" further along the slit (16.4 px); perfect references carry the true trace as a
    SPECWCS that instrument.lrs reads back node for node."""
    spec = {"continuum": {"kind": "flat", "flux_mjy": 20.0}}
    out = simulate(Scene((SpectralSource(spec),)), LrsObservation(mode="lrs_slit", ngroups=3, nod="A"), tmp_path,
                   name="e", seed=4, effects=Effects.noise_free(), references=ReferenceOptions(kind="perfect"))
    assert [role for role, _ in out["members"]] == ["science", "background"]
    with fits.open(out["truth"]) as truth:
        trace = truth["TRACE"].data
        sources = truth["SOURCES"].data
    table = lrs_facts.read_table(out["reference_files"]["SPECWCS"], "lrs_slit")
    np.testing.assert_allclose(np.sort(table.wavelength_um), np.sort(trace["wavelength_um"]), rtol=1e-12)
    assert sources["along_slit_arcsec"][0] == pytest.approx(lrs_facts.NOD_OFFSETS_ARCSEC["A"])

    def column(path, nod):  # the core's centroid (the slit's ends cut the two nods' wings differently)
        with fits.open(path) as hdul:
            image = hdul["SCI"].data[0, -1].astype(float) - hdul["SCI"].data[0, 0]
        return _centroid(image, 0, table.x_ref + lrs_facts.NOD_OFFSETS_ARCSEC[nod] / imager.PIXEL_SCALE_X_ARCSEC,
                         half=3)

    step = (lrs_facts.NOD_OFFSETS_ARCSEC["B"] - lrs_facts.NOD_OFFSETS_ARCSEC["A"]) / imager.PIXEL_SCALE_X_ARCSEC
    assert column(out["background"], "B") - column(out["uncal"], "A") == pytest.approx(step, abs=0.1)
