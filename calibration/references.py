"""Pick reference files from a folder by their own metadata, as CRDS would.

A reference folder is a plain directory of JWST reference files (real CRDS files drop
in): FITS files, and ASDF files (EMICORR) whose ``meta`` carries the same keywords.  For a
reference type, a file is a candidate when its REFTYPE matches and each
selector it states (INSTRUME, DETECTOR, EXP_TYPE, READPATT, FILTER, CHANNEL, BAND,
PATT_NUM (the dither position: the testbed's PSFRINGE), SUBARRAY) agrees
with the exposure; a selector it leaves out, or sets to ANY / GENERIC / N/A, matches
everything.  A full-frame file serves a subarray exposure (the subarray is cut out of
it).  A DARK must have at least as many groups as the exposure.  Among candidates
whose USEAFTER is not later than the exposure start, the most specific wins, then the
latest USEAFTER.
"""
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time
from stdatamodels.jwst import datamodels as dm

from . import CalibrationInputError

WILDCARDS = {"", "ANY", "GENERIC", "N/A", "NONE"}
SELECTORS = {
    "INSTRUME": "meta.instrument.name",
    "DETECTOR": "meta.instrument.detector",
    "EXP_TYPE": "meta.exposure.type",
    "READPATT": "meta.exposure.readpatt",
    "FILTER": "meta.instrument.filter",
    "CHANNEL": "meta.instrument.channel",
    "BAND": "meta.instrument.band",
    "PATT_NUM": "meta.dither.position_number",
}
MODELS = {
    "GAIN": dm.GainModel,
    "READNOISE": dm.ReadnoiseModel,
    "DARK": dm.DarkMIRIModel,
    "SATURATION": dm.SaturationModel,
    "MASK": dm.MaskModel,
    "LINEARITY": dm.LinearityModel,
    "PHOTOM": dm.MirImgPhotomModel,
    "APCORR": dm.MirImgApcorrModel,
    "EMICORR": dm.EmiModel,
    "SPECWCS": dm.MiriLRSSpecwcsModel,
}
#: Reference types whose cube is as large as the ramps they serve (a frame per group),
#: opened memory-mapped (:func:`load`) and read a frame at a time (:class:`Frames`).
MAPPED = {"DARK"}
ASDF_KEYWORDS = dict(SELECTORS, REFTYPE="meta.reftype", SUBARRAY="meta.subarray.name", USEAFTER="meta.useafter")


@dataclass(frozen=True)
class Candidate:
    """A reference file in a folder and its selection keywords."""

    path: Path
    header: dict


def _get(model, dotted):
    node = model
    for part in dotted.split("."):
        node = getattr(node, part, None)
        if node is None:
            return None
    return node


def _asdf_header(path):
    """The selection keywords of an ASDF reference file, as a FITS-like header dict.

    Read from the file's YAML tree as it is (``asdf.util.load_yaml``): opening the file
    would build every transform of a DISTORTION (5.9 s against 0.24 s for an MRS one).
    """
    from asdf.util import load_yaml

    tree = load_yaml(path)
    header = {}
    for key, dotted in ASDF_KEYWORDS.items():
        node = tree
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            header[key] = str(node)
    return header


@lru_cache(maxsize=32)
def _scan(folder, mtime):
    candidates = []
    for path in sorted(Path(folder).glob("*.fits")) + sorted(Path(folder).glob("*.asdf")):
        try:
            header = fits.getheader(path, 0) if path.suffix == ".fits" else _asdf_header(path)
        except Exception:  # unreadable files are not reference files
            continue
        if "REFTYPE" in header:
            candidates.append(Candidate(path, dict(header)))
    return tuple(candidates)


def _matches(value, wanted):
    value = str(value).strip().upper()
    return value in WILDCARDS or wanted.upper() in [v.strip() for v in value.split("|")]


def _specificity(header, exposure):
    score = sum(str(header.get(k, "")).strip().upper() not in WILDCARDS for k in SELECTORS)
    return score + 2 * (str(header.get("SUBARRAY", "")).upper() == str(exposure.meta.subarray.name).upper())


def load_optional(folder, reftype, exposure, read):
    """A reference that may be missing: ``(read(path), path)``, or ``(None, None)`` without one.

    A file ``read`` cannot read is an error naming it.
    """
    try:
        path = select(folder, reftype, exposure)
    except CalibrationInputError:
        return None, None
    try:
        return read(path), path
    except Exception as exc:
        raise CalibrationInputError(f"{path}: cannot be read as a {reftype} reference ({exc})") from None


