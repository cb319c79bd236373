"""The one definition of EDNN tiling: focus regions with a context border.

A grid of shape ``(L1, ..., Ld)`` is cut into ``prod(Li / fi)`` non-overlapping focus
regions of side ``fi``; tile ``(t1, ..., td)`` covers the grid positions
``ti * fi - ci``, ..., ``ti * fi + fi + ci - 1`` on axis ``i``, taken from the
periodically (or zero) padded grid. Tiles are numbered in C order over
``(t1, ..., td)``. A tiling moved by ``s`` pixels (see ``average_shifts``) is the
tiling of the grid rolled by ``s``: its tile ``t`` starts at ``ti * fi - si - ci``.

All window arithmetic lives here: the tile side (:func:`tile_shape`), the tiles
per axis (:func:`tiles_per_axis`), the moved tilings (:func:`tiling_shifts`,
:func:`shift_grids`), the window of given tiles (:func:`tile_windows`), the tiles
that read given pixels (:func:`touching_tiles`), and the tiles of whole grids, as
numpy views (:func:`pad_grid`, :func:`window_view`) and as torch tensors
(:func:`torch_tiles`). Every backend and every consumer builds on these.
"""

import itertools
import warnings
from numbers import Integral

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._sklearn_compat import Interval, StrOptions, _fit_context
from ._validation import (
    check_grid_shape,
    check_per_axis,
    spatial_ndim,
)

__all__ = ["TileTransformer", "tiles_to_focus_grid"]


def tile_shape(focus, context):
    """Spatial shape of one tile: ``f + 2 c`` per axis.

    Parameters
    ----------
    focus, context : tuple of int
        Focus and context per spatial axis.

    Returns
    -------
    shape : tuple of int
        The tile side per axis.
    """
    return tuple(f + 2 * c for f, c in zip(focus, context))


def warn_context_wider_than_grid(grid_shape, focus, context, padding):
    """Warn when a tile is wider than the periodic training grid it is cut from.

    Such a tile reads some sites twice through the periodic padding, which a
    tile of a larger grid does not, so the fitted model would not transfer.
    """
    if padding != "wrap":
        return
    sides = tile_shape(focus, context)
    for axis, (length, f, side) in enumerate(zip(grid_shape, focus, sides)):
        if side > length:
            warnings.warn(
                f"Tiles of side f + 2c = {side} are wider than the training "
                f"grids along axis {axis} (length {length}): each tile reads some "
                "sites twice through the periodic padding, which tiles of larger "
                "grids do not, so the model will not transfer to them. Use "
                f"c <= {max(0, (length - f) // 2)} on that axis, or train on "
                "larger grids.",
                UserWarning,
                stacklevel=3,
            )


