"""Reset anomaly and last-frame effect: offsets of the first and last reads of a ramp.

Model (params 1, defaults 11-12): after the reset the output settles exponentially,
adding ``A exp(-(k + 1) / 1.3)`` DN to group k (e-folding ~1.3 frames, the RSCD figure
of the older JWST docs), and the final read, which is the read-reset, is offset by ``L``
DN.  Amplitudes A = -40 DN and L = +20 DN are UNSOURCED placeholders
(``DetectorEffects.reset_settling_dn``, ``last_frame_dn``); jwst documents the anomaly as
"relatively uniform detector-wide", as it is here.  The RSCD dependence on the previous
integration's signal is not modelled yet.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ResetModel:
    amplitude_dn: float  # A
    last_frame_dn: float  # L
    efolding_frames: float = 1.3


def offsets(ngroups, model):
    """DN added to each group of every integration, shape ``(ngroups,)``."""
    k = np.arange(ngroups)
    out = model.amplitude_dn * np.exp(-(k + 1) / model.efolding_frames)
    out[-1] += model.last_frame_dn
    return out


def model_of(effects):
    """The :class:`ResetModel` of a ``simulator.config.DetectorEffects``."""
    return ResetModel(amplitude_dn=effects.reset_settling_dn, last_frame_dn=effects.last_frame_dn)
