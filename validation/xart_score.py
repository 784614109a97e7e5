"""How much of the MRS cross-artifact the ``straylight`` step removed: its ``xart`` product against the truth.

Per detector, over the pixels the rate can use (not DO_NOT_USE, not reference pixels), with ``R``
what the step subtracted (the ``xart`` product, DN/s) and ``T`` the injected artifact (the
truth's ``XART`` in e-/s over the true gain):

* ``mrs_xart_removed`` = ``1 - sum |R - T| / sum |T|`` (1: all of it, exactly where it was; a
  step that removes nothing gives 0, one that removes twice as much gives 0 too), XART-1;
* ``mrs_xart_net`` = ``sum R / sum T`` (1: as much light as was injected, wherever).
"""
import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags

from .score import as_truth, open_product

METRICS = ("mrs_xart_removed", "mrs_xart_net")


def removed_fraction(subtracted, injected):
    """``(mrs_xart_removed, mrs_xart_net)`` of two arrays over the same pixels (module docstring)."""
    total = np.abs(injected).sum()
    return float(1 - np.abs(subtracted - injected).sum() / total), float(subtracted.sum() / injected.sum())


def score_xart(truth, xart_path):
    """The ``xart`` product's rows (module docstring); bin = none, one row per metric."""
    truth = as_truth(truth, ("XART",))
    with open_product(xart_path, dm.ImageModel, "xart", "an MRS cross-artifact model") as model:
        subtracted, dq = np.asarray(model.data, float), np.asarray(model.dq)
        detector = model.meta.instrument.detector
    injected = truth.image("XART", detector) / float(truth.header["GAIN"])
    usable = np.isfinite(subtracted) & ((dq & (dqflags.DO_NOT_USE | dqflags.REFERENCE_PIXEL)) == 0)
    removed, net = removed_fraction(subtracted[usable], injected[usable])
    return [dict(metric="mrs_xart_removed", value=removed, unit="fraction"),
            dict(metric="mrs_xart_net", value=net, unit="ratio")]
