"""The spectral leak left per spaxel in band-3A cubes, taken apart link by link (issue 17, session 27).

The chain: the truth's 6 um image -> 1B pixels -> 1B cube -> resampled to each 3A spaxel, against the 3A drizzle
of the 3A leak pixels.  Noise-free, perfect references, seed 1, 3 groups: band 1B (MIRIFUSHORT MEDIUM) and band 3A
(MIRIFULONG SHORT) with the leak on, 3A with it off (the leak-free twin), for the hot and red point sources and the
hot extended source of ``benchmarks/mrs_leak.py``.  Each is calibrated as ``calibrate`` does, and what the MRS spec2
hands to ``cube_build`` (each 3A pixel's MJy/sr and box) and to ``spectral_leak`` is kept (a DIAGNOSTIC hook on the
registry, restored after).  The drizzle is linear, so a prediction ``P`` of the leak in each 3A PIXEL leaves the
cube ``D(L - P)``, ``L`` the leak-on pixels less the twin's (``D(L)`` is the leak-on cube less the twin's to 3e-8
of its peak).  Rows:

* ``none`` and ``cube`` (the ``spectral_leak`` variant as it is, on the same cube);
* (a) ``P`` = the truth's ``LEAK`` (e-/s per 3A pixel) times the science's conversion (each pixel's MJy/sr over its
  ILLUM e-/s): the chain's bookkeeping (PHOTOM, ``f``, the drizzle), diagnostic only;
* (b) ``P`` from band 1B's DETECTOR PIXELS (calibrated MJy/sr, each pixel's box from 1B's DISTORTION/SPECWCS, the
  1B pixels of each (slice, column) interpolated linearly to ``lambda / 2`` on planes 0.0002 um apart), each 3A
  pixel's box sampled at 8 x 8 points mapped by the ``cube`` variant's frame map (3A's DISTORTION to V2/V3, the
  pointings, 1B's inverse) and its Jacobian: the 1B image taken as constant over each 1B pixel (overlap weights),
  one resampling instead of two;
* (b') the same, the 1B image at each plane (every 10th: 0.002 um) the least-roughness image on 0.044" squares
  that reproduces every 1B pixel's box integral exactly (``min |grad x|^2`` subject to ``A x = y``, solved as
  ``(A'A + 0.03^2 D'D) x = A'y``; no PSF, no truth);
* (c), (c') as (b), (b') with the truth's source positions in the two frames and the frame map's rotation about
  them, no DISTORTION scale (the simulator draws each band's PSF in its own arcsec), diagnostic only.

3A pixels more than 1.3" from the source, or beyond what the 1B pixels cover, take the exact ``L`` in (b)-(c')
(diagnostic: the x1d's background annulus is then exact there; the count is printed).  Figures per row: the twin's
max and median over the core (``benchmarks/mrs_leak.py``'s "twin" columns: each core spaxel's leak left at its
peak over its own continuum) and the x1d's signed ``a max g`` against the twin and against the truth (LEAK-1's
``mrs_leak_residual_twin`` and ``mrs_leak_residual`` with their signs; the x1d extracted again from the corrected
cube, as the ``cube`` variant does).

(d) The information floor, no pipeline: the truth's 6.1 um PSF (``simulator.mrs.psf_image('1B', 6.1)``, a
DIAGNOSTIC) box-integrated over 1B's tiling (slices 0.177", pixels 0.191" in alpha, random phases per slice) and
reconstructed into 3A's boxes (0.390" x 0.252", random phases) by overlap weights, by the least-roughness image or by
the band-limited image (:func:`band_limited`: on 0.03" cells, the least power beyond the diffraction limit D / lambda
that any 6.1 um image obeys, D = 6.6 m tip to tip; session 37), against the exact 3A box integrals; one 1B exposure,
or a 4-point 1B dither (half a slice and half a pixel apart: the images fitted to all four).  Per 3A box of the
core (the 12.2 um PSF's boxes >= 10 % of the brightest): the error as a share of the box's leak, and of its
continuum for the hot source (the leak 12.2 % of the continuum in total flux; the 12.2 um PSF
``psf_image('3A', 12.2)`` for the continuum's boxes).

(e) with ``--raster N``: the same floor for an ``N x N`` raster of 1B exposures 1/N slice and 1/N pixel apart, known
positions, no noise: the best a PSF measured on a calibration raster could give a PSF-model correction (session 33).

    python benchmarks/mrs_leak_cube_decompose.py [--draws 4] [--cases [NAME ...]] [--raster N] [--record]
"""
import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, cg, spsolve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import cube_build, registry, spectral_leak  # noqa: E402
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.instrument import mrs  # noqa: E402
from miri_testbed.simulator import (  # noqa: E402
    Effects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    simulate,
)
from miri_testbed.simulator import mrs as smrs  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402
from miri_testbed.validation import mrs_leak_score  # noqa: E402

