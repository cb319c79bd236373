"""Active learning: teach the atoms EDNN the structures its own Monte Carlo visits.

An EDNN fitted on MD snapshots knows nothing about structures no snapshot
came near, and its energy there can be far too low: a Monte Carlo run on the
model then goes there and stays (``atoms_mc.py`` measures this). The usual
remedy for machine-learned potentials, done here once:

1. run Metropolis chains on the fitted EDNN (``atoms_paper.py``'s model) from
   training cells of every kind, at temperatures across the training range;
2. label the sampled structures with the Tersoff potential
   (:func:`~sklearn_ednn.datasets.label_structures`);
3. fit the same EDNN recipe, from scratch, on the training cells plus these
   (or, with ``--warm-start``, train the first model further on them).

The benchmark reports, for the first and the new model, the held-out error on
the MD test cells and on the structures each model's own chains visit (from
held-out starting cells), in meV per atom, with the mean signed error (a
hole shows as a large negative one). It saves
``results/atoms_active/atoms_active.json``
and the new pipeline as ``.cache/atoms_active_ednn.joblib``, which
``atoms_mc.py --model`` runs.

Usage: ``python benchmarks/atoms_active.py [--quick] [--model PATH]
[--probe-only] [--name NAME] [--n-train N] [--epochs E] [--force-weight W]
[--explored-weight W] [--warm-start] [--lr LR]``; run ``atoms_paper.py``
(with the same ``--quick``) first. ``--name`` names the results file and the
new model.
``--probe-only`` measures the first model only (minutes, no training), into
``results/atoms_active/atoms_active_probe.json``. The second fit uses the first
``--n-train`` MD cells (default all) for ``--epochs``; ``--force-weight``
fits it on Tersoff's forces as well (``EDNNRegressor.force_weight``), and
``--explored-weight`` gives each explored structure that weight relative to
an MD cell (``sample_weight``; default 1). ``--warm-start`` continues the
first model (``EDNNRegressor(warm_start=True)``: its weights, offsets and
scale) for ``--epochs`` instead of fitting anew, and ``--lr`` sets the peak
learning rate (default the recipe's 1e-3). The first model's chains are
cached in ``.cache/joblib`` (keyed by the model file), so runs that differ
only in the second fit explore once. A model fitted by
``atoms_forces.py`` on 1 000 cells with forces is the first model of
``--model .cache/atoms_forces_forces_30.joblib --n-train 1000 --epochs 20
--force-weight 30``.
"""

import time
from pathlib import Path

import joblib
import numpy as np
from _common import CACHE, cell_counts, make_parser, save_json
from joblib import Parallel, delayed
from sklearn.pipeline import make_pipeline

from sklearn_ednn.atoms import make_atoms_ednn
from sklearn_ednn.datasets import label_structures, make_sheets
from sklearn_ednn.montecarlo import AtomsEDNNEnergy, atoms_metropolis

TEMPERATURES = (500.0, 1500.0)  # K, uniform: the training MD's range and more
MAX_STEP = 0.05  # Angstrom per axis, as in atoms_mc.py


def run_chain(model, start, temperature, n_steps, n_samples, seed):
    """The structures one EDNN Monte Carlo chain samples, evenly spaced."""
    result = atoms_metropolis(
        start,
        AtomsEDNNEnergy(model),
        temperature=temperature,
        n_steps=n_steps,
        max_step=MAX_STEP,
        sample_interval=n_steps // n_samples,
        random_state=seed,
    )
    return result.structures(start)


def explore(model, starts, n_steps, n_samples, seed, n_jobs=2):
    """Label the structures of EDNN chains from ``starts`` with Tersoff."""
    rng = np.random.default_rng(seed)
    temperatures = rng.uniform(*TEMPERATURES, len(starts))
    seeds = rng.integers(2**31 - 1, size=len(starts))
    chains = Parallel(n_jobs=n_jobs)(
        delayed(run_chain)(model, start, float(t), n_steps, n_samples, int(s))
        for start, t, s in zip(starts, temperatures, seeds)
    )
    return label_structures([s for chain in chains for s in chain])


