"""The pixel grid of a periodic cell: its shape, and each atom's kernel window.

Shared by the numpy and torch renderers, so that both put the same Gaussian
values on the same pixels. Pixel ``j`` of axis ``a`` sits at ``j * spacing[a]``;
a cell of length ``L`` at spacing ``s`` must hold a whole number ``L / s`` of
pixels, which is what lets a model fitted on small cells read larger ones.
"""

import numbers

import numpy as np

# How far a cell length may be from a whole number of pixels, in pixels:
# floating-point noise, not a physical tolerance.
_PIXEL_TOLERANCE = 1e-6


def check_spacing(resolution, n_dims):
    """Per-axis pixel spacing, in Angstrom, from a float or a sequence."""
    if isinstance(resolution, numbers.Real):
        spacing = (float(resolution),) * n_dims
    else:
        spacing = tuple(float(r) for r in resolution)
        if len(spacing) != n_dims:
            raise ValueError(
                f"resolution={resolution!r} has {len(spacing)} entries; expected "
                f"one number or {n_dims}, one per axis of the {n_dims}-D image."
            )
    if not all(np.isfinite(s) and s > 0 for s in spacing):
        raise ValueError(
            f"resolution={resolution!r} must be positive: Angstrom per pixel."
        )
    return spacing


def cell_lengths(cell, n_dims):
    """Lengths of an orthorhombic cell's first ``n_dims`` axes.

    The image axes follow x, y (and z): the cell must be a diagonal matrix in
    those axes, so that each pixel axis is one periodic direction.
    """
    cell = np.asarray(cell, dtype=np.float64)
    if cell.shape == (3,):
        cell = np.diag(cell)
    if cell.shape != (3, 3):
        raise ValueError(
            f"cell has shape {cell.shape}; expected a 3x3 matrix or 3 lengths."
        )
    block = cell[:n_dims, :n_dims]
    lengths = np.diag(block).copy()
    off_diagonal = block - np.diag(lengths)
    couples_plane = cell[:n_dims, n_dims:] if n_dims < 3 else np.zeros(1)
    scale = np.abs(lengths).max(initial=0.0)
    if (
        not (lengths > 0).all()
        or np.abs(off_diagonal).max(initial=0.0) > 1e-9 * scale
        or np.abs(couples_plane).max(initial=0.0) > 1e-9 * scale
    ):
        raise ValueError(
            f"the cell must be orthorhombic with its first {n_dims} vectors along "
            f"the first {n_dims} Cartesian axes (a diagonal matrix there); got "
            f"{cell.tolist()}. Rotate or re-cut the structure, e.g. with "
            f"ase.build.make_supercell, to a rectangular cell."
        )
    return lengths


def grid_shape(lengths, spacing):
    """Number of pixels per axis; an error when a length is not a whole number."""
    pixels = np.asarray(lengths) / np.asarray(spacing)
    shape = np.rint(pixels).astype(np.int64)
    bad = (np.abs(pixels - shape) > _PIXEL_TOLERANCE) | (shape < 1)
    if bad.any():
        axis = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"cell axis {axis} is {lengths[axis]:.10g} Angstrom long, which is "
            f"{pixels[axis]:.6f} pixels of {spacing[axis]:.10g} Angstrom: not a "
            f"whole number. Choose a resolution that divides the cell (for "
            f"example cell length / number of pixels), or a cell that is a "
            f"whole number of pixels long."
        )
    return tuple(int(n) for n in shape)


def window_width(spacing, gamma, cutoff):
    """Pixels per axis in every atom's window: ``cutoff * gamma`` either side.

    ``2 ceil(cutoff gamma / spacing) + 2``: enough for any sub-pixel position.
    """
    return 2 * int(np.ceil(cutoff * gamma / spacing)) + 2


def kernel_windows(coordinates, length, spacing, gamma, cutoff):
    """Each atom's window of pixels along one axis and its Gaussian factor.

    Parameters
    ----------
    coordinates : ndarray of shape (n_atoms,)
        Atom coordinates along the axis, in Angstrom (any real value; the axis
        is periodic with period ``length``).
    length, spacing : float
        Cell length and pixel spacing along the axis.
    gamma, cutoff : float
        Gaussian width and truncation radius in units of ``gamma``.

    Returns
    -------
    start : ndarray of int of shape (n_atoms,)
        First pixel of each window, unwrapped (it may be negative or past the
        end; take it modulo the number of pixels).
    offsets : ndarray of shape (n_atoms, width)
        Pixel position minus atom position across each window, in Angstrom.
    inside : ndarray of bool of shape (n_atoms, width)
        Whether each pixel lies within the cutoff (the kernel is zero
        elsewhere).
    """
    wrapped = np.mod(coordinates, length)
    radius = cutoff * gamma
    width = window_width(spacing, gamma, cutoff)
    start = np.floor(wrapped / spacing).astype(np.int64) - (width - 2) // 2
    steps = np.arange(width)
    offsets = (start[:, None] + steps) * spacing - wrapped[:, None]
    return start, offsets, np.abs(offsets) <= radius


def check_render_parameters(cell, resolution, gamma, cutoff, n_dims):
    """Validate the image parameters; return spacing, cell lengths, grid shape."""
    if n_dims not in (2, 3):
        raise ValueError(f"n_dims={n_dims!r} must be 2 (a sheet) or 3 (a volume).")
    if not (np.isfinite(gamma) and gamma > 0 and np.isfinite(cutoff) and cutoff > 0):
        raise ValueError(
            f"gamma={gamma!r} and cutoff={cutoff!r} must both be positive."
        )
    spacing = check_spacing(resolution, n_dims)
    lengths = cell_lengths(cell, n_dims)
    return spacing, lengths, grid_shape(lengths, spacing)


def check_atoms(positions_shape, numbers):
    """Atomic numbers as a flat array, checked against the positions' shape."""
    numbers = np.asarray(numbers).reshape(-1)
    if (
        len(positions_shape) != 2
        or positions_shape[1] != 3
        or positions_shape[0] != len(numbers)
    ):
        raise ValueError(
            f"positions must have shape (n_atoms, 3) with one atomic number per "
            f"atom; got {tuple(positions_shape)} and {len(numbers)} numbers."
        )
    return numbers


def periodic_window(sorted_coordinates, start, stop, length):
    """Indices of the sorted coordinates in ``[start, stop)`` modulo ``length``.

    ``sorted_coordinates`` lie in ``[0, length)``, sorted; the window may
    reach past either end of the cell but must be shorter than it, so every
    index appears once. Found by binary search: no pass over all atoms.
    """
    runs = [
        np.searchsorted(sorted_coordinates, (start + shift, stop + shift))
        for shift in (-length, 0.0, length)
    ]
    return np.concatenate([np.arange(lo, hi) for lo, hi in runs])
