"""Hexagonal B/C/N sheets with Tersoff energies: the paper's atoms data, remade.

Mills et al. learn DFT energies of 60-atom graphene and h-BN cells, with and
without vacancies, thermally displaced. DFT is not available here, so the
labels come from a published Tersoff potential for boron, carbon and nitrogen
(Matsunaga, Fisher and Matsubara, Jpn. J. Appl. Phys. 39, 48 (2000)), through
matscipy's many-body calculator: semi-local, many-body and extensive like the
DFT energy, and cheap enough to check every prediction on large cells.
"""

import math
import numbers
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from joblib import hash as joblib_hash
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from .._optional import require

#: Lattice constant of every generated sheet, in Angstrom (graphene's). h-BN
#: (2.50 Angstrom) is compressed by 1.6% so that all kinds share one cell,
#: as the heterostructures must.
LATTICE_CONSTANT = 2.46

#: The kinds of sheet :func:`make_sheets` draws from.
SHEET_KINDS = ("graphene", "h-BN", "heterostructure", "porous")

_MD_TIMESTEP_FS = 1.0
_MD_FRICTION = 0.02  # per fs: thermalises a sheet within about 50 fs


def tersoff_bcn():
    """A fresh matscipy calculator for the B-C-N Tersoff potential.

    Returns
    -------
    calculator : matscipy.calculators.manybody.Manybody
        The potential of Matsunaga, Fisher and Matsubara (2000), eV and
        Angstrom.

    Examples
    --------
    >>> from sklearn_ednn.datasets import sheet_cell, tersoff_bcn
    >>> sheet = sheet_cell()
    >>> sheet.calc = tersoff_bcn()
    >>> round(float(sheet.get_potential_energy()) / len(sheet), 3)
    -7.346
    """
    require("matscipy.calculators.manybody", extra="atoms", needed_for="tersoff_bcn")
    from matscipy.calculators.manybody import Manybody
    from matscipy.calculators.manybody.explicit_forms.tersoff_brenner import (
        Matsunaga_Fisher_Matsubara_Jpn_J_Appl_Phys_39_48_B_C_N as parameters,
    )
    from matscipy.calculators.manybody.explicit_forms.tersoff_brenner import (
        TersoffBrenner,
    )

    return Manybody(**TersoffBrenner(parameters))


def sheet_cell(repeat=(1, 1), kind="graphene", *, vacuum=10.0):
    """A flat hexagonal sheet in a rectangular cell of 60 atoms per repeat.

    The rectangular 4-atom cell of the honeycomb lattice, repeated 5 x 3
    times, is the paper's 60-atom cell (12.30 x 12.78 Angstrom here, 12.5 x
    13 in the paper); ``repeat`` multiplies it further.

    Parameters
    ----------
    repeat : tuple of int, default=(1, 1)
        Copies of the 60-atom cell along x and y.
    kind : {"graphene", "h-BN"}, default="graphene"
        All carbon, or alternating boron and nitrogen.
    vacuum : float, default=10.0
        Cell height along z, in Angstrom (the sheet is periodic in x and y
        only).

    Returns
    -------
    sheet : ase.Atoms
        The flat sheet, ``60 * repeat[0] * repeat[1]`` atoms.

    Examples
    --------
    >>> from sklearn_ednn.datasets import sheet_cell
    >>> sheet = sheet_cell((2, 1), kind="h-BN")
    >>> len(sheet), sheet.get_chemical_formula()
    (120, 'B60N60')
    """
    require("ase", extra="atoms", needed_for="sheet_cell")
    from ase.build import graphene, make_supercell

    if kind not in ("graphene", "h-BN"):
        raise ValueError(f"kind={kind!r} must be 'graphene' or 'h-BN'.")
    primitive = graphene(
        "C2" if kind == "graphene" else "BN", a=LATTICE_CONSTANT, vacuum=vacuum / 2
    )
    rectangle = make_supercell(primitive, [[1, 0, 0], [1, 2, 0], [0, 0, 1]])
    sheet = rectangle.repeat((5 * repeat[0], 3 * repeat[1], 1))
    sheet.wrap()
    return sheet


