"""Named algorithm variants per calibration step.

A study picks variants by name (``{"ramp_fit": "ols"}``) and runs them on the same
exposures; the command line takes ``--algorithm STEP=NAME``.  Each entry is a plain
function of numpy arrays.  When the optional ``peers`` extra is installed, the official
``stcal`` implementations join as ``stcal_*`` variants (:mod:`calibration.peers`).
"""
from . import CalibrationInputError, peers
from . import alignment, background, cruciform
from .catalog import source_catalog
from .dark import subtract_dark
from .emi import correct_fold, correct_joint, no_correction
from .jump import detect_jumps, detect_jumps_likelihood
from .ramp_fit import fit_likelihood, fit_ols, fit_optimal
from .saturation import flag_saturation
from .showers import flag_showers


def _no_showers(data, groupdq, *args, **kwargs):
    return groupdq, 0


def _no_jumps(data, groupdq, *args, **kwargs):
    return groupdq, None


ALGORITHMS = {
    "saturation": {"threshold": flag_saturation},
    "emi": {"joint": correct_joint, "fold": correct_fold, "none": no_correction},
    "dark": {"reference": subtract_dark},
    "jump": {"twopoint": detect_jumps, "likelihood": detect_jumps_likelihood, "none": _no_jumps},
    "showers": {"box": flag_showers, "none": _no_showers},
    "ramp_fit": {"likelihood": fit_likelihood, "ols": fit_ols, "optimal": fit_optimal},
    "catalog": {"aperture": source_catalog},
    "cruciform": {"subtract": cruciform.subtract, "apcorr": cruciform.apcorr, "none": cruciform.none},
    "alignment": {"catalog": alignment.align_to_catalog, "none": alignment.distortion_only},
    "background": {"local": background.local, "map": background.map_variant, "dedicated": background.dedicated},
}
ALGORITHMS["jump"].update(peers.jump_variants())
ALGORITHMS["ramp_fit"].update(peers.ramp_fit_variants())
ALGORITHMS["emi"].update(peers.emi_variants())

DEFAULTS = {"saturation": "threshold", "emi": "joint", "dark": "reference", "jump": "likelihood", "showers": "box",
            "ramp_fit": "likelihood", "catalog": "aperture", "cruciform": "subtract", "alignment": "catalog",
            "background": "local"}


def resolve(choices=None):
    """Full ``{step: name}`` from defaults and ``choices``; unknown steps or names are errors."""
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
    """``["ramp_fit=ols", ...]`` -> ``{"ramp_fit": "ols"}``; a malformed pair is an error."""
    choices = {}
    for pair in pairs or ():
        step, sep, name = pair.partition("=")
        if not sep or not step or not name:
            raise CalibrationInputError(f"--algorithm takes STEP=NAME, got {pair!r}")
        choices[step.strip()] = name.strip()
    return resolve(choices)


def get(step, name):
    return ALGORITHMS[step][name]
