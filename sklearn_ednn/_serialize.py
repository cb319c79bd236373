"""Objects to JSON-able nodes and arrays, and back, with no code run on the way back.

:class:`Encoder` turns a Python object (an estimator, a pipeline, their
parameters and fitted state) into a tree of JSON values plus a flat dict of
numeric arrays, which :mod:`sklearn_ednn._persistence` writes as one
safetensors file; :class:`Decoder` rebuilds the object. Decoding only ever

* builds JSON values, tuples, dicts and arrays;
* imports a class by name from a trusted package (:data:`TRUSTED_PACKAGES`)
  and either calls it with decoded parameters or restores a decoded state
  through ``__setstate__``, as pickle would, but never calls anything a file
  names;
* loads fitted scikit-learn estimators through skops, with only the types of
  the trusted packages allowed.

The kinds of node:

=========  ==========================================================
``tuple``  a tuple; lists are JSON lists
``dict``   a dict, as ``[key, value]`` pairs (keys need not be strings)
``array``  a numeric array, stored under ``key``
``strs``   an array of strings
``scalar`` a numpy scalar, with its dtype
``class``  a class of a trusted package
``dtype``  a torch dtype
``params`` an object rebuilt as ``class(**params)`` (skorch callbacks,
           unfitted objects with ``get_params``)
``state``  an object of this package (or a Pipeline) rebuilt from its
           ``__getstate__``, as pickle does
``skops``  any other scikit-learn estimator, stored by skops
``net``    a skorch net: parameters, weights and history (``_torch``)
=========  ==========================================================
"""

import importlib
import inspect

import numpy as np

__all__ = ["TRUSTED_PACKAGES", "Decoder", "Encoder", "ModelFileError"]

#: Packages whose classes a saved model may name.
TRUSTED_PACKAGES = ("sklearn_ednn", "sklearn", "skorch", "torch", "numpy", "scipy")

# The classes that are saved by their state (``__getstate__``) rather than by
# skops: this package's, and scikit-learn's containers of them.
_STATE_CLASSES = ("sklearn.pipeline.Pipeline",)


class ModelFileError(ValueError):
    """A file that is not a model this installation can load safely.

    Raised for a file that is not a saved model (a pickle, random bytes, a
    truncated file), one of an unknown format version, and one that names a
    class outside the trusted packages.
    """


