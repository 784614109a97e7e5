"""Write the saturation level and linearity of the built-in nominal reference folder.

The calibration package may not import the simulator (``../shared/DESIGN.md``), so the
nominal SATURATION level and LINEARITY polynomial, measured from simulated flat ramps of
the nominal detector (documented gain, full well, nonlinearity and bias; no pixel-to-pixel
scatter) as a ground programme measures them (:mod:`simulator.flat_ramps`), are shipped
as a table in ``calibration/data``.  Rerun this whenever the detector model changes
(``tests/test_references.py`` checks they agree):

    python scripts/make_nominal_detector.py
"""
import sys
from pathlib import Path

import numpy as np
from astropy.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from miri_testbed.instrument.files import atomic_path  # noqa: E402
from miri_testbed.simulator.flat_ramps import nominal_measurement  # noqa: E402

TABLE = ROOT / "calibration" / "data" / "detector_nominal.ecsv"


def main():
    saturation_dn, bias_dn, poly = nominal_measurement()
    table = Table([np.arange(poly.size), poly], names=("power", "coefficient"))
    table.meta["saturation_dn"] = round(saturation_dn, 2)
    table.meta["bias_dn"] = round(bias_dn, 2)
    table.meta["comments"] = [
        "Nominal MIRI detector: SATURATION level (raw DN, bias included), the measured pedestal and the LINEARITY",
        "polynomial h(u) = sum coefficient u^power of bias-subtracted raw DN, measured from simulated FULL-frame",
        "flat ramps of the nominal detector by scripts/make_nominal_detector.py (simulator.flat_ramps)"]
    with atomic_path(TABLE) as tmp:
        table.write(tmp, format="ascii.ecsv")
    print(TABLE)


if __name__ == "__main__":
    main()
