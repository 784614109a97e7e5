"""pixel_replace: bad pixels get a value from the spatial profile, on the LRS trace and in the MRS slices.

The MRS's step ``mrs_pixel_replace`` (:func:`slices`) is the LRS's ``profile`` below with a slice's pixels
of a row as the window; its docstring says how and why.  What it leaves, :func:`across_slices` estimates from
the neighbouring slices, for the straylight model's unusable pixels (a shower's mask can leave no row of a slice
to use) and in variant ``profile_neighbours`` (:func:`slices_and_neighbours`).

A bad pixel (NaN rate or variance, or DO_NOT_USE) on the trace would leave the box
extraction a partial sum, a 'dropout' in the spectrum (params 6, issue 15).  This step
runs in spec2 after the background and before extract_1d, as jwst's ``pixel_replace``
runs before its ``extract_1d``; a replaced pixel loses DO_NOT_USE and gains
FLUX_ESTIMATED, jwst's flag for it.

Variant ``profile`` (ours).  For row ``i`` with trace column ``c_i``, its window is the
whole pixels ``W_i = {j : |j - c_i| <= H}``, ``H`` = :data:`calibration.extract1d.OPTIMAL_HALF_WIDTH_PIX`
(it holds the box's 8 pixels and the optimal window), ``G_i`` its good pixels and ``B_i``
its bad ones.  The profile is the mean of the neighbouring rows,

    S_j = (1 / n) sum_{k in N_i} D_kj,        V'_j = (1 / n) sum_{k in N_i} V_kj,

over ``N_i``: the nearest :data:`PAIRS` pairs of rows ``i - k``, ``i + k`` (``k <=``
:data:`MAX_DISTANCE`) whose pixels in ``W_i`` are all good, ``n = |N_i|``.  Symmetric pairs
make the profile's change along the dispersion (the PSF grows with wavelength; the trace
drifts across the rows) cancel to first order.  The row's scale is the weighted
least-squares fit of the profile to its good pixels, and a bad pixel gets the scaled
profile:

    a = sum_G S_j D_ij / V'_j  /  sum_G S_j^2 / V'_j,          D^_ib = a S_b,

    var(D^_ib) = S_b^2 / sum_G (S_j^2 / V'_j)  +  a^2 V'_b / n,

the scale's error and the profile's own (the weights' variances are the neighbours', so
they do not depend on the row's own noise).  The rate is a sum of the row's and the
neighbours' pixels, so its error is correlated with theirs; the per-pixel variance does
not carry that covariance.

Noise-free bound (tests/test_pixel_replace.py).  With ``D_kj = f_k p_k(j)`` (``p_k`` the
profile of row ``k``, normalised over ``W_i``), ``s = sum_W S`` and ``delta = S / s - p_i``
the profile's error, the algebra of the fit gives exactly
``D^_ib - D_ib = f_i [delta_b - (S_b / s) sum_G w (S/s) delta / sum_G w (S/s)^2]``, so
by Cauchy-Schwarz

    |D^_ib - D_ib| <= f_i ( |delta_b| + (S_b / s) sqrt(sum_G w delta^2 / sum_G w (S/s)^2) ),

``w = 1 / V'``; a profile that does not change along the rows (``delta = 0``) is replaced
exactly.  For a smooth change ``delta ~ (1/2) <k^2> d^2 p / dk^2``, second order.

Limits: a row of an unresolved line cuts the line's PSF at its own height, so it is not
its neighbours' profile (~10 % per row, :mod:`calibration.extract1d`): a replaced pixel
in a line's rows is that far off.  A bad pixel whose row has no good pixel in its window,
or no clean pair of neighbours within :data:`MAX_DISTANCE` rows, stays as it was (NaN,
DO_NOT_USE), and the extraction leaves it out and flags the row.  Only the windows of
rows with a trace are looked at; bad pixels elsewhere stay.

Variants ``jwst_fit_profile`` and ``jwst_mingrad`` (with the ``peers`` extra):
``jwst.pixel_replace.PixelReplacement`` run offline on an in-memory ``ImageModel``
(dispersion along the columns, ``dispersion_direction = 2``), on the whole frame as the
jwst pipeline runs it on an LRS image; bad pixels are handed over as NaN with DO_NOT_USE
(jwst's ``mingrad`` replaces NaN only), the variance as VAR_POISSON (VAR_RNOISE and
VAR_FLAT zero), and read back as their sum.
"""
import numpy as np