from imager_common import publish, transcript  # noqa: E402
from mrs_leak import CASES as LEAK_CASES  # noqa: E402

#: benchmarks/mrs_leak.py's noise-free cases (its sources, 50 mJy at 12.2 um; the extended one 200 mJy)
CASES = {name: source for name, (source, noise_free) in LEAK_CASES.items() if noise_free}
OBS_1B = MrsObservation(detector="MIRIFUSHORT", band="MEDIUM", ngroups=3)
OBS_3A = MrsObservation(detector="MIRIFULONG", band="SHORT", ngroups=3)
SUB = 8            # points per 3A pixel side
RADIUS = 1.3       # arcsec: the 3A pixels predicted, about the source
WINDOW_UM = 0.6    # |lambda - 12.2| of the 3A pixels predicted (the leak curve's 6 sigma: the fit's window)
DLAM = 0.0002      # um between 1B's planes
LS_STEP, LS_CELL, LS_HALF, LS_DAMP, LS_COVER = 10, 0.044, 1.6, 0.03, 0.9
LEAK_SHARE = 0.122  # the hot source's leak at its peak, of the continuum (total flux)
#: (d)'s band-limited rebuild: cells (arcsec), the pupil's extent tip to tip (m; JWST's hexagonal primary, whose image
#: at 6.1 um holds no spatial frequency beyond D / lambda), the weight of the power beyond it and a ridge
BL_CELL, BL_PUPIL_M, BL_WEIGHT, BL_RIDGE = 0.03, 6.6, 1.0, 1e-6
SOURCE_UM = 6.1    # the leak's source wavelength: 1B's light that 3A sees at 12.2 um


class Capture:
    """A DIAGNOSTIC hook: keeps what spec2 hands to ``cube_build`` (per band) and to ``spectral_leak``."""

    def __enter__(self):
        self.bands, self.leak = {}, None
        self._samples, self._drizzle = cube_build.samples, registry.ALGORITHMS["cube_build"]["drizzle"]
        self._cube = registry.ALGORITHMS["spectral_leak"]["cube"]

        def samples(pixels, values, var, good, surface_brightness=False, move=None):
            kept = self._samples(pixels, values, var, good, surface_brightness, move)
            self.bands[pixels.band.name] = dict(pixels=pixels, samples=kept, values=values[pixels.y, pixels.x].copy())
            return kept

        def drizzle(kept, grid, complete=False):
            cube = self._drizzle(kept, grid, complete)
            self.bands[kept.band].update(cube=cube, grid=grid)
            return cube

        def leak(*args):
            self.leak = args
            return self._cube(*args)

        cube_build.samples, registry.ALGORITHMS["cube_build"]["drizzle"] = samples, drizzle
        registry.ALGORITHMS["spectral_leak"]["cube"] = leak
        return self

    def __exit__(self, *exc):
        cube_build.samples, registry.ALGORITHMS["cube_build"]["drizzle"] = self._samples, self._drizzle
        registry.ALGORITHMS["spectral_leak"]["cube"] = self._cube


def _diff(n):
    """First differences along both axes of an ``n x n`` image (the roughness)."""
    d = sparse.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n))
    eye = sparse.identity(n)
    return sparse.vstack([sparse.kron(eye, d), sparse.kron(d, eye)]).tocsr()


def overlaps(boxes, cells):
    """Overlap areas ``(n_boxes, n_cells)`` of boxes and cells, each ``(b0, b1, a0, a1)`` arrays."""
    db = np.clip(np.minimum(boxes[1][:, None], cells[1][None]) - np.maximum(boxes[0][:, None], cells[0][None]), 0, None)
    da = np.clip(np.minimum(boxes[3][:, None], cells[3][None]) - np.maximum(boxes[2][:, None], cells[2][None]), 0, None)
    return db * da


