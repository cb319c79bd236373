"""EDNNRegressor(warm_start=True): continued training of a fitted torch network."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from skorch.callbacks import Callback

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn._torch._force_loss import ForceEDNNModule
from sklearn_ednn.callbacks import CosineLR
from sklearn_ednn.datasets import make_ising


@pytest.fixture(scope="module")
def ising():
    """300 training and 100 held-out 6 x 6 Ising lattices, exact energies."""
    X, y = make_ising(400, size=6, random_state=0)
    return X[:300], y[:300], X[300:], y[300:]


def ising_model(epochs=5, **net_params):
    """A small TileMLP EDNN (f=1, c=1) trained for ``epochs`` epochs."""
    net = make_tile_net(max_epochs=epochs, batch_size=32, lr=3e-3, **net_params)
    return EDNNRegressor(net, f=1, c=1, random_state=0)


def train_losses(model):
    """The fitted net's training loss per epoch, in its history."""
    return np.array(model.estimator_.history[:, "train_loss"])


def test_warm_start_continues_from_the_fitted_weights(ising):
    """A warm fit goes on where the first fit stopped: its first epoch's loss
    is far below a new fit's first epoch (the learning rate starts again, so
    not as low as the first fit's last), the history runs on, and the
    training and held-out errors fall further. No output-layer refit, so that
    the errors are the training's own."""
    X, y, X_test, y_test = ising
    model = ising_model(
        callbacks=[("lr_scheduler", CosineLR()), ("refit_output", None)]
    ).fit(X, y)
    first = train_losses(model)
    error_first = np.abs(model.predict(X_test) - y_test).mean()
    model.set_params(warm_start=True).fit(X, y)
    losses = train_losses(model)
    assert len(losses) == 2 * len(first)
    np.testing.assert_array_equal(losses[: len(first)], first)
    assert losses[len(first)] < 0.3 * first[0]
    assert losses[-1] < first[-1]
    assert np.abs(model.predict(X_test) - y_test).mean() < error_first


def test_cold_fit_starts_afresh(ising):
    """Without warm_start a second fit is a new fit: the same history and the
    same predictions as the first, with a fixed random_state."""
    X, y, X_test, _ = ising
    model = ising_model().fit(X, y)
    first_losses, first_prediction = train_losses(model), model.predict(X_test)
    model.fit(X, y)
    np.testing.assert_allclose(train_losses(model), first_losses, rtol=1e-6)
    np.testing.assert_allclose(model.predict(X_test), first_prediction, rtol=1e-6)


def test_warm_start_keeps_the_offsets_and_scale_and_draws_new_batches(ising):
    """A warm fit on other data keeps the fitted offset and scale (the
    network's units), learns the new data through the network, and is
    reproducible."""
    X, y, _, _ = ising
    model = ising_model().fit(X, y)
    offset, scale = model.tile_offset_.copy(), model.tile_scale_.copy()
    shifted = y + 3.0 * X[0].size  # other data: the mean per tile moves by 3
    twin = ising_model().fit(X, y)
    for fitted in (model, twin):
        fitted.set_params(warm_start=True).fit(X[:200], shifted[:200])
    np.testing.assert_array_equal(model.tile_offset_, offset)
    np.testing.assert_array_equal(model.tile_scale_, scale)
    np.testing.assert_array_equal(train_losses(model), train_losses(twin))
    # The warm fit learned the shift through the network alone.
    assert abs(np.mean(model.predict(X[200:]) - shifted[200:])) < 0.5 * 3.0 * 36


