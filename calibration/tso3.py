"""The LRS time series (MIR_LRS-SLITLESS in a TSO visit): spec2 per integration, then tso3.

After detector1 (rate and the rates of every integration, rateints):

1. on the rate, as spec2 does (:func:`calibration.spec2.trace_and_background`):
   assign_wcs, the source's offset along x and spec_background; the background found
   there is subtracted from every integration (the sky is taken as constant over the
   exposure: its estimate from all integrations together has ``1/N`` of one
   integration's noise, and a constant offset does not move a light curve; a sky that
   changes during the exposure would need one per integration);
2. ``extract_tso`` (:mod:`calibration.tso_extract`: ``optimal`` with one profile from the
   median of the integrations, or ``box``) -> ``<name>_x1dints.fits``;
3. ``white_light`` (:mod:`calibration.light_curves`) over
   :data:`instrument.lrs.WHITE_LIGHT_RANGE_UM` -> ``<name>_whtlt.ecsv``;
4. ``transit_fit`` (:mod:`calibration.transit`) of the white light, then of the light
   curves in :data:`calibration.light_curves.BIN_WIDTH_UM` bins with the white fit's
   ``t0`` and settling time fixed -> ``<name>_transit.ecsv``.  It needs the observer's
   ephemeris (orbit and limb darkening): a TOML file given with ``--ephemeris`` or
   ``<name>_ephemeris.toml`` beside the uncal (:func:`find_ephemeris`); without one the
   step is SKIPPED (cause ``reference``) and the whtlt has no model.

Products:

* ``x1dints``: a ``TSOMultiSpecModel`` (stdatamodels 6; jwst's extract_1d on
  multi-integration data makes the same): one ``spec`` (``source 0``) whose
  ``spec_table`` has a row per integration, INT_NUM, MJD-BEG/AVG/END and TDB-BEG/MID/END
  from the exposure's INT_TIMES, N_ALONGDISP, and vector columns of the spectrum's rows
  (those of spec2's x1d: 5-14 um by increasing WAVELENGTH): WAVELENGTH, FLUX, FLUX_ERROR
  (DN/s in the aperture), DQ, NPIXELS, BACKGROUND; the INT_TIMES table is carried over.
* ``whtlt``: an ECSV table with jwst 3.0's ``white_light`` columns, ``MJD_UTC`` and
  ``BJD_TDB`` (mid-integration) and ``whitelight_flux`` (DN/s), plus
  ``whitelight_flux_error`` and ``transit_model`` (the white fit's model, NaN where not
  fitted); meta: the wavelength range.  (jwst before 1.18 named the times
  ``int_mid_MJD_UTC``, ``int_mid_BJD_TDB``.)
* ``transit``: an ECSV table, a row per light curve (``white`` first, then the bins):
  ``name``, ``wavelength_min_um``, ``wavelength_max_um``, ``depth``, ``depth_error``,
  ``rp_rs``, ``rp_rs_error``, ``chi2_red``, ``n_points``, ``scatter_ppm``; meta: the white
  fit's parameters and errors, the ephemeris, the variant.
"""
from dataclasses import asdict
from pathlib import Path

import numpy as np
from astropy.table import Table
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import lrs

from . import CalibrationInputError, Skip, light_curves, registry, spec2, transit
from .products import derived

#: Columns of the TSO spectral table that hold one value per integration, not per row.
PER_INTEGRATION = ("INT_NUM", "N_ALONGDISP", "SEGMENT", "MJD-BEG", "MJD-AVG", "MJD-END", "TDB-BEG", "TDB-MID",
                   "TDB-END")
#: INT_TIMES columns -> the spectral table's time columns.
TIME_COLUMNS = {"int_start_MJD_UTC": "MJD-BEG", "int_mid_MJD_UTC": "MJD-AVG", "int_end_MJD_UTC": "MJD-END",
                "int_start_BJD_TDB": "TDB-BEG", "int_mid_BJD_TDB": "TDB-MID", "int_end_BJD_TDB": "TDB-END"}


def check_input(exposure, path):
    """Refuse a time series that cannot be calibrated as one, before any work.

    Raises
    ------
    CalibrationInputError
        Without an INT_TIMES table, with one integration, or with an INT_TIMES table
        that does not hold every integration.
    """
    nints = exposure.data.shape[0]
    times = getattr(exposure, "int_times", None)
    if times is None or len(times) == 0:
        raise CalibrationInputError(f"{path}: a TSO exposure (TSOVISIT) needs its INT_TIMES table (the times of "
                                    f"its integrations), which this file does not have")
    if nints < 2:
        raise CalibrationInputError(f"{path}: a time series needs at least 2 integrations, this TSO exposure has "
                                    f"{nints}")
    numbers = set(np.asarray(times["integration_number"]).tolist())
    first = int(exposure.meta.exposure.integration_start or 1)
    missing = sorted(set(range(first, first + nints)) - numbers)
    if missing:
        raise CalibrationInputError(f"{path}: INT_TIMES has no row for integration(s) {missing[:5]}"
                                    f"{' ...' if len(missing) > 5 else ''}")


