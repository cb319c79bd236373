"""Scale: throughput, linear time, memory, parallel and distributed, 35.2 M atoms.

One run, one table per part, JSON (``results/scaling/scaling.json``,
``scaling_quick`` with ``--quick``) and a log-log plot (``scaling.png``):

(a) tile-network FLOP rate against a float32 matrix multiply measured in the
    same run, in float32 (the default ``inference_dtype``) and float64: the
    default Ising tile MLP (on the whole lattice, its first
    layer a convolution, as ``predict`` runs it, and on tiles cut in numpy),
    the atoms recipe's ``TileCNN`` (tiled) and a ``TileFCN`` scored fully
    convolutionally and the same network tile by tile, with their FLOPs per
    pixel and their agreement;
(b) time per site of the Ising EDNN from 256^2 to 32768^2 lattices, the
    largest read from an int8 memory map in a separate process;
(c) that process's peak resident memory;
(d) ``n_jobs=2`` against ``n_jobs=1`` (one thread) and ``n_jobs=None``
    (torch's own threads), in float32 and float64, beside the ceiling: a
    matrix multiply on all threads against one;
(e) a ``dask.distributed.LocalCluster`` of two workers against joblib, and
    its result against the serial one;
(f) the headline: an EDNN with a fully convolutional tile network, trained on
    ~400-atom porous graphene cells labelled by Tersoff, predicts porous
    sheets up to the paper's 35.2 million atoms (1.0 um^2), generated,
    rendered band by band and predicted end to end in a separate process;
    wall time, peak memory, atoms per core-second against the paper's 53, and
    the EDNN's total against Tersoff's total computed band by band;
(g) the 35.2 M-atom sheet of (f) on a CUDA GPU when one is available: the
    model loaded onto it with ``load(..., device="cuda")``, its total against
    the CPU's.

Every measurement runs with glibc's allocator told to keep freed memory
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``; the script restarts
itself with them, and its children inherit them): by default a fresh process
hands the activations of every batch back to the system and faults them in
again on the next, which can double the time of a large prediction and makes
one process's timings depend on what ran in it before (the user guide's
"Prediction at scale" explains). ``--default-allocator`` measures without.

Usage: ``python benchmarks/scaling.py [--quick] [--default-allocator]``.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time

import joblib
import numpy as np
import torch
from _common import CACHE, make_parser, save_figure, save_json
from threadpoolctl import threadpool_limits
from torch.utils.flop_counter import FlopCounterMode

from sklearn_ednn import EDNNRegressor, TileCNN, TileFCN, load, make_tile_net, save
from sklearn_ednn.atoms import AtomImage, make_atoms_ednn
from sklearn_ednn.datasets import make_ising, make_porous_sheet, tersoff_energy

# Porous sheets at 8 x 14 pixels per rectangular cell (0.31 x 0.30 Angstrom),
# Gaussians of 0.3 Angstrom, focus and context 8 pixels (2.4 Angstrom).
RESOLUTION = (2.46 / 8, 2.46 * math.sqrt(3) / 14)
GAMMA = 0.3
PAPER_SHEET = (4065, 2348)  # 35.2 M atoms, 1.0 um^2
PAPER_SECONDS, PAPER_CORES = 24.7 * 60, 448
# Keep up to 64 MiB blocks in the heap and up to 256 MiB free at its top.
ALLOCATOR = {
    "MALLOC_MMAP_THRESHOLD_": str(64 * 2**20),
    "MALLOC_TRIM_THRESHOLD_": str(256 * 2**20),
}


def best_time(func, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def gemm_gflops(dtype, n=4096):
    a = torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / best_time(lambda: a @ a) / 1e9


def count_flops(func):
    """FLOPs of the matrix products and convolutions ``func`` runs in torch."""
    with FlopCounterMode(display=False) as counter:
        func()
    return counter.get_total_flops()


class PeakMemory:
    """Peak resident and anonymous memory of this process, sampled in a thread."""

    def __init__(self, interval=0.02):
        self.interval, self.peak = interval, {"RssAnon": 0, "VmRSS": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        with open("/proc/self/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in self.peak:
                    self.peak[key] = max(self.peak[key], int(value.split()[0]) * 1024)

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def gib(self):
        return {f"peak_{k}_GiB": v / 2**30 for k, v in self.peak.items()}


# -- child processes: the largest runs, each measured alone ----------------------


def child_ising(model_path, lattice_path, size):
    model = joblib.load(model_path)
    lattice = np.memmap(lattice_path, dtype=np.int8, mode="r", shape=(1, size, size))
    with PeakMemory() as memory:
        start = time.perf_counter()
        energy = model.predict(lattice)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "energy": float(energy[0]), **memory.gib()}


def child_sheet(model_path, repeat, seed, device="cpu"):
    model = load(model_path, device=device)
    with PeakMemory() as memory:
        start = time.perf_counter()
        sheet = make_porous_sheet(repeat, random_state=seed)
        generated = time.perf_counter()
        energy = model.predict([sheet])
        seconds = time.perf_counter() - start
    return {
        "device": device,
        "n_atoms": len(sheet.positions),
        "area_um2": float(np.prod(sheet.cell.diagonal()[:2]) / 1e8),
        "generate_s": generated - start,
        "predict_s": seconds - (generated - start),
        "seconds": seconds,
        "energy": float(energy[0]),
        **memory.gib(),
    }


def run_child(*args):
    """Run this script's ``--child`` part in a fresh process; its JSON result."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- (a) throughput ----------------------------------------------------------------