def least_rough(boxes, integrals, cells, cell):
    """The image (per cell) on square ``cells`` of side ``cell`` holding the boxes' ``integrals``, least rough."""
    n = int(round(np.sqrt(len(cells[0]))))
    a = sparse.csr_matrix(overlaps(boxes, cells) / cell**2)
    d = _diff(n)
    x = spsolve((a.T @ a).tocsc() + LS_DAMP**2 * (d.T @ d).tocsc(), a.T @ integrals)
    return x, np.asarray(a.sum(axis=0)).ravel()


def band_limited(boxes, integrals, cells, cell, cutoff):
    """The image (per cell) on square ``cells`` holding the boxes' ``integrals`` with the least power beyond ``cutoff``.

    ``min |A x - y|^2 + w |H x|^2 + r |x|^2``, ``A`` the boxes' overlaps over a cell's area, ``H`` the projection on
    the spatial frequencies above ``cutoff`` (cycles per arcsec; by FFT over the cells' square), ``w``
    :data:`BL_WEIGHT`, ``r`` :data:`BL_RIDGE` (only so that the normal equations are definite: cells no box reaches
    hold low frequencies nothing else fixes); by conjugate gradients on the normal equations.  No PSF, no truth:
    only the telescope's diffraction limit.
    """
    n = int(round(np.sqrt(len(cells[0]))))
    a = sparse.csr_matrix(overlaps(boxes, cells) / cell**2)
    k = np.fft.fftfreq(n, cell)
    beyond = np.hypot(*np.meshgrid(k, k, indexing="ij")) > cutoff

    def normal(x):
        power = np.real(np.fft.ifft2(np.where(beyond, np.fft.fft2(x.reshape(n, n)), 0.0))).ravel()
        return a.T @ (a @ x) + BL_WEIGHT * power + BL_RIDGE * x

    scale = np.abs(integrals).max()
    x, info = cg(LinearOperator((n * n, n * n), matvec=normal, dtype=float), a.T @ (integrals / scale), rtol=1e-8,
                 maxiter=5000)
    if info != 0:
        raise RuntimeError(f"band_limited: conjugate gradients did not converge in {info} iterations")
    return x * scale


def square_cells(half, cell, centre=(0.0, 0.0)):
    """Square cells ``(b0, b1, a0, a1)`` of side ``cell`` tiling ``[-half, half)`` about ``centre`` (alpha, beta)."""
    edges = np.arange(-half, half + 1e-9, cell)[:-1]
    bb, aa = np.meshgrid(edges + centre[1], edges + centre[0], indexing="ij")
    return bb.ravel(), bb.ravel() + cell, aa.ravel(), aa.ravel() + cell


