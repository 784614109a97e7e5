"""The spectral leak left in band 3A (issue 17, LEAK-1): ``mrs_leak_residual``.

A 3A spectrum ``F`` (a point source's x1d, or a cube's spaxels summed) against the truth's continuum
``S`` without the leak: ``r(lambda) = F / S - 1`` over ``|lambda - lambda_0| < 6 sigma`` of the truth's
leak curve (:mod:`simulator.spectral_leak`) is fitted with a line (what a calibration's smooth errors
leave: PHOTOM, aperture correction) plus ``a g(lambda)``, ``g = L / S`` the injected leak
``L(lambda) = f(lambda) S(lambda / 2)`` over the continuum (least squares, the planes equal).  ``a`` is the
share of the injected leak left (1 uncorrected, 0 removed; negative: too much removed), and

    mrs_leak_residual = |a| max g,

the leak left at its peak as a fraction of the 3A continuum (issue 17: < 0.1 %).  The line takes out
what is smooth over 1.2 um; the leak's own shape (a Gaussian of sigma 0.1 um at the placeholder curve)
is what ``a`` measures, so noise averages over the ~400 planes of the window.  ``mrs_leak_residual_error`` (not
judged) is its 1-sigma error from FLUX_ERROR (planes independent): a value within ~2 of it is the noise's, and a
target of 1e-3 needs an exposure whose error is well below.

Against the leak-free twin (session 24; the x1d ``F_0`` of the same exposure simulated without the leak, calibrated
with the same references and algorithms, :func:`validation.runner.leak_free_twin`): the same fit with ``F_0`` in
place of ``S``,

    mrs_leak_residual_twin = |a| max g,   r = F / F_0 - 1,

so every calibration error the two share (PHOTOM, APCORR, their smooth and curved terms alike) divides out, and
only what the leak correction leaves (its own floor, and the references that scale the leak: MRSPTCORR, 1B's
PHOTOM) is counted: the issue's "leak residual".  ``mrs_leak_residual`` reads the references' curvature over the
window as leak (docs/mrs.md 'LEAK-1 taken apart': -0.9 / -0.6e-3 of it on a leak-free exposure).  The twin's noise
is its own draw, so ``mrs_leak_residual_twin_error`` takes both spectra's errors.

In a 3A cube (the s3d), as a user reads it spaxel by spaxel: each spaxel of the source's core, the covered spaxels
whose median over the window is at least :data:`CORE_FRACTION` of the brightest spaxel's, is a spectrum of its own
(scaled to ``S`` by its median of ``F / S``, so ``a`` is a share of that spaxel's continuum), and

    mrs_leak_cube_residual = max over the core of |a_s| max g,
    mrs_leak_cube_sum_residual = the same of the core's sum (an aperture of the core's spaxels),

with ``S``, ``g`` of the scene's first source (the one whose leak the suite scores).  The core keeps to the bright
spaxels because a max over noisy fits is biased up; ``mrs_leak_cube_spaxels`` (not judged) counts them.
"""
import numpy as np

from miri_testbed.simulator.spectral_leak import LEAK_BAND, ORDER, LeakCurve

from . import mrs_score
from .errors import ScoreInputError

#: A cube's core (module docstring): spaxels at least this share of the brightest one's median over the window.
CORE_FRACTION = 0.1
#: What :func:`score_cubes` writes.
CUBE_METRICS = ("mrs_leak_cube_residual", "mrs_leak_cube_sum_residual", "mrs_leak_cube_spaxels")
#: What :func:`score_against_twin` writes.
TWIN_METRICS = ("mrs_leak_residual_twin", "mrs_leak_residual_twin_error")

#: The fit's half window, in the leak curve's sigma.
WINDOW_SIGMA = 6.0


