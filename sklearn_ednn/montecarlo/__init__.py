"""Monte Carlo driven by an exact or a fitted EDNN energy: Ising spins and atoms."""

from ._atoms import (
    AtomsEDNNEnergy,
    AtomsMonteCarloResult,
    CalculatorEnergy,
    atoms_metropolis,
    radial_distribution,
)
from ._energies import EDNNEnergy, ExactIsingEnergy
from ._metropolis import binder_crossing, ising_metropolis, ising_observables

__all__ = [
    "AtomsEDNNEnergy",
    "AtomsMonteCarloResult",
    "CalculatorEnergy",
    "EDNNEnergy",
    "ExactIsingEnergy",
    "atoms_metropolis",
    "binder_crossing",
    "ising_metropolis",
    "ising_observables",
    "radial_distribution",
]
