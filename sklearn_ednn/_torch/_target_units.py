"""The training loss of every epoch in the target's own units.

skorch logs ``train_loss`` in the network's units: the targets less their
offsets, divided by the scale that ``fit_torch`` fits. This callback adds the
same loss in the target's units (``train_rmse`` for a squared error,
``train_mae`` for an absolute one, per grid), which the epoch table prints.
"""

import numpy as np
from skorch.callbacks import Callback
from torch import nn

from ._losses import SampleWeightedLoss

__all__ = ["LossInTargetUnits"]


def _loss_kind(criterion):
    """ "rmse", "mae" or None: how a criterion's loss maps to target units."""
    if isinstance(criterion, SampleWeightedLoss):
        criterion = criterion.loss
    if isinstance(criterion, nn.MSELoss):
        return "rmse"
    if isinstance(criterion, nn.L1Loss):
        return "mae"
    return None


class LossInTargetUnits(Callback):
    """Log each epoch's train (and valid) loss in the units of the targets.

    Parameters
    ----------
    scale : array-like of shape (n_outputs,)
        The scale of the network's targets: target units per network unit.
    """

    def __init__(self, scale):
        self.scale = scale

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.kind_ = _loss_kind(net.criterion_)
        # One scale for every output: the RMS, exact for one output.
        self.unit_ = float(np.sqrt(np.mean(np.square(self.scale))))

    def on_epoch_end(self, net, **kwargs):
        if self.kind_ is None:
            return
        row = net.history[-1]
        for split in ("train", "valid"):
            loss = row.get(f"{split}_loss")
            if loss is None:
                continue
            value = np.sqrt(loss) if self.kind_ == "rmse" else loss
            net.history.record(f"{split}_{self.kind_}", float(value) * self.unit_)
