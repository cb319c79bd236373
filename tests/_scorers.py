"""Tile scorers that record where they ran, for tests of parallel prediction."""

import os
import threading

import numpy as np

from sklearn_ednn._inference import score_grids


class RecordingScorer:
    """Sums each tile, recording where and under which thread limit it ran."""

    def __init__(self, parallel_prefer=None):
        if parallel_prefer is not None:
            self.parallel_prefer = parallel_prefer

    def __call__(self, tiles):
        import torch

        where = (os.getpid(), threading.get_ident(), torch.get_num_threads())
        values = tiles.reshape(len(tiles), -1).sum(axis=1, keepdims=True)
        return np.concatenate([values, np.tile(where, (len(tiles), 1))], axis=1)


class ThreadPoolScorer(RecordingScorer):
    """A scorer with its own thread pool, as a torch tile network has."""

    intra_op_threads = True


def where_scored(scorer, n_jobs):
    """Score a 64 x 8 grid tile by tile in bands of 16 tiles; where each ran.

    Returns
    -------
    pids, threads, pool_sizes : set
        The processes and threads that scored tiles, and the sizes of torch's
        thread pool they saw.
    """
    X = np.random.default_rng(0).normal(size=(1, 64, 8, 1))
    scores = score_grids(
        X,
        (1, 1),
        (0, 0),
        "wrap",
        scorer,
        max_tiles=16,
        n_jobs=n_jobs,
        reduce=False,
    ).reshape(-1, 4)
    np.testing.assert_allclose(scores[:, 0], X.reshape(-1))
    return set(scores[:, 1]), set(scores[:, 2]), set(scores[:, 3])
