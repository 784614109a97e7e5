"""FRINGE-1's noise floor with the x1d's plane-to-plane correlation, against the white floor (issue 17).

For each x1d of suite ``mrs_fringes`` kept by ``miri-testbed run ... --keep-products -o DIR`` (DIR's
``work/<scenario>/seed<N>/products/*_x1d.fits`` and its truth), per band: the fringe amplitude
(:func:`validation.mrs_fringe_score.fringe_amplitude`), the floor drawn from white noise of the errors and the
floor drawn with the x1d's ``plane_correlation`` (:func:`validation.mrs_fringe_score.spectrum_floor`), the
amplitude over each, FRINGE-1's ratio (amplitude / max(1.2 floor, 0.5 %)); the correlation's median per lag
(the noise model's, ``plane_correlation``) and the same measured on the residual over its error (not used by
the floor: a residual fringe would inflate it).

**Pure-noise check**: the same statistic over three control windows where no fringe is (frequency windows as
wide as the fringe's 2.4-3.4 cm^-1, from 1/2.2 cm: periods 2.2 down to 1.2 cm^-1), over the fringe band's
white floor, its correlated floor, and the correlated floor drawn in the window itself.  On noise alone they
should read ~1 against the right floor.

    python benchmarks/mrs_fringe_floor.py DIR [DIR ...] [--record]
"""
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from miri_testbed.validation import lrs_score, mrs_fringe_score, mrs_score  # noqa: E402
from miri_testbed.validation.mrs_score import continuum_planes, read_spectra  # noqa: E402
from miri_testbed.validation.score import as_truth  # noqa: E402

from imager_common import publish  # noqa: E402

#: The control windows: as wide in frequency as the fringe's band, the first starting at period 2.2 cm^-1.
WIDTH = mrs_fringe_score.FRINGE_BAND[1] - mrs_fringe_score.FRINGE_BAND[0]
CONTROLS = [(1 / 2.2 + k * WIDTH, 1 / 2.2 + (k + 1) * WIDTH) for k in range(3)]


def lag_correlations(planes, x, lags):
    """The sample correlation of ``x`` (on the x1d's rows ``planes``) with itself ``l`` = 1 ... ``lags`` rows on."""
    x = x - x.mean()
    return [float(np.mean(x[i] * x[j]) / np.mean(x * x))
            for i, j in (mrs_score.lag_pairs(planes, lag) for lag in range(1, lags + 1))]


def band_lines(seed, band, spectrum, truth, x1d, correlation):
    """This band's table row and its control ratios ``(over white, over correlated, over the window's own)``."""
    scored = continuum_planes(spectrum, truth.table("LINES"))
    continuum = lrs_score.source_continuum(truth, spectrum, x1d).flux_density_mjy(spectrum.wavelength[scored])
    sigma, r, e = mrs_fringe_score.relative_residual(spectrum, scored, continuum)
    planes = np.flatnonzero(scored)
    matrix = mrs_score.correlation_matrix(planes, correlation)
    amplitude = mrs_fringe_score.fringe_amplitude(sigma, r, e)
    white = mrs_fringe_score.noise_floor(sigma, e)
    floor = mrs_fringe_score.spectrum_floor(sigma, e, scored, correlation)
    target = amplitude / max(mrs_fringe_score.FLOOR_FACTOR * floor, mrs_fringe_score.AMPLITUDE_LIMIT)
    model = np.median(correlation[planes], axis=0)
    measured = lag_correlations(planes, r / e, correlation.shape[1])
    controls = []
    for window in CONTROLS:
        value = mrs_fringe_score.fringe_amplitude(sigma, r, e, window)
        controls.append((value / white, value / floor, value / mrs_fringe_score.noise_floor(sigma, e, matrix, window)))
    line = (f"{seed:4d} {band}  {100 * amplitude:.4f}  {100 * white:.4f}  {100 * floor:.4f}  {floor / white:.3f}  "
            f"{amplitude / white:6.3f}  {amplitude / floor:6.3f}  {target:.3f}   "
            f"{' '.join(f'{v:.3f}' for v in model)}   {' '.join(f'{v:+.2f}' for v in measured)}   "
            + "  ".join(f"{a:.2f}/{b:.2f}/{c:.2f}" for a, b, c in controls))
    return line, controls


def main(folders):
    load = os.getloadavg()[0]
    lines = ["# amplitude, floors in %; x = amplitude / floor; FRINGE-1 = amplitude / max(1.2 correlated floor, 0.5 %)",
             "# rho model: plane_correlation's median per lag (1-4) on the scored planes; rho resid: the residual / "
             "error's",
             "# controls (3 windows, periods 2.2-1.2 cm^-1): statistic / white floor / correlated floor / the window's "
             "own correlated floor",
             "seed band ampl%   white%  corr%   c/w    x_white x_corr  FRINGE-1  rho model (lags 1-4)        "
             "rho resid (1-4)        controls"]
    controls = []
    for folder in folders:
        for x1d in sorted(Path(folder).glob("work/*/seed*/products/*_x1d.fits")):
            seed = int(x1d.parent.parent.name.removeprefix("seed"))
            truth = as_truth(next(x1d.parent.parent.glob("*_truth.fits")), ("LINES", "SOURCES"))
            correlations = mrs_score.plane_correlations(x1d)
            for band, spectrum in read_spectra(x1d).items():
                line, found = band_lines(seed, band, spectrum, truth, x1d, correlations[band])
                lines.append(line)
                controls += found
    controls = np.array(controls)
    for k, name in enumerate(("the white floor", "the correlated floor", "the window's own correlated floor")):
        lines.append(f"controls over {name}: {len(controls)} windows, {controls[:, k].min():.2f}-"
                     f"{controls[:, k].max():.2f}x, median {np.median(controls[:, k]):.3f}x")
    lines.append(f"load {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; folders: {' '.join(folders)}")
    publish("mrs_fringe_floor", lines)


if __name__ == "__main__":
    main([a for a in sys.argv[1:] if not a.startswith("--")])