def backgrounds(choice, exposure, uncal_path, given):
    """The TSO row's background exposures (none slitless; :func:`calibration.spec2.background_paths`).

    The exposure's TSO checks (:func:`check_input`) run here, before detector1.
    """
    check_input(exposure, uncal_path)
    return spec2.background_paths(choice, exposure, uncal_path, given)


def find_ephemeris(uncal_path, given=None):
    """The ephemeris read from ``given``, else from ``<name>_ephemeris.toml`` beside the uncal if it exists, else None.

    Read (:func:`calibration.transit.read_ephemeris`) before detector1 runs, so that a bad file is refused before
    the ramps are processed.
    """
    if given is not None:
        if not Path(given).is_file():
            raise CalibrationInputError(f"ephemeris {given}: no such file")
        path = Path(given)
    else:
        stem = Path(uncal_path).name.removesuffix(".fits").removesuffix("_uncal")
        path = Path(uncal_path).with_name(f"{stem}_ephemeris.toml")
        if not path.is_file():
            return None
    return transit.read_ephemeris(path)


def _times(exposure, nints):
    """The INT_TIMES rows of the exposure's integrations, in order: ``{column: (nints,) array}``."""
    table = exposure.int_times
    first = int(exposure.meta.exposure.integration_start or 1)
    index = {int(n): k for k, n in enumerate(table["integration_number"])}
    rows = [index[first + i] for i in range(nints)]
    out = {name: np.asarray(table[name], dtype=float)[rows] for name in TIME_COLUMNS}
    out["integration_number"] = np.arange(first, first + nints)
    return out


def x1dints_product(rateints, wavelength, spectra, background, rows, source_xy, times, int_times):
    """The x1dints ``TSOMultiSpecModel`` (module docstring).

    Parameters
    ----------
    rateints : CubeModel
        Its metadata go to the product.
    wavelength : (ny,) float
    spectra : calibration.tso_extract.ExtractedInts
    background : (ny,) float
        The subtracted background in the aperture, DN/s per row.
    rows : (ny,) bool
        Rows in the product.
    source_xy : (float, float)
    times : dict
        :func:`_times`.
    int_times : table
        The exposure's INT_TIMES, carried over.

    Returns
    -------
    TSOMultiSpecModel
    """
    index = np.flatnonzero(rows)
    index = index[np.argsort(wavelength[index])]
    nints, n = spectra.flux.shape[0], index.size
    spec = dm.TSOSpecModel()
    columns = spec.schema["properties"]["spec_table"]["datatype"]
    dtype = [(c["name"], c["datatype"]) if c["name"] in PER_INTEGRATION else (c["name"], c["datatype"], (n,))
             for c in columns]
    table = np.zeros(nints, dtype=dtype)
    for name in table.dtype.names:
        if table.dtype[name].base.kind == "f":
            table[name] = np.nan
    table["INT_NUM"], table["N_ALONGDISP"] = times["integration_number"], n
    for source, target in TIME_COLUMNS.items():
        table[target] = times[source]
    table["WAVELENGTH"] = wavelength[index][None]
    table["FLUX"], table["FLUX_ERROR"] = spectra.flux[:, index], spectra.error[:, index]
    table["DQ"], table["NPIXELS"] = spectra.dq[:, index], spectra.npixels[:, index]
    table["BACKGROUND"] = background[index][None]
    spec.spec_table = table
    spec.spec_table.columns["wavelength"].unit = "um"
    for name in ("flux", "flux_error", "background"):
        spec.spec_table.columns[name].unit = "DN/s"
    spec.name, spec.source_id, spec.source_type, spec.time_scale = "source 0", 0, "POINT", "UTC"
    spec.source_xpos, spec.source_ypos = source_xy
    x1dints = derived(dm.TSOMultiSpecModel, rateints)
    x1dints.spec.append(spec)
    x1dints.int_times = int_times
    return x1dints


def _fit_row(name, lo, hi, result):
    if result is None:
        return None
    p, sp = result.params["rp_rs"], result.errors["rp_rs"]
    return dict(name=name, wavelength_min_um=lo, wavelength_max_um=hi, depth=result.depth,
                depth_error=result.depth_error, rp_rs=p, rp_rs_error=sp, chi2_red=result.chi2_red,
                n_points=result.n_points, scatter_ppm=1e6 * result.scatter)


