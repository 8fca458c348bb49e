"""A looping movie: Barnsley fern -> maple leaf -> Heighway dragon -> fern.

Run from the repository root::

    .venv/bin/python examples/movie_loop.py                  # gallery/movie_loop.gif (small, for the README)
    .venv/bin/python examples/movie_loop.py -o loop.mp4 --size 512 --frames 180 --points 4e6

The three built-ins have very different sizes (the fern is 10 units tall, the dragon
about 1), so each keyframe is first conjugated to fill the same box: its attractor is
moved and scaled, its shape unchanged. The maps of consecutive keyframes are paired by
a Hungarian assignment (the dragon's 2 maps padded to 4 by duplication) and
interpolated geometrically, so every frame is a contractive IFS.
"""

from __future__ import annotations

import argparse

import numpy as np

import ifskit


def fill_box(ifs: ifskit.IFS, half_width: float = 1.0) -> ifskit.IFS:
    """The IFS conjugated so that its attractor is centred at 0 with its larger side ``2 * half_width``."""
    xmin, xmax, ymin, ymax = ifskit.render.tight_bounds(ifs)
    scale = 2.0 * half_width / max(xmax - xmin, ymax - ymin)
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
    return ifs.conjugate(scale * np.eye(2), -scale * centre)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="gallery/movie_loop.gif", help="movie file (.gif, .mp4) or folder")
    parser.add_argument("--size", type=int, default=160, help="frame size in pixels (default 160)")
    parser.add_argument("--frames", type=int, default=48, help="frames in the loop (default 48)")
    parser.add_argument("--points", type=float, default=6e5, help="points per frame (default 6e5)")
    parser.add_argument("--fps", type=float, default=12.0, help="frames per second (default 12)")
    args = parser.parse_args()

    keyframes = [fill_box(ifskit.catalog(name)) for name in ("barnsley_fern", "maple_leaf", "heighway_dragon")]
    out = ifskit.make_movie(
        keyframes, args.output, args.frames, fps=args.fps, size=args.size, n_points=int(args.points),
        loop=True, easing="smoothstep", overwrite=True,
    )  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