def explore_first(model_path, starts, n_steps, n_samples, seed):
    """:func:`explore` with the saved first model, cached on disk.

    The first model's chains do not depend on how the second model is fitted,
    so runs that differ only there (``--explored-weight``, ``--force-weight``)
    explore once. The key is the model file (path, size and time) and the
    chains' settings.
    """
    stat = Path(model_path).stat()
    key = (str(model_path), stat.st_size, stat.st_mtime_ns)
    return _explore_saved(key, model_path, starts, n_steps, n_samples, seed)


@joblib.Memory(CACHE / "joblib", verbose=0).cache(ignore=["model_path"])
def _explore_saved(key, model_path, starts, n_steps, n_samples, seed):
    """Load the model and explore; ``key`` (not ``model_path``) is hashed."""
    return explore(joblib.load(model_path), starts, n_steps, n_samples, seed)


def errors(model, structures, energies):
    """Mean absolute and mean signed error (predicted - true), meV per atom."""
    n_atoms = np.array([len(s) for s in structures])
    error = 1000 * (model.predict(structures) - energies) / n_atoms
    return {
        "mean_abs_meV_per_atom": float(np.mean(np.abs(error))),
        "median_abs_meV_per_atom": float(np.median(np.abs(error))),
        "mean_signed_meV_per_atom": float(np.mean(error)),
        "n_structures": len(structures),
    }


