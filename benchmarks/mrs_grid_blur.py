"""Exploratory (issue 16): the peak-spaxel ripple of ``drizzle``'s cubes blurred on the cube's grid afterwards.

``drizzle_lambda_alpha_smooth`` damps the peak spaxel's resampling ripple by smoothing each pixel's box in alpha
(and lambda) before it is binned (calibration/cube_build.py), at 2.2-2.4x drizzle's CPU (its footprints span ~8
spaxels in alpha, not ~3).  The cheap alternative measured here: drizzle's sums ``N = sum_p w_ps I_p`` (the cube's
SCI times its WEIGHTMAP) and ``W = sum_p w_ps`` (the WEIGHTMAP) convolved along alpha with a Gaussian of 0.5 of the
band's median pixel width (the smoothed kernel's; integrated over each spaxel, cut at 4 sigma), optionally along
lambda with 0.5 plane, then ``N' / W'``.  This is NOT the smoothed kernel (a box smoothed before binning against
binned then blurred: 0.35 % rms apart on tests/test_cube_build_kernel.py's set), so its ripple is measured, not
inferred: ``benchmarks.mrs_jwst.peak_ripple`` (% rms within the CUBEPAR's range) of the foreign 4-point set's
``drizzle`` cubes as ``benchmarks/mrs_complete.py --workdir DIR --variants drizzle`` leaves them in DIR.  Only the
ripple: the blurred cube has no variance of its own here (it would need the pixels' covariance between alpha
neighbours, as ``Cube.sum_variance``'s lags are between planes) and no APCORR made for it.

    python benchmarks/mrs_complete.py --workdir DIR --variants drizzle
    python benchmarks/mrs_grid_blur.py DIR [--record]
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.ndimage import convolve1d
from scipy.special import ndtr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mrs_jwst as mj  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

#: The blur in alpha, in the band's median pixel widths (cube_build.SMOOTH_ALPHA_PIXELS), and in lambda, in planes.
ALPHA_PIXELS, LAMBDA_PLANES = 0.5, 0.5


def kernel(sigma):
    """A Gaussian of ``sigma`` (bins) integrated over each bin, cut at 4 sigma, summing to 1."""
    half = int(np.ceil(4 * sigma)) + 1
    k = np.arange(-half, half + 1)
    g = ndtr((k + 0.5) / sigma) - ndtr((k - 0.5) / sigma)
    return g / g.sum()


def blurred(path, band, out, lambda_planes):
    """``path``'s cube with its sums blurred (module docstring), written to ``out``; the alpha sigma in spaxels."""
    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.calibration import spectral_leak

    with dm.IFUCubeModel(str(path)) as model:
        weight = np.nan_to_num(np.asarray(model.weightmap, float))
        total = np.nan_to_num(np.asarray(model.data, float)) * weight
        sigma = ALPHA_PIXELS * spectral_leak.pixel_alpha_width(band) / float(model.meta.wcsinfo.cdelt1)
        total, weight = (convolve1d(a, kernel(sigma), axis=2, mode="constant") for a in (total, weight))
        if lambda_planes:
            total, weight = (convolve1d(a, kernel(lambda_planes), axis=0, mode="constant") for a in (total, weight))
        with np.errstate(invalid="ignore", divide="ignore"):
            model.data = np.where(weight > 0, total / weight, np.nan).astype(np.float32)
        model.weightmap = weight.astype(np.float32)
        model.save(str(out))
    return sigma


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", help="benchmarks/mrs_complete.py's --workdir (its drizzle cubes)")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_grid_blur.txt")
    args = parser.parse_args(argv)
    out, lines = transcript()
    out("Peak-spaxel ripple (% rms in the CUBEPAR's range) of the foreign 4-point set's drizzle cubes, as made and "
        f"blurred on the grid (alpha {ALPHA_PIXELS} pixel width; + lambda {LAMBDA_PLANES} plane):")
    out("   case         band  drizzle  blurred alpha (sigma spaxels)  blurred alpha + lambda")
    with tempfile.TemporaryDirectory() as tmp:
        for group in ("noise-free", "noisy"):
            for band in mj.LINES_UM:
                path = Path(args.workdir) / group / "drizzle" / f"ours_{band}_s3d.fits"
                cells = [mj.peak_ripple(str(path), band, mj.LINES_UM[band])[1]]
                for planes in (0.0, LAMBDA_PLANES):
                    new = Path(tmp) / f"{group}_{band}_{planes}_s3d.fits"
                    sigma = blurred(path, band, new, planes)
                    cells.append(mj.peak_ripple(str(new), band, mj.LINES_UM[band])[1])
                out(f"   {group:11s}  {band}    {cells[0]:6.2f}   {cells[1]:6.2f} ({sigma:.2f})"
                    f"                  {cells[2]:6.2f}")
    print(write_result("mrs_grid_blur", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
