"""Classical tile models: exact linear EDNN and summed-loss boosting."""

import logging
import pickle

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.kernel_approximation import Nystroem, RBFSampler
from sklearn.linear_model import LinearRegression, Ridge, SGDRegressor
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    PolynomialFeatures,
    StandardScaler,
)
from sklearn.tree import DecisionTreeRegressor

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising
from sklearn_ednn.inspection import effective_couplings

J = 1.3


@pytest.fixture(scope="module")
def ising_j():
    """Ising data with coupling J = 1.3: training, held-out 8x8 and 64x64."""
    train = make_ising(400, size=8, J=J, random_state=20)
    test = make_ising(200, size=8, J=J, random_state=21)
    large = make_ising(4, size=64, J=J, random_state=22)
    return train, test, large


def test_polynomial_ridge_recovers_the_hamiltonian(ising_j):
    (X, y), (X_test, y_test), (X_large, y_large) = ising_j
    tile_model = make_pipeline(PolynomialFeatures(2), Ridge(alpha=1e-8))
    model = EDNNRegressor(tile_model, f=1, c=1).fit(X, y)
    assert model.solver_ == "linear"
    assert np.abs(model.predict(X_test) - y_test).mean() / 64 < 1e-6
    assert np.abs(model.predict(X_large) - y_large).mean() / 64**2 < 1e-6

    couplings = effective_couplings(model)
    assert couplings[(0, 1)] == pytest.approx(J, abs=1e-6)
    assert couplings[(1, 0)] == pytest.approx(J, abs=1e-6)
    others = [v for d, v in couplings.items() if d not in {(0, 1), (1, 0)}]
    assert len(others) == 10  # (0, 2), (1, -2) ... (2, 2): every other pair in a tile
    assert np.max(np.abs(others)) < 1e-6


def test_linear_intercept_is_extensive():
    rng = np.random.RandomState(0)
    X = rng.choice([-1.0, 1.0], size=(50, 6))
    y = 2.5 * 6 + 0.5 * X.sum(axis=1)  # 2.5 per site plus a field
    model = EDNNRegressor(LinearRegression(), c=0).fit(X, y)
    tile_model = model.estimator_
    assert tile_model.intercept_ == pytest.approx(2.5)
    X_big = np.tile(X[:3], (1, 5))
    np.testing.assert_allclose(model.predict(X_big), 5 * y[:3])
    np.testing.assert_allclose(model.predict_contributions(X[:3]).sum(axis=1), y[:3])


def test_multi_output_linear_model():
    X, energy = make_ising(200, size=6, random_state=1)
    magnetisation = X.reshape(len(X), -1).sum(axis=1)
    y = np.column_stack([energy, magnetisation])
    model = EDNNRegressor(make_pipeline(PolynomialFeatures(2), Ridge(1e-8))).fit(X, y)
    X_big = np.tile(X[:4], (1, 2, 3))
    expected = np.column_stack([energy[:4], magnetisation[:4]]) * 6
    np.testing.assert_allclose(model.predict(X_big), expected, atol=1e-6)
    assert model.predict_contributions(X[:4]).shape == (4, 6, 6, 2)


@pytest.mark.parametrize(
    "feature_map",
    [
        Nystroem(kernel="poly", degree=2, n_components=60, random_state=0),
        RBFSampler(gamma=0.1, n_components=400, random_state=0),
        StandardScaler(),
    ],
)
def test_feature_maps_are_fitted_on_tiles_then_summed(ising_j, feature_map):
    (X, y), (X_test, y_test), _ = ising_j
    model = EDNNRegressor(make_pipeline(feature_map, Ridge(alpha=1e-6)), c=1)
    model.fit(X, y)
    assert model.solver_ == "linear"
    # The fitted feature map saw tile rows (9 values), not whole grids (64).
    assert model.estimator_.steps[0][1].n_features_in_ == 9
    baseline = np.abs(y_test - y.mean()).mean()
    error = np.abs(model.predict(X_test) - y_test).mean()
    if isinstance(feature_map, StandardScaler):
        # Linear in the spins: only the (zero) field term, no better than the mean.
        assert error > 0.5 * baseline
    else:
        assert error < 0.2 * baseline


