"""Random single-atom moves, proposed to local and full re-evaluation alike."""

import numpy as np
import pytest

from sklearn_ednn.montecarlo import AtomsEDNNEnergy


def compare_local_and_full(model, atoms, n_moves, *, accept_every=1, seed=0):
    """Check that local and full re-evaluation agree on every move.

    Both energies start on ``atoms``; every move (up to 0.3 Angstrom in the
    plane) must give the same energy change, and every ``accept_every``-th is
    accepted. Returns the local energy, with no move pending.
    """
    local, full = AtomsEDNNEnergy(model), AtomsEDNNEnergy(model, local=False)
    assert local.start(atoms) == pytest.approx(full.start(atoms), rel=1e-12)
    rng = np.random.default_rng(seed)
    for step in range(n_moves):
        atom = rng.integers(len(atoms))
        trial = local.positions[atom] + np.r_[rng.uniform(-0.3, 0.3, 2), 0.0]
        move = (atom, trial)
        delta_local, delta_full = local.propose(move), full.propose(move)
        assert delta_local == pytest.approx(delta_full, rel=1e-9, abs=1e-9)
        accepted = step % accept_every == 0
        local.accept(accepted)
        full.accept(accepted)
    return local
