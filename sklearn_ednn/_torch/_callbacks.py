"""skorch callbacks for training tile networks."""

import warnings

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from skorch.callbacks import Callback, LRScheduler
from skorch.utils import to_numpy, to_tensor
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR

__all__ = ["CosineLR", "RefitOutputLayer"]


class CosineLR(LRScheduler):
    """Cosine annealing of the learning rate over the net's ``max_epochs``.

    A skorch :class:`~skorch.callbacks.LRScheduler` running
    :class:`torch.optim.lr_scheduler.CosineAnnealingLR` whose period is read
    from the net when training starts, so it follows ``max_epochs`` when that
    is changed with ``set_params`` or tuned in a grid search. The learning rate
    falls from the optimizer's ``lr`` to ``eta_min`` over the whole run, one
    step per epoch. Every run starts the schedule again: a ``partial_fit``
    that continues training (or ``EDNNRegressor(warm_start=True)``) anneals
    once more over ``max_epochs``, from the optimizer's ``lr``.

    Parameters
    ----------
    eta_min : float, default=0.0
        Learning rate at the end of training.
    **kwargs : dict
        Further :class:`~skorch.callbacks.LRScheduler` arguments
        (``event_name``, ``monitor``). ``policy`` is always
        ``CosineAnnealingLR`` and ``step_every`` always ``"epoch"``; they are
        accepted so that cloning works.

    Examples
    --------
    >>> from sklearn_ednn import make_tile_net
    >>> from sklearn_ednn.callbacks import CosineLR
    >>> net = make_tile_net(
    ...     max_epochs=30, callbacks__lr_scheduler=CosineLR(eta_min=1e-5)
    ... )
    """

    def __init__(self, eta_min=0.0, **kwargs):
        policy = kwargs.pop("policy", CosineAnnealingLR)
        step_every = kwargs.pop("step_every", "epoch")
        if policy is not CosineAnnealingLR or step_every != "epoch":
            raise ValueError(
                f"CosineLR anneals once per epoch with CosineAnnealingLR; got "
                f"policy={policy!r}, step_every={step_every!r}."
            )
        super().__init__(
            policy=policy, step_every=step_every, eta_min=eta_min, **kwargs
        )

    def _get_scheduler(self, net, policy, **scheduler_kwargs):
        scheduler_kwargs["T_max"] = max(1, net.max_epochs)
        # Every training run anneals once from the optimizer's lr, a continued
        # one (partial_fit, a warm start) too: skorch's default would resume
        # the schedule past its end, where a cosine climbs again.
        scheduler_kwargs["last_epoch"] = -1
        for group in net.optimizer_.param_groups:
            if "initial_lr" in group:
                group["lr"] = group["initial_lr"]
        return super()._get_scheduler(net, policy, **scheduler_kwargs)


