"""Losses on the sums: the net's own criterion averaged with sample weights.

The torch solver passes each grid's weight in the batch (see ``_batch``),
:class:`~sklearn_ednn.EDNNModule` returns the weights with the totals in
training (:class:`~sklearn_ednn._torch._module.TrainingOutput`) and
:class:`SampleWeightedLoss` averages the net's own criterion with them;
:func:`weighted_loss` is the average that the force loss shares.
"""

import copy

from torch import nn

from ._module import TrainingOutput

__all__ = ["SampleWeightedLoss", "weighted_loss"]


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
