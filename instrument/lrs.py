"""The low-resolution spectrometer (LRS): P750L double prism, slit and slitless (params section 6).

Facts (params 6; JDox "JWST Mid Infrared Instrument" Table 1; Kendrew+2015 PASP 127 623):
the P750L double prism disperses 5-14 um (designed for 5-10 um, useful to ~12 um) along
detector rows of MIRIMAGE, R ~ 100 at 7.5 um, through a 0.51" x 4.7" slit (SIAF
``MIRIM_SLIT``: 4.72" x 0.51", long axis along detector x) on the FULL frame, or slitless
in the SLITLESSPRISM subarray (72 x 416; its 0.159 s FASTR1 frame time is
``readout.frame_time("SLITLESSPRISM", "FASTR1")``).

Geometry: the flight SPECWCS reference files (``data/lrs/``, BSD-3, STScI-MIRI/miricoord,
licence in ``data/lrs/LICENSE-miricoord.md``): ``jwst_miri_specwcs_0005.fits`` (slit,
MIR_LRS-FIXEDSLIT, 9B.00.07) and ``_0006.fits`` (slitless, MIR_LRS-SLITLESS, 9B.00.08),
both INFLIGHT 2022-05 (commissioning, G. Sloan).  Their WAVETABLE gives the trace centre
``(X_CENTER, Y_CENTER)`` and its ``WAVELENGTH`` at 388 whole rows (Y_CENTER 94 .. -293),
relative to a reference point in the primary header, 1-based FULL-frame pixels
(``MiriLRSSpecwcsModel`` meta.x_ref/y_ref = IMX/IMY for the slit, meta.x_ref_slitless/
y_ref_slitless = IMXSLTL/IMYSLTL slitless; both files carry both pairs, equal; they carry
no V2/V3 slit vertices).  jwst's ``assign_wcs.miri.lrs_xytoabl`` subtracts 1 and, for
slitless, shifts into the subarray by its SUBSTRT; read the same way (0-based, the
exposure's frame):

======== ================ ==================== ==========================================
mode     header (1-based) reference, 0-based   frame
======== ================ ==================== ==========================================
slit     IMX/IMY          (325.13, 299.70)     FULL
slitless IMXSLTL/IMYSLTL  (37.50, 300.00)      SLITLESSPRISM (FULL 1-based 38.5, 829.0)
======== ================ ==================== ==========================================

SIAF (pysiaf 0.29, PRDOPSSOC-075) ``MIRIM_SLITLESSPRISM`` has XDetRef/YDetRef 38.5/829.0
and XSciRef/YSciRef 38.5/301.0, the same point; ``MIRIM_SLIT`` has no detector reference
in SIAF, so the slit point has the SPECWCS as its only source.

Interpolation: lambda(y) and x(y) are piecewise-cubic Hermite (PCHIP: node slopes the
weighted harmonic mean of the adjacent secants, Fritsch & Carlson 1980;
``scipy.interpolate.PchipInterpolator``) through the table's nodes: exact at
every node, C1, and monotone between nodes where the table is, so lambda(y) has an
inverse.  jwst instead fits a smoothing spline (``UnivariateSpline``, s = 0.002), which
moves the wavelengths off the nodes by a few nm (issue 15); the table is the solution
the MIRI team measured, so this module keeps it.  The trace is the one of a source at
the reference point; jwst models another position along the slit as a shift in x.

Below ~4.5 um the prism's dispersion turns over (params 6), and the tables' first rows
are not a physical solution (slit: 2.23 -> 3.19 um in one row); the documented range is
:data:`WAVELENGTH_RANGE_UM`.
"""
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import numpy as np
from scipy.interpolate import PchipInterpolator

from .modes import mode as _mode
from .readout import subarray

