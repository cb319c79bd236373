"""Sample weights in EDNN training: validation and the weighted loss.

:meth:`EDNNRegressor.fit <sklearn_ednn.EDNNRegressor.fit>` takes one weight
per training grid, as scikit-learn's regressors do. The torch solver passes
the weights with the grids (the ``sample_weight`` key of skorch's dict input),
:class:`~sklearn_ednn.EDNNModule` returns them with the totals in training
(:class:`~sklearn_ednn._torch_backend.TrainingOutput`) and
:class:`SampleWeightedLoss` averages the net's own criterion with them; the
classical solvers hand them to their scikit-learn models' ``fit``.
"""

import copy

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import _check_sample_weight, has_fit_parameter
from torch import nn

from ._torch_backend import TrainingOutput

__all__ = [
    "SampleWeightedLoss",
    "check_sample_weight",
    "sample_weight_fit_params",
    "weighted_loss",
]


def check_sample_weight(sample_weight, X):
    """Validate the weights of :meth:`EDNNRegressor.fit`.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        One finite, non-negative weight per training grid, not all zero.
    X : ndarray of shape (n_samples, ...)
        The training grids.

    Returns
    -------
    weight : ndarray of shape (n_samples,) or None
        The weights as a new float64 array; None stays None.
    """
    if sample_weight is None:
        return None
    return _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
    )


class SampleWeightedLoss(nn.Module):
    """A torch loss applied per sample and averaged with sample weights.

    :meth:`EDNNRegressor.fit <sklearn_ednn.EDNNRegressor.fit>` makes this the
    criterion of the tile network when it is given ``sample_weight``: the
    net's own criterion (``loss``, with its ``criterion__*`` arguments) is
    built with ``reduction="none"``, averaged over the outputs of each
    sample, and the samples are averaged with their weights. Without weights
    (validation batches, prediction) it is the plain mean.

    Parameters
    ----------
    loss : type of torch.nn.Module or torch.nn.Module, default=torch.nn.MSELoss
        The net's criterion; it must take a ``reduction`` argument, as
        torch's losses do. An instance is copied with ``reduction="none"``.
    **loss_kwargs : dict
        Arguments of ``loss``'s constructor.
    """

    def __init__(self, loss=nn.MSELoss, **loss_kwargs):
        super().__init__()
        if isinstance(loss, nn.Module):
            if not hasattr(loss, "reduction"):
                raise ValueError(
                    f"sample_weight needs a criterion that can return one loss per "
                    f"sample (a `reduction` attribute); {type(loss).__name__} has "
                    "none."
                )
            self.loss = copy.deepcopy(loss)
            self.loss.reduction = "none"
            return
        try:
            self.loss = loss(**{**loss_kwargs, "reduction": "none"})
        except TypeError as error:
            raise ValueError(
                f"sample_weight needs a criterion that can return one loss per "
                f"sample (a `reduction` argument); {loss!r} failed: {error}"
            ) from error

    def forward(self, y_pred, y_true):
        """Return the weighted mean loss of a batch.

        Parameters
        ----------
        y_pred : torch.Tensor or TrainingOutput
            The module's totals, with the batch's weights in training.
        y_true : torch.Tensor of shape (n_samples, n_outputs)
            The (scaled) targets.

        Returns
        -------
        loss : torch.Tensor
            A scalar.
        """
        return weighted_loss(self.loss, y_pred, y_true)


def weighted_loss(loss, y_pred, y_true):
    """An unreduced ``loss`` averaged per sample, then with the sample weights.

    Parameters
    ----------
    loss : callable
        ``loss(predicted, true)`` of one value per prediction.
    y_pred : torch.Tensor or TrainingOutput
        The module's totals, with the batch's weights in training.
    y_true : torch.Tensor of shape (n_samples, n_outputs)
        The (scaled) targets.

    Returns
    -------
    loss : torch.Tensor
        A scalar: the plain mean without weights.
    """
    weight = None
    if isinstance(y_pred, TrainingOutput):
        y_pred, weight = y_pred.totals, y_pred.sample_weight
    per_element = loss(y_pred, y_true)
    if per_element.shape != y_pred.shape:
        raise ValueError(
            f"The criterion returned shape {tuple(per_element.shape)} with "
            f"reduction='none' for predictions of shape {tuple(y_pred.shape)}; "
            "sample_weight needs one loss per prediction."
        )
    per_sample = per_element.reshape(len(per_element), -1).mean(dim=1)
    if weight is None:
        return per_sample.mean()
    # With weights of mean 1 over the training set, an unbiased estimate from
    # one batch of the weighted mean over all samples.
    return (weight * per_sample).mean()


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
