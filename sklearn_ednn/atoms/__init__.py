"""Atomic structures as images, for EDNNs that learn energies of atoms.

:func:`render_image` evaluates eq. (2) of Mills et al. (2019),
``V(r) = sum_i Z_i exp(-|r - r_i|^2 / 2 gamma^2)``, on a periodic grid of fixed
physical spacing, so that a larger cell gives a proportionally larger image.
:class:`EDNNCalculator` makes a fitted EDNN on those images an ASE calculator, and
:func:`make_atoms_ednn` is the recommended EDNN to fit on them.
"""

from .._optional import require
from ._lazy import AtomImageStack
from ._recipe import make_atoms_ednn
from ._render import render_image
from ._torch_render import render_image_torch
from ._transformer import AtomImage

__all__ = [
    "AtomImage",
    "AtomImageStack",
    "EDNNCalculator",
    "make_atoms_ednn",
    "render_image",
    "render_image_torch",
]


def __getattr__(name):
    # The calculator needs ase (the ``atoms`` extra); import it on first use
    # so that images work without ase.
    if name == "EDNNCalculator":
        require("ase", extra="atoms", needed_for="EDNNCalculator")
        from ._calculator import EDNNCalculator

        return EDNNCalculator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
