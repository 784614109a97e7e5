"""The step shell: run a step's chosen variant and record truthfully what ran.

A pipeline keeps one :class:`StepLog`.  ``log.run(step, variant, *args, resolve=...)``

1. does nothing more when the variant is a declared skip (``none``: cause ``chosen``);
2. otherwise calls ``resolve()`` for the reference arguments the step needs, which
   returns a :class:`~calibration.Skip` when a reference is missing (cause ``reference``);
3. calls the variant, a pure function of arrays (:mod:`calibration.registry`), which
   returns a :class:`~calibration.Skip` when it declines its input (cause ``declined``);

and records the step COMPLETE or SKIPPED with its variant and reason.  A skipped step
passes its input on unchanged (:data:`calibration.registry.UNCHANGED`).  The records
become ``meta.cal_step`` keywords (:data:`CAL_STEP`, the stdatamodels cal_step schema)
and HISTORY entries (:meth:`StepLog.stamp`); steps without a keyword are in HISTORY
(and, for stage 3, in the catalog's meta).
"""
import logging
from dataclasses import dataclass

from . import Skip, registry
from .products import add_history, software_version

log = logging.getLogger(__name__)

COMPLETE, SKIPPED = "COMPLETE", "SKIPPED"

#: ``meta.cal_step`` keyword of each step that JWST has one for.  Showers are part of
#: JWST's jump step (the count goes to ``meta.exposure.extended_emission_events``);
#: cruciform, background and catalog change only what the catalog measures, not a
#: product with a cal_step, so they have none.
CAL_STEP = {"dq_init": "dq_init", "saturation": "saturation", "emi": "emicorr", "firstframe": "firstframe",
            "lastframe": "lastframe", "linearity": "linearity", "dark": "dark_sub", "jump": "jump",
            "ramp_fit": "ramp_fit", "photom": "photom", "alignment": "tweakreg", "assign_wcs": "assign_wcs",
            "spec_background": "bkg_subtract", "pixel_replace": "pixel_replace",
            "extract_1d": "extract_1d", "pathloss": "pathloss", "spec_photom": "photom",
            "extract_tso": "extract_1d", "white_light": "white_light", "mrs_wcs": "assign_wcs",
            "straylight": "straylight", "fringe": "fringe", "mrs_photom": "photom", "cube_build": "cube_build",
            "mrs_extract": "extract_1d", "spectral_leak": "spectral_leak", "residual_fringe": "residual_fringe",
            "mrs_pixel_replace": "pixel_replace"}


@dataclass(frozen=True)
class StepRecord:
    """What one step did.

    Parameters
    ----------
    step, variant : str
        The registry's step and the variant chosen.
    status : str
        ``COMPLETE`` or ``SKIPPED``.
    cause : str
        Why it was skipped: ``chosen`` (a declared skip), ``declined`` (by the variant)
        or ``reference`` (a reference it needs is missing); empty when COMPLETE.
    reason : str
        The skip's reason.
    """

    step: str
    variant: str
    status: str
    cause: str = ""
    reason: str = ""

    def __str__(self):
        if self.status != SKIPPED:
            return f"{self.step}={self.variant}: {self.status}"
        reason = self.reason if self.cause == "chosen" else f"{self.cause}: {self.reason}"
        return f"{self.step}={self.variant}: {self.status} ({reason})"

    def as_dict(self):
        """``{variant, status}`` and, when skipped, ``cause`` and ``reason`` (for a catalog's meta)."""
        out = {"variant": self.variant, "status": self.status}
        return {**out, "cause": self.cause, "reason": self.reason} if self.status == SKIPPED else out


class StepLog:
    """The steps a pipeline ran, in order, with their notes (module docstring)."""

    def __init__(self):
        self.records = []
        self.notes = {}

    def run(self, step, variant, *args, resolve=None, out=None, **options):
        """Run ``variant`` of ``step`` on ``args`` and record what ran.

        Parameters
        ----------
        step, variant : str
            A registry step and one of its variants.
        *args
            The step's data arguments (:mod:`calibration.registry`).
        resolve : callable, optional
            ``resolve() -> tuple`` of the step's reference arguments (appended to
            ``args``), or a :class:`~calibration.Skip` when a reference it needs is
            missing; not called for a declared skip.
        out : numpy.ndarray, optional
            Where the variant writes its ramps or group DQ (:func:`calibration.registry.apply`).
        **options
            The step's optional keywords (:mod:`calibration.registry`), passed to a variant that runs.

        Returns
        -------
        object
            The variant's output, or the input passed on when the step was skipped.
        """
        declared = registry.declared_skip(step, variant)
        if resolve is not None and declared is None:
            found = resolve()
            if isinstance(found, Skip):
                self._add(StepRecord(step, variant, SKIPPED, "reference", found.reason))
                return registry.UNCHANGED[step](*args)
            args += tuple(found)
        output, skip = registry.apply(step, variant, *args, out=out, **options)
        if skip is None:
            self._add(StepRecord(step, variant, COMPLETE))
        else:
            self._add(StepRecord(step, variant, SKIPPED, "chosen" if declared else "declined", skip.reason))
        return output

    def _add(self, record):
        self.records.append(record)
        (log.warning if record.cause == "reference" else log.info)(str(record))

    def note(self, step, *texts):
        """Add ``texts`` to the notes of ``step`` (they follow its record in HISTORY)."""
        for text in texts:
            log.info(text)
        self.notes.setdefault(step, []).extend(texts)

    def record(self, step):
        """The :class:`StepRecord` of ``step`` (KeyError when it has not run)."""
        for record in self.records:
            if record.step == step:
                return record
        raise KeyError(step)

    def stamp(self, product):
        """Record every step so far in a data model: its ``meta.cal_step`` keywords and HISTORY.

        Parameters
        ----------
        product : DataModel
            The product the steps made or carried into.
        """
        software = {"name": "miri-testbed", "version": software_version()}
        written, noted = set(), set()
        for record in self.records:
            if record.step in CAL_STEP:
                setattr(product.meta.cal_step, CAL_STEP[record.step], record.status)
            if str(record) in written:  # a step run once per band or exposure, alike: one entry
                continue
            written.add(str(record))
            add_history(product, str(record), software)
            if record.step not in noted:  # a step's notes (every run's) once, after its first record
                noted.add(record.step)
                for note in self.notes.get(record.step, ()):
                    add_history(product, note)
