"""Prediction on a dask cluster through joblib's dask backend."""

import numpy as np
import pytest
from joblib import parallel_config

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising

distributed = pytest.importorskip("dask.distributed")


def test_predict_on_local_dask_cluster(ising_small):
    X, y = ising_small
    model = EDNNRegressor(make_tile_net(max_epochs=2), random_state=0).fit(X, y)
    X_big, _ = make_ising(3, size=32, random_state=0)
    serial = model.set_params(tile_batch_size=128).predict(X_big)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        with parallel_config(backend="dask"):
            on_cluster = model.set_params(n_jobs=-1).predict(X_big)
    np.testing.assert_allclose(on_cluster, serial, rtol=1e-12)
