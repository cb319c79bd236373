"""Eq. (2) in torch: the same image as the numpy renderer, differentiable in
the positions.

Every atom's truncated Gaussian box (the same windows as
:func:`~sklearn_ednn.atoms.render_image`, from :mod:`._grid`) is formed as an
outer product of per-axis factors and added to the flat image with
``index_add``, so autograd gives ``d image / d positions`` and, through a
model, forces.
"""

import numpy as np
import torch

from ._grid import check_atoms, check_render_parameters, kernel_windows
from ._render import species_masks

# Atoms per index_add call: bounds the (atoms, window**n_dims) buffers.
_ATOMS_PER_CHUNK = 4096


def _deposit(flat, positions, weights, lengths, shape, spacing, gamma, cutoff):
    """Add one channel's atoms (a chunk at a time) to the flat image."""
    for first in range(0, len(weights), _ATOMS_PER_CHUNK):
        chunk = slice(first, first + _ATOMS_PER_CHUNK)
        pos, weight = positions[chunk], weights[chunk]
        index = torch.zeros((len(weight), 1), dtype=torch.int64, device=flat.device)
        value = weight[:, None]
        for axis, (length, n_pixels, step) in enumerate(zip(lengths, shape, spacing)):
            coordinate = pos[:, axis]
            # Windows from the detached coordinates: which pixels, not how much.
            start, window, _ = kernel_windows(
                coordinate.detach().cpu().double().numpy(),
                length,
                step,
                gamma,
                cutoff,
            )
            pixels = torch.as_tensor(
                start[:, None] + np.arange(window.shape[1]), device=flat.device
            )
            offsets = (
                pixels.to(pos.dtype) * step
                - torch.remainder(coordinate, length)[:, None]
            )
            factor = torch.where(
                offsets.abs() <= cutoff * gamma,
                torch.exp(-(offsets**2) / (2 * gamma**2)),
                torch.zeros((), dtype=pos.dtype, device=flat.device),
            )
            index = (
                index[:, :, None] * n_pixels
                + torch.remainder(pixels, n_pixels)[:, None, :]
            ).reshape(len(weight), -1)
            value = (value[:, :, None] * factor[:, None, :]).reshape(len(weight), -1)
        flat.index_add_(0, index.reshape(-1), value.reshape(-1).to(flat.dtype))


def render_image_torch(
    positions,
    numbers,
    cell,
    *,
    resolution,
    gamma=0.2,
    n_dims=2,
    species=None,
    cutoff=4.0,
    dtype=torch.float32,
):
    """The image of eq. (2) as a torch tensor, differentiable in ``positions``.

    Same grid, windows and truncation as
    :func:`~sklearn_ednn.atoms.render_image`; the two agree to floating-point
    precision.

    Parameters
    ----------
    positions : torch.Tensor of shape (n_atoms, 3)
        Cartesian positions in Angstrom; may require grad. Its dtype (float32
        or float64) is the precision of the computation.
    numbers : array-like of shape (n_atoms,)
        Atomic numbers ``Z_i``.
    cell : array-like of shape (3, 3) or (3,)
        Cell vectors as rows (or their lengths), orthorhombic in the image
        plane.
    resolution : float or sequence of float
        Pixel spacing in Angstrom, one for all axes or one per axis.
    gamma : float, default=0.2
        Width of each atom's Gaussian, in Angstrom.
    n_dims : {2, 3}, default=2
        2 projects onto the xy plane; 3 renders a volume.
    species : sequence of int, default=None
        One channel per atomic number listed; None gives one channel.
    cutoff : float, default=4.0
        Truncation of each Gaussian, in units of ``gamma``, per axis.
    dtype : torch.dtype, default=torch.float32
        Data type of the image.

    Returns
    -------
    image : torch.Tensor of shape (N1, ..., N_n_dims) or (..., n_species)
        The image, on ``positions``' device.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ednn.atoms import render_image_torch
    >>> positions = torch.tensor([[1.0, 1.0, 0.0]], requires_grad=True)
    >>> image = render_image_torch(positions, [6], [4.0, 4.0, 10.0], resolution=0.5)
    >>> image.sum().backward()
    >>> positions.grad.shape
    torch.Size([1, 3])
    """
    spacing, lengths, shape = check_render_parameters(
        cell, resolution, gamma, cutoff, n_dims
    )
    if not torch.is_tensor(positions):  # a tensor keeps its device
        positions = torch.as_tensor(positions)
    if not positions.is_floating_point():
        positions = positions.double()
    numbers = check_atoms(tuple(positions.shape), numbers)
    channels = []
    for mask in species_masks(numbers, species):
        flat = torch.zeros(int(np.prod(shape)), dtype=dtype, device=positions.device)
        weights = torch.as_tensor(
            numbers[mask], dtype=positions.dtype, device=positions.device
        )
        selected = positions[torch.as_tensor(mask, device=positions.device)]
        _deposit(flat, selected, weights, lengths, shape, spacing, gamma, cutoff)
        channels.append(flat.reshape(shape))
    return channels[0] if species is None else torch.stack(channels, dim=-1)
