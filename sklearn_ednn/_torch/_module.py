"""The EDNN torch module: tile a batch of grids, score every tile, sum per grid.

:class:`EDNNModule` wraps a tile network: it pads and unfolds a batch of grids
into tiles (the same tiles as :class:`~sklearn_ednn.TileTransformer`, see
:func:`~sklearn_ednn._tiling.torch_tiles`), scores all of them in one call and
sums per sample, so a plain skorch ``NeuralNetRegressor`` trains it with the
MSE of the sum. :class:`TorchTileScorer` scores numpy tiles with a fitted one at
predict time.
"""

import copy
import inspect
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .._tiling import focus_sums, tile_shape, torch_pad, torch_tiles, unpadded
from ._batch import batch_grids, batch_sample_weight

__all__ = ["EDNNModule", "TorchTileScorer", "TrainingOutput", "module_device"]


class TrainingOutput(NamedTuple):
    """What an EDNN module returns in training when the loss needs more than totals.

    skorch hands the module's output to the criterion as it is, so the
    per-sample weights and force residuals of a batch travel with the totals
    (:class:`~sklearn_ednn._sample_weight.SampleWeightedLoss`,
    :class:`~sklearn_ednn._forces.ForceMatchingLoss`). Prediction, the output
    layer's refit and validation (gradients off) get the totals alone.

    Attributes
    ----------
    totals : torch.Tensor of shape (n_samples, n_outputs)
        Sum of the tile contributions of each grid.
    sample_weight : torch.Tensor of shape (n_samples,) or None
        Each grid's weight in the loss, None for equal weights.
    force_residuals : torch.Tensor of shape (n_samples, n_atoms, d) or None
        Predicted minus target forces (zero for padding), when training on
        forces.
    atom_present : torch.Tensor of shape (n_samples, n_atoms, 1) or None
        1 for real atoms and 0 for padding, with ``force_residuals``.
    """

    totals: torch.Tensor
    sample_weight: torch.Tensor | None = None
    force_residuals: torch.Tensor | None = None
    atom_present: torch.Tensor | None = None


def _accepted_kwargs(module_class, candidates):
    """The entries of ``candidates`` that ``module_class.__init__`` accepts."""
    try:
        parameters = inspect.signature(module_class).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(candidates)
    return {k: v for k, v in candidates.items() if k in parameters}