def fcn_against_tiles(f, c, size, dtype):
    """A TileFCN on a padded grid against the same network on its tiles."""
    torch.manual_seed(0)
    net = TileFCN(tile_shape=(f + 2 * c,) * 2, focus=(f, f), n_channels=3)
    net = net.to(dtype).eval()
    padded = torch.randn(1, 3, size + 2 * c, size + 2 * c, dtype=dtype)
    width = f + 2 * c
    tiles = padded.unfold(2, width, f).unfold(3, width, f)  # (1, 3, T, T, w, w)
    tiles = tiles.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, width, width).contiguous()
    with torch.inference_mode():
        whole = net(padded).reshape(-1)
        tiled = torch.cat([net(part) for part in tiles.split(4096)]).reshape(-1)
        full_flops = count_flops(lambda: net(padded))
        tile_flops = count_flops(lambda: [net(part) for part in tiles.split(4096)])
        full_s = best_time(lambda: net(padded))
        tile_s = best_time(lambda: [net(part) for part in tiles.split(4096)], 2)
    error = (whole - tiled).abs().max().item()
    return {
        "f": f,
        "c": c,
        "L": size,
        "dtype": str(dtype).replace("torch.", ""),
        "max_abs_difference": error,
        "max_relative_difference": error / whole.abs().max().item(),
        "fcn_flop_per_pixel": full_flops / size**2,
        "tiled_flop_per_pixel": tile_flops / size**2,
        "flop_ratio": tile_flops / full_flops,
        "fcn_ns_per_pixel": 1e9 * full_s / size**2,
        "tiled_ns_per_pixel": 1e9 * tile_s / size**2,
        "speedup": tile_s / full_s,
        "fcn_gflops": full_flops / full_s / 1e9,
        "tiled_gflops": tile_flops / tile_s / 1e9,
    }