from miri_testbed.instrument import dq as dqflags

from .extract1d import OPTIMAL_HALF_WIDTH_PIX, usable
from .peers import JWST

#: Pairs of neighbouring rows in the profile (jwst's fit_profile takes 3 on each side).
PAIRS = 3
#: Farthest neighbour row, rows from the replaced one.
MAX_DISTANCE = 8
#: MRS (:func:`slices`): half width along the slice of a bad pixel's window, pixels.  It holds the PSF's core
#: and first dark ring (1.22 lambda/D: 0.22-1.1" from 5 to 28 um, D = 6.5 m) on pixels of 0.196-0.273" in
#: alpha (parameter reference section 5, JDox), and keeps the window off the slice's ends, where the slice's
#: extent on a row moves by a pixel every few tens of rows and a whole-row window would find no clean pair.
SLICE_HALF_WIDTH_PIX = 6
#: MRS (:func:`across_slices`): half the rows of a column over which its good pixels scale the neighbouring slice's
#: template: beyond a shower's masked area (tens of rows), while the wavelength changes by ~1 % (3C: 121 rows of
#: ~0.0017 um at 17 um), over which the PSF's beta profile, and so the ratio, changes little.
SCALE_HALF_ROWS = 60


def _neighbours(good, window, i):
    """The rows of the nearest :data:`PAIRS` clean pairs around row ``i`` (all of ``window`` good)."""
    ny = good.shape[0]
    rows = []
    for k in range(1, MAX_DISTANCE + 1):
        if i - k >= 0 and i + k < ny and good[i - k, window].all() and good[i + k, window].all():
            rows += [i - k, i + k]
            if len(rows) == 2 * PAIRS:
                break
    return rows


def _replace_row(sci, var, good, window, i):
    """Row ``i``'s bad pixels in ``window`` from the scaled profile of its neighbours (module docstring), in place.

    Returns the replaced pixels of the row (a boolean over its columns), or None when nothing could be:
    no clean pair of neighbours, no good pixel to fit, or a profile of no weight.
    """
    rows = _neighbours(good, window, i)
    fit, bad = window & good[i], window & ~good[i]
    if not rows or not fit.any():
        return None
    s = sci[rows][:, window].mean(axis=0)
    v = var[rows][:, window].mean(axis=0)
    in_fit, in_bad = fit[window], bad[window]
    norm = np.sum(s[in_fit] ** 2 / v[in_fit])
    if not norm > 0:
        return None
    a = np.sum(s[in_fit] * sci[i, fit] / v[in_fit]) / norm
    sci[i, bad] = a * s[in_bad]
    var[i, bad] = s[in_bad] ** 2 / norm + a**2 * v[in_bad] / len(rows)
    return bad


def profile(sci, var, dq, trace_x):
    """Variant ``profile`` (module docstring).

    Parameters
    ----------
    sci, var : (ny, nx) float
        Background-subtracted rate (DN/s) and its variance.
    dq : (ny, nx) uint32
    trace_x : (ny,) float
        Trace column of each row; NaN: the row is not extracted.

    Returns
    -------
    sci, var, dq
        New arrays with the replaced pixels' values, variances and flags.
    """
    good = usable(sci, var, dq)
    j = np.arange(sci.shape[1])
    with np.errstate(invalid="ignore"):
        windows = np.abs(j[None, :] - trace_x[:, None]) <= OPTIMAL_HALF_WIDTH_PIX  # NaN trace: no window
    sci, var, dq = np.array(sci, dtype=float), np.array(var, dtype=float), np.array(dq, dtype=np.uint32)
    for i in np.flatnonzero((windows & ~good).any(axis=1)):
        bad = _replace_row(sci, var, good, windows[i], i)
        if bad is not None:
            dq[i, bad] = (dq[i, bad] & ~np.uint32(dqflags.DO_NOT_USE)) | np.uint32(dqflags.FLUX_ESTIMATED)
    return sci, var, dq


