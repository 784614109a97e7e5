"""The LRS modes (P750L double prism, slit and slitless): spectral sources -> light on MIRIMAGE.

A mode module of :data:`simulator.exposure.MODES` (see :mod:`simulator.imager` for the four
functions).  Model:

* **Geometry.**  The true trace is the flight SPECWCS table of the mode
  (:func:`instrument.lrs.flight_table`) moved by a smooth perturbation that the truth
  records (:func:`true_table`): ``lambda_true(node) = lambda_flight(node) + d(node)``,
  ``d`` a random cubic in the node's row of ``trace_wavelength_nm`` rms, and the trace
  column likewise by ``trace_x_pix`` rms (:class:`simulator.config.LrsEffects`;
  PLACEHOLDERS: the flight solution is quoted to a few nm).  A source at offset
  ``(dx, dy)`` pixels from the reference point puts wavelength lambda at
  ``(x_T(lambda) + dx, y_T(lambda) + dy)``: an offset across the slit (y) moves every
  wavelength along the rows.  Target acquisition misses by ``acquisition_error_arcsec``
  rms per axis (PLACEHOLDER).
* **Rendering** (:func:`render_source`).  Each detector row is cut into ``OVERSAMPLE``
  sub-rows, the sampling of the monochromatic PSF (:func:`simulator.psf.monochromatic`).
  The boundary ``y_c`` between two sub-rows gathers the photons of the wavelengths that
  land within half a sub-row of it, ``[lambda_T(y_c + 1/2s - dy), lambda_T(y_c - 1/2s - dy)]``,
  integrated exactly (:meth:`simulator.spectra.SourceSpectrum.photons_in_bins`), times
  the collecting area and the system efficiency :func:`system_efficiency`, and lays the
  PSF of the bin's centre wavelength on the canvas with its centre on ``y_c`` (the PSF's
  own centre lies on a sample boundary, so no resampling along the dispersion) and on
  the trace column by linear weights between the two nearest sub-columns (which keeps the
  centroid exact).  An unresolved emission line is laid at its exact position, by linear
  weights in both axes, so its centre carries no sampling error.  The canvas is summed
  over sub-pixels.
* **Slit** (``lrs_slit``).  The slit (:data:`instrument.lrs.SLIT_WIDTH_ARCSEC` across,
  ``SLIT_LENGTH_ARCSEC`` along, centred on the reference point) cuts the PSF in the
  focal plane before the prism: each PSF sample keeps the fraction of it inside the slit
  (:func:`slit_mask`), so the slit losses depend on where the source sits and on the
  wavelength.  The re-imaging after the slit adds no blur of its own (a simplification).
* **Background** (:func:`render_background`).  A sky of uniform F_nu
  (``background_mjy_sr``).  Slitless: every pixel sees every wavelength of some sky
  point, so a uniform pedestal ``Omega A int S eta d lambda``.  Slit: the slit's
  dispersed image, row by row the sky photons of the wavelengths the slit's width sends
  there, over the slit's length.  The dispersed sky of the imager field beyond the slit
  is left out.
* Wavelengths outside :data:`instrument.lrs.WAVELENGTH_RANGE_UM` (5-14 um) give no light:
  the tables' rows below ~4.5 um, where the prism's dispersion turns over, are not a
  physical solution.

Truth (:class:`simulator.illumination.Illumination` components): ``SOURCES`` (true offsets),
``TRACE`` (the true table's nodes), ``WAVELENGTH`` (the true wavelength of each pixel's
row for a source at the reference point, NaN off the table), ``LINES`` (each source's
lines, :meth:`simulator.spectra.SourceSpectrum.line_truth`); the spectra themselves are
in the configuration.

References: the detector's, and a SPECWCS in the JWST format: ``perfect`` the true
table; ``measured`` the flight table corrected by the testbed's own wavelength
calibration from a simulated line-source exposure (:mod:`simulator.lrs_wavecal`); the
flux calibration's PHOTOM, APCORR and slit PATHLOSS (:mod:`simulator.lrs_references`).
"""
from dataclasses import replace

