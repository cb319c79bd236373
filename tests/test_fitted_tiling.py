"""The fitted tiling: window arithmetic, both faces, and what it refuses."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from sklearn_ednn import EDNNRegressor, FittedTiling, make_tile_net
from sklearn_ednn._tiling import shift_grids, tile_windows, touching_tiles


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(0, 5),
    st.integers(1, 5),
    st.data(),
)
def test_touching_tiles_are_the_tiles_whose_window_reads_the_pixel(f, c, n, data):
    length = f * n
    shift = data.draw(st.integers(0, f - 1))
    pixels = np.arange(length)
    touched = touching_tiles(pixels, f, c, length, shift)
    windows = tile_windows(np.arange(n), f, c, length, shift)
    for t in range(n):
        np.testing.assert_array_equal(touched[:, t], np.isin(pixels, windows[t]))
    # Zero padding: a window never wraps around the grid.
    unwrapped = np.arange(n)[:, None] * f - shift - c + np.arange(f + 2 * c)
    touched = touching_tiles(pixels, f, c, length, shift, padding="zeros")
    for t in range(n):
        np.testing.assert_array_equal(touched[:, t], np.isin(pixels, unwrapped[t]))


def test_shift_grids_rolls_numpy_and_torch_alike():
    X = np.arange(2 * 4 * 6 * 1.0).reshape(2, 4, 6, 1)
    moved = shift_grids(X, (1, 2))
    np.testing.assert_array_equal(moved, np.roll(X, (1, 2), axis=(1, 2)))
    np.testing.assert_array_equal(shift_grids(torch.from_numpy(X), (1, 2)), moved)
    assert shift_grids(X, (0, 0)) is X


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 8, 8))
    y = (X * np.roll(X, 1, axis=2)).sum(axis=(1, 2))
    torch_model = EDNNRegressor(
        make_tile_net(max_epochs=2),
        f=2,
        c=1,
        average_shifts=2,
        random_state=0,
        inference_dtype="float64",
    ).fit(X, y)
    linear_model = EDNNRegressor(Ridge(), f=2, c=1).fit(X, y)
    return torch_model, linear_model, X


def test_a_fitted_model_has_a_fitted_tiling(fitted):
    model, _, X = fitted
    tiling = model.tiling_
    assert isinstance(tiling, FittedTiling)
    assert tiling.tile_shape == (4, 4)
    assert tiling.shifts == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert tiling.tiles_per_axis((8, 6)) == (4, 3)
    grids = tiling.as_grids(X[:3])
    np.testing.assert_allclose(tiling.predict(grids)[:, 0], model.predict(X[:3]))
    with pytest.raises(NotFittedError):
        _ = EDNNRegressor().tiling_


def test_prediction_parameters_set_after_fitting_reach_the_tiling(fitted):
    model, _, _ = fitted
    model.set_params(average_shifts=1, tile_batch_size=7)
    try:
        assert model.tiling_.n_tilings == 1
        assert model.tiling_.tile_batch_size == 7
    finally:
        model.set_params(average_shifts=2, tile_batch_size=4096)


def test_torch_face_predicts_as_numpy_and_differentiates(fitted):
    model, _, X = fitted
    tiling = model.tiling_
    grids = torch.tensor(X[:3, ..., None], requires_grad=True)
    y = tiling.predict_torch(grids)
    np.testing.assert_allclose(y.detach().numpy()[:, 0], model.predict(X[:3]))
    (gradient,) = torch.autograd.grad(y.sum(), grids)
    assert gradient.shape == grids.shape and torch.isfinite(gradient).all()
    np.testing.assert_allclose(
        tiling.to_target(torch.ones(2, 1, dtype=torch.float64), 5).numpy(),
        tiling.to_target(np.ones((2, 1)), 5),
    )


def test_torch_face_of_a_classical_model_is_refused(fitted):
    _, linear, X = fitted
    with pytest.raises(ValueError, match="needs a torch tile model"):
        linear.tiling_.predict_torch(torch.zeros(1, 8, 8, 1, dtype=torch.float64))


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((2, 8, 8, 8)), "3 spatial axes"),
        (np.zeros((2, 8, 7)), "length 7, which is not a positive multiple of f=2"),
    ],
)
def test_grids_that_do_not_fit_the_tiling_are_refused(fitted, X, match):
    _, linear, _ = fitted
    with pytest.raises(ValueError, match=match):
        linear.tiling_.as_grids(X)
