"""The torch solver behind ``EDNNRegressor.fit``.

:func:`fit_torch` fits the offsets and the target scale (or keeps a warm
start's), builds the one training batch (``_batch``), picks the loss (the
net's own, weighted, or with forces), seeds torch and lets skorch train.
"""

import contextlib
import math
import signal
import threading
import warnings

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn

from .._solver_result import SolverResult
from .._tiling import tiles_per_axis
from ._batch import ATOM_KEYS, build_batch
from ._force_loss import ForceEDNNModule, ForceMatchingLoss, check_force_targets
from ._losses import SampleWeightedLoss
from ._module import EDNNModule
from ._net import build_ednn_net, continue_training, fixed_seed
from ._target_units import LossInTargetUnits

__all__ = ["fit_offsets", "fit_target_transform", "fit_torch"]


def fit_offsets(grids, y, n_tiles, kind, sample_weight=None):
    """The offset of every tile, and its share of every training target.

    Parameters
    ----------
    grids : ndarray of shape (n_samples, L1, ..., Ld, n_channels)
        Channel-last training grids.
    y : ndarray of shape (n_samples, n_outputs)
        Extensive targets.
    n_tiles : int
        Tiles per training grid.
    kind : {"mean", "channel_totals"}
        See ``EDNNRegressor.offset``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Weights of a weighted fit.

    Returns
    -------
    tile_offset : ndarray of shape (n_outputs,)
        The intercept per tile.
    channel_offset : ndarray of shape (n_channels, n_outputs)
        The weights of the channel totals (zeros for ``"mean"``).
    summed : ndarray of shape (n_samples, n_outputs)
        The offset summed over each grid.
    """
    n_channels = grids.shape[-1]
    if kind == "mean":
        offset = np.average(y / n_tiles, axis=0, weights=sample_weight)
        return offset, np.zeros((n_channels, y.shape[1])), n_tiles * offset
    totals = grids.sum(axis=tuple(range(1, grids.ndim - 1)), dtype=np.float64)
    design = np.column_stack([np.full(len(totals), float(n_tiles)), totals])
    # Columns scaled to unit norm for the solve; a constant channel (or one
    # proportional to the tile count) gets the minimum-norm share.
    norms = np.linalg.norm(design, axis=0)
    norms[norms == 0] = 1.0
    # Weighted least squares: rows scaled by the square roots of the weights.
    rows = 1.0 if sample_weight is None else np.sqrt(sample_weight)[:, None]
    coef = np.linalg.lstsq(design / norms * rows, y * rows, rcond=None)[0]
    coef /= norms[:, None]
    return coef[0], coef[1:], design @ coef


def fit_target_transform(grids, y, n_tiles, kind, sample_weight=None):
    """The offsets and the scale of the network's targets.

    Parameters
    ----------
    grids, y, n_tiles, kind, sample_weight
        As for :func:`fit_offsets`.

    Returns
    -------
    tile_offset, channel_offset : ndarray
        From :func:`fit_offsets`.
    scale : ndarray of shape (n_outputs,)
        The standard deviation per tile of what the offsets leave, which sets
        the network's units (1 where that is zero).
    """
    offset, channel_offset, summed = fit_offsets(grids, y, n_tiles, kind, sample_weight)
    residual = (y - summed) / n_tiles
    mean = np.average(residual, axis=0, weights=sample_weight)
    spread = np.average((residual - mean) ** 2, axis=0, weights=sample_weight)
    scale = np.sqrt(spread)
    scale[~(scale > 1e-12 * np.maximum(1.0, np.abs(offset)))] = 1.0
    return offset, channel_offset, scale


def _seed(random_state, warm_start_from):
    """torch's seed for this fit: None leaves torch's generator as it is."""
    if random_state is None:
        return None
    rng = check_random_state(random_state)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    if warm_start_from is not None:
        # A continued fit draws new batches, not the first fit's again.
        done = len(warm_start_from.tile_model.history_)
        seed = (seed + done) % np.iinfo(np.int32).max
    return seed


