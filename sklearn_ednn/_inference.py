"""Batched, parallel scoring of tiles for prediction on grids of any size.

Work is cut into items: a run of whole samples when a sample has few tiles, or a
band of tile rows (along the first spatial axis, with its ``c``-wide halo) of one
sample when it has many. Each item reads only its rows of the input, which may be
a memory map, an h5py dataset or a zarr array, and holds at most scikit-learn's
``working_memory`` of it. Items are spread over CPU cores by joblib without
oversubscribing threads (a torch tile network instead gets ``n_jobs`` threads of
its own pool for each item), and each is scored in batches of at most
``max_tiles`` tiles, so memory stays bounded however large the grid.
"""

import math
import mmap
import os
import sys
from contextlib import ExitStack, contextmanager

import numpy as np
from joblib import cpu_count, effective_n_jobs
from joblib.parallel import (
    LokyBackend,
    MultiprocessingBackend,
    SequentialBackend,
    ThreadingBackend,
    get_active_backend,
)
from sklearn import get_config
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ._tiling import pad_grid, padded_rows, window_view


def plan_items(n_samples, tiles_per_axis, max_tiles):
    """Cut the work into ``(sample_start, sample_stop, row_start, row_stop)`` items.

    Parameters
    ----------
    n_samples : int
        Number of grids.
    tiles_per_axis : tuple of int
        Number of focus regions per spatial axis, ``Li / fi``.
    max_tiles : int
        Largest number of tiles one item should hold; an item holds at least
        one row of tiles (along the first spatial axis) of one grid.

    Returns
    -------
    items : list of tuple of int
        Items covering every tile exactly once, in order: runs of whole grids
        when a grid has at most ``max_tiles`` tiles, else bands of tile rows.
    """
    n_rows = tiles_per_axis[0]
    tiles_per_row = math.prod(tiles_per_axis[1:])
    tiles_per_sample = n_rows * tiles_per_row
    if tiles_per_sample <= max_tiles:
        per_item = max_tiles // tiles_per_sample
        return [
            (start, min(start + per_item, n_samples), 0, n_rows)
            for start in range(0, n_samples, per_item)
        ]
    rows_per_item = max(1, max_tiles // tiles_per_row)
    return [
        (sample, sample + 1, row, min(row + rows_per_item, n_rows))
        for sample in range(n_samples)
        for row in range(0, n_rows, rows_per_item)
    ]


def _padded_bands(X, items, focus, context, padding, shift):
    """Yield each item's padded band: only the grid rows (and halo) it needs.

    The pages of a memory-mapped ``X`` that a band was read from are dropped
    from this process once the next band is asked for (see
    :func:`_shared_file_mapping`).
    """
    f0 = focus[0]
    mapping = _shared_file_mapping(X)
    for s0, s1, r0, r1 in items:
        yield pad_grid(
            X,
            focus,
            context,
            padding,
            first_axis_range=(r0 * f0, r1 * f0),
            samples=slice(s0, s1),
            shift=shift,
        )
        if mapping is not None:
            mapping.madvise(mmap.MADV_DONTNEED)


def _shared_file_mapping(X):
    """The shared file mapping under a memory-mapped ``X``, or None.

    Every page of a memory map that a band reads stays in the process's
    resident memory until it is unmapped, so a grid read from a file would
    end up resident whole. Dropping the mapping's pages after each band
    (``madvise(MADV_DONTNEED)``) keeps them in the system's page cache, from
    which a later read maps them again, and keeps the resident memory of a
    prediction to its bands. Only shared mappings qualify: the written pages
    of a copy-on-write map (``mode="c"``) exist nowhere else.
    """
    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap) and X.mode == "c":
            return None
        X = X.base
    if isinstance(X, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        return X
    return None


def _score_band(band, focus, context, scorer, max_tiles, reduce):
    """Score one padded band in batches of at most ``max_tiles`` tiles.

    A scorer with ``scores_padded`` (a fully convolutional tile network) gets
    each batch as a padded block, tiles and halo, and cuts no tiles; any
    other gets a contiguous copy of the block's tiles.
    """
    views = window_view(band, focus, context)  # a view: no copy
    n_spatial = len(focus)
    tiles_shape = views.shape[: 1 + n_spatial]
    padded = getattr(scorer, "scores_padded", False)
    scores = None
    for where in tile_blocks(tiles_shape, max_tiles, square=padded):
        if padded:
            block = band[where[:1] + _padded_slices(where[1:], focus, context)]
            part = scorer.score_padded(np.ascontiguousarray(block))
            shape = part.shape[1 + n_spatial :]
        else:  # a copy of these tiles only
            block = np.array(views[where])
            part = scorer(block.reshape((-1,) + block.shape[1 + n_spatial :]))
            shape = part.shape[1:]
            part = part.reshape(block.shape[: 1 + n_spatial] + shape)
        if scores is None:
            scores = np.empty(tiles_shape + shape)
        scores[where] = part
    if reduce:
        return scores.reshape(tiles_shape[0], -1, scores.shape[-1]).sum(axis=1)
    return scores


def _padded_slices(tile_slices, focus, context):
    """The padded positions that the tiles in ``tile_slices`` read, per axis."""
    return tuple(
        padded_rows(s.start, s.stop, focus[axis:], context[axis:])
        for axis, s in enumerate(tile_slices)
    )


def tile_blocks(tiles_shape, max_tiles, square=False):
    """Cut a map of tiles into blocks of at most ``max_tiles`` tiles.

    Parameters
    ----------
    tiles_shape : tuple of int
        ``(n_samples, T1, ..., Td)``: grids and tiles per spatial axis.
    max_tiles : int
        Largest number of tiles per block.
    square : bool, default=False
        Cut a grid of more than ``max_tiles`` tiles into near-square blocks
        even when whole rows of tiles fit.

    Returns
    -------
    blocks : list of tuple of slice
        Index of each block in the map of tiles, covering every tile exactly
        once: runs of whole grids when a grid has at most ``max_tiles``
        tiles, else bands of whole tile rows when a row fits (and not
        ``square``), else near-square blocks cut along the first two spatial
        axes. A batch therefore never exceeds ``max_tiles`` however wide the
        grid (only a single position of the first two axes, holding more
        than ``max_tiles`` tiles of a 3-D grid, does), and a fully
        convolutional network keeps one block's activations in the CPU
        caches instead of streaming wide rows through memory layer by layer.
    """
    n_samples, *tiles_per_axis = tiles_shape
    fits = (
        math.prod(tiles_per_axis) <= max_tiles
        if square
        else (math.prod(tiles_per_axis[1:]) <= max_tiles)
    )
    if len(tiles_per_axis) == 1 or fits:
        return [
            (slice(s0, s1), slice(r0, r1))
            for s0, s1, r0, r1 in plan_items(n_samples, tiles_per_axis, max_tiles)
        ]
    # Near square, but as many tiles as allowed: a band of few rows gets
    # blocks of all its rows and as many columns as fit.
    rest = math.prod(tiles_per_axis[2:])
    n_rows = min(tiles_per_axis[0], max(1, math.isqrt(max(1, max_tiles // rest))))
    n_cols = min(tiles_per_axis[1], max(1, max_tiles // (n_rows * rest)))
    return [
        (
            slice(sample, sample + 1),
            slice(r0, min(r0 + n_rows, tiles_per_axis[0])),
            slice(q0, min(q0 + n_cols, tiles_per_axis[1])),
        )
        for sample in range(n_samples)
        for r0 in range(0, tiles_per_axis[0], n_rows)
        for q0 in range(0, tiles_per_axis[1], n_cols)
    ]


def score_padded_band(band, focus, context, scorer, max_tiles):
    """Raw scores of every tile of one padded band, shape (n, T1, ..., Td, k).

    The band (grids padded by their context, or a chunk of one with its halo)
    is scored in batches of at most ``max_tiles`` tiles, as in memory.
    """
    return _score_band(band, focus, context, scorer, max_tiles, reduce=False)


@contextmanager
def limited_threads(threads):
    """Limit this process's BLAS, OpenMP and torch thread pools to ``threads``.

    torch keeps its own thread pool; it is limited only where a torch scorer
    has imported it, so that classical tile models never import torch.
    """
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(previous)


def _score_band_in_worker(band, focus, context, scorer, max_tiles, reduce, limits):
    """:func:`_score_band` in a joblib worker, within ``limits = (threads, pid)``.

    A worker in another process limits its own thread pools to ``threads``;
    a thread of the calling process (``pid``) runs under the limit the caller
    set once for all its threads (pools are per process, so threads setting
    and restoring them one by one would race).
    """
    threads, caller = limits
    if os.getpid() == caller:
        return _score_band(band, focus, context, scorer, max_tiles, reduce)
    with limited_threads(threads):
        return _score_band(band, focus, context, scorer, max_tiles, reduce)


def _workers_and_threads(scorer, n_jobs):
    """The number of joblib workers, and the threads of a scorer's own pool.

    A scorer with ``intra_op_threads`` (a torch tile network in this process)
    runs every batch on torch's thread pool, which splits each matrix product
    and convolution over the cores and keeps one copy of the activations; on
    2 cores, torch's two threads score the Ising MLP about 1.9x faster than
    one, and two workers of one thread each, over separate bands, are slower
    (they stream twice the activations through the shared caches). For such
    a scorer on this machine, ``n_jobs`` sets the pool's size (capped at the
    cores) and the items are scored one after another; ``n_jobs=None``
    outside a joblib context leaves the pool as it is (torch's default:
    every core).
    Other scorers, and any scorer under a joblib backend that runs elsewhere
    (dask), get ``n_jobs`` joblib workers.

    Returns
    -------
    n_workers : int
        joblib workers for the items (1: in this thread).
    threads : int or None
        Size of the scorer's own thread pool while it scores; None leaves
        it as it is.
    """
    backend, context_jobs = get_active_backend()
    local = (LokyBackend, MultiprocessingBackend, SequentialBackend, ThreadingBackend)
    if not (getattr(scorer, "intra_op_threads", False) and isinstance(backend, local)):
        return effective_n_jobs(n_jobs), None
    if n_jobs is None and context_jobs is None:
        return 1, None
    return 1, min(effective_n_jobs(n_jobs), cpu_count())


def _item_name(item):
    """Words for a work item ``(s0, s1, r0, r1)`` in an error message."""
    s0, s1, r0, r1 = item
    return f"samples {s0} to {s1 - 1}, tile rows {r0} to {r1 - 1}"


def _score_item(item, *args):
    """:func:`_score_band_in_worker`, with a failure naming the item."""
    try:
        return _score_band_in_worker(*args)
    except Exception as error:
        raise RuntimeError(
            f"scoring {_item_name(item)} failed: {type(error).__name__}: {error}"
        ) from error


def _in_order(results, items):
    """The results of the items in order; a dead worker named by the items left."""
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    done = 0
    try:
        for part in results:
            yield part
            done += 1
    except TerminatedWorkerError as error:
        raise RuntimeError(
            f"a worker died while scoring {_item_name(items[done])} or a later "
            f"item ({done} of {len(items)} items were scored): {error}"
        ) from None


def score_grids(
    X,
    focus,
    context,
    padding,
    scorer,
    *,
    max_tiles,
    n_jobs,
    reduce,
    shift=None,
    progress=False,
    sink=None,
):
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
        Optional attributes: ``intra_op_threads`` (see
        :func:`_workers_and_threads`) and ``parallel_prefer``, joblib's
        ``prefer`` for its workers (``"threads"`` or ``"processes"``).
    max_tiles : int
        Tiles per scorer call (bounds memory).
    n_jobs : int or None
        Number of joblib workers, or of threads for a scorer with its own
        thread pool (see :func:`_workers_and_threads`).
    reduce : bool
        If True return per-sample sums, else per-tile values.
    shift : tuple of int, default=None
        Score the tiling moved by ``shift`` (see ``_tiling.tiling_shifts``):
        each band is read as from the rolled grid, which is never made.
    progress : bool, default=False
        Show a progress bar over the work items (bands or runs of grids).
    sink : callable, default=None
        With ``reduce=False``, called as ``sink(where, values)`` for each
        item as it is scored, ``where`` the (samples, tile rows) slices of
        the item's ``values`` in the map of tiles; the map is then never
        assembled and None is returned.

    Returns
    -------
    result : ndarray or None
        Shape (n_samples, n_outputs) if ``reduce``, else
        (n_samples, T1, ..., Td, n_outputs); None with a ``sink``.
    """
    n_samples = X.shape[0]
    tiles_per_axis = tuple(length // f for length, f in zip(X.shape[1:-1], focus))
    total_tiles = n_samples * math.prod(tiles_per_axis)
    n_workers, own_threads = _workers_and_threads(scorer, n_jobs)
    # Work items for the workers: about four per worker for load balance, each
    # scored in batches of max_tiles; bands are at most 64 batches, and their
    # padded input fits scikit-learn's working_memory, so the input held per
    # item stays small however large the grid.
    tile_bytes = np.dtype(X.dtype).itemsize * X.shape[-1] * math.prod(focus) + 8
    in_memory = min(
        64 * max_tiles,
        max(1, int(get_config()["working_memory"] * 2**20 // tile_bytes)),
    )
    per_item = min(max(max_tiles, -(-total_tiles // (4 * n_workers))), in_memory)
    items = plan_items(n_samples, tiles_per_axis, per_item)
    n_workers = min(n_workers, len(items))
    bands = _padded_bands(X, items, focus, context, padding, shift)
    bar = dict(total=len(items), disable=not progress, desc="scoring", unit="band")
    common = (focus, context, scorer, max_tiles, reduce)
    with ExitStack() as limits:
        if n_workers == 1:
            if own_threads is not None:
                limits.enter_context(limited_threads(own_threads))
            in_this_process = (None, os.getpid())
            scored = (
                _score_item(item, band, *common, in_this_process)
                for item, band in zip(items, bands)
            )
        else:
            threads = max(1, cpu_count() // n_workers)
            limits.enter_context(limited_threads(threads))
            # Bands are made lazily as workers ask for them, so memory stays
            # bounded. A scorer may prefer threads (torch releases the GIL in
            # its kernels): no band, result or model is copied to a process.
            scored = Parallel(
                n_jobs=n_workers,
                return_as="generator",
                prefer=getattr(scorer, "parallel_prefer", None),
            )(
                delayed(_score_item)(item, band, *common, (threads, os.getpid()))
                for item, band in zip(items, bands)
            )
            scored = _in_order(scored, items)
        # One bar over the scored items, as they finish.
        results = tqdm(scored, **bar)
        if sink is not None and not reduce:
            # Results first: zip stops on its first iterator, so the bar then
            # sees the last item finished.
            for part, (s0, s1, r0, r1) in zip(results, items):
                sink((slice(s0, s1), slice(r0, r1)), part)
            return None
        results = list(results)
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
