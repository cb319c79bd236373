"""Golden references: tiny seeded models, saved, with what they predicted.

``tests/golden/`` holds one saved model per kind (``<kind>.ednn``, written by
:func:`sklearn_ednn.save`) and ``references.npz``: their predictions,
contribution maps, forces and Monte Carlo energies on fixed inputs, computed
when they were made. ``tests/test_golden.py`` checks that the saved models
still give those numbers (inference has not drifted) and that fitting them
again from their seed gives the same models (training has not drifted).

Regenerate them on purpose, after a change that is meant to move them, with::

    python tests/_golden.py
"""

from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.tree import DecisionTreeRegressor

from sklearn_ednn import EDNNRegressor, TileCNN, TileMLP, make_tile_net, save
from sklearn_ednn.datasets import make_ising, sheet_cell

FOLDER = Path(__file__).resolve().parent / "golden"
KINDS = ("mlp", "cnn", "linear", "boosting", "atoms")


def ising_data():
    """Training lattices, and the 8x8 and 16x16 lattices the references score."""
    X, y = make_ising(96, size=8, random_state=0)
    small, _ = make_ising(4, size=8, random_state=1)
    large, _ = make_ising(2, size=16, random_state=2)
    return X, y, small, large


def atoms_data():
    """Rattled h-BN cells with their Tersoff energies, and one structure to score."""
    from _sheets import rattled_cells, rattled_sheet

    cells, energies = rattled_cells(8, kind="h-BN")
    return cells, energies, rattled_sheet()


def build(kind):
    """The unfitted golden model of ``kind``, with every seed fixed."""
    if kind == "mlp":
        net = make_tile_net(
            TileMLP, module__hidden_sizes=(16, 8), max_epochs=3, batch_size=16
        )
        return EDNNRegressor(net, f=1, c=1, random_state=0)
    if kind == "cnn":
        net = make_tile_net(TileCNN, module__width=0.125, max_epochs=3, batch_size=16)
        return EDNNRegressor(net, f=2, c=2, random_state=0)
    if kind == "linear":
        return EDNNRegressor(Ridge(alpha=1e-3), f=2, c=1)
    if kind == "boosting":
        return EDNNRegressor(
            DecisionTreeRegressor(max_depth=3), f=1, c=1, n_rounds=3, random_state=0
        )
    from sklearn_ednn.atoms import AtomImage, make_atoms_ednn

    # The atoms recipe: SiLU, reference energies per element, random moves.
    resolution = tuple(sheet_cell().cell.lengths()[:2] / 32)
    return make_pipeline(
        AtomImage(resolution, species=(5, 7)),
        make_atoms_ednn(f=8, c=4, max_epochs=2, width=0.125, refit_folds=3),
    )


def fit(kind):
    """The golden model of ``kind``, fitted on its data."""
    if kind == "atoms":
        cells, energies, _ = atoms_data()
        return build(kind).fit(cells, energies)
    X, y, _, _ = ising_data()
    return build(kind).fit(X, y)


def outputs(kind, model):
    """What the references hold for one fitted model, by name."""
    from sklearn_ednn.montecarlo import ising_metropolis

    if kind == "atoms":
        from sklearn_ednn.atoms import EDNNCalculator
        from sklearn_ednn.montecarlo import AtomsEDNNEnergy, atoms_metropolis

        _, _, sheet = atoms_data()
        structure = sheet.copy()
        structure.calc = EDNNCalculator(model)
        image = model[0].transform([sheet])
        run = atoms_metropolis(
            sheet,
            AtomsEDNNEnergy(model),
            temperature=1000.0,
            n_steps=20,
            sample_interval=5,
            random_state=0,
        )
        return {
            "predict": np.concatenate(
                [model.predict([sheet]), model.predict([sheet.repeat((2, 1, 1))])]
            ),
            "contributions": model[-1].predict_contributions(image),
            "forces": structure.get_forces(),
            "mc_energies": run.energies,
        }
    _, _, small, large = ising_data()
    result = {
        "predict": model.predict(small),
        "predict_large": model.predict(large),
        "contributions": model.predict_contributions(large),
    }
    if kind == "mlp":
        run = ising_metropolis(
            model,
            [2.5],
            size=8,
            n_replicas=2,
            n_sweeps=5,
            n_burn_in=0,
            random_state=0,
        )
        result["mc_energies"] = run.energies
    return result


def regenerate():
    """Fit, save and score every golden model; write the references."""
    FOLDER.mkdir(exist_ok=True)
    references = {}
    for kind in KINDS:
        model = fit(kind)
        save(model, FOLDER / f"{kind}.ednn")
        for name, value in outputs(kind, model).items():
            references[f"{kind}/{name}"] = np.asarray(value)
    np.savez(FOLDER / "references.npz", **references)
    print(f"wrote {len(KINDS)} models and {len(references)} references to {FOLDER}")


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    regenerate()
