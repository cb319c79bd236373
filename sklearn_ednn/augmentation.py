"""Data augmentation by the symmetries of a periodic grid, for skorch training."""

from ._torch._augmentation import PeriodicAugmentation

__all__ = ["PeriodicAugmentation"]
