"""TileTransformer, the torch tiles and the focus-grid helper."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ednn import TileTransformer, tiles_to_focus_grid
from sklearn_ednn._inference import plan_items, tile_blocks
from sklearn_ednn._tiling import pad_grid, torch_tiles, window_view


def reference_tiles(X, f, c, padding):
    """Tiles by explicit index arithmetic: X[(t*f - c + o) mod L] per axis."""
    n_samples, grid = X.shape[0], X.shape[1:-1]
    tiles_per_axis = [L // fi for L, fi in zip(grid, f)]
    window = [fi + 2 * ci for fi, ci in zip(f, c)]
    out = []
    for s in range(n_samples):
        sample_tiles = []
        for t in itertools.product(*map(range, tiles_per_axis)):
            tile = np.zeros(tuple(window) + (X.shape[-1],), dtype=X.dtype)
            for o in itertools.product(*map(range, window)):
                pos = [ti * fi - ci + oi for ti, fi, ci, oi in zip(t, f, c, o)]
                inside = all(0 <= p < L for p, L in zip(pos, grid))
                if padding == "wrap" or inside:
                    idx = tuple(p % L for p, L in zip(pos, grid))
                    tile[o] = X[(s,) + idx]
            sample_tiles.append(tile)
        out.append(sample_tiles)
    return np.array(out)


@st.composite
def grids(draw, max_dims=3):
    n_spatial = draw(st.integers(1, max_dims))
    f = tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    c = tuple(draw(st.integers(0, 4)) for _ in range(n_spatial))
    n_tiles = [
        draw(st.integers(1, 3 if n_spatial < 3 else 2)) for _ in range(n_spatial)
    ]
    n_channels = draw(st.integers(1, 3))
    n_samples = draw(st.integers(1, 2))
    shape = (n_samples,) + tuple(t * fi for t, fi in zip(n_tiles, f)) + (n_channels,)
    seed = draw(st.integers(0, 2**16))
    X = np.random.RandomState(seed).normal(size=shape)
    padding = draw(st.sampled_from(["wrap", "zeros"]))
    return X, f, c, padding


@settings(max_examples=60, deadline=None)
@given(grids())
def test_tile_transformer_matches_index_arithmetic(case):
    X, f, c, padding = case
    tiles = TileTransformer(f=f, c=c, padding=padding, channels=True).fit_transform(X)
    expected = reference_tiles(X, f, c, padding)
    expected = expected.reshape((X.shape[0], -1) + expected.shape[2:])
    np.testing.assert_array_equal(tiles, expected)


@settings(max_examples=60, deadline=None)
@given(grids())
def test_torch_tiles_match_tile_transformer(case):
    X, f, c, padding = case
    n_spatial = len(f)
    views = window_view(pad_grid(X, f, c, padding), f, c)
    tiles = torch_tiles(torch.from_numpy(X), f, c, padding).numpy()
    assert tiles.shape == views.shape
    np.testing.assert_array_equal(tiles, views)
    # And both give TileTransformer's tiles once the channel axis is moved last.
    transformer = TileTransformer(f=f, c=c, padding=padding, channels=True)
    flat = np.moveaxis(tiles, n_spatial + 1, -1).reshape(
        (X.shape[0], -1) + tuple(fi + 2 * ci for fi, ci in zip(f, c)) + X.shape[-1:]
    )
    np.testing.assert_array_equal(flat, transformer.fit_transform(X))


def test_tile_transformer_without_channels_matches_single_channel():
    X = np.random.RandomState(0).normal(size=(2, 6, 4))
    plain = TileTransformer(f=2, c=1).fit_transform(X)
    with_channel = TileTransformer(f=2, c=1, channels=True).fit_transform(X[..., None])
    np.testing.assert_array_equal(plain, with_channel[..., 0])
    assert plain.shape == (2, 6, 4, 4)


def test_context_wider_than_grid_wraps_periodically():
    X = np.arange(3.0).reshape(1, 3)
    tiles = TileTransformer(f=1, c=4).fit_transform(X)
    # Tile 0 reads positions -4..4, i.e. 2 0 1 2 0 1 2 0 1.
    np.testing.assert_array_equal(tiles[0, 0], [2, 0, 1, 2, 0, 1, 2, 0, 1])


def test_zero_padding_fills_zeros_outside():
    X = np.ones((1, 4))
    tiles = TileTransformer(f=2, c=1, padding="zeros").fit_transform(X)
    np.testing.assert_array_equal(tiles[0], [[0, 1, 1, 1], [1, 1, 1, 0]])


def test_transform_accepts_other_grid_sizes():
    transformer = TileTransformer(f=2, c=1).fit(np.zeros((1, 4, 4)))
    assert transformer.transform(np.zeros((3, 8, 6))).shape == (3, 12, 4, 4)


def test_transform_rejects_other_channel_count():
    transformer = TileTransformer(f=1, c=1, channels=True).fit(np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match="1 spatial axes and 3 channels"):
        transformer.transform(np.zeros((1, 4, 3)))


def test_tiles_to_focus_grid_places_tiles_in_c_order():
    grid = np.arange(24.0).reshape(1, 4, 6)
    transformer = TileTransformer(f=2, c=0)
    focus_sums = transformer.fit_transform(grid).sum(axis=(2, 3))
    mapped = tiles_to_focus_grid(focus_sums, (4, 6), f=2)
    expected = grid.reshape(1, 2, 2, 3, 2).sum(axis=(2, 4))
    np.testing.assert_array_equal(mapped, expected)


def test_tiles_to_focus_grid_rejects_wrong_tile_count():
    with pytest.raises(ValueError, match="has 6 tiles"):
        tiles_to_focus_grid(np.zeros((1, 5)), (4, 6), f=2)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"f": 0}, r"The 'f' parameter of TileTransformer must be"),
        ({"c": -1}, r"The 'c' parameter of TileTransformer must be"),
        ({"f": 1.5}, r"The 'f' parameter of TileTransformer must be"),
        ({"f": (1.5,)}, r"f=\(1.5,\) must be an int"),
        ({"c": (-1,)}, r"c=\(-1,\) must be >= 0"),
        ({"c": (1, 1)}, r"gives 2 values, but the grids have 1 spatial axes"),
        (
            {"f": 3},
            r"grid axis 0 has length 4, which is not a positive multiple of f=3",
        ),
        ({"padding": "reflect"}, r"The 'padding' parameter of TileTransformer"),
    ],
)
def test_tile_transformer_bad_parameters(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TileTransformer(**params).fit(np.zeros((2, 4)))


@settings(max_examples=50, deadline=None)
@given(
    n_samples=st.integers(1, 5),
    tiles_per_axis=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    max_tiles=st.integers(1, 60),
)
def test_plan_items_cover_every_tile_once(n_samples, tiles_per_axis, max_tiles):
    items = plan_items(n_samples, tuple(tiles_per_axis), max_tiles)
    covered = np.zeros((n_samples, tiles_per_axis[0]), dtype=int)
    row_size = int(np.prod(tiles_per_axis[1:]))
    for s0, s1, r0, r1 in items:
        covered[s0:s1, r0:r1] += 1
        assert (s1 - s0) * (r1 - r0) * row_size <= max(max_tiles, row_size)
    np.testing.assert_array_equal(covered, 1)


@settings(max_examples=60, deadline=None)
@given(
    n_samples=st.integers(1, 4),
    tiles_per_axis=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    max_tiles=st.integers(1, 60),
    square=st.booleans(),
)
def test_tile_blocks_cover_every_tile_once_within_the_batch(
    n_samples, tiles_per_axis, max_tiles, square
):
    shape = (n_samples, *tiles_per_axis)
    covered = np.zeros(shape, dtype=int)
    # Only one position of the first two axes of a 3-D grid may exceed it.
    smallest = int(np.prod(tiles_per_axis[2:])) if len(tiles_per_axis) > 2 else 1
    for where in tile_blocks(shape, max_tiles, square=square):
        covered[where] += 1
        assert covered[where].size <= max(max_tiles, smallest)
    np.testing.assert_array_equal(covered, 1)


def test_a_row_wider_than_the_batch_is_cut_into_blocks():
    # A 1 x 10000 row of tiles is never one batch of 10000.
    blocks = tile_blocks((1, 3, 10_000), 4096)
    assert (
        max((b[1].stop - b[1].start) * (b[2].stop - b[2].start) for b in blocks) <= 4096
    )
    # Rows that fit stay whole unless square blocks are asked for.
    assert all(len(b) == 2 for b in tile_blocks((1, 100, 40), 400))
    assert all(len(b) == 3 for b in tile_blocks((1, 100, 40), 400, square=True))


def test_blocks_of_a_band_of_few_rows_hold_the_whole_batch():
    # 8 rows of 32768 tiles: blocks of 8 x 512, not 8 x 64.
    blocks = tile_blocks((1, 8, 32768), 4096, square=True)
    sizes = {(b[1].stop - b[1].start) * (b[2].stop - b[2].start) for b in blocks}
    assert sizes == {4096}
