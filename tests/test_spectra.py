"""Source spectra (simulator.spectra): bin integrals, limits, units, the dict form and its errors.

Expected values come from astropy (units, constants, BlackBody) and scipy quadrature, not
from the module's own constants.
"""
import json

import numpy as np
import pytest
from astropy import constants as const
from astropy import units as u
from astropy.modeling.physical_models import BlackBody
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.integrate import quad

from miri_testbed.simulator.spectra import (
    AbsorptionLine,
    Blackbody,
    EmissionLine,
    PowerLaw,
    SourceSpectrum,
    SpectrumError,
    mjy_from_photon_flux,
    photon_flux_from_mjy,
    spectrum_from_dict,
)

PHOTON_FLUX = u.ph / (u.s * u.m**2 * u.um)
LO_UM, HI_UM = 3.5, 14.5  # the LRS range and a margin
#: h c / k in um K, from astropy, for x = h c / (lambda k T).
HC_K = (const.h * const.c / const.k_B).to_value(u.um * u.K)

fluxes = st.floats(0.01, 1e3)
refs = st.floats(4.0, 14.0)
continua = st.one_of(
    st.builds(Blackbody, temperature_k=st.floats(np.log(30.0), np.log(1e5)).map(np.exp), flux_mjy=fluxes,
              ref_um=refs),
    st.builds(PowerLaw, flux_mjy=fluxes, ref_um=refs, index=st.floats(-4.0, 4.0)),
)
centres = st.floats(4.0, 14.0)
emission = st.builds(EmissionLine, centre_um=centres, flux_w_m2=st.floats(1e-19, 1e-15),
                     fwhm_um=st.one_of(st.just(0.0), st.floats(0.01, 0.9)))
absorption = st.builds(AbsorptionLine, centre_um=centres, tau=st.floats(1e-3, 10.0), fwhm_um=st.floats(0.01, 0.9))
spectra = st.builds(SourceSpectrum, continua, st.lists(st.one_of(emission, absorption), max_size=4).map(tuple))
edges_lists = st.lists(st.floats(LO_UM, HI_UM), min_size=2, max_size=30, unique=True).map(sorted)


def _resolved(spectrum):
    """The spectrum without its unresolved lines (deltas have no density)."""
    return SourceSpectrum(spectrum.continuum, tuple(
        line for line in spectrum.lines if not (isinstance(line, EmissionLine) and line.fwhm_um == 0)))


def _scale(spectrum):
    """Photons s^-1 m^-2 of the whole spectrum over the range: the size rounding errors are relative to."""
    return spectrum.continuum.photons_in_bins([LO_UM, HI_UM])[0] + sum(
        line.photons for line in spectrum.emission)


# --- units -------------------------------------------------------------------------------------

@given(flux=st.floats(1e-6, 1e6), wavelength=st.floats(0.5, 30.0))
def test_mjy_to_photon_flux_matches_astropy(flux, wavelength):
    expected = (flux * u.mJy).to_value(PHOTON_FLUX, equivalencies=u.spectral_density(wavelength * u.um))
    assert photon_flux_from_mjy(flux, wavelength) == pytest.approx(expected, rel=1e-13)
    assert mjy_from_photon_flux(expected, wavelength) == pytest.approx(flux, rel=1e-13)


@given(continuum=continua, wavelength=st.floats(LO_UM, HI_UM))
def test_continuum_density_in_both_units(continuum, wavelength):
    """F_nu is the stated law at ref_um's flux; its photon flux is astropy's conversion of it."""
    spectrum = SourceSpectrum(continuum)
    if isinstance(continuum, PowerLaw):
        fnu = continuum.flux_mjy * (wavelength / continuum.ref_um) ** continuum.index
    else:
        bb = BlackBody(temperature=continuum.temperature_k * u.K)
        fnu = continuum.flux_mjy * float(bb(wavelength * u.um) / bb(continuum.ref_um * u.um))
    assert spectrum.flux_density_mjy(wavelength) == pytest.approx(fnu, rel=1e-12)
    assert spectrum.flux_density_mjy(continuum.ref_um) == pytest.approx(continuum.flux_mjy, rel=1e-13)
    expected = (fnu * u.mJy).to_value(PHOTON_FLUX, equivalencies=u.spectral_density(wavelength * u.um))
    assert spectrum.photon_flux(wavelength) == pytest.approx(expected, rel=1e-12)


