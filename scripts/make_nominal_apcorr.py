"""Write the aperture corrections of the built-in nominal reference folder.

The calibration package may not import the simulator (``../shared/DESIGN.md``), so the
nominal APCORR rows, measured on this testbed's diffraction PSF like a CRDS APCORR file
is measured on a PSF model, are shipped as a table in ``calibration/data``.  Rerun this
whenever the PSF model changes (``tests/test_references.py`` checks they agree):

    python scripts/make_nominal_apcorr.py
"""
import sys
from pathlib import Path

import numpy as np
from astropy.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from miri_testbed.instrument import imager  # noqa: E402
from miri_testbed.instrument.files import atomic_path  # noqa: E402
from miri_testbed.simulator.imager_references import aperture_corrections  # noqa: E402

TABLE = ROOT / "calibration" / "data" / "apcorr_nominal.ecsv"


def main():
    rows = [(name, "GENERIC", *row) for name in imager.FILTERS for row in aperture_corrections(name)]
    table = Table(rows=rows, names=("filter", "subarray", "eefraction", "radius", "apcorr", "skyin", "skyout"))
    for col in table.colnames[2:]:
        table[col] = np.asarray(table[col], np.float64).round(6)
    table.meta["comments"] = ["Nominal MIRI imager aperture corrections, measured on the miri-testbed diffraction PSF",
                              "by scripts/make_nominal_apcorr.py (sky annulus max(6 FWHM, 20 px) to 1.5x)"]
    with atomic_path(TABLE) as tmp:
        table.write(tmp, format="ascii.ecsv")
    print(TABLE)


if __name__ == "__main__":
    main()
