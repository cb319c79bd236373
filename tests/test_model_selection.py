"""EDNNRegressor inside scikit-learn: grid search, pipelines, clone and persistence."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_over_focus_and_context(ising_small, n_jobs):
    X, y = ising_small
    search = GridSearchCV(
        EDNNRegressor(make_tile_net(max_epochs=2), random_state=0),
        {"f": [1, 2], "c": [0, 1, 2]},
        cv=2,
        n_jobs=n_jobs,
    )
    search.fit(X[:120], y[:120])
    assert len(search.cv_results_["params"]) == 6
    assert search.best_params_["f"] in (1, 2)
    assert search.predict(X[:3]).shape == (3,)


def test_grid_search_with_the_default_estimator():
    X, y = make_ising(40, size=4, random_state=0)
    search = GridSearchCV(
        EDNNRegressor(random_state=0),
        {"f": [1, 2], "c": [0, 1, 2]},
        cv=2,
        n_jobs=2,
    )
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(np.tile(X[:1], (1, 2, 2))).shape == (1,)


def test_grid_search_over_nested_net_parameters(ising_small):
    X, y = ising_small
    search = GridSearchCV(
        EDNNRegressor(make_tile_net(max_epochs=1), random_state=0),
        {"estimator__lr": [1e-3, 1e-2], "estimator__batch_size": [32, 64]},
        cv=2,
    )
    search.fit(X[:80], y[:80])
    assert search.best_estimator_.estimator_.lr in (1e-3, 1e-2)


def test_pipeline_ending_in_ednn(ising_small):
    X, y = ising_small
    # Spins in {-1, 1} mapped to occupations in {0, 1}: a grid-to-grid step.
    pipe = make_pipeline(
        FunctionTransformer(lambda spins: (spins + 1) / 2),
        EDNNRegressor(make_tile_net(max_epochs=15), random_state=0),
    )
    pipe.fit(X, y)
    assert pipe.predict(np.tile(X[:2], (1, 2, 2))).shape == (2,)
    assert pipe.score(X, y) > 0.5


@pytest.fixture(scope="module")
def fitted(ising_small):
    X, y = ising_small
    model = EDNNRegressor(make_tile_net(max_epochs=3), random_state=0).fit(X, y)
    return model, X


def test_clone_refits_to_identical_predictions(fitted, ising_small):
    model, X = fitted
    refit = clone(model).fit(*ising_small)
    np.testing.assert_array_equal(refit.predict(X), model.predict(X))


def test_pickle_round_trip(fitted):
    model, X = fitted
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_joblib_round_trip(fitted, tmp_path):
    model, X = fitted
    joblib.dump(model, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    big = np.tile(X[:2], (1, 4, 4))
    np.testing.assert_array_equal(restored.predict(big), model.predict(big))
