"""The fully convolutional atoms network against TileCNN at equal training time.

:func:`sklearn_ednn.atoms.make_atoms_ednn` builds the same recipe (f = c = 16,
SiLU, reference energies per element, random moves of every batch, Adam with
a cosine schedule) around either network: the paper's 13-convolution
``TileCNN`` at half width (``network="cnn"``), or ``TileFCN``
(``network="fcn"``), which scores every tile of a cell in one pass over the
padded image and so shares the work of overlapping contexts. The cheaper
arithmetic buys epochs: here each network trains for the same wall time.

Two fits, on ``atoms_paper.py``'s 6 000 training and 1 000 held-out 60-atom
cells:

* ``energies``: energies alone, with the output layer's refit, against
  ``atoms_paper.py``'s EDNN (60 epochs);
* ``forces``: energies and forces (``force_weight`` 10 Angstrom^2), against
  ``atoms_forces.py``'s 6 000-cell fit (30 epochs).

For each, one probe per network (two epochs on the first 1 500 cells, the
second timed, in this run) gives the ratio of their epoch times, and the
fully convolutional network trains for the reference's epochs times that
ratio. It then reports the held-out energy error (and force error, through
``EDNNCalculator``) and the 4x, 16x and 25x transfer errors, beside the
reference's, read from its committed JSON. ``--quick`` trains both networks
here, on 400 cells, so that it runs in minutes and needs no saved result.

Saves ``results/atoms_fcn/atoms_fcn_<fit>.json`` (``..._quick.json``) after
each fit, and the fitted pipelines as ``.cache/atoms_fcn_<fit>.joblib``.

Usage: ``python benchmarks/atoms_fcn.py [--quick] [--fits energies forces]``.
"""

import time
import warnings

import joblib
import numpy as np
from _common import (
    CACHE,
    cell_area,
    cell_counts,
    errors_mev,
    held_out_errors,
    load_json,
    make_parser,
    paper_split,
    save_json,
    transfer_cells,
)
from sklearn.pipeline import make_pipeline

from sklearn_ednn.atoms import make_atoms_ednn

# matscipy's Tersoff: a harmless numpy `where` without `out` on every call.
warnings.filterwarnings("ignore", message="'where' used without 'out'")

CELL_AREA = cell_area()  # Angstrom^2
FORCE_WEIGHT = 10.0  # Angstrom^2, as in atoms_forces.py's 6 000-cell fit
PROBE_CELLS = 1500
PROBE_EPOCHS = 2

# The TileCNN fits at full size: the committed result, its epochs and where
# each figure lies in it.
REFERENCE = {
    "energies": {"script": "atoms_paper", "name": "atoms_paper", "epochs": 60},
    "forces": {"script": "atoms_forces", "name": "atoms_forces_6000", "epochs": 30},
}


def make_model(network, fit, epochs):
    """The recipe around ``network`` for one fit (energies, or with forces)."""
    model = make_atoms_ednn(network=network, max_epochs=epochs, verbose=1)
    if fit == "forces":
        model.set_params(force_weight=FORCE_WEIGHT)
    return model


def epoch_seconds(network, fit, X, y, forces):
    """Seconds of one warm training epoch of ``network`` on these cells."""
    model = make_model(network, fit, PROBE_EPOCHS)
    model.fit(X, y, forces=forces if fit == "forces" else None)
    return float(model.estimator_.history[-1, "dur"])


def saved_reference(fit):
    """The committed TileCNN figures of ``fit`` in this script's layout."""
    spec = REFERENCE[fit]
    saved = load_json(spec["name"], script=spec["script"])
    if fit == "energies":
        return {
            "source": f"results/{spec['script']}/{spec['name']}.json",
            "epochs": spec["epochs"],
            "train_minutes": saved["ednn_train_minutes"],
            "test": saved["test"]["ednn"],
            "transfer": {
                size: {"mean_meV_per_atom": row["mean_meV_per_atom"]}
                for size, row in saved["transfer"].items()
            },
        }
    run = saved["runs"]["forces_10"]
    return {
        "source": f"results/{spec['script']}/{spec['name']}.json",
        "epochs": spec["epochs"],
        "train_minutes": run["seconds_per_epoch"] * spec["epochs"] / 60,
        "test": {
            "mean_meV_per_atom": run["energy_mean_meV_per_atom"],
            "median_meV_per_atom": run["energy_median_meV_per_atom"],
        },
        "force_mean_eV_per_A": run["force_mean_eV_per_A"],
        "transfer": None,
    }


