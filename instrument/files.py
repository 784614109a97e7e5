"""File conventions both sides follow: JWST product names, atomic writes, whole FITS files.

Every product and report is written to a temporary file in its destination folder and
renamed into place, so a reader never sees half a file and a killed run leaves either
the old file or the new one.  A file cut short elsewhere (a copy interrupted) is refused by
name by every reader (:func:`fits_cut_short`).
"""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` and move it to ``path`` on success.

    The temporary file has the same file name (so headers that record the file name stay
    right) in a hidden folder in ``path``'s folder, which is removed in any case.

    Parameters
    ----------
    path : path-like
        Final destination; its folder is created if needed.

    Yields
    ------
    pathlib.Path
        Where to write; renamed to ``path`` when the ``with`` block ends without error.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp = tmpdir / path.name
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


#: A FITS file is made of 2880-byte blocks (FITS standard 4.0, section 3.1).
FITS_BLOCK_BYTES = 2880


def fits_cut_short(hdul, path):
    """Why the open FITS file ``hdul`` (read from ``path``) is not whole, or None when it is.

    astropy reads a file cut inside an extension as one with fewer extensions and only warns; a whole
    file ends where its last extension's data, padded to whole blocks, does.
    """
    last = hdul.fileinfo(len(hdul) - 1)["datLoc"] + -(-hdul[-1].size // FITS_BLOCK_BYTES) * FITS_BLOCK_BYTES
    size = Path(path).stat().st_size
    if last == size:
        return None
    return f"its last whole extension, {hdul[-1].name}, ends at byte {last}, the file has {size}"


def save_model(model, path):
    """Save a ``stdatamodels`` model to ``path`` atomically.

    Parameters
    ----------
    model : stdatamodels.DataModel
        The model to save.
    path : path-like
        Destination file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)


def write_text(path, text):
    """Write ``text`` to ``path`` atomically, UTF-8 encoded.

    Parameters
    ----------
    path : path-like
        Destination file.
    text : str
        Content.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _primary_hdu(reftype, selection, provenance, description, header, data=None):
    """The primary HDU of a reference file with the cards of :func:`instrument.refmeta.header_cards`."""
    from astropy.io import fits

    from .refmeta import header_cards

    primary = fits.PrimaryHDU(data)
    for key, value in {**header_cards(reftype, selection, provenance, description), **(header or {})}.items():
        primary.header[key] = value
    return primary


def write_table_reference(path, reftype, table, *, selection, provenance, description, header=None):
    """Write a FITS table reference of a type CRDS does not have, atomically.

    The types are CRUCIFORM, DISTPOLY and REFCAT; the primary header carries the
    selectors and provenance of :func:`instrument.refmeta.header_cards`.

    Parameters
    ----------
    path : path-like
        Destination file.
    reftype : str
        REFTYPE, also the name of the table extension.
    table : astropy.table.Table
        The reference's content.
    selection : instrument.refmeta.Selection
        The exposures it serves (its selectors go into the primary header).
    provenance : instrument.refmeta.Provenance
        AUTHOR, PEDIGREE, USEAFTER.
    description : str
        DESCRIP.
    header : dict, optional
        More primary-header cards.

    Returns
    -------
    pathlib.Path
    """
    from astropy.io import fits

    hdu = fits.table_to_hdu(table)
    hdu.name = reftype
    with atomic_path(path) as tmp:
        fits.HDUList([_primary_hdu(reftype, selection, provenance, description, header), hdu]).writeto(tmp)
    return Path(path)


def write_image_reference(path, reftype, data, *, selection, provenance, description, header=None):
    """Write a FITS reference whose content is the primary array, of a type CRDS does not have, atomically.

    The type is PSFGRID (the STPSF/WebbPSF PSF-grid layout); the primary header carries
    the selectors and provenance of :func:`instrument.refmeta.header_cards`.

    Parameters
    ----------
    path : path-like
        Destination file.
    reftype : str
        REFTYPE.
    data : numpy.ndarray
        The primary array.
    selection, provenance, description, header
        As :func:`write_table_reference`.

    Returns
    -------
    pathlib.Path
    """
    with atomic_path(path) as tmp:
        _primary_hdu(reftype, selection, provenance, description, header, data).writeto(tmp)
    return Path(path)


def product_stem(uncal_path):
    """Name every product of an exposure shares: ``jw..._uncal.fits`` -> ``jw...``.

    Parameters
    ----------
    uncal_path : path-like
        The exposure's file.

    Returns
    -------
    str
        The file name without ``_uncal.fits`` (or ``.fits``, or else its extension).
    """
    name = Path(uncal_path).name
    for suffix in ("_uncal.fits", ".fits"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem
