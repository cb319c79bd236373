"""The batch schema: what skorch hands an EDNN module, under which names.

:func:`build_batch` makes the training input of every torch fit: the grids
alone, or a dict of the grids (:data:`GRIDS`) with each grid's weight
(:data:`SAMPLE_WEIGHT`) and its atoms' force targets (:data:`ATOM_KEYS`).
skorch batches every entry alike and passes a dict's entries to the module's
``forward`` as keywords, so these names are also ``forward``'s arguments. The
module, the losses, :class:`~sklearn_ednn.callbacks.RefitOutputLayer` and
:class:`~sklearn_ednn.augmentation.PeriodicAugmentation` read a batch only
through the functions below.
"""

from collections.abc import Mapping

import numpy as np

__all__ = [
    "ATOM_FIELDS",
    "ATOM_KEYS",
    "GRIDS",
    "SAMPLE_WEIGHT",
    "batch_atoms",
    "batch_grids",
    "batch_sample_weight",
    "build_batch",
    "with_grids",
]

GRIDS = "X"
SAMPLE_WEIGHT = "sample_weight"
# The fields of AtomImage.force_targets, and their names in a batch.
ATOM_FIELDS = ("present", "channel", "weight", "start", "factor", "dfactor", "force")
ATOM_KEYS = {field: f"atom_{field}" for field in ATOM_FIELDS}


def build_batch(grids, sample_weight=None, atoms=None):
    """The input that skorch trains an EDNN module on.

    Parameters
    ----------
    grids : ndarray of shape (n_samples, L1, ..., Ld, n_channels)
        Channel-last training grids.
    sample_weight : ndarray of shape (n_samples,), default=None
        Each grid's weight in the loss.
    atoms : dict of str to ndarray, default=None
        Force targets keyed by :data:`ATOM_KEYS`, one row per grid.

    Returns
    -------
    X : ndarray or dict of str to ndarray
        A writable float32 copy of the grids (torch cannot wrap read-only
        memory maps), or a dict of it and the other entries.
    """
    X = np.array(grids, dtype=np.float32)
    extra = {}
    if sample_weight is not None:
        extra[SAMPLE_WEIGHT] = np.asarray(sample_weight, dtype=np.float32)
    if atoms is not None:
        extra.update(atoms)
    return {GRIDS: X, **extra} if extra else X


def batch_grids(X):
    """The grids of a batch (or of a whole training input).

    Parameters
    ----------
    X : array-like, torch.Tensor or dict
        As built by :func:`build_batch`, or batched by skorch.

    Returns
    -------
    grids : array-like or torch.Tensor
        The grids alone.
    """
    return X[GRIDS] if isinstance(X, Mapping) else X


def batch_sample_weight(X):
    """The grids' weights of a batch, or None when it has none.

    Parameters
    ----------
    X : array-like, torch.Tensor or dict
        As built by :func:`build_batch`, or batched by skorch.

    Returns
    -------
    weight : array-like, torch.Tensor or None
        One weight per grid.
    """
    return X.get(SAMPLE_WEIGHT) if isinstance(X, Mapping) else None


def batch_atoms(X):
    """The batch's entries when it carries force targets, else None.

    Parameters
    ----------
    X : array-like, torch.Tensor or dict
        As built by :func:`build_batch`, or batched by skorch.

    Returns
    -------
    batch : dict or None
        ``X`` itself, whose :data:`ATOM_KEYS` entries hold the atoms.
    """
    if isinstance(X, Mapping) and ATOM_KEYS["start"] in X:
        return X
    return None


def with_grids(X, grids):
    """A batch like ``X`` with its grids replaced by ``grids``.

    Parameters
    ----------
    X : array-like, torch.Tensor or dict
        A batch.
    grids : array-like or torch.Tensor
        The new grids.

    Returns
    -------
    batch : array-like, torch.Tensor or dict
        ``grids`` for a plain batch; a new dict with every other entry kept.
    """
    return {**X, GRIDS: grids} if isinstance(X, Mapping) else grids
