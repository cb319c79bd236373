"""Held-out and transfer errors of any saved atoms pipeline (AtomImage + EDNN).

``atoms_paper.py`` scores the model it trains on the held-out 60-atom cells
and on cells 4, 16 and 25 times larger. Models fitted elsewhere
(``atoms_forces.py``, ``atoms_active.py``) are saved as pipelines in
``.cache`` but scored on the 60-atom cells only. This script gives any of them
``atoms_paper.py``'s held-out and transfer rows, against the Tersoff energies:
mean, median and mean signed error per atom, with one tiling and with the
predictions averaged over 16 tilings (``average_shifts=4``), and the 25x /
60-atom ratio.

Usage: ``python benchmarks/atoms_transfer.py [--quick] [--model PATH]
[--name NAME]``. The default model is ``atoms_paper.py``'s
(``.cache/atoms_paper_ednn.joblib``, or its quick run's with ``--quick``);
the results go to ``results/atoms_transfer/<name>.json``.
"""

import copy
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from _common import (
    AVERAGE_SHIFTS,
    CACHE,
    cell_area,
    cell_counts,
    errors_mev,
    make_parser,
    save_json,
    transfer_cells,
)

from sklearn_ednn.datasets import make_sheets

# matscipy's Tersoff: a harmless numpy `where` without `out` on every call.
warnings.filterwarnings("ignore", message="'where' used without 'out'")


def scored_sets(quick):
    """``(label, structures, energies, cell area)`` of the held-out and larger cells.

    The same cells as ``atoms_paper.py``'s run of the same size: the last
    ``n_test`` of its MD sheets, and its transfer cells.
    """
    n_train, n_test, big_counts = cell_counts(quick)
    area = cell_area()
    sheets, energy = make_sheets(
        n_train + n_test, random_state=0, cache_dir=CACHE, n_jobs=2
    )
    yield "60 atoms", sheets[n_train:], energy[n_train:], area
    for k, big, big_energy in transfer_cells(big_counts):
        yield f"{k * k}x", big, big_energy, k * k * area


def scores(predicted, structures, energies, area):
    """``errors_mev`` and the mean signed error per atom of one set of cells."""
    n_atoms = np.array([len(s) for s in structures])
    return {
        **errors_mev(predicted, energies, n_atoms, area),
        "mean_signed_meV_per_atom": float(
            np.mean(1000 * (predicted - energies) / n_atoms)
        ),
        "n_cells": len(structures),
        "atoms": int(n_atoms.mean()),
    }


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--model", type=Path, help="a saved AtomImage + EDNN pipeline")
    parser.add_argument("--name", help="name of the JSON in results/atoms_transfer/")
    args = parser.parse_args()
    run = "atoms_paper_quick" if args.quick else "atoms_paper"
    path = args.model or CACHE / f"{run}_ednn.joblib"
    if not path.exists():
        parser.error(
            f"no saved pipeline at {path}: run atoms_paper.py (or atoms_forces.py) "
            "first, or give --model"
        )
    name = args.name or f"{path.stem.removesuffix('_ednn')}_transfer"
    tic = time.perf_counter()
    (_, image), (_, model) = joblib.load(path).steps
    # The same EDNN with its predictions averaged over 16 tilings.
    averaged = copy.deepcopy(model).set_params(average_shifts=AVERAGE_SHIFTS)
    results = {}
    for label, structures, energies, area in scored_sets(args.quick):
        images = image.transform(structures)
        results[label] = {
            kind: scores(ednn.predict(images), structures, energies, area)
            for kind, ednn in [("one_tiling", model), ("averaged_16_tilings", averaged)]
        }
        print(label, results[label]["one_tiling"], flush=True)
    ratio = {
        kind: results["25x"][kind]["mean_meV_per_atom"]
        / results["60 atoms"][kind]["mean_meV_per_atom"]
        for kind in ("one_tiling", "averaged_16_tilings")
    }

    print(f"\n{path.name}: errors against Tersoff, meV/atom")
    print(
        f"{'cells':<10} {'atoms':>6} {'mean':>7} {'median':>7} {'signed':>7} "
        f"{'mean, 16 tilings':>17}"
    )
    for label, row in results.items():
        one, many = row["one_tiling"], row["averaged_16_tilings"]
        print(
            f"{label:<10} {one['atoms']:>6} {one['mean_meV_per_atom']:>7.2f} "
            f"{one['median_meV_per_atom']:>7.2f} "
            f"{one['mean_signed_meV_per_atom']:>+7.2f} "
            f"{many['mean_meV_per_atom']:>17.2f}"
        )
    print(
        f"25x / 60-atom mean error per atom: {ratio['one_tiling']:.2f} "
        f"(16 tilings {ratio['averaged_16_tilings']:.2f}); target <= 1.5"
    )
    result = {
        "model": path.name,
        "quick": args.quick,
        "average_shifts": AVERAGE_SHIFTS,
        "sets": results,
        "transfer_ratio_25x": ratio,
        "minutes": (time.perf_counter() - tic) / 60,
    }
    print(f"saved {save_json(name, result, args)}")


if __name__ == "__main__":
    main()
