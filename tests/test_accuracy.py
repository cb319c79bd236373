"""Accuracy on held-out Ising data, and transfer from 8x8 to 128x128 lattices."""

import numpy as np

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising


def test_ising_energy_learned_and_transferred_to_128x128():
    X_train, y_train = make_ising(2000, size=8, random_state=10)
    X_test, y_test = make_ising(500, size=8, random_state=11)
    X_large, y_large = make_ising(6, size=128, random_state=12)

    model = EDNNRegressor(
        make_tile_net(max_epochs=20, batch_size=32), f=1, c=1, random_state=0
    ).fit(X_train, y_train)

    error_8 = np.abs(model.predict(X_test) - y_test).mean()
    error_mean = np.abs(y_train.mean() - y_test).mean()
    assert error_8 * 20 <= error_mean, (error_8, error_mean)

    error_128 = np.abs(model.predict(X_large) - y_large).mean()
    per_spin_8, per_spin_128 = error_8 / 64, error_128 / 128**2
    assert per_spin_128 <= 3 * per_spin_8, (per_spin_8, per_spin_128)
