"""Small rattled sheets labelled by the Tersoff potential, for the atoms tests."""

import numpy as np
from ase.calculators.fd import calculate_numerical_forces

from sklearn_ednn.atoms import EDNNCalculator
from sklearn_ednn.datasets import sheet_cell, tersoff_bcn


def rattled_cells(n_cells, repeat=(1, 1), kind="graphene"):
    """``n_cells`` flat sheets rattled by 0.08 Angstrom, and their energies."""
    cells, energies = [], []
    for seed in range(n_cells):
        cell = sheet_cell(repeat, kind=kind)
        cell.rattle(0.08, seed=seed)
        cell.positions[:, 2] = cell.positions[0, 2]
        cell.calc = tersoff_bcn()
        energies.append(cell.get_potential_energy())
        cell.calc = None
        cells.append(cell)
    return cells, np.array(energies)


def rattled_sheet():
    """One flat h-BN cell rattled by 0.1 Angstrom, unlike any training cell."""
    cell = sheet_cell(kind="h-BN")
    cell.rattle(0.1, seed=99)
    cell.positions[:, 2] = cell.positions[0, 2]
    return cell


def calculator_finite_differences(model, structure, atoms):
    """Central differences of ``EDNNCalculator(model)``'s energy, in-plane forces."""
    probe = structure.copy()
    probe.calc = EDNNCalculator(model)
    return calculate_numerical_forces(probe, eps=1e-5, iatoms=atoms, icarts=(0, 1))
