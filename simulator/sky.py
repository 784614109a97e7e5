"""Scene -> illumination of the detector in electrons per second per pixel.

Each source lands where its sky position really falls: the true pointing and the
distortion (:mod:`simulator.pointing`; the commanded pointing when no true pointing is
given), spread by the filter's diffraction PSF (:mod:`simulator.psf`); the uniform
background (the scene's, plus the zodiacal + thermal placeholders of
:mod:`simulator.background` when ``effects.optics.background_model``, higher in the Lyot box by
``effects.imager.lyot_offset``) fills every light-sensitive pixel; everything is scaled by the throughput at
the exposure's mid-time (:mod:`simulator.throughput`, when ``effects.optics.throughput_decay``)
and scattered into the cruciform (:mod:`simulator.cruciform`, when ``effects.imager.cruciform``);
the reference columns see no light.
"""
import numpy as np

from miri_testbed.instrument import readout

from . import background, cruciform, psf, throughput
from .config import ImagerEffects, OpticsEffects, PointSource
from .pointing import TruePointing, celestial_wcs, true_pixels


def mid_time_mjd(observation):
    """MJD of the exposure's middle (where the throughput is evaluated, as the pipeline does)."""
    duration = readout.exposure_time(observation.subarray, observation.readpatt, observation.ngroups,
                                      observation.nints)
    return observation.epoch_mjd + duration / 2 / 86400


def source_positions(scene, observation, true_pointing=None):
    """0-based detector (x, y) arrays of the scene's sources in this exposure."""
    if not scene.sources:
        return np.empty(0), np.empty(0)
    ra = np.array([s.ra_deg for s in scene.sources])
    dec = np.array([s.dec_deg for s in scene.sources])
    return true_pixels(observation, true_pointing or TruePointing(), ra, dec)


def illumination(scene, observation, effects=None, true_pointing=None):
    """Electrons per second per pixel, shape ``(ysize, xsize)``, and per-source e-/s.

    ``effects``: a :class:`simulator.config.Effects` (its optics and imager groups);
    ``None`` is the ideal instrument (no decay, no cross, no modelled background).
    """
    optics = effects.optics if effects is not None else OpticsEffects(throughput_decay=False)
    own = effects.imager if effects is not None else ImagerEffects(cruciform=False)
    sub = readout.subarray(observation.subarray)
    image = np.zeros(sub.shape)
    e_per_mjy = throughput.electrons_per_second_per_mjy(observation.filter)
    if optics.throughput_decay:
        e_per_mjy = throughput.electrons_per_second_per_mjy_at(observation.filter, mid_time_mjd(observation))
    sky_mjy_sr = scene.background_mjy_sr
    if optics.background_model:
        sky_mjy_sr += background.model_mjy_sr(observation.filter)
    image += (throughput.surface_brightness_to_mjy_per_pixel(sky_mjy_sr) * e_per_mjy
              * background.relative_map(observation, own.lyot_offset))
    x, y = source_positions(scene, observation, true_pointing)
    source_rates = np.array([s.flux_mjy * e_per_mjy for s in scene.sources])
    for xi, yi, rate in zip(x, y, source_rates):
        psf.add_point_source(image, xi, yi, rate, observation.filter)
    if own.cruciform:
        image = cruciform.apply(image, observation.filter)
    image[:, sub.reference_columns()] = 0.0
    return image, source_rates


def random_star_field(observation, n_stars, flux_min_mjy, flux_max_mjy, rng, margin_pix=20, min_separation_pix=0.0):
    """``n_stars`` point sources uniform over the light-sensitive area (``margin_pix``
    from the edges), fluxes log-uniform in ``[flux_min_mjy, flux_max_mjy]``; with
    ``min_separation_pix``, positions closer than that to an earlier star are redrawn.
    """
    sub = readout.subarray(observation.subarray)
    refcols = sub.reference_columns()
    left = max([c + 1 for c in refcols if c < sub.xsize / 2], default=0)
    right = min([c for c in refcols if c > sub.xsize / 2], default=sub.xsize)
    if right - left <= 2 * margin_pix or sub.ysize <= 2 * margin_pix:
        raise ValueError(f"subarray {sub.name} is too small for a {margin_pix}-pixel margin")
    x, y = [], []
    for _ in range(1000 * n_stars):
        if len(x) == n_stars:
            break
        xi = rng.uniform(left + margin_pix, right - margin_pix - 1)
        yi = rng.uniform(margin_pix, sub.ysize - margin_pix - 1)
        if all(np.hypot(xi - xj, yi - yj) >= min_separation_pix for xj, yj in zip(x, y)):
            x.append(xi)
            y.append(yi)
    if len(x) < n_stars:
        raise ValueError(f"cannot place {n_stars} stars {min_separation_pix} pixels apart in {sub.name}")
    flux = np.exp(rng.uniform(np.log(flux_min_mjy), np.log(flux_max_mjy), n_stars))
    ra, dec = celestial_wcs(observation).wcs_pix2world(np.array(x), np.array(y), 0)
    return tuple(PointSource(float(a), float(d), float(f)) for a, d, f in zip(ra, dec, flux))
