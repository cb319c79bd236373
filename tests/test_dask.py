"""Prediction on a dask cluster through joblib's dask backend."""

import numpy as np
import pytest
from _scorers import ThreadPoolScorer, where_scored
from joblib import parallel_config

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising

distributed = pytest.importorskip("dask.distributed")


def test_predict_on_local_dask_cluster(ising_small):
    X, y = ising_small
    model = EDNNRegressor(
        make_tile_net(max_epochs=2), random_state=0, inference_dtype="float64"
    ).fit(X, y)
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


def test_a_scorer_with_its_own_threads_goes_to_the_cluster_under_dask():
    import threading

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        parallel_config(backend="dask"),
    ):
        _, threads, _ = where_scored(ThreadPoolScorer(), n_jobs=-1)
    # The bands ran on the cluster's worker threads, not in the caller's.
    assert threading.get_ident() not in threads


@pytest.fixture(scope="module")
def ising_model(ising_small):
    X, y = ising_small
    net = make_tile_net(max_epochs=2)
    return EDNNRegressor(net, f=2, c=1, random_state=0, inference_dtype="float64").fit(
        X, y
    )


@pytest.mark.parametrize("shifts", [1, 2])
def test_dask_arrays_are_predicted_lazily_chunk_by_chunk(ising_model, shifts):
    da = pytest.importorskip("dask.array")
    model = ising_model.set_params(average_shifts=shifts)
    X, _ = make_ising(3, size=32, random_state=4)
    expected = model.predict(X)
    contributions = model.predict_contributions(X)
    # Chunks of 10 x 12 spins: not whole focus regions, rechunked to 10 x 12
    # of f = 2; the halo crosses chunks and the periodic edge.
    lazy = da.from_array(X, chunks=(2, 10, 12))
    predicted = model.predict(lazy)
    assert isinstance(predicted, da.Array)
    np.testing.assert_allclose(predicted.compute(), expected, rtol=1e-9)
    np.testing.assert_allclose(
        model.predict_contributions(lazy).compute(), contributions, rtol=1e-9
    )
    model.set_params(average_shifts=1)


def test_dask_arrays_on_a_local_cluster(ising_model):
    da = pytest.importorskip("dask.array")
    X, _ = make_ising(2, size=64, random_state=5)
    expected = ising_model.predict(X)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        lazy = da.from_array(X, chunks=(1, 32, 32))
        on_cluster = ising_model.predict(lazy).compute()
    np.testing.assert_allclose(on_cluster, expected, rtol=1e-9)


def test_bad_dask_grids_are_refused_before_computing(ising_model):
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="length 7, which is not a positive"):
        ising_model.predict(da.zeros((1, 7, 8), chunks=4))
    with pytest.raises(ValueError, match="fitted on grids with 2 spatial axes"):
        ising_model.predict(da.zeros((1, 8, 8, 8), chunks=4))