def leak_residual(wavelength, flux, continuum, leak, centre_um, sigma_um, error=None):
    """``(mrs_leak_residual, a, its error)`` of a 3A spectrum (module docstring); NaN without 10 usable planes.

    Parameters
    ----------
    wavelength, flux : (n,) float
        The spectrum (um; any unit).
    error : (n,) float, optional
        ``flux``'s error (default: none, the error NaN).
    continuum, leak : (n,) float
        The truth's ``S`` and ``L`` there, in ``flux``'s unit.
    centre_um, sigma_um : float
        The truth's leak curve.
    """
    wavelength, flux, continuum, leak = (np.asarray(x, float) for x in (wavelength, flux, continuum, leak))
    use = (np.abs(wavelength - centre_um) < WINDOW_SIGMA * sigma_um) & np.isfinite(flux) & (continuum > 0)
    if np.count_nonzero(use) < 10:
        return np.nan, np.nan, np.nan
    g = leak[use] / continuum[use]
    design = np.column_stack([np.ones(g.size), wavelength[use] - centre_um, g])
    (_, _, a), *_ = np.linalg.lstsq(design, flux[use] / continuum[use] - 1, rcond=None)
    sigma = np.nan
    if error is not None:
        solve = np.linalg.pinv(design)  # a = solve[2] @ r: its variance from the planes' (independent)
        sigma = float(np.sqrt(np.sum((solve[2] * np.asarray(error, float)[use] / continuum[use]) ** 2)) * np.max(g))
    return float(abs(a) * np.max(g)), float(a), sigma


def truth_leak(truth_config, source_id, wavelength):
    """``(S, L)`` in mJy of the truth's source ``source_id`` at ``wavelength``, or None when the leak is off.

    ``S`` its continuum (lines left out), ``L = f(lambda) S(lambda / 2)`` with the truth's curve.
    """
    from miri_testbed.simulator.spectra import SourceSpectrum, spectrum_from_dict

    effects = truth_config["effects"]["mrs"]
    if not effects.get("spectral_leak"):
        return None
    curve = LeakCurve(effects["leak_peak"], effects["leak_centre_um"], effects["leak_sigma_um"])
    continuum = SourceSpectrum(spectrum_from_dict(truth_config["scene"]["sources"][source_id]["spectrum"]).continuum)
    lam = np.asarray(wavelength, float)
    return continuum.flux_density_mjy(lam), curve(lam) * continuum.flux_density_mjy(lam / ORDER), curve


def leak_rows(truth_config, band, spectrum, bin_value):
    """The x1d's ``mrs_leak_residual`` and ``mrs_leak_residual_error`` rows for band 3A of a truth with the leak on.

    ``spectrum``: a :class:`validation.lrs_score.Spectrum` in Jy (the x1d's FLUX is compared in mJy);
    ``bin_value``: the band's bin (:func:`validation.mrs_score.band_bin`).
    """
    if band != LEAK_BAND:
        return []
    found = truth_leak(truth_config, spectrum.source_id, spectrum.wavelength)
    if found is None:
        return []
    continuum, leak, curve = found
    value, _, sigma = leak_residual(spectrum.wavelength, np.where(spectrum.usable, spectrum.flux * 1e3, np.nan),
                                    continuum, leak, curve.centre_um, curve.sigma_um, spectrum.error * 1e3)
    return [dict(metric=metric, value=v, unit="", source_id=spectrum.source_id, bin=bin_value)
            for metric, v in (("mrs_leak_residual", value), ("mrs_leak_residual_error", sigma))]


