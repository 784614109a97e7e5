"""The imager's PSF reference as a calibration programme measures it: an empirical PSF.

A real PSF model is measured on bright stars (MIRI imager ePSFs: Libralato et al. 2024,
PASP 136, 034502), or computed by STPSF and tuned on them; it is never the optics
themselves.  The ``measured`` reference here is an effective PSF (ePSF: the PSF
integrated over a pixel, as a function of the offset of the pixel centre from the
source, at ``OVERSAMPLE`` samples per pixel; Anderson & King 2000, PASP 112, 1360)
measured from a simulated calibration programme by interlacing a sub-pixel dither:

* one bright star of ``STAR_ELECTRONS`` electrons (PLACEHOLDER) observed ``REPEATS``
  times at each of the ``OVERSAMPLE**2`` sub-pixel phases ``(i, j) / OVERSAMPLE``, each
  exposure off its commanded phase by a pointing scatter of ``PHASE_SCATTER_PIX`` per
  axis (PLACEHOLDER) that the programme does not know;
* rendered by the simulator's PSF (:mod:`simulator.psf`) without the cruciform, as the
  APCORR reference is (the catalog measures an image whose cross the cruciform step has
  removed), on a sky of ``SKY_ELECTRONS`` per pixel (PLACEHOLDER), with Poisson noise;
  each exposure's sky is the sigma-clipped median of its frame's margin, beyond the
  stamp (a sky annulus beyond the model's reach: a median of the whole frame takes the
  halo of so bright a star for sky, and a model whose halo is low by it leaves false
  sources around every bright star it is fit to) and is subtracted;
* the exposures of each phase averaged, and the ``OVERSAMPLE**2`` phase images
  interlaced: with the star at ``n + i / OVERSAMPLE``, pixel ``n + q`` samples the ePSF
  at offset ``q - i / OVERSAMPLE``, so each phase fills one of the interlaced sub-grids;
* normalised to unit sum at detector sampling (``sum = OVERSAMPLE**2``) over the PSF's
  own stamp, which reaches beyond the APCORR sky annulus (the catalog's ``psf`` variant
  ties its flux scale to the aperture measurement of the model there) and holds the
  diffraction spikes.

So the reference differs from the truth as a measured one does: photon noise (mostly
in the wings), the pointing scatter (a blur and a shape error of the core), the sky
estimate, and a stamp that ends.  The programme is run once per filter with a fixed
seed (one reference file serves every exposure, as one CRDS file does) and cached on
disk beside the PSF it was made from.  Cost: 2-5 s per filter, once per machine.

``perfect``: the truth's ePSF, the oversampled intensity of :mod:`simulator.psf`
summed over OVERSAMPLE x OVERSAMPLE blocks centred on each sample point of the output
grid, normalised to the source's total light (its sum over the stamp is the stamp
fraction times ``OVERSAMPLE**2``).
"""
import hashlib
import json

import numpy as np
from astropy.stats import sigma_clipped_stats
from scipy.signal import convolve2d

from miri_testbed.instrument import imager
from miri_testbed.instrument.files import atomic_path

from . import psf

OVERSAMPLE = psf.OVERSAMPLE
#: Exposures per sub-pixel phase.  PLACEHOLDER.
REPEATS = 8
#: Electrons of the calibration star per exposure, and of the sky per pixel.  PLACEHOLDERS.
STAR_ELECTRONS = 1e8
SKY_ELECTRONS = 2e5
#: Pointing scatter about each commanded phase, pixels rms per axis (a few mas).  PLACEHOLDER.
PHASE_SCATTER_PIX = 0.02
#: Pixels of sky around the stamp in each exposure's frame.
FRAME_MARGIN = 60
#: Seed of the calibration programme (one run per filter).
PROGRAMME_SEED = 20220701
#: Version of this procedure: bump it when it changes so old cache files are ignored.
VERSION = 2


