"""The image of atoms, eq. (2): numpy against a direct sum, torch against numpy."""

import itertools

import numpy as np
import pytest
import torch
from ase.build import graphene, make_supercell
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ednn.atoms import AtomImage, _render, render_image, render_image_torch


def rectangular_sheet(nx=1, ny=1, a=2.46, symbols="C2"):
    """Graphene (or h-BN with symbols="BN") in a rectangular 4-atom cell."""
    primitive = graphene(symbols, a=a, vacuum=5.0)
    cell = make_supercell(primitive, [[1, 0, 0], [1, 2, 0], [0, 0, 1]])
    return cell.repeat((nx, ny, 1))


def direct_image(positions, weights, lengths, shape, gamma):
    """Eq. (2) at every pixel, summing explicit periodic images (no cutoff)."""
    axes = [np.arange(n) * length / n for n, length in zip(shape, lengths)]
    grids = np.meshgrid(*axes, indexing="ij")
    image = np.zeros(shape)
    shifts = itertools.product(range(-2, 3), repeat=len(shape))
    for shift in shifts:
        for position, weight in zip(positions, weights):
            squared = sum(
                (grid - position[a] - shift[a] * lengths[a]) ** 2
                for a, grid in enumerate(grids)
            )
            image += weight * np.exp(-squared / (2 * gamma**2))
    return image


@pytest.fixture(params=["compiled", "stripes"])
def drawing(request, monkeypatch):
    """Run a test with numba's kernels and again with numpy and scipy alone."""
    if request.param == "stripes":
        monkeypatch.setattr(_render, "draw_rows", None)
        monkeypatch.setattr(_render, "gaussian_factors", None)
    return request.param


@pytest.fixture
def rattled_bn():
    sheet = rectangular_sheet(2, 1, a=2.5, symbols="BN")
    sheet.rattle(0.15, seed=0)
    sheet.positions[:, 2] += np.random.default_rng(0).normal(0, 0.3, len(sheet))
    return sheet


def drawn_and_direct(sheet, gamma, cutoff, shape=(40, 34)):
    """The sheet's numpy image (float64) and eq. (2) evaluated directly."""
    lengths = sheet.cell.lengths()[:2]
    image = render_image(
        sheet.positions,
        sheet.numbers,
        sheet.cell,
        resolution=tuple(lengths / shape),
        gamma=gamma,
        cutoff=cutoff,
        dtype=np.float64,
    )
    expected = direct_image(
        sheet.positions[:, :2], sheet.numbers, lengths, shape, gamma
    )
    return image, expected


@pytest.mark.parametrize("gamma", [0.2, 0.6])
def test_numpy_image_is_eq_2_with_periodic_images(rattled_bn, gamma, drawing):
    image, expected = drawn_and_direct(rattled_bn, gamma, cutoff=7.0)
    np.testing.assert_allclose(image, expected, atol=1e-9 * expected.max())


def test_truncation_error_is_bounded_by_the_cutoff(rattled_bn):
    image, expected = drawn_and_direct(rattled_bn, 0.2, cutoff=3.0)
    error = np.abs(image - expected).max()
    # One atom's missing tail is at most Z exp(-cutoff^2 / 2); neighbours add
    # at most a few such tails to a pixel.
    assert 0 < error < 4 * 7 * np.exp(-(3.0**2) / 2)


def test_three_dimensional_image_is_eq_2(drawing):
    rng = np.random.default_rng(1)
    lengths = np.array([3.0, 2.4, 2.7])
    positions = rng.uniform(-1, 4, size=(5, 3))
    numbers = rng.choice([1, 6, 8], size=5)
    shape = (15, 12, 9)
    image = render_image(
        positions,
        numbers,
        np.diag(lengths),
        resolution=tuple(lengths / shape),
        gamma=0.5,
        n_dims=3,
        cutoff=7.0,
        dtype=np.float64,
    )
    expected = direct_image(positions, numbers, lengths, shape, 0.5)
    np.testing.assert_allclose(image, expected, atol=1e-9 * expected.max())


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n_dims=st.sampled_from([2, 3]),
    gamma=st.floats(0.15, 0.8),
    pixels=st.integers(6, 30),
)
def test_torch_image_equals_numpy_image(seed, n_dims, gamma, pixels):
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(1.5, 5.0, size=3)
    positions = rng.uniform(-3, 8, size=(rng.integers(1, 12), 3))
    numbers = rng.choice([5, 6, 7], size=len(positions))
    kwargs = dict(
        resolution=tuple(lengths[:n_dims] / pixels),
        gamma=gamma,
        n_dims=n_dims,
        species=(5, 6, 7),
    )
    expected = render_image(positions, numbers, lengths, dtype=np.float64, **kwargs)
    image = render_image_torch(
        torch.as_tensor(positions), numbers, lengths, dtype=torch.float64, **kwargs
    )
    np.testing.assert_allclose(image.numpy(), expected, rtol=1e-10, atol=1e-10)
    single = render_image_torch(
        torch.as_tensor(positions, dtype=torch.float32),
        numbers,
        lengths,
        **{**kwargs, "species": None},
    )
    assert single.dtype == torch.float32
    # float32 positions: 1e-5 of the image's scale.
    total = expected.sum(axis=-1)
    np.testing.assert_allclose(single.numpy(), total, atol=1e-5 * total.max())


