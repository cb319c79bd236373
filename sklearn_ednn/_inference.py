"""Batched, parallel scoring of tiles for prediction on grids of any size.

Work is cut into items: a run of whole samples when a sample has few tiles, or a
band of tile rows (along the first spatial axis, with its ``c``-wide halo) of one
sample when it has many. Each item holds at most about ``max_tiles`` tiles, so
memory stays bounded however large the grid, and items are spread over CPU
cores by joblib without oversubscribing threads.
"""

import copy
import math

import numpy as np
import torch
from joblib import cpu_count, effective_n_jobs
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from ._tiling import pad_grid, window_view


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
    """

    def __init__(self, module, dtype):
        self.module = module
        self.dtype = dtype
        self._converted = None

    def __getstate__(self):
        # Ship the fitted module only; each process converts its own copy.
        return {"module": self.module, "dtype": self.dtype, "_converted": None}

    def __call__(self, tiles):
        """Contributions of ``tiles``, an array (n_tiles, n_channels, *tile)."""
        from ._torch_backend import module_device

        dtype = getattr(torch, self.dtype)
        if self._converted is None:
            self._converted = copy.deepcopy(self.module).to(dtype).eval()
        device = module_device(self._converted)
        with torch.inference_mode():
            batch = torch.as_tensor(tiles)
            out = self._converted.score_tiles(batch.to(device=device, dtype=dtype))
        return out.cpu().numpy().astype(np.float64, copy=False)


def plan_items(n_samples, tiles_per_axis, max_tiles, n_workers):
    """Cut the work into ``(sample_start, sample_stop, row_start, row_stop)`` items.

    Parameters
    ----------
    n_samples : int
        Number of grids.
    tiles_per_axis : tuple of int
        Number of focus regions per spatial axis, ``Li / fi``.
    max_tiles : int
        Largest number of tiles one item should hold.
    n_workers : int
        Number of parallel workers; there are at least this many items when
        the work can be split that finely.

    Returns
    -------
    items : list of tuple of int
        Items covering every tile exactly once, in order.
    """
    n_rows = tiles_per_axis[0]
    tiles_per_row = math.prod(tiles_per_axis[1:])
    tiles_per_sample = n_rows * tiles_per_row
    if tiles_per_sample <= max_tiles:
        per_item = max(
            1, min(max_tiles // tiles_per_sample, -(-n_samples // n_workers))
        )
        return [
            (start, min(start + per_item, n_samples), 0, n_rows)
            for start in range(0, n_samples, per_item)
        ]
    rows_per_item = max(1, max_tiles // tiles_per_row)
    if n_samples < n_workers:
        rows_per_item = max(1, min(rows_per_item, -(-n_rows * n_samples // n_workers)))
    return [
        (sample, sample + 1, row, min(row + rows_per_item, n_rows))
        for sample in range(n_samples)
        for row in range(0, n_rows, rows_per_item)
    ]


def _score_item(X_part, rows, focus, context, padding, scorer, reduce, n_threads):
    """Tile one item, score it, and return sums or per-tile values."""
    row_start, row_stop = rows
    f0 = focus[0]
    band = pad_grid(
        X_part,
        focus,
        context,
        padding,
        first_axis_range=(row_start * f0, row_stop * f0),
    )
    views = window_view(band, focus, context)
    n_spatial = len(focus)
    tiles_shape = views.shape[: 1 + n_spatial]
    flat = np.array(views)  # one contiguous, writable copy of this item's tiles
    flat = flat.reshape((-1,) + views.shape[1 + n_spatial :])
    if n_threads is None:
        scores = scorer(flat)
    else:
        previous = torch.get_num_threads()
        try:
            torch.set_num_threads(n_threads)
            with threadpool_limits(limits=n_threads):
                scores = scorer(flat)
        finally:
            torch.set_num_threads(previous)
    scores = scores.reshape(tiles_shape + scores.shape[1:])
    if reduce:
        return scores.reshape(tiles_shape[0], -1, scores.shape[-1]).sum(axis=1)
    return scores


def score_grids(X, focus, context, padding, scorer, *, max_tiles, n_jobs, reduce):
    """Score every tile of a batch of grids, in bounded batches and in parallel.

    Parameters
    ----------
    X : ndarray of shape (n_samples, L1, ..., Ld, n_channels)
        Channel-last grids (a memory map is read item by item).
    focus, context : tuple of int
        Focus and context per spatial axis.
    padding : {"wrap", "zeros"}
        Padding mode.
    scorer : callable
        Maps tiles of shape (n_tiles, n_channels, w1, ..., wd) to an ndarray of
        shape (n_tiles, n_outputs). Must be picklable when ``n_jobs != 1``.
    max_tiles : int
        Tiles per scorer call (bounds memory).
    n_jobs : int or None
        Number of joblib workers.
    reduce : bool
        If True return per-sample sums, else per-tile values.

    Returns
    -------
    result : ndarray
        Shape (n_samples, n_outputs) if ``reduce``, else
        (n_samples, T1, ..., Td, n_outputs).
    """
    n_samples = X.shape[0]
    tiles_per_axis = tuple(length // f for length, f in zip(X.shape[1:-1], focus))
    n_workers = effective_n_jobs(n_jobs)
    items = plan_items(n_samples, tiles_per_axis, max_tiles, n_workers)
    n_workers = min(n_workers, len(items))
    n_threads = None if n_workers == 1 else max(1, cpu_count() // n_workers)

    calls = [
        (X[s0:s1], (r0, r1), focus, context, padding, scorer, reduce, n_threads)
        for s0, s1, r0, r1 in items
    ]
    if n_workers == 1:
        results = [_score_item(*call) for call in calls]
    else:
        results = Parallel(n_jobs=n_workers)(delayed(_score_item)(*c) for c in calls)
    n_outputs = results[0].shape[-1]
    if reduce:
        totals = np.zeros((n_samples, n_outputs))
        for (s0, s1, _, _), partial in zip(items, results):
            totals[s0:s1] += partial
        return totals
    values = np.empty((n_samples,) + tiles_per_axis + (n_outputs,))
    for (s0, s1, r0, r1), part in zip(items, results):
        values[s0:s1, r0:r1] = part
    return values
