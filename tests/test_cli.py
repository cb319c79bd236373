"""The sklearn-ednn command line, end to end in subprocesses."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_ednn import load, model_info
from sklearn_ednn.datasets import make_ising, make_sheets

ENTRY_POINT = Path(sys.executable).with_name("sklearn-ednn")


def run(*args, check=True):
    """Run ``python -m sklearn_ednn ARGS``; the completed process."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.run(
        [sys.executable, "-m", "sklearn_ednn", *map(str, args)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    if check and process.returncode != 0:
        raise AssertionError(f"exit {process.returncode}: {process.stderr}")
    return process


@pytest.fixture(scope="module")
def grids(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grids")
    X, y = make_ising(120, size=6, random_state=0)
    np.savez(folder / "ising.npz", X=X, y=y)
    return folder, X, y


@pytest.fixture(scope="module")
def trained_grids(grids):
    folder, _, _ = grids
    process = run("train", folder / "ising.npz", "-o", folder / "m.ednn", "--epochs", 3)
    return folder, process


def test_train_on_npz_saves_a_model_with_progress(trained_grids, grids):
    folder, process = trained_grids
    _, X, y = grids
    assert "train_loss" in process.stdout  # the epoch table
    assert "fitted on 120 grids" in process.stdout
    model = load(folder / "m.ednn")
    assert model.predict(X).shape == y.shape
    info = model_info(folder / "m.ednn")
    assert info["metadata"]["n_samples"] == 120
    assert info["metadata"]["settings"]["epochs"] == 3


def test_predict_writes_csv_and_npz_with_contributions(trained_grids, grids):
    folder, _ = trained_grids
    _, X, _ = grids
    # The subprocess runs one thread: equal to round-off of the summation order.
    expected = load(folder / "m.ednn").predict(X)
    run("predict", folder / "m.ednn", folder / "ising.npz", "-o", folder / "p.csv")
    with open(folder / "p.csv") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["index", "prediction_0"]
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], expected, rtol=1e-12)
    run(
        "predict",
        folder / "m.ednn",
        folder / "ising.npz",
        "-o",
        folder / "p.npz",
        "--contributions",
    )
    with np.load(folder / "p.npz") as saved:
        np.testing.assert_allclose(saved["prediction"], expected, rtol=1e-12)
        np.testing.assert_allclose(saved["contributions"].sum(axis=(1, 2)), expected)


def test_info_prints_the_model_and_json(trained_grids):
    folder, _ = trained_grids
    process = subprocess.run(
        [str(ENTRY_POINT), "info", str(folder / "m.ednn")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert "TileMLP (solver torch)" in process.stdout
    assert "training grids             6x6" in process.stdout
    details = json.loads(run("info", folder / "m.ednn", "--json").stdout)
    assert details["summary"]["f"] == [1, 1]


def test_train_reads_a_toml_config_and_flags_win(grids):
    folder, _, _ = grids
    config = folder / "ridge.toml"
    config.write_text('network = "ridge"\nf = 2\nc = 1\n')
    run("train", folder / "ising.npz", "-o", folder / "r.ednn", "--config", config)
    summary = model_info(folder / "r.ednn")["summary"]
    assert summary["solver"] == "linear" and summary["f"] == [2, 2]
    run(
        "train",
        folder / "ising.npz",
        "-o",
        folder / "r1.ednn",
        "--config",
        config,
        "-f",
        "1",
    )
    assert model_info(folder / "r1.ednn")["summary"]["f"] == [1, 1]


def test_structures_from_extended_xyz_end_to_end(tmp_path):
    ase_io = pytest.importorskip("ase.io")
    sheets, _ = make_sheets(16, snapshots_per_run=4, burn_in=5, interval=3)
    ase_io.write(tmp_path / "sheets.xyz", sheets, format="extxyz")
    run(
        "train",
        tmp_path / "sheets.xyz",
        "-o",
        tmp_path / "atoms.ednn",
        "-f",
        8,
        "-c",
        4,
        "--resolution",
        0.4,
        "--network",
        "fcn",
        "--epochs",
        1,
        "--force-weight",
        3,
        "--quiet",
    )
    summary = model_info(tmp_path / "atoms.ednn")["summary"]
    assert summary["model"] == "AtomImage -> EDNNRegressor"
    assert summary["tile_model"] == "TileFCN"
    run(
        "predict",
        tmp_path / "atoms.ednn",
        tmp_path / "sheets.xyz",
        "-o",
        tmp_path / "p.xyz",
    )
    written = ase_io.read(tmp_path / "p.xyz", index=":")
    expected = load(tmp_path / "atoms.ednn").predict(sheets)
    np.testing.assert_allclose([a.info["ednn_energy"] for a in written], expected)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["predict", "{d}/m.ednn", "{d}/missing.npz", "-o", "{d}/p.csv"],
            "missing.npz",
        ),
        (["predict", "{d}/m.ednn", "{d}/ising.npz", "-o", "{d}/p.txt"], "must end in"),
        (
            [
                "predict",
                "{d}/m.ednn",
                "{d}/ising.npz",
                "-o",
                "{d}/p.csv",
                "--contributions",
            ],
            "contribution maps are written to .npz files only",
        ),
        (["info", "{d}/ising.npz"], "not a saved sklearn-ednn model"),
        (["train", "{d}/ising.npz", "-o", "{d}/x.ednn", "--y-key", "E"], "has no 'E'"),
        (["train", "{d}/ising.npz", "-o", "{d}/x.ednn", "-f", "4"], "multiple of f=4"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(trained_grids, args, message):
    folder, _ = trained_grids
    process = run(*[a.format(d=folder) for a in args], check=False)
    assert process.returncode == 1
    lines = process.stderr.strip().splitlines()
    assert lines[-1].startswith("sklearn-ednn ") and message in lines[-1]
    assert "Traceback" not in process.stderr


def test_debug_shows_the_traceback_and_usage_errors_exit_2(trained_grids):
    folder, _ = trained_grids
    process = run("info", folder / "ising.npz", "--debug", check=False)
    assert process.returncode == 1 and "Traceback" in process.stderr
    process = run("train", folder / "ising.npz", check=False)
    assert process.returncode == 2 and "-o/--output" in process.stderr


def test_demo_fits_and_reports_the_transfer(tmp_path):
    process = run("demo", "--quick", "--quiet", "-o", tmp_path / "demo.ednn")
    assert "8x8 held out: mean abs error" in process.stdout
    assert "128x128 transfer: mean abs error" in process.stdout
    assert model_info(tmp_path / "demo.ednn")["summary"]["training_grid_shape"] == [
        8,
        8,
    ]
