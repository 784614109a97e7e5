"""One spectrum over the MRS bands: the per-band x1d spectra spliced at their overlaps.

Each MRS band covers its own wavelength range, and neighbouring bands (1A/1B, 1C/2A, ...)
overlap by 0.05-0.7 um (the WAVELENGTHRANGE; 1C/2A and 2C/3A overlap too). The bands come
from different exposures (a band setting lights one band per channel), with their own
spectral sampling and resolving power. The stitched spectrum keeps every band's planes
as they are outside the overlaps and, in an overlap ``[lo, hi]`` (the upper band's first
usable plane, the lower band's last), splits it at its middle ``(lo + hi) / 2``: the lower
band's planes below, the upper band's at and above. Averaging the two bands' planes would
mix two resolving powers and two samplings in one plane, so they are not averaged.

Band-to-band flux consistency is what an overlap measures: the ratio of the two bands'
mean flux densities over it, each band's over its own planes in ``[lo, hi]``,

    r = <F_up> / <F_low>,   <F> = sum_i F_i dlambda_i / sum_i dlambda_i,

is 1 for a source both bands see whole (a point source's aperture-corrected spectrum); a
line in the overlap adds its flux to both means alike. Its error is the two means' errors
in quadrature (planes taken as independent: neighbouring cube planes correlate, so it is a
lower bound). ``r`` is recorded, not applied: a
mismatch is a calibration error to find, not to hide.
"""
import itertools
from dataclasses import dataclass

import numpy as np
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import dq as dqflags
from miri_testbed.instrument import mrs

from . import CalibrationInputError
from .products import derived

#: The CHANNEL keyword's values for MRS channels (the JWST datamodel schema): "13", for one, is not one.
CHANNEL_VALUES = ("1", "2", "3", "4", "12", "34", "123", "234", "1234")


@dataclass(frozen=True)
class Overlap:
    """Two neighbouring bands' overlap: where it is, where it is split, and their flux ratio ``r`` (upper / lower).

    Bands that do not overlap (a band between them is missing) leave a gap, ``lo_um`` (the
    lower band's last usable plane) to ``hi_um`` (the upper band's first), with no split and
    ``r`` NaN.
    """

    lower: str
    upper: str
    lo_um: float
    hi_um: float
    split_um: float
    ratio: float
    ratio_err: float

    @property
    def gap(self):
        """Whether the bands leave a gap between them instead of overlapping (no split)."""
        return bool(np.isnan(self.split_um))

    def __str__(self):
        if self.gap:
            return (f"{self.lower}/{self.upper}: no overlap (a band between them is missing): no data "
                    f"{self.lo_um:.4f}-{self.hi_um:.4f} um")
        return (f"{self.lower}/{self.upper}: overlap {self.lo_um:.4f}-{self.hi_um:.4f} um, split at "
                f"{self.split_um:.4f} um, flux ratio {self.upper}/{self.lower} {self.ratio:.5f} +/- "
                f"{self.ratio_err:.5f} (not applied)")


def _usable(table):
    flux, err = np.asarray(table["FLUX"], float), np.asarray(table["FLUX_ERROR"], float)
    return ((np.asarray(table["DQ"]) & dqflags.DO_NOT_USE) == 0) & np.isfinite(flux) & np.isfinite(err)


def _mean(table, lo, hi):
    """``(<F>, its error)`` over the usable planes within ``[lo, hi]`` (module docstring), or None without any."""
    wl = np.asarray(table["WAVELENGTH"], float)
    inside = _usable(table) & (wl >= lo) & (wl <= hi)
    if not inside.any():
        return None
    weight = np.gradient(wl)[inside]
    weight = weight / weight.sum()
    flux, err = np.asarray(table["FLUX"], float)[inside], np.asarray(table["FLUX_ERROR"], float)[inside]
    return float(np.sum(weight * flux)), float(np.sqrt(np.sum((weight * err) ** 2)))


def overlap(lower, upper, tables):
    """The :class:`Overlap` (or gap) of bands ``lower`` < ``upper`` (``spec_table``s in ``tables``).

    None when either band has no usable plane.
    """
    wl_low = np.asarray(tables[lower]["WAVELENGTH"], float)[_usable(tables[lower])]
    wl_up = np.asarray(tables[upper]["WAVELENGTH"], float)[_usable(tables[upper])]
    if wl_low.size == 0 or wl_up.size == 0:
        return None
    lo, hi = float(wl_up.min()), float(wl_low.max())
    if lo >= hi:
        return Overlap(lower, upper, hi, lo, np.nan, np.nan, np.nan)
    up, low = _mean(tables[upper], lo, hi), _mean(tables[lower], lo, hi)
    if up is None or low is None or low[0] == 0:
        ratio = ratio_err = np.nan
    else:
        ratio = up[0] / low[0]
        ratio_err = float(np.hypot(up[1], ratio * low[1]) / abs(low[0]))
    return Overlap(lower, upper, lo, hi, 0.5 * (lo + hi), float(ratio), float(ratio_err))


