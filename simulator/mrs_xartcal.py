"""The testbed's MRS cross-artifact calibration: the MRSXARTCORR kernels fitted on a simulated point-source exposure.

As a calibration programme would (issue 17; the geometry, PHOTOM and fringe flat are measured the
same way), the testbed observes a bright point source through the TRUE instrument
(:func:`simulator.mrs.xart_exposure`) and fits the kernels of the detector's two bands knowing only
the flight slice map and jwst's kernel form:

1. **Exposure.**  A flat-F_nu point source of :data:`SOURCE_MJY` at the reference point of the
   detector's first channel (SIAF ``MIRIFU_CHANNEL1A`` or ``3A``: inside both bands' fields), rendered
   through each band's TRUE pixels on every :data:`ROW_STEP`-th detector row (the rows are independent:
   the artifact runs along them), the band's sky added (the zodiacal + thermal placeholders of
   :func:`simulator.mrs.band_background_mjy_sr`), the TRUE cross-artifact applied
   (:func:`simulator.cross_artifact.apply`: the truth's kernels), then :data:`INTEGRATIONS` integrations, each
   as long as fills the brightest pixel to :data:`WELL_FILL` of the full well (:func:`integration_s`: 32-44 s on
   MIRIFUSHORT, 73-102 s on MIRIFULONG), of Poisson electrons plus a CDS read noise per integration
   (:func:`observe`; the read noise dominates in the gaps, so the integrations are as long as the well allows).
   A dedicated background exposure (the same sky and its scattered light, no source, its own noise) is
   taken likewise and subtracted, as a real programme would: what is left is the source, its artifact
   and the two exposures' noise.
2. **Gaps** (:func:`gap_pixels`).  The pixels outside both bands' flight slices, grown by
   :data:`GAP_MARGIN_PX` along the rows (light at a slice's edge), reference columns excluded: no slice
   lights them, so their light is the artifact alone.
3. **Model** (:func:`corrected`): the one the calibration's ``straylight`` step inverts, ``O = S + A(S)``,
   ``A`` the row convolution of each half with its channel's kernel (:func:`simulator.cross_artifact.scattered`).
   For trial kernels, ``S`` is solved as the step does, by the fixed point ``S <- O - A(S)`` from ``S = O``
   over every non-reference pixel (:data:`ITERATIONS` passes), and the residual is ``S`` on the gap pixels
   (what the step would leave there, ideally nothing) over the pixel's noise.
4. **Fit** (:func:`fit`).  ``scipy.optimize.least_squares`` over each channel's free parameters
   (:data:`FREE`: jwst's form, the double Gaussians in channel 1 only; channel 4's Lorentzian amplitude at
   the nominal width, since with no light scattered its width cannot be measured; the rest kept at 0 or at
   the nominal width), from the nominal widths of the parameter reference (:class:`simulator.config.MrsEffects`'
   defaults, not the truth's) and amplitudes from a linear fit at those widths.  Errors: the covariance
   ``(J^T J)^-1`` times the reduced chi^2.

No inverse crime beyond what the design accepts: the kernel FORM is jwst's both in the simulator's
artifact and in this fit (the simulator has no other form to offer; a real detector's scattering has
one), so on a noise-free exposure the fit returns the truth to ~1e-5 (the fixed point's truncation and the
solver's tolerance), and its error is the measurement's: the photon noise of the source, its artifact
and the sky in both exposures, the read noise, over the rows measured (``benchmarks/mrs_xart_fit.py``).
Not measured here: the other ten bands (no TruePixels for them in this exposure; drawn,
:func:`simulator.cross_artifact.reference_model`); kernels varying along the columns (the truth has one per
band); the detector's other effects (dark, bad pixels, nonlinearity), which the programme's own
calibration is assumed to have removed.  Measured (``benchmarks/mrs_xart_fit.py``, 5 draws per band pair):
parameters within 0.02-0.75 % rms of the truth, the kernels' integrals within 0.2 %, the stated errors right
(rms pulls ~1).  Cost (CPU): ~0.4 s to render (with the PSFs cached by the science exposure; ~3 s more
without) and 0.6-1.7 s to fit per band pair.
"""
from dataclasses import asdict, replace

import numpy as np
from scipy import ndimage
from scipy.optimize import least_squares

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import mrs

from . import cross_artifact
from .config import MrsEffects
from .spectra import PowerLaw, SourceSpectrum

