"""The truth file: what really went into an exposure; its one writer and its one reader.

Calibration never reads it; validation reads it only through :func:`read_truth`.

Layout (version :data:`LAYOUT_VERSION`, keyword ``TRUTHVER`` of the primary header):

* the primary header: ``ORIGIN``, ``TRUTHVER``, ``SEED`` (the one seed of every random
  stream) and the exposure's scalar truths (readout, true gain and read noise, pointing);
* ``CONFIG``: the simulation's configuration as a table of ``KEY`` (dotted path, e.g.
  ``effects.detector.emi``) and ``VALUE`` (JSON), readable in any FITS viewer;
* one named extension per *component* (:class:`Component`): an image (``BUNIT`` its
  unit) or a table, its description in ``COMMENT`` cards.  A component of one detector
  carries ``DETECTOR`` (and its own ``EXTVER``), so the two detectors of an MRS exposure
  each have their own ``RATE``; a component without ``DETECTOR`` belongs to the exposure.

Components an exposure writes today (:func:`write_truth`): ``ILLUM`` (e-/s reaching each
pixel), ``RATE`` (the same in DN/s), ``DARK``, ``BADPIX``, ``LINEAR``, ``EVENTS``,
``CR_HITS``, ``SHOWERS``, ``EMI``, ``READ_OFFSET``, ``FRAME_START`` (the detector layer's,
:func:`detector_components`) and the imager's ``SOURCES``.  A spectrum, a wavelength map
or a light curve joins as one more component, read with :meth:`Truth.image` or
:meth:`Truth.table`; adding a component keeps the version, while changing or removing
one, or the meaning of a keyword, needs a new :data:`LAYOUT_VERSION`.  A file of another
version is refused with both versions named.
"""
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning

from miri_testbed.instrument.files import atomic_path, fits_cut_short

from . import emi, readclock
from .detector import event_mask

#: Version of the layout this module writes and reads (1: the unversioned files before it).
LAYOUT_VERSION = 2
ORIGIN = "miri-testbed simulator"
CONFIG = "CONFIG"
SHOWER_COLUMNS = ("t", "x", "y", "a", "b", "angle", "peak_dn")


class TruthFileError(ValueError):
    """A file is not a truth file this reader can read; the message names it and says why."""


@dataclass(frozen=True)
class Component:
    """One extension of the truth file.

    Parameters
    ----------
    name : str
        Its ``EXTNAME`` (upper case).
    data : numpy.ndarray or astropy.table.Table
        An image or a table.
    unit : str
        Unit of an image (``BUNIT``); a table's columns carry their own.
    description : str
        What it is (``COMMENT`` cards).
    detector : str, optional
        The detector it belongs to (``DETECTOR``); None: the exposure's.
    """

    name: str
    data: object
    unit: str = ""
    description: str = ""
    detector: str = None

    def hdu(self, ver):
        """The FITS extension of this component, numbered ``ver`` among its namesakes."""
        if isinstance(self.data, Table):
            hdu = fits.table_to_hdu(self.data)
            hdu.name, hdu.ver = self.name, ver
        else:
            hdu = fits.ImageHDU(np.asarray(self.data), name=self.name, ver=ver)
            if self.unit:
                hdu.header["BUNIT"] = self.unit
        if self.detector is not None:
            hdu.header["DETECTOR"] = (self.detector, "the detector this component belongs to")
        if self.description:
            hdu.header["COMMENT"] = self.description
        return hdu


def _flatten(config, prefix=""):
    """``(dotted key, JSON value)`` of every leaf of a nested dict (an empty dict is a leaf)."""
    for key, value in config.items():
        if "." in key:
            raise ValueError(f"truth configuration key {prefix}{key!r} contains '.'")
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", json.dumps(value, sort_keys=True)


def _unflatten(keys, values):
    """The nested dict of :func:`_flatten`'s pairs."""
    config = {}
    for key, value in zip(keys, values, strict=True):
        *parents, leaf = str(key).split(".")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = json.loads(str(value))
    return config


