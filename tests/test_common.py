"""scikit-learn's estimator checks, with the documented expected failures."""

from sklearn.linear_model import Ridge
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

from sklearn_ednn import EDNNRegressor, TileTransformer
from sklearn_ednn.utils.estimator_checks import expected_failed_checks


class TanhTileNet(nn.Module):
    """A custom tile module, sized from the data like skorch's InputShapeSetter."""

    def __init__(self, tile_shape, n_channels=1, n_outputs=1):
        super().__init__()
        size = n_channels * int(sum(tile_shape))
        self.layers = nn.Sequential(
            nn.Flatten(), nn.Linear(size, 16), nn.Tanh(), nn.Linear(16, n_outputs)
        )

    def forward(self, tiles):
        return self.layers(tiles)


@parametrize_with_checks(
    [
        EDNNRegressor(),
        EDNNRegressor(inference_dtype="float64"),
        EDNNRegressor(TanhTileNet, f=1, c=2),
        EDNNRegressor(Ridge()),
        EDNNRegressor(DecisionTreeRegressor()),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_ednn(estimator, check):
    check(estimator)


@parametrize_with_checks(
    [TileTransformer()], expected_failed_checks=expected_failed_checks
)
def test_sklearn_compatible_tile_transformer(estimator, check):
    check(estimator)