#: The disperser (MIRI keyword FILTER of LRS exposures).
DISPERSER = "P750L"
#: Slit width and length, arcsec (params 6: JDox Table 1; SIAF MIRIM_SLIT 4.72 x 0.51).
SLIT_WIDTH_ARCSEC = 0.51
SLIT_LENGTH_ARCSEC = 4.7
#: Documented wavelength range, um (params 6: 5-14, designed for 5-10, useful to ~12).
WAVELENGTH_RANGE_UM = (5.0, 14.0)
#: Wavelengths (um) summed into a time series' white-light curve: the documented range up to
#: where the prism is useful (params 6: "useful to ~12 um").  jwst's ``white_light`` sums the
#: whole spectrum unless given limits; no documented MIRI choice was found, so this is the
#: testbed's, shared by the simulator's truth and the calibration.
WHITE_LIGHT_RANGE_UM = (5.0, 12.0)
#: Spatial FWHM of the trace, pixels, at a wavelength, um (params 6: 2.6 px at 7.7 um, JDox
#: Table 1); diffraction-limited, so it scales as the wavelength (params 7).
SPATIAL_FWHM_PIX, SPATIAL_FWHM_REF_UM = 2.6, 7.7

#: Along-slit offset of each nod position from the slit centre, arcsec (MAST keyword
#: dictionary SPATSTEP, "point source: -0.908, 0.908"; JDox "MIRI LRS Dithering": ~30 %
#: and 70 % of the slit length; which is called A is a PLACEHOLDER convention).
NOD_OFFSETS_ARCSEC = {"none": 0.0, "A": -0.908, "B": 0.908}
#: The frame each mode's exposures, and so its trace coordinates, are in.
SUBARRAYS = {"lrs_slit": "FULL", "lrs_slitless": "SLITLESSPRISM"}
#: The flight SPECWCS shipped for each mode (in ``data/lrs/``).
FLIGHT_FILES = {"lrs_slit": "jwst_miri_specwcs_0005.fits", "lrs_slitless": "jwst_miri_specwcs_0006.fits"}
#: Header keywords of each mode's reference point (1-based, FULL frame) and where
#: ``MiriLRSSpecwcsModel`` keeps them.
_REFERENCE_KEYS = {"lrs_slit": (("IMX", "x_ref"), ("IMY", "y_ref")),
                   "lrs_slitless": (("IMXSLTL", "x_ref_slitless"), ("IMYSLTL", "y_ref_slitless"))}
#: Bisection steps of the inverse: 2**-60 of a row interval, below double-precision rounding.
_BISECTIONS = 60


def lrs_mode(name):
    """The testbed name of an LRS mode, checked.

    Parameters
    ----------
    name : str
        ``"lrs_slit"`` or ``"lrs_slitless"`` (case-insensitive).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For an unknown mode or one that is not the LRS, naming the LRS modes.
    """
    key = _mode(name).name
    if key not in SUBARRAYS:
        raise ValueError(f"mode {name!r} is not an LRS mode; LRS modes: {', '.join(SUBARRAYS)}")
    return key


def flight_file(mode):
    """The shipped flight SPECWCS of an LRS mode.

    Parameters
    ----------
    mode : str
        ``"lrs_slit"`` or ``"lrs_slitless"``.

    Returns
    -------
    importlib.resources.abc.Traversable
        The file (a filesystem path in any non-zipped install).
    """
    return resources.files("miri_testbed.instrument") / "data" / "lrs" / FLIGHT_FILES[lrs_mode(mode)]


def table_through(mode, wavelength_um, x, y):
    """An ``LrsTable`` of ``mode``'s frame and reference point through nodes at detector ``(x, y)``.

    Parameters
    ----------
    mode : str
        ``"lrs_slit"`` or ``"lrs_slitless"``.
    wavelength_um, x, y : array_like
        The nodes: wavelength (um) at 0-based pixel ``(x, y)`` of the mode's frame (as the
        truth's ``TRACE`` records the true trace).

    Returns
    -------
    LrsTable
    """
    flight = flight_table(mode)
    return LrsTable(mode, flight.subarray, np.asarray(wavelength_um, float), np.asarray(x, float) - flight.x_ref,
                    np.asarray(y, float) - flight.y_ref, flight.x_ref, flight.y_ref)


@cache
def flight_table(mode):
    """The flight wavelength table of an LRS mode (read once, shared: it is immutable).

    Parameters
    ----------
    mode : str
        ``"lrs_slit"`` or ``"lrs_slitless"``.

    Returns
    -------
    LrsTable
    """
    with resources.as_file(flight_file(mode)) as path:
        return read_table(path, mode)


