"""Dataset speed (issue 21, and issue 24's pictures): every figure measured in this one run.

Run from the repository root:  .venv/bin/python benchmarks/bench_dataset.py [--quick] [--json OUT.json]

1. ``fractaldb`` at 362 x 362, 2x10^5 points a picture, categories searched and PNGs written
   (``write_dataset``, this machine's threads), against the way the writer made them before
   (one sample after the other: chaos game, numpy raster with reductions over axis 0, Pillow
   PNG, one checked write with ``fsync`` per file); also per CPU second of this process (both
   threads), which the other agents' load changes little. Runs of 1000 instances per category, as
   FractalDB-1k, so the projected time of FractalDB-1k (1000 x 1000) is 1000 x the time of one
   category, search included.
2. ``clouds`` with ``--format png`` against ``--format npy``, same count (issue 24: <= 1.5x): the
   best wall time of three alternating runs each, and the ratio of CPU times.
3. ``FractalDataset`` in a ``DataLoader`` with 2 worker processes: 224 x 224, 10^5 points
   (target >= 1000 pictures/s), in order (flips of one weighting share their points) and
   shuffled (each picture its own chaos game).
4. Dask: the same ``fractaldb`` run, 4,000 pictures (8 categories x 500), on ``local:1`` and
   ``local:2`` (worker processes of one thread), alternating, three rounds: the same bytes, and
   the speed-up of each round, their median and that of the best times (target >= 1.7x);
   cluster start and kernel loading not timed. Once with files per sample (the default
   layout), once in eight tar shards (one file per task).

The machine is shared: the load average is printed beside each figure, and a first check
measures how many cores the run really has: a fixed chaos-game loop in one process, then in two
processes side by side (2.0 on two free cores, 1.0 when the others take a whole core's worth).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ifskit._io import write_bytes
from ifskit.data import get_recipe, write_dataset
from ifskit.data.pictures import png_bytes
from ifskit.data.recipes import _FRACTALDB_WEIGHTS, _fractint_ifs, points_seed
from ifskit.render import chaos_game


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f}"


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "preview.png"):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def old_raster(points: np.ndarray, size: int) -> np.ndarray:
    """The writer's raster before this change: reductions over axis 0, ``np.rint``, fancy indexing."""
    points = points[np.isfinite(points).all(axis=1)]
    lo, hi = points.min(axis=0), points.max(axis=0)
    scale = (size - 1) / np.where(hi > lo, hi - lo, 1.0)
    cols = np.rint((points[:, 0] - lo[0]) * scale[0]).astype(np.intp)
    rows = size - 1 - np.rint((points[:, 1] - lo[1]) * scale[1]).astype(np.intp)
    image = np.zeros((size, size), dtype=np.uint8)
    image[rows, cols] = 255
    return image


def old_writer(recipe, seed: int, count: int, folder: Path) -> None:
    """The samples one after the other as before: a chaos game per picture, Pillow, write_bytes (fsync)."""
    from PIL import Image

    s = recipe.settings
    for index in range(count):
        label, instance = recipe.label(index), index % s["instances"]
        weighting, flip = instance // 4 % 25, instance % 4
        rows = recipe.category(seed, label)
        ifs = _fractint_ifs(rows[:, :6] * _FRACTALDB_WEIGHTS[weighting], rows[:, 6], check=False)
        points = chaos_game(ifs, s["points"], seed=points_seed(seed, label, weighting), threads=1, progress=False)
        image = old_raster(points, s["size"])
        image = image[:, ::-1] if flip & 1 else image
        image = image[::-1] if flip & 2 else image
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
        write_bytes(folder / f"sample_{index:06d}.png", buffer.getvalue())


def _chaos_loop(renders: int) -> float:
    from ifskit import catalog

    fern = catalog("barnsley_fern")
    chaos_game(fern, 1000, threads=1, progress=False)  # compiled or loaded from the cache
    start = time.perf_counter()
    for i in range(renders):
        chaos_game(fern, 200_000, seed=i, threads=1, progress=False)
    return time.perf_counter() - start


