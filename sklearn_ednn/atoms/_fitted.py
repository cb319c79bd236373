"""Checks shared by the users of a fitted EDNN on atom images."""

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._transformer import AtomImage

__all__ = ["check_atoms_model"]


def check_atoms_model(model, image=None):
    """Split and check a fitted atoms EDNN and the image it was fitted on.

    Parameters
    ----------
    model : EDNNRegressor or Pipeline
        A fitted torch EDNN with one output and periodic padding, or a fitted
        two-step pipeline ``(AtomImage, EDNNRegressor)``.
    image : AtomImage, default=None
        The representation the EDNN was fitted on; taken from the pipeline
        when ``model`` is one.

    Returns
    -------
    model : EDNNRegressor
        The EDNN.
    image : AtomImage
        The representation.
    """
    if isinstance(model, Pipeline):
        if image is not None:
            raise ValueError("Give image= only with an EDNN, not with a pipeline.")
        if len(model.steps) != 2 or not isinstance(model.steps[0][1], AtomImage):
            raise ValueError(
                "A pipeline must have two steps, an AtomImage and an EDNNRegressor; "
                f"got {[type(step).__name__ for _, step in model.steps]}."
            )
        image, model = model.steps[0][1], model.steps[-1][1]
    if not isinstance(image, AtomImage):
        raise TypeError(
            f"image must be the AtomImage the EDNN was fitted on; got {image!r}."
        )
    check_is_fitted(model)
    tiling = model.tiling_
    if tiling.module is None:
        raise ValueError(
            "Forces and local re-evaluation need a torch tile model; this EDNN "
            f"was trained with solver={getattr(model, 'solver_', None)!r}."
        )
    if tiling.n_outputs != 1 or tiling.padding != "wrap":
        raise ValueError(
            "An energy model has one output and periodic padding; got "
            f"{tiling.n_outputs} outputs and padding={tiling.padding!r}."
        )
    n_channels = 1 if image.species is None else len(image.species)
    n_axes = len(tiling.focus)
    if n_channels != tiling.n_channels or n_axes != image.n_dims:
        raise ValueError(
            f"The image has {n_channels} channels and {image.n_dims} axes, but the "
            f"EDNN was fitted on {tiling.n_channels} channels and {n_axes} axes."
        )
    return model, image
