"""A looping movie: Barnsley fern -> maple leaf -> Heighway dragon -> fern, with the default options.

Run from the repository root::

    .venv/bin/python examples/movie_loop.py       # gallery/movie_loop.gif and gallery/movie_loop_strip.png
    .venv/bin/python examples/movie_loop.py -o loop.mp4 --size 512 --frames 180 --points 4e6

The three built-ins have very different sizes (the fern is 10 units tall, the dragon
about 1): the default framing follows each picture, the camera gliding between them.
The loop through three keyframes is one periodic spline (no turn at a keyframe nor at
the seam), and the frames are paced so that each changes the picture by the same
amount. The strip shows every sixth frame.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import ifskit
from ifskit.animate import movie_figures, plan_movie, render_movie_frames, write_movie


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="gallery/movie_loop.gif", help="movie file (.gif, .mp4) or folder")
    parser.add_argument("--strip", default="gallery/movie_loop_strip.png", help="PNG of every sixth frame")
    parser.add_argument("--size", type=int, default=160, help="frame size in pixels (default 160)")
    parser.add_argument("--frames", type=int, default=48, help="frames in the loop (default 48)")
    parser.add_argument("--points", type=float, default=6e5, help="points per frame (default 6e5)")
    parser.add_argument("--fps", type=float, default=12.0, help="frames per second (default 12)")
    args = parser.parse_args()

    keyframes = [ifskit.catalog(name) for name in ("barnsley_fern", "maple_leaf", "heighway_dragon")]
    path = ifskit.KeyframePath(keyframes, loop=True)
    size, n_points = (args.size, args.size), int(args.points)
    plan = plan_movie(path, args.frames, size, n_points, seed=0)
    frames = list(render_movie_frames(plan, size, n_points, seed=0))
    out = write_movie(frames, args.output, args.fps, overwrite=True, progress=False)
    Image.fromarray(np.concatenate(frames[::6], axis=1)).save(Path(args.strip))
    figures = movie_figures(frames, loop=True)
    print(f"wrote {out} and {args.strip}: largest step / median {figures['max_over_median']:.2f}, "
          f"seam / median {figures['seam_over_median']:.2f}, smallest lit span {figures['min_span']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
