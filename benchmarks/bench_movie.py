"""Movie throughput and smoothness, as ratios against a plain frame loop measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_movie.py            # the issue's case: 120 frames 512^2, 2e6 points each
    .venv/bin/python benchmarks/bench_movie.py --quick    # 30 frames 256^2, 5e5 points: a rough check

The baseline is what one writes first: for each frame, ``ifskit.interpolate(a, b, t)``
(matching the maps again every frame), ``ifskit.render_image`` (framed by the frame's
own attractor, tone mapping normalized by the frame's own maximum) and one
``imageio_ffmpeg`` writer, one step after the other. ``ifskit.make_movie`` matches once, plans framing and tone mapping from the
keyframes, and renders the next frame's chaos game while the current one is shaded
and encoded. Both write an H.264 MP4 of the same path (fern -> maple leaf -> dragon,
looped) with the same seed for every frame.

Smoothness figure: the largest mean absolute difference of consecutive frames (RGB,
0-255), divided by the mean difference between the first frame and the frame a third
of the way (the next keyframe).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

import ifskit
from ifskit.animate import movie_figures, plan_movie, render_movie_frames

#: The issue's target for the full case (120 frames 512^2, 2e6 points each, MP4 included).
TARGET_SECONDS = 10.0


def baseline_movie(keyframes, path: Path, n_frames: int, size, n_points: int) -> None:
    """The plain loop: interpolate, render_image, write, frame after frame."""
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path), (size[1], size[0]), fps=30, codec="libx264", macro_block_size=1,
        output_params=["-crf", "20", "-preset", "fast"],
    )  # fmt: skip
    writer.send(None)
    n_segments = len(keyframes)
    for i in range(n_frames):
        segment, rest = divmod(i * n_segments, n_frames)
        a, b = keyframes[segment], keyframes[(segment + 1) % n_segments]
        ifs = ifskit.interpolate(a, b, rest / n_frames)
        writer.send(np.ascontiguousarray(ifskit.render_image(ifs, size, n_points, 0, progress=False)[..., :3]))
    writer.close()


def read_frames(path: Path) -> list:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return [np.frombuffer(f, dtype=np.uint8).reshape(height, width, 3).astype(float) for f in reader]


def smoothness(frames: list) -> float:
    """Largest consecutive-frame difference over the difference from the first keyframe to the next."""
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    return max(steps) / np.abs(frames[len(frames) // 3] - frames[0]).mean()


#: Keyframe pairs of different scales: the issue's three, then two of our own choosing.
PAIRS = [
    ("sierpinski", "barnsley_fern"),
    ("koch_curve", "maple_leaf"),
    ("menger_sponge", "sierpinski_tetrahedron"),
    ("heighway_dragon", "tree"),
    ("twin_dragon", "sierpinski_carpet"),
]


def pair_figures(a: str, b: str, old: bool, n_frames: int = 48, size=(128, 128), n_points: int = 200_000) -> dict:
    """The issue's figures of a movie a -> b (and of the loop a -> b -> a): default options, or the old ones
    (one framing for the whole movie, time linear in t) with ``old``."""
    options = {"framing": "fixed", "pacing": "linear"} if old else {}
    found = {}
    for loop in (False, True):
        path = ifskit.KeyframePath([ifskit.catalog(a), ifskit.catalog(b)], loop=loop)
        plan = plan_movie(path, n_frames, size, n_points, 0, **options)
        found.update(movie_figures(render_movie_frames(plan, size, n_points, 0), loop=loop) if loop else
                     movie_figures(render_movie_frames(plan, size, n_points, 0)))  # fmt: skip
    return found


def print_pairs() -> list:
    """Print the table of :func:`pair_figures` before (old options) and after (defaults) for :data:`PAIRS`."""
    print("| pair | max/median change | smallest lit span | loop seam / median |")
    print("|---|---:|---:|---:|")
    rows = []
    for a, b in PAIRS:
        old, new = pair_figures(a, b, old=True), pair_figures(a, b, old=False)
        rows.append({"pair": f"{a} -> {b}", "old": old, "new": new})
        print(f"| {a} -> {b} | {old['max_over_median']:.2f} -> {new['max_over_median']:.2f} | "
              f"{old['min_span']:.2f} -> {new['min_span']:.2f} | "
              f"{old['seam_over_median']:.2f} -> {new['seam_over_median']:.2f} |")  # fmt: skip
    print()
    print("Targets: max/median <= 2, span >= 0.6, seam/median <= 2 (48 frames 128^2, 2e5 points, old -> default).")
    print()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 frames 256^2 with 5e5 points (a rough check)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    parser.add_argument("--pairs", action="store_true", help="also the pacing/framing/loop figures of keyframe pairs")
    args = parser.parse_args()
    pairs = print_pairs() if args.pairs else []
    n_frames, size, n_points = (30, (256, 256), 500_000) if args.quick else (120, (512, 512), 2_000_000)
    keyframes = [ifskit.catalog(name) for name in ("barnsley_fern", "maple_leaf", "heighway_dragon")]

    # warm up (compile, or load the compiled kernels from the cache)
    ifskit.render_image(keyframes[0], 64, 1000, progress=False)

    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "plain.mp4"
        start = time.perf_counter()
        baseline_movie(keyframes, plain, n_frames, size, n_points)
        plain_seconds = time.perf_counter() - start

        ours = Path(folder) / "ours.mp4"
        start = time.perf_counter()
        ifskit.make_movie(keyframes, ours, n_frames, size=size, n_points=n_points, loop=True, progress=False)
        seconds = time.perf_counter() - start
        smooth_plain, smooth_ours = smoothness(read_frames(plain)), smoothness(read_frames(ours))
        megabytes = ours.stat().st_size / 1e6

    label = f"{n_frames} frames {size[1]}x{size[0]}, {n_points:.0e} points/frame, MP4"
    print(f"# ifskit movie benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print()
    print("| case | seconds | frames/s | vs plain loop | smoothness (max step / keyframe change) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| plain loop: interpolate + render_image + write, {label} | {plain_seconds:.1f} | "
          f"{n_frames / plain_seconds:.1f} | 1.0x | {smooth_plain:.3f} |")  # fmt: skip
    print(f"| ifskit.make_movie, {label} | {seconds:.1f} | {n_frames / seconds:.1f} | "
          f"{plain_seconds / seconds:.1f}x | {smooth_ours:.3f} |")  # fmt: skip
    print()
    print(f"MP4 size: {megabytes:.1f} MB.")
    print()
    print("| target of the issue | measured | status |")
    print("|---|---:|---|")
    if args.quick:
        measured, status = f"{seconds:.1f} s (quick case)", "not measured (--quick runs a smaller case)"
    else:
        measured, status = f"{seconds:.1f} s", "met" if seconds <= TARGET_SECONDS else "not met"
    print(f"| 120 frames 512x512, 2e6 points/frame, MP4 included: <= 10 s | {measured} | {status} |")
    if args.json:
        figures = {
            "seconds": seconds,
            "plain_seconds": plain_seconds,
            "smoothness": smooth_ours,
            "plain_smoothness": smooth_plain,
            "megabytes": megabytes,
            "target_met": None if args.quick else seconds <= TARGET_SECONDS,
            "pairs": pairs,
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
