"""The MRS's APCORR reference: the aperture correction of a point source's spectrum taken from a cube.

jwst's extract_1d for an MRS point source (``ApCorrRadial``) multiplies each plane's flux by
the APCORR's correction at the plane's wavelength and the extraction's radius, interpolated
in a ``MirMrsApcorrModel``'s ``apcorr_table``: ``wavelength`` (n_w,), ``radius`` (n_r, n_w)
in arcsec, ``apcorr`` and ``apcorr_err`` (n_r, n_w).  The testbed writes one per detector and
grating setting (selected on DETECTOR / EXP_TYPE / CHANNEL / BAND), its wavelengths the PSF's
nodes of both bands (:func:`simulator.mrs.psf_nodes`, <= 2 % apart), its radii
``RADII_LD lambda / D``.

It is made for the extraction of :mod:`calibration.mrs_extract` (variant ``annulus``): a
circle of radius ``r``, the background the mean of the annulus ``ANNULUS_LD lambda / D``
(as a real APCORR holds the annulus its extraction used; jwst applies one table whatever
the background), so

    apcorr(lambda, r) = 1 / (E(r) - m pi r^2),

``m`` the mean share per arcsec^2 of the source's light over the part of the annulus inside
the band's field (its slices' beta strips and SIAF alpha extents, :func:`field_mask`), for a
source on the exposure's target (:func:`instrument.mrs_dither.target_v2v3`, undithered), as a
real APCORR is measured on a standard star's cube with the same extraction.  The extraction
subtracts the mean of the covered part, and in channel 4 the field cuts the annulus
(4.5-6 lambda/D is 4.0-5.3" at 28 um): the PSF is not round there (the hexagonal pupil's
spikes, the slice width along beta), so the covered part's mean is not the whole annulus's
``(E(r_out) - E(r_in)) / (pi (r_out^2 - r_in^2))``.  With the whole annulus, a noise-free 4C
source came out 0.4-0.8 % low, the covered part holding 1.1-1.7x the whole annulus's mean
(docs/mrs.md); where the field leaves none of the annulus, the whole annulus.
``E(r)`` the share of a point source's light within ``r`` of it in the cube as the extraction
weighs it: the true PSF (:func:`simulator.mrs.psf_image`, its samples fractions of the whole
sky's light) convolved, per axis, with the box of the pixel's footprint twice (the pixel
integrates the light over it; the drizzle spreads the pixel over the spaxels it overlaps) and
the spaxel's box twice (the spaxel averages the light over it; the extraction weighs each
spaxel by its share inside the circle or annulus, one value over the spaxel, and averaged over
where the source sits in the spaxel grid that step function is the circle convolved with the
spaxel's box): along beta the slice width ``beta_del``, along alpha the band's median pixel
extent, the spaxel :data:`instrument.mrs.CUBE_SPAXEL_ARCSEC`.  With the spaxel's box once,
noise-free sources came out 0.13-0.21 % low in 2A and 0.07-0.26 % in 1A, the annulus's share
0.4-2 % above the table's (docs/mrs.md); and along alpha the default cube kernel's Gaussian,
sigma :data:`instrument.mrs.CUBE_ALPHA_SIGMA_PIXELS` median pixels (none with the default
``drizzle``; a default that smoothed each pixel's box in alpha would widen the image by it).  The
table is for the default cubes, as a real APCORR is measured with the pipeline's default cube
build; a cube made with another kernel takes another table (docs/mrs.md: the cost).  That kernel
is the drizzle's mean over the source's position within a pixel: an APPROXIMATION (one exposure
samples one position; a source away from the target sees another part of the annulus: docs/mrs.md).

* ``perfect``: that table.
* ``measured`` (default): ``apcorr (1 + e_b(lambda))`` per band, ``e_b`` a grey term and a
  smooth cubic over the band's range of ``apcorr_error`` rms each
  (:func:`simulator.references.smooth_relative_error`: a standard star's cube, its
  extraction and the PSF model's uncertainty; 0.3 %, a PLACEHOLDER, unsourced); APCORR_ERR
  ``apcorr x apcorr_error`` (0 for perfect).  The table is the model plus a drawn error,
  not extracted from a simulated standard-star exposure.
"""
import numpy as np
from scipy import ndimage
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import mrs

from . import mrs as smrs
from .references import smooth_relative_error

#: Radii of the table in lambda / D (the extraction's 3 among them); the background annulus, lambda / D.
RADII_LD, ANNULUS_LD = (2.0, 2.5, 3.0, 3.5, 4.0), (4.5, 6.0)


def _box(image, width, sample, axis):
    """``image`` convolved along ``axis`` with a box of ``width`` arcsec (fractional end samples)."""
    half = width / sample / 2
    n = int(np.ceil(half - 0.5))
    x = np.arange(-n, n + 1)
    kernel = np.clip(np.minimum(x + 0.5, half) - np.maximum(x - 0.5, -half), 0, None)
    return ndimage.convolve1d(image, kernel / kernel.sum(), axis=axis, mode="constant")


def cube_psf(name, wavelength_um):
    """Band ``name``'s point source in a cube as the extraction weighs it, at a PSF node (module docstring).

    Rows beta, columns alpha.
    """
    geometry = mrs.band(name)
    flight = smrs.flight_pixels(name)
    sample = smrs.psf_sample_arcsec(name)
    spaxel = mrs.CUBE_SPAXEL_ARCSEC[geometry.channel]
    image = smrs.psf_image(name, float(wavelength_um))
    width_alpha = float(np.median(flight.alpha_hi - flight.alpha_lo))
    for axis, pixel in ((0, geometry.beta_del), (1, width_alpha)):
        for width in (pixel, pixel, spaxel, spaxel):  # each box twice (module docstring)
            image = _box(image, width, sample, axis)
    if mrs.CUBE_ALPHA_SIGMA_PIXELS > 0:
        image = ndimage.gaussian_filter1d(image, mrs.CUBE_ALPHA_SIGMA_PIXELS * width_alpha / sample, axis=1,
                                          mode="constant")
    return image


