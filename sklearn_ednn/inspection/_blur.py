"""Blur part of every tile and see what the prediction loses (paper figure 6).

If an EDNN has learned to ignore its context, blurring the rim of every tile
(context only) hardly changes the prediction, because what the rim holds is
also the focus of a neighbouring tile; blurring a centred square of the focus
of the same area does. :func:`tile_region_mask` builds the two regions and
:func:`predict_blurred` predicts with one of them blurred.
"""

import numpy as np
from scipy import ndimage

from .._tiling import tile_shape

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
    shape = tile_shape(tuple(map(int, focus)), tuple(map(int, context)))
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


def predict_blurred(model, X, mask, *, sigma=2.0, batch_size=None):
    """Predict with the pixels under ``mask`` blurred in every tile.

    Each tile is cut as at prediction time (the model's own tiling and
    batching, with ``batch_size`` tiles at a time), blurred as a whole with a
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
    batch_size : int, default=None
        Largest number of tiles blurred and scored at a time (bounds
        memory); None uses the model's ``tile_batch_size``.

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
    tiling = model.tiling_
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != tiling.tile_shape:
        raise ValueError(
            f"mask has shape {mask.shape}; this model's tiles are {tiling.tile_shape}."
        )
    if tiling.n_outputs != 1:
        raise ValueError("predict_blurred needs a single-output model.")
    grids = tiling.as_grids(X)
    # The model's own tiling and batching, with the tiles blurred on the way.
    scorer = BlurredTileScorer(tiling.score_tiles, mask, sigma)
    raw = tiling.scores(grids, reduce=True, scorer=scorer, max_tiles=batch_size)
    return tiling.to_target(raw, tiling.n_tiles(grids.shape[1:-1]))[:, 0]


class BlurredTileScorer:
    """A tile scorer that blurs a region of every tile before scoring it.

    Parameters
    ----------
    scorer : callable
        The model's tile scorer, tiles ``(n, C, w1, ..., wd)`` to scores.
    mask : ndarray of bool of shape (w1, ..., wd)
        Region to blur.
    sigma : float
        Gaussian width in pixels, along the spatial axes only.
    """

    def __init__(self, scorer, mask, sigma):
        self.scorer = scorer
        self.mask = mask
        self.sigma = sigma

    def __call__(self, tiles):
        """Scores of ``tiles`` with the masked region blurred."""
        tiles = np.asarray(tiles, dtype=np.float64)
        sigmas = (0, 0) + (self.sigma,) * self.mask.ndim
        blurred = ndimage.gaussian_filter(tiles, sigmas, mode="nearest")
        return self.scorer(np.where(self.mask, blurred, tiles))
