"""A fitted atoms EDNN as a simulation engine: ASE calculator, forces, Monte Carlo."""

import pickle

import numpy as np
import pytest
import torch
from _moves import compare_local_and_full
from _sheets import calculator_finite_differences, rattled_cells, rattled_sheet
from ase.calculators.lj import LennardJones
from ase.md.verlet import VelocityVerlet
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from sklearn_ednn import EDNNRegressor, TileCNN, make_tile_net
from sklearn_ednn.atoms import AtomImage, EDNNCalculator
from sklearn_ednn.datasets import label_structures, sheet_cell, tersoff_bcn
from sklearn_ednn.montecarlo import (
    AtomsEDNNEnergy,
    CalculatorEnergy,
    atoms_metropolis,
    radial_distribution,
)

PIXELS = 32  # per 60-atom cell: 0.38 Angstrom, enough for these checks


def clone_fitted(model):
    """A fitted model's independent copy, to change its parameters."""
    return pickle.loads(pickle.dumps(model))


@pytest.fixture(scope="module")
def model():
    cells, energies = rattled_cells(16, kind="h-BN")
    resolution = tuple(cells[0].cell.lengths()[:2] / PIXELS)
    net = make_tile_net(TileCNN, module__width=0.125, max_epochs=2)
    return make_pipeline(
        AtomImage(resolution, species=(5, 7)),
        EDNNRegressor(
            net, f=8, c=4, channels=True, random_state=0, inference_dtype="float64"
        ),
    ).fit(cells, energies)


@pytest.fixture
def sheet():
    return rattled_sheet()


def test_calculator_energy_is_the_models_prediction(model, sheet):
    sheet.calc = EDNNCalculator(model)
    predicted = model.predict([sheet])[0]
    # The calculator draws in float64, AtomImage in float32.
    assert sheet.get_potential_energy() == pytest.approx(predicted, rel=1e-7)
    image, ednn = model.steps[0][1], model.steps[1][1]
    separate = EDNNCalculator(ednn, image=image)
    assert separate.get_potential_energy(sheet) == sheet.get_potential_energy()


def test_forces_are_minus_the_gradient_of_the_energy(model, sheet):
    sheet.calc = EDNNCalculator(model)
    forces = sheet.get_forces()
    assert forces.shape == (60, 3)
    np.testing.assert_array_equal(forces[:, 2], 0.0)  # a 2-D image has no z
    atoms = [0, 17, 41]
    finite_difference = calculator_finite_differences(model, sheet, atoms)
    np.testing.assert_allclose(
        forces[atoms, :2],
        finite_difference,
        rtol=1e-4,
        atol=1e-4 * np.abs(forces).max(),
    )


def test_calculator_predicts_supercells_and_drives_ase_dynamics(model, sheet):
    big = sheet.repeat((2, 3, 1))
    big.calc = EDNNCalculator(model)
    sheet.calc = EDNNCalculator(model)
    assert big.get_potential_energy() == pytest.approx(
        6 * sheet.get_potential_energy(), rel=1e-10
    )
    np.testing.assert_allclose(
        big.get_forces()[:60],
        sheet.get_forces(),
        atol=1e-8 * np.abs(big.get_forces()).max(),
    )
    dynamics = VelocityVerlet(sheet, timestep=0.5)
    dynamics.run(3)
    assert np.isfinite(sheet.get_potential_energy())


def test_calculator_errors_are_clear(model, sheet):
    with pytest.raises(ValueError, match="two steps, an AtomImage"):
        EDNNCalculator(make_pipeline(Ridge(), Ridge()))
    with pytest.raises(TypeError, match="image must be the AtomImage"):
        EDNNCalculator(model.steps[1][1])
    with pytest.raises(ValueError, match="image= only with an EDNN"):
        EDNNCalculator(model, image=model.steps[0][1])
    cells, energies = rattled_cells(4, kind="h-BN")
    image = AtomImage(model.steps[0][1].resolution)
    linear = EDNNRegressor(Ridge(), f=8, c=2).fit(image.fit_transform(cells), energies)
    with pytest.raises(ValueError, match="need a torch tile model"):
        EDNNCalculator(linear, image=image)
    with pytest.raises(ValueError, match="1 channels and 2 axes, but the EDNN"):
        EDNNCalculator(model.steps[1][1], image=image)
    # A cell stretched to 36 pixels along x: not a multiple of the focus of 8.
    odd = sheet.copy()
    odd.set_cell(sheet.cell.lengths() * [36 / PIXELS, 1, 1], scale_atoms=True)
    odd.calc = EDNNCalculator(model)
    with pytest.raises(ValueError, match="length 36, which is not a positive multiple"):
        odd.get_potential_energy()


