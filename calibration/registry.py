"""Named algorithm variants per calibration step, each with its step's fixed signature.

A study picks variants by name (``{"ramp_fit": "ols"}``) and runs them on the same
exposures; the command line takes ``--algorithm STEP=NAME``.  Every variant of a step
is a plain function of numpy arrays (and small values read from references) with the
step's signature; the step shells (:mod:`calibration.steps`) open the data models and
reference files around them.  When the optional ``peers`` extra is installed, the
official ``stcal`` / ``jwst`` implementations join as ``stcal_*`` / ``jwst_*`` variants
(:mod:`calibration.peers`).

===============  ==============================================================  ====================
step             signature (data arguments; reference arguments)                 returns
===============  ==============================================================  ====================
dq_init          pixeldq; mask                                                   pixeldq
saturation       data, groupdq; threshold                                        groupdq
emi              data, groupdq, pixeldq, read_noise, gain; case (EmiCase)        (data, notes)
firstframe       groupdq                                                         groupdq
lastframe        groupdq                                                         groupdq
linearity        data, groupdq; coeffs                                           (data, pixel flags)
dark             data; dark                                                      data
jump             data, groupdq, read_noise, gain, group_time                     (groupdq, mean_diff)
showers          data, groupdq, read_noise, gain, group_time, mean_diff          (groupdq, n_showers)
ramp_fit         data, groupdq, read_noise, gain, group_time, dark_rate          RampFit
                 (keyword ``interference``: the EMI left in)
photom           rate, var_poisson, var_rnoise; factor (PHOTMJSR)                (sci, var_p, var_r)
cruciform        sci; kernel (a, s, gap)                                         (sci, apcorr factor)
background       sci, var; backgrounds [(sci, var), ...]                         (sci, var)
catalog          sci, err, wcs, filter, aperture, pixel_area_sr; psf             QTable
alignment        x, y, wcs; refcat (ra, dec), distortion, origin                 (wcs, info)
assign_wcs       rows; table (SPECWCS nodes in the frame)                        (wavelength, trace_x)
extract_tso      sci, var, var_row, dq (integrations on axis 0), trace_x          ExtractedInts
white_light      wavelength, flux, error, dq (integrations on axis 0), range     LightCurve
transit_fit      time, flux, error, t_start; ephemeris (keyword ``shape``)        TransitFit
spec_background  sci, var, trace_x, sky_columns; backgrounds [(sci, var)]        (sci, var, var_row)
pixel_replace    sci, var, dq, trace_x                                           (sci, var, dq)
extract_1d       sci, var, var_row, dq, trace_x                                  Extracted
apcorr           flux, error, wavelength, window halves; (wavelength, size, E),   (flux, error)
                 background pixels (u, v) or None
pathloss         flux, error, wavelength; (wavelength, correction)               (flux, error)
spec_photom      flux, error, wavelength; (wavelength, Jy per DN/s)              (flux, error, factor)
mrs_wcs          band (BandWcs), shape, regions or None                          MrsPixels
straylight       rate, var, dq (the MRS detector frame); XArtCorr, bands' MrsPixels (rate, var)
clean_showers    rate, var, dq (the MRS detector frame); lit (in a slice)        (rate, var)
fringe           rate, var (a frame); fringe flat, point-source fringe flat or     (rate, var)
                 None, slice ids
mrs_photom       rate, var, wavelength (a band's pixels); SCI, time table or     (sci, var)
                 None, mid-time
cube_build       samples (Samples: one exposure's or a dither set's pixels),     Cube
                 grid (CubeGrid)
mrs_extract      cube (Cube); APCORR (MrsApcorr) or None                         MrsSpectrum
spectral_leak    cube, spectrum (band 3A), extract; LEAKCOR (LeakTable), 1B      (cube, spectrum,
                 (SourceBand), frame map, Jy per the spectrum's unit              notes)
residual_fringe  wavelength, flux, error, usable (a band's spectrum), channel,  (flux, error, what fitted)
                 the planes' noise correlation, the fringe flat's period
residual_fringe  values, var, pixels (MrsPixels), good (a band's pixels after    (values, var, note)
_2d              mrs_photom), channel
mrs_pixel        values, var, pixels (MrsPixels), good (a band's pixels after    (values, var, good,
_replace         residual_fringe_2d)                                             note)
===============  ==============================================================  ====================

The LRS steps (spec2: :mod:`calibration.spec2`) are ``assign_wcs`` (:mod:`calibration.lrs_wcs`),
``spec_background`` (:mod:`calibration.lrs_background`; its default ``auto`` is ``nod`` for
an exposure with a nod background and ``columns`` otherwise), ``pixel_replace``
(:mod:`calibration.pixel_replace`) and ``extract_1d``
(:mod:`calibration.extract1d`), then the flux calibration ``apcorr``, ``pathloss`` and
``spec_photom`` (:mod:`calibration.lrs_photom`).

The MRS (:mod:`calibration.mrs_spec2`) runs ``background`` on the rate (``local``, a skip: the
extraction's annulus; ``dedicated``: the association's background exposures), ``mrs_wcs`` (:mod:`calibration.mrs_wcs`),
``straylight`` (:mod:`calibration.straylight`: the cross-artifact of the MRSXARTCORR removed from the
rate; ``jwst_straylight`` jwst's), ``clean_showers`` (:mod:`calibration.clean_showers`: ``gaps`` removes the
residual shower light modelled from the inter-slice gaps; ``none``, the default, as jwst's), ``fringe``
(:mod:`calibration.fringe`: the fringe flat; skipped without a FRINGE reference; ``point_source`` divides a point
source's light by the PSFRINGE of its dither position and the sky by the fringe flat), ``mrs_photom``
(:mod:`calibration.mrs_photom`; ``none`` leaves the cube and spectrum in DN/s),
``cube_build`` (:mod:`calibration.cube_build`; ``drizzle_smooth`` smooths each pixel's box in lambda,
which keeps a line's centre where ``drizzle`` moves it by up to ~1 km/s; ``drizzle_alpha_smooth``
smooths it in alpha, which damps the peak spaxel's resampling ripple at a broader image;
``drizzle_lambda_alpha_smooth`` does both; the default ``drizzle`` is jwst's; each as ``<name>_complete`` takes
a dither set's spaxel from the exposures complete in it) and ``mrs_extract``
(:mod:`calibration.mrs_extract`;
``annulus`` subtracts a background from an annulus in the cube, ``aperture`` nothing; the
aperture correction is the MRS APCORR's, or an Airy one without it), then on band 3A ``spectral_leak``
(:mod:`calibration.spectral_leak`; ``cube`` subtracts the 1B cube's leak from the 3A cube and extracts
again, ``cube_sharpened`` the same with 1B's planes sharpened in beta first, ``spectrum`` the 1B spectrum's
from the 3A spectrum as jwst's does, ``jwst_spectrum`` is jwst's), and
``residual_fringe`` on each band's spectrum (:mod:`calibration.residual_fringe`: ``fit``, ``jwst_1d`` with the
peers extra, ``none`` the default); ``residual_fringe_2d`` between ``mrs_photom`` and ``cube_build``
(:func:`calibration.residual_fringe.columns`: ``fit`` per detector column, ``none`` the default), then
``mrs_pixel_replace`` (:func:`calibration.pixel_replace.slices`: ``profile``, the default, replaces a bad pixel
from its slice's neighbouring rows; ``profile_neighbours`` (:func:`calibration.pixel_replace.slices_and_neighbours`)
also what that leaves from the neighbouring slices, whose errors the variance does not hold yet; ``none`` leaves it
out of the cube, as jwst's default).

The LRS time series (:mod:`calibration.tso3`) runs ``extract_tso``
(:mod:`calibration.tso_extract`), ``white_light`` (:mod:`calibration.light_curves`) and
``transit_fit`` (:mod:`calibration.transit`).

A :class:`~calibration.Skip` in the table is a declared skip (``none``; ``local``, whose
work is the catalog's sky annuli); a variant returns one when it declines its input.
Either way the step passes its input on as :data:`UNCHANGED` says.

Every variant of a step that returns ramp-sized arrays (saturation, emi, firstframe,
lastframe, linearity, dark, jump, showers) also takes ``out``: the array its ramps or
group DQ go into, which may be its input (in place; :func:`calibration.into`).
detector1 passes its working arrays, so a step adds no ramp-sized copy.
"""
import numpy as np

