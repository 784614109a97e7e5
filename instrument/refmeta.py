"""Reference-file metadata: the one writer of the keywords that select a reference file.

CRDS picks a reference file for an exposure by the file's own selectors (INSTRUME,
DETECTOR, EXP_TYPE, FILTER, BAND, CHANNEL, READPATT, SUBARRAY) and its USEAFTER date
(JWST reference file specifications, "Standard keywords"); a selector the file leaves
out matches every exposure.  The simulator's reference sets, the calibration's nominal
folder and the testbed's own table references all stamp their files here, so a mode's
references carry the detector and exposure type of that mode, never a hard-wired
imager.
"""
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from . import readout

#: USEAFTER of every reference file the testbed makes: before MIRI's first light, so the
#: files serve any simulated epoch.
USEAFTER = "2022-01-01T00:00:00"

#: FITS keyword of each selector of :class:`Selection`, and where a data model keeps it.
KEYWORDS = {
    "detector": ("DETECTOR", "meta.instrument.detector"),
    "exp_type": ("EXP_TYPE", "meta.exposure.type"),
    "filter": ("FILTER", "meta.instrument.filter"),
    "band": ("BAND", "meta.instrument.band"),
    "channel": ("CHANNEL", "meta.instrument.channel"),
    "readpatt": ("READPATT", "meta.exposure.readpatt"),
    "subarray": ("SUBARRAY", "meta.subarray.name"),
}


@dataclass(frozen=True)
class Selection:
    """Which exposures a reference file serves; a selector left ``None`` matches all.

    Parameters
    ----------
    detector, exp_type, filter, band, channel, readpatt, subarray : str or None
        The JWST selector values (e.g. ``detector="MIRIFUSHORT"``, ``channel="12"``,
        ``band="SHORT"``).  A ``subarray`` also writes the subarray's geometry
        (SUBSTRT1/2, SUBSIZE1/2) from :mod:`instrument.readout`.
    """

    detector: str = None
    exp_type: str = None
    filter: str = None
    band: str = None
    channel: str = None
    readpatt: str = None
    subarray: str = None

    def items(self):
        """``(field, value)`` of the selectors that are set."""
        return [(k, v) for k, v in asdict(self).items() if v is not None]


@dataclass(frozen=True)
class Provenance:
    """Who made a reference file and how (AUTHOR, PEDIGREE, DESCRIP, USEAFTER).

    Parameters
    ----------
    author : str
        AUTHOR, e.g. ``"miri-testbed simulator"``.
    pedigree : str
        PEDIGREE: ``SIMULATION``, ``DUMMY``, ``GROUND`` or ``INFLIGHT ...``.
    useafter : str
        USEAFTER, ISO date and time.
    """

    author: str
    pedigree: str
    useafter: str = USEAFTER


def _set(model, dotted, value):
    node = model
    *parents, last = dotted.split(".")
    for part in parents:
        node = getattr(node, part)
    setattr(node, last, value)


def describe_model(model, reftype, selection, provenance, description):
    """Stamp a ``stdatamodels`` reference model with its type, selectors and provenance.

    Parameters
    ----------
    model : stdatamodels.DataModel
        The reference model (``GainModel``, ``EmiModel``, ...); changed in place.
    reftype : str
        REFTYPE (``"GAIN"``, ``"EMICORR"``, ...).
    selection : Selection
        The exposures it serves.
    provenance : Provenance
        Who made it.
    description : str
        DESCRIP.

    Returns
    -------
    stdatamodels.DataModel
        ``model``.
    """
    model.meta.reftype = reftype
    model.meta.instrument.name = "MIRI"
    for field, value in selection.items():
        if field == "subarray":
            if hasattr(model.meta, "subarray"):  # PHOTOM and APCORR select subarrays by table row instead
                _set_subarray(model.meta.subarray, value)
        else:
            _set(model, KEYWORDS[field][1], value)
    model.meta.useafter = provenance.useafter
    model.meta.author = provenance.author
    model.meta.pedigree = provenance.pedigree
    model.meta.description = description
    return model


def _set_subarray(node, name):
    sub = readout.subarray(name)
    node.name = sub.name
    node.xstart, node.ystart = sub.xstart, sub.ystart
    node.xsize, node.ysize = sub.xsize, sub.ysize
    node.fastaxis, node.slowaxis = 1, 2


def header_cards(reftype, selection, provenance, description):
    """The primary-header cards of a FITS reference file that has no data model.

    Parameters
    ----------
    reftype, selection, provenance, description
        As :func:`describe_model`.

    Returns
    -------
    dict
        FITS keyword -> value, in the order they are written.
    """
    cards = {"REFTYPE": reftype, "INSTRUME": "MIRI"}
    for field, value in selection.items():
        cards[KEYWORDS[field][0]] = value
    cards.update(USEAFTER=provenance.useafter, PEDIGREE=provenance.pedigree, AUTHOR=provenance.author,
                 DATE=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), DESCRIP=description)
    return cards