def print_rows(result):
    """The error table of the first (and second) model, in meV per atom."""
    print(f"\n{'model':<8} {'structures':<28} {'mean |err|':>11} {'signed':>9}")
    for name in ("first", "second"):
        for label, row in result.get(name, {}).items():
            print(
                f"{name:<8} {label:<28} {row['mean_abs_meV_per_atom']:>11.1f} "
                f"{row['mean_signed_meV_per_atom']:>9.1f}"
            )


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--model", type=Path, help="the first model (a joblib file)")
    parser.add_argument(
        "--probe-only",
        action="store_true",
        help="only the first model's errors on its own structures; no training",
    )
    parser.add_argument(
        "--name", help="name of the results file (default: from the mode)"
    )
    parser.add_argument("--n-train", type=int, help="MD cells of the second fit")
    parser.add_argument("--epochs", type=int, help="epochs of the second fit")
    parser.add_argument(
        "--force-weight",
        type=float,
        help="fit the second model on forces too, with this weight (Angstrom^2)",
    )
    parser.add_argument(
        "--warm-start",
        action="store_true",
        help="continue training the first model instead of fitting from scratch",
    )
    parser.add_argument("--lr", type=float, help="peak learning rate of the second fit")
    parser.add_argument(
        "--explored-weight",
        type=float,
        default=1.0,
        help="sample weight of an explored structure relative to an MD cell",
    )
    args = parser.parse_args()
    quick = args.quick
    run_name = "atoms_paper_quick" if quick else "atoms_paper"
    n_cells, n_test, _ = cell_counts(quick)
    n_train = args.n_train or n_cells
    if not 0 < n_train <= n_cells:
        parser.error(f"--n-train must be in 1..{n_cells}; got {n_train}")
    epochs = args.epochs or (4 if quick else 60)
    n_chains, n_steps, n_samples = (4, 400, 4) if quick else (40, 3000, 8)
    n_probe = 2 if quick else 12  # held-out chains per model
    start = time.perf_counter()

    sheets, energy = make_sheets(
        n_cells + n_test, random_state=0, cache_dir=CACHE, n_jobs=2, verbose=True
    )
    train, test = sheets[:n_train], sheets[n_cells:]
    test_energy = energy[n_cells:]
    first_path = args.model or CACHE / f"{run_name}_ednn.joblib"
    first = joblib.load(first_path)
    rng = np.random.default_rng(0)
    starts = [train[i] for i in rng.choice(n_train, n_chains, replace=False)]
    probe_starts = [test[i] for i in rng.choice(n_test, n_probe, replace=False)]

    # 1-2. The first model's own structures: held out, and for training.
    tic = time.perf_counter()
    probe, probe_energy = explore_first(
        first_path, probe_starts, n_steps, n_samples, seed=2
    )
    first_rows = {
        "md_test": errors(first, test, test_energy),
        "own_structures": errors(first, probe, probe_energy),
    }
    if args.probe_only:
        name = args.name or (
            "atoms_active_quick_probe" if quick else "atoms_active_probe"
        )
        result = {
            "model": str(first_path),
            "quick": quick,
            "n_probe_chains": n_probe,
            "n_steps": n_steps,
            "samples_per_chain": n_samples,
            "temperatures_K": TEMPERATURES,
            "first": first_rows,
            "total_minutes": (time.perf_counter() - start) / 60,
        }
        print_rows(result)
        print(f"saved {save_json(name, result, args)}")
        return
    explored, explored_energy = explore_first(
        first_path, starts, n_steps, n_samples, seed=1
    )
    explore_minutes = (time.perf_counter() - tic) / 60

    # 3. The same recipe on the MD cells plus the explored structures.
    image = first[0]
    X = image.transform(train + explored)
    y = np.concatenate([energy[:n_train], explored_energy])
    sample_weight = np.r_[
        np.ones(n_train), np.full(len(explored), args.explored_weight)
    ]
    if args.warm_start:
        # A copy of the first model's EDNN, trained further on the new data.
        model = joblib.load(first_path)[-1].set_params(
            warm_start=True, estimator__max_epochs=epochs
        )
    else:
        model = make_atoms_ednn(max_epochs=epochs, verbose=1)
    if args.lr is not None:
        model.set_params(estimator__lr=args.lr)
    forces = None
    if args.force_weight is not None:
        model.set_params(force_weight=args.force_weight)
        forces = image.force_targets(train + explored)
    tic = time.perf_counter()
    model.fit(X, y, sample_weight=sample_weight, forces=forces)
    train_minutes = (time.perf_counter() - tic) / 60
    second = make_pipeline(image, model)

    # The new model's own structures, from the same held-out starts.
    probe_second, probe_second_energy = explore(
        second, probe_starts, n_steps, n_samples, seed=2
    )
    result = {
        "quick": quick,
        "n_chains": n_chains,
        "n_steps": n_steps,
        "samples_per_chain": n_samples,
        "temperatures_K": TEMPERATURES,
        "n_explored": len(explored),
        "first_model": str(first_path),
        "n_train": n_train,
        "epochs": epochs,
        "warm_start": args.warm_start,
        "lr": model.estimator_.lr,
        "force_weight_A2": args.force_weight,
        "explored_weight": args.explored_weight,
        "first": first_rows,
        "second": {
            "md_test": errors(second, test, test_energy),
            "first_model_structures": errors(second, probe, probe_energy),
            "own_structures": errors(second, probe_second, probe_second_energy),
        },
        "explore_minutes": explore_minutes,
        "train_minutes": train_minutes,
    }
    result["total_minutes"] = (time.perf_counter() - start) / 60

    print_rows(result)
    print(
        f"meV/atom; {len(explored)} explored structures, exploring "
        f"{explore_minutes:.1f} min, training {train_minutes:.1f} min, "
        f"{result['total_minutes']:.1f} min in all"
    )
    name = args.name or ("atoms_active_quick" if quick else "atoms_active")
    json_path = save_json(name, result, args)
    joblib.dump(second, CACHE / f"{name}_ednn.joblib")
    print(f"saved {json_path} and {CACHE / name}_ednn.joblib")


if __name__ == "__main__":
    main()