def _starting_sheet(kind, repeat, rng):
    """A flat sheet of ``kind`` with its defects, before thermal motion."""
    base = "h-BN" if kind == "h-BN" else "graphene"
    sheet = sheet_cell(repeat, base)
    x = sheet.positions[:, 0] / sheet.cell[0, 0]
    if kind == "heterostructure":
        # A band of h-BN across the cell, between two random x fractions.
        start, width = rng.uniform(0, 1), rng.uniform(0.25, 0.6)
        in_band = np.mod(x - start, 1.0) < width
        boron = sheet_cell(repeat, "h-BN").numbers
        sheet.numbers = np.where(in_band, boron, sheet.numbers)
    n_cells = repeat[0] * repeat[1]
    remove = np.zeros(len(sheet), dtype=bool)
    if kind == "porous":
        # One or two round holes of 1.5-3 Angstrom radius per 60-atom cell.
        for _ in range(int(rng.integers(1, 3)) * n_cells):
            centre = rng.uniform(0, 1, size=2) @ sheet.cell[:2, :2]
            distance = sheet.positions[:, :2] - centre
            distance -= (
                np.round(np.linalg.solve(sheet.cell[:2, :2].T, distance.T).T)
                @ sheet.cell[:2, :2]
            )
            remove |= np.linalg.norm(distance, axis=1) < rng.uniform(1.5, 3.0)
    elif rng.uniform() < 0.5:
        # Half of the other sheets have one to three vacancies per cell.
        n_vacancies = int(rng.integers(1, 4)) * n_cells
        remove[rng.choice(len(sheet), n_vacancies, replace=False)] = True
    del sheet[np.flatnonzero(remove)]
    return sheet


def label_structures(structures, calculator=None):
    """Label structures with the energies and forces of a potential.

    Labels any structures, for example those a fitted model's own Monte Carlo
    run visits (:meth:`~sklearn_ednn.montecarlo.MonteCarloResult.structures`),
    so that they can join a training set: the usual remedy for a
    machine-learned energy that is too low where no training structure was.

    Parameters
    ----------
    structures : list of ase.Atoms
        The structures; not modified.
    calculator : ase.calculators.calculator.Calculator, default=None
        The reference potential; None uses :func:`tersoff_bcn`, the
        potential that labels :func:`make_sheets`.

    Returns
    -------
    labelled : list of ase.Atoms
        Wrapped copies, each holding its energy and forces in a
        ``SinglePointCalculator`` (written by ``ase.io.write`` to extended XYZ,
        like :func:`make_sheets`' cache).
    energies : ndarray of shape (n_structures,)
        Total energies in eV.

    Examples
    --------
    >>> from sklearn_ednn.datasets import label_structures, sheet_cell
    >>> labelled, energies = label_structures([sheet_cell()])
    >>> round(float(energies[0]) / 60, 2)
    -7.35
    """
    from ase.calculators.singlepoint import SinglePointCalculator

    structures = list(structures)
    if not structures:
        raise ValueError("structures holds no structures to label.")
    for index, structure in enumerate(structures):
        if not hasattr(structure, "get_positions"):
            raise TypeError(
                f"structure {index} is a {type(structure).__name__}; label_structures "
                "labels ase.Atoms (build one with ase.Atoms(numbers, positions, "
                "cell=cell, pbc=True))."
            )
    calculator = tersoff_bcn() if calculator is None else calculator
    labelled, energies = [], []
    with warnings.catch_warnings():
        # matscipy's harmless `where` without `out`, as in _trajectory.
        warnings.filterwarnings(
            "ignore", message="'where' used without 'out'", category=UserWarning
        )
        for structure in structures:
            copy = structure.copy()
            copy.wrap()
            copy.calc = calculator
            energy, forces = copy.get_potential_energy(), copy.get_forces()
            copy.calc = SinglePointCalculator(copy, energy=energy, forces=forces)
            labelled.append(copy)
            energies.append(energy)
    return labelled, np.array(energies, dtype=np.float64)


def _trajectory(
    kind, repeat, temperature, n_snapshots, interval, burn_in, planar, seed
):
    """Snapshots of one Langevin run, each with its energy and forces."""
    with warnings.catch_warnings():
        # matscipy's Tersoff calls np.power(..., where=...) without out=; the
        # unset entries are masked by an outer np.where, so the warning is noise.
        warnings.filterwarnings(
            "ignore", message="'where' used without 'out'", category=UserWarning
        )
        return _run_trajectory(
            kind, repeat, temperature, n_snapshots, interval, burn_in, planar, seed
        )


