"""Make one exposure set: the uncal files of an association, their truth and reference folder.

One function per mode turns the scene into light on that mode's detectors
(:data:`MODES`; the imager: :mod:`simulator.imager`); everything after that is shared:
the detector layer (:mod:`simulator.detector`, which sees only a
:class:`simulator.config.Readout`), the detector's reference files
(:mod:`simulator.references`), the uncal files and the association that lists them.

Seeding (one documented way, after GalSim's rule): a single integer ``seed`` feeds a
``numpy.random.SeedSequence`` whose spawned children drive, in this order, the scene
(random fields), the detector's pixel properties, the ramp noise, the reference
measurements, the EMI waveform (the fifth child: adding it left the first four, and
so every earlier exposure, unchanged; EMI on or off leaves the noise the same), the
optics (true pointing, measured optics references) and the association's companion
exposures (the seventh: each companion's ramp noise and EMI from two children of it, so
asking for a companion changes nothing of the science exposure).  The seed is written
into the truth file, so any exposure is remade exactly from its record.  The exposures of
an MRS dither set share one seed (one sky, one detector, one set of references) and each
position ``p`` > 1 draws its own ramp noise, cosmic rays, EMI and companions from the
``(p - 1)``-th child of those streams (:data:`PER_EXPOSURE`): otherwise every position
would repeat the first one's noise draws. Position 1 and undithered exposures keep the
streams themselves, so their records are unchanged.

Association: ``<name>_asn.json`` (a JWST association) lists the science exposure and its
companions by role; the imager's dedicated background (``Observation.background_exposure``)
is the same detector (same pixels, dark, gain, bad pixels) observing the offset field
of :func:`simulator.background.dedicated_observation` right after the science
exposure, written as ``<name>_bkg_uncal.fits`` (BKGDTARG = T), its ``background``
member, which the calibration's ``background=dedicated`` variant finds.  A companion's
cosmic rays and EMI are not in the truth file.
"""
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from astropy.time import Time
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import readout as readout_rules
from miri_testbed.instrument.files import save_model, write_text

from . import detector, emi, imager, lrs, mrs, trace_defects
from .config import Effects, ReferenceOptions
from .references import write_detector_references
from .truth import write_truth
from .tso import describe as describe_tso

STREAMS = ("scene", "detector", "ramps", "references", "emi", "optics", "companions")
#: The streams of what happens during one exposure, drawn anew at each position of a dither set.
PER_EXPOSURE = ("ramps", "emi", "companions")

#: Mode name -> the module that turns a scene into light on its detectors (see
#: :mod:`simulator.imager` for what such a module provides).
MODES = {"imager": imager, "lrs_slit": lrs, "lrs_slitless": lrs, "mrs": mrs}

#: Uncal file suffix of each companion role.
ROLE_SUFFIX = {"background": "_bkg"}


def rng_streams(seed, exposure_index=0):
    """Independent generators, one per stream of :data:`STREAMS`, from one integer seed.

    ``exposure_index`` k > 0 (a dither set's, :func:`dither_index`) takes the :data:`PER_EXPOSURE` streams
    from their k-th child instead (module docstring), the others as for k = 0.
    """
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    if exposure_index:
        children = [child.spawn(exposure_index)[-1] if name in PER_EXPOSURE else child
                    for name, child in zip(STREAMS, children, strict=True)]
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)}


def dither_index(observation):
    """0 for an undithered exposure and a dither set's first position, ``p - 1`` at position ``p``."""
    return observation.dither_position - 1 if getattr(observation, "dither_points", 0) else 0


def mode_of(observation):
    """The simulator module of ``observation``'s mode; a mode not built yet is a clear error."""
    if observation.mode not in MODES:
        raise NotImplementedError(f"the simulator has no {observation.mode!r} mode yet; built: {', '.join(MODES)}")
    return MODES[observation.mode]


