"""The imager mode: how a scene becomes light on MIRIMAGE, and what the imager adds to an
exposure's files.

A mode answers four questions for :func:`simulator.exposure.simulate`, which does
everything else (the detector layer, the detector's references, the files) the same way
for every mode:

* :func:`illuminate`: the scene -> ``{detector: e-/s/pixel}`` plus the truth only this
  mode knows (:class:`simulator.illumination.Illumination`; here: the true pointing and
  the sources' true pixel positions and rates; :mod:`simulator.sky`, :mod:`simulator.pointing`).
* :func:`describe_exposure`: the mode's keywords of the uncal (EXP_TYPE, FILTER, the
  commanded WCS).
* :func:`write_references`: the mode's reference files
  (:mod:`simulator.imager_references`).
* :func:`companions`: the other exposures of the association (a dedicated background
  of an offset field, when the observation asks for one; :mod:`simulator.background`).
"""
import numpy as np
from astropy.table import Table

from miri_testbed.instrument import modes

from . import background, pointing, sky
from .config import PointSource, Scene
from .illumination import Illumination
from .imager_references import write_optics_references, write_photometric_references, write_psf_reference
from .truth import Component

MODE = modes.mode("imager")


def illuminate(scene, observation, effects, rng):
    """The imager's illumination of MIRIMAGE (see the module docstring).

    Parameters
    ----------
    scene : simulator.config.Scene
    observation : simulator.config.Observation
    effects : simulator.config.Effects
    rng : numpy.random.Generator
        The optics stream (the true pointing is drawn from it).

    Returns
    -------
    simulator.illumination.Illumination
        MIRIMAGE's e-/s; FILTER and the true pointing (:func:`simulator.pointing.truth_header`)
        as keywords; the SOURCES component (id, ra, dec, true detector x, y (0-based),
        flux_mjy, rate_e_per_s).

    Raises
    ------
    ValueError
        For a source that is not a :class:`simulator.config.PointSource` (the MRS's and LRS's sources).
    """
    if not all(isinstance(source, PointSource) for source in scene.sources):
        kinds = sorted({type(s).__name__ for s in scene.sources if not isinstance(s, PointSource)})
        raise ValueError(f"the imager simulates PointSource sources; this scene has {', '.join(kinds)}")
    true_pointing = pointing.draw(effects.optics, rng)
    image, rates = sky.illumination(scene, observation, effects, true_pointing)
    x, y = sky.source_positions(scene, observation, true_pointing)
    sources = Table({
        "id": np.arange(len(scene.sources), dtype=int),
        "ra": [s.ra_deg for s in scene.sources],
        "dec": [s.dec_deg for s in scene.sources],
        "x": x,
        "y": y,
        "flux_mjy": [s.flux_mjy for s in scene.sources],
        "rate_e_per_s": rates,
    })
    header = {"FILTER": observation.filter, **pointing.truth_header(observation, true_pointing)}
    description = "scene sources: sky and true pixel position, flux density (mJy), e-/s"
    return Illumination({MODE.detectors[0]: image}, header, (Component("SOURCES", sources, description=description),))


def describe_exposure(meta, observation):
    """Set the imager's keywords of an uncal's metadata: EXP_TYPE, FILTER, target and the
    commanded WCS (:func:`simulator.pointing.wcsinfo`).
    """
    meta.exposure.type = MODE.exp_type
    meta.instrument.filter = observation.filter
    meta.target.ra = observation.ra_deg
    meta.target.dec = observation.dec_deg
    meta.pointing.ra_v1 = observation.ra_deg
    meta.pointing.dec_v1 = observation.dec_deg
    for key, value in pointing.wcsinfo(observation).items():
        setattr(meta.wcsinfo, key, value)


def write_references(folder, scene, observation, options, effects, truth, light, references_rng, optics_rng):
    """Write the imager's references (PHOTOM, APCORR, PSFGRID, CRUCIFORM, DISTPOLY, REFCAT); return
    ``{reftype: path}``.  ``truth`` is the :class:`simulator.detector.DetectorTruth` (its
    gain sets PHOTOM's scale); ``light`` the exposure's illumination (not needed here).
    """
    paths = write_photometric_references(folder, observation, options, effects.optics, truth, references_rng)
    paths.update(write_psf_reference(folder, observation, options))
    paths.update(write_optics_references(folder, scene, options, effects, optics_rng))
    return paths


def companions(scene, observation, effects, light):
    """The association's other exposures: ``[(role, observation, {detector: e-/s}, keywords)]``.

    With ``observation.background_exposure``, the dedicated background: the offset field
    of :func:`simulator.background.dedicated_observation`, lit by the scene's background
    only, flagged BKGDTARG.
    """
    if not observation.background_exposure:
        return []
    obs = background.dedicated_observation(observation)
    image, _ = sky.illumination(Scene((), scene.background_mjy_sr), obs, effects)
    return [("background", obs, {MODE.detectors[0]: image}, {"meta.observation.bkgdtarg": True})]
