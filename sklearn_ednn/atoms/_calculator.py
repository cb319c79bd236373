"""A fitted EDNN on images of atoms as an ASE calculator, with autograd forces."""

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from .._validation import first_non_finite_row
from ._fitted import check_atoms_model
from ._torch_render import render_image_torch
from ._transformer import check_periodic


def _check_finite(values, what, atoms):
    """Refuse to hand a simulation an energy or forces that are not finite."""
    values = np.asarray(values)
    atom = first_non_finite_row(np.atleast_1d(values))  # forces: a row per atom
    if atom is not None:
        where = "" if values.ndim == 0 else f" (atom {atom})"
        raise FloatingPointError(
            f"EDNNCalculator: the {what} of {atoms.get_chemical_formula()} "
            f"({len(atoms)} atoms) is not finite{where}; the model fails on this "
            "structure, so the calculator stops instead of returning it."
        )


__all__ = ["EDNNCalculator"]


class EDNNCalculator(Calculator):
    """A fitted EDNN as an ASE calculator: energies, and forces by autograd.

    The energy is the EDNN's prediction on the structure's image (eq. 2). The
    forces are ``-dE/dR``: the image is drawn again by
    :func:`~sklearn_ednn.atoms.render_image_torch` (the same pixels as
    :class:`~sklearn_ednn.atoms.AtomImage`) and differentiated through the
    tile network in float64. Any cell whose image is a whole number of focus
    regions works, however large. With ``n_dims=2`` the image does not see
    the z coordinates, so the z forces are zero.

    Parameters
    ----------
    model : EDNNRegressor or Pipeline
        A fitted EDNN with a torch tile model, one output and periodic
        padding; or a fitted pipeline ``make_pipeline(AtomImage(...),
        EDNNRegressor(...))``.
    image : AtomImage, default=None
        The representation the EDNN was fitted on, when ``model`` is not a
        pipeline.
    **kwargs : dict
        Passed to :class:`ase.calculators.calculator.Calculator`.

    Notes
    -----
    Each Gaussian is cut off at ``cutoff * gamma``; a pixel entering or
    leaving an atom's window makes the energy jump by about ``Z
    exp(-cutoff**2 / 2)`` of a pixel (3e-4 Z for the default 4). Forces are
    exact between such events; for long dynamics, fit the model with a larger
    ``cutoff`` (6 gives 2e-8).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_ednn import EDNNRegressor, TileCNN, make_tile_net
    >>> from sklearn_ednn.atoms import AtomImage, EDNNCalculator
    >>> from sklearn_ednn.datasets import sheet_cell
    >>> cells = [sheet_cell() for _ in range(4)]
    >>> for seed, cell in enumerate(cells):
    ...     cell.rattle(0.05, seed=seed)
    >>> energies = -7.0 * 60 - np.arange(4.0)
    >>> resolution = tuple(cells[0].cell.lengths()[:2] / 32)
    >>> net = make_tile_net(TileCNN, module__width=0.125, max_epochs=1)
    >>> model = make_pipeline(
    ...     AtomImage(resolution), EDNNRegressor(net, f=8, c=4, random_state=0)
    ... ).fit(cells, energies)
    >>> sheet = sheet_cell((2, 1))
    >>> sheet.calc = EDNNCalculator(model)
    >>> sheet.get_forces().shape
    (120, 3)
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, model, image=None, **kwargs):
        self.model, self.image = check_atoms_model(model, image)
        super().__init__(**kwargs)
        self.tiling = self.model.tiling_

    def energy_tensor(self, positions, numbers, cell):
        """The EDNN energy as a float64 torch scalar, differentiable in positions.

        Parameters
        ----------
        positions : torch.Tensor of shape (n_atoms, 3)
            Positions in Angstrom (float64; may require grad).
        numbers : array-like of shape (n_atoms,)
            Atomic numbers.
        cell : array-like of shape (3, 3)
            Cell vectors as rows.

        Returns
        -------
        energy : torch.Tensor of shape ()
            The predicted total energy, in the units of the training targets.
        """
        grid = render_image_torch(
            positions,
            numbers,
            cell,
            dtype=torch.float64,
            **self.image.render_parameters(),
        )
        if self.image.species is None:
            grid = grid[..., None]
        # The model's own prediction (every averaged tiling), in torch so that
        # autograd follows it.
        return self.tiling.predict_torch(grid[None])[0, 0]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        """Compute the energy (and forces, when asked) of ``atoms``.

        Parameters
        ----------
        atoms : ase.Atoms, default=None
            The structure; the last one when None.
        properties : sequence of str, default=("energy",)
            Properties asked for: ``"energy"``, ``"free_energy"``, ``"forces"``.
        system_changes : list of str, default=ase's all_changes
            What changed since the last call.
        """
        super().calculate(atoms, properties, system_changes)
        check_periodic([self.atoms], self.image.n_dims)
        positions = torch.tensor(
            self.atoms.get_positions(),
            dtype=torch.float64,
            device=self.tiling.device,
            requires_grad="forces" in properties,
        )
        energy = self.energy_tensor(
            positions, self.atoms.get_atomic_numbers(), np.asarray(self.atoms.cell)
        )
        value = float(energy.detach())
        _check_finite(value, "energy", self.atoms)
        self.results["energy"] = self.results["free_energy"] = value
        if "forces" in properties:
            (gradient,) = torch.autograd.grad(energy, positions)
            forces = -gradient.cpu().numpy()
            _check_finite(forces, "forces", self.atoms)
            self.results["forces"] = forces
