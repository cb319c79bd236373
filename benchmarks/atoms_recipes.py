"""Training recipes for the atoms EDNN: a fast, standalone study.

``atoms_paper.py`` trains one recipe in an hour on 2 CPU cores; comparing
recipes that way takes a day. This script trains the same model (the paper's
13-convolution tile CNN at half width, focus 16 and context 16 pixels on the
64 x 64, three-channel sheet images, periodic padding, the loss on the sum)
in plain torch, so that a GPU runs several recipes at once in minutes. What it
varies: the activation, the offset (the mean energy per tile, or reference
energies per element fitted by least squares on the atom counts, like
``EDNNRegressor(offset="channel_totals")`` without its intercept), the batch
size, the learning rate, the width, the energy loss (squared or absolute
errors, ``--loss``), and a force term in the loss
(``--force-weight``: forces by double backpropagation through the image,
against the Tersoff forces).

It draws the images itself, in batches on the device, from the positions
(eq. 2 with species channels, Gaussians cut at 4 gamma per axis, pixel ``j``
at ``j * spacing``: the same image as ``AtomImage``, which ``--export``
checks), and moves every training cell by a random translation and mirror
(by any distance, or with ``--shift pixel`` by whole pixels as
``PeriodicAugmentation`` does). It imports only the
tile network's module, so a machine with torch alone runs it.

Usage::

    python benchmarks/atoms_recipes.py --export     # once, with the package
    python benchmarks/atoms_recipes.py --name silu_reference --activation silu \\
        --reference [--batch 16] [--force-weight 0.1] [--device cuda]

Every fifth epoch the mean and median held-out and training errors (meV per
atom) are printed and appended to ``results/atoms_recipes/<name>.jsonl``.
The user guide's atoms section tabulates the runs in
``results/atoms_recipes.json`` (an H200, 2026-11-26).
"""

import argparse
import importlib.util
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).parent
DATA = HERE / ".cache" / "atoms_recipes.npz"
LOGS = HERE / "results" / "atoms_recipes"
SPECIES = (5, 6, 7)
N_TRAIN, N_TEST = 6000, 1000
ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "softplus": nn.Softplus}


def export():
    """Positions, numbers, energies and forces of atoms_paper.py's sheets."""
    from sklearn_ednn.atoms import AtomImage
    from sklearn_ednn.datasets import make_sheets

    sheets, energy = make_sheets(
        N_TRAIN + N_TEST, random_state=0, cache_dir=HERE / ".cache", n_jobs=2
    )
    width = max(len(s) for s in sheets)
    positions = np.zeros((len(sheets), width, 2), np.float32)
    numbers = np.zeros((len(sheets), width), np.int8)  # 0: no atom
    forces = np.zeros((len(sheets), width, 2), np.float32)
    for k, sheet in enumerate(sheets):
        positions[k, : len(sheet)] = sheet.positions[:, :2]
        numbers[k, : len(sheet)] = sheet.numbers
        forces[k, : len(sheet)] = sheet.get_forces()[:, :2]
    lengths = sheets[0].cell.lengths()[:2]
    np.savez_compressed(
        DATA,
        positions=positions,
        numbers=numbers,
        forces=forces,
        energy=energy,
        lengths=lengths,
    )
    # The batched renderer below draws what AtomImage draws.
    image = AtomImage(tuple(lengths / 64), species=SPECIES).fit_transform(sheets[:3])
    data = load(torch.device("cpu"))
    drawn = draw(data, torch.arange(3), data["positions"][:3], pixels=64, gamma=0.2)
    error = np.abs(drawn.permute(0, 2, 3, 1).numpy() - image).max()
    print(f"saved {DATA}; batched image vs AtomImage: max difference {error:.1e}")


def load(device):
    """The exported sheets as tensors on ``device``, with per-channel weights."""
    data = np.load(DATA)
    numbers = torch.as_tensor(data["numbers"].astype(np.int64), device=device)
    species = torch.as_tensor(SPECIES, device=device)
    is_species = numbers[..., None] == species
    return {
        "positions": torch.as_tensor(data["positions"], device=device),
        "numbers": numbers,
        # Z on its element's channel: the weights of eq. (2) per channel.
        "weights": (is_species * numbers[..., None]).float(),
        "counts": is_species.sum(dim=1).double(),
        "n_atoms": (numbers > 0).sum(dim=1),
        "forces": torch.as_tensor(data["forces"], device=device),
        "energy": torch.as_tensor(data["energy"], dtype=torch.float64, device=device),
        "lengths": torch.as_tensor(data["lengths"], dtype=torch.float32, device=device),
    }


def draw(data, cells, positions, *, pixels, gamma):
    """Images (n, 3, pixels, pixels) of ``positions`` (n, atoms, 2) of ``cells``."""
    factors = []
    for axis in range(2):
        length = data["lengths"][axis]
        grid = torch.arange(pixels, device=positions.device) * (length / pixels)
        offset = grid - torch.remainder(positions[..., axis], length)[..., None]
        offset = offset - length * torch.round(offset / length)  # nearest image
        factor = torch.exp(-(offset**2) / (2 * gamma**2))
        factors.append(factor * (offset.abs() <= 4 * gamma))
    return torch.einsum("nas,nax,nay->nsxy", data["weights"][cells], *factors)