def qualified_name(cls):
    """``"package.module:Class"`` of a class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _is_trusted(module):
    return module.partition(".")[0] in TRUSTED_PACKAGES


def import_trusted_class(name):
    """The class called ``name`` (``"module:Qualname"``), if it is trusted.

    Raises
    ------
    ModelFileError
        If the module is outside :data:`TRUSTED_PACKAGES`, the name does not
        exist, or it is not a class.
    """
    module, _, qualname = str(name).partition(":")
    parts = module.split(".")
    # A library's scripts and test modules may do things when imported.
    runs_on_import = any(p in ("__main__", "tests", "conftest") for p in parts)
    if not qualname or not _is_trusted(module) or runs_on_import:
        raise ModelFileError(
            f"the model file names {name!r}, which is not a class of a trusted "
            f"package ({', '.join(TRUSTED_PACKAGES)}); refusing to load it."
        )
    try:
        value = importlib.import_module(module)
        for part in qualname.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as error:
        raise ModelFileError(
            f"the model file names {name!r}, which this installation does not "
            f"have ({error}); it was saved by another version of a library."
        ) from error
    if not inspect.isclass(value):
        raise ModelFileError(f"the model file names {name!r}, which is not a class.")
    return value


def _is_sklearn_estimator(value):
    from sklearn.base import BaseEstimator

    return isinstance(value, BaseEstimator)


def _saved_by_state(cls):
    module = cls.__module__
    return (
        module.partition(".")[0] == "sklearn_ednn"
        or f"{module}.{cls.__qualname__}" in _STATE_CLASSES
    )


def _state_of(value):
    """What pickle would store of ``value``: ``__getstate__``, or its dict."""
    getstate = getattr(value, "__getstate__", None)
    state = getstate() if getstate is not None else None
    return dict(vars(value)) if state is None else state


class Encoder:
    """Encode objects into JSON-able nodes, collecting their arrays.

    Parameters
    ----------
    net_encoder : callable, default=None
        ``net_encoder(net, encoder, where)`` encodes a skorch net (the torch
        side supplies it); None refuses skorch nets.

    Attributes
    ----------
    arrays : dict of str to ndarray
        The numeric arrays, by key, to be stored beside the nodes.
    """

    def __init__(self, net_encoder=None):
        self.net_encoder = net_encoder
        self.arrays = {}

    def add_array(self, array, where):
        """Store a numeric array; its key."""
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(array)
        return key

    def encode(self, value, where="model"):
        """The node of ``value``; ``where`` names it in error messages."""
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, np.generic):
            return {"kind": "scalar", "dtype": value.dtype.str, "value": value.item()}
        if isinstance(value, np.ndarray):
            return self._encode_array(value, where)
        if isinstance(value, list):
            return [self.encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, tuple):
            items = [self.encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return {"kind": "tuple", "items": items}
        if isinstance(value, dict):
            items = [
                [
                    self.encode(key, f"{where} key"),
                    self.encode(item, f"{where}[{key!r}]"),
                ]
                for key, item in value.items()
            ]
            return {"kind": "dict", "items": items}
        if inspect.isclass(value):
            return {"kind": "class", "name": self._trusted_name(value, where)}
        return self._encode_object(value, where)

    def _encode_array(self, array, where):
        if array.dtype.kind in "biufc" and not array.dtype.fields:
            if array.dtype.kind == "c":
                raise TypeError(f"cannot save {where}: complex arrays are not stored.")
            return {"kind": "array", "key": self.add_array(array, where)}
        if array.dtype.kind in "OUS" and all(isinstance(v, str) for v in array.flat):
            return {
                "kind": "strs",
                "shape": list(array.shape),
                "dtype": "O" if array.dtype.kind == "O" else array.dtype.str,
                "values": [str(v) for v in array.flat],
            }
        raise TypeError(
            f"cannot save {where}: an array of dtype {array.dtype} is neither "
            "numeric nor strings."
        )

    def _trusted_name(self, cls, where):
        if not _is_trusted(cls.__module__):
            raise TypeError(
                f"cannot save {where}: {qualified_name(cls)} is not a class of "
                f"{', '.join(TRUSTED_PACKAGES)}, so loading would not trust it. "
                "Keep such a model with joblib, for files you trust."
            )
        return qualified_name(cls)

    def _encode_object(self, value, where):
        cls = type(value)
        name = self._trusted_name(cls, where)
        import torch

        if isinstance(value, torch.dtype):
            return {"kind": "dtype", "name": str(value).removeprefix("torch.")}
        from skorch.net import NeuralNet

        if isinstance(value, NeuralNet):
            if self.net_encoder is None:
                raise TypeError(f"cannot save {where}: skorch nets are not supported.")
            return self.net_encoder(value, self, where)
        if isinstance(value, torch.nn.Module):
            raise TypeError(
                f"cannot save {where}: a torch module instance ({cls.__name__}) "
                "has no record of its constructor's arguments. Give the tile "
                f"network as a class instead, e.g. estimator={cls.__name__} with "
                "estimator__module__<name>=... arguments."
            )
        from skorch.callbacks import Callback

        if isinstance(value, Callback):
            # A callback is configuration: a used one holds the optimizer's
            # scheduler and such, which a fresh one rebuilds on training.
            return self._encode_params(value, name, where)
        if _saved_by_state(cls):
            state = _state_of(value)
            return {"kind": "state", "class": name, "state": self.encode(state, where)}
        if _is_sklearn_estimator(value):
            return self._encode_skops(value, name, where)
        if hasattr(value, "get_params"):
            return self._encode_params(value, name, where)
        raise TypeError(
            f"cannot save {where}: {name} has neither get_params nor a state "
            "this format stores."
        )

    def _encode_params(self, value, name, where):
        params = value.get_params(deep=False)
        return {"kind": "params", "class": name, "params": self.encode(params, where)}

    def _encode_skops(self, value, name, where):
        import skops.io

        blob = skops.io.dumps(value)
        untrusted = [
            t for t in skops.io.get_untrusted_types(data=blob) if not _is_trusted(t)
        ]
        if untrusted:
            raise TypeError(
                f"cannot save {where}: it holds {', '.join(untrusted)}, outside the "
                f"trusted packages ({', '.join(TRUSTED_PACKAGES)})."
            )
        array = np.frombuffer(blob, dtype=np.uint8)
        return {"kind": "skops", "class": name, "key": self.add_array(array, where)}


class Decoder:
    """Rebuild objects from nodes and their arrays.

    Parameters
    ----------
    arrays : dict of str to ndarray
        The stored arrays.
    net_decoder : callable, default=None
        ``net_decoder(node, decoder)`` rebuilds a skorch net.
    """

    def __init__(self, arrays, net_decoder=None):
        self.arrays = arrays
        self.net_decoder = net_decoder

    def array(self, key):
        """The stored array ``key``."""
        try:
            return self.arrays[key]
        except (KeyError, TypeError):
            raise ModelFileError(
                f"the model file refers to an array {key!r} that it does not hold."
            ) from None

    def decode(self, node):
        """The object of ``node``."""
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if isinstance(node, list):
            return [self.decode(item) for item in node]
        if not isinstance(node, dict) or "kind" not in node:
            raise ModelFileError(f"the model file holds an unknown node {node!r:.80}.")
        kind = node["kind"]
        method = getattr(self, f"_decode_{kind}", None)
        if method is None:
            raise ModelFileError(f"the model file holds an unknown kind {kind!r}.")
        try:
            return method(node)
        except KeyError as error:
            raise ModelFileError(
                f"the model file's {kind!r} node lacks {error}."
            ) from None

    def _decode_tuple(self, node):
        return tuple(self.decode(item) for item in node["items"])

    def _decode_dict(self, node):
        return {self.decode(key): self.decode(value) for key, value in node["items"]}

    def _decode_array(self, node):
        return self.array(node["key"])

    def _decode_strs(self, node):
        dtype = object if node["dtype"] == "O" else np.dtype(node["dtype"])
        return np.array(node["values"], dtype=dtype).reshape(node["shape"])

    def _decode_scalar(self, node):
        return np.dtype(node["dtype"]).type(node["value"])

    def _decode_class(self, node):
        return import_trusted_class(node["name"])

    def _decode_dtype(self, node):
        import torch

        dtype = getattr(torch, str(node["name"]), None)
        if not isinstance(dtype, torch.dtype):
            raise ModelFileError(f"the model file names an unknown dtype {node!r}.")
        return dtype

    def _decode_params(self, node):
        cls = import_trusted_class(node["class"])
        return cls(**self.decode(node["params"]))

    def _decode_state(self, node):
        cls = import_trusted_class(node["class"])
        if not _saved_by_state(cls):
            raise ModelFileError(
                f"the model file restores {node['class']} from a state, which "
                "only this package's classes allow."
            )
        value = cls.__new__(cls)
        state = self.decode(node["state"])
        if hasattr(value, "__setstate__"):
            value.__setstate__(state)
        elif state:
            value.__dict__.update(state)
        return value

    def _decode_skops(self, node):
        import skops.io

        blob = self.array(node["key"]).tobytes()
        types = skops.io.get_untrusted_types(data=blob)
        untrusted = [t for t in types if not _is_trusted(t)]
        if untrusted:
            raise ModelFileError(
                f"the model file's {node.get('class')} holds {', '.join(untrusted)}, "
                "outside the trusted packages; refusing to load it."
            )
        return skops.io.loads(blob, trusted=types)

    def _decode_net(self, node):
        if self.net_decoder is None:
            raise ModelFileError("the model file holds a skorch net.")
        return self.net_decoder(node, self)
