"""Tools to read a fitted EDNN back as physics."""

from ._blur import predict_blurred, tile_region_mask
from ._couplings import effective_couplings
from ._display import ContributionMapDisplay

__all__ = [
    "ContributionMapDisplay",
    "effective_couplings",
    "predict_blurred",
    "tile_region_mask",
]
