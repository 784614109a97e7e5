"""Open and check an uncal exposure before any work is done on it.

Everything that can make a product wrong or a step crash is checked here, and each
failure names the file and the problem: a file that is not FITS or is truncated, a
file that is not a MIRI ramp (INSTRUME, and an EXP_TYPE of one of MIRI's science modes,
:data:`instrument.modes.BY_EXP_TYPE`), missing readout keywords, a data shape that
disagrees with its keywords, too few groups, non-finite samples.  Whether a pipeline
after detector1 exists for the exposure type is :mod:`calibration.pipeline`'s business.
"""
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument.files import fits_cut_short
from miri_testbed.instrument.modes import BY_EXP_TYPE

from . import CalibrationInputError, populated_array

#: Samples of an integer SCI converted at a time (8 MB read, 16 MB written: the ramps' float32 array is the only
#: full-size one).
READ_SAMPLES = 1 << 22
REQUIRED_KEYWORDS = {
    "INSTRUME": "meta.instrument.name",
    "DETECTOR": "meta.instrument.detector",
    "EXP_TYPE": "meta.exposure.type",
    "READPATT": "meta.exposure.readpatt",
    "NGROUPS": "meta.exposure.ngroups",
    "NINTS": "meta.exposure.nints",
    "TGROUP": "meta.exposure.group_time",
    "SUBARRAY": "meta.subarray.name",
    "EXPSTART": "meta.exposure.start_time",
}


def _check_fits(path, extension="SCI", what="a JWST uncal file"):
    """The primary header of a FITS file with an ``extension`` (``what`` has one), checked without reading its data.

    A file that ends before that extension's data does (a truncated copy) is refused here; reading
    SCI to find that out would read the ramps twice, since the RampModel reads them again.
    """
    with warnings.catch_warnings():
        # astropy warns of a cut file as it reads the headers; the checks below refuse it by name: one message, ours
        warnings.simplefilter("ignore", AstropyUserWarning)
        return _checked_fits(path, extension, what)


