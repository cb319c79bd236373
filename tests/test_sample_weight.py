"""Sample weights in EDNNRegressor.fit: every solver, the losses, clear errors."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lars, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures
from sklearn.tree import DecisionTreeRegressor
from torch import nn

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn._torch._force_loss import ForceMatchingLoss
from sklearn_ednn._torch._losses import SampleWeightedLoss
from sklearn_ednn._torch._module import TrainingOutput
from sklearn_ednn.callbacks import CosineLR, RefitOutputLayer


def spin_grids(n, seed):
    """``n`` random 6 x 6 grids of spins +-1."""
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(n, 6, 6))


def bond_energy(X):
    """Nearest-neighbour Ising energy, periodic."""
    return -(X * np.roll(X, 1, axis=1) + X * np.roll(X, 1, axis=2)).sum(axis=(1, 2))


def field_energy(X):
    """Energy in a unit field plus a constant per site."""
    return -X.sum(axis=(1, 2)) + 0.5 * X[0].size


def tile_model(solver):
    """An EDNN with f=1, c=1 for each solver, able to learn both energies."""
    if solver == "torch":
        net = make_tile_net(max_epochs=60, batch_size=64, lr=3e-3)
        return EDNNRegressor(net, f=1, c=1, random_state=0)
    if solver == "linear":
        # Products of spins are features: both energies are linear in them.
        pipeline = make_pipeline(PolynomialFeatures(2), Ridge(alpha=1e-6))
        return EDNNRegressor(pipeline, f=1, c=1)
    return EDNNRegressor(
        DecisionTreeRegressor(max_depth=9), f=1, c=1, n_rounds=20, random_state=0
    )


@pytest.mark.parametrize("solver", ["torch", "linear", "boosting"])
def test_weights_pick_the_weighted_mean_of_conflicting_labels(solver):
    """Every grid appears twice, once labelled with each energy; with weights
    3 and 1 the least-squares answer is 0.75 * bond + 0.25 * field, and the
    fit finds it on held-out grids, five times closer than to the unweighted
    0.5 / 0.5 (boosted trees are the least accurate: 0.15 of the distance)."""
    X = spin_grids(300, seed=0)
    X_twice = np.concatenate([X, X])
    y_twice = np.concatenate([bond_energy(X), field_energy(X)])
    weight = np.repeat([3.0, 1.0], len(X))
    model = tile_model(solver).fit(X_twice, y_twice, sample_weight=weight)
    test = spin_grids(200, seed=1)
    weighted = 0.75 * bond_energy(test) + 0.25 * field_energy(test)
    unweighted = 0.5 * bond_energy(test) + 0.5 * field_energy(test)
    error = np.abs(model.predict(test) - weighted).mean()
    assert error < 0.2 * np.abs(weighted - unweighted).mean()


@pytest.mark.parametrize("solver", ["torch", "linear", "boosting"])
def test_zero_weights_are_removed_grids(solver):
    """Grids of weight zero, however wrongly labelled, change nothing: the fit
    equals the one without them. The torch net trains in one full batch, so
    the grids' order is all that differs."""
    X = spin_grids(100, seed=2)
    y = bond_energy(X)
    junk = spin_grids(40, seed=3)
    model = tile_model(solver)
    if solver == "torch":
        model.set_params(estimator__batch_size=200, estimator__max_epochs=20)
    without = model.fit(X, y).predict(junk)
    with_junk = model.fit(
        np.concatenate([X, junk]),
        np.concatenate([y, 100 + 10 * field_energy(junk)]),
        sample_weight=np.r_[np.ones(len(X)), np.zeros(len(junk))],
    ).predict(junk)
    np.testing.assert_allclose(with_junk, without, rtol=1e-4, atol=1e-3)


def test_unit_and_scaled_weights_change_nothing():
    """Weights of one are the unweighted fit; only the weights' ratios count."""
    X = spin_grids(80, seed=4)
    y = bond_energy(X)
    weight = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    model = tile_model("torch").set_params(estimator__max_epochs=10)
    plain = model.fit(X, y).predict(X)
    np.testing.assert_allclose(
        model.fit(X, y, sample_weight=np.ones(len(X))).predict(X), plain, rtol=1e-5
    )
    once = model.fit(X, y, sample_weight=weight).predict(X)
    np.testing.assert_allclose(
        model.fit(X, y, sample_weight=7 * weight).predict(X), once, rtol=1e-5
    )
    assert np.abs(once - plain).max() > 1e-3  # and the weights do count