class Chain:
    """One case's three exposures calibrated, with what the pipeline saw (module docstring)."""

    def __init__(self, source, folder):
        base, perfect = Effects.noise_free(), ReferenceOptions(kind="perfect")
        on = replace(base, mrs=replace(base.mrs, spectral_leak=True))
        sims = {key: simulate(Scene((source,)), obs, folder / sub, name=key, seed=1, effects=effects,
                              references=perfect)
                for key, obs, sub, effects in (("b1", OBS_1B, "on", on), ("a3", OBS_3A, "on", on),
                                               ("a3off", OBS_3A, "off", base))}
        with Capture() as c1:
            b1 = calibrate(sims["b1"]["uncal"], folder / "b1", sims["b1"]["refs"])
        with Capture() as coff:
            calibrate(sims["a3off"]["uncal"], folder / "off", sims["a3off"]["refs"])
        with Capture() as con:
            calibrate(sims["a3"]["uncal"], folder / "on", sims["a3"]["refs"], {"spectral_leak": "cube"},
                      leak_from=[b1["s3d"][0], b1["x1d"]])
        self.p1, self.v1 = c1.bands["1B"]["pixels"], c1.bands["1B"]["values"]
        on3, off3 = con.bands["3A"], coff.bands["3A"]
        self.p3, self.samples, self.grid = on3["pixels"], on3["samples"], on3["grid"]
        self.i_on = on3["samples"].intensity.astype(float)
        self.used = on3["samples"].used & off3["samples"].used
        self.L = np.where(self.used, self.i_on - off3["samples"].intensity, 0.0)
        self.cube_pre, self.cube_off = on3["cube"], off3["cube"]
        self.leak_args = con.leak
        _, _, self.extract, self.table, _, self.to_1b, _, self.jy = con.leak
        self.truth = read_truth(sims["a3"]["truth"])
        self.wl = self.grid.wavelength.centres
        self.continuum, self.leak_s, self.curve = mrs_leak_score.truth_leak(self.truth.config, 0, self.wl)
        self.x1d_off = self.extract(self.cube_off).flux
        self.src3 = next((r["alpha"], r["beta"]) for r in self.truth.table("SOURCES") if r["band"] == "3A")
        self.src1 = next((r["alpha"], r["beta"]) for r in read_truth(sims["b1"]["truth"]).table("SOURCES")
                         if r["band"] == "1B")
        self.drizzle_check = float(np.nanmax(np.abs(self.drizzled(self.L) - (self.cube_pre.data - self.cube_off.data)))
                                   / np.nanmax(self.cube_pre.data - self.cube_off.data))
        self._planes()

    def drizzled(self, values):
        return cube_build.drizzle(replace(self.samples, intensity=np.asarray(values, np.float32)), self.grid).data

    def figures(self, left):
        """``(twin max, twin median, x1d a max g against the twin, against the truth)`` of the leak ``left`` (cube)."""
        off = self.cube_off.data
        window = np.abs(self.wl - self.curve.centre_um) < mrs_leak_score.WINDOW_SIGMA * self.curve.sigma_um
        covered = np.isfinite(off[window]).any(axis=0)
        scale = np.zeros(covered.shape)
        scale[covered] = np.nanmedian(off[window][:, covered] / self.continuum[window, None], axis=0)
        twin = np.where(np.isfinite(off), left + scale[None] * self.continuum[:, None, None], np.nan)
        spaxels, _ = mrs_leak_score.cube_residuals(self.wl, twin, self.continuum, self.leak_s, self.curve)
        flux = self.extract(replace(self.cube_off, data=off + np.nan_to_num(left))).flux
        peak = np.max(self.leak_s / self.continuum)
        args = (self.curve.centre_um, self.curve.sigma_um)
        x_twin = mrs_leak_score.leak_residual(self.wl, flux, self.x1d_off, self.leak_s * self.x1d_off / self.continuum,
                                              *args)[1] * peak
        x_truth = mrs_leak_score.leak_residual(self.wl, flux * self.jy * 1e3, self.continuum, self.leak_s,
                                               *args)[1] * peak
        return float(np.max(spaxels)), float(np.median(spaxels)), x_twin, x_truth

    def left_by(self, predicted):
        return self.drizzled(np.where(self.used, self.L - predicted, 0.0))

    def _planes(self):
        """1B's pixels of each (slice, column) interpolated to planes DLAM apart: value and alpha box."""
        p, v = self.p1, self.v1
        ok = np.isfinite(v)
        key = p.slice.astype(np.int64) * 4096 + p.x
        cols = np.unique(key[ok])
        grid = np.arange(5.5, 6.8, DLAM)
        planes = [np.full((len(grid), len(cols)), np.nan) for _ in range(3)]
        order = np.argsort(key, kind="stable")
        bounds = np.searchsorted(key[order], np.r_[cols, cols[-1] + 1])
        for j in range(len(cols)):
            idx = order[bounds[j]:bounds[j + 1]]
            idx = idx[ok[idx]]
            idx = idx[np.argsort(p.wavelength[idx])]
            for plane, val in zip(planes, (v[idx], p.alpha_lo[idx], p.alpha_hi[idx]), strict=True):
                plane[:, j] = np.interp(grid, p.wavelength[idx], val, left=np.nan, right=np.nan)
        self.planes = dict(grid=grid, value=planes[0], lo=planes[1], hi=planes[2], slice=cols // 4096,
                           beta=np.asarray(p.band.beta, float), beta_del=p.band.beta_del)

    def _points(self, mapping):
        """The 3A pixels predicted, their SUB x SUB points mapped to 1B's frame, and their 1B plane indices."""
        p = self.p3
        idx = np.flatnonzero((np.hypot(p.alpha - self.src3[0], p.beta - self.src3[1]) < RADIUS)
                             & (np.abs(p.wavelength - 12.2) < WINDOW_UM) & self.used)
        sub = (np.arange(SUB) + 0.5) / SUB
        half = p.band.beta_del / 2
        a = p.alpha_lo[idx, None, None] + (p.alpha_hi - p.alpha_lo)[idx, None, None] * sub[None, :, None]
        b = p.beta[idx, None, None] - half + 2 * half * sub[None, None, :]
        a, b = (np.broadcast_to(x, (len(idx), SUB, SUB)).reshape(len(idx), -1) for x in (a, b))
        a1, b1 = (np.asarray(c, float).reshape(a.shape) for c in mapping(a.ravel(), b.ravel()))
        plane = np.rint((p.wavelength[idx] / 2 - self.planes["grid"][0]) / DLAM).astype(int)
        return idx, a1, b1, plane

    def _finish(self, idx, mean, jacobian):
        f, _ = self.table.at(self.p3.wavelength)
        mean = mean * jacobian(self.p3.alpha[idx], self.p3.beta[idx])
        predicted = self.L.copy()  # beyond RADIUS or 1B's pixels: the exact leak (diagnostic)
        good = np.isfinite(mean)
        predicted[idx[good]] = f[idx[good]] * mean[good]
        return predicted, int(np.count_nonzero(~good))

    def predict_overlap(self, mapping, jacobian):
        """(b)/(c): the 1B image constant over each 1B pixel, averaged over each 3A pixel's points."""
        pl = self.planes
        idx, a1, b1, plane = self._points(mapping)
        plane = np.repeat(plane, a1.shape[1])
        a1, b1 = a1.ravel(), b1.ravel()
        s = np.rint((b1 - pl["beta"][0]) / (pl["beta"][1] - pl["beta"][0])).astype(int)
        inside = (s >= 0) & (s < len(pl["beta"]))
        s = np.clip(s, 0, len(pl["beta"]) - 1)
        inside &= np.abs(b1 - pl["beta"][s]) <= pl["beta_del"] / 2
        values = np.full(a1.shape, np.nan)
        for k in np.unique(s[inside]):
            sel = np.flatnonzero(inside & (s == k))
            cols = np.flatnonzero(pl["slice"] == k)
            lo, hi, val = (pl[n][plane[sel]][:, cols] for n in ("lo", "hi", "value"))
            hit = (a1[sel, None] >= lo) & (a1[sel, None] < hi)
            found = hit.any(axis=1)
            values[sel[found]] = val[found, hit[found].argmax(axis=1)]
        return self._finish(idx, values.reshape(len(idx), -1).mean(axis=1), jacobian)

    def predict_least_rough(self, mapping, jacobian):
        """(b')/(c'): the 1B image at each plane the least-roughness image holding every 1B pixel's box integral."""
        pl = self.planes
        idx, a1, b1, plane = self._points(mapping)
        plane = np.rint(plane / LS_STEP).astype(int) * LS_STEP
        cells = square_cells(LS_HALF, LS_CELL, self.src1)
        n = int(round(np.sqrt(len(cells[0]))))
        mean = np.full(len(idx), np.nan)
        for k in np.unique(plane):
            cols = np.flatnonzero(np.isfinite(pl["value"][k]) & np.isfinite(pl["lo"][k]))
            beta = pl["beta"][pl["slice"][cols]]
            lo, hi, value = pl["lo"][k, cols], pl["hi"][k, cols], pl["value"][k, cols]
            near = ((np.abs(beta - self.src1[1]) < LS_HALF + 0.2)
                    & (np.abs(0.5 * (lo + hi) - self.src1[0]) < LS_HALF + 0.2))
            beta, lo, hi, value = beta[near], lo[near], hi[near], value[near]
            boxes = (beta - pl["beta_del"] / 2, beta + pl["beta_del"] / 2, lo, hi)
            x, cover = least_rough(boxes, value * (hi - lo) * pl["beta_del"], cells, LS_CELL)
            image = np.where(cover > LS_COVER, x / LS_CELL**2, np.nan).reshape(n, n)
            sel = np.flatnonzero(plane == k)
            ib = np.floor((b1[sel] - cells[0][0]) / LS_CELL).astype(int)
            ia = np.floor((a1[sel] - cells[2][0]) / LS_CELL).astype(int)
            ok = (ib >= 0) & (ib < n) & (ia >= 0) & (ia < n)
            mean[sel] = np.where(ok, image[np.clip(ib, 0, n - 1), np.clip(ia, 0, n - 1)], np.nan).mean(axis=1)
        return self._finish(idx, mean, jacobian)

    def distortion_map(self):
        return self.to_1b, (lambda a, b: spectral_leak.jacobian(self.to_1b, a, b))

    def rigid_map(self):
        """DIAGNOSTIC: the truth's source positions, the frame map's rotation about them (polar part), no scale."""
        a0, b0 = self.src3
        h = 0.01
        c = np.array(self.to_1b(np.array([a0, a0 + h, a0]), np.array([b0, b0, b0 + h])), float)
        u, _, vt = np.linalg.svd(np.column_stack([(c[:, 1] - c[:, 0]) / h, (c[:, 2] - c[:, 0]) / h]))
        rotation = u @ vt

        def mapping(a, b):
            d = rotation @ np.vstack([np.asarray(a) - a0, np.asarray(b) - b0])
            return d[0] + self.src1[0], d[1] + self.src1[1]
        return mapping, (lambda a, b: np.ones(np.shape(a)))


