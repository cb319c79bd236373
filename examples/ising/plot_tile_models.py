"""
Tile models side by side: linear, kernel, trees and the neural network
======================================================================

The EDNN idea needs no neural network: any regressor can be the shared tile model,
as long as the loss is computed on the sum of the tile contributions. Here, on the
same 8x8 Ising data, we compare

* ``Ridge`` on the raw spins of each tile (linear in the spins: it can only learn a
  field, not the pair energy),
* ``PolynomialFeatures(2)`` + ``Ridge``, which contains the nearest-neighbour
  Hamiltonian exactly,
* a kernel: ``Nystroem`` features of a polynomial kernel, summed over tiles, then
  ``Ridge``,
* a tree ensemble trained by summed-loss boosting,
* the default tile network trained by skorch,

reporting the error on held-out 8x8 lattices, on 128x128 lattices none of them saw,
and the fit time. Run it with ``python examples/ising/plot_tile_models.py``; it saves
``results/tile_models.json`` and ``results/tile_models.png``.
"""

# %%
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising

X_train, y_train = make_ising(2000, size=8, random_state=0)
X_test, y_test = make_ising(500, size=8, random_state=1)
X_large, y_large = make_ising(16, size=128, random_state=2)

# %%
# Every model is an ``EDNNRegressor`` with focus 1 and context 1. Linear models
# (alone or after unsupervised feature maps) are fitted exactly on the per-sample
# sums of tile features; any other regressor is boosted on the summed loss.
models = {
    "Ridge (spins)": EDNNRegressor(Ridge(alpha=1e-6)),
    "Polynomial(2) + Ridge": EDNNRegressor(
        make_pipeline(PolynomialFeatures(2), Ridge(alpha=1e-8))
    ),
    "Nystroem kernel + Ridge": EDNNRegressor(
        make_pipeline(
            Nystroem(kernel="poly", degree=2, n_components=100, random_state=0),
            Ridge(alpha=1e-6),
        )
    ),
    "Extra trees, boosted": EDNNRegressor(
        ExtraTreesRegressor(n_estimators=4, min_samples_leaf=3, n_jobs=2),
        n_rounds=20,
        random_state=0,
    ),
    "Tile network (skorch)": EDNNRegressor(
        make_tile_net(max_epochs=20, batch_size=32), random_state=0
    ),
}

rows = []
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_time = time.perf_counter() - start
    error_8 = np.abs(model.predict(X_test) - y_test).mean()
    error_128 = np.abs(model.predict(X_large) - y_large).mean()
    rows.append(
        {
            "model": name,
            "solver": model.solver_,
            "mae_8x8_J": float(error_8),
            "mae_8x8_J_per_spin": float(error_8 / 64),
            "mae_128x128_J_per_spin": float(error_128 / 128**2),
            "fit_s": fit_time,
        }
    )
    print(f"fitted {name} in {fit_time:.1f} s", flush=True)

baseline = float(np.abs(y_test - y_train.mean()).mean())
print(
    f"\n{'tile model':<24} {'solver':<9} {'8x8 MAE [J]':>12} "
    f"{'8x8 [J/spin]':>13} {'128x128 [J/spin]':>17} {'fit [s]':>8}"
)
for row in rows:
    print(
        f"{row['model']:<24} {row['solver']:<9} {row['mae_8x8_J']:>12.3g} "
        f"{row['mae_8x8_J_per_spin']:>13.3g} {row['mae_128x128_J_per_spin']:>17.3g} "
        f"{row['fit_s']:>8.1f}"
    )
print(f"{'training mean':<24} {'-':<9} {baseline:>12.3g} {baseline / 64:>13.3g}")

# %%
# Save the table and plot the errors per spin on both sizes.
out = Path("results")
out.mkdir(exist_ok=True)
(out / "tile_models.json").write_text(
    json.dumps({"rows": rows, "mean_baseline_mae_8x8_J": baseline}, indent=2)
)
fig, ax = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
positions = np.arange(len(rows))
floor = 1e-16
ax.bar(
    positions - 0.2,
    [max(r["mae_8x8_J_per_spin"], floor) for r in rows],
    0.4,
    label="8x8 held out",
)
ax.bar(
    positions + 0.2,
    [max(r["mae_128x128_J_per_spin"], floor) for r in rows],
    0.4,
    label="128x128 transfer",
)
ax.set_yscale("log")
ax.set_xticks(positions, [r["model"] for r in rows], rotation=20, ha="right")
ax.set_ylabel("mean abs error [J / spin]")
ax.legend()
fig.savefig(out / "tile_models.png", dpi=120)
print(f"saved {out / 'tile_models.json'} and {out / 'tile_models.png'}")