def test_local_moves_equal_full_re_evaluation(model, sheet):
    big = sheet.repeat((3, 2, 1))
    local, full = AtomsEDNNEnergy(model), AtomsEDNNEnergy(model, local=False)
    assert local.start(big) == pytest.approx(model.predict([big])[0], rel=1e-7)
    full.start(big)
    rng = np.random.default_rng(0)
    for step in range(40):
        grid_before = local.grid.copy()
        atom = rng.integers(len(big))
        trial = local.positions[atom] + np.r_[rng.uniform(-0.3, 0.3, 2), 0.0]
        move = (atom, trial)
        delta_local, delta_full = local.propose(move), full.propose(move)
        assert delta_local.shape == (1, 1)
        assert delta_local == pytest.approx(delta_full, rel=1e-9, abs=1e-9)
        accepted = step % 3 == 0
        local.accept(accepted)
        full.accept(accepted)
        if not accepted:
            # A rejected move restores the image exactly.
            np.testing.assert_array_equal(local.grid, grid_before)
    moved = big.copy()
    moved.positions = local.positions
    assert local.energy_ == pytest.approx(model.predict([moved])[0], rel=1e-7)
    fresh = AtomsEDNNEnergy(model, local=False)
    assert fresh.start(moved) == pytest.approx(local.energy_, rel=1e-12)
    # 12 x 8 tiles; a move changes at most 10 pixels per axis (two boxes of
    # 8 pixels, 0.3 Angstrom apart), which at most 4 windows of 16 pixels at
    # a stride of 8 contain: 4 x 4 tiles re-scored, against all 96.
    assert local.n_scored_ <= 96 + 40 * 16 < full.n_scored_ == 96 * 41
    with pytest.raises(RuntimeError, match="No pending move"):
        local.accept(True)
    local.propose((0, local.positions[0]))
    with pytest.raises(ValueError, match="one replica and one move"):
        local.accept([True, False])


def test_averaged_tilings_reach_the_calculator_and_local_moves(model, sheet):
    averaged = clone_fitted(model)
    averaged.steps[1][1].set_params(average_shifts=(2, 4))
    expected = averaged.predict([sheet])[0]
    assert expected != pytest.approx(model.predict([sheet])[0], rel=1e-6)
    sheet.calc = EDNNCalculator(averaged)
    assert sheet.get_potential_energy() == pytest.approx(expected, rel=1e-7)
    forces = sheet.get_forces()
    finite_difference = calculator_finite_differences(averaged, sheet, [3, 30])
    np.testing.assert_allclose(
        forces[[3, 30], :2], finite_difference, atol=1e-4 * np.abs(forces).max()
    )
    assert AtomsEDNNEnergy(averaged).start(sheet) == pytest.approx(expected, rel=1e-7)
    local = compare_local_and_full(averaged, sheet, 12, accept_every=2, seed=1)
    moved = sheet.copy()
    moved.positions = local.positions
    assert local.energy_ == pytest.approx(averaged.predict([moved])[0], rel=1e-7)


def test_metropolis_is_reproducible_and_samples_the_sheet():
    kwargs = dict(temperature=1000, n_steps=300, sample_interval=50, random_state=0)
    first = atoms_metropolis(sheet_cell(), CalculatorEnergy(tersoff_bcn()), **kwargs)
    second = atoms_metropolis(sheet_cell(), CalculatorEnergy(tersoff_bcn()), **kwargs)
    np.testing.assert_array_equal(first.positions, second.positions)
    assert first.positions.shape == (6, 60, 3)
    assert 0.05 < first.acceptance < 0.95
    np.testing.assert_array_equal(first.positions[..., 2], sheet_cell().positions[0, 2])
    # The energies recorded are the potential's energies of the samples.
    probe = sheet_cell()
    probe.calc = tersoff_bcn()
    probe.positions = first.positions[-1]
    assert first.energies[-1] == pytest.approx(probe.get_potential_energy(), rel=1e-10)
    rdf, r = radial_distribution(sheet_cell(), first.positions, rmax=3.0, nbins=60)
    assert r[np.argmax(rdf)] == pytest.approx(1.42, abs=0.05)  # the C-C bond


