"""Prediction in bounded batches and in parallel gives the same numbers."""

import os
import re
import threading

import numpy as np
import pytest
from _lazy import RecordingArray
from _scorers import RecordingScorer, ThreadPoolScorer, where_scored
from joblib import cpu_count

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising


@pytest.fixture(scope="module")
def model(ising_small):
    X, y = ising_small
    return EDNNRegressor(
        make_tile_net(max_epochs=3), f=2, c=1, random_state=0, inference_dtype="float64"
    ).fit(X, y)


@pytest.mark.parametrize("tile_batch_size", [1, 7, 100, 10_000])
def test_tile_batch_size_does_not_change_predictions(model, tile_batch_size):
    X, _ = make_ising(5, size=16, random_state=3)
    reference = model.predict(X)
    batched = model.set_params(tile_batch_size=tile_batch_size).predict(X)
    np.testing.assert_allclose(batched, reference, rtol=1e-12)
    contributions = model.predict_contributions(X)
    np.testing.assert_allclose(contributions.sum(axis=(1, 2)), reference, rtol=1e-12)
    model.set_params(tile_batch_size=4096)


@pytest.mark.parametrize("n_samples, size", [(9, 8), (1, 64)])
def test_parallel_prediction_matches_serial(model, n_samples, size):
    # Many small grids are split by samples; one large grid by bands of rows.
    X, _ = make_ising(n_samples, size=size, random_state=4)
    serial = model.set_params(n_jobs=None, tile_batch_size=64).predict(X)
    parallel = model.set_params(n_jobs=2).predict(X)
    np.testing.assert_allclose(parallel, serial, rtol=1e-12)
    np.testing.assert_allclose(
        model.predict_contributions(X),
        model.set_params(n_jobs=None).predict_contributions(X),
        rtol=1e-12,
        atol=1e-12,  # float64 round-off on contributions near zero
    )
    model.set_params(n_jobs=None, tile_batch_size=4096)


def test_float32_inference_agrees_with_float64(model):
    X, _ = make_ising(4, size=32, random_state=5)
    exact = model.predict(X)
    fast = model.set_params(inference_dtype="float32").predict(X)
    model.set_params(inference_dtype="float64")
    np.testing.assert_allclose(fast, exact, rtol=1e-4)


def test_memory_mapped_input_is_read_in_bands(model, tmp_path):
    X, _ = make_ising(2, size=32, random_state=6)
    path = tmp_path / "grids.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    expected = model.predict(X)
    np.testing.assert_allclose(
        model.set_params(tile_batch_size=16).predict(mapped), expected, rtol=1e-12
    )
    model.set_params(tile_batch_size=4096)


