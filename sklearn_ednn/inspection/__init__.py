"""Tools to read a fitted EDNN back as physics."""

from ._blur import predict_blurred, tile_region_mask
from ._couplings import effective_couplings

__all__ = ["effective_couplings", "predict_blurred", "tile_region_mask"]