def _checked_fits(path, extension, what):
    """:func:`_check_fits`'s checks, astropy's warnings as the caller filters them."""
    try:
        with fits.open(path, memmap=False) as hdul:
            hdul.verify("exception")
            header = hdul[0].header
            names = [h.name for h in hdul]
            if extension not in names:
                raise CalibrationInputError(f"{path}: no {extension} extension; not {what}")
            end = hdul.fileinfo(names.index(extension))["datLoc"] + hdul[extension].size  # bytes, from the header
            size = Path(path).stat().st_size
            if end > size:
                raise CalibrationInputError(f"{path}: not a readable FITS file, truncated or corrupt (its {extension} "
                                            f"data ends at byte {end}, the file has {size})")
            if cut := fits_cut_short(hdul, path):
                raise CalibrationInputError(f"{path}: not a readable FITS file, truncated or corrupt ({cut})")
    except CalibrationInputError:
        raise
    except FileNotFoundError:
        raise CalibrationInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CalibrationInputError(f"{path}: is a folder, not a FITS file") from None
    except Exception as exc:  # astropy raises several types for corrupt files
        raise CalibrationInputError(
            f"{path}: not a readable FITS file, truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from None
    return header


def _checked_header(path):
    """:func:`_check_fits`'s header, with every :data:`REQUIRED_KEYWORDS` present."""
    header = _check_fits(path)
    missing = [k for k in REQUIRED_KEYWORDS if k not in header]
    if missing:
        raise CalibrationInputError(f"{path}: missing required keyword(s) {', '.join(missing)}")
    return header


def _read_ramp(path):
    """``path`` as a RampModel, an unsigned 16-bit SCI (the archive's uncal) read straight into float32.

    The archive writes SCI as 16-bit integers offset by BZERO = 32768.  Read through astropy and
    stdatamodels they become uint16, then float32: three full-size arrays and passes (4.6 s of
    the 1000 x 10 SLITLESSPRISM TSO's calibrate).  Here the big-endian integers are read a block
    at a time and converted once, ``float32(i + 32768)``: exact (integers below 2^24 are), so
    the ramps are those stdatamodels makes, bit for bit.  Any other SCI is read by stdatamodels.  A missing
    GROUPDQ is zeros, as RampModel makes it, from :func:`calibration.populated_array`.
    """
    with fits.open(path, memmap=False) as hdul:  # arrays are read only when the model asks for them
        sci = hdul["SCI"]
        if sci.header["BITPIX"] == 16 and sci.header.get("BZERO") == 32768 and sci.header.get("BSCALE", 1) == 1:
            data = populated_array(sci.shape, np.float32)
            flat = data.reshape(-1)
            with open(path, "rb") as f:
                f.seek(hdul.fileinfo(hdul.index_of("SCI"))["datLoc"])
                for start in range(0, flat.size, READ_SAMPLES):
                    raw = np.fromfile(f, ">i2", min(READ_SAMPLES, flat.size - start))
                    np.add(raw, np.float32(32768), out=flat[start : start + raw.size])
            sci.data = data
        if "GROUPDQ" not in hdul:  # the archive's uncal has none: RampModel's default would be np.full's
            hdul.append(fits.ImageHDU(populated_array(sci.shape, np.uint8), name="GROUPDQ"))
        return dm.RampModel(hdul)


def open_uncal(path):
    """Open an uncal file as a checked ramp.

    Parameters
    ----------
    path : path
        A ``*_uncal.fits`` file.

    Returns
    -------
    RampModel

    Raises
    ------
    CalibrationInputError
        When the file cannot be calibrated; the message names the file and the problem.
    """
    path = Path(path)
    header = _checked_header(path)
    if str(header["INSTRUME"]).upper() != "MIRI":
        raise CalibrationInputError(f"{path}: INSTRUME is {header['INSTRUME']!r}, not MIRI")
    if str(header["EXP_TYPE"]).strip().upper() not in BY_EXP_TYPE:
        raise CalibrationInputError(
            f"{path}: EXP_TYPE {header['EXP_TYPE']!r} is not a MIRI science exposure type "
            f"(known: {', '.join(BY_EXP_TYPE)})"
        )
    sci = fits.getheader(path, "SCI")
    naxis = sci.get("NAXIS")
    if naxis == 2:
        raise CalibrationInputError(f"{path}: a rate image (2-D SCI), not an uncal ramp: calibrate takes uncal files; "
                                    "a _rate.fits only as a member of an MRS dither set (--combine)")
    if naxis != 4:
        with fits.open(path) as hdus:
            spectrum = "EXTRACT1D" in hdus
        what = ": an x1d spectrum product" if spectrum else (
            ": a rateints (rates per integration); a dither set takes each exposure's _rate.fits" if naxis == 3 else "")
        raise CalibrationInputError(f"{path}: SCI has {naxis} dimensions, not an uncal ramp's 4 (nints, ngroups, ny, "
                                    f"nx){what}; calibrate takes uncal files")
    try:
        model = _read_ramp(path)
    except Exception as exc:
        raise CalibrationInputError(f"{path}: cannot be read as a JWST RampModel ({exc})") from None
    data = model.data
    if data.ndim != 4:
        raise CalibrationInputError(f"{path}: SCI has {data.ndim} dimensions; a ramp has 4 (nints, ngroups, ny, nx)")
    nints, ngroups = data.shape[:2]
    if (nints, ngroups) != (model.meta.exposure.nints, model.meta.exposure.ngroups):
        raise CalibrationInputError(
            f"{path}: SCI shape {data.shape} disagrees with NINTS={model.meta.exposure.nints}, "
            f"NGROUPS={model.meta.exposure.ngroups}"
        )
    if ngroups < 2:
        raise CalibrationInputError(f"{path}: NGROUPS={ngroups}; a slope needs at least 2 groups")
    xsize, ysize = model.meta.subarray.xsize, model.meta.subarray.ysize
    if xsize and ysize and (ysize, xsize) != data.shape[2:]:
        raise CalibrationInputError(
            f"{path}: SCI frame {data.shape[2:]} disagrees with SUBSIZE2, SUBSIZE1 = {(ysize, xsize)}"
        )
    bad = ~np.isfinite(data) if sci["BITPIX"] < 0 else None  # integers are finite
    if bad is not None and bad.any():
        raise CalibrationInputError(
            f"{path}: SCI has {int(bad.sum())} non-finite (NaN or inf) samples, first at "
            f"(int, group, y, x) = {tuple(int(i) for i in np.argwhere(bad)[0])}"
        )
    if model.meta.exposure.group_time is None or not model.meta.exposure.group_time > 0:
        raise CalibrationInputError(f"{path}: TGROUP must be a positive number of seconds")
    return model


def open_rate(path):
    """Open a rate file (detector1's product: SCI in DN/s, DQ, VAR_POISSON, VAR_RNOISE) as a checked image.

    CalibrationInputError names the file and the problem (:func:`open_uncal`'s keywords are required too).
    """
    path = Path(path)
    _checked_header(path)
    try:
        model = dm.ImageModel(str(path))
    except Exception as exc:
        raise CalibrationInputError(f"{path}: cannot be read as a JWST ImageModel (a rate) ({exc})") from None
    shape = model.data.shape
    for name in ("dq", "var_poisson", "var_rnoise"):
        if getattr(model, name).shape != shape:
            raise CalibrationInputError(f"{path}: {name.upper()} is missing or not the shape of SCI {shape}; a rate "
                                        "file needs DQ, VAR_POISSON and VAR_RNOISE")
    return model


def open_x1d(path):
    """Open a spectrum product (a ``MultiSpecModel``, e.g. an MRS ``_x1d.fits``); anything else is refused by name."""
    path = Path(path)
    _check_fits(path, "EXTRACT1D", "an x1d (a spectrum product)")
    try:
        return dm.MultiSpecModel(str(path))
    except Exception as exc:
        raise CalibrationInputError(f"{path}: cannot be read as a JWST MultiSpecModel (an x1d) ({exc})") from None
