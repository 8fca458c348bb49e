"""Scale-out on a Dask cluster: chaos-game densities and sharded datasets spread over workers.

A density render is already cut into a fixed number of chunks, each with its own
random stream derived from ``(seed, chunk index)`` (:mod:`ifskit.render.chaos`).
Here each Dask task bins a contiguous range of those chunks into a raster, and the
partial rasters are summed pairwise on the workers as they finish (a reduction
tree: the client holds futures, never a raster per task, and only the final sum
travels to it). Integer sums do not depend on the order, so the result is
byte-identical to the single-process render with the same seed, whatever the
number of workers.

Use :func:`connect` for a cluster (``"local:N"`` starts one on this machine, on
127.0.0.1 only; ``"tcp://HOST:PORT"`` joins a running scheduler), then pass its
client to :func:`ifskit.density` or :func:`ifskit.aggregate`::

    with ifskit.distributed.connect("local:2") as client:
        counts = ifskit.density(fern, size=4096, n_points=10**10, client=client)
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import zipfile
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._io import atomic_path, write_text
from .errors import FormatError, IfskitError, ParameterError
from .neural.dataset import make_sample
from .render.aggregate import add_totals, register_backend

# A task bins at most this many chunks (2^31 points: about half a minute on one
# core), so that long renders still give a progress bar that moves.
_MAX_CHUNKS_PER_TASK = 2048
# Tasks per worker thread: enough for the load to even out when workers differ in
# speed, few enough that the rasters per task (8 bytes a pixel) stay cheap.
_TASKS_PER_THREAD = 4
# Seconds to wait for a remote scheduler before giving up.
CONNECT_TIMEOUT = 10


def parse_scheduler(spec: str) -> tuple[str, int | str]:
    """Read a scheduler spec: ``"local:N"`` or ``"tcp://HOST:PORT"``.

    Returns
    -------
    ("local", N) or ("tcp", address)

    Raises
    ------
    FormatError
        Anything else.
    """
    local = re.fullmatch(r"local:(\d+)", spec.strip())
    if local:
        n_workers = int(local.group(1))
        if not 1 <= n_workers <= 1024:
            raise ParameterError(f"spec local:N needs 1 <= N <= 1024 workers, got {spec!r}", "spec")
        return "local", n_workers
    if re.fullmatch(r"tcp://[^\s/:]+:\d{1,5}", spec.strip()):
        return "tcp", spec.strip()
    raise ParameterError(f"spec must be local:N (N worker processes here) or tcp://HOST:PORT, got {spec!r}", "spec")


@contextlib.contextmanager
def connect(spec: str, timeout: float = CONNECT_TIMEOUT):
    """A Dask client for the scheduler ``spec``, closed (with its local cluster) on exit.

    Parameters
    ----------
    spec : str
        ``"local:N"``: start N worker processes of one thread each on this machine,
        listening on 127.0.0.1 only (no dashboard). ``"tcp://HOST:PORT"``: connect to
        a running ``dask scheduler``; its workers need ifskit installed.
    timeout : float
        Seconds to wait for a remote scheduler.

    Yields
    ------
    dask.distributed.Client
    """
    kind, value = parse_scheduler(spec)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise IfskitError("a Dask cluster needs Dask: pip install 'ifskit[distributed]'") from None
    if kind == "local":
        cluster = LocalCluster(
            n_workers=value, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.CRITICAL,  # failures are reported by the caller
        )  # fmt: skip
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(value, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise IfskitError(f"cannot reach the Dask scheduler at {value}: {exc}") from None
    with client:
        yield client


def chunk_ranges(n_chunks: int, n_threads: int) -> list[tuple[int, int]]:
    """Split chunks ``0 .. n_chunks - 1`` into contiguous ``(first, last)`` ranges, one per task.

    About :data:`_TASKS_PER_THREAD` tasks per worker thread, more for very long renders
    (at most :data:`_MAX_CHUNKS_PER_TASK` chunks each), never more tasks than chunks.
    """
    n_tasks = max(_TASKS_PER_THREAD * n_threads, -(-n_chunks // _MAX_CHUNKS_PER_TASK))
    n_tasks = max(1, min(n_tasks, n_chunks))
    bounds = [n_chunks * t // n_tasks for t in range(n_tasks + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def bin_on_cluster(job, client, bar=None):
    """Bin all chunks of a density job on the workers of ``client``; what ``aggregate(client=)`` runs.

    Parameters
    ----------
    job : ifskit.render.aggregate.DensityJob
    client : dask.distributed.Client
    bar : tqdm, optional
        Advanced as the render tasks finish; closed at the end.

    Returns
    -------
    Totals
        Counts (H, W) uint64, depth (H, W) uint16 or None, colour sums (H, W, 3)
        uint64 or None: identical to ``job.bin_chunks(0, job.n_chunks)``.
    """
    from dask.distributed import as_completed

    try:
        n_threads = sum(client.nthreads().values())
        if n_threads == 0:
            raise IfskitError(f"the Dask cluster at {client.scheduler.address} has no workers")
        points_of = {}
        finished = as_completed()
        for first, last in chunk_ranges(job.n_chunks, n_threads):
            # pure=False: add_totals sums into its first argument, so no task may share a key
            # (and a result) with a render of the same job still held by the scheduler
            render = client.submit(_bin_range, job, first, last, pure=False)
            points_of[render.key] = job.chunk_points(first, last)
            finished.add(render)
        # only `finished` and `waiting` hold futures: a partial raster is freed on its worker
        # as soon as it is summed into another, and only the final one comes here
        del render
        waiting = None
        for future in finished:
            if future.status == "error":
                raise IfskitError(f"a render task failed on the Dask cluster: {_describe(future.exception())}")
            if bar is not None and future.key in points_of:  # a render, not a sum
                bar.update(points_of.pop(future.key))
            if waiting is None:
                waiting = future
            else:
                # priority: a worker sums two rasters before it starts another render, so
                # few partial rasters wait in the workers' memory at any time
                finished.add(client.submit(add_totals, waiting, future, pure=False, priority=1))
                waiting = None
        return waiting.result()
    finally:
        if bar is not None:
            bar.close()


def _describe(error: BaseException) -> str:
    """A worker's exception in one line, with a hint when the worker lacks ifskit."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, ImportError):
        text += " (every Dask worker needs ifskit and its dependencies installed)"
    return text