def test_sample_weighted_loss():
    """The net's criterion per sample, averaged with the weights; its
    arguments reach it; plain mean without weights."""
    y_pred = torch.tensor([[1.0, 2.0], [0.0, 4.0], [5.0, 5.0]])
    y_true = torch.zeros(3, 2)
    weight = torch.tensor([2.0, 1.0, 0.0])
    loss = SampleWeightedLoss()
    expected = (2 * 2.5 + 1 * 8.0 + 0 * 25.0) / 3
    assert loss(TrainingOutput(y_pred, weight), y_true).item() == pytest.approx(
        expected
    )
    assert loss(y_pred, y_true).item() == pytest.approx(nn.MSELoss()(y_pred, y_true))
    huber = SampleWeightedLoss(nn.HuberLoss, delta=0.5)
    assert huber.loss.delta == 0.5 and huber.loss.reduction == "none"
    from_instance = SampleWeightedLoss(nn.L1Loss(reduction="sum"))
    assert from_instance(TrainingOutput(y_pred, weight), y_true).item() == (
        pytest.approx((2 * 1.5 + 1 * 2.0) / 3)
    )


def test_force_matching_loss_weighs_energies_and_forces():
    """Weights 2 and 0 on two structures of as many atoms: the loss of the
    first alone; unit weights: the unweighted loss."""
    generator = torch.Generator().manual_seed(0)
    totals, y_true = torch.randn(2, 1, generator=generator), torch.zeros(2, 1)
    residuals = torch.randn(2, 5, 2, generator=generator)
    present = torch.ones(2, 5, 1)
    loss = ForceMatchingLoss(force_weight=3.0)

    def value(weight, rows=slice(None)):
        output = TrainingOutput(totals[rows], weight, residuals[rows], present[rows])
        return loss(output, y_true[rows]).item()

    assert value(torch.tensor([2.0, 0.0])) == pytest.approx(value(None, slice(0, 1)))
    assert value(torch.ones(2)) == pytest.approx(value(None))


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (-np.ones(20), "(?i)negative"),
        (np.zeros(20), "zero"),
        (np.ones(19), "19"),
        (np.ones((20, 2)), "1D"),
        (np.r_[np.ones(19), np.nan], "NaN"),
    ],
)
def test_bad_weights_are_clear_errors(sample_weight, match):
    with pytest.raises(ValueError, match=match):
        tile_model("linear").fit(
            spin_grids(20, 5), np.zeros(20), sample_weight=sample_weight
        )


def test_models_without_sample_weight_are_clear_errors():
    X, y, weight = spin_grids(20, 6), np.zeros(20), np.ones(20)
    for estimator, name in [
        (Lars(), "Lars"),
        (KNeighborsRegressor(), "KNeighborsRegressor"),
        (make_pipeline(PolynomialFeatures(2), KNeighborsRegressor()), "KNeighbors"),
    ]:
        with pytest.raises(ValueError, match=f"{name}.*takes no sample_weight"):
            EDNNRegressor(estimator, f=1, c=1).fit(X, y, sample_weight=weight)
    with pytest.raises(ValueError, match="reduction"):
        SampleWeightedLoss(nn.Identity())


def test_failed_weighted_fit_keeps_the_fitted_model():
    X, y = spin_grids(20, 7), bond_energy(spin_grids(20, 7))
    model = tile_model("linear").fit(X, y)
    before = model.predict(X)
    with pytest.raises(ValueError):
        model.fit(X, y, sample_weight=-np.ones(20))
    np.testing.assert_array_equal(model.predict(X), before)


def test_weighted_refit_on_folds_and_pickling():
    """The output layer's refit on contiguous folds runs with weights (that
    the refit uses them is tested above: junk of weight zero changes nothing),
    and a weighted fit pickles with its loss."""
    X = spin_grids(120, seed=8)
    y = bond_energy(X)
    net = make_tile_net(
        max_epochs=5,
        callbacks=[
            ("lr_scheduler", CosineLR()),
            ("refit_output", RefitOutputLayer(cv=5)),
        ],
    )
    weight = np.random.default_rng(1).uniform(0.0, 3.0, len(X))
    model = EDNNRegressor(net, f=1, c=1, random_state=0).fit(X, y, sample_weight=weight)
    history = model.estimator_.history[-1]
    assert history["refit_loss_after"] < history["refit_loss_before"]
    assert isinstance(model.estimator_.criterion_, SampleWeightedLoss)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X[:5]), model.predict(X[:5]))
