"""The Ising phase transition from EDNN-driven Monte Carlo, beside the exact energy.

An EDNN (the default tile network, f=1, c=1) fitted on 8x8 lattices drives
single-flip Metropolis with replica exchange on L x L lattices near Tc; the same
sampler runs with the exact nearest-neighbour energy. For each pair of sizes the
critical temperature is read from the crossing of the Binder cumulants, with a
bootstrap error bar over replicas. Also measured: EDNN-driven flips per second at
L = 64 (local re-evaluation, with and without memoised tile scores) against full
re-evaluation of the lattice for every flip.

Prints one table, saves ``results/ising_phase/ising_phase.json`` and
``results/ising_phase/ising_phase.png`` (``ising_phase_quick.*`` with ``--quick``).

Usage: ``python benchmarks/ising_phase.py [--quick] [--model model.joblib]
[--replot]``; ``--replot`` draws the figure again from the saved JSON, without
running.
"""

import time

import joblib
import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _common import load_json, make_parser, save_figure, save_json

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import CRITICAL_TEMPERATURE, make_ising
from sklearn_ednn.montecarlo import (
    EDNNEnergy,
    ExactIsingEnergy,
    binder_crossing,
    ising_metropolis,
    ising_observables,
)


def fit_model(quick):
    """The default tile network on 8x8 lattices (or load one with --model)."""
    X, y = make_ising(4000 if quick else 20000, size=8, random_state=0)
    net = make_tile_net(max_epochs=10 if quick else 40)
    return EDNNRegressor(net, f=1, c=1, random_state=0).fit(X, y)


def flip_rates(model, size=64, n_chains=8, sweeps=2):
    """Attempted flips per second at L=size: local (memo off/on) and full."""
    energies = {
        "local": EDNNEnergy(model, memoize=False),
        "local_memoised": EDNNEnergy(model, memoize=True),
        "exact_energy": ExactIsingEnergy(),
    }
    rates = {}
    for name, energy in energies.items():
        run = ising_metropolis(
            energy,
            np.full(n_chains, 2.3),
            size=size,
            n_replicas=1,
            n_sweeps=sweeps,
            n_burn_in=0,
            random_state=0,
        )
        rates[name] = run.flips_per_second
    # Full re-evaluation: one whole-lattice prediction per attempted flip.
    lattices = make_ising(n_chains, size=size, n_sweeps=5, random_state=1)[0]
    start = time.perf_counter()
    repeats = 5
    for _ in range(repeats):
        model.predict(lattices)
    rates["full"] = repeats * n_chains / (time.perf_counter() - start)
    return rates


def plot_result(result):
    """Binder cumulant, magnetisation and heat capacity against T, per size.

    One colour per lattice size, solid for the exact energy and dashed for the
    EDNN; the Binder panel notes the crossing temperatures and Onsager's Tc.
    """
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, size in enumerate(result["sizes"]):
        for energy, style in (("exact", "-"), ("ednn", "--")):
            obs = result["curves"][f"L={size} {energy}"]
            label = f"L = {size}, " + ("exact energy" if energy == "exact" else "EDNN")
            for ax, key in zip(axes, ("binder", "abs_magnetisation", "heat_capacity")):
                ax.errorbar(
                    obs["temperatures"],
                    obs[key],
                    yerr=obs[key + "_error"],
                    fmt="o" + style,
                    color=colours[i % len(colours)],
                    ms=3,
                    capsize=2,
                    label=label,
                )
    ylabels = (
        "Binder cumulant $U_L$",
        r"$\langle |m| \rangle$ per spin",
        "heat capacity per spin ($k_B$)",
    )
    for ax, ylabel in zip(axes, ylabels):
        ax.axvline(
            result["onsager_tc"], color="k", lw=0.6, ls=":", label="Onsager $T_c$"
        )
        ax.set(xlabel="$T$ ($J/k_B$)", ylabel=ylabel)
    crossing = result["crossings"][-1]
    sizes = "/".join(str(size) for size in crossing["sizes"])
    note = "\n".join(
        f"{name}: $T_c$ = {crossing[key]['tc']:.4f} $\\pm$ {crossing[key]['error']:.4f}"
        for name, key in (("exact", "exact"), ("EDNN", "ednn"))
    )
    axes[0].text(
        0.03,
        0.05,
        f"Binder crossing {sizes}\n{note}",
        transform=axes[0].transAxes,
        fontsize=8,
    )
    axes[1].legend(fontsize=7)
    return fig