@given(line=emission.filter(lambda line: line.fwhm_um > 0), z=st.floats(-4.0, 4.0))
def test_emission_line_density_is_its_gaussian_f_lambda(line, z):
    """A resolved line's photon density is astropy's conversion of F_lambda = F g(lambda)."""
    sigma = line.fwhm_um / (2 * np.sqrt(2 * np.log(2)))
    wavelength = line.centre_um + z * sigma
    f_lambda = line.flux_w_m2 * np.exp(-z**2 / 2) / (sigma * np.sqrt(2 * np.pi)) * u.W / u.m**2 / u.um
    expected = f_lambda.to_value(PHOTON_FLUX, equivalencies=u.spectral_density(wavelength * u.um))
    spectrum = SourceSpectrum(PowerLaw(0.0, 10.0, 0.0), (line,))
    assert spectrum.photon_flux(wavelength) == pytest.approx(expected, rel=1e-12)
    f_nu = f_lambda.to_value(u.mJy, equivalencies=u.spectral_density(wavelength * u.um))
    assert spectrum.flux_density_mjy(wavelength) == pytest.approx(f_nu, rel=1e-12)


# --- bin integrals -----------------------------------------------------------------------------

@given(spectrum=spectra, edges=edges_lists, where=st.floats(0.0, 1.0), which=st.integers(0, 100))
def test_bin_integrals_are_additive(spectrum, edges, where, which):
    """Splitting a bin splits its photons; the bins of a range sum to the range's one bin."""
    edges = np.asarray(edges)
    k = which % (edges.size - 1)
    cut = edges[k] + where * (edges[k + 1] - edges[k])
    if not edges[k] < cut < edges[k + 1]:
        cut = (edges[k] + edges[k + 1]) / 2
    assume(edges[k] < cut < edges[k + 1])  # no double lies between adjacent doubles
    whole = spectrum.photons_in_bins(edges)
    split = spectrum.photons_in_bins(np.insert(edges, k + 1, cut))
    atol = 1e-11 * _scale(spectrum)  # rounding of differences of primitives and of the quadrature pieces
    np.testing.assert_allclose(split[k] + split[k + 1], whole[k], rtol=1e-10, atol=atol)
    np.testing.assert_allclose(np.delete(split, k + 1)[np.arange(whole.size) != k], whole[np.arange(whole.size) != k],
                               rtol=1e-10, atol=atol)
    assert whole.sum() == pytest.approx(spectrum.photons_in_bins(edges[[0, -1]])[0], rel=1e-10, abs=atol)
    assert np.all(whole >= 0)


@given(spectrum=spectra.map(_resolved), wavelength=st.floats(LO_UM + 0.01, HI_UM - 0.01))
def test_narrow_bins_converge_to_density_times_width(spectrum, wavelength):
    """photons([l1, l2]) / (l2 - l1) -> N((l1 + l2) / 2).

    Width 1e-6 of the smallest scale (a line's sigma; lambda / (1 + x) for a blackbody,
    whose log-curvature is ~(x / lambda)^2): the midpoint rule's relative error is
    (w / scale)^2 |f'' / f| scale^2 / 24 ~ 1e-12 x (z^2 + tau0^2 z^2 ...) < 1e-10.  A
    difference of primitives would lose ~1e-16 lambda / w, up to 1e-6 here.
    """
    scales = [line.fwhm_um / 2.3548 for line in spectrum.lines]
    if isinstance(spectrum.continuum, Blackbody):
        scales.append(wavelength / (1 + HC_K / (wavelength * spectrum.continuum.temperature_k)))
    width = 1e-6 * min(scales + [wavelength])
    lo, hi = wavelength - width / 2, wavelength + width / 2
    photons = spectrum.photons_in_bins([lo, hi])[0]
    assert photons / (hi - lo) == pytest.approx(spectrum.photon_flux((lo + hi) / 2), rel=1e-9)