import numpy as np
from astropy import units as u
from astropy.table import Table, vstack
from stdatamodels.jwst import datamodels as dm

from miri_testbed.instrument import imager, lrs, modes, readout, refmeta
from miri_testbed.instrument.files import atomic_path

from . import lrs_references, lrs_wavecal, psf, trace_defects
from .config import ExtendedSource
from .illumination import Illumination
from .lrs_tso import time_series
from .references import PROVENANCE
from .spectra import EmissionLine, PowerLaw, SourceSpectrum
from .truth import Component

#: Sub-rows and sub-columns per pixel of the rendering canvas: the PSF's sampling.
OVERSAMPLE = psf.OVERSAMPLE
#: Half width (pixels) of the region around the trace the canvas covers: the PSF stamp's.
HALF_STAMP = psf.MONOCHROMATIC_STAMP // 2
#: Peak photon-to-electron efficiency of telescope + P750L + detector, and the wavelength
#: (um) and 1/e half width (um) of its Gaussian shape.  UNSOURCED PLACEHOLDERS (params has
#: no LRS efficiency curve): they set the e-/s scale, which truth and PHOTOM both carry.
EFFICIENCY_PEAK, EFFICIENCY_CENTRE_UM, EFFICIENCY_WIDTH_UM = 0.3, 8.0, 5.0
#: Samples across the slit width in the slit background's integral.
SLIT_BACKGROUND_SAMPLES = 16


def system_efficiency(wavelength_um):
    """Photon-to-electron efficiency ``eta(lambda) = peak exp(-((lambda - centre) / width)^2)`` (PLACEHOLDER)."""
    lam = np.asarray(wavelength_um, dtype=float)
    return EFFICIENCY_PEAK * np.exp(-(((lam - EFFICIENCY_CENTRE_UM) / EFFICIENCY_WIDTH_UM) ** 2))


def _smooth_cubic(y, rms, rng):
    """A random cubic in ``y`` (normalised to [-1, 1] over the nodes) scaled to ``rms`` over the nodes."""
    t = 2 * (y - y.min()) / (y.max() - y.min()) - 1
    shape = np.polynomial.legendre.legval(t, rng.standard_normal(4))
    return shape * rms / np.sqrt(np.mean(shape**2))


def true_table(mode, effects, rng):
    """The mode's true trace: the flight table with a smooth perturbation (module docstring).

    Parameters
    ----------
    mode : str
        ``lrs_slit`` or ``lrs_slitless``.
    effects : simulator.config.LrsEffects
    rng : numpy.random.Generator

    Returns
    -------
    instrument.lrs.LrsTable
    """
    flight = lrs.flight_table(mode)
    if not effects.trace_perturbation:
        return flight
    dlam = _smooth_cubic(flight.y_center, effects.trace_wavelength_nm * 1e-3, rng)
    dx = _smooth_cubic(flight.y_center, effects.trace_x_pix, rng)
    return lrs.LrsTable(mode, flight.subarray, flight.wavelength_um + dlam, flight.x_center + dx, flight.y_center,
                        flight.x_ref, flight.y_ref)


def slit_mask(along_arcsec, across_arcsec):
    """The fraction of each PSF sample inside the slit, for a source at the given offset from its centre.

    Parameters
    ----------
    along_arcsec, across_arcsec : float
        The source's offset from the slit centre, along (detector x) and across (y).

    Returns
    -------
    numpy.ndarray
        Shaped as :func:`simulator.psf.monochromatic` (y, x), values in [0, 1].
    """
    n = psf.MONOCHROMATIC_STAMP * OVERSAMPLE
    edges = (np.arange(n + 1) - n / 2) / OVERSAMPLE  # sample edges, pixels from the PSF centre

    def inside(scale, offset, size):  # fraction of each sample within |position| <= size / 2
        lo, hi = edges[:-1] * scale + offset, edges[1:] * scale + offset
        return np.clip((np.minimum(hi, size / 2) - np.maximum(lo, -size / 2)) / (hi - lo), 0, 1)

    return np.outer(inside(imager.PIXEL_SCALE_Y_ARCSEC, across_arcsec, lrs.SLIT_WIDTH_ARCSEC),
                    inside(imager.PIXEL_SCALE_X_ARCSEC, along_arcsec, lrs.SLIT_LENGTH_ARCSEC))


