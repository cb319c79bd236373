"""Invariants of the EDNN sum that every fitted model and every consumer keeps.

Each test states one exact property of ``prediction(x) = sum_t g(tile_t(x))``:
locality of a tile's contribution, independence from how tiles are batched,
banded or spread over jobs, and that every consumer of a fitted model (Ising
and atoms Monte Carlo, the ASE calculator, the blur study) computes the very
number that ``predict`` does, for one tiling and for averaged tilings. The
comparisons are in float64, so their tolerances are round-off.
"""

import numpy as np
import pytest
from _sheets import calculator_finite_differences, rattled_cells, rattled_sheet
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures
from sklearn.tree import DecisionTreeRegressor

from sklearn_ednn import EDNNRegressor, TileCNN, TileFCN, make_tile_net
from sklearn_ednn.atoms import AtomImage, EDNNCalculator
from sklearn_ednn.datasets import make_ising
from sklearn_ednn.inspection import predict_blurred
from sklearn_ednn.montecarlo import (
    AtomsEDNNEnergy,
    EDNNEnergy,
    atoms_metropolis,
    ising_metropolis,
)
from sklearn_ednn.montecarlo._energies import site_groups

# A torch network (tiled, and fully convolutional), a model linear in its
# parameters and boosted trees: every solver and both torch scoring paths.
TILE_MODELS = {
    "torch": lambda: make_tile_net(max_epochs=1, batch_size=8),
    "torch fcn": lambda: make_tile_net(
        TileFCN, module__filters=4, max_epochs=1, batch_size=8
    ),
    "linear": lambda: make_pipeline(PolynomialFeatures(2), Ridge(1e-3)),
    "boosting": lambda: DecisionTreeRegressor(max_depth=3),
}

# (f, average_shifts): one tiling, two per axis and four per axis.
TILINGS = [(2, 1), (2, 2), (4, 4)]


@st.composite
def fitted_cases(draw):
    """A model of any solver fitted on random grids, and grids to predict."""
    n_spatial = draw(st.integers(1, 3))
    f = tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    c = tuple(draw(st.integers(0, 2)) for _ in range(n_spatial))
    channels = draw(st.booleans())
    n_channels = draw(st.integers(1, 2)) if channels else 1
    padding = draw(st.sampled_from(["wrap", "zeros"]))
    kind = draw(st.sampled_from(sorted(TILE_MODELS)))
    tiles = tuple(
        draw(st.integers(1, 3 if n_spatial < 3 else 2)) for _ in range(n_spatial)
    )
    seed = draw(st.integers(0, 1000))
    rng = np.random.RandomState(seed)
    shape = tuple(t * fi for t, fi in zip(tiles, f))
    suffix = (n_channels,) if channels else ()
    X = rng.normal(size=(10,) + shape + suffix)
    y = (X * np.roll(X, 1, axis=1)).reshape(len(X), -1).sum(axis=1)
    model = EDNNRegressor(
        TILE_MODELS[kind](),
        f=f,
        c=c,
        padding=padding,
        channels=channels,
        random_state=seed,
        n_rounds=2,
        inference_dtype="float64",
    ).fit(X, y)
    # Grids of another size at predict time.
    big = tuple(fi * draw(st.integers(1, 3)) for fi in f)
    X_test = rng.normal(size=(2,) + big + suffix)
    return model, X_test, f, c, padding, channels


def _window_holds(pixel, tile, f, c, shape, padding):
    """Whether the window of ``tile`` (focus plus context) reads ``pixel``."""
    for p, t, fi, ci, length in zip(pixel, tile, f, c, shape):
        offsets = np.arange(t * fi - ci, t * fi + fi + ci)
        if padding == "wrap":
            if not np.any(offsets % length == p):
                return False
        elif not np.any(offsets == p):
            return False
    return True