def tile_network(args):
    """TileCNN, imported from its own file (torch is all it needs)."""
    path = HERE.parent / "sklearn_ednn" / "_nets.py"
    spec = importlib.util.spec_from_file_location("_nets", path)
    nets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nets)
    tile = args.focus + 2 * args.context
    return nets.TileCNN(
        tile_shape=(tile, tile),
        n_channels=len(SPECIES),
        width=args.width,
        activation=ACTIVATIONS[args.activation],
    )


def ednn(module, images, focus, context):
    """Sum of the tile network over the periodic tiles of each image."""
    x = nn.functional.pad(images, (context,) * 4, mode="circular")
    tiles = x.unfold(2, focus + 2 * context, focus).unfold(
        3, focus + 2 * context, focus
    )
    n, channels, rows, columns, width, _ = tiles.shape
    tiles = tiles.permute(0, 2, 3, 1, 4, 5).reshape(-1, channels, width, width)
    return module(tiles).reshape(n, rows * columns).sum(dim=1)


def run(args):
    device = torch.device(args.device)
    # Full float32: TF32 would round the meV-scale differences away.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(args.seed)
    data = load(device)
    energy = data["energy"]
    train, test = (
        torch.arange(args.n_train, device=device),
        torch.arange(N_TRAIN, N_TRAIN + N_TEST, device=device),
    )
    if args.reference:
        reference = torch.linalg.lstsq(
            data["counts"][train], energy[train][:, None]
        ).solution[:, 0]
        baseline = data["counts"] @ reference
    else:
        baseline = torch.full_like(energy, float(energy[train].mean()))
    scale = float((energy - baseline)[train].std())
    target = ((energy - baseline) / scale).float()
    module = tile_network(args).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=args.lr)
    steps = args.epochs * math.ceil(args.n_train / args.batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    image = dict(pixels=args.pixels, gamma=args.gamma)

    def errors(cells):
        module.eval()
        predicted = []
        with torch.no_grad():
            for batch in cells.split(200):
                images = draw(data, batch, data["positions"][batch], **image)
                raw = ednn(module, images, args.focus, args.context)
                predicted.append(raw.double() * scale + baseline[batch])
        module.train()
        error = (
            1000 * (torch.cat(predicted) - energy[cells]).abs() / data["n_atoms"][cells]
        )
        return float(error.mean()), float(error.median())

    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"{args.name}.jsonl").open("w")
    log.write(json.dumps({"args": vars(args), "scale_eV": scale}) + "\n")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        for batch in train[torch.randperm(args.n_train, device=device)].split(
            args.batch
        ):
            positions = data["positions"][batch]
            lengths = data["lengths"]
            sign = 1 - 2 * (torch.rand(len(batch), 1, 2, device=device) < 0.5).float()
            shift = torch.rand(len(batch), 1, 2, device=device)
            if args.shift == "pixel":
                # Whole pixels only, as PeriodicAugmentation rolls images.
                shift = torch.floor(shift * args.pixels) / args.pixels
            moved = positions * sign + shift * lengths
            if args.force_weight:
                moved.requires_grad_(True)
            predicted = ednn(
                module, draw(data, batch, moved, **image), args.focus, args.context
            )
            residual = predicted - target[batch]
            # L1 trains for the mean absolute error that is reported.
            loss = residual.abs().mean() if args.loss == "l1" else (residual**2).mean()
            if args.force_weight:
                (gradient,) = torch.autograd.grad(
                    predicted.sum(), moved, create_graph=True
                )
                present = (data["numbers"][batch] > 0).float()[..., None]
                # Mirrored cells have mirrored forces.
                force_error = -gradient * scale - data["forces"][batch] * sign
                loss = loss + args.force_weight * (
                    (force_error**2 * present).sum() / (2 * present.sum())
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        seconds = time.perf_counter() - start
        last = epoch == args.epochs or seconds > args.max_seconds
        if epoch % 5 == 0 or last:
            record = {
                "epoch": epoch,
                "seconds": seconds,
                "test_meV_per_atom": errors(test),
                "train_meV_per_atom": errors(train[:N_TEST]),
            }
            print(args.name, record, flush=True)
            log.write(json.dumps(record) + "\n")
            log.flush()
        if last:
            break


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", action="store_true", help="write the data file")
    parser.add_argument("--name", help="name of the run's log")
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    parser.add_argument("--reference", action="store_true", help="energies per element")
    parser.add_argument("--force-weight", type=float, default=0.0)
    parser.add_argument(
        "--loss", choices=["mse", "l1"], default="mse", help="loss on the energies"
    )
    parser.add_argument(
        "--shift",
        choices=["continuous", "pixel"],
        default="continuous",
        help="random translations by any distance, or by whole pixels",
    )
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--pixels", type=int, default=64)
    parser.add_argument("--gamma", type=float, default=0.2)
    parser.add_argument("--focus", type=int, default=16)
    parser.add_argument("--context", type=int, default=16)
    parser.add_argument("--n-train", type=int, default=N_TRAIN)
    parser.add_argument("--max-seconds", type=float, default=math.inf)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu"
    )
    args = parser.parse_args()
    if args.export:
        export()
    elif args.name:
        run(args)
    else:
        parser.error("give --export or --name")


if __name__ == "__main__":
    main()