@given(spectrum=spectra, edges=st.lists(st.floats(LO_UM, HI_UM), min_size=2, max_size=4, unique=True).map(sorted))
def test_bins_agree_with_scipy_quadrature(spectrum, edges):
    """Exact bins against adaptive quadrature of the density (deltas added at their centres).

    The quadrature runs separately between breaks every FWHM across +/- 5 FWHM of each line:
    over a whole bin, quad can step over a narrow line at a bin's edge (seen: 1.4e-4 missed
    by a 0.01 um line at the upper edge, with an error estimate of 4e-13).
    """
    resolved = _resolved(spectrum)
    for a, b, got in zip(edges[:-1], edges[1:], spectrum.photons_in_bins(edges), strict=True):
        breaks = [line.centre_um + k * line.fwhm_um for line in resolved.lines for k in range(-5, 6)]
        breaks = np.unique([a, b, *(x for x in breaks if a < x < b)])
        expected = sum(quad(resolved.photon_flux, x1, x2, epsabs=0, epsrel=1e-12, limit=200)[0]
                       for x1, x2 in zip(breaks[:-1], breaks[1:], strict=True))
        expected += sum(line.photons for line in spectrum.emission if line.fwhm_um == 0 and a <= line.centre_um < b)
        continuum = spectrum.continuum.photons_in_bins([a, b])[0]
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-11 * continuum)


@given(line=emission, lo=st.floats(9.0, 9.4), hi=st.floats(9.0, 12.0), n=st.integers(1, 40))
def test_line_photons_equal_its_flux(line, lo, hi, n):
    """Over bins covering the line, its photons are flux x lambda_c / (h c); its energy is its flux.

    The bins start 9-9.4 sigma below the centre (Phi(-9) = 1e-19; the widest lines allowed
    reach zero wavelength at 9.4 sigma).
    """
    spectrum = SourceSpectrum(PowerLaw(0.0, 10.0, 0.0), (line,))
    sigma = line.fwhm_um / 2.3548
    edges = np.linspace(line.centre_um - lo * sigma - 1e-3, line.centre_um + hi * sigma + 1e-3, n + 1)
    photon_energy = const.h * const.c / (line.centre_um * u.um)
    expected = (line.flux_w_m2 * u.W / u.m**2 / photon_energy).to_value(1 / (u.s * u.m**2))
    assert spectrum.photons_in_bins(edges).sum() == pytest.approx(expected, rel=1e-12)
    if line.fwhm_um > 0:
        def energy(lam):  # W m^-2 um^-1
            return (spectrum.photon_flux(lam) * PHOTON_FLUX).to_value(
                u.W / u.m**2 / u.um, equivalencies=u.spectral_density(lam * u.um))
        assert quad(energy, edges[0], edges[-1], epsabs=0, epsrel=1e-12, points=[line.centre_um])[0] == pytest.approx(
            line.flux_w_m2, rel=1e-9)


@pytest.mark.parametrize("centre", [7.0, 7.25, 7.5])
def test_unresolved_line_falls_in_the_bin_holding_its_centre(centre):
    """Half-open bins: a centre on an edge belongs to the bin above it."""
    line = EmissionLine(centre, 1e-17)
    photons = SourceSpectrum(PowerLaw(0.0, 10.0, 0.0), (line,)).photons_in_bins([6.75, 7.0, 7.25, 7.5, 7.75])
    assert photons[int((centre - 6.75) / 0.25)] == line.photons and np.count_nonzero(photons) == 1
    assert SourceSpectrum(PowerLaw(1.0, 10.0, 0.0), (line,)).flux_density_mjy(centre) == pytest.approx(1.0)


# --- blackbody limits --------------------------------------------------------------------------

def _photons_per_mjy_um():
    """K of N = K F_nu[mJy] / lambda[um], from astropy."""
    return (u.mJy / (const.h * u.um)).to_value(1 / (u.s * u.m**2 * u.um))