from . import (
    CalibrationInputError,
    Skip,
    alignment,
    background,
    clean_showers,
    cruciform,
    cube_build,
    extract1d,
    fringe,
    light_curves,
    lrs_background,
    lrs_wcs,
    mrs_extract,
    mrs_photom,
    mrs_wcs,
    peers,
    residual_fringe,
    spectral_leak,
    straylight,
    transit,
    tso_extract,
)
from .catalog import source_catalog
from .dark import subtract_dark
from .dq_init import apply_mask
from .emi import correct_fold, correct_joint
from .frames import flag_first, flag_last
from .jump import detect_jumps, detect_jumps_likelihood
from .linearity import correct_linearity
from .lrs_photom import apcorr, pathloss, spec_photom
from .photom import apply_photom
from .pixel_replace import peer_variants as pixel_replace_peers
from .pixel_replace import profile as replace_from_profile
from .pixel_replace import slices as replace_in_slices
from .pixel_replace import slices_and_neighbours as replace_in_and_across_slices
from .psf_photometry import psf_catalog
from .ramp_fit import fit_likelihood, fit_ols, fit_optimal
from .saturation import flag_saturation
from .showers import flag_showers

NONE = Skip("variant 'none' chosen")

ALGORITHMS = {
    "dq_init": {"reference": apply_mask, "none": NONE},
    "saturation": {"threshold": flag_saturation, "none": NONE},
    "emi": {"joint": correct_joint, "fold": correct_fold, "none": NONE},
    "firstframe": {"flag": flag_first, "none": NONE},
    "lastframe": {"flag": flag_last, "none": NONE},
    "linearity": {"reference": correct_linearity, "none": NONE},
    "dark": {"reference": subtract_dark, "none": NONE},
    "jump": {"twopoint": detect_jumps, "likelihood": detect_jumps_likelihood, "none": NONE},
    "showers": {"box": flag_showers, "none": NONE},
    "ramp_fit": {"likelihood": fit_likelihood, "ols": fit_ols, "optimal": fit_optimal},
    "photom": {"reference": apply_photom},
    "catalog": {"aperture": source_catalog, "psf": psf_catalog},
    "cruciform": {"subtract": cruciform.subtract, "apcorr": cruciform.apcorr, "none": NONE},
    "alignment": {"catalog": alignment.align_to_catalog, "none": NONE},
    "background": {"local": Skip("variant 'local' chosen: each source's background comes from a sky annulus "
                                 "(the imager's catalog, the MRS extraction)"),
                   "map": background.map_variant, "dedicated": background.dedicated},
    "assign_wcs": {"spline": lrs_wcs.spline},
    "extract_tso": {"optimal": tso_extract.optimal, "box": tso_extract.box},
    "white_light": {"sum": light_curves.summed},
    "transit_fit": {"ramp": transit.fit_ramp, "linear": transit.fit_linear, "none": NONE},
    "spec_background": {"auto": lrs_background.auto, "nod": lrs_background.nod, "columns": lrs_background.columns,
                        "none": NONE},
    "pixel_replace": {"profile": replace_from_profile, "none": NONE},
    "extract_1d": {"box": extract1d.box, "optimal": extract1d.optimal},
    "apcorr": {"reference": apcorr, "none": NONE},
    "pathloss": {"reference": pathloss, "none": NONE},
    "spec_photom": {"reference": spec_photom, "none": NONE},
    "mrs_wcs": {"reference": mrs_wcs.band_pixels},
    "straylight": {"model": straylight.model, "none": NONE},
    "clean_showers": {"gaps": clean_showers.gaps,
                      "none": Skip("variant 'none' chosen (the default, as jwst's straylight clean_showers=False)")},
    "fringe": {"reference": fringe.divide, "point_source": fringe.point_source, "none": NONE},
    "mrs_photom": {"reference": mrs_photom.reference, "none": NONE},
    "cube_build": {"drizzle": cube_build.drizzle, "drizzle_smooth": cube_build.drizzle_smooth,
                   "drizzle_alpha_smooth": cube_build.drizzle_alpha_smooth,
                   "drizzle_lambda_alpha_smooth": cube_build.drizzle_lambda_alpha_smooth},
    "mrs_extract": {"annulus": mrs_extract.annulus, "aperture": mrs_extract.aperture},
    "spectral_leak": {"cube": spectral_leak.cube, "cube_sharpened": spectral_leak.cube_sharpened,
                      "spectrum": spectral_leak.spectrum, "none": NONE},
    "residual_fringe": {"fit": residual_fringe.fit,
                        "none": Skip("variant 'none' chosen (the default, as jwst's calwebb_spec2)")},
    "residual_fringe_2d": {"fit": residual_fringe.columns,
                           "none": Skip("variant 'none' chosen (the default, as jwst's calwebb_spec2)")},
    "mrs_pixel_replace": {"profile": replace_in_slices, "profile_neighbours": replace_in_and_across_slices,
                          "none": NONE},
}
ALGORITHMS["cube_build"].update({f"{name}_complete": cube_build.complete(kernel)
                                 for name, kernel in list(ALGORITHMS["cube_build"].items())})
