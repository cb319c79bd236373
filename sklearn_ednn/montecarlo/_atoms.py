"""Metropolis Monte Carlo of atoms with single-atom moves.

Two energies follow the Monte Carlo energy protocol (``start``, ``propose``,
``accept``; see ``_sampler``) with one replica and one move at a time, a move
being ``(index, position)``: :class:`AtomsEDNNEnergy` keeps the image and every
tile's score, and after a move redraws only the moved atom's box of pixels and
re-scores only the tiles whose window meets it; :class:`CalculatorEnergy` asks
an ASE calculator (the reference potential) for the whole energy. The sampler,
:func:`atoms_metropolis`, runs either on equal terms.
"""

import time

import numpy as np
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from ..atoms._fitted import check_atoms_model
from ..atoms._grid import check_render_parameters
from ..atoms._render import _axis_pixels, gaussian_windows, render_image
from ..atoms._transformer import check_periodic, structure_arrays
from ._sampler import MonteCarloResult, check_finite_energy, metropolis_steps

__all__ = [
    "AtomsEDNNEnergy",
    "CalculatorEnergy",
    "atoms_metropolis",
    "radial_distribution",
]

BOLTZMANN_EV = 8.617333262e-5  # eV / K


class AtomsEDNNEnergy:
    """A fitted atoms EDNN as a Monte Carlo energy, re-evaluated locally.

    After :meth:`start`, the image (float64) and every tile's contribution
    are kept. Moving one atom changes the pixels of its old and new Gaussian
    boxes only; :meth:`propose` redraws those, re-scores the tiles whose
    window (focus plus context) meets them and returns the energy change.
    With ``local=False`` it redraws the whole image and re-scores every tile
    instead, for comparison: both give the same energies to round-off. A
    model that averages several tilings (``average_shifts``) keeps the tiles
    of each.

    Parameters
    ----------
    model : EDNNRegressor or Pipeline
        A fitted torch EDNN on atom images (one output, periodic padding), or
        a fitted pipeline ``(AtomImage, EDNNRegressor)``.
    image : AtomImage, default=None
        The representation the EDNN was fitted on, when ``model`` is not a
        pipeline.
    local : bool, default=True
        Re-evaluate only the tiles a move touches.

    Attributes
    ----------
    energy_ : ndarray of shape (1,)
        The current total energy.
    n_scored_ : int
        Tiles sent to the tile network since :meth:`start`.

    Examples
    --------
    See :func:`atoms_metropolis`.
    """

    def __init__(self, model, image=None, *, local=True):
        self.model, self.image = check_atoms_model(model, image)
        self.local = local
        self.tiling = self.model.tiling_

    # -- whole-image evaluation -------------------------------------------------

    def _draw(self, positions):
        """The float64, channel-last image of ``positions``."""
        grid = render_image(
            positions,
            self.numbers,
            self.cell,
            dtype=np.float64,
            **self.image.render_parameters(),
        )
        return grid if self.image.species is not None else grid[..., None]

    def _score_all(self, grid):
        """Raw scores of every tile of ``grid``, one array per tiling."""
        raw = np.stack(
            [
                self.tiling.scores(grid[None], reduce=False, shift=shift)[0, ..., 0]
                for shift in self.tiling.shifts
            ]
        )
        self.n_scored_ += raw.size
        return raw

    def _score_tiles(self, starts, shift):
        """Raw scores of the tiles with focus indices ``starts`` (per axis).

        ``starts`` is a list, one array of tile indices per axis, of the
        tiling moved by ``shift``; every combination is scored. Returns an
        array of shape ``(K1, ..., Kd)``.
        """
        d = len(starts)
        index = []
        for axis, tiles in enumerate(starts):
            window = self.tiling.tile_windows(
                tiles, axis, self.shape[axis], shift[axis]
            )
            shape = [1] * (2 * d)
            shape[axis], shape[d + axis] = window.shape
            index.append(window.reshape(shape))
        tiles = self.grid[tuple(index)]  # (K1, ..., Kd, w1, ..., wd, C)
        window_shape, n_channels = tiles.shape[d:-1], tiles.shape[-1]
        # The tile network takes (n_tiles, C, w1, ..., wd).
        tiles = np.moveaxis(tiles, -1, d).reshape(-1, n_channels, *window_shape)
        self.n_scored_ += len(tiles)
        raw = self.tiling.score_tiles(tiles)[:, 0]
        return raw.reshape([len(t) for t in starts])

    def _total(self, raw=None):
        """Total energy from raw tile scores (the current ones by default)."""
        raw = self.raw if raw is None else raw
        mean_sum = np.array([raw.reshape(len(raw), -1).sum(axis=1).mean()])
        return float(self.tiling.to_target(mean_sum, raw[0].size)[0])

    def start(self, atoms):
        """Draw the image, score every tile and return the total energy.

        Parameters
        ----------
        atoms : ase.Atoms or (positions, numbers, cell)
            The structure; its cell must give a whole number of focus regions.

        Returns
        -------
        energy : ndarray of shape (1,)
            The model's total energy, equal to its ``predict`` on the image.
        """
        check_periodic([atoms], self.image.n_dims)
        positions, self.numbers, self.cell = structure_arrays(atoms)
        self.positions = np.array(positions, dtype=np.float64)
        image = self.image
        self.spacing, self.lengths, self.shape = check_render_parameters(
            self.cell, image.resolution, image.gamma, image.cutoff, image.n_dims
        )
        self.grid = self._draw(self.positions)
        self.n_scored_ = 0
        self.tiles_per_axis = self.tiling.tiles_per_axis(self.shape)
        self.raw = self._score_all(self.grid)
        channel_of = {int(z): k for k, z in enumerate(image.species or ())}
        self.channel = np.array([channel_of.get(int(z), 0) for z in self.numbers])
        self.energy_ = np.array([self._total()])
        self._pending = None
        return self.energy_.copy()

    # -- one atom's box ---------------------------------------------------------

    def _box(self, position, number):
        """Pixel indices per axis and values of one atom's Gaussian box."""
        indices, box = [], np.array(float(number))
        for axis in range(self.image.n_dims):
            start, factor = gaussian_windows(
                position[axis : axis + 1],
                self.lengths[axis],
                self.spacing[axis],
                self.image.gamma,
                self.image.cutoff,
            )
            indices.append(_axis_pixels(start, factor.shape[1], self.shape[axis])[0])
            box = np.multiply.outer(box, factor[0])
        return indices, box

    def _add_box(self, indices, box, channel, sign):
        np.add.at(self.grid, (*np.ix_(*indices), channel), sign * box)

    def propose(self, move):
        """Energy change of moving one atom.

        The move is pending until :meth:`accept`; the next :meth:`propose`
        discards it.

        Parameters
        ----------
        move : tuple of (int, array-like of shape (3,))
            The atom's index and its new Cartesian position, in Angstrom.

        Returns
        -------
        delta : ndarray of shape (1, 1)
            New total energy minus the current one.
        """
        self._discard()
        index, position = move
        position = np.asarray(position, dtype=np.float64)
        if not self.local:
            positions = self.positions.copy()
            positions[index] = position
            grid = self._draw(positions)
            raw = self._score_all(grid)
            self._pending = ("full", index, position, grid, raw)
            return np.array([[self._total(raw) - self.energy_[0]]])
        number, channel = self.numbers[index], self.channel[index]
        old = self._box(self.positions[index], number)
        new = self._box(position, number)
        # The pixels both boxes touch, saved so a rejected move restores them
        # exactly (adding and subtracting again would leave round-off behind).
        saved = [
            (indices, self.grid[(*np.ix_(*indices), channel)].copy())
            for indices, _ in (old, new)
        ]
        self._add_box(*old, channel, -1.0)
        self._add_box(*new, channel, +1.0)
        rescored, change = [], 0.0
        for k, shift in enumerate(self.tiling.shifts):
            touched = [
                self._touched_tiles(np.union1d(a, b), axis, shift[axis])
                for axis, (a, b) in enumerate(zip(old[0], new[0]))
            ]
            raw = self._score_tiles(touched, shift)
            change += raw.sum() - self.raw[k][np.ix_(*touched)].sum()
            rescored.append((touched, raw))
        # The number of tiles is unchanged: no offset in the difference.
        mean_change = np.array([change / self.tiling.n_tilings])
        delta = self.tiling.to_target(mean_change, 0)
        self._pending = ("local", index, position, (saved, channel), rescored)
        return delta.reshape(1, 1)

    def _touched_tiles(self, pixels, axis, shift):
        """Tiles along ``axis`` whose window (focus plus context) holds a pixel."""
        touched = self.tiling.touching_tiles(pixels, axis, self.shape[axis], shift)
        return np.flatnonzero(touched.any(axis=0))

    def accept(self, accepted):
        """Apply the pending move if ``accepted``, else discard it.

        Parameters
        ----------
        accepted : bool or array-like of bool of shape (1, 1)
            Whether to apply the move of the last :meth:`propose`.

        Returns
        -------
        energy : ndarray of shape (1,)
            The new total energy.
        """
        if self._pending is None:
            raise RuntimeError("No pending move: call propose first.")
        if not _one_move(accepted):
            self._discard()
            return self.energy_
        kind, index, position, first, second = self._pending
        if kind == "full":
            self.grid, self.raw = first, second
        else:
            for k, (touched, raw) in enumerate(second):
                self.raw[k][np.ix_(*touched)] = raw
        self.positions[index] = position
        self._pending = None
        self.energy_ = np.array([self._total()])
        return self.energy_

    def _discard(self):
        """Discard the pending move, if any, restoring the image exactly."""
        if self._pending is None:
            return
        kind, _, _, first, _ = self._pending
        if kind == "local":
            saved, channel = first
            for indices, values in reversed(saved):
                self.grid[(*np.ix_(*indices), channel)] = values
        self._pending = None