def transit_product(white_fit, bin_fits, ephemeris, variant):
    """The transit table (module docstring)."""
    rows = [r for r in [_fit_row("white", *white_fit)] + [_fit_row(f"bin {k}", *f) for k, f in enumerate(bin_fits)]
            if r is not None]
    table = Table(rows=rows)
    result = white_fit[2]
    table.meta.update({"variant": variant, "ephemeris": asdict(ephemeris),
                       "white_params": dict(result.params), "white_errors": dict(result.errors),
                       "errors": "least-squares covariance scaled by the reduced chi-square"})
    return table


def run(log, exposure, d1, folder, choice, background_paths=(), ephemeris=None):
    """spec2 per integration and tso3 of one LRS time series: ``{"x1dints", "whtlt"[, "transit"]}``.

    Parameters
    ----------
    log, exposure, d1, folder, choice, background_paths
        As :func:`calibration.spec2.run`.
    ephemeris : transit.Ephemeris, optional
        The observer's ephemeris (:func:`find_ephemeris`); without it the transit fit is skipped.

    Returns
    -------
    dict
    """
    t = spec2.trace_and_background(log, exposure, d1, folder, choice, background_paths)
    ints = d1.rateints
    level = d1.rate - t.sci  # the background subtracted from the rate
    var_level = t.var - (d1.var_poisson + d1.var_rnoise)  # a nod background's own variance (columns: 0)
    sci = ints.data - level[None].astype(np.float32)
    var = ints.var_poisson + ints.var_rnoise + np.nan_to_num(var_level)[None].astype(np.float32)
    trace_x = np.where(t.rows, t.trace_x, np.nan)
    spectra = log.run("extract_tso", choice["extract_tso"], sci, var, t.var_row, ints.dq, trace_x)
    background = np.sum(spectra.weights * np.nan_to_num(level), axis=1)
    times = _times(exposure, sci.shape[0])
    x1dints = x1dints_product(ints, t.wavelength, spectra, background, t.rows, spec2.source_position(t, choice),
                              times, exposure.int_times)
    x1dints.meta.ref_file.specwcs.name = t.table.filename
    wave_range = lrs.WHITE_LIGHT_RANGE_UM
    white = log.run("white_light", choice["white_light"], t.wavelength, spectra.flux, spectra.error, spectra.dq,
                    wave_range)
    log.note("white_light", f"white_light: {int(white.rows.sum())} rows at {wave_range[0]:g}-{wave_range[1]:g} um, "
             f"{int(np.isfinite(white.flux).sum())} of {white.flux.size} integrations usable")
    t_start = float(times["int_start_MJD_UTC"][0])
    mid = times["int_mid_MJD_UTC"]

    def read():
        if ephemeris is None:
            return Skip("no ephemeris (orbit and limb darkening): give --ephemeris FILE or put "
                        "<name>_ephemeris.toml beside the uncal")
        return (ephemeris,)

    variant = choice["transit_fit"]
    fit = log.run("transit_fit", variant, mid, white.flux, white.error, t_start, resolve=read)
    whtlt = Table({"MJD_UTC": mid, "BJD_TDB": times["int_mid_BJD_TDB"], "whitelight_flux": white.flux,
                   "whitelight_flux_error": white.error,
                   "transit_model": fit.model if fit is not None else np.full(mid.size, np.nan)})
    for name in ("whitelight_flux", "whitelight_flux_error", "transit_model"):
        whtlt[name].unit = "DN/s"
    whtlt.meta.update({"exp_type": str(exposure.meta.exposure.type), "wavelength_range_um": list(wave_range),
                       "filename": str(exposure.meta.filename)})
    products = {"x1dints": x1dints, "whtlt": whtlt}
    if fit is not None:
        fits = []
        edges = light_curves.bin_edges(wave_range)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            curve = registry.get("white_light", choice["white_light"])(t.wavelength, spectra.flux, spectra.error,
                                                                  spectra.dq, (lo, hi))
            fits.append((lo, hi, registry.get("transit_fit", variant)(mid, curve.flux, curve.error, t_start, ephemeris,
                                                                 shape=fit)))
        products["transit"] = transit_product((*wave_range, fit), fits, ephemeris, variant)
        log.note("transit_fit", f"transit_fit: white depth {fit.depth * 1e6:.0f} +/- {fit.depth_error * 1e6:.0f} ppm, "
                 f"chi2_red {fit.chi2_red:.3f}, {len(fits)} bins")
    log.stamp(x1dints)
    return products