def jwst_pixel_replace(sci, var, dq, trace_x, algorithm):
    """Variants ``jwst_fit_profile`` and ``jwst_mingrad``: jwst's ``PixelReplacement`` on the frame (module docstring).

    Parameters
    ----------
    sci, var, dq, trace_x
        As :func:`profile` (jwst replaces bad pixels anywhere, so ``trace_x`` is not used).
    algorithm : str

    Returns
    -------
    sci, var, dq

    Raises
    ------
    ImportError
        Without jwst (the ``peers`` extra).
    """
    try:
        from jwst.pixel_replace.pixel_replace import PixelReplacement
        from stdatamodels.jwst import datamodels as dm
    except ImportError as exc:
        raise ImportError(f"pixel_replace=jwst_{algorithm} needs jwst, the 'peers' extra: "
                          f"pip install -e \".[peers]\" ({exc})") from exc
    dq = np.asarray(dq, np.uint32)
    bad = ~usable(sci, var, dq)
    data = np.where(bad, np.nan, sci).astype(np.float32)
    variance = np.where(bad, np.nan, var).astype(np.float32)
    zeros = np.zeros(sci.shape, np.float32)
    given = np.where(bad, dq | dqflags.DO_NOT_USE, dq)
    # reference pixels are no science: jwst leaves NON_SCIENCE pixels as they are
    given = np.where(dq & dqflags.REFERENCE_PIXEL, given | dqflags.NON_SCIENCE | dqflags.DO_NOT_USE, given)
    model = dm.ImageModel(data=data, dq=given.astype(np.uint32), err=np.sqrt(variance), var_poisson=variance,
                          var_rnoise=zeros, var_flat=zeros.copy())
    model.meta.instrument.name = "MIRI"
    model.meta.wcsinfo.dispersion_direction = 2  # LRS: dispersed along the columns
    PixelReplacement(model, algorithm=algorithm).replace()
    replaced = bad & ((np.asarray(model.dq) & dqflags.FLUX_ESTIMATED) != 0) & np.isfinite(model.data)
    out_var = np.asarray(model.var_poisson, float) + np.asarray(model.var_rnoise, float) + np.asarray(model.var_flat,
                                                                                                      float)
    flagged = (dq & ~np.uint32(dqflags.DO_NOT_USE)) | np.uint32(dqflags.FLUX_ESTIMATED)
    return (np.where(replaced, model.data, sci), np.where(replaced, out_var, var),
            np.where(replaced, flagged, dq).astype(np.uint32))


def peer_variants():
    """The jwst pixel replacements as ``pixel_replace`` variants (none without the peers extra)."""
    if not JWST:
        return {}
    return {
        "jwst_fit_profile": lambda *a: jwst_pixel_replace(*a, algorithm="fit_profile"),
        "jwst_mingrad": lambda *a: jwst_pixel_replace(*a, algorithm="mingrad"),
    }


