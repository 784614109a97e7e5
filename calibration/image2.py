"""image2 for the imager: rate -> cal, the photometric calibration (photom).

``S [MJy/sr] = R [DN/s] * PHOTMJSR`` at the exposure's mid-time
(:mod:`calibration.photom`); the cal product keeps the rate's DQ.
"""
from dataclasses import dataclass

import numpy as np
from stdatamodels.jwst import datamodels as dm

from . import CalibrationInputError
from . import references as refs
from .photom import exposure_mid_time, time_dependent_factor
from .products import derived


@dataclass(frozen=True)
class Photom:
    """The photom step's reference values for one exposure.

    Parameters
    ----------
    factor : float
        PHOTMJSR at the exposure's mid-time.
    pixel_area_sr : float
        The pixel solid angle (PIXAR_SR).
    filename : str
        The PHOTOM reference's file name.
    """

    factor: float
    pixel_area_sr: float
    filename: str


def photom_reference(log, folder, exposure):
    """The PHOTOM reference's values for ``exposure`` (:class:`Photom`).

    PHOTMJSR is evaluated at EXPMID, or at EXPSTART (with a note in the photom step's
    HISTORY) when the exposure has no EXPMID: an exposure lasts minutes, the throughput
    decay months.

    Parameters
    ----------
    log : StepLog
    folder : path
        Reference folder.
    exposure : DataModel

    Returns
    -------
    Photom

    Raises
    ------
    CalibrationInputError
        For a missing PHOTOM reference, no row for the filter and subarray, or no PIXAR_SR.
    """
    model = refs.load(folder, "PHOTOM", exposure)
    meta = exposure.meta
    mid_time = exposure_mid_time(log, exposure, "photom")
    factor = time_dependent_factor(model, meta.instrument.filter, meta.subarray.name, mid_time)
    pixel_area = model.meta.photometry.pixelarea_steradians
    if not pixel_area:
        raise CalibrationInputError(f"{model.meta.filename}: PIXAR_SR (pixel solid angle) is missing")
    return Photom(factor, pixel_area, str(model.meta.filename))


def calibrate_rate(log, variant, d1, photom):
    """Surface brightness and its variances from a detector1 result.

    Parameters
    ----------
    log : StepLog
    variant : str
        The photom variant.
    d1 : calibration.detector1.Detector1
    photom : Photom

    Returns
    -------
    sci, var_poisson, var_rnoise : (ny, nx) float
    """
    return log.run("photom", variant, d1.rate, d1.var_poisson, d1.var_rnoise, photom.factor)


def run(log, exposure, d1, folder, choice):
    """image2: the cal product of one exposure.

    Parameters
    ----------
    log : StepLog
    exposure : RampModel
    d1 : calibration.detector1.Detector1
    folder : path
        Reference folder.
    choice : dict
        ``{step: variant}``.

    Returns
    -------
    ImageModel
        The cal product (MJy/sr), its steps not yet stamped (:meth:`StepLog.stamp`).
    """
    photom = photom_reference(log, folder, exposure)
    sci, var_p, var_r = calibrate_rate(log, choice["photom"], d1, photom)
    cal = derived(dm.ImageModel, d1.rate_model, data=sci.astype(np.float32), dq=d1.dq,
                  err=np.sqrt(var_p + var_r).astype(np.float32), var_poisson=var_p.astype(np.float32),
                  var_rnoise=var_r.astype(np.float32))
    cal.meta.bunit_data = cal.meta.bunit_err = "MJy/sr"
    cal.meta.ref_file.photom.name = photom.filename
    cal.meta.photometry.conversion_megajanskys = photom.factor
    cal.meta.photometry.pixelarea_steradians = photom.pixel_area_sr
    return cal