def _usable_range(table):
    lo, hi = table.wavelength_range_um
    return max(lo, lrs.WAVELENGTH_RANGE_UM[0]), min(hi, lrs.WAVELENGTH_RANGE_UM[1])


class _Canvas:
    """An oversampled image of detector rows ``rows`` and columns ``cols`` (slices of the frame)."""

    def __init__(self, shape, rows, cols):
        self.shape, self.rows, self.cols = shape, rows, cols
        self.data = np.zeros(((rows.stop - rows.start) * OVERSAMPLE, (cols.stop - cols.start) * OVERSAMPLE))

    def coordinate(self, y, x):
        """Canvas coordinates (sample edges at integers) of detector position ``(y, x)``."""
        return OVERSAMPLE * (y - self.rows.start + 0.5), OVERSAMPLE * (x - self.cols.start + 0.5)

    def add(self, image, uy, ux, weight):
        """Add ``weight * image`` (a PSF array, centre on its middle sample boundary) centred at (uy, ux)."""
        centre = image.shape[0] // 2
        for iy, wy in ((np.floor(uy), 1 - (uy - np.floor(uy))), (np.floor(uy) + 1, uy - np.floor(uy))):
            for ix, wx in ((np.floor(ux), 1 - (ux - np.floor(ux))), (np.floor(ux) + 1, ux - np.floor(ux))):
                if wy * wx == 0:
                    continue
                r0, c0 = int(iy) - centre, int(ix) - centre
                ys = slice(max(r0, 0), min(r0 + image.shape[0], self.data.shape[0]))
                xs = slice(max(c0, 0), min(c0 + image.shape[1], self.data.shape[1]))
                if ys.stop > ys.start and xs.stop > xs.start:
                    part = image[ys.start - r0:ys.stop - r0, xs.start - c0:xs.stop - c0]
                    self.data[ys, xs] += (weight * wy * wx) * part

    def image(self):
        """The canvas summed to pixels, in the frame."""
        out = np.zeros(self.shape)
        ny, nx = self.rows.stop - self.rows.start, self.cols.stop - self.cols.start
        out[self.rows, self.cols] = self.data.reshape(ny, OVERSAMPLE, nx, OVERSAMPLE).sum(axis=(1, 3))
        return out


def _canvas(table, shape, dx, dy):
    lam = np.linspace(*_usable_range(table), 64)
    x, y = table.trace(lam)
    def span(lo, hi, size):
        return slice(max(int(np.floor(lo)) - HALF_STAMP - 1, 0), min(int(np.ceil(hi)) + HALF_STAMP + 2, size))

    return _Canvas(shape, span(y.min() + dy, y.max() + dy, shape[0]), span(x.min() + dx, x.max() + dx, shape[1]))


