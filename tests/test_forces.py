"""Training an EDNN on forces: force targets, the image-gradient gather, moves."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.build import graphene, make_supercell
from ase.calculators.lj import LennardJones
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from torch import nn

from sklearn_ednn import EDNNRegressor, TileMLP, make_tile_net
from sklearn_ednn._torch._force_loss import (
    ForceEDNNModule,
    check_force_targets,
    image_forces,
)
from sklearn_ednn.atoms import AtomImage, EDNNCalculator, render_image_torch
from sklearn_ednn.augmentation import PeriodicAugmentation
from sklearn_ednn.datasets import make_sheets, sheet_cell

SPECIES = (5, 6, 7)


def mixed_cell():
    """A rattled 8-atom B/C/N cell with Lennard-Jones forces."""
    primitive = graphene("C2", a=2.46, vacuum=5.0)
    cell = make_supercell(primitive, [[1, 0, 0], [1, 2, 0], [0, 0, 1]]).repeat(
        (2, 1, 1)
    )
    cell.numbers[[1, 3, 6]] = [5, 7, 7]
    cell.rattle(0.2, seed=1)
    cell.calc = LennardJones(sigma=1.3, rc=3.0)
    return cell


def torch_image(cell, image):
    """Positions requiring grad, and ``image``'s drawing of them in torch."""
    positions = torch.tensor(cell.positions, requires_grad=True)
    drawn = render_image_torch(
        positions,
        cell.numbers,
        cell.cell,
        dtype=torch.float64,
        **image.render_parameters(),
    )
    return positions, drawn


def as_tensors(arrays, dtype=torch.float64):
    """Force-target arrays as tensors, floats in ``dtype``."""
    return {
        key: torch.as_tensor(value).to(dtype)
        if np.issubdtype(value.dtype, np.floating)
        else torch.as_tensor(value)
        for key, value in arrays.items()
    }


def gathered_forces(gradient, arrays):
    """``image_forces`` of an image gradient with the ``atom_*`` arrays."""
    return image_forces(
        gradient,
        arrays["atom_channel"],
        arrays["atom_weight"],
        arrays["atom_start"],
        arrays["atom_factor"],
        arrays["atom_dfactor"],
    )


@pytest.mark.parametrize("shape", [(32, 12), (16, 12, 20)])
def test_gathered_image_gradient_is_the_gradient_in_the_positions(shape):
    """-d(sum W * image)/dR through the torch image equals the gather of W.

    Pixels of unequal size per axis give boxes of unequal width (padded), and
    rattled atoms near the cell edges give boxes that wrap; sheets and volumes.
    """
    cell = mixed_cell()
    n_dims = len(shape)
    image = AtomImage(
        tuple(cell.cell.lengths()[:n_dims] / shape),
        n_dims=n_dims,
        species=SPECIES,
        dtype="float64",
    ).fit()
    targets = image.force_targets([cell])
    arrays = as_tensors(check_force_targets(targets, 1, n_dims, 3, 1))
    weights = torch.as_tensor(np.random.default_rng(0).normal(size=(1, *shape, 3)))
    positions, drawn = torch_image(cell, image)
    (weights[0] * drawn).sum().backward()
    forces = gathered_forces(weights, arrays)[0]
    np.testing.assert_allclose(forces, -positions.grad[:, :n_dims], atol=1e-5)
    np.testing.assert_allclose(targets["force"][0], cell.get_forces()[:, :n_dims])
    assert targets["present"].all()
    assert targets["start"].dtype == np.int64


def draw_boxes(grid_shape, n_channels, arrays):
    """The image that the atoms' boxes draw: their sum, wrapped."""
    out = np.zeros((*grid_shape, n_channels))
    for channel, weight, start, factor in zip(
        arrays["atom_channel"][0],
        arrays["atom_weight"][0],
        arrays["atom_start"][0],
        arrays["atom_factor"][0],
    ):
        rows = np.remainder(start[0] + np.arange(factor.shape[1]), grid_shape[0])
        columns = np.remainder(start[1] + np.arange(factor.shape[1]), grid_shape[1])
        box = weight * np.outer(factor[0], factor[1])
        np.add.at(out[..., channel], np.ix_(rows, columns), box)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_moved_boxes_draw_the_moved_grid_and_give_the_original_forces(seed):
    """PeriodicAugmentation moves each atom's box with its grid.

    The moved boxes still draw the moved grid, and the gather over them of
    the gradient of ``sum W * moved grid`` is that energy's gradient in the
    original positions, found by autograd through the same move.
    """
    cell = mixed_cell()
    shape = (24, 16)
    image = AtomImage(
        tuple(cell.cell.lengths()[:2] / shape), species=SPECIES, dtype="float64"
    ).fit()
    arrays = check_force_targets(image.force_targets([cell]), 1, 2, 3, 1)
    sample = {"X": image.transform([cell])[0]}
    sample.update({key: value[0] for key, value in arrays.items()})
    torch.manual_seed(seed)
    moved, _ = PeriodicAugmentation()([(sample, np.zeros(1))])
    moved = {key: value.numpy() for key, value in moved.items()}
    moved_grid = torch.as_tensor(moved.pop("X")[0])
    # Which move happened: the one that maps the grid onto the moved grid.
    grid = torch.as_tensor(sample["X"])
    candidates = [
        (rows, columns, axes)
        for rows in range(shape[0])
        for columns in range(shape[1])
        for axes in [(), (0,), (1,), (0, 1)]
        if torch.allclose(
            torch.flip(torch.roll(grid, (rows, columns), (0, 1)), axes), moved_grid
        )
    ]
    assert len(candidates) == 1
    rows, columns, axes = candidates[0]
    # The factors are float32 for training.
    np.testing.assert_allclose(
        draw_boxes(shape, 3, moved), moved_grid.numpy(), rtol=1e-6, atol=1e-7
    )

    weights = torch.as_tensor(np.random.default_rng(seed).normal(size=(1, *shape, 3)))
    positions, drawn = torch_image(cell, image)
    moved_drawn = torch.flip(torch.roll(drawn, (rows, columns), (0, 1)), axes)
    (weights[0] * moved_drawn).sum().backward()
    forces = gathered_forces(weights, as_tensors(moved))[0]
    np.testing.assert_allclose(forces, -positions.grad[:, :2], atol=1e-5)


