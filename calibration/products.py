"""What every product shares: the software that made it and how it is derived from its source."""
from importlib.metadata import PackageNotFoundError, version


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
