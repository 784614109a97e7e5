"""Write the SIAF tables the MRS reads: the slices' along-slice extents and the MRS apertures' frames.

``instrument/data/mrs/siaf_alpha_limits.json``: :func:`instrument.mrs.siaf_alpha_limits` reads it instead of
measuring it in every process (the flight files' and the SIAF's parse, ~1 s a band pair);
``instrument/data/mrs/siaf_mrs_apertures.json``: :func:`instrument.mrs.idl_to_tel` reads it instead of
pysiaf (its import and parse, ~1.6 s CPU in every MRS spec3 process).  Rerun this whenever the flight
geometry files or pysiaf's MIRI SIAF change (``tests/test_mrs_geometry.py`` checks they agree bit for bit):

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


def write(name, about, key, rows):
    """``{"about", "pysiaf", key: {row name: value}}``, a row a line (json writes a float's repr, read back exactly)."""
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in rows.items())
    path = ROOT / "instrument" / "data" / "mrs" / name
    with atomic_path(path) as tmp:
        Path(tmp).write_text(f'{{\n "about": {json.dumps(about)},\n "pysiaf": {json.dumps(version("pysiaf"))},\n'
                             f' "{key}": {{\n{body}\n }}\n}}\n')
    print(path)


def main():
    write(mrs.SIAF_ALPHA_LIMITS_FILE,
          "per band, each slice's (alpha_lo, alpha_hi), arcsec, in slice order: instrument.mrs."
          "measure_siaf_alpha_limits (pysiaf's MIRIFU_<band>SLICE<nn> apertures through the band's flight "
          "(alpha, beta) <- (V2, V3)); written by scripts/make_siaf_alpha_limits.py",
          "limits", {name: mrs.measure_siaf_alpha_limits(name) for name in mrs.BANDS})
    write(mrs.MRS_APERTURES_FILE,
          "per MRS aperture, (V2Ref, V3Ref, V3IdlYAngle, VIdlParity) (arcsec, arcsec, deg, +-1): instrument.mrs."
          "measure_mrs_apertures (pysiaf's MIRI SIAF), for instrument.mrs.idl_to_tel; written by "
          "scripts/make_siaf_alpha_limits.py", "apertures", mrs.measure_mrs_apertures())


if __name__ == "__main__":
    main()
