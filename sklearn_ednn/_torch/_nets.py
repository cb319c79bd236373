"""Ready-made tile networks: the paper's fully connected net and its 13-layer CNN.

A tile network maps a batch of tiles of shape ``(n_tiles, n_channels, w1, ..., wd)``
to one contribution per tile and output, shape ``(n_tiles, n_outputs)``. Its
constructor may accept ``tile_shape``, ``n_channels`` and ``n_outputs``: the EDNN
estimator fills those in from the data, as skorch's ``InputShapeSetter`` does.
"""

import itertools
import math

import torch
from torch import nn

__all__ = ["TileMLP", "TileCNN"]


class TileMLP(nn.Module):
    """The paper's fully connected tile network, run on whole padded grids.

    Layers: ``n_channels * prod(tile_shape)`` inputs, a layer of
    ``32 * prod(tile_shape)`` units, two layers of 64 units, then ``n_outputs``
    outputs, with ReLU activations (Mills et al. 2019, section 2.1).

    Given ``focus`` (the EDNN estimator fills it in), the network is fully
    convolutional: its first layer, which reads the whole tile, is applied as
    a convolution of kernel ``tile_shape`` and stride ``focus`` over a padded
    grid, and the other layers to every output position, so a whole padded
    grid (or band) is scored at once. The convolution is computed the way a
    CPU convolution is (im2col): the windows of the padded grid, strided
    views of it, are gathered into one row per tile in the order
    ``nn.Flatten`` reads a tile, and multiplied by the first layer's weights.
    That matrix holds ``n_channels * prod(tile_shape)`` values per tile,
    against the ``32 * prod(tile_shape)`` that the default first layer
    writes, and it comes out one row per tile, the layout every later layer
    reads, so no activation is ever transposed. The weights and the function
    are those of the fully connected layers.

    Parameters
    ----------
    tile_shape : tuple of int, default=(3, 3)
        Spatial shape of one tile, ``f + 2 * c`` per axis.
    focus : tuple of int, default=None
        Focus ``f`` per axis. None scores flat batches of tiles only, as a
        plain fully connected network.
    n_channels : int, default=1
        Number of channels per grid position.
    n_outputs : int, default=1
        Number of extensive quantities predicted at once.
    hidden_sizes : tuple of int, default=None
        Widths of the hidden layers. None gives the paper's
        ``(32 * prod(tile_shape), 64, 64)``.
    activation : type of torch.nn.Module, default=torch.nn.ReLU
        Activation class placed after every hidden layer.

    Attributes
    ----------
    fully_convolutional : bool
        Whether the network scores whole padded grids (``focus`` given).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ednn import TileMLP
    >>> net = TileMLP(tile_shape=(3, 3))
    >>> net(torch.zeros(5, 1, 3, 3)).shape
    torch.Size([5, 1])
    >>> # With a focus, a 4 x 4 grid padded by c = 1 gives the 4 x 4 map:
    >>> net = TileMLP(tile_shape=(3, 3), focus=(1, 1))
    >>> net(torch.zeros(2, 1, 6, 6)).shape
    torch.Size([2, 1, 4, 4])
    """

    # Models saved before ``focus`` existed unpickle as plain networks.
    fully_convolutional = False

    def __init__(
        self,
        tile_shape=(3, 3),
        focus=None,
        n_channels=1,
        n_outputs=1,
        hidden_sizes=None,
        activation=nn.ReLU,
    ):
        super().__init__()
        tile_size = math.prod(tile_shape)
        if hidden_sizes is None:
            hidden_sizes = (32 * tile_size, 64, 64)
        if focus is not None:
            if len(tile_shape) not in _CONV or len(focus) != len(tile_shape):
                raise ValueError(
                    f"A fully convolutional TileMLP needs a 1-, 2- or 3-D "
                    f"tile_shape and one focus per axis; got "
                    f"tile_shape={tuple(tile_shape)}, focus={tuple(focus)}."
                )
            self.fully_convolutional = True
            self.tile_shape, self.focus = tuple(tile_shape), tuple(focus)
        layers = [nn.Flatten()]
        width = n_channels * tile_size
        for hidden in hidden_sizes:
            layers += [nn.Linear(width, hidden), _hidden_activation(activation)]
            width = hidden
        layers.append(nn.Linear(width, n_outputs))
        self.layers = nn.Sequential(*layers)
        self.n_outputs = n_outputs

    def forward(self, x):
        """Score a batch of tiles, or every tile of padded grids.

        Parameters
        ----------
        x : torch.Tensor of shape (n, n_channels, P1, ..., Pd)
            Tiles (``Pi = wi``) or, when :attr:`fully_convolutional`, padded
            grids (``Pi = Ti fi + 2 ci``).

        Returns
        -------
        contributions : torch.Tensor
            Shape (n, n_outputs), one contribution per tile and output; when
            :attr:`fully_convolutional`, the map (n, n_outputs, T1, ..., Td)
            of every tile's contributions (``Ti = 1`` for a tile).
        """
        if not self.fully_convolutional:
            return self.layers(x)
        n_dims = len(self.tile_shape)
        windows = x
        for axis, (size, step) in enumerate(zip(self.tile_shape, self.focus)):
            windows = windows.unfold(2 + axis, size, step)
        # (n, channels, T1..Td, w1..wd) -> (n, T1..Td, channels, w1..wd): one
        # row per tile, read in nn.Flatten's order. A convolution kernel would
        # write its output channel-first and the head would transpose it; on
        # a CPU the network runs 1.2x (float32) to 2x (float64) faster so.
        n, _, *tiles = windows.shape[: 2 + n_dims]
        order = (0, *range(2, 2 + n_dims), 1, *range(2 + n_dims, 2 + 2 * n_dims))
        rows = windows.permute(order).reshape(n * math.prod(tiles), -1)
        for layer in itertools.islice(self.layers, 1, None):  # after Flatten
            rows = layer(rows)
        return _rows_as_map(rows, n, tiles)


