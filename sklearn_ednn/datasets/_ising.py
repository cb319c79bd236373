"""Ising configurations from vectorised Metropolis or Swendsen-Wang, exact energies."""

import numbers

import numpy as np
from joblib import Memory
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from .._metropolis_rule import metropolis_accept

__all__ = ["ising_energy", "make_ising", "CRITICAL_TEMPERATURE"]

#: Critical temperature of the square-lattice Ising model, ``2 / ln(1 + sqrt(2))``
#: in units of ``J / k_B`` (Onsager).
CRITICAL_TEMPERATURE = 2.0 / np.log1p(np.sqrt(2.0))


def ising_energy(X, J=1.0):
    """Exact nearest-neighbour Ising energies with periodic boundaries.

    ``E = -J * sum over nearest-neighbour pairs <i, j> of s_i s_j``, every pair
    counted once, on lattices of any number of spatial axes.

    Parameters
    ----------
    X : array-like of shape (n_samples, L1, ..., Ld)
        Spin configurations (values +1 and -1).
    J : float, default=1.0
        Coupling; positive is ferromagnetic.

    Returns
    -------
    energy : ndarray of shape (n_samples,)
        Total energy of each configuration, in units of ``J`` times spin^2.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ednn.datasets import ising_energy
    >>> ising_energy(np.ones((1, 4, 4)))
    array([-32.])
    """
    spins = np.asarray(X, dtype=np.float64)
    if spins.ndim < 2:
        raise ValueError(
            f"X has shape {spins.shape}; expected (n_samples, L1, ..., Ld)."
        )
    bonds = sum(
        (spins * np.roll(spins, 1, axis=axis)).reshape(len(spins), -1).sum(axis=1)
        for axis in range(1, spins.ndim)
    )
    return -J * bonds


def _checkerboard(shape):
    """Boolean masks of the two sublattices of a periodic grid of even sides."""
    parity = np.indices(shape).sum(axis=0) % 2
    return parity == 0, parity == 1


def _metropolis_sweeps(spins, beta, J, n_sweeps, rng, verbose):
    """Checkerboard Metropolis sweeps over all lattices at once, in place."""
    n_dims = spins.ndim - 1
    sublattices = _checkerboard(spins.shape[1:])
    for _ in tqdm(range(n_sweeps), disable=not verbose, desc="Metropolis sweeps"):
        for sublattice in sublattices:
            field = sum(
                np.roll(spins, shift, axis=axis)
                for axis in range(1, n_dims + 1)
                for shift in (1, -1)
            )
            delta = 2.0 * J * spins * field
            spins[metropolis_accept(delta, beta, rng) & sublattice] *= -1


def _swendsen_wang_sweeps(spins, beta, J, n_sweeps, rng, verbose):
    """Swendsen-Wang cluster updates over all lattices at once, in place.

    Every satisfied bond (``J s_i s_j > 0``) is activated with probability
    ``1 - exp(-2 beta |J|)``; the clusters of active bonds (connected
    components of one sparse graph spanning every lattice) flip with
    probability 1/2. Decorrelates near ``Tc`` in a few sweeps where Metropolis
    needs thousands.
    """
    shape = spins.shape[1:]
    n_nodes = spins.size
    nodes = np.arange(n_nodes).reshape(spins.shape)
    p_bond = -np.expm1(-2.0 * beta * abs(J))
    for _ in tqdm(range(n_sweeps), disable=not verbose, desc="Swendsen-Wang sweeps"):
        rows, cols = [], []
        for axis in range(1, len(shape) + 1):
            neighbour_spins = np.roll(spins, -1, axis=axis)
            satisfied = J * spins * neighbour_spins > 0
            active = satisfied & (rng.random_sample(spins.shape) < p_bond)
            rows.append(nodes[active])
            cols.append(np.roll(nodes, -1, axis=axis)[active])
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        graph = coo_matrix(
            (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_nodes, n_nodes)
        )
        n_clusters, labels = connected_components(graph, directed=False)
        flip = rng.random_sample(n_clusters) < 0.5
        spins.reshape(-1)[flip[labels]] *= -1


_SAMPLERS = {"metropolis": _metropolis_sweeps, "swendsen-wang": _swendsen_wang_sweeps}


