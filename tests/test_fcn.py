"""Fully convolutional tile networks: the same numbers as tile by tile, no tiles.

``TileFCN`` and ``TileMLP`` given a focus score whole padded grids at once.
"""

import functools

import numpy as np
import pytest
import torch
from _moves import compare_local_and_full
from _sheets import rattled_cells
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import make_pipeline

from sklearn_ednn import EDNNModule, EDNNRegressor, TileFCN, TileMLP, make_tile_net
from sklearn_ednn._tiling import tile_shape, torch_pad, torch_tiles
from sklearn_ednn.atoms import AtomImage, EDNNCalculator
from sklearn_ednn.datasets import make_ising


@st.composite
def layouts(draw):
    network = draw(st.sampled_from(["fcn", "fcn-levels", "mlp"]))
    n_spatial = draw(st.integers(1, 3))
    # One reducing level needs an even focus.
    step = 2 if network == "fcn-levels" else 1
    f = tuple(step * draw(st.integers(1, 3 // step)) for _ in range(n_spatial))
    c = tuple(draw(st.integers(0, 2)) for _ in range(n_spatial))
    tiles = tuple(draw(st.integers(1, 3 if n_spatial < 3 else 2)) for _ in f)
    n_channels = draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["wrap", "zeros"]))
    with_offset = draw(st.booleans())
    seed = draw(st.integers(0, 1000))
    return f, c, tiles, n_channels, padding, with_offset, seed, network


# Small versions of the two fully convolutional networks.
NETWORKS = {
    "fcn": (TileFCN, {"filters": 4, "hidden": 8}),
    "fcn-levels": (TileFCN, {"filters": 4, "hidden": 8, "levels": 1}),
    "mlp": (TileMLP, {"hidden_sizes": (8, 4)}),
}


def _module(f, c, n_channels, padding, with_offset, seed, network="fcn"):
    torch.manual_seed(seed)
    offset = np.random.RandomState(seed).normal(size=(n_channels, 1))
    tile_network, sizes = NETWORKS[network]
    return EDNNModule(
        tile_network,
        ednn_focus=f,
        ednn_context=c,
        ednn_padding=padding,
        ednn_n_channels=n_channels,
        ednn_n_outputs=1,
        ednn_channel_offset=offset if with_offset else None,
        **sizes,
    ).double()


@settings(max_examples=40, deadline=None)
@given(layouts())
# A one-channel 3-D grid whose strides look channels-last: oneDNN's float32
# convolution gave wrong values on it.
@example(((1, 1, 3), (0, 0, 1), (2, 2, 1), 1, "wrap", False, 0, "fcn"))
def test_the_whole_grid_at_once_equals_every_tile_alone(case):
    f, c, tiles, n_channels, padding, with_offset, seed, network = case
    module = _module(f, c, n_channels, padding, with_offset, seed, network)
    assert module.fully_convolutional
    shape = (2,) + tuple(t * fi for t, fi in zip(tiles, f)) + (n_channels,)
    X = torch.from_numpy(np.random.RandomState(seed).normal(size=shape))
    with torch.no_grad():
        maps = module.score_padded(torch_pad(X, c, padding))
        cut = torch_tiles(X, f, c, padding)
        flat = cut.reshape((-1,) + cut.shape[1 + len(f) :])
        one_by_one = module.score_tiles(flat).reshape(maps.shape)
        totals = module(X)
    assert maps.shape == (2, *tiles, 1)
    np.testing.assert_allclose(maps, one_by_one, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(totals, one_by_one.reshape(2, -1).sum(1, keepdim=True))
    # float32: the same to single precision.
    with torch.no_grad():
        single = module.float().score_padded(torch_pad(X.float(), c, padding))
    np.testing.assert_allclose(single, maps, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "network", [TileFCN, functools.partial(TileFCN, levels=1), TileMLP]
)
def test_receptive_field_is_exactly_the_tile(network):
    net = network(tile_shape=tile_shape((4, 2), (3, 1)), focus=(4, 2)).double()
    grid = torch.zeros(1, 1, 3 * 4 + 6, 2 * 2 + 2, dtype=torch.float64)
    base = net(grid)
    for position in np.ndindex(*grid.shape[2:]):
        moved = grid.clone()
        moved[(0, 0) + position] = 1.0
        changed = (net(moved) - base).abs()[0, 0] > 0
        # Tile t reads padded positions t f to t f + f + 2 c - 1 per axis.
        expected = np.zeros(changed.shape, dtype=bool)
        for t in np.ndindex(*changed.shape):
            expected[t] = all(
                ti * fi <= p < ti * fi + fi + 2 * ci
                for ti, fi, ci, p in zip(t, (4, 2), (3, 1), position)
            )
        np.testing.assert_array_equal(changed.numpy(), expected)


def test_bad_layouts_are_refused():
    with pytest.raises(ValueError, match="1-, 2- or 3-D"):
        TileFCN(tile_shape=(3, 3, 3, 3))
    with pytest.raises(ValueError, match="does not fit"):
        TileFCN(tile_shape=(3, 3), focus=(4, 4))
    with pytest.raises(ValueError, match="see more than the tile"):
        TileFCN(tile_shape=(5, 5), focus=(1, 1), depth=3)
    with pytest.raises(ValueError, match=r"levels=1: 2\*\*levels must divide"):
        TileFCN(tile_shape=(5, 5), focus=(3, 3), levels=1)
    for levels in (-1, 1.5):
        with pytest.raises(ValueError, match=f"levels={levels}"):
            TileFCN(tile_shape=(8, 8), focus=(4, 4), levels=levels)
    with pytest.raises(ValueError, match="use at most 1"):
        TileFCN(tile_shape=(8, 8), focus=(4, 4), levels=1, depth=2)
    with pytest.raises(ValueError, match=r"one focus per axis.*focus=\(1,\)"):
        TileMLP(tile_shape=(3, 3), focus=(1,))


def test_the_mlp_as_a_convolution_is_the_fully_connected_network():
    # The same weights give the same function, tile by tile and over a grid.
    torch.manual_seed(0)
    dense = TileMLP(tile_shape=(4, 3), n_channels=2, hidden_sizes=(6, 5)).double()
    conv = TileMLP(tile_shape=(4, 3), focus=(2, 1), n_channels=2, hidden_sizes=(6, 5))
    conv = conv.double()
    conv.load_state_dict(dense.state_dict())
    assert not dense.fully_convolutional and conv.fully_convolutional
    padded = torch.randn(3, 2, 2 * 2 + 2, 4 * 1 + 2, dtype=torch.float64)
    tiles = padded.unfold(2, 4, 2).unfold(3, 3, 1)  # (3, 2, 2, 4, 4, 3)
    tiles = tiles.permute(0, 2, 3, 1, 4, 5).reshape(-1, 2, 4, 3)
    with torch.no_grad():
        maps = conv(padded)  # (3, 1, 2, 4)
        expected = dense(tiles).reshape(3, 2, 4, 1).permute(0, 3, 1, 2)
    np.testing.assert_allclose(maps, expected, rtol=1e-12, atol=1e-12)


def test_the_mlps_relus_work_in_place_with_the_same_values_and_gradients():
    torch.manual_seed(0)
    net = TileMLP(tile_shape=(3, 3), focus=(1, 1)).double()
    relus = [layer for layer in net.layers if isinstance(layer, torch.nn.ReLU)]
    assert len(relus) == 3 and all(relu.inplace for relu in relus)
    grids = torch.randn(2, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    maps = net(grids)
    (grad_in_place,) = torch.autograd.grad(maps.square().sum(), grids)
    # The same layers, each ReLU writing a new tensor.
    rows = grids.unfold(2, 3, 1).unfold(3, 3, 1).reshape(2, 1, 16, 9)
    values = rows.permute(0, 2, 1, 3).reshape(32, 9)
    linears = [layer for layer in net.layers if isinstance(layer, torch.nn.Linear)]
    for layer in linears[:-1]:
        values = torch.nn.functional.relu(layer(values))
    expected = linears[-1](values).reshape(2, 4, 4, 1).permute(0, 3, 1, 2)
    (grad_expected,) = torch.autograd.grad(expected.square().sum(), grids)
    torch.testing.assert_close(maps, expected, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(grad_in_place, grad_expected, rtol=1e-14, atol=1e-14)
    # Another activation is used as it is.
    tanh = TileMLP(tile_shape=(3, 3), activation=torch.nn.Tanh)
    assert sum(isinstance(layer, torch.nn.Tanh) for layer in tanh.layers) == 3


def test_the_default_ising_network_cuts_no_tiles():
    X, y = make_ising(40, size=8, random_state=0)
    model = EDNNRegressor(make_tile_net(max_epochs=1), random_state=0).fit(X, y)
    assert isinstance(model.estimator_.module_.tile_module, TileMLP)
    assert model.estimator_.module_.fully_convolutional
    assert model.tiling_.scorer.scores_padded


@pytest.fixture(scope="module")
def ising_fcn():
    X, y = make_ising(300, size=8, random_state=0)
    net = make_tile_net(TileFCN, max_epochs=4, lr=3e-3)
    model = EDNNRegressor(net, f=2, c=1, random_state=0, inference_dtype="float64")
    return model.fit(X, y), X, y


def test_the_estimator_trains_and_predicts_without_tiles(ising_fcn):
    model, X, y = ising_fcn
    assert model.estimator_.module_.fully_convolutional
    # The refit of the output layer found the head's last Linear.
    assert "refit_alpha" in model.estimator_.history[-1]
    X_test, y_test = make_ising(50, size=8, random_state=1)
    error = np.abs(model.predict(X_test) - y_test).mean()
    assert error < 0.2 * np.abs(y_test - y.mean()).mean()
    # Predicting by bands without tiles equals scoring every tile.
    tiling = model.tiling_
    big, _ = make_ising(2, size=32, random_state=2)
    grids = tiling.as_grids(big)
    assert tiling.scorer.scores_padded
    without_tiles = tiling.scores(grids, reduce=False, max_tiles=40)
    by_tiles = tiling.scores(grids, reduce=False, scorer=tiling.scorer.__call__)
    np.testing.assert_allclose(without_tiles, by_tiles, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        model.predict(np.tile(big, (1, 2, 2))), 4 * model.predict(big), rtol=1e-10
    )


def test_atoms_fcn_drives_the_calculator_and_local_moves():
    cells, energies = rattled_cells(8, kind="h-BN")
    resolution = tuple(cells[0].cell.lengths()[:2] / 32)
    net = make_tile_net(TileFCN, module__filters=4, max_epochs=1)
    model = make_pipeline(
        AtomImage(resolution, species=(5, 7), dtype="float64"),
        EDNNRegressor(
            net,
            f=8,
            c=4,
            channels=True,
            offset="channel_totals",
            random_state=0,
            inference_dtype="float64",
        ),
    ).fit(cells, energies)
    sheet = cells[0].copy()
    sheet.calc = EDNNCalculator(model)
    assert sheet.get_potential_energy() == pytest.approx(
        model.predict([sheet])[0], rel=1e-12
    )
    # Local moves re-score tiles one by one; the full path scores padded grids.
    compare_local_and_full(model, cells[1].repeat((2, 1, 1)), 6, accept_every=2)
