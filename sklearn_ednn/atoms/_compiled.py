"""A compiled drawing kernel for eq. (2), used when numba is installed.

The scipy stripes of :mod:`._render` need a new block and a strided add per
stripe, so they move the image through memory about four times; here each
atom's window is added in place, and every band of rows is zeroed by the
thread that draws it. numba is optional (the ``atoms`` extra installs it):
without it :func:`draw_rows` is None and the scipy path draws every image.
"""

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised only without numba
    njit = None

__all__ = ["draw_rows"]


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
        # Windows that wrap past the last column (or span a small cell more
        # than once) take the modulo per column; the rest a plain axpy.
        wraps = first + width > n_columns
        for k in range(pixels.shape[1]):
            row = pixels[atom, k]
            value = values[atom, k]
            if row < lo or row >= hi or value == 0:
                continue
            pixel_row = out[row]
            if wraps:
                for j in range(width):
                    pixel_row[(first + j) % n_columns] += value * factors[j]
            else:
                target = pixel_row[first : first + width]
                for j in range(width):
                    target[j] += value * factors[j]


draw_rows = None if njit is None else njit(nogil=True, cache=True)(_draw_rows)