def _one_move(accepted):
    """Whether the one move of a single-replica energy is accepted."""
    accepted = np.asarray(accepted, dtype=bool)
    if accepted.size != 1:
        raise ValueError(
            f"accepted has shape {accepted.shape}; an atoms energy has one "
            "replica and one move: pass a bool or an array of shape (1, 1)."
        )
    return bool(accepted.reshape(()))


class CalculatorEnergy:
    """Any ASE calculator as a Monte Carlo energy, re-evaluated in full.

    Parameters
    ----------
    calculator : ase.calculators.calculator.Calculator
        The reference potential, for example
        :func:`sklearn_ednn.datasets.tersoff_bcn`.

    Attributes
    ----------
    energy_ : ndarray of shape (1,)
        The current total energy.
    """

    def __init__(self, calculator):
        self.calculator = calculator

    def start(self, atoms):
        """Attach the calculator to a copy of ``atoms``; return its energy.

        Parameters
        ----------
        atoms : ase.Atoms
            The structure.

        Returns
        -------
        energy : ndarray of shape (1,)
            The calculator's total energy.
        """
        self.atoms = atoms.copy()
        self.atoms.calc = self.calculator
        self.positions = self.atoms.get_positions()
        self.energy_ = np.array([float(self.atoms.get_potential_energy())])
        self._pending = None
        return self.energy_.copy()

    def propose(self, move):
        """Energy change of moving one atom.

        Parameters
        ----------
        move : tuple of (int, array-like of shape (3,))
            The atom's index and its new position, in Angstrom.

        Returns
        -------
        delta : ndarray of shape (1, 1)
            New total energy minus the current one.
        """
        index, position = move
        positions = self.positions.copy()
        positions[index] = position
        self.atoms.set_positions(positions)
        energy = float(self.atoms.get_potential_energy())
        self._pending = (positions, energy)
        return np.array([[energy - self.energy_[0]]])

    def accept(self, accepted):
        """Apply the pending move if ``accepted``, else discard it.

        Parameters
        ----------
        accepted : bool or array-like of bool of shape (1, 1)
            Whether to apply the move of the last :meth:`propose`.

        Returns
        -------
        energy : ndarray of shape (1,)
            The new total energy.
        """
        if self._pending is None:
            raise RuntimeError("No pending move: call propose first.")
        if _one_move(accepted):
            positions, energy = self._pending
            self.positions, self.energy_ = positions, np.array([energy])
        self._pending = None
        return self.energy_


