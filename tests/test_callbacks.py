"""The skorch callbacks: the cosine schedule and the output-layer refit."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch import nn

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.callbacks import CosineLR, RefitOutputLayer
from sklearn_ednn.datasets import ising_energy


@pytest.fixture(scope="module")
def ising_data():
    rng = np.random.default_rng(0)
    X = rng.choice([-1.0, 1.0], size=(300, 6, 6))
    return X, ising_energy(X)


# The cosine schedule alone: the default refit named and dropped.
NO_REFIT = [("lr_scheduler", CosineLR()), ("refit_output", None)]


def _training_residuals(model, X, y):
    return model.predict(X) - y


def test_cosine_lr_follows_max_epochs():
    net = make_tile_net(max_epochs=4, lr=0.1, callbacks=NO_REFIT)
    model = EDNNRegressor(net, random_state=0).fit(np.ones((4, 4, 4)), np.full(4, 16.0))
    lrs = model.estimator_.history[:, "event_lr"]
    np.testing.assert_allclose(lrs, 0.1 * (1 + np.cos(np.pi * np.arange(4) / 4)) / 2)
    clone(net)  # the policy and step_every it fixes survive cloning


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_cosine_lr_anneals_again_in_a_continued_run(how):
    """A continued run (skorch's partial_fit, or EDNNRegressor's warm start
    with a new optimizer) anneals once more from lr, not on past the end of
    the first cosine."""
    net = make_tile_net(max_epochs=4, lr=0.1, callbacks=NO_REFIT)
    X, y = np.ones((4, 4, 4)), np.full(4, 16.0)
    model = EDNNRegressor(net, random_state=0).fit(X, y)
    if how == "partial_fit":
        grids = X[..., None].astype(np.float32)
        model.estimator_.partial_fit(grids, np.zeros((4, 1), np.float32))
    else:
        model.set_params(warm_start=True).fit(X, y)
    lrs = model.estimator_.history[:, "event_lr"]
    once = 0.1 * (1 + np.cos(np.pi * np.arange(4) / 4)) / 2
    np.testing.assert_allclose(lrs, np.r_[once, once], rtol=1e-6)


def test_cosine_lr_rejects_other_policies():
    with pytest.raises(ValueError, match="policy=.*step_every='batch'"):
        CosineLR(step_every="batch")


def test_refit_is_a_default_callback():
    assert isinstance(dict(make_tile_net().callbacks)["refit_output"], RefitOutputLayer)


def test_callbacks_that_drop_a_default_say_so():
    with pytest.warns(
        UserWarning, match=r"dropped 'refit_output' \(RefitOutputLayer\)"
    ):
        make_tile_net(callbacks=[("lr_scheduler", CosineLR())])
    with pytest.warns(UserWarning, match=r"dropped 'lr_scheduler' \(CosineLR\), "):
        make_tile_net(callbacks=[CosineLR()])  # unnamed: a callback of its own
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = make_tile_net(callbacks=NO_REFIT)  # named and dropped: no warning
    X, y = np.ones((4, 4, 4)), np.full(4, 16.0)
    fitted = EDNNRegressor(net.set_params(max_epochs=1), random_state=0).fit(X, y)
    assert "refit_output" not in dict(fitted.estimator_.callbacks_)


def test_refit_solves_the_output_layer_least_squares(ising_data):
    """After the refit the training residuals are orthogonal to the summed
    features of the output layer; without it they are not."""
    X, y = ising_data
    exact = [
        ("lr_scheduler", CosineLR()),
        ("refit_output", RefitOutputLayer(alphas=[1e-10])),
    ]
    with_refit = EDNNRegressor(
        make_tile_net(max_epochs=3, callbacks=exact), random_state=0
    ).fit(X, y)
    without = EDNNRegressor(
        make_tile_net(max_epochs=3, callbacks=NO_REFIT), random_state=0
    ).fit(X, y)
    history = with_refit.estimator_.history[-1]
    assert history["refit_loss_after"] < history["refit_loss_before"]

    # The bias feature is the tile count: least squares leaves no mean residual.
    mean_refit = _training_residuals(with_refit, X, y).mean()
    mean_plain = _training_residuals(without, X, y).mean()
    assert abs(mean_refit) < 1e-4 * np.abs(y).mean()
    assert abs(mean_plain) > 10 * abs(mean_refit)

    # The weights: residuals are orthogonal to the output layer's summed input.
    module = with_refit.estimator_.module_
    features = []
    hook = module.tile_module.layers[-1].register_forward_hook(
        lambda layer, args, out: features.append(args[0].double())
    )
    with torch.no_grad():
        module(torch.as_tensor(X[..., None], dtype=torch.float32))
    hook.remove()
    summed = features[0].reshape(len(X), 36, -1).sum(dim=1).numpy()
    residuals = _training_residuals(with_refit, X, y) / with_refit.tile_scale_[0]
    correlation = (
        summed.T
        @ residuals
        / (np.linalg.norm(summed, axis=0) * np.linalg.norm(residuals) + 1e-12)
    )
    assert np.abs(correlation).max() < 1e-3


def test_refit_penalty_guards_against_few_grids(ising_data):
    """With fewer grids (40) than output weights (65) an exact solve
    interpolates the training set; the leave-one-out penalty generalises
    better, and better than the briefly trained network itself."""
    X, y = ising_data
    held_out_error = {}
    for name, refit in [
        ("plain", None),
        ("exact", RefitOutputLayer(alphas=[1e-10])),
        ("loo", RefitOutputLayer()),
    ]:
        callbacks = [("lr_scheduler", CosineLR()), ("refit_output", refit)]
        net = make_tile_net(max_epochs=2, lr=1e-3, callbacks=callbacks)
        model = EDNNRegressor(net, random_state=0).fit(X[:40], y[:40])
        held_out_error[name] = np.abs(model.predict(X[40:]) - y[40:]).mean()
        if name == "loo":
            assert dict(model.estimator_.callbacks_)["refit_output"].alpha_ > 1e-6
    assert held_out_error["loo"] < 0.9 * held_out_error["exact"]
    assert held_out_error["loo"] < 0.9 * held_out_error["plain"]


def test_refit_folds_resist_near_copies(ising_data):
    """Every training grid twice, side by side (like neighbouring snapshots
    of one MD run): leave-one-out always sees the copy and picks a tiny
    penalty; contiguous folds keep the copies together and do not."""
    X, y = ising_data
    X_twice, y_twice = np.repeat(X[:40], 2, axis=0), np.repeat(y[:40], 2)
    alpha, held_out_error = {}, {}
    for name, cv in [("loo", None), ("folds", 5)]:
        callbacks = [
            ("lr_scheduler", CosineLR()),
            ("refit_output", RefitOutputLayer(cv=cv)),
        ]
        net = make_tile_net(max_epochs=2, lr=1e-3, callbacks=callbacks)
        model = EDNNRegressor(net, random_state=0).fit(X_twice, y_twice)
        alpha[name] = dict(model.estimator_.callbacks_)["refit_output"].alpha_
        held_out_error[name] = np.abs(model.predict(X[40:]) - y[40:]).mean()
    # Leave-one-out falls to the smallest penalty, an exact solve (1e-10).
    assert alpha["loo"] == pytest.approx(1e-10)
    assert alpha["folds"] > 100 * alpha["loo"]
    assert held_out_error["folds"] < held_out_error["loo"]


class SummedTileNet(nn.Module):
    """A tile network whose output is not a linear layer's."""

    def __init__(self, tile_shape, n_channels=1, n_outputs=1):
        super().__init__()
        self.linear = nn.Linear(n_channels * int(np.prod(tile_shape)), 4)

    def forward(self, tiles):
        return torch.tanh(self.linear(tiles.flatten(1))).sum(dim=1, keepdim=True)