def _resident_file_bytes():
    """This process's resident pages mapped from files (Linux's RssFile)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssFile:"):
                return int(line.split()[1]) * 1024
    raise LookupError("no RssFile in /proc/self/status")


@pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="reads Linux's /proc"
)
@pytest.mark.parametrize("mode", ["r", "c"])
def test_a_memory_map_read_band_by_band_does_not_stay_resident(tmp_path, mode):
    from sklearn import config_context
    from sklearn.linear_model import Ridge

    X, y = make_ising(20, size=8, random_state=0)
    model = EDNNRegressor(Ridge(), f=2, c=1).fit(X, y)
    path = tmp_path / "lattice.npy"
    size = 2048  # 32 MiB of float64
    lattice = np.lib.format.open_memmap(path, "w+", np.float64, (1, size, size))
    lattice[:] = 1.0
    del lattice
    mapped = np.load(path, mmap_mode=mode)
    before = _resident_file_bytes()
    with config_context(working_memory=1):
        energy = model.predict(mapped)
    grown = _resident_file_bytes() - before
    np.testing.assert_allclose(energy, model.predict(np.ones((1, 4, 4))) * 2**18)
    if mode == "r":
        # The bands' pages were let go as the prediction went on.
        assert grown < 4 * 2**20
    else:
        # A copy-on-write map keeps its pages: they may hold writes.
        assert grown > 24 * 2**20


def test_h5py_datasets_are_read_band_by_band(model, tmp_path):
    h5py = pytest.importorskip("h5py")
    X, _ = make_ising(1, size=64, random_state=7)
    with h5py.File(tmp_path / "grid.h5", "w") as file:
        file["spins"] = X
    expected = model.predict(X)
    contributions = model.predict_contributions(X)
    model.set_params(tile_batch_size=64)
    try:
        with h5py.File(tmp_path / "grid.h5", "r") as file:
            np.testing.assert_allclose(model.predict(file["spins"]), expected)
            np.testing.assert_allclose(
                model.predict_contributions(file["spins"]), contributions
            )
    finally:
        model.set_params(tile_batch_size=4096)


def test_working_memory_bounds_what_is_read(model):
    from sklearn import config_context

    X, _ = make_ising(1, size=128, random_state=8)
    expected = model.predict(X)
    default, small = RecordingArray(X), RecordingArray(X)
    np.testing.assert_allclose(model.predict(default), expected)
    # 2 KiB holds about 170 tiles of 2 x 2 int8 spins (12 bytes each with their
    # score): two of the grid's 64 rows of tiles, with their halo.
    with config_context(working_memory=2 / 1024):
        np.testing.assert_allclose(model.predict(small), expected)
    assert 0 < small.largest_read <= 6 * 128 < default.largest_read


def test_lazy_grids_are_checked_without_reading_them(model):
    X = RecordingArray(np.zeros((1, 7, 8), dtype=np.int8))
    with pytest.raises(ValueError, match="length 7, which is not a positive"):
        model.predict(X)
    assert X.largest_read == 0
    with pytest.raises(ValueError, match="grids must be numeric"):
        model.predict(RecordingArray(np.zeros((1, 8, 8), dtype="U1")))


def _last_bar(err):
    """The last state of the progress bar written to ``err``."""
    return err.replace("\r", "\n").strip().splitlines()[-1]


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("streamed", [False, True], ids=["totals", "maps-to-out"])
def test_verbose_prediction_shows_progress_to_the_end(model, capsys, n_jobs, streamed):
    X, _ = make_ising(1, size=32, random_state=9)
    model.set_params(verbose=1, tile_batch_size=16, n_jobs=n_jobs)
    try:
        if streamed:
            model.predict_contributions(X, out=np.empty((1, 16, 16)))
        else:
            model.predict(X)
    finally:
        model.set_params(verbose=0, tile_batch_size=4096, n_jobs=None)
    # The bar counts every band, the last one included.
    assert re.search(r"scoring: 100%.* (\d+)/\1 ", _last_bar(capsys.readouterr().err))


def test_averaged_tilings_of_lazy_grids_are_read_band_by_band(model):
    from sklearn import config_context

    X, _ = make_ising(1, size=128, random_state=10)
    model.set_params(average_shifts=2)
    try:
        expected = model.predict(X)
        lazy = RecordingArray(X)
        with config_context(working_memory=2 / 1024):
            np.testing.assert_allclose(model.predict(lazy), expected)
    finally:
        model.set_params(average_shifts=1)
    # Each tiling reads bands of the grid as moved, never the whole grid.
    assert 0 < lazy.largest_read <= 6 * 128


@pytest.mark.parametrize("average_shifts", [1, 2])
def test_contributions_are_written_band_by_band_into_out(
    model, tmp_path, average_shifts
):
    h5py = pytest.importorskip("h5py")
    from sklearn import config_context

    X, _ = make_ising(2, size=64, random_state=11)
    model.set_params(average_shifts=average_shifts)
    try:
        expected = model.predict_contributions(X)
        out = np.full(expected.shape, np.nan)
        with config_context(working_memory=2 / 1024):
            assert model.predict_contributions(X, out=out) is out
            np.testing.assert_allclose(out, expected, rtol=1e-12)
            with h5py.File(tmp_path / "maps.h5", "w") as file:
                maps = file.create_dataset("maps", shape=expected.shape, dtype="f8")
                model.predict_contributions(RecordingArray(X), out=maps)
                np.testing.assert_allclose(maps[...], expected, rtol=1e-12)
    finally:
        model.set_params(average_shifts=1)


def test_out_of_the_wrong_shape_is_refused(model):
    X, _ = make_ising(2, size=16, random_state=12)
    with pytest.raises(
        ValueError, match=r"out has shape \(2, 8, 7\); the contributions"
    ):
        model.predict_contributions(X, out=np.empty((2, 8, 7)))
    with pytest.raises(ValueError, match="one-dimensional target .* no output axis"):
        model.predict_contributions(X, out=np.empty((2, 8, 8, 1)))


@pytest.mark.parametrize("prefer", ["threads", None])
def test_workers_are_threads_or_processes_as_the_scorer_prefers(prefer):
    import torch

    before = torch.get_num_threads()
    pids, threads, pool = where_scored(RecordingScorer(prefer), n_jobs=2)
    # Threads share the caller's process; processes are others.
    assert (pids == {os.getpid()}) == (prefer == "threads")
    if prefer == "threads":
        assert threading.get_ident() not in threads  # pool threads
    # Every worker ran with its share of the cores, and the caller's torch
    # thread pool is as it was.
    assert pool == {max(1, cpu_count() // 2)}
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("n_jobs", [None, 1, 2, -1, 64])
def test_a_scorer_with_its_own_thread_pool_gets_n_jobs_threads(n_jobs):
    import torch
    from joblib import parallel_config

    before = torch.get_num_threads()
    pids, threads, pool = where_scored(ThreadPoolScorer(), n_jobs)
    # Every band is scored in the caller's thread, on the scorer's own pool
    # of n_jobs threads (capped at the cores), or as it was with None.
    assert pids == {os.getpid()} and threads == {threading.get_ident()}
    expected = {None: before, 1: 1, 2: min(2, cpu_count())}.get(n_jobs, cpu_count())
    assert pool == {expected}
    assert torch.get_num_threads() == before
    # A joblib context's n_jobs counts when the estimator's is None.
    with parallel_config(backend="threading", n_jobs=1):
        assert where_scored(ThreadPoolScorer(), None)[2] == {1}