def _hidden_activation(activation):
    """An instance of ``activation`` for a hidden layer; a ReLU works in place.

    A ReLU's gradient reads its output, so it may overwrite its input, the
    fresh output of the layer before: no second tensor of the layer's size is
    written and read again, which makes the default Ising network 1.3x faster
    at predict time on a CPU, in float32 and float64 alike.
    """
    return activation(inplace=True) if activation is nn.ReLU else activation()


def head_on_positions(head, features):
    """Apply ``head`` to the features of every output position of a map.

    Parameters
    ----------
    head : torch.nn.Module
        Layers acting on the last axis, ending in a ``torch.nn.Linear``.
    features : torch.Tensor of shape (n, width, T1, ..., Td)
        One feature vector per tile.

    Returns
    -------
    contributions : torch.Tensor of shape (n, n_outputs, T1, ..., Td)
        The map of the tiles' contributions. The head sees one row per tile,
        ``(n * T, width)``, as it does for flat tiles, so that
        :class:`~sklearn_ednn.callbacks.RefitOutputLayer` reads its last
        layer's inputs the same way.
    """
    n, width, *tiles = features.shape
    rows = torch.movedim(features, 1, -1).reshape(-1, width)
    return _rows_as_map(head(rows), n, tiles)


def _rows_as_map(values, n, tiles):
    """One row of ``values`` per tile, (n * T, k), as the map (n, k, T1, ..., Td)."""
    return torch.movedim(values.reshape(n, *tiles, -1), -1, 1)


_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_PAD = {1: nn.ConstantPad1d, 2: nn.ConstantPad2d, 3: nn.ConstantPad3d}


def _conv_output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


