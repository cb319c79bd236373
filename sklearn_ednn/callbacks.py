"""skorch callbacks for training tile networks."""

from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR

__all__ = ["CosineLR"]


class CosineLR(LRScheduler):
    """Cosine annealing of the learning rate over the net's ``max_epochs``.

    A skorch :class:`~skorch.callbacks.LRScheduler` running
    :class:`torch.optim.lr_scheduler.CosineAnnealingLR` whose period is read
    from the net when training starts, so it follows ``max_epochs`` when that
    is changed with ``set_params`` or tuned in a grid search. The learning rate
    falls from the optimizer's ``lr`` to ``eta_min`` over the whole run, one
    step per epoch.

    Parameters
    ----------
    eta_min : float, default=0.0
        Learning rate at the end of training.
    **kwargs : dict
        Further :class:`~skorch.callbacks.LRScheduler` arguments
        (``event_name``, ``monitor``). ``policy`` is always
        ``CosineAnnealingLR`` and ``step_every`` always ``"epoch"``; they are
        accepted so that cloning works.

    Examples
    --------
    >>> from sklearn_ednn import make_tile_net
    >>> from sklearn_ednn.callbacks import CosineLR
    >>> net = make_tile_net(max_epochs=30, callbacks=[("lr", CosineLR(eta_min=1e-5))])
    """

    def __init__(self, eta_min=0.0, **kwargs):
        policy = kwargs.pop("policy", CosineAnnealingLR)
        step_every = kwargs.pop("step_every", "epoch")
        if policy is not CosineAnnealingLR or step_every != "epoch":
            raise ValueError(
                f"CosineLR anneals once per epoch with CosineAnnealingLR; got "
                f"policy={policy!r}, step_every={step_every!r}."
            )
        super().__init__(
            policy=policy, step_every=step_every, eta_min=eta_min, **kwargs
        )

    def _get_scheduler(self, net, policy, **scheduler_kwargs):
        scheduler_kwargs["T_max"] = max(1, net.max_epochs)
        return super()._get_scheduler(net, policy, **scheduler_kwargs)