#: The calibration source's flat F_nu, mJy (PLACEHOLDER: a bright standard star).
SOURCE_MJY = 1000.0
#: The brightest pixel's share of the full well in one integration, which sets the integration's length
#: (:func:`integration_s`; PLACEHOLDER: a programme's choice).
WELL_FILL = 0.6
#: Integrations of the source exposure and of its background exposure each (PLACEHOLDER).
INTEGRATIONS = 60
#: Every this many detector rows is rendered and fitted (the fit's cost; the artifact runs along the rows).
ROW_STEP = 8
#: The slices grown by this many pixels along the rows before the gaps are taken (light at the slices' edges).
GAP_MARGIN_PX = 1
#: Passes of the fixed point ``S <- O - A(S)`` per model evaluation (the error falls by the kernels' integral,
#: <= 0.18, per pass: ~3e-5 after 6, as the calibration step's).
ITERATIONS = 6
#: The parameters fitted per channel (module docstring, 4); the others are kept (nominal width, zero amplitude).
FREE = {1: ("lor_fwhm", "lor_scale", "gau_fwhm", "gau_xoff", "gau_scale1", "gau_scale2"),
        2: ("lor_fwhm", "lor_scale"), 3: ("lor_fwhm", "lor_scale"), 4: ("lor_scale",)}
#: The amplitudes (linear in the model): started from a linear fit at the nominal widths.
AMPLITUDES = ("lor_scale", "gau_scale1", "gau_scale2")
#: The widths' lower bounds in the fit, px (a kernel narrower than a pixel is outside the form's use).
MIN_WIDTH_PX = 0.5


def source():
    """The calibration source's spectrum (module docstring, 1)."""
    return SourceSpectrum(PowerLaw(flux_mjy=SOURCE_MJY, ref_um=5.0, index=0.0), ())


def rows():
    """The detector rows rendered and fitted (every :data:`ROW_STEP`-th)."""
    return np.arange(0, det.FULL_NY, ROW_STEP)


def read_noise_e():
    """The read noise of one exposure, e- per pixel: a CDS pair's per integration, over :data:`INTEGRATIONS`."""
    return det.READ_NOISE_CDS_DN * det.GAIN_E_PER_DN * np.sqrt(INTEGRATIONS)


def integration_s(expected_e_per_s):
    """One integration's length, s: the brightest pixel of the source exposure at :data:`WELL_FILL` of the well."""
    return WELL_FILL * det.FULL_WELL_E / float(np.max(expected_e_per_s))


def observe(expected_e_per_s, integration, rng):
    """An exposure's electrons (module docstring, 1): Poisson on the whole exposure plus the read noise.

    ``integration``: one integration's length, s (:func:`integration_s`); ``rng`` None: the expected electrons,
    noise-free (a test's).
    """
    expected = expected_e_per_s * integration * INTEGRATIONS
    if rng is None:
        return expected
    return rng.poisson(expected) + read_noise_e() * rng.standard_normal(expected.shape)


def gap_pixels(bands, measured_rows):
    """The gap pixels of the band pair (module docstring, 2) on ``measured_rows``: a boolean ``(rows, columns)``."""
    lit = np.zeros((det.FULL_NY, det.FULL_NX), bool)
    for name in bands:
        lit |= mrs.band_map(name).slice > 0
    grown = ndimage.binary_dilation(lit, structure=np.ones((1, 2 * GAP_MARGIN_PX + 1), bool))
    gaps = ~grown
    gaps[:, :det.REFERENCE_COLUMNS_LEFT] = False
    gaps[:, det.FULL_NX - det.REFERENCE_COLUMNS_RIGHT:] = False
    return gaps[measured_rows]


def _usable(shape):
    """Every pixel but the reference columns (which see no light and scatter none)."""
    usable = np.ones(shape, bool)
    usable[:, :det.REFERENCE_COLUMNS_LEFT] = False
    usable[:, shape[1] - det.REFERENCE_COLUMNS_RIGHT:] = False
    return usable


def corrected(observed, left, right):
    """``S`` of ``O = S + A(S)`` by the calibration step's fixed point (module docstring, 3); ``observed`` 2-D."""
    usable = _usable(observed.shape)
    o = np.where(usable, observed, 0.0)
    s = o
    for _ in range(ITERATIONS):
        s = np.where(usable, o - cross_artifact.scattered(s, left, right), 0.0)
    return s


