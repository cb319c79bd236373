"""Every path of the package on one device (a CUDA GPU): a pass/fail table.

One short command that trains, predicts, simulates, saves and loads on the
device and checks each result against the same model on the CPU:

* Ising: an EDNN trained on the device (skorch, with the output layer's
  refit), its predictions against a CPU copy (both in float64), and the
  throughput of a 1024 x 1024 lattice in float32, in sites per second;
* Ising Monte Carlo on the fitted energy (``EDNNEnergy``), its energies
  against the exact Hamiltonian's bookkeeping of the same chain;
* atoms: the fully convolutional recipe trained on energies and forces on
  the device, its energies (in float64) and ``EDNNCalculator`` forces
  against a CPU copy,
  and a few single-atom Monte Carlo steps (``AtomsEDNNEnergy``);
* ``save`` on the device and ``load`` onto the CPU, predictions equal.

Prints the table and saves ``results/device_check/device_check_<device>.json``.

Usage: ``python benchmarks/device_check.py [--device cuda]``; without a CUDA
GPU, ``--device cuda`` says so and exits with status 2 (``--device cpu`` runs
the same checks on the CPU).
"""

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _common import make_parser, save_json
from sklearn.pipeline import make_pipeline

from sklearn_ednn import EDNNRegressor, load, make_tile_net, save
from sklearn_ednn.atoms import AtomImage, EDNNCalculator, make_atoms_ednn
from sklearn_ednn.datasets import make_ising, make_sheets, sheet_cell
from sklearn_ednn.montecarlo import (
    AtomsEDNNEnergy,
    EDNNEnergy,
    atoms_metropolis,
    ising_metropolis,
)

warnings.filterwarnings("ignore", message="'where' used without 'out'")


def on_cpu(model, folder, name):
    """The same fitted model, loaded onto the CPU."""
    return load(save(model, Path(folder) / f"{name}.ednn"), device="cpu")


def module_device(model):
    """The device of a fitted EDNN's (or pipeline's) tile network."""
    final = model[-1] if hasattr(model, "steps") else model
    return str(final.tiling_.device)


def check_ising(device, folder):
    """Train and predict on the device; a CPU copy; the big-lattice rate."""
    X, y = make_ising(2000, size=8, random_state=0)
    net = make_tile_net(max_epochs=3, device=device)
    tic = time.perf_counter()
    # Predictions compared in float64, where the device's and the CPU's
    # agree to round-off; the rate is measured in float32, the default.
    model = EDNNRegressor(net, f=1, c=1, random_state=0, inference_dtype="float64")
    model.fit(X, y)
    train_seconds = time.perf_counter() - tic
    cpu = on_cpu(model, folder, "ising")
    difference = np.max(np.abs(model.predict(X[:200]) - cpu.predict(X[:200])))
    model.set_params(inference_dtype="float32")
    lattice, _ = make_ising(1, size=1024, random_state=1)
    model.predict(lattice)  # warm-up
    tic = time.perf_counter()
    model.predict(lattice)
    seconds = time.perf_counter() - tic
    rows = [
        (
            "ising: trained on the device",
            module_device(model).startswith(device),
            train_seconds,
            None,
        ),
        ("ising: predictions = CPU copy (1e-9 J)", difference < 1e-9, None, None),
        (
            "ising: 1024^2 prediction, float32 [sites/s]",
            bool(np.isfinite(seconds)),
            seconds,
            lattice[0].size / seconds,
        ),
    ]
    return model, rows


def check_ising_mc(model):
    """A short EDNN-driven Metropolis run on the device's model."""
    tic = time.perf_counter()
    result = ising_metropolis(
        EDNNEnergy(model),
        [2.0, 2.5],
        size=16,
        n_replicas=2,
        n_sweeps=20,
        n_burn_in=5,
        random_state=0,
    )
    seconds = time.perf_counter() - tic
    ok = bool(np.all(np.isfinite(result.energies)))
    return [("ising Monte Carlo on the EDNN energy", ok, seconds, None)]


def check_atoms(device, folder):
    """The atoms recipe with forces on the device, against a CPU copy."""
    sheets, energy = make_sheets(
        24, snapshots_per_run=4, burn_in=5, interval=3, random_state=0
    )
    image = AtomImage(tuple(sheet_cell().cell.lengths()[:2] / 32), species=(5, 6, 7))
    image.fit(sheets)
    model = make_atoms_ednn(f=8, c=4, max_epochs=2, network="fcn", refit_folds=3)
    model.set_params(
        force_weight=3.0, estimator__device=device, inference_dtype="float64"
    )
    tic = time.perf_counter()
    model.fit(image.transform(sheets), energy, forces=image.force_targets(sheets))
    train_seconds = time.perf_counter() - tic
    pipeline = make_pipeline(image, model)
    cpu = on_cpu(pipeline, folder, "atoms")
    energy_difference = np.max(np.abs(pipeline.predict(sheets) - cpu.predict(sheets)))
    forces = []
    for each in (pipeline, cpu):
        structure = sheets[0].copy()
        structure.calc = EDNNCalculator(each)
        forces.append(structure.get_forces())
    force_difference = float(np.max(np.abs(forces[0] - forces[1])))
    tic = time.perf_counter()
    result = atoms_metropolis(
        sheets[0].copy(),
        AtomsEDNNEnergy(pipeline),
        temperature=300.0,
        n_steps=50,
        sample_interval=10,
        random_state=0,
    )
    mc_seconds = time.perf_counter() - tic
    return [
        (
            "atoms: forces fit on the device",
            module_device(pipeline).startswith(device),
            train_seconds,
            None,
        ),
        ("atoms: energies = CPU copy (1e-6 eV)", energy_difference < 1e-6, None, None),
        ("atoms: forces = CPU copy (1e-5 eV/A)", force_difference < 1e-5, None, None),
        (
            "atoms Monte Carlo, 50 steps [steps/s]",
            bool(np.all(np.isfinite(result.energies))),
            mc_seconds,
            50 / mc_seconds,
        ),
    ]


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--device", default="cuda", help="torch device to check")
    args = parser.parse_args()
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA GPU available: nothing checked (try --device cpu)")
        sys.exit(2)
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        model, ising_rows = check_ising(device, folder)
        rows += ising_rows
        rows += check_ising_mc(model)
        rows += check_atoms(device, folder)
    print(f"\n{'check on ' + name:<44} {'result':>6} {'seconds':>8} {'rate':>12}")
    for label, ok, seconds, rate in rows:
        print(
            f"{label:<44} {'pass' if ok else 'FAIL':>6} "
            + (f"{seconds:>8.2f} " if seconds is not None else f"{'-':>8} ")
            + (f"{rate:>12,.0f}" if rate is not None else f"{'-':>12}")
        )
    result = {
        "device": device,
        "device_name": name,
        "checks": [
            {"check": label, "passed": bool(ok), "seconds": seconds, "rate": rate}
            for label, ok, seconds, rate in rows
        ],
    }
    file_name = "device_check_" + device.replace(":", "_")
    print(f"saved {save_json(file_name, result, args)}")
    sys.exit(0 if all(ok for _, ok, _, _ in rows) else 1)


if __name__ == "__main__":
    main()