@given(temperature=st.floats(1e5, 1e7), ref=refs, lo=st.floats(LO_UM, HI_UM), hi=st.floats(LO_UM, HI_UM))
def test_blackbody_rayleigh_jeans_limit(temperature, ref, lo, hi):
    """x << 1: F_nu -> lambda^-2 (a power law of index -2), to first order in x (B_nu ~ RJ (1 - x / 2))."""
    lo, hi = min(lo, hi), max(lo, hi) + 1e-3
    x_max = HC_K / (min(lo, ref) * temperature)
    bb, rj = Blackbody(temperature, 1.0, ref), PowerLaw(1.0, ref, -2.0)
    assert bb.photons_in_bins([lo, hi])[0] == pytest.approx(rj.photons_in_bins([lo, hi])[0], rel=x_max)
    assert bb.photon_flux(lo) == pytest.approx(rj.photon_flux(lo), rel=x_max)


@given(temperature=st.floats(30.0, 150.0), ref=refs, lo=st.floats(LO_UM, HI_UM), hi=st.floats(LO_UM, HI_UM))
def test_blackbody_wien_limit(temperature, ref, lo, hi):
    """x >> 1: B_nu -> x^3 e^-x, whose photon integral is [-(x^2 + 2x + 2) e^-x], to e^-x_min relative."""
    lo, hi = min(lo, hi), max(lo, hi) + 1e-3
    x_lo, x_hi, x_ref = (HC_K / (lam * temperature) for lam in (lo, hi, ref))
    bb = Blackbody(temperature, 1.0, ref)

    def primitive(x):  # -(x^2 + 2x + 2) e^(x_ref - x), scaled by e^x_ref
        return -(x**2 + 2 * x + 2) * np.exp(x_ref - x)
    wien = _photons_per_mjy_um() / x_ref**3 * (primitive(x_lo) - primitive(x_hi))
    # the Wien form's error, and the rounding of this difference of primitives (~1e-16 x / dx)
    tolerance = 2 * np.exp(-min(x_hi, x_ref)) + 1e-14 * x_lo / (x_lo - x_hi)
    assert bb.photons_in_bins([lo, hi])[0] == pytest.approx(wien, rel=tolerance)


@pytest.mark.parametrize("temperature", [700.0, 1500.0, 3000.0, 1e4, 1e5])
def test_blackbody_bins_are_exact_across_both_series(temperature):
    """Bins crossing x = 1 (the two series' junction) or lying on one side, wide and narrow."""
    bb = Blackbody(temperature, 1.0, 7.5)
    edges = [0.5, 3.5, 4.0, 7.0, 7.001, 14.5, 30.0, 300.0]
    for a, b, got in zip(edges[:-1], edges[1:], bb.photons_in_bins(edges), strict=True):
        assert got == pytest.approx(quad(bb.photon_flux, a, b, epsabs=0, epsrel=1e-13)[0], rel=1e-12)


@pytest.mark.parametrize("temperature", [3.0, 30.0])
def test_cold_blackbody_far_wien_tail_is_representable(temperature):
    """Deep in the Wien tail (e^-x near the smallest double) the bins stay positive and exact."""
    bb = Blackbody(temperature, 1.0, HC_K / (650 * temperature))
    edges = np.array([HC_K / (900 * temperature), HC_K / (899 * temperature)])
    expected = quad(bb.photon_flux, *edges, epsabs=0, epsrel=1e-12)[0]
    assert expected > 0 and bb.photons_in_bins(edges)[0] == pytest.approx(expected, rel=1e-9)


# --- absorption --------------------------------------------------------------------------------

@given(spectrum=spectra, wavelength=st.lists(st.floats(LO_UM, HI_UM), min_size=1, max_size=50), edges=edges_lists)
def test_absorption_never_below_zero_nor_above_the_continuum(spectrum, wavelength, edges):
    absorbed = SourceSpectrum(spectrum.continuum, spectrum.absorption)
    continuum = SourceSpectrum(spectrum.continuum)
    assert np.all(absorbed.flux_density_mjy(wavelength) >= 0)
    assert np.all(absorbed.flux_density_mjy(wavelength) <= continuum.flux_density_mjy(wavelength))
    assert np.all(absorbed.photons_in_bins(edges) >= 0)
    assert np.all(absorbed.photons_in_bins(edges) <= continuum.photons_in_bins(edges) * (1 + 1e-12))


