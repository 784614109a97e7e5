"""The MRS flight geometry per band (issue 16): read and map-building time, slice widths, pixel scale, round trip.

For each of the 12 bands, from ``miri_testbed.instrument.mrs`` on a cold cache:

* read: seconds to read its pair of flight files (distortion + specwcs; the first band of
  a pair pays for both, its partner reads nothing);
* map: seconds to build :func:`mrs.band_map` (slice map + every lit pixel's alpha, beta, lambda);
* slice widths: min-max over slices of the median lit pixels per row, and the
  smallest gap between two slices over every row;
* pixel scale: median |d alpha / d x| over one pixel at the lit pixels, arcsec;
* round trip: (x, y) -> (alpha, lambda) -> (x, y) through the forward and inverse
  polynomials: median, 99th percentile and maximum distance, pixels;
* lit: pixels in the band's slices.

    python benchmarks/mrs_geometry.py [--record]
"""
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.instrument import mrs  # noqa: E402

from imager_common import publish  # noqa: E402


def smallest_gap(slices):
    """The fewest unlit pixels between two different slices on any row."""
    gaps = []
    for row in slices:
        lit = np.flatnonzero(row)
        if len(lit) > 1:
            between = np.diff(lit) - 1
            changes = row[lit[1:]] != row[lit[:-1]]
            gaps.extend(between[changes])
    return min(gaps)


def measure(name):
    start = time.perf_counter()
    geometry = mrs.band(name)
    read = time.perf_counter() - start
    start = time.perf_counter()
    pixels = mrs.band_map(name)
    build = time.perf_counter() - start
    y, x = np.nonzero(pixels.slice)
    ids = pixels.slice[y, x]
    widths, steps, errors = [], [], []
    for slice_id in geometry.slices:
        on = ids == slice_id
        per_row = np.count_nonzero(pixels.slice == slice_id, axis=1)
        widths.append(np.median(per_row[per_row > 0]))
        left, _ = geometry.to_sky(x[on] - 0.5, y[on], slice_id)
        right, _ = geometry.to_sky(x[on] + 0.5, y[on], slice_id)
        steps.append(np.abs(right - left))
        back_x, back_y = geometry.to_detector(pixels.alpha[y[on], x[on]], pixels.wavelength[y[on], x[on]], slice_id)
        errors.append(np.hypot(back_x - x[on], back_y - y[on]))
    errors = np.concatenate(errors)
    return (f"{name:4s} {read:6.2f} {build:6.2f} {len(geometry.slices):6d} {min(widths):5.0f}-{max(widths):<3.0f} "
            f"{smallest_gap(pixels.slice):5d} {np.median(np.concatenate(steps)):8.4f} "
            f"{np.median(errors):8.4f} {np.percentile(errors, 99):8.4f} {errors.max():8.3f} {len(x):8d}")


def main():
    lines = ["# MRS flight geometry (instrument.mrs, flt9 files): per band",
             "band  read_s  map_s slices width_px gap_px scale_as  rt_med_px rt_p99_px rt_max_px     lit"]
    lines += [measure(name) for name in mrs.BANDS]
    publish("mrs_geometry", lines)


if __name__ == "__main__":
    main()