def _run_trajectory(
    kind, repeat, temperature, n_snapshots, interval, burn_in, planar, seed
):
    from ase import units
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.md.langevin import Langevin

    try:
        from ase.md.velocitydistribution import thermalize_momenta
    except ImportError:  # ase < 3.29
        from ase.md.velocitydistribution import (
            MaxwellBoltzmannDistribution as thermalize_momenta,
        )

    rng = np.random.default_rng(seed)
    sheet = _starting_sheet(kind, repeat, rng)
    if planar:
        from ase.constraints import FixedPlane

        sheet.set_constraint(FixedPlane(range(len(sheet)), direction=(0, 0, 1)))
    else:
        # A small random buckle breaks the flat sheet's mirror symmetry in z.
        sheet.positions[:, 2] += rng.normal(0.0, 0.05, len(sheet))
    sheet.calc = tersoff_bcn()
    thermalize_momenta(sheet, temperature_K=temperature, rng=rng)
    dynamics = Langevin(
        sheet,
        _MD_TIMESTEP_FS * units.fs,
        temperature_K=temperature,
        friction=_MD_FRICTION / units.fs,
        fixcm=False,
        rng=rng,
    )
    dynamics.run(burn_in)
    snapshots = []
    for _ in range(n_snapshots):
        dynamics.run(interval)
        snapshot = sheet.copy()
        snapshot.set_constraint()
        snapshot.wrap()
        snapshot.calc = SinglePointCalculator(
            snapshot,
            energy=sheet.get_potential_energy(),
            forces=sheet.get_forces(),
        )
        snapshot.info.update(kind=kind, temperature=float(temperature))
        snapshots.append(snapshot)
    return snapshots


