"""assign_wcs for the LRS: the wavelength and the trace column of every detector row, from SPECWCS.

The SPECWCS reference (JWST ``MiriLRSSpecwcsModel``, selected by EXP_TYPE as CRDS does:
``jwst_miri_specwcs_0005.fits`` serves MIR_LRS-FIXEDSLIT, ``_0006.fits`` MIR_LRS-SLITLESS)
holds a WAVETABLE of nodes ``(X_CENTER, Y_CENTER, WAVELENGTH)``: the trace centre of a
source at the reference point and its wavelength, relative to that point.  The point is
in the primary header, 1-based FULL-frame pixels: IMX/IMY for the slit, IMXSLTL/IMYSLTL
slitless (``meta.x_ref``/``y_ref`` and ``meta.x_ref_slitless``/``y_ref_slitless``).  As
jwst's ``assign_wcs`` (``miri.lrs_xytoabl``) reads it, in 0-based pixels of the exposure's
frame it is ``x_ref = IMX - SUBSTRT1``, ``y_ref = IMY - SUBSTRT2`` (SUBSTRT 1-based: the
FULL frame's is 1), so a detector row ``y`` has ``Y = y - y_ref`` and

    lambda(y) = L(y - y_ref),    x_trace(y) = x_ref + X(y - y_ref),

with ``L`` and ``X`` interpolants of the nodes (ordered by Y_CENTER).

Variant ``spline`` (the only one): ``L`` and ``X`` are not-a-knot cubic splines through the
nodes (``scipy.interpolate.CubicSpline``; de Boor 1978, ch. IV): exact at every node and
twice continuously differentiable.  jwst smooths the table instead (a ``UnivariateSpline``
with s = 0.002 that leaves the nodes by a few nm, issue 15); the nodes are what the MIRI
team measured, so they are kept.  The calibration's interpolation is its own: it shares
nothing with the simulator's (:mod:`instrument.lrs` uses monotone PCHIP), only the file.
The flight tables put their nodes at whole rows (slitless: on the rows themselves; slit:
0.3 of a row away), 1 pixel apart, where the two interpolants differ by far less than the
nodes' own row-to-row scatter.  Rows outside the nodes get NaN (no extrapolation).

What it cannot do: the table is the trace of a source at the reference point; a source
offset across the slit by ``dy`` pixels puts every wavelength ``dy`` rows further along
(the simulator's model too); the row offset is not measured here, so it is a wavelength
error of ``dy * dlambda/dy`` (acquisition misses of ~10 mas are 0.1 px).  Offsets along the
slit (nods) move the trace in x only: the extraction finds that from the data
(:func:`calibration.extract1d.locate`).
"""
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

from . import CalibrationInputError
from . import references as refs

#: Where ``MiriLRSSpecwcsModel`` keeps each EXP_TYPE's reference point (1-based, FULL frame).
REFERENCE_POINT = {"MIR_LRS-FIXEDSLIT": ("x_ref", "y_ref"), "MIR_LRS-SLITLESS": ("x_ref_slitless", "y_ref_slitless")}


@dataclass(frozen=True)
class SpecwcsTable:
    """A SPECWCS wavetable placed in an exposure's frame.

    Parameters
    ----------
    wavelength_um, x_center, y_center : numpy.ndarray
        The nodes, ordered by increasing Y_CENTER (pixels relative to the reference point).
    x_ref, y_ref : float
        The reference point, 0-based pixels of the exposure's frame.
    filename : str
        The reference file's name.
    """

    wavelength_um: np.ndarray
    x_center: np.ndarray
    y_center: np.ndarray
    x_ref: float
    y_ref: float
    filename: str


def read_table(model, exposure):
    """The wavetable of a SPECWCS model in the frame of ``exposure`` (module docstring).

    Parameters
    ----------
    model : MiriLRSSpecwcsModel
    exposure : DataModel
        Its EXP_TYPE picks the reference point, its SUBSTRT1/2 the frame.

    Returns
    -------
    SpecwcsTable

    Raises
    ------
    CalibrationInputError
        When the file lacks the exposure type's reference point, or its table is not a
        trace (non-finite values, Y_CENTER or WAVELENGTH not strictly monotone).
    """
    name = str(model.meta.filename)
    exp_type = str(exposure.meta.exposure.type).strip().upper()
    point = []
    for attribute in REFERENCE_POINT[exp_type]:
        value = getattr(model.meta, attribute, None)
        if value is None:
            raise CalibrationInputError(f"{name}: no meta.{attribute}, the {exp_type} reference point")
        point.append(float(value))
    sub = exposure.meta.subarray
    table = model.wavetable
    try:
        columns = [np.asarray(table[c], dtype=float) for c in ("wavelength", "x_center", "y_center")]
    except (KeyError, ValueError, TypeError) as exc:
        raise CalibrationInputError(f"{name}: its WAVETABLE lacks WAVELENGTH, X_CENTER or Y_CENTER ({exc})") from None
    lam, x, y = columns
    order = np.argsort(y)
    lam, x, y = lam[order], x[order], y[order]
    if y.size < 4 or not all(np.all(np.isfinite(c)) for c in (lam, x, y)):
        raise CalibrationInputError(f"{name}: its WAVETABLE needs at least 4 finite nodes")
    dlam = np.diff(lam)
    if not np.all(np.diff(y) > 0) or not (np.all(dlam > 0) or np.all(dlam < 0)):
        raise CalibrationInputError(f"{name}: Y_CENTER and WAVELENGTH must be strictly monotone along the trace")
    return SpecwcsTable(lam, x, y, point[0] - (sub.xstart or 1), point[1] - (sub.ystart or 1), name)


def load_table(folder, exposure):
    """The SPECWCS reference selected for ``exposure`` in ``folder``, read (:func:`read_table`).

    Raises
    ------
    CalibrationInputError
        Without a SPECWCS for the exposure (assign_wcs cannot run without one), naming
        what was looked for.
    """
    try:
        model = refs.load(folder, "SPECWCS", exposure)
    except CalibrationInputError as exc:
        raise CalibrationInputError(f"{exc}: assign_wcs needs the LRS wavelength table (SPECWCS) to assign "
                                    f"wavelengths") from None
    with model:
        return read_table(model, exposure)


def spline(rows, table):
    """Variant ``spline``: wavelength and trace column of each row (module docstring).

    Parameters
    ----------
    rows : (n,) float
        Detector rows, 0-based in the exposure's frame.
    table : SpecwcsTable

    Returns
    -------
    wavelength_um, trace_x : (n,) float
        NaN for rows outside the table's nodes.
    """
    relative = np.asarray(rows, dtype=float) - table.y_ref
    inside = (relative >= table.y_center[0]) & (relative <= table.y_center[-1])
    wavelength = np.full(relative.shape, np.nan)
    trace_x = np.full(relative.shape, np.nan)
    wavelength[inside] = CubicSpline(table.y_center, table.wavelength_um)(relative[inside])
    trace_x[inside] = table.x_ref + CubicSpline(table.y_center, table.x_center)(relative[inside])
    return wavelength, trace_x
