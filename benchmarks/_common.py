"""What the benchmark scripts share: paths, arguments, the atoms split, saving.

Every script imports only the package and this module. It saves its results
under ``results/<script>/``, each JSON file with the command, arguments, commit
and machine that made it (:func:`save_json`), and keeps fitted models and data
sets in ``.cache/``, which is not committed.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CACHE = HERE / ".cache"

# The atoms benchmarks: 64 x 64 pixels per 60-atom cell (0.19 Angstrom), one
# channel per element, and 16 tilings in the averaged rows.
PIXELS_PER_CELL = 64
SPECIES = (5, 6, 7)
AVERAGE_SHIFTS = 4


def script_name():
    """The running script's name, without ``.py``."""
    return Path(sys.argv[0]).stem


def make_parser(doc, replot=False):
    """An argument parser described by a script's docstring, with ``--quick``.

    With ``replot``, also ``--replot``: draw the figure again from the saved
    results, for scripts whose figure is drawn from their JSON alone.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run in minutes")
    if replot:
        parser.add_argument(
            "--replot",
            action="store_true",
            help="draw the figure again from the saved results, without running",
        )
    return parser


def results_dir(script=None):
    """``results/<script>/``, created if needed."""
    path = RESULTS / (script or script_name())
    path.mkdir(parents=True, exist_ok=True)
    return path


def _git(*args):
    try:
        out = subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def provenance(args=None):
    """The command, arguments, commit and machine of this run."""
    import torch

    arguments = {
        key: str(value) if isinstance(value, Path) else value
        for key, value in (vars(args) if args is not None else {}).items()
    }
    command = ["python", f"benchmarks/{script_name()}.py", *sys.argv[1:]]
    return {
        "command": " ".join(command),
        "arguments": arguments,
        "commit": _git("rev-parse", "HEAD"),
        # Edits of the package or the scripts since that commit (results aside).
        "uncommitted_source_changes": bool(
            _git("status", "--porcelain", "--", "../sklearn_ednn", "*.py")
        ),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": torch.__version__,
        },
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
    }


def save_json(name, result, args=None, script=None):
    """Write ``result`` with its provenance to ``results/<script>/<name>.json``."""
    path = results_dir(script) / f"{name}.json"
    path.write_text(json.dumps({"provenance": provenance(args), **result}, indent=2))
    return path


def load_json(name, script=None):
    """A saved result of ``results/<script>/<name>.json``."""
    return json.loads((results_dir(script) / f"{name}.json").read_text())


def update_json(name, update, args=None, script=None):
    """Add ``update`` to a saved result; the provenance of the update is kept."""
    result = load_json(name, script)
    stamped = {**update, "provenance_of_update": provenance(args)}
    result.update(stamped)
    path = results_dir(script) / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    return path


def save_figure(fig, name, script=None):
    """Save a matplotlib figure to ``results/<script>/<name>.png``."""
    path = results_dir(script) / f"{name}.png"
    fig.savefig(path, dpi=120)
    return path


def parity_panel(ax, y_true, y_pred, *, kind, quantity, unit, title, scale=1.0):
    """One panel of scikit-learn's ``PredictionErrorDisplay``, labelled for a paper.

    ``kind`` is the display's (``"actual_vs_predicted"`` or
    ``"residual_vs_predicted"``); ``quantity`` and ``unit`` label the axes
    (``"E / atom"``, ``"eV"``); ``title`` is formatted with ``mae``, the mean
    absolute error times ``scale`` (1000 for meV from eV); the display's
    reference line is named in a legend.
    """
    from matplotlib.ticker import MaxNLocator
    from sklearn.metrics import PredictionErrorDisplay

    display = PredictionErrorDisplay.from_predictions(
        y_true,
        y_pred,
        kind=kind,
        ax=ax,
        scatter_kwargs={"s": 4, "alpha": 0.5},
    )
    mae = scale * float(np.mean(np.abs(np.asarray(y_pred) - y_true)))
    predicted = f"predicted {quantity} [{unit}]"
    if kind == "actual_vs_predicted":
        ax.set(xlabel=predicted, ylabel=f"true {quantity} [{unit}]")
        display.line_.set_label("perfect prediction")
    else:
        ax.set(xlabel=predicted, ylabel=f"true - predicted [{unit}]")
        display.line_.set_label("zero error")
    ax.set_title(title.format(mae=mae))
    ax.legend(loc="upper left")
    # The display puts its ticks at the data's ends; round ones read better.
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(5))
    return display


def cell_area():
    """Area of the 60-atom cell, in Angstrom squared."""
    from sklearn_ednn.datasets import sheet_cell

    return float(np.prod(sheet_cell().cell.lengths()[:2]))


def atom_image_resolution():
    """Pixel size of the atoms benchmarks' images, per axis, in Angstrom."""
    from sklearn_ednn.datasets import sheet_cell

    return tuple(sheet_cell().cell.lengths()[:2] / PIXELS_PER_CELL)


