"""save / load: exact round trips, files that run no code, atomic saves."""

import json
import pickle
from importlib.metadata import version

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeRegressor

import sklearn_ednn._persistence as persistence
from sklearn_ednn import (
    EDNNRegressor,
    ModelFileError,
    ModelVersionWarning,
    TileFCN,
    TileMLP,
    load,
    make_tile_net,
    model_info,
    save,
)
from sklearn_ednn.atoms import AtomImage, make_atoms_ednn
from sklearn_ednn.datasets import make_sheets, sheet_cell


@pytest.fixture(scope="module")
def ising():
    rng = np.random.default_rng(0)
    X = rng.choice([-1.0, 1.0], size=(48, 6, 6))
    y = -(X * np.roll(X, 1, 1) + X * np.roll(X, 1, 2)).sum(axis=(1, 2))
    return X, y


MODELS = {
    "torch": lambda: EDNNRegressor(
        make_tile_net(max_epochs=2, batch_size=16), random_state=0
    ),
    "torch-fcn": lambda: EDNNRegressor(
        make_tile_net(TileFCN, module__filters=4, max_epochs=2), f=2, c=2
    ),
    "linear": lambda: EDNNRegressor(Ridge(alpha=1e-6), f=2, c=1),
    "boosting": lambda: EDNNRegressor(
        DecisionTreeRegressor(max_depth=3), solver="boosting", n_rounds=4
    ),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request, ising):
    X, y = ising
    return MODELS[request.param]().fit(X, y)


@pytest.fixture(scope="module")
def atoms_pipeline():
    sheets, energy = make_sheets(
        24, snapshots_per_run=4, burn_in=5, interval=3, random_state=0
    )
    resolution = tuple(sheet_cell().cell.lengths()[:2] / 32)
    pipeline = make_pipeline(
        AtomImage(resolution, species=(5, 6, 7)),
        make_atoms_ednn(f=8, c=4, max_epochs=2, network="fcn", refit_folds=3),
    )
    return pipeline.fit(sheets, energy), sheets


def test_round_trip_predicts_bit_for_bit(fitted, ising, tmp_path):
    X, _ = ising
    loaded = load(save(fitted, tmp_path / "model.ednn"))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(
        loaded.predict_contributions(X), fitted.predict_contributions(X)
    )
    # Larger grids too: the tiling is restored, not just the training size.
    big = np.tile(X[:3], (1, 2, 2))
    np.testing.assert_array_equal(loaded.predict(big), fitted.predict(big))


def test_loaded_model_keeps_its_parameters_and_refits(fitted, ising, tmp_path):
    X, y = ising
    loaded = load(save(fitted, tmp_path / "model.ednn"))
    assert loaded.get_params(deep=False).keys() == fitted.get_params(deep=False).keys()
    assert loaded.f == fitted.f and loaded.solver == fitted.solver
    refitted = clone(loaded).fit(X, y)
    assert refitted.predict(X).shape == y.shape


def test_atoms_pipeline_round_trip(atoms_pipeline, tmp_path):
    pipeline, sheets = atoms_pipeline
    loaded = load(save(pipeline, tmp_path / "atoms.ednn"))
    assert [type(step).__name__ for step in loaded] == ["AtomImage", "EDNNRegressor"]
    np.testing.assert_array_equal(loaded.predict(sheets), pipeline.predict(sheets))
    supercell = [sheets[0].repeat((2, 2, 1))]
    np.testing.assert_array_equal(
        loaded.predict(supercell), pipeline.predict(supercell)
    )


def test_load_leaves_torch_generator_alone(ising, tmp_path):
    X, y = ising
    path = save(MODELS["torch"]().fit(X, y), tmp_path / "model.ednn")
    state = torch.random.get_rng_state()
    load(path)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_model_info_reads_summary_and_metadata_without_loading(ising, tmp_path):
    X, y = ising
    model = MODELS["torch"]().fit(X, y)
    path = save(model, tmp_path / "model.ednn", metadata={"train_mae": 0.5})
    info = model_info(path)
    assert info["format_version"] == persistence.FORMAT_VERSION
    assert info["metadata"] == {"train_mae": 0.5}
    assert info["versions"]["torch"] == version("torch")
    summary = info["summary"]
    assert summary["f"] == [1, 1] and summary["c"] == [1, 1]
    assert summary["tile_model"] == "TileMLP" and summary["epochs"] == 2
    assert summary["training_grid_shape"] == [6, 6]


