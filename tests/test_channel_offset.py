"""EDNNRegressor(offset="channel_totals"): a linear reference in the channel totals."""

import warnings

import numpy as np
import pytest
from _moves import compare_local_and_full
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from sklearn_ednn import EDNNRegressor, TileCNN, make_tile_net
from sklearn_ednn.atoms import AtomImage, EDNNCalculator
from sklearn_ednn.datasets import sheet_cell, tersoff_bcn
from sklearn_ednn.montecarlo import AtomsEDNNEnergy

WEIGHTS = np.array([1.5, -0.7])  # per unit of each channel's total
INTERCEPT = 0.3  # per tile


def linear_grids(n_samples, size=8, seed=0):
    """Two-channel grids whose target is linear in the channel totals, plus a
    small local term the network has to learn."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n_samples, size, size, 2))
    n_tiles = (size // 4) ** 2
    local = 0.05 * (X[..., 0] * np.roll(X[..., 1], 1, axis=1)).sum(axis=(1, 2))
    y = X.sum(axis=(1, 2)) @ WEIGHTS + n_tiles * INTERCEPT + local
    return X, y


def offset_model():
    net = make_tile_net(max_epochs=3, batch_size=16, lr=1e-3)
    return EDNNRegressor(
        net, f=4, c=1, channels=True, offset="channel_totals", random_state=0
    )


def test_offset_is_the_least_squares_reference():
    X, y = linear_grids(120)
    model = offset_model().fit(X, y)
    totals = X.sum(axis=(1, 2))
    design = np.column_stack([np.full(len(X), 4.0), totals])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(model.tile_offset_, coef[:1], rtol=1e-8)
    np.testing.assert_allclose(model.channel_offset_[:, 0], coef[1:], rtol=1e-8)
    # The reference is close to the planted weights (the local term is small).
    np.testing.assert_allclose(model.channel_offset_[:, 0], WEIGHTS, atol=0.06)
    residual = y - design @ coef
    assert model.tile_scale_[0] == pytest.approx(np.std(residual / 4))


def test_offset_is_fitted_per_output():
    X, y = linear_grids(60)
    Y = np.column_stack([y, -2 * y + 1.0])
    model = offset_model().set_params(estimator__max_epochs=1).fit(X, Y)
    assert model.channel_offset_.shape == (2, 2)
    np.testing.assert_allclose(
        model.channel_offset_[:, 1], -2 * model.channel_offset_[:, 0], rtol=1e-8
    )
    contributions = model.predict_contributions(X[:4])
    assert contributions.shape == (4, 2, 2, 2)
    np.testing.assert_allclose(contributions.sum(axis=(1, 2)), model.predict(X[:4]))


def test_offset_is_in_every_tile_score_and_extensive():
    X, y = linear_grids(120)
    model = offset_model().fit(X, y)
    contributions = model.predict_contributions(X[:5])
    np.testing.assert_allclose(contributions.sum(axis=(1, 2)), model.predict(X[:5]))
    # Each tile's share of the offset follows its own focus region's totals.
    module = model.estimator_.module_
    assert module.channel_offset is not None
    big = np.tile(X[:3], (1, 3, 2, 1))
    np.testing.assert_allclose(model.predict(big), 6 * model.predict(X[:3]))
    X_test, y_test = linear_grids(60, seed=1)
    mean_model = EDNNRegressor(
        make_tile_net(max_epochs=3, batch_size=16, lr=1e-3),
        f=4,
        c=1,
        channels=True,
        random_state=0,
    ).fit(X, y)
    # The linear part is exact: with it the network has far less to learn.
    error = np.mean(np.abs(model.predict(X_test) - y_test))
    mean_error = np.mean(np.abs(mean_model.predict(X_test) - y_test))
    assert error < 0.5 * mean_error


def test_output_layer_refit_sees_the_offset():
    X, y = linear_grids(120)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = offset_model().fit(X, y)
    history = model.estimator_.history
    assert history[-1, "refit_loss_after"] <= history[-1, "refit_loss_before"]


def test_mean_offset_has_zero_channel_weights():
    X, y = linear_grids(40)
    model = EDNNRegressor(
        make_tile_net(max_epochs=1), f=4, c=1, channels=True, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(model.channel_offset_, np.zeros((2, 1)))
    assert model.estimator_.module_.channel_offset is None
    np.testing.assert_allclose(model.tile_offset_, [np.mean(y / 4)])


def test_offset_needs_the_torch_solver():
    X, y = linear_grids(20)
    model = EDNNRegressor(Ridge(), f=4, c=1, channels=True, offset="channel_totals")
    with pytest.raises(ValueError, match="offset='channel_totals' applies to torch"):
        model.fit(X, y)
    with pytest.raises(ValueError, match="offset"):
        offset_model().set_params(offset="median").fit(X, y)


@pytest.fixture(scope="module")
def atoms_model():
    cells, energies = [], []
    for seed in range(12):
        cell = sheet_cell(kind="h-BN" if seed % 2 else "graphene")
        cell.rattle(0.08, seed=seed)
        cell.positions[:, 2] = cell.positions[0, 2]
        if seed % 3 == 0:
            del cell[[seed, seed + 20]]  # vacancies: compositions differ
        cell.calc = tersoff_bcn()
        energies.append(cell.get_potential_energy())
        cell.calc = None
        cells.append(cell)
    resolution = tuple(cells[0].cell.lengths()[:2] / 32)
    net = make_tile_net(TileCNN, module__width=0.125, max_epochs=1)
    ednn = EDNNRegressor(
        net,
        f=8,
        c=4,
        channels=True,
        offset="channel_totals",
        random_state=0,
        inference_dtype="float64",
    )
    return make_pipeline(AtomImage(resolution, species=(5, 6, 7)), ednn).fit(
        cells, energies
    )


def test_atoms_reference_energies_and_simulation_include_the_offset(atoms_model):
    ednn = atoms_model[-1]
    # Per atom, a channel total is Z times the Gaussian's pixel sum: the
    # weights times Z are reference energies per atom, near Tersoff's
    # cohesive energies of a few eV.
    image = atoms_model[0]
    one_atom = image.transform([(np.zeros((1, 3)), [6], sheet_cell().cell)])
    per_carbon = one_atom[0].sum(axis=(0, 1)) @ ednn.channel_offset_[:, 0]
    assert -10 < per_carbon < -3
    sheet = sheet_cell(kind="h-BN")
    sheet.numbers[:10] = 6  # carbon in h-BN: all three channels
    sheet.rattle(0.05, seed=7)
    sheet.positions[:, 2] = sheet.positions[0, 2]
    sheet.calc = EDNNCalculator(atoms_model)
    predicted = atoms_model.predict([sheet])[0]
    assert sheet.get_potential_energy() == pytest.approx(predicted, rel=1e-7)
    assert AtomsEDNNEnergy(atoms_model).start(sheet) == pytest.approx(
        predicted, rel=1e-7
    )
    compare_local_and_full(atoms_model, sheet, 10)
