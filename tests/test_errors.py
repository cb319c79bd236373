"""Bad input gets a clear error naming the value and the rule; fitted models survive."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.tree import DecisionTreeRegressor
from skorch.callbacks import Callback

from sklearn_ednn import EDNNRegressor, make_tile_net

TILE_MODELS = {
    "torch": lambda: make_tile_net(max_epochs=2),
    "linear": lambda: Ridge(),
    "boosting": lambda: DecisionTreeRegressor(max_depth=3),
}


@pytest.fixture(scope="module", params=sorted(TILE_MODELS))
def fitted_and_data(request, ising_small):
    """A fitted model of each solver, with its training data."""
    X, y = ising_small
    model = EDNNRegressor(
        TILE_MODELS[request.param](), f=2, c=1, n_rounds=2, random_state=0
    )
    model.fit(X, y)
    assert model.solver_ == request.param
    return model, X, y


def _nan_at(array, value):
    array = np.array(array, dtype=float)
    array.flat[3] = value
    return array


def _bad_fits(X, y):
    """(description, parameters to set, X, y, error type, message pattern)."""
    return [
        (
            "axis not a multiple of f",
            {},
            X[:, :7],
            y,
            ValueError,
            r"grid axis 0 has length 7, which is not a positive multiple of f=2",
        ),
        (
            "f below 1",
            {"f": 0},
            X,
            y,
            ValueError,
            r"'f' parameter of EDNNRegressor must be an int in the range \[1, inf\)",
        ),
        (
            "c below 0",
            {"c": -1},
            X,
            y,
            ValueError,
            r"'c' parameter of EDNNRegressor must be an int in the range \[0, inf\)",
        ),
        ("non-integer f", {"f": 1.5}, X, y, ValueError, r"Got 1.5 instead"),
        (
            "non-integer c per axis",
            {"c": (1, 0.5)},
            X,
            y,
            TypeError,
            r"c=\(1, 0.5\) must be an int or a tuple of ints",
        ),
        (
            "f per axis below 1",
            {"f": (1, 0)},
            X,
            y,
            ValueError,
            r"f=\(1, 0\) must be >= 1 on every axis",
        ),
        (
            "wrong number of per-axis values",
            {"f": (1, 1, 1)},
            X,
            y,
            ValueError,
            r"f=\(1, 1, 1\) gives 3 values, but the grids have 2 spatial axes",
        ),
        ("NaN in X", {}, _nan_at(X, np.nan), y, ValueError, r"Input X contains NaN"),
        (
            "infinity in X",
            {},
            _nan_at(X, np.inf),
            y,
            ValueError,
            r"Input X contains infinity",
        ),
        ("NaN in y", {}, X, _nan_at(y, np.nan), ValueError, r"Input y contains NaN"),
        (
            "infinity in y",
            {},
            X,
            _nan_at(y, -np.inf),
            ValueError,
            r"Input y contains infinity",
        ),
        (
            "X with one dimension",
            {},
            X[:, 0, 0],
            y,
            ValueError,
            r"Expected 2D array, got 1D array",
        ),
        (
            "no spatial axis besides channels",
            {"channels": True},
            X[:, :, 0],
            y,
            ValueError,
            r"X has 2 dimension\(s\), but at least 3 are needed",
        ),
        (
            "len(X) != len(y)",
            {},
            X,
            y[:-1],
            ValueError,
            r"inconsistent numbers of samples: \[400, 399\]",
        ),
        ("empty X", {}, X[:0], y[:0], ValueError, r"Found array with 0 sample\(s\)"),
        (
            "unknown padding",
            {"padding": "mirror"},
            X,
            y,
            ValueError,
            r"'padding' parameter of EDNNRegressor must be a str among",
        ),
    ]


@pytest.mark.parametrize("case", range(16))
def test_bad_fit_input_is_reported_and_fitted_model_kept(fitted_and_data, case):
    model, X, y = fitted_and_data
    description, params, X_bad, y_bad, error, pattern = _bad_fits(X, y)[case]
    before = model.predict(X[:4])
    state = {k: v for k, v in vars(model).items() if k.endswith("_")}
    original_params = model.get_params(deep=False)
    try:
        model.set_params(**params)
        with pytest.raises(error, match=pattern):
            model.fit(X_bad, y_bad)
    finally:
        model.set_params(**original_params)
    assert {
        k: v for k, v in vars(model).items() if k.endswith("_")
    }.keys() == state.keys()
    assert model.estimator_ is state["estimator_"], description
    np.testing.assert_array_equal(model.predict(X[:4]), before)


class FailOnSecondEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise RuntimeError("training interrupted")


class FailingRegressor(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("training interrupted")

    def predict(self, X):
        return np.zeros(len(X))


def test_failure_while_training_keeps_fitted_model(fitted_and_data):
    model, X, y = fitted_and_data
    before = model.predict(X[:4])
    estimator = model.estimator
    if model.solver_ == "torch":
        failing = make_tile_net(max_epochs=3, callbacks=[FailOnSecondEpoch()])
    else:
        failing = FailingRegressor()
    try:
        model.set_params(estimator=failing)
        with pytest.raises(RuntimeError, match="training interrupted"):
            model.fit(X, y)
    finally:
        model.set_params(estimator=estimator)
    np.testing.assert_array_equal(model.predict(X[:4]), before)


@pytest.mark.parametrize(
    "transform, pattern",
    [
        (
            lambda X: X[:, :, :, None, None],
            r"X has 4 spatial axes .*fitted on grids "
            r"with 2 spatial axes",
        ),
        (
            lambda X: X[:, :, :7],
            r"grid axis 1 has length 7, which is not a positive "
            r"multiple of f=2",
        ),
        (lambda X: X[:, 0], r"X has 1 spatial axes .* fitted on grids with 2"),
        (lambda X: _nan_at(X, np.nan), r"Input X contains NaN"),
        (lambda X: X[:0], r"Found array with 0 sample\(s\)"),
    ],
)
def test_bad_predict_input_is_reported(fitted_and_data, transform, pattern):
    model, X, _ = fitted_and_data
    with pytest.raises(ValueError, match=pattern):
        model.predict(transform(X[:3]))


def test_other_channel_count_at_predict_is_reported(ising_small):
    X, y = ising_small
    X_ch = np.stack([X, -X], axis=-1)
    model = EDNNRegressor(make_tile_net(max_epochs=1), channels=True).fit(X_ch, y)
    with pytest.raises(
        ValueError,
        match=r"X has 3 channels, but EDNNRegressor was "
        r"fitted on grids with 2 channels",
    ):
        model.predict(np.concatenate([X_ch, X_ch[..., :1]], axis=-1))


def test_predict_before_fit_is_reported():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        EDNNRegressor().predict(np.ones((2, 4)))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        EDNNRegressor().predict_contributions(np.ones((2, 4)))
