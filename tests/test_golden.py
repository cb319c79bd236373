"""Golden references (see ``_golden.py``) and parity between backends.

Tolerances, written once: a saved model scores in float64, so its outputs may
move only by round-off (``INFERENCE_RTOL``); fitting again repeats float32
training, which another torch build or thread count changes at round-off,
amplified over the epochs (``TORCH_FIT_RTOL``); the classical solvers fit in
float64 (``CLASSICAL_FIT_RTOL``).
"""

import numpy as np
import pytest
import torch
from _golden import FOLDER, KINDS, fit, ising_data, outputs
from sklearn.linear_model import Ridge
from torch import nn

from sklearn_ednn import EDNNRegressor, TileTransformer, load, make_tile_net

INFERENCE_RTOL = 1e-10
TORCH_FIT_RTOL = 1e-3
CLASSICAL_FIT_RTOL = 1e-10


@pytest.fixture(scope="module")
def references():
    with np.load(FOLDER / "references.npz") as saved:
        return {key: saved[key] for key in saved.files}


@pytest.mark.parametrize("kind", KINDS)
def test_saved_models_still_give_their_references(kind, references):
    model = load(FOLDER / f"{kind}.ednn")
    for name, value in outputs(kind, model).items():
        np.testing.assert_allclose(
            value,
            references[f"{kind}/{name}"],
            rtol=INFERENCE_RTOL,
            atol=1e-12,
            err_msg=f"{kind}/{name}",
        )


@pytest.mark.parametrize("kind", KINDS)
def test_fitting_again_gives_the_golden_models(kind, references):
    rtol = CLASSICAL_FIT_RTOL if kind in ("linear", "boosting") else TORCH_FIT_RTOL
    predicted = outputs(kind, fit(kind))["predict"]
    np.testing.assert_allclose(predicted, references[f"{kind}/predict"], rtol=rtol)


class _LinearTile(nn.Module):
    """A tile network that is one linear map of the tile's pixels."""

    def __init__(self, tile_shape=(3, 3), n_channels=1, n_outputs=1):
        super().__init__()
        self.linear = nn.Linear(n_channels * int(np.prod(tile_shape)), n_outputs)

    def forward(self, tiles):
        return self.linear(tiles.flatten(1))


def test_torch_linear_and_numpy_paths_are_one_function():
    """The linear solver's coefficients, put into a one-layer torch tile network
    and applied by hand to the tiles, give the same predictions."""
    X, y, _, large = ising_data()
    linear = EDNNRegressor(Ridge(alpha=1e-3), f=2, c=1).fit(X, y)
    coef, intercept = linear.estimator_.coef_, linear.estimator_.intercept_
    # numpy: every tile's pixels, in (channel, w1, w2) order, times the weights.
    tiles = TileTransformer(f=2, c=1).fit(X).transform(large)
    by_hand = (tiles.reshape(len(large), -1, coef.size) @ coef + intercept).sum(1)
    np.testing.assert_allclose(linear.predict(large), by_hand, rtol=1e-12)
    # torch: the same map as the tile network's only layer.
    net = make_tile_net(
        _LinearTile,
        max_epochs=1,
        callbacks=[("lr_scheduler", None), ("refit_output", None)],
    )
    torch_model = EDNNRegressor(
        net, f=2, c=1, random_state=0, inference_dtype="float64"
    ).fit(X, y)
    # In float64, so that the coefficients are not rounded to float32.
    layer = torch_model.estimator_.module_.double().tile_module.linear
    scale, offset = torch_model.tile_scale_[0], torch_model.tile_offset_[0]
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(coef / scale)[None])
        layer.bias.fill_(float((intercept - offset) / scale))
    np.testing.assert_allclose(torch_model.predict(large), by_hand, rtol=1e-12)
