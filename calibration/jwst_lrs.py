"""jwst's LRS ``assign_wcs`` (-> ``photom``) -> ``extract_1d`` (-> ``white_light``), run offline on our products.

Installed with the optional ``peers`` extra (jwst is imported only when a function here
runs).  Every reference is given, never looked up: the CRDS client's look-ups are replaced
by a refusal for the duration of a call (:func:`offline`), so a run that finishes contacted
no server.  What jwst needs and our rate / rateints lack is filled in by :func:`prepare`:

* ``meta.wcsinfo``: the pointing that ``assign_wcs`` chains after the LRS transform
  (V2/V3 of the reference point, roll, sky position).  PLACEHOLDERS: they change the
  sky coordinates only; jwst's LRS wavelength is a function of the row alone
  (``miri.lrs_xytoabl``), and the slitless box does not move with the sky position;
* ``meta.target.source_type`` POINT; ``meta.wcsinfo.dispersion_direction`` 2 (along y);
* for a rateints, ``meta.visit.tsovisit`` True (jwst fills the x1dints' times only for
  a TSO) and ``int_times``: integration ``k`` (0-based) starts at
  ``EXPSTART + k * (integration_time + reset time) / 86400`` (the resets between
  integrations, NRSTSBTW frames, as the read clock spends them) and lasts
  ``integration_time``; UTC and TDB set equal (no barycentric correction: both sides
  see the same times).

References (:class:`JwstLrsReferences`): the SPECWCS (ours, a flight table or a CRDS copy),
the MIRI imager DISTORTION (jwst's LRS WCS chains the imager's distortion; the flight
``jwst_miri_imager_distortion_flt9.asdf`` ships in ``instrument/data/lrs/`` with its
BSD-3 licence), an EXTRACT1D in jwst's JSON form (:func:`extract1d_reference`) and
optionally a PHOTOM and an APCORR (``MirLrsPhotomModel``, ``MirLrsApcorrModel``, e.g. the
ones the simulator writes).  With a PHOTOM, jwst's ``photom`` runs between the two
(:func:`photom`): each pixel times ``photmjsr x relresponse(lambda)``, lambda the pixel's
wavelength from its WCS, giving MJy/sr, the pixel solid angle taken from the PHOTOM's
PIXAR_SR (no AREA reference); ``extract_1d`` then sums the box in MJy/sr and multiplies by
that solid angle x 1e6, so FLUX is Jy, and multiplies it by ``apcorr(npixels, lambda)``
(the box's pixel count) when an APCORR is given.  The real CRDS EXTRACT1D and APCORR of the LRS are not in this
project; the EXTRACT1D written here is the LRS default as documented (an 8-pixel box,
the JWST LRS default width: JDox / jdat "MIRI LRS spectral extraction"), its columns fixed
(slitless: not moved with the source; jwst has no source position for MIR_LRS-SLITLESS),
and a sky from the same columns our ``columns`` background takes (20-33 px either side of
the reference column), median per row, so the two subtract the same sky.
"""
import contextlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

#: The flight MIRI imager distortion (jwst's LRS WCS uses it), shipped with the SPECWCS files.
DISTORTION = files("miri_testbed.instrument") / "data" / "lrs" / "jwst_miri_imager_distortion_flt9.asdf"
#: jwst's box: this many columns (the JWST LRS default width).
BOX_WIDTH_PIX = 8
#: The sky columns either side of the reference column, pixels (as :mod:`calibration.lrs_background`).
SKY_COLUMNS_PIX = (20.0, 33.0)
#: PLACEHOLDER pointing (module docstring): V2/V3 (arcsec), V3 angle (deg), parity, roll and sky (deg).
POINTING = dict(v2_ref=-378.6, v3_ref=-344.3, v3yangle=4.8, vparity=-1, roll_ref=0.0, ra_ref=80.0, dec_ref=-69.5)