def test_torch_gradient_matches_finite_differences(rattled_bn):
    lengths = rattled_bn.cell.lengths()
    kwargs = dict(resolution=tuple(lengths[:2] / (50, 42)), gamma=0.3, cutoff=8.0)
    weights = np.random.default_rng(2).normal(size=(50, 42))

    def functional(positions):
        image = render_image(
            positions, rattled_bn.numbers, rattled_bn.cell, dtype=np.float64, **kwargs
        )
        return float((weights * image).sum())

    positions = torch.tensor(rattled_bn.positions, requires_grad=True)
    image = render_image_torch(
        positions, rattled_bn.numbers, rattled_bn.cell, dtype=torch.float64, **kwargs
    )
    (image * torch.as_tensor(weights)).sum().backward()
    step = 1e-5
    numeric = np.zeros_like(rattled_bn.positions)
    for atom, axis in itertools.product(range(len(rattled_bn)), range(3)):
        shifted = rattled_bn.positions.copy()
        shifted[atom, axis] += step
        up = functional(shifted)
        shifted[atom, axis] -= 2 * step
        numeric[atom, axis] = (up - functional(shifted)) / (2 * step)
    np.testing.assert_allclose(positions.grad.numpy(), numeric, rtol=1e-5, atol=1e-6)
    # The sheet image is a projection: z does not move it.
    np.testing.assert_array_equal(positions.grad.numpy()[:, 2], 0.0)
    assert np.abs(numeric[:, :2]).max() > 1.0


def test_supercell_image_is_the_tiled_cell_image():
    cell = rectangular_sheet(5, 3)
    cell.rattle(0.05, seed=3)
    images = AtomImage(resolution=tuple(cell.cell.lengths()[:2] / (64, 64)))
    (small,) = images.fit_transform([cell])
    (large,) = images.transform([cell.repeat((3, 2, 1))])
    np.testing.assert_allclose(large, np.tile(small, (3, 2)), atol=1e-5)


def test_species_channels_sum_to_the_single_channel(rattled_bn):
    resolution = tuple(rattled_bn.cell.lengths()[:2] / (30, 26))
    channels = AtomImage(resolution, species=(5, 7)).fit_transform([rattled_bn])
    single = AtomImage(resolution).fit_transform([rattled_bn])
    assert channels.shape == (1, 30, 26, 2)
    np.testing.assert_allclose(channels.sum(axis=-1), single, atol=1e-5)
    # As many B as N atoms: the channel totals are in the ratio of Z.
    ratio = channels[..., 0].sum() / channels[..., 1].sum()
    np.testing.assert_allclose(ratio, 5 / 7, rtol=1e-3)


def test_arrays_and_atoms_give_the_same_image(rattled_bn):
    images = AtomImage(tuple(rattled_bn.cell.lengths()[:2] / 20)).fit(None)
    from_atoms = images.transform([rattled_bn])
    as_arrays = (rattled_bn.positions, rattled_bn.numbers, rattled_bn.cell[:])
    np.testing.assert_array_equal(images.transform([as_arrays]), from_atoms)


def test_incommensurate_cell_is_a_clear_error():
    sheet = rectangular_sheet(5, 3)  # 12.3 x 12.78... Angstrom
    with pytest.raises(ValueError, match=r"cell axis 1 is 12.78.*not a whole number"):
        AtomImage(resolution=0.05).fit_transform([sheet])


def test_skewed_cell_is_a_clear_error():
    with pytest.raises(ValueError, match="orthorhombic.*make_supercell"):
        render_image([[0, 0, 0]], [6], graphene("C2").cell, resolution=0.1)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"resolution": -0.1}, "resolution"),
        ({"resolution": (0.1, 0.1, 0.1)}, "3 entries; expected one number or 2"),
        ({"gamma": 0.0}, "gamma"),
        ({"n_dims": 4}, "n_dims"),
    ],
)
def test_bad_parameters_are_clear_errors(params, message):
    with pytest.raises(ValueError, match=message):
        AtomImage(**params).fit_transform([rectangular_sheet()])


