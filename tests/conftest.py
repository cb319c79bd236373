"""Shared fixtures: small Ising data sets and quickly trained models."""

import pytest
import torch

from sklearn_ednn.datasets import make_ising

# Two cores: keep torch from spawning more threads than there are.
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def ising_small():
    """400 8x8 Ising configurations with exact energies."""
    return make_ising(400, size=8, random_state=0)
