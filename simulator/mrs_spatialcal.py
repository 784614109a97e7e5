"""The testbed's MRS spatial calibration: each band's alpha/beta offset measured on a simulated point-source raster.

The flight DISTORTION's alpha and beta differ from the truth by ``(d_alpha, d_beta)`` per band
(:class:`simulator.mrs.Perturbation`; the flight solution is good to 8-23 mas on sky, issue
16).  As the MIRI team located the MRS fields with point sources stepped across them, the
testbed observes a raster through the TRUE geometry (:func:`simulator.mrs.raster_offsets`)
and measures it knowing only the flight files:

1. **Raster.**  :data:`RASTER_SIDE` x :data:`RASTER_SIDE` positions about the band's field
   centre (:func:`raster`), stepped by a slice width / n across the slices (beta) and by a
   pixel's alpha extent / n along them, so the positions sample every phase of the slice and
   pixel grids evenly.  The telescope puts each at its commanded ``(alpha_c, beta_c)`` plus a
   pointing error of :data:`POINTING_MAS` rms per axis (PLACEHOLDER: the accuracy of small
   offsets is not in the parameter reference).
2. **Exposure.**  A flat-F_nu point source of :data:`SOURCE_MJY` (PLACEHOLDER: a bright
   standard star), every :data:`ROW_STEP`-th detector row rendered (the exposure's cost),
   :data:`EXPOSURE_S` of Poisson electrons plus the read noise.  Only the wavelengths every
   slice of the band sees are measured (:func:`measured_pixels`): each slice reaches a little
   further at one end than its neighbours, and that extra light, unequal from slice to slice,
   pulled the beta centroid by up to 5 mas (3C) on a noise-free raster.
3. **Centroid.**  In flight coordinates, the light-weighted mean of the pixels' flight
   alpha and their slices' flight beta within a box of +/- :data:`WINDOW_LD` lambda/D (the
   band's longest wavelength) about the current estimate, re-centred :data:`ITERATIONS`
   times so the box ends symmetric about the source (no truncation pull).
4. **Offset.**  Light from a true ``alpha_s`` falls where ``alpha_F + d_alpha = alpha_s``, so
   each position gives ``d = commanded - centroid`` per axis; the band's offset is their
   mean, its error their standard deviation over sqrt(n^2).

No inverse crime: the measurement knows no PSF model; it relies on the PSF's point symmetry
(any real pupil's intensity PSF is symmetric under ``r -> -r``) and on the raster's even
phases, under which a sampled centroid's periodic bias (the S-curve) averages out.  Its
error is the pointing errors' mean (2 / 4 = 0.5 mas rms), the photon noise and the S-curve's
residual over a discrete set of phases.
"""
import numpy as np

from miri_testbed.instrument import mrs

from .spectra import PowerLaw, SourceSpectrum

#: Raster positions per axis (PLACEHOLDER design: 16 positions, even phases).
RASTER_SIDE = 4
#: Pointing error of each raster position, mas rms per axis (PLACEHOLDER).
POINTING_MAS = 2.0
#: The raster source's flat F_nu, mJy (PLACEHOLDER: a bright standard star).
SOURCE_MJY = 100.0
#: Each position's exposure, s (PLACEHOLDER).
EXPOSURE_S = 100.0
#: Every this many detector rows is rendered and measured.
ROW_STEP = 8
#: Half width of the centroid box, lambda/D at the band's longest wavelength.
WINDOW_LD = 3.0
#: Re-centrings of the centroid box.
ITERATIONS = 4


def source():
    """The raster's source spectrum (module docstring, 2)."""
    return SourceSpectrum(PowerLaw(flux_mjy=SOURCE_MJY, ref_um=5.0, index=0.0), ())


def measured_pixels(row, slice_id, wavelength):
    """Which of a band's pixels are rendered and measured (module docstring, 2), per pixel.

    Every :data:`ROW_STEP`-th row, within the wavelengths all the band's slices see.
    """
    ids = np.unique(slice_id)
    lo = max(wavelength[slice_id == s].min() for s in ids)
    hi = min(wavelength[slice_id == s].max() for s in ids)
    return (row % ROW_STEP == 0) & (wavelength >= lo) & (wavelength <= hi)


def raster(name, alpha_step):
    """The commanded ``(alpha, beta)`` of band ``name``'s raster in its frame, arcsec, ``(n^2, 2)``.

    ``alpha_step``: the band's pixel extent in alpha (arcsec); beta steps by the slice width.
    Centred on the field: alpha 0 and the middle slice's beta.
    """
    geometry = mrs.band(name)
    phases = (np.arange(RASTER_SIDE) + 0.5) / RASTER_SIDE - 0.5
    beta_centre = float(np.median(geometry.beta))
    alpha, beta = np.meshgrid(phases * alpha_step, beta_centre + phases * geometry.beta_del, indexing="ij")
    return np.stack([alpha.ravel(), beta.ravel()], axis=1)


def centroid(electrons, alpha, beta, start, half_width):
    """The light-weighted flight ``(alpha, beta)`` of a point source in a re-centred box (module docstring, 3).

    ``electrons``, ``alpha``, ``beta``: per pixel (1-D); ``start``: the first box centre.
    """
    centre = np.asarray(start, float)
    for _ in range(ITERATIONS):
        box = (np.abs(alpha - centre[0]) <= half_width) & (np.abs(beta - centre[1]) <= half_width)
        light = electrons[box]
        total = light.sum()
        if not total > 0:
            raise RuntimeError(f"MRS spatial calibration: no light within {half_width:.2f} arcsec of "
                               f"({centre[0]:.3f}, {centre[1]:.3f})")
        centre = np.array([light @ alpha[box], light @ beta[box]]) / total
    return centre


def measured_offset(name, exposures, alpha, beta, commanded):
    """Band ``name``'s ``(d_alpha, d_beta)`` and their errors, arcsec, from its raster (module docstring, 4).

    Parameters
    ----------
    exposures : sequence of numpy.ndarray
        Electrons per pixel of the rendered rows, one array per raster position.
    alpha, beta : numpy.ndarray
        The same pixels' flight alpha (centre) and slice beta, arcsec.
    commanded : numpy.ndarray
        ``(n, 2)`` the positions commanded (:func:`raster`).
    """
    half_width = WINDOW_LD * mrs.lambda_over_d(mrs.band(name).wavelength_range[1])
    found = np.array([centroid(e, alpha, beta, c, half_width) for e, c in zip(exposures, commanded, strict=True)])
    offsets = commanded - found
    return offsets.mean(axis=0), offsets.std(axis=0, ddof=1) / np.sqrt(len(offsets))
