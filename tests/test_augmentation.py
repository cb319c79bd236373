"""Random translations and mirror images of training batches."""

import itertools
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.augmentation import PeriodicAugmentation


def batch_items(n_samples=6, shape=(4, 5, 2), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, *shape)).astype(np.float32)
    y = rng.normal(size=(n_samples, 1)).astype(np.float32)
    return X, y, list(zip(X, y))


def symmetry_images(grid):
    """Every roll of ``grid`` (L1, L2, C), mirrored or not along each axis."""
    for flips in itertools.product([False, True], repeat=2):
        flipped = grid
        for axis, flip in enumerate(flips):
            if flip:
                flipped = np.flip(flipped, axis)
        for shifts in itertools.product(*map(range, grid.shape[:2])):
            yield np.roll(flipped, shifts, axis=(0, 1))


def test_each_grid_is_a_roll_or_mirror_image_of_its_own():
    X, y, items = batch_items()
    torch.manual_seed(0)
    X_aug, y_aug = PeriodicAugmentation()(items)
    assert X_aug.shape == X.shape and X_aug.dtype == torch.float32
    np.testing.assert_array_equal(y_aug.numpy(), y)
    for original, moved in zip(X, X_aug.numpy()):
        matches = [np.array_equal(image, moved) for image in symmetry_images(original)]
        assert sum(matches) == 1


def test_weighted_batches_move_their_grids_and_keep_their_weights():
    """A dict batch of grids and sample weights (EDNNRegressor.fit's input
    with sample_weight and no forces) moves the grids, leaves the weights,
    and trains."""
    X, y, _ = batch_items()
    weight = np.arange(1.0, 7.0, dtype=np.float32)
    items = [({"X": grid, "sample_weight": w}, t) for grid, w, t in zip(X, weight, y)]
    torch.manual_seed(0)
    X_aug, y_aug = PeriodicAugmentation()(items)
    assert set(X_aug) == {"X", "sample_weight"}
    np.testing.assert_array_equal(X_aug["sample_weight"].numpy(), weight)
    np.testing.assert_array_equal(y_aug.numpy(), y)
    for original, moved in zip(X, X_aug["X"].numpy()):
        matches = [np.array_equal(image, moved) for image in symmetry_images(original)]
        assert sum(matches) == 1
    net = make_tile_net(max_epochs=1, iterator_train__collate_fn=PeriodicAugmentation())
    grids = np.random.default_rng(0).choice([-1.0, 1.0], size=(16, 4, 4))
    model = EDNNRegressor(net, random_state=0)
    model.fit(grids, grids.sum(axis=(1, 2)), sample_weight=np.arange(1.0, 17.0))
    assert np.isfinite(model.predict(grids)).all()


def test_moves_cover_every_shift_and_both_mirrors():
    # One pixel marks the origin of a 3 x 4 grid; where it lands tells the move.
    grid = np.zeros((3, 4, 1), dtype=np.float32)
    grid[0, 0, 0] = 1.0
    augment = PeriodicAugmentation(flip=False)
    torch.manual_seed(0)
    landed = set()
    for _ in range(30):
        X_aug, _ = augment([(grid, np.zeros(1, np.float32))] * 8)
        for moved in X_aug.numpy():
            landed.add(tuple(np.argwhere(moved[..., 0] == 1)[0]))
    assert landed == set(itertools.product(range(3), range(4)))

    # A grid that is not symmetric under a mirror: count how often it is flipped.
    asymmetric = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
    torch.manual_seed(1)
    X_aug, _ = PeriodicAugmentation(shift=False)([(asymmetric, np.zeros(1))] * 400)
    flipped = [not np.array_equal(moved, asymmetric) for moved in X_aug.numpy()]
    assert 0.65 < np.mean(flipped) < 0.85  # 3/4 of grids have at least one mirror


def test_nothing_moves_when_both_are_off():
    X, _, items = batch_items()
    X_aug, _ = PeriodicAugmentation(shift=False, flip=False)(items)
    np.testing.assert_array_equal(X_aug.numpy(), X)


def test_seeded_fits_are_reproducible_and_the_collate_clones():
    rng = np.random.default_rng(0)
    X = rng.choice([-1.0, 1.0], size=(40, 4, 4))
    y = -(X * np.roll(X, 1, 1) + X * np.roll(X, 1, 2)).sum(axis=(1, 2))
    net = make_tile_net(max_epochs=3, iterator_train__collate_fn=PeriodicAugmentation())
    model = EDNNRegressor(net, f=1, c=1, random_state=0)
    first = clone(model).fit(X, y).predict(X)
    second = clone(model).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)
    assert repr(clone(model).estimator.iterator_train__collate_fn) == (
        "PeriodicAugmentation(shift=True, flip=True)"
    )
    pickle.loads(pickle.dumps(model.fit(X, y)))


@pytest.mark.parametrize("shape", [(7,), (3, 4, 2)])
def test_one_and_three_dimensional_grids(shape):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, *shape, 1)).astype(np.float32)
    torch.manual_seed(0)
    X_aug, _ = PeriodicAugmentation()(list(zip(X, np.zeros((5, 1)))))
    assert X_aug.shape == X.shape
    np.testing.assert_allclose(np.sort(X_aug.numpy().ravel()), np.sort(X.ravel()))
