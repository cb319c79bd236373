"""Monte Carlo of graphene on an EDNN energy (Mills et al. 2019, section 3.4).

The EDNN fitted by ``atoms_paper.py`` (read from ``.cache``) drives Metropolis
Monte Carlo of pristine graphene at 1000 K with single-atom moves, and the
B-C-N Tersoff potential it was trained on drives a run of equal length. The
benchmark reports:

* the radial distribution functions of both runs, their first three peak
  positions and the L1 distance between the curves;
* time per Monte Carlo step on the paper's 60-atom cell and on cells of up to
  2 940 atoms, with local re-evaluation (only the tiles a move touches) and
  with full re-evaluation (the whole image and every tile);
* EDNN forces (autograd through the image) against central finite differences
  of the EDNN energy, and against the Tersoff forces;
* the EDNN and Tersoff energies of the structures each run samples: a model
  that sits too low somewhere (a hole in the learned surface) leads its own
  run there, where the potential's energy is much higher.

Saves ``results/atoms_mc/atoms_mc.json`` and ``results/atoms_mc/atoms_mc.png``.

Usage: ``python benchmarks/atoms_mc.py [--quick] [--model PATH] [--name
NAME] [--replot]``. The model defaults to ``.cache/atoms_paper_ednn.joblib``
(``atoms_paper_quick_ednn`` with ``--quick``); run ``atoms_paper.py`` first.
``--name`` saves the results as ``results/atoms_mc/NAME.json`` and ``.png``;
``--replot`` draws the figure again from the saved JSON, without running.
"""

import time
import warnings
from pathlib import Path

import joblib
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _common import CACHE, load_json, make_parser, save_figure, save_json
from ase.calculators.fd import calculate_numerical_forces

from sklearn_ednn.atoms import EDNNCalculator
from sklearn_ednn.datasets import sheet_cell, tersoff_bcn
from sklearn_ednn.montecarlo import (
    AtomsEDNNEnergy,
    CalculatorEnergy,
    atoms_metropolis,
    radial_distribution,
)

warnings.filterwarnings("ignore", message="'where' used without 'out'")


TEMPERATURE = 1000.0  # K, as in the paper's figure 13
MAX_STEP = 0.05  # Angstrom per axis
RMAX, NBINS = 4.0, 80  # RDF bins of 0.05 Angstrom
PAPER_SECONDS_PER_STEP = 0.39
TARGET = {"seconds_per_step_60": 0.010, "local_speedup_1000": 20.0, "fd_rel": 1e-4}


def first_peaks(rdf, r, count=3):
    """Positions of the ``count`` first local maxima of ``rdf`` above 1."""
    inner = (rdf[1:-1] > rdf[:-2]) & (rdf[1:-1] >= rdf[2:]) & (rdf[1:-1] > 1.0)
    return [float(x) for x in r[1:-1][inner][:count]]


