"""Training an EDNN on forces as well as energies.

The forces of atoms drawn as an image (:meth:`AtomImage.force_targets
<sklearn_ednn.atoms.AtomImage.force_targets>`) are the gradient of the EDNN's
energy with respect to the image, gathered over each atom's Gaussian box and
weighted by the derivative of its factors (:func:`image_forces`). In training
that gradient comes from autograd with ``create_graph=True``, so the force
error is itself differentiable in the weights (double backpropagation).

:class:`ForceEDNNModule` is the :class:`~sklearn_ednn.EDNNModule` that does
this when a batch carries force targets, and :class:`ForceMatchingLoss` adds
the force error to skorch's loss. Prediction, calculators and Monte Carlo see
an ordinary ``EDNNModule``; the output layer's refit leaves it as trained.
"""

import functools

import numpy as np
import torch
from torch import nn

from ._batch import ATOM_FIELDS, ATOM_KEYS
from ._losses import weighted_loss
from ._module import EDNNModule, TrainingOutput

__all__ = [
    "ForceEDNNModule",
    "ForceMatchingLoss",
    "check_force_targets",
    "image_forces",
]


def check_force_targets(forces, n_samples, n_spatial, n_channels, n_outputs):
    """Validate force targets for :meth:`EDNNRegressor.fit`; return their arrays.

    Parameters
    ----------
    forces : ndarray of shape (n_samples, max_atoms)
        Structured, from :meth:`AtomImage.force_targets`.
    n_samples, n_spatial, n_channels, n_outputs : int
        The training grids' number, spatial axes and channels, and the
        number of targets.

    Returns
    -------
    arrays : dict of str to ndarray
        One array per field, keyed as :class:`ForceEDNNModule` takes them;
        floats in float32 for training.
    """
    names = getattr(getattr(forces, "dtype", None), "names", None) or ()
    if not set(ATOM_FIELDS) <= set(names) or np.ndim(forces) != 2:
        raise ValueError(
            "forces must be the structured array that AtomImage.force_targets "
            f"returns, of shape (n_samples, max_atoms); got {type(forces).__name__}"
            f" with fields {names}."
        )
    if len(forces) != n_samples:
        raise ValueError(
            f"forces has {len(forces)} rows for {n_samples} training grids; give "
            "the force targets of the same structures, in the same order."
        )
    if forces["start"].shape[-1] != n_spatial:
        raise ValueError(
            f"forces are along {forces['start'].shape[-1]} axes, but the grids "
            f"have {n_spatial} spatial axes."
        )
    if n_outputs != 1:
        raise ValueError(
            f"forces train one extensive target (an energy); y has {n_outputs} outputs."
        )
    channels = forces["channel"][forces["present"]]
    if channels.size and not 0 <= channels.min() <= channels.max() < n_channels:
        raise ValueError(
            f"forces name channels {channels.min()}-{channels.max()}, but the "
            f"grids have {n_channels}: make both with the same AtomImage."
        )
    arrays = {}
    for field in ATOM_FIELDS:
        values = np.ascontiguousarray(forces[field])
        if values.dtype == np.float64:
            values = values.astype(np.float32)
        arrays[ATOM_KEYS[field]] = values
    return arrays


def image_forces(gradient, channel, weight, start, factor, dfactor):
    """Forces on atoms from the gradient of an energy with respect to their image.

    Parameters
    ----------
    gradient : torch.Tensor of shape (n_samples, L1, ..., Ld, n_channels)
        ``dE/dV``, the energy's gradient with respect to each image.
    channel : torch.Tensor of shape (n_samples, n_atoms)
        Each atom's channel.
    weight : torch.Tensor of shape (n_samples, n_atoms)
        Each atom's weight (``Z``; 0 for padding).
    start : torch.Tensor of shape (n_samples, n_atoms, d)
        First pixel of each atom's box per axis (wrapped here).
    factor, dfactor : torch.Tensor of shape (n_samples, n_atoms, d, width)
        The box's Gaussian factor per axis and its derivative with respect to
        the atom's coordinate.

    Returns
    -------
    forces : torch.Tensor of shape (n_samples, n_atoms, d)
        ``-dE/dR`` along the image axes.
    """
    n_samples, n_atoms, n_dims, width = factor.shape
    device = gradient.device
    steps = torch.arange(width, device=device)
    ones = [1] * n_dims
    index = [torch.arange(n_samples, device=device).view(n_samples, 1, *ones)]
    for axis in range(n_dims):
        pixels = torch.remainder(
            start[..., axis, None] + steps, gradient.shape[1 + axis]
        )
        shape = [n_samples, n_atoms, *ones]
        shape[2 + axis] = width
        index.append(pixels.view(shape))
    index.append(channel.view(n_samples, n_atoms, *ones))
    window = gradient[tuple(index)]  # (n_samples, n_atoms, width, ..., width)
    components = []
    for axis in range(n_dims):
        value = window
        # Contract the last box axis first; along `axis` use the derivative.
        for other in reversed(range(n_dims)):
            along = (dfactor if other == axis else factor)[:, :, other]
            value = (value * along.view(n_samples, n_atoms, *[1] * other, width)).sum(
                -1
            )
        components.append(value)
    return -weight[..., None] * torch.stack(components, dim=-1)