class EDNNModule(nn.Module):
    """Sum a tile network's contributions over the tiles of each grid.

    Parameters
    ----------
    tile_module : type of torch.nn.Module or torch.nn.Module
        The tile network. A class is instantiated with ``tile_kwargs`` plus
        whichever of ``tile_shape``, ``n_channels`` and ``n_outputs`` its
        constructor accepts and ``tile_kwargs`` does not set. An instance is
        deep-copied, so the caller's module is never trained in place.
    ednn_focus, ednn_context : tuple of int
        Focus and context per spatial axis.
    ednn_padding : {"wrap", "zeros"}
        Padding mode.
    ednn_n_channels : int
        Number of channels of the grids.
    ednn_n_outputs : int
        Number of outputs per tile.
    ednn_channel_offset : array-like of shape (n_channels, n_outputs), default=None
        Fixed weights added to every tile's output per unit of its focus
        region's channel totals (see :meth:`channel_offset_sum`); None adds
        nothing. Kept as a buffer: it is not trained.
    **tile_kwargs : dict
        Arguments of the tile network's constructor (skorch's ``module__*``).

    Notes
    -----
    The ``ednn_`` prefix keeps these names apart from the tile network's own
    arguments, which skorch routes here through the same ``module__`` prefix.
    """

    def __init__(
        self,
        tile_module,
        *,
        ednn_focus,
        ednn_context,
        ednn_padding,
        ednn_n_channels,
        ednn_n_outputs,
        ednn_channel_offset=None,
        **tile_kwargs,
    ):
        super().__init__()
        if ednn_channel_offset is None:
            self.channel_offset = None
        else:
            offset = torch.as_tensor(ednn_channel_offset, dtype=torch.float64)
            self.register_buffer(
                "channel_offset", offset.reshape(ednn_n_channels, ednn_n_outputs)
            )
        self.focus = tuple(ednn_focus)
        self.context = tuple(ednn_context)
        self.padding = ednn_padding
        self.n_outputs = ednn_n_outputs
        if isinstance(tile_module, nn.Module):
            if tile_kwargs:
                tile_module = type(tile_module)(**tile_kwargs)
            else:
                tile_module = copy.deepcopy(tile_module)
        else:
            sizes = {
                "tile_shape": tile_shape(self.focus, self.context),
                "focus": self.focus,
                "n_channels": ednn_n_channels,
                "n_outputs": ednn_n_outputs,
            }
            sizes = _accepted_kwargs(tile_module, sizes)
            tile_module = tile_module(**{**sizes, **tile_kwargs})
        self.tile_module = tile_module

    @staticmethod
    def batch_grids(X):
        """Return the grids of a training batch (see ``_batch.build_batch``).

        Parameters
        ----------
        X : torch.Tensor or dict
            A batch as skorch hands it to the module.

        Returns
        -------
        grids : torch.Tensor
            The grids alone.
        """
        return batch_grids(X)

    @staticmethod
    def batch_sample_weight(X):
        """Return the grids' weights of a training batch, or None.

        Parameters
        ----------
        X : torch.Tensor or dict
            A batch as skorch hands it to the module.

        Returns
        -------
        weight : torch.Tensor or None
            One weight per grid.
        """
        return batch_sample_weight(X)

    def score_tiles(self, tiles):
        """Score a flat batch of tiles.

        Parameters
        ----------
        tiles : torch.Tensor of shape (n_tiles, n_channels, w1, ..., wd)
            The tiles.

        Returns
        -------
        contributions : torch.Tensor of shape (n_tiles, n_outputs)
            The tile network's output, checked for shape, plus the channel
            offset of each tile's focus region when there is one.
        """
        out = self.tile_module(tiles)
        if self.fully_convolutional:
            # A map over one position per tile: (n_tiles, n_outputs, 1, ..., 1).
            out = out.reshape(out.shape[0], out.shape[1], -1)[..., 0]
        if out.ndim == 1:
            out = out[:, None]
        if out.shape != (tiles.shape[0], self.n_outputs):
            raise ValueError(
                f"The tile network returned shape {tuple(out.shape)} for "
                f"{tiles.shape[0]} tiles; expected ({tiles.shape[0]}, "
                f"{self.n_outputs}): one value per tile and output."
            )
        if self.channel_offset is not None:
            focus = tiles[
                (slice(None), slice(None))
                + tuple(slice(c, c + f) for f, c in zip(self.focus, self.context))
            ]
            out = out + self._offset(focus.sum(dim=tuple(range(2, tiles.ndim))))
        return out

    @property
    def fully_convolutional(self):
        """Whether the tile network scores whole padded grids (see ``TileFCN``)."""
        return bool(getattr(self.tile_module, "fully_convolutional", False))

    def score_padded(self, padded):
        """Score every tile of padded grids at once, with no tile cut out.

        Only for a fully convolutional tile network (:attr:`fully_convolutional`),
        whose output on a padded grid is the map of its tiles' contributions.

        Parameters
        ----------
        padded : torch.Tensor of shape (n, L1 + 2 c1, ..., Ld + 2 cd, n_channels)
            Channel-last grids padded by the context (or bands of them with
            their halo).

        Returns
        -------
        contributions : torch.Tensor of shape (n, T1, ..., Td, n_outputs)
            Every tile's score, channel offset included: what
            :meth:`score_tiles` gives for each tile.
        """
        # A copy with the usual strides: moved from channel-last, a one-channel
        # grid keeps strides that look channels-last, which oneDNN's float32
        # convolutions misread (wrong values, seen with 3-D grids in torch 2.13).
        grids = torch.movedim(padded, -1, 1).clone(
            memory_format=torch.contiguous_format
        )
        maps = self.tile_module(grids)
        contributions = torch.movedim(maps, 1, -1)
        if self.channel_offset is not None:
            regions = focus_sums(unpadded(padded, self.context), self.focus)
            contributions = contributions + self._offset(regions)
        return contributions

    def _offset(self, channel_totals):
        """The channel offset of regions with ``channel_totals`` (n, n_channels)."""
        return channel_totals @ self.channel_offset.to(channel_totals.dtype)

    def channel_offset_sum(self, X):
        """The part of :meth:`forward` that the channel offset gives.

        Every position of a grid lies in exactly one focus region, so the
        offsets of all its tiles add up to the offset of its channel totals.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, L1, ..., Ld, n_channels)
            The grids.

        Returns
        -------
        offsets : torch.Tensor of shape (n_samples, n_outputs)
            Zeros when the module has no channel offset.
        """
        if self.channel_offset is None:
            return X.new_zeros((X.shape[0], self.n_outputs))
        return self._offset(X.sum(dim=tuple(range(1, X.ndim - 1))))

    def forward(self, X, sample_weight=None):
        """Predict the (scaled) extensive targets of a batch of grids.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, L1, ..., Ld, n_channels)
            The grids.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Each grid's weight in the loss (the ``sample_weight`` key of the
            dict that :meth:`EDNNRegressor.fit <sklearn_ednn.EDNNRegressor.fit>`
            builds); it does not change the prediction.

        Returns
        -------
        totals : torch.Tensor of shape (n_samples, n_outputs)
            Sum of the tile contributions of each grid: without weights, or
            with gradients off (prediction, validation).
        output : TrainingOutput
            In training with weights: the totals and the weights, for the
            criterion.
        """
        n_samples, n_spatial = X.shape[0], len(self.focus)
        if self.fully_convolutional:
            padded = torch_pad(X, self.context, self.padding)
            contributions = self.score_padded(padded)
        else:
            tiles = torch_tiles(X, self.focus, self.context, self.padding)
            flat = tiles.reshape((-1,) + tiles.shape[1 + n_spatial :])
            contributions = self.score_tiles(flat)
        totals = contributions.reshape(n_samples, -1, self.n_outputs).sum(dim=1)
        if sample_weight is None or not torch.is_grad_enabled():
            return totals
        return TrainingOutput(totals, sample_weight)


