"""The skorch net that trains an EDNN module: defaults, building, warm starts.

No training loop lives here: skorch owns it. :func:`make_tile_net` is the
configured default, :func:`build_ednn_net` turns any configured net into one
whose module is an :class:`~sklearn_ednn.EDNNModule`, and
:func:`continue_training` trains a fitted one further.
"""

import contextlib
import copy
import inspect
import warnings

import torch
from skorch import NeuralNetRegressor
from skorch.net import NeuralNet
from torch import nn

from ._callbacks import CosineLR, RefitOutputLayer
from ._module import EDNNModule
from ._nets import TileMLP

__all__ = [
    "build_ednn_net",
    "continue_training",
    "fixed_seed",
    "is_skorch_net",
    "is_torch_module",
    "make_tile_net",
]


def make_tile_net(module=TileMLP, **net_params):
    """A skorch ``NeuralNetRegressor`` configured as an EDNN tile network.

    This is what ``EDNNRegressor(estimator=None)`` uses, and the way to start
    from sensible defaults while changing a few of them; every keyword is a
    skorch parameter, and stays tunable as ``estimator__<name>`` in
    :class:`~sklearn.model_selection.GridSearchCV`.

    Parameters
    ----------
    module : type of torch.nn.Module or torch.nn.Module, default=TileMLP
        The tile network. Its constructor's ``tile_shape``, ``n_channels`` and
        ``n_outputs`` are filled in from the data.
    **net_params : dict
        Parameters of skorch.NeuralNetRegressor overriding the defaults:
        ``optimizer=torch.optim.Adam``,
        ``lr=3e-3``,
        ``callbacks=[("lr_scheduler", CosineLR()), ("refit_output",
        RefitOutputLayer())]`` (cosine annealing of the learning rate to 0
        over ``max_epochs``, then a least-squares solve for the output layer,
        which removes the per-tile offset error that grows with grid size),
        ``batch_size=32``,
        ``max_epochs=100``, ``train_split=None`` (train on all data; pass e.g.
        ``skorch.dataset.ValidSplit(5)`` to hold out a validation fifth),
        ``iterator_train__shuffle=True``, ``verbose=0``.

        ``callbacks`` replaces the default list, as in skorch: name a default
        to keep it changed (``("refit_output", RefitOutputLayer(cv=5))``) or
        to drop it (``("refit_output", None)``). A default that the list does
        not name is dropped with a warning that says so.

    Returns
    -------
    net : skorch.NeuralNetRegressor
        The configured, unfitted network.

    Examples
    --------
    >>> from sklearn_ednn import EDNNRegressor, make_tile_net
    >>> net = make_tile_net(max_epochs=20, lr=3e-3)
    >>> EDNNRegressor(net, f=1, c=1).get_params()["estimator__max_epochs"]
    20
    """
    defaults = dict(
        optimizer=torch.optim.Adam,
        callbacks=[("lr_scheduler", CosineLR()), ("refit_output", RefitOutputLayer())],
        lr=3e-3,
        batch_size=32,
        max_epochs=100,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )
    if "callbacks" in net_params:
        _warn_dropped_callbacks(net_params["callbacks"], defaults["callbacks"])
    return NeuralNetRegressor(module=module, **{**defaults, **net_params})


def _warn_dropped_callbacks(callbacks, defaults):
    """Warn about the default callbacks that ``callbacks`` neither names nor keeps."""
    named = {item[0] for item in callbacks or [] if isinstance(item, (tuple, list))}
    dropped = [
        f"{name!r} ({type(callback).__name__})"
        for name, callback in defaults
        if name not in named
    ]
    if dropped:
        warnings.warn(
            f"make_tile_net(callbacks=...) replaces the default callbacks; dropped "
            f"{', '.join(dropped)}. Name a default to keep or change it, e.g. "
            f"('refit_output', RefitOutputLayer()), or to drop it without this "
            f"warning, e.g. ('refit_output', None).",
            UserWarning,
            stacklevel=3,
        )


def is_skorch_net(estimator):
    """Whether ``estimator`` is a skorch network (regressor or other)."""
    return isinstance(estimator, NeuralNet)


def is_torch_module(estimator):
    """Whether ``estimator`` is a torch module instance or class."""
    return isinstance(estimator, nn.Module) or (
        inspect.isclass(estimator) and issubclass(estimator, nn.Module)
    )


def build_ednn_net(
    net,
    *,
    focus,
    context,
    padding,
    n_channels,
    n_outputs,
    channel_offset=None,
    module_class=EDNNModule,
):
    """A fresh copy of a configured skorch net whose module is an EDNNModule.

    The copy keeps every setting of ``net`` (optimizer, lr, callbacks, device,
    train split, ...); its ``module`` becomes ``module_class`` (an
    :class:`EDNNModule`) around the original module (with the fixed
    ``channel_offset``, if any), and ``module__*`` arguments reach the tile
    network.
    """
    params = net.get_params(deep=False)
    params.pop("_params_to_validate", None)
    tile_module = params.pop("module")
    if tile_module is None:
        raise ValueError("The skorch net has module=None; give it a tile network.")
    params.update(
        module=module_class,
        module__tile_module=tile_module,
        module__ednn_focus=focus,
        module__ednn_context=context,
        module__ednn_padding=padding,
        module__ednn_n_channels=n_channels,
        module__ednn_n_outputs=n_outputs,
        module__ednn_channel_offset=channel_offset,
    )
    return type(net)(**params)


def continue_training(net, fitted_net, X, y):
    """Train ``net`` from ``fitted_net``'s weights: a warm start.

    ``net`` is configured as for a fresh fit (its module class, criterion and
    callbacks follow the new fit's data, forces or weights); it is
    initialized, given copies of the fitted module's parameters and buffers
    and of the fitted history, and trained for its ``max_epochs`` with a new
    optimizer. ``fitted_net`` is left as it is, so a failure keeps it.

    Parameters
    ----------
    net : skorch.NeuralNet
        The unfitted net, from :func:`build_ednn_net`.
    fitted_net : skorch.NeuralNet
        A fitted net with the same module architecture.
    X, y
        Training data, as for ``net.fit``.

    Returns
    -------
    net : skorch.NeuralNet
        ``net``, trained.
    """
    net.initialize()
    try:
        net.module_.load_state_dict(fitted_net.module_.state_dict())
    except RuntimeError as error:
        raise ValueError(
            "warm_start=True, but the tile network differs from the fitted one "
            "(a changed module or module__* argument?); set warm_start=False to "
            f"fit anew. torch says: {error}"
        ) from error
    net.history_ = copy.deepcopy(fitted_net.history_)
    return net.partial_fit(X, y)


@contextlib.contextmanager
def fixed_seed(seed):
    """Seed torch with ``seed`` inside the block and restore its state after.

    With ``seed=None`` nothing is seeded: training draws from the global torch
    generator as usual.
    """
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
