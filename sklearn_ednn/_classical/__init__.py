"""The classical side: any scikit-learn regressor as the tile model, no torch.

Two solvers, both minimising the squared error of the *sum* over tiles: the
linear solver (``_linear``), exact for models linear in their parameters, and
summed-loss boosting (``_boosting``) for any other regressor.
:func:`fit_classical` dispatches to them; ``SklearnTileScorer`` scores tiles
with the fitted per-tile model at predict time.
"""

from ._boosting import BoostedTileModel
from ._linear import is_linear_in_parameters
from ._scorer import SklearnTileScorer
from ._solver import fit_classical, flat_tiles

__all__ = [
    "BoostedTileModel",
    "SklearnTileScorer",
    "fit_classical",
    "flat_tiles",
    "is_linear_in_parameters",
]