@dataclass(frozen=True)
class JwstLrsReferences:
    """The reference files handed to jwst (paths; ``"N/A"`` where none).

    Parameters
    ----------
    specwcs : path
    extract1d : path
        jwst's EXTRACT1D JSON (:func:`extract1d_reference`).
    distortion : path
        Default: the shipped flight imager distortion.
    apcorr : path or "N/A"
        An LRS APCORR (``MirLrsApcorrModel``); ``"N/A"``: no aperture correction.
    photom : path or "N/A"
        An LRS PHOTOM (``MirLrsPhotomModel``); ``"N/A"``: photom does not run, FLUX is DN/s.
    """

    specwcs: str
    extract1d: str
    distortion: str = str(DISTORTION)
    apcorr: str = "N/A"
    photom: str = "N/A"


def _refuse(parameters, reftypes, observatory):
    """Stands in for the CRDS look-up: nothing to look up is fine, anything else an error."""
    if reftypes:
        raise RuntimeError(f"jwst attempted a CRDS look-up of {list(reftypes)}: give it an override")
    return {}


@contextlib.contextmanager
def offline():
    """Run jwst with its CRDS look-ups refused and no CRDS step parameters (restored on exit)."""
    from stpipe import crds_client

    saved_env = {k: os.environ.get(k) for k in ("CRDS_SERVER_URL", "STPIPE_DISABLE_CRDS_STEPPARS")}
    saved = {k: getattr(crds_client, k) for k in ("get_multiple_reference_paths", "get_reference_file",
                                                   "get_context_used")}
    os.environ.update(CRDS_SERVER_URL="https://crds.offline.invalid", STPIPE_DISABLE_CRDS_STEPPARS="true")
    crds_client.get_multiple_reference_paths = _refuse
    crds_client.get_reference_file = lambda parameters, reftype, observatory: _refuse(parameters, [reftype], None)
    crds_client.get_context_used = lambda observatory: "none (offline)"
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(crds_client, name, value)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _overrides(step, given):
    """``override_<reftype>`` for every reference type of ``step``: ``given`` ones, ``N/A`` the rest."""
    return {f"override_{r}": str(given.get(r, "N/A")) for r in step.reference_file_types}


def extract1d_reference(path, exp_type, x_ref, width=BOX_WIDTH_PIX, sky=SKY_COLUMNS_PIX, nx=None):
    """Write jwst's EXTRACT1D JSON: a ``width``-column box centred on ``x_ref`` and sky columns (module docstring).

    Parameters
    ----------
    path : path
    exp_type : str
        The aperture's id (jwst matches an unnamed exposure's EXP_TYPE).
    x_ref : float
        The trace's reference column, 0-based pixels of the exposure's frame.
    width : int
    sky : (float, float) or None
        Sky columns ``sky[0]..sky[1]`` pixels either side of ``x_ref`` (clipped to
        ``0..nx-1``); None: no background.
    nx : int, optional
        The frame's width (needed with ``sky``).

    Returns
    -------
    Path
    """
    # jwst's xstart/xstop are inclusive pixel indices: the box spans xstart - 1/2 .. xstop + 1/2.
    start = math.floor(x_ref - width / 2 + 0.5)
    aperture = dict(id=exp_type, region_type="target", dispaxis=2, xstart=start, xstop=start + width - 1)
    if sky is not None:
        left = [max(x_ref - sky[1], 0.0), x_ref - sky[0]]
        right = [x_ref + sky[0], min(x_ref + sky[1], nx - 1.0)]
        aperture.update(bkg_coeff=[[left[0]], [left[1]], [right[0]], [right[1]]], bkg_fit="median")
    path = Path(path)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as out:
        json.dump({"reftype": "EXTRACT1D", "instrument": "MIRI", "apertures": [aperture]}, out, indent=1)
    os.replace(out.name, path)
    return path


def int_times(model):
    """The INT_TIMES table of an exposure of ``nints`` integrations (module docstring)."""
    exposure = model.meta.exposure
    nints = int(exposure.nints)
    cycle = (exposure.integration_time + (exposure.nresets_between_ints or 0) * exposure.frame_time) / 86400.0
    start = exposure.start_time + cycle * np.arange(nints)
    end = start + exposure.integration_time / 86400.0
    table = np.zeros(nints, dtype=[("integration_number", "i4"), ("int_start_MJD_UTC", "f8"),
                                   ("int_mid_MJD_UTC", "f8"), ("int_end_MJD_UTC", "f8"), ("int_start_BJD_TDB", "f8"),
                                   ("int_mid_BJD_TDB", "f8"), ("int_end_BJD_TDB", "f8")])
    table["integration_number"] = np.arange(1, nints + 1)
    for prefix, value in (("int_start", start), ("int_mid", (start + end) / 2), ("int_end", end)):
        table[f"{prefix}_MJD_UTC"] = table[f"{prefix}_BJD_TDB"] = value
    return table