def score_against_twin(truth, twin_path, x1d_path):
    """Band 3A's ``mrs_leak_residual_twin`` rows (module docstring): the x1d against its leak-free twin's.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
        The leak-on exposure's (its leak curve and source); none for a truth without the leak.
    twin_path, x1d_path : path-like
        The twin's x1d and the exposure's.
    """
    truth = mrs_score._mrs_truth(truth, (), "MRS leak twin")
    spectra, twins = mrs_score.read_spectra(x1d_path), mrs_score.read_spectra(twin_path)
    if LEAK_BAND not in spectra:
        return []
    if LEAK_BAND not in twins:
        raise ScoreInputError(f"{twin_path}: the leak-free twin has no band {LEAK_BAND} spectrum")
    spectrum, twin = spectra[LEAK_BAND], twins[LEAK_BAND]
    if not np.array_equal(spectrum.wavelength, twin.wavelength):
        raise ScoreInputError(f"{twin_path}: the leak-free twin's {LEAK_BAND} planes are not {x1d_path}'s")
    found = truth_leak(truth.config, spectrum.source_id, spectrum.wavelength)
    if found is None:
        return []
    continuum, leak, curve = found
    usable = spectrum.usable & twin.usable
    level = np.where(usable, twin.flux * 1e3, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):  # planes unusable in either: NaN, left out by the fit
        error = np.hypot(spectrum.error, twin.error * spectrum.flux / twin.flux) * 1e3
    # g = L / S, whichever continuum the fit divides by
    value, _, sigma = leak_residual(spectrum.wavelength, np.where(usable, spectrum.flux * 1e3, np.nan), level,
                                    leak * level / continuum, curve.centre_um, curve.sigma_um, error)
    context = dict(unit="", source_id=spectrum.source_id, bin=mrs_score.band_bin(LEAK_BAND))
    return [dict(metric="mrs_leak_residual_twin", value=value, **context),
            dict(metric="mrs_leak_residual_twin_error", value=sigma, **context)]


def cube_residuals(wavelength, data, continuum, leak, curve):
    """``(per-spaxel residuals, the core sum's residual)`` of a 3A cube's ``data`` (module docstring).

    ``data``: ``(n_lambda, n_beta, n_alpha)``, NaN where not covered; ``continuum``, ``leak``: the truth's ``S``
    and ``L`` on ``wavelength`` (any unit: each spaxel is scaled to ``S``); the residuals are the core's only.
    """
    window = np.abs(wavelength - curve.centre_um) < WINDOW_SIGMA * curve.sigma_um
    covered = np.isfinite(data[window]).any(axis=0)
    level = np.zeros(covered.shape)
    level[covered] = np.nanmedian(data[window][:, covered], axis=0)
    core = covered & (level >= CORE_FRACTION * level.max())

    def residual(flux):
        scale = np.nanmedian(flux[window] / continuum[window])
        return leak_residual(wavelength, flux / scale, continuum, leak, curve.centre_um, curve.sigma_um)[0]

    spaxels = np.array([residual(data[:, b, a]) for b, a in zip(*np.nonzero(core), strict=True)])
    summed = residual(np.sum(np.where(np.isfinite(data[:, core]), data[:, core], 0.0), axis=1))
    return spaxels, summed


def score_cubes(truth, cube_paths):
    """The 3A cube's rows of :data:`CUBE_METRICS` (module docstring) for a truth with the leak on; none otherwise.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
        Of an MRS exposure.
    cube_paths : path-like or tuple of path-like
        The exposure's cubes (one per band).
    """
    truth = mrs_score._mrs_truth(truth, (), "MRS leak cube")
    rows = []
    if not truth.config["effects"]["mrs"].get("spectral_leak"):
        return rows
    for path in cube_paths if isinstance(cube_paths, tuple | list) else (cube_paths,):
        band, cube = mrs_score.read_cube(path)
        if band != LEAK_BAND:
            continue
        spaxels, summed = cube_residuals(cube.grid.wavelength.centres, cube.data,
                                         *truth_leak(truth.config, 0, cube.grid.wavelength.centres))
        context = dict(unit="", source_id=0, bin=mrs_score.band_bin(band))
        rows += [dict(metric="mrs_leak_cube_residual", value=float(np.max(spaxels)), **context),
                 dict(metric="mrs_leak_cube_sum_residual", value=summed, **context),
                 dict(metric="mrs_leak_cube_spaxels", value=float(spaxels.size), **context)]
    return rows
