"""Blurring regions of every tile (the paper's figure 6)."""

import numpy as np
import pytest
from scipy import ndimage
from sklearn.linear_model import Ridge

from sklearn_ednn import EDNNRegressor, TileTransformer
from sklearn_ednn.inspection import predict_blurred, tile_region_mask


@pytest.fixture(scope="module")
def linear_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8, 8))
    y = (X * np.roll(X, 1, axis=1) + X).sum(axis=(1, 2))
    return EDNNRegressor(Ridge(alpha=1e-3), f=2, c=2).fit(X, y), X, y


def test_rim_and_centre_masks_have_the_asked_area():
    rim = tile_region_mask((4, 4), (2, 2), "rim", 0.75)
    centre = tile_region_mask((4, 4), (2, 2), "centre", 0.75)
    # An 8 x 8 tile: the 2-pixel rim is exactly the context, 48 of 64 pixels;
    # a square centred on it has an even side, and 6 x 6 comes closest.
    assert rim.shape == centre.shape == (8, 8)
    assert rim.sum() == 48 and not rim[2:6, 2:6].any()
    assert centre.sum() == 36 and centre[1:7, 1:7].all()
    assert tile_region_mask((4, 4), (2, 2), "centre", 0.25).sum() == 16
    assert tile_region_mask((3,), (1,), "rim", 0.4).tolist() == [
        True,
        False,
        False,
        False,
        True,
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (("edge", 0.5), "region='edge' must be 'rim' or 'centre'"),
        (("rim", 1.0), "fraction=1.0 must lie strictly between 0 and 1"),
    ],
)
def test_mask_arguments_are_checked(args, message):
    with pytest.raises(ValueError, match=message):
        tile_region_mask((2, 2), (1, 1), *args)


def test_an_empty_mask_predicts_as_predict(linear_model):
    model, X, _ = linear_model
    empty = np.zeros((6, 6), dtype=bool)
    np.testing.assert_allclose(predict_blurred(model, X, empty), model.predict(X))
    with pytest.raises(ValueError, match=r"mask has shape \(5, 5\)"):
        predict_blurred(model, X, np.ones((5, 5), dtype=bool))


def test_blurred_prediction_is_the_model_on_blurred_tiles(linear_model):
    model, X, _ = linear_model
    mask = tile_region_mask(model.focus_, model.context_, "centre", 0.3)
    tiles = TileTransformer(f=2, c=2).fit_transform(X)  # (n, 16, 6, 6)
    blurred = ndimage.gaussian_filter(tiles, (0, 0, 1.5, 1.5), mode="nearest")
    tiles = np.where(mask, blurred, tiles)
    expected = model.estimator_.predict(tiles.reshape(-1, 36)).reshape(len(X), -1)
    np.testing.assert_allclose(
        predict_blurred(model, X, mask, sigma=1.5, batch_size=7),
        expected.sum(axis=1),
        rtol=1e-10,
    )