def render_source(table, spectrum, shape, dx=0.0, dy=0.0, mask=None):
    """The e-/s one point source puts on each pixel (module docstring, rendering).

    Parameters
    ----------
    table : instrument.lrs.LrsTable
        The true trace.
    spectrum : simulator.spectra.SourceSpectrum
    shape : tuple
        The frame (ny, nx).
    dx, dy : float
        The source's offset from the reference point, pixels.
    mask : numpy.ndarray, optional
        The slit's cut of each PSF sample (:func:`slit_mask`); None slitless.

    Returns
    -------
    numpy.ndarray
        e-/s per pixel.
    """
    canvas = _canvas(table, shape, dx, dy)
    lam_lo, lam_hi = _usable_range(table)
    row_lo, row_hi = sorted(float(r) for r in table.trace([lam_lo, lam_hi])[1])
    # Sub-row boundaries (canvas integers) whose half-sub-row bins lie within the usable
    # rows; their bins' edges, in table rows, run down in wavelength as y goes up.
    u0, u1 = canvas.coordinate(row_lo + dy, 0)[0], canvas.coordinate(row_hi + dy, 0)[0]
    u = np.arange(np.ceil(u0 + 0.5), np.floor(u1 - 0.5) + 1)
    y = u / OVERSAMPLE + canvas.rows.start - 0.5 - dy
    edges = table.wavelength_at_row(np.append(y - 0.5 / OVERSAMPLE, y[-1] + 0.5 / OVERSAMPLE))[::-1]
    smooth = SourceSpectrum(spectrum.continuum, tuple(line for line in spectrum.lines
                                                      if not (isinstance(line, EmissionLine) and line.fwhm_um == 0)))
    centres = 0.5 * (edges[:-1] + edges[1:])
    electrons = (smooth.photons_in_bins(edges) * imager.COLLECTING_AREA_M2 * system_efficiency(centres))[::-1]
    lines = [line for line in spectrum.emission if line.fwhm_um == 0 and lam_lo <= line.centre_um <= lam_hi]
    lam = np.concatenate([centres[::-1], [line.centre_um for line in lines]])
    x, y_true = table.trace(lam)
    y = np.concatenate([y, y_true[y.size:]])  # the sub-row boundaries, then the lines' exact rows
    electrons = np.concatenate([electrons, [line.photons * imager.COLLECTING_AREA_M2 * system_efficiency(line.centre_um)
                                            for line in lines]])
    for lam_k, e_k, x_k, y_k in zip(lam, electrons, x, y, strict=True):
        if e_k > 0:
            image = psf.monochromatic(lam_k)
            canvas.add(image if mask is None else image * mask, *canvas.coordinate(y_k + dy, x_k + dx), e_k)
    return canvas.image()


def render_background(table, mode, shape, background_mjy_sr):
    """The e-/s a uniform sky of ``background_mjy_sr`` (flat F_nu) puts on each pixel (module docstring).

    Parameters
    ----------
    table : instrument.lrs.LrsTable
    mode : str
    shape : tuple
    background_mjy_sr : float

    Returns
    -------
    numpy.ndarray
    """
    out = np.zeros(shape)
    if background_mjy_sr <= 0:
        return out
    per_pixel = SourceSpectrum(PowerLaw(flux_mjy=background_mjy_sr * 1e9 * imager.pixel_solid_angle_sr(), ref_um=7.5,
                                        index=0.0))
    lo, hi = _usable_range(table)
    if mode == "lrs_slitless":
        edges = np.linspace(lo, hi, 9001)  # 1 nm: the midpoint rule on eta is good to ~1e-5
        mid = 0.5 * (edges[:-1] + edges[1:])
        out[:] = np.sum(per_pixel.photons_in_bins(edges) * system_efficiency(mid)) * imager.COLLECTING_AREA_M2
        return out
    # slit: row y gets, from slit point t pixels across, the wavelengths landing in [y - 1/2, y + 1/2]
    width_pix = lrs.SLIT_WIDTH_ARCSEC / imager.PIXEL_SCALE_Y_ARCSEC
    ts = (np.arange(SLIT_BACKGROUND_SAMPLES) + 0.5) / SLIT_BACKGROUND_SAMPLES * width_pix - width_pix / 2
    row_lo, row_hi = table.row_range
    rows = np.arange(shape[0], dtype=float)
    per_row = np.zeros(shape[0])
    for t in ts:
        top, bottom = np.clip(rows - 0.5 - t, row_lo, row_hi), np.clip(rows + 0.5 - t, row_lo, row_hi)
        lam_a, lam_b = table.wavelength_at_row(top), table.wavelength_at_row(bottom)
        a, b = np.clip(np.minimum(lam_a, lam_b), lo, hi), np.clip(np.maximum(lam_a, lam_b), lo, hi)
        ok = b > a
        for i in np.flatnonzero(ok):
            grid = np.linspace(a[i], b[i], 9)
            per_row[i] += np.sum(per_pixel.photons_in_bins(grid) * system_efficiency(0.5 * (grid[:-1] + grid[1:])))
    per_row *= imager.COLLECTING_AREA_M2 * width_pix / SLIT_BACKGROUND_SAMPLES
    # along the slit: columns within half its length of the trace (fraction of each column covered)
    length_pix = lrs.SLIT_LENGTH_ARCSEC / imager.PIXEL_SCALE_X_ARCSEC
    cols = np.arange(shape[1], dtype=float)
    ends = table.x_ref - length_pix / 2, table.x_ref + length_pix / 2
    cover = np.clip(np.minimum(cols + 0.5, ends[1]) - np.maximum(cols - 0.5, ends[0]), 0, 1)
    return np.outer(per_row, cover)