def _channels(bands):
    """``(left, right)`` channels of the band pair: the left half is channel 1 or 4, the right 2 or 3."""
    channels = sorted(int(name[0]) for name in bands)
    return (1, 2) if channels == [1, 2] else (4, 3)


def nominal_kernel(channel):
    """The fit's start and kept parameters of ``channel`` (module docstring, 4): the nominal widths, no light.

    The widths of :class:`simulator.config.MrsEffects`' defaults (the parameter reference's), never the truth's.
    """
    return replace(cross_artifact.band_kernel(f"{channel}A", MrsEffects()), lor_scale=0.0, gau_scale1=0.0,
                   gau_scale2=0.0)


def _kernels(values, layout, base):
    """``(left, right)`` kernels from the free ``values`` (``layout``: ``(half, name)`` of each)."""
    parts = [asdict(base[0]), asdict(base[1])]
    for value, (half, name) in zip(values, layout, strict=True):
        parts[half][name] = float(value)
    return cross_artifact.Kernel(**parts[0]), cross_artifact.Kernel(**parts[1])


def fit(observed, variance, gaps, bands):
    """Each band's fitted kernel and its errors from a background-subtracted exposure (module docstring, 3-4).

    Parameters
    ----------
    observed, variance : numpy.ndarray
        ``(rows, columns)`` electrons of the source exposure less its background exposure, and their variance
        (several raster positions may be stacked along the rows).
    gaps : numpy.ndarray of bool
        The gap pixels (:func:`gap_pixels`), the same shape.
    bands : tuple of str
        The detector's two bands.

    Returns
    -------
    kernels : dict
        ``{band: Kernel}``.
    errors : dict
        ``{band: {parameter: 1-sigma}}`` of the free parameters.
    result : scipy.optimize.OptimizeResult
        The least-squares result (``cost``, ``nfev``, ``fun``: the weighted residuals).
    """
    channels = _channels(bands)
    base = (nominal_kernel(channels[0]), nominal_kernel(channels[1]))
    layout = [(h, name) for h, c in enumerate(channels) for name in FREE[c]]
    weight = 1 / np.sqrt(np.maximum(variance[gaps], 1e-30))

    def residual(values):
        return corrected(observed, *_kernels(values, layout, base))[gaps] * weight

    start = _linear_start(observed, gaps, weight, layout, base)
    scale = np.array([max(abs(v), 1e-6) if name in AMPLITUDES else getattr(base[h], name)
                      for v, (h, name) in zip(start, layout, strict=True)])
    lower = [-np.inf if name in AMPLITUDES else MIN_WIDTH_PX for _, name in layout]
    result = least_squares(residual, start, x_scale=scale, bounds=(lower, np.inf), diff_step=1e-6,
                           xtol=1e-10, ftol=1e-12)
    dof = max(result.fun.size - len(start), 1)
    covariance = np.linalg.pinv(result.jac.T @ result.jac) * max(2 * result.cost / dof, 1.0)
    sigma = np.sqrt(np.diag(covariance))
    left, right = _kernels(result.x, layout, base)
    by_channel = {channels[0]: left, channels[1]: right}
    kernels = {name: by_channel[int(name[0])] for name in bands}
    errors = {name: {} for name in bands}
    for s, (h, key) in zip(sigma, layout, strict=True):
        errors[next(n for n in bands if int(n[0]) == channels[h])][key] = float(s)
    return kernels, errors, result


def _linear_start(observed, gaps, weight, layout, base):
    """The start: the nominal widths, each amplitude from a weighted linear fit of ``A(O)`` to the gaps.

    ``A(O)`` for ``A(S)`` (the first pass of the fixed point) makes the amplitudes ~the kernels' integral too
    high; the nonlinear fit then corrects them.
    """
    o = np.where(_usable(observed.shape), observed, 0.0)
    start, columns = [], []
    for h, name in layout:
        if name in AMPLITUDES:  # the base kernels hold no light: only this amplitude's term scatters
            unit = list(base)
            unit[h] = replace(base[h], **{name: 1.0})
            columns.append(cross_artifact.scattered(o, *unit)[gaps] * weight)
        start.append(getattr(base[h], name))
    amplitudes = np.linalg.lstsq(np.stack(columns, axis=1), observed[gaps] * weight, rcond=None)[0]
    index = [i for i, (_, name) in enumerate(layout) if name in AMPLITUDES]
    for i, a in zip(index, amplitudes, strict=True):
        start[i] = float(a)
    return np.array(start)