def read_table(path, mode):
    """Read a MIRI LRS SPECWCS (JWST ``MiriLRSSpecwcsModel`` format) for one mode.

    The reference point of ``mode`` (slit: IMX/IMY; slitless: IMXSLTL/IMYSLTL, 1-based
    FULL frame) becomes 0-based in the mode's frame (:data:`SUBARRAYS`), as jwst's
    ``assign_wcs`` reads it.

    Parameters
    ----------
    path : path-like
        The SPECWCS file.
    mode : str
        ``"lrs_slit"`` or ``"lrs_slitless"``.

    Returns
    -------
    LrsTable

    Raises
    ------
    ValueError
        When the file lacks the mode's reference point or its table is unusable.
    """
    from stdatamodels.jwst.datamodels import MiriLRSSpecwcsModel

    mode = lrs_mode(mode)
    frame = subarray(SUBARRAYS[mode])
    with MiriLRSSpecwcsModel(str(path)) as model:
        ref = []
        for keyword, attribute in _REFERENCE_KEYS[mode]:
            value = getattr(model.meta, attribute, None)
            if value is None:
                raise ValueError(f"{path}: no {keyword} (meta.{attribute}), the {mode} reference point")
            ref.append(float(value))
        table = model.wavetable
        columns = {name: np.array(table[name], dtype=float) for name in ("wavelength", "x_center", "y_center")}
    return LrsTable(mode=mode, subarray=frame.name, wavelength_um=columns["wavelength"],
                    x_center=columns["x_center"], y_center=columns["y_center"],
                    x_ref=ref[0] - frame.xstart, y_ref=ref[1] - frame.ystart)


def _strictly_monotone(values):
    steps = np.diff(values)
    return bool(np.all(steps > 0) or np.all(steps < 0))


