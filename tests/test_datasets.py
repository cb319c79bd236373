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


@pytest.mark.parametrize("algorithm", ["metropolis", "swendsen-wang"])
@pytest.mark.parametrize("T", [2.0, 3.0])
def test_samplers_draw_the_boltzmann_distribution(algorithm, T):
    # Exact energy distribution of the periodic 4x4 lattice by enumeration.
    configs = np.array(list(itertools.product([-1, 1], repeat=16))).reshape(-1, 4, 4)
    energies = ising_energy(configs)
    weights = np.exp(-(energies - energies.min()) / T)
    levels = np.unique(energies)
    exact = np.array([weights[energies == e].sum() for e in levels]) / weights.sum()
    X, y = make_ising(
        4000, size=4, temperature=T, n_sweeps=60, algorithm=algorithm, random_state=1
    )
    np.testing.assert_array_equal(y, ising_energy(X))
    observed = np.array([(y == e).sum() for e in levels])
    # Pearson chi-square over the energy levels with enough expected counts.
    expected = exact * len(y)
    keep = expected > 5
    chi2 = (((observed - expected) ** 2 / expected)[keep]).sum()
    assert chi2 < 3 * keep.sum(), (chi2, keep.sum())


def test_swendsen_wang_at_the_critical_temperature():
    # Onsager: the infinite lattice has energy -sqrt(2) per spin at Tc.
    X, y = make_ising(
        8,
        size=64,
        temperature=CRITICAL_TEMPERATURE,
        n_sweeps=60,
        algorithm="swendsen-wang",
        random_state=0,
    )
    assert np.mean(y) / 64**2 == pytest.approx(-np.sqrt(2), abs=0.03)


def test_cache_dir_memoises_on_disk(tmp_path):
    first = make_ising(
        20, size=6, cache_dir=tmp_path, return_temperature=True, random_state=5
    )
    assert any(tmp_path.rglob("output.pkl"))
    second = make_ising(
        20, size=6, cache_dir=tmp_path, return_temperature=True, random_state=5
    )
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    fresh = make_ising(20, size=6, return_temperature=True, random_state=5)
    np.testing.assert_array_equal(first[0], fresh[0])
    with pytest.raises(ValueError, match="cache_dir needs an int random_state"):
        make_ising(5, size=4, cache_dir=tmp_path)


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
        ({"algorithm": "wolff"}, "algorithm='wolff' must be one of"),
    ],
)
def test_bad_generator_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_ising(**{"n_samples": 2, **kwargs})