def cell_counts(quick):
    """Training and held-out 60-atom cells, and larger cells per repeat ``k``.

    Returns ``(n_train, n_test, big_counts)``; ``big_counts[k]`` cells of
    ``k x k`` 60-atom cells make the transfer test.
    """
    if quick:
        return 400, 100, {2: 4, 4: 2, 5: 2}
    return 6000, 1000, {2: 20, 4: 10, 5: 10}


def transfer_cells(big_counts):
    """The larger cells of the transfer test: (k, structures, energies)."""
    from sklearn_ednn.datasets import make_sheets

    for k, count in big_counts.items():
        big, big_energy = make_sheets(
            count,
            repeat=(k, k),
            snapshots_per_run=1,
            random_state=k,
            cache_dir=CACHE,
            n_jobs=2,
        )
        yield k, big, big_energy


def paper_split(n_train, n_test):
    """``atoms_paper.py``'s cells: the first ``n_train`` train, the last ``n_test``
    are held out; with the fitted image of the benchmarks.

    Returns ``(train, y_train), (test, y_test), image``.
    """
    from sklearn_ednn.atoms import AtomImage
    from sklearn_ednn.datasets import make_sheets

    sheets, energy = make_sheets(
        6000 + 1000, random_state=0, cache_dir=CACHE, n_jobs=2, verbose=True
    )
    image = AtomImage(atom_image_resolution(), species=SPECIES).fit()
    return (
        (sheets[:n_train], energy[:n_train]),
        (sheets[-n_test:], energy[-n_test:]),
        image,
    )


def errors_mev(predicted, true, n_atoms, area):
    """Mean and median absolute errors in meV per atom and per Angstrom^2."""
    error = 1000 * np.abs(predicted - true)
    return {
        "mean_meV_per_atom": float(np.mean(error / n_atoms)),
        "median_meV_per_atom": float(np.median(error / n_atoms)),
        "mean_meV_per_A2": float(np.mean(error / area)),
        "median_meV_per_A2": float(np.median(error / area)),
        "mean_meV_total": float(np.mean(error)),
    }


def held_out_errors(pipeline, structures, energies):
    """Energy (meV/atom) and in-plane force (eV/A) mean absolute errors.

    Forces come from :class:`~sklearn_ednn.atoms.EDNNCalculator` and are
    compared with the ones ``structures`` carry.
    """
    from sklearn_ednn.atoms import EDNNCalculator

    n_atoms = np.array([len(s) for s in structures])
    energy_error = 1000 * np.abs(pipeline.predict(structures) - energies) / n_atoms
    force_errors = []
    for structure in structures:
        copy = structure.copy()
        copy.calc = EDNNCalculator(pipeline)
        difference = copy.get_forces()[:, :2] - structure.get_forces()[:, :2]
        force_errors.append(np.abs(difference).ravel())
    force_errors = np.concatenate(force_errors)
    return {
        "energy_mean_meV_per_atom": float(energy_error.mean()),
        "energy_median_meV_per_atom": float(np.median(energy_error)),
        "force_mean_eV_per_A": float(force_errors.mean()),
        "force_median_eV_per_A": float(np.median(force_errors)),
    }
