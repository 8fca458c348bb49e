"""k-d tree queries on one thread and on every core, measured in the same run: where ``query_workers`` switches.

Run from the repository root:  .venv/bin/python benchmarks/bench_queries.py

The fitter looks up its collage's points in the cloud's k-d tree at every optimizer step, and scores
candidate maps by the same queries (:mod:`ifskit.ops.knn`, :mod:`ifskit.fitting.starts`). scipy's
``cKDTree.query`` runs on ``workers`` threads; :func:`ifskit._parallel.query_workers` asks for every core
from :data:`~ifskit._parallel.QUERY_THREADS_FROM` query points on. This prints the best of 20 runs of
each size, 3D normal points, trees built as the fitter builds them (unbalanced, uncompacted).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.spatial import cKDTree

from ifskit._parallel import QUERY_THREADS_FROM, default_threads

# (tree points, query points): a small cloud, the fitter's 4096-point clouds against a collage of 16 maps'
# images of 1024 points, its largest clouds
SIZES = ((1000, 1000), (4096, 4096), (4096, 16384), (20_000, 16384), (20_000, 20_000))


def best_time(tree: cKDTree, queries: np.ndarray, workers: int, repeats: int = 20) -> float:
    """Best seconds of ``repeats`` nearest-neighbour queries of ``queries`` in ``tree`` on ``workers`` threads."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tree.query(queries, k=1, workers=workers)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    threads = default_threads()
    rng = np.random.default_rng(0)
    print(f"{threads} threads; query_workers uses them from {QUERY_THREADS_FROM} query points")
    print("| tree points | query points | 1 thread (ms) | every core (ms) | ratio |")
    print("|---:|---:|---:|---:|---:|")
    for n_tree, n_query in SIZES:
        tree = cKDTree(rng.normal(size=(n_tree, 3)), balanced_tree=False, compact_nodes=False)
        queries = rng.normal(size=(n_query, 3))
        one, every = best_time(tree, queries, 1), best_time(tree, queries, threads)
        print(f"| {n_tree} | {n_query} | {one * 1e3:.2f} | {every * 1e3:.2f} | {one / every:.2f}x |")


if __name__ == "__main__":
    main()
