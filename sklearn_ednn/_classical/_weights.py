"""Routing sample weights to a scikit-learn model's ``fit``."""

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

__all__ = ["sample_weight_fit_params"]


def sample_weight_fit_params(estimator, sample_weight):
    """The ``fit`` keywords that pass ``sample_weight`` to a scikit-learn model.

    Parameters
    ----------
    estimator : estimator
        A regressor, or a :class:`~sklearn.pipeline.Pipeline` ending in one
        (which then gets ``<last step>__sample_weight``).
    sample_weight : ndarray or None
        The weights, one per row that ``estimator`` is fitted on.

    Returns
    -------
    fit_params : dict
        Empty without weights.

    Raises
    ------
    ValueError
        If the model's ``fit`` takes no ``sample_weight``.
    """
    if sample_weight is None:
        return {}
    name, final = None, estimator
    if isinstance(estimator, Pipeline):
        name, final = estimator.steps[-1]
    if not has_fit_parameter(final, "sample_weight"):
        raise ValueError(
            f"sample_weight was given, but {type(final).__name__}.fit takes no "
            "sample_weight; use a tile model that does, or fit without weights."
        )
    return {
        "sample_weight" if name is None else f"{name}__sample_weight": sample_weight
    }
