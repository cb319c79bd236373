"""The Metropolis acceptance rule, written once for every sampler of the package."""

import numpy as np

__all__ = ["metropolis_accept"]


def metropolis_accept(changes, beta, rng):
    """Accept each move with probability ``min(1, exp(-beta * change))``.

    Parameters
    ----------
    changes : ndarray
        Energy change of each proposed move.
    beta : float or ndarray
        Inverse temperature, broadcast against ``changes``.
    rng : numpy.random.RandomState
        Draws one uniform number per move, accepted or not, so that a chain's
        random stream does not depend on its energies.

    Returns
    -------
    accepted : ndarray of bool
        Of the shape of ``changes``.
    """
    changes = np.asarray(changes, dtype=np.float64)
    return rng.random_sample(changes.shape) < np.exp(-beta * np.maximum(changes, 0.0))
