"""Atoms at scale: porous sheets from arrays, band-wise Tersoff, lazily drawn images."""

import math

import numpy as np
import pytest
from _lazy import RecordingArray
from sklearn import config_context
from sklearn.pipeline import make_pipeline

pytest.importorskip("ase")
pytest.importorskip("matscipy")

import ase  # noqa: E402

from sklearn_ednn import TileFCN  # noqa: E402
from sklearn_ednn.atoms import (  # noqa: E402
    AtomImage,
    AtomImageStack,
    make_atoms_ednn,
    render_image,
)
from sklearn_ednn.datasets import (  # noqa: E402
    PORE_DENSITY,
    make_porous_sheet,
    tersoff_bcn,
    tersoff_energy,
)

# 8 x 14 pixels per rectangular cell of the honeycomb lattice.
RESOLUTION = (2.46 / 8, 2.46 * math.sqrt(3) / 14)


def test_porous_sheets_have_the_papers_density_and_are_seeded():
    sheet = make_porous_sheet((200, 116), random_state=0)
    area = np.prod(sheet.cell.diagonal()[:2])
    # 35.2 M atoms per 1.0 um^2, within the pores' sampling noise.
    assert sheet.positions.shape[0] / area == pytest.approx(35.2e6 / 1e8, rel=0.02)
    assert (
        (sheet.positions[:, :2] >= 0)
        & (sheet.positions[:, :2] < sheet.cell.diagonal()[:2])
    ).all()
    assert set(np.unique(sheet.numbers)) == {6}
    again = make_porous_sheet((200, 116), random_state=0)
    np.testing.assert_array_equal(again.positions, sheet.positions)
    other = make_porous_sheet((200, 116), random_state=1)
    assert other.positions.shape != sheet.positions.shape or not np.array_equal(
        other.positions, sheet.positions
    )
    # No pores and no displacement: the pristine lattice, 4 atoms per cell.
    pristine = make_porous_sheet((3, 2), pore_density=0, displacement=0)
    assert len(pristine.positions) == 24
    distances = ase.Atoms(**pristine).get_all_distances(mic=True)
    np.fill_diagonal(distances, np.inf)
    np.testing.assert_allclose(distances.min(axis=1), 2.46 / math.sqrt(3))


def test_default_cells_are_the_papers_training_cells():
    sizes = [len(make_porous_sheet(random_state=s).positions) for s in range(20)]
    cell = make_porous_sheet(random_state=0).cell.diagonal()[:2]
    np.testing.assert_allclose(cell, [34.44, 34.09], atol=0.01)
    # ~2.3 pores of 2-5 Angstrom per cell: a few dozen of 448 atoms removed.
    assert 300 < min(sizes) and max(sizes) <= 448 and np.mean(sizes) < 440
    assert PORE_DENSITY > 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"repeat": 0}, r"repeat=\(0, 0\) must be one or two positive integers"),
        ({"repeat": (2, 2, 2)}, "must be one or two positive integers"),
        ({"pore_radius": (3.0, 2.0)}, r"pore_radius=\(3.0, 2.0\) must be"),
        ({"displacement": -0.1}, "displacement=-0.1 must be non-negative"),
    ],
)
def test_bad_porous_sheet_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_porous_sheet(**kwargs)


@pytest.mark.parametrize("band_width, n_jobs", [(12.0, None), (20.0, 2), (1e4, None)])
def test_tersoff_energy_in_bands_is_the_energy_of_the_whole_sheet(band_width, n_jobs):
    sheet = make_porous_sheet((30, 6), random_state=3)
    atoms = ase.Atoms(**sheet)
    atoms.calc = tersoff_bcn()
    whole = atoms.get_potential_energy()
    bands = tersoff_energy(sheet, band_width=band_width, n_jobs=n_jobs)
    assert bands == pytest.approx(whole, rel=1e-12)
    assert tersoff_energy(atoms, band_width=band_width) == pytest.approx(
        whole, rel=1e-12
    )
    with pytest.raises(ValueError, match="band_width=0 must be positive"):
        tersoff_energy(sheet, band_width=0)