def _generate(
    n_samples,
    kinds,
    repeat,
    temperature_range,
    snapshots,
    interval,
    burn_in,
    planar,
    n_jobs,
    verbose,
    seed,
):
    """Draw the MD runs from ``seed``, run them, and keep ``n_samples``."""
    rng = np.random.default_rng(seed)
    n_runs = math.ceil(n_samples / snapshots)
    runs = [
        (
            kinds[int(rng.integers(len(kinds)))],
            float(rng.uniform(*temperature_range)),
            int(rng.integers(2**31 - 1)),
        )
        for _ in range(n_runs)
    ]
    jobs = (
        delayed(_trajectory)(kind, repeat, t, snapshots, interval, burn_in, planar, s)
        for kind, t, s in runs
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    structures = []
    for run in tqdm(results, total=n_runs, desc="sheet MD runs", disable=not verbose):
        structures.extend(run)
    return structures[:n_samples]


def make_sheets(
    n_samples=1000,
    *,
    kinds=SHEET_KINDS,
    repeat=(1, 1),
    temperature_range=(300.0, 1500.0),
    snapshots_per_run=10,
    interval=20,
    burn_in=100,
    planar=True,
    n_jobs=None,
    cache_dir=None,
    verbose=False,
    random_state=None,
):
    """Thermally displaced B/C/N sheets and their Tersoff energies.

    Each Langevin molecular-dynamics run starts from a flat sheet of a random
    kind (``kinds``), with its defects, at a temperature drawn uniformly from
    ``temperature_range``, thermalises for ``burn_in`` steps of 1 fs and then
    records ``snapshots_per_run`` configurations ``interval`` steps apart.
    Energies and forces come from the B-C-N Tersoff potential
    (:func:`tersoff_bcn`).

    Kinds: ``"graphene"`` and ``"h-BN"`` (half of them with one to three
    vacancies per 60 atoms), ``"heterostructure"`` (an h-BN band across
    graphene, also with vacancies half of the time) and ``"porous"``
    (graphene with one or two round holes of radius 1.5-3 Angstrom per 60
    atoms).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of structures.
    kinds : sequence of str, default=SHEET_KINDS
        The kinds to draw from, uniformly.
    repeat : tuple of int, default=(1, 1)
        Size of each cell in units of the 60-atom cell (12.30 x 12.78
        Angstrom), along x and y; ``(5, 5)`` gives cells 25 times larger.
    temperature_range : tuple of float, default=(300.0, 1500.0)
        Range of the MD temperatures, in kelvin.
    snapshots_per_run : int, default=10
        Structures recorded per MD run.
    interval : int, default=20
        MD steps (fs) between recorded structures.
    burn_in : int, default=100
        MD steps before the first record.
    planar : bool, default=True
        Keep every atom in the sheet's plane (motion in x and y only). A 2-D
        image projects z away, so out-of-plane ripples would be energy that no
        model of the projected image can see; pass False (and render 3-D
        images) to keep them.
    n_jobs : int, default=None
        MD runs in parallel (joblib processes); None is 1.
    cache_dir : str or path-like, default=None
        Folder for a cache of the result as extended XYZ (one file per set of
        arguments, read back with ``ase.io.read(path, ":")``, energies and
        forces included, to 8 decimals). Needs an integer ``random_state``.
    verbose : bool, default=False
        Show a progress bar over the MD runs.
    random_state : int, RandomState instance or None, default=None
        Seeds the kinds, defects, temperatures and dynamics.

    Returns
    -------
    structures : list of ase.Atoms
        The sheets, each with a calculator holding its energy and forces, and
        ``info["kind"]`` and ``info["temperature"]``.
    energy : ndarray of shape (n_samples,)
        Total potential energies in eV.

    Examples
    --------
    >>> from sklearn_ednn.datasets import make_sheets
    >>> sheets, energy = make_sheets(4, snapshots_per_run=2, burn_in=10,
    ...                              interval=5, random_state=0)
    >>> len(sheets), energy.shape, sheets[0].get_forces().shape[1]
    (4, (4,), 3)
    """
    unknown = set(kinds) - set(SHEET_KINDS)
    if unknown or not len(kinds):
        raise ValueError(
            f"kinds={kinds!r}: each kind must be one of {SHEET_KINDS}, and at "
            f"least one is needed."
        )
    low, high = temperature_range
    if not 0 < low <= high:
        raise ValueError(
            f"temperature_range={temperature_range!r} must be (low, high) with "
            f"0 < low <= high, in kelvin."
        )
    for name, value, minimum in [
        ("n_samples", n_samples, 1),
        ("snapshots_per_run", snapshots_per_run, 1),
        ("interval", interval, 1),
        ("burn_in", burn_in, 0),
    ]:
        if int(value) != value or value < minimum:
            raise ValueError(f"{name}={value!r} must be an integer >= {minimum}.")
    repeat = tuple(int(r) for r in repeat)
    if len(repeat) != 2 or min(repeat) < 1:
        raise ValueError(f"repeat={repeat!r} must be two positive integers.")
    if cache_dir is not None and not isinstance(random_state, numbers.Integral):
        raise ValueError(
            "cache_dir needs an integer random_state: only then is the result "
            "the same every time, and safe to reuse."
        )
    seed = int(check_random_state(random_state).randint(2**31 - 1))
    arguments = (
        int(n_samples),
        tuple(kinds),
        repeat,
        (float(low), float(high)),
        int(snapshots_per_run),
        int(interval),
        int(burn_in),
        bool(planar),
    )
    if cache_dir is None:
        structures = _generate(*arguments, n_jobs, verbose, seed)
    else:
        structures = _cached(Path(cache_dir), arguments, n_jobs, verbose, seed)
    energy = np.array([s.get_potential_energy() for s in structures])
    return structures, energy


def _cached(folder, arguments, n_jobs, verbose, seed):
    """Read the structures from the extended-XYZ cache, or make and write them."""
    from ase.io import read, write

    path = folder / f"sheets_{joblib_hash((arguments, seed))}.extxyz"
    if path.exists():
        return read(path, ":")
    structures = _generate(*arguments, n_jobs, verbose, seed)
    folder.mkdir(parents=True, exist_ok=True)
    # Write to a temporary file and rename: an interrupted run leaves no
    # half-written cache behind.
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".extxyz.tmp")
    os.close(handle)
    try:
        write(temporary, structures, format="extxyz")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return structures
