"""Force targets: what an EDNN fitted on images needs to learn forces as well.

A force is ``-dE/dR``. An atom enters the image only through its truncated
Gaussian box, a product of one factor per axis (the windows of :mod:`._grid`),
so for atom ``a`` with weight ``Z_a`` in channel ``k_a``

    dE/dx_a = Z_a * sum over the box of dE/dV(p, k_a) * g'_x(p_x) * prod_b g_b(p_b),

the product over the other axes ``b``, where ``g'`` is the derivative of the
atom's factor along ``x`` with respect to its coordinate. :func:`force_targets`
stores, per atom, the channel, the weight, the box's first pixel per axis,
both factors per axis, and the target force. The EDNN gathers the gradient of
its energy with respect to the image over each box
(:func:`sklearn_ednn._torch._force_loss.image_forces`), so training on forces
needs no image drawn inside the training loop.
"""

import numpy as np

from ._grid import check_render_parameters, kernel_windows, window_width
from ._render import gaussian_factor, species_masks

__all__ = ["force_target_dtype", "force_targets"]


def force_target_dtype(n_dims, width):
    """The structured dtype of one atom's force target.

    Parameters
    ----------
    n_dims : int
        Spatial axes of the image.
    width : int
        Pixels per axis of the largest atom box.

    Returns
    -------
    dtype : numpy.dtype
        Fields ``present`` (a real atom, not padding), ``channel``,
        ``weight`` (``Z``), ``start`` (first pixel of the box per axis, not
        wrapped), ``factor`` and ``dfactor`` (the Gaussian factor per axis and
        its derivative with respect to the atom's coordinate, per Angstrom)
        and ``force`` (eV per Angstrom along the image axes).
    """
    return np.dtype(
        [
            ("present", bool),
            ("channel", np.int64),
            ("weight", np.float64),
            ("start", np.int64, (n_dims,)),
            ("factor", np.float64, (n_dims, width)),
            ("dfactor", np.float64, (n_dims, width)),
            ("force", np.float64, (n_dims,)),
        ]
    )


def structure_forces(structure, index):
    """The forces an ``ase.Atoms`` carries (from its calculator), or an error."""
    calc = getattr(structure, "calc", None)
    if calc is None:
        raise ValueError(
            f"structure {index} carries no forces: pass forces=, or structures "
            "with a calculator (label_structures and make_sheets give them)."
        )
    return structure.get_forces()


def force_targets(arrays, forces, *, resolution, gamma, n_dims, species, cutoff):
    """Per-atom force targets of structures, padded to the largest one.

    Parameters
    ----------
    arrays : list of (positions, numbers, cell)
        The structures.
    forces : list of array-like of shape (n_atoms, 3)
        Their forces, eV per Angstrom.
    resolution, gamma, n_dims, species, cutoff
        The image parameters (:meth:`AtomImage.render_parameters`).

    Returns
    -------
    targets : ndarray of shape (n_structures, max_atoms)
        Structured, of :func:`force_target_dtype`; rows past a structure's
        atoms are padding (``present`` False).
    """
    grids = [
        check_render_parameters(cell, resolution, gamma, cutoff, n_dims)[:2]
        for _, _, cell in arrays
    ]
    width = max(window_width(s, gamma, cutoff) for spacing, _ in grids for s in spacing)
    max_atoms = max(len(positions) for positions, _, _ in arrays)
    targets = np.zeros(
        (len(arrays), max_atoms), dtype=force_target_dtype(n_dims, width)
    )
    for index, ((positions, numbers, _), (spacing, lengths), force) in enumerate(
        zip(arrays, grids, forces)
    ):
        force = np.asarray(force, dtype=np.float64)
        if force.shape != (len(positions), 3):
            raise ValueError(
                f"forces[{index}] has shape {force.shape}; structure {index} has "
                f"{len(positions)} atoms, so it needs ({len(positions)}, 3)."
            )
        rows = targets[index, : len(positions)]
        rows["present"] = True
        rows["weight"] = numbers
        for channel, mask in enumerate(species_masks(np.asarray(numbers), species)):
            rows["channel"][mask] = channel
        rows["force"] = force[:, :n_dims]
        for axis in range(n_dims):
            start, offsets, inside = kernel_windows(
                np.asarray(positions[:, axis], dtype=np.float64),
                lengths[axis],
                spacing[axis],
                gamma,
                cutoff,
            )
            factor = gaussian_factor(offsets, inside, gamma)
            box = slice(0, offsets.shape[1])
            rows["start"][:, axis] = start
            rows["factor"][:, axis, box] = factor
            # d/dx of exp(-(p - x)^2 / 2 gamma^2) is the factor times (p - x) / gamma^2.
            rows["dfactor"][:, axis, box] = factor * offsets / gamma**2
    return targets