def slices(values, var, pixels, good):
    """Variant ``profile`` of step ``mrs_pixel_replace``: a band's bad pixels from their slice's neighbouring rows.

    The MRS disperses along the detector's columns, as the LRS, and a slice's pixels in one row are its
    image along the slice (alpha) at one wavelength, so the LRS's ``profile`` replacement applies with
    the slice's pixels of the row about the bad pixel as the window: a bad pixel ``b`` of row ``i`` in
    slice ``k`` has ``W_i`` = the row's pixels of slice ``k`` within :data:`SLICE_HALF_WIDTH_PIX` columns of
    ``b``; the profile is the mean of the nearest :data:`PAIRS` pairs of rows ``i -+ j``
    (``j <=`` :data:`MAX_DISTANCE`) whose pixels in ``W_i`` all belong to slice ``k`` and are good, fitted
    to the row's good pixels, with the same value and variance (module docstring).  It runs on the
    surface brightness (after ``mrs_photom``), where a pixel's gain and solid angle are divided out, so
    a smooth scene is smooth across the pixels.

    Why (docs/mrs.md, 'Bad pixels and the bright sources' pulls'): ``cube_build`` leaves a bad pixel out,
    and a spaxel it covered takes the mean of the pixels left, its neighbours in alpha and lambda.  The
    PSF's core is about one pixel across in alpha (channels 1-2), so at the peak that mean is a few % low
    of the missing pixel; through the aperture, noise-free, the spectrum of a 500 mJy source in 1B lost
    up to 4 % in single planes (0.24 % rms over the band, 53 times a plane's error at its S/N of 1400).

    Parameters
    ----------
    values, var : (n,) float
        A band's pixels' surface brightness (or rate) and variance (:func:`calibration.mrs_photom.reference`).
    pixels : calibration.mrs_wcs.MrsPixels
        The band's pixels (their row, column and slice).
    good : (n,) bool
        The pixels the cube may use (:func:`calibration.mrs_wcs.usable`, a finite value).

    Returns
    -------
    values, var : (n,) float
        With the replaced pixels' values and variances.
    good : (n,) bool
        ``good`` and the replaced pixels.
    note : str
        How many of the band's bad pixels were replaced.
    """
    values, var = np.array(values, dtype=float), np.array(var, dtype=float)
    good = good & np.isfinite(values) & np.isfinite(var)
    replaced = np.zeros(values.size, bool)
    for k in np.unique(pixels.slice[~good]):
        mine = np.flatnonzero(pixels.slice == k)
        y, x = pixels.y[mine], pixels.x[mine] - pixels.x[mine].min()  # the slice's columns only
        shape = (pixels.y.max() + 1, x.max() + 1)
        sci, variance = np.full(shape, np.nan), np.full(shape, np.nan)
        sci[y, x], variance[y, x] = values[mine], var[mine]
        window, ok, hit = np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool)
        window[y, x], ok[y, x] = True, good[mine]
        columns = np.arange(shape[1])
        for i, b in zip(*np.nonzero(window & ~ok), strict=True):
            if not hit[i, b]:  # not replaced yet within another bad pixel's window
                bad = _replace_row(sci, variance, ok, window[i] & (np.abs(columns - b) <= SLICE_HALF_WIDTH_PIX), i)
                if bad is not None:
                    hit[i] |= bad
        done = hit[y, x]
        values[mine[done]], var[mine[done]] = sci[y, x][done], variance[y, x][done]
        replaced[mine[done]] = True
    note = f"{replaced.sum()} of {np.sum(~good)} bad pixels replaced from their slice's neighbouring rows"
    return values, var, good | replaced, note


def slices_and_neighbours(values, var, pixels, good):
    """Variant ``profile_neighbours`` of ``mrs_pixel_replace``: :func:`slices`, then :func:`across_slices` for the rest.

    Same arguments and returns as :func:`slices`; the note also counts the pixels the neighbouring slices gave.
    With :func:`slices` alone, a hole a shower's mask leaves over a slice's width (tens of rows, no clean pair of
    rows) stays out of the cube: ``mrs_effects`` seed 22 lost 3C's 17.5 um line so, and this variant brings it
    back.  Not the default: the planes it brings back carry the fill's error, coherent over a hole, which the
    estimate's variance does not hold; it passes the ``mrs`` suite's seed 1 (since the ratio is taken at the
    pixel's alpha), but on the faint ``mrs_effects`` 3C it makes FRINGE-1 fail 22 of 40 seeds against 13
    (docs/mrs_xart.md, 'The ratio at the pixel's alpha').
    """
    values, var, good, note = slices(values, var, pixels, good)
    values, var, across = across_slices(values, var, pixels, good)
    return values, var, good | across, f"{note}, {np.sum(across)} more from the neighbouring slices"


