"""The built-in nominal reference folder, used when no ``--refs`` folder is given.

Generated on first use from the documented facts in ``instrument`` (params defaults):
gain 4 e-/DN, CDS read noise 6 DN, dark 0.2 e-/s, reference columns flagged;
SATURATION and LINEARITY from ``calibration/data/detector_nominal.ecsv``: measured on
simulated flat ramps of the nominal detector by ``scripts/make_nominal_detector.py``, as
a ground programme measures them (the nonlinearity's shape and the bias are UNSOURCED
placeholders, so these are too),
PHOTMJSR from the nominal throughput (an UNSOURCED efficiency) with the documented
throughput decay as ``timecoeff_exponential`` rows (``A exp(-(t - t0)/tau) + C`` of
``instrument.optics``: tau = 200 d, t0 ~ MJD 59720, the one-year loss 0.21 at F2550W
interpolated to 0 at F560W, an INTERPOLATION), a CRUCIFORM table with the documented
kernel of ``instrument.optics`` (IFC F560W/F770W fit, a DERIVED detector-sampled
amplitude, faded to 0 at 12 um by INTERPOLATION), aperture corrections
from ``calibration/data/apcorr_nominal.ecsv``: measured on the testbed's diffraction PSF
by ``scripts/make_nominal_apcorr.py``, as CRDS APCORR files are measured on a PSF model.
EMICORR: the EMI lines, clocks and subarray cases of ``instrument.emi`` with a sine of
the guessed rms per line, in DN (``instrument.emi.RMS_DN``: 4 DN at 390 Hz, DERIVED from
params 2's ~20 % extra read noise, 1 DN at 10 Hz, a placeholder; uncertain: the flight
waveforms are in CRDS, not accessible), which sets the variance of EMI left uncorrected
(:mod:`calibration.emi_noise`).
SPECWCS: the flight LRS wavelength tables shipped with ``instrument`` (``instrument/data/lrs``,
INFLIGHT 2022-05, the files CRDS serves), copied as they are.
Darks are made per subarray and readout pattern with as many groups as asked.
The folder lives in ``$MIRI_TESTBED_CACHE`` (default ``~/.cache/miri-testbed``).
"""
import os
import shutil
from importlib import resources
from pathlib import Path

import numpy as np
from astropy.table import Table
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import detector as det
from miri_testbed.instrument import dq, emi, imager, lrs, optics, readout
from miri_testbed.instrument.files import atomic_path, save_model, write_table_reference
from miri_testbed.instrument.refmeta import Provenance, Selection, describe_model

VERSION = "v10"


def cache_root():
    """The folder of the generated nominal references: ``$MIRI_TESTBED_CACHE`` or ``~/.cache/miri-testbed``."""
    return Path(os.environ.get("MIRI_TESTBED_CACHE", Path.home() / ".cache" / "miri-testbed"))


PROVENANCE = Provenance(author="miri-testbed nominal", pedigree="DUMMY")
#: The imager's detector (nominal detector references are full-frame MIRIMAGE files).
DETECTOR = "MIRIMAGE"


#: Nominal references that serve only the imager (an LRS or MRS exposure must not select them).
IMAGER_ONLY = ("PHOTOM", "APCORR")


def _describe(model, reftype, subarray="FULL"):
    exp_type = "MIR_IMAGE" if reftype in IMAGER_ONLY else None
    return describe_model(model, reftype, Selection(detector=DETECTOR, exp_type=exp_type, subarray=subarray),
                          PROVENANCE, f"nominal {reftype} from the documented MIRI parameters")