def test_sgd_regressor_uses_the_linear_solver(ising_j):
    (X, y), (X_test, y_test), _ = ising_j
    tile_model = make_pipeline(
        PolynomialFeatures(2),
        SGDRegressor(eta0=1e-5, max_iter=2000, tol=None, random_state=0),
    )
    model = EDNNRegressor(tile_model).fit(X, y)
    assert model.solver_ == "linear"
    baseline = np.abs(y_test - y.mean()).mean()
    assert np.abs(model.predict(X_test) - y_test).mean() < 0.1 * baseline


def test_summed_loss_boosting_beats_single_fit_of_y_over_n_tiles(ising_j):
    (X, y), (X_test, y_test), _ = ising_j
    n_rounds, trees = 15, 4
    boosted = EDNNRegressor(
        ExtraTreesRegressor(n_estimators=trees, min_samples_leaf=3),
        n_rounds=n_rounds,
        random_state=0,
    ).fit(X, y)
    # The same model with the same number of trees, fitted once to y / n_tiles.
    single = EDNNRegressor(
        ExtraTreesRegressor(n_estimators=trees * (n_rounds + 1), min_samples_leaf=3),
        n_rounds=0,
        random_state=0,
    ).fit(X, y)
    assert boosted.solver_ == single.solver_ == "boosting"
    boosted_error = np.abs(boosted.predict(X_test) - y_test).mean()
    single_error = np.abs(single.predict(X_test) - y_test).mean()
    assert 5 * boosted_error <= single_error, (boosted_error, single_error)


def test_boosting_history_and_early_stopping(ising_j):
    (X, y), _, _ = ising_j
    # Noisy labels and deep trees: the validation error soon stops improving.
    y = y + np.random.RandomState(0).normal(scale=8.0, size=len(y))
    model = EDNNRegressor(
        DecisionTreeRegressor(min_samples_leaf=2),
        n_rounds=200,
        learning_rate=1.0,
        validation_fraction=0.25,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y)
    history = model.boosting_history_
    assert len(history) < 201
    valid = [entry["valid_mse"] for entry in history]
    assert valid[-1] >= min(valid)
    # The kept rounds end at the best validation error.
    assert len(model.estimator_.estimators) == int(np.argmin(valid)) + 1
    train = [entry["train_mse"] for entry in history]
    assert train[-1] < train[0]


def test_boosting_is_reproducible_with_random_state(ising_j):
    (X, y), (X_test, _), _ = ising_j

    def fit(seed):
        return EDNNRegressor(
            ExtraTreesRegressor(n_estimators=2), n_rounds=3, random_state=seed
        ).fit(X, y)

    np.testing.assert_array_equal(fit(0).predict(X_test), fit(0).predict(X_test))
    assert not np.allclose(fit(0).predict(X_test), fit(1).predict(X_test))


def test_boosting_verbose_logs_progress(ising_j, caplog):
    (X, y), _, _ = ising_j
    with caplog.at_level(logging.INFO, logger="sklearn_ednn"):
        EDNNRegressor(DecisionTreeRegressor(max_depth=2), n_rounds=2, verbose=1).fit(
            X, y
        )
    rounds = [r for r in caplog.records if "train_mse=" in r.getMessage()]
    assert len(rounds) == 3
    assert {r.name for r in rounds} == {"sklearn_ednn._classical._boosting"}


