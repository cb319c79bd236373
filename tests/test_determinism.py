"""Determinism: the same seed gives the same model; batching and jobs do not matter.

Tolerances, written once: in float64 a tile's contribution does not depend on how
tiles are batched, and the sums differ only by the order of additions
(``FLOAT64_RTOL``). In float32 (``inference_dtype="float32"``) each activation
carries round-off of about 1e-7 of its size, and another batching or band shape
changes the order of the additions inside the layers (a fully convolutional
network runs its convolutions over differently shaped bands); where a tile's
output is a small difference of larger activations, as in a briefly trained
network, that reaches ``FLOAT32_RTOL`` of a grid's total.
"""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.tree import DecisionTreeRegressor

from sklearn_ednn import EDNNRegressor, TileCNN, TileFCN, make_tile_net
from sklearn_ednn.datasets import make_ising

FLOAT64_RTOL = 1e-12
FLOAT32_RTOL = 1e-4

MODELS = {
    "mlp": lambda: EDNNRegressor(make_tile_net(max_epochs=2), random_state=0),
    "cnn": lambda: EDNNRegressor(
        make_tile_net(TileCNN, module__width=0.25, max_epochs=2),
        f=2,
        c=2,
        random_state=0,
    ),
    "fcn": lambda: EDNNRegressor(
        make_tile_net(TileFCN, module__filters=4, max_epochs=2),
        f=2,
        c=2,
        random_state=0,
    ),
    "boosting": lambda: EDNNRegressor(
        DecisionTreeRegressor(max_depth=3, max_features=0.5),
        n_rounds=3,
        random_state=0,
    ),
    "linear": lambda: EDNNRegressor(Ridge(alpha=1e-3), f=2, c=1),
}


@pytest.fixture(scope="module")
def data():
    X, y = make_ising(96, size=8, random_state=0)
    X_big, _ = make_ising(3, size=32, random_state=1)
    return X, y, X_big


@pytest.mark.parametrize("name", sorted(MODELS))
def test_two_fits_with_one_seed_are_identical(data, name):
    X, y, X_big = data
    first, second = MODELS[name]().fit(X, y), MODELS[name]().fit(X, y)
    np.testing.assert_array_equal(first.predict(X_big), second.predict(X_big))


@pytest.mark.parametrize("name", ["mlp", "fcn"])
@pytest.mark.parametrize(
    "dtype, rtol", [("float64", FLOAT64_RTOL), ("float32", FLOAT32_RTOL)]
)
def test_batching_bands_and_jobs_agree_to_the_stated_tolerance(data, name, dtype, rtol):
    from sklearn import config_context

    X, y, X_big = data
    model = MODELS[name]().fit(X, y).set_params(inference_dtype=dtype)
    reference = model.predict(X_big)
    model.set_params(tile_batch_size=7)
    np.testing.assert_allclose(model.predict(X_big), reference, rtol=rtol)
    with config_context(working_memory=1 / 1024):  # bands of a few rows
        np.testing.assert_allclose(model.predict(X_big), reference, rtol=rtol)
    model.set_params(n_jobs=2)
    np.testing.assert_allclose(model.predict(X_big), reference, rtol=rtol)