class TileCNN(nn.Module):
    """The paper's 13-convolution tile network, for 1-, 2- or 3-D tiles.

    Two reducing convolutions (64 filters of 3, stride 2), six non-reducing ones
    (16 filters of 4), one reducing (64 filters of 3, stride 2), four
    non-reducing (32 filters of 3), then fully connected layers of 1024 units
    and ``n_outputs`` outputs, with ReLU activations (Mills et al. 2019,
    section 2.1) unless ``activation`` says otherwise. Reducing layers pad by
    one, so any tile size works: a tile of
    side ``w`` leaves ``ceil(ceil(ceil(w / 2) / 2) / 2)`` positions per axis for
    the fully connected layer, which is sized from ``tile_shape``. Weights
    start from He initialisation, which a stack this deep needs to train from
    the first epoch.

    Parameters
    ----------
    tile_shape : tuple of int, default=(3, 3)
        Spatial shape of one tile; its length (1, 2 or 3) picks the convolution.
    n_channels : int, default=1
        Number of input channels.
    n_outputs : int, default=1
        Number of extensive quantities predicted at once.
    width : float, default=1.0
        Multiplier on every layer's number of filters and units, to trade
        accuracy for speed (1.0 is the paper's network).
    activation : type of torch.nn.Module, default=torch.nn.ReLU
        Activation class placed after every convolution and hidden layer. A
        smooth one such as ``torch.nn.SiLU`` gives an energy with continuous
        forces, and on atom images it learns faster than the paper's ReLU
        (the user guide compares them).

    Examples
    --------
    >>> import torch
    >>> from sklearn_ednn import TileCNN
    >>> net = TileCNN(tile_shape=(16, 16), width=0.25)
    >>> net(torch.zeros(2, 1, 16, 16)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        tile_shape=(3, 3),
        n_channels=1,
        n_outputs=1,
        width=1.0,
        activation=nn.ReLU,
    ):
        super().__init__()
        if len(tile_shape) not in _CONV:
            raise ValueError(
                f"TileCNN supports 1-, 2- or 3-D tiles, got tile_shape={tile_shape}."
            )
        n_dims = len(tile_shape)
        conv = _CONV[n_dims]

        def n(filters):
            return max(1, round(filters * width))

        # (filters, kernel, stride, padding) of the paper's 13 convolutions.
        plan = (
            [(64, 3, 2, 1)] * 2
            + [(16, 4, 1, "same")] * 6
            + [(64, 3, 2, 1)]
            + [(32, 3, 1, "same")] * 4
        )
        layers, in_channels, sizes = [], n_channels, list(tile_shape)
        for filters, kernel, stride, padding in plan:
            if padding == "same":
                # Explicit (possibly asymmetric) zero padding keeps the size for
                # even kernels too, without torch's padding="same" copy warning.
                left = (kernel - 1) // 2
                layers.append(_PAD[n_dims]((left, kernel - 1 - left) * n_dims, 0.0))
                padding = 0
            layers += [
                conv(in_channels, n(filters), kernel, stride, padding),
                activation(),
            ]
            in_channels = n(filters)
            if stride != 1:
                sizes = [_conv_output_size(s, kernel, stride, padding) for s in sizes]
        layers += [
            nn.Flatten(),
            nn.Linear(in_channels * math.prod(sizes), n(1024)),
            activation(),
            nn.Linear(n(1024), n_outputs),
        ]
        self.layers = nn.Sequential(*layers)
        _he_initialise(self.layers)

    def forward(self, tiles):
        """Score a batch of tiles.

        Parameters
        ----------
        tiles : torch.Tensor of shape (n_tiles, n_channels, w1, ..., wd)
            The tiles.

        Returns
        -------
        contributions : torch.Tensor of shape (n_tiles, n_outputs)
            One contribution per tile and output.
        """
        return self.layers(tiles)


def _he_initialise(layers):
    """He (Kaiming) normal weights and zero biases for a ReLU stack.

    torch's default initialisation shrinks the activations' mean square
    about sixfold per ReLU layer; through 15 layers the output hardly depends
    on the input, and training starts on a long plateau at the mean (or never
    leaves it). He initialisation keeps the variance of the activations
    constant with depth. Its ReLU gain also suits ReLU-like activations such
    as SiLU, which pass large positive inputs unchanged.
    """
    for layer in layers:
        if isinstance(layer, (nn.Linear, *_CONV.values())):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
