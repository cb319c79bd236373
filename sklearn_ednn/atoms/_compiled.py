"""Compiled drawing kernels for eq. (2), used when numba is installed.

The scipy stripes of :mod:`._render` need a new block and a strided add per
stripe, so they move the image through memory about four times; here each
atom's window is added in place, and every band of rows is zeroed by the
thread that draws it. :func:`draw_plane` draws 2-D images and computes each
atom's two windows on the fly (the Gaussian by a recurrence, no exp per
pixel); :func:`draw_rows` draws any image from precomputed windows.
numba is optional (the ``atoms`` extra installs it): without it these names
are None and the numpy and scipy path draws every image.
"""

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised only without numba
    njit = None

__all__ = ["draw_plane", "draw_rows", "gaussian_factors", "wrapped_windows"]


def _add_window(pixel_row, first, value, factors, wraps):
    """``pixel_row[first + j] += value * factors[j]``, columns taken modulo.

    Windows that wrap past the last column (or span a small cell more than
    once) take the modulo per column; the rest a plain, vectorised axpy.
    """
    width, n_columns = factors.shape[0], pixel_row.shape[0]
    if wraps:
        for j in range(width):
            pixel_row[(first + j) % n_columns] += value * factors[j]
    else:
        target = pixel_row[first : first + width]
        for j in range(width):
            target[j] += value * factors[j]


def _draw_rows(out, pixels, values, start, last, lo, hi):
    """Overwrite rows ``[lo, hi)`` of ``out`` with the atoms' windows.

    Parameters
    ----------
    out : ndarray of shape (n_leading, n_columns)
        The image with its leading axes flattened into rows.
    pixels, values : ndarray of shape (n_atoms, per_atom)
        Each atom's flat leading-axes pixels and their factors (weight
        included), from :func:`._render._leading_axes_factor`.
    start : ndarray of int of shape (n_atoms,)
        First column of each atom's last-axis window (unwrapped).
    last : ndarray of shape (n_atoms, width)
        Last-axis factors across each window.
    lo, hi : int
        The rows to draw; other rows are neither read nor written, so bands
        may be drawn by threads at once.
    """
    n_columns, width = out.shape[1], last.shape[1]
    out[lo:hi, :] = 0
    for atom in range(pixels.shape[0]):
        first = start[atom] % n_columns
        factors = last[atom]
        wraps = first + width > n_columns
        for k in range(pixels.shape[1]):
            row = pixels[atom, k]
            value = values[atom, k]
            if row < lo or row >= hi or value == 0:
                continue
            add_window(out[row], first, value, factors, wraps)


def _window_start(coordinate, length, spacing, radius):
    """First pixel (unwrapped) of an atom's window along one axis."""
    return int(np.floor((coordinate % length) / spacing)) - int(
        np.ceil(radius / spacing)
    )


def _window(coordinate, length, spacing, gamma, cutoff, factor):
    """One atom's window along one axis: fill ``factor``, return its start.

    The loop twin of :func:`._grid.kernel_windows` followed by the Gaussian.
    """
    radius = cutoff * gamma
    scale = 1.0 / (2.0 * gamma * gamma)
    first = window_start(coordinate, length, spacing, radius)
    offset = first * spacing - coordinate % length
    # exp(-(o + k h)^2 s) by recurrence: each factor is the last one times
    # ratio_k = exp(-s (2 o h + (2k + 1) h^2)), and ratio_k+1 = ratio_k *
    # exp(-2 s h^2). Exact to round-off; far cheaper than one exp each.
    if 2.0 * abs(offset) * spacing * scale > 600.0:
        # Ratios out of float range (huge pixels, tiny gamma): directly.
        for k in range(factor.shape[0]):
            o = offset + k * spacing
            factor[k] = np.exp(-o * o * scale) if abs(o) <= radius else 0.0
        return first
    value = np.exp(-offset * offset * scale)
    ratio = np.exp(-scale * spacing * (2.0 * offset + spacing))
    step = np.exp(-2.0 * spacing * spacing * scale)
    for k in range(factor.shape[0]):
        factor[k] = value if abs(offset + k * spacing) <= radius else 0.0
        value *= ratio
        ratio *= step
    return first


def _gaussian_factors(coordinates, length, spacing, gamma, cutoff, width, factor):
    """Window starts and truncated Gaussian factors along one axis, in place.

    ``factor`` (n_atoms, width) is filled; the starts are returned.
    """
    start = np.empty(coordinates.shape[0], dtype=np.int64)
    for atom in range(coordinates.shape[0]):
        start[atom] = window(
            coordinates[atom], length, spacing, gamma, cutoff, factor[atom]
        )
    return start


def _draw_plane(out, positions, weights, lengths, spacing, gamma, cutoff, lo, hi):
    """Overwrite rows ``[lo, hi)`` of a 2-D image with the atoms' Gaussians.

    The 2-D case of :func:`_draw_rows` with each atom's two windows computed
    on the fly, so no per-atom arrays are allocated (fresh pages cost more
    than the arithmetic on this scale).
    """
    n_rows, n_columns = out.shape
    out[lo:hi, :] = 0
    radius = cutoff * gamma
    row_factors = np.empty(2 * int(np.ceil(radius / spacing[0])) + 2, out.dtype)
    column_factors = np.empty(2 * int(np.ceil(radius / spacing[1])) + 2, out.dtype)
    width = column_factors.shape[0]
    for atom in range(positions.shape[0]):
        row = window(
            positions[atom, 0], lengths[0], spacing[0], gamma, cutoff, row_factors
        )
        first = window(
            positions[atom, 1], lengths[1], spacing[1], gamma, cutoff, column_factors
        )
        row %= n_rows
        first %= n_columns
        wraps = first + width > n_columns
        for k in range(row_factors.shape[0]):
            value = weights[atom] * row_factors[k]
            if lo <= row < hi and value != 0:
                add_window(out[row], first, value, column_factors, wraps)
            row += 1
            if row == n_rows:
                row = 0


def _wrapped_windows(start, width, n_pixels):
    """``(start[:, None] + arange(width)) % n_pixels``, without a division each."""
    pixels = np.empty((start.shape[0], width), dtype=np.int64)
    for atom in range(start.shape[0]):
        pixel = start[atom] % n_pixels
        for k in range(width):
            pixels[atom, k] = pixel
            pixel += 1
            if pixel == n_pixels:
                pixel = 0
    return pixels


if njit is None:  # pragma: no cover
    draw_rows = draw_plane = gaussian_factors = wrapped_windows = None
else:
    add_window = njit(nogil=True, cache=True)(_add_window)
    window_start = njit(nogil=True, cache=True)(_window_start)
    window = njit(nogil=True, cache=True)(_window)
    draw_rows = njit(nogil=True, cache=True)(_draw_rows)
    draw_plane = njit(nogil=True, cache=True)(_draw_plane)
    gaussian_factors = njit(nogil=True, cache=True)(_gaussian_factors)
    wrapped_windows = njit(nogil=True, cache=True)(_wrapped_windows)
