"""Lazy prediction of dask arrays: every chunk scored with its halo, on any cluster.

A dask array of grids is cut into chunks that are whole focus regions along
every spatial axis; ``map_overlap`` hands each chunk to a worker with its
``c``-wide halo (periodic across the grid's edges, or zeros), and the worker
scores that padded chunk exactly as a band of one grid is scored in memory.
The result is a lazy dask array; ``compute()`` runs it on whatever scheduler is
active (threads, processes, or a ``dask.distributed`` cluster).
"""

import numpy as np

from ._inference import score_padded_band
from ._tiling import shift_grids

__all__ = ["dask_contributions", "is_dask_array"]


def is_dask_array(X):
    """Whether ``X`` is a dask array (without importing dask otherwise)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "map_overlap")


def _whole_focus_chunks(X, focus):
    """Rechunk so that every spatial chunk is a whole number of focus regions."""
    chunks = {}
    for axis, f in enumerate(focus, start=1):
        sizes = X.chunks[axis]
        if any(size % f for size in sizes):
            target = max(f, (max(sizes) // f) * f)
            chunks[axis] = target
    return X.rechunk(chunks) if chunks else X


def dask_contributions(tiling, grids, *, scorer=None):
    """Lazy raw tile scores of channel-last dask grids, averaged over tilings.

    Parameters
    ----------
    tiling : FittedTiling
        The fitted tiling.
    grids : dask.array.Array of shape (n_samples, L1, ..., Ld, n_channels)
        Channel-last grids; spatial chunks are made whole focus regions.
    scorer : callable, default=None
        Replaces the tiling's scorer.

    Returns
    -------
    raw : dask.array.Array of shape (n_samples, T1, ..., Td, n_outputs)
        Raw scores per tile: ``to_target(raw, 1)`` gives contributions.
    """
    focus, context = tiling.focus, tiling.context
    n_spatial = len(focus)
    scorer = tiling.scorer if scorer is None else scorer
    grids = _whole_focus_chunks(grids, focus)
    # The channel axis in one chunk; the outputs replace it.
    grids = grids.rechunk({n_spatial + 1: -1})
    depth = {0: 0, n_spatial + 1: 0}
    depth.update({axis: c for axis, c in enumerate(context, start=1)})
    edge = "periodic" if tiling.padding == "wrap" else 0
    boundary = {axis: edge for axis in depth}
    out_chunks = (
        grids.chunks[0],
        *(
            tuple(size // f for size in grids.chunks[axis])
            for axis, f in enumerate(focus, start=1)
        ),
        (tiling.n_outputs,),
    )

    def score_chunk(padded, block_info=None):
        try:
            return score_padded_band(
                np.asarray(padded), focus, context, scorer, tiling.tile_batch_size
            )
        except Exception as error:
            where = (block_info or {}).get(0, {}).get("chunk-location", "?")
            raise RuntimeError(
                f"scoring dask chunk {where} of the grids failed: "
                f"{type(error).__name__}: {error}"
            ) from error

    total = 0
    for shift in tiling.shifts:
        # A roll cuts chunks anew: back to whole focus regions, as the others.
        moved = shift_grids(grids, shift).rechunk(grids.chunks)
        total = total + moved.map_overlap(
            score_chunk,
            depth=depth,
            boundary=boundary,
            trim=False,
            chunks=out_chunks,
            dtype=np.float64,
        )
    return total / tiling.n_tilings