def prepare(model):
    """Fill in what jwst needs and our rate / rateints lack (module docstring), in place; returns ``model``."""
    wcsinfo = model.meta.wcsinfo
    for name, value in POINTING.items():
        if getattr(wcsinfo, name, None) is None:
            setattr(wcsinfo, name, value)
    wcsinfo.dispersion_direction = 2
    model.meta.target.source_type = model.meta.target.source_type or "POINT"
    if model.data.ndim == 3:
        model.meta.visit.tsovisit = True
        exposure = model.meta.exposure
        exposure.integration_start = exposure.integration_start or 1
        exposure.integration_end = exposure.integration_end or model.data.shape[0]
        if getattr(model, "int_times", None) is None:
            model.int_times = int_times(model)
    return model


def assign_wcs(model, references):
    """Run jwst's ``AssignWcsStep`` on ``model`` (prepared) with the SPECWCS and DISTORTION given."""
    from jwst.assign_wcs import AssignWcsStep

    with offline():
        return AssignWcsStep.call(model, **_overrides(AssignWcsStep, dict(specwcs=references.specwcs,
                                                                         distortion=references.distortion)))


def photom(model, references):
    """Run jwst's ``PhotomStep`` on a model with its WCS, the PHOTOM given (no AREA: PIXAR_SR is the PHOTOM's)."""
    from jwst.photom import PhotomStep

    with offline():
        return PhotomStep.call(model, **_overrides(PhotomStep, dict(photom=references.photom)))


def extract_1d(model, references, **parameters):
    """Run jwst's ``Extract1dStep`` on a model with its WCS: an x1d (``MultiSpecModel``) or x1dints.

    The x1dints of a CubeModel is a ``TSOMultiSpecModel``.

    ``parameters`` go to the step (e.g. ``extraction_type``); the aperture correction runs
    when ``references.apcorr`` is a file.
    """
    from jwst.extract_1d import Extract1dStep

    given = dict(extract1d=references.extract1d, apcorr=references.apcorr)
    with offline():
        return Extract1dStep.call(model, apply_apcorr=references.apcorr != "N/A",
                                  **_overrides(Extract1dStep, given), **parameters)


def white_light(x1dints, min_wave=None, max_wave=None):
    """The jwst white-light curve of an x1dints (``jwst.white_light.white_light``): an astropy Table."""
    from jwst.white_light.white_light import white_light as jwst_white_light

    return jwst_white_light(x1dints, min_wave=min_wave, max_wave=max_wave)


def run(product, references, min_wave=None, max_wave=None, **parameters):
    """``assign_wcs`` (-> ``photom``) -> ``extract_1d`` (-> ``white_light`` for a rateints) of one of our products.

    Parameters
    ----------
    product : path or DataModel
        Our ``_rate`` (ImageModel) or ``_rateints`` (CubeModel); a model is changed in place.
    references : JwstLrsReferences
    min_wave, max_wave : float, optional
        The white light's wavelength range, um (default: every row of the x1dints).
    **parameters
        To ``Extract1dStep``.

    Returns
    -------
    dict
        ``x1d`` (or ``x1dints`` and ``whitelight`` for a rateints) and ``wcs`` (the model with its WCS,
        in MJy/sr when ``references.photom`` is a file).
    """
    from stdatamodels.jwst import datamodels as dm

    model = prepare(dm.open(product) if isinstance(product, (str, Path)) else product)
    with_wcs = assign_wcs(model, references)
    if references.photom != "N/A":
        with_wcs = photom(with_wcs, references)
    spectra = extract_1d(with_wcs, references, **parameters)
    if model.data.ndim == 3:
        return dict(wcs=with_wcs, x1dints=spectra, whitelight=white_light(spectra, min_wave, max_wave))
    return dict(wcs=with_wcs, x1d=spectra)
