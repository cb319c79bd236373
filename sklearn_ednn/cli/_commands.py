"""The commands of ``sklearn-ednn``: train, predict, info and demo."""

import json
import logging
import time
from pathlib import Path

import numpy as np

from .._persistence import final_estimator, load, model_info, save
from .._validation import first_non_finite_row
from ._io import (
    STRUCTURE_SUFFIXES,
    InputError,
    read_grids,
    read_structures,
    write_predictions,
)

__all__ = ["demo", "info", "predict", "train"]

logger = logging.getLogger("sklearn_ednn.cli")

# Settings of ``train`` and their defaults for grids and for structures.
TRAIN_DEFAULTS = {
    "f": {"grids": 1, "structures": 16},
    "c": {"grids": 1, "structures": 16},
    "network": {"grids": "mlp", "structures": "cnn"},
    "epochs": {"grids": 100, "structures": 60},
    "batch_size": {"grids": 32, "structures": 16},
    "lr": {"grids": 3e-3, "structures": 1e-3},
}


def _is_structures(path):
    return Path(path).suffix.lower() in STRUCTURE_SUFFIXES


def _check_finite(predictions, what):
    """Raise naming the first sample whose prediction is not finite."""
    index = first_non_finite_row(predictions)
    if index is not None:
        raise InputError(
            f"the prediction of {what} {index} is {predictions[index]!r}, not finite; "
            "check that input (and that the model was fitted on comparable data)."
        )


def _grid_model(settings):
    from .. import EDNNRegressor, TileCNN, TileFCN, TileMLP, make_tile_net

    network = settings["network"]
    if network == "ridge":
        from sklearn.linear_model import RidgeCV

        estimator = RidgeCV(alphas=np.logspace(-8, 2, 11))
    else:
        modules = {"mlp": TileMLP, "cnn": TileCNN, "fcn": TileFCN}
        if network not in modules:
            raise InputError(
                f"network={network!r} must be one of mlp, cnn, fcn, ridge for grids."
            )
        estimator = make_tile_net(
            modules[network],
            max_epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            lr=settings["lr"],
            verbose=int(settings["verbose"]),
        )
    return EDNNRegressor(
        estimator,
        f=settings["f"],
        c=settings["c"],
        channels=bool(settings["channels"]),
        random_state=settings["random_state"],
    )


def _atoms_model(settings, structures):
    from sklearn.pipeline import make_pipeline

    from ..atoms import AtomImage, make_atoms_ednn

    if settings["network"] not in ("cnn", "fcn"):
        raise InputError(
            f"network={settings['network']!r} must be cnn or fcn for structures."
        )
    # The image is whole focus regions of the first cell, near the spacing asked.
    focus = settings["f"]
    lengths = structures[0].cell.lengths()[:2]
    pixels = focus * np.maximum(1, np.round(lengths / (settings["resolution"] * focus)))
    species = settings["species"] or sorted(
        {int(z) for atoms in structures for z in atoms.numbers}
    )
    image = AtomImage(tuple(lengths / pixels), species=tuple(species))
    model = make_atoms_ednn(
        f=focus,
        c=settings["c"],
        max_epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        network=settings["network"],
        random_state=settings["random_state"],
        verbose=int(settings["verbose"]),
    )
    if settings["force_weight"] is not None:
        model.set_params(force_weight=settings["force_weight"])
    return make_pipeline(image, model)


