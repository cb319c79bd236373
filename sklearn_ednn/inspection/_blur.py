"""Blur part of every tile and see what the prediction loses (paper figure 6).

If an EDNN has learned to ignore its context, blurring the rim of every tile
(context only) hardly changes the prediction, because what the rim holds is
also the focus of a neighbouring tile; blurring a centred square of the focus
of the same area does. :func:`tile_region_mask` builds the two regions and
:func:`predict_blurred` predicts with one of them blurred.
"""

import math

import numpy as np
from scipy import ndimage

from .._tiling import pad_grid, window_view

__all__ = ["predict_blurred", "tile_region_mask"]


def tile_region_mask(focus, context, region, fraction):
    """A boolean mask over one tile: its rim, or a centred square, of an area.

    Parameters
    ----------
    focus, context : tuple of int
        Focus and context per spatial axis, as a fitted EDNN's ``focus_`` and
        ``context_``.
    region : {"rim", "centre"}
        ``"rim"``: every pixel within ``r`` of the tile's edge (the context
        border while ``r <= c``). ``"centre"``: a box of side ``s`` centred on
        the tile (so ``s`` is even when the tile side is even, odd when odd).
    fraction : float
        Target share of the tile's pixels, in (0, 1). ``r`` or ``s`` is the
        whole number of pixels whose area comes closest to it.

    Returns
    -------
    mask : ndarray of bool of shape (w1, ..., wd)
        True on the region, ``wi = fi + 2 ci``. ``mask.mean()`` is the area
        actually covered.

    Examples
    --------
    >>> from sklearn_ednn.inspection import tile_region_mask
    >>> rim = tile_region_mask((2, 2), (1, 1), "rim", 0.5)
    >>> centre = tile_region_mask((2, 2), (1, 1), "centre", 0.5)
    >>> int(rim.sum()), int(centre.sum())
    (12, 4)
    """
    if region not in ("rim", "centre"):
        raise ValueError(f"region={region!r} must be 'rim' or 'centre'.")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction={fraction!r} must lie strictly between 0 and 1.")
    shape = tuple(int(f + 2 * c) for f, c in zip(focus, context))
    grids = np.meshgrid(*(np.arange(w) for w in shape), indexing="ij")
    # Distance of each pixel to the nearest edge, and to the centre, per axis.
    to_edge = np.min([np.minimum(g, w - 1 - g) for g, w in zip(grids, shape)], axis=0)
    to_centre = np.max(
        [np.abs(2 * g - (w - 1)) / 2 for g, w in zip(grids, shape)], axis=0
    )
    if region == "rim":
        candidates = [to_edge < r for r in range(1, min(shape) // 2 + 1)]
    else:
        candidates = [to_centre < s / 2 for s in range(1, min(shape) + 1)]
    areas = np.array([candidate.mean() for candidate in candidates])
    return candidates[int(np.argmin(np.abs(areas - fraction)))]


def predict_blurred(model, X, mask, *, sigma=2.0, batch_size=64):
    """Predict with the pixels under ``mask`` blurred in every tile.

    Each tile is cut as at prediction time, blurred as a whole with a
    Gaussian of width ``sigma`` pixels along the spatial axes, and the blurred
    values replace the original ones where ``mask`` is True. The tile model
    then scores the tiles and the scores are summed, as in
    :meth:`~sklearn_ednn.EDNNRegressor.predict`.

    Parameters
    ----------
    model : EDNNRegressor
        A fitted EDNN (torch or classical tile model), one output.
    X : array-like of shape (n_samples, L1, ..., Ld[, n_channels])
        Grids, as for ``model.predict``.
    mask : ndarray of bool of shape (w1, ..., wd)
        Region of a tile to blur, from :func:`tile_region_mask`.
    sigma : float, default=2.0
        Width of the Gaussian blur, in pixels.
    batch_size : int, default=64
        Grids cut into tiles at a time (bounds memory).

    Returns
    -------
    y_pred : ndarray of shape (n_samples,)
        Predictions on the partly blurred tiles. With an all-False mask they
        equal ``model.predict(X)`` to round-off.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_ednn import EDNNRegressor
    >>> from sklearn_ednn.inspection import predict_blurred, tile_region_mask
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 8, 8))
    >>> y = (X * np.roll(X, 1, axis=1)).sum(axis=(1, 2))
    >>> model = EDNNRegressor(LinearRegression(), f=2, c=1).fit(X, y)
    >>> mask = tile_region_mask(model.focus_, model.context_, "rim", 0.5)
    >>> predict_blurred(model, X, mask).shape
    (20,)
    """
    X_ch = model._check_predict_X(X)
    focus, context = model.focus_, model.context_
    window = tuple(f + 2 * c for f, c in zip(focus, context))
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != window:
        raise ValueError(
            f"mask has shape {mask.shape}; this model's tiles are {window}."
        )
    if model.n_outputs_ != 1:
        raise ValueError("predict_blurred needs a single-output model.")
    scorer = model._tile_scorer()
    d = len(focus)
    n_tiles = math.prod(n // f for n, f in zip(X_ch.shape[1:-1], focus))
    # Blur along the tile's spatial axes only, not across tiles or channels.
    sigmas = (0,) * (d + 2) + (sigma,) * d
    predictions = []
    for first in range(0, len(X_ch), batch_size):
        chunk = np.asarray(X_ch[first : first + batch_size], dtype=np.float64)
        tiles = window_view(
            pad_grid(chunk, focus, context, model.padding), focus, context
        )
        blurred = ndimage.gaussian_filter(tiles, sigmas, mode="nearest")
        tiles = np.where(mask, blurred, tiles)  # (n, T1..Td, C, w1..wd)
        scores = scorer(tiles.reshape(-1, *tiles.shape[d + 1 :]))[:, 0]
        predictions.append(scores.reshape(len(chunk), -1).sum(axis=1))
    raw = np.concatenate(predictions)
    return raw * model.tile_scale_[0] + n_tiles * model.tile_offset_[0]
