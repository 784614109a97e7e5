"""spec3 for the MRS: the exposures of a dither set -> one cube per band (s3d) and its point source's spectrum (x1d).

As jwst's ``calwebb_spec3`` ``cube_build`` combines an association's cal files: every exposure
goes through detector1 and the per-pixel part of spec2 (``mrs_wcs``, ``mrs_photom`` at its
own mid-time; :mod:`calibration.mrs_spec2`), its pixels are moved into the frame of the first
exposure by its pointing (:mod:`calibration.mrs_pointing`: APERNAME, XOFFSET, YOFFSET), and
one drizzle (:mod:`calibration.cube_build`) takes all the exposures' pixels at once, so each
spaxel is the overlap-weighted mean of every pixel of every exposure that covers it, with
its variance; ``mrs_extract`` then runs on that cube as on one exposure's.  Products are
those of spec2 (:mod:`calibration.mrs_spec2`), one set for the whole dither set; one exposure
alone gives spec2's products exactly (same code, nothing moved, no pointing keyword needed).

Refused before any work, naming the files: exposures of different detectors, channels or
grating settings (one cube per band, from one band's pixels); exposures of different targets
(TARGPROP, where every exposure has one; the simulator names each scene's); two exposures at the same
dither position; a missing pointing keyword (APERNAME, XOFFSET, YOFFSET); members naming different
apertures (a dither pattern's offsets are about one aperture's reference point).
"""
from functools import partial

from . import CalibrationInputError, mrs_pointing, mrs_spec2, mrs_wcs


def _setting(exposure):
    meta = exposure.meta.instrument
    return (str(meta.detector).strip().upper(), str(meta.channel).strip(), str(meta.band).strip().upper())


def check(exposures, names):
    """The set's pointings (:class:`calibration.mrs_pointing.Pointing`), once it is checked to be one set.

    One exposure gives ``[None]``: nothing moves, no pointing keyword is needed.

    Parameters
    ----------
    exposures : list of DataModel
        The opened uncal (or rate) models, first the frame's.
    names : list of str
        Their files, for the messages.

    Raises
    ------
    CalibrationInputError
    """
    for exposure in exposures:
        mrs_wcs.check_exposure(exposure)
    settings = {name: _setting(e) for e, name in zip(exposures, names, strict=True)}
    if len(set(settings.values())) > 1:
        listed = "; ".join(f"{n}: {d} CHANNEL {c} BAND {b}" for n, (d, c, b) in settings.items())
        raise CalibrationInputError(f"the exposures of one cube must share DETECTOR, CHANNEL and BAND: {listed}")
    targets = {name: str(e.meta.target.proposer_name).strip() for e, name in zip(exposures, names, strict=True)
               if e.meta.target.proposer_name}
    if len(targets) == len(exposures) and len(set(targets.values())) > 1:
        listed = "; ".join(f"{n}: {t}" for n, t in targets.items())
        raise CalibrationInputError(f"the exposures of one set must be of one target (TARGPROP): {listed}")
    if len(exposures) == 1:
        return [None]  # nothing to move: the exposure's own frame, no pointing needed
    pointings = [mrs_pointing.pointing(e, n) for e, n in zip(exposures, names, strict=True)]
    mrs_pointing.check_set(pointings)
    apertures = {p.name: p.aperture for p in pointings}
    if len(set(apertures.values())) > 1:
        # A dither pattern is a set of offsets about one aperture's reference point.  Members naming different
        # apertures are most likely two observations mixed up (or a keyword edited): the uncal has no sky pointing
        # against which the commanded offsets could be checked, and a wrong one moves the set's light silently.
        listed = "; ".join(f"{n}: {a}" for n, a in apertures.items())
        raise CalibrationInputError(f"the exposures of one dither set must name one aperture (APERNAME): {listed}")
    return pointings


def run(log, members, folder, choice, pointings, leak_source=None):
    """The set's ``{"s3d": (IFUCubeModel, ...), "x1d": MultiSpecModel}`` (module docstring).

    Parameters
    ----------
    log : calibration.steps.StepLog
    members : list of (exposure, Detector1)
        In the order of ``pointings``; the first's frame is the cube's.
    folder : path
    choice : dict
    pointings : list of calibration.mrs_pointing.Pointing
        From :func:`check`.
    leak_source : calibration.spectral_leak.SourceBand, optional
        Band 1B for ``spectral_leak`` (:func:`calibration.mrs_spec2.build`).
    """
    reference = pointings[0]
    return mrs_spec2.build(log, [(exposure, d1, None if p is None else partial(mrs_pointing.mover, pointing_k=p,
                                                                                reference=reference))
                                 for (exposure, d1), p in zip(members, pointings, strict=True)], folder, choice,
                            leak_source=leak_source)