def fit_torch(
    net,
    grids,
    y,
    *,
    focus,
    context,
    padding,
    offset="mean",
    forces=None,
    force_weight=3.0,
    sample_weight=None,
    random_state=None,
    warm_start_from=None,
):
    """Train a torch tile model with skorch on the loss of the sums.

    Parameters
    ----------
    net : skorch.NeuralNet
        The configured net whose module is the tile network; it is copied,
        not fitted in place.
    grids : ndarray of shape (n_samples, L1, ..., Ld, n_channels)
        Channel-last training grids.
    y : ndarray of shape (n_samples, n_outputs)
        Extensive targets, float64.
    focus, context : tuple of int
        Focus and context per spatial axis.
    padding : {"wrap", "zeros"}
        Padding mode.
    offset : {"mean", "channel_totals"}, default="mean"
        See ``EDNNRegressor.offset``.
    forces : ndarray, default=None
        Force targets from ``AtomImage.force_targets``.
    force_weight : float, default=3.0
        Weight of the forces in the loss (see ``EDNNRegressor``).
    sample_weight : ndarray of shape (n_samples,), default=None
        Checked weights of the grids.
    random_state : int, RandomState instance or None, default=None
        Seeds torch for the fit.
    warm_start_from : SolverResult, default=None
        A previous fit to continue: its net's weights and history, its
        offsets and scale are kept.

    Returns
    -------
    result : SolverResult
        The fitted net, the offsets and the scale.
    """
    n_channels, n_outputs = grids.shape[-1], y.shape[1]
    if forces is not None:
        forces = check_force_targets(
            forces, len(grids), len(focus), n_channels, n_outputs
        )
    if sample_weight is not None:
        # Mean 1: a batch's weighted loss then estimates the weighted mean
        # over all grids, on the scale of an unweighted one.
        sample_weight = sample_weight / sample_weight.mean()
    n_tiles = math.prod(tiles_per_axis(grids.shape[1:-1], focus))
    if warm_start_from is None:
        tile_offset, channel_offset, scale = fit_target_transform(
            grids, y, n_tiles, offset, sample_weight
        )
        with_channel_offset = offset != "mean"
    else:
        # Kept, so that the network's outputs go on meaning what they meant.
        tile_offset = warm_start_from.tile_offset
        channel_offset = warm_start_from.channel_offset
        scale = warm_start_from.tile_scale
        module = warm_start_from.tile_model.module_
        with_channel_offset = module.channel_offset is not None
    # The module adds the channel offset itself (in scaled units).
    target = ((y - n_tiles * tile_offset) / scale).astype(np.float32)
    net = build_ednn_net(
        net,
        focus=focus,
        context=context,
        padding=padding,
        n_channels=n_channels,
        n_outputs=n_outputs,
        channel_offset=channel_offset / scale if with_channel_offset else None,
        module_class=EDNNModule if forces is None else ForceEDNNModule,
    )
    if forces is not None:
        _warn_non_smooth_activations(net)
        # Forces in the same units as the scaled energies.
        key = ATOM_KEYS["force"]
        forces = {**forces, key: (forces[key] / scale[0]).astype(np.float32)}
        net.set_params(
            criterion=ForceMatchingLoss, criterion__force_weight=force_weight
        )
    elif sample_weight is not None:
        # The net's own criterion, per grid, averaged with the weights.
        net.set_params(criterion=SampleWeightedLoss, criterion__loss=net.criterion)
    if isinstance(net.callbacks, list):
        # The epoch table then shows the loss in the target's units too.
        unit_callback = ("loss_in_target_units", LossInTargetUnits(scale))
        net.set_params(callbacks=[*net.callbacks, unit_callback])
    X = build_batch(grids, sample_weight, forces)
    with fixed_seed(_seed(random_state, warm_start_from)), _user_interrupts() as user:
        if warm_start_from is None:
            net.fit(X, target)
        else:
            continue_training(net, warm_start_from.tile_model, X, target)
    if user.interrupted:
        # skorch stops training on Ctrl-C and returns; the fit must not then
        # replace the fitted model with a half-trained one.
        raise KeyboardInterrupt("training interrupted; the fitted model is unchanged")
    return SolverResult(net, tile_offset, channel_offset, scale)


class _Interrupts:
    interrupted = False


@contextlib.contextmanager
def _user_interrupts():
    """Note a Ctrl-C (SIGINT) inside the block, which skorch swallows.

    skorch ends training on a KeyboardInterrupt, the way its early-stopping
    callbacks stop it too; only a real SIGINT marks the fit as interrupted.
    Outside the main thread signals cannot be watched, and nothing is noted.
    """
    state = _Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        state.interrupted = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        # None: a handler not set from Python, which cannot be put back.
        signal.signal(
            signal.SIGINT, signal.default_int_handler if previous is None else previous
        )


# Activations whose derivative jumps: forces -dE/dR through them are not continuous.
_NON_SMOOTH = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardshrink,
    nn.Softshrink,
    nn.Threshold,
)


def _warn_non_smooth_activations(net):
    """Warn before a force fit when the tile network has kinks in its activations."""
    # Built only to look at its layers; the random generators are left as
    # they were, so the fit draws the same weights with or without the check.
    with torch.random.fork_rng():
        module = net.module(**net.get_params_for("module"))
    kinked = sorted(
        {type(m).__name__ for m in module.modules() if isinstance(m, _NON_SMOOTH)}
    )
    if kinked:
        warnings.warn(
            f"Fitting forces through {', '.join(kinked)} activations: their "
            "derivative jumps, so the forces -dE/dR of the fitted energy are "
            "discontinuous and the force loss sees no curvature. Use a smooth "
            "activation such as torch.nn.SiLU (module__activation=torch.nn.SiLU).",
            UserWarning,
            stacklevel=4,
        )
