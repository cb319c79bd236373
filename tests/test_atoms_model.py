"""EDNNs on images of atoms: a pipeline from ase.Atoms to energies."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sklearn_ednn import EDNNRegressor, TileCNN, make_tile_net
from sklearn_ednn.atoms import AtomImage, make_atoms_ednn
from sklearn_ednn.datasets import label_structures, make_sheets, sheet_cell

PIXELS = 32


@pytest.fixture(scope="module")
def fitted_pipeline():
    sheets, energy = make_sheets(
        40, snapshots_per_run=4, burn_in=5, interval=3, random_state=0
    )
    resolution = tuple(sheet_cell().cell.lengths()[:2] / PIXELS)
    net = make_tile_net(TileCNN, module__width=0.25, max_epochs=3, batch_size=8)
    pipeline = make_pipeline(
        AtomImage(resolution, gamma=0.4),
        EDNNRegressor(net, f=8, c=4, random_state=0),
    )
    return pipeline.fit(sheets, energy), sheets, energy


def test_pipeline_from_atoms_to_energies(fitted_pipeline):
    """The pipeline is the image transformer followed by the EDNN."""
    pipeline, sheets, _ = fitted_pipeline
    images, model = pipeline[0].transform(sheets), pipeline[-1]
    assert images.shape == (len(sheets), PIXELS, PIXELS)
    np.testing.assert_array_equal(pipeline.predict(sheets), model.predict(images))
    assert model.grid_shape_ == (PIXELS, PIXELS)


def test_supercell_prediction_is_extensive(fitted_pipeline):
    """A k x l supercell of a periodic cell has exactly k * l times its energy."""
    pipeline, sheets, _ = fitted_pipeline
    cell = sheets[7]
    (single,) = pipeline.predict([cell])
    for repeat in [(2, 1), (3, 2)]:
        (supercell,) = pipeline.predict([cell.repeat((*repeat, 1))])
        assert supercell == pytest.approx(repeat[0] * repeat[1] * single, rel=1e-5)


def test_cell_that_is_not_whole_focus_regions_is_a_clear_error(fitted_pipeline):
    pipeline, _, _ = fitted_pipeline
    # 60 atoms are 32 pixels: focus 8 fits; half a cell (16 pixels) plus a
    # quarter is 40 pixels along x, 5 focus regions, but 12 pixels is not.
    odd = sheet_cell((1, 1))
    odd = odd[odd.positions[:, 0] < 0.375 * odd.cell[0, 0]]
    odd.set_cell(odd.cell * [0.375, 1, 1], scale_atoms=False)
    with pytest.raises(
        ValueError, match="length 12, which is not a positive multiple of f=8"
    ):
        pipeline.predict([odd])


def test_the_atoms_recipe_learns_reference_energies_and_arrangements():
    """make_atoms_ednn on sheets of three compositions, scored on held-out cells."""
    cells = []
    for seed in range(36):
        cell = sheet_cell(kind=("graphene", "h-BN")[seed % 2])
        cell.rattle(0.05, seed=seed)
        cell.positions[:, 2] = cell.positions[0, 2]
        cells.append(cell)
    _, energies = label_structures(cells)
    resolution = tuple(sheet_cell().cell.lengths()[:2] / PIXELS)
    model = make_pipeline(
        AtomImage(resolution, species=(5, 6, 7)),
        make_atoms_ednn(f=8, c=8, max_epochs=2, width=0.125),
    ).fit(cells[:27], energies[:27])
    ednn = model[-1]
    assert ednn.offset == "channel_totals" and ednn.channels
    # Against one energy per atom, whatever the element: the reference
    # energies per element and the network do far better on held-out cells.
    n_atoms = np.array([len(cell) for cell in cells])
    per_atom = np.mean(energies[:27] / n_atoms[:27])
    naive = np.abs(per_atom * n_atoms[27:] - energies[27:]).mean()
    error = np.abs(model.predict(cells[27:]) - energies[27:]).mean()
    assert error < 0.5 * naive