def bench_cores(renders: int) -> dict:
    """Cores this run has: the work of one process done by two side by side, relative to one alone."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        pool.submit(_chaos_loop, 1).result()
        alone = pool.submit(_chaos_loop, renders).result()
        both = [f.result() for f in [pool.submit(_chaos_loop, renders) for _ in range(2)]]
    return {"effective_cores": round(2 * alone / max(both), 2), "load": load()}


def bench_fractaldb(categories: int, baseline_count: int) -> dict:
    settings = dict(categories=categories, instances=1000, size=362, points=200_000)
    count = categories * 1000
    with tempfile.TemporaryDirectory() as tmp:
        recipe = get_recipe("fractaldb", **settings)
        start, cpu = time.perf_counter(), time.process_time()
        figures = write_dataset(tmp, count, recipe=recipe, seed=0, preview=False)
        ours, ours_cpu = time.perf_counter() - start, time.process_time() - cpu
        assert figures["written"] == count and figures["categories_searched"] == categories
        ours_load = load()
    with tempfile.TemporaryDirectory() as tmp:
        old = get_recipe("fractaldb", **settings)
        start = time.perf_counter()
        old.category(0, 0)  # the search as before (one category, one thread)
        old_search = time.perf_counter() - start
        start = time.perf_counter()
        old_writer(old, 0, baseline_count, Path(tmp))
        old_images = time.perf_counter() - start
    old_per_category = old_search + old_images / baseline_count * 1000
    ours_per_category = ours / categories
    return {
        "images": count,
        "seconds": round(ours, 2),
        "images_per_s": round(count / ours, 1),
        "images_per_cpu_s": round(count / ours_cpu, 1),
        "baseline_images_per_s": round(1000 / old_per_category, 1),
        "speedup": round(old_per_category / ours_per_category, 2),
        "fractaldb_1k_hours": round(1000 * ours_per_category / 3600, 2),
        "baseline_fractaldb_1k_hours": round(1000 * old_per_category / 3600, 2),
        "load": ours_load,
    }


def bench_png_vs_npy(count: int, rounds: int = 3) -> dict:
    """``clouds`` as ``--format png`` against ``--format npy``: wall and CPU time, alternating, best of ``rounds``."""
    wall, cpu = {"npy": [], "png": []}, {"npy": [], "png": []}
    for _ in range(rounds):  # alternating: the other agents' load moves
        for fmt in ("npy", "png"):
            with tempfile.TemporaryDirectory() as tmp:
                start, used = time.perf_counter(), time.process_time()
                write_dataset(tmp, count, recipe="clouds", seed=0, formats=(fmt,))
                wall[fmt].append(time.perf_counter() - start)
                cpu[fmt].append(time.process_time() - used)
    npy, png = min(wall["npy"]), min(wall["png"])
    return {
        "count": count,
        "npy_s": round(npy, 3),
        "png_s": round(png, 3),
        "ratio": round(png / npy, 2),
        "cpu_ratio": round(min(cpu["png"]) / min(cpu["npy"]), 2),
        "load": load(),
    }


def bench_loader(count: int) -> dict:
    import torch

    from ifskit.data import FractalDataset

    dataset = FractalDataset(count, get_recipe("fractaldb", categories=4, instances=1000, size=224, points=100_000))
    out = {}
    for shuffle in (False, True):
        loader = torch.utils.data.DataLoader(dataset, batch_size=50, num_workers=2, shuffle=shuffle,
                                             generator=torch.Generator().manual_seed(0))  # fmt: skip
        batches = iter(loader)
        next(batches)  # workers started and warm
        start, seen = time.perf_counter(), 0
        for x, _ in batches:
            seen += len(x)
        rate = seen / (time.perf_counter() - start)
        out["shuffled" if shuffle else "in_order"] = round(rate, 1)
    out["load"] = load()
    return out


def _warm_worker() -> None:
    """Load every kernel a FractalDB sample needs (chaos game, raster, PNG) in this process."""
    recipe = get_recipe("fractaldb", categories=1, instances=1, size=64, points=1000)
    png_bytes(recipe.make(0, 0)["image"])


def bench_dask(categories: int, rounds: int = 3, shard_format: str | None = None) -> dict:
    """The same ``fractaldb`` run on ``local:1`` and ``local:2``, alternating, ``rounds`` times.

    Files per sample, or with ``shard_format`` eight shards (one file per task).

    The speed-up of each round (the disk's flushes make single runs vary by 10-15%), their
    median, and the ratio of the best times.
    """
    from ifskit.distributed import connect

    settings = dict(categories=categories, instances=500, size=362, points=200_000)
    count = categories * 500
    seconds, digests = {1: [], 2: []}, {}
    for _ in range(rounds):
        for workers in (1, 2):
            with connect(f"local:{workers}") as client, tempfile.TemporaryDirectory() as tmp:
                client.run(_warm_worker)  # cluster start and kernel loading are not timed
                start = time.perf_counter()
                write_dataset(tmp, count, recipe=get_recipe("fractaldb", **settings), seed=0, client=client,
                              shard_size=None if shard_format is None else count // 8, shard_format=shard_format)  # fmt: skip
                seconds[workers].append(time.perf_counter() - start)
                digests[workers] = folder_digest(Path(tmp))
    one, two = min(seconds[1]), min(seconds[2])
    ratios = [a / b for a, b in zip(seconds[1], seconds[2])]
    return {
        "images": count,
        "layout": shard_format or "files",
        "one_worker_s": round(one, 2),
        "two_workers_s": round(two, 2),
        "speedup_of_best": round(one / two, 2),
        "speedup_per_round": [round(r, 2) for r in ratios],
        "speedup_median": round(float(np.median(ratios)), 2),
        "runs_s": {workers: [round(t, 2) for t in times] for workers, times in seconds.items()},
        "same_bytes": digests[1] == digests[2],
        "load": load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a check that it works, not figures)")
    parser.add_argument("--json", metavar="OUT.json", help="write the figures as JSON")
    parser.add_argument("--only", choices=["fractaldb", "png", "loader", "dask"], action="append")
    args = parser.parse_args()
    quick, only = args.quick, set(args.only or ["fractaldb", "png", "loader", "dask"])
    print(f"cores {os.cpu_count()}, {load()} at the start")
    results = {"cores": bench_cores(100 if quick else 300)}
    print(
        f"cores this run has: {results['cores']['effective_cores']} of {os.cpu_count()}  [{results['cores']['load']}]"
    )
    if "fractaldb" in only:
        r = results["fractaldb"] = bench_fractaldb(1 if quick else 3, 50 if quick else 200)
        print(f"fractaldb 362^2, 2e5 points, search + PNG writing: {r['images_per_s']} images/s "
              f"({r['images_per_cpu_s']} per CPU second) "
              f"(before: {r['baseline_images_per_s']}, {r['speedup']}x); FractalDB-1k projected "
              f"{r['fractaldb_1k_hours']} h (before: {r['baseline_fractaldb_1k_hours']} h)  [{r['load']}]")  # fmt: skip
    if "png" in only:
        r = results["png_vs_npy"] = bench_png_vs_npy(200 if quick else 1000)
        print(f"clouds x{r['count']}: --format npy {r['npy_s']} s, --format png {r['png_s']} s: "
              f"png/npy = {r['ratio']} (CPU time: {r['cpu_ratio']})  [{r['load']}]")  # fmt: skip
    if "loader" in only:
        r = results["loader"] = bench_loader(400 if quick else 3000)
        print(f"FractalDataset 224^2, 1e5 points, DataLoader 2 workers: {r['in_order']} images/s in order, "
              f"{r['shuffled']} shuffled  [{r['load']}]")  # fmt: skip
    if "dask" in only:
        for shard_format in (None, "tar"):
            r = results[f"dask_{shard_format or 'files'}"] = bench_dask(1 if quick else 8, shard_format=shard_format)
            print(f"dask fractaldb x{r['images']}, {r['layout']}: local:1 {r['one_worker_s']} s, local:2 "
              f"{r['two_workers_s']} s (best of {r['runs_s']}): {r['speedup_of_best']}x; per round "
              f"{r['speedup_per_round']}, median {r['speedup_median']}x; same bytes: {r['same_bytes']}  "
              f"[{r['load']}]")  # fmt: skip
    print(f"{load()} at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
