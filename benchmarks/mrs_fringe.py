"""The 1-D residual fringe fit (issue 17): ours (``residual_fringe=fit``) against jwst's ``fit_residual_fringes_1d``.

The same synthetic point-source spectra through both: three bands (1A, 3A, 4B: wavelengths evenly
spaced, two planes per resolution element, R from simulator.mrs.resolving_power), each of three
kinds -- a clean continuum (a slope), bright emission lines (five per band, 3x the continuum at
the peak), an absorption forest (15 %-deep lines every two resolution elements over the band's
middle half) -- times a residual fringe (3 % at 2.93 cm^-1 with its second harmonic at 13 % of it,
and in channels 3-4 a 0.5 % dichroic fringe at 0.41 cm^-1), plus 0.1 % white noise, three seeds.

Columns: the fringe amplitude (validation.mrs_fringe_score.fringe_amplitude: the largest sinusoid over
2.4-3.4 cm^-1 of the spectrum over its fringe-free truth) before and after each fit, and its noise floor
(the same on pure noise); ``lines``: the largest line-flux change (%) and centre shift (km/s) against the
fringe-free noisy spectrum, over the five emission lines or every line of the forest; CPU time per spectrum
(process time, one BLAS thread for both; the load before and after is on the last line).

    python benchmarks/mrs_fringe.py [--record]
"""
import os
import sys
import time
from pathlib import Path

# one BLAS thread for both fits: on a loaded machine idle threads spinning would count as CPU time
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from miri_testbed.calibration import residual_fringe  # noqa: E402
from miri_testbed.calibration.peers import jwst_residual_fringe_1d  # noqa: E402
from miri_testbed.simulator.mrs import resolving_power  # noqa: E402
from miri_testbed.validation.mrs_fringe_score import fringe_amplitude  # noqa: E402

from imager_common import publish  # noqa: E402

BANDS = {"1A": (4.90, 5.74), "3A": (11.55, 13.47), "4B": (20.69, 24.48)}
NOISE, SEEDS, C_KMS = 1e-3, (1, 2, 3), 299792.458


def _grid(lo, hi):
    step = (lo + hi) / 2 / resolving_power((lo + hi) / 2) / 2
    return np.arange(lo, hi, step)


def _gauss(lam, centre, height):
    return height * np.exp(-0.5 * ((lam - centre) / (centre / resolving_power(centre) / 2.3548)) ** 2)


def _continuum(lam):
    return 1 + 0.2 * (lam - lam.mean()) / np.ptp(lam)


def _centres(lam, kind):
    """The lines' centres and each one's window half width for its flux and centre (um): 3 resolution elements
    for the five emission lines, one for the forest's (half their spacing)."""
    lo, hi, mid = lam[0], lam[-1], lam.mean()
    if kind == "lines":
        return lo + np.array([0.1, 0.3, 0.5, 0.7, 0.9]) * (hi - lo), 3
    if kind == "forest":
        return np.arange(lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo), 2 * mid / resolving_power(mid)), 1
    return np.array([]), 0


def _truth(lam, kind):
    height = {"lines": 3.0, "forest": -0.15}.get(kind, 0.0)
    return _continuum(lam) * (1 + sum(_gauss(lam, c, height) for c in _centres(lam, kind)[0]))


def _fringe(lam, channel):
    sigma = 1e4 / lam
    f = 1 + 0.03 * np.cos(2 * np.pi * sigma / 2.93 + 0.7) + 0.0039 * np.cos(4 * np.pi * sigma / 2.93 + 1.4)
    return f + (0.005 * np.cos(2 * np.pi * sigma / 0.41) if channel >= 3 else 0)


def _line_changes(lam, out, noisy, kind):
    """The largest change of a line's flux (%) and centre (km/s, first moment) from the fringe-free spectrum's."""
    worst_flux, worst_v = 0.0, 0.0
    continuum = _continuum(lam)
    centres, half_width = _centres(lam, kind)
    for c in centres:
        near = np.abs(lam - c) < half_width * c / resolving_power(c)
        moments = []
        for spec in (out, noisy):
            excess = (spec - continuum)[near]
            moments.append((excess.sum(), np.sum(excess * lam[near]) / excess.sum()))
        worst_flux = max(worst_flux, abs(moments[0][0] / moments[1][0] - 1) * 100)
        worst_v = max(worst_v, abs(moments[0][1] - moments[1][1]) / c * C_KMS)
    return worst_flux, worst_v


def main():
    load = os.getloadavg()[0]
    lines = ["band kind    floor   before  ours    jwst    ours_lines(%/kms)  jwst_lines(%/kms)  cpu_ours_s cpu_jwst_s"]
    speed = []
    for band, (lo, hi) in BANDS.items():
        lam = _grid(lo, hi)
        sigma = 1e4 / lam
        channel = int(band[0])
        for kind in ("clean", "lines", "forest"):
            truth = _truth(lam, kind)
            stats = {k: [] for k in ("floor", "before", "ours", "jwst", "t_ours", "t_jwst", "l_ours", "l_jwst")}
            for seed in SEEDS:
                noisy = truth * (1 + NOISE * np.random.default_rng(seed).standard_normal(lam.size))
                flux, error = noisy * _fringe(lam, channel), np.full(lam.size, NOISE) * truth
                t = time.process_time()
                ours = residual_fringe.fit(lam, flux, error, np.ones(lam.size, bool), channel)[0]
                stats["t_ours"].append(time.process_time() - t)
                t = time.process_time()
                jwst = jwst_residual_fringe_1d(lam, flux, error, np.ones(lam.size, bool), channel)[0]
                stats["t_jwst"].append(time.process_time() - t)
                e = np.full(lam.size, NOISE)
                floor_rng = np.random.default_rng(0)
                stats["floor"].append(np.median([fringe_amplitude(sigma, NOISE * floor_rng.standard_normal(lam.size),
                                                                  e) for _ in range(10)]))
                for name, spec in (("before", flux), ("ours", ours), ("jwst", jwst)):
                    stats[name].append(fringe_amplitude(sigma, spec / truth - 1, e))
                if kind != "clean":
                    stats["l_ours"].append(_line_changes(lam, ours, noisy, kind))
                    stats["l_jwst"].append(_line_changes(lam, jwst, noisy, kind))
            worst = {k: (max(v[0] for v in stats[k]), max(v[1] for v in stats[k])) if stats[k] else None
                     for k in ("l_ours", "l_jwst")}
            fmt = {k: f"{v[0]:.2f}/{v[1]:.3f}" if v else "-" for k, v in worst.items()}
            lines.append(f"{band}   {kind:7s} {np.mean(stats['floor']):.5f} {np.mean(stats['before']):.5f} "
                         f"{np.mean(stats['ours']):.5f} {np.mean(stats['jwst']):.5f} {fmt['l_ours']:18s} "
                         f"{fmt['l_jwst']:18s} {np.mean(stats['t_ours']):.4f}     {np.mean(stats['t_jwst']):.4f}")
            speed.append(np.mean(stats["t_jwst"]) / np.mean(stats["t_ours"]))
    lines.append(f"jwst / ours CPU time per spectrum: {min(speed):.1f}x - {max(speed):.1f}x "
                 f"(median {np.median(speed):.1f}x); load {load:.1f} -> {os.getloadavg()[0]:.1f} "
                 f"on {os.cpu_count()} cores")
    publish("mrs_fringe", lines)


if __name__ == "__main__":
    main()
