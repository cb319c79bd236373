"""Atomic structures as images, for EDNNs that learn energies of atoms.

:func:`render_image` evaluates eq. (2) of Mills et al. (2019),
``V(r) = sum_i Z_i exp(-|r - r_i|^2 / 2 gamma^2)``, on a periodic grid of fixed
physical spacing, so that a larger cell gives a proportionally larger image.
"""

from ._render import render_image
from ._torch_render import render_image_torch
from ._transformer import AtomImage

__all__ = ["AtomImage", "render_image", "render_image_torch"]
