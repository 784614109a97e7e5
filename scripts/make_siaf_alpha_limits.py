"""Write the MRS slices' along-slice extents from the SIAF (``instrument/data/mrs/siaf_alpha_limits.json``).

:func:`instrument.mrs.siaf_alpha_limits` reads this table instead of measuring it in every process
(the flight files' and the SIAF's parse, ~1 s a band pair).  Rerun this whenever the flight geometry
files or pysiaf's MIRI SIAF change (``tests/test_mrs_geometry.py`` checks they agree bit for bit):

    python scripts/make_siaf_alpha_limits.py
"""
import json
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from miri_testbed.instrument import mrs  # noqa: E402
from miri_testbed.instrument.files import atomic_path  # noqa: E402


def main():
    about = ("per band, each slice's (alpha_lo, alpha_hi), arcsec, in slice order: instrument.mrs."
             "measure_siaf_alpha_limits (pysiaf's MIRIFU_<band>SLICE<nn> apertures through the band's flight "
             "(alpha, beta) <- (V2, V3)); written by scripts/make_siaf_alpha_limits.py")
    # a band a line; json writes a float's repr, which reads back to the same float
    bands = ",\n".join(f"  {json.dumps(name)}: {json.dumps(mrs.measure_siaf_alpha_limits(name))}" for name in mrs.BANDS)
    path = ROOT / "instrument" / "data" / "mrs" / mrs.SIAF_ALPHA_LIMITS_FILE
    with atomic_path(path) as tmp:
        Path(tmp).write_text(f'{{\n "about": {json.dumps(about)},\n "pysiaf": {json.dumps(version("pysiaf"))},\n'
                             f' "limits": {{\n{bands}\n }}\n}}\n')
    print(path)


if __name__ == "__main__":
    main()