@pytest.mark.parametrize("tau", [1e2, 1e3])
def test_saturated_core_transmits_nothing_and_stays_positive(tau):
    line = AbsorptionLine(9.7, tau, 0.2)
    spectrum = SourceSpectrum(Blackbody(300.0, 10.0, 7.5), (line,))
    core = spectrum.photons_in_bins([9.69, 9.71])[0]
    assert 0 <= core < 1e-40 * spectrum.continuum.photons_in_bins([9.69, 9.71])[0]


@given(continuum=continua, centre=centres, tau=st.floats(1e-6, 1e-3), fwhm=st.floats(1e-4, 1e-2))
def test_thin_absorption_truth_is_tau_times_width(continuum, centre, tau, fwhm):
    """tau0 << 1, sigma << lambda: the removed energy -> F_lambda,cont(c) tau0 sigma sqrt(2 pi).

    Relative error: tau0 / 2^1.5 (1 - e^-tau ~ tau - tau^2 / 2) plus sigma^2 F'' / (2 F) of the
    continuum, |F'' / F| < ((x + 7) / lambda)^2 (F_lambda ~ lambda^(a - 2) e^-x, |a| <= 4).
    """
    truth = SourceSpectrum(continuum, (AbsorptionLine(centre, tau, fwhm),)).line_truth()
    sigma = fwhm / (2 * np.sqrt(2 * np.log(2)))
    f_lambda = (truth["continuum_mjy"][0] * u.mJy).to_value(u.W / u.m**2 / u.um,
                                                           equivalencies=u.spectral_density(centre * u.um))
    x = HC_K / (centre * continuum.temperature_k) if isinstance(continuum, Blackbody) else 0.0
    assert truth["flux_w_m2"].unit == u.W / u.m**2
    assert -truth["flux_w_m2"][0] == pytest.approx(f_lambda * tau * sigma * np.sqrt(2 * np.pi),
                                                   rel=tau + sigma**2 * ((x + 7) / centre) ** 2)


def test_line_truth_lists_every_line_in_order():
    lines = (EmissionLine(6.985, 2e-17), AbsorptionLine(9.7, 0.5, 2.0), EmissionLine(12.81, 1e-17, 0.02))
    spectrum = SourceSpectrum(PowerLaw(5.0, 10.0, 1.0), lines)
    truth = spectrum.line_truth()
    assert list(truth["kind"]) == ["emission", "absorption", "emission"]
    np.testing.assert_array_equal(truth["centre_um"], [6.985, 9.7, 12.81])
    assert truth["flux_w_m2"][0] == 2e-17 and truth["flux_w_m2"][1] < 0 and truth["tau"][1] == 0.5
    np.testing.assert_allclose(truth["continuum_mjy"], 5.0 * np.array([6.985, 9.7, 12.81]) / 10.0, rtol=1e-14)
    assert len(SourceSpectrum(PowerLaw(5.0, 10.0, 1.0)).line_truth()) == 0


# --- dict / TOML form --------------------------------------------------------------------------

@given(spectrum=spectra)
def test_dict_form_round_trips_through_json(spectrum):
    assert spectrum_from_dict(json.loads(json.dumps(spectrum.to_dict()))) == spectrum


def test_flat_kind_is_a_power_law_of_index_zero():
    spectrum = spectrum_from_dict({"continuum": {"kind": "flat", "flux_mjy": 3}})
    assert spectrum.continuum.index == 0 and spectrum.lines == ()
    np.testing.assert_allclose(spectrum.flux_density_mjy([4.0, 9.0, 14.0]), 3.0, rtol=1e-15)


GOOD = {"kind": "blackbody", "temperature_k": 500.0, "flux_mjy": 10.0, "ref_um": 7.5}