class RefitOutputLayer(Callback):
    """Refit the tile network's output layer by regularised least squares.

    An EDNN's prediction is linear in the weights of the tile network's last
    ``torch.nn.Linear`` layer: with ``h(t)`` that layer's input for tile ``t``,
    the total is ``W @ sum_t h(t) + n_tiles * b``. When training ends, this
    callback sums ``h`` over the tiles of every training grid and solves, in
    closed form and float64, for the correction to ``W`` and ``b`` that best
    fits the training targets, keeping the rest of the network as trained.

    Stochastic optimisers leave a small error in the per-tile offset ``b`` that
    hardly shows on the training grids but is multiplied by the number of tiles
    on a large grid: an offset error of 1e-5 per tile is 0.0006 on an 8x8 grid
    and 0.16 on a 128x128 one. The solve removes it.

    The correction is a ridge regression of the training residuals, so it
    shrinks toward the trained weights, and its penalty is chosen from
    ``alphas`` by efficient leave-one-out cross-validation
    (:class:`~sklearn.linear_model.RidgeCV`): with many more grids than
    weights it is an exact least-squares fit; with few, a large penalty keeps
    the network as trained instead of interpolating the training set.

    Parameters
    ----------
    alphas : array-like of float, default=numpy.logspace(-10, 4, 15)
        Candidate penalties, relative to the mean diagonal of the normal
        equations.
    cv : int, cross-validation generator or None, default=None
        How the penalty is chosen. None: efficient leave-one-out. An int or a
        splitter: that cross-validation over the training grids in their
        order (an int gives contiguous, unshuffled folds). Use folds when
        neighbouring grids are near copies of each other, such as snapshots
        of one molecular-dynamics run: leave-one-out then sees a near copy of
        every left-out grid, prefers too small a penalty and lets the refit
        fit noise.

    Attributes
    ----------
    alpha_ : float
        The chosen relative penalty.
    loss_before_, loss_after_ : float
        Mean squared error on the training data before and after the refit,
        in the network's (scaled) target units. The three are also recorded
        in the net's history as ``refit_alpha``, ``refit_loss_before`` and
        ``refit_loss_after``.

    Notes
    -----
    The refit uses the training part of the data (``net.train_split`` applied
    to the data given to ``fit``). It requires that the tile network's output
    is its last ``torch.nn.Linear`` layer, as in
    :class:`~sklearn_ednn.TileMLP` and :class:`~sklearn_ednn.TileCNN`; for
    any other network it warns and leaves the network as trained. With
    ``EDNNRegressor.fit(..., sample_weight=...)`` the solve and the two
    losses are weighted alike.

    A network trained on forces as well (``EDNNRegressor.fit(...,
    forces=...)``) is left as trained: a refit to the energies alone would
    undo part of the force fit.

    Examples
    --------
    It is one of :func:`~sklearn_ednn.make_tile_net`'s default callbacks;
    to train without it, drop it by name:

    >>> from sklearn_ednn import make_tile_net
    >>> net = make_tile_net(callbacks__refit_output=None)
    """

    def __init__(self, alphas=None, cv=None):
        self.alphas = alphas
        self.cv = cv

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Solve for the output layer on the training data.

        Parameters
        ----------
        net : skorch.NeuralNet
            The trained net; its module is an :class:`~sklearn_ednn.EDNNModule`.
        X, y : array-like, default=None
            The data given to ``fit`` (targets already scaled by the estimator).
        **kwargs : dict
            Other arguments skorch passes to callbacks; unused.
        """
        if X is None or y is None or not len(net.history):
            # No data, or no epoch ran (max_epochs=0): nothing was trained.
            return
        if getattr(net.module_, "fits_forces", False):
            return
        dataset, _ = net.get_split_datasets(X, y)
        try:
            layer = _output_layer(net.module_)
            inputs, totals, targets, weight = _summed_layer_inputs(net, layer, dataset)
        except _NoOutputLayer as error:
            warnings.warn(f"{error} The network is left as trained.", stacklevel=2)
            return
        summed, n_tiles = inputs
        if layer.bias is not None:
            # The bias is added once per tile: its feature is the tile count.
            summed = np.hstack([summed, n_tiles[:, None]])
        alphas = np.logspace(-10, 4, 15) if self.alphas is None else self.alphas
        scale = np.mean(summed**2) * len(summed)
        ridge = RidgeCV(
            alphas=np.asarray(alphas) * scale, fit_intercept=False, cv=self.cv
        )
        ridge.fit(summed, targets - totals, sample_weight=weight)
        correction = ridge.coef_.reshape(targets.shape[1], -1)
        self.alpha_ = float(ridge.alpha_ / scale)
        after = totals + summed @ correction.T
        self.loss_before_ = _mean_squared_error(totals, targets, weight)
        self.loss_after_ = _mean_squared_error(after, targets, weight)
        net.history.record("refit_alpha", self.alpha_)
        net.history.record("refit_loss_before", self.loss_before_)
        net.history.record("refit_loss_after", self.loss_after_)
        n_in = layer.in_features
        correction = torch.as_tensor(correction, device=layer.weight.device)
        with torch.no_grad():
            layer.weight.copy_(layer.weight.double() + correction[:, :n_in])
            if layer.bias is not None:
                layer.bias.copy_(layer.bias.double() + correction[:, n_in])


def _mean_squared_error(predicted, targets, weight):
    """Mean squared error over samples (weighted) and outputs."""
    squared = np.mean((predicted - targets) ** 2, axis=1)
    return float(np.average(squared, weights=weight))


class _NoOutputLayer(ValueError):
    """The tile network has no final linear layer that the refit can solve."""


def _output_layer(module):
    """The last ``torch.nn.Linear`` of an EDNN module's tile network."""
    tile_module = getattr(module, "tile_module", module)
    linears = [m for m in tile_module.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise _NoOutputLayer(
            f"RefitOutputLayer needs a tile network ending in a torch.nn.Linear "
            f"layer; {type(tile_module).__name__} has none."
        )
    return linears[-1]


def _channel_offset_sum(net, X):
    """The fixed channel-offset part of an EDNN module's totals (float64)."""
    offset_sum = getattr(net.module_, "channel_offset_sum", None)
    if offset_sum is None:
        return 0.0
    with torch.no_grad():
        return offset_sum(to_tensor(X, device=net.device).double())


def _summed_layer_inputs(net, layer, dataset):
    """Inputs of ``layer`` summed over each grid's tiles, with the net's totals.

    Returns ``(inputs, n_tiles), totals, targets`` as float64 arrays and the
    grids' weights (None when the data has no ``sample_weight`` key),
    checking on the way that ``layer``'s summed output is the network's
    prediction.
    """
    captured = []
    handle = layer.register_forward_hook(
        lambda module, args, output: captured.append((args[0], output))
    )
    inputs, n_tiles, totals, targets, weights = [], [], [], [], []
    try:
        for batch in net.get_iterator(dataset, training=False):
            # The module knows where a batch keeps its grids and weights.
            grids = net.module_.batch_grids(batch[0])
            weight = net.module_.batch_sample_weight(batch[0])
            if weight is not None:
                weights.append(to_numpy(weight))
            captured.clear()
            total = net.evaluation_step(batch, training=False)
            if len(captured) != 1:
                raise _NoOutputLayer(
                    f"RefitOutputLayer expected the output layer to run once "
                    f"per batch; it ran {len(captured)} times."
                )
            layer_in, layer_out = captured[0]
            n_samples = total.shape[0]
            per_grid = layer_in.shape[0] // n_samples
            layer_total = layer_out.reshape(n_samples, per_grid, -1).sum(dim=1)
            # Less the fixed channel offset, which no layer's weights change;
            # the float32 total carries round-off relative to its own size.
            total_64 = total.double().reshape(n_samples, -1)
            from_layer = total_64 - _channel_offset_sum(net, grids)
            bound = 1e-4 * from_layer.abs() + 1e-5 + 1e-6 * total_64.abs()
            if (
                layer_total.shape != from_layer.shape
                or ((layer_total.double() - from_layer).abs() > bound).any()
            ):
                raise _NoOutputLayer(
                    "RefitOutputLayer needs the tile network's last torch.nn.Linear "
                    "to be its output layer; its summed output is not the "
                    "network's prediction."
                )
            # Summed in float64: a grid may have many tiles.
            summed = layer_in.double().reshape(n_samples, per_grid, -1).sum(dim=1)
            inputs.append(summed.cpu().numpy())
            n_tiles.append(np.full(n_samples, per_grid, dtype=np.float64))
            totals.append(total.double().cpu().numpy().reshape(n_samples, -1))
            target = torch.as_tensor(batch[1]).double().cpu().numpy()
            targets.append(target.reshape(n_samples, -1))
    finally:
        handle.remove()
    return (
        (np.concatenate(inputs), np.concatenate(n_tiles)),
        np.concatenate(totals),
        np.concatenate(targets),
        np.concatenate(weights).astype(np.float64) if weights else None,
    )