def decompose(name, folder, out):
    start = time.process_time()
    chain = Chain(CASES[name], folder)
    out(f"{name}: D(L) against the leak-on cube less the twin's: {chain.drizzle_check:.1e} of its peak")
    rows = [("none", chain.cube_pre.data - chain.cube_off.data, 0),
            ("cube (the variant as it is)", spectral_leak.cube(*chain.leak_args)[0].data - chain.cube_off.data, 0)]
    illum = chain.truth.image("ILLUM")[chain.p3.y, chain.p3.x].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        truth_leak = chain.truth.image("LEAK")[chain.p3.y, chain.p3.x] * chain.i_on / illum
    rows.append(("(a) truth's LEAK x the science's conversion",
                 chain.left_by(np.where(chain.used, truth_leak, 0.0)), 0))
    for label, maps in (("1B pixels, DISTORTION frames", chain.distortion_map()),
                        ("1B pixels, truth's positions, no scale", chain.rigid_map())):
        tag = "b" if "DISTORTION" in label else "c"
        for how, predict in (("overlap weights", chain.predict_overlap), ("least-rough", chain.predict_least_rough)):
            predicted, exact = predict(*maps)
            rows.append((f"({tag}{'' if how == 'overlap weights' else chr(39)}) {label}, {how}",
                         chain.left_by(predicted), exact))
    for label, left, exact in rows:
        mx, med, x_twin, x_truth = chain.figures(left)
        out(f"  {label:62s} {mx:8.5f} {med:8.5f}  {x_twin:+.6f}  {x_truth:+.6f}  {exact:6d}")
    out(f"  ({time.process_time() - start:.0f} s CPU)")


