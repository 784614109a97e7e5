"""Forward simulator: truth -> MIRI exposures (uncal ramps), truth file, reference files.

Public entry point: :func:`simulator.exposure.simulate`; what it is asked to make:
:mod:`simulator.config`.
"""
from .config import (
    DetectorEffects,
    Effects,
    ExtendedSource,
    ImagerEffects,
    LrsEffects,
    LrsObservation,
    MrsEffects,
    MrsObservation,
    Observation,
    OpticsEffects,
    PointSource,
    Readout,
    ReferenceOptions,
    Scene,
    SpectralSource,
)
from .exposure import simulate

__all__ = ["DetectorEffects", "Effects", "ExtendedSource", "ImagerEffects", "LrsEffects", "LrsObservation",
           "MrsEffects", "MrsObservation", "Observation", "OpticsEffects", "PointSource", "Readout", "ReferenceOptions",
           "Scene", "SpectralSource", "simulate"]
