"""The fitted tiling: the one seam between a fitted EDNN and everything that uses it.

A :class:`FittedTiling` owns what turns a grid into a prediction: focus,
context, padding, the averaged tilings, the tile model's scoring and the map
from raw tile scores to targets. ``EDNNRegressor.predict`` and
``predict_contributions``, both Monte Carlo energies, the ASE calculator and the
inspection tools use it, and nothing else of the estimator. Its numpy face
scores numpy tiles and grids; its torch face (:meth:`FittedTiling.predict_torch`)
predicts torch grids differentiably, for forces.
"""

import copy
import math

import numpy as np
from sklearn.utils.validation import check_array

from ._dask import dask_contributions, is_dask_array
from ._inference import score_grids
from ._tiling import (
    shift_grids,
    tile_shape,
    tile_windows,
    tiles_per_axis,
    touching_tiles,
)
from ._validation import spatial_ndim

__all__ = ["FittedTiling"]


class FittedTiling:
    """A fitted EDNN's tiling, tile scorer and map from raw scores to targets.

    The prediction for a grid ``x`` is the mean, over the averaged tilings
    ``s``, of the sum over the tiles ``t`` of the grid moved by ``s``::

        y(x) = to_target(mean_s sum_t score(tile_t(shift(x, s))), n_tiles)

    with ``to_target(raw, n) = raw * scale + n * offset``. The raw score of a
    tile already holds its channel offset (see ``channel_offset``), so every
    scoring of tiles agrees with :meth:`predict`.

    Get one from a fitted estimator's ``tiling_``; do not build it by hand.

    Parameters
    ----------
    focus, context : tuple of int
        Focus and context per spatial axis.
    padding : {"wrap", "zeros"}
        Padding mode.
    channels : bool
        Whether the grids given to :meth:`as_grids` have a channel axis.
    n_channels, n_outputs : int
        Channels of the grids and outputs of the tile model.
    shifts : list of tuple of int
        The averaged tilings, one pixel shift per axis each (the first is no
        shift), from :func:`~sklearn_ednn._tiling.tiling_shifts`.
    scale, offset : ndarray of shape (n_outputs,)
        Scale of a raw score and offset added per tile.
    channel_offset : ndarray of shape (n_channels, n_outputs)
        Target per unit of each channel's total over a focus region, in
        target units; a torch tile model adds it (scaled) to its raw scores.
    scorer : callable
        Maps numpy tiles ``(n_tiles, n_channels, w1, ..., wd)`` to raw scores
        ``(n_tiles, n_outputs)``; picklable, for parallel prediction.
    module : EDNNModule, default=None
        The fitted torch module, for the torch face; None for classical
        tile models.
    tile_batch_size : int, default=4096
        Largest number of tiles per scorer call.
    n_jobs : int, default=None
        Number of joblib workers for prediction.
    fitted_by : str, default="EDNNRegressor"
        Name of the estimator that fitted it, for error messages.
    verbose : bool, default=False
        Show a progress bar over the bands of a prediction.

    Attributes
    ----------
    tile_shape : tuple of int
        Spatial shape of one tile, ``f + 2 c`` per axis.
    n_tilings : int
        Number of averaged tilings.
    """

    def __init__(
        self,
        *,
        focus,
        context,
        padding,
        channels,
        n_channels,
        n_outputs,
        shifts,
        scale,
        offset,
        channel_offset,
        scorer,
        module=None,
        tile_batch_size=4096,
        n_jobs=None,
        fitted_by="EDNNRegressor",
        verbose=False,
    ):
        self.focus = tuple(focus)
        self.context = tuple(context)
        self.padding = padding
        self.channels = channels
        self.n_channels = n_channels
        self.n_outputs = n_outputs
        self.shifts = list(shifts)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.offset = np.asarray(offset, dtype=np.float64)
        self.channel_offset = np.asarray(channel_offset, dtype=np.float64)
        self.scorer = scorer
        self.module = module
        self.tile_batch_size = tile_batch_size
        self.n_jobs = n_jobs
        self.fitted_by = fitted_by
        self.verbose = verbose
        self._torch_modules = {}

    # -- geometry -----------------------------------------------------------------

    @property
    def tile_shape(self):
        """Spatial shape of one tile, ``f + 2 c`` per axis."""
        return tile_shape(self.focus, self.context)

    @property
    def n_tilings(self):
        """Number of averaged tilings."""
        return len(self.shifts)

    def tiles_per_axis(self, grid_shape):
        """Count the tiles per axis of a grid of spatial shape ``grid_shape``.

        Parameters
        ----------
        grid_shape : tuple of int
            Spatial shape; every axis a multiple of its focus.

        Returns
        -------
        n_tiles : tuple of int
            ``Li / fi`` per axis.
        """
        return tiles_per_axis(tuple(grid_shape), self.focus)

    def n_tiles(self, grid_shape):
        """Count the tiles of one tiling of a grid of spatial shape ``grid_shape``.

        Parameters
        ----------
        grid_shape : tuple of int
            Spatial shape.

        Returns
        -------
        n_tiles : int
            ``prod(Li / fi)``.
        """
        return math.prod(self.tiles_per_axis(grid_shape))

    def tile_windows(self, tiles, axis, length, shift=0):
        """Find the grid positions that the windows of ``tiles`` read on ``axis``.

        Parameters
        ----------
        tiles : ndarray of int of shape (n_tiles,)
            Tile indices along the axis.
        axis : int
            Spatial axis.
        length : int
            Length of the (periodic) grid along that axis.
        shift : int, default=0
            Shift of the tiling along that axis (an entry of ``shifts``).

        Returns
        -------
        positions : ndarray of int of shape (n_tiles, f + 2 c)
            See :func:`~sklearn_ednn._tiling.tile_windows`.
        """
        f, c = self.focus[axis], self.context[axis]
        return tile_windows(tiles, f, c, length, shift)

    def touching_tiles(self, pixels, axis, length, shift=0):
        """Find which tiles along ``axis`` read each of ``pixels``.

        Parameters
        ----------
        pixels : ndarray of int of shape (n_pixels,)
            Grid positions along the axis.
        axis : int
            Spatial axis.
        length : int
            Length of the grid along that axis.
        shift : int, default=0
            Shift of the tiling along that axis.

        Returns
        -------
        touched : ndarray of bool of shape (n_pixels, length // f)
            See :func:`~sklearn_ednn._tiling.touching_tiles`.
        """
        f, c = self.focus[axis], self.context[axis]
        return touching_tiles(pixels, f, c, length, shift, self.padding)

    # -- numpy face ---------------------------------------------------------------

    def as_grids(self, X):
        """Check grids against the fitted layout; return them channel-last.

        Parameters
        ----------
        X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
            Grids as given to ``predict``: as many spatial axes and channels
            as at fit time, every ``Li`` a multiple of ``f``. An array read
            lazily (an h5py dataset, a zarr array: anything with ``shape``,
            ``dtype`` and slicing) is never read whole: prediction reads it
            band by band, so its values are checked as they are scored.

        Returns
        -------
        grids : ndarray or lazy array of shape (n_samples, L1, ..., Ld, n_channels)
            The grids (a view: integer grids, memory maps and lazy arrays stay
            as they are; tiles are converted one batch at a time).
        """
        dask = is_dask_array(X)
        lazy = dask or _is_lazy_array(X)
        if not lazy:
            X = check_array(X, allow_nd=True, dtype="numeric", input_name="X")
        elif not np.issubdtype(np.dtype(X.dtype), np.number):
            raise ValueError(f"X has dtype {X.dtype}; grids must be numeric.")
        n_spatial = spatial_ndim(len(X.shape), self.channels)
        if n_spatial != len(self.focus):
            raise ValueError(
                f"X has {n_spatial} spatial axes (shape {X.shape}), but "
                f"{self.fitted_by} was fitted on grids with {len(self.focus)} "
                "spatial axes."
            )
        n_channels = X.shape[-1] if self.channels else 1
        if n_channels != self.n_channels:
            raise ValueError(
                f"X has {n_channels} channels, but {self.fitted_by} was fitted on "
                f"grids with {self.n_channels} channels."
            )
        self.tiles_per_axis(X.shape[1 : 1 + n_spatial])
        if self.channels:
            return X
        # A dask array adds the axis lazily itself; other lazy arrays cannot.
        return _WithChannelAxis(X) if lazy and not dask else X[..., np.newaxis]

    def score_tiles(self, tiles):
        """Score a flat batch of numpy tiles (raw scores).

        Parameters
        ----------
        tiles : ndarray of shape (n_tiles, n_channels, w1, ..., wd)
            The tiles.

        Returns
        -------
        raw : ndarray of shape (n_tiles, n_outputs)
            Raw scores (channel offset included), float64.
        """
        return self.scorer(tiles)

    def scores(self, grids, *, reduce, shift=None, scorer=None, max_tiles=None):
        """Score the tiles of channel-last grids (raw), summed or per tile.

        Parameters
        ----------
        grids : ndarray, lazy or dask array of shape (n_samples, L1, ..., Ld, \
n_channels)
            Grids, from :meth:`as_grids`. The tilings are read as moved,
            band by band; the grids are never rolled or read whole.
        reduce : bool
            Sum over the tiles of each grid, or keep every tile.
        shift : tuple of int, default=None
            Score only the tiling moved by ``shift``; None averages the
            scores of all the tilings in ``shifts``.
        scorer : callable, default=None
            Replaces :meth:`score_tiles` (for example to alter the tiles
            first).
        max_tiles : int, default=None
            Replaces ``tile_batch_size``.

        Returns
        -------
        raw : ndarray of shape (n_samples, n_outputs) or \
(n_samples, T1, ..., Td, n_outputs)
            Raw scores; with several tilings, per tile the mean over the
            tilings of the tile whose focus starts ``shift`` pixels earlier.
        """
        if is_dask_array(grids):
            if shift is not None or max_tiles is not None:
                raise ValueError("dask grids are scored with every tiling at once.")
            raw = dask_contributions(self, grids, scorer=scorer)
            spatial = tuple(range(1, raw.ndim - 1))
            return raw.sum(axis=spatial) if reduce else raw
        shifts = self.shifts if shift is None else [tuple(shift)]
        total = 0.0
        for moved in shifts:
            total = total + score_grids(
                grids,
                self.focus,
                self.context,
                self.padding,
                self.scorer if scorer is None else scorer,
                max_tiles=self.tile_batch_size if max_tiles is None else max_tiles,
                n_jobs=self.n_jobs,
                reduce=reduce,
                shift=moved,
                progress=self.verbose,
            )
        return total / len(shifts)

    def to_target(self, raw, n_tiles):
        """Map raw scores summed over ``n_tiles`` tiles to targets.

        Parameters
        ----------
        raw : ndarray or torch.Tensor of shape (..., n_outputs)
            Raw scores or sums of them. A difference of two sums over the
            same tiles takes ``n_tiles=0``; one tile takes 1.
        n_tiles : int
            Number of tiles summed.

        Returns
        -------
        target : ndarray or torch.Tensor of shape (..., n_outputs)
            ``raw * scale + n_tiles * offset``, of the type of ``raw`` (torch
            keeps gradients).
        """
        if isinstance(raw, np.ndarray) or np.isscalar(raw) or is_dask_array(raw):
            return raw * self.scale + n_tiles * self.offset
        import torch

        as_tensor = dict(dtype=raw.dtype, device=raw.device)
        scale = torch.as_tensor(self.scale, **as_tensor)
        return raw * scale + n_tiles * torch.as_tensor(self.offset, **as_tensor)

    def predict(self, grids):
        """Predict the targets of channel-last grids (mean over tilings of sums).

        Parameters
        ----------
        grids : ndarray of shape (n_samples, L1, ..., Ld, n_channels)
            Grids, from :meth:`as_grids`.

        Returns
        -------
        y : ndarray of shape (n_samples, n_outputs)
            Predicted targets.
        """
        raw = self.scores(grids, reduce=True)
        return self.to_target(raw, self.n_tiles(grids.shape[1:-1]))

    def contributions(self, grids, out=None):
        """Predict each tile's contribution in target units, on the focus grid.

        Parameters
        ----------
        grids : ndarray of shape (n_samples, L1, ..., Ld, n_channels)
            Grids, from :meth:`as_grids`.
        out : array-like, default=None
            Where to write the contributions band by band instead of
            returning a new array: anything that takes slice assignment (an
            ndarray, a memory map, an h5py dataset, a zarr array), of shape
            ``(n_samples, T1, ..., Td, n_outputs)``, or ``(n_samples, T1,
            ..., Td)`` for one output. Only one band of the map is held in
            memory at a time.

        Returns
        -------
        contributions : ndarray of shape (n_samples, T1, ..., Td, n_outputs)
            Sum over the tiles is :meth:`predict`; ``out`` when it is given.
        """
        if out is None:
            return self.to_target(self.scores(grids, reduce=False), 1)
        shape = (grids.shape[0], *self.tiles_per_axis(grids.shape[1:-1]))
        squeeze = tuple(out.shape) == shape and self.n_outputs == 1
        if not squeeze and tuple(out.shape) != (*shape, self.n_outputs):
            raise ValueError(
                f"out has shape {tuple(out.shape)}; the contributions of these "
                f"grids have shape {(*shape, self.n_outputs)}"
                + (f" (or {shape})." if self.n_outputs == 1 else ".")
            )
        if is_dask_array(grids):
            import dask.array as da

            values = self.contributions(grids)
            da.store(values[..., 0] if squeeze else values, out, lock=True)
            return out
        for index, moved in enumerate(self.shifts):
            # The mean over the tilings, accumulated in ``out`` band by band.
            def write(where, raw, first=index == 0):
                value = self.to_target(raw, 1) / self.n_tilings
                value = value[..., 0] if squeeze else value
                out[where] = value if first else np.asarray(out[where]) + value

            score_grids(
                grids,
                self.focus,
                self.context,
                self.padding,
                self.scorer,
                max_tiles=self.tile_batch_size,
                n_jobs=self.n_jobs,
                reduce=False,
                shift=moved,
                progress=self.verbose,
                sink=write,
            )
        return out

    # -- torch face ---------------------------------------------------------------

    @property
    def device(self):
        """The torch device of the fitted tile network (None for a classical one).

        Tensors handed to :meth:`predict_torch` belong there: a simulation
        builds its positions on this device, so that nothing crosses between
        the CPU and an accelerator on every step.
        """
        if self.module is None:
            return None
        from ._torch._module import module_device

        return module_device(self.module)

    def torch_module(self, dtype=None):
        """Return the fitted EDNN module in ``dtype``, in evaluation mode, frozen.

        Parameters
        ----------
        dtype : torch.dtype, default=None
            None gives torch.float64.

        Returns
        -------
        module : EDNNModule
            A cached copy (the fitted module is not changed): it maps torch
            grids ``(n, L1, ..., Ld, n_channels)`` to raw sums ``(n,
            n_outputs)`` of one tiling.
        """
        if self.module is None:
            raise ValueError(
                "The torch face of a fitted tiling needs a torch tile model; this "
                "model was fitted with a classical (scikit-learn) tile model."
            )
        import torch

        dtype = torch.float64 if dtype is None else dtype
        if dtype not in self._torch_modules:
            module = copy.deepcopy(self.module).to(dtype).eval()
            for parameter in module.parameters():
                parameter.requires_grad_(False)
            self._torch_modules[dtype] = module
        return self._torch_modules[dtype]

    def predict_torch(self, grids):
        """Predict the targets of torch grids, differentiably in the grids.

        Parameters
        ----------
        grids : torch.Tensor of shape (n_samples, L1, ..., Ld, n_channels)
            Channel-last grids (float64 for exact forces; may require grad).

        Returns
        -------
        y : torch.Tensor of shape (n_samples, n_outputs)
            The same targets as :meth:`predict`, averaged over the tilings,
            with gradients through the tile network.
        """
        import torch

        module = self.torch_module(grids.dtype)
        n_tiles = self.n_tiles(tuple(grids.shape[1:-1]))
        # Every tiling's moved grids scored in one call of the module.
        moved = torch.cat([shift_grids(grids, s) for s in self.shifts])
        raw = module(moved).reshape(self.n_tilings, len(grids), -1).mean(dim=0)
        return self.to_target(raw, n_tiles)


def _is_lazy_array(X):
    """Whether ``X`` is an array read on demand (h5py, zarr), not an ndarray."""
    if isinstance(X, np.ndarray) or not all(
        hasattr(X, name) for name in ("shape", "dtype", "__getitem__")
    ):
        return False
    try:
        np.dtype(X.dtype)
    except TypeError:  # a torch tensor, say: converted as usual
        return False
    return len(X.shape) >= 2


class _WithChannelAxis:
    """A lazy array seen with a trailing channel axis of length 1."""

    def __init__(self, array):
        self.array = array
        self.shape = tuple(array.shape) + (1,)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key):
        return np.asarray(self.array[key])[..., np.newaxis]
