"""Eq. (2) of Mills et al. on a periodic pixel grid, with numpy and scipy.

``V(r) = sum_i Z_i exp(-|r - r_i|^2 / (2 gamma^2))``, summed over periodic
images. The Gaussian is separable, ``exp(-|d|^2 / 2g^2) = prod_a exp(-d_a^2 /
2g^2)``, and truncated per axis at ``cutoff * gamma``, so each atom touches a
small box of pixels. The image is built in stripes along the first axis: for a
stripe of ``R`` rows, a dense ``(R, n_atoms)`` matrix of first-axis factors
times a sparse ``(n_atoms, pixels per row)`` matrix of the other axes' factors
gives the stripe in one scipy product, with no per-atom Python loop.
"""

import numpy as np
from scipy import sparse

from ._grid import check_render_parameters, kernel_windows

# Rows per stripe: enough atoms per product to amortise the Python loop,
# few enough that the dense first-axis factor stays mostly non-zero.
_MIN_STRIPE_ROWS = 32


def gaussian_windows(coordinates, length, spacing, gamma, cutoff):
    """Window starts and truncated Gaussian factors along one axis."""
    start, offsets, inside = kernel_windows(coordinates, length, spacing, gamma, cutoff)
    return start, np.where(inside, np.exp(-(offsets**2) / (2 * gamma**2)), 0.0)


def _other_axes_factor(positions, weights, lengths, shape, spacing, gamma, cutoff):
    """Sparse (n_atoms, prod(shape[1:])) matrix: weight times axes 1.. factors."""
    n_atoms = len(weights)
    columns = np.zeros((n_atoms, 1), dtype=np.int64)
    values = weights[:, None].astype(np.float64)
    for axis in range(1, len(shape)):
        start, factor = gaussian_windows(
            positions[:, axis], lengths[axis], spacing[axis], gamma, cutoff
        )
        pixels = np.mod(start[:, None] + np.arange(factor.shape[1]), shape[axis])
        columns = (columns[:, :, None] * shape[axis] + pixels[:, None, :]).reshape(
            n_atoms, -1
        )
        values = (values[:, :, None] * factor[:, None, :]).reshape(n_atoms, -1)
    width = columns.shape[1]
    return sparse.csr_matrix(
        (values.ravel(), columns.ravel(), np.arange(0, n_atoms * width + 1, width)),
        shape=(n_atoms, int(np.prod(shape[1:]))),
    )


def _deposit(out, positions, weights, lengths, spacing, gamma, cutoff):
    """Add one channel's atoms to ``out`` (shape = grid shape), in place."""
    if len(weights) == 0:
        return
    shape = out.shape
    rest = _other_axes_factor(
        positions, weights, lengths, shape, spacing, gamma, cutoff
    ).astype(out.dtype)
    start, first = gaussian_windows(
        positions[:, 0], lengths[0], spacing[0], gamma, cutoff
    )
    first = first.astype(out.dtype)
    width = first.shape[1]
    # Distinct rows within a stripe (rows <= shape[0]) make the in-place
    # add below exact even when a window wraps around a small cell.
    rows = min(shape[0], max(_MIN_STRIPE_ROWS, 2 * width))
    order = np.argsort(start, kind="stable")
    sorted_start = start[order]
    flat_out = out.reshape(shape[0], -1)
    for stripe in range(sorted_start[0], sorted_start[-1] + width, rows):
        # Atoms whose window [start, start + width) meets [stripe, stripe + rows).
        lo = np.searchsorted(sorted_start, stripe - width + 1)
        hi = np.searchsorted(sorted_start, stripe + rows)
        if hi == lo:
            continue
        atoms = order[lo:hi]
        local = start[atoms, None] + np.arange(width) - stripe
        keep = (local >= 0) & (local < rows)
        dense = np.zeros((len(atoms), rows), dtype=out.dtype)
        dense[np.nonzero(keep)[0], local[keep]] = first[atoms][keep]
        # (rest.T @ dense) is (pixels per row, rows): scipy's sparse @ dense.
        block = (rest[atoms].T @ dense).T
        flat_out[np.mod(np.arange(stripe, stripe + rows), shape[0])] += block


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
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)[:, :n_dims]
    numbers = np.asarray(numbers).reshape(-1)
    if len(numbers) != len(positions):
        raise ValueError(
            f"{len(positions)} positions but {len(numbers)} atomic numbers."
        )
    masks = species_masks(numbers, species)
    image = np.zeros((len(masks), *shape), dtype=dtype)
    for channel, mask in zip(image, masks):
        _deposit(
            channel,
            positions[mask],
            numbers[mask].astype(np.float64),
            lengths,
            spacing,
            gamma,
            cutoff,
        )
    return image[0] if species is None else np.moveaxis(image, 0, -1)


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