def wavelength_map(table, shape):
    """The true wavelength (um) at each pixel's row for a source at the reference point; NaN off the table."""
    rows = np.arange(shape[0], dtype=float)
    lo, hi = table.row_range
    lam = np.full(shape[0], np.nan)
    inside = (rows >= lo) & (rows <= hi)
    lam[inside] = table.wavelength_at_row(rows[inside])
    return np.repeat(lam[:, None], shape[1], axis=1)


def _offsets(source, observation, effects, rng):
    """True offset (arcsec along, across) of a source: the scene's, the nod's, and the acquisition's miss."""
    along = source.along_slit_arcsec + lrs.NOD_OFFSETS_ARCSEC[observation.nod]
    across = source.across_slit_arcsec
    if effects.lrs.acquisition_error:
        miss = effects.lrs.acquisition_error_arcsec * rng.standard_normal(2)
        along, across = along + miss[0], across + miss[1]
    return along, across


def _light(scene, observation, table, offsets):
    """The frame's e-/s: every source at its true offset (arcsec along, across), and the sky."""
    shape = readout.subarray(observation.subarray).shape
    image = render_background(table, observation.mode, shape, scene.background_mjy_sr)
    for source, (along, across) in zip(scene.sources, offsets, strict=True):
        mask = slit_mask(along, across) if observation.mode == "lrs_slit" else None
        image += render_source(table, source.source_spectrum, shape, along / imager.PIXEL_SCALE_X_ARCSEC,
                               across / imager.PIXEL_SCALE_Y_ARCSEC, mask)
    return image