ALGORITHMS["pixel_replace"].update(pixel_replace_peers())
ALGORITHMS["jump"].update(peers.jump_variants())
ALGORITHMS["ramp_fit"].update(peers.ramp_fit_variants())
ALGORITHMS["emi"].update(peers.emi_variants())
ALGORITHMS["straylight"].update(peers.straylight_variants())
ALGORITHMS["spectral_leak"].update(peers.spectral_leak_variants())
ALGORITHMS["residual_fringe"].update(peers.residual_fringe_variants())

#: What a skipped step passes on, from the step's arguments.  Steps that cannot be
#: skipped (they make the product: ramp_fit, photom, catalog) have no entry.
UNCHANGED = {
    "dq_init": lambda pixeldq, *_: pixeldq,
    "saturation": lambda data, groupdq, *_: groupdq,
    "emi": lambda data, *_: (data, []),
    "firstframe": lambda groupdq, *_: groupdq,
    "lastframe": lambda groupdq, *_: groupdq,
    "linearity": lambda data, *_: (data, np.uint32(0)),
    "dark": lambda data, *_: data,
    "jump": lambda data, groupdq, *_: (groupdq, None),
    "showers": lambda data, groupdq, *_: (groupdq, 0),
    "cruciform": lambda sci, *_: (sci, 1.0),
    "background": lambda sci, var, *_: (sci, var),
    "alignment": lambda x, y, wcs, *_: (wcs, None),
    "transit_fit": lambda *_: None,
    "spec_background": lambda sci, var, *_: (sci, var, np.zeros(sci.shape[0])),
    "pixel_replace": lambda sci, var, dq, *_: (sci, var, dq),
    "apcorr": lambda flux, error, *_: (flux, error),
    "pathloss": lambda flux, error, *_: (flux, error),
    "spec_photom": lambda flux, error, *_: (flux, error, np.ones(flux.shape)),
    "straylight": lambda rate, var, *_: (rate, var),
    "clean_showers": lambda rate, var, *_: (rate, var),
    "fringe": lambda rate, var, *_: (rate, var),
    "mrs_photom": lambda rate, var, *_: (rate, var),
    "mrs_extract": lambda cube, *_: None,  # declined where there is no point source: the cube without a spectrum
    "spectral_leak": lambda cube, spectrum, *_: (cube, spectrum, []),
    "residual_fringe": lambda wavelength, flux, error, *_: (flux, error, None),
    "residual_fringe_2d": lambda values, var, *_: (values, var, None),
    "mrs_pixel_replace": lambda values, var, pixels, good, *_: (values, var, good, None),
}