def _offsets(n, sample):
    """The centres of ``n`` samples of ``sample`` arcsec about the grid's centre."""
    return (np.arange(n) - (n - 1) / 2) * sample


def encircled(image, sample, radii):
    """The share of the light within each of ``radii`` (arcsec) of the grid's centre."""
    centres = _offsets(image.shape[0], sample)
    r = np.hypot(centres[:, None], centres[None, :]).ravel()
    order = np.argsort(r)
    return np.interp(radii, r[order], np.cumsum(image.ravel()[order]))


def field_mask(name, alpha, beta):
    """Whether each ``(alpha, beta)`` (arcsec) is in a slice of band ``name``: its beta strip, its SIAF alpha extent."""
    geometry = mrs.band(name)
    alpha, beta = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(beta, float))
    inside = np.zeros(alpha.shape, bool)
    for slice_id, centre in zip(geometry.slices, geometry.beta, strict=True):
        lo, hi = geometry.alpha_limits(slice_id)
        inside |= (np.abs(beta - centre) <= geometry.beta_del / 2) & (alpha >= lo) & (alpha <= hi)
    return inside


def annulus_density(image, sample, radii, covered):
    """Mean share of the light per arcsec^2 over the samples between ``radii`` (arcsec) where ``covered``.

    The whole annulus's mean where ``covered`` holds none of it (the extraction has no background there).
    """
    centres = _offsets(image.shape[0], sample)
    r = np.hypot(centres[:, None], centres[None, :])
    ring = (r >= radii[0]) & (r <= radii[1])
    part = ring & covered if np.any(ring & covered) else ring
    return float(image[part].mean()) / sample**2


def covered_samples(name, target):
    """Which samples of the PSF grid about ``target`` (the source's ``(alpha, beta)``, arcsec) band ``name`` covers."""
    offsets = _offsets(smrs.PSF_SAMPLES, smrs.psf_sample_arcsec(name))
    return field_mask(name, target[0] + offsets[None, :], target[1] + offsets[:, None])


def correction(name, image, lambda_d, radii_ld, covered):
    """``1 / (EE(r) - density pi r^2)`` of a :func:`cube_psf` image at ``r = radii_ld lambda_d`` (module docstring).

    ``lambda_d``: ``lambda / D`` at the image's wavelength, arcsec; ``covered``: :func:`covered_samples`.
    """
    sample = smrs.psf_sample_arcsec(name)
    radii = np.asarray(radii_ld) * lambda_d
    density = annulus_density(image, sample, np.asarray(ANNULUS_LD) * lambda_d, covered)
    return 1 / (encircled(image, sample, radii) - density * np.pi * radii**2)


def band_table(name, target):
    """``(wavelength (n_w,), radius (n_r, n_w) arcsec, apcorr (n_r, n_w))`` of band ``name``, perfect.

    ``target``: the source's ``(alpha, beta)`` in the band, arcsec (the field's cut of the annulus, module docstring).
    """
    nodes = smrs.psf_nodes(name)
    ld = mrs.lambda_over_d(nodes)
    k = np.asarray(RADII_LD)
    covered = covered_samples(name, target)
    apcorr = np.empty((len(k), len(nodes)))
    for j, (node, scale) in enumerate(zip(nodes, ld, strict=True)):
        apcorr[:, j] = correction(name, cube_psf(name, node), scale, k, covered)
    return nodes, k[:, None] * ld[None, :], apcorr


def apcorr_model(bands, channels, setting, options, rng, target_v2v3):
    """The exposure's ``MirMrsApcorrModel`` (module docstring).

    Parameters
    ----------
    bands : sequence of str
        The exposure's two bands.
    channels, setting : str
        Its CHANNEL (``"12"``) and BAND (``"SHORT"``), copied into the table.
    options : simulator.config.ReferenceOptions
    rng : numpy.random.Generator
        Draws the measured table's errors.
    target_v2v3 : (float, float)
        Where the exposure's target lands, telescope ``(V2, V3)`` arcsec.
    """
    measured = options.kind == "measured"
    parts = []
    for name in bands:
        wavelength, radius, apcorr = band_table(name, mrs.band(name).from_v2v3(*target_v2v3))
        if measured:
            apcorr = apcorr * (1 + smooth_relative_error(wavelength, mrs.band(name).wavelength_range,
                                                         options.apcorr_error, rng))
        parts.append((wavelength, radius, apcorr))
    order = np.argsort(np.concatenate([p[0] for p in parts]))
    wavelength = np.concatenate([p[0] for p in parts])[order]
    radius = np.concatenate([p[1] for p in parts], axis=1)[:, order]
    apcorr = np.concatenate([p[2] for p in parts], axis=1)[:, order]
    model = dm.MirMrsApcorrModel()
    model.apcorr_table = {
        "channel": channels, "band": setting, "wavelength": wavelength.astype(np.float32),
        "wavelength_units": "micron", "radius": radius.astype(np.float32), "radius_units": "arcsec",
        "apcorr": apcorr.astype(np.float32),
        "apcorr_err": (apcorr * (options.apcorr_error if measured else 0.0)).astype(np.float32)}
    return model