def tiled_cnn(size, quick):
    """The atoms recipe's TileCNN (width 0.5, f = c = 16), tiled, in float32."""
    torch.manual_seed(0)
    net = TileCNN(tile_shape=(48, 48), n_channels=3, width=0.5).float().eval()
    n_tiles = (size // 16) ** 2
    tiles = torch.randn(min(n_tiles, 256 if quick else 1024), 3, 48, 48)
    with torch.inference_mode():
        flops = count_flops(lambda: net(tiles)) / len(tiles)
        seconds = best_time(lambda: net(tiles)) / len(tiles)
    return {
        "flop_per_pixel": flops / 256,
        "ns_per_pixel": 1e9 * seconds / 256,
        "gflops": flops / seconds / 1e9,
    }


def ising_rate(model, size, dtype):
    """FLOP rate of the Ising EDNN's tile MLP on one lattice, both ways.

    ``predict`` runs the MLP on the padded lattice in torch, block by block,
    its first layer a convolution; the same network is also run on tiles cut
    by the fitted tiling in numpy, the way any other tile model is scored.
    """
    model.set_params(inference_dtype=dtype, n_jobs=None)
    grid = np.random.default_rng(size).choice(
        np.array([-1, 1], np.int8), (1, size, size)
    )
    tiling = model.tiling_
    grids = tiling.as_grids(grid)

    def tiled(lattice=grids):
        return tiling.scores(lattice, reduce=True, scorer=tiling.scorer.__call__)

    flops = count_flops(lambda: model.predict(grid[:, :64, :64])) * (size / 64) ** 2
    repeat = 2 if size > 1024 else 3
    seconds = best_time(lambda: model.predict(grid), repeat)
    tiled_s = best_time(tiled, repeat)
    whole = tiling.scores(grids, reduce=True)[0, 0]
    difference = abs(tiled()[0, 0] - whole)
    return {
        "L": size,
        "dtype": dtype,
        "ns_per_site": 1e9 * seconds / size**2,
        "gflops": flops / seconds / 1e9,
        "tiled_ns_per_site": 1e9 * tiled_s / size**2,
        "tiled_gflops": flops / tiled_s / 1e9,
        "flop_per_site": flops / size**2,
        "fcn_vs_tiled_relative_difference": float(difference / abs(whole)),
    }


# -- (f) porous sheets -----------------------------------------------------------


def porous_model(quick):
    """The atoms recipe's TileFCN trained on porous cells; its held-out error."""
    n_train, n_test = (60, 20) if quick else (800, 200)
    cells = [make_porous_sheet(random_state=seed) for seed in range(n_train + n_test)]
    energies = np.array([tersoff_energy(cell) for cell in cells])
    n_atoms = np.array([len(cell.positions) for cell in cells])
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        AtomImage(RESOLUTION, gamma=GAMMA, species=(6,)),
        make_atoms_ednn(network="fcn", f=8, c=8, max_epochs=3 if quick else 40),
    )
    start = time.perf_counter()
    model.fit(cells[:n_train], energies[:n_train])
    fit_s = time.perf_counter() - start
    predicted = model.predict(cells[n_train:])
    error = 1000 * np.abs(predicted - energies[n_train:]) / n_atoms[n_train:]
    return model, {
        "n_train": n_train,
        "n_test": n_test,
        "mean_atoms_per_cell": float(n_atoms.mean()),
        "fit_s": fit_s,
        "held_out_mean_meV_per_atom": float(error.mean()),
        "held_out_median_meV_per_atom": float(np.median(error)),
    }


def band_tersoff(repeat, seed):
    """Tersoff total of a generated sheet, band by band (kept in the cache)."""
    path = CACHE / f"tersoff_porous_{repeat[0]}x{repeat[1]}_seed{seed}.json"
    if path.exists():
        return json.loads(path.read_text())
    start = time.perf_counter()
    sheet = make_porous_sheet(repeat, random_state=seed)
    energy = tersoff_energy(sheet, n_jobs=2)
    result = {"energy": energy, "seconds": time.perf_counter() - start}
    CACHE.mkdir(exist_ok=True)
    path.write_text(json.dumps(result))
    return result


