"""Classical scikit-learn regressors as EDNN tile models.

Two solvers, both minimising the squared error of the *sum* over tiles:

* ``"linear"``: a model linear in its parameters, ``g(t) = w . phi(t) + b``, has
  ``sum_t g(t) = w . sum_t phi(t) + n_tiles b``. It is fitted exactly on the
  per-sample sums of the tile features ``phi`` (the unsupervised steps of a
  pipeline, fitted on tiles); its intercept is then divided by the number of
  training tiles, so the per-tile model carries an extensive offset.
* ``"boosting"``: any other regressor, trained by functional gradient descent on
  the summed loss. Round 0 fits ``y / n_tiles`` on every tile; each further round
  fits a clone to the per-sample residual spread over that sample's tiles, takes
  the optimal step along its summed predictions (line search) and shrinks it.
"""

import copy

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

from ._sample_weight import sample_weight_fit_params
from ._sklearn_compat import BaseSGDRegressor, LinearModel
from ._tiling import pad_grid, window_view

__all__ = [
    "BoostedTileModel",
    "SklearnTileScorer",
    "fit_boosting",
    "fit_linear",
    "is_linear_in_parameters",
]


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


class BoostedTileModel:
    """Per-tile model of summed-loss boosting: a weighted sum of fitted rounds.

    Parameters
    ----------
    estimators : list of estimator
        Fitted clones, one per round (round 0 first).
    weights : list of ndarray of shape (n_outputs,)
        Step of each round: shrinkage times line-search step.
    """

    def __init__(self, estimators, weights):
        self.estimators = estimators
        self.weights = weights

    def predict(self, tiles):
        """Contribution of each tile, shape (n_tiles,) or (n_tiles, n_outputs)."""
        total = 0.0
        for estimator, weight in zip(self.estimators, self.weights):
            prediction = estimator.predict(tiles)
            total = total + prediction * (weight if prediction.ndim > 1 else weight[0])
        return total


def _per_sample_sums(estimator, tiles):
    """Sum over each sample's tiles of ``estimator.predict``, shape (n, n_outputs)."""
    n_samples, n_tiles, n_raw = tiles.shape
    prediction = estimator.predict(tiles.reshape(-1, n_raw))
    return prediction.reshape(n_samples, n_tiles, -1).sum(axis=1)


def _fit_round(estimator, tiles, target_per_tile, random_state, sample_weight=None):
    """Fit a clone of ``estimator`` to one target per tile.

    Each tile gets its sample's weight, if any.
    """
    n_samples, n_tiles, n_raw = tiles.shape
    model = clone(estimator)
    if "random_state" in model.get_params():
        model.set_params(random_state=random_state.randint(np.iinfo(np.int32).max))
    target = np.repeat(target_per_tile, n_tiles, axis=0)
    if target.shape[1] == 1:
        target = target[:, 0]
    tile_weight = None if sample_weight is None else np.repeat(sample_weight, n_tiles)
    fit_params = sample_weight_fit_params(model, tile_weight)
    return model.fit(tiles.reshape(-1, n_raw), target, **fit_params)


def fit_boosting(
    estimator,
    tiles,
    y,
    *,
    n_rounds,
    learning_rate,
    validation_fraction,
    n_iter_no_change,
    random_state,
    verbose=False,
    sample_weight=None,
):
    """Train any regressor on the summed loss by functional gradient descent.

    Parameters
    ----------
    estimator : estimator
        Regressor cloned for every round.
    tiles : ndarray of shape (n_samples, n_tiles, n_features)
        Flattened tiles.
    y : ndarray of shape (n_samples, n_outputs)
        Extensive targets.
    n_rounds : int
        Rounds after round 0.
    learning_rate : float
        Shrinkage applied to every line-search step.
    validation_fraction : float or None
        Fraction of samples held out to pick the number of rounds; None trains
        on all samples for all rounds.
    n_iter_no_change : int or None
        Stop when the validation error has not improved for this many rounds
        (needs ``validation_fraction``).
    random_state : int, RandomState instance or None
        Seeds the split and the clones.
    verbose : bool
        Print the training (and validation) error every round.
    sample_weight : ndarray of shape (n_samples,), default=None
        Weights of the samples: every round's model is fitted with each tile
        weighted as its sample (samples of weight zero left out), and the
        line search and the errors are weighted.

    Returns
    -------
    tile_model : BoostedTileModel
        The rounds up to the best validation error (all rounds without one).
    history : list of dict
        Training and validation (weighted) mean squared error of the sum after
        each round.
    """
    rng = check_random_state(random_state)
    n_samples, n_tiles, _ = tiles.shape
    grid_weight = np.ones(n_samples) if sample_weight is None else sample_weight
    train = np.arange(n_samples)
    valid = np.array([], dtype=int)
    if validation_fraction:
        order = rng.permutation(n_samples)
        n_valid = max(1, int(round(validation_fraction * n_samples)))
        if n_valid >= n_samples:
            raise ValueError(
                f"validation_fraction={validation_fraction} leaves no training "
                f"samples out of {n_samples}."
            )
        valid, train = np.sort(order[:n_valid]), np.sort(order[n_valid:])

    if sample_weight is not None:
        # Grids of weight zero are left out of the fits, as if removed: a
        # tree would still place its thresholds between their tiles and others.
        train = train[sample_weight[train] > 0]
        if not len(train):
            raise ValueError(
                "sample_weight is zero on every training grid left after the "
                f"validation split (validation_fraction={validation_fraction}); "
                "give more grids a positive weight."
            )
    train_weight = None if sample_weight is None else sample_weight[train]
    first = _fit_round(estimator, tiles[train], y[train] / n_tiles, rng, train_weight)
    estimators, weights = [first], [np.ones(y.shape[1])]
    totals = _per_sample_sums(first, tiles)
    history, best_round, best_error = [], 0, np.inf

    def mse(rows):
        squared = np.mean((y[rows] - totals[rows]) ** 2, axis=1)
        w = grid_weight[rows]
        # A split whose weights are all zero is scored unweighted.
        return float(np.average(squared, weights=w if w.sum() > 0 else None))

    def record(round_index):
        entry = {"round": round_index, "train_mse": mse(train)}
        if len(valid):
            entry["valid_mse"] = mse(valid)
        history.append(entry)
        if verbose:
            print(" ".join(f"{k}={v:.6g}" for k, v in entry.items()), flush=True)
        return entry.get("valid_mse", entry["train_mse"])

    best_error = record(0)
    for round_index in range(1, n_rounds + 1):
        residual = y - totals
        model = _fit_round(
            estimator, tiles[train], residual[train] / n_tiles, rng, train_weight
        )
        step_sums = _per_sample_sums(model, tiles)
        # Optimal step along the summed predictions, per output, on training data.
        w = grid_weight[train, None]
        denominator = np.sum(w * step_sums[train] ** 2, axis=0)
        numerator = np.sum(w * residual[train] * step_sums[train], axis=0)
        gamma = np.divide(
            numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0
        )
        weight = learning_rate * gamma
        estimators.append(model)
        weights.append(weight)
        totals = totals + weight * step_sums
        error = record(round_index)
        if error < best_error:
            best_error, best_round = error, round_index
        elif n_iter_no_change and round_index - best_round >= n_iter_no_change:
            break
    if not len(valid):
        best_round = len(estimators) - 1
    keep = best_round + 1
    return BoostedTileModel(estimators[:keep], weights[:keep]), history


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
