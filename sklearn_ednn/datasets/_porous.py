"""Porous graphene of any size, built from arrays, and its Tersoff energy in bands.

Mills et al. (2019, section 3.2.2) cut regions of various sizes at random out
of pristine 35 x 35 Angstrom graphene sheets, trained on ~500-atom cells and
predicted a 35.2-million-atom sheet of 1.0 um^2. :func:`make_porous_sheet`
builds such sheets of any size from numpy arrays alone (a 35-million-atom
sheet in seconds): a honeycomb lattice in a rectangular cell, round pores
placed by a Poisson process, every atom displaced at random in the plane.
:func:`tersoff_energy` labels it with the B-C-N Tersoff potential band by
band, so that the energy of a sheet far too large for one neighbour list is
still known exactly.
"""

import math
import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import Bunch, check_random_state
from tqdm.auto import tqdm

from ..atoms._grid import periodic_window
from ..atoms._transformer import structure_arrays
from ._sheets import LATTICE_CONSTANT, tersoff_bcn

__all__ = ["make_porous_sheet", "tersoff_energy"]

#: Rectangular cell of the honeycomb lattice: 4 atoms, a by a * sqrt(3).
_UNIT = (LATTICE_CONSTANT, LATTICE_CONSTANT * math.sqrt(3))
_BASIS = np.array([[0.0, 0.0], [0.5, 1 / 6], [0.5, 0.5], [0.0, 2 / 3]])
#: Pores per nm^2 at which a 1.0 um^2 sheet holds 35.2 million atoms, the
#: paper's sheet, with the default pore radii (2 to 5 Angstrom).
PORE_DENSITY = 0.1983
# Pores handled per vectorised batch (bounds the candidate arrays to ~100 MB).
_PORES_PER_BATCH = 20_000
# Tersoff's B-C-N cutoff is at most 2.1 Angstrom; a per-atom energy reads its
# neighbours' neighbours, so each band is computed with a halo of twice that.
_TERSOFF_HALO = 4.5


def _check_repeat(repeat):
    if isinstance(repeat, numbers.Integral):
        repeat = (repeat, repeat)
    repeat = tuple(repeat)
    if len(repeat) != 2 or not all(
        isinstance(n, numbers.Integral) and n >= 1 for n in repeat
    ):
        raise ValueError(
            f"repeat={repeat!r} must be one or two positive integers: rectangular "
            f"cells of {_UNIT[0]:.3f} x {_UNIT[1]:.4f} Angstrom along x and y."
        )
    return repeat


