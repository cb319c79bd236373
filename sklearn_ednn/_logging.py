"""The package's loggers, and a handler for ``verbose`` output.

Library messages go through :mod:`logging` under ``sklearn_ednn``. An
estimator with ``verbose > 0`` asks for :func:`verbose_logger`, which, when
the application has configured no logging at all, adds one handler that
prints INFO messages to standard output, so that ``verbose=1`` shows its
progress as scikit-learn's estimators do; an application that configures
logging decides for itself.
"""

import logging
import sys

__all__ = ["verbose_logger"]

_PACKAGE = "sklearn_ednn"


def verbose_logger(name):
    """The logger ``name``, made to show INFO messages if nothing else does.

    Parameters
    ----------
    name : str
        A module's ``__name__`` inside the package.

    Returns
    -------
    logger : logging.Logger
    """
    package = logging.getLogger(_PACKAGE)
    if not package.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        package.addHandler(handler)
        if package.level == logging.NOTSET:
            package.setLevel(logging.INFO)
    return logging.getLogger(name)