def train(settings):
    """Fit an EDNN on a data file and save it; returns the saved path."""
    data, output = settings["data"], settings["output"]
    kind = "structures" if _is_structures(data) else "grids"
    for key, defaults in TRAIN_DEFAULTS.items():
        if settings.get(key) is None:
            settings[key] = defaults[kind]
    fit_params = {}
    if kind == "structures":
        X, y = read_structures(data, settings["energy_key"])
        if y is None:
            raise InputError(
                f"{data}: every structure needs an energy to train on (the extended "
                "XYZ 'energy' key, or name an info key with --energy-key)."
            )
        model = _atoms_model(settings, X)
        if settings["force_weight"] is not None:
            model[0].fit(X)
            fit_params["ednnregressor__forces"] = model[0].force_targets(X)
    else:
        X, y = read_grids(data, settings["x_key"], settings["y_key"])
        X = np.asarray(X)
        model = _grid_model(settings)
    logger.info("training on %d samples of %s", len(X), data)
    tic = time.perf_counter()
    model.fit(X, y, **fit_params)
    seconds = time.perf_counter() - tic
    train_error = float(np.mean(np.abs(model.predict(X) - y)))
    metadata = {
        "data": str(data),
        "n_samples": len(X),
        "train_mean_absolute_error": train_error,
        "train_seconds": seconds,
        "settings": {k: v for k, v in settings.items() if k not in ("data", "output")},
    }
    path = save(model, output, metadata=metadata)
    print(
        f"fitted on {len(X)} {kind} of {data} in {seconds:.1f} s; training mean "
        f"absolute error {train_error:.6g}; saved {path}"
    )
    return path


def predict(settings):
    """Predict a data file with a saved model and write the predictions."""
    model = load(settings["model"])
    final = final_estimator(model)
    final.set_params(verbose=int(settings["verbose"]))
    data = settings["data"]
    structures = None
    if _is_structures(data):
        structures, _ = read_structures(data, None)
        if not hasattr(model, "steps"):
            raise InputError(
                f"{settings['model']} predicts grids; {data} holds structures."
            )
        grids = model[:-1].transform(structures)
    else:
        grids, _ = read_grids(data, settings["x_key"])
        if hasattr(model, "steps"):
            raise InputError(
                f"{settings['model']} predicts structures; {data} holds grids."
            )
    predictions = final.predict(grids)
    _check_finite(predictions, "structure" if structures is not None else "grid")
    contributions = (
        final.predict_contributions(grids) if settings["contributions"] else None
    )
    write_predictions(
        settings["output"],
        predictions,
        contributions=contributions,
        structures=structures,
    )
    print(f"predicted {len(predictions)} samples of {data}; wrote {settings['output']}")


def info(settings):
    """Print what a saved model is."""
    details = model_info(settings["model"])
    if settings["json"]:
        print(json.dumps(details, indent=2))
        return
    summary = details["summary"]
    rows = [
        ("model", summary["model"]),
        (
            "focus f, context c",
            f"{summary['f']}, {summary['c']} ({summary['padding']})",
        ),
        ("tile model", f"{summary['tile_model']} (solver {summary['solver']})"),
        ("epochs", summary["epochs"]),
        ("channels, outputs", f"{summary['n_channels']}, {summary['n_outputs']}"),
        ("training grids", "x".join(map(str, summary["training_grid_shape"]))),
        ("saved", details["saved_utc"]),
        ("versions", ", ".join(f"{k} {v}" for k, v in details["versions"].items())),
    ]
    for key, value in (details.get("metadata") or {}).items():
        if key != "settings":
            rows.append((key.replace("_", " "), value))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def demo(settings):
    """The README's main job: 8x8 Ising lattices to 128x128, with errors."""
    from sklearn.model_selection import train_test_split

    from .. import EDNNRegressor, make_tile_net
    from ..datasets import make_ising

    quick = settings["quick"]
    verbose = settings["verbose"]
    X, y = make_ising(
        2000 if quick else 10_000, size=8, verbose=verbose, random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0
    )
    X_large, y_large = make_ising(
        8 if quick else 32, size=128, verbose=verbose, random_state=1
    )
    net = make_tile_net(max_epochs=5 if quick else 30, verbose=int(verbose))
    model = EDNNRegressor(net, f=1, c=1, random_state=0).fit(X_train, y_train)
    for name, X_eval, y_eval in [
        ("8x8 held out", X_test, y_test),
        ("128x128 transfer", X_large, y_large),
    ]:
        error = np.abs(model.predict(X_eval) - y_eval)
        print(
            f"{name:>17}: mean abs error {error.mean():.4f} J "
            f"({error.mean() / X_eval[0].size:.2e} J per spin)"
        )
    if settings["output"] is not None:
        print(f"saved {save(model, settings['output'])}")
