"""Optional dependencies: import them where needed, or say which extra to install."""

import importlib

__all__ = ["require"]


def require(module, *, extra, needed_for):
    """Import ``module``, or raise an ImportError that names the extra to install.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"matscipy.calculators.manybody"``.
    extra : str
        The package extra that provides it, e.g. ``"atoms"``.
    needed_for : str
        What needs it, for the message, e.g. ``"tersoff_bcn"``.

    Returns
    -------
    module : module
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        package = module.partition(".")[0]
        raise ImportError(
            f"{needed_for} needs {package}, which is not installed. Install the "
            f"{extra!r} extra: pip install 'sklearn-ednn[{extra}]'."
        ) from error