def illuminate(scene, observation, effects, rng):
    """The LRS illumination of MIRIMAGE (module docstring).

    Parameters
    ----------
    scene : simulator.config.Scene
        Its sources are :class:`simulator.config.SpectralSource`.
    observation : simulator.config.LrsObservation
    effects : simulator.config.Effects
    rng : numpy.random.Generator
        The optics stream (the true trace and the acquisition's miss are drawn from it).

    Returns
    -------
    simulator.illumination.Illumination

    Raises
    ------
    ValueError
        For an :class:`simulator.config.ExtendedSource` (simulated for the MRS only).
    """
    if any(isinstance(source, ExtendedSource) for source in scene.sources):
        raise ValueError("extended sources (ExtendedSource) are simulated for the MRS only; the LRS takes "
                         "SpectralSource point sources")
    table = true_table(observation.mode, effects.lrs, rng)
    offsets = [_offsets(source, observation, effects, rng) for source in scene.sources]
    image = _light(scene, observation, table, offsets)
    sources = Table({"id": np.arange(len(scene.sources), dtype=int),
                     "along_slit_arcsec": [o[0] for o in offsets] * u.arcsec,
                     "across_slit_arcsec": [o[1] for o in offsets] * u.arcsec,
                     "dx_pix": [o[0] / imager.PIXEL_SCALE_X_ARCSEC for o in offsets],
                     "dy_pix": [o[1] / imager.PIXEL_SCALE_Y_ARCSEC for o in offsets]})
    lines = [source.source_spectrum.line_truth() for source in scene.sources]
    for i, t in enumerate(lines):
        t["source_id"] = np.full(len(t), i)
    components = (
        Component("SOURCES", sources, description="sources: true offset from the reference point (nod and "
                                                  "acquisition included), arcsec and pixels"),
        Component("TRACE", Table({"wavelength_um": table.wavelength_um, "x": table.x_ref + table.x_center,
                                  "y": table.y_ref + table.y_center}),
                  description="true trace at the table's nodes: wavelength (um), 0-based detector x, y"),
        Component("WAVELENGTH", wavelength_map(table, image.shape).astype(np.float32), unit="um",
                  description="true wavelength of each pixel's row for a source at the reference point"),
        Component("LINES", _stack(lines), description="each source's lines (simulator.spectra line_truth)"),
    )
    header = {"FILTER": lrs.DISPERSER, "LRSMODE": (observation.mode, "LRS mode"),
              "NOD": (observation.nod, "along-slit nod position")}
    detector = modes.mode(observation.mode).detectors[0]
    defects = {}
    if effects.lrs.trace_bad_pixels and scene.sources:  # drawn last: without them the stream is as it was
        defects[detector] = trace_defects.draw(table, image.shape, float(sources["dx_pix"][0]),
                                               float(sources["dy_pix"][0]), effects.lrs.trace_bad_pixels, rng)
        components += (trace_defects.component(defects[detector]),)
    light = Illumination({detector: image}, header, components, defects)
    if not observation.tso:
        return light
    return time_series(light, scene, observation, effects,  # the transit, its truth (simulator.lrs_tso)
                       render_background(table, observation.mode, image.shape, scene.background_mjy_sr))


def _stack(tables):
    columns = ["source_id", "kind", "centre_um", "fwhm_um", "tau", "flux_w_m2", "continuum_mjy"]
    rows = [t[columns] for t in tables if len(t)]
    if not rows:
        return Table(names=columns, dtype=(int, str, float, float, float, float, float))
    return vstack(rows)


def _truth_table(light, mode):
    """The true trace back from the illumination's TRACE component."""
    trace = next(c.data for c in light.components if c.name == "TRACE")
    return lrs.table_through(mode, trace["wavelength_um"], trace["x"], trace["y"])


def describe_exposure(meta, observation):
    """Set the LRS keywords of an uncal's metadata: EXP_TYPE, FILTER (P750L), the nod."""
    meta.exposure.type = modes.mode(observation.mode).exp_type
    meta.instrument.filter = lrs.DISPERSER
    if observation.nod != "none":
        meta.dither.primary_type = "ALONG-SLIT-NOD"
        meta.dither.position_number = 1 if observation.nod == "A" else 2
        meta.dither.total_points = 2


def write_references(folder, scene, observation, options, effects, truth, light, references_rng, optics_rng):
    """Write the LRS SPECWCS and the flux calibration's references.

    The SPECWCS: ``perfect`` the true table, ``measured`` the testbed's wavelength
    calibration of the flight table (:mod:`simulator.lrs_wavecal`, from ``references_rng``).
    The flux calibration's PHOTOM, APCORR and (slit) PATHLOSS:
    :mod:`simulator.lrs_references`, the PHOTOM tabulated on the written SPECWCS.

    Returns
    -------
    dict
        ``{reftype: path}``.
    """
    true = _truth_table(light, observation.mode)
    table = true
    if options.kind == "measured":
        table, _ = lrs_wavecal.measured_table(lrs.flight_table(observation.mode),
                                              wavecal_exposure(true, observation.mode, options, references_rng))
    return {"SPECWCS": write_specwcs(folder, table, options),
            **lrs_references.write_flux_references(folder, observation.mode, options, true, table,
                                                   float(np.mean(truth.gain)), system_efficiency, references_rng)}


