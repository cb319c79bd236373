"""Tools to read a fitted EDNN back as physics."""

from ._couplings import effective_couplings

__all__ = ["effective_couplings"]