def sample_rdf(energy, n_steps, sample_interval, seed):
    """Run Monte Carlo on pristine graphene; RDF of the second half, timing."""
    cell = sheet_cell(kind="graphene")
    result = atoms_metropolis(
        cell,
        energy,
        temperature=TEMPERATURE,
        n_steps=n_steps,
        max_step=MAX_STEP,
        sample_interval=sample_interval,
        random_state=seed,
        verbose=True,
    )
    kept = result.positions[len(result.positions) // 2 :]
    rdf, r = radial_distribution(cell, kept, rmax=RMAX, nbins=NBINS)
    return rdf, r, result


def step_times(model, repeats, n_steps, local):
    """Seconds per Monte Carlo step on graphene supercells."""
    times = {}
    for repeat in repeats:
        cell = sheet_cell((repeat, repeat), kind="graphene")
        result = atoms_metropolis(
            cell,
            AtomsEDNNEnergy(model, local=local),
            temperature=TEMPERATURE,
            n_steps=n_steps,
            max_step=MAX_STEP,
            sample_interval=n_steps,
            random_state=0,
        )
        times[len(cell)] = result.seconds_per_step
    return times


def force_checks(model, snapshot, n_probe=16, step=1e-6):
    """EDNN forces against finite differences and against Tersoff.

    The energy is piecewise smooth: a ReLU of the tile network switching, or
    a pixel entering a Gaussian's window, puts a kink or a tiny jump in it.
    A central difference whose +-step interval holds one disagrees with the
    exact derivative there, so the median error is reported beside the
    largest, with the share of probes above the target.
    """
    atoms = snapshot.copy()
    atoms.calc = EDNNCalculator(model)
    forces = atoms.get_forces()
    probe = atoms.copy()
    probe.calc = EDNNCalculator(model)
    rng = np.random.default_rng(0)
    probed = rng.choice(len(atoms), n_probe, replace=False)
    # ASE's central differences, atom by atom, x and y.
    finite = calculate_numerical_forces(probe, eps=step, iatoms=probed, icarts=(0, 1))
    scale = np.abs(forces[:, :2]).max()
    errors = (np.abs(forces[probed, :2] - finite) / scale).ravel()
    reference = snapshot.copy()
    reference.calc = tersoff_bcn()
    tersoff = reference.get_forces()
    return {
        "fd_max_relative_error": float(errors.max()),
        "fd_median_relative_error": float(np.median(errors)),
        "fd_share_above_target": float(np.mean(errors > TARGET["fd_rel"])),
        "fd_probes": len(errors),
        "fd_step_A": step,
        "vs_tersoff_mae_eV_per_A": float(np.mean(np.abs(forces - tersoff)[:, :2])),
        "tersoff_mean_abs_force_eV_per_A": float(np.mean(np.abs(tersoff[:, :2]))),
    }


def sample_energies(model, run):
    """Mean EDNN and Tersoff energies per atom (eV) of a run's kept samples."""
    cell = sheet_cell(kind="graphene")
    kept = run.positions[len(run.positions) // 2 :]
    structures = []
    for positions in kept:
        structure = cell.copy()
        structure.positions = positions
        structures.append(structure)
    ednn = model.predict(structures) / len(cell)
    tersoff = []
    for structure in structures:
        structure.calc = tersoff_bcn()
        tersoff.append(structure.get_potential_energy() / len(cell))
    return {
        "ednn_eV_per_atom": float(ednn.mean()),
        "tersoff_eV_per_atom": float(np.mean(tersoff)),
    }


def plot_result(result):
    """The figure of a result: the two RDFs, and the time per step against size."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    r = result["rdf_r"]
    axes[0].plot(r, result["rdf_tersoff"], label="Tersoff")
    axes[0].plot(r, result["rdf_ednn"], "--", label="EDNN")
    for i, peak in enumerate(result["peaks_tersoff_A"]):
        label = "Tersoff peaks" if i == 0 else None
        axes[0].axvline(peak, color="k", lw=0.5, ls=":", label=label)
    axes[0].set(
        title=(
            f"graphene at {result['temperature_K']:.0f} K "
            f"(L1 = {result['rdf_l1_A']:.3f} Å)"
        ),
        xlabel="r (Å)",
        ylabel="g(r)",
    )
    axes[0].legend()
    for label, key, marker in [
        ("local re-evaluation", "seconds_per_step_local", "o-"),
        ("full re-evaluation", "seconds_per_step_full", "s-"),
    ]:
        times = {int(n): t for n, t in result[key].items()}
        atoms = sorted(times)
        axes[1].plot(atoms, [1000 * times[n] for n in atoms], marker, label=label)
    axes[1].axhline(
        1000 * result["paper_seconds_per_step"],
        color="k",
        ls=":",
        label="paper, 60 atoms",
    )
    axes[1].set(
        title="time per Monte Carlo step",
        xlabel="atoms",
        ylabel="time per step (ms)",
        xscale="log",
        yscale="log",
    )
    axes[1].legend()
    return fig


def main():
    parser = make_parser(__doc__, replot=True)
    parser.add_argument("--model", type=Path, default=None, help="fitted pipeline")
    parser.add_argument(
        "--name", default=None, help="name of the results (default: atoms_mc)"
    )
    args = parser.parse_args()
    quick = args.quick
    name = args.name or ("atoms_mc_quick" if quick else "atoms_mc")
    if args.replot:
        print(f"saved {save_figure(plot_result(load_json(name)), name)}")
        return
    path = args.model or CACHE / (
        "atoms_paper_quick_ednn.joblib" if quick else "atoms_paper_ednn.joblib"
    )
    if not path.exists():
        raise SystemExit(f"{path} not found: run benchmarks/atoms_paper.py first.")
    model = joblib.load(path)
    n_steps = 3000 if quick else 30000
    start = time.perf_counter()

    # 1. RDF at 1000 K from equal-length runs.
    ednn_rdf, r, ednn_run = sample_rdf(AtomsEDNNEnergy(model), n_steps, 60, seed=1)
    tersoff_rdf, _, tersoff_run = sample_rdf(
        CalculatorEnergy(tersoff_bcn()), n_steps, 60, seed=1
    )
    width = r[1] - r[0]
    ednn_peaks, tersoff_peaks = first_peaks(ednn_rdf, r), first_peaks(tersoff_rdf, r)
    peak_shift_bins = [
        round(abs(a - b) / width) for a, b in zip(ednn_peaks, tersoff_peaks)
    ]
    l1 = float(np.sum(np.abs(ednn_rdf - tersoff_rdf)) * width)

    # 2. Time per step, local against full re-evaluation.
    repeats = (1, 3, 5) if quick else (1, 3, 5, 7)
    timing_steps = 100 if quick else 400
    local = step_times(model, repeats, timing_steps, local=True)
    full = step_times(model, repeats[:3], 40 if quick else 100, local=False)
    big = max(full)
    speedup = full[big] / local[big]

    # Both energies of what each run sampled.
    sampled = {
        "ednn_run": sample_energies(model, ednn_run),
        "tersoff_run": sample_energies(model, tersoff_run),
    }

    # 3. Forces on the last Tersoff sample.
    snapshot = sheet_cell(kind="graphene")
    snapshot.positions = tersoff_run.positions[-1]
    forces = force_checks(model, snapshot)
    total_minutes = (time.perf_counter() - start) / 60

    print(f"\n{'quantity':<44} {'paper':>10} {'target':>10} {'ours':>12}")
    rows = [
        (
            "time per step, 60 atoms, local [ms]",
            1000 * PAPER_SECONDS_PER_STEP,
            1000 * TARGET["seconds_per_step_60"],
            1000 * local[60],
        ),
        (
            f"full / local time per step, {big} atoms",
            None,
            TARGET["local_speedup_1000"],
            speedup,
        ),
        (
            "forces vs finite differences, max (rel)",
            None,
            TARGET["fd_rel"],
            forces["fd_max_relative_error"],
        ),
        (
            "forces vs finite differences, median (rel)",
            None,
            TARGET["fd_rel"],
            forces["fd_median_relative_error"],
        ),
    ]
    for label, paper, target, ours in rows:
        cells = [
            f"{v:>10.4g}" if v is not None else f"{'-':>10}" for v in (paper, target)
        ]
        print(f"{label:<44} {cells[0]} {cells[1]} {ours:>12.4g}")
    print(f"RDF peaks [A]: EDNN {ednn_peaks}, Tersoff {tersoff_peaks}")
    print(f"peak shifts in bins of {width:.3f} A: {peak_shift_bins}; L1 {l1:.3f} A")
    print(
        f"acceptance: EDNN {ednn_run.acceptance:.2f}, Tersoff "
        f"{tersoff_run.acceptance:.2f}; Tersoff "
        f"{1000 * tersoff_run.seconds_per_step:.2f} ms/step, EDNN "
        f"{1000 * ednn_run.seconds_per_step:.2f} ms/step"
    )
    print(
        "ms per step, local: "
        + ", ".join(f"{n}: {1000 * t:.2f}" for n, t in local.items())
    )
    print(
        "ms per step, full:  "
        + ", ".join(f"{n}: {1000 * t:.2f}" for n, t in full.items())
    )
    print(
        f"forces: vs Tersoff MAE {forces['vs_tersoff_mae_eV_per_A']:.3f} eV/A "
        f"(mean |F| {forces['tersoff_mean_abs_force_eV_per_A']:.3f})"
    )
    for run_name, energies in sampled.items():
        print(
            f"samples of the {run_name.replace('_', ' ')}: EDNN "
            f"{energies['ednn_eV_per_atom']:.3f}, Tersoff "
            f"{energies['tersoff_eV_per_atom']:.3f} eV/atom"
        )
    print(f"total {total_minutes:.1f} min")

    result = {
        "quick": quick,
        "model": path.name,
        "temperature_K": TEMPERATURE,
        "n_steps": n_steps,
        "max_step_A": MAX_STEP,
        "rdf_r": r.tolist(),
        "rdf_ednn": ednn_rdf.tolist(),
        "rdf_tersoff": tersoff_rdf.tolist(),
        "peaks_ednn_A": ednn_peaks,
        "peaks_tersoff_A": tersoff_peaks,
        "peak_shift_bins": peak_shift_bins,
        "rdf_l1_A": l1,
        "acceptance": {"ednn": ednn_run.acceptance, "tersoff": tersoff_run.acceptance},
        "seconds_per_step_run": {
            "ednn_local": ednn_run.seconds_per_step,
            "tersoff": tersoff_run.seconds_per_step,
        },
        "seconds_per_step_local": {str(n): t for n, t in local.items()},
        "seconds_per_step_full": {str(n): t for n, t in full.items()},
        "local_speedup": {"atoms": big, "full_over_local": speedup},
        "forces": forces,
        "sample_energies": sampled,
        "total_minutes": total_minutes,
        "paper_seconds_per_step": PAPER_SECONDS_PER_STEP,
        "target": TARGET,
    }
    json_path = save_json(name, result, args)

    print(f"saved {json_path} and {save_figure(plot_result(result), name)}")


if __name__ == "__main__":
    main()
