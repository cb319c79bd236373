"""The classical solvers behind ``EDNNRegressor.fit``: linear or boosting."""

import numpy as np

from .._solver_result import SolverResult
from .._tiling import pad_grid, window_view
from ._boosting import fit_boosting
from ._linear import fit_linear

__all__ = ["fit_classical", "flat_tiles"]


def flat_tiles(X_ch, focus, context, padding):
    """All tiles of channel-last grids as feature rows.

    Returns
    -------
    tiles : ndarray of shape (n_samples, n_tiles, n_channels * prod(tile_shape))
        Tiles flattened in ``(channel, w1, ..., wd)`` order, the layout the
        scorers feed to the tile model at predict time.
    """
    views = window_view(pad_grid(X_ch, focus, context, padding), focus, context)
    n_spatial = len(focus)
    tiles = np.array(views, dtype=np.float64)
    return tiles.reshape(X_ch.shape[0], -1, int(np.prod(views.shape[1 + n_spatial :])))


def fit_classical(
    estimator,
    grids,
    y,
    *,
    solver,
    focus,
    context,
    padding,
    sample_weight=None,
    boosting=None,
):
    """Fit a scikit-learn tile model on the summed loss.

    Parameters
    ----------
    estimator : estimator
        The unfitted tile model.
    grids : ndarray of shape (n_samples, L1, ..., Ld, n_channels)
        Channel-last training grids.
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Extensive targets.
    solver : {"linear", "boosting"}
        The solver (see ``EDNNRegressor.solver``).
    focus, context : tuple of int
        Focus and context per spatial axis.
    padding : {"wrap", "zeros"}
        Padding mode.
    sample_weight : ndarray of shape (n_samples,), default=None
        Checked weights.
    boosting : dict, default=None
        Keywords of :func:`fit_boosting` (rounds, rate, validation, seed,
        verbosity).

    Returns
    -------
    result : SolverResult
        The per-tile model, zero offsets and unit scale (the model fits its
        own offset), and the boosting history.
    """
    y_2d = y.reshape(len(y), -1)
    n_channels, n_outputs = grids.shape[-1], y_2d.shape[1]
    tiles = flat_tiles(grids, focus, context, padding)
    history = None
    if solver == "linear":
        tile_model = fit_linear(estimator, tiles, y, sample_weight)
    else:
        tile_model, history = fit_boosting(
            estimator, tiles, y_2d, sample_weight=sample_weight, **(boosting or {})
        )
    return SolverResult(
        tile_model,
        tile_offset=np.zeros(n_outputs),
        channel_offset=np.zeros((n_channels, n_outputs)),
        tile_scale=np.ones(n_outputs),
        boosting_history=history,
    )
