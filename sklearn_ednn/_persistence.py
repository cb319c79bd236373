"""Saving and loading fitted models as one safetensors file that runs no code.

A saved model is a `safetensors <https://huggingface.co/docs/safetensors>`_
file: the numeric arrays (network weights, offsets, fitted coefficients) are
its tensors, and a JSON header in its metadata describes everything else (the
parameters, the fitted state, the classes by name, the format and library
versions, a summary for ``sklearn-ednn info``). Loading reads that JSON and
those arrays and rebuilds the model from trusted classes only
(:mod:`sklearn_ednn._serialize`); it never unpickles. Saving writes a
temporary file beside the target and renames it, so a failed save leaves the
previous file as it was.
"""

import contextlib
import datetime
import functools
import json
import os
import tempfile
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._serialize import Decoder, Encoder, ModelFileError

__all__ = ["ModelFileError", "ModelVersionWarning", "load", "model_info", "save"]

FORMAT = "sklearn-ednn model"
FORMAT_VERSION = 1
_METADATA_KEY = "sklearn_ednn"
# The libraries whose versions a saved model records and loading compares.
_LIBRARIES = ("sklearn-ednn", "torch", "scikit-learn", "skorch", "numpy")


class ModelVersionWarning(UserWarning):
    """A model saved with other library versions than the ones loading it.

    The file still loads (weights and coefficients do not change meaning
    between versions of this format); check its predictions before relying
    on them.
    """


def _library_versions():
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def final_estimator(model):
    """The EDNNRegressor of ``model`` (itself, or a pipeline's last step)."""
    from ._estimator import EDNNRegressor

    final = model[-1] if isinstance(model, Pipeline) else model
    if not isinstance(final, EDNNRegressor):
        raise TypeError(
            f"save stores a fitted EDNNRegressor or a Pipeline ending in one; got "
            f"{type(model).__name__}"
            + (f" ending in {type(final).__name__}" if final is not model else "")
            + "."
        )
    return final


def _summary(model):
    """What ``sklearn-ednn info`` shows of a fitted model, from its fitted tiling."""
    final = final_estimator(model)
    tiling = final.tiling_
    if tiling.module is not None:
        tile_model = type(tiling.module.tile_module).__name__
        epochs = len(final.estimator_.history_)
    else:
        tile_model, epochs = type(final.estimator).__name__, None
    steps = [type(step).__name__ for step in model] if model is not final else []
    return {
        "model": " -> ".join(steps) if steps else type(model).__name__,
        "f": list(tiling.focus),
        "c": list(tiling.context),
        "padding": tiling.padding,
        "solver": final.solver_,
        "tile_model": tile_model,
        "epochs": epochs,
        "n_channels": tiling.n_channels,
        "n_outputs": tiling.n_outputs,
        "training_grid_shape": [int(n) for n in final.grid_shape_],
    }


def _net_codec():
    """The torch side's encoder and decoder of skorch nets."""
    from ._torch._persistence import decode_net, encode_net

    return encode_net, decode_net


def save(model, path, *, metadata=None):
    """Save a fitted EDNN to a file that loading cannot run code from.

    Parameters
    ----------
    model : EDNNRegressor or Pipeline
        A fitted :class:`~sklearn_ednn.EDNNRegressor` (any solver), or a
        fitted pipeline ending in one, such as
        ``make_pipeline(AtomImage(...), make_atoms_ednn())``. Every class it
        holds must come from sklearn-ednn, scikit-learn, skorch, torch, numpy
        or scipy; a tile network must be given as a class (with
        ``module__*`` arguments), not as an instance.
    path : str or path-like
        The file to write, conventionally ``*.ednn``; its directory must
        exist. An existing file is replaced only once the new one is
        complete.
    metadata : dict, default=None
        JSON-serialisable notes to keep with the model (the training data,
        scores); :func:`model_info` returns them.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    TypeError
        If ``model`` is not a fitted EDNN or holds something this format
        cannot store (the message names it).

    See Also
    --------
    load : Load a saved model.
    model_info : Read a saved model's summary without loading it.

    Notes
    -----
    :mod:`joblib` or :mod:`pickle` keep any model, but loading a pickle runs
    whatever code the file names: use them only for files you made yourself
    and load them with the same library versions.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_ednn import EDNNRegressor, load, save
    >>> rng = np.random.default_rng(0)
    >>> X = rng.choice([-1.0, 1.0], size=(40, 4, 4))
    >>> y = (X * np.roll(X, 1, 1)).sum(axis=(1, 2))
    >>> model = EDNNRegressor(Ridge(alpha=1e-6), f=1, c=1).fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ising.ednn"
    >>> loaded = load(save(model, path))
    >>> bool(np.array_equal(loaded.predict(X), model.predict(X)))
    True
    """
    final = final_estimator(model)
    check_is_fitted(final)
    if isinstance(model, Pipeline):
        for _, step in model.steps[:-1]:
            check_is_fitted(step)
    try:
        metadata_json = json.loads(json.dumps(metadata))
    except (TypeError, ValueError) as error:
        raise TypeError(f"metadata must be JSON-serialisable: {error}") from None
    encode_net, _ = _net_codec()
    encoder = Encoder(net_encoder=encode_net)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _library_versions(),
        "saved_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "summary": _summary(model),
        "metadata": metadata_json,
        "model": encoder.encode(model),
    }
    from safetensors.numpy import save as to_safetensors

    data = to_safetensors(encoder.arrays, metadata={_METADATA_KEY: json.dumps(header)})
    path = Path(path)
    _write_atomic(path, data)
    return path