def main():
    parser = make_parser(__doc__)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--default-allocator",
        action="store_true",
        help="measure with glibc's default allocator settings",
    )
    args = parser.parse_args()
    unset = any(os.environ.get(key) != value for key, value in ALLOCATOR.items())
    if unset and not args.default_allocator and not args.child:
        os.execve(
            sys.executable, [sys.executable, *sys.argv], {**os.environ, **ALLOCATOR}
        )
    if args.child:
        part, *rest = json.loads(args.child)
        result = {"ising": child_ising, "sheet": child_sheet}[part](*rest)
        print(json.dumps(result))
        return
    quick = args.quick
    threads = torch.get_num_threads()
    result = {"quick": quick, "torch_threads": threads, "cores": os.cpu_count()}
    result["allocator"] = {key: os.environ.get(key) for key in ALLOCATOR}

    # (a) Throughput against the same run's matrix multiplies.
    gemm32, gemm64 = gemm_gflops(torch.float32), gemm_gflops(torch.float64)
    result["gemm_gflops"] = {"float32": gemm32, "float64": gemm64}
    fcn = [fcn_against_tiles(16, 16, 256, torch.float64)]
    fcn += [
        fcn_against_tiles(f, f, 256 if quick else 512, torch.float32) for f in (8, 16)
    ]
    cnn = tiled_cnn(256, quick)
    X, y = make_ising(2000, size=8, random_state=0)
    ising = EDNNRegressor(make_tile_net(max_epochs=3), random_state=0).fit(X, y)
    rates = [
        ising_rate(ising, size, dtype)
        for size in ((256, 1024) if quick else (256, 1024, 4096))
        for dtype in ("float64", "float32")
    ]
    result["throughput"] = {"fcn_vs_tiled": fcn, "tile_cnn": cnn, "ising_mlp": rates}
    print(f"float32 GEMM {gemm32:.1f} GFLOP/s, float64 {gemm64:.1f}")
    print(f"{'network':<28} {'FLOP/px':>10} {'ns/px':>8} {'GFLOP/s':>8} {'/GEMM32':>8}")
    for row in fcn:
        name = f"TileFCN f=c={row['f']} {row['dtype']}"
        for mode in ("fcn", "tiled"):
            print(
                f"{name + ' ' + mode:<28} {row[mode + '_flop_per_pixel']:>10.0f} "
                f"{row[mode + '_ns_per_pixel']:>8.1f} {row[mode + '_gflops']:>8.1f} "
                f"{row[mode + '_gflops'] / gemm32:>8.2f}"
            )
        print(
            f"  FCN vs tiled: {row['flop_ratio']:.1f}x fewer FLOPs, "
            f"{row['speedup']:.1f}x faster, max difference "
            f"{row['max_relative_difference']:.1e} relative"
        )
    print(
        f"{'TileCNN(0.5) f=c=16 tiled':<28} {cnn['flop_per_pixel']:>10.0f} "
        f"{cnn['ns_per_pixel']:>8.1f} {cnn['gflops']:>8.1f} "
        f"{cnn['gflops'] / gemm32:>8.2f}"
    )
    for row in rates:
        for mode, prefix in (("fcn", ""), ("tiled", "tiled_")):
            name = "Ising MLP L={} {} {}".format(row["L"], row["dtype"], mode)
            print(
                f"{name:<28} {row['flop_per_site']:>10.0f} "
                f"{row[prefix + 'ns_per_site']:>8.1f} {row[prefix + 'gflops']:>8.1f} "
                f"{row[prefix + 'gflops'] / gemm32:>8.2f}"
            )

    # (b), (c) Time per site up to 32768^2, the largest from a memory map.
    ising.set_params(inference_dtype="float32", n_jobs=None)
    sizes = (256, 1024, 4096) if quick else (256, 1024, 4096, 16384, 32768)
    CACHE.mkdir(exist_ok=True)
    model_path = CACHE / "scaling_ising.joblib"
    joblib.dump(ising, model_path)
    per_site = []
    with tempfile.TemporaryDirectory(dir=CACHE) as folder:
        for size in sizes:
            rng = np.random.default_rng(size)
            if size == sizes[-1]:
                path = os.path.join(folder, "lattice.int8")
                lattice = np.memmap(path, np.int8, mode="w+", shape=(1, size, size))
                for row in range(0, size, 1024):
                    lattice[0, row : row + 1024] = rng.choice(
                        np.array([-1, 1], np.int8), (min(1024, size - row), size)
                    )
                lattice.flush()
                del lattice
                run = run_child("ising", str(model_path), path, size)
                run.update(L=size, source="int8 memmap, separate process")
            else:
                grid = rng.choice(np.array([-1, 1], np.int8), (1, size, size))
                seconds = best_time(
                    lambda g=grid: ising.predict(g), 1 if size > 4096 else 3
                )
                run = {"L": size, "seconds": seconds, "source": "in memory"}
            run["ns_per_site"] = 1e9 * run["seconds"] / size**2
            per_site.append(run)
            print(f"Ising L={size}: {run['ns_per_site']:.1f} ns per site")
    for run in per_site:
        run["per_site_vs_smallest"] = run["ns_per_site"] / per_site[0]["ns_per_site"]
    result["time_per_site"] = per_site
    spread = max(r["ns_per_site"] for r in per_site) / min(
        r["ns_per_site"] for r in per_site
    )
    largest = per_site[-1]
    print(
        f"time per site, float32, L {sizes[0]} to {sizes[-1]}: max/min {spread:.2f}; "
        f"largest run peak RSS {largest['peak_VmRSS_GiB']:.2f} GiB "
        f"(anonymous {largest['peak_RssAnon_GiB']:.2f} GiB)"
    )

    # (d) Threads on one machine, in both precisions; (e) a dask cluster, in
    # float64, where its result must equal the serial one to 1e-9.
    size = 1024 if quick else 2048
    grid = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (1, size, size))
    parallel = {"L": size}
    for dtype in ("float32", "float64"):
        ising.set_params(inference_dtype=dtype)
        times = {
            name: best_time(
                lambda n=n_jobs: ising.set_params(n_jobs=n).predict(grid), 2
            )
            for name, n_jobs in (
                ("one_thread", 1),
                ("torch_threads", None),
                ("n_jobs_2", 2),
            )
        }
        with threadpool_limits(limits=1):
            torch.set_num_threads(1)
            gemm_one = gemm_gflops(getattr(torch, dtype))
            torch.set_num_threads(threads)
        parallel[dtype] = {
            **{f"{name}_s": seconds for name, seconds in times.items()},
            "n_jobs_2_vs_one_thread": times["one_thread"] / times["n_jobs_2"],
            "n_jobs_2_vs_torch_threads": times["torch_threads"] / times["n_jobs_2"],
            "gemm_all_threads_vs_one": result["gemm_gflops"][dtype] / gemm_one,
        }
    ising.set_params(inference_dtype="float64")
    serial = ising.set_params(n_jobs=None).predict(grid)
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        lazy = da.from_array(grid, chunks=(1, size // 4, size))
        distributed = ising.predict(lazy).compute()
        dask_s = best_time(lambda: ising.predict(lazy).compute(), 2)
    parallel["dask"] = {
        "dtype": "float64",
        "dask_2_workers_s": dask_s,
        "dask_vs_n_jobs_2": parallel["float64"]["n_jobs_2_s"] / dask_s,
        "dask_relative_difference": float(
            abs(distributed[0] - serial[0]) / abs(serial[0])
        ),
    }
    result["parallel"] = parallel
    for dtype in ("float32", "float64"):
        row = parallel[dtype]
        print(
            f"L={size} {dtype}: n_jobs=1 (one thread) {row['one_thread_s']:.2f} s, "
            f"n_jobs=None (torch's {threads} threads) {row['torch_threads_s']:.2f} s, "
            f"n_jobs=2 {row['n_jobs_2_s']:.2f} s: {row['n_jobs_2_vs_one_thread']:.2f}x "
            f"one thread, {row['n_jobs_2_vs_torch_threads']:.2f}x torch's threads; "
            f"GEMM {threads} threads vs one {row['gemm_all_threads_vs_one']:.2f}x"
        )
    print(
        f"dask 2 workers, float64: {dask_s:.2f} s "
        f"({parallel['dask']['dask_vs_n_jobs_2']:.2f}x n_jobs=2), result vs serial "
        f"{parallel['dask']['dask_relative_difference']:.1e} relative"
    )

    # (f) Porous sheets up to the paper's 35.2 M atoms.
    model, training = porous_model(quick)
    model.set_params(atomimage__lazy=True)  # predicted in float32, the default
    sheet_path = save(model, CACHE / "scaling_porous.ednn")
    repeats = (
        [(40, 24), (400, 232)]
        if quick
        else [(40, 24), (400, 232), (1280, 740), PAPER_SHEET]
    )
    sheets = []
    for repeat in repeats:
        run = run_child("sheet", str(sheet_path), list(repeat), 0)
        truth = band_tersoff(repeat, 0)
        error = 1000 * abs(run["energy"] - truth["energy"]) / run["n_atoms"]
        run.update(
            repeat=list(repeat),
            tersoff_energy=truth["energy"],
            tersoff_s=truth["seconds"],
            error_meV_per_atom=error,
            error_vs_held_out=error / training["held_out_mean_meV_per_atom"],
            atoms_per_core_second=run["n_atoms"] / run["seconds"] / os.cpu_count(),
            us_per_atom=1e6 * run["seconds"] / run["n_atoms"],
        )
        sheets.append(run)
        print(
            f"sheet {run['n_atoms']:>10,} atoms ({run['area_um2']:.4f} um^2): "
            f"{run['seconds']:7.1f} s ({run['generate_s']:.1f} s generating), "
            f"{run['atoms_per_core_second']:,.0f} atoms/core-s, peak RSS "
            f"{run['peak_VmRSS_GiB']:.2f} GiB; EDNN - Tersoff {error:.2f} meV/atom "
            f"({run['error_vs_held_out']:.2f}x the held-out error)"
        )
    result["porous_training"] = training
    result["porous_sheets"] = sheets
    result["paper_atoms_per_core_second"] = 35.2e6 / PAPER_SECONDS / PAPER_CORES
    print(
        f"trained on {training['n_train']} cells in {training['fit_s']:.0f} s; "
        f"held-out "
        f"{training['held_out_mean_meV_per_atom']:.2f} meV/atom; the paper: "
        f"{result['paper_atoms_per_core_second']:.0f} atoms/core-s"
    )
    # (g) The paper's sheet on a GPU, when there is one.
    result["gpu"] = None
    if torch.cuda.is_available():
        gpu = run_child("sheet", str(sheet_path), list(PAPER_SHEET), 0, "cuda")
        cpu = sheets[-1]
        gpu.update(
            name=torch.cuda.get_device_name(),
            vs_cpu_relative_difference=abs(gpu["energy"] - cpu["energy"])
            / abs(cpu["energy"]),
            speedup_vs_cpu=cpu["seconds"] / gpu["seconds"],
        )
        result["gpu"] = gpu
        print(
            f"GPU ({gpu['name']}): sheet of {gpu['n_atoms']:,} atoms in "
            f"{gpu['seconds']:.1f} s ({gpu['speedup_vs_cpu']:.1f}x the CPU), total "
            f"{gpu['vs_cpu_relative_difference']:.1e} relative from the CPU's"
        )

    name = "scaling_quick" if quick else "scaling"
    plot(result, name)
    print(f"saved {save_json(name, result, args)}")


def plot(result, name):
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    runs = result["time_per_site"]
    sites = np.array([r["L"] ** 2 for r in runs], dtype=float)
    seconds = np.array([r["seconds"] for r in runs])
    left.loglog(sites, seconds, "o-", label="Ising EDNN, float32")
    left.loglog(sites, seconds[0] * sites / sites[0], "k:", label="linear")
    left.set(xlabel="lattice sites", ylabel="prediction time (s)", title="Ising")
    left.legend()
    sheets = result["porous_sheets"]
    atoms = np.array([s["n_atoms"] for s in sheets], dtype=float)
    seconds = np.array([s["seconds"] for s in sheets])
    right.loglog(atoms, seconds, "o-", label="EDNN, 2 cores, end to end")
    right.loglog(atoms, seconds[-1] * atoms / atoms[-1], "k:", label="linear")
    right.loglog(
        [35.2e6], [PAPER_SECONDS], "r*", ms=12, label="Mills et al., 448 cores"
    )
    right.set(xlabel="atoms", ylabel="time (s)", title="Porous graphene")
    right.legend()
    fig.tight_layout()
    save_figure(fig, name)


if __name__ == "__main__":
    main()
