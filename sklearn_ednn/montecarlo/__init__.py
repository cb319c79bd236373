"""Monte Carlo driven by an exact or a fitted EDNN energy: Ising spins and atoms.

Every energy follows one protocol (``start``, ``propose``, ``accept``, and the
current totals in ``energy_``), both samplers run the one Metropolis loop, and
both return a :class:`MonteCarloResult`.
"""

from ._atoms import (
    AtomsEDNNEnergy,
    CalculatorEnergy,
    atoms_metropolis,
    radial_distribution,
)
from ._energies import EDNNEnergy, ExactIsingEnergy
from ._metropolis import binder_crossing, ising_metropolis, ising_observables
from ._sampler import MonteCarloResult

__all__ = [
    "AtomsEDNNEnergy",
    "CalculatorEnergy",
    "EDNNEnergy",
    "ExactIsingEnergy",
    "MonteCarloResult",
    "atoms_metropolis",
    "binder_crossing",
    "ising_metropolis",
    "ising_observables",
    "radial_distribution",
]
