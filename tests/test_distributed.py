"""Scale-out on a real Dask cluster (worker processes on 127.0.0.1): renders and sharded datasets."""

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import ifskit
from ifskit._io import TEMP_MARK
from ifskit.distributed import chunk_ranges, connect, shard_path, write_shards
from ifskit.errors import IfskitError
from ifskit.render import aggregate, map_colors
from ifskit.render.aggregate import points_per_chunk
from ifskit.render.chaos import CHUNK

pytest.importorskip("dask.distributed")

# a little over 5 chunks: several tasks per worker, and a short last chunk
POINTS = 5 * CHUNK + 12_345


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each, started once for this module."""
    with connect("local:2") as client:
        yield client


def test_chunk_ranges_cover_every_chunk_once():
    for n_chunks, n_threads in [(1, 4), (5, 2), (97, 2), (100_000, 3)]:
        ranges = chunk_ranges(n_chunks, n_threads)
        assert ranges[0][0] == 0 and ranges[-1][1] == n_chunks
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        assert all(last > first for first, last in ranges)
    assert len(chunk_ranges(97, 2)) == 8
    assert max(last - first for first, last in chunk_ranges(100_000, 3)) <= 2048


@pytest.mark.parametrize(
    "name, colored",
    [("sierpinski", False), ("barnsley_fern", True), ("menger_sponge", False)],
)
def test_cluster_render_is_byte_identical(client, name, colored):
    ifs = ifskit.catalog(name)
    colors = map_colors(ifs, None) if colored else None
    here = aggregate(ifs, (60, 80), POINTS, seed=5, map_colors=colors, threads=2)
    there = aggregate(ifs, (60, 80), POINTS, seed=5, map_colors=colors, client=client)
    assert there.counts.dtype == np.uint64
    assert there.counts.tobytes() == here.counts.tobytes()
    assert int(there.counts.sum()) > 0.9 * POINTS
    for field in ("depth", "color"):
        mine, theirs = getattr(here, field), getattr(there, field)
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert mine.tobytes() == theirs.tobytes()


def test_cluster_density_follows_the_seed(client, fern):
    first = ifskit.density(fern, 64, 2 * CHUNK, seed=1, client=client)
    again = ifskit.density(fern, 64, 2 * CHUNK, seed=1, client=client)
    other = ifskit.density(fern, 64, 2 * CHUNK, seed=2, client=client)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_failed_render_task_is_one_clear_error(client, sierpinski):
    from dataclasses import replace

    from ifskit.distributed import bin_on_cluster
    from ifskit.render.aggregate import DensityJob
    from ifskit.render.chaos import chain_start

    job = DensityJob(
        A=sierpinski.A, b=sierpinski.b, p=sierpinski.p, start=chain_start(sierpinski),
        view_matrix=np.eye(3, 4), size=(64, 64), n_points=3 * CHUNK, seed=0,
    )  # fmt: skip
    assert bin_on_cluster(job, client)[0].sum() > 0
    # a raster of 8 TB: every worker's allocation fails, for real
    with pytest.raises(IfskitError, match="a render task failed on the Dask cluster: MemoryError"):
        bin_on_cluster(replace(job, size=(10**6, 10**6)), client)


def test_cli_render_on_remote_scheduler_matches(client, cli, tmp_path, capsys):
    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    common = ["barnsley_fern", "--points", POINTS, "--size", "90x70", "--seed", 3, "--json"]
    assert cli("render", *common, "-o", tmp_path / "here.png") == 0
    capsys.readouterr()
    assert cli("render", *common, "-o", tmp_path / "there.png", "--scheduler", address) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["workers"] == 2 and figures["points"] == POINTS
    assert (tmp_path / "here.png").read_bytes() == (tmp_path / "there.png").read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scheduler", "localhost"], "local:N"),
        (["--scheduler", "local:0"], "1 <= N"),
        (["--scheduler", "local:1024"], "worker processes (4 per core of this machine)"),
        (["--scheduler", "tcp://127.0.0.1:99999"], "or tcp://HOST:PORT"),
        (["--scheduler", "local:2", "--device", "torch-cpu"], "one of --scheduler and --device"),
        (["--scheduler", "local:2", "--method", "deterministic"], "chaos-game PNG"),
        (["--scheduler", "local:2", "--views"], "chaos-game PNG"),
        (["--scheduler", "local:2", "--threads", "3"], "--threads"),
        (["--device", "torch-cpu", "--threads", "3"], "--threads"),
    ],
)
def test_cli_scheduler_mistakes(cli, tmp_path, capsys, args, message):
    assert cli("render", "sierpinski", "-o", tmp_path / "out.png", "--points", 1000, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("ifskit: error:") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out.png").exists()


def test_cli_scheduler_point_cloud_refused(cli, tmp_path, capsys):
    assert cli("render", "sierpinski", "-o", tmp_path / "out.npy", "--scheduler", "local:2") == 2
    assert "not point clouds" in capsys.readouterr().err
    assert not (tmp_path / "out.npy").exists()


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(IfskitError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with connect("tcp://127.0.0.1:9", timeout=1):
            pass


# ---- sharded datasets -----------------------------------------------------------------------------
DATASET = ["--count", 23, "--shard-size", 5, "--points", 200, "--maps", "2-3", "--seed", 4, "--quiet", "--json"]


def _shard_bytes(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("shard_*.npz"))}


def _read_shards(folder: Path) -> dict:
    arrays = {}
    for path in sorted(folder.glob("shard_*.npz")):
        with np.load(path) as shard:
            for name in shard.files:
                arrays.setdefault(name, []).append(shard[name])
    return {name: np.concatenate(parts) for name, parts in arrays.items()}


def test_dataset_shards_identical_on_one_and_two_workers(client, cli, tmp_path, capsys):
    assert cli("dataset", "-o", tmp_path / "here", *DATASET) == 0
    assert cli("dataset", "-o", tmp_path / "one", *DATASET, "--scheduler", "local:1") == 0
    assert cli("dataset", "-o", tmp_path / "two", *DATASET, "--scheduler", client.scheduler.address) == 0
    figures = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["shards_written"] for f in figures] == [5, 5, 5]
    assert [f["written"] for f in figures] == [23, 23, 23]
    here = _shard_bytes(tmp_path / "here")
    assert len(here) == 5
    assert _shard_bytes(tmp_path / "one") == here == _shard_bytes(tmp_path / "two")
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["count"] == 23 and manifest["shard_size"] == 5 and manifest["seed"] == 4


def test_dataset_shards_hold_the_samples(tmp_path):
    from ifskit.neural.dataset import make_sample

    write_shards(tmp_path, 7, shard_size=3, seed=9, maps=(2, 3), n_points=128)
    data = _read_shards(tmp_path)
    assert data["index"].tolist() == list(range(7))
    assert data["points"].shape == (7, 128, 2) and data["points"].dtype == np.float32
    ifs, points = make_sample(5, 9, (2, 3), 128, 2)
    k = data["n_maps"][5]
    assert k == ifs.n_maps
    assert np.array_equal(data["points"][5], points)
    assert np.array_equal(data["A"][5, :k], ifs.A) and np.array_equal(data["p"][5, :k], ifs.p)
    assert not data["A"][5, k:].any()


def test_dataset_failed_shard_is_made_on_rerun_without_loss_or_duplicates(client, cli, tmp_path, capsys):
    reference = tmp_path / "reference"
    assert cli("dataset", "-o", reference, *DATASET) == 0
    folder = tmp_path / "run"
    folder.mkdir()
    # a folder where shard 2 should go: writing that shard fails on its worker, for real
    shard_path(folder, 2).mkdir()
    capsys.readouterr()
    assert cli("dataset", "-o", folder, *DATASET, "--scheduler", client.scheduler.address) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("ifskit: error: 1 of 5 shards failed") and captured.err.count("\n") == 1
    done = {p.name: p.stat().st_mtime_ns for p in folder.glob("shard_*.npz") if p.is_file()}
    assert sorted(done) == [shard_path(folder, s).name for s in (0, 1, 3, 4)]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left

    shard_path(folder, 2).rmdir()
    assert cli("dataset", "-o", folder, *DATASET, "--scheduler", client.scheduler.address) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["shards_written"] == 1 and figures["written"] == 5 and figures["skipped"] == 18
    assert {name: shard_path(folder, int(name[6:12])).stat().st_mtime_ns for name in done} == done
    assert _shard_bytes(folder) == _shard_bytes(reference)
    assert _read_shards(folder)["index"].tolist() == list(range(23))


def test_shard_task_run_twice_keeps_the_shard(tmp_path):
    # Dask reruns a task whose worker died before reporting it done: the second try
    # finds the shard written (or sees it appear) and leaves the same bytes
    from ifskit.data.factory import _write_unit
    from ifskit.data.recipes import CloudsRecipe

    task = (tmp_path, CloudsRecipe(maps=(2, 3), points=100), 3, 4, ("yaml", "npy"), "npz", (1, 4, 8))
    assert _write_unit(*task) == 4
    first = shard_path(tmp_path, 1).read_bytes()
    assert _write_unit(*task) == 0  # found written
    assert shard_path(tmp_path, 1).read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard_000001.npz"]


def test_dataset_resume_refuses_other_settings(cli, tmp_path, capsys):
    assert cli("dataset", "-o", tmp_path, *DATASET) == 0
    capsys.readouterr()
    other = [a if a != 4 else 5 for a in DATASET]  # another seed
    assert cli("dataset", "-o", tmp_path, *other) == 2
    err = capsys.readouterr().err
    assert "manifest.json" in err and "another dataset (seed 4)" in err


@pytest.mark.parametrize("shards", [[], ["--shard-size", 3], ["--shard-size", 3, "--shard-format", "tar"]])
@pytest.mark.parametrize("recipe", [["--format", "yaml,npy,png", "--size", 16], ["--recipe", "fractaldb",
                                    "--categories", 3, "--instances", 3, "--size", 24, "--points", 2000]])  # fmt: skip
def test_dataset_layout_is_the_same_with_or_without_a_scheduler(client, cli, tmp_path, capsys, recipe, shards):
    # the layout depends on --shard-size only; the bytes, manifest included, on nothing else
    options = ["--count", 8, "--points", 300, "--seed", 1, *recipe, *shards, "--quiet"]
    assert cli("dataset", "-o", tmp_path / "here", *options) == 0
    assert cli("dataset", "-o", tmp_path / "there", *options, "--scheduler", client.scheduler.address) == 0
    here, there = _all_files(tmp_path / "here"), _all_files(tmp_path / "there")
    assert here == there
    stem = "shard_" if shards else "sample_"
    # a recipe with categories: their parameter files and a preview too
    categories = {"preview.png", *(f"categories/{c:06d}.csv" for c in range(3))} if "fractaldb" in recipe else set()
    extra = {"manifest.json", *categories}
    assert extra <= set(here) and all(n.startswith(stem) for n in set(here) - extra)
    assert len(here) == len(extra) + (3 if shards else 8 * len([f for f in ("yaml", "npy", "png") if any(
        n.endswith(f) and n.startswith(stem) for n in here)]))  # fmt: skip
    # resumable on the cluster too: a lost file is made again, the same bytes
    lost = sorted(n for n in here if n.startswith(stem))[1]
    (tmp_path / "there" / lost).unlink()
    capsys.readouterr()
    assert cli("dataset", "-o", tmp_path / "there", *options, "--json", "--scheduler", client.scheduler.address) == 0
    assert json.loads(capsys.readouterr().out)["written"] == (3 if shards else 1)
    assert (tmp_path / "there" / lost).read_bytes() == here[lost]


def _all_files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_pc_fractaldb_categories_searched_on_the_cluster_are_the_same(client, cli, tmp_path):
    options = ["--recipe", "pc-fractaldb", "--categories", 5, "--instances", 2, "--points", 400, "--count", 6]
    assert cli("dataset", "-o", tmp_path / "here", *options, "--threads", 1, "--quiet") == 0
    assert cli("dataset", "-o", tmp_path / "there", *options, "--scheduler", client.scheduler.address, "--quiet") == 0
    here = _all_files(tmp_path / "here")
    assert len([n for n in here if n.startswith("categories/")]) == 5  # the mix takes any category
    assert here == _all_files(tmp_path / "there")


def test_scheduler_that_is_not_dask_fails_fast(cli, tmp_path, capsys):
    # a silent peer (a web server waiting for a request) and a talkative one (an SSH banner)
    import socket
    import threading

    def serve(banner):
        server = socket.create_server(("127.0.0.1", 0))
        held = []

        def accept():
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:  # the test closed the server
                    return
                held.append(connection)  # kept open: the peer neither answers nor closes
                if banner:
                    connection.sendall(banner)

        threading.Thread(target=accept, daemon=True).start()
        return server

    for banner, message in [(None, "no Dask greeting within"), (b"SSH-2.0-OpenSSH_9.6\r\n", "does not speak Dask")]:
        server = serve(banner)
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        start = time.monotonic()
        assert cli("dataset", "-o", tmp_path / "out", "--count", 2, "--scheduler", address) == 2
        assert time.monotonic() - start < 8
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"cannot reach the Dask scheduler at {address}" in err and message in err
        assert not (tmp_path / "out").exists()
        server.close()


# ---- a worker killed mid-run ----------------------------------------------------------------------
class KillAWorker:
    """Stands in for the progress bar: at its first update, SIGKILLs the worker process holding most results.

    The worker's nanny starts a new one; the scheduler reruns the lost tasks.
    """

    def __init__(self, client):
        self.client = client
        self.killed = None

    def __call__(self, *args, **kwargs):  # as tqdm(total=..., ...)
        return self

    def update(self, n):
        if self.killed is None:
            held = self.client.has_what()
            pids = self.client.run(os.getpid)
            victim = max(sorted(pids), key=lambda worker: len(held.get(worker, ())))
            os.kill(pids[victim], signal.SIGKILL)
            self.killed = pids[victim]

    def close(self):
        pass


@pytest.fixture
def kill_a_worker(client, monkeypatch):
    """Progress bars kill a worker of the shared cluster; after the test, wait until it has two again."""
    before = set(client.run(os.getpid).values())
    killer = KillAWorker(client)
    monkeypatch.setattr("tqdm.auto.tqdm", killer)  # the renderer's bar, imported when a render needs one
    yield killer
    assert killer.killed in before
    client.wait_for_workers(2, timeout=30)
    assert killer.killed not in set(client.run(os.getpid).values())


@pytest.mark.slow
def test_render_with_a_worker_killed_is_byte_identical(client, kill_a_worker):
    fern = ifskit.catalog("barnsley_fern")
    n_points = 16 * CHUNK
    here = aggregate(fern, (50, 40), n_points, seed=8, threads=2)
    there = aggregate(fern, (50, 40), n_points, seed=8, client=client, progress=True)
    assert kill_a_worker.killed is not None
    assert there.counts.tobytes() == here.counts.tobytes()  # no chunk lost, none counted twice
    assert int(there.counts.sum()) > 0.9 * n_points


@pytest.mark.slow
def test_dataset_with_a_worker_killed_has_every_sample_once(client, kill_a_worker, tmp_path):
    options = dict(count=600, shard_size=75, seed=2, maps=(2, 3), n_points=3000)
    for folder in ("reference", "run"):
        (tmp_path / folder).mkdir()
    write_shards(tmp_path / "reference", **options)  # here, one shard after the other
    figures = write_shards(tmp_path / "run", **options, client=client, progress=True)
    assert kill_a_worker.killed is not None
    assert figures["shards_written"] == 8 and figures["written"] == 600
    assert _shard_bytes(tmp_path / "run") == _shard_bytes(tmp_path / "reference")
    assert _read_shards(tmp_path / "run")["index"].tolist() == list(range(600))


class CountingBar:
    """Stands in for tqdm: records the updates and whether it was closed."""

    def __init__(self, *args, **kwargs):
        self.total, self.updates, self.closed = kwargs.get("total"), [], False

    def update(self, n):
        self.updates.append(n)

    def close(self):
        self.closed = True


def test_progress_counts_every_point_and_workers_keep_nothing(client, monkeypatch):
    bars = []
    monkeypatch.setattr("tqdm.auto.tqdm", lambda *a, **k: bars.append(CountingBar(*a, **k)) or bars[-1])
    aggregate(ifskit.catalog("sierpinski"), 40, POINTS, seed=1, client=client, progress=True)
    (bar,) = bars
    assert bar.total == POINTS and sum(bar.updates) == POINTS and bar.closed
    n_chunks = -(-POINTS // points_per_chunk(POINTS))
    assert len(bar.updates) == len(chunk_ranges(n_chunks, 2))  # one update per render task, as it finishes
    # the partial rasters and the sums were released: nothing stays on the workers
    deadline = time.monotonic() + 10
    while any(client.has_what().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(client.has_what().values())


def test_dataset_unwritable_folder_is_one_clear_error(cli, tmp_path, capsys, monkeypatch):
    real_open = os.open

    def refuse(path, *args, **kwargs):  # the system refuses our temporary files, as in a folder we may not
        if TEMP_MARK in os.fspath(path):  # write in (which root may, so it is simulated here)
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("os.open", refuse)
    assert cli("dataset", "-o", tmp_path / "d", *DATASET) == 2
    err = capsys.readouterr().err
    assert err == f"ifskit: error: {tmp_path / 'd' / 'manifest.json'}: cannot write: Permission denied\n"
