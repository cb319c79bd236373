"""Energies of spin lattices that a Metropolis sampler changes a site at a time.

Both classes follow the Monte Carlo energy protocol (``start``, ``propose``,
``accept``; see ``_sampler``) for a batch of lattices (replicas): a move is a
group of sites that do not influence each other, flipped in every replica.
:class:`EDNNEnergy` re-evaluates only the tiles whose window contains a
flipped site, from a cache of every tile's score; :class:`ExactIsingEnergy` is
the nearest-neighbour Hamiltonian, so that the same sampler runs with both on
equal terms.
"""

import itertools
import math

import numpy as np

from ..datasets import ising_energy

__all__ = ["EDNNEnergy", "ExactIsingEnergy", "site_groups"]


def site_groups(shape, separation):
    """Split the sites of a periodic lattice into groups updated together.

    Parameters
    ----------
    shape : tuple of int
        Lattice shape.
    separation : tuple of int
        Smallest allowed distance, per axis, between two sites of a group (in
        at least one axis): sites closer than that influence each other.

    Returns
    -------
    groups : list of ndarray of shape (n_sites_in_group, n_dims)
        Site coordinates; every site is in exactly one group. The stride per
        axis is the smallest divisor of the lattice side that is at least the
        separation, so the pattern is consistent across the periodic boundary.
    """
    strides = []
    for length, minimum in zip(shape, separation):
        stride = next(
            s for s in range(min(minimum, length), length + 1) if length % s == 0
        )
        strides.append(stride)
    groups = []
    for offset in itertools.product(*(range(s) for s in strides)):
        axes = [np.arange(o, length, s) for o, length, s in zip(offset, shape, strides)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
        groups.append(grid.reshape(-1, len(shape)))
    return groups


def _flip(spins, sites, accepted):
    """Flip, in place, the accepted sites of a group in every replica."""
    replicas, k = np.nonzero(accepted)
    spins[(replicas,) + tuple(sites[k].T)] *= -1


class ExactIsingEnergy:
    """Nearest-neighbour Ising energy ``E = -J sum_<ij> s_i s_j``, periodic.

    Parameters
    ----------
    J : float, default=1.0
        Coupling.

    Attributes
    ----------
    energy_ : ndarray of shape (n_replicas,)
        The current total energies.
    """

    def __init__(self, J=1.0):
        self.J = J

    def move_separation(self, shape):
        """Return the distance per axis beyond which two flips are independent.

        Parameters
        ----------
        shape : tuple of int
            Lattice shape.

        Returns
        -------
        separation : tuple of int
            2 per axis: only nearest neighbours interact.
        """
        return (2,) * len(shape)

    def start(self, spins):
        """Keep the lattices (flipped in place from now on); return their energies.

        Parameters
        ----------
        spins : ndarray of shape (n_replicas, L1, ..., Ld)
            Spin configurations.

        Returns
        -------
        energy : ndarray of shape (n_replicas,)
            Total energies.
        """
        self.spins = spins
        self.energy_ = np.asarray(ising_energy(spins, J=self.J), dtype=np.float64)
        return self.energy_.copy()

    def propose(self, sites):
        """Compute the energy change of flipping each site, in every replica.

        Parameters
        ----------
        sites : ndarray of shape (n_sites, d)
            Sites of one group (see :func:`site_groups`).

        Returns
        -------
        delta : ndarray of shape (n_replicas, n_sites)
            Energy change of flipping each site alone.
        """
        spins, shape = self.spins, self.spins.shape[1:]
        index = tuple(sites.T)
        field = 0
        for axis in range(len(shape)):
            for step in (1, -1):
                neighbour = list(index)
                neighbour[axis] = (sites[:, axis] + step) % shape[axis]
                field = field + spins[(slice(None),) + tuple(neighbour)]
        self._pending = (sites, 2.0 * self.J * spins[(slice(None),) + index] * field)
        return self._pending[1]

    def accept(self, accepted):
        """Flip the accepted sites of the last :meth:`propose`.

        Parameters
        ----------
        accepted : ndarray of bool of shape (n_replicas, n_sites)
            Which flips to apply.

        Returns
        -------
        energy : ndarray of shape (n_replicas,)
            The new total energies.
        """
        sites, delta = self._pending
        _flip(self.spins, sites, accepted)
        self.energy_ = self.energy_ + np.where(accepted, delta, 0.0).sum(axis=1)
        return self.energy_


class EDNNEnergy:
    """A fitted EDNN as an energy, with local re-evaluation after a flip.

    Every tile's raw score is cached, for each of the model's averaged
    tilings (``average_shifts``); flipping a site re-scores only the tiles
    whose window contains it (``(2c + 1)**d`` of them per tiling for ``f =
    1``) instead of every tile of the lattice. All of it goes through the
    model's fitted tiling (``model.tiling_``), so the energies are those of
    ``model.predict``, to round-off.

    Parameters
    ----------
    model : EDNNRegressor
        Fitted single-output, single-channel EDNN with periodic padding.
    memoize : bool, default=True
        For spins of +1 and -1 and tiles of at most 20 sites, remember the
        score of every tile pattern met so far (a table of ``2**n_sites``
        entries), so each distinct pattern goes through the model once. The
        values are the model's own (to round-off); only repeated work is saved.

    Attributes
    ----------
    energy_ : ndarray of shape (n_replicas,)
        The current total energies.
    n_scored_ : int
        Number of tiles sent to the model so far (memoised look-ups excluded).
    """

    def __init__(self, model, *, memoize=True):
        tiling = model.tiling_
        if tiling.n_outputs != 1 or tiling.n_channels != 1 or tiling.padding != "wrap":
            raise ValueError(
                "EDNNEnergy needs a single-output, single-channel model with "
                f"padding='wrap'; got {tiling.n_outputs} outputs, "
                f"{tiling.n_channels} channels and padding={tiling.padding!r}."
            )
        self.model = model
        self.tiling = tiling
        self._plans = {}
        self.memoize = memoize
        n_sites = math.prod(tiling.tile_shape)
        self._table = np.full(2**n_sites, np.nan) if memoize and n_sites <= 20 else None
        self.n_scored_ = 0

    def move_separation(self, shape):
        """Return the distance per axis beyond which two flips share no tile.

        Parameters
        ----------
        shape : tuple of int
            Lattice shape.

        Returns
        -------
        separation : tuple of int
            The tile side ``f + 2c`` per axis: no window of any tiling holds
            two sites that far apart.
        """
        return self.tiling.tile_shape

    def start(self, spins):
        """Keep the lattices, cache every tile's raw score, return the energies.

        Parameters
        ----------
        spins : ndarray of shape (n_replicas, L1, ..., Ld)
            Spin configurations, flipped in place from now on; every ``Li`` a
            multiple of ``f``.

        Returns
        -------
        energy : ndarray of shape (n_replicas,)
            The model's total energies.
        """
        tiling = self.tiling
        grids = tiling.as_grids(spins)
        self.spins = spins
        self.shape = spins.shape[1:]
        self.n_tiles = tiling.n_tiles(self.shape)
        # raw[k, r, t]: tile t of replica r in tiling k.
        self.raw = np.stack(
            [
                tiling.scores(grids, reduce=False, shift=shift).reshape(
                    len(spins), self.n_tiles
                )
                for shift in tiling.shifts
            ]
        )
        self._plans = {}
        self.energy_ = self._total(self.raw)
        return self.energy_.copy()

    def _total(self, raw):
        """Total energies from the cached raw scores (n_tilings, R, n_tiles)."""
        mean_sum = raw.sum(axis=2).mean(axis=0)
        return self.tiling.to_target(mean_sum[:, None], self.n_tiles)[:, 0]

    def _plan(self, sites, shift):
        """Flat tile ids, validity, flat window indices and flip mask per site.

        For every site, the tiles of the tiling moved by ``shift`` whose window
        holds it (padded to a common count, ``valid`` marking the real ones),
        the flat lattice index of every position of those windows, and where
        the site itself lies in them.
        """
        key = (sites.tobytes(), shift)
        if key in self._plans:
            return self._plans[key]
        tiling, n = self.tiling, len(sites)
        tile_ids = np.zeros((n, 1), dtype=np.int64)
        valid = np.ones((n, 1), dtype=bool)
        window_ids = np.zeros((n, 1, 1), dtype=np.int64)
        hit = np.zeros((n, 1, 1), dtype=bool)
        for axis, length in enumerate(self.shape):
            positions = sites[:, axis]
            touched = tiling.touching_tiles(positions, axis, length, shift[axis])
            width = int(touched.sum(axis=1).max())
            # The touched tiles of each site first, in tile order.
            order = np.argsort(~touched, axis=1, kind="stable")[:, :width]
            ok = np.take_along_axis(touched, order, axis=1)
            windows = tiling.tile_windows(order.ravel(), axis, length, shift[axis])
            windows = windows.reshape(n, width, -1)
            hits = windows == positions[:, None, None]
            k = valid.shape[1] * width
            tile_ids = (
                tile_ids[:, :, None] * (length // tiling.focus[axis]) + order[:, None]
            ).reshape(n, k)
            valid = (valid[:, :, None] & ok[:, None, :]).reshape(n, k)
            # Window positions combine as an outer product over axes; the
            # flipped site is hit where every axis hits.
            window_ids = (
                window_ids[:, :, None, :, None] * length + windows[:, None, :, None, :]
            ).reshape(n, k, -1)
            hit = (
                (hit[:, :, None, :, None] | (axis == 0)) & hits[:, None, :, None, :]
            ).reshape(n, k, -1)
        self._plans[key] = (tile_ids, valid, window_ids, hit)
        return self._plans[key]

    def _score(self, tiles):
        """Raw model scores of flat tiles (n, W), through the memo when possible."""
        shape = (-1, 1) + self.tiling.tile_shape
        binary = self._table is not None and np.all(np.abs(tiles) == 1)
        if not binary:
            self.n_scored_ += len(tiles)
            return self.tiling.score_tiles(tiles.reshape(shape))[:, 0]
        codes = (tiles > 0) @ (1 << np.arange(tiles.shape[1], dtype=np.int64))
        scores = self._table[codes]
        missing = np.isnan(scores)
        if missing.any():
            new_codes, first = np.unique(codes[missing], return_index=True)
            patterns = tiles[missing][first]
            self._table[new_codes] = self.tiling.score_tiles(patterns.reshape(shape))[
                :, 0
            ]
            self.n_scored_ += len(new_codes)
            scores = self._table[codes]
        return scores

    def propose(self, sites):
        """Compute the energy change of flipping each site, in every replica.

        Only the tiles whose window contains a site are re-scored, in every
        averaged tiling; the others keep their cached score.

        Parameters
        ----------
        sites : ndarray of shape (n_sites, d)
            Sites of one group (see :func:`site_groups`).

        Returns
        -------
        delta : ndarray of shape (n_replicas, n_sites)
            The model's energy change of flipping each site alone.
        """
        n_replicas = self.spins.shape[0]
        flat = self.spins.reshape(n_replicas, -1)
        change, rescored = 0.0, []
        for k, shift in enumerate(self.tiling.shifts):
            tile_ids, valid, window_ids, hit = self._plan(sites, shift)
            windows = flat[:, window_ids]  # (R, n, K, W)
            flipped = np.where(hit[None], -windows, windows)
            new = self._score(flipped.reshape(-1, window_ids.shape[-1]))
            new = new.reshape((n_replicas,) + tile_ids.shape)
            old = self.raw[k][:, tile_ids]
            change = change + np.where(valid[None], new - old, 0.0).sum(axis=2)
            rescored.append((tile_ids, valid, new))
        # Same tiles before and after: no offset in the difference.
        mean_change = change[..., None] / self.tiling.n_tilings
        delta = self.tiling.to_target(mean_change, 0)[..., 0]
        self._pending = (sites, delta, rescored)
        return delta

    def accept(self, accepted):
        """Flip the accepted sites of the last :meth:`propose`; cache their tiles.

        Parameters
        ----------
        accepted : ndarray of bool of shape (n_replicas, n_sites)
            Which flips to apply.

        Returns
        -------
        energy : ndarray of shape (n_replicas,)
            The new total energies.
        """
        sites, delta, rescored = self._pending
        for k, (tile_ids, valid, new) in enumerate(rescored):
            mask = accepted[:, :, None] & valid[None]
            replicas = np.broadcast_to(
                np.arange(len(accepted))[:, None, None], mask.shape
            )
            ids = np.broadcast_to(tile_ids[None], mask.shape)
            self.raw[k][replicas[mask], ids[mask]] = new[mask]
        _flip(self.spins, sites, accepted)
        self.energy_ = self.energy_ + np.where(accepted, delta, 0.0).sum(axis=1)
        return self.energy_
