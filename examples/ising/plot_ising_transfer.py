"""
Learn the Ising energy on 8x8 lattices, predict 128x128 lattices
================================================================

An :class:`~sklearn_ednn.EDNNRegressor` with focus ``f=1`` and context ``c=1``
(the paper's optimal choice for the nearest-neighbour Ising model) is fitted on
the total energies of 8x8 configurations. Because the prediction is a sum of tile
contributions, the same fitted model predicts lattices of any size: here 128x128
lattices, 256 times larger, that it never saw.

Run it from the repository root with ``python examples/ising/plot_ising_transfer.py``;
it prints its progress and errors and saves ``results/ising_transfer.png``.
"""

# %%
# Data: configurations from checkerboard Metropolis at temperatures between
# 1 and 4 J/k_B, with exact nearest-neighbour energies.
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import PredictionErrorDisplay
from sklearn.model_selection import train_test_split

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising

X, y = make_ising(10_000, size=8, verbose=True, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
X_large, y_large = make_ising(32, size=128, verbose=True, random_state=1)

# %%
# Model: the paper's tile network (a layer of 32 (f + 2c)^2 units, two of 64),
# trained by skorch (Adam, cosine learning-rate schedule) on the mean squared
# error of the summed contributions. ``verbose=1`` prints one line per epoch.
model = EDNNRegressor(make_tile_net(max_epochs=30, verbose=1), f=1, c=1, random_state=0)
start = time.perf_counter()
model.fit(X_train, y_train)
print(f"fitted in {time.perf_counter() - start:.1f} s")

# %%
# Errors: held-out 8x8 lattices, and 128x128 lattices the model never saw.
rows = []
for name, X_eval, y_eval in [
    ("8x8 held out", X_test, y_test),
    ("128x128 transfer", X_large, y_large),
]:
    y_pred = model.predict(X_eval)
    error = np.abs(y_pred - y_eval)
    n_spins = X_eval[0].size
    rows.append((name, y_eval, y_pred))
    print(
        f"{name:>17}: mean abs error {error.mean():.4f} J "
        f"(median {np.median(error):.4f} J, {error.mean() / n_spins:.2e} J per spin)"
    )
baseline = np.abs(y_test - y_train.mean()).mean()
print(f"{'training mean':>17}: mean abs error {baseline:.4f} J on 8x8")

# %%
# Predicted against true energy per spin for both sizes, with scikit-learn's
# :class:`~sklearn.metrics.PredictionErrorDisplay` (the dashed line is a
# perfect prediction).
fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
for ax, (name, y_eval, y_pred) in zip(axes, rows):
    n_spins = 64 if name.startswith("8x8") else 128 * 128
    error = np.abs(y_pred - y_eval).mean() / n_spins
    display = PredictionErrorDisplay.from_predictions(
        y_eval / n_spins,
        y_pred / n_spins,
        kind="actual_vs_predicted",
        ax=ax,
        scatter_kwargs={"s": 4, "alpha": 0.6},
    )
    ax.set(
        xlabel="true E / N [J]",
        ylabel="predicted E / N [J]",
        title=f"{name}: {error:.1e} J per spin",
    )
    display.line_.set_label("perfect prediction")
    ax.legend(loc="upper left")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(5))
out = Path("results")
out.mkdir(exist_ok=True)
fig.savefig(out / "ising_transfer.png", dpi=120)
print(f"saved {out / 'ising_transfer.png'}")