@pytest.fixture(scope="module")
def sheets():
    """80 small B/C/N sheets with Tersoff energies and forces; 32 x 32 images."""
    structures, energy = make_sheets(
        80, snapshots_per_run=4, burn_in=5, interval=3, random_state=0
    )
    image = AtomImage(
        tuple(sheet_cell().cell.lengths()[:2] / 32), gamma=0.4, species=SPECIES
    ).fit()
    return structures, energy, image


def tile_mlp_ednn(epochs, batch_size, **kwargs):
    """A SiLU TileMLP EDNN on the species channels (default callbacks)."""
    net = make_tile_net(
        TileMLP,
        module__hidden_sizes=(64, 64),
        module__activation=nn.SiLU,
        max_epochs=epochs,
        batch_size=batch_size,
        lr=3e-3,
        **kwargs,
    )
    return EDNNRegressor(
        net, f=8, c=4, channels=True, offset="channel_totals", random_state=0
    )


def force_errors(pipeline, structures):
    """Mean absolute force error (eV/A) through EDNNCalculator, in-plane."""
    errors = []
    for structure in structures:
        copy = structure.copy()
        copy.calc = EDNNCalculator(pipeline)
        errors.append(
            np.abs(copy.get_forces()[:, :2] - structure.get_forces()[:, :2]).mean()
        )
    return float(np.mean(errors))


def test_training_on_forces_fits_them(sheets):
    """With forces in the loss the force errors fall, on training and held-out
    sheets, measured through the ASE calculator (autograd through the image).

    A pipeline routes the force targets to the EDNN; full batches of 40 and
    100 epochs. The sheets' Tersoff forces average 1.8 eV/A per component.
    """
    structures, energy, image = sheets
    train, test = structures[:40], structures[60:70]
    images = image.transform(train)
    targets = image.force_targets(train)
    errors = {}
    for weight in (None, 100.0):
        pipeline = make_pipeline(image, tile_mlp_ednn(100, 40))
        if weight is None:
            pipeline.fit(train, energy[:40])
        else:
            pipeline.set_params(ednnregressor__force_weight=weight)
            pipeline.fit(train, energy[:40], ednnregressor__forces=targets)
        errors[weight] = (
            force_errors(pipeline, train[:10]),
            force_errors(pipeline, test),
            np.mean(np.abs(pipeline.predict(test) - energy[60:70])) / 60,
        )
    assert errors[100.0][0] < 0.8 * errors[None][0]
    assert errors[100.0][1] < 0.9 * errors[None][1]
    assert errors[100.0][2] < 0.5  # eV/atom: the energies are still learned
    fitted = pipeline[-1]
    assert isinstance(fitted.estimator_.module_, ForceEDNNModule)
    # The output layer's refit leaves a force fit alone.
    assert "refit_alpha" not in fitted.estimator_.history[-1]
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(fitted)).predict(images[:3]),
        fitted.predict(images[:3]),
    )


def test_trained_forces_are_the_calculators_forces(sheets):
    """The forces that training fits (the gather, times the scale) are those
    that EDNNCalculator gives, with random moves in training."""
    structures, energy, image = sheets
    model = tile_mlp_ednn(2, 8, iterator_train__collate_fn=PeriodicAugmentation())
    train = structures[:16]
    model.fit(image.transform(train), energy[:16], forces=image.force_targets(train))
    pipeline = make_pipeline(image, model)
    test = structures[70:72]
    arrays = as_tensors(
        check_force_targets(image.force_targets(test), 2, 2, 3, 1), torch.float32
    )
    grids = torch.as_tensor(image.transform(test)).requires_grad_(True)
    module = model.estimator_.module_
    (gradient,) = torch.autograd.grad(module(grids).sum(), grids)
    gathered = gathered_forces(gradient, arrays).numpy() * model.tile_scale_[0]
    for index, structure in enumerate(test):
        copy = structure.copy()
        copy.calc = EDNNCalculator(pipeline)
        expected = copy.get_forces()[:, :2]
        np.testing.assert_allclose(
            gathered[index, : len(structure)],
            expected,
            atol=1e-3 * np.abs(expected).max(),  # the gather runs in float32
        )


