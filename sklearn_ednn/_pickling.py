"""Loading objects pickled by earlier versions of the package."""

import inspect

__all__ = ["fill_missing_parameters"]


def fill_missing_parameters(cls, state):
    """Give ``state`` the defaults of the parameters it was pickled without.

    A model saved before a parameter of ``cls.__init__`` existed has no
    attribute for it; its default reproduces the old behaviour, and
    ``get_params`` (and the code that reads the parameter) would fail without
    it. ``state`` is changed in place and returned.
    """
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if parameter.default is not parameter.empty:
            state.setdefault(name, parameter.default)
    return state
