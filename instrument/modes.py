"""MIRI's observing modes: which detectors each uses and how its exposures are typed.

Three science modes share three identical detectors (params section 1; JDox "MIRI
Observing Modes"): the imager and the low-resolution spectrometer (LRS, slit and
slitless prism) on MIRIMAGE; the medium-resolution spectrometer (MRS) on MIRIFUSHORT
(channels 1-2) and MIRIFULONG (channels 3-4), exposed together.  An exposure's type is
the JWST EXP_TYPE keyword (``meta.exposure.type``), by which the pipeline chooses its
stage-2 and stage-3 processing, as ``calwebb_spec2`` does.

Which modes the testbed simulates or calibrates is the business of the simulator and
the calibration (each keeps its own table of what it has built); this module only says
what MIRI has.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    """One observing mode.

    Parameters
    ----------
    name : str
        The testbed's name of the mode (scenario files use it).
    exp_type : str
        JWST EXP_TYPE of its science exposures.
    detectors : tuple of str
        The detectors one exposure of the mode reads out, in the order of their files.
    spectroscopic : bool
        Whether the mode disperses the light (its products are spectra and cubes).
    """

    name: str
    exp_type: str
    detectors: tuple
    spectroscopic: bool


#: The science modes (JWST keyword dictionary: EXP_TYPE values of MIRI).
MODES = {
    m.name: m
    for m in (
        Mode("imager", "MIR_IMAGE", ("MIRIMAGE",), False),
        Mode("lrs_slit", "MIR_LRS-FIXEDSLIT", ("MIRIMAGE",), True),
        Mode("lrs_slitless", "MIR_LRS-SLITLESS", ("MIRIMAGE",), True),
        Mode("mrs", "MIR_MRS", ("MIRIFUSHORT", "MIRIFULONG"), True),
    )
}

#: EXP_TYPE -> mode.
BY_EXP_TYPE = {m.exp_type: m for m in MODES.values()}


def mode(name):
    """The :class:`Mode` called ``name``; an unknown name is a ``ValueError`` listing the known ones.

    Parameters
    ----------
    name : str
        A key of :data:`MODES` (case-insensitive).

    Returns
    -------
    Mode
    """
    key = str(name).lower()
    if key not in MODES:
        raise ValueError(f"unknown observing mode {name!r}; MIRI modes: {', '.join(MODES)}")
    return MODES[key]


def mode_of_exp_type(exp_type):
    """The :class:`Mode` whose science exposures have EXP_TYPE ``exp_type``.

    Parameters
    ----------
    exp_type : str
        A JWST EXP_TYPE value (case-insensitive).

    Returns
    -------
    Mode

    Raises
    ------
    ValueError
        When ``exp_type`` is not a MIRI science exposure type; the message lists them.
    """
    key = str(exp_type).upper()
    if key not in BY_EXP_TYPE:
        raise ValueError(f"EXP_TYPE {exp_type!r} is not a MIRI science exposure type; "
                         f"known: {', '.join(BY_EXP_TYPE)}")
    return BY_EXP_TYPE[key]
