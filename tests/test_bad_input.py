"""Every public entry point against bad input: the table of the user guide.

``docs/bad_input.csv`` is the table that the user guide renders ("What each entry
point accepts"); every row is run here: its call must raise its error, with a
message containing its words (the value and the rule).
"""

import csv
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ednn import (
    EDNNRegressor,
    ModelFileError,
    TileTransformer,
    load,
    make_tile_net,
    save,
)
from sklearn_ednn.atoms import AtomImage, EDNNCalculator
from sklearn_ednn.cli import main as cli_main
from sklearn_ednn.datasets import (
    label_structures,
    make_ising,
    make_porous_sheet,
    make_sheets,
    sheet_cell,
)
from sklearn_ednn.inspection import (
    effective_couplings,
    predict_blurred,
    tile_region_mask,
)
from sklearn_ednn.montecarlo import atoms_metropolis, ising_metropolis

TABLE = Path(__file__).resolve().parent.parent / "docs" / "bad_input.csv"
ERRORS = {
    error.__name__: error
    for error in (
        FileNotFoundError,
        FloatingPointError,
        InvalidParameterError,
        ModelFileError,
        NotFittedError,
        TypeError,
        ValueError,
    )
}


def rows():
    with open(TABLE, newline="") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def namespace(tmp_path_factory):
    """The names the table's calls use."""
    tmp = tmp_path_factory.mktemp("bad_input")
    X, y = make_ising(40, size=4, random_state=0)
    linear = EDNNRegressor(Ridge()).fit(X, y)
    nan_model = EDNNRegressor(Ridge()).fit(X, y)
    nan_model.estimator_.coef_[:] = np.nan
    cell = sheet_cell()
    molecule = cell.copy()
    molecule.pbc = False
    boron_nitride = cell.copy()
    boron_nitride.numbers = [5, 7] * (len(cell) // 2)
    not_a_model = tmp / "pickle.ednn"
    not_a_model.write_bytes(pickle.dumps({"weights": [1, 2]}))
    names = (
        EDNNRegressor,
        TileTransformer,
        AtomImage,
        EDNNCalculator,
        Ridge,
        DecisionTreeRegressor,
        save,
        load,
        make_ising,
        make_sheets,
        make_porous_sheet,
        label_structures,
        ising_metropolis,
        atoms_metropolis,
        effective_couplings,
        predict_blurred,
        tile_region_mask,
    )
    return {
        **{name.__name__: name for name in names},
        "cli_main": cli_main,
        "np": np,
        "X": X,
        "y": y,
        "tmp": tmp,
        "linear": linear,
        "nan_model": nan_model,
        "f2_model": EDNNRegressor(Ridge(), f=2).fit(X, y),
        "torch_model": EDNNRegressor(make_tile_net(max_epochs=1)).fit(X, y),
        "cell": cell,
        "molecule": molecule,
        "boron_nitride": boron_nitride,
        "resolution": tuple(cell.cell.lengths()[:2] / 16),
        "not_a_model": not_a_model,
    }


def test_the_table_covers_every_entry_point():
    table = rows()
    assert len(table) >= 60
    entry_points = {row["entry point"].split(".")[0] for row in table}
    for expected in (
        "EDNNRegressor",
        "TileTransformer",
        "AtomImage",
        "datasets",
        "montecarlo",
        "atoms",
        "inspection",
        "save",
        "load",
        "command line",
    ):
        assert expected in entry_points


@pytest.mark.parametrize(
    "row", rows(), ids=lambda row: f"{row['entry point']}: {row['call']}"
)
def test_bad_input_is_refused_with_a_message_naming_it(row, namespace):
    error = ERRORS[row["error"]]
    with pytest.raises(error, match=re.escape(row["message contains"])):
        eval(row["call"], namespace)
