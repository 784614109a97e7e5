"""What every product shares: the software that made it and how it is derived from its source."""
import textwrap
from importlib.metadata import PackageNotFoundError, version

#: A FITS HISTORY card's text: astropy cuts a longer entry every 72 characters, mid-word.
HISTORY_WIDTH = 72


def software_version():
    """The installed miri-testbed version (CAL_VER of the products), or ``unknown``."""
    try:
        return version("miri-testbed")
    except PackageNotFoundError:
        return "unknown"


def derived(model_cls, source, **arrays):
    """A new data model of ``arrays`` with the metadata of ``source``.

    Parameters
    ----------
    model_cls : type
        A stdatamodels class (``ImageModel``, ``CubeModel``, ...).
    source : DataModel
        The model it is made from (the exposure, or the rate for a cal product).
    **arrays
        The new model's arrays (``data``, ``dq``, ``err``, ...).

    Returns
    -------
    DataModel
    """
    product = model_cls(**arrays)
    product.update(source)
    product.meta.calibration_software_name = "miri-testbed"
    product.meta.calibration_software_version = software_version()
    return product


def add_history(product, text, software=None):
    """Add ``text`` to a data model's HISTORY as entries of at most :data:`HISTORY_WIDTH` characters.

    Cut between words (a continuation indented by two spaces), so the FITS header reads as written; the first
    entry carries ``software`` (stdatamodels' ``add_history_entry``).
    """
    lines = textwrap.wrap(text, HISTORY_WIDTH, subsequent_indent="  ", break_on_hyphens=False) or [""]
    product.add_history_entry(lines[0], software=software)
    for line in lines[1:]:
        product.add_history_entry(line)