def wavecal_exposure(table, mode, options, rng):
    """The wavelength calibration exposure (:mod:`simulator.lrs_wavecal`), in electrons.

    Its line source at the reference point through the true trace ``table`` (and the slit),
    on its sky.
    """
    shape = readout.subarray(lrs.SUBARRAYS[mode]).shape
    expected = render_background(table, mode, shape, lrs_wavecal.SKY_MJY_SR)
    expected += render_source(table, lrs_wavecal.line_source(), shape,
                              mask=slit_mask(0.0, 0.0) if mode == "lrs_slit" else None)
    return lrs_wavecal.observe(expected, options.wavecal_exposure_s, rng)


def write_specwcs(folder, table, options):
    """``table`` as a SPECWCS in the JWST LRS format (``MiriLRSSpecwcsModel``), written atomically; its path.

    The wavelength table's rows are the nodes by decreasing Y_CENTER, as the flight files
    order them, with a corner box of 40 x 1 pixels around each; the reference point of the
    table's mode is its own (1-based FULL frame), the other mode's the flight file's.
    """
    flight = dm.MiriLRSSpecwcsModel(str(lrs.flight_file(table.mode)))
    model = dm.MiriLRSSpecwcsModel()
    rows = np.argsort(-table.y_center)
    x, y, lam = table.x_center[rows], table.y_center[rows], table.wavelength_um[rows]
    names = ("x_center", "y_center", "wavelength", "x0", "y0", "x1", "y1", "x2", "y2", "x3", "y3")
    columns = (x, y, lam, x - 20, y + 0.5, x + 20, y + 0.5, x + 20, y - 0.5, x - 20, y - 0.5)
    model.wavetable = np.rec.fromarrays(columns, names=names)
    model.meta.x_ref, model.meta.y_ref = flight.meta.x_ref, flight.meta.y_ref
    model.meta.x_ref_slitless, model.meta.y_ref_slitless = flight.meta.x_ref_slitless, flight.meta.y_ref_slitless
    sub = readout.subarray(table.subarray)
    point = (table.x_ref + sub.xstart, table.y_ref + sub.ystart)  # 0-based in the frame -> 1-based FULL
    if table.mode == "lrs_slit":
        model.meta.x_ref, model.meta.y_ref = point
    else:
        model.meta.x_ref_slitless, model.meta.y_ref_slitless = point
    mode = modes.mode(table.mode)
    refmeta.describe_model(model, "SPECWCS", refmeta.Selection(detector="MIRIMAGE", exp_type=mode.exp_type,
                                                               filter=lrs.DISPERSER),
                           PROVENANCE, f"LRS P750L trace and wavelengths ({options.kind})")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"miri_testbed_specwcs_{table.mode}.fits"
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def companions(scene, observation, effects, light):
    """A nodded slit exposure's other nod, as its background (the ALONG SLIT NOD pair).

    Returns
    -------
    list
        ``[(role, observation, {detector: e-/s}, keywords)]``: the same sources, true trace
        and acquisition, at the other nod.
    """
    if observation.nod == "none":
        return []
    other = replace(observation, nod="B" if observation.nod == "A" else "A")
    shift = lrs.NOD_OFFSETS_ARCSEC[other.nod] - lrs.NOD_OFFSETS_ARCSEC[observation.nod]
    sources = next(c.data for c in light.components if c.name == "SOURCES")
    offsets = [(float(a) + shift, float(c)) for a, c in zip(sources["along_slit_arcsec"].value,
                                                           sources["across_slit_arcsec"].value, strict=True)]
    image = _light(scene, other, _truth_table(light, observation.mode), offsets)
    return [("background", other, {modes.mode(observation.mode).detectors[0]: image}, {})]
