"""Deterministic rendering speed, against a plain numpy Hutchinson step measured in the same run.

Run from the repository root:  .venv/bin/python benchmarks/bench_deterministic.py

One raster iteration maps the set pixels of a 1024x1024 picture of the Barnsley fern
(4 maps) through every map. The baseline does it as one writes it first, in numpy:
the centres of the set pixels, mapped and binned (no antialiasing).
"""

from __future__ import annotations

import time

import numpy as np

import ifskit
from ifskit.render import hutchinson_measure, hutchinson_points, hutchinson_raster
from ifskit.render.frame import window


def best_time(function, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def numpy_step(ifs, image: np.ndarray, bounds) -> np.ndarray:
    """One Hutchinson step on pixel centres, plain numpy."""
    height, width = image.shape
    xmin, xmax, ymin, ymax = bounds
    rows, cols = np.nonzero(image)
    x = xmin + (cols + 0.5) * (xmax - xmin) / width
    y = ymax - (rows + 0.5) * (ymax - ymin) / height
    out = np.zeros_like(image)
    for A, b in zip(ifs.A, ifs.b):
        u, v = A[0, 0] * x + A[0, 1] * y + b[0], A[1, 0] * x + A[1, 1] * y + b[1]
        c = ((u - xmin) / (xmax - xmin) * width).astype(int)
        r = ((ymax - v) / (ymax - ymin) * height).astype(int)
        keep = (c >= 0) & (c < width) & (r >= 0) & (r < height)
        out[r[keep], c[keep]] = True
    return out


def main() -> None:
    fern = ifskit.catalog("barnsley_fern")
    size = (1024, 1024)
    bounds = window(fern, size).bounds
    converged = hutchinson_raster(fern, size, supersample=1).image > 0
    full = np.ones(size, dtype=bool)

    rows = []
    base = best_time(lambda: numpy_step(fern, converged, bounds))
    rows.append(("plain numpy step (pixel centres), fern 1024^2, converged picture", base, 1.0))
    step = best_time(lambda: hutchinson_raster(fern, size, start=converged, iterations=1, supersample=1, bounds=bounds))
    rows.append(("hutchinson_raster, 1 iteration, fern 1024^2, converged picture", step, base / step))
    base_full = best_time(lambda: numpy_step(fern, full, bounds), 3)
    step_full = best_time(lambda: hutchinson_raster(fern, size, start="square", iterations=1, supersample=1), 3)
    rows.append(("plain numpy step, fern 1024^2, full square", base_full, 1.0))
    rows.append(("hutchinson_raster, 1 iteration, fern 1024^2, full square", step_full, base_full / step_full))
    rows.append(
        (
            "hutchinson_raster to convergence, fern 1024^2 (2x grid)",
            best_time(lambda: hutchinson_raster(fern, size), 2),
            None,
        )
    )
    rows.append(
        ("hutchinson_measure to convergence, fern 256^2", best_time(lambda: hutchinson_measure(fern, 256), 2), None)
    )

    print("| case | time | vs numpy step |")
    print("|---|---:|---:|")
    for label, seconds, ratio in rows:
        print(f"| {label} | {seconds * 1e3:.1f} ms | {'' if ratio is None else f'{ratio:.1f}x'} |")
    print()
    print("| point set (hutchinson_points) | points | time | points kept/s |")
    print("|---|---:|---:|---:|")
    for name in ("barnsley_fern", "heighway_dragon", "menger_sponge"):
        ifs = ifskit.catalog(name)
        points = hutchinson_points(ifs)
        seconds = best_time(lambda ifs=ifs: hutchinson_points(ifs), 3)
        print(f"| {name} | {len(points):,} | {seconds * 1e3:.0f} ms | {len(points) / seconds / 1e6:.1f} M |")


if __name__ == "__main__":
    main()
