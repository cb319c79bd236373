"""A scikit-learn transformer from atomic structures to images, eq. (2)."""

import numbers
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._sklearn_compat import Interval, StrOptions, _fit_context
from ._force_targets import force_targets, structure_forces
from ._grid import check_render_parameters, check_spacing
from ._lazy import AtomImageStack
from ._render import render_image


def structure_arrays(structure):
    """Positions, atomic numbers and cell of an ``ase.Atoms``, mapping or tuple.

    A mapping holds ``positions``, ``numbers`` and ``cell`` (the keywords of
    ``ase.Atoms``, as :func:`~sklearn_ednn.datasets.make_porous_sheet` gives).
    """
    if hasattr(structure, "get_positions"):
        return _finite(
            structure.get_positions(),
            structure.get_atomic_numbers(),
            np.asarray(structure.get_cell()),
        )
    if isinstance(structure, Mapping):
        missing = {"positions", "numbers", "cell"} - set(structure)
        if missing:
            raise ValueError(
                f"a structure given as a mapping needs the keys positions, "
                f"numbers and cell; {sorted(missing)} are missing."
            )
        structure = (structure["positions"], structure["numbers"], structure["cell"])
    try:
        positions, atomic_numbers, cell = structure
    except (TypeError, ValueError):
        raise TypeError(
            f"Expected an ase.Atoms, a (positions, numbers, cell) tuple or a "
            f"mapping of those; got "
            f"{type(structure).__name__}."
        ) from None
    return _finite(np.asarray(positions), np.asarray(atomic_numbers), np.asarray(cell))


def _finite(positions, atomic_numbers, cell):
    """The arrays of a structure, refused if a position or the cell is not finite."""
    for name, values in (("positions", positions), ("cell", cell)):
        values = np.asarray(values)
        if values.dtype.kind not in "iuf" or not np.all(np.isfinite(values)):
            raise ValueError(
                f"a structure's {name} must be finite real numbers (in Angstrom); "
                f"got {values.dtype} values"
                + ("" if values.dtype.kind not in "iuf" else " with NaN or inf")
                + "."
            )
    return positions, atomic_numbers, cell


def structure_list(X):
    """``X`` as a non-empty list of structures; one structure alone is an error."""
    if isinstance(X, Mapping) or hasattr(X, "get_positions"):
        raise TypeError(
            f"X is one structure ({type(X).__name__}); pass a sequence of "
            "structures, for example [X]."
        )
    structures = list(X)
    if not structures:
        raise ValueError("X holds no structures.")
    return structures


def check_periodic(structures, n_dims):
    """Refuse a structure that is not periodic along the image's in-plane axes.

    An image holds every atom's periodic images. A structure whose ``pbc``
    (``ase.Atoms``, or a mapping's ``pbc`` key) is False along x or y (the
    first two image axes) would be drawn as if it were periodic there; a
    slab's z may be non-periodic, its vacuum keeping the images apart.
    Tuples carry no ``pbc`` and are taken as periodic.
    """
    in_plane = min(n_dims, 2)
    for index, structure in enumerate(structures):
        if hasattr(structure, "get_pbc"):
            pbc = structure.get_pbc()
        elif isinstance(structure, Mapping):
            pbc = structure.get("pbc", True)
        else:
            continue
        pbc = np.asarray(pbc, dtype=bool)
        pbc = np.full(3, bool(pbc)) if pbc.ndim == 0 else pbc
        if pbc.shape != (3,) or not pbc[:in_plane].all():
            raise ValueError(
                f"structure {index} has pbc={pbc.tolist()}, but AtomImage draws "
                "the periodic images of every atom, so the cell must be periodic "
                "along x and y (a slab's z may be non-periodic). Give a molecule "
                "or a cluster a periodic cell with room around it (ase: "
                "atoms.center(vacuum=5.0); atoms.pbc = True)."
            )