def across_slices(values, var, pixels, good):
    """A band's bad pixels from the neighbouring slices' image at the same (alpha, lambda), scaled to their slice.

    Where :func:`slices` cannot help: a cosmic-ray shower's mask can leave a slice's whole width DO_NOT_USE over
    tens of rows (jwst's ``time_masked_after_shower``), a line's core in all of them, so the slice's own rows say
    nothing of the hole.  Its neighbours in beta see the same (alpha, lambda) a slice width away.  For a bad
    pixel ``p`` of slice ``k`` and a neighbour ``k'`` (the nearest slice in beta on either side), the template
    ``T(p)`` is ``k'``'s good pixels bilinearly interpolated at ``(x_k'(lambda_p, alpha_p), y_k'(lambda_p, alpha_p))``
    (the DISTORTION's inverse), and

        S^(p) = c(p) T(p),     c(p) = sum_q S(q) T(q) / (sum_q T(q)^2 - sum_q var(T(q))),

    over the good pixels ``q`` of ``p``'s slice at ``p``'s alpha (bins a pixel's alpha extent wide) within
    :data:`SCALE_HALF_ROWS` rows of it: one alpha, so a background and a source mix alike in ``S`` and ``T``
    there, and the ratio of a PSF that is not separable in alpha and beta is taken where it applies.  Not a
    detector column: at a band's ends a slice's alpha runs ~0.6" per 100 rows along one (2A), more than the PSF's
    core, and a column's ratio brought a hole over a point source's slices back 5 % (1A) and 11 % (2A) low on
    the continuum (median; ``benchmarks/mrs_hole_fill.py``).  The template's own noise (a fainter slice's) is
    taken out of the denominator (errors in the regressor bias a least-squares ratio low, by ``var(T) / T^2``),
    where the template holds more signal than noise over the window (``sum T^2 > 2 sum var(T)``; elsewhere the plain
    ratio).  ``S^`` is the mean over the neighbours that give one.  Its variance is ``c^2 var(T)`` (the
    interpolation's, ``sum w^2 V / (sum w)^2``) plus the model's misfit over the same pixels,
    ``m^2 = mean_q (S - c T)^2 - mean_q (V_q + c^2 var(T_q))`` (at least 0: the PSF is not separable and the
    interpolation errs), but never below the mean variance ``V_q`` (a measured pixel there would have had it;
    where the neighbour carries no signal, ``c`` is fitted on noise and the rest would claim a precision the
    estimate has not), averaged alike over the neighbours; the estimate's covariance with the neighbours' pixels it
    is made of is left out, and so is a hole's coherent error (a line's core interpolated from a neighbour's
    undersampled rows: 'Holes in the rate' in docs/mrs_xart.md).  Exact, up to the interpolation, for a scene
    that is an image in (alpha, lambda) times a profile in beta (a point source whose PSF is separable in alpha
    and beta): ``c`` is the beta profile's ratio.  Elsewhere a guess.

    Returns ``(values, var, replaced)``: with the bad pixels estimated, and which were (a pixel whose
    neighbours' templates fall outside their good pixels keeps its value).
    """
    values, var = np.array(values, dtype=float), np.array(var, dtype=float)
    good = good & np.isfinite(values) & np.isfinite(var)
    shape = (pixels.y.max() + 1, pixels.x.max() + 1)
    image, variance, owner = np.zeros(shape), np.zeros(shape), np.full(shape, -1, np.int16)
    image[pixels.y[good], pixels.x[good]], variance[pixels.y[good], pixels.x[good]] = values[good], var[good]
    owner[pixels.y[good], pixels.x[good]] = pixels.slice[good]  # -1: no good pixel of the band
    order = np.argsort(pixels.band.beta)
    rank = np.argsort(order)
    total, total_var, count = np.zeros(values.size), np.zeros(values.size), np.zeros(values.size)
    for k in np.unique(pixels.slice[~good]):
        mine = np.flatnonzero(pixels.slice == k)
        step = np.median(pixels.alpha_hi[mine] - pixels.alpha_lo[mine])
        y, x = pixels.y[mine], np.floor((pixels.alpha[mine] - pixels.alpha[mine].min()) / step).astype(int)
        near = _alpha_bin_sums(y, x, ~good[mine]) > 0  # the pixels a bad one's estimate reads
        mine, y, x = mine[near], y[near], x[near]
        lam, alpha = pixels.wavelength[mine], pixels.alpha[mine]
        for j in (rank[k] - 1, rank[k] + 1):
            if not 0 <= j < order.size:
                continue
            n = int(order[j])
            template, template_var = _bilinear(image, variance, owner, n, pixels.band.y[n](lam, alpha),
                                               pixels.band.x[n](lam, alpha))
            fit = good[mine] & np.isfinite(template)
            num, den, noise = (_alpha_bin_sums(y, x, np.where(fit, part, 0.0)) for part in
                               (values[mine] * template, template ** 2, template_var))
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = num / np.where(den > 2 * noise, den - noise, den)
                fitted = _alpha_bin_sums(y, x, fit.astype(float))
                own_var, their_var, misfit = (_alpha_bin_sums(y, x, np.where(fit, part, 0.0)) / fitted for part in
                                              (var[mine], template_var, (values[mine] - scale * template) ** 2))
            model_var = np.fmax(misfit - own_var - scale ** 2 * their_var, 0.0)
            estimate_var = scale ** 2 * template_var + model_var
            use = ~good[mine] & np.isfinite(scale * template)
            total[mine[use]] += (scale * template)[use]
            total_var[mine[use]] += np.fmax(estimate_var, own_var)[use]
            count[mine[use]] += 1
    replaced = count > 0
    values[replaced] = total[replaced] / count[replaced]
    var[replaced] = total_var[replaced] / count[replaced] ** 2
    return values, var, replaced