def _sample_ising(
    n_samples,
    size,
    n_dims,
    temperature_range,
    temperature,
    J,
    n_sweeps,
    algorithm,
    verbose,
    random_state,
):
    """Generate configurations (the part that ``cache_dir`` memoises)."""
    rng = check_random_state(random_state)
    if temperature is None:
        low, high = temperature_range
        if not low <= high:
            raise ValueError(
                f"temperature_range={tuple(temperature_range)} must be (low, high) "
                "with low <= high."
            )
        T = rng.uniform(low, high, size=n_samples)
    else:
        T = np.broadcast_to(np.asarray(temperature, dtype=np.float64), (n_samples,))
        T = T.copy()
    if not np.all(T > 0):
        raise ValueError(f"temperatures must be positive, got minimum {T.min()}.")
    shape = (size,) * n_dims
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_samples,) + shape)
    beta = (1.0 / T).reshape((-1,) + (1,) * n_dims)
    _SAMPLERS[algorithm](spins, beta, J, n_sweeps, rng, verbose)
    return spins, ising_energy(spins, J=J), T


def make_ising(
    n_samples=1000,
    *,
    size=8,
    n_dims=2,
    temperature_range=(1.0, 4.0),
    temperature=None,
    J=1.0,
    n_sweeps=100,
    algorithm="metropolis",
    return_temperature=False,
    cache_dir=None,
    verbose=False,
    random_state=None,
):
    """Ising configurations sampled over a range of temperatures.

    All lattices are updated at once, from random (infinite-temperature)
    starts, either by checkerboard Metropolis (each sweep flips the two
    sublattices in turn, vectorised over lattices and sites) or by
    Swendsen-Wang cluster updates, which decorrelate near the critical
    temperature where Metropolis is slow. Energies are exact.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of configurations.
    size : int, default=8
        Side of the lattice; must be even (checkerboard with periodic
        boundaries).
    n_dims : int, default=2
        Number of spatial axes (1, 2 or 3).
    temperature_range : tuple of (float, float), default=(1.0, 4.0)
        Range ``(low, high)`` from which each configuration's temperature is
        drawn uniformly, in units of ``J / k_B``.
    temperature : float or array-like of shape (n_samples,), default=None
        Temperature of every configuration, or one per configuration; overrides
        ``temperature_range`` when given.
    J : float, default=1.0
        Coupling; positive is ferromagnetic.
    n_sweeps : int, default=100
        Sweeps of the chosen algorithm.
    algorithm : {"metropolis", "swendsen-wang"}, default="metropolis"
        Update scheme.
    return_temperature : bool, default=False
        If True, also return each configuration's temperature.
    cache_dir : str or path-like, default=None
        If given, results are memoised there with :class:`joblib.Memory`
        (keyed by every argument), so a second call with the same arguments
        loads them from disk. Needs an int ``random_state``.
    verbose : bool, default=False
        Show a progress bar over sweeps.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible configurations.

    Returns
    -------
    X : ndarray of int8 of shape (n_samples, size, ..., size)
        Spins, +1 or -1.
    y : ndarray of shape (n_samples,)
        Exact total energies (:func:`ising_energy`).
    T : ndarray of shape (n_samples,)
        Temperatures, only if ``return_temperature`` is True.

    Examples
    --------
    >>> from sklearn_ednn.datasets import make_ising
    >>> X, y = make_ising(3, size=4, random_state=0)
    >>> X.shape, y.shape
    ((3, 4, 4), (3,))
    """
    if size < 2 or size % 2:
        raise ValueError(
            f"size={size} must be an even number >= 2 for checkerboard updates "
            "with periodic boundaries."
        )
    if n_dims not in (1, 2, 3):
        raise ValueError(f"n_dims={n_dims} must be 1, 2 or 3.")
    if n_samples < 1 or n_sweeps < 0:
        raise ValueError(
            f"n_samples={n_samples} must be >= 1 and n_sweeps={n_sweeps} >= 0."
        )
    if algorithm not in _SAMPLERS:
        raise ValueError(f"algorithm={algorithm!r} must be one of {sorted(_SAMPLERS)}.")
    sample = _sample_ising
    if cache_dir is not None:
        if not isinstance(random_state, numbers.Integral):
            raise ValueError(
                f"cache_dir needs an int random_state to be reproducible, got "
                f"random_state={random_state!r}."
            )
        sample = Memory(cache_dir, verbose=0).cache(_sample_ising, ignore=["verbose"])
    if temperature is not None:
        temperature = np.asarray(temperature, dtype=np.float64)
    spins, y, T = sample(
        n_samples,
        size,
        n_dims,
        tuple(temperature_range),
        temperature,
        J,
        n_sweeps,
        algorithm,
        verbose,
        random_state,
    )
    return (spins, y, T) if return_temperature else (spins, y)