# ---- (d) the information floor, the PSF alone ----------------------------------------------------------------

def _integral_image(image, sample):
    n = image.shape[0]
    edges = (np.arange(n + 1) - n / 2) * sample
    total = np.zeros((n + 1, n + 1))
    total[1:, 1:] = image.cumsum(0).cumsum(1)

    def box(b0, b1, a0, a1):
        def at(b, a):
            ib = np.clip((b - edges[0]) / sample, 0, n - 1e-9)
            ia = np.clip((a - edges[0]) / sample, 0, n - 1e-9)
            i, j = ib.astype(int), ia.astype(int)
            fb, fa = ib - i, ia - j
            return ((1 - fb) * (1 - fa) * total[i, j] + (1 - fb) * fa * total[i, j + 1]
                    + fb * (1 - fa) * total[i + 1, j] + fb * fa * total[i + 1, j + 1])
        return at(b1, a1) - at(b0, a1) - at(b1, a0) + at(b0, a0)
    return box


def tiling(beta_del, alpha_width, phase_beta, phases_alpha, reach):
    """Boxes ``(b0, b1, a0, a1)`` of slices ``beta_del`` wide and pixels ``alpha_width`` long within ``reach``."""
    nb, na = int(np.ceil(reach / beta_del)) + 1, int(np.ceil(reach / alpha_width)) + 1
    rows = [((k - 0.5 + phase_beta) * beta_del, (m - 0.5 + phases_alpha[k + nb]) * alpha_width)
            for k in range(-nb, nb + 1) for m in range(-na, na + 1)]
    b0, a0 = np.array(rows).T
    return b0, b0 + beta_del, a0, a0 + alpha_width


