"""How many worker threads to use: one place for the default of every parallel stage."""

from __future__ import annotations

import os


def default_threads(threads: int | None = None, n_tasks: int | None = None) -> int:
    """``threads`` if given, else the cores this process may run on; at least 1, at most ``n_tasks``."""
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = max(1, int(threads))
    return threads if n_tasks is None else max(1, min(threads, n_tasks))


#: Query points from which a k-d tree query (scipy's ``cKDTree.query``) runs on several threads: below,
#: starting them costs about what they save. benchmarks/bench_queries.py on 2 cores, 3D points: 1000
#: queries of a 1000-point tree 0.57 ms on one thread, 0.71 ms on two; 4096 of a 4096-point tree 2.89 ->
#: 1.91 ms (2.93 -> 2.61 ms in another run); 16,384 of a 20,000-point tree 14.4 -> 9.3 ms.
QUERY_THREADS_FROM = 8192


def query_workers(n_queries: int) -> int:
    """``workers`` for a k-d tree query of ``n_queries`` points: :func:`default_threads` from :data:`QUERY_THREADS_FROM` on, else 1.

    Each point's nearest neighbours are found on its own, so the answer is the same on any
    number of threads.
    """
    return default_threads() if n_queries >= QUERY_THREADS_FROM else 1
