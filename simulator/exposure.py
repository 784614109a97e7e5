"""Make one exposure set: the uncal file, its truth file and its reference folder.

Seeding (one documented way, after GalSim's rule): a single integer ``seed`` feeds a
``numpy.random.SeedSequence`` whose spawned children drive, in this order, the scene
(random fields), the detector's pixel properties, the ramp noise, the reference
measurements, the EMI waveform (the fifth child: adding it left the first four, and
so every earlier exposure, unchanged; EMI on or off leaves the noise the same), the
optics (true pointing, measured optics references) and the dedicated background
exposure (the seventh: its ramp noise and its EMI, so turning it on changes nothing of
the science exposure).  The seed is written into the truth file, so any exposure is
remade exactly from its record.

Dedicated background exposure (``effects.background_exposure``): the same detector
(same pixels, dark, gain, bad pixels) observing the offset field of
:func:`simulator.background.dedicated_observation` right after the science exposure,
lit by the scene's background only (zodiacal/thermal placeholders, Lyot offset, decay
and cruciform as for the science), written as ``<name>_bkg_uncal.fits`` (BKGDTARG = T)
with a JWST image2 association ``<name>_asn.json`` listing it as the science
exposure's ``background`` member.  Its cosmic rays and EMI are not in the truth file.
"""
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import readout
from miri_testbed.instrument.files import atomic_path, save_model, write_text

from . import background, detector, emi, pointing, readclock, sky
from .optics_references import write_optics_references
from .config import DetectorEffects, ReferenceOptions, Scene
from .references import write_reference_set

STREAMS = ("scene", "detector", "ramps", "references", "emi", "optics", "background")


