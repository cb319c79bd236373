"""What every solver hands back to ``EDNNRegressor.fit`` to store."""

from typing import NamedTuple

import numpy as np

__all__ = ["SolverResult"]


class SolverResult(NamedTuple):
    """The fitted state of one solver run.

    Attributes
    ----------
    tile_model : object
        The fitted skorch net (torch solver) or per-tile scikit-learn model.
    tile_offset : ndarray of shape (n_outputs,)
        Added to every tile's contribution.
    channel_offset : ndarray of shape (n_channels, n_outputs)
        Added per unit of each channel's focus-region total (target units).
    tile_scale : ndarray of shape (n_outputs,)
        Factor applied to the tile model's raw score.
    boosting_history : list of dict or None
        Errors per boosting round; None for the other solvers.
    """

    tile_model: object
    tile_offset: np.ndarray
    channel_offset: np.ndarray
    tile_scale: np.ndarray
    boosting_history: list | None = None