def test_verbose_output_is_printed_when_logging_is_not_configured(
    ising_j, capsys, monkeypatch
):
    """With no logging set up (a plain script), verbose=1 still shows progress."""
    package = logging.getLogger("sklearn_ednn")
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.setattr(package, "handlers", [])
    monkeypatch.setattr(package, "level", logging.NOTSET)
    (X, y), _, _ = ising_j
    EDNNRegressor(DecisionTreeRegressor(max_depth=2), n_rounds=2, verbose=1).fit(X, y)
    assert capsys.readouterr().out.count("train_mse=") == 3


@pytest.mark.parametrize(
    "estimator, solver, expected",
    [
        (Ridge(), "auto", "linear"),
        (make_pipeline(PolynomialFeatures(2), Ridge()), "auto", "linear"),
        (DecisionTreeRegressor(max_depth=2), "auto", "boosting"),
        (make_pipeline(StandardScaler(), DecisionTreeRegressor()), "auto", "boosting"),
        (Ridge(), "boosting", "boosting"),
        (None, "auto", "torch"),
    ],
)
def test_solver_choice_is_automatic_and_overridable(estimator, solver, expected):
    X, y = make_ising(20, size=4, random_state=0)
    if estimator is None:
        estimator = make_tile_net(max_epochs=1)
    model = EDNNRegressor(estimator, solver=solver, n_rounds=2).fit(X, y)
    assert model.solver_ == expected


@pytest.mark.parametrize(
    "estimator, solver, match",
    [
        (DecisionTreeRegressor(), "linear", "solver='linear' cannot train"),
        (Ridge(), "torch", "solver='torch' cannot train"),
        (None, "boosting", "solver='boosting' needs a scikit-learn regressor"),
    ],
)
def test_impossible_solver_is_reported(estimator, solver, match):
    X, y = make_ising(10, size=4, random_state=0)
    with pytest.raises(ValueError, match=match):
        EDNNRegressor(estimator, solver=solver).fit(X, y)


def test_grid_search_over_context_and_nested_alpha(ising_j):
    (X, y), _, _ = ising_j
    search = GridSearchCV(
        EDNNRegressor(make_pipeline(PolynomialFeatures(2), Ridge())),
        {"f": [1, 2], "c": [0, 1], "estimator__ridge__alpha": [1e-8, 10.0]},
        cv=3,
        n_jobs=2,
    ).fit(X, y)
    assert search.best_params_["c"] == 1
    assert search.best_params_["estimator__ridge__alpha"] == 1e-8
    assert search.best_score_ > 1 - 1e-9
    # Without context a 1x1 tile cannot see a bond: that fit is poor.
    scores = dict(
        zip(
            map(str, search.cv_results_["params"]),
            search.cv_results_["mean_test_score"],
        )
    )
    no_context = {"c": 0, "estimator__ridge__alpha": 1e-08, "f": 1}
    assert scores[str(no_context)] < 0.5


def test_pipeline_ending_in_classical_ednn(ising_j):
    (X, y), (X_test, y_test), (X_large, y_large) = ising_j
    pipe = make_pipeline(
        FunctionTransformer(np.negative),  # a grid-to-grid step: flip every spin
        EDNNRegressor(make_pipeline(PolynomialFeatures(2), Ridge(alpha=1e-8))),
    ).fit(X, y)
    # The Ising energy is invariant under a global flip: still exact.
    np.testing.assert_allclose(pipe.predict(X_large), y_large, atol=1e-6)


@pytest.mark.parametrize(
    "estimator",
    [
        make_pipeline(PolynomialFeatures(2), Ridge(1e-6)),
        ExtraTreesRegressor(n_estimators=3, random_state=0),
    ],
)
def test_classical_models_pickle_and_predict_in_parallel(ising_j, estimator):
    (X, y), (X_test, _), (X_large, _) = ising_j
    model = EDNNRegressor(estimator, n_rounds=3, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X_test), model.predict(X_test))
    serial = model.predict(X_large)
    parallel = model.set_params(n_jobs=2, tile_batch_size=512).predict(X_large)
    np.testing.assert_allclose(parallel, serial, rtol=1e-12)