def ramp_model(data, observation, label=None, target=None):
    """A ``RampModel`` carrying the metadata the pipeline reads: the readout's (shared by
    every mode) and the mode's own (its ``describe_exposure``); ``label``, when given, as its
    OBSLABEL (:func:`exposure_label`), ``target`` as its TARGPROP (:func:`target_name`).
    """
    ro = observation.readout
    sub = readout_rules.subarray(ro.subarray)
    patt = readout_rules.readout_pattern(ro.readpatt)
    # an all-zero GROUPDQ of pages never written takes no memory (the model's default is filled in)
    model = dm.RampModel(data=data, groupdq=np.zeros(data.shape, np.uint8))
    meta = model.meta
    meta.telescope = "JWST"
    meta.instrument.name = "MIRI"
    meta.instrument.detector = ro.detector
    meta.exposure.readpatt = patt.name
    meta.exposure.ngroups = ro.ngroups
    meta.exposure.nints = ro.nints
    meta.exposure.nframes = patt.nframes
    meta.exposure.groupgap = patt.groupgap
    meta.exposure.nsamples = patt.samples_per_read
    meta.exposure.sample_time = det.PIXEL_CLOCK_S * 1e6  # microseconds
    meta.exposure.frame_time = ro.frame_time
    meta.exposure.group_time = ro.group_time
    meta.exposure.nresets_at_start = 1
    meta.exposure.nresets_between_ints = patt.resets_between_integrations
    t_int = ro.ngroups * ro.group_time
    duration = readout_rules.exposure_time(ro.subarray, ro.readpatt, ro.ngroups, ro.nints)
    meta.exposure.integration_time = t_int
    meta.exposure.exposure_time = t_int * ro.nints
    meta.exposure.effective_exposure_time = t_int * ro.nints
    meta.exposure.duration = duration
    meta.exposure.start_time = ro.epoch_mjd
    meta.exposure.mid_time = ro.epoch_mjd + duration / 2 / 86400
    meta.exposure.end_time = ro.epoch_mjd + duration / 86400
    start = Time(ro.epoch_mjd, format="mjd", scale="utc")
    meta.observation.date, meta.observation.time = start.isot.split("T")
    if label is not None:
        meta.observation.observation_label = label
    if target is not None:
        meta.target.proposer_name = target
    meta.subarray.name = sub.name
    meta.subarray.xstart = sub.xstart
    meta.subarray.ystart = sub.ystart
    meta.subarray.xsize = sub.xsize
    meta.subarray.ysize = sub.ysize
    meta.subarray.fastaxis = 1
    meta.subarray.slowaxis = 2
    mode_of(observation).describe_exposure(meta, observation)
    if getattr(observation, "tso", False):
        describe_tso(model, ro)
    return model


def exposure_label(name, seed, config):
    """The exposure's OBSLABEL, written into its uncal files and its truth: ``"<name> seed <seed> <digest>"``.

    ``digest`` is the first 12 hex digits of the SHA-256 of the configuration (JSON, keys sorted), so
    two exposures share a label only if they were made from the same scene, observation, effects,
    references and seed.  The calibration copies OBSLABEL into every product (it is part of the
    exposure's metadata), which lets the scorer refuse a product made from another exposure than
    its truth's (:func:`validation.score.check_same_exposure`).
    """
    return f"{name} seed {seed} {_digest(config)}"


