"""Metropolis on exact and EDNN energies: local updates, detailed balance."""

import itertools

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import CRITICAL_TEMPERATURE, ising_energy, make_ising
from sklearn_ednn.montecarlo import (
    EDNNEnergy,
    ExactIsingEnergy,
    binder_crossing,
    ising_metropolis,
    ising_observables,
)
from sklearn_ednn.montecarlo._energies import site_groups


@pytest.fixture(scope="module")
def exact_ednn():
    """An EDNN that learned the Ising energy exactly (polynomial ridge)."""
    X, y = make_ising(300, size=6, random_state=0)
    return EDNNRegressor(make_pipeline(PolynomialFeatures(2), Ridge(1e-8))).fit(X, y)


@pytest.mark.parametrize(
    "f, c, size",
    [(1, 1, 8), (2, 1, 8), (1, 2, 10), (2, 2, 4), (1, 3, 4), (3, 0, 6)],
)
def test_local_reevaluation_equals_full_reevaluation(f, c, size):
    X, y = make_ising(60, size=size, random_state=1)
    model = EDNNRegressor(
        make_tile_net(max_epochs=1),
        f=f,
        c=c,
        random_state=0,
        inference_dtype="float64",
    )
    model.fit(X, y)
    energy = EDNNEnergy(model)
    spins = np.random.RandomState(2).choice(np.array([-1, 1], np.int8), (3, size, size))
    total = energy.start(spins)
    np.testing.assert_allclose(total, model.predict(spins), rtol=1e-10)
    before = model.predict(spins)
    for sites in site_groups(spins.shape[1:], energy.move_separation(spins.shape[1:])):
        delta = energy.propose(sites)
        for k, site in enumerate(sites):
            flipped = spins.copy()
            flipped[(slice(None),) + tuple(site)] *= -1
            expected = model.predict(flipped) - before
            np.testing.assert_allclose(delta[:, k], expected, atol=1e-9)


def test_site_groups_cover_every_site_once_and_are_independent():
    groups = site_groups((8, 6), (3, 3))
    sites = np.concatenate(groups)
    assert len(sites) == 48 and len({tuple(s) for s in sites}) == 48
    for group in groups:
        for a, b in itertools.combinations(group, 2):
            distance = np.minimum(np.abs(a - b), [8, 6] - np.abs(a - b))
            assert (distance >= 3).any()


def test_cached_energy_follows_the_chain(exact_ednn):
    run = ising_metropolis(
        exact_ednn,
        [2.0, 3.0],
        size=8,
        n_replicas=2,
        n_sweeps=5,
        n_burn_in=5,
        random_state=0,
    )
    final = run.spins.reshape(-1, 8, 8)
    np.testing.assert_allclose(
        run.energies[..., -1].reshape(-1), exact_ednn.predict(final), atol=1e-8
    )
    np.testing.assert_array_equal(
        run.magnetisation[..., -1].reshape(-1), final.reshape(4, -1).sum(axis=1)
    )


def _boltzmann_mean_energy(T, size=4):
    configs = np.array(list(itertools.product([-1, 1], repeat=size * size)))
    energies = ising_energy(configs.reshape(-1, size, size))
    weights = np.exp(-(energies - energies.min()) / T)
    return (weights * energies).sum() / weights.sum()


@pytest.mark.parametrize("driver", ["exact", "ednn"])
def test_detailed_balance_on_a_tiny_lattice(driver, exact_ednn):
    # The 4x4 lattice is enumerated exactly; the chain must sample Boltzmann.
    T = 2.5
    energy = ExactIsingEnergy() if driver == "exact" else EDNNEnergy(exact_ednn)
    run = ising_metropolis(
        energy,
        [T],
        size=4,
        n_replicas=64,
        n_sweeps=300,
        n_burn_in=50,
        random_state=3,
    )
    per_replica = run.energies[0].mean(axis=1)
    standard_error = per_replica.std(ddof=1) / np.sqrt(len(per_replica))
    assert abs(per_replica.mean() - _boltzmann_mean_energy(T)) < 4 * standard_error


def test_observables_show_the_ordering_transition():
    run = ising_metropolis(
        None,
        [1.5, 3.5],
        size=12,
        n_replicas=4,
        n_sweeps=200,
        n_burn_in=100,
        random_state=0,
    )
    obs = ising_observables(run)
    assert obs.abs_magnetisation[0] > 0.9 > 0.4 > obs.abs_magnetisation[1]
    assert obs.binder[0] == pytest.approx(2 / 3, abs=0.01)
    assert obs.energy[0] < obs.energy[1]
    for name in ("energy", "heat_capacity", "susceptibility", "binder"):
        assert np.all(np.isfinite(getattr(obs, name + "_error")))


def test_ednn_energy_rejects_unsuitable_models():
    X, y = make_ising(20, size=4, random_state=0)
    model = EDNNRegressor(Ridge(), padding="zeros").fit(X, y)
    with pytest.raises(ValueError, match="padding='wrap'"):
        EDNNEnergy(model)


def test_memoised_tile_scores_give_the_same_chain():
    X, y = make_ising(100, size=8, random_state=0)
    net = make_tile_net(max_epochs=1)
    model = EDNNRegressor(net, random_state=0, inference_dtype="float64").fit(X, y)
    runs = {}
    for memoize in (False, True):
        energy = EDNNEnergy(model, memoize=memoize)
        runs[memoize] = ising_metropolis(
            energy,
            [2.3],
            size=8,
            n_replicas=2,
            n_sweeps=20,
            n_burn_in=0,
            random_state=1,
        )
        runs[memoize].n_scored = energy.n_scored_
    np.testing.assert_allclose(runs[True].energies, runs[False].energies, rtol=1e-9)
    np.testing.assert_array_equal(runs[True].spins, runs[False].spins)
    # At most 2**9 distinct 3x3 patterns ever reach the network.
    assert runs[True].n_scored <= 512 < runs[False].n_scored