def make_porous_sheet(
    repeat=(14, 8),
    *,
    pore_density=PORE_DENSITY,
    pore_radius=(2.0, 5.0),
    displacement=0.05,
    vacuum=10.0,
    random_state=None,
):
    """A porous graphene sheet of any size, as plain arrays.

    A flat honeycomb lattice of carbon in a rectangular periodic cell of
    ``repeat`` 4-atom cells (2.46 x 4.26 Angstrom each), with round pores cut
    at random and every atom displaced in the plane: the paper's porous
    graphene (Mills et al. 2019, section 3.2.2). The default ``repeat``
    gives its ~500-atom, 35 x 35 Angstrom training cells; ``(4065, 2348)``
    gives its 35.2-million-atom sheet of 1.0 um^2, in seconds. The arrays are
    the keyword arguments of ``ase.Atoms``, so ``ase.Atoms(**sheet)`` makes
    a structure of a small sheet, and every consumer in this package also
    takes the arrays themselves.

    Parameters
    ----------
    repeat : int or tuple of int, default=(14, 8)
        Rectangular cells along x and y.
    pore_density : float, default=0.1983
        Mean number of pores per nm^2 (a Poisson process: a cell of area
        ``A`` has a Poisson number of mean ``pore_density * A`` of them).
    pore_radius : tuple of float, default=(2.0, 5.0)
        Pore radii are drawn uniformly from this range, in Angstrom; an atom
        closer to a pore's centre than its radius is removed.
    displacement : float, default=0.05
        Standard deviation of each atom's random displacement along x and y,
        in Angstrom (the sheet stays flat).
    vacuum : float, default=10.0
        Cell height along z, in Angstrom.
    random_state : int, RandomState instance or None, default=None
        Seeds the pores and the displacements.

    Returns
    -------
    sheet : sklearn.utils.Bunch
        ``positions`` (n_atoms, 3) float64 in Angstrom, ``numbers`` (n_atoms,)
        uint8 atomic numbers (all 6), ``cell`` (3, 3) and ``pbc`` (periodic in
        x and y).

    Examples
    --------
    >>> import ase
    >>> from sklearn_ednn.datasets import make_porous_sheet
    >>> sheet = make_porous_sheet(random_state=0)
    >>> sheet.positions.shape[0] < 448, sheet.cell.diagonal()[:2].round(2).tolist()
    (True, [34.44, 34.09])
    >>> ase.Atoms(**sheet).get_chemical_formula()[0]
    'C'
    """
    nx, ny = _check_repeat(repeat)
    low, high = (float(r) for r in pore_radius)
    if not (0 < low <= high):
        raise ValueError(
            f"pore_radius={pore_radius!r} must be (low, high) with 0 < low <= high."
        )
    if not (pore_density >= 0 and displacement >= 0 and vacuum > 0):
        raise ValueError(
            f"pore_density={pore_density!r} and displacement={displacement!r} "
            f"must be non-negative, vacuum={vacuum!r} positive."
        )
    rng = check_random_state(random_state)
    lengths = np.array([nx * _UNIT[0], ny * _UNIT[1]])
    n_pores = rng.poisson(pore_density * lengths.prod() / 100)
    centres = rng.uniform(0, 1, size=(n_pores, 2)) * lengths
    radii = rng.uniform(low, high, size=n_pores)
    keep = np.ones(nx * ny * 4, dtype=bool)
    for start in range(0, n_pores, _PORES_PER_BATCH):
        batch = slice(start, start + _PORES_PER_BATCH)
        keep[_atoms_in_pores(centres[batch], radii[batch], high, (nx, ny))] = False
    index = np.flatnonzero(keep)
    positions = np.zeros((len(index), 3))
    positions[:, :2] = _lattice_positions(index, ny)
    positions[:, :2] += rng.normal(0, displacement, size=(len(index), 2))
    positions[:, :2] %= lengths
    positions[:, 2] = vacuum / 2
    return Bunch(
        positions=positions,
        numbers=np.full(len(index), 6, dtype=np.uint8),
        cell=np.diag([*lengths, vacuum]),
        pbc=np.array([True, True, False]),
    )


def _lattice_positions(index, ny):
    """In-plane positions of lattice atoms ``index = (ix * ny + iy) * 4 + k``."""
    cell, k = np.divmod(index, 4)
    ix, iy = np.divmod(cell, ny)
    return (np.stack([ix, iy], axis=1) + _BASIS[k]) * np.array(_UNIT)


def _atoms_in_pores(centres, radii, max_radius, repeat):
    """Lattice indices of the atoms inside any of the pores (periodic cell)."""
    nx, ny = repeat
    unit = np.array(_UNIT)
    # Every pore's box of rectangular cells, the same size for all pores.
    box = np.ceil(2 * max_radius / unit).astype(int) + 2
    first = np.floor((centres - max_radius) / unit).astype(int) - 1
    dx, dy, k = np.meshgrid(np.arange(box[0]), np.arange(box[1]), np.arange(4))
    ix = first[:, :1] + dx.ravel()  # (n_pores, candidates)
    iy = first[:, 1:] + dy.ravel()
    k = np.broadcast_to(k.ravel(), ix.shape)
    # Unwrapped positions beside the centre, so no minimum image is needed.
    x = (ix + _BASIS[k, 0]) * unit[0] - centres[:, :1]
    y = (iy + _BASIS[k, 1]) * unit[1] - centres[:, 1:]
    inside = x * x + y * y < radii[:, None] ** 2
    index = ((ix[inside] % nx) * ny + iy[inside] % ny) * 4 + k[inside]
    return np.unique(index)