@pytest.mark.parametrize(
    "rows", [slice(0, 5), slice(59, 64), slice(20, 41), slice(0, 64), slice(7, 8)]
)
@pytest.mark.parametrize("species", [None, (6, 7)])
def test_an_image_stack_draws_the_rows_of_the_whole_image(rows, species):
    sheet = make_porous_sheet((8, 4), random_state=2)
    sheet.numbers[::5] = 7
    image = AtomImage(RESOLUTION, species=species)
    stack = image.set_params(lazy=True).transform([sheet, sheet])
    whole = image.set_params(lazy=False).transform([sheet, sheet])
    assert isinstance(stack, AtomImageStack)
    assert stack.shape == whole.shape == (2, 64, 56, *(() if species is None else (2,)))
    atol = 1e-6 * whole.max()
    np.testing.assert_allclose(stack[:, rows], whole[:, rows], atol=atol)
    np.testing.assert_allclose(stack[1, rows], whole[1, rows], atol=atol)
    np.testing.assert_allclose(np.asarray(stack), whole, atol=atol)
    with pytest.raises(IndexError, match="slice of rows of step 1"):
        stack[0, ::2]


def test_an_image_stack_draws_volumes_and_checks_shapes():
    positions = np.random.default_rng(0).uniform(0, 4, size=(30, 3))
    structure = (positions, np.full(30, 6), np.diag([4.0, 4.0, 4.0]))
    image = AtomImage(0.25, n_dims=3, lazy=True)
    stack = image.transform([structure])
    whole = render_image(*structure, resolution=0.25, n_dims=3)
    np.testing.assert_allclose(stack[0, 3:9], whole[3:9], atol=1e-6 * whole.max())
    small = (positions / 2, np.full(30, 6), np.diag([2.0, 2.0, 2.0]))
    with pytest.raises(ValueError, match="structure 1 gives an image of shape"):
        image.transform([structure, small])


def test_structures_may_be_atoms_tuples_or_mappings():
    sheet = make_porous_sheet((4, 2), random_state=0)
    image = AtomImage(RESOLUTION)
    as_tuple = (sheet.positions, sheet.numbers, sheet.cell)
    images = image.transform([ase.Atoms(**sheet), as_tuple, sheet])
    np.testing.assert_array_equal(images[0], images[1])
    np.testing.assert_array_equal(images[0], images[2])


@pytest.fixture(scope="module")
def porous_fcn():
    cells = [make_porous_sheet((6, 4), random_state=seed) for seed in range(24)]
    energies = np.array([tersoff_energy(cell) for cell in cells])
    model = make_pipeline(
        AtomImage(RESOLUTION, gamma=0.3, species=(6,)),
        make_atoms_ednn(network="fcn", f=8, c=8, max_epochs=2, refit_folds=3),
    )
    return model.fit(cells, energies)


def test_the_fcn_recipe_predicts_a_sheet_band_by_band(porous_fcn):
    model = porous_fcn
    assert isinstance(model[-1].estimator_.module_.tile_module, TileFCN)
    sheet = make_porous_sheet((24, 16), random_state=7)
    expected = model.predict([sheet])
    contributions = model[-1].predict_contributions(model[0].transform([sheet]))
    model.set_params(atomimage__lazy=True)
    try:
        stack = model[0].transform([sheet])
        recording = RecordingArray(stack)
        with config_context(working_memory=0.05):
            np.testing.assert_allclose(
                model[-1].predict(recording), expected, rtol=1e-6
            )
            np.testing.assert_allclose(
                model[-1].predict_contributions(stack), contributions, rtol=1e-6
            )
            np.testing.assert_allclose(model.predict([sheet]), expected, rtol=1e-6)
    finally:
        model.set_params(atomimage__lazy=False)
    # Bands of at most 80 of the image's 192 rows (halo included) at a time.
    assert stack.shape[1] == 192
    assert 0 < recording.largest_read <= 80 * stack.shape[2]


def test_the_atoms_recipe_names_its_networks():
    assert make_atoms_ednn(network="fcn").estimator.module is TileFCN
    assert make_atoms_ednn(network="fcn", width=0.25).estimator.module__filters == 16
    with pytest.raises(ValueError, match="network='mlp' must be 'cnn' or 'fcn'"):
        make_atoms_ednn(network="mlp")