@pytest.mark.parametrize("table, message", [
    ({"continuum": GOOD, "line": []}, "spectrum: unknown key(s) line; known: continuum, lines"),
    ({"lines": []}, "spectrum: missing key 'continuum'"),
    ({"continuum": {**GOOD, "temperature": 3}}, "spectrum.continuum: unknown key(s) temperature for kind 'blackbody'"),
    ({"continuum": {"flux_mjy": 1.0}}, "spectrum.continuum: missing key 'kind'"),
    ({"continuum": {**GOOD, "kind": "planck"}},
     "spectrum.continuum.kind: unknown kind 'planck'; known: blackbody, flat, power_law"),
    ({"continuum": {"kind": "blackbody", "flux_mjy": 1.0, "ref_um": 7.5}},
     "spectrum.continuum: missing key(s) temperature_k for kind 'blackbody'"),
    ({"continuum": {"kind": "flat", "flux_mjy": 1.0, "index": 2.0}}, "unknown key(s) index for kind 'flat'"),
    ({"continuum": {**GOOD, "flux_mjy": "10"}}, "spectrum.continuum.flux_mjy: expected a number, got str '10'"),
    ({"continuum": {**GOOD, "flux_mjy": True}}, "spectrum.continuum.flux_mjy: expected a number, got bool"),
    ({"continuum": {**GOOD, "flux_mjy": -1.0}}, "spectrum.continuum: Blackbody.flux_mjy must be a finite number >= 0"),
    ({"continuum": {**GOOD, "temperature_k": 5.0, "ref_um": 3.5}}, "has no measurable flux at ref_um = 3.5"),
    ({"continuum": GOOD, "lines": {"kind": "emission"}}, "spectrum.lines: expected a list of tables, got dict"),
    ({"continuum": GOOD, "lines": ["x"]}, "spectrum.lines[0]: expected a table, got str"),
    ({"continuum": GOOD, "lines": [{"kind": "emission", "centre_um": 7.0, "flux_w_m2": 1e-17},
                                   {"kind": "absorption", "centre_um": 9.7, "tau": 0.5}]},
     "spectrum.lines[1]: missing key(s) fwhm_um for kind 'absorption'"),
    ({"continuum": GOOD, "lines": [{"kind": "emission", "centre_um": 7.0, "flux": 1e-17}]},
     "spectrum.lines[0]: unknown key(s) flux for kind 'emission'; known: kind, centre_um, flux_w_m2, fwhm_um"),
    ({"continuum": GOOD, "lines": [{"kind": "emission", "centre_um": 7.0, "flux_w_m2": -1e-17}]},
     "spectrum.lines[0]: EmissionLine.flux_w_m2 must be a finite number >= 0 W m^-2"),
    ({"continuum": GOOD, "lines": [{"kind": "absorption", "centre_um": 9.7, "tau": 0.5, "fwhm_um": 2.5}]},
     "spectrum.lines[0]: AbsorptionLine.fwhm_um = 2.5 must be < 0.25 x centre_um"),
    ({"continuum": GOOD, "lines": [{"kind": "absorption", "centre_um": 9.7, "tau": 0.0, "fwhm_um": 0.1}]},
     "spectrum.lines[0]: AbsorptionLine.tau must be a number in (0, 1e3]"),
    ({"continuum": GOOD, "lines": [{"kind": "emision", "centre_um": 7.0, "flux_w_m2": 1e-17}]},
     "spectrum.lines[0].kind: unknown kind 'emision'; known: absorption, emission"),
])
def test_bad_dict_is_refused_naming_the_key(table, message):
    with pytest.raises(SpectrumError) as info:
        spectrum_from_dict(table)
    assert message in str(info.value)


@pytest.mark.parametrize("edges, message", [
    ([5.0], "at least 2"),
    ([[5.0, 6.0]], "1-D"),
    ([5.0, 5.0, 6.0], "strictly increasing"),
    ([0.0, 6.0], "> 0"),
    ([5.0, np.nan], "finite"),
])
def test_bad_bin_edges_are_refused(edges, message):
    with pytest.raises(ValueError, match=message):
        SourceSpectrum(PowerLaw(1.0, 10.0, 0.0)).photons_in_bins(edges)


def test_bad_wavelengths_and_parts_are_refused():
    with pytest.raises(ValueError, match="> 0 um"):
        SourceSpectrum(PowerLaw(1.0, 10.0, 0.0)).flux_density_mjy([5.0, -1.0])
    with pytest.raises(TypeError, match="PowerLaw or Blackbody"):
        SourceSpectrum(EmissionLine(7.0, 1e-17))
    with pytest.raises(TypeError, match="EmissionLine or AbsorptionLine"):
        SourceSpectrum(PowerLaw(1.0, 10.0, 0.0), (PowerLaw(1.0, 10.0, 0.0),))
