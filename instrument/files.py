"""File conventions both sides follow: JWST product names and atomic writes.

Every product and report is written to a temporary file in its destination folder and
renamed into place, so a reader never sees half a file and a killed run leaves either
the old file or the new one.
"""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path with the same file name (so headers that record the file
    name stay right) in a hidden folder beside ``path``; move it to ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp = tmpdir / path.name
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def save_model(model, path):
    """Save a ``stdatamodels`` model to ``path`` atomically."""
    with atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)


def write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_table_reference(path, reftype, table, *, author, pedigree, description, useafter, header=None):
    """Write a FITS reference of a type CRDS does not have (CRUCIFORM, DISTPOLY, REFCAT)
    atomically: the selection keywords of the imager (INSTRUME MIRI, DETECTOR MIRIMAGE,
    EXP_TYPE MIR_IMAGE, USEAFTER) in the primary header, as calibration's reference
    selection reads them, plus ``header`` cards; ``table`` (astropy) in the extension
    named ``reftype``."""
    from datetime import datetime, timezone

    from astropy.io import fits

    primary = fits.PrimaryHDU()
    h = primary.header
    h["REFTYPE"] = reftype
    h["INSTRUME"] = "MIRI"
    h["DETECTOR"] = "MIRIMAGE"
    h["EXP_TYPE"] = "MIR_IMAGE"
    h["USEAFTER"] = useafter
    h["PEDIGREE"] = pedigree
    h["AUTHOR"] = author
    h["DATE"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    h["DESCRIP"] = description
    for key, value in (header or {}).items():
        h[key] = value
    hdu = fits.table_to_hdu(table)
    hdu.name = reftype
    with atomic_path(path) as tmp:
        fits.HDUList([primary, hdu]).writeto(tmp)
    return Path(path)


def product_stem(uncal_path):
    """``jw..._uncal.fits`` -> ``jw...``: the name every product of that exposure shares."""
    name = Path(uncal_path).name
    for suffix in ("_uncal.fits", ".fits"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem
