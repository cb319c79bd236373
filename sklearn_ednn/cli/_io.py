"""What the command line reads and writes: grids, structures, predictions, configs."""

import csv
from pathlib import Path

import numpy as np

from .._optional import require

__all__ = [
    "STRUCTURE_SUFFIXES",
    "read_config",
    "read_grids",
    "read_structures",
    "write_predictions",
]

GRID_SUFFIXES = (".npz", ".h5", ".hdf5")
STRUCTURE_SUFFIXES = (".xyz", ".extxyz")
OUTPUT_SUFFIXES = (".csv", ".npz", *STRUCTURE_SUFFIXES)


class InputError(ValueError):
    """Bad input to a command: the message says what and how to fix it."""


def _suffix(path, allowed, what):
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise InputError(
            f"{path}: {what} must end in {', '.join(allowed)}, not "
            f"{suffix or '(none)'!r}."
        )
    return suffix


def read_grids(path, x_key="X", y_key=None):
    """Grids (and targets, if ``y_key``) from an NPZ file or an HDF5 file.

    An HDF5 dataset is returned as the h5py dataset itself, so that
    prediction reads it band by band; the file stays open until exit.
    """
    suffix = _suffix(path, GRID_SUFFIXES, "grid data")
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    else:
        h5py = require("h5py", extra="atoms", needed_for="reading HDF5 grids")
        arrays = h5py.File(path, "r")
    missing = [key for key in (x_key, y_key) if key is not None and key not in arrays]
    if missing:
        raise InputError(
            f"{path} has no {' or '.join(map(repr, missing))}; it holds "
            f"{sorted(arrays.keys())}. Name the arrays with --x-key and --y-key."
        )
    X = arrays[x_key]
    y = None if y_key is None else np.asarray(arrays[y_key], dtype=np.float64)
    return X, y


def read_structures(path, energy_key=None):
    """Structures of an extended XYZ file, and their energies if they have any.

    Energies come from ``atoms.info[energy_key]``, or, by default, from the
    energy the file gives each frame (ASE's ``energy`` key).
    """
    _suffix(path, STRUCTURE_SUFFIXES, "structures")
    ase_io = require("ase.io", extra="atoms", needed_for="reading structures")
    structures = ase_io.read(path, index=":")
    if not structures:
        raise InputError(f"{path} holds no structures.")
    energies = []
    for atoms in structures:
        if energy_key is not None:
            energy = atoms.info.get(energy_key)
        elif atoms.calc is not None and "energy" in atoms.calc.results:
            energy = atoms.calc.results["energy"]
        else:
            energy = None
        energies.append(energy)
    if any(energy is None for energy in energies):
        return structures, None
    return structures, np.asarray(energies, dtype=np.float64)


def read_config(path):
    """The settings of a TOML or YAML config file, as a dict."""
    suffix = _suffix(path, (".toml", ".yaml", ".yml"), "a config file")
    text = Path(path).read_text()
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            tomllib = require("tomli", extra="cli", needed_for="TOML configs")
        config = tomllib.loads(text)
    else:
        yaml = require("yaml", extra="cli", needed_for="YAML configs")
        config = yaml.safe_load(text)
    if not isinstance(config, dict):
        raise InputError(f"{path} must hold a table of settings, not {config!r:.60}.")
    return {str(key).replace("-", "_"): value for key, value in config.items()}


def write_predictions(path, predictions, *, contributions=None, structures=None):
    """Write predictions as CSV, NPZ (with contributions) or extended XYZ."""
    suffix = _suffix(path, OUTPUT_SUFFIXES, "the output")
    if contributions is not None and suffix != ".npz":
        raise InputError(f"{path}: contribution maps are written to .npz files only.")
    if suffix == ".csv":
        with open(path, "w", newline="") as file:
            writer = csv.writer(file)
            columns = 1 if predictions.ndim == 1 else predictions.shape[1]
            writer.writerow(["index"] + [f"prediction_{i}" for i in range(columns)])
            for index, row in enumerate(predictions.reshape(len(predictions), -1)):
                writer.writerow([index, *map(repr, map(float, row))])
    elif suffix == ".npz":
        arrays = {"prediction": predictions}
        if contributions is not None:
            arrays["contributions"] = contributions
        np.savez(path, **arrays)
    else:
        if structures is None:
            raise InputError(f"{path}: extended XYZ output needs structures as input.")
        ase_io = require("ase.io", extra="atoms", needed_for="writing structures")
        written = []
        for atoms, energy in zip(structures, predictions):
            atoms = atoms.copy()
            atoms.info["ednn_energy"] = float(energy)
            written.append(atoms)
        ase_io.write(path, written, format="extxyz")
