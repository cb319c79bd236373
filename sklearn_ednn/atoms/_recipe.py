"""The recommended EDNN for images of atoms: a ready configuration to start from."""

from torch import nn

from .._estimator import EDNNRegressor
from .._torch import TileCNN, TileFCN, make_tile_net
from .._torch._augmentation import PeriodicAugmentation
from .._torch._callbacks import CosineLR, RefitOutputLayer

__all__ = ["make_atoms_ednn"]


def make_atoms_ednn(
    *,
    f=16,
    c=16,
    max_epochs=60,
    batch_size=16,
    lr=1e-3,
    width=0.5,
    network="cnn",
    refit_folds=5,
    random_state=0,
    verbose=0,
):
    """An EDNN configured for energies of atoms drawn by :class:`AtomImage`.

    The tile model is the paper's 13-convolution :class:`~sklearn_ednn.TileCNN`
    at ``width`` (``network="cnn"``), or a :class:`~sklearn_ednn.TileFCN` of
    ``64 * width`` filters after two reducing levels (``network="fcn"``), which
    scores a whole grid at fully convolutional cost: the one for the largest
    structures, and the cheaper one to train. Both use
    SiLU activations (smooth, so forces are continuous) and are trained by
    Adam with a cosine learning-rate schedule on batches moved and
    mirrored at random (:class:`~sklearn_ednn.augmentation.PeriodicAugmentation`),
    then its output layer refitted by ridge regression with the penalty chosen
    on ``refit_folds`` contiguous folds. The network learns the energy less a
    reference energy per atom of each element (``offset="channel_totals"``),
    so the image must have one channel per element (``AtomImage(species=...)``).

    Parameters
    ----------
    f, c : int, default=16
        Focus and context in pixels. Choose the context from the range of the
        interaction: for Tersoff-like potentials about two bonds.
    max_epochs : int, default=60
        Training epochs.
    batch_size : int, default=16
        Grids per batch.
    lr : float, default=1e-3
        Peak learning rate of Adam.
    width : float, default=0.5
        Width multiplier of the tile CNN (1.0 is the paper's); for
        ``network="fcn"``, the filters of its convolutions over 64.
    network : {"cnn", "fcn"}, default="cnn"
        The tile network: :class:`~sklearn_ednn.TileCNN` or
        :class:`~sklearn_ednn.TileFCN`.
    refit_folds : int or None, default=5
        Contiguous folds for the output layer's ridge penalty; neighbouring
        molecular-dynamics snapshots are near copies, so leave-one-out
        (None) would pick no penalty.
    random_state : int, RandomState instance or None, default=0
        Seeds the fit.
    verbose : int, default=0
        Verbosity of the skorch net: 1 prints the loss every epoch.

    Returns
    -------
    model : EDNNRegressor
        Unfitted; put it after an :class:`AtomImage` in a pipeline, or fit it
        on images. Every setting stays tunable (``estimator__lr``, ``f``, ...).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_ednn.atoms import AtomImage, make_atoms_ednn
    >>> from sklearn_ednn.datasets import sheet_cell
    >>> resolution = tuple(sheet_cell().cell.lengths()[:2] / 64)
    >>> model = make_pipeline(
    ...     AtomImage(resolution, species=(5, 6, 7)), make_atoms_ednn(max_epochs=2)
    ... )
    >>> model[-1].get_params()["estimator__max_epochs"]
    2
    """
    if network not in ("cnn", "fcn"):
        raise ValueError(f"network={network!r} must be 'cnn' or 'fcn'.")
    if network == "cnn":
        module, size = TileCNN, {"module__width": width}
    else:
        # Up to two reducing levels: the layers after them run on a quarter
        # (then a sixteenth) of the pixels, where most of the atoms' work is.
        levels = next(n for n in (2, 1, 0) if f % 2**n == 0 and 2 * c % 2**n == 0)
        module = TileFCN
        size = {"module__filters": max(1, round(64 * width)), "module__levels": levels}
    net = make_tile_net(
        module,
        **size,
        module__activation=nn.SiLU,
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr=lr,
        callbacks=[
            ("lr_scheduler", CosineLR()),
            ("refit_output", RefitOutputLayer(cv=refit_folds)),
        ],
        iterator_train__collate_fn=PeriodicAugmentation(),
        verbose=verbose,
    )
    return EDNNRegressor(
        net,
        f=f,
        c=c,
        channels=True,
        offset="channel_totals",
        random_state=random_state,
    )