def test_refit_warns_and_keeps_other_networks(ising_data):
    X, y = ising_data
    net = make_tile_net(SummedTileNet, max_epochs=2)
    plain = make_tile_net(SummedTileNet, max_epochs=2, callbacks=NO_REFIT)
    with pytest.warns(UserWarning, match="last torch.nn.Linear.*left as trained"):
        refit = EDNNRegressor(net, random_state=0).fit(X, y)
    expected = EDNNRegressor(plain, random_state=0).fit(X, y)
    np.testing.assert_array_equal(refit.predict(X), expected.predict(X))


def test_refit_skips_a_net_trained_for_no_epochs(ising_data):
    X, y = ising_data
    untrained = EDNNRegressor(make_tile_net(max_epochs=0), random_state=0).fit(X, y)
    plain = EDNNRegressor(
        make_tile_net(max_epochs=0, callbacks=NO_REFIT), random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(untrained.predict(X), plain.predict(X))


@pytest.mark.parametrize("criterion, name", [(nn.MSELoss, "rmse"), (nn.L1Loss, "mae")])
def test_epoch_loss_is_also_logged_in_target_units(ising_data, criterion, name):
    """With lr=0 the network never changes, so the epoch's loss in target units is
    the error of the fitted model's totals."""
    X, y = ising_data
    net = make_tile_net(
        max_epochs=1,
        lr=0.0,
        batch_size=len(X) // 4,
        criterion=criterion,
        iterator_train__shuffle=False,
        callbacks=[("lr_scheduler", None), ("refit_output", None)],
    )
    model = EDNNRegressor(net, inference_dtype="float32", random_state=0).fit(X, y)
    error = model.predict(X) - y
    expected = np.sqrt(np.mean(error**2)) if name == "rmse" else np.mean(np.abs(error))
    logged = model.estimator_.history[-1, f"train_{name}"]
    assert logged == pytest.approx(expected, rel=1e-4)
