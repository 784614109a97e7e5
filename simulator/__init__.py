"""Forward simulator: truth -> MIRI exposure (uncal ramps), truth file, reference files.

Public entry point: :func:`simulator.exposure.simulate`.
"""
from .config import DetectorEffects, Observation, PointSource, ReferenceOptions, Scene
from .exposure import simulate

__all__ = ["DetectorEffects", "Observation", "PointSource", "ReferenceOptions", "Scene", "simulate"]
