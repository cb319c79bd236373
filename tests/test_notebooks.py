"""The example notebooks run from top to bottom in quick mode."""

import os
from pathlib import Path

import nbclient
import nbformat
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    "name, markers",
    [
        ("ising.ipynb", ["chosen:", "Tc ="]),
        ("atoms.ipynb", ["held-out error:", "atoms predicted in", "contributions sum"]),
    ],
)
def test_notebook_runs_in_quick_mode(name, markers, monkeypatch, tmp_path):
    monkeypatch.setenv("SKLEARN_EDNN_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    text = "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    assert all(marker in text for marker in markers)
    assert os.environ["SKLEARN_EDNN_QUICK"] == "1"
