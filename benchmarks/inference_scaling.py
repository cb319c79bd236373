"""Inference scaling: time per tile against grid size, and parallel speed-up.

Fits the default EDNN (f=1, c=1) briefly on 8x8 Ising lattices, then predicts
single lattices of growing side L. Prints one table and saves JSON
(``results/inference_scaling/inference_scaling.json``, ``inference_scaling_quick``
with ``--quick``):

* time per tile at each L relative to the smallest L (1.0 means exactly linear
  time in the number of tiles);
* the same prediction with ``n_jobs=2`` (one thread per worker) against
  ``n_jobs=1`` with one thread (parallel scaling) and with torch's own threads
  (what a user gets without ``n_jobs``);
* the tile network's throughput against a large float64 matrix multiply on the
  same machine, as a yardstick.

Usage: ``python benchmarks/inference_scaling.py [--quick]``.
"""

import time

import torch
from _common import make_parser, save_json
from threadpoolctl import threadpool_limits

from sklearn_ednn import EDNNRegressor, make_tile_net
from sklearn_ednn.datasets import make_ising


def best_time(func, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(n=2048, repeat=3):
    a = torch.randn(n, n, dtype=torch.float64)
    seconds = best_time(lambda: a @ a, repeat)
    return 2 * n**3 / seconds / 1e9


def main():
    args = make_parser(__doc__).parse_args()
    sizes = [32, 64, 128, 256] if args.quick else [64, 128, 256, 512, 1024, 2048]
    repeat = 2 if args.quick else 3

    threads = torch.get_num_threads()
    X, y = make_ising(2000, size=8, random_state=0)
    model = EDNNRegressor(make_tile_net(max_epochs=3), random_state=0).fit(X, y)

    rows = []
    for size in sizes:
        grid, _ = make_ising(1, size=size, n_sweeps=5, random_state=1)
        serial = best_time(lambda g=grid: model.set_params(n_jobs=1).predict(g), repeat)
        with threadpool_limits(limits=1):
            torch.set_num_threads(1)
            one_thread = best_time(
                lambda g=grid: model.set_params(n_jobs=1).predict(g), repeat
            )
            torch.set_num_threads(threads)
        parallel = best_time(
            lambda g=grid: model.set_params(n_jobs=2).predict(g), repeat
        )
        rows.append(
            {
                "L": size,
                "tiles": size * size,
                "serial_s": serial,
                "ns_per_tile": 1e9 * serial / size**2,
                "one_thread_s": one_thread,
                "parallel_s": parallel,
                "n_jobs_2_vs_one_thread": one_thread / parallel,
                "n_jobs_2_vs_serial": serial / parallel,
            }
        )
    reference = rows[0]["ns_per_tile"]
    for row in rows:
        row["per_tile_vs_smallest"] = row["ns_per_tile"] / reference

    gflops = matmul_gflops()
    tile_flops = sum(
        2 * p.numel()
        for p in model.estimator_.module_.tile_module.parameters()
        if p.ndim == 2
    )
    largest = rows[-1]
    net_gflops = tile_flops * largest["tiles"] / largest["serial_s"] / 1e9

    print(
        f"{'L':>6} {'tiles':>9} {'serial s':>9} {'ns/tile':>8} {'vs smallest':>11} "
        f"{'1-thread s':>10} {'n_jobs=2 s':>10} {'vs 1-thr':>8} {'vs serial':>9}"
    )
    for row in rows:
        print(
            f"{row['L']:>6} {row['tiles']:>9} {row['serial_s']:>9.4f} "
            f"{row['ns_per_tile']:>8.1f} {row['per_tile_vs_smallest']:>11.2f} "
            f"{row['one_thread_s']:>10.4f} {row['parallel_s']:>10.4f} "
            f"{row['n_jobs_2_vs_one_thread']:>8.2f} {row['n_jobs_2_vs_serial']:>9.2f}"
        )
    print(
        f"tile network at L={largest['L']}: {net_gflops:.2f} GFLOP/s, "
        f"{net_gflops / gflops:.2f} of a 2048^3 float64 matmul ({gflops:.1f} GFLOP/s)"
    )

    name = "inference_scaling_quick" if args.quick else "inference_scaling"
    result = {
        "rows": rows,
        "matmul_gflops": gflops,
        "tile_net_gflops": net_gflops,
        "tile_net_vs_matmul": net_gflops / gflops,
        "quick": args.quick,
        "torch_threads": torch.get_num_threads(),
    }
    print(f"saved {save_json(name, result, args)}")


if __name__ == "__main__":
    main()
