"""The MRS flux calibration over the throughput decay (issue 16: "flux within 1 % in all 12 bands over 3 years").

For each of the six detector settings (all 12 bands) and each epoch (0.25, 1, 2 and 3 years
after t0), one noise-free FULL exposure (3 groups, every detector effect off, the throughput
decay on, the 3 km/s / 3 mas geometry perturbation) of a flat 10 mJy point source at the
target, its rate taken exactly from the ramp.  spec2 runs twice on it, with the perfect
references (true geometry, perfect PHOTOM) and with the same geometry but a measured PHOTOM
(:mod:`simulator.mrs_photom`: SCI to 0.3 % + 0.3 % smooth per band, the power law fitted to a
simulated monitoring programme), so their ratio is the measured PHOTOM's error alone.
Per band and epoch:

* T: the true throughput left at the band's middle (:mod:`simulator.mrs_throughput`);
* perfect: median over the good planes of x1d (Jy) / the truth's 10 mJy: 1 up to the
  aperture correction's error (the perfect APCORR since e1001ca; the Airy correction's
  0.91-0.94 in the 2026-12-03 record, which predates it), the same at every epoch if the
  PHOTOM takes the decay out;
* measured/perfect: the median and the worst plane's |ratio - 1| (the measured PHOTOM's error).

    python benchmarks/mrs_photom.py [--record]
"""
import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels as dm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from miri_testbed.calibration import mrs_spec2, registry  # noqa: E402
from miri_testbed.calibration.detector1 import Detector1  # noqa: E402
from miri_testbed.calibration.inputs import open_uncal  # noqa: E402
from miri_testbed.calibration.products import derived  # noqa: E402
from miri_testbed.calibration.steps import StepLog  # noqa: E402
from miri_testbed.instrument import mrs  # noqa: E402
from miri_testbed.instrument.optics import T0_MJD  # noqa: E402
from miri_testbed.simulator import (  # noqa: E402
    Effects,
    MrsEffects,
    MrsObservation,
    OpticsEffects,
    ReferenceOptions,
    Scene,
    SpectralSource,
    mrs_photom,
    mrs_throughput,
    simulate,
)
from miri_testbed.simulator import mrs as smrs  # noqa: E402
from miri_testbed.simulator.sky import mid_time_mjd  # noqa: E402
from miri_testbed.simulator.truth import read_truth  # noqa: E402

from imager_common import publish  # noqa: E402

SETTINGS = [(d, s) for d in ("MIRIFUSHORT", "MIRIFULONG") for s in ("SHORT", "MEDIUM", "LONG")]
EPOCH_YEARS = (0.25, 1.0, 2.0, 3.0)
FLUX_MJY = 10.0
EFFECTS = replace(Effects.noise_free(), optics=OpticsEffects(throughput_decay=True, pointing_error=False,
                                                             distortion=False),
                  mrs=MrsEffects(geometry_perturbation=True))


def spectra(exposure, d1, refs, algorithms=None):
    x1d = mrs_spec2.run(StepLog(), exposure, d1, refs, registry.resolve(algorithms))["x1d"]
    out = {}
    for spec in x1d.spec:
        table = np.array(spec.spec_table)
        assert spec.spec_table.columns["flux"].unit == "Jy"
        good = table["DQ"] == 0
        out[spec.name] = table["FLUX"][good] / (FLUX_MJY * 1e-3)
    return out


def exact_rate(sim):
    """The simulated exposure and a detector1 result of its noise-free ramp's exact rate (last - first group)."""
    exposure = open_uncal(sim["uncal"])
    data = np.asarray(exposure.data[0], float)
    rate = (data[-1] - data[0]) / ((data.shape[0] - 1) * exposure.meta.exposure.group_time)
    return exposure, Detector1(rate, np.abs(rate) / 100, np.zeros_like(rate), np.zeros(rate.shape, np.uint32), None,
                               derived(dm.ImageModel, exposure, data=rate.astype(np.float32)), None)


def measured_photom(sim, observation, seed):
    """The exposure's measured PHOTOM on the true geometry (the truth's perturbation and gain)."""
    truth = read_truth(sim["truth"])
    perturbations = smrs.perturbations_from_table(truth.table("PERTURBATION", observation.detector))
    with dm.GainModel(str(next(Path(sim["refs"]).glob("*gain*")))) as model:
        gain = np.array(model.data, float)
    bands = [(pixels, smrs.render_background(pixels, 1.0)) for pixels in
             (smrs.TruePixels(smrs.flight_pixels(name), perturbations[name]) for name in observation.bands)]
    return mrs_photom.photom_model(bands, gain, ReferenceOptions(), EFFECTS, mid_time_mjd(observation),
                                   np.random.default_rng(seed))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_photom.txt")
    args = parser.parse_args()
    lines = ["band epoch_yr      T  perfect  meas/perf  worst_plane   (x1d Jy / truth; measured PHOTOM / perfect)"]
    rows, start = [], time.perf_counter()
    for n, (detector, setting) in enumerate(SETTINGS):
        for years in EPOCH_YEARS:
            observation = MrsObservation(detector=detector, band=setting, ngroups=3, epoch_mjd=T0_MJD + years * 365)
            with tempfile.TemporaryDirectory() as folder:
                folder = Path(folder)
                sim = simulate(Scene((SpectralSource({"continuum": {"kind": "flat", "flux_mjy": FLUX_MJY}}, 0.0,
                                                     0.0),)),
                               observation, folder / "perfect", seed=11 + n, effects=EFFECTS,
                               references=ReferenceOptions(kind="perfect"))
                exposure, d1 = exact_rate(sim)
                perfect = spectra(exposure, d1, sim["refs"])
                photom = next(Path(sim["refs"]).glob("*photom*"))
                measured_model = measured_photom(sim, observation, seed=100 + n)  # one measurement per setting
                measured_model.update(dm.open(str(photom)), only="PRIMARY")
                measured_model.save(str(photom))
                measured = spectra(exposure, d1, sim["refs"])
            for band in observation.bands:
                t = float(mrs_throughput.relative_throughput(np.mean(mrs.band(band).wavelength_range),
                                                             mid_time_mjd(observation)))
                ratio = measured[band] / perfect[band]
                rows.append((band, years, t, np.median(perfect[band]), np.median(ratio),
                             np.max(np.abs(ratio - 1))))
        print(f"{detector} {setting} done, {time.perf_counter() - start:.0f} s", flush=True)
    for band, years, t, level, ratio, worst in sorted(rows):
        lines.append(f"{band:4s} {years:8.2f} {t:6.3f} {level:8.4f} {ratio:10.5f} {worst:12.5f}")
    worst_median = max(abs(r[4] - 1) for r in rows)
    spread = max(np.ptp([r[3] for r in rows if r[0] == b]) for b in {r[0] for r in rows})
    lines.append(f"largest |median measured/perfect - 1| over 12 bands x {len(EPOCH_YEARS)} epochs: "
                 f"{worst_median:.4f}; largest spread of the perfect level over the epochs in a band: {spread:.5f}")
    if args.record:
        publish("mrs_photom", lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
