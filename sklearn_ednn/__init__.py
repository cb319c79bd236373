"""sklearn-ednn: Extensive Deep Neural Networks as scikit-learn estimators.

An EDNN (Mills et al., Chem. Sci. 2019) cuts a grid into tiles (focus ``f`` plus a
context border ``c``), scores every tile with one shared model and sums the scores,
so a model fitted on small systems predicts extensive quantities of systems of any
size.
"""

from ._estimator import EDNNRegressor
from ._fitted_tiling import FittedTiling
from ._persistence import ModelFileError, ModelVersionWarning, load, model_info, save
from ._tiling import TileTransformer, tiles_to_focus_grid
from ._torch import EDNNModule, TileCNN, TileFCN, TileMLP, make_tile_net

__version__ = "0.1.0.dev0"

__all__ = [
    "EDNNModule",
    "EDNNRegressor",
    "FittedTiling",
    "ModelFileError",
    "ModelVersionWarning",
    "TileCNN",
    "TileFCN",
    "TileMLP",
    "TileTransformer",
    "load",
    "make_tile_net",
    "model_info",
    "save",
    "tiles_to_focus_grid",
]
