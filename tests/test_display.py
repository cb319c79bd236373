"""ContributionMapDisplay: the tile contributions of a structure over its atoms."""

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
from _sheets import rattled_cells
from sklearn.pipeline import make_pipeline

from sklearn_ednn import EDNNRegressor, TileCNN, make_tile_net
from sklearn_ednn.atoms import AtomImage
from sklearn_ednn.inspection import ContributionMapDisplay


@pytest.fixture(scope="module")
def fitted():
    cells, energies = rattled_cells(8, kind="h-BN")
    resolution = tuple(cells[0].cell.lengths()[:2] / 32)
    net = make_tile_net(TileCNN, module__width=0.125, max_epochs=1)
    model = make_pipeline(
        AtomImage(resolution, species=(5, 7)),
        EDNNRegressor(net, f=8, c=4, channels=True, random_state=0),
    )
    return model.fit(cells, energies), cells


def test_the_map_is_the_models_contributions_over_the_cell(fitted):
    model, cells = fitted
    atoms = cells[0].repeat((2, 1, 1))
    display = ContributionMapDisplay.from_estimator(model, atoms)
    expected = model[-1].predict_contributions(model[0].transform([atoms]))[0]
    drawn = np.asarray(display.image_.get_array())
    np.testing.assert_allclose(drawn, 1000 * (expected - expected.mean()).T)
    lx, ly = atoms.cell.lengths()[:2]
    np.testing.assert_allclose(display.image_.get_extent(), [0, lx, 0, ly])
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == ["B", "N"]
    assert display.ax_.get_xlabel() == "x [Å]"
    assert display.colorbar_.ax.get_ylabel() == "tile contribution - mean [meV]"


def test_raw_contributions_in_ev_and_no_colorbar(fitted):
    model, cells = fitted
    display = ContributionMapDisplay.from_estimator(
        model, cells[1], subtract_mean=False, colorbar=False
    )
    expected = model[-1].predict_contributions(model[0].transform([cells[1]]))[0]
    np.testing.assert_allclose(np.asarray(display.image_.get_array()), expected.T)
    assert display.colorbar_ is None
    # The contributions sum to the prediction.
    assert expected.sum() == pytest.approx(model.predict([cells[1]])[0], rel=1e-9)