def tiles_per_axis(grid_shape, focus):
    """Number of focus regions per axis of a grid, ``Li / fi``.

    Parameters
    ----------
    grid_shape : tuple of int
        Spatial shape of the grid.
    focus : tuple of int
        Focus per spatial axis.

    Returns
    -------
    n_tiles : tuple of int
        Tiles per axis; a ValueError names the first axis that is not a
        positive multiple of its focus.
    """
    check_grid_shape(grid_shape, focus)
    return tuple(length // f for length, f in zip(grid_shape, focus))


def tiling_shifts(focus, average_shifts, padding):
    """The translations of the tile grid whose predictions are averaged.

    Parameters
    ----------
    focus : tuple of int
        Focus per spatial axis.
    average_shifts : int or tuple of int
        Tilings per axis (see ``EDNNRegressor.average_shifts``); each must
        divide the focus of its axis.
    padding : {"wrap", "zeros"}
        Padding mode; more than one tiling needs ``"wrap"``.

    Returns
    -------
    shifts : list of tuple of int
        One pixel shift per spatial axis for every tiling, starting with no
        shift: multiples of ``f / k`` on an axis of ``k`` tilings.
    """
    counts = check_per_axis(average_shifts, "average_shifts", len(focus), minimum=1)
    for k, f in zip(counts, focus):
        if f % k:
            raise ValueError(
                f"average_shifts={average_shifts!r} must divide the focus "
                f"f={tuple(focus)} on every axis ({k} does not divide {f})."
            )
    if max(counts) > 1 and padding != "wrap":
        raise ValueError(
            f"average_shifts={average_shifts!r} moves periodic grids; "
            f"it needs padding='wrap', not {padding!r}."
        )
    steps = [range(0, f, f // k) for k, f in zip(counts, focus)]
    return list(itertools.product(*steps))


def shift_grids(X, shift):
    """Roll channel-last grids by ``shift`` pixels, for the tiling moved by it.

    The tiles of the grid rolled by ``s`` are those of the tiling moved by
    ``s``: tile ``t`` then starts ``s`` pixels before ``t * f``.

    Parameters
    ----------
    X : ndarray, dask array or torch.Tensor of shape (n_samples, L1, ..., Ld, \
n_channels)
        The grids.
    shift : tuple of int
        Pixels per spatial axis.

    Returns
    -------
    moved : ndarray, dask array or torch.Tensor
        ``X`` itself when ``shift`` is all zeros, else a rolled copy (lazy for
        dask; torch's ``roll`` keeps gradients).
    """
    if not any(shift):
        return X
    spatial = tuple(range(1, len(shift) + 1))
    if isinstance(X, np.ndarray):
        return np.roll(X, shift, axis=spatial)
    if hasattr(X, "map_overlap"):
        import dask.array as da

        return da.roll(X, tuple(shift), axis=spatial)
    return X.roll(tuple(shift), spatial)


def tile_windows(tiles, focus, context, length, shift=0):
    """Grid positions that the windows of given tiles read, along one axis.

    Parameters
    ----------
    tiles : ndarray of int of shape (n_tiles,)
        Tile indices along the axis.
    focus, context : int
        Focus and context of the axis.
    length : int
        Length of the periodic grid along the axis.
    shift : int, default=0
        Shift of the tiling (see :func:`tiling_shifts`).

    Returns
    -------
    positions : ndarray of int of shape (n_tiles, focus + 2 * context)
        ``positions[k, o]`` is the grid position (periodic) of offset ``o``
        in the window of ``tiles[k]``.
    """
    first = np.asarray(tiles)[:, None] * focus - shift - context
    return (first + np.arange(focus + 2 * context)) % length


def touching_tiles(pixels, focus, context, length, shift=0, padding="wrap"):
    """Which tiles along one axis read each of some grid positions.

    Parameters
    ----------
    pixels : ndarray of int of shape (n_pixels,)
        Grid positions along the axis.
    focus, context : int
        Focus and context of the axis.
    length : int
        Length of the grid along the axis, a multiple of ``focus``.
    shift : int, default=0
        Shift of the tiling (see :func:`tiling_shifts`).
    padding : {"wrap", "zeros"}, default="wrap"
        With ``"zeros"`` a window does not wrap around the grid.

    Returns
    -------
    touched : ndarray of bool of shape (n_pixels, length // focus)
        ``touched[p, t]`` is True when the window of tile ``t`` (focus and
        context) holds ``pixels[p]``.
    """
    first = np.arange(length // focus) * focus - shift - context
    offset = np.asarray(pixels)[:, None] - first[None, :]
    if padding == "wrap":
        offset = offset % length
        return offset < focus + 2 * context
    return (offset >= 0) & (offset < focus + 2 * context)


def padded_indices(start, stop, length, context, padding, shift=0):
    """Grid positions read by the tiles whose focus spans ``[start, stop)``.

    Parameters
    ----------
    start, stop : int
        Range of focus positions on one axis (``0`` and ``length`` for all tiles).
    length : int
        Length of the grid along that axis.
    context : int
        Width of the context border.
    padding : {"wrap", "zeros"}
        ``"wrap"`` maps positions outside the grid back into it periodically,
        however many periods away they are; ``"zeros"`` marks them as padding.
    shift : int, default=0
        Shift of the tiling (see :func:`tiling_shifts`): the positions of the
        grid rolled by ``shift``, read without rolling it.

    Returns
    -------
    indices : ndarray of int of shape (stop - start + 2 * context,)
        Index into the grid for every padded position.
    inside : ndarray of bool of shape (stop - start + 2 * context,)
        False where the position is zero padding.
    """
    positions = np.arange(start - context, stop + context) - shift
    if padding == "wrap":
        return positions % length, np.ones(positions.shape, dtype=bool)
    inside = (positions >= 0) & (positions < length)
    return np.clip(positions, 0, length - 1), inside


def read_rows(X, samples, rows):
    """``X[samples][:, rows]``, reading only those rows of a lazy array.

    Parameters
    ----------
    X : array-like of shape (n_samples, L1, ...)
        An ndarray, a memory map, an h5py dataset, a zarr array or any array
        sliceable by ``X[samples, start:stop]``.
    samples : slice
        The grids to read.
    rows : ndarray of int
        Positions along the first spatial axis, in order of output.

    Returns
    -------
    band : ndarray of shape (n_read, len(rows), ...)
        Read as one slice per run of consecutive rows (a view of an
        in-memory ``X`` when ``rows`` is one run).
    """
    rows = np.asarray(rows)
    runs = np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1)
    parts = [np.asarray(X[samples, run[0] : run[-1] + 1]) for run in runs]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def pad_grid(
    X, focus, context, padding, *, first_axis_range=None, samples=None, shift=None
):
    """Pad a batch of channel-last grids for tiling.

    Parameters
    ----------
    X : array-like of shape (n_samples, L1, ..., Ld, n_channels)
        Grids with an explicit channel axis: an ndarray, or a lazily read
        array (memory map, h5py dataset, zarr array); only the rows that are
        needed are read (see :func:`read_rows`).
    focus, context : tuple of int
        Focus and context per spatial axis.
    padding : {"wrap", "zeros"}
        Padding mode, see :func:`padded_indices`.
    first_axis_range : tuple of int, default=None
        ``(start, stop)`` focus positions on the first spatial axis, to pad only a
        band of the grid; None pads the whole axis.
    samples : slice, default=None
        The grids to pad; None pads all.
    shift : tuple of int, default=None
        Pad the grids as rolled by ``shift`` (the tiling moved by it, see
        :func:`tiling_shifts`), without rolling them; None is no shift.

    Returns
    -------
    padded : ndarray of shape (n_samples, P1, ..., Pd, n_channels)
        The padded grids (or band), in memory.
    """
    grid_shape = X.shape[1:-1]
    samples = slice(None) if samples is None else samples
    shift = (0,) * len(grid_shape) if shift is None else shift
    start, stop = (0, grid_shape[0]) if first_axis_range is None else first_axis_range
    indices, inside = padded_indices(
        start, stop, grid_shape[0], context[0], padding, shift[0]
    )
    padded = read_rows(X, samples, indices)
    if not inside.all():
        padded = np.array(padded)  # a copy: never write into the caller's array
        padded[:, ~inside] = 0
    for axis in range(1, len(grid_shape)):
        if context[axis] == 0 and shift[axis] == 0:
            continue
        length = grid_shape[axis]
        indices, inside = padded_indices(
            0, length, length, context[axis], padding, shift[axis]
        )
        padded = np.take(padded, indices, axis=axis + 1)  # a copy
        if not inside.all():
            np.moveaxis(padded, axis + 1, 0)[~inside] = 0
    return padded


def window_view(padded, focus, context):
    """Tiles of padded grids as a read-only strided view (no copy).

    Parameters
    ----------
    padded : ndarray of shape (n_samples, P1, ..., Pd, n_channels)
        Output of :func:`pad_grid`.
    focus, context : tuple of int
        Focus and context per spatial axis.

    Returns
    -------
    tiles : ndarray of shape (n_samples, T1, ..., Td, n_channels, w1, ..., wd)
        ``tiles[s, t1, ..., td, ch]`` is the tile with focus index
        ``(t1, ..., td)``, where ``wi = fi + 2 * ci`` and ``Ti = (Pi - 2 ci) / fi``.
    """
    n_spatial = len(focus)
    window = tile_shape(focus, context)
    spatial_axes = tuple(range(1, n_spatial + 1))
    windows = sliding_window_view(padded, window, axis=spatial_axes)
    step = (slice(None),) + tuple(slice(None, None, f) for f in focus)
    return windows[step]


def padded_rows(first, stop, focus, context):
    """The rows of a padded grid that tile rows ``first`` to ``stop`` read.

    Parameters
    ----------
    first, stop : int
        Range of tile indices along the first spatial axis.
    focus, context : tuple of int
        Focus and context per spatial axis.

    Returns
    -------
    rows : slice
        Padded positions ``first f`` to ``stop f + 2 c`` (exclusive) of that
        axis: the tiles' focus rows and their halo.
    """
    return slice(first * focus[0], stop * focus[0] + 2 * context[0])


def torch_pad(x, context, padding):
    """Pad a batch of channel-last torch grids for tiling.

    The torch twin of :func:`pad_grid`: the same padding indices
    (:func:`padded_indices`), so that gradients flow.

    Parameters
    ----------
    x : torch.Tensor of shape (n_samples, L1, ..., Ld, n_channels)
        The grids.
    context : tuple of int
        Context per spatial axis.
    padding : {"wrap", "zeros"}
        Padding mode.

    Returns
    -------
    padded : torch.Tensor of shape (n_samples, L1 + 2 c1, ..., Ld + 2 cd, n_channels)
        The padded grids.
    """
    import torch

    for axis, c in enumerate(context):
        if c == 0:
            continue
        length = x.shape[axis + 1]
        indices, inside = padded_indices(0, length, length, c, padding)
        x = x.index_select(axis + 1, torch.as_tensor(indices, device=x.device))
        if not inside.all():
            shape = [1] * x.ndim
            shape[axis + 1] = -1
            x = x * torch.as_tensor(inside, dtype=x.dtype, device=x.device).view(shape)
    return x


def torch_tiles(x, focus, context, padding):
    """Tiles of a batch of channel-last grids, as torch tensors.

    The torch twin of :func:`window_view`: the grids padded by
    :func:`torch_pad`, the same order, built with ``Tensor.unfold`` so that
    gradients flow.

    Parameters
    ----------
    x : torch.Tensor of shape (n_samples, L1, ..., Ld, n_channels)
        The grids.
    focus, context : tuple of int
        Focus and context per spatial axis.
    padding : {"wrap", "zeros"}
        Padding mode.

    Returns
    -------
    tiles : torch.Tensor of shape (n_samples, T1, ..., Td, n_channels, w1, ..., wd)
        The tiles, ``Ti = Li / fi`` and ``wi = fi + 2 ci``.
    """
    x = torch_pad(x, context, padding)
    for axis, (f, w) in enumerate(zip(focus, tile_shape(focus, context))):
        x = x.unfold(axis + 1, w, f)
    return x


def unpadded(padded, context):
    """The grid inside padded channel-last grids (numpy or torch), a view.

    Parameters
    ----------
    padded : ndarray or torch.Tensor of shape (n, P1, ..., Pd, n_channels)
        Grids padded by ``context`` on both sides of every spatial axis.
    context : tuple of int
        Context per spatial axis.

    Returns
    -------
    grids : ndarray or torch.Tensor of shape (n, P1 - 2 c1, ..., n_channels)
        The positions that are not padding.
    """
    inner = tuple(slice(c, n - c) for c, n in zip(context, padded.shape[1:-1]))
    return padded[(slice(None),) + inner]


def focus_sums(grids, focus):
    """Sums of channel-last grids (numpy or torch) over every focus region.

    Parameters
    ----------
    grids : ndarray or torch.Tensor of shape (n, L1, ..., Ld, n_channels)
        Grids (not padded); every ``Li`` a multiple of ``fi``.
    focus : tuple of int
        Focus per spatial axis.

    Returns
    -------
    sums : ndarray or torch.Tensor of shape (n, T1, ..., Td, n_channels)
        ``sums[s, t]`` is the sum of grid ``s`` over the focus region of tile
        ``t``, per channel.
    """
    n, *lengths, n_channels = grids.shape
    split = [n]
    for length, f in zip(lengths, focus):
        split += [length // f, f]
    regions = grids.reshape(*split, n_channels)
    return regions.sum(tuple(range(2, 2 * len(focus) + 1, 2)))


def tiles_to_focus_grid(values, grid_shape, f):
    """Map per-tile values back onto the grid of focus regions.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_tiles, ...)
        One value (or array of values) per tile, tiles in the order of
        :class:`TileTransformer`.
    grid_shape : tuple of int
        Spatial shape ``(L1, ..., Ld)`` of the grids the tiles came from.
    f : int or tuple of int
        Focus size, an int for every axis or one per axis.

    Returns
    -------
    focus_grid : ndarray of shape (n_samples, L1 / f1, ..., Ld / fd, ...)
        ``focus_grid[s, t1, ..., td]`` belongs to the focus region whose first
        grid position is ``(t1 * f1, ..., td * fd)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ednn import tiles_to_focus_grid
    >>> tiles_to_focus_grid(np.arange(6.0).reshape(1, 6), (4, 6), f=2)
    array([[[0., 1., 2.],
            [3., 4., 5.]]])
    """
    values = np.asarray(values)
    focus = check_per_axis(f, "f", len(grid_shape), minimum=1)
    n_tiles_per_axis = tiles_per_axis(grid_shape, focus)
    n_tiles = int(np.prod(n_tiles_per_axis))
    if values.ndim < 2 or values.shape[1] != n_tiles:
        raise ValueError(
            f"values has shape {values.shape}, but a grid of shape {grid_shape} "
            f"with f={f} has {n_tiles} tiles: expected (n_samples, {n_tiles}, ...)."
        )
    return values.reshape(values.shape[:1] + n_tiles_per_axis + values.shape[2:])


class TileTransformer(TransformerMixin, BaseEstimator):
    """Cut grids into EDNN tiles: focus regions with a periodic context border.

    Every grid axis of length ``L`` is split into ``L / f`` focus regions of
    length ``f``; each is extended by ``c`` positions of context on both sides,
    read from the periodically padded grid (the paper's choice) or from zero
    padding. This is the single definition of tiling in sklearn-ednn: the
    estimators, the torch module and parallel prediction all agree with it.

    Parameters
    ----------
    f : int or tuple of int, default=1
        Focus size: an int for every spatial axis or one per axis. Every grid
        axis must be a multiple of it.
    c : int or tuple of int, default=1
        Context width (may be 0). Context wider than the grid wraps around as
        often as periodicity implies.
    padding : {"wrap", "zeros"}, default="wrap"
        How positions outside the grid are filled: ``"wrap"`` for periodic
        boundaries, ``"zeros"`` for zeros.
    channels : bool, default=False
        Whether the last axis of ``X`` holds channels. If False, every axis
        after the first is spatial.

    Attributes
    ----------
    n_features_in_ : int
        Length of the first grid axis seen in :meth:`fit` (``X.shape[1]``);
        :meth:`transform` accepts other lengths.
    n_spatial_dims_ : int
        Number of spatial axes seen in :meth:`fit`.
    n_channels_ : int
        Number of channels seen in :meth:`fit` (1 when ``channels=False``).
    focus_ : tuple of int
        Focus size per spatial axis.
    context_ : tuple of int
        Context width per spatial axis.
    tile_shape_ : tuple of int
        Spatial shape of one tile, ``f + 2 * c`` per axis.

    See Also
    --------
    tiles_to_focus_grid : Map per-tile values back onto the focus grid.
    EDNNRegressor : Sum a shared model's scores over these tiles.

    Notes
    -----
    For a grid ``x`` of shape ``(L1, ..., Ld)``, tile ``(t1, ..., td)`` is::

        X[t1, ..., td][o1, ..., od] = x[(t1 f1 - c1 + o1) mod L1, ...,
                                        (td fd - cd + od) mod Ld]

    with ``0 <= oi < fi + 2 ci``, following Mills et al., Chem. Sci. 2019, 10, 4129.
    Tiles are ordered in C order over ``(t1, ..., td)``. They are built from
    strided views of the padded grid, never with Python loops over tiles.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ednn import TileTransformer
    >>> X = np.arange(8.0).reshape(1, 8)
    >>> tiles = TileTransformer(f=2, c=1).fit_transform(X)
    >>> tiles.shape
    (1, 4, 4)
    >>> tiles[0, 0]
    array([7., 0., 1., 2.])
    """

    _parameter_constraints = {
        "f": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "c": [Interval(Integral, 0, None, closed="left"), tuple, list],
        "padding": [StrOptions({"wrap", "zeros"})],
        "channels": ["boolean"],
    }

    def __init__(self, f=1, c=1, padding="wrap", channels=False):
        self.f = f
        self.c = c
        self.padding = padding
        self.channels = channels

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def _check_X(self, X):
        X = check_array(X, allow_nd=True, dtype="numeric", input_name="X")
        n_spatial = spatial_ndim(X.ndim, self.channels)
        focus = check_per_axis(self.f, "f", n_spatial, minimum=1)
        context = check_per_axis(self.c, "c", n_spatial, minimum=0)
        check_grid_shape(X.shape[1 : 1 + n_spatial], focus)
        return X, n_spatial, focus, context

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the tiling parameters against ``X`` and record its layout.

        Parameters
        ----------
        X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
            Grids to tile.
        y : None
            Ignored.

        Returns
        -------
        self : TileTransformer
            The fitted transformer.
        """
        X, n_spatial, focus, context = self._check_X(X)
        self.n_features_in_ = X.shape[1]
        self.n_spatial_dims_ = n_spatial
        self.n_channels_ = X.shape[-1] if self.channels else 1
        self.focus_ = focus
        self.context_ = context
        self.tile_shape_ = tile_shape(focus, context)
        return self

    def transform(self, X):
        """Cut every grid of ``X`` into tiles.

        Grids may have any size that is a multiple of ``f``; only the number of
        spatial axes and of channels must match :meth:`fit`.

        Parameters
        ----------
        X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
            Grids to tile.

        Returns
        -------
        tiles : ndarray of shape (n_samples, n_tiles, w1, ..., wd[, n_channels])
            The tiles, ``wi = fi + 2 * ci``, in C order of their focus index.
        """
        check_is_fitted(self)
        X, n_spatial, focus, context = self._check_X(X)
        n_channels = X.shape[-1] if self.channels else 1
        if (n_spatial, n_channels) != (self.n_spatial_dims_, self.n_channels_):
            raise ValueError(
                f"X has {n_spatial} spatial axes and {n_channels} channels, but "
                f"{type(self).__name__} was fitted on {self.n_spatial_dims_} "
                f"spatial axes and {self.n_channels_} channels."
            )
        X_ch = X if self.channels else X[..., np.newaxis]
        views = window_view(
            pad_grid(X_ch, focus, context, self.padding), focus, context
        )
        # (n, T1..Td, ch, w1..wd) -> (n, T1..Td, w1..wd, ch), then one copy.
        views = np.moveaxis(views, n_spatial + 1, -1)
        tiles = views.reshape((X.shape[0], -1) + views.shape[n_spatial + 1 :])
        return tiles if self.channels else tiles[..., 0]
