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
import logging
import re
import socket
import struct

from ._parallel import default_threads
from .data.factory import shard_path, write_dataset  # noqa: F401  (shard_path: part of this module's API)
from .data.recipes import CloudsRecipe
from .errors import IfskitError, ParameterError
from .render.aggregate import add_totals, register_backend

# A task bins at most this many chunks (2^31 points: about half a minute on one
# core), so that long renders still give a progress bar that moves.
_MAX_CHUNKS_PER_TASK = 2048
# Tasks per worker thread: enough for the load to even out when workers differ in
# speed, few enough that the rasters per task (8 bytes a pixel) stay cheap.
_TASKS_PER_THREAD = 4
# Seconds to wait for a remote scheduler before giving up.
CONNECT_TIMEOUT = 10
#: Seconds a remote peer has to show it is a Dask scheduler (its greeting) before we give up.
PROBE_TIMEOUT = 3
#: ``local:N`` starts at most this many worker processes per core of this machine: each is
#: a Python process with its own memory, and more than a few per core only add overhead.
LOCAL_WORKERS_PER_CORE = 4
# A Dask scheduler greets a new connection with a small message: its length comes first (8
# bytes); a peer whose first bytes say more than this is not one.
_GREETING_MAX = 1 << 20


def max_local_workers() -> int:
    """The most worker processes ``local:N`` starts: :data:`LOCAL_WORKERS_PER_CORE` per core, at least 4."""
    return max(4, LOCAL_WORKERS_PER_CORE * default_threads())


def parse_scheduler(spec: str) -> tuple[str, int | str]:
    """Read a scheduler spec: ``"local:N"`` or ``"tcp://HOST:PORT"``.

    Returns
    -------
    ("local", N) or ("tcp", address)

    Raises
    ------
    ParameterError
        Anything else, or more local workers than :func:`max_local_workers`.
    """
    local = re.fullmatch(r"local:(\d{1,9})", spec.strip())
    if local:
        n_workers, most = int(local.group(1)), max_local_workers()
        if not 1 <= n_workers <= most:
            raise ParameterError(
                f"spec local:N needs 1 <= N <= {most} worker processes ({LOCAL_WORKERS_PER_CORE} per core of "
                f"this machine), got {spec!r}",
                "spec",
            )
        return "local", n_workers
    remote = re.fullmatch(r"tcp://[^\s/:]+:(\d{1,5})", spec.strip())
    if remote and 1 <= int(remote.group(1)) <= 65535:
        return "tcp", spec.strip()
    raise ParameterError(f"spec must be local:N (N worker processes here) or tcp://HOST:PORT, got {spec!r}", "spec")


@contextlib.contextmanager
def connect(spec: str, timeout: float = CONNECT_TIMEOUT):
    """A Dask client for the scheduler ``spec``, closed (with its local cluster) on exit.

    Parameters
    ----------
    spec : str
        ``"local:N"``: start N worker processes of one thread each on this machine,
        listening on 127.0.0.1 only (no dashboard); N is at most :func:`max_local_workers`.
        ``"tcp://HOST:PORT"``: connect to a running ``dask scheduler``; its workers need
        ifskit installed. The peer must greet as a Dask scheduler within
        :data:`PROBE_TIMEOUT` seconds (anything else there is refused at once).
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
    _probe_scheduler(value, min(timeout, PROBE_TIMEOUT))
    try:
        client = Client(value, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise IfskitError(f"cannot reach the Dask scheduler at {value}: {exc}") from None
    with client:
        yield client


def _probe_scheduler(address: str, timeout: float) -> None:
    """Check that a Dask scheduler listens at ``tcp://HOST:PORT`` before Dask talks to it.

    Dask trusts its peer: the first 8 bytes of anything else read as a message length (a web
    server's silence hangs it, an SSH banner asks it for exabytes). A scheduler greets a new
    connection at once with a short message, so: connect, and read the length of the greeting.
    """
    host, port = address[len("tcp://") :].rsplit(":", 1)
    unreachable = f"cannot reach the Dask scheduler at {address}"
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as probe:
            probe.settimeout(timeout)
            head = b""
            while len(head) < 8:
                got = probe.recv(8 - len(head))
                if not got:
                    raise IfskitError(f"{unreachable}: the peer closed the connection (not a Dask scheduler?)")
                head += got
    except TimeoutError:
        raise IfskitError(f"{unreachable}: no Dask greeting within {timeout:g} s (not a Dask scheduler?)") from None
    except OSError as exc:
        raise IfskitError(f"{unreachable}: {exc.strerror or exc}") from None
    (length,) = struct.unpack("<Q", head)
    if not 0 < length <= _GREETING_MAX:
        raise IfskitError(f"{unreachable}: the peer there does not speak Dask's protocol")


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
    """Write a ``clouds`` dataset as shards, one Dask task per shard (resumable).

    The shards of :func:`ifskit.data.write_dataset` with ``recipe="clouds"`` and
    ``formats=("yaml", "npy")``: each ``shard_NNNNNN.npz`` holds ``index`` (n,) int64,
    ``points`` (n, n_points, dim) float32, ``n_maps`` (n,) int64 and ``A`` (n, K, dim, dim),
    ``b`` (n, K, dim), ``p`` (n, K) float64 zero-padded to ``K = maps[1]`` maps; the same bytes
    with or without ``client``, whatever the number of workers.

    Parameters
    ----------
    folder : str or Path
        Existing folder; with a remote cluster, one the workers see at the same path.
    count, shard_size, seed
        As in :func:`ifskit.data.write_dataset`.
    maps, n_points, dim
        Settings of the ``clouds`` recipe.
    client : dask.distributed.Client, optional
    progress : bool

    Returns
    -------
    dict
        ``written`` and ``skipped`` (samples), ``shards_written``, ``shards_skipped``, ``shards``.
    """
    recipe = CloudsRecipe(maps=maps, points=n_points, dim=dim)
    counts = write_dataset(
        folder, count, recipe=recipe, seed=seed, shard_size=shard_size, formats=("yaml", "npy"),
        client=client, progress=progress,
    )  # fmt: skip
    return {
        "written": counts["written"],
        "skipped": counts["skipped"],
        "shards_written": counts["units_written"],
        "shards_skipped": counts["units"] - counts["units_written"],
        "shards": counts["units"],
    }