DEFAULTS = {"dq_init": "reference", "saturation": "threshold", "emi": "joint", "firstframe": "flag",
            "lastframe": "flag", "linearity": "reference", "dark": "reference", "jump": "likelihood",
            "showers": "box", "ramp_fit": "likelihood", "photom": "reference", "catalog": "psf",
            "cruciform": "subtract", "alignment": "catalog", "background": "local", "assign_wcs": "spline",
            "spec_background": "auto", "pixel_replace": "profile", "extract_1d": "box",
            "apcorr": "reference", "pathloss": "reference", "spec_photom": "reference",
            "extract_tso": "optimal", "white_light": "sum", "transit_fit": "ramp", "mrs_wcs": "reference",
            "straylight": "model", "fringe": "reference", "mrs_photom": "reference",
            "cube_build": "drizzle_lambda_alpha_smooth_complete", "mrs_extract": "annulus", "spectral_leak": "cube",
            "residual_fringe": "none", "clean_showers": "none", "residual_fringe_2d": "none",
            "mrs_pixel_replace": "profile"}


def resolve(choices=None):
    """The full choice of variants, from the defaults and ``choices``.

    Parameters
    ----------
    choices : dict, optional
        ``{step: name}`` overriding :data:`DEFAULTS`.

    Returns
    -------
    dict
        ``{step: name}`` for every step.

    Raises
    ------
    CalibrationInputError
        For an unknown step or variant name.
    """
    chosen = dict(DEFAULTS)
    for step, name in (choices or {}).items():
        if step not in ALGORITHMS:
            raise CalibrationInputError(f"unknown calibration step {step!r}; steps: {', '.join(ALGORITHMS)}")
        if name not in ALGORITHMS[step]:
            hint = (" (the stcal and jwst variants need the 'peers' extra: pip install -e '.[peers]')"
                    if "stcal" in name or "jwst" in name else "")
            raise CalibrationInputError(
                f"unknown algorithm {name!r} for step {step!r}; available: {', '.join(ALGORITHMS[step])}{hint}"
            )
        chosen[step] = name
    return chosen