def rng_streams(seed):
    """Independent generators, one per stream of :data:`STREAMS`, from one integer seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


def ramp_model(data, observation):
    """A ``RampModel`` carrying the metadata the pipeline reads."""
    sub = readout.subarray(observation.subarray)
    patt = readout.readout_pattern(observation.readpatt)
    model = dm.RampModel(data=data)
    meta = model.meta
    meta.telescope = "JWST"
    meta.instrument.name = "MIRI"
    meta.instrument.detector = "MIRIMAGE"
    meta.instrument.filter = observation.filter
    meta.exposure.type = "MIR_IMAGE"
    meta.exposure.readpatt = patt.name
    meta.exposure.ngroups = observation.ngroups
    meta.exposure.nints = observation.nints
    meta.exposure.nframes = patt.nframes
    meta.exposure.groupgap = patt.groupgap
    meta.exposure.nsamples = patt.samples_per_read
    meta.exposure.sample_time = det.PIXEL_CLOCK_S * 1e6  # microseconds
    meta.exposure.frame_time = observation.frame_time
    meta.exposure.group_time = observation.group_time
    meta.exposure.nresets_at_start = 1
    meta.exposure.nresets_between_ints = patt.resets_between_integrations
    t_int = observation.ngroups * observation.group_time
    duration = readout.exposure_time(observation.subarray, observation.readpatt, observation.ngroups, observation.nints)
    meta.exposure.integration_time = t_int
    meta.exposure.exposure_time = t_int * observation.nints
    meta.exposure.effective_exposure_time = t_int * observation.nints
    meta.exposure.duration = duration
    meta.exposure.start_time = observation.epoch_mjd
    meta.exposure.mid_time = observation.epoch_mjd + duration / 2 / 86400
    meta.exposure.end_time = observation.epoch_mjd + duration / 86400
    start = Time(observation.epoch_mjd, format="mjd", scale="utc")
    meta.observation.date, meta.observation.time = start.isot.split("T")
    meta.subarray.name = sub.name
    meta.subarray.xstart = sub.xstart
    meta.subarray.ystart = sub.ystart
    meta.subarray.xsize = sub.xsize
    meta.subarray.ysize = sub.ysize
    meta.subarray.fastaxis = 1
    meta.subarray.slowaxis = 2
    meta.target.ra = observation.ra_deg
    meta.target.dec = observation.dec_deg
    meta.pointing.ra_v1 = observation.ra_deg
    meta.pointing.dec_v1 = observation.dec_deg
    for key, value in pointing.wcsinfo(observation).items():
        setattr(meta.wcsinfo, key, value)
    return model


def write_dedicated_background(scene, observation, outdir, name, truth, effects, rng):
    """Simulate and write the dedicated background exposure of ``observation`` (see the
    module docstring); return ``(uncal path, its Observation)``."""
    ramps_rng, emi_rng = rng.spawn(2)
    obs = background.dedicated_observation(observation)
    illumination, _ = sky.illumination(Scene((), scene.background_mjy_sr), obs, effects)
    data, _ = detector.ramps(illumination, obs, truth, effects, ramps_rng, emi.draw(obs, effects, emi_rng))
    model = ramp_model(data, obs)
    model.meta.observation.bkgdtarg = True
    return save_model(model, Path(outdir) / f"{name}_bkg_uncal.fits"), obs


def write_association(path, name, science, backgrounds):
    """A JWST image2 association: the science exposure and its background members."""
    members = [{"expname": Path(science).name, "exptype": "science"}]
    members += [{"expname": Path(b).name, "exptype": "background"} for b in backgrounds]
    asn = {"asn_type": "image2", "asn_rule": "miri-testbed dedicated background", "asn_pool": "miri-testbed",
           "products": [{"name": name, "members": members}]}
    return write_text(path, json.dumps(asn, indent=2) + "\n")


def write_truth(path, *, config, seed, observation, illumination, truth, scene, source_rates, events,
                true_pointing=None, background_observation=None):
    """The truth file: what really went in (never an input to calibration)."""
    x, y = sky.source_positions(scene, observation, true_pointing)
    sources = Table(
        {
            "id": np.arange(len(scene.sources), dtype=int),
            "ra": [s.ra_deg for s in scene.sources],
            "dec": [s.dec_deg for s in scene.sources],
            "x": x,
            "y": y,
            "flux_mjy": [s.flux_mjy for s in scene.sources],
            "rate_e_per_s": source_rates,
        }
    )
    primary = fits.PrimaryHDU()
    primary.header["ORIGIN"] = "miri-testbed simulator"
    primary.header["SEED"] = (seed, "integer seed of every random stream")
    primary.header["FILTER"] = observation.filter
    primary.header["SUBARRAY"] = observation.subarray
    primary.header["EPOCH"] = (observation.epoch_mjd, "exposure start, MJD")
    for key, value in pointing.truth_header(observation, true_pointing).items():
        primary.header[key] = value
    if background_observation is not None:
        primary.header["BKGSTART"] = (background_observation.epoch_mjd, "dedicated background exposure start, MJD")
        primary.header["BKG_RA"] = (background_observation.ra_deg, "dedicated background field RA, deg")
        primary.header["BKG_DEC"] = (background_observation.dec_deg, "dedicated background field Dec, deg")
    primary.header["NGROUPS"] = observation.ngroups
    primary.header["NINTS"] = observation.nints
    primary.header["TGROUP"] = (observation.group_time, "group time, s")
    primary.header["GAIN"] = (float(np.median(truth.gain)), "true gain, e-/DN")
    primary.header["READNOIS"] = (float(np.median(truth.read_noise)), "true read noise of one read, DN")
    hdus = [
        primary,
        fits.ImageHDU(illumination.astype(np.float32), name="ILLUM"),
        fits.ImageHDU((illumination / truth.gain).astype(np.float32), name="RATE"),
        fits.ImageHDU(truth.dark_rate.astype(np.float32), name="DARK"),
        fits.ImageHDU((truth.dead | truth.hot | truth.reference).astype(np.uint8), name="BADPIX"),
        fits.table_to_hdu(sources),
        fits.ImageHDU(np.frombuffer(json.dumps(config, sort_keys=True).encode(), np.uint8), name="CONFIG"),
        fits.ImageHDU(events["linear"], name="LINEAR"),
        fits.ImageHDU(events["mask"], name="EVENTS"),
        fits.table_to_hdu(Table({k: np.asarray(v) for k, v in events["hits"].items()})),
        fits.table_to_hdu(Table(rows=[tuple(s.values()) for s in events["showers"]],
                                names=("t", "x", "y", "a", "b", "angle", "peak_dn"))
                          if events["showers"] else Table(names=("t", "x", "y", "a", "b", "angle", "peak_dn"))),
    ]
    emi_table = fits.table_to_hdu(emi.table(events.get("emi", [])))
    emi_table.name = "EMI"
    emi_table.header["COMMENT"] = ("E(t) = sum_h amplitude_dn sin(2 pi harmonic frequency_hz (1 + drift) t + phase_rad) "
                                   "per line, t = FRAME_START[i, k] + READ_OFFSET[y, x] (s)")
    read_offset = fits.ImageHDU(readclock.pixel_offsets(observation), name="READ_OFFSET")
    read_offset.header["BUNIT"] = "s"
    read_offset.header["COMMENT"] = "seconds from the frame start to each pixel's read"
    frame_start = fits.ImageHDU(readclock.frame_starts(observation), name="FRAME_START")
    frame_start.header["BUNIT"] = "s"
    frame_start.header["COMMENT"] = "start of the frame read as group k of integration i, s from exposure start"
    hdus += [emi_table, read_offset, frame_start]
    hdus[5].name = "SOURCES"
    hdus[9].name = "CR_HITS"
    hdus[10].name = "SHOWERS"
    hdus[7].header["BUNIT"] = "DN"
    hdus[7].header["COMMENT"] = "bias + collected charge / gain: the ramp without nonlinearity, offsets and noise"
    hdus[8].header["COMMENT"] = "bit 1: a cosmic ray first appears in this group; bit 2: a shower does"
    hdus[1].header["BUNIT"] = "electron/s"
    hdus[2].header["BUNIT"] = "DN/s"
    hdus[3].header["BUNIT"] = "electron/s"
    with atomic_path(path) as tmp:
        fits.HDUList(hdus).writeto(tmp)
    return Path(path)


def simulate(scene, observation, outdir, *, name="exposure", seed=0, effects=None, references=None,
             emi_lines=None):
    """Simulate one exposure; write ``<name>_uncal.fits``, ``<name>_truth.fits``, ``refs/``
    (and, with ``effects.background_exposure``, ``<name>_bkg_uncal.fits`` and
    ``<name>_asn.json``: keys ``background`` and ``association``).

    ``emi_lines`` (a list of :class:`simulator.emi.EmiLine`) replaces the EMI drawn from
    ``effects`` for the science exposure; returns a dict of the written paths.
    """
    effects = effects or DetectorEffects()
    references = references or ReferenceOptions()
    outdir = Path(outdir)
    rngs = rng_streams(seed)
    truth = detector.draw_detector(observation, effects, rngs["detector"])
    true_pointing = pointing.draw(effects, rngs["optics"])
    illumination, source_rates = sky.illumination(scene, observation, effects, true_pointing)
    if emi_lines is None:
        emi_lines = emi.draw(observation, effects, rngs["emi"])
    data, events = detector.ramps(illumination, observation, truth, effects, rngs["ramps"], emi_lines)
    config = {
        "scene": {"background_mjy_sr": scene.background_mjy_sr, "sources": [asdict(s) for s in scene.sources]},
        "observation": asdict(observation),
        "effects": asdict(effects),
        "references": asdict(references),
        "seed": seed,
    }
    refs = write_reference_set(outdir / "refs", truth, observation, references, effects, rngs["references"],
                               emi_lines)
    refs.update(write_optics_references(outdir / "refs", scene, observation, references, effects, rngs["optics"]))
    uncal = save_model(ramp_model(data, observation), outdir / f"{name}_uncal.fits")
    paths, bkg_obs = {}, None
    if effects.background_exposure:
        paths["background"], bkg_obs = write_dedicated_background(scene, observation, outdir, name, truth, effects,
                                                                  rngs["background"])
        paths["association"] = write_association(outdir / f"{name}_asn.json", name, uncal, [paths["background"]])
    truth_path = write_truth(
        outdir / f"{name}_truth.fits", config=config, seed=seed, observation=observation,
        illumination=illumination, truth=truth, scene=scene, source_rates=source_rates, events=events,
        true_pointing=true_pointing, background_observation=bkg_obs,
    )
    return {"uncal": uncal, "truth": truth_path, "refs": outdir / "refs", "reference_files": refs, **paths}
