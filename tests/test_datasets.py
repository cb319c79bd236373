"""Ising data: exact energies, correct Metropolis sampling, reproducibility."""

import itertools

import numpy as np
import pytest

from sklearn_ednn.datasets import CRITICAL_TEMPERATURE, ising_energy, make_ising


def loop_energy(spins, J):
    """Energy by explicit loops over sites and their +1 neighbours."""
    total = 0.0
    for site in itertools.product(*map(range, spins.shape)):
        for axis in range(spins.ndim):
            neighbour = list(site)
            neighbour[axis] = (neighbour[axis] + 1) % spins.shape[axis]
            total -= J * spins[site] * spins[tuple(neighbour)]
    return total


@pytest.mark.parametrize("n_dims", [1, 2, 3])
def test_energies_match_explicit_neighbour_sum(n_dims):
    X, y = make_ising(4, size=4, n_dims=n_dims, J=0.7, n_sweeps=3, random_state=0)
    assert X.shape == (4,) + (4,) * n_dims and X.dtype == np.int8
    assert set(np.unique(X)) <= {-1, 1}
    np.testing.assert_allclose(y, [loop_energy(x, 0.7) for x in X])
    np.testing.assert_allclose(ising_energy(X, J=0.7), y)


def test_metropolis_samples_the_boltzmann_distribution():
    # Exact mean energy of the periodic 4x4 lattice at T = 3 by enumeration.
    T = 3.0
    configs = np.array(list(itertools.product([-1, 1], repeat=16))).reshape(-1, 4, 4)
    energies = ising_energy(configs)
    weights = np.exp(-(energies - energies.min()) / T)
    exact = (weights * energies).sum() / weights.sum()
    _, y = make_ising(4000, size=4, temperature=T, n_sweeps=60, random_state=1)
    standard_error = y.std() / np.sqrt(len(y))
    assert abs(y.mean() - exact) < 4 * standard_error, (y.mean(), exact)


def test_random_state_reproduces_and_temperatures_order():
    X1, y1, T1 = make_ising(50, size=6, return_temperature=True, random_state=3)
    X2, y2, T2 = make_ising(50, size=6, return_temperature=True, random_state=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(T1, T2)
    assert ((T1 >= 1.0) & (T1 <= 4.0)).all()
    cold = make_ising(200, size=8, temperature=1.0, random_state=0)[1].mean()
    hot = make_ising(200, size=8, temperature=4.0, random_state=0)[1].mean()
    assert cold < hot


def test_critical_temperature_is_onsagers():
    assert CRITICAL_TEMPERATURE == pytest.approx(2.269185314213022)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"size": 5}, "size=5 must be an even number"),
        ({"n_dims": 4}, "n_dims=4 must be 1, 2 or 3"),
        ({"temperature": -1.0}, "temperatures must be positive"),
        ({"n_samples": 0}, "n_samples=0 must be >= 1"),
    ],
)
def test_bad_generator_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_ising(**{"n_samples": 2, **kwargs})
