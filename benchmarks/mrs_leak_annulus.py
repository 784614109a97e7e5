"""Where the ``cube`` leak correction's floor comes from: the aperture against the background annulus (issue 17).

The noise-free hot point source (10^4 K, 50 mJy at 12.2 um, perfect references, seed 1) in band 1B and in band 3A
with the leak on, and 3A with it off; 3A calibrated with ``spectral_leak=cube`` and ``spectrum`` (which leaves the
cube as it is).  In the 3A cubes, summed over the 31 planes about the leak's peak: the leak present (``spectrum``'s
cube less the leak-free one), the leak left (``cube``'s less the leak-free one), and what ``mrs_extract``'s
``annulus`` variant makes of the leak left: its sum in the aperture (3 lambda/D) less the annulus's (4.5-6 lambda/D)
mean times the aperture's area, as a share of the same for the leak present.  The annulus lies mostly beyond 1B's
field, where the correction left the leak as it was until session 24; it now continues the 1B image there as its
ring means about the source (calibration.spectral_leak.RingMeans), and "left uncorrected" counts what no ring reaches.

    python benchmarks/mrs_leak_annulus.py [--record]
"""
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import mrs_extract  # noqa: E402
from miri_testbed.calibration.pipeline import calibrate  # noqa: E402
from miri_testbed.simulator import Effects, MrsObservation, ReferenceOptions, Scene, SpectralSource, simulate  # noqa: E402

from imager_common import publish  # noqa: E402

HOT = {"continuum": {"kind": "blackbody", "temperature_k": 10000.0, "flux_mjy": 50.0, "ref_um": 12.2}}
OBS_1B = MrsObservation(detector="MIRIFUSHORT", band="MEDIUM", ngroups=3)
OBS_3A = MrsObservation(detector="MIRIFULONG", band="SHORT", ngroups=3)


def cube_3a(paths):
    with dm.open(str(next(p for p in paths if "ch3-short" in str(p)))) as model:
        return np.asarray(model.data, float), float(model.meta.wcsinfo.cdelt1)  # arcsec (alpha)


def main():
    base, perfect, scene = Effects.noise_free(), ReferenceOptions(kind="perfect"), Scene((SpectralSource(HOT),))
    on = replace(base, mrs=replace(base.mrs, spectral_leak=True))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        b1, a3, off = (simulate(scene, obs, folder / sub, name=name, seed=1, effects=effects, references=perfect)
                       for name, obs, sub, effects in (("b1", OBS_1B, "on", on), ("a3", OBS_3A, "on", on),
                                                       ("a3off", OBS_3A, "off", base)))
        products_1b = calibrate(b1["uncal"], folder / "cal", b1["refs"])
        leak_from = [products_1b["s3d"][0], products_1b["x1d"]]
        cubes = {"off": cube_3a(calibrate(off["uncal"], folder / "off", off["refs"])["s3d"])[0]}
        for variant in ("cube", "spectrum"):
            cubes[variant], step = cube_3a(calibrate(a3["uncal"], folder / variant, a3["refs"],
                                                     {"spectral_leak": variant}, leak_from=leak_from)["s3d"])
    present, left = cubes["spectrum"] - cubes["off"], cubes["cube"] - cubes["off"]
    peak = int(np.nanargmax(np.nansum(np.nan_to_num(present), axis=(1, 2))))
    present, left = (np.nan_to_num(c[peak - 15:peak + 16]).sum(axis=0) for c in (present, left))
    corrected = np.abs(np.nan_to_num((cubes["spectrum"] - cubes["cube"])[peak])) > 0  # 1B's field and rings
    y, x = np.indices(present.shape)
    yc, xc = np.unravel_index(np.nanargmax(np.nan_to_num(cubes["off"][peak])), present.shape)
    radius = np.hypot(y - yc, x - xc) * step / float(mrs_extract.lambda_over_d(12.2))
    aperture = radius <= mrs_extract.APERTURE_LD
    annulus = (radius >= mrs_extract.ANNULUS_LD[0]) & (radius <= mrs_extract.ANNULUS_LD[1])
    net = {k: (v[aperture].sum(), v[annulus].mean() * aperture.sum()) for k, v in (("present", present),
                                                                                    ("left", left))}
    whole = net["present"][0] - net["present"][1]
    out = [f"annulus spaxels {annulus.sum()}, of them left uncorrected {np.sum(annulus & ~corrected)}; "
           f"aperture spaxels {aperture.sum()}, left uncorrected {np.sum(aperture & ~corrected)}",
           "leak left, as a share of the leak present through the extraction (aperture less annulus):",
           f"  in the aperture              {net['left'][0] / whole:+.5f}",
           f"  the annulus's, subtracted    {-net['left'][1] / whole:+.5f}",
           f"  net (the x1d's)              {(net['left'][0] - net['left'][1]) / whole:+.5f}"]
    publish("mrs_leak_annulus", out)


if __name__ == "__main__":
    main()