class AtomImage(TransformerMixin, BaseEstimator):
    """Images of atomic structures at a fixed physical resolution, eq. (2).

    Each structure becomes ``V(r) = sum_i Z_i exp(-|r - r_i|^2 / 2 gamma^2)``
    (Mills et al. 2019, eq. 2) on a periodic grid with ``resolution`` Angstrom
    per pixel. The spacing is fixed, not the number of pixels, so a cell
    ``k`` times larger gives an image ``k`` times larger: an
    :class:`~sklearn_ednn.EDNNRegressor` fitted on the images of small cells
    predicts those of large ones. Put them in a pipeline::

        make_pipeline(AtomImage(resolution=0.1), EDNNRegressor(...))

    Parameters
    ----------
    resolution : float or tuple of float, default=0.1
        Pixel spacing in Angstrom, one for all axes or one per axis. Every
        cell length must be a whole number of pixels (a clear error says
        otherwise); for a rectangular cell whose sides are not multiples of
        one spacing, give ``(Lx / Nx, Ly / Ny)``.
    gamma : float, default=0.2
        Width of each atom's Gaussian, in Angstrom (the paper's value).
    n_dims : {2, 3}, default=2
        2 projects the atoms onto the xy plane (sheets); 3 renders volumes.
    species : tuple of int, default=None
        One channel per listed atomic number (each weighted by ``Z``, so the
        channels sum to the one-channel image); None gives one channel.
    cutoff : float, default=4.0
        Each Gaussian is cut off at ``cutoff * gamma`` along each axis.
    dtype : {"float32", "float64"}, default="float32"
        Data type of the images.
    lazy : bool, default=False
        If True, :meth:`transform` returns an :class:`AtomImageStack`, which
        renders rows only when they are read: an EDNN predicts it band by
        band, each band drawn from the atoms that reach it, so the image of
        a structure of millions of atoms never exists whole.

    Attributes
    ----------
    n_channels_ : int
        Channels per pixel: 1, or ``len(species)``.

    See Also
    --------
    sklearn_ednn.atoms.render_image : The same image for one structure.
    sklearn_ednn.atoms.render_image_torch : Its differentiable torch twin.

    Notes
    -----
    Input is a sequence of ``ase.Atoms``, of ``(positions, numbers, cell)``
    tuples or of mappings with those keys (such as
    :func:`~sklearn_ednn.datasets.make_porous_sheet` returns); cells must be
    orthorhombic in the image axes. Output has shape
    ``(n_structures, N1, ..., N_n_dims)``, with a trailing channel axis when
    ``species`` is set (fit the EDNN with ``channels=True`` then). All
    structures in one call must give the same grid shape.

    Examples
    --------
    A 60-atom graphene cell at 128 x 128 pixels, and a cell four times larger:

    >>> from ase.build import graphene, make_supercell
    >>> from sklearn_ednn.atoms import AtomImage
    >>> primitive = graphene("C2", a=2.46, vacuum=5.0)
    >>> rectangle = make_supercell(primitive, [[1, 0, 0], [1, 2, 0], [0, 0, 1]])
    >>> sheet = rectangle.repeat((5, 3, 1))
    >>> images = AtomImage(resolution=tuple(sheet.cell.lengths()[:2] / 128))
    >>> images.fit_transform([sheet]).shape
    (1, 128, 128)
    >>> images.transform([sheet.repeat((2, 2, 1))]).shape
    (1, 256, 256)
    """

    _parameter_constraints = {
        "resolution": [Interval(numbers.Real, 0, None, closed="neither"), tuple],
        "gamma": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_dims": [Interval(numbers.Integral, 2, 3, closed="both")],
        "species": [None, tuple, list],
        "cutoff": [Interval(numbers.Real, 0, None, closed="neither")],
        "dtype": [StrOptions({"float32", "float64"})],
        "lazy": ["boolean"],
    }

    def __init__(
        self,
        resolution=0.1,
        *,
        gamma=0.2,
        n_dims=2,
        species=None,
        cutoff=4.0,
        dtype="float32",
        lazy=False,
    ):
        self.resolution = resolution
        self.gamma = gamma
        self.n_dims = n_dims
        self.species = species
        self.cutoff = cutoff
        self.dtype = dtype
        self.lazy = lazy

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Check the parameters; the transformer learns nothing from data.

        Parameters
        ----------
        X : sequence of ase.Atoms or of (positions, numbers, cell), default=None
            Ignored.
        y : None
            Ignored.

        Returns
        -------
        self : AtomImage
            The transformer.
        """
        check_spacing(self.resolution, self.n_dims)
        self.n_channels_ = 1 if self.species is None else len(self.species)
        return self

    def render_parameters(self):
        """Return the image parameters, as keywords of the render functions.

        Returns
        -------
        parameters : dict
            ``resolution``, ``gamma``, ``n_dims``, ``species`` and ``cutoff``,
            for :func:`render_image` or :func:`render_image_torch`, so that
            other drawings of a structure match this transformer's.
        """
        return {
            "resolution": self.resolution,
            "gamma": self.gamma,
            "n_dims": self.n_dims,
            "species": self.species,
            "cutoff": self.cutoff,
        }

    def transform(self, X):
        """Render each structure.

        Parameters
        ----------
        X : sequence of ase.Atoms or of (positions, numbers, cell)
            Structures whose cells all give the same grid shape.

        Returns
        -------
        images : ndarray or AtomImageStack
            One image per structure, shape ``(n_structures, N1, ...,
            N_n_dims[, n_channels])``; an :class:`AtomImageStack` that
            renders on demand when ``lazy=True``.
        """
        structures = structure_list(X)
        check_periodic(structures, self.n_dims)
        if self.lazy:
            return AtomImageStack(
                [structure_arrays(s) for s in structures],
                self.render_parameters(),
                self.dtype,
            )
        images = None
        for index, structure in enumerate(structures):
            positions, atomic_numbers, cell = structure_arrays(structure)
            _, _, shape = check_render_parameters(
                cell, self.resolution, self.gamma, self.cutoff, self.n_dims
            )
            if self.species is not None:
                shape = (*shape, len(self.species))
            if images is None:
                images = np.empty((len(structures), *shape), dtype=self.dtype)
            elif shape != images.shape[1:]:
                raise ValueError(
                    f"structure {index} gives an image of shape {shape}, but "
                    f"structure 0 gives {images.shape[1:]}: transform cells of one "
                    f"size at a time (an EDNN predicts any size, one size per call)."
                )
            render_image(
                positions,
                atomic_numbers,
                cell,
                out=images[index],
                **self.render_parameters(),
            )
        return images

    def force_targets(self, X, forces=None):
        """Return what an EDNN needs to learn the forces of ``X`` too.

        Pass the result to :meth:`EDNNRegressor.fit
        <sklearn_ednn.EDNNRegressor.fit>` as ``forces`` (in a pipeline,
        ``ednnregressor__forces=``), beside the images of the same structures
        from :meth:`transform`. The EDNN then fits the forces ``-dE/dR`` of
        its energy as well as the energies.

        Parameters
        ----------
        X : sequence of ase.Atoms or of (positions, numbers, cell)
            The structures, in the order of their images.
        forces : sequence of array-like of shape (n_atoms, 3), default=None
            Their forces in eV per Angstrom. None reads them from each
            ``ase.Atoms``' calculator (such as the ``SinglePointCalculator``
            that :func:`~sklearn_ednn.datasets.label_structures` and extended
            XYZ files give).

        Returns
        -------
        targets : ndarray of shape (n_structures, max_atoms)
            A structured array, one row per atom (padded with rows whose
            ``present`` field is False): the atom's channel and weight, its
            Gaussian box per axis with the derivative of its factors, and its
            force along the image axes. It slices like any array, so
            cross-validation splits it with the images.

        Examples
        --------
        >>> from ase.build import graphene, make_supercell
        >>> from ase.calculators.lj import LennardJones
        >>> from sklearn_ednn.atoms import AtomImage
        >>> primitive = graphene("C2", a=2.46, vacuum=5.0)
        >>> cell = make_supercell(primitive, [[1, 0, 0], [1, 2, 0], [0, 0, 1]])
        >>> cell.calc = LennardJones(sigma=1.3, rc=3.0)
        >>> image = AtomImage(resolution=tuple(cell.cell.lengths()[:2] / 16))
        >>> targets = image.fit(None).force_targets([cell])
        >>> targets.shape, targets["force"].shape
        ((1, 4), (1, 4, 2))
        """
        check_spacing(self.resolution, self.n_dims)
        structures = structure_list(X)
        check_periodic(structures, self.n_dims)
        if forces is None:
            forces = [structure_forces(s, i) for i, s in enumerate(structures)]
        elif len(forces) != len(structures):
            raise ValueError(
                f"forces has {len(forces)} entries for {len(structures)} "
                "structures; give one (n_atoms, 3) array per structure."
            )
        return force_targets(
            [structure_arrays(s) for s in structures],
            forces,
            resolution=self.resolution,
            gamma=self.gamma,
            n_dims=self.n_dims,
            species=self.species,
            cutoff=self.cutoff,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        return tags