def test_force_errors_are_clear(sheets):
    structures, energy, image = sheets
    images, targets = (
        image.transform(structures[:4]),
        image.force_targets(structures[:4]),
    )
    model = tile_mlp_ednn(1, 4)
    with pytest.raises(ValueError, match="structured array that AtomImage"):
        model.fit(images, energy[:4], forces=np.zeros((4, 60)))
    with pytest.raises(ValueError, match="forces has 3 rows for 4 training grids"):
        model.fit(images, energy[:4], forces=targets[:3])
    with pytest.raises(ValueError, match="forces train one extensive target"):
        model.fit(images, np.c_[energy[:4], energy[:4]], forces=targets)
    volume = model.set_params(f=(8, 8, 1), c=(4, 4, 0))
    with pytest.raises(ValueError, match="forces are along 2 axes, but the grids"):
        volume.fit(images[..., None, :], energy[:4], forces=targets)
    one_channel = tile_mlp_ednn(1, 4).set_params(channels=False)
    with pytest.raises(
        ValueError, match=r"forces name channels \d+-\d+, but the grids have 1"
    ):
        one_channel.fit(images.sum(axis=-1), energy[:4], forces=targets)
    ridge = EDNNRegressor(Ridge(), f=8, c=4, channels=True)
    with pytest.raises(ValueError, match="forces train torch tile networks only"):
        ridge.fit(images, energy[:4], forces=targets)
    bare = [s.copy() for s in structures[:2]]
    with pytest.raises(ValueError, match="structure 0 carries no forces"):
        image.force_targets(bare)
    with pytest.raises(ValueError, match="forces has 1 entries for 2 structures"):
        image.force_targets(bare, forces=[np.zeros((60, 3))])
    with pytest.raises(ValueError, match=r"needs \(60, 3\)"):
        image.force_targets(bare[:1], forces=[np.zeros((60, 2))])


def test_structures_of_weight_zero_leave_the_force_loss_unchanged(sheets):
    """Sheets of weight zero with wrong energies and forces add nothing to the
    loss, nor to the offsets and scale (full batch, untrained: lr 0); with
    weight one they do."""
    structures, energy, image = sheets
    X = image.transform(structures[:18])
    targets = image.force_targets(structures[:18])
    targets["force"][12:] *= -3
    y = np.r_[energy[:12], energy[12:18] + 50.0]

    def first_loss(rows, sample_weight=None):
        model = tile_mlp_ednn(1, 32).set_params(estimator__lr=0.0)
        model.fit(X[rows], y[rows], sample_weight=sample_weight, forces=targets[rows])
        return model.estimator_.history[-1, "train_loss"]

    alone = first_loss(slice(0, 12))
    zero = first_loss(slice(0, 18), np.r_[np.ones(12), np.zeros(6)])
    one = first_loss(slice(0, 18), np.ones(18))
    assert zero == pytest.approx(alone, rel=1e-5)
    # (In other scaled units: the wrong energies widen the target spread.)
    assert abs(one / alone - 1) > 0.5


@pytest.mark.parametrize("seed", [0, 1])
def test_calculator_forces_match_ase_finite_differences(seed):
    """EDNNCalculator's autograd forces against ASE's central differences of its
    energy (``ase.calculators.fd``), on random structures, for an atom at a cell
    face, one at a tile boundary and four others."""
    from ase.calculators.fd import calculate_numerical_forces

    from sklearn_ednn import load

    model = load(Path(__file__).resolve().parent / "golden" / "atoms.ednn")
    structure = sheet_cell(kind="h-BN")
    structure.rattle(0.15, seed=seed)
    structure.positions[:, 2] = structure.positions[0, 2]
    image, final = model[0], model[-1]
    tile_width = final.focus_[0] * image.resolution[0]  # Angstrom along x
    structure.positions[0, 0] = 0.01  # at the cell face x = 0
    structure.positions[1, 0] = 2 * tile_width + 0.01  # at a tile boundary
    atoms = [0, 1, *np.random.default_rng(seed).choice(np.arange(2, 60), 4)]
    structure.calc = EDNNCalculator(model)
    exact = structure.get_forces()[atoms, :2]
    numerical = calculate_numerical_forces(
        structure, eps=1e-5, iatoms=atoms, icarts=(0, 1)
    )[:, :2]
    np.testing.assert_allclose(exact, numerical, atol=1e-5 * np.abs(numerical).max())
