"""Data generators for EDNN experiments.

Like :mod:`sklearn.datasets`, generators are named ``make_*`` and return arrays.
"""

from ._ising import CRITICAL_TEMPERATURE, ising_energy, make_ising

__all__ = ["CRITICAL_TEMPERATURE", "ising_energy", "make_ising"]