def atoms_metropolis(
    atoms,
    energy,
    *,
    temperature,
    n_steps,
    max_step=0.1,
    planar=True,
    sample_interval=100,
    random_state=None,
    verbose=False,
):
    """Sample a structure by Metropolis Monte Carlo with single-atom moves.

    Each step picks an atom at random and moves it by a uniform random
    displacement of at most ``max_step`` per axis (in the xy plane when
    ``planar``); the move is accepted with probability
    ``min(1, exp(-dE / kT))`` (the package's one Metropolis loop).

    Parameters
    ----------
    atoms : ase.Atoms
        Starting structure; not modified.
    energy : AtomsEDNNEnergy or CalculatorEnergy
        The energy (the Monte Carlo energy protocol, one replica).
    temperature : float
        Temperature in kelvin (energies in eV).
    n_steps : int
        Attempted moves.
    max_step : float, default=0.1
        Largest displacement per axis, in Angstrom.
    planar : bool, default=True
        Keep z fixed (sheets drawn as 2-D images cannot see z).
    sample_interval : int, default=100
        Steps between recorded samples.
    random_state : int, RandomState instance or None, default=None
        Seeds the moves and the acceptance draws.
    verbose : bool, default=False
        Show a progress bar.

    Returns
    -------
    result : MonteCarloResult
        ``positions`` (every ``sample_interval`` steps, shape (n_samples,
        n_atoms, 3)), ``energies`` (the sampler's energy at those steps),
        ``acceptance`` (fraction of accepted moves) and ``seconds_per_step``
        (wall time per attempted move); ``structures(atoms)`` gives the
        samples as structures.

    Examples
    --------
    >>> from sklearn_ednn.datasets import sheet_cell, tersoff_bcn
    >>> from sklearn_ednn.montecarlo import CalculatorEnergy, atoms_metropolis
    >>> result = atoms_metropolis(
    ...     sheet_cell(), CalculatorEnergy(tersoff_bcn()), temperature=1000,
    ...     n_steps=200, sample_interval=50, random_state=0,
    ... )
    >>> result.positions.shape
    (4, 60, 3)
    """
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature={temperature!r} must be positive (kelvin).")
    if n_steps < 1 or sample_interval < 1:
        raise ValueError(
            f"n_steps={n_steps!r} and sample_interval={sample_interval!r} must be "
            "positive."
        )
    rng = check_random_state(random_state)
    beta = 1.0 / (BOLTZMANN_EV * temperature)
    check_finite_energy(energy.start(atoms), "the starting energy")
    positions = np.array(atoms.get_positions(), dtype=np.float64)
    n_atoms = len(positions)
    moved_axes = 2 if planar else 3

    def moves():
        """One random displacement of one random atom per step."""
        for _ in range(n_steps):
            index = rng.randint(n_atoms)
            trial = positions[index].copy()
            trial[:moved_axes] += rng.uniform(-max_step, max_step, moved_axes)
            yield index, trial

    samples, energies, accepted = [], [], 0
    steps = metropolis_steps(energy, moves(), beta, rng)
    tic = time.perf_counter()
    for step in tqdm(range(1, n_steps + 1), disable=not verbose, desc="Monte Carlo"):
        (index, trial), _, accept = next(steps)
        if accept[0, 0]:
            positions[index] = trial
            accepted += 1
        if step % sample_interval == 0:
            samples.append(positions.copy())
            energies.append(float(energy.energy_[0]))
    seconds = time.perf_counter() - tic
    return MonteCarloResult(
        positions=np.array(samples).reshape(-1, n_atoms, 3),
        energies=np.array(energies),
        acceptance=accepted / n_steps,
        seconds_per_step=seconds / n_steps,
    )


def radial_distribution(atoms, positions, *, rmax=4.0, nbins=80):
    """Radial distribution function averaged over sampled positions.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (cell, periodicity and species) the samples belong to.
    positions : ndarray of shape (n_samples, n_atoms, 3)
        Sampled positions, for example ``atoms_metropolis(...).positions``.
    rmax : float, default=4.0
        Largest distance, in Angstrom; under half the smallest periodic cell
        length.
    nbins : int, default=80
        Number of bins between 0 and ``rmax``.

    Returns
    -------
    rdf : ndarray of shape (nbins,)
        ``g(r)`` from :func:`ase.geometry.rdf.get_rdf`, averaged over samples.
    r : ndarray of shape (nbins,)
        Bin centres.
    """
    from ase.geometry.rdf import get_rdf

    frames = []
    for sample in positions:
        frame = atoms.copy()
        frame.set_positions(sample)
        frames.append(frame)
    rdf, r = get_rdf(frames, rmax, nbins)
    return rdf, r