def main():
    parser = make_parser(__doc__, replot=True)
    parser.add_argument("--model", help="joblib file of a fitted EDNNRegressor")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    args = parser.parse_args()
    if args.replot:
        name = "ising_phase_quick" if args.quick else "ising_phase"
        print(f"saved {save_figure(plot_result(load_json(name)), name)}")
        return
    sizes = args.sizes or ([8, 16] if args.quick else [16, 32])
    temperatures = np.linspace(2.15, 2.40, 6 if args.quick else 11)
    n_replicas = 8 if args.quick else 16
    n_sweeps = 300 if args.quick else 3000
    n_burn_in = 100 if args.quick else 500

    start = time.perf_counter()
    model = joblib.load(args.model) if args.model else fit_model(args.quick)
    fit_seconds = time.perf_counter() - start
    model.set_params(inference_dtype="float32")
    torch.set_num_threads(2)

    runs, table, curves = {}, [], {}
    for size in sizes:
        initial = make_ising(
            len(temperatures) * n_replicas,
            size=size,
            temperature=np.repeat(temperatures, n_replicas),
            n_sweeps=50,
            algorithm="swendsen-wang",
            random_state=size,
        )[0]
        for driver in ("exact", "ednn"):
            energy = ExactIsingEnergy() if driver == "exact" else EDNNEnergy(model)
            tic = time.perf_counter()
            run = ising_metropolis(
                energy,
                temperatures,
                size=size,
                n_replicas=n_replicas,
                n_sweeps=n_sweeps,
                n_burn_in=n_burn_in,
                initial=initial,
                exchange_every=1,
                random_state=100 + size,
            )
            seconds = time.perf_counter() - tic
            runs[size, driver] = run
            obs = ising_observables(run)
            curves[f"L={size} {driver}"] = {
                k: np.asarray(v).tolist() for k, v in obs.items()
            }
            print(
                f"L={size:>3} {driver:>5}: {seconds:7.1f} s, "
                f"{run.flips_per_second:,.0f} flips/s, acceptance "
                f"{run.acceptance:.2f}, exchange {run.exchange_acceptance:.2f}",
                flush=True,
            )
    for small, large in zip(sizes[:-1], sizes[1:]):
        row = {"sizes": [small, large]}
        for driver in ("exact", "ednn"):
            tc, error = binder_crossing(
                runs[small, driver], runs[large, driver], random_state=0
            )
            row[driver] = {
                "tc": tc,
                "error": error,
                "relative_to_onsager": tc / CRITICAL_TEMPERATURE - 1,
            }
        row["ednn_vs_exact"] = row["ednn"]["tc"] / row["exact"]["tc"] - 1
        table.append(row)

    rates = flip_rates(model)
    total = time.perf_counter() - start

    print(f"\nTc (Onsager) = {CRITICAL_TEMPERATURE:.4f}")
    print(
        f"{'sizes':>9} {'exact Tc':>16} {'EDNN Tc':>16} {'EDNN vs Onsager':>16} "
        f"{'EDNN vs exact':>14}   target: within 1% and 0.5%"
    )
    for row in table:
        e, n = row["exact"], row["ednn"]
        print(
            f"{row['sizes'][0]:>4}/{row['sizes'][1]:<4} "
            f"{e['tc']:>9.4f}+-{e['error']:.4f} {n['tc']:>9.4f}+-{n['error']:.4f} "
            f"{100 * n['relative_to_onsager']:>15.2f}% "
            f"{100 * row['ednn_vs_exact']:>13.2f}%"
        )
    print("\nflips attempted per second at L=64 (target >= 100000 and >= 20x full):")
    print(f"  EDNN, local re-evaluation           {rates['local']:>12,.0f}")
    print(f"  EDNN, local + memoised tile scores  {rates['local_memoised']:>12,.0f}")
    print(f"  EDNN, full re-evaluation per flip   {rates['full']:>12,.0f}")
    print(f"  exact energy (same sampler)         {rates['exact_energy']:>12,.0f}")
    print(
        f"  local / full: {rates['local'] / rates['full']:.0f}x, "
        f"memoised / full: {rates['local_memoised'] / rates['full']:.0f}x"
    )
    print(f"whole study: {total / 60:.1f} min (model {fit_seconds / 60:.1f} min)")

    run_name = "ising_phase_quick" if args.quick else "ising_phase"
    result = {
        "quick": args.quick,
        "sizes": sizes,
        "temperatures": temperatures.tolist(),
        "n_replicas": n_replicas,
        "n_sweeps": n_sweeps,
        "n_burn_in": n_burn_in,
        "crossings": table,
        "flip_rates_L64": rates,
        "curves": curves,
        "study_minutes": total / 60,
        "model_fit_minutes": fit_seconds / 60,
        "onsager_tc": CRITICAL_TEMPERATURE,
    }
    json_path = save_json(run_name, result, args)

    print(f"saved {json_path} and {save_figure(plot_result(result), run_name)}")


if __name__ == "__main__":
    main()
