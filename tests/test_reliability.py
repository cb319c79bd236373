"""Nothing lost on failure: interrupted or failing fits, checkpoints, caches."""

import os
import signal

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, LoadInitState

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.callbacks import CosineLR, RefitOutputLayer
from sklearn_ednn.datasets import make_ising, make_sheets


class _AtBatch(Callback):
    """Do ``action`` at the ``batch``-th training batch."""

    def __init__(self, batch, action):
        self.batch = batch
        self.action = action

    def on_train_begin(self, net, **kwargs):
        self.seen_ = 0

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.seen_ += 1
            if self.seen_ == self.batch:
                self.action()


def _interrupt():
    os.kill(os.getpid(), signal.SIGINT)


def _fail():
    raise RuntimeError("a callback failed")


@pytest.fixture(scope="module")
def data():
    X, y = make_ising(96, size=6, random_state=0)
    return X, y


def _fitted(data):
    X, y = data
    net = make_tile_net(max_epochs=2, batch_size=16)
    return EDNNRegressor(net, random_state=0).fit(X, y)


def _state(model):
    return {k: v.clone() for k, v in model.estimator_.module_.state_dict().items()}


@pytest.mark.parametrize(
    "action, error",
    [(_interrupt, KeyboardInterrupt), (_fail, RuntimeError)],
    ids=["ctrl-c", "callback raises"],
)
def test_a_fit_stopped_midway_leaves_the_fitted_model(data, action, error):
    X, y = data
    model = _fitted(data)
    before, weights = model.predict(X), _state(model)
    callbacks = [
        ("lr_scheduler", CosineLR()),
        ("refit_output", RefitOutputLayer()),
        ("stop", _AtBatch(3, action)),
    ]
    model.set_params(estimator__callbacks=callbacks, estimator__max_epochs=5)
    with pytest.raises(error):
        model.fit(X * -1.0, y + 1.0)
    np.testing.assert_array_equal(model.predict(X), before)
    for name, tensor in _state(model).items():
        assert torch.equal(tensor, weights[name])
    # SIGINT is back to Python's default after the fit.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_bad_input_to_a_fitted_model_changes_nothing(data):
    X, y = data
    model = _fitted(data)
    before = model.predict(X)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.fit(np.full(X.shape, np.nan), y)
    with pytest.raises(ValueError, match="not a positive multiple of f=4"):
        model.set_params(f=4).fit(X, y)
    np.testing.assert_array_equal(model.set_params(f=1).predict(X), before)


def test_early_stopping_still_ends_a_fit_normally(data):
    """skorch's EarlyStopping stops through a KeyboardInterrupt too; no error."""
    X, y = data
    net = make_tile_net(
        max_epochs=20,
        lr=0.0,
        callbacks=[
            ("lr_scheduler", None),
            ("refit_output", None),
            ("stop", EarlyStopping(monitor="train_loss", patience=2)),
        ],
    )
    model = EDNNRegressor(net, random_state=0).fit(X, y)
    assert len(model.estimator_.history) < 20


def test_an_interrupted_fit_resumes_from_its_checkpoint(data, tmp_path):
    """skorch's Checkpoint saves every epoch; LoadInitState continues from it."""
    X, y = data
    checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path / "run"))

    def net(max_epochs, extra):
        callbacks = [("lr_scheduler", None), ("refit_output", None)]
        callbacks += [("checkpoint", checkpoint), extra]
        return make_tile_net(max_epochs=max_epochs, batch_size=16, callbacks=callbacks)

    interrupted = net(6, ("stop", _AtBatch(6 * 3 + 1, _interrupt)))  # 4th epoch
    with pytest.raises(KeyboardInterrupt):
        EDNNRegressor(interrupted, random_state=0).fit(X, y)
    resumed = net(3, ("load", LoadInitState(checkpoint)))
    model = EDNNRegressor(resumed, random_state=0).fit(X, y)
    # Three epochs were saved before the interrupt; three more followed.
    assert len(model.estimator_.history) == 6
    assert model.estimator_.history[-1, "epoch"] == 6


def test_an_interrupted_sheets_cache_is_not_left_half_written(tmp_path, monkeypatch):
    import ase.io

    def write_half(path, images, **kwargs):
        with open(path, "w") as file:
            file.write("60\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(ase.io, "write", write_half)
    with pytest.raises(KeyboardInterrupt):
        make_sheets(
            2,
            snapshots_per_run=2,
            burn_in=2,
            interval=2,
            cache_dir=tmp_path,
            random_state=0,
        )
    assert list(tmp_path.iterdir()) == []