class ForceEDNNModule(EDNNModule):
    """An :class:`~sklearn_ednn.EDNNModule` that also predicts forces in training.

    Called on grids alone, or with gradients off (prediction, the output
    layer's refit), it returns the summed tile contributions as
    ``EDNNModule`` does. Called in training with a batch's force targets
    (the ``atom_*`` keys of the dict that :meth:`EDNNRegressor.fit
    <sklearn_ednn.EDNNRegressor.fit>` builds from
    :meth:`AtomImage.force_targets
    <sklearn_ednn.atoms.AtomImage.force_targets>`), it also returns the force
    residuals for :class:`ForceMatchingLoss`.

    Parameters
    ----------
    tile_module, **kwargs
        As :class:`~sklearn_ednn.EDNNModule`.
    """

    # RefitOutputLayer leaves it as trained: a refit to energies alone would
    # undo part of the force fit.
    fits_forces = True

    def forward(
        self,
        X,
        sample_weight=None,
        atom_present=None,
        atom_channel=None,
        atom_weight=None,
        atom_start=None,
        atom_factor=None,
        atom_dfactor=None,
        atom_force=None,
    ):
        """Predict the scaled energies and, in training, the force residuals.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, L1, ..., Ld, n_channels)
            The grids.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Each structure's weight in the loss, for its energy and its
            forces alike.
        atom_present, atom_channel, atom_weight, atom_start, atom_factor, \
atom_dfactor, atom_force : torch.Tensor, default=None
            The fields of the force targets, batched; ``atom_force`` in the
            network's scaled units.

        Returns
        -------
        totals : torch.Tensor of shape (n_samples, n_outputs)
            With gradients off: the summed contributions.
        output : TrainingOutput
            In training: the totals, the weights, the predicted minus target
            forces (zero for padding), shape (n_samples, n_atoms, d), and the
            padding mask, shape (n_samples, n_atoms, 1); without force targets
            as :class:`~sklearn_ednn.EDNNModule` returns it.
        """
        if atom_force is None or not torch.is_grad_enabled():
            return super().forward(X, sample_weight)
        X = X.detach().requires_grad_(True)
        totals = super().forward(X)
        (gradient,) = torch.autograd.grad(totals.sum(), X, create_graph=True)
        forces = image_forces(
            gradient, atom_channel, atom_weight, atom_start, atom_factor, atom_dfactor
        )
        present = atom_present.to(forces.dtype)[..., None]
        residuals = (forces - atom_force.to(forces.dtype)) * present
        return TrainingOutput(totals, sample_weight, residuals, present)


_squared_error = functools.partial(nn.functional.mse_loss, reduction="none")


class ForceMatchingLoss(nn.Module):
    """Squared errors of the energies plus ``force_weight`` times those of the forces.

    ``mean over structures of dE**2 + force_weight * mean over atoms and axes
    of dF**2``, with energies and forces in the network's scaled units, so the
    ratio of the two terms does not depend on the scale. ``force_weight`` is
    in Angstrom squared: an error of 1 eV/Angstrom in one force component
    costs as much as an error of ``sqrt(force_weight)`` eV in a structure's
    energy. With sample weights both means are weighted, each force
    component by its structure's weight.

    Parameters
    ----------
    force_weight : float, default=3.0
        Weight of the force term, Angstrom squared.
    """

    def __init__(self, force_weight=3.0):
        super().__init__()
        self.force_weight = force_weight

    def forward(self, y_pred, y_true):
        """Return the loss of a batch.

        Parameters
        ----------
        y_pred : torch.Tensor or TrainingOutput
            :class:`ForceEDNNModule`'s output: totals alone (then only the
            energies count), or with the force residuals and any sample
            weights, which weigh each structure's energy and forces.
        y_true : torch.Tensor of shape (n_samples, n_outputs)
            Scaled target energies.

        Returns
        -------
        loss : torch.Tensor
            A scalar.
        """
        # The mean squared error of the energies, weighted per structure.
        energy = weighted_loss(_squared_error, y_pred, y_true)
        if not isinstance(y_pred, TrainingOutput) or y_pred.force_residuals is None:
            return energy
        weight = y_pred.sample_weight
        residuals, present = y_pred.force_residuals, y_pred.atom_present
        # Mean over the batch's force components, each weighted as its structure.
        squared = (residuals**2).sum(dim=(1, 2))
        components = present.sum(dim=(1, 2)) * residuals.shape[-1]
        if weight is not None:
            squared, components = weight * squared, weight * components
        force = squared.sum() / components.sum().clamp(min=1e-12)
        return energy + self.force_weight * force
