"""Every path keeps its tensors on the tile network's device, checked on a CPU.

A machine without an accelerator cannot run a model on one, but it can catch
the mistake that breaks one: a tensor created without naming its device lands
on torch's default device, which is the CPU, and then meets the module's
tensors on the GPU. Here the default device is torch's ``meta`` device (no
data) while the model stays on the CPU: any tensor a path creates without
naming the module's device has no data, so the path fails (or its numbers
change) instead of passing silently. Training steps run with the module
itself on ``meta``.
"""

import numpy as np
import pytest
import torch
from _sheets import rattled_cells
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback

from sklearn_ednn import EDNNRegressor, TileCNN, TileFCN, make_tile_net
from sklearn_ednn.datasets import make_ising
from sklearn_ednn.montecarlo import (
    AtomsEDNNEnergy,
    EDNNEnergy,
    atoms_metropolis,
    ising_metropolis,
)

pytest.importorskip("ase")
from sklearn_ednn.atoms import AtomImage, EDNNCalculator  # noqa: E402

TILE_NETS = {
    "mlp": lambda: make_tile_net(max_epochs=1),
    "cnn": lambda: make_tile_net(TileCNN, module__width=0.125, max_epochs=1),
    "fcn": lambda: make_tile_net(TileFCN, module__filters=4, max_epochs=1),
}


class FirstTrainingBatch(Callback):
    """Keep the first training batch (as collated, on the CPU)."""

    def initialize(self):
        self.batch_ = None
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training and self.batch_ is None:
            self.batch_ = batch


@pytest.fixture(scope="module")
def ising():
    X, y = make_ising(60, size=6, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def sheets():
    cells, energies = rattled_cells(8, kind="h-BN")
    forces = [
        np.random.default_rng(i).normal(size=(len(c), 3)) for i, c in enumerate(cells)
    ]
    return cells, energies, forces


def atoms_model(network, cells, energies, forces=None, callbacks=()):
    net = TILE_NETS[network]()
    net.set_params(callbacks=[*net.callbacks, *callbacks])
    if network == "fcn":
        net.set_params(module__levels=1)
    image = AtomImage(tuple(cells[0].cell.lengths()[:2] / 32), species=(5, 7))
    model = make_pipeline(
        image,
        EDNNRegressor(
            net,
            f=8,
            c=4,
            channels=True,
            offset="channel_totals",
            force_weight=1.0,
            random_state=0,
        ),
    )
    if forces is None:
        return model.fit(cells, energies)
    targets = image.force_targets(cells, forces)
    return model.fit(cells, energies, ednnregressor__forces=targets)


@pytest.mark.parametrize("network", sorted(TILE_NETS))
def test_prediction_makes_no_tensor_on_the_default_device(ising, network):
    X, y = ising
    model = EDNNRegressor(TILE_NETS[network](), f=2, c=1, random_state=0).fit(X, y)
    expected, maps = model.predict(X), model.predict_contributions(X)
    with torch.device("meta"):
        np.testing.assert_array_equal(model.predict(X), expected)
        np.testing.assert_array_equal(model.predict_contributions(X), maps)


def test_ising_monte_carlo_makes_no_tensor_on_the_default_device(ising):
    X, y = ising
    model = EDNNRegressor(TILE_NETS["mlp"](), f=1, c=1, random_state=0).fit(X, y)
    settings = dict(size=6, n_replicas=2, n_sweeps=3, n_burn_in=1, random_state=0)
    expected = ising_metropolis(EDNNEnergy(model), [2.0], **settings)
    with torch.device("meta"):
        result = ising_metropolis(EDNNEnergy(model), [2.0], **settings)
    np.testing.assert_array_equal(result.energies, expected.energies)


@pytest.mark.parametrize("network", ["cnn", "fcn"])
def test_forces_and_atoms_monte_carlo_make_no_tensor_on_the_default_device(
    sheets, network
):
    cells, energies, _ = sheets
    model = atoms_model(network, cells, energies)
    assert model[-1].tiling_.device == torch.device("cpu")
    reference = cells[0].copy()
    reference.calc = EDNNCalculator(model)
    energy, forces = reference.get_potential_energy(), reference.get_forces()
    settings = dict(temperature=300.0, n_steps=5, random_state=0)
    expected = atoms_metropolis(cells[1].copy(), AtomsEDNNEnergy(model), **settings)
    with torch.device("meta"):
        structure = cells[0].copy()
        structure.calc = EDNNCalculator(model)
        assert structure.get_potential_energy() == energy
        np.testing.assert_array_equal(structure.get_forces(), forces)
        result = atoms_metropolis(cells[1].copy(), AtomsEDNNEnergy(model), **settings)
    np.testing.assert_array_equal(result.energies, expected.energies)


@pytest.mark.parametrize("with_forces", [False, True], ids=["energies", "forces"])
def test_a_training_step_runs_with_the_module_on_another_device(sheets, with_forces):
    cells, energies, forces = sheets
    first = FirstTrainingBatch()
    model = atoms_model(
        "fcn", cells, energies, forces if with_forces else None, [("first", first)]
    )
    net = model[-1].estimator_
    # The same net moved whole to the meta device; its batch comes from the
    # CPU data loader, as it would for a GPU.
    net.module_.to("meta")
    net.set_params(device="meta")
    net.initialize_optimizer()
    with torch.device("meta"):
        step = net.train_step(first.batch_)
    assert step["loss"].device.type == "meta"
    assert all(p.device.type == "meta" for p in net.module_.parameters())


def test_the_fitted_tiling_names_its_device(ising):
    X, y = ising
    torch_model = EDNNRegressor(TILE_NETS["mlp"](), random_state=0).fit(X, y)
    assert torch_model.tiling_.device == torch.device("cpu")
    from sklearn.linear_model import Ridge

    assert EDNNRegressor(Ridge()).fit(X, y).tiling_.device is None
