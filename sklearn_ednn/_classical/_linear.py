"""The linear solver: a model linear in its parameters, fitted exactly on sums.

A model linear in its parameters, ``g(t) = w . phi(t) + b``, has ``sum_t g(t) =
w . sum_t phi(t) + n_tiles b``. It is fitted exactly on the per-sample sums of
the tile features ``phi`` (the unsupervised steps of a pipeline, fitted on
tiles); its intercept is then divided by the number of training tiles, so the
per-tile model carries an extensive offset.
"""

import copy

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from .._sklearn_compat import BaseSGDRegressor, LinearModel
from ._weights import sample_weight_fit_params

__all__ = ["fit_linear", "is_linear_in_parameters"]


def is_linear_in_parameters(estimator):
    """Whether ``estimator`` (or a pipeline's last step) is linear in its parameters.

    Parameters
    ----------
    estimator : estimator
        A scikit-learn regressor or a :class:`~sklearn.pipeline.Pipeline` whose
        earlier steps are transformers.

    Returns
    -------
    linear : bool
        True for linear models (``LinearRegression``, ``Ridge``, ``Lasso``,
        ``SGDRegressor``, ...), alone or at the end of such a pipeline.
    """
    if isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return isinstance(estimator, (LinearModel, BaseSGDRegressor))


def _split_pipeline(estimator):
    """(feature map or None, final linear model) of a fresh clone."""
    estimator = clone(estimator)
    if isinstance(estimator, Pipeline):
        if len(estimator.steps) == 1:
            return None, estimator.steps[-1][1]
        return Pipeline(estimator.steps[:-1]), estimator.steps[-1][1]
    return None, estimator


def _summed_features(feature_map, tiles, batch_size=4096):
    """Per-sample sums of ``feature_map.transform`` over tiles, in bounded batches."""
    n_samples, n_tiles, n_raw = tiles.shape
    if feature_map is None:
        return tiles.sum(axis=1)
    per_batch = max(1, batch_size // n_tiles)
    sums = []
    for start in range(0, n_samples, per_batch):
        chunk = tiles[start : start + per_batch]
        features = feature_map.transform(chunk.reshape(-1, n_raw))
        features = np.asarray(
            features.todense() if hasattr(features, "todense") else features
        )
        sums.append(features.reshape(len(chunk), n_tiles, -1).sum(axis=1))
    return np.concatenate(sums)


def fit_linear(estimator, tiles, y, sample_weight=None):
    """Fit a model linear in its parameters on summed tile features.

    Parameters
    ----------
    estimator : estimator
        Linear model, or pipeline of transformers ending in one.
    tiles : ndarray of shape (n_samples, n_tiles, n_features)
        Flattened tiles (:func:`flat_tiles`).
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Extensive targets.
    sample_weight : ndarray of shape (n_samples,), default=None
        Weights of the samples, passed to the linear model's ``fit``; the
        feature map is fitted on the tiles unweighted.

    Returns
    -------
    tile_model : estimator
        Fitted per-tile model: the feature map and the linear model with its
        intercept divided by ``n_tiles``. Its ``predict`` on flattened tiles
        gives each tile's contribution.
    """
    feature_map, linear = _split_pipeline(estimator)
    fit_params = sample_weight_fit_params(linear, sample_weight)
    n_tiles = tiles.shape[1]
    if feature_map is not None:
        feature_map.fit(tiles.reshape(-1, tiles.shape[-1]))
    linear.fit(_summed_features(feature_map, tiles), y, **fit_params)
    # The sum of n_tiles per-tile intercepts is the fitted per-sample intercept.
    tile_linear = copy.deepcopy(linear)
    tile_linear.intercept_ = np.asarray(linear.intercept_, dtype=float) / n_tiles
    if np.ndim(linear.intercept_) == 0:
        tile_linear.intercept_ = float(tile_linear.intercept_)
    if feature_map is None:
        return tile_linear
    return Pipeline(feature_map.steps + [("linear", tile_linear)])
