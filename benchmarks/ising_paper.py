"""Reproduce the paper's Ising results (Mills et al. 2019, sections 3.1 and 3.3).

Trains EDNNs with f=1 and context c = 1, 2, 3 on 8x8 Ising lattices, lets
``GridSearchCV`` choose the context on a validation split, refits the chosen model
on the whole training set, and evaluates it on held-out 8x8 lattices and on 128x128
lattices sampled at Tc with Swendsen-Wang. Prints one table with the paper's
figures beside ours, saves ``results/ising_paper/ising_paper.json`` and the
paper-style plots (true against predicted, and the residuals, 8x8 and 128x128,
with scikit-learn's ``PredictionErrorDisplay``) as
``results/ising_paper/ising_paper.png`` (``ising_paper_quick.*`` with ``--quick``).

Usage: ``python benchmarks/ising_paper.py [--quick]``. The full run uses 100 000
training lattices; ``--quick`` runs a small version in a few minutes.
"""

import time

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _common import CACHE, make_parser, parity_panel, save_figure, save_json
from sklearn.model_selection import GridSearchCV, ShuffleSplit

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import CRITICAL_TEMPERATURE, make_ising

# Paper, section 3.1: median absolute error of the total energy, in J.
PAPER = {"c=1": 0.028, "c=2": 1.090, "c=3": 14.816, "128x128": 2.055}
TARGET = {"c=1": 0.002, "c=2": 0.05, "c=3": 0.05, "128x128": 0.03}


def errors(y_pred, y_true):
    error = np.abs(y_pred - y_true)
    return {"median": float(np.median(error)), "mean": float(error.mean())}


def main():
    args = make_parser(__doc__).parse_args()
    quick = args.quick
    n_train = 5000 if quick else 100_000
    # Choosing c trains three networks (c=3's is 7 times the work of c=1's per
    # tile), so the search uses a subset; the chosen model then sees everything.
    n_search = 2000 if quick else 20_000
    search_epochs = 10 if quick else 30
    final_epochs = 20 if quick else 40
    # Larger batches for the large training set: as many optimiser steps as the
    # quick run takes in far fewer epochs, at a fraction of the time per lattice.
    final_batch = 32 if quick else 128
    n_big = 8 if quick else 100

    start = time.perf_counter()
    X, y = make_ising(
        n_train + 10_000, size=8, verbose=True, random_state=0, cache_dir=CACHE
    )
    X_train, y_train, X_test, y_test = (
        X[:n_train],
        y[:n_train],
        X[n_train:],
        y[n_train:],
    )
    X_big, y_big = make_ising(
        n_big,
        size=128,
        temperature=CRITICAL_TEMPERATURE,
        algorithm="swendsen-wang",
        n_sweeps=100,
        verbose=True,
        random_state=1,
        cache_dir=CACHE,
    )
    data_seconds = time.perf_counter() - start

    # 1. Choose the context on a validation split of a training subset.
    search = GridSearchCV(
        EDNNRegressor(make_tile_net(max_epochs=search_epochs), f=1, random_state=0),
        {"c": [1, 2, 3]},
        cv=ShuffleSplit(n_splits=1, test_size=0.2, random_state=0),
        scoring="neg_median_absolute_error",
        refit=False,
        verbose=2,
    )
    search.fit(X_train[:n_search], y_train[:n_search])
    search_results = {
        f"c={c}": {"validation_median": float(-score), "fit_s": float(fit_time)}
        for c, score, fit_time in zip(
            search.cv_results_["param_c"],
            search.cv_results_["mean_test_score"],
            search.cv_results_["mean_fit_time"],
        )
    }
    best_c = int(search.best_params_["c"])

    # 2. The chosen model, refitted on all training lattices.
    net = make_tile_net(max_epochs=final_epochs, batch_size=final_batch, verbose=1)
    model = EDNNRegressor(net, f=1, c=best_c, random_state=0)
    tic = time.perf_counter()
    model.fit(X_train, y_train)
    train_seconds = time.perf_counter() - tic
    y_pred, y_big_pred = model.predict(X_test), model.predict(X_big)
    test, big = errors(y_pred, y_test), errors(y_big_pred, y_big)
    total_seconds = time.perf_counter() - start

    rows = [
        (
            "8x8, f=1, c=1" + (" (chosen)" if best_c == 1 else ""),
            "c=1",
            test["median"]
            if best_c == 1
            else search_results["c=1"]["validation_median"],
        ),
        (
            "8x8, f=1, c=2 (validation)",
            "c=2",
            search_results["c=2"]["validation_median"],
        ),
        (
            "8x8, f=1, c=3 (validation)",
            "c=3",
            search_results["c=3"]["validation_median"],
        ),
        ("128x128 near Tc", "128x128", big["median"]),
    ]
    print(
        f"\n{'median abs error of E':<30} {'paper [J]':>10} {'target [J]':>11} "
        f"{'ours [J]':>10}"
    )
    for label, key, ours in rows:
        print(f"{label:<30} {PAPER[key]:>10.3f} {TARGET[key]:>11.3f} {ours:>10.4f}")
    print(f"{'mean abs error, 8x8 test':<30} {'':>10} {'':>11} {test['mean']:>10.4f}")
    print(f"{'mean abs error, 128x128':<30} {'':>10} {'':>11} {big['mean']:>10.4f}")
    examples_per_second = n_train * final_epochs / train_seconds
    print(f"GridSearchCV choice of c: {best_c} (paper: 1)")
    print(
        f"training the chosen model: {train_seconds / 60:.1f} min "
        f"({examples_per_second:,.0f} lattices per second), target <= 20 min"
    )
    print(
        f"whole benchmark: {total_seconds / 60:.1f} min (data {data_seconds:.0f} s), "
        f"target <= 90 min"
    )

    name = "ising_paper_quick" if quick else "ising_paper"
    result = {
        "quick": quick,
        "n_train": n_train,
        "n_search": n_search,
        "search_epochs": search_epochs,
        "final_epochs": final_epochs,
        "n_test": len(y_test),
        "n_128x128": n_big,
        "chosen_c": best_c,
        "search": search_results,
        "test_8x8": test,
        "transfer_128x128": big,
        "paper": PAPER,
        "target": TARGET,
        "train_minutes": train_seconds / 60,
        "examples_per_second": examples_per_second,
        "total_minutes": total_seconds / 60,
    }
    json_path = save_json(name, result, args)

    fig, axes = plt.subplots(2, 2, figsize=(9, 7), constrained_layout=True)
    for column, (label, truth, pred, n) in enumerate(
        [("8x8 test", y_test, y_pred, 64), ("128x128 at Tc", y_big, y_big_pred, 128**2)]
    ):
        for row, kind in enumerate(["actual_vs_predicted", "residual_vs_predicted"]):
            parity_panel(
                axes[row, column],
                truth / n,
                pred / n,
                kind=kind,
                quantity="E / N",
                unit="J",
                title=label + ": MAE {mae:.1e} J/spin",
            )
    print(f"saved {json_path} and {save_figure(fig, name)}")


if __name__ == "__main__":
    main()
