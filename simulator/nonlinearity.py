"""Detector nonlinearity: the measured signal falls behind the collected charge.

Model (params 1, default 10): as charge Q builds up the debiasing lowers the response,

    S = Q [1 - alpha (Q/W) - beta (Q/W)^2],   alpha = 0.04, beta = 0.01,

a 5 % deficit at the full well W.  UNSOURCED placeholder shape and size (params: the
numeric shape is in the CRDS LINEARITY files, not read).  The cubic term makes the
truth something a low-order polynomial correction only approximates, as on the sky.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class NonlinearityModel:
    alpha: float = 0.04
    beta: float = 0.01


def response(charge, full_well, model):
    """Measured signal (e-) for collected charge (e-)."""
    f = charge / full_well
    return charge * (1.0 - model.alpha * f - model.beta * f * f)