@settings(max_examples=25, deadline=None)
@given(fitted_cases(), st.data())
def test_a_tile_does_not_see_pixels_beyond_its_context(case, data):
    model, X, f, c, padding, channels = case
    shape = X.shape[1 : 1 + len(f)]
    pixel = tuple(data.draw(st.integers(0, n - 1)) for n in shape)
    changed = X.copy()
    changed[(slice(None),) + pixel] += 3.0
    before = model.predict_contributions(X)
    after = model.predict_contributions(changed)
    tiles_per_axis = before.shape[1:]
    for tile in np.ndindex(*tiles_per_axis):
        if not _window_holds(pixel, tile, f, c, shape, padding):
            np.testing.assert_allclose(
                after[(slice(None),) + tile],
                before[(slice(None),) + tile],
                rtol=1e-12,
                atol=1e-12,
            )


@settings(max_examples=25, deadline=None)
@given(fitted_cases(), st.integers(1, 7))
def test_batching_and_banding_do_not_change_predictions(case, tile_batch_size):
    model, X, *_ = case
    expected = model.predict(X)
    contributions = model.predict_contributions(X)
    # Small batches cut grids into bands of tile rows, and rows into batches.
    model.set_params(tile_batch_size=tile_batch_size)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        model.predict_contributions(X), contributions, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("kind", sorted(TILE_MODELS))
def test_jobs_do_not_change_predictions(kind):
    X, y = make_ising(40, size=4, random_state=0)
    model = EDNNRegressor(
        TILE_MODELS[kind](),
        f=2,
        c=1,
        random_state=0,
        n_rounds=2,
        inference_dtype="float64",
    )
    model.fit(X.astype(float), y)
    X_big, _ = make_ising(3, size=16, random_state=1)
    expected = model.predict(X_big)
    model.set_params(n_jobs=2, tile_batch_size=16)
    np.testing.assert_allclose(model.predict(X_big), expected, rtol=1e-12)


# -- Ising Monte Carlo ---------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(TILE_MODELS))
def ising_models(request):
    """One Ising model per tiling of :data:`TILINGS`, of one solver."""
    X, y = make_ising(60, size=8, random_state=0)
    models = {}
    for f, shifts in TILINGS:
        model = EDNNRegressor(
            TILE_MODELS[request.param](),
            f=f,
            c=1,
            random_state=0,
            n_rounds=2,
            inference_dtype="float64",
        )
        models[f, shifts] = model.fit(X, y).set_params(average_shifts=shifts)
    return models


@pytest.mark.parametrize("tiling", TILINGS, ids=lambda t: f"f{t[0]}-shifts{t[1]}")
def test_ising_local_deltas_are_differences_of_predict(ising_models, tiling):
    model = ising_models[tiling]
    energy = EDNNEnergy(model)
    spins = np.random.RandomState(2).choice(np.array([-1, 1], np.int8), (2, 8, 8))
    np.testing.assert_allclose(energy.start(spins), model.predict(spins), rtol=1e-12)
    rng = np.random.RandomState(3)
    for sites in site_groups(spins.shape[1:], energy.move_separation(spins.shape[1:])):
        before = model.predict(spins)
        delta = energy.propose(sites)
        for k, site in enumerate(sites):
            flipped = spins.copy()
            flipped[(slice(None),) + tuple(site)] *= -1
            expected = model.predict(flipped) - before
            np.testing.assert_allclose(delta[:, k], expected, atol=1e-9)
        # Accept some flips: the energy flips its lattices and keeps up.
        energy.accept(rng.random_sample(delta.shape) < 0.3)
        np.testing.assert_allclose(energy.energy_, model.predict(spins), atol=1e-8)


@pytest.mark.parametrize("tiling", TILINGS, ids=lambda t: f"f{t[0]}-shifts{t[1]}")
def test_ising_chain_energy_is_predict_of_its_lattices(ising_models, tiling):
    model = ising_models[tiling]
    run = ising_metropolis(
        model,
        [2.0, 3.5],
        size=8,
        n_replicas=2,
        n_sweeps=3,
        n_burn_in=2,
        random_state=0,
    )
    final = run.spins.reshape(-1, 8, 8)
    np.testing.assert_allclose(
        run.energies[..., -1].reshape(-1), model.predict(final), atol=1e-8
    )