def select(folder, reftype, exposure):
    """Path of the best ``reftype`` file in ``folder`` for the exposure ``RampModel``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CalibrationInputError(f"reference folder {folder} " +
                                    ("is a file, not a folder" if folder.exists() else "does not exist"))
    start = Time(exposure.meta.exposure.start_time, format="mjd")
    sub = str(exposure.meta.subarray.name).upper()
    ngroups = exposure.meta.exposure.ngroups
    chosen = []
    for cand in _scan(str(folder.resolve()), folder.stat().st_mtime_ns):
        h = cand.header
        if str(h["REFTYPE"]).upper() != reftype:
            continue
        if not all(_matches(h.get(k, ""), str(_get(exposure, attr) or "")) for k, attr in SELECTORS.items()):
            continue
        ref_sub = str(h.get("SUBARRAY", "")).upper()
        if ref_sub not in WILDCARDS | {"FULL", sub}:
            continue
        if reftype == "DARK" and int(h.get("NGROUPS", 0)) < ngroups:
            continue
        useafter = h.get("USEAFTER")
        if useafter and Time(str(useafter).replace(" ", "T"), format="isot") > start:
            continue
        chosen.append((_specificity(h, exposure), str(useafter), cand.path))
    if not chosen:
        # Only the selectors the exposure sets (an MRS exposure has no FILTER, an imager one no BAND) and the type
        # may state (no CRDS type selects on the dither position, PATT_NUM: only the testbed's PSFRINGE).
        wanted = " ".join(f"{k}={v}" for k, attr in SELECTORS.items() if k != "INSTRUME"
                          and (k != "PATT_NUM" or reftype == "PSFRINGE") and (v := _get(exposure, attr)) is not None)
        raise CalibrationInputError(
            f"no {reftype} reference in {folder} for MIRI {wanted} SUBARRAY={sub} NGROUPS={ngroups} "
            f"at MJD {exposure.meta.exposure.start_time}"
        )
    return max(chosen)[2]


def _window(shape, ref_model, exposure):
    """The rows and columns of a reference frame of ``shape`` that the exposure's subarray covers."""
    sub = exposure.meta.subarray
    ny, nx = shape
    if (ny, nx) == (sub.ysize, sub.xsize):
        return slice(None), slice(None)
    rx0 = (ref_model.meta.subarray.xstart or 1) if hasattr(ref_model.meta, "subarray") else 1
    ry0 = (ref_model.meta.subarray.ystart or 1) if hasattr(ref_model.meta, "subarray") else 1
    x0, y0 = sub.xstart - rx0, sub.ystart - ry0
    if x0 < 0 or y0 < 0 or x0 + sub.xsize > nx or y0 + sub.ysize > ny:
        raise CalibrationInputError(
            f"reference {ref_model.meta.filename} ({nx}x{ny} at {rx0},{ry0}) does not cover subarray "
            f"{sub.name} ({sub.xsize}x{sub.ysize} at {sub.xstart},{sub.ystart})"
        )
    return slice(y0, y0 + sub.ysize), slice(x0, x0 + sub.xsize)


def cutout(array, ref_model, exposure):
    """The part of a reference array (last two axes) that the exposure's subarray covers."""
    return array[(..., *_window(array.shape[-2:], ref_model, exposure))]


class Frames:
    """A reference cube read from its file one frame at a time, cut to the exposure's subarray.

    ``frames[j, k]`` is frame ``(j, k)``, ``(ny, nx)``; ``shape`` is the cut cube's.  A DARK
    holds a frame per group of the ramps it serves (100 groups of FULL: 420 MB), so read
    whole it would be one more ramp in memory; its steps use it a frame at a time.

    Parameters
    ----------
    path : path
        The reference file (FITS).
    extname : str
        The cube's extension.
    ref_model : DataModel
        The reference (its subarray placement).
    exposure : RampModel
    """

    def __init__(self, path, extname, ref_model, exposure):
        header = fits.getheader(path, extname)
        shape = tuple(header[f"NAXIS{n}"] for n in range(header["NAXIS"], 0, -1))
        self.path, self.extname = path, extname
        self.window = _window(shape[-2:], ref_model, exposure)
        self.shape = cutout(np.broadcast_to(np.float32(0), shape), ref_model, exposure).shape  # no data read

    def __getitem__(self, index):
        with fits.open(self.path, memmap=False) as hdul:
            return hdul[self.extname].section[(*index, *self.window)]


def load(folder, reftype, exposure):
    """Open the selected ``reftype`` file as its JWST reference model.

    A :data:`MAPPED` type is opened memory-mapped: its arrays are read only where they are used.
    """
    path = select(folder, reftype, exposure)
    try:
        return MODELS[reftype](fits.open(path) if reftype in MAPPED and path.suffix == ".fits" else str(path))
    except Exception as exc:
        raise CalibrationInputError(f"{path}: cannot be read as a {reftype} reference ({exc})") from None
