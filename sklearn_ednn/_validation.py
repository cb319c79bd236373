"""Input validation shared by the tiling and the estimators."""

from numbers import Integral

import numpy as np

from ._sklearn_compat import _check_sample_weight


def check_per_axis(value, name, n_spatial, *, minimum):
    """Return ``value`` as a tuple with one integer per spatial axis.

    Parameters
    ----------
    value : int or sequence of int
        An integer applies to every axis; a sequence gives one value per axis.
    name : str
        Parameter name used in error messages (``"f"`` or ``"c"``).
    n_spatial : int
        Number of spatial axes of the grids.
    minimum : int
        Smallest allowed value.

    Returns
    -------
    per_axis : tuple of int
        One value per spatial axis.
    """
    values = value if isinstance(value, (tuple, list)) else (value,) * n_spatial
    if len(values) != n_spatial:
        raise ValueError(
            f"{name}={value!r} gives {len(values)} values, but the grids have "
            f"{n_spatial} spatial axes; pass an int or one value per axis."
        )
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, Integral):
            raise TypeError(
                f"{name}={value!r} must be an int or a tuple of ints, "
                f"got {type(v).__name__} {v!r}."
            )
        if v < minimum:
            raise ValueError(f"{name}={value!r} must be >= {minimum} on every axis.")
    return tuple(int(v) for v in values)


def spatial_ndim(X_ndim, channels):
    """Number of spatial axes of a batch of grids with ``X_ndim`` dimensions."""
    n_spatial = X_ndim - 1 - int(bool(channels))
    if n_spatial < 1:
        needed = 3 if channels else 2
        layout = "(n_samples, *grid, n_channels)" if channels else "(n_samples, *grid)"
        raise ValueError(
            f"X has {X_ndim} dimension(s), but at least {needed} are needed: "
            f"X must be {layout} with at least one spatial axis."
        )
    return n_spatial


def check_grid_shape(grid_shape, focus):
    """Raise a ValueError unless every grid axis is a multiple of its focus."""
    for axis, (length, f) in enumerate(zip(grid_shape, focus)):
        if length < 1 or length % f:
            raise ValueError(
                f"grid axis {axis} has length {length}, which is not a positive "
                f"multiple of f={f}."
            )


def check_sample_weight(sample_weight, X):
    """Validate the weights of :meth:`EDNNRegressor.fit`.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        One finite, non-negative weight per training grid, not all zero.
    X : ndarray of shape (n_samples, ...)
        The training grids.

    Returns
    -------
    weight : ndarray of shape (n_samples,) or None
        The weights as a new float64 array; None stays None.
    """
    if sample_weight is None:
        return None
    return _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
    )


def check_training_input(X, y):
    """Refuse grids of several shapes and non-numeric targets, saying what to do.

    scikit-learn's own checks would report these as a ragged array or a
    failed float conversion; an EDNN's user needs the rule and the way out.
    """
    if isinstance(X, (list, tuple)) and len(X) > 1:
        shapes = {np.shape(grid) for grid in X}
        if len(shapes) > 1:
            listed = ", ".join(str(shape) for shape in sorted(shapes)[:4])
            raise ValueError(
                f"X holds grids of {len(shapes)} shapes ({listed}); fit takes grids "
                "of one shape. Fit on one size (a fitted EDNN predicts grids of "
                "every size), or repeat the smaller periodic grids with np.tile, "
                "which keeps their energy per site."
            )
    values = np.asarray(y)
    if values.dtype.kind in "OUSV":
        try:
            values.astype(np.float64)
        except (TypeError, ValueError):
            example = values.reshape(-1)[0] if values.size else None
            raise ValueError(
                f"y holds {values.dtype} values such as {str(example)!r}; an EDNN fits "
                "numeric extensive targets (an energy or a count per grid)."
            ) from None


def first_non_finite_row(values):
    """Index of the first row of ``values`` with a NaN or infinity, else None.

    Parameters
    ----------
    values : array-like of shape (n_rows, ...)
        Predictions, energies or forces, one row per sample, replica or atom.

    Returns
    -------
    index : int or None
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    return None if finite.all() else int(np.flatnonzero(~finite)[0])
