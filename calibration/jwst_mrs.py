"""jwst's MRS ``assign_wcs`` -> ``photom`` -> ``cube_build`` -> ``extract_1d``, run offline on our rate files.

Installed with the optional ``peers`` extra (jwst is imported only when a function here
runs).  Every reference is given, never looked up (:func:`calibration.jwst_lrs.offline`:
the CRDS client's look-ups refused for the duration of a call).  What jwst needs and our
rate files lack is filled in by :func:`prepare`:

* the pointing, ``meta.wcsinfo``: the telescope's V2/V3 reference point is put on the
  target's V2/V3 in this exposure (APERNAME's SIAF reference point moved by the dither's
  Ideal offset XOFFSET/YOFFSET, :func:`calibration.mrs_pointing.pointing`, as our spec3
  combines a dither set) and ``ra_ref, dec_ref`` on a fixed sky position
  (:data:`SKY`, PLACEHOLDER), ``roll_ref`` 0: every exposure of a dither set then maps the
  target to the same sky position, as a real dither set's pointings do; ``v3yangle`` and
  ``vparity`` are the SIAF aperture's;
* ``meta.target`` (the sky position) and ``source_type`` POINT.

The references (:class:`JwstMrsReferences`): the exposure's DISTORTION, SPECWCS,
WAVELENGTHRANGE, PHOTOM and APCORR (the JWST formats, as the simulator writes them or
CRDS holds them), and three this project has no flight copy of, written here:

* REGIONS (:func:`regions_reference`): the slice map jwst's ``assign_wcs`` labels pixels
  with (it reads plane 7, the 80 % throughput map).  Derived as our ``mrs_wcs`` derives
  it when a folder has no REGIONS (:func:`calibration.mrs_wcs.band_pixels`: a pixel is in
  slice ``k`` when its centre maps by the DISTORTION's forward models inside the slice's
  SIAF length and the band's WAVELENGTHRANGE), the same map in all 9 planes: both sides
  see the same pixels;
* CUBEPAR (:func:`cubepar_reference`, ``MiriIFUCubeParsModel``): per band the spaxel size
  (0.13 / 0.17 / 0.20 / 0.35" for channels 1-4) and WAVEMIN/WAVEMAX, the pipeline
  defaults of the parameter reference, section 5 (from jwst's own CUBEPAR test table),
  and the SPECTRALSTEP: the given one per band, default jwst's test table's
  (0.001 / 0.002 / 0.003 / 0.006 um); the benchmark gives ours (the median pixel extent in
  lambda, :func:`calibration.cube_build.grid_for`) so both cubes sample alike.  The MSM and
  EMSM tables hold the test table's values (unused by the drizzle), the multi-band drizzle
  wavelengths a plane every lambda / 3000 (unused by band cubes);
* EXTRACT1D for an IFU (:func:`extract1d_reference`, ``Extract1dIFUModel``, ASDF): a
  circular aperture of radius ``3 lambda/D`` and a background annulus ``4.5-6 lambda/D``
  (:data:`calibration.mrs_extract.APERTURE_LD`, ``ANNULUS_LD``: ours, and the geometry the
  APCORR the simulator writes is made for), exact pixel overlap.

``extract_1d`` runs with ``ifu_autocen`` (the source found in the collapsed cube) and the
APCORR; ``ifu_rfcorr`` (the 1-D residual-fringe fit) off: the exposures here have no
fringes, and the fit would only add its own error.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from miri_testbed.instrument import mrs

from . import mrs_pointing, mrs_wcs
from .jwst_lrs import _overrides, offline
from .mrs_extract import ANNULUS_LD, APERTURE_LD
from .mrs_spec2 import band_setting

#: PLACEHOLDER sky position of the target (deg): the sky coordinates only; nothing here depends on it.
SKY = (80.0, -69.5)
#: jwst reads this plane of REGIONS (80 % throughput); :func:`regions_reference` writes 9 equal planes.
REGIONS_PLANES = 9
#: jwst's CUBEPAR test table's spectral step per channel, um (jwst ``cube_build/tests/test_miri_cubepars.py``).
SPECTRAL_STEP_UM = {1: 0.001, 2: 0.002, 3: 0.003, 4: 0.006}
#: Each band's cube WAVEMIN/WAVEMAX, um (params section 5 "Bands": jwst's CUBEPAR test table).
WAVELENGTH_RANGE_UM = dict(zip(mrs.BANDS, ((4.89, 5.75), (5.65, 6.64), (6.52, 7.66), (7.49, 8.78), (8.65, 10.14),
                                           (10.00, 11.70), (11.53, 13.48), (13.37, 15.63), (15.44, 18.05),
                                           (17.66, 20.92), (20.54, 24.40), (23.95, 28.45)), strict=True))
#: The same table's MSM / EMSM region of interest (spatial arcsec, spectral um) per channel, unused by the drizzle.
_ROI = {1: (0.10, 0.001), 2: (0.15, 0.002), 3: (0.20, 0.003), 4: (0.40, 0.006)}


@dataclass(frozen=True)
class JwstMrsReferences:
    """The reference files handed to jwst (paths; ``"N/A"`` where none)."""

    distortion: str
    specwcs: str
    wavelengthrange: str
    regions: str
    cubepar: str
    extract1d: str
    photom: str = "N/A"
    apcorr: str = "N/A"


def _write(model, path):
    path = Path(path)
    model.save(str(path))
    return path


def regions_reference(path, references, shape=(1024, 1032)):
    """Write a REGIONS (``RegionsModel``) holding our derived slice map of the exposure's bands (module docstring).

    Parameters
    ----------
    path : path
    references : calibration.mrs_wcs.MrsReferences
        The exposure's geometry (:func:`calibration.mrs_wcs.read_references`).
    shape : (int, int)
        The detector frame.

    Returns
    -------
    Path
    """
    from stdatamodels.jwst import datamodels as dm

    labels = np.zeros(shape, np.int32)
    for band in references.bands.values():
        pixels = mrs_wcs.band_pixels(band, shape)
        labels[pixels.y, pixels.x] = np.asarray(band.slices)[pixels.slice]
    model = dm.RegionsModel(regions=np.repeat(labels[None], REGIONS_PLANES, axis=0))
    _reference_meta(model, "REGIONS", references)
    return _write(model, path)


def _reference_meta(model, reftype, references=None):
    model.meta.reftype = reftype
    model.meta.instrument.name = "MIRI"
    model.meta.exposure.type = "MIR_MRS"
    model.meta.author = "miri_testbed.calibration.jwst_mrs"
    model.meta.description = f"{reftype} written by the testbed for jwst's MRS steps (not a CRDS file)"
    model.meta.pedigree = "DUMMY"
    model.meta.useafter = "2022-01-01T00:00:00"
    if references is not None:
        names = sorted(references.bands)
        model.meta.instrument.detector = mrs.DETECTOR_OF_CHANNEL[int(names[0][0])]
        model.meta.instrument.channel = "".join(n[0] for n in names)
        model.meta.instrument.band = band_setting(names[0])


def cubepar_reference(path, spectral_step_um=None):
    """Write a CUBEPAR (``MiriIFUCubeParsModel``) with the pipeline's default cube parameters (module docstring).

    Parameters
    ----------
    path : path
    spectral_step_um : dict, optional
        ``{band: step}`` for the bands to sample otherwise (um).

    Returns
    -------
    Path
    """
    from stdatamodels.jwst import datamodels as dm

    given = spectral_step_um or {}
    names = mrs.BANDS
    rows = [(n[0], band_setting(n), mrs.CUBE_SPAXEL_ARCSEC[int(n[0])], given.get(n, SPECTRAL_STEP_UM[int(n[0])]),
             *WAVELENGTH_RANGE_UM[n]) for n in names]
    table = np.array(rows, dtype=[("channel", "S3"), ("band", "S12"), ("spaxelsize", "f4"), ("spectralstep", "f4"),
                                  ("wavemin", "f4"), ("wavemax", "f4")])
    msm = np.array([(n[0], band_setting(n), *_ROI[int(n[0])], 2.0, 0.01) for n in names],
                   dtype=[("channel", "S3"), ("band", "S12"), ("roispatial", "f4"), ("roispectral", "f4"),
                          ("power", "f4"), ("softrad", "f4")])
    emsm = np.array([(n[0], band_setting(n), *_ROI[int(n[0])], 0.1) for n in names],
                    dtype=[("channel", "S3"), ("band", "S12"), ("roispatial", "f4"), ("roispectral", "f4"),
                           ("scalerad", "f4")])
    # The multi-band (non-linear) wavelength table, unused by band cubes: planes lambda / 3000 apart.
    multi = np.geomspace(4.89, 28.45, int(np.log(28.45 / 4.89) * 3000) + 1)
    # The multi-band MSM / EMSM tables, unused by the drizzle: the channels' values at their middles.
    middles = [(c, np.mean([WAVELENGTH_RANGE_UM[f"{c}{s}"] for s in "ABC"])) for c in range(1, 5)]
    multi_msm = np.array([(w, *_ROI[c], 2.0, 0.01) for c, w in middles],
                         dtype=[("wavelength", "f4"), ("roispatial", "f4"), ("roispectral", "f4"), ("power", "f4"),
                                ("softrad", "f4")])
    multi_emsm = np.array([(w, *_ROI[c], 0.1) for c, w in middles],
                          dtype=[("wavelength", "f4"), ("roispatial", "f4"), ("roispectral", "f4"), ("scalerad", "f4")])
    model = dm.MiriIFUCubeParsModel(ifucubepars_table=table, ifucubepars_msm_table=msm, ifucubepars_emsm_table=emsm,
                                    ifucubepars_multichannel_msm_wavetable=multi_msm,
                                    ifucubepars_multichannel_emsm_wavetable=multi_emsm,
                                    ifucubepars_multichannel_driz_wavetable=np.array(
                                        multi, dtype=[("wavelength", "f4")]))
    _reference_meta(model, "CUBEPAR")
    model.meta.instrument.detector = "N/A"
    return _write(model, path)


def extract1d_reference(path, wavelength_um=(4.5, 29.0)):
    """Write an IFU EXTRACT1D (``Extract1dIFUModel``): our cone and annulus in arcsec (module docstring)."""
    import asdf
    from stdatamodels.jwst import datamodels as dm

    wave = np.linspace(*wavelength_um, 50).astype(np.float32)
    ld = mrs.lambda_over_d(wave).astype(np.float32)
    model = dm.Extract1dIFUModel()
    model.data = dict(wavelength=wave[:, None], radius=(APERTURE_LD * ld)[:, None],
                      inner_bkg=(ANNULUS_LD[0] * ld)[:, None], outer_bkg=(ANNULUS_LD[1] * ld)[:, None],
                      wavelength_units="micron", radius_units="arcsec", inner_bkg_units="arcsec",
                      outer_bkg_units="arcsec")
    model.meta.subtract_background = True
    model.meta.method = "exact"
    model.meta.subpixels = 10
    model.meta.region_type = "target"
    _reference_meta(model, "EXTRACT1D")
    with asdf.config_context() as config:
        config.array_inline_threshold = wave.size + 1  # jwst reads the arrays after closing the file
        return _write(model, path)


def prepare(model):
    """Fill in the pointing and the target jwst needs (module docstring), in place; returns ``model``."""
    aperture = mrs.miri_siaf()["MIRIFU_CHANNEL1A"]
    wcsinfo = model.meta.wcsinfo
    target = mrs_pointing.pointing(model, model.meta.filename or "the exposure")
    wcsinfo.v2_ref, wcsinfo.v3_ref = target.v2, target.v3
    wcsinfo.ra_ref, wcsinfo.dec_ref = SKY
    wcsinfo.roll_ref = 0.0
    wcsinfo.v3yangle, wcsinfo.vparity = float(aperture.V3IdlYAngle), int(aperture.VIdlParity)
    model.meta.target.ra, model.meta.target.dec = SKY
    model.meta.target.source_type = "POINT"
    return model


def assign_wcs(model, references):
    """The jwst ``AssignWcsStep`` for MIR_MRS with the DISTORTION, SPECWCS, REGIONS and WAVELENGTHRANGE given."""
    from jwst.assign_wcs import AssignWcsStep

    given = dict(distortion=references.distortion, specwcs=references.specwcs, regions=references.regions,
                 wavelengthrange=references.wavelengthrange)
    with offline():
        return AssignWcsStep.call(model, **_overrides(AssignWcsStep, given))


def photom(model, references):
    """The jwst ``PhotomStep`` (the MRS PHOTOM and its time dependence; no AREA): DN/s -> MJy/sr."""
    from jwst.photom import PhotomStep

    with offline():
        return PhotomStep.call(model, **_overrides(PhotomStep, dict(photom=references.photom)))


def cube_build(models, references, **parameters):
    """The jwst ``CubeBuildStep`` (drizzle, one cube per band by default) over calibrated exposures: a list of cubes."""
    from jwst.cube_build import CubeBuildStep
    from jwst.datamodels import ModelContainer

    container = ModelContainer(list(models))
    with offline():
        result = CubeBuildStep.call(container, output_type="band", **_overrides(CubeBuildStep,
                                                                               dict(cubepar=references.cubepar)),
                                    **parameters)
    return list(result) if isinstance(result, ModelContainer) else [result]


def extract_1d(cube, references, **parameters):
    """The jwst ``Extract1dStep`` on one IFU cube: point source, auto-centred, with the APCORR (module docstring)."""
    from jwst.extract_1d import Extract1dStep

    options = dict(ifu_autocen=True, ifu_rfcorr=False, apply_apcorr=references.apcorr != "N/A")
    options.update(parameters)
    given = dict(extract1d=references.extract1d, apcorr=references.apcorr)
    with offline():
        return Extract1dStep.call(cube, **_overrides(Extract1dStep, given), **options)


def run(rates, references, cube_parameters=None, **extract_parameters):
    """The jwst MRS chain on rate files of one detector and setting (a dither set or one exposure).

    Parameters
    ----------
    rates : sequence of path or ImageModel
        Our ``_rate`` products; models are changed in place.
    references : JwstMrsReferences
    cube_parameters : dict, optional
        To ``CubeBuildStep``.
    **extract_parameters
        To ``Extract1dStep``.

    Returns
    -------
    dict
        ``cal`` (the exposures in MJy/sr with their WCS, or DN/s without a PHOTOM),
        ``s3d`` (jwst's cubes, one per band) and ``x1d`` (one ``MRSMultiSpecModel`` per cube).
    """
    from stdatamodels.jwst import datamodels as dm

    cal = []
    for rate in rates:
        model = prepare(dm.IFUImageModel(rate if isinstance(rate, (str, Path)) else rate))
        model = assign_wcs(model, references)
        cal.append(photom(model, references) if references.photom != "N/A" else model)
    cubes = cube_build(cal, references, **(cube_parameters or {}))
    return dict(cal=cal, s3d=cubes, x1d=[extract_1d(c, references, **extract_parameters) for c in cubes])
