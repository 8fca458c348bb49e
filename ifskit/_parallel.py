"""How many worker threads to use: one place for the default of every parallel stage."""

from __future__ import annotations

import os


def default_threads(threads: int | None = None, n_tasks: int | None = None) -> int:
    """``threads`` if given, else the cores this process may run on; at least 1, at most ``n_tasks``."""
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = max(1, int(threads))
    return threads if n_tasks is None else max(1, min(threads, n_tasks))
