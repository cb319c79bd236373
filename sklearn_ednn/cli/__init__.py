"""The ``sklearn-ednn`` command line: train, predict, info and demo.

``sklearn-ednn train DATA -o MODEL`` fits an EDNN on grids (NPZ or HDF5
arrays ``X`` and ``y``) or on structures with energies (extended XYZ) and
saves it (:func:`sklearn_ednn.save`); ``predict MODEL DATA -o OUT`` writes
its predictions as CSV, NPZ (optionally with contribution maps) or extended
XYZ; ``info MODEL`` says what a saved model is; ``demo`` runs the README's
main job. Bad input ends with a one-line error and exit status 1 (2 for a
bad command line); ``--debug`` shows the traceback instead.
"""

import argparse
import logging
import sys

__all__ = ["build_parser", "main"]

_TRAIN_SETTINGS = (
    "f",
    "c",
    "network",
    "epochs",
    "batch_size",
    "lr",
    "random_state",
    "channels",
    "x_key",
    "y_key",
    "energy_key",
    "resolution",
    "species",
    "force_weight",
)


def _add_common(parser):
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or epoch lines"
    )


def _add_train(commands):
    train = commands.add_parser(
        "train",
        help="fit an EDNN on a data file and save it",
        description="Fit an EDNN on grids (.npz, .h5: arrays X and y) or on "
        "structures with energies (.xyz, .extxyz) and save it. Settings come "
        "from the flags, then from --config, then from the defaults (grids: "
        "f=1, c=1, the MLP, 100 epochs; structures: the atoms recipe, f=c=16, "
        "the CNN, 60 epochs).",
    )
    train.add_argument("data", help="training data: .npz, .h5, .hdf5, .xyz, .extxyz")
    train.add_argument("-o", "--output", required=True, help="the model file to write")
    train.add_argument("--config", help="a TOML or YAML file of these settings")
    train.add_argument("-f", type=int, help="focus size")
    train.add_argument("-c", type=int, help="context width")
    train.add_argument(
        "--network",
        choices=("mlp", "cnn", "fcn", "ridge"),
        help="tile model (structures: cnn or fcn)",
    )
    train.add_argument("--epochs", type=int, help="training epochs")
    train.add_argument("--batch-size", type=int, help="grids per batch")
    train.add_argument("--lr", type=float, help="peak learning rate")
    train.add_argument("--random-state", type=int, help="seed (default 0)")
    train.add_argument(
        "--channels",
        action="store_true",
        default=None,
        help="X's last axis is channels",
    )
    train.add_argument("--x-key", help="name of the grids in the file (default X)")
    train.add_argument("--y-key", help="name of the targets in the file (default y)")
    train.add_argument("--energy-key", help="structures: energy key of atoms.info")
    train.add_argument(
        "--resolution", type=float, help="structures: pixel size in Angstrom (0.2)"
    )
    train.add_argument(
        "--species",
        type=int,
        nargs="+",
        help="structures: atomic numbers, one channel each",
    )
    train.add_argument(
        "--force-weight",
        type=float,
        help="structures: fit the forces too, with this weight in Angstrom^2",
    )
    _add_common(train)


def build_parser():
    """The argument parser of ``sklearn-ednn``.

    Returns
    -------
    parser : argparse.ArgumentParser
        Its sub-commands ``train``, ``predict``, ``info`` and ``demo``.
    """
    parser = argparse.ArgumentParser(
        prog="sklearn-ednn",
        description="Extensive deep neural networks: fit on small systems, "
        "predict large ones.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train(commands)

    predict = commands.add_parser(
        "predict", help="predict a data file with a saved model"
    )
    predict.add_argument("model", help="a model file from train")
    predict.add_argument("data", help="grids (.npz, .h5) or structures (.xyz)")
    predict.add_argument(
        "-o", "--output", required=True, help="predictions: .csv, .npz or .xyz"
    )
    predict.add_argument(
        "--contributions",
        action="store_true",
        help="also write each tile's contribution (NPZ output)",
    )
    predict.add_argument("--x-key", default="X", help="name of the grids in the file")
    _add_common(predict)

    info = commands.add_parser("info", help="what a saved model is")
    info.add_argument("model", help="a model file")
    info.add_argument("--json", action="store_true", help="print it as JSON")
    _add_common(info)

    demo = commands.add_parser(
        "demo", help="fit on 8x8 Ising lattices, predict 128x128 ones"
    )
    demo.add_argument("--quick", action="store_true", help="a smaller run")
    demo.add_argument("-o", "--output", help="save the fitted model here")
    _add_common(demo)
    return parser


def _settings(args):
    """The command's settings: its flags over its config file."""
    from ._io import InputError, read_config

    settings = vars(args).copy()
    settings["verbose"] = not settings.pop("quiet")
    if args.command != "train":
        return settings
    config = read_config(args.config) if args.config else {}
    unknown = sorted(set(config) - set(_TRAIN_SETTINGS))
    if unknown:
        raise InputError(
            f"{args.config}: unknown settings {unknown}; known: "
            f"{list(_TRAIN_SETTINGS)}."
        )
    for key in _TRAIN_SETTINGS:
        if settings.get(key) is None:
            settings[key] = config.get(key)
    defaults = {"random_state": 0, "channels": False, "x_key": "X", "y_key": "y"}
    for key, value in defaults.items():
        if settings[key] is None:
            settings[key] = value
    settings["resolution"] = settings["resolution"] or 0.2
    return settings


def main(argv=None):
    """Run ``sklearn-ednn``; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 on an error (printed as one line), 2 on a bad
        command line.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(message)s",
    )
    from . import _commands

    try:
        getattr(_commands, args.command)(_settings(args))
    except KeyboardInterrupt:
        print("sklearn-ednn: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"sklearn-ednn {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0
