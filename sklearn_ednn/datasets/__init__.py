"""Data generators for EDNN experiments.

Like :mod:`sklearn.datasets`, generators are named ``make_*`` and return arrays.
"""

from ._ising import CRITICAL_TEMPERATURE, ising_energy, make_ising
from ._porous import PORE_DENSITY, make_porous_sheet, tersoff_energy
from ._sheets import (
    LATTICE_CONSTANT,
    SHEET_KINDS,
    label_structures,
    make_sheets,
    sheet_cell,
    tersoff_bcn,
)

__all__ = [
    "CRITICAL_TEMPERATURE",
    "LATTICE_CONSTANT",
    "PORE_DENSITY",
    "SHEET_KINDS",
    "ising_energy",
    "label_structures",
    "make_ising",
    "make_porous_sheet",
    "make_sheets",
    "sheet_cell",
    "tersoff_bcn",
    "tersoff_energy",
]
