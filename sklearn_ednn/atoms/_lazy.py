"""Images of atoms rendered on demand, band by band, for structures of any size.

An :class:`AtomImageStack` looks like the stack of images that
:meth:`AtomImage.transform <sklearn_ednn.atoms.AtomImage.transform>` returns
(``shape``, ``dtype``, slicing), but holds only the atoms: each structure's
atoms are sorted once along the first image axis, and slicing rows renders
those rows from the atoms whose Gaussians reach them. An EDNN reads it band
by band like any lazily read grid (see
:meth:`~sklearn_ednn.FittedTiling.as_grids`), so the image of a sheet of
millions of atoms never exists whole.
"""

import numpy as np

from ._grid import check_atoms, check_render_parameters, periodic_window, window_width
from ._render import render_image

__all__ = ["AtomImageStack"]


class AtomImageStack:
    """A stack of atom images of one shape, rendered rows at a time.

    Parameters
    ----------
    structures : list of tuple
        ``(positions, numbers, cell)`` per structure, as arrays.
    render_parameters : dict
        Keywords of :func:`~sklearn_ednn.atoms.render_image`
        (``resolution``, ``gamma``, ``n_dims``, ``species``, ``cutoff``).
    dtype : numpy dtype
        Data type of the rendered rows.

    Attributes
    ----------
    shape : tuple of int
        ``(n_structures, N1, ..., N_n_dims[, n_channels])``, as
        :meth:`AtomImage.transform <sklearn_ednn.atoms.AtomImage.transform>`
        would give.
    dtype : numpy.dtype
        Data type of the images.
    ndim : int
        ``len(shape)``.

    Notes
    -----
    Slicing takes a structure index or slice first and a slice of rows (the
    first image axis, step 1) second; any further indices apply to the
    rendered rows. ``numpy.asarray(stack)`` renders everything. Rows equal
    those of the whole image to float round-off.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ednn.atoms import AtomImage
    >>> from sklearn_ednn.datasets import make_porous_sheet
    >>> sheet = make_porous_sheet((8, 4), random_state=0)
    >>> image = AtomImage(resolution=tuple(sheet.cell.diagonal()[:2] / (64, 56)))
    >>> stack = image.set_params(lazy=True).transform([sheet])
    >>> stack.shape, type(stack).__name__
    ((1, 64, 56), 'AtomImageStack')
    >>> whole = image.set_params(lazy=False).transform([sheet])
    >>> bool(np.allclose(stack[0:1, 10:20], whole[0:1, 10:20], atol=1e-5))
    True
    """

    def __init__(self, structures, render_parameters, dtype):
        self.render_parameters = dict(render_parameters)
        self.dtype = np.dtype(dtype)
        species = self.render_parameters["species"]
        n_dims = self.render_parameters["n_dims"]
        self._structures, shape = [], None
        for index, (positions, numbers, cell) in enumerate(structures):
            spacing, lengths, grid = check_render_parameters(
                cell,
                self.render_parameters["resolution"],
                self.render_parameters["gamma"],
                self.render_parameters["cutoff"],
                n_dims,
            )
            if shape is None:
                shape = grid
            elif grid != shape:
                raise ValueError(
                    f"structure {index} gives an image of shape {grid}, but "
                    f"structure 0 gives {shape}: one grid shape per stack."
                )
            positions = np.asarray(positions, dtype=np.float64)
            numbers = check_atoms(positions.shape, numbers)
            # Sorted once along the first axis: a band's atoms are one run.
            first = np.mod(positions[:, 0], lengths[0])
            order = np.argsort(first, kind="stable")
            self._structures.append(
                (first[order], positions[order, 1:n_dims], numbers[order], cell)
            )
        if shape is None:
            raise ValueError("X holds no structures.")
        self._spacing, self._lengths = spacing, lengths
        channels = () if species is None else (len(species),)
        self.shape = (len(self._structures), *shape, *channels)
        self.ndim = len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        whole = self[:, 0 : self.shape[1]]
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        samples, rows, rest = key[0], (key[1:2] or (slice(None),))[0], key[2:]
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            raise IndexError(
                "an AtomImageStack is sliced by structures, then a slice of rows "
                f"of step 1; got rows {rows!r}."
            )
        lo, hi, _ = rows.indices(self.shape[1])
        hi = max(lo, hi)
        picked = range(len(self))[samples]
        if isinstance(picked, int):
            return self._render_rows(picked, lo, hi)[rest]
        band = np.empty((len(picked), hi - lo, *self.shape[2:]), dtype=self.dtype)
        for out, index in zip(band, picked):
            out[...] = self._render_rows(index, lo, hi)
        return band[(slice(None), slice(None), *rest)]

    def _render_rows(self, index, lo, hi):
        """Rows ``[lo, hi)`` of structure ``index``'s image."""
        first, others, numbers, cell = self._structures[index]
        spacing, length, n_rows = self._spacing[0], self._lengths[0], self.shape[1]
        params = self.render_parameters
        margin = window_width(spacing, params["gamma"], params["cutoff"])
        local_rows = hi - lo + 2 * margin
        if local_rows >= n_rows:
            # The band and its margins cover the cell: draw it whole.
            whole = self._draw(first, others, numbers, cell)
            return np.take(whole, np.arange(lo, hi) % n_rows, axis=0)
        # Atoms within a margin of the band, moved into a local periodic cell
        # of the band and its margins; what wraps round lands in the margins.
        origin = (lo - margin) * spacing
        take = periodic_window(first, origin, origin + local_rows * spacing, length)
        local_first = np.mod(first[take] - origin, length)
        local_cell = np.array(cell, dtype=np.float64)
        if local_cell.shape == (3,):
            local_cell = np.diag(local_cell)
        local_cell[0, 0] = local_rows * spacing
        image = self._draw(local_first, others[take], numbers[take], local_cell)
        return image[margin : margin + hi - lo]

    def _draw(self, first, others, numbers, cell):
        positions = np.zeros((len(first), 3))
        positions[:, 0] = first
        positions[:, 1 : 1 + others.shape[1]] = others
        return render_image(
            positions, numbers, cell, dtype=self.dtype, **self.render_parameters
        )
