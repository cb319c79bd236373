"""Data augmentation by the symmetries of a periodic grid, for skorch training.

A periodic grid and its translates by whole pixels describe the same system,
and so do its mirror images when the physics has no handedness (Ising spins,
atoms under a Tersoff or DFT energy). Their extensive targets are equal, so a
training batch can be moved and mirrored at random for free. An EDNN is exactly
invariant to translations by whole focus regions only; the others move the
tile boundaries, and showing them to the network teaches it to split the
target the same way wherever the boundaries fall, instead of memorising where
the training grids' features sit.
"""

import torch
from torch.utils.data import default_collate

from ._batch import ATOM_KEYS, batch_atoms, batch_grids, with_grids

__all__ = ["PeriodicAugmentation"]


class PeriodicAugmentation:
    """Collate a skorch training batch, then translate and mirror each grid.

    Pass it as ``iterator_train__collate_fn`` of the skorch net (for example
    through :func:`~sklearn_ednn.make_tile_net`): every grid of every training
    batch is rolled by a random number of pixels along each spatial axis and,
    if ``flip``, mirrored along each spatial axis with probability 1/2. The
    random numbers come from torch's generator, which
    :class:`~sklearn_ednn.EDNNRegressor` seeds from its ``random_state``.

    Use it only for periodic grids (``padding="wrap"``) whose target does not
    change under these moves. Validation and prediction batches are not
    touched.

    A batch with force targets (a dict of the grids ``"X"`` and the atoms'
    ``atom_*`` arrays, which :meth:`EDNNRegressor.fit
    <sklearn_ednn.EDNNRegressor.fit>` builds when given ``forces``) moves
    each atom's Gaussian box with its grid, so the gathered image gradient
    still gives the forces on the atoms as they were, which are the targets.

    Parameters
    ----------
    shift : bool, default=True
        Roll every grid by a uniform random number of pixels per axis.
    flip : bool, default=True
        Mirror every grid along each axis with probability 1/2. Leave it off
        for chiral systems or targets that change sign under a mirror.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ednn import EDNNRegressor, make_tile_net
    >>> from sklearn_ednn.augmentation import PeriodicAugmentation
    >>> net = make_tile_net(
    ...     max_epochs=2, iterator_train__collate_fn=PeriodicAugmentation()
    ... )
    >>> rng = np.random.default_rng(0)
    >>> X = rng.choice([-1.0, 1.0], size=(32, 4, 4))
    >>> y = -(X * np.roll(X, 1, 1) + X * np.roll(X, 1, 2)).sum(axis=(1, 2))
    >>> EDNNRegressor(net, f=1, c=1, random_state=0).fit(X, y).predict(X).shape
    (32,)
    """

    def __init__(self, shift=True, flip=True):
        self.shift = shift
        self.flip = flip

    def __repr__(self):
        return f"{type(self).__name__}(shift={self.shift!r}, flip={self.flip!r})"

    def __call__(self, items):
        """Stack ``(X, y)`` items into a batch and move its grids at random.

        Parameters
        ----------
        items : list of (X_i, y_i)
            Samples from skorch's dataset; each ``X_i`` is one channel-last
            grid of shape ``(L1, ..., Ld, n_channels)``, or a dict of such a
            grid (``"X"``) with its sample weight (``"sample_weight"``)
            and/or its atoms' force targets (``"atom_*"``).

        Returns
        -------
        X : torch.Tensor of shape (batch, L1, ..., Ld, n_channels) or dict
            The moved grids; for dict samples a dict of the moved grids, the
            atoms' moved boxes and the other entries as they were.
        y : torch.Tensor
            The targets, unchanged.
        """
        batch, y = default_collate(items)
        # A batch may carry sample weights, force targets or both besides its
        # grids; only atoms move with the grids.
        atoms = batch_atoms(batch)
        X = batch_grids(batch)
        spatial = tuple(range(X.ndim - 2))
        grids = []
        for index, grid in enumerate(X):
            if self.shift:
                shifts = [int(torch.randint(grid.shape[axis], ())) for axis in spatial]
                grid = torch.roll(grid, shifts, dims=spatial)
                if atoms is not None:
                    atoms[ATOM_KEYS["start"]][index] += torch.as_tensor(shifts)
            if self.flip:
                axes = [axis for axis in spatial if bool(torch.rand(()) < 0.5)]
                if axes:
                    grid = torch.flip(grid, axes)
                    if atoms is not None:
                        _flip_boxes(atoms, index, axes, grid.shape)
            grids.append(grid)
        return with_grids(batch, torch.stack(grids)), y


def _flip_boxes(atoms, index, axes, shape):
    """Mirror the atoms' boxes of grid ``index`` along ``axes``, in place.

    Pixel ``p`` goes to ``L - 1 - p``, so a box of ``width`` pixels from
    ``start`` becomes one from ``L - width - start``, its factors reversed.
    """
    starts = atoms[ATOM_KEYS["start"]]
    factors = [atoms[ATOM_KEYS["factor"]], atoms[ATOM_KEYS["dfactor"]]]
    width = factors[0].shape[-1]
    for axis in axes:
        starts[index, :, axis] = shape[axis] - width - starts[index, :, axis]
        for factor in factors:
            factor[index, :, axis] = factor[index, :, axis].flip(-1)
