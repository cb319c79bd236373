"""What every Monte Carlo run shares: the energy protocol, the loop, the result.

An energy (spins or atoms, exact or an EDNN) answers three calls:

``start(state)``
    Keep the state (a batch of spin lattices, or a structure) and return the
    total energy of each replica, shape ``(n_replicas,)``; ``energy_`` holds
    the current totals from then on.
``propose(moves)``
    The energy change of each of a set of independent moves in every replica,
    shape ``(n_replicas, n_moves)``: a group of sites to flip
    (``(n_sites, d)``), or one atom's move ``(index, position)``.
``accept(accepted)``
    Apply the moves marked True (shape ``(n_replicas, n_moves)``), discard
    the others, and return the new totals.

An energy of spins also answers ``move_separation(shape)``: the distance per
axis beyond which two flips do not change each other's energy change, so that
the sampler proposes such flips together.

:func:`metropolis_steps` is the one Metropolis loop over such an energy, and
:class:`MonteCarloResult` the one result type of the samplers.
"""

import numpy as np
from sklearn.utils import Bunch

from .._metropolis_rule import metropolis_accept
from .._validation import first_non_finite_row

__all__ = ["MonteCarloResult", "metropolis_steps"]


def check_finite_energy(values, what):
    """Raise before a sampler acts on an energy that is not finite.

    Parameters
    ----------
    values : array-like
        Energies or energy changes, one row per replica.
    what : str
        What they are, for the message (e.g. "the starting energy").

    Raises
    ------
    FloatingPointError
        Naming the first replica whose value is NaN or infinite.
    """
    rows = np.asarray(values, dtype=np.float64)
    rows = rows.reshape(len(rows), -1)
    replica = first_non_finite_row(rows)
    if replica is not None:
        value = rows[replica][~np.isfinite(rows[replica])][0]
        raise FloatingPointError(
            f"{what} of replica {replica} is {value}, not finite; the energy "
            "model fails on this state, so Monte Carlo stops instead of "
            "sampling on it."
        )


def metropolis_steps(energy, moves, beta, rng):
    """Run Metropolis over a sequence of moves; yield what each step did.

    Parameters
    ----------
    energy : object
        An energy of the protocol above, already started.
    moves : iterable
        The moves of every step, as ``energy.propose`` takes them; drawn
        lazily, so a generator may use ``rng`` too.
    beta : float or ndarray of shape (n_replicas, 1)
        Inverse temperature of every replica.
    rng : numpy.random.RandomState
        Draws the acceptance of every move.

    Yields
    ------
    move : object
        The move, as drawn from ``moves``.
    changes : ndarray of shape (n_replicas, n_moves)
        The proposed energy changes.
    accepted : ndarray of bool of shape (n_replicas, n_moves)
        Which of them were applied.
    """
    for step, move in enumerate(moves):
        changes = energy.propose(move)
        check_finite_energy(changes, f"the energy change of step {step}")
        accepted = metropolis_accept(changes, beta, rng)
        energy.accept(accepted)
        yield move, changes, accepted


class MonteCarloResult(Bunch):
    """What a Monte Carlo run returns: samples, energies, acceptance, timing.

    A :class:`~sklearn.utils.Bunch`: keys are also attributes. Every run has
    ``energies`` (the sampled energies, as the driving energy sees them),
    ``acceptance`` (fraction of moves accepted) and ``seconds_per_step``
    (wall time per attempted move); each sampler adds its own (see
    :func:`~sklearn_ednn.montecarlo.ising_metropolis` and
    :func:`~sklearn_ednn.montecarlo.atoms_metropolis`).

    Parameters
    ----------
    **kwargs : dict
        The run's results, by name.
    """

    def structures(self, atoms):
        """The sampled positions of an atoms run as structures, to label.

        A model's own Monte Carlo run goes where its energy is too low; these
        structures, labelled by the reference potential (see
        :func:`sklearn_ednn.datasets.label_structures`), teach it otherwise.

        Parameters
        ----------
        atoms : ase.Atoms
            The run's starting structure (its cell and atomic numbers).

        Returns
        -------
        structures : list of ase.Atoms
            One copy of ``atoms`` per sample, at the sampled positions,
            without a calculator.
        """
        if "positions" not in self:
            raise ValueError(
                "This result has no sampled positions: structures come from "
                "atoms_metropolis runs."
            )
        if self.positions.shape[1] != len(atoms):
            raise ValueError(
                f"The samples have {self.positions.shape[1]} atoms but the "
                f"structure has {len(atoms)}; pass the run's starting structure."
            )
        structures = []
        for positions in self.positions:
            structure = atoms.copy()
            structure.calc = None
            structure.set_positions(positions)
            structures.append(structure)
        return structures
