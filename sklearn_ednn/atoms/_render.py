"""Eq. (2) of Mills et al. on a periodic pixel grid, with numpy and scipy.

``V(r) = sum_i Z_i exp(-|r - r_i|^2 / (2 gamma^2))``, summed over periodic
images. The Gaussian is separable, ``exp(-|d|^2 / 2g^2) = prod_a exp(-d_a^2 /
2g^2)``, and truncated per axis at ``cutoff * gamma``, so each atom touches a
small box of pixels. With numba installed a compiled kernel adds each box in
place (:mod:`._compiled`). Without it the image is built in stripes along the
last axis: for a stripe of ``R`` columns, a sparse ``(pixels per column,
n_atoms)`` matrix of the other axes' factors times a dense ``(n_atoms, R)``
matrix of last-axis factors gives the stripe in one scipy product, with no
per-atom Python loop. Both paths give the same image to float round-off.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy import sparse

from ._compiled import draw_plane, draw_rows, gaussian_factors, wrapped_windows
from ._grid import (
    check_atoms,
    check_render_parameters,
    kernel_windows,
    window_width,
)

# Columns per stripe: enough atoms per product to amortise the Python loop,
# few enough that the dense last-axis factor stays mostly non-zero.
_MIN_STRIPE_COLUMNS = 32
# Rows per band when ordering atoms for the compiled kernel.
_BAND_ROWS = 16


def gaussian_windows(coordinates, length, spacing, gamma, cutoff, dtype=np.float64):
    """Window starts and truncated Gaussian factors along one axis.

    The offsets are found in float64 and the factors stored in ``dtype``;
    with numba one compiled loop does it all (:mod:`._compiled`).
    """
    if gaussian_factors is not None:
        width = window_width(spacing, gamma, cutoff)
        factor = np.empty((len(coordinates), width), dtype=dtype)
        start = gaussian_factors(
            np.asarray(coordinates, dtype=np.float64),
            float(length),
            float(spacing),
            float(gamma),
            float(cutoff),
            width,
            factor,
        )
        return start, factor
    start, offsets, inside = kernel_windows(coordinates, length, spacing, gamma, cutoff)
    return start, gaussian_factor(offsets, inside, gamma, dtype)


def gaussian_factor(offsets, inside, gamma, dtype=np.float64):
    """The truncated Gaussian at ``offsets`` from :func:`kernel_windows`.

    ``exp(-offsets**2 / 2 gamma**2)`` where ``inside``, 0 elsewhere, in
    ``dtype``.
    """
    scaled = (offsets * (1 / (np.sqrt(2) * gamma))).astype(dtype, copy=False)
    factor = np.exp(-(scaled * scaled))
    factor[~inside] = 0
    return factor


def _axis_pixels(start, width, n_pixels):
    """Pixel indices of each window along one axis, wrapped into the cell."""
    if wrapped_windows is not None:
        return wrapped_windows(start, width, n_pixels)
    return np.mod(start[:, None] + np.arange(width), n_pixels)


def _leading_axes_factor(
    positions, weights, lengths, shape, spacing, gamma, cutoff, dtype=np.float64
):
    """Weight times the factors of all axes but the last, as flat pixel windows.

    Returns ``(pixels, values)``, both of shape ``(n_atoms, window**(d-1))``:
    flat indices into the leading axes (row-major) and the matching values
    (in ``dtype``).
    """
    n_atoms = len(weights)
    for axis in range(len(shape) - 1):
        start, factor = gaussian_windows(
            positions[:, axis], lengths[axis], spacing[axis], gamma, cutoff, dtype
        )
        axis_pixels = _axis_pixels(start, factor.shape[1], shape[axis])
        if axis == 0:
            pixels, values = axis_pixels, factor * weights[:, None].astype(dtype)
            continue
        pixels = (pixels[:, :, None] * shape[axis] + axis_pixels[:, None, :]).reshape(
            n_atoms, -1
        )
        values = (values[:, :, None] * factor[:, None, :]).reshape(n_atoms, -1)
    return pixels, values


def _deposit(out, positions, weights, lengths, spacing, gamma, cutoff, n_jobs=None):
    """Overwrite ``out`` (shape = grid shape) with one channel's atoms.

    The compiled kernel of :mod:`._compiled` draws when numba is installed,
    the scipy stripes of :func:`_deposit_stripes` otherwise; both give the
    same image to float round-off.
    """
    if draw_rows is None or len(weights) == 0:
        out[...] = 0
        _deposit_stripes(
            out, positions, weights, lengths, spacing, gamma, cutoff, n_jobs
        )
        return
    shape = out.shape
    # Atoms in bands of rows, each band in column order, so that consecutive
    # windows overlap and share cache lines.
    wrapped = np.mod(positions, lengths)
    band = np.floor(wrapped[:, 0] / (_BAND_ROWS * spacing[0]))
    order = np.argsort(band * (lengths[-1] + 1) + wrapped[:, -1], kind="stable")
    positions, weights = positions[order], weights[order]
    flat_out = out.reshape(-1, shape[-1])
    if len(shape) == 2:
        draw = draw_plane
        arrays = (
            positions,
            weights.astype(out.dtype),
            np.asarray(lengths, dtype=np.float64),
            np.asarray(spacing, dtype=np.float64),
            float(gamma),
            float(cutoff),
        )
    else:
        draw = draw_rows
        start, last = gaussian_windows(
            positions[:, -1], lengths[-1], spacing[-1], gamma, cutoff, out.dtype
        )
        pixels, values = _leading_axes_factor(
            positions, weights, lengths, shape, spacing, gamma, cutoff, out.dtype
        )
        arrays = (pixels, values, start, last)
    n_rows = flat_out.shape[0]
    n_threads = min(effective_n_jobs(n_jobs), n_rows)
    if n_threads == 1:
        draw(flat_out, *arrays, 0, n_rows)
        return
    # Each band of rows is written by one thread only; numba releases the GIL.
    # A plain thread pool: joblib's start-up costs as much as a band here.
    edges = np.linspace(0, n_rows, n_threads + 1).astype(int)
    with ThreadPoolExecutor(n_threads) as pool:
        bands = [
            pool.submit(draw, flat_out, *arrays, lo, hi)
            for lo, hi in zip(edges[:-1], edges[1:])
        ]
        for band in bands:
            band.result()


def _deposit_stripes(
    out, positions, weights, lengths, spacing, gamma, cutoff, n_jobs=None
):
    """Add one channel's atoms to ``out`` (shape = grid shape), in place.

    Stripes run along the last axis: a stripe of columns ``[c, c + R)`` is
    ``A @ F``, with ``A`` the sparse (leading pixels, atoms) matrix of
    leading-axes factors and ``F`` the dense (atoms, R) last-axis factors of
    the atoms whose window meets the stripe. scipy writes the product in the
    image's own layout, so it is added to ``out`` without a transpose.
    """
    if len(weights) == 0:
        return
    shape = out.shape
    start, last = gaussian_windows(
        positions[:, -1], lengths[-1], spacing[-1], gamma, cutoff, out.dtype
    )
    order = np.argsort(start, kind="stable")
    start, last = start[order], last[order]
    pixels, values = _leading_axes_factor(
        positions[order],
        weights[order],
        lengths,
        shape,
        spacing,
        gamma,
        cutoff,
        out.dtype,
    )
    n_leading, per_atom = int(np.prod(shape[:-1])), pixels.shape[1]
    width, n_columns = last.shape[1], shape[-1]
    # Distinct columns within a stripe (R <= n_columns) make the in-place add
    # below exact even when a window wraps around a small cell.
    columns = min(n_columns, max(_MIN_STRIPE_COLUMNS, 2 * width))
    flat_out = out.reshape(n_leading, n_columns)
    stripes = list(range(start[0], start[-1] + width, columns))

    def draw(stripe):
        # Atoms whose window [start, start + width) meets the stripe.
        lo = np.searchsorted(start, stripe - width + 1)
        hi = np.searchsorted(start, stripe + columns)
        if hi == lo:
            return
        leading = sparse.csc_matrix(
            (
                values[lo:hi].ravel(),
                pixels[lo:hi].ravel(),
                np.arange(0, (hi - lo) * per_atom + 1, per_atom),
            ),
            shape=(n_leading, hi - lo),
        )
        local = start[lo:hi, None] + np.arange(width) - stripe
        keep = (local >= 0) & (local < columns)
        factor = np.zeros((hi - lo, columns), dtype=out.dtype)
        factor[np.nonzero(keep)[0], local[keep]] = last[lo:hi][keep]
        block = leading @ factor
        if 0 <= stripe and stripe + columns <= n_columns:
            flat_out[:, stripe : stripe + columns] += block
        else:
            flat_out[:, np.mod(np.arange(stripe, stripe + columns), n_columns)] += block

    n_threads = effective_n_jobs(n_jobs)
    if n_threads == 1 or len(stripes) < 4 * n_threads + 4:
        for stripe in stripes:
            draw(stripe)
        return
    # Each stripe writes only its own columns, so stripes may run at once
    # unless they meet modulo the cell: only the two at each end of the
    # unwrapped range can (they span at most n_columns + width). Draw the
    # middle ones in threads (scipy and numpy release the GIL), the ends after.
    middle = np.array_split(np.array(stripes[2:-2]), n_threads)
    Parallel(n_jobs=n_threads, prefer="threads")(
        delayed(lambda group: [draw(stripe) for stripe in group])(group)
        for group in middle
    )
    for stripe in stripes[:2] + stripes[-2:]:
        draw(stripe)


def render_image(
    positions,
    numbers,
    cell,
    *,
    resolution,
    gamma=0.2,
    n_dims=2,
    species=None,
    cutoff=4.0,
    dtype=np.float32,
    out=None,
    n_jobs=None,
):
    """The image of eq. (2) for one periodic structure, on a fixed-spacing grid.

    Parameters
    ----------
    positions : array-like of shape (n_atoms, 3)
        Cartesian positions in Angstrom.
    numbers : array-like of shape (n_atoms,)
        Atomic numbers ``Z_i``, the weight of each atom's Gaussian.
    cell : array-like of shape (3, 3) or (3,)
        Cell vectors as rows (or their lengths). The first ``n_dims`` must lie
        along the Cartesian axes: the cell is orthorhombic in the image plane.
    resolution : float or sequence of float
        Pixel spacing in Angstrom, one for all axes or one per axis. Each cell
        length must be a whole number of pixels.
    gamma : float, default=0.2
        Width of each atom's Gaussian, in Angstrom (the paper's 0.2).
    n_dims : {2, 3}, default=2
        2 projects the atoms onto the xy plane (for sheets); 3 renders a
        volume.
    species : sequence of int, default=None
        One image channel per atomic number listed, each holding only those
        atoms (still weighted by ``Z``, so the channels sum to the
        single-channel image). None gives one channel of all atoms; atoms of
        an unlisted species are an error.
    cutoff : float, default=4.0
        Each Gaussian is cut off at ``cutoff * gamma`` along each axis.
    dtype : numpy dtype, default=numpy.float32
        Data type of the image.
    out : ndarray, default=None
        A C-contiguous array of the image's shape to overwrite with the image
        (its dtype is used). Reusing one saves the allocation, which for large
        images costs as much as drawing them: the operating system zeroes
        every new page on first touch.
    n_jobs : int, default=None
        Threads drawing stripes of a large image at once (joblib semantics:
        None is 1, -1 all cores).

    Returns
    -------
    image : ndarray of shape (N1, ..., N_n_dims) or (N1, ..., N_n_dims, n_species)
        ``image[j1, j2, ...]`` is V at ``(j1 * s1, j2 * s2, ...)``, with ``Na``
        the cell length over the spacing ``sa``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ednn.atoms import render_image
    >>> image = render_image([[1.0, 1.0, 0.0]], [6], [4.0, 4.0, 10.0], resolution=0.5)
    >>> image.shape, round(float(image[2, 2]), 6)
    ((8, 8), 6.0)
    """
    spacing, lengths, shape = check_render_parameters(
        cell, resolution, gamma, cutoff, n_dims
    )
    positions = np.asarray(positions, dtype=np.float64)
    numbers = check_atoms(positions.shape, numbers)
    positions = positions[:, :n_dims]
    masks = species_masks(numbers, species)
    image_shape = shape if species is None else (*shape, len(masks))
    if out is None:
        out = np.empty(image_shape, dtype=dtype)
    elif out.shape != image_shape or not out.flags.c_contiguous:
        raise ValueError(
            f"out has shape {out.shape} (C-contiguous: {out.flags.c_contiguous}); "
            f"expected a C-contiguous array of shape {image_shape}."
        )
    # One channel at a time, drawn into a contiguous grid.
    channel = out if species is None else np.empty(shape, dtype=out.dtype)
    for index, mask in enumerate(masks):
        _deposit(
            channel,
            positions[mask],
            numbers[mask].astype(np.float64),
            lengths,
            spacing,
            gamma,
            cutoff,
            n_jobs,
        )
        if species is not None:
            out[..., index] = channel
    return out


def species_masks(numbers, species):
    """One boolean mask over the atoms per channel."""
    if species is None:
        return [np.ones(len(numbers), dtype=bool)]
    species = [int(z) for z in species]
    unknown = np.setdiff1d(numbers, species)
    if unknown.size:
        raise ValueError(
            f"atoms with atomic numbers {unknown.tolist()} are not in "
            f"species={species}; list every species present, one channel each."
        )
    return [numbers == z for z in species]