def _digest(config):
    """The first 12 hex digits of the SHA-256 of ``config`` as JSON with its keys sorted."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]


def target_name(scene_config):
    """The exposure's TARGPROP, ``"scene <digest>"`` (its scene configuration's :func:`_digest`): the
    exposures of one scene (a dither set's positions) share it and those of another scene do not, as a
    program's target names tell its targets apart.
    """
    return f"scene {_digest(scene_config)}"


def write_association(path, name, members, mode):
    """A JWST level-2 association of ``members``, ``[(exptype, uncal path), ...]``
    (``science`` first), as one product ``name``: ``image2`` for the imager, ``spec2`` for the
    spectrographs, as jwst's level-2 rules name them.
    """
    rows = [{"expname": Path(p).name, "exptype": role} for role, p in members]
    asn = {"asn_type": "image2" if mode == "imager" else "spec2", "asn_rule": "miri-testbed exposure set",
           "asn_pool": "miri-testbed",
           "products": [{"name": name, "members": rows}]}
    return write_text(path, json.dumps(asn, indent=2) + "\n")


def simulate(scene, observation, outdir, *, name="exposure", seed=0, effects=None, references=None,
             emi_lines=None):
    """Simulate one exposure set (see the module docstring) into ``outdir``.

    Parameters
    ----------
    scene : simulator.config.Scene
    observation : simulator.config.Observation
        Of any mode in :data:`MODES`.
    outdir : path-like
    name : str
        Stem of the files: ``<name>_uncal.fits``, ``<name>_truth.fits``, ``<name>_asn.json``.
    seed : int
        The one seed of every random stream (:func:`rng_streams`).
    effects : simulator.config.Effects, optional
        Default: everything on.
    references : simulator.config.ReferenceOptions, optional
        Default: ``measured``.
    emi_lines : list of simulator.emi.EmiLine, optional
        Replaces the EMI drawn from ``effects`` for the science exposure.

    Returns
    -------
    dict
        ``uncal``, ``truth``, ``refs`` (folder), ``reference_files`` ({reftype: path}),
        ``association`` and ``members`` (``[(role, uncal path), ...]``, science first),
        and one key per companion role (e.g. ``background``).
    """
    effects = effects or Effects()
    references = references or ReferenceOptions()
    mode = mode_of(observation)
    if scene.transit is not None and not getattr(observation, "tso", False):
        raise ValueError("a scene's transit needs a time series observation (LrsObservation(tso=True))")
    outdir = Path(outdir)
    rngs = rng_streams(seed, dither_index(observation))
    ro = observation.readout
    truth = detector.draw_detector(ro, effects.detector, rngs["detector"])
    light = mode.illuminate(scene, observation, effects, rngs["optics"])
    if ro.detector in light.defects:
        truth = trace_defects.apply(truth, light.defects[ro.detector])
    if emi_lines is None:
        emi_lines = emi.draw(ro, effects.detector, rngs["emi"])
    config = {
        "mode": observation.mode,
        "scene": {"background_mjy_sr": scene.background_mjy_sr, "sources": [asdict(s) for s in scene.sources],
                  **({"transit": asdict(scene.transit)} if scene.transit is not None else {})},
        "observation": asdict(observation),
        "effects": asdict(effects),
        "references": asdict(references),
        "seed": seed,
    }
    label = exposure_label(name, seed, config)
    companions = mode.companions(scene, observation, effects, light)
    # One ramp-sized array at a time, each written and let go before the next is made (the
    # streams are independent, so the order of the files does not change their content):
    # the uncal, the truth's linear signal and event mask, the references, the companions.
    varying = light.varying(ro.detector)
    data, events = detector.ramps(light.images[ro.detector], ro, truth, effects.detector, rngs["ramps"], emi_lines,
                                  varying)
    uncal = save_model(ramp_model(data, observation, label, target_name(config["scene"])),
                       outdir / f"{name}_uncal.fits")
    del data
    events["linear"] = detector.linear_signal(light.images[ro.detector], ro, truth, effects.detector, events,
                                              varying)
    truth_path = write_truth(
        outdir / f"{name}_truth.fits", config=config, seed=seed, observation=observation, light=light,
        truth=truth, events=events, label=label,
        background_observation=next((obs for role, obs, *_ in companions if role == "background"), None),
    )
    del events
    refs = write_detector_references(outdir / "refs", truth, ro, references, effects.detector, rngs["references"],
                                     emi_lines)
    refs.update(mode.write_references(outdir / "refs", scene, observation, references, effects, truth, light,
                                      rngs["references"], rngs["optics"]))
    members, paths = [("science", uncal)], {}
    children = rngs["companions"].spawn(2 * len(companions))
    for (role, obs, images, keywords), ramps_rng, emi_rng in zip(companions, children[::2], children[1::2]):
        cro = obs.readout
        model = ramp_model(detector.ramps(images[cro.detector], cro, truth, effects.detector, ramps_rng,
                                          emi.draw(cro, effects.detector, emi_rng))[0], obs, label)
        for key, value in keywords.items():
            model[key] = value
        paths[role] = save_model(model, outdir / f"{name}{ROLE_SUFFIX[role]}_uncal.fits")
        members.append((role, paths[role]))
        del model  # its ramps go before the next companion's are made
    association = write_association(outdir / f"{name}_asn.json", name, members, observation.mode)
    return {"uncal": uncal, "truth": truth_path, "refs": outdir / "refs", "reference_files": refs,
            "association": association, "members": members, **paths}
