"""Monte Carlo driven by an exact or a fitted EDNN energy."""

from ._energies import EDNNEnergy, ExactIsingEnergy
from ._metropolis import binder_crossing, ising_metropolis, ising_observables

__all__ = [
    "EDNNEnergy",
    "ExactIsingEnergy",
    "binder_crossing",
    "ising_metropolis",
    "ising_observables",
]