def test_warm_start_with_forces_after_an_energy_fit():
    """An energy-only model continued with forces becomes a force fit
    (ForceEDNNModule) from the fitted weights."""
    from sklearn_ednn.atoms import AtomImage
    from sklearn_ednn.datasets import make_sheets, sheet_cell

    structures, energy = make_sheets(
        16, snapshots_per_run=4, burn_in=5, interval=3, random_state=0
    )
    image = AtomImage(
        tuple(sheet_cell().cell.lengths()[:2] / 32), gamma=0.4, species=(5, 6, 7)
    ).fit()
    X = image.transform(structures)
    net = make_tile_net(max_epochs=3, batch_size=8, lr=1e-3)
    model = EDNNRegressor(
        net, f=8, c=4, channels=True, offset="channel_totals", random_state=0
    ).fit(X, energy)
    reference = model.channel_offset_.copy()
    model.set_params(warm_start=True, force_weight=1.0)
    model.fit(X, energy, forces=image.force_targets(structures))
    assert isinstance(model.estimator_.module_, ForceEDNNModule)
    assert len(model.estimator_.history) == 6
    # The reference energies per element are kept, in the module too.
    np.testing.assert_array_equal(model.channel_offset_, reference)
    buffer = model.estimator_.module_.channel_offset.numpy()
    np.testing.assert_allclose(buffer * model.tile_scale_, reference)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"f": 2}, r"f=\(1, 1\) when fitted, now \(2, 2\)"),
        ({"c": 2}, r"c=\(1, 1\) when fitted, now \(2, 2\)"),
        ({"padding": "zeros"}, "padding='wrap' when fitted, now 'zeros'"),
    ],
)
def test_warm_start_on_other_grids_is_an_error(ising, change, message):
    """A warm start that the fitted network cannot continue fails clearly and
    keeps the fitted model."""
    X, y, X_test, _ = ising
    model = ising_model(epochs=2).fit(X, y)
    prediction = model.predict(X_test)
    model.set_params(warm_start=True, **change)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)
    model.set_params(f=1, c=1, padding="wrap")
    np.testing.assert_array_equal(model.predict(X_test), prediction)


def test_warm_start_after_a_changed_network_is_an_error(ising):
    X, y, _, _ = ising
    model = ising_model(epochs=2).fit(X, y)
    model.set_params(warm_start=True, estimator__module__hidden_sizes=(8,))
    with pytest.raises(ValueError, match="tile network differs from the fitted"):
        model.fit(X, y)


def test_warm_start_after_another_solver_is_an_error(ising):
    X, y, _, _ = ising
    model = EDNNRegressor(Ridge(), f=1, c=1).fit(X, y)
    model.set_params(estimator=make_tile_net(max_epochs=1), warm_start=True)
    with pytest.raises(ValueError, match="fitted with the 'linear' solver"):
        model.fit(X, y)


def test_linear_solver_ignores_warm_start(ising):
    """An exact solve has nothing to continue: the same fit as without."""
    X, y, X_test, _ = ising
    cold = EDNNRegressor(Ridge(), f=1, c=1).fit(X, y)
    warm = EDNNRegressor(Ridge(), f=1, c=1, warm_start=True).fit(X[:100], y[:100])
    warm.fit(X, y)
    np.testing.assert_allclose(warm.predict(X_test), cold.predict(X_test))


class FailOnCall(Callback):
    """Raises at the end of the first epoch once ``armed``."""

    def __init__(self, armed=False):
        self.armed = armed

    def on_epoch_end(self, net, **kwargs):
        if self.armed:
            raise RuntimeError("training failed")


def test_failed_warm_fit_keeps_the_fitted_model(ising):
    """An error in the middle of a continued training leaves the fitted
    network, its history and its predictions as they were."""
    X, y, X_test, _ = ising
    model = ising_model(epochs=2, callbacks=[("fail", FailOnCall())]).fit(X, y)
    prediction, history = model.predict(X_test), len(model.estimator_.history)
    model.set_params(warm_start=True, estimator__callbacks__fail__armed=True)
    with pytest.raises(RuntimeError, match="training failed"):
        model.fit(X, y)
    np.testing.assert_array_equal(model.predict(X_test), prediction)
    assert len(model.estimator_.history) == history
