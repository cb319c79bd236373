"""Ising configurations from vectorised checkerboard Metropolis, with exact energies."""

import numpy as np
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

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


def make_ising(
    n_samples=1000,
    *,
    size=8,
    n_dims=2,
    temperature_range=(1.0, 4.0),
    temperature=None,
    J=1.0,
    n_sweeps=100,
    return_temperature=False,
    verbose=False,
    random_state=None,
):
    """Ising configurations sampled by Metropolis over a range of temperatures.

    All lattices are updated at once: each sweep flips the two checkerboard
    sublattices in turn with the Metropolis rule, vectorised over lattices and
    sites, from random (infinite-temperature) starts. Energies are exact.

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
        Metropolis sweeps (each site offered a flip once per sweep).
    return_temperature : bool, default=False
        If True, also return each configuration's temperature.
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
    rng = check_random_state(random_state)
    if temperature is None:
        low, high = temperature_range
        T = rng.uniform(low, high, size=n_samples)
    else:
        T = np.broadcast_to(np.asarray(temperature, dtype=np.float64), (n_samples,))
        T = T.copy()
    if not np.all(T > 0):
        raise ValueError(f"temperatures must be positive, got minimum {T.min()}.")

    shape = (size,) * n_dims
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_samples,) + shape)
    beta = (1.0 / T).reshape((-1,) + (1,) * n_dims)
    sublattices = _checkerboard(shape)
    for _ in tqdm(range(n_sweeps), disable=not verbose, desc="Metropolis sweeps"):
        for sublattice in sublattices:
            field = sum(
                np.roll(spins, shift, axis=axis)
                for axis in range(1, n_dims + 1)
                for shift in (1, -1)
            )
            delta = 2.0 * J * spins * field
            accept = rng.random_sample(spins.shape) < np.exp(-beta * delta)
            spins[accept & sublattice] *= -1
    y = ising_energy(spins, J=J)
    return (spins, y, T) if return_temperature else (spins, y)