def floor(draws, out, raster=0):
    """(d): the 3A boxes' integrals from 1B's (module docstring); ``raster`` > 1 adds (e), an ``raster x raster``
    calibration raster (steps of 1/raster slice and pixel), as a PSF-model correction's measured PSF would have."""
    box6 = _integral_image(smrs.psf_image("1B", SOURCE_UM), smrs.psf_sample_arcsec("1B"))
    box12 = _integral_image(smrs.psf_image("3A", 12.2), smrs.psf_sample_arcsec("3A"))
    d1, w1 = mrs.band("1B").beta_del, spectral_leak.pixel_alpha_width("1B")
    d3, w3 = mrs.band("3A").beta_del, spectral_leak.pixel_alpha_width("3A")
    reach = 1.4
    cells, fine = square_cells(reach + 0.3, LS_CELL), square_cells(reach + 0.3, BL_CELL)
    cutoff = BL_PUPIL_M / (SOURCE_UM * 1e-6) / (180 / np.pi * 3600)  # D / lambda in cycles per arcsec
    rng = np.random.default_rng(1)
    out("(d) the information floor: 3A box integrals of the 6.1 um PSF rebuilt from 1B's; per core 3A box, "
        "|error| of its leak and of its continuum (hot source)")
    configurations = [(1, [(0.0, 0.0)]), (4, [(0.0, 0.0), (0.5, 0.5), (0.25, 0.75), (0.75, 0.25)])]
    if raster > 1:
        configurations.append((raster**2, [(i / raster, j / raster) for i in range(raster) for j in range(raster)]))
    for exposures, steps in configurations:
        errors = {"overlap weights": [], "least-rough": [], "band-limited": []}
        for _ in range(draws):
            t3 = tiling(d3, w3, rng.uniform(), rng.uniform(size=64), 0.9)
            phase, phases = rng.uniform(), rng.uniform(size=64)
            t1 = [tiling(d1, w1, phase + sb, phases + sa, reach) for sb, sa in steps]
            v1 = [box6(*t) for t in t1]
            exact, continuum = box6(*t3), box12(*t3)
            core = continuum > 0.1 * continuum.max()
            rebuilt = {"overlap weights": sum(overlaps(t3, t) / (d1 * w1) @ v for t, v in zip(t1, v1, strict=True))
                       / exposures}
            boxes = tuple(np.concatenate([t[i] for t in t1]) for i in range(4))
            x, _ = least_rough(boxes, np.concatenate(v1), cells, LS_CELL)
            rebuilt["least-rough"] = overlaps(t3, cells) / LS_CELL**2 @ x
            x = band_limited(boxes, np.concatenate(v1), fine, BL_CELL, cutoff)
            rebuilt["band-limited"] = overlaps(t3, fine) / BL_CELL**2 @ x
            for key, value in rebuilt.items():
                errors[key].append(((value - exact) / exact)[core])
                errors[key].append(LEAK_SHARE * ((value - exact) / continuum)[core])
        for key, pairs in errors.items():
            of_leak, of_continuum = (np.abs(np.concatenate(pairs[i::2])) for i in (0, 1))
            out(f"  {exposures} 1B exposure(s), {key:16s} of its leak: max {of_leak.max():.4f} median "
                f"{np.median(of_leak):.4f}; of its continuum: max {of_continuum.max():.5f} median "
                f"{np.median(of_continuum):.5f} ({of_leak.size} boxes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=4, help="(d)'s random tilings per case")
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--raster", type=int, default=0,
                        help="(e): also the floor of an N x N calibration raster (a PSF-model correction's PSF)")
    parser.add_argument("--record", action="store_true",
                        help="write benchmarks/results/<date>_mrs_leak_cube_decompose.txt")
    args = parser.parse_args()
    out, lines = transcript()
    out("noise-free, perfect references, seed 1, 3 groups; per row: twin max, twin median over the core (the leak "
        "left per spaxel over its continuum), the x1d's signed a max g against the twin and against the truth, and "
        f"the 3A pixels within {RADIUS}\" that took the exact leak (beyond 1B's pixels)")
    for name in args.cases:
        with tempfile.TemporaryDirectory() as folder:
            decompose(name, Path(folder), out)
    start = time.process_time()
    floor(args.draws, out, args.raster)
    out(f"  ({time.process_time() - start:.0f} s CPU)")
    if args.record:
        publish("mrs_leak_cube_decompose", lines)


if __name__ == "__main__":
    main()
