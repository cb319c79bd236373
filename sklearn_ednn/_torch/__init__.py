"""The torch side of sklearn-ednn: an EDNN module trained by skorch.

* ``_module``: :class:`EDNNModule` tiles a batch of grids, scores every tile
  with the tile network and sums per grid; ``TorchTileScorer`` scores numpy
  tiles at predict time.
* ``_batch``: the one batch schema (grids, sample weights, force targets).
* ``_solver``: :func:`fit_torch`, the solver behind ``EDNNRegressor.fit``
  (offsets, target scale, warm start, the batch, the loss).
* ``_net``: the configured skorch net (:func:`make_tile_net`) and warm starts.
* ``_losses`` and ``_force_loss``: weighted losses on the sums, and the force loss.
* ``_nets``: ready tile networks; ``_fcn``: the fully convolutional one.
* ``_callbacks`` and ``_augmentation``: skorch callbacks and the periodic
  augmentation, public through
  :mod:`sklearn_ednn.callbacks` and :mod:`sklearn_ednn.augmentation`.

Nothing of the classical (scikit-learn) side imports from here.
"""

from ._fcn import TileFCN
from ._module import EDNNModule, TorchTileScorer
from ._net import is_skorch_net, is_torch_module, make_tile_net
from ._nets import TileCNN, TileMLP
from ._solver import fit_torch

__all__ = [
    "EDNNModule",
    "TileCNN",
    "TileFCN",
    "TileMLP",
    "TorchTileScorer",
    "fit_torch",
    "is_skorch_net",
    "is_torch_module",
    "make_tile_net",
]