def stamp_half(filter_name, skyout):
    """Half width (pixels) of the ePSF stamp.

    That of the PSF itself (101 or 161 pixels wide, as an STPSF grid's stamp), and at
    least 2 pixels beyond the sky annulus of outer radius ``skyout``.  A model that
    reaches as far as the diffraction spikes lets the catalog subtract a bright star's
    spikes, which it would otherwise take for sources.
    """
    return max(psf.stamp_size(filter_name) // 2, int(np.ceil(skyout)) + 2)


def perfect(filter_name):
    """The truth's ePSF (module docstring): ``OVERSAMPLE * (n - 1) + 1`` samples square for a stamp of n pixels."""
    intensity = psf.oversampled(filter_name)[0]
    # The intensity has an even number of samples per axis, centred between the middle
    # two; the "valid" block sums are centred on samples k + 1.5, which puts the middle
    # one on the source.
    return convolve2d(intensity, np.ones((OVERSAMPLE, OVERSAMPLE)), mode="valid")


def _phase_images(filter_name, half, rng):
    """Sky-subtracted mean frames (electrons) per phase: ``images[j, i]``, star at ``c + (i, j) / OVERSAMPLE``."""
    size = 2 * (half + 1 + FRAME_MARGIN) + 1
    c = size // 2
    images = np.zeros((OVERSAMPLE, OVERSAMPLE, size, size))
    margin = np.ones((size, size), bool)
    margin[c - half - 1:c + half + 2, c - half - 1:c + half + 2] = False
    for j in range(OVERSAMPLE):
        for i in range(OVERSAMPLE):
            for _ in range(REPEATS):
                dx, dy = PHASE_SCATTER_PIX * rng.standard_normal(2)
                frame = np.full((size, size), SKY_ELECTRONS)
                psf.add_point_source(frame, c + i / OVERSAMPLE + dx, c + j / OVERSAMPLE + dy, STAR_ELECTRONS,
                                     filter_name)
                frame = rng.poisson(frame).astype(float)
                frame -= sigma_clipped_stats(frame[margin], sigma=3.0)[1]
                images[j, i] += frame / REPEATS
    return images[..., c - half - 1:c + half + 2, c - half - 1:c + half + 2]


def interlace(images, half):
    """The ePSF from phase images ``images[j, i]`` (star at ``(i, j) / OVERSAMPLE`` from the middle pixel).

    Pixel ``q`` of phase ``i`` samples the offset ``q - i / OVERSAMPLE``, the ePSF sample
    ``OVERSAMPLE * (q + half) - i`` of a grid centred on sample ``OVERSAMPLE * half``.

    Parameters
    ----------
    images : (OVERSAMPLE, OVERSAMPLE, 2 half + 3, 2 half + 3) float
        Pixels ``q = -half - 1 .. half + 1`` around the star's pixel.
    half : int

    Returns
    -------
    (2 OVERSAMPLE half + 1,) * 2 float
        Unnormalised.
    """
    n = 2 * OVERSAMPLE * half + 1
    out = np.zeros((n, n))
    q = np.arange(-half - 1, half + 2)
    for j in range(OVERSAMPLE):
        rows = OVERSAMPLE * (q + half) - j
        keep_r = (rows >= 0) & (rows < n)
        for i in range(OVERSAMPLE):
            cols = OVERSAMPLE * (q + half) - i
            keep_c = (cols >= 0) & (cols < n)
            out[np.ix_(rows[keep_r], cols[keep_c])] = images[j, i][np.ix_(keep_r, keep_c)]
    return out


def measured(filter_name, skyout):
    """The calibration programme's ePSF of the filter (module docstring), from the disk cache or measured.

    Parameters
    ----------
    filter_name : str
    skyout : float
        Outer radius of the APCORR sky annulus, pixels (the stamp reaches beyond it).

    Returns
    -------
    numpy.ndarray
        The ePSF at OVERSAMPLE samples per pixel, normalised to ``sum = OVERSAMPLE**2``,
        centred on its middle sample.
    """
    half = stamp_half(filter_name, skyout)
    params = [VERSION, psf.cache_key(filter_name), half, REPEATS, STAR_ELECTRONS, SKY_ELECTRONS, PHASE_SCATTER_PIX,
              FRAME_MARGIN, PROGRAMME_SEED]
    key = hashlib.sha256(json.dumps(params).encode()).hexdigest()[:16]
    path = psf.cache_dir() / f"epsf_{filter_name.lower()}_{key}.npy"
    try:
        return np.load(path)
    except (OSError, ValueError):
        pass  # not measured yet, or a damaged file: measure and replace it
    index = list(imager.FILTERS).index(imager.imager_filter(filter_name).name)
    data = interlace(_phase_images(filter_name, half, np.random.default_rng([PROGRAMME_SEED, index])), half)
    data *= OVERSAMPLE**2 / data.sum()
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, data)
    return data
