"""Forces in the loss: the atoms EDNN fitted on energies alone and on both.

``atoms_paper.py``'s model is fitted on energies alone, so its forces
(``EDNNCalculator``, by autograd through the image) are whatever the energy
fit leaves: about as large as the Tersoff forces themselves in error. Here
the same recipe (:func:`sklearn_ednn.atoms.make_atoms_ednn`: the half-width
SiLU TileCNN, f = c = 16, reference energies per element, random moves of
every batch) is fitted
on the same training sheets three ways, with the same number of epochs:

* energies alone (with the output layer's refit, as in ``atoms_paper.py``);
* energies and forces, ``force_weight`` 3 and 30 Angstrom^2
  (``EDNNRegressor.fit(..., forces=AtomImage.force_targets(...))``; the
  refit is skipped for them).

It reports, on held-out sheets, the mean absolute energy error (meV per
atom) and force error (eV/Angstrom per in-plane component, through
``EDNNCalculator``), and the training time per epoch, and saves
``results/atoms_forces/atoms_forces.json`` and the fitted pipelines as
``.cache/atoms_forces_<fit>.joblib`` (``atoms_active.py --probe-only
--model`` measures how deep their Monte Carlo holes are).

Usage: ``python benchmarks/atoms_forces.py [--quick] [--n-train N]
[--n-test N] [--epochs E] [--weights W ...] [--name NAME] [--focus F]
[--continue-from PIPELINE] [--lr LR]``.
``--focus 64`` fits ``atoms_paper.py``'s one-tile baseline instead. ``--weights``
picks the fits (``none`` for energies alone); ``--name`` names the JSON and
the cached pipelines, so that a larger fit (``--n-train 6000 --epochs 30
--weights 10 --name atoms_forces_6000``) does not overwrite this study.

``--continue-from PIPELINE`` trains a saved pipeline's EDNN further instead
of a new one (``EDNNRegressor(warm_start=True)``: ``--epochs`` more epochs,
one cosine of the learning rate from ``--lr``, the fitted weights, offsets
and history kept), with the one weight of ``--weights``.
"""

import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from _common import (
    CACHE,
    PIXELS_PER_CELL,
    held_out_errors,
    make_parser,
    paper_split,
    save_json,
)
from sklearn.pipeline import make_pipeline

from sklearn_ednn.atoms import make_atoms_ednn

# matscipy's Tersoff: a harmless numpy `where` without `out` on every call.
warnings.filterwarnings("ignore", message="'where' used without 'out'")

FORCE_WEIGHTS = (None, 3.0, 30.0)  # None: energies alone


def force_weight(text):
    """A ``--weights`` value: a weight in Angstrom^2, or ``none``."""
    return None if text.lower() == "none" else float(text)


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--n-train", type=int, help="training sheets")
    parser.add_argument("--n-test", type=int, help="held-out sheets (at most 1000)")
    parser.add_argument("--epochs", type=int, help="epochs of every fit")
    parser.add_argument(
        "--weights",
        type=force_weight,
        nargs="+",
        default=FORCE_WEIGHTS,
        help="force weights in Angstrom^2 of the fits, 'none' for energies alone",
    )
    parser.add_argument("--name", help="name of the JSON and the cached pipelines")
    parser.add_argument(
        "--focus",
        type=int,
        default=16,
        help=f"focus in pixels; {PIXELS_PER_CELL}: atoms_paper.py's one-tile baseline",
    )
    parser.add_argument(
        "--continue-from",
        type=Path,
        help="a saved pipeline whose EDNN trains further (warm start)",
    )
    parser.add_argument(
        "--lr", type=float, help="peak learning rate (default: the recipe's 1e-3)"
    )
    args = parser.parse_args()
    if args.continue_from is not None and len(args.weights) != 1:
        parser.error("--continue-from trains one model: give one --weights value")
    quick = args.quick
    n_train = args.n_train or (100 if quick else 1000)
    epochs = args.epochs or (2 if quick else 20)
    n_test = args.n_test or (40 if quick else 200)
    if not 0 < n_train <= 6000 or not 0 < n_test <= 1000:
        parser.error(
            f"--n-train must be in 1..6000 and --n-test in 1..1000 (atoms_paper.py's "
            f"training and held-out cells); got {n_train} and {n_test}"
        )
    (train, y_train), (test, y_test), image = paper_split(n_train, n_test)
    X_train = image.transform(train)
    targets = image.force_targets(train)

    run_name = args.name or ("atoms_forces_quick" if quick else "atoms_forces")
    runs = {}
    for weight in args.weights:
        name = "energies" if weight is None else f"forces_{weight:g}"
        if args.continue_from is None:
            model = make_atoms_ednn(f=args.focus, max_epochs=epochs, verbose=1)
        else:
            # The saved pipeline's EDNN, trained `epochs` more (a warm start).
            model = joblib.load(args.continue_from)[-1].set_params(
                warm_start=True, estimator__max_epochs=epochs
            )
        if args.lr is not None:
            model.set_params(estimator__lr=args.lr)
        if weight is not None:
            model.set_params(force_weight=weight)
        tic = time.perf_counter()
        model.fit(X_train, y_train, forces=None if weight is None else targets)
        seconds = time.perf_counter() - tic
        pipeline = make_pipeline(image, model)
        joblib.dump(pipeline, CACHE / f"{run_name}_{name}.joblib")
        runs[name] = {
            "force_weight_A2": weight,
            "continued_from": None
            if args.continue_from is None
            else args.continue_from.name,
            "total_epochs": len(model.estimator_.history),
            "lr": model.estimator_.lr,
            "seconds_per_epoch": seconds / epochs,
            **held_out_errors(pipeline, test, y_test),
        }
        print(name, runs[name], flush=True)

    # The cost column is relative to the first fit (energies alone by default).
    baseline = next(iter(runs.values()))["seconds_per_epoch"]
    mean_force = float(np.mean([np.abs(s.get_forces()[:, :2]).mean() for s in test]))
    print(
        f"\n{n_train} training sheets, {epochs} epochs, {n_test} held out "
        f"(Tersoff's mean |F| per component {mean_force:.2f} eV/A)"
    )
    print(f"{'fit':<14} {'meV/atom':>9} {'eV/A':>7} {'s/epoch':>8} {'cost':>5}")
    for name, run in runs.items():
        print(
            f"{name:<14} {run['energy_mean_meV_per_atom']:>9.1f} "
            f"{run['force_mean_eV_per_A']:>7.3f} {run['seconds_per_epoch']:>8.1f} "
            f"{run['seconds_per_epoch'] / baseline:>5.2f}"
        )
    result = {
        "quick": quick,
        "n_train": n_train,
        "n_test": n_test,
        "epochs": epochs,
        "focus": args.focus,
        "test_mean_abs_force_eV_per_A": mean_force,
        "runs": runs,
    }
    print(f"saved {save_json(run_name, result, args)}")


if __name__ == "__main__":
    main()
