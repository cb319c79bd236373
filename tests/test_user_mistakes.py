"""Mistakes that would pass silently get an error or a warning naming the fix."""

import sys

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from skorch import NeuralNetRegressor

from sklearn_ednn import EDNNRegressor, TileMLP, make_tile_net
from sklearn_ednn.atoms import AtomImage
from sklearn_ednn.datasets import make_ising, sheet_cell


def test_nested_parameters_of_the_default_network(ising_small):
    X, y = ising_small
    model = EDNNRegressor().set_params(estimator__lr=0.01, estimator__max_epochs=2)
    assert isinstance(model.estimator, NeuralNetRegressor)
    assert model.get_params()["estimator__lr"] == 0.01
    search = GridSearchCV(
        EDNNRegressor(random_state=0),
        {"estimator__max_epochs": [1, 2], "c": [0, 1]},
        cv=2,
    ).fit(X[:100], y[:100])
    assert search.best_params_["c"] == 1  # the Ising energy needs neighbours
    assert search.best_estimator_.estimator_.max_epochs in (1, 2)


def test_nested_parameters_of_a_torch_module_estimator(ising_small):
    """A module class or instance gets the skorch net that trains it."""
    X, y = ising_small
    for module in (TileMLP, TileMLP(tile_shape=(3, 3))):
        model = EDNNRegressor(module, random_state=0)
        model.set_params(estimator__max_epochs=1, estimator__lr=1e-3)
        assert isinstance(model.estimator, NeuralNetRegressor)
        assert model.get_params()["estimator__module"] is module
        assert len(model.fit(X[:64], y[:64]).estimator_.history) == 1


def test_an_estimator_class_is_refused(ising_small):
    X, y = ising_small
    with pytest.raises(TypeError, match=r"estimator=Ridge is a class.*Ridge\(\)"):
        EDNNRegressor(Ridge).fit(X, y)


def test_a_context_wider_than_the_training_grid_warns():
    X, y = make_ising(20, size=4, random_state=0)
    net = make_tile_net(max_epochs=1)
    with pytest.warns(UserWarning, match=r"f \+ 2c = 5 .*\(length 4\).*c <= 1"):
        EDNNRegressor(net, f=1, c=2).fit(X, y)


def test_grids_of_several_shapes_are_refused():
    small, _ = make_ising(2, size=4, random_state=0)
    large, _ = make_ising(1, size=8, random_state=0)
    with pytest.raises(ValueError, match=r"2 shapes \(\(4, 4\), \(8, 8\)\).*np.tile"):
        EDNNRegressor(Ridge()).fit([*small, *large], np.zeros(3))


def test_string_targets_are_refused(ising_small):
    X, _ = ising_small
    with pytest.raises(ValueError, match=r"y holds <U1 values such as 'a'"):
        EDNNRegressor(Ridge()).fit(X[:3], ["a", "b", "c"])


def _molecule_in_a_box():
    cell = sheet_cell()
    cell.pbc = False
    return cell


def test_non_periodic_structures_are_refused():
    image = AtomImage(resolution=tuple(sheet_cell().cell.lengths()[:2] / 16))
    with pytest.raises(
        ValueError, match=r"structure 1 has pbc=\[False, False, False\]"
    ):
        image.fit_transform([sheet_cell(), _molecule_in_a_box()])
    with pytest.raises(ValueError, match=r"atoms.pbc = True"):
        image.force_targets([_molecule_in_a_box()], forces=[np.zeros((60, 3))])
    # A mapping's pbc is read too; periodic along the image axes is enough.
    arrays = {"positions": np.zeros((1, 3)), "numbers": [6], "cell": np.eye(3) * 8}
    with pytest.raises(ValueError, match=r"pbc=\[True, False, False\]"):
        AtomImage(resolution=1.0).fit_transform(
            [{**arrays, "pbc": (True, False, False)}]
        )
    periodic = {**arrays, "pbc": (True, True, False)}
    assert AtomImage(resolution=1.0).fit_transform([periodic]).shape == (1, 8, 8)


def test_one_structure_instead_of_a_list_is_refused():
    with pytest.raises(TypeError, match=r"X is one structure \(Atoms\).*\[X\]"):
        AtomImage(resolution=0.5).fit_transform(sheet_cell())


def test_fitting_forces_through_relu_warns():
    cells = [sheet_cell() for _ in range(2)]
    for cell in cells:
        cell.calc = SinglePointCalculator(cell, forces=np.zeros((len(cell), 3)))
    image = AtomImage(resolution=tuple(cells[0].cell.lengths()[:2] / 16))
    model = make_pipeline(
        image, EDNNRegressor(make_tile_net(max_epochs=1), f=8, c=2, random_state=0)
    )
    forces = image.force_targets(cells)
    with pytest.warns(UserWarning, match=r"forces through ReLU.*torch.nn.SiLU"):
        model.fit(cells, np.zeros(2), ednnregressor__forces=forces)


def test_a_missing_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "matscipy.calculators.manybody", None)
    from sklearn_ednn.datasets import tersoff_bcn

    with pytest.raises(ImportError, match=r"pip install 'sklearn-ednn\[atoms\]'"):
        tersoff_bcn()