def _alpha_bin_sums(y, x, part):
    """At each of a slice's pixels ``(y, x)``, the sum of ``part`` over its alpha bin ``x`` within SCALE_HALF_ROWS rows.

    A row may put two pixels into one bin.
    """
    shape = (y.max() + 2 * SCALE_HALF_ROWS + 2, x.max() + 1)
    flat = np.ravel_multi_index((y + SCALE_HALF_ROWS + 1, x), shape)
    running = np.cumsum(np.bincount(flat, weights=part, minlength=shape[0] * shape[1]).reshape(shape), axis=0)
    return running[y + 2 * SCALE_HALF_ROWS + 1, x] - running[y, x]


def _bilinear(image, variance, owner, k, y, x):
    """``image`` and ``variance`` interpolated at ``(y, x)`` from slice ``k``'s good pixels (``owner == k``) alone.

    Bilinear weights ``w``: the value ``sum w I / sum w``, its variance ``sum w^2 V / (sum w)^2``; NaN where those
    pixels hold less than half the weight.
    """
    y, x = np.asarray(y, float), np.asarray(x, float)
    inside = np.isfinite(y) & np.isfinite(x)
    y0, x0 = np.floor(np.where(inside, y, -2)).astype(int), np.floor(np.where(inside, x, -2)).astype(int)
    total, total_var, weight = np.zeros(y.shape), np.zeros(y.shape), np.zeros(y.shape)
    for dy in (0, 1):
        for dx in (0, 1):
            yy, xx = y0 + dy, x0 + dx
            on = (yy >= 0) & (yy < image.shape[0]) & (xx >= 0) & (xx < image.shape[1])
            yy, xx = np.where(on, yy, 0), np.where(on, xx, 0)
            w = np.abs(1 - dy - (y - y0)) * np.abs(1 - dx - (x - x0)) * (on & (owner[yy, xx] == k))
            total += w * image[yy, xx]
            total_var += w ** 2 * variance[yy, xx]
            weight += w
    with np.errstate(invalid="ignore", divide="ignore"):
        enough = weight >= 0.5
        return np.where(enough, total / weight, np.nan), np.where(enough, total_var / weight ** 2, np.nan)
