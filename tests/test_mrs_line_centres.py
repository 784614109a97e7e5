"""Where an MRS line's centre is kept and where it is not (issue 16's line-centre systematic, docs/mrs.md).

A line's first moment is the property: the simulator's pixels (their photons in each footprint
``[lambda(y - 1/2), lambda(y + 1/2)]``) keep it at the footprints' centres; the ``drizzle`` keeps it
only when every footprint is one plane wide (they are 0.90-1.11 plane wide in every band: each
pixel spread uniformly over its footprint lands off the planes' centres by an amount that depends
on its phase), ``drizzle_smooth`` and the default ``drizzle_lambda_alpha_smooth`` (the same in lambda)
wherever the line falls, and keep a flat spectrum flat.
"""
import numpy as np
import pytest
from scipy.special import ndtr

from miri_testbed.calibration import cube_build
from miri_testbed.simulator import mrs as smrs
from miri_testbed.simulator.spectra import Blackbody, EmissionLine, SourceSpectrum

#: LSF sigma in pixels at 5.3 um (FWHM lambda / R = 1.43 nm over 0.82 nm pixels / 2.355).
SIGMA_PX = 0.74
#: The variants that smooth each box in lambda.
LAMBDA_SMOOTHED = (cube_build.drizzle_smooth, cube_build.drizzle_lambda_alpha_smooth)
#: Footprint width over the plane's: the 5-95 % range of bands 1A, 2A, 3C, 4C is 0.90-1.11
#: (benchmarks/results/2026-12-03_mrs_line_centres.txt).
WIDTH_RATIOS = (0.9, 1.1)


def column(widths, start):
    """One detector column's footprints in lambda (contiguous, the given widths), ``(lo, hi)``."""
    edges = start + np.concatenate([[0.0], np.cumsum(widths)])
    return edges[:-1], edges[1:]


def drizzled_planes(lo, hi, flux, step, variant):
    """One column's pixels (one 0.2" x 0.2" spaxel) drizzled into planes of ``step``: ``(planes, grid)``."""
    n = len(lo)
    spatial = (np.zeros(n), np.full(n, 0.2), np.zeros(n), np.full(n, 0.2))
    samples = cube_build.Samples("1A", *spatial, lo, hi, flux / (0.04 * (hi - lo)), np.zeros(n), np.ones(n, bool))
    grid = cube_build.CubeGrid(cube_build.Axis(0.0, 0.2, 1), cube_build.Axis(0.0, 0.2, 1),
                               cube_build.Axis(float(lo[0]), step, int(np.ceil((hi[-1] - lo[0]) / step))))
    return variant(samples, grid).data[:, 0, 0], grid


def drizzled_moment(lo, hi, flux, step, variant=cube_build.drizzle):
    """The first moment (plane centres) of one column's pixels drizzled into planes of ``step``."""
    planes, grid = drizzled_planes(lo, hi, flux, step, variant)
    planes = np.nan_to_num(planes)
    return np.sum(planes * grid.wavelength.centres) / planes.sum()


def line_flux(lo, hi, centre, sigma):
    """A Gaussian line's share in each footprint."""
    return ndtr((hi - centre) / sigma) - ndtr((lo - centre) / sigma)


def test_simulated_pixels_keep_a_line_first_moment():
    """pixel_photons of a line at footprints of varying width: the moment at their centres is the line's."""
    lam = 5.3
    pixel = lam / smrs.resolving_power(lam) / smrs.FWHM_PER_SIGMA / SIGMA_PX
    widths = pixel * np.linspace(0.9, 1.1, 60)  # the dispersion changing along the column
    continuum = Blackbody(800.0, 50.0, 7.0)
    for centre in lam + pixel * np.linspace(-0.5, 0.5, 7):
        lo, hi = column(widths, lam - 30 * pixel)
        spectrum = SourceSpectrum(continuum, (EmissionLine(float(centre), 2e-17),))
        line = smrs.pixel_photons(spectrum, lo, hi) - smrs.pixel_photons(SourceSpectrum(continuum), lo, hi)
        error = np.sum(line * (lo + hi) / 2) / line.sum() - centre
        assert abs(error) < 1e-3 * pixel, f"line at {centre:.5f} um: moment off by {error / pixel:.2e} px"


