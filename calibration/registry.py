"""Named algorithm variants per calibration step.

A study picks variants by name (``{"ramp_fit": "ols"}``) and runs them on the same
exposures; the command line takes ``--algorithm STEP=NAME``.  Each entry is a plain
function of numpy arrays.  Later issues add variants (and the official ``stcal`` ones
when the ``peers`` extra is installed) to these tables.
"""
from . import CalibrationInputError
from .catalog import source_catalog
from .dark import subtract_dark
from .ramp_fit import fit_likelihood, fit_ols, fit_optimal
from .saturation import flag_saturation

ALGORITHMS = {
    "saturation": {"threshold": flag_saturation},
    "dark": {"reference": subtract_dark},
    "ramp_fit": {"ols": fit_ols, "optimal": fit_optimal, "likelihood": fit_likelihood},
    "catalog": {"aperture": source_catalog},
}

DEFAULTS = {step: next(iter(variants)) for step, variants in ALGORITHMS.items()}


def resolve(choices=None):
    """Full ``{step: name}`` from defaults and ``choices``; unknown steps or names are errors."""
    chosen = dict(DEFAULTS)
    for step, name in (choices or {}).items():
        if step not in ALGORITHMS:
            raise CalibrationInputError(f"unknown calibration step {step!r}; steps: {', '.join(ALGORITHMS)}")
        if name not in ALGORITHMS[step]:
            raise CalibrationInputError(
                f"unknown algorithm {name!r} for step {step!r}; available: {', '.join(ALGORITHMS[step])}"
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