def evaluate(pipeline, fit, test, y_test, big_cells):
    """Held-out and transfer errors of a fitted pipeline."""
    n_atoms = np.array([len(s) for s in test])
    result = {
        "test": errors_mev(pipeline.predict(test), y_test, n_atoms, CELL_AREA),
        "transfer": {},
    }
    if fit == "forces":
        result["force_mean_eV_per_A"] = held_out_errors(pipeline, test, y_test)[
            "force_mean_eV_per_A"
        ]
    for k, big, big_energy in big_cells:
        atoms = np.array([len(s) for s in big])
        result["transfer"][f"{k * k}x"] = errors_mev(
            pipeline.predict(big), big_energy, atoms, k * k * CELL_AREA
        )
    return result


def run_fit(fit, quick, image, data, big_cells):
    """Probe both networks, train TileFCN for TileCNN's time, and score it."""
    (X_train, y_train, forces), (test, y_test) = data
    probe = slice(0, min(PROBE_CELLS, len(X_train)))
    probe_forces = None if forces is None else forces[probe]
    seconds = {
        network: epoch_seconds(
            network, fit, X_train[probe], y_train[probe], probe_forces
        )
        for network in ("cnn", "fcn")
    }
    reference_epochs = 2 if quick else REFERENCE[fit]["epochs"]
    epochs = max(1, round(reference_epochs * seconds["cnn"] / seconds["fcn"]))
    print(f"{fit}: epoch seconds {seconds}; fcn trains {epochs} epochs", flush=True)

    trained = {"fcn": epochs, "cnn": reference_epochs} if quick else {"fcn": epochs}
    rows = {}
    for network, network_epochs in trained.items():
        model = make_model(network, fit, network_epochs)
        tic = time.perf_counter()
        model.fit(X_train, y_train, forces=forces if fit == "forces" else None)
        minutes = (time.perf_counter() - tic) / 60
        pipeline = make_pipeline(image, model)
        if not quick:
            joblib.dump(pipeline, CACHE / f"atoms_fcn_{fit}.joblib")
        rows[network] = {
            "module_params": {
                name: repr(value)
                for name, value in model.estimator.get_params().items()
                if name.startswith("module")
            },
            "epochs": network_epochs,
            "train_minutes": minutes,
            **evaluate(pipeline, fit, test, y_test, big_cells),
        }
        print(network, rows[network], flush=True)
    if not quick:
        rows["cnn"] = saved_reference(fit)
    return {"probe_epoch_seconds": seconds, **rows}


def print_table(fit, run):
    """One row per network: epochs, time, held-out and 25x errors."""
    print(
        f"\n{'fit':<9} {'network':<8} {'epochs':>6} {'minutes':>8} "
        f"{'meV/atom':>9} {'25x':>7} {'eV/A':>7}"
    )
    for network in ("cnn", "fcn"):
        row = run[network]
        transfer = (row["transfer"] or {}).get("25x", {}).get("mean_meV_per_atom")
        force = row.get("force_mean_eV_per_A")
        print(
            f"{fit:<9} {network:<8} {row['epochs']:>6} {row['train_minutes']:>8.1f} "
            f"{row['test']['mean_meV_per_atom']:>9.2f} "
            + (f"{transfer:>7.2f} " if transfer is not None else f"{'-':>7} ")
            + (f"{force:>7.3f}" if force is not None else f"{'-':>7}")
        )


def main():
    parser = make_parser(__doc__)
    parser.add_argument(
        "--fits",
        nargs="+",
        choices=tuple(REFERENCE),
        default=list(REFERENCE),
        help="which fits to run",
    )
    args = parser.parse_args()
    quick = args.quick
    n_train, n_test, big_counts = cell_counts(quick)
    (train, y_train), (test, y_test), image = paper_split(n_train, n_test)
    X_train = image.transform(train)
    big_cells = list(transfer_cells(big_counts))

    for fit in args.fits:
        forces = image.force_targets(train) if fit == "forces" else None
        data = ((X_train, y_train, forces), (test, y_test))
        run = run_fit(fit, quick, image, data, big_cells)
        print_table(fit, run)
        result = {
            "quick": quick,
            "n_train": n_train,
            "n_test": n_test,
            "force_weight_A2": FORCE_WEIGHT if fit == "forces" else None,
            "probe_cells": min(PROBE_CELLS, n_train),
            "fit": fit,
            **run,
        }
        name = f"atoms_fcn_{fit}" + ("_quick" if quick else "")
        print(f"saved {save_json(name, result, args)}", flush=True)


if __name__ == "__main__":
    main()