def test_samples_become_structures_that_the_potential_labels():
    start = sheet_cell(kind="h-BN")
    result = atoms_metropolis(
        start,
        CalculatorEnergy(tersoff_bcn()),
        temperature=1500,
        n_steps=200,
        sample_interval=50,
        random_state=1,
    )
    structures = result.structures(start)
    assert len(structures) == 4
    for structure, positions in zip(structures, result.positions):
        np.testing.assert_array_equal(structure.positions, positions)
        np.testing.assert_array_equal(structure.numbers, start.numbers)
        np.testing.assert_array_equal(structure.cell, start.cell)
    labelled, energies = label_structures(structures)
    # The sampler's own record of the potential's energy, and forces stored.
    np.testing.assert_allclose(energies, result.energies, rtol=1e-10)
    fresh = structures[-1].copy()
    fresh.calc = tersoff_bcn()
    np.testing.assert_allclose(
        labelled[-1].get_forces(), fresh.get_forces(), rtol=1e-7, atol=1e-10
    )
    assert all(s.calc is None for s in structures)  # inputs untouched
    # Any ASE calculator labels.
    lj = LennardJones(sigma=1.3, epsilon=0.1, rc=3.0)
    _, lj_energies = label_structures(structures[:1], calculator=lj)
    fresh.calc = LennardJones(sigma=1.3, epsilon=0.1, rc=3.0)
    fresh.positions = structures[0].positions
    assert lj_energies[0] == pytest.approx(fresh.get_potential_energy())
    with pytest.raises(ValueError, match="samples have 60 atoms but the structure"):
        result.structures(sheet_cell((2, 1)))


def test_metropolis_rejects_bad_arguments():
    energy = CalculatorEnergy(tersoff_bcn())
    with pytest.raises(ValueError, match="temperature=-5 must be positive"):
        atoms_metropolis(sheet_cell(), energy, temperature=-5, n_steps=10)
    with pytest.raises(ValueError, match="n_steps=0"):
        atoms_metropolis(sheet_cell(), energy, temperature=300, n_steps=0)


class _FailingEnergy:
    """An energy of the Monte Carlo protocol whose third proposal is NaN."""

    def start(self, atoms):
        self.energy_, self.calls = np.zeros(1), 0
        return self.energy_

    def propose(self, move):
        self.calls += 1
        return np.array([[np.nan if self.calls == 3 else 0.0]])

    def accept(self, accepted):
        return self.energy_


def test_non_periodic_or_non_finite_energies_are_never_handed_on(model, sheet):
    molecule = sheet.copy()
    molecule.pbc = False
    molecule.calc = EDNNCalculator(model)
    with pytest.raises(ValueError, match=r"pbc=\[False, False, False\]"):
        molecule.get_potential_energy()
    with pytest.raises(ValueError, match=r"pbc=\[False, False, False\]"):
        AtomsEDNNEnergy(model).start(molecule)
    broken = clone_fitted(model)
    weight = next(broken[-1].estimator_.module_.parameters())
    with torch.no_grad():
        weight.fill_(float("nan"))
    structure = sheet.copy()
    structure.calc = EDNNCalculator(broken)
    with pytest.raises(FloatingPointError, match=r"energy of B\d+N\d+ .*not finite"):
        structure.get_potential_energy()
    with pytest.raises(FloatingPointError, match="starting energy of replica 0 is nan"):
        atoms_metropolis(sheet, AtomsEDNNEnergy(broken), temperature=300, n_steps=5)
    with pytest.raises(FloatingPointError, match="energy change of step 2 .* is nan"):
        atoms_metropolis(sheet, _FailingEnergy(), temperature=300, n_steps=5)