def _band_tables(x1ds, names):
    """``{band: spec_table}`` in band order; refused: a non-band spectrum, a band twice, mixed units."""
    tables, units, sources = {}, {}, {}
    for k, model in enumerate(x1ds):
        for spec in model.spec:
            name = str(spec.name)
            first, _, last = name.partition("-")
            if first in mrs.BANDS and last in mrs.BANDS:
                raise CalibrationInputError(f"{names[k]} is already a stitched spectrum (bands {name}); stitch "
                                            "the per-band x1d products it was made from")
            if name not in mrs.BANDS:
                raise CalibrationInputError(f"{names[k]}: its spectrum {name or '(unnamed)'} is not an MRS band "
                                            f"({', '.join(mrs.BANDS)}); only MRS x1d products can be stitched")
            if name in tables:
                raise CalibrationInputError(f"band {name} is in two x1d products ({sources[name]}, {names[k]}); "
                                            "combine its exposures first (calibrate --combine) and stitch one "
                                            "spectrum per band")
            tables[name], sources[name] = spec.spec_table, names[k]
            units[name] = str(spec.spec_table.columns["flux"].unit)
    if len(tables) < 2:
        raise CalibrationInputError(f"nothing to stitch: {len(tables)} band(s) ({', '.join(tables) or 'none'}); "
                                    "stitching needs the x1d products of two or more bands")
    if len(set(units.values())) > 1:
        raise CalibrationInputError("the bands' fluxes are in different units ("
                                    + ", ".join(f"{b} {u}" for b, u in units.items())
                                    + "): calibrate them all with an MRS PHOTOM before stitching")
    return {b: tables[b] for b in mrs.BANDS if b in tables}


def stitch(x1ds, names=None):
    """One spectrum over the bands of the MRS x1d products ``x1ds`` (module docstring).

    Parameters
    ----------
    x1ds : sequence of stdatamodels.jwst.datamodels.MultiSpecModel
        Per-band spectra (``spec`` named ``1A`` ... ``4C``), each band once, in one unit.
    names : sequence of str, optional
        What to call each product in an error (its file); default "x1d 1", "x1d 2", ...

    Returns
    -------
    (MultiSpecModel, list of Overlap)
        The stitched product (one ``spec`` named by its first and last band, e.g. ``1A-2C``,
        with the first product's metadata) and the overlaps (or gaps) of neighbouring bands present.

    Raises
    ------
    CalibrationInputError
        A spectrum not named by a band, a band twice, mixed units, fewer than two bands.
    """
    tables = _band_tables(x1ds, names or [f"x1d {k + 1}" for k in range(len(x1ds))])
    bands = list(tables)
    overlaps = [o for lower, upper in itertools.pairwise(bands) if (o := overlap(lower, upper, tables))]
    splits = {o.lower: o.split_um for o in overlaps if not o.gap}
    starts = {o.upper: o.split_um for o in overlaps if not o.gap}
    pieces = []
    for band in bands:
        wl = np.asarray(tables[band]["WAVELENGTH"], float)
        keep = (wl < splits.get(band, np.inf)) & (wl >= starts.get(band, -np.inf))
        pieces.append(np.asarray(tables[band])[keep])
    table = np.concatenate(pieces)
    first = x1ds[0].spec[0]
    spec = dm.SpecModel(spec_table=table)
    for name in ("wavelength", "flux", "flux_error", "background"):
        spec.spec_table.columns[name].unit = first.spec_table.columns[name].unit
    spec.name = f"{bands[0]}-{bands[-1]}"
    spec.source_id, spec.source_type = first.source_id, first.source_type
    product = derived(dm.MultiSpecModel, x1ds[0])
    # the product's channels and grating setting are its bands', not its first exposure's
    settings = {b[1] for b in bands}
    channels = "".join(sorted({b[0] for b in bands}))
    product.meta.instrument.channel = channels if channels in CHANNEL_VALUES else "ANY"
    product.meta.instrument.band = ({v: k for k, v in mrs.SETTINGS.items()}[settings.pop()] if len(settings) == 1
                                    else "MULTIPLE")
    product.spec.append(spec)
    return product, overlaps