@pytest.mark.parametrize("offset", np.linspace(0.0, 0.9, 4))
def test_drizzle_keeps_the_first_moment_of_footprints_one_plane_wide(offset):
    lo, hi = column(np.ones(40), offset)
    for centre in 20 + np.linspace(-0.5, 0.5, 9):
        moment = drizzled_moment(lo, hi, line_flux(lo, hi, centre, SIGMA_PX), 1.0)
        assert abs(moment - centre) < 1e-4, f"footprints at +{offset}, line at {centre}: {moment - centre:+.2e} plane"


@pytest.mark.parametrize("smooth", LAMBDA_SMOOTHED)
@pytest.mark.parametrize("ratio", WIDTH_RATIOS)
def test_lambda_smoothing_keeps_the_first_moment_wherever_the_line_falls(ratio, smooth):
    lo, hi = column(np.full(40, ratio), 0.0)
    centres = 20 + np.linspace(-0.5, 0.5, 21)
    errors = {variant: np.array([drizzled_moment(lo, hi, line_flux(lo, hi, c, SIGMA_PX * ratio), 1.0, variant) - c
                                 for c in centres]) for variant in (cube_build.drizzle, smooth)}
    # 0.001 plane is 0.05 km/s in 1A (a plane of 0.82 nm at 5.3 um is 46 km/s); the uniform spread misses it
    worst = {v.__name__: float(np.max(np.abs(e))) for v, e in errors.items()}
    assert worst[smooth.__name__] < 1e-3 < 0.01 < worst["drizzle"], f"footprints {ratio} plane wide: {worst}"


@pytest.mark.parametrize("smooth", LAMBDA_SMOOTHED)
@pytest.mark.parametrize("ratio", WIDTH_RATIOS)
def test_lambda_smoothing_keeps_a_flat_spectrum_flat(ratio, smooth):
    lo, hi = column(np.full(40, ratio), 0.3)
    flux = hi - lo  # a flat spectrum: 1 per unit wavelength, 25 per unit wavelength and arcsec^2
    planes, grid = drizzled_planes(lo, hi, flux, 1.0, smooth)
    inner = (grid.wavelength.centres > lo[0] + 4) & (grid.wavelength.centres < hi[-1] - 4)
    np.testing.assert_allclose(planes[inner], 25.0, rtol=1e-9)


def test_a_line_fit_on_correlated_planes_states_the_error_its_centre_scatters_by():
    """Lines on planes whose noise is correlated as the default kernel's (lag 1 0.61, lag 2 0.12): the fit's
    centre and flux errors with the correlation (a sandwich covariance) match the scatter over 300 draws (pull
    widths within 0.85-1.15), while taken as independent they understate it."""
    from miri_testbed.validation import lrs_score, mrs_score

    from helpers import correlated_noise

    rng = np.random.default_rng(7)
    u = np.arange(40.0)
    correlation = correlated_noise(rng, u.size)[1]
    matrix = mrs_score.correlation_matrix(np.arange(u.size), correlation)
    truth = 100.0 + 400.0 * lrs_score.row_fractions(u, 19.3, 1.6, 1.0)
    error = np.full(u.size, 2.0)
    pulls = {"correlated": [], "independent": []}
    for _ in range(300):
        flux = truth + error * correlated_noise(rng, u.size)[0]
        for name, given in (("correlated", matrix), ("independent", None)):
            fit = lrs_score.fit_line(u, flux, error, 19.5, 1.6, 12, box=1.0, correlation=given)
            pulls[name].append(((fit.centre - 19.3) / fit.centre_err, (fit.flux - 400.0) / fit.flux_err))
    widths = {name: np.std(np.array(p), axis=0) for name, p in pulls.items()}
    assert np.all((widths["correlated"] > 0.85) & (widths["correlated"] < 1.15)), widths
    assert widths["independent"][0] > 1.2, widths