def _write_bytes(file, data):
    """Write ``data`` to an open file in chunks (a seam for failure tests)."""
    chunk = 1 << 24
    for start in range(0, len(data), chunk):
        file.write(data[start : start + chunk])


def _write_atomic(path, data):
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(
            f"cannot save to {path}: {directory} is not a directory."
        )
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".partial", dir=directory
    )
    try:
        # mkstemp makes the file private; give it the mode a new file gets.
        os.chmod(temporary, _new_file_mode(path))
        with os.fdopen(descriptor, "wb") as file:
            _write_bytes(file, data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _new_file_mode(path):
    """The mode of the file being replaced, or of a new file under the umask."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _read(path, *, arrays=True):
    """The JSON header and (optionally) the arrays of a saved model."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}.")
    try:
        with safe_open(path, framework="np") as file:
            metadata = file.metadata() or {}
            values = (
                {key: file.get_tensor(key) for key in file.keys()} if arrays else {}
            )
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelFileError(
            f"{path} is not a saved sklearn-ednn model (not a complete safetensors "
            f"file: {error})."
        ) from None
    if _METADATA_KEY not in metadata:
        raise ModelFileError(
            f"{path} is a safetensors file but not a saved sklearn-ednn model."
        )
    try:
        header = json.loads(metadata[_METADATA_KEY])
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path} has a corrupt model header: {error}.") from None
    _check_format(header, path)
    return header, values


def _check_format(header, path):
    """Refuse unknown formats; warn about other library versions."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a saved sklearn-ednn model.")
    saved = header.get("format_version")
    if not isinstance(saved, int) or not 1 <= saved <= FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {saved!r}; this sklearn-ednn reads versions "
            f"1 to {FORMAT_VERSION}. Load it with the sklearn-ednn that saved it "
            f"({(header.get('versions') or {}).get('sklearn-ednn')})."
        )
    saved_versions = header.get("versions") or {}
    current = _library_versions()
    differ = [
        f"{name} {saved_versions.get(name)} (now {current[name]})"
        for name in _LIBRARIES
        if saved_versions.get(name) != current[name]
    ]
    if differ:
        warnings.warn(
            f"{path} was saved with {', '.join(differ)}; check its predictions.",
            ModelVersionWarning,
            stacklevel=3,
        )


def load(path, *, device=None):
    """Load a model saved by :func:`save`, without running code from the file.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.
    device : str, default=None
        Where a torch tile network is placed (``"cpu"``, ``"cuda"``); None
        keeps the device it was saved with.

    Returns
    -------
    model : EDNNRegressor or Pipeline
        The fitted model, predicting exactly as when it was saved (on the
        same device and library versions).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ModelFileError
        If the file is not a complete saved model (a pickle, a truncated
        file, random bytes), has an unknown format version, or names a class
        outside the trusted packages.

    Warns
    -----
    ModelVersionWarning
        If the file was saved with other versions of sklearn-ednn, torch,
        scikit-learn, skorch or numpy.

    See Also
    --------
    save : Save a fitted model.
    """
    header, arrays = _read(path)
    _, decode_net = _net_codec()
    decoder = Decoder(arrays, net_decoder=functools.partial(decode_net, device=device))
    model = decoder.decode(header.get("model"))
    try:
        final_estimator(model)
    except TypeError:
        raise ModelFileError(f"{path} does not hold an EDNN model.") from None
    return model


def model_info(path):
    """A saved model's summary, versions and metadata, without loading it.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    info : dict
        ``format_version``, ``versions`` (of the libraries that saved it),
        ``saved_utc``, ``summary`` (the model's steps, ``f``, ``c``, padding,
        solver, tile model, epochs, channels, outputs and training grid
        shape) and the ``metadata`` given to :func:`save`.

    Raises
    ------
    FileNotFoundError, ModelFileError
        As for :func:`load`.
    """
    header, _ = _read(path, arrays=False)
    return {key: value for key, value in header.items() if key != "model"}
