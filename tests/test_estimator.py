"""EDNNRegressor: extensivity, translation, targets, tile models, errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures
from sklearn.tree import DecisionTreeRegressor
from skorch import NeuralNetRegressor
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit
from torch import nn

from sklearn_ednn import EDNNModule, EDNNRegressor, TileCNN, TileMLP, make_tile_net


@st.composite
def periodic_cases(draw):
    n_spatial = draw(st.integers(1, 3))
    f = draw(st.integers(1, 2))
    c = draw(st.integers(0, 2))
    channels = draw(st.booleans())
    n_channels = draw(st.integers(1, 2)) if channels else 1
    tiles = draw(st.integers(1, 3 if n_spatial < 3 else 2))
    k = draw(st.integers(2, 3 if n_spatial < 3 else 2))
    kind = draw(st.sampled_from(sorted(TILE_MODELS)))
    seed = draw(st.integers(0, 1000))
    # Tilings averaged per axis: any divisor of f.
    shifts = draw(st.sampled_from([d for d in (1, 2) if f % d == 0]))
    return n_spatial, f, c, channels, n_channels, tiles, k, kind, seed, shifts


# Untrained and trained networks, and classical models on both solvers.
TILE_MODELS = {
    "untrained net": lambda: make_tile_net(max_epochs=0),
    "trained net": lambda: make_tile_net(max_epochs=2, batch_size=4),
    "ridge": lambda: Ridge(alpha=1e-3),
    "polynomial ridge": lambda: make_pipeline(PolynomialFeatures(2), Ridge(1e-3)),
    "boosted trees": lambda: DecisionTreeRegressor(max_depth=4),
}


def _fit_random_model(
    n_spatial, f, c, channels, n_channels, tiles, kind, seed, shifts=1
):
    rng = np.random.RandomState(seed)
    shape = (12,) + (tiles * f,) * n_spatial + ((n_channels,) if channels else ())
    X = rng.choice([-1.0, 1.0], size=shape)
    y = X.reshape(len(X), -1).sum(axis=1) ** 2 + 3.0
    model = EDNNRegressor(
        TILE_MODELS[kind](),
        f=f,
        c=c,
        channels=channels,
        random_state=seed,
        n_rounds=3,
    )
    return model.fit(X, y).set_params(average_shifts=shifts), X


@settings(max_examples=50, deadline=None)
@given(periodic_cases())
def test_periodic_repetition_multiplies_prediction(case):
    n_spatial, f, c, channels, n_channels, tiles, k, epochs, seed, shifts = case
    model, X = _fit_random_model(
        n_spatial, f, c, channels, n_channels, tiles, epochs, seed, shifts
    )
    x = X[:3]
    reps = (1,) + (k,) * n_spatial + ((1,) if channels else ())
    big = np.tile(x, reps)
    contributions = model.predict_contributions(x)
    tolerance = 1e-5 * k**n_spatial * np.abs(contributions).reshape(3, -1).sum(axis=1)
    np.testing.assert_allclose(
        model.predict(big),
        k**n_spatial * model.predict(x),
        rtol=1e-5,
        atol=tolerance.max(),
    )


@settings(max_examples=50, deadline=None)
@given(periodic_cases(), st.integers(-3, 3), st.data())
def test_roll_by_multiple_of_focus_leaves_prediction(case, m, data):
    n_spatial, f, c, channels, n_channels, tiles, _, epochs, seed, shifts = case
    model, X = _fit_random_model(
        n_spatial, f, c, channels, n_channels, tiles, epochs, seed, shifts
    )
    axis = data.draw(st.integers(1, n_spatial))
    rolled = np.roll(X, m * f, axis=axis)
    np.testing.assert_allclose(
        model.predict(rolled), model.predict(X), rtol=1e-6, atol=1e-6
    )


def test_contributions_sum_to_prediction(ising_small):
    X, y = ising_small
    model = EDNNRegressor(make_tile_net(max_epochs=2), random_state=0).fit(X, y)
    contributions = model.predict_contributions(X[:5])
    assert contributions.shape == (5, 8, 8)
    np.testing.assert_allclose(contributions.sum(axis=(1, 2)), model.predict(X[:5]))


def test_average_shifts_average_the_moved_tilings():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(24, 8, 8, 2))
    y = (X[..., 0] * np.roll(X[..., 1], 1, axis=1)).sum(axis=(1, 2))
    model = EDNNRegressor(
        make_tile_net(max_epochs=3), f=4, c=1, channels=True, random_state=0
    ).fit(X, y)
    shifts = [(a, b) for a in (0, 2) for b in range(4)]
    one_tiling = [model.predict(np.roll(X, s, axis=(1, 2))) for s in shifts]
    model.set_params(average_shifts=(2, 4))
    np.testing.assert_allclose(model.predict(X), np.mean(one_tiling, axis=0))
    contributions = model.predict_contributions(X[:3])
    assert contributions.shape == (3, 2, 2)
    np.testing.assert_allclose(contributions.sum(axis=(1, 2)), model.predict(X[:3]))
    # Every tiling averaged: invariant to a move by one pixel, unlike one tiling.
    moved = np.roll(X, (1, 3), axis=(1, 2))
    model.set_params(average_shifts=4)
    np.testing.assert_allclose(model.predict(moved), model.predict(X), rtol=1e-10)
    model.set_params(average_shifts=1)
    assert np.abs(model.predict(moved) - model.predict(X)).max() > 1e-3


def test_average_shifts_errors_are_clear():
    X = np.random.RandomState(0).normal(size=(8, 8, 8))
    y = X.sum(axis=(1, 2))
    with pytest.raises(ValueError, match=r"must divide the focus f=\(4, 4\)"):
        EDNNRegressor(Ridge(), f=4, average_shifts=3).fit(X, y)
    with pytest.raises(ValueError, match="needs padding='wrap', not 'zeros'"):
        EDNNRegressor(Ridge(), f=4, padding="zeros", average_shifts=2).fit(X, y)
    with pytest.raises(ValueError, match="average_shifts=.* gives 3 values"):
        EDNNRegressor(Ridge(), f=4, average_shifts=(1, 2, 2)).fit(X, y)
    model = EDNNRegressor(Ridge(), f=4).fit(X, y)
    model.set_params(average_shifts=8)
    with pytest.raises(ValueError, match="8 does not divide 4"):
        model.predict(X)


def test_multi_output_targets_are_each_extensive(ising_small):
    X, energy = ising_small
    magnetisation = X.reshape(len(X), -1).sum(axis=1).astype(float)
    y = np.column_stack([energy, magnetisation])
    model = EDNNRegressor(make_tile_net(max_epochs=15), random_state=0).fit(X, y)
    assert model.predict(X[:3]).shape == (3, 2)
    assert model.predict_contributions(X[:3]).shape == (3, 8, 8, 2)
    assert model.tile_scale_.shape == model.tile_offset_.shape == (2,)
    big = np.tile(X[:3], (1, 2, 2))
    np.testing.assert_allclose(model.predict(big), 4 * model.predict(X[:3]), rtol=1e-5)
    # The magnetisation is a plain sum of spins: learned well in a few epochs.
    error = np.abs(model.predict(X)[:, 1] - magnetisation).mean()
    assert error < 0.1 * np.abs(magnetisation - magnetisation.mean()).mean()


def test_target_scaling_is_per_tile_and_per_output(ising_small):
    X, y = ising_small
    model = EDNNRegressor(make_tile_net(max_epochs=0)).fit(X, y)
    per_tile = y / 64
    np.testing.assert_allclose(model.tile_offset_, [per_tile.mean()])
    np.testing.assert_allclose(model.tile_scale_, [per_tile.std()])


def test_constant_target_gets_unit_scale():
    X = np.ones((5, 4))
    model = EDNNRegressor(make_tile_net(max_epochs=1)).fit(X, np.full(5, 8.0))
    np.testing.assert_array_equal(model.tile_scale_, [1.0])
    np.testing.assert_allclose(model.tile_offset_, [2.0])


def test_random_state_makes_fit_reproducible_and_keeps_global_rng(ising_small):
    X, y = ising_small
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = EDNNRegressor(make_tile_net(max_epochs=2), random_state=7).fit(X, y).predict(X)
    assert torch.rand(1) == expected_next
    b = EDNNRegressor(make_tile_net(max_epochs=2), random_state=7).fit(X, y).predict(X)
    c = EDNNRegressor(make_tile_net(max_epochs=2), random_state=8).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


class SmallTileNet(nn.Module):
    """A custom tile network sized from the data."""

    def __init__(self, tile_shape, n_channels=1, n_outputs=1, hidden=8):
        super().__init__()
        size = n_channels * int(np.prod(tile_shape))
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(size, hidden),
            nn.Tanh(),
            nn.Linear(hidden, n_outputs),
        )

    def forward(self, tiles):
        return self.net(tiles)


def test_module_class_is_sized_from_tiles(ising_small):
    X, y = ising_small
    model = EDNNRegressor(SmallTileNet, f=2, c=1, random_state=0).fit(X, y)
    tile_net = model.estimator_.module_.tile_module
    assert isinstance(tile_net, SmallTileNet)
    assert tile_net.net[1].in_features == 16
    assert model.predict(X[:2]).shape == (2,)


def test_module_instance_is_copied_not_trained_in_place(ising_small):
    X, y = ising_small
    instance = SmallTileNet(tile_shape=(3, 3))
    before = [p.detach().clone() for p in instance.parameters()]
    model = EDNNRegressor(instance, random_state=0).fit(X, y)
    for p, q in zip(before, instance.parameters()):
        torch.testing.assert_close(p, q)
    assert model.estimator_.module_.tile_module is not instance


def test_module_kwargs_reach_the_tile_network(ising_small):
    X, y = ising_small
    net = make_tile_net(module=SmallTileNet, module__hidden=5, max_epochs=1)
    model = EDNNRegressor(net).fit(X, y)
    assert model.estimator_.module_.tile_module.net[1].out_features == 5
    model.set_params(estimator__module__hidden=3).fit(X, y)
    assert model.estimator_.module_.tile_module.net[1].out_features == 3


class CountEpochs(Callback):
    def initialize(self):
        self.epochs = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1


def test_configured_skorch_net_settings_are_honoured(ising_small):
    X, y = ising_small
    net = NeuralNetRegressor(
        TileMLP,
        optimizer=torch.optim.SGD,
        lr=1e-4,
        max_epochs=3,
        batch_size=50,
        callbacks=[("count", CountEpochs())],
        train_split=ValidSplit(4),
        device="cpu",
    )
    model = EDNNRegressor(net, random_state=0).fit(X, y)
    fitted = model.estimator_
    assert isinstance(fitted.optimizer_, torch.optim.SGD)
    assert fitted.optimizer_.param_groups[0]["lr"] == 1e-4
    assert len(fitted.history) == 3
    assert "valid_loss" in fitted.history[-1]
    # 300 training samples in batches of 50.
    assert len(fitted.history[-1]["batches"]) == 6 + 2
    assert dict(fitted.callbacks_)["count"].epochs == 3
    assert isinstance(fitted.module_, EDNNModule)
    # The user's net is left untouched (it is cloned, not fitted).
    assert not hasattr(net, "module_")


def test_set_params_reaches_nested_net():
    model = EDNNRegressor(make_tile_net())
    model.set_params(estimator__lr=0.05, estimator__max_epochs=7)
    assert model.estimator.lr == 0.05
    assert model.get_params()["estimator__max_epochs"] == 7


@pytest.mark.parametrize(
    "tile_shape", [(3,), (5,), (3, 3), (7, 5), (3, 3, 3), (16, 16)]
)
def test_tile_cnn_adapts_to_tile_size(tile_shape):
    net = TileCNN(tile_shape=tile_shape, n_channels=2, n_outputs=3, width=0.25)
    out = net(torch.zeros((4, 2) + tile_shape))
    assert out.shape == (4, 3)
    convs = [m for m in net.modules() if isinstance(m, nn.modules.conv._ConvNd)]
    assert len(convs) == 13


def test_tile_cnn_has_the_papers_layers():
    net = TileCNN(tile_shape=(32, 32))
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [m.out_channels for m in convs] == [64, 64] + [16] * 6 + [64] + [32] * 4
    assert [m.stride[0] for m in convs] == [2, 2] + [1] * 6 + [2] + [1] * 4
    assert [m.kernel_size[0] for m in convs] == [3, 3] + [4] * 6 + [3] * 5
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [1024, 1]
    assert linears[0].in_features == 32 * 4 * 4


def test_tile_cnn_activation_is_used_after_every_hidden_layer():
    net = TileCNN(tile_shape=(16, 16), width=0.25, activation=nn.SiLU)
    assert sum(isinstance(m, nn.SiLU) for m in net.modules()) == 14
    assert not any(isinstance(m, nn.ReLU) for m in net.modules())
    # A smooth activation gives a smooth function of the tile: its gradient
    # changes continuously, where ReLU's jumps.
    tile = torch.randn(1, 1, 16, 16, dtype=torch.float64, requires_grad=True)
    net = net.double()
    grads = []
    for shift in (0.0, 1e-6):
        x = (tile + shift).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(x).sum(), x)
        grads.append(grad)
    assert torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-8)


def test_tile_cnn_trains_as_ednn_estimator(ising_small):
    X, y = ising_small
    net = make_tile_net(module=TileCNN, module__width=0.125, max_epochs=1)
    model = EDNNRegressor(net, f=2, c=1, random_state=0).fit(X[:50], y[:50])
    assert model.predict(np.tile(X[:2], (1, 2, 2))).shape == (2,)


def test_tile_mlp_has_the_papers_widths():
    net = TileMLP(tile_shape=(5, 5))
    widths = [m.out_features for m in net.modules() if isinstance(m, nn.Linear)]
    assert widths == [32 * 25, 64, 64, 1]


def test_tile_network_with_wrong_output_shape_is_reported(ising_small):
    X, y = ising_small

    class TwoOutputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(9, 2)

        def forward(self, tiles):
            return self.linear(tiles.flatten(1))

    with pytest.raises(ValueError, match=r"returned shape \(\d+, 2\).*expected"):
        EDNNRegressor(TwoOutputs).fit(X[:10], y[:10])


def test_unsupported_estimator_type_is_reported():
    with pytest.raises(TypeError, match="estimator='tree' is not supported"):
        EDNNRegressor("tree").fit(np.ones((3, 4)), np.ones(3))


def test_cosine_schedule_follows_max_epochs(ising_small):
    X, y = ising_small
    model = EDNNRegressor(make_tile_net(max_epochs=4, lr=0.01), random_state=0)
    model.set_params(estimator__max_epochs=6).fit(X[:64], y[:64])
    lrs = model.estimator_.history[:, "event_lr"]
    assert len(lrs) == 6
    expected = [0.005 * (1 + np.cos(np.pi * epoch / 6)) for epoch in range(6)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-6)
    clone(model).fit(X[:64], y[:64])  # the callback survives cloning
