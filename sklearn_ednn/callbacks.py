"""skorch callbacks for training tile networks."""

from ._torch._callbacks import CosineLR, RefitOutputLayer

__all__ = ["CosineLR", "RefitOutputLayer"]