def module_device(module):
    """The device holding ``module``'s parameters (CPU when it has none)."""
    for parameter in module.parameters():
        return parameter.device
    return torch.device("cpu")


class TorchTileScorer:
    """Score flat batches of numpy tiles with a torch tile network.

    Parameters
    ----------
    module : EDNNModule
        Fitted module; its ``score_tiles`` is called on a copy converted to
        ``dtype``, in evaluation mode and under ``torch.inference_mode``.
    dtype : {"float64", "float32"}
        Precision of inference. In float64 a tile's contribution does not
        depend, to round-off, on which other tiles share its batch.

    Attributes
    ----------
    intra_op_threads : bool
        True: every call runs on torch's own thread pool, so on this machine
        ``n_jobs`` sets that pool's size instead of starting joblib workers.
    """

    intra_op_threads = True

    def __init__(self, module, dtype):
        self.module = module
        self.dtype = dtype
        self._converted = None

    def __getstate__(self):
        # Ship the fitted module only; each process converts its own copy.
        return {"module": self.module, "dtype": self.dtype, "_converted": None}

    @property
    def scores_padded(self):
        """Whether :meth:`score_padded` scores padded bands without tiles."""
        return self.module.fully_convolutional

    def _run(self, method, array):
        """``method`` of the converted module on ``array``, back as float64."""
        dtype = getattr(torch, self.dtype)
        if self._converted is None:
            self._converted = copy.deepcopy(self.module).to(dtype).eval()
        device = module_device(self._converted)
        with torch.inference_mode():
            # Straight onto the module's device: no tensor on the default one.
            batch = torch.as_tensor(array, dtype=dtype, device=device)
            out = getattr(self._converted, method)(batch)
        return out.cpu().numpy().astype(np.float64, copy=False)

    def __call__(self, tiles):
        """Contributions of ``tiles``, an array (n_tiles, n_channels, *tile)."""
        return self._run("score_tiles", tiles)

    def score_padded(self, padded):
        """Contributions of every tile of padded channel-last bands.

        Parameters
        ----------
        padded : ndarray of shape (n, P1, ..., Pd, n_channels)
            Bands padded by the context.

        Returns
        -------
        contributions : ndarray of shape (n, T1, ..., Td, n_outputs)
            See :meth:`EDNNModule.score_padded`.
        """
        return self._run("score_padded", padded)
