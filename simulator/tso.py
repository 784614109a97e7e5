"""What makes an uncal a time series (TSO) exposure: TSOVISIT and the INT_TIMES table.

JWST marks a time-series visit with ``meta.visit.tsovisit`` (TSOVISIT) and gives the
times of each integration in the ``INT_TIMES`` table (columns ``integration_number``,
``int_start/mid/end_MJD_UTC`` and ``int_start/mid/end_BJD_TDB``).  The times come from
the read clock (:func:`simulator.readclock.integration_times`: an integration runs from
the start of its reset frame to the end of its last read, so its mid-time is the mean
time of its reads).  Mode-neutral: any TSO observation (``tso = True``) gets them.
"""
import numpy as np

from . import readclock

#: BJD = MJD + this (days).  No barycentric or TDB correction is applied: the testbed's
#: target has no sky position in time, and both columns only need to be consistent.
MJD_TO_JD = 2400000.5
INT_TIMES_COLUMNS = ("integration_number", "int_start_MJD_UTC", "int_mid_MJD_UTC", "int_end_MJD_UTC",
                     "int_start_BJD_TDB", "int_mid_BJD_TDB", "int_end_BJD_TDB")


def int_times(readout):
    """The INT_TIMES rows of an exposure, a structured array with :data:`INT_TIMES_COLUMNS`.

    Parameters
    ----------
    readout : simulator.config.Readout

    Returns
    -------
    numpy.ndarray
    """
    start, mid, end = (readout.epoch_mjd + t / 86400.0 for t in readclock.integration_times(readout))
    columns = [np.arange(1, readout.nints + 1, dtype=np.int32), start, mid, end,
               start + MJD_TO_JD, mid + MJD_TO_JD, end + MJD_TO_JD]
    return np.rec.fromarrays(columns, names=INT_TIMES_COLUMNS)


def describe(model, readout):
    """Mark ``model`` (an uncal's ``RampModel``) as a TSO exposure: TSOVISIT and INT_TIMES."""
    model.meta.visit.tsovisit = True
    model.int_times = int_times(readout)