def test_unlisted_species_and_mixed_sizes_are_clear_errors():
    sheet = rectangular_sheet(5, 3, symbols="BN", a=2.46)
    images = AtomImage(tuple(sheet.cell.lengths()[:2] / 64), species=(5,))
    with pytest.raises(ValueError, match=r"atomic numbers \[7\] are not in"):
        images.fit_transform([sheet])
    images.set_params(species=None)
    with pytest.raises(ValueError, match="structure 1 gives an image of shape"):
        images.fit_transform([sheet, sheet.repeat((2, 1, 1))])


def test_out_buffer_is_overwritten_and_checked(rattled_bn, drawing):
    kwargs = dict(resolution=tuple(rattled_bn.cell.lengths()[:2] / (30, 26)))
    args = (rattled_bn.positions, rattled_bn.numbers, rattled_bn.cell)
    expected = render_image(*args, **kwargs)
    buffer = np.full((30, 26), np.nan, dtype=np.float32)
    assert render_image(*args, out=buffer, **kwargs) is buffer
    np.testing.assert_array_equal(buffer, expected)
    channels = np.full((30, 26, 2), np.nan, dtype=np.float32)
    render_image(*args, species=(5, 7), out=channels, **kwargs)
    np.testing.assert_allclose(channels.sum(axis=-1), expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"out has shape \(26, 30\)"):
        render_image(*args, out=np.zeros((26, 30), np.float32), **kwargs)
    with pytest.raises(ValueError, match="C-contiguous: False"):
        render_image(*args, out=np.zeros((26, 30), np.float32).T, **kwargs)


def test_threads_draw_the_same_image(drawing):
    sheet = rectangular_sheet(5, 30)
    sheet.rattle(0.2, seed=4)
    # 2000 columns of 0.064 Angstrom: 36 stripes of 56, split among threads.
    kwargs = dict(resolution=tuple(sheet.cell.lengths()[:2] / (100, 2000)))
    args = (sheet.positions, sheet.numbers, sheet.cell)
    serial = render_image(*args, **kwargs)
    for n_jobs in (2, 3):
        threaded = render_image(*args, n_jobs=n_jobs, **kwargs)
        np.testing.assert_allclose(threaded, serial, atol=1e-6)


@pytest.mark.parametrize("pixels", [(3, 5), (16, 9)])
def test_compiled_and_stripe_paths_agree_on_wrapping_windows(pixels, monkeypatch):
    # A 2.5 x 2.1 Angstrom cell is narrower than a window of cutoff 6 gamma =
    # 3.6 Angstrom: every window wraps around it, some columns twice.
    rng = np.random.default_rng(1)
    positions, numbers = rng.uniform(-3, 6, (7, 3)), rng.integers(1, 9, 7)
    cell = [2.5, 2.1, 8.0]
    kwargs = dict(resolution=(2.5 / pixels[0], 2.1 / pixels[1]), gamma=0.6, cutoff=6.0)
    compiled = render_image(positions, numbers, cell, dtype=np.float64, **kwargs)
    monkeypatch.setattr(_render, "draw_rows", None)
    monkeypatch.setattr(_render, "gaussian_factors", None)
    stripes = render_image(positions, numbers, cell, dtype=np.float64, **kwargs)
    np.testing.assert_allclose(compiled, stripes, rtol=1e-12, atol=1e-12)
    wrapped = np.mod(positions[:, :2], cell[:2])
    expected = direct_image(wrapped, numbers, cell[:2], pixels, 0.6)
    np.testing.assert_allclose(compiled, expected, atol=1e-6 * expected.max())


def test_empty_structure_is_a_blank_image(drawing):
    image = np.full((8, 6), np.nan, dtype=np.float32)
    render_image(np.zeros((0, 3)), [], [4.0, 3.0, 5.0], resolution=0.5, out=image)
    np.testing.assert_array_equal(image, 0)


def test_structures_must_be_atoms_or_tuples():
    with pytest.raises(TypeError, match=r"ase.Atoms, a \(positions, numbers, cell\)"):
        AtomImage().fit_transform([5])
    missing = r"keys positions, numbers and cell; \[.cell.\]"
    with pytest.raises(ValueError, match=missing):
        AtomImage().fit_transform([{"positions": np.zeros((1, 3)), "numbers": [6]}])
    with pytest.raises(TypeError, match=r"one structure \(dict\).*\[X\]"):
        AtomImage().fit_transform({"positions": np.zeros((1, 3))})
    with pytest.raises(ValueError, match="no structures"):
        AtomImage().fit_transform([])
