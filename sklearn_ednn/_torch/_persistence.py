"""A skorch net as a node of a saved model: its parameters, weights and history.

The parameters (module class, ``module__*`` arguments, optimizer, callbacks,
...) go through the generic encoder, so only trusted classes are named; the
module's ``state_dict`` becomes numeric arrays; the history is plain JSON. A
net is rebuilt by calling its class with the decoded parameters,
initializing it (under a fixed seed, so that the caller's torch generator is
untouched) and loading the weights: bit for bit the fitted module.
"""

import numpy as np
import torch
from skorch.history import History
from skorch.net import NeuralNet

from .._serialize import ModelFileError, import_trusted_class, qualified_name
from ._net import fixed_seed

__all__ = ["decode_net", "encode_net"]


def encode_net(net, encoder, where):
    """The node of a skorch net, its weights added to ``encoder.arrays``.

    Parameters
    ----------
    net : skorch.NeuralNet
        A configured or fitted net.
    encoder : Encoder
        The encoder of the whole model.
    where : str
        The net's place in the model, for error messages.

    Returns
    -------
    node : dict
        ``{"kind": "net", ...}``; with ``weights`` and ``history`` if the net
        is initialized.
    """
    params = net.get_params(deep=False)
    params.pop("_params_to_validate", None)
    node = {
        "kind": "net",
        "class": qualified_name(type(net)),
        "params": encoder.encode(params, f"{where} parameters"),
    }
    if getattr(net, "initialized_", False):
        weights = {}
        for name, tensor in net.module_.state_dict().items():
            array = tensor.detach().cpu().numpy()
            weights[name] = encoder.add_array(array, f"{where} weight {name}")
        node["weights"] = weights
        node["training"] = bool(net.module_.training)
        node["history"] = encoder.encode(list(net.history_), f"{where} history")
    return node


def decode_net(node, decoder, device=None):
    """Rebuild the skorch net of ``node``.

    Parameters
    ----------
    node : dict
        A node from :func:`encode_net`.
    decoder : Decoder
        The decoder of the whole model.
    device : str or None, default=None
        Where the rebuilt module lives; None keeps the saved net's ``device``.

    Returns
    -------
    net : skorch.NeuralNet
        Initialized with the saved weights and history if they were saved.
    """
    cls = import_trusted_class(node["class"])
    if not issubclass(cls, NeuralNet):
        raise ModelFileError(f"the model file's net is a {node['class']}, not a net.")
    params = decoder.decode(node["params"])
    if device is not None:
        params["device"] = device
    net = cls(**params)
    if "weights" not in node:
        return net
    with fixed_seed(0):
        net.initialize()
    state = {
        name: torch.from_numpy(np.array(decoder.array(key)))
        for name, key in node["weights"].items()
    }
    try:
        net.module_.load_state_dict(state)
    except RuntimeError as error:
        raise ModelFileError(
            f"the model file's weights do not fit its network: {error}"
        ) from None
    net.module_.train(bool(node["training"]))
    net.history_ = History(decoder.decode(node["history"]))
    return net