def parse(pairs):
    """``["ramp_fit=ols", ...]`` as a full choice (:func:`resolve`); a malformed pair is an error.

    Parameters
    ----------
    pairs : list of str or None
        ``STEP=NAME`` strings.

    Returns
    -------
    dict
    """
    choices = {}
    for pair in pairs or ():
        step, sep, name = pair.partition("=")
        if not sep or not step or not name:
            raise CalibrationInputError(f"--algorithm takes STEP=NAME, got {pair!r}")
        choices[step.strip()] = name.strip()
    return resolve(choices)


def declared_skip(step, name):
    """The :class:`~calibration.Skip` that variant ``name`` of ``step`` is declared as, or None."""
    entry = ALGORITHMS[step][name]
    return entry if isinstance(entry, Skip) else None


def apply(step, name, *args, out=None, **options):
    """Run variant ``name`` of ``step`` on the step's arguments.

    Parameters
    ----------
    step, name : str
        A step of :data:`ALGORITHMS` and one of its variants.
    *args
        The step's arguments (module docstring).
    out : numpy.ndarray, optional
        Where a variant that runs writes its ramps or group DQ (module docstring); the
        input passed on by a skip is returned as it is.
    **options
        The step's optional keywords (module docstring).

    Returns
    -------
    output, skip
        The step's output and None when the variant ran; the input passed on
        (:data:`UNCHANGED`) and the :class:`~calibration.Skip` when it is a declared
        skip or declined.
    """
    entry = ALGORITHMS[step][name]
    options = options if out is None else {**options, "out": out}
    result = entry if isinstance(entry, Skip) else entry(*args, **options)
    if isinstance(result, Skip):
        return UNCHANGED[step](*args), result
    return result, None


def get(step, name):
    """Variant ``name`` of ``step`` as a plain function of the step's arguments.

    Parameters
    ----------
    step, name : str

    Returns
    -------
    callable
        ``f(*args, **options) -> output``; a skipped or declining variant returns its
        input unchanged (:func:`apply` without the reason).
    """
    return lambda *args, **options: apply(step, name, *args, **options)[0]
