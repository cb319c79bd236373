"""ContributionMapDisplay: where a fitted atoms EDNN puts the energy of a structure."""

import numpy as np

__all__ = ["ContributionMapDisplay"]


class ContributionMapDisplay:
    """The map of tile contributions of one structure, drawn over its atoms.

    Every tile of an EDNN scores its focus region; for an image of atoms the
    map of those scores says which parts of the structure carry the energy
    (strained bonds, the edges of a pore, a defect). Build it with
    :meth:`from_estimator`; like scikit-learn's displays, it keeps the
    matplotlib objects it draws.

    Parameters
    ----------
    contributions : ndarray of shape (T1, T2)
        The tile contributions in eV, ``T1`` along x and ``T2`` along y.
    lengths : tuple of float
        Cell lengths along x and y in Å; the map spans ``[0, Lx] x [0, Ly]``.
    positions : ndarray of shape (n_atoms, 2), default=None
        In-plane atom positions in Å, drawn over the map.
    numbers : ndarray of shape (n_atoms,), default=None
        Their atomic numbers, for the legend.

    Attributes
    ----------
    image_ : matplotlib.image.AxesImage
        The drawn map.
    colorbar_ : matplotlib.colorbar.Colorbar or None
        Its colour bar.
    ax_ : matplotlib.axes.Axes
        The axes drawn on.
    figure_ : matplotlib.figure.Figure
        Their figure.

    See Also
    --------
    sklearn_ednn.EDNNRegressor.predict_contributions : The map itself.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_ednn.inspection import ContributionMapDisplay
    >>> display = ContributionMapDisplay(np.arange(12.0).reshape(4, 3), (8.0, 6.0))
    >>> display.plot().image_.get_extent()
    [0.0, 8.0, 0.0, 6.0]
    """

    def __init__(self, contributions, lengths, *, positions=None, numbers=None):
        self.contributions = contributions
        self.lengths = lengths
        self.positions = positions
        self.numbers = numbers

    @classmethod
    def from_estimator(cls, model, atoms, *, ax=None, **plot_kwargs):
        """Draw the contributions of ``atoms`` under a fitted atoms pipeline.

        Parameters
        ----------
        model : Pipeline
            A fitted :class:`~sklearn_ednn.atoms.AtomImage` followed by a
            fitted :class:`~sklearn_ednn.EDNNRegressor` of one output.
        atoms : ase.Atoms
            One structure with an orthorhombic, in-plane periodic cell.
        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.
        **plot_kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : ContributionMapDisplay
            Drawn.
        """
        image, final = model[:-1], model[-1]
        grids = image.transform([atoms])
        contributions = np.asarray(final.predict_contributions(grids)[0])
        if contributions.ndim != 2:
            raise ValueError(
                "ContributionMapDisplay draws 2-D images of one target; the "
                f"contributions have shape {contributions.shape}."
            )
        lengths = tuple(float(v) for v in atoms.cell.lengths()[:2])
        positions = np.mod(atoms.get_positions()[:, :2], lengths)
        display = cls(
            contributions, lengths, positions=positions, numbers=atoms.numbers
        )
        return display.plot(ax=ax, **plot_kwargs)

    def plot(self, ax=None, *, subtract_mean=True, cmap="RdBu_r", colorbar=True):
        """Draw the map and the atoms.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw; None makes a new figure.
        subtract_mean : bool, default=True
            Draw each tile's difference from the mean tile, in meV (the
            mean, mostly the reference energies of the atoms, would hide
            the pattern); False draws the contributions in eV.
        cmap : str, default="RdBu_r"
            Colour map, centred on zero when ``subtract_mean``.
        colorbar : bool, default=True
            Whether to add a colour bar.

        Returns
        -------
        display : ContributionMapDisplay
            This display, drawn.
        """
        import matplotlib.pyplot as plt
        from matplotlib.colors import CenteredNorm

        if ax is None:
            _, ax = plt.subplots()
        values = np.asarray(self.contributions, dtype=np.float64)
        if subtract_mean:
            values = 1000 * (values - values.mean())
            label, norm = "tile contribution - mean [meV]", CenteredNorm()
        else:
            label, norm = "tile contribution [eV]", None
        lx, ly = self.lengths
        self.image_ = ax.imshow(
            values.T,
            origin="lower",
            extent=[0.0, lx, 0.0, ly],
            cmap=cmap,
            norm=norm,
            interpolation="nearest",
        )
        if self.positions is not None:
            self._plot_atoms(ax)
        ax.set(xlabel="x [Å]", ylabel="y [Å]", xlim=(0, lx), ylim=(0, ly))
        ax.set_aspect("equal")
        self.colorbar_ = (
            ax.figure.colorbar(self.image_, ax=ax, label=label) if colorbar else None
        )
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _plot_atoms(self, ax):
        from ase.data import chemical_symbols

        numbers = (
            np.zeros(len(self.positions), int) if self.numbers is None else self.numbers
        )
        for number in np.unique(numbers):
            where = numbers == number
            ax.scatter(
                *self.positions[where].T,
                s=6,
                edgecolors="none",
                label=chemical_symbols[number] if number else "atoms",
            )
        ax.legend(loc="upper right", markerscale=2, fontsize="small", framealpha=0.8)
