"""The hexagonal-sheet generator: Tersoff labels, kinds, cache, errors."""

import numpy as np
import pytest
from ase.io import read

from sklearn_ednn.datasets import (
    LATTICE_CONSTANT,
    SHEET_KINDS,
    make_sheets,
    sheet_cell,
    tersoff_bcn,
)

QUICK = dict(snapshots_per_run=2, burn_in=5, interval=3)


@pytest.fixture(scope="module")
def sheets():
    return make_sheets(32, random_state=0, **QUICK)


def test_energies_and_forces_are_the_potentials(sheets):
    structures, energy = sheets
    for structure, expected in zip(structures[::5], energy[::5]):
        fresh = structure.copy()
        fresh.calc = tersoff_bcn()
        assert fresh.get_potential_energy() == pytest.approx(expected, abs=1e-8)
        np.testing.assert_allclose(
            fresh.get_forces(), structure.get_forces(), atol=1e-8
        )


def test_every_kind_is_drawn_with_its_composition(sheets):
    structures, energy = sheets
    by_kind = {}
    for structure in structures:
        by_kind.setdefault(structure.info["kind"], []).append(structure)
    assert set(by_kind) == set(SHEET_KINDS)
    for structure in by_kind["h-BN"]:
        assert set(structure.get_chemical_symbols()) == {"B", "N"}
    for structure in by_kind["heterostructure"]:
        assert set(structure.get_chemical_symbols()) == {"B", "C", "N"}
    for structure in by_kind["porous"]:
        assert set(structure.get_chemical_symbols()) == {"C"}
        assert len(structure) < 59  # each hole removes atoms
    # Sheets near -7.4 eV per atom: bound, and not blown apart by the MD.
    per_atom = energy / np.array([len(s) for s in structures])
    assert np.all((per_atom > -7.6) & (per_atom < -5.0))


def test_sheets_stay_planar_and_in_their_cell(sheets):
    structures, _ = sheets
    lengths = sheet_cell().cell.lengths()
    for structure in structures:
        assert np.ptp(structure.positions[:, 2]) == 0.0
        np.testing.assert_allclose(structure.cell.lengths(), lengths)
        temperature = structure.info["temperature"]
        assert 300 <= temperature <= 1500


def test_sheet_cell_is_the_papers_sixty_atom_cell():
    sheet = sheet_cell()
    assert len(sheet) == 60
    np.testing.assert_allclose(
        sheet.cell.lengths()[:2],
        [5 * LATTICE_CONSTANT, 3 * np.sqrt(3) * LATTICE_CONSTANT],
    )
    large = sheet_cell((5, 5))
    assert len(large) == 1500
    np.testing.assert_allclose(large.cell.lengths()[:2], 5 * sheet.cell.lengths()[:2])


def test_larger_cells_and_rippled_sheets():
    structures, energy = make_sheets(
        2, repeat=(2, 1), kinds=("graphene",), planar=False, random_state=1, **QUICK
    )
    assert all(118 <= len(s) <= 120 for s in structures)
    assert np.ptp(structures[0].positions[:, 2]) > 0.01


def test_same_seed_same_sheets_and_cache_round_trip(tmp_path, sheets):
    structures, energy = sheets
    again, energy_again = make_sheets(32, random_state=0, **QUICK)
    np.testing.assert_array_equal(energy_again, energy)
    cached, energy_cached = make_sheets(32, random_state=0, cache_dir=tmp_path, **QUICK)
    (path,) = tmp_path.glob("sheets_*.extxyz")
    np.testing.assert_array_equal(energy_cached, energy)
    # The cache is plain extended XYZ: ASE reads it back, energies and forces.
    from_disk = read(path, ":")
    assert [s.get_potential_energy() for s in from_disk] == pytest.approx(energy)
    # Extended XYZ keeps 8 decimals.
    np.testing.assert_allclose(
        from_disk[3].get_forces(), structures[3].get_forces(), atol=1e-7
    )
    assert from_disk[3].info["kind"] == structures[3].info["kind"]
    reread, energy_reread = make_sheets(32, random_state=0, cache_dir=tmp_path, **QUICK)
    np.testing.assert_allclose(energy_reread, energy, atol=1e-7)
    np.testing.assert_allclose(reread[5].positions, structures[5].positions, atol=1e-7)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"kinds": ("graphite",)}, "kinds=.*must be one of"),
        ({"temperature_range": (500, 100)}, "temperature_range"),
        ({"n_samples": 0}, "n_samples=0 must be an integer >= 1"),
        ({"repeat": (0, 1)}, "repeat"),
        ({"cache_dir": "somewhere", "random_state": None}, "integer random_state"),
    ],
)
def test_bad_arguments_are_clear_errors(params, message):
    with pytest.raises(ValueError, match=message):
        make_sheets(**{"n_samples": 2, "random_state": 0, **params})