@dataclass(frozen=True, eq=False)
class LrsTable:
    """An LRS wavelength table: the trace and its wavelengths, as a SPECWCS holds them.

    Parameters
    ----------
    mode : str
        ``"lrs_slit"`` or ``"lrs_slitless"``.
    subarray : str
        The frame of ``x_ref``, ``y_ref`` and of every detector position below.
    wavelength_um : numpy.ndarray
        WAVELENGTH of each node, um.
    x_center, y_center : numpy.ndarray
        X_CENTER, Y_CENTER of each node: the trace centre relative to the reference
        point, pixels.  Y_CENTER is strictly monotone and so is the wavelength along it.
    x_ref, y_ref : float
        The reference point, 0-based pixels of ``subarray``.

    Notes
    -----
    Detector position of wavelength lambda: ``y = y_ref + Y(lambda)``,
    ``x = x_ref + X(Y(lambda))``, where ``lambda(Y)`` and ``X(Y)`` are the PCHIP
    interpolants of the nodes (module docstring) and ``Y(lambda)`` inverts ``lambda(Y)``.
    The arrays are made read-only.
    """

    mode: str
    subarray: str
    wavelength_um: np.ndarray
    x_center: np.ndarray
    y_center: np.ndarray
    x_ref: float
    y_ref: float

    def __post_init__(self):
        n = len(self.y_center)
        for name in ("wavelength_um", "x_center", "y_center"):
            values = np.array(getattr(self, name), dtype=float)
            if values.shape != (n,) or n < 2 or not np.all(np.isfinite(values)):
                raise ValueError(f"LRS table {name}: needs {max(n, 2)} finite values in one row, "
                                 f"got shape {values.shape}")
            values.flags.writeable = False
            object.__setattr__(self, name, values)
        if not (np.isfinite(self.x_ref) and np.isfinite(self.y_ref)):
            raise ValueError(f"LRS table reference point ({self.x_ref}, {self.y_ref}) is not finite")
        if not _strictly_monotone(self.y_center):
            raise ValueError("LRS table Y_CENTER is not strictly monotone")
        if not _strictly_monotone(self.wavelength_um):
            raise ValueError("LRS table WAVELENGTH is not strictly monotone along Y_CENTER")

    @cached_property
    def _nodes(self):
        """Node index order by increasing Y_CENTER."""
        return np.argsort(self.y_center)

    @cached_property
    def _wavelength_of_row(self):
        """lambda(Y): PCHIP over the nodes, Y relative to y_ref."""
        return PchipInterpolator(self.y_center[self._nodes], self.wavelength_um[self._nodes])

    @cached_property
    def _x_of_row(self):
        """X(Y): PCHIP over the nodes, both relative to the reference point."""
        return PchipInterpolator(self.y_center[self._nodes], self.x_center[self._nodes])

    @cached_property
    def _slope_of_row(self):
        return self._wavelength_of_row.derivative()

    @property
    def wavelength_range_um(self):
        """(shortest, longest) wavelength of the table, um."""
        return float(self.wavelength_um.min()), float(self.wavelength_um.max())

    @property
    def row_range(self):
        """(lowest, highest) detector row of the table's nodes, 0-based in :attr:`subarray`."""
        return float(self.y_ref + self.y_center.min()), float(self.y_ref + self.y_center.max())

    def _checked(self, values, bounds, what, unit):
        values = np.asarray(values, dtype=float)
        outside = ~((values >= bounds[0]) & (values <= bounds[1]))  # NaN is outside
        if outside.any():
            raise ValueError(f"{what} {values[outside].flat[0]} is outside the {self.mode} table's "
                             f"range {bounds[0]:.4f}-{bounds[1]:.4f} {unit}")
        return values

    def _relative_row(self, wavelength_um):
        """Y(lambda), relative to y_ref: the inverse of lambda(Y), by bisection on its cubic piece."""
        lam = self._checked(wavelength_um, self.wavelength_range_um, "wavelength", "um")
        spline = self._wavelength_of_row
        nodes = self.wavelength_um[self._nodes]
        sign = np.sign(nodes[-1] - nodes[0])  # makes lambda increase along the search
        piece = np.clip(np.searchsorted(sign * nodes, sign * lam, side="right") - 1, 0, len(nodes) - 2)
        c = spline.c[:, piece]
        lo, hi = np.zeros_like(lam), np.diff(spline.x)[piece]
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            above = sign * (((c[0] * mid + c[1]) * mid + c[2]) * mid + c[3] - lam) > 0
            lo, hi = np.where(above, lo, mid), np.where(above, mid, hi)
        return spline.x[piece] + 0.5 * (lo + hi)

    def trace(self, wavelength_um):
        """Detector position of the trace centre at a wavelength.

        Parameters
        ----------
        wavelength_um : float or array_like
            Wavelengths, um, within :attr:`wavelength_range_um`.

        Returns
        -------
        x, y : float or numpy.ndarray
            0-based pixels of :attr:`subarray`, shaped as ``wavelength_um``.

        Raises
        ------
        ValueError
            For a wavelength outside the table (or NaN).
        """
        row = self._relative_row(wavelength_um)
        return (self.x_ref + self._x_of_row(row))[()], (self.y_ref + row)[()]

    def wavelength_at_row(self, y):
        """Wavelength of the trace centre at detector row ``y`` (the inverse of :meth:`trace` in y).

        Parameters
        ----------
        y : float or array_like
            0-based rows of :attr:`subarray`, within :attr:`row_range`.

        Returns
        -------
        float or numpy.ndarray
            Wavelength, um, shaped as ``y``.

        Raises
        ------
        ValueError
            For a row outside the table (or NaN).
        """
        y = self._checked(y, self.row_range, "row", "px")
        # The cubic's rounding at the end nodes must not step outside what trace() accepts.
        return np.clip(self._wavelength_of_row(y - self.y_ref), *self.wavelength_range_um)[()]

    def dispersion(self, wavelength_um):
        """The dispersion d lambda / d y along the trace, um per pixel (row).

        Negative for the flight tables: the wavelength grows toward lower rows.  At an
        interior node it lies between the slopes of the two adjacent row intervals (PCHIP).

        Parameters
        ----------
        wavelength_um : float or array_like
            Wavelengths, um, within :attr:`wavelength_range_um`.

        Returns
        -------
        float or numpy.ndarray
            um per pixel, shaped as ``wavelength_um``.

        Raises
        ------
        ValueError
            For a wavelength outside the table (or NaN).
        """
        return self._slope_of_row(self._relative_row(wavelength_um))[()]
