"""A tile network at fully convolutional cost: every output reads exactly its tile.

:class:`TileFCN` is built from unpadded ("valid") convolutions whose receptive
field is exactly the tile (side ``f + 2c``) and whose total stride is ``f``. Run
on one tile it gives that tile's contribution; run on a whole padded grid (or a
band of one) it gives the map of every tile's contribution at once, the same
numbers, while overlapping contexts share their activations instead of being
computed again for every tile. :class:`~sklearn_ednn.EDNNModule` recognises such
a network by its ``fully_convolutional`` attribute and then never cuts tiles.
"""

from torch import nn

from ._nets import _CONV, _he_initialise, head_on_positions

__all__ = ["TileFCN"]


class TileFCN(nn.Module):
    """Fully convolutional tile network: shared convolutions, one gather, a head.

    Three stages, for 1-, 2- or 3-D grids with any number of channels:

    1. ``levels`` reducing convolutions of kernel 2 and stride 2, each halving
       the resolution (a patch embedding, as in the paper's network, whose
       first convolutions also reduce), then ``depth`` valid convolutions of
       kernel 3 and stride 1; ``filters`` each, computed once per position of
       their resolution and shared by every tile that reads it;
    2. one valid "gather" convolution of stride ``f / 2**levels`` per axis
       whose kernel brings the receptive field to exactly the tile, placing
       one output on every focus region;
    3. a head of ``hidden`` units and ``n_outputs`` outputs applied to every
       output position (1x1 layers, the last one a ``torch.nn.Linear`` so that
       :class:`~sklearn_ednn.callbacks.RefitOutputLayer` can solve for it).

    After the reducing convolutions one position stands for ``J = 2**levels``
    pixels per axis, so the shared stage reads ``J (1 + 2 depth)`` pixels and
    the gather's kernel is ``(f + 2c) / J - 2 depth``. Output ``t`` therefore
    reads padded-grid positions ``t f`` to ``t f + f + 2c - 1`` per axis, which
    is tile ``t``: scoring the whole padded grid is the same function as
    scoring every tile, exactly extensive.

    Parameters
    ----------
    tile_shape : tuple of int, default=(3, 3)
        Spatial shape of one tile, ``f + 2c`` per axis.
    focus : tuple of int, default=None
        Focus ``f`` per axis; None means 1 on every axis. The EDNN estimator
        fills in ``tile_shape`` and ``focus``.
    n_channels : int, default=1
        Number of input channels.
    n_outputs : int, default=1
        Number of outputs per tile.
    depth : int, default=None
        Number of shared 3-wide convolutions; None uses ``min(c / J, 4)`` (at
        most as many as the context holds, so that the gather still spans the
        focus). More shared layers move work from the gather, computed once
        per tile, to layers computed once per position.
    filters : int, default=16
        Channels of the shared convolutions and of the gather.
    hidden : int, default=64
        Units of the head's hidden layer.
    activation : type of torch.nn.Module, default=torch.nn.SiLU
        Activation after every layer but the last.
    levels : int, default=0
        Number of reducing convolutions; ``2**levels`` must divide ``f`` and
        ``2c`` on every axis. Each level quarters (in 2-D) the positions the
        following layers compute, the cheap choice for fine images such as
        :class:`~sklearn_ednn.atoms.AtomImage`'s.

    Attributes
    ----------
    fully_convolutional : bool
        True: the network also scores whole padded grids.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ednn import TileFCN
    >>> net = TileFCN(tile_shape=(6, 6), focus=(2, 2)).double()
    >>> # An 8 x 8 grid (4 x 4 focus regions of 2) padded by c = 2 on each side:
    >>> grid = torch.randn(1, 1, 12, 12, dtype=torch.float64)
    >>> net(grid).shape
    torch.Size([1, 1, 4, 4])
    >>> tile = grid[..., 2:8, 4:10]  # tile (1, 2): rows 2-7, columns 4-9
    >>> bool(torch.allclose(net(tile)[..., 0, 0], net(grid)[..., 1, 2]))
    True

    With one reducing level, the layers after the first run at half the
    resolution:

    >>> net = TileFCN(tile_shape=(8, 8), focus=(4, 4), levels=1).double()
    >>> net(torch.randn(1, 1, 12, 12, dtype=torch.float64)).shape
    torch.Size([1, 1, 2, 2])
    """

    fully_convolutional = True

    def __init__(
        self,
        tile_shape=(3, 3),
        focus=None,
        n_channels=1,
        n_outputs=1,
        depth=None,
        filters=16,
        hidden=64,
        activation=nn.SiLU,
        levels=0,
    ):
        super().__init__()
        n_dims = len(tile_shape)
        if n_dims not in _CONV:
            raise ValueError(
                f"TileFCN supports 1-, 2- or 3-D tiles, got tile_shape={tile_shape}."
            )
        focus = (1,) * n_dims if focus is None else tuple(focus)
        context = [(w - f) // 2 for w, f in zip(tile_shape, focus)]
        if len(focus) != n_dims or min(context) < 0:
            raise ValueError(
                f"focus={focus} does not fit tile_shape={tile_shape}: a tile is "
                "f + 2c per axis."
            )
        jump = 2**levels if isinstance(levels, int) and levels >= 0 else 0
        if not jump or any(f % jump or (2 * c) % jump for f, c in zip(focus, context)):
            raise ValueError(
                f"levels={levels}: 2**levels must divide the focus {focus} and "
                f"twice the context {tuple(context)} on every axis."
            )
        depth = min(min(context) // jump, 4) if depth is None else depth
        gather = [w // jump - 2 * depth for w in tile_shape]
        if depth < 0 or min(gather) < 1:
            raise ValueError(
                f"depth={depth} shared convolutions see more than the tile "
                f"{tuple(tile_shape)}; use at most "
                f"{(min(tile_shape) // jump - 1) // 2}."
            )
        conv = _CONV[n_dims]
        layers, channels = [], n_channels
        for _ in range(levels):
            layers += [conv(channels, filters, 2, 2), activation()]
            channels = filters
        for _ in range(depth):
            layers += [conv(channels, filters, 3), activation()]
            channels = filters
        stride = tuple(f // jump for f in focus)
        layers += [conv(channels, filters, tuple(gather), stride), activation()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(filters, hidden), activation(), nn.Linear(hidden, n_outputs)
        )
        self.n_outputs = n_outputs
        # A stack this deep needs He initialisation to train from the start.
        _he_initialise([*self.features, *self.head])

    def forward(self, x):
        """Score every tile of padded grids (or of single tiles) at once.

        Parameters
        ----------
        x : torch.Tensor of shape (n, n_channels, P1, ..., Pd)
            Padded grids, ``Pi = Ti fi + 2 ci``; a single tile is the case
            ``Ti = 1``.

        Returns
        -------
        contributions : torch.Tensor of shape (n, n_outputs, T1, ..., Td)
            The map of the tiles' contributions.
        """
        features = self.features(x)  # (n, filters, T1, ..., Td)
        return head_on_positions(self.head, features)