def _static_models():
    shape = (det.FULL_NY, det.FULL_NX)
    mask = np.zeros(shape, np.uint32)
    mask[:, readout.subarray("FULL").reference_columns()] = dq.REFERENCE_PIXEL
    detector = Table.read(resources.files("miri_testbed.calibration") / "data" / "detector_nominal.ecsv",
                          format="ascii.ecsv")
    saturation = detector.meta["saturation_dn"]
    linearity = det.linearity_coefficients(np.asarray(detector["coefficient"]), detector.meta["bias_dn"])
    photom_rows = [(f, "GENERIC", imager.nominal_photmjsr(f, det.GAIN_E_PER_DN), 0.0) for f in imager.FILTERS]
    apcorr_path = resources.files("miri_testbed.calibration") / "data" / "apcorr_nominal.ecsv"
    apcorr_rows = [tuple(row) for row in Table.read(apcorr_path, format="ascii.ecsv")]
    photom = dm.MirImgPhotomModel(phot_table=np.array(photom_rows, dtype=[
        ("filter", "S12"), ("subarray", "S17"), ("photmjsr", "f4"), ("uncertainty", "f4")]))
    # The documented decay, one GENERIC row per filter (F560W: A = 0, C = 1, no decay).
    photom.timecoeff_exponential = np.array([(f, "GENERIC") + optics.decay_exponential(f) for f in imager.FILTERS],
                                            dtype=[("filter", "S12"), ("subarray", "S17"), ("t0", "f4"),
                                                   ("amplitude", "f4"), ("tau", "f4"), ("const", "f4")])
    photom.meta.photometry.pixelarea_steradians = imager.pixel_solid_angle_sr()
    return {
        "gain": dm.GainModel(data=np.full(shape, det.GAIN_E_PER_DN, np.float32)),
        "readnoise": dm.ReadnoiseModel(data=np.full(shape, det.READ_NOISE_CDS_DN, np.float32)),
        "saturation": dm.SaturationModel(data=np.full(shape, saturation, np.float32), dq=np.zeros(shape, np.uint32)),
        "mask": dm.MaskModel(dq=mask),
        "linearity": dm.LinearityModel(coeffs=np.broadcast_to(linearity[:, None, None], linearity.shape + shape).copy(),
                                       dq=np.zeros(shape, np.uint32)),
        "photom": photom,
        "apcorr": dm.MirImgApcorrModel(apcorr_table=np.array(apcorr_rows, dtype=[
            ("filter", "S12"), ("subarray", "S17"), ("eefraction", "f4"), ("radius", "f4"), ("apcorr", "f4"),
            ("skyin", "f4"), ("skyout", "f4")])),
    }


def _write_cruciform(path):
    """Write the CRUCIFORM reference: the kernel ``(a, s, gap)`` of ``instrument.optics`` per filter.

    A testbed table type, read by ``calibration.cruciform``.
    """
    rows = [(f,) + optics.cruciform_kernel(f) + (optics.CORE_GAP_PIX,) for f in imager.FILTERS]
    return write_table_reference(path, "CRUCIFORM", Table(rows=rows, names=("filter", "amplitude", "rate", "gap")),
                                 selection=Selection(detector=DETECTOR, exp_type="MIR_IMAGE"), provenance=PROVENANCE,
                                 description="nominal row/column scattering kernel a exp(-s|x|) (instrument.optics)")


def _emicorr_model():
    tree = emi.emicorr_tree({name: emi.sine_series([np.sqrt(2) * emi.RMS_DN[name]]) for name in emi.FREQUENCIES})
    model = dm.EmiModel()
    model.frequencies = tree["frequencies"]
    model.subarray_cases = tree["subarray_cases"]
    return describe_model(model, "EMICORR", Selection(), PROVENANCE,
                          "nominal EMICORR from the documented MIRI parameters (sines of the guessed rms, uncertain)")


def nominal_folder(subarray, readpatt, ngroups):
    """The nominal folder, made sure to hold a dark for ``subarray``/``readpatt``/``ngroups``."""
    folder = cache_root() / f"nominal-refs-{VERSION}"
    static = ("gain", "readnoise", "saturation", "mask", "linearity", "photom", "apcorr")
    if not all((folder / f"nominal_{name}.fits").exists() for name in static):
        for name, model in _static_models().items():
            save_model(_describe(model, name.upper()), folder / f"nominal_{name}.fits")
    if not (folder / "nominal_emicorr.asdf").exists():
        save_model(_emicorr_model(), folder / "nominal_emicorr.asdf")
    if not (folder / "nominal_cruciform.fits").exists():
        _write_cruciform(folder / "nominal_cruciform.fits")
    for mode, name in lrs.FLIGHT_FILES.items():
        if not (folder / name).exists():
            with resources.as_file(lrs.flight_file(mode)) as source, atomic_path(folder / name) as tmp:
                shutil.copyfile(source, tmp)
    sub = readout.subarray(subarray)
    dark_path = folder / f"nominal_dark_{sub.name.lower()}_{readpatt.lower()}_{ngroups}.fits"
    if not dark_path.exists():
        t_g = readout.group_time(sub.name, readpatt)
        per_group = det.DARK_CURRENT_E_PER_S / det.GAIN_E_PER_DN * t_g
        ramp = (np.arange(ngroups, dtype=np.float32) * per_group)[None, :, None, None]
        data = np.broadcast_to(ramp, (1, ngroups, sub.ysize, sub.xsize)).astype(np.float32)
        model = dm.DarkMIRIModel(
            data=data, err=np.zeros_like(data), dq=np.zeros((1, 1, sub.ysize, sub.xsize), np.uint32),
            average_dark_current=np.full((sub.ysize, sub.xsize), det.DARK_CURRENT_E_PER_S, np.float32))
        model.meta.exposure.readpatt = readpatt.upper()
        model.meta.exposure.ngroups = ngroups
        save_model(_describe(model, "DARK", sub.name), dark_path)
    return folder
