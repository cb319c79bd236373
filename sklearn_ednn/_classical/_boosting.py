"""The boosting solver: any regressor, by functional gradient descent on the sum.

Round 0 fits ``y / n_tiles`` on every tile; each further round fits a clone to
the per-sample residual spread over that sample's tiles, takes the optimal step
along its summed predictions (line search) and shrinks it.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from .._logging import verbose_logger
from ._weights import sample_weight_fit_params

__all__ = ["BoostedTileModel", "fit_boosting"]


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
    logger = verbose_logger(__name__) if verbose else None

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
            logger.info(" ".join(f"{k}={v:.6g}" for k, v in entry.items()))
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