class _Marker:
    """Unpickling this writes a file: proof that a pickle's code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_pickle_is_refused_and_runs_no_code(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "model.ednn"
    path.write_bytes(pickle.dumps(_Marker(marker)))
    with pytest.raises(ModelFileError, match="not a saved sklearn-ednn model"):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:5], id="five bytes"),
        pytest.param(
            lambda data: np.random.default_rng(0).bytes(4096), id="random bytes"
        ),
        pytest.param(lambda data: b"", id="empty"),
    ],
)
def test_corrupt_files_are_refused(ising, tmp_path, corrupt):
    X, y = ising
    path = save(MODELS["linear"]().fit(X, y), tmp_path / "model.ednn")
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(ModelFileError, match="not a saved sklearn-ednn model"):
        load(path)


def test_a_plain_safetensors_file_is_not_a_model(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "weights.safetensors"
    save_file({"w": np.zeros(3)}, str(path))
    with pytest.raises(ModelFileError, match="safetensors file but not a saved"):
        load(path)


def _rewrite_header(path, edit):
    """Rewrite a saved model's JSON header with ``edit(header)``."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(path), framework="np") as file:
        header = json.loads(file.metadata()["sklearn_ednn"])
        arrays = {key: file.get_tensor(key) for key in file.keys()}
    edit(header)
    save_file(arrays, str(path), metadata={"sklearn_ednn": json.dumps(header)})


def test_an_unknown_format_version_is_refused(ising, tmp_path):
    X, y = ising
    path = save(MODELS["linear"]().fit(X, y), tmp_path / "model.ednn")
    _rewrite_header(path, lambda header: header.update(format_version=99))
    with pytest.raises(ModelFileError, match="format version 99; this sklearn-ednn"):
        load(path)
    with pytest.raises(ModelFileError, match="format version 99"):
        model_info(path)


def test_an_untrusted_class_is_refused_and_not_imported(ising, tmp_path):
    X, y = ising
    path = save(MODELS["torch"]().fit(X, y), tmp_path / "model.ednn")

    def plant(header):
        header["model"]["state"]["items"][0][1] = {
            "kind": "params",
            "class": "os:system",
            "params": {"kind": "dict", "items": [["command", "touch ran"]]},
        }

    _rewrite_header(path, plant)
    with pytest.raises(ModelFileError, match="'os:system', which is not a class of a"):
        load(path)


def test_other_library_versions_warn(ising, tmp_path, monkeypatch):
    X, y = ising
    model = MODELS["linear"]().fit(X, y)
    path = save(model, tmp_path / "model.ednn")
    _rewrite_header(path, lambda header: header["versions"].update(numpy="1.0.0"))
    with pytest.warns(ModelVersionWarning, match="numpy 1.0.0"):
        loaded = load(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_an_interrupted_save_leaves_the_old_file(ising, tmp_path, monkeypatch):
    X, y = ising
    old = MODELS["linear"]().fit(X, y)
    path = save(old, tmp_path / "model.ednn")

    def half_then_interrupt(file, data):
        file.write(data[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(persistence, "_write_bytes", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save(MODELS["boosting"]().fit(X, y), path)
    np.testing.assert_array_equal(load(path).predict(X), old.predict(X))
    assert [p.name for p in tmp_path.iterdir()] == ["model.ednn"]


def test_saving_what_the_format_cannot_hold_is_a_clear_error(ising, tmp_path):
    X, y = ising
    with pytest.raises(NotFittedError):
        save(MODELS["linear"](), tmp_path / "model.ednn")
    with pytest.raises(TypeError, match="EDNNRegressor or a Pipeline ending in one"):
        save(Ridge().fit(X.reshape(len(X), -1), y), tmp_path / "model.ednn")
    instance = EDNNRegressor(make_tile_net(TileMLP(tile_shape=(3, 3)), max_epochs=1))
    with pytest.raises(TypeError, match="torch module instance .TileMLP."):
        save(instance.fit(X, y), tmp_path / "model.ednn")
    with pytest.raises(TypeError, match="metadata must be JSON-serialisable"):
        save(MODELS["linear"]().fit(X, y), tmp_path / "m.ednn", metadata={1j: 2})
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        save(MODELS["linear"]().fit(X, y), tmp_path / "missing" / "m.ednn")
    assert not list(tmp_path.iterdir())


def test_loading_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file at .*nothing.ednn"):
        load(tmp_path / "nothing.ednn")


def test_a_model_fitted_with_forces_keeps_its_forces(atoms_pipeline, tmp_path):
    from sklearn_ednn.atoms import EDNNCalculator

    pipeline, sheets = atoms_pipeline
    image = pipeline[0]
    model = make_atoms_ednn(f=8, c=4, max_epochs=1, network="fcn", refit_folds=3)
    model.set_params(force_weight=3.0).fit(
        image.transform(sheets),
        [s.get_potential_energy() for s in sheets],
        forces=image.force_targets(sheets),
    )
    fitted = make_pipeline(image, model)
    loaded = load(save(fitted, tmp_path / "forces.ednn"))
    forces = []
    for each in (fitted, loaded):
        structure = sheets[3].copy()
        structure.calc = EDNNCalculator(each)
        forces.append(structure.get_forces())
    np.testing.assert_array_equal(forces[1], forces[0])


def test_a_trusted_package_script_is_not_imported(ising, tmp_path):
    X, y = ising
    path = save(MODELS["linear"]().fit(X, y), tmp_path / "model.ednn")

    def plant(header):
        header["model"]["class"] = "sklearn_ednn.__main__:main"

    _rewrite_header(path, plant)
    with pytest.raises(ModelFileError, match="__main__:main', which is not a class"):
        load(path)
