"""Effective pair couplings of a fitted EDNN energy, by exact probing."""

import itertools
import math

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["effective_couplings"]


def effective_couplings(model, *, background=1.0, spin_values=(1.0, -1.0)):
    """Read a fitted EDNN energy as couplings, one per displacement of two sites.

    For every displacement ``d`` between two sites that can share a tile, the
    coupling is the mixed second difference of the model's total prediction
    ``E`` when the two spins ``a`` and ``b = a + d`` are flipped on a uniform
    background::

        J(d) = -(E(+,+) - E(+,-) - E(-,+) + E(-,-)) / (s+ - s-)^2

    with the sign of the Ising convention ``E = -sum J s_a s_b``. It probes the
    whole model, so it sums every tile position in which the pair appears, and
    it is exact for any energy that is a sum of one- and two-site terms, such as
    ``make_pipeline(PolynomialFeatures(2), Ridge())`` as the tile model. For
    other models it is the coupling on the given background.

    Parameters
    ----------
    model : EDNNRegressor
        A fitted single-output, single-channel EDNN.
    background : float, default=1.0
        Value of every other site of the probe grid.
    spin_values : tuple of (float, float), default=(1.0, -1.0)
        The two values ``(s+, s-)`` a site takes.

    Returns
    -------
    couplings : dict of tuple of int to float
        ``couplings[d]`` for each displacement ``d`` (one per spatial axis),
        with ``d`` and ``-d`` counted once (the first non-zero entry of ``d`` is
        positive) and every ``|d_i| <= f_i + 2 c_i - 1``.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import PolynomialFeatures
    >>> from sklearn_ednn import EDNNRegressor
    >>> from sklearn_ednn.datasets import make_ising
    >>> from sklearn_ednn.inspection import effective_couplings
    >>> X, y = make_ising(300, size=6, random_state=0)
    >>> tile_model = make_pipeline(PolynomialFeatures(2), Ridge(alpha=1e-8))
    >>> model = EDNNRegressor(tile_model, f=1, c=1).fit(X, y)
    >>> couplings = effective_couplings(model)
    >>> round(couplings[(0, 1)], 6), round(couplings[(1, 0)], 6)
    (1.0, 1.0)
    >>> round(abs(couplings[(1, 1)]), 6)
    0.0
    """
    check_is_fitted(model)
    if model.n_outputs_ != 1 or model.n_channels_ != 1:
        raise ValueError(
            "effective_couplings needs a model with one output and one channel; "
            f"this one has {model.n_outputs_} outputs and {model.n_channels_} "
            "channels."
        )
    tiling = model.tiling_
    window = tiling.tile_shape
    # A probe grid wide enough that no displacement meets its periodic image.
    shape = tuple(f * math.ceil((2 * w + 1) / f) for f, w in zip(tiling.focus, window))
    up, down = spin_values
    displacements = [
        d
        for d in itertools.product(*(range(-(w - 1), w) for w in window))
        if any(d) and next(v for v in d if v) > 0
    ]
    origin = tuple(n // 2 for n in shape)
    probes = np.full((len(displacements), 4) + shape, float(background))
    for i, d in enumerate(displacements):
        other = tuple((o + v) % n for o, v, n in zip(origin, d, shape))
        for j, (value_a, value_b) in enumerate(itertools.product((up, down), repeat=2)):
            probes[(i, j) + origin] = value_a
            probes[(i, j) + other] = value_b
    energies = model.predict(probes.reshape((-1,) + shape)).reshape(-1, 4)
    mixed = energies[:, 0] - energies[:, 1] - energies[:, 2] + energies[:, 3]
    couplings = -mixed / (up - down) ** 2
    return {d: float(value) for d, value in zip(displacements, couplings)}
