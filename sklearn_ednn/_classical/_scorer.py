"""Scoring numpy tiles with a fitted per-tile scikit-learn model."""

import numpy as np

__all__ = ["SklearnTileScorer"]


class SklearnTileScorer:
    """Score flat batches of tiles with a fitted per-tile scikit-learn model.

    Parameters
    ----------
    tile_model : estimator
        Has ``predict`` on rows of flattened tiles.
    """

    def __init__(self, tile_model):
        self.tile_model = tile_model

    def __call__(self, tiles):
        """Contributions of ``tiles`` (n_tiles, n_channels, *tile), (n_tiles, k)."""
        rows = np.asarray(tiles, dtype=np.float64).reshape(len(tiles), -1)
        out = np.asarray(self.tile_model.predict(rows), dtype=np.float64)
        return out.reshape(len(tiles), -1)
