"""What a mode's optics deliver to the detectors, and the truth only that mode knows.

Every mode's ``illuminate`` (:data:`simulator.exposure.MODES`) returns an
:class:`Illumination`: the e-/s reaching each pixel of each detector the exposure reads,
and the mode's own truth as truth-file keywords and components
(:mod:`simulator.truth`), which :func:`simulator.truth.write_truth` writes beside the
detector layer's.

Light may vary in time (a transit, :class:`Variation`): the detector layer then takes
the e-/s of each group at its charge-collection mid-time (:mod:`simulator.detector`).
"""
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variation:
    """The part of the light that varies in time: ``rate(t) = static + images[det] * factor(t)``.

    Parameters
    ----------
    images : dict
        ``{detector: e-/s/pixel array}``, the varying light at ``factor = 1``.
    factor : callable
        ``factor(t_s)`` -> an array broadcastable to the image (e.g. one value per row);
        ``t_s`` seconds from the exposure start.
    """

    images: dict
    factor: Callable


@dataclass(frozen=True)
class Illumination:
    """A mode's light on its detectors and the truth of how.

    Parameters
    ----------
    images : dict
        ``{detector: e-/s/pixel array (ysize, xsize)}``.
    header : dict
        The mode's truth-file keywords, ``{keyword: value or (value, comment)}`` (the
        imager's: FILTER and the true pointing).
    components : tuple of simulator.truth.Component
        The mode's truth components (the imager's: SOURCES; the LRS's: its sources, the
        true trace, the wavelength map, the input spectra).
    defects : dict
        ``{detector: simulator.trace_defects.Defects}``: pixels the mode makes bad where its
        light falls (the LRS's ``trace_bad_pixels``), put into the detector's truth.
    variation : Variation, optional
        Light that varies in time, on top of ``images`` (the constant part); None: none.
    """

    images: dict
    header: dict = field(default_factory=dict)
    components: tuple = ()
    defects: dict = field(default_factory=dict)
    variation: Variation = None

    def varying(self, detector):
        """``(images, factor)`` of the time-varying light on ``detector``, or None."""
        if self.variation is None or detector not in self.variation.images:
            return None
        return self.variation.images[detector], self.variation.factor