def test_replica_exchange_keeps_every_temperature_boltzmann():
    temperatures = [1.8, 2.3, 3.0]
    run = ising_metropolis(
        None,
        temperatures,
        size=4,
        n_replicas=48,
        n_sweeps=300,
        n_burn_in=50,
        exchange_every=1,
        random_state=4,
    )
    assert 0.1 < run.exchange_acceptance < 1.0
    for i, T in enumerate(temperatures):
        per_replica = run.energies[i].mean(axis=1)
        standard_error = per_replica.std(ddof=1) / np.sqrt(len(per_replica))
        assert abs(per_replica.mean() - _boltzmann_mean_energy(T)) < 4 * standard_error
    # Measurements follow the temperatures: the last one matches the final spins.
    final = run.spins.reshape(-1, 4, 4)
    np.testing.assert_allclose(run.energies[..., -1].reshape(-1), ising_energy(final))


def test_initial_lattices_can_be_given():
    start = np.ones((2, 3, 6, 6), dtype=np.int8)
    run = ising_metropolis(
        None,
        [0.5, 0.6],
        size=6,
        n_replicas=3,
        n_sweeps=1,
        n_burn_in=0,
        initial=start,
        random_state=0,
    )
    assert run.magnetisation[..., 0].min() > 30  # still almost fully ordered
    with pytest.raises(ValueError, match="expected 6 lattices"):
        ising_metropolis(None, [1.0, 2.0], size=6, n_replicas=3, initial=start[:1])


def test_binder_crossing_finds_onsagers_temperature():
    temperatures = np.linspace(2.0, 2.6, 7)
    runs = [
        ising_metropolis(
            None,
            temperatures,
            size=size,
            n_replicas=8,
            n_sweeps=400,
            n_burn_in=100,
            exchange_every=1,
            random_state=size,
        )
        for size in (8, 16)
    ]
    tc, error = binder_crossing(*runs, random_state=0)
    assert 0 < error < 0.1
    assert abs(tc - CRITICAL_TEMPERATURE) < max(3 * error, 0.03 * CRITICAL_TEMPERATURE)
    with pytest.raises(ValueError, match="same temperatures"):
        binder_crossing(runs[0], ising_metropolis(None, [2.0], size=4, n_sweeps=2))


def test_both_samplers_return_one_result_type():
    from sklearn_ednn.datasets import sheet_cell, tersoff_bcn
    from sklearn_ednn.montecarlo import (
        CalculatorEnergy,
        MonteCarloResult,
        atoms_metropolis,
    )

    spins = ising_metropolis(None, [2.0], size=4, n_sweeps=3, n_burn_in=0)
    atoms = atoms_metropolis(
        sheet_cell(),
        CalculatorEnergy(tersoff_bcn()),
        temperature=500,
        n_steps=20,
        sample_interval=10,
        random_state=0,
    )
    for run in (spins, atoms):
        assert isinstance(run, MonteCarloResult)
        assert 0 <= run.acceptance <= 1 and run.seconds_per_step > 0
        assert run.energies.ndim >= 1
    with pytest.raises(ValueError, match="structures come from atoms_metropolis"):
        spins.structures(sheet_cell())


def test_the_exact_energy_flips_its_lattices_and_keeps_its_total():
    energy = ExactIsingEnergy(J=0.5)
    spins = np.random.RandomState(0).choice(np.array([-1, 1], np.int8), (3, 6, 6))
    np.testing.assert_allclose(energy.start(spins), ising_energy(spins, J=0.5))
    rng = np.random.RandomState(1)
    for sites in site_groups((6, 6), energy.move_separation((6, 6))):
        delta = energy.propose(sites)
        energy.accept(rng.random_sample(delta.shape) < 0.5)
    np.testing.assert_allclose(energy.energy_, ising_energy(spins, J=0.5))


def test_a_non_finite_starting_energy_stops_the_chain():
    X, y = make_ising(50, size=4, random_state=0)
    broken = EDNNRegressor(Ridge(), f=1, c=1).fit(X, y)
    broken.estimator_.coef_[:] = np.nan
    with pytest.raises(FloatingPointError, match="starting energy of replica 0 is nan"):
        ising_metropolis(broken, [2.0], size=4, n_replicas=1, n_sweeps=2)


class _DoubledCoupling:
    """An energy of one's own: the exact energy with J = 2 (protocol only)."""

    def __init__(self):
        self.exact = ExactIsingEnergy()

    @property
    def energy_(self):
        return 2 * self.exact.energy_

    def move_separation(self, shape):
        return self.exact.move_separation(shape)

    def start(self, spins):
        return 2 * self.exact.start(spins)

    def propose(self, moves):
        return 2 * self.exact.propose(moves)

    def accept(self, accepted):
        return 2 * self.exact.accept(accepted)


def test_an_energy_of_ones_own_drives_the_chain_as_it_is():
    # J = 2 at temperature 2T is the chain of J = 1 at T, step for step.
    settings = dict(size=8, n_replicas=2, n_sweeps=20, n_burn_in=5, random_state=3)
    own = ising_metropolis(_DoubledCoupling(), [3.0, 5.0], **settings)
    exact = ising_metropolis(None, [1.5, 2.5], **settings)
    np.testing.assert_array_equal(own.spins, exact.spins)
    np.testing.assert_allclose(own.energies, 2 * exact.energies)