def write_truth_file(path, *, seed, config, components, header=None):
    """Write a truth file of this module's layout, atomically.

    Parameters
    ----------
    path : path-like
    seed : int
        The one seed of every random stream (``SEED``).
    config : dict
        The simulation's configuration (JSON-serialisable, nested dicts), as ``CONFIG``.
    components : iterable of Component
        The extensions, in file order; a (name, detector) pair may appear once.
    header : dict, optional
        More primary-header keywords: ``{key: value or (value, comment)}``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    primary = fits.PrimaryHDU()
    primary.header["ORIGIN"] = ORIGIN
    primary.header["TRUTHVER"] = (LAYOUT_VERSION, "truth-file layout version (simulator.truth)")
    primary.header["SEED"] = (seed, "integer seed of every random stream")
    for key, value in (header or {}).items():
        primary.header[key] = value
    pairs = list(_flatten(config))
    hdus = [primary, fits.table_to_hdu(Table({"KEY": [k for k, _ in pairs], "VALUE": [v for _, v in pairs]},
                                             dtype=(str, str)))]
    hdus[1].name = CONFIG
    hdus[1].header["COMMENT"] = "the simulation's configuration: dotted key, JSON value"
    versions = {}  # name -> detectors written so far
    for component in components:
        written = versions.setdefault(component.name, [])
        if component.detector in written:
            raise ValueError(f"truth component {component.name} (detector {component.detector}) given twice")
        written.append(component.detector)
        hdus.append(component.hdu(len(written)))
    with atomic_path(path) as tmp:
        fits.HDUList(hdus).writeto(tmp)
    return Path(path)


class Truth:
    """A truth file, read: its header and configuration at once, components on demand.

    Attributes
    ----------
    path : pathlib.Path
    header : astropy.io.fits.Header
        The primary header.
    config : dict
        The simulation's configuration (nested dicts).
    seed : int
    """

    def __init__(self, path, header, config, index):
        self.path, self.header, self.config = Path(path), header, config
        self.seed = int(header["SEED"])
        self._index = index  # {name: {detector or None: (hdu number, is a table)}}

    def has(self, name, detector=None):
        """Whether the file holds component ``name`` (of ``detector``, when given)."""
        return name in self._index and (detector is None or detector in self._index[name])

    def detectors(self, name):
        """The detectors that carry their own ``name`` (empty for an exposure component)."""
        return tuple(d for d in self._index.get(name, {}) if d is not None)

    def require(self, *names):
        """Raise :class:`TruthFileError` naming every one of ``names`` the file lacks."""
        missing = [n for n in names if n not in self._index]
        if missing:
            raise TruthFileError(f"{self.path}: truth file lacks component(s) {', '.join(missing)}")

    def _locate(self, name, detector, table):
        self.require(name)
        entries = self._index[name]
        if detector is None and len(entries) > 1:
            raise TruthFileError(f"{self.path}: {name} is per detector ({', '.join(self.detectors(name))}); "
                                 f"name one")
        key = next(iter(entries)) if detector is None else detector
        if key not in entries:
            raise TruthFileError(f"{self.path}: no {name} for detector {detector} "
                                 f"(has: {', '.join(str(d) for d in entries)})")
        number, is_table = entries[key]
        if is_table != table:
            raise TruthFileError(f"{self.path}: {name} is {'a table' if is_table else 'an image'}, "
                                 f"not {'a table' if table else 'an image'}")
        return number

    def image(self, name, detector=None):
        """The image component ``name`` (of ``detector``; None: the only one), as an array."""
        number = self._locate(name, detector, table=False)
        with fits.open(self.path) as hdul:
            return np.array(hdul[number].data)

    def table(self, name, detector=None):
        """The table component ``name`` (of ``detector``; None: the only one)."""
        number = self._locate(name, detector, table=True)
        with fits.open(self.path) as hdul:
            return Table(hdul[number].data)


def read_truth(path):
    """Open a truth file: check its layout version, read its header and configuration.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    Truth

    Raises
    ------
    TruthFileError
        No such file, not FITS, not a truth file, or a truth file of another layout version.
    """
    try:
        with warnings.catch_warnings():
            # astropy warns of a cut file as it reads the headers; the check below refuses it by name
            warnings.simplefilter("ignore", AstropyUserWarning)
            hdul = fits.open(path)
            cut = fits_cut_short(hdul, path)
    except FileNotFoundError:
        raise TruthFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise TruthFileError(f"{path}: not a readable FITS file ({exc})") from None
    with hdul:
        if cut:
            raise TruthFileError(f"{path}: not a readable FITS file, truncated or corrupt ({cut})")
        header = hdul[0].header.copy()
        if header.get("ORIGIN") != ORIGIN:
            raise TruthFileError(f"{path}: not a miri-testbed truth file (ORIGIN is not {ORIGIN!r})")
        version = header.get("TRUTHVER", 1)
        if version != LAYOUT_VERSION:
            raise TruthFileError(f"{path}: truth-file layout version {version}; this reader reads version "
                                 f"{LAYOUT_VERSION} (simulate the exposure again)")
        missing = [name for name, present in (("SEED", "SEED" in header), (CONFIG, CONFIG in hdul)) if not present]
        if missing:
            raise TruthFileError(f"{path}: not a miri-testbed truth file (missing {', '.join(missing)})")
        config_table = hdul[CONFIG].data
        config = _unflatten(config_table["KEY"], config_table["VALUE"])
        index = {}
        for number, hdu in enumerate(hdul[1:], start=1):
            if hdu.name != CONFIG:
                is_table = isinstance(hdu, fits.BinTableHDU)
                index.setdefault(hdu.name, {})[hdu.header.get("DETECTOR")] = (number, is_table)
    return Truth(path, header, config, index)


def detector_components(readout, illumination, truth, events, detector=None):
    """The detector layer's components of one detector's exposure.

    Parameters
    ----------
    readout : simulator.config.Readout or Observation
        Its readout (subarray, pattern, ngroups, nints, group and frame time).
    illumination : numpy.ndarray
        e-/s reaching each pixel.
    truth : simulator.detector.DetectorTruth
        The detector's pixel properties.
    events : dict
        What :func:`simulator.detector.ramps` records: ``linear``, ``hits``, ``showers``
        and ``emi`` (the injected lines).
    detector : str, optional
        The detector's name, for an exposure of several detectors.

    Returns
    -------
    list of Component
        ILLUM, RATE, DARK, BADPIX, LINEAR, EVENTS, CR_HITS, SHOWERS, EMI, READ_OFFSET, FRAME_START.
    """
    showers = (Table(rows=[tuple(s.values()) for s in events["showers"]], names=SHOWER_COLUMNS)
               if events["showers"] else Table(names=SHOWER_COLUMNS))
    parts = [
        ("ILLUM", illumination.astype(np.float32), "electron/s", "e-/s reaching each pixel"),
        ("RATE", (illumination / truth.gain).astype(np.float32), "DN/s", "ILLUM / true gain"),
        ("DARK", truth.dark_rate.astype(np.float32), "electron/s", "true dark current"),
        ("BADPIX", (truth.dead | truth.hot | truth.reference).astype(np.uint8), "",
         "1: dead, hot or reference pixel"),
        ("LINEAR", events["linear"], "DN",
         "bias + collected charge / gain: the ramp without nonlinearity, offsets and noise"),
        ("EVENTS", event_mask(readout, truth, events), "",
         "bit 1: a cosmic ray first appears in this group; bit 2: a shower does"),
        ("CR_HITS", Table({k: np.asarray(v) for k, v in events["hits"].items()}), "",
         "cosmic-ray deposits: one row per pixel hit"),
        ("SHOWERS", showers, "", "showers: arrival time (s), centre, semi-axes, angle, peak (DN)"),
        ("EMI", emi.table(events.get("emi", [])), "",
         "E(t) = sum_h amplitude_dn sin(2 pi harmonic frequency_hz (1 + drift) t + phase_rad) per line, "
         "t = FRAME_START[i, k] + READ_OFFSET[y, x] (s)"),
        ("READ_OFFSET", readclock.pixel_offsets(readout), "s", "seconds from the frame start to each pixel's read"),
        ("FRAME_START", readclock.frame_starts(readout), "s",
         "start of the frame read as group k of integration i, s from exposure start"),
    ]
    return [Component(name, data, unit, description, detector) for name, data, unit, description in parts]


def write_truth(path, *, config, seed, observation, light, truth, events, label=None, background_observation=None):
    """Write the truth file of an exposure (never an input to calibration).

    Parameters
    ----------
    path : path-like
    config : dict
        The simulation's configuration.
    seed : int
    observation : object
        The exposure's observation (any mode's; its ``readout``).
    light : simulator.illumination.Illumination
        The mode's illumination: its keywords and components go in, and the e-/s of the
        exposure's detector.
    truth : simulator.detector.DetectorTruth
    events : dict
        As :func:`detector_components` takes them.
    label : str, optional
        The exposure's OBSLABEL (:func:`simulator.exposure.exposure_label`), kept in the header.
    background_observation : object, optional
        The dedicated background exposure's observation, when there is one.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    ro = observation.readout
    header = {**light.header, "SUBARRAY": ro.subarray, "EPOCH": (ro.epoch_mjd, "exposure start, MJD")}
    if label is not None:
        header["OBSLABEL"] = label  # no comment: a long label leaves it no room
    if background_observation is not None:
        header["BKGSTART"] = (background_observation.epoch_mjd, "dedicated background exposure start, MJD")
        if hasattr(background_observation, "ra_deg"):  # an offset field (the imager's); an LRS nod has none
            header["BKG_RA"] = (background_observation.ra_deg, "dedicated background field RA, deg")
            header["BKG_DEC"] = (background_observation.dec_deg, "dedicated background field Dec, deg")
    header.update({"NGROUPS": ro.ngroups, "NINTS": ro.nints,
                   "TGROUP": (ro.group_time, "group time, s"),
                   "GAIN": (float(np.median(truth.gain)), "true gain, e-/DN"),
                   "READNOIS": (float(np.median(truth.read_noise)), "true read noise of one read, DN")})
    components = list(light.components) + detector_components(ro, light.images[ro.detector], truth, events)
    return write_truth_file(path, seed=seed, config=config, components=components, header=header)