def tersoff_energy(sheet, *, band_width=200.0, n_jobs=None, verbose=0):
    """Tersoff energy of a periodic sheet of any size, computed band by band.

    The sheet is cut into bands along x; each band's atoms are labelled with
    their neighbours within a halo on either side by matscipy's B-C-N
    Tersoff potential (:func:`~sklearn_ednn.datasets.tersoff_bcn`), and only
    the band's own per-atom energies are kept. Since Tersoff's energy is a
    sum of per-atom energies of finite range, the sum over the bands is the
    energy of the whole sheet, without a neighbour list of the whole sheet.

    Parameters
    ----------
    sheet : ase.Atoms or mapping
        A structure periodic in x and y with an orthorhombic cell: an
        ``ase.Atoms`` or the arrays of :func:`make_porous_sheet`
        (``positions``, ``numbers``, ``cell``).
    band_width : float, default=200.0
        Width of each band along x, in Angstrom; memory grows with it.
    n_jobs : int, default=None
        Bands computed at once (joblib semantics).
    verbose : int, default=0
        1 shows a progress bar over the bands.

    Returns
    -------
    energy : float
        Total energy in eV.

    Examples
    --------
    >>> import ase
    >>> from sklearn_ednn.datasets import make_porous_sheet, tersoff_energy, tersoff_bcn
    >>> sheet = make_porous_sheet((20, 12), random_state=0)
    >>> atoms = ase.Atoms(**sheet, calculator=tersoff_bcn())
    >>> whole = atoms.get_potential_energy()
    >>> bool(abs(tersoff_energy(sheet, band_width=15.0) - whole) < 1e-8 * abs(whole))
    True
    """
    positions, numbers, cell = _sheet_arrays(sheet)
    length = cell[0, 0]
    if not band_width > 0:
        raise ValueError(f"band_width={band_width!r} must be positive (Angstrom).")
    n_bands = int(length // band_width)
    if n_bands < 3 or length < 4 * _TERSOFF_HALO:
        # Too narrow for bands whose halos stay apart: the periodic sheet whole.
        return _band_energy(positions, numbers, cell, 0, length)
    edges = np.linspace(0, length, n_bands + 1)
    x = positions[:, 0] % length
    order = np.argsort(x, kind="stable")
    x_sorted = x[order]

    def job(lo, hi):
        # Only the band's atoms travel to a worker, never the whole sheet.
        halo = _TERSOFF_HALO
        index = order[periodic_window(x_sorted, lo - halo, hi + halo, length)]
        return delayed(_band_energy)(positions[index], numbers[index], cell, lo, hi)

    jobs = (job(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]))
    bar = dict(total=n_bands, disable=not verbose, desc="Tersoff", unit="band")
    energies = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    return float(math.fsum(tqdm(energies, **bar)))


def _sheet_arrays(sheet):
    positions, numbers, cell = structure_arrays(sheet)
    cell = np.diag(cell) if cell.shape == (3,) else cell
    if not np.allclose(cell, np.diag(np.diag(cell))):
        raise ValueError(
            f"tersoff_energy needs an orthorhombic cell; got {cell.tolist()}."
        )
    return np.asarray(positions, dtype=np.float64), np.asarray(numbers), cell


def _band_energy(positions, numbers, cell, lo, hi):
    """Sum of the per-atom Tersoff energies of the atoms with x in [lo, hi).

    The band of ``[0, length)`` is the whole sheet, periodic; any other band
    is open along x, its atoms given with their halo.
    """
    import ase

    length = cell[0, 0]
    if lo == 0 and hi == length:
        atoms = ase.Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)
        return _per_atom_energies(atoms).sum()
    band = positions.copy()
    # Unwrap the band around its centre; the band is open along x.
    centre = (lo + hi) / 2
    band[:, 0] = (band[:, 0] - centre + length / 2) % length - length / 2 + centre
    band[:, 0] -= lo - 2 * _TERSOFF_HALO
    box = cell.copy()
    box[0, 0] = hi - lo + 4 * _TERSOFF_HALO
    atoms = ase.Atoms(
        numbers=numbers, positions=band, cell=box, pbc=[False, True, True]
    )
    per_atom = _per_atom_energies(atoms)
    own = (band[:, 0] >= 2 * _TERSOFF_HALO) & (band[:, 0] < 2 * _TERSOFF_HALO + hi - lo)
    return math.fsum(per_atom[own])


def _per_atom_energies(atoms):
    atoms.calc = tersoff_bcn()
    with warnings.catch_warnings():
        # matscipy's harmless `where` without `out` (see _sheets).
        warnings.filterwarnings("ignore", message="'where' used without 'out'")
        return atoms.get_potential_energies()
