"""Faults in parallel work surface as errors naming the work, never hangs or sums.

Tolerances of time: each run is bounded by joblib's and dask's own failure
detection; a hang would stall the test suite, whose CI job has a time limit.
"""

import contextlib
import os
import sys

import cloudpickle
import numpy as np
import pytest
from sklearn.linear_model import Ridge
from torch import nn

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising

MARK = 7.0  # a grid value that makes the tile models below fail


class _RaisesOnMark(nn.Module):
    """A tile network that fails on tiles holding ``MARK``."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        # Scored as the inner network is: on whole grids or tile by tile.
        self.fully_convolutional = getattr(inner, "fully_convolutional", False)

    def forward(self, x):
        if (x == MARK).any():
            raise RuntimeError("tile network failed")
        return self.inner(x)


class _DiesOnMark(Ridge):
    """A tile model whose process dies on a tile holding ``MARK``."""

    def predict(self, X):
        if (np.asarray(X) == MARK).any():
            os._exit(3)
        return super().predict(X)


@pytest.fixture(scope="module")
def data():
    X, y = make_ising(64, size=8, random_state=0)
    big, _ = make_ising(4, size=32, random_state=1)
    big = big.astype(np.float64)
    big[2, 20, 5] = MARK
    return X, y, big


@contextlib.contextmanager
def _dying_model(X, y):
    """A fitted linear EDNN whose tile model's process dies on ``MARK``.

    Workers are fresh processes: this module's classes are sent by value.
    """
    model = EDNNRegressor(Ridge()).fit(X, y)
    dying = _DiesOnMark().fit(np.zeros((2, 9)), [0.0, 0.0])
    dying.coef_, dying.intercept_ = model.estimator_.coef_, model.estimator_.intercept_
    model.estimator_ = dying
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield model
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _failing_item(message):
    import re

    found = re.search(r"samples (\d+) to (\d+)", message)
    return int(found[1]), int(found[2])


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_a_failing_tile_network_names_the_work_item(data, n_jobs):
    from sklearn import config_context

    X, y, big = data
    model = EDNNRegressor(make_tile_net(max_epochs=1), random_state=0).fit(X, y)
    module = model.estimator_.module_
    module.tile_module = _RaisesOnMark(module.tile_module)
    model.set_params(n_jobs=n_jobs, inference_dtype="float32")
    with (
        config_context(working_memory=1 / 1024),
        pytest.raises(
            RuntimeError,
            match=r"tile rows \d+ to \d+ failed: RuntimeError: tile network",
        ) as raised,
    ):
        model.predict(big)
    first, last = _failing_item(str(raised.value))
    assert first <= 2 <= last


def test_a_dead_worker_process_is_an_error_not_a_hang(data):
    X, y, big = data
    with (
        _dying_model(X, y) as model,
        pytest.raises(RuntimeError, match=r"a worker died while scoring samples"),
    ):
        model.set_params(n_jobs=2, tile_batch_size=64).predict(big)


def test_a_failing_dask_chunk_is_named(data):
    da = pytest.importorskip("dask.array")
    X, y, big = data
    model = EDNNRegressor(make_tile_net(max_epochs=1), random_state=0).fit(X, y)
    module = model.estimator_.module_
    module.tile_module = _RaisesOnMark(module.tile_module)
    lazy = da.from_array(big, chunks=(1, 16, 16))
    with pytest.raises(RuntimeError, match=r"scoring dask chunk \(2, 1, 0, 0\) of"):
        model.predict(lazy).compute()


def test_a_killed_dask_worker_is_an_error_naming_the_task(data):
    """A LocalCluster on loopback whose worker dies on one chunk: the scheduler
    gives up on the task (no retries) and the error names it, within a minute."""
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    import dask

    X, y, big = data
    with (
        _dying_model(X, y) as model,
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        lazy = model.predict(da.from_array(big, chunks=(1, 16, 16)))
        with pytest.raises(
            distributed.KilledWorker, match=r"run task \(.*, \d+, .*died"
        ):
            client.compute(lazy).result(timeout=60)