def _bin_range(job, first: int, last: int):
    """One task: chunks ``first .. last - 1`` on one thread (a worker runs one task per thread)."""
    return job.bin_chunks(first, last, threads=1)


register_backend("client", bin_on_cluster)


# ---- sharded datasets ---------------------------------------------------------------------------
#: Name of the file that describes a sharded dataset, beside its shards.
MANIFEST = "manifest.json"
# Fixed zip member time, so that the same shard is the same bytes whenever it is written.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def shard_path(folder, shard: int) -> Path:
    """File of shard number ``shard`` in ``folder``: ``shard_000042.npz``."""
    return Path(folder) / f"shard_{shard:06d}.npz"


def write_shards(
    folder,
    count: int,
    shard_size: int = 1000,
    seed: int = 0,
    maps: tuple[int, int] = (2, 4),
    n_points: int = 2048,
    dim: int = 2,
    *,
    client=None,
    progress: bool = False,
) -> dict:
    """Write a dataset of random IFS as shards of many samples, one Dask task per shard (resumable).

    Sample ``i`` is :func:`ifskit.neural.dataset.make_sample` ``(i, seed, ...)``, a pure
    function, and shard ``s`` holds samples ``s * shard_size`` to ``(s + 1) * shard_size - 1``,
    so every shard has the same content (the same bytes) whatever the number of workers
    or the order they run in. Each shard is written atomically: a shard file is complete
    or absent. A rerun skips the shards that exist, so a run stopped or failing part
    way (a worker killed, a shard that could not be written) loses no finished shard
    and duplicates no sample.

    Each shard ``shard_NNNNNN.npz`` holds, for its ``n`` samples:

    - ``index`` (n,) int64: sample numbers;
    - ``points`` (n, n_points, dim) float32: the chaos-game clouds;
    - ``n_maps`` (n,) int64; ``A`` (n, K, dim, dim), ``b`` (n, K, dim), ``p`` (n, K) float64:
      the IFS, zero-padded to ``K = maps[1]`` maps (rows past ``n_maps`` are padding).

    ``manifest.json`` records the settings; resuming into a folder made with other
    settings is refused.

    Parameters
    ----------
    folder : str or Path
        Existing folder; with a remote cluster, one the workers see at the same path.
    count : int
        Samples ``0 .. count - 1``.
    shard_size : int
        Samples per shard.
    seed, maps, n_points, dim
        As in :func:`ifskit.neural.dataset.make_sample`.
    client : dask.distributed.Client, optional
        Write the shards on the cluster's workers; default one after the other here.
    progress : bool
        Show a progress bar (samples).

    Returns
    -------
    dict
        ``written`` and ``skipped`` (samples), ``shards_written``, ``shards_skipped``, ``shards``.

    Raises
    ------
    IfskitError
        Some shards failed (after all the others were written); the message names them.
    """
    count, shard_size = int(count), int(shard_size)
    if count < 1 or shard_size < 1:
        raise ParameterError(f"count and shard_size must be positive, got {count} and {shard_size}", "count")
    folder = Path(folder)
    settings = {
        "format": "ifskit-shards-1",
        "count": count,
        "shard_size": shard_size,
        "seed": int(seed),
        "maps": [int(maps[0]), int(maps[1])],
        "points": int(n_points),
        "dim": int(dim),
    }
    _check_manifest(folder, settings)
    n_shards = -(-count // shard_size)
    ranges = [(s, s * shard_size, min(count, (s + 1) * shard_size)) for s in range(n_shards)]
    todo = [r for r in ranges if not shard_path(folder, r[0]).is_file()]
    skipped = sum(last - first for _, first, last in ranges) - sum(last - first for _, first, last in todo)
    bar = None
    if progress:
        bar = tqdm(total=count, initial=skipped, desc="dataset", unit="sample")
    options = (folder, int(seed), (int(maps[0]), int(maps[1])), int(n_points), int(dim))
    failures = {}
    try:
        if client is None:
            for shard, first, last in todo:
                try:
                    _write_shard(shard, first, last, *options)
                except (IfskitError, OSError) as error:  # as a worker's failure: the other shards go on
                    failures[shard] = error
                if bar is not None:
                    bar.update(last - first)
        else:
            from dask.distributed import as_completed

            futures = {client.submit(_write_shard, *r, *options, pure=False): r for r in todo}
            for future in as_completed(futures):
                shard, first, last = futures[future]
                if future.status == "error":
                    failures[shard] = future.exception()
                if bar is not None:
                    bar.update(last - first)
    finally:
        if bar is not None:
            bar.close()
    if failures:
        shard, error = min(failures.items())
        raise IfskitError(
            f"{len(failures)} of {n_shards} shards failed (first: {_describe(error)}); the others are written: "
            "run the same command again to make the missing ones"
        )
    written = count - skipped
    return {
        "written": written,
        "skipped": skipped,
        "shards_written": len(todo),
        "shards_skipped": n_shards - len(todo),
        "shards": n_shards,
    }


def _check_manifest(folder: Path, settings: dict) -> None:
    """Write the manifest of a new sharded dataset, or check that ``folder`` holds this one."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        write_text(manifest, json.dumps(settings, indent=1) + "\n")
        return
    try:
        found = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"cannot read the dataset manifest: {exc}", manifest) from None
    different = [key for key in settings if found.get(key) != settings[key]]
    if different:
        theirs = ", ".join(f"{key} {found.get(key)}" for key in different)
        raise FormatError(f"the folder holds another dataset ({theirs}); use a new folder", manifest)


def _write_shard(shard: int, first: int, last: int, folder: Path, seed: int, maps, n_points: int, dim: int) -> int:
    """Make samples ``first .. last - 1`` and write them as one shard, atomically; returns their number."""
    n = last - first
    path = shard_path(folder, shard)
    if path.is_file():  # written by an earlier try of this task (its worker died before saying so)
        return n
    arrays = {
        "index": np.arange(first, last, dtype=np.int64),
        "points": np.empty((n, n_points, dim), dtype=np.float32),
        "n_maps": np.empty(n, dtype=np.int64),
        "A": np.zeros((n, maps[1], dim, dim)),
        "b": np.zeros((n, maps[1], dim)),
        "p": np.zeros((n, maps[1])),
    }
    for row, index in enumerate(range(first, last)):
        ifs, points = make_sample(index, seed, maps, n_points, dim)
        k = ifs.n_maps
        arrays["points"][row] = points
        arrays["n_maps"][row] = k
        arrays["A"][row, :k], arrays["b"][row, :k], arrays["p"][row, :k] = ifs.A, ifs.b, ifs.p
    # overwrite: a shard that appears meanwhile was written by another try of this task
    # (Dask may run a task twice when a worker is lost): the same samples, the same bytes
    with atomic_path(path, overwrite=True) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name, array in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME), "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return n