# -- atoms: Monte Carlo and the calculator ----------------------------------------

PIXELS = 32  # per 60-atom cell


@pytest.fixture(scope="module")
def atoms_model():
    """A float64 pipeline of an atom image and a small torch EDNN (f=8, c=4)."""
    cells, energies = rattled_cells(8, kind="h-BN")
    resolution = tuple(cells[0].cell.lengths()[:2] / PIXELS)
    net = make_tile_net(TileCNN, module__width=0.125, max_epochs=1)
    image = AtomImage(resolution, species=(5, 7), dtype="float64")
    ednn = EDNNRegressor(
        net, f=8, c=4, channels=True, random_state=0, inference_dtype="float64"
    )
    return make_pipeline(image, ednn).fit(cells, energies)


@pytest.fixture
def sheet():
    return rattled_sheet()


def _with_shifts(model, shifts):
    model.steps[-1][1].set_params(average_shifts=shifts)
    return model


@pytest.mark.parametrize("shifts", [1, 2, 4])
def test_atoms_local_deltas_are_differences_of_predict(atoms_model, sheet, shifts):
    model = _with_shifts(atoms_model, shifts)
    energy = AtomsEDNNEnergy(model)
    current = sheet.copy()
    assert energy.start(current) == pytest.approx(model.predict([current])[0], 1e-12)
    rng = np.random.default_rng(0)
    for step in range(8):
        atom = rng.integers(len(current))
        trial = current.positions[atom] + np.r_[rng.uniform(-0.3, 0.3, 2), 0.0]
        moved = current.copy()
        moved.positions[atom] = trial
        expected = model.predict([moved])[0] - model.predict([current])[0]
        assert energy.propose((atom, trial)) == pytest.approx(expected, abs=1e-9)
        energy.accept(step % 2 == 0)
        if step % 2 == 0:
            current = moved
    assert energy.energy_ == pytest.approx(model.predict([current])[0], rel=1e-12)


@pytest.mark.parametrize("shifts", [1, 2, 4])
def test_atoms_chain_energy_is_predict_of_its_samples(atoms_model, sheet, shifts):
    model = _with_shifts(atoms_model, shifts)
    result = atoms_metropolis(
        sheet,
        AtomsEDNNEnergy(model),
        temperature=2000,
        n_steps=40,
        sample_interval=10,
        random_state=0,
    )
    samples = []
    for positions in result.positions:
        sample = sheet.copy()
        sample.positions = positions
        samples.append(sample)
    np.testing.assert_allclose(result.energies, model.predict(samples), rtol=1e-12)


@pytest.mark.parametrize("shifts", [1, 2, 4])
def test_calculator_energy_is_predict_and_forces_its_gradient(
    atoms_model, sheet, shifts
):
    model = _with_shifts(atoms_model, shifts)
    sheet.calc = EDNNCalculator(model)
    assert sheet.get_potential_energy() == pytest.approx(
        model.predict([sheet])[0], rel=1e-12
    )
    forces = sheet.get_forces()
    finite_difference = calculator_finite_differences(model, sheet, [3, 30])
    np.testing.assert_allclose(
        forces[[3, 30], :2], finite_difference, atol=1e-4 * np.abs(forces).max()
    )


# -- inspection ------------------------------------------------------------------


@pytest.mark.parametrize("tiling", TILINGS, ids=lambda t: f"f{t[0]}-shifts{t[1]}")
def test_blur_with_nothing_blurred_is_predict(ising_models, tiling):
    model = ising_models[tiling]
    X, _ = make_ising(3, size=16, random_state=3)
    nothing = np.zeros(model.tiling_.tile_shape)
    np.testing.assert_allclose(
        predict_blurred(model, X, nothing.astype(bool)), model.predict(X), rtol=1e-12
    )
