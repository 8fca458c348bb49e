"""Movies of an interpolation path: coherent frames, and MP4, GIF or PNG-folder output.

Temporal coherence: every frame draws its points with the same seed (the chains'
random streams are the same, so points move rather than flicker). A cheap
low-resolution pass (:mod:`ifskit.animate.pacing`) places the frames so the visible
change per frame is even and frames each one by its own picture, the camera gliding
between them (:mod:`ifskit.animate.framing`). Brightness is each frame's own flam3
tone mapping: normalized by the mean count of the pixels hit, it does not jump when
the lit area grows or shrinks.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import struct
import sys
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._io import atomic_path, check_output
from .._parallel import default_threads
from ..errors import FormatError, OutputError, ParameterError
from ..render import Aggregate, tone_map
from ..render.aggregate import DensityJob, burn_in_steps
from ..render.chaos import chain_start, kernel_arrays
from ..render.frame import DEFAULT_VIEW, Frame, check_size, projection
from ..render.shade import surface_light, to_uint8
from .framing import check_framing, normalized, union_window, windows_at
from .pacing import Survey, frame_times, recalibrated, survey
from .palette import DEFAULT_PALETTE, colored_keyframes, palette_colors
from .path import KeyframePath

#: Movie outputs by suffix; any other path without a suffix (or ending in '/') is a PNG folder.
MOVIE_SUFFIXES = {".mp4": "mp4", ".gif": "gif"}
#: Pacing of a movie's frames along its path (see :func:`plan_movie`).
PACINGS = ("even", "linear")
#: Colouring of a movie's frames.
COLORINGS = ("density", "map")
#: Most frames of one movie (55 minutes at 30 frames per second): frames are rendered and
#: written one at a time, so memory does not grow with their number, but a plan holds a few
#: numbers per frame.
MAX_FRAMES = 100_000
#: Most pixels of all a GIF's frames together: Pillow holds every frame of a GIF until it is
#: written (one byte a pixel), so a GIF is bounded by its frames' pixels (e.g. 1900 frames of 512x512).
MAX_GIF_PIXELS = 500_000_000
# Passes of the even pacing that measure the change between the planned frames, and the largest
# side of each pass's pictures in pixels: a rough pass, then a finer one (together about a tenth
# of the movie's time at 512x512).
_RECALIBRATIONS = 2
_CHECK_PIXELS = (64, 128)
# Frames whose densest pixel has at most this many hits are shaded through a table of counts.
_MOST_SHADED_COUNTS = 1 << 20
# At most this many frames are checked (a long movie's frames are close together).
_MOST_CHECKS = 240
#: Frames per second of a movie: ffmpeg refuses a frame rate outside about this range.
FPS_RANGE = (0.01, 1000.0)


@dataclass
class MoviePlan:
    """Everything about a movie that is known before rendering a frame.

    Attributes
    ----------
    frames : list of IFS
        The IFS of each frame (the middle of its shutter).
    bounds : list of (xmin, xmax, ymin, ymax)
        The window of each frame (in the picture plane of 3D views).
    views : list of (elev, azim) or None
        Camera of each frame (3D), else None.
    times : ndarray, shape (n_frames,)
        Path time of each frame (``0 .. n_segments``; whole numbers are keyframes).
    subframes : list of list of IFS
        Motion blur: the IFS of each sub-frame of each frame (one per frame without blur).
    weights : ndarray, shape (motion_blur,)
        Weight of each sub-frame, summing to 1.
    survey : Survey
        The low-resolution pass (:func:`ifskit.animate.pacing.survey`).
    map_colors : bool
        Colour by map (the frames' IFS carry colours).
    depth_ranges : list of (near, far) or None
        3D: the depth range of each frame mapped to [0, 1] (from the survey, smoothed).
    """

    frames: list
    bounds: list
    views: list | None
    times: np.ndarray
    subframes: list
    weights: np.ndarray
    survey: Survey
    map_colors: bool = False
    depth_ranges: list | None = None


def movie_kind(path) -> str:
    """``"mp4"``, ``"gif"`` or ``"png"`` (a folder of PNGs) for an output path.

    Raises
    ------
    OutputError
        A suffix that is neither .mp4 nor .gif (a folder is given without a suffix, or with a trailing '/').
    """
    text = str(path)
    suffix = Path(text).suffix.lower()
    if text.endswith(("/", os.sep)):
        return "png"
    if suffix in MOVIE_SUFFIXES:  # a folder named movie.gif is refused by check_movie_output, never emptied
        return MOVIE_SUFFIXES[suffix]
    if not suffix or Path(text).is_dir():
        return "png"
    raise OutputError(
        f"{path}: unknown movie type {Path(text).suffix!r}; use .mp4, .gif, or a folder (no suffix) for PNG frames"
    )


def check_fps(fps: float) -> float:
    """``fps`` if it is within :data:`FPS_RANGE`, else a :class:`ParameterError`."""
    low, high = FPS_RANGE
    if not low <= fps <= high:  # NaN fails too
        raise ParameterError(f"fps (frames per second) must be from {low:g} to {high:g}, got {fps:g}", "fps")
    return float(fps)


def check_frame_count(n_frames: int, kind: str = "mp4", size=(1, 1)) -> int:
    """``n_frames`` if it is a whole number from 1 to :data:`MAX_FRAMES` (a GIF: :data:`MAX_GIF_PIXELS`).

    Raises
    ------
    ParameterError
    """
    if int(n_frames) != n_frames or not 1 <= n_frames <= MAX_FRAMES:
        raise ParameterError(
            f"n_frames (frames in the movie) must be from 1 to {MAX_FRAMES:,}, got {n_frames}", "n_frames"
        )
    if kind == "gif" and n_frames * size[0] * size[1] > MAX_GIF_PIXELS:
        most = MAX_GIF_PIXELS // (size[0] * size[1])
        raise ParameterError(
            f"n_frames: a GIF is held in memory until written, at {size[1]}x{size[0]} it takes at most {most:,} "
            f"frames, got {n_frames:,} (write an MP4 or PNG frames instead)",
            "n_frames",
        )
    return int(n_frames)


def check_movie_output(path, size, overwrite: bool = False, *, n_frames: int | None = None) -> str:
    """Check a movie output before any rendering; returns its kind (see :func:`movie_kind`).

    Parameters
    ----------
    path : str or Path
    size : (H, W)
        Frame size; MP4 (H.264, yuv420p) needs even width and height.
    overwrite : bool
    n_frames : int, optional
        Checked against :data:`MAX_FRAMES` (and :data:`MAX_GIF_PIXELS` for a GIF).

    Raises
    ------
    OutputError
        Unknown suffix, a folder where a file is asked (or the reverse), an existing output
        without ``overwrite``, odd MP4 size.
    ParameterError
        Too many frames.
    """
    kind = movie_kind(path)
    if n_frames is not None:
        check_frame_count(n_frames, kind, size)
    path = Path(path)
    if kind == "png":
        if path.exists() and not path.is_dir():
            raise OutputError(f"{path}: is a file, not a folder for PNG frames")
        if not path.parent.is_dir():
            raise OutputError(f"{path}: the folder {str(path.parent)!r} does not exist")
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            raise OutputError(f"{path}: the folder exists and is not empty (use --overwrite to replace it)")
        return kind
    check_output(path, overwrite, set(MOVIE_SUFFIXES))
    if kind == "mp4" and (size[0] % 2 or size[1] % 2):
        raise OutputError(f"{path}: MP4 (H.264, yuv420p) needs an even width and height, got {size[1]}x{size[0]}")
    return kind


def plan_movie(
    path: KeyframePath,
    n_frames: int,
    size,
    n_points: int,
    seed: int = 0,
    *,
    pingpong: bool = False,
    view=None,
    turn: float = 0.0,
    framing: str = "follow",
    pacing: str = "even",
    motion_blur: int = 1,
    blur: str = "box",
    gamma: float = 2.2,
    cmap: str = "inferno",
    threads: int | None = None,
) -> MoviePlan:
    """Frame IFS, times, framing and cameras of a movie along ``path``.

    Parameters
    ----------
    path : KeyframePath
        Its easing applies on top of the pacing. With ``framing="normalize"`` the
        keyframes should be :func:`~ifskit.animate.framing.normalized` (as
        :func:`make_movie` does).
    n_frames : int
    size : (H, W)
    n_points : int
        Points per frame (shared by its motion-blur sub-frames).
    seed : int
        The same for every frame.
    pingpong : bool
        Go through the keyframes and back within ``n_frames``.
    view : (elev, azim) in degrees, optional
        3D: camera of the first frame (default (30, -60)).
    turn : float
        3D: degrees the camera turns about the z axis over the movie (seamless for 360
        with a looped path).
    framing : {"follow", "fixed", "normalize"}
        See :mod:`ifskit.animate.framing`.
    pacing : {"even", "linear"}
        ``even``: the same visible change per frame (measured on a low-resolution
        pass); ``linear``: the same step of path time.
    motion_blur : int
        Sub-frames per frame, spread over one frame interval.
    blur : {"box", "gaussian"}
        Weights of the sub-frames.
    gamma, cmap : float, str
        Shading of the pacing's change measure (as the movie's).
    threads : int, optional
        Threads of the pacing's renders.

    Raises
    ------
    NonContractiveError
        When a frame's IFS is not contractive on average (its chaos game diverges).
    ParameterError
        Unknown framing, pacing or blur weights; ``motion_blur`` below 1.
    """
    check_framing(framing)
    if pacing not in PACINGS:
        raise ParameterError(f"unknown pacing {pacing!r}; use one of {', '.join(PACINGS)}", "pacing")
    check_frame_count(n_frames)
    if int(motion_blur) != motion_blur or motion_blur < 1:
        raise ParameterError(f"motion_blur (sub-frames per frame) must be a positive integer, got {motion_blur}",
                             "motion_blur")  # fmt: skip
    if motion_blur > n_points:
        raise ParameterError(f"motion_blur ({motion_blur}) exceeds the points per frame ({n_points})", "motion_blur")
    n_segments = len(path.segments)
    if path.dim == 2:
        if view is not None or turn:
            raise ParameterError("view (a camera's elevation, azimuth, turn) applies to 3D IFS only", "view")
        view_at = None
    else:
        elev, azim = DEFAULT_VIEW if view is None else view
        # the survey's camera at a path time: that of the frame there if paced linearly
        span = n_frames if (path.loop or pingpong) else max(n_frames - 1, 1)

        def view_at(u):
            return (elev, azim + turn * (u / n_segments) * span / n_frames)

    found = survey(path, size, seed=seed, gamma=gamma, view_at=view_at)

    def timing(found):
        return frame_times(found, n_frames, easing=path.easing, pingpong=pingpong, even=pacing == "even",
                           motion_blur=motion_blur, blur=blur)  # fmt: skip

    def framing_at(times, size):
        if framing == "follow":
            return windows_at(times, found.u, found.low, found.high, size)
        return [union_window(found.raw_low, found.raw_high, size)] * len(times)

    def depth_at(times):
        if path.dim == 2:
            return None
        return [found.depth_at(u if framing == "follow" else None) for u in times]

    times, sub_times, weights = timing(found)
    if pacing == "even" and n_frames >= 3:
        # the survey's samples are coarse where the picture changes fast: measure the change between
        # the frames themselves (at a lower resolution, as shaded) and pace again, twice
        for check in range(_RECALIBRATIONS):
            knots = np.unique(np.mod(times, n_segments) if path.loop else times)
            if len(knots) > _MOST_CHECKS:  # a long movie: every few frames (and the last) are enough
                last = knots[-1]
                knots = knots[:: -(-len(knots) // _MOST_CHECKS)]
                knots = knots if path.loop or knots[-1] == last else np.append(knots, last)
            small, share = _check_raster(size, n_points, _CHECK_PIXELS[check])
            pictures = [
                shade_frame(_frame_aggregate(path.at(u, matched=True), small, share, seed, window,
                                             None if view_at is None else view_at(u), depth, threads=threads),
                            cmap=cmap, gamma=gamma).astype(float)
                for u, window, depth in zip(knots, framing_at(knots, small), depth_at(knots) or [None] * len(knots))
            ]  # fmt: skip
            if path.loop:
                pictures.append(pictures[0])
            chords = np.array([np.abs(b - a).mean() for a, b in zip(pictures, pictures[1:])])
            found = recalibrated(found, knots, chords)
            times, sub_times, weights = timing(found)
    frames = [path.at(u, matched=True) for u in times]
    subframes = (
        [[path.at(u, matched=True) for u in row] for row in sub_times] if motion_blur > 1 else [[f] for f in frames]
    )
    for row in subframes:
        for ifs in row:
            ifs.check_contractive()
    views = None if view_at is None else [(elev, azim + turn * i / n_frames) for i in range(n_frames)]
    colored = all(k.colors is not None for k in path.keyframes)
    return MoviePlan(frames, framing_at(times, size), views, times, subframes, weights, found, colored,
                     depth_at(times))  # fmt: skip


def _check_raster(size, n_points: int, pixels: int) -> tuple[tuple[int, int], int]:
    """Raster and points of the pacing's check of the frames: at most ``pixels`` on a side, as many
    points per pixel as the movie (the texture the viewer sees), at most ``n_points``."""
    height, width = size
    scale = min(1.0, pixels / max(height, width))
    small = (max(8, int(round(height * scale))), max(8, int(round(width * scale))))
    share = int(np.clip(n_points * small[0] * small[1] / (height * width), min(n_points, 20_000), n_points))
    return small, share


def _frame_aggregate(ifs, size, n_points, seed, bounds, view, depth_range, *, map_colors=None, threads=None):
    """:func:`ifskit.render.aggregate` of one frame, whose window (and 3D depth range) the plan gives.

    :func:`~ifskit.render.aggregate` finds the attractor's extent along the camera's axes for
    every render, even in a given window (for its burn-in, its float precision and, in 3D,
    the depth range): here about as long as binning the frame's points, and up to half of the
    movie's time. The movie knows its windows and depth ranges from its survey (the depth range
    smoothed over time, so that depth colours glide with the camera) and bins the same
    :class:`~ifskit.render.aggregate.DensityJob` with them, in float64 with
    :func:`~ifskit.render.aggregate.burn_in_steps`: the counts of
    ``ifskit.density(..., precision="float64")`` (tested).
    """
    frame = Frame(tuple(float(v) for v in bounds), tuple(size), (0.0, 1.0) if depth_range is None else depth_range)
    A, b = kernel_arrays(ifs)
    job = DensityJob(
        A=A, b=b, p=np.array(ifs.p), start=chain_start(ifs),
        view_matrix=frame.view_matrix(ifs.dim, projection(ifs, view)),
        size=tuple(size), n_points=n_points, seed=int(seed),
        colors255=None if map_colors is None else np.asarray(map_colors, dtype=float) * 255.0,
        precision="float64", burn_in=burn_in_steps(ifs.contraction, size),
    )  # fmt: skip
    total, depth_total, color_total = job.bin_chunks(0, job.n_chunks, default_threads(threads))
    return Aggregate(
        counts=total, bounds=frame.bounds, n_points=n_points, depth=None if depth_total is None else depth_total / 65535.0,
        depth_scale=frame.depth_scale,
        color=None if color_total is None else color_total / np.maximum(total, 1)[..., None] / 255.0,
    )  # fmt: skip


def tone_figures(counts: np.ndarray) -> tuple[float, float]:
    """``(expected, top)`` of the flam3 tone mapping of :func:`ifskit.render.tone_map`.

    ``expected`` is the mean count of the pixels hit, ``top`` the largest
    ``log(1 + counts / expected)``; with these, :func:`shade_frame` gives exactly
    :func:`ifskit.render.shade`'s picture.

    Parameters
    ----------
    counts : ndarray, shape (H, W)
    """
    counts = np.asarray(counts, dtype=float)
    hit = counts > 0
    if not hit.any():
        return 1.0, 1.0
    expected = counts[hit].mean()
    return float(expected), float(np.log1p(counts.max() / expected))


def check_shading(cmap: str = "inferno", gamma: float = 2.2, background="black") -> tuple:
    """Check shading options before rendering.

    Returns
    -------
    colormap : matplotlib.colors.Colormap
    background : ndarray, shape (3,)
        RGB in [0, 1].

    Raises
    ------
    FormatError
        Unknown colormap or colour, gamma not positive.
    """
    import matplotlib
    from matplotlib.colors import to_rgb

    if not gamma > 0:
        raise ParameterError(f"gamma must be positive, got {gamma}", "gamma")
    try:
        colormap = matplotlib.colormaps[cmap]
    except KeyError:
        raise ParameterError(f"cmap: unknown colormap {cmap!r} (any matplotlib colormap name works)", "cmap") from None
    try:
        return colormap, np.array(to_rgb(background))
    except ValueError:
        raise ParameterError(f"background: unknown colour {background!r}", "background") from None


@functools.lru_cache(maxsize=16)
def _shading_tables(cmap: str, gamma: float, background) -> tuple[np.ndarray, np.ndarray]:
    """The colormap's own table, shape (N, 3), indexed as ``Colormap.__call__`` indexes it (much faster
    than the call), and the background RGB; checked, once per shading of a movie."""
    colormap, back = check_shading(cmap, gamma, background)
    table = colormap(np.arange(colormap.N))[:, :3]
    table.setflags(write=False)
    back.setflags(write=False)
    return table, back


def shade_frame(
    agg, *, cmap: str = "inferno", gamma: float = 2.2, background="black", bit_depth: int = 8
) -> np.ndarray:
    """Shade an aggregate as :func:`ifskit.render.shade` does, to 8- or 16-bit RGB.

    Brightness is the frame's own flam3 tone mapping (:func:`ifskit.render.tone_map`):
    ``log(1 + counts / expected)`` with ``expected`` the mean count of the pixels hit,
    so a frame whose lit area grows or shrinks keeps its brightness. Density through
    ``cmap``; with ``agg.color`` the map colours; 3D views coloured by depth and lit.

    Parameters
    ----------
    agg : Aggregate
        ``counts`` may be float (weighted motion-blur sub-frames).
    cmap, gamma, background
        As in :func:`ifskit.render.shade`.
    bit_depth : {8, 16}

    Returns
    -------
    ndarray, shape (H, W, 3), uint8 or uint16
    """
    table, back = _shading_tables(cmap, gamma, background if isinstance(background, str) else tuple(background))
    counts = agg.counts
    by_count = _alpha_by_count(counts, gamma)
    if by_count is not None and agg.color is None and agg.depth is None:
        # a pixel's colour depends on its count only: shade each count once, then look the frame up
        return _density_rgb(by_count, table, back, bit_depth)[counts]
    alpha = tone_map(np.asarray(counts, dtype=float), gamma) if by_count is None else by_count[counts]
    if agg.color is None and agg.depth is None:
        return _density_rgb(alpha, table, back, bit_depth)
    hit = counts > 0
    n_colors = len(table)
    if agg.color is not None:
        rgb = np.asarray(agg.color, dtype=float)
    else:  # as shade(): colour by nearness
        rgb = table[np.minimum(((0.2 + 0.8 * agg.depth) * n_colors).astype(np.intp), n_colors - 1)]
    if agg.depth is not None:  # as shade(): faint surfaces lifted, lit from the upper left
        rgb = rgb * surface_light(agg.depth, agg.depth_scale, hit)[..., None]
        alpha = np.where(hit, np.sqrt(alpha), 0.0)
    return _blend(alpha, rgb, back, bit_depth)


def _alpha_by_count(counts: np.ndarray, gamma: float) -> np.ndarray | None:
    """:func:`ifskit.render.tone_map` of each count ``0 .. counts.max()`` of this frame, shape (max + 1,).

    The same numbers, elementwise, as tone-mapping every pixel, for a fraction of the work (a frame
    has far fewer distinct counts than pixels). None for float counts (motion blur), an empty
    frame, or more than :data:`_MOST_SHADED_COUNTS` hits in a pixel.
    """
    if counts.dtype.kind not in "iu":
        return None
    top = int(counts.max())
    if not 0 < top <= _MOST_SHADED_COUNTS:
        return None
    expected = counts[counts > 0].astype(float).mean()  # as tone_map: the mean count of the pixels hit
    level = np.log1p(np.arange(top + 1) / expected)
    return (level / level[-1]) ** (1.0 / gamma)


def _density_rgb(alpha: np.ndarray, table: np.ndarray, back: np.ndarray, bit_depth: int) -> np.ndarray:
    """Brightness ``alpha`` (any shape) through the colormap ``table`` over the background, shape (..., 3)."""
    n_colors = len(table)
    return _blend(alpha, table[np.minimum((alpha * n_colors).astype(np.intp), n_colors - 1)], back, bit_depth)


def _blend(alpha: np.ndarray, rgb: np.ndarray, back: np.ndarray, bit_depth: int) -> np.ndarray:
    """``alpha * rgb + (1 - alpha) * back`` as 8- or 16-bit integers."""
    out = alpha[..., None] * rgb + (1.0 - alpha[..., None]) * back
    if bit_depth == 16:
        return np.round(np.clip(out, 0.0, 1.0) * 65535.0).astype(np.uint16)
    return to_uint8(out)


def sub_seed(seed: int, index: int) -> int:
    """Seed of motion-blur sub-frame ``index``: ``seed`` itself for the first, the same in every frame."""
    if index == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def render_frame(plan: MoviePlan, i: int, size, n_points: int, seed: int = 0, *, threads: int | None = None):
    """The aggregate of frame ``i``: its sub-frames' counts weighted, same points in all.

    Returns
    -------
    Aggregate
        Float counts with motion blur (scaled to a full frame's points).
    """
    view = None if plan.views is None else plan.views[i]
    row = plan.subframes[i]
    n = len(row)
    shares = [n_points // n + (j < n_points % n) for j in range(n)]
    depth = None if plan.depth_ranges is None else plan.depth_ranges[i]
    parts = [
        _frame_aggregate(
            ifs,
            size,
            share,
            sub_seed(seed, j),
            plan.bounds[i],
            view,
            depth,
            map_colors=ifs.colors if plan.map_colors else None,
            threads=threads,
        )  # fmt: skip
        for j, (ifs, share) in enumerate(zip(row, shares))
    ]
    if n == 1:
        return parts[0]
    # weighted so that a full frame's worth of points lands, whatever the weights
    scales = [w * n_points / share for w, share in zip(plan.weights, shares)]
    counts = sum(scale * part.counts.astype(float) for scale, part in zip(scales, parts))
    color = None
    if plan.map_colors:
        total = sum(scale * part.counts[..., None] * part.color for scale, part in zip(scales, parts))
        color = total / np.maximum(counts, 1e-300)[..., None]
    depth = None
    if parts[0].depth is not None:  # the nearest surface of any sub-frame
        depth = np.max([part.depth for part in parts], axis=0)
    first = parts[0]
    return Aggregate(counts=counts, bounds=first.bounds, n_points=n_points, depth=depth, color=color,
                     depth_scale=first.depth_scale)  # fmt: skip


def render_movie_frames(
    plan: MoviePlan,
    size,
    n_points: int,
    seed: int = 0,
    *,
    cmap: str = "inferno",
    gamma: float = 2.2,
    background="black",
    bit_depth: int = 8,
    threads: int | None = None,
) -> Iterator[np.ndarray]:
    """Render the frames of a planned movie, one at a time.

    Yields
    ------
    ndarray, shape (H, W, 3), uint8 (uint16 with ``bit_depth=16``)
        RGB frames in order.
    """
    from concurrent.futures import ThreadPoolExecutor

    if bit_depth not in (8, 16):
        raise ParameterError(f"bit_depth must be 8 or 16, got {bit_depth}", "bit_depth")

    def render(i):
        return render_frame(plan, i, size, n_points, seed, threads=threads)

    # the chaos game of the next frame runs (without the GIL) while this one is shaded and encoded
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(render, 0)
        for i in range(len(plan.frames)):
            agg = pending.result()
            if i + 1 < len(plan.frames):
                pending = pool.submit(render, i + 1)
            yield shade_frame(agg, cmap=cmap, gamma=gamma, background=background, bit_depth=bit_depth)


def write_movie(frames, path, fps: float = 30.0, *, n_frames: int | None = None, overwrite: bool = False,
                progress: bool | None = None) -> Path:  # fmt: skip
    """Write RGB frames as an MP4 (H.264, yuv420p), a GIF, or a folder of PNGs, atomically.

    The movie is written to a temporary file (or folder) beside ``path`` and renamed
    onto it only when every frame is written: a failure leaves no partial movie.

    Parameters
    ----------
    frames : iterable of ndarray, shape (H, W, 3), uint8
    path : str or Path
        ``.mp4``, ``.gif``, or a folder (see :func:`movie_kind`).
    fps : float
        Frames per second.
    n_frames : int, optional
        For the progress bar.
    overwrite : bool
        Replace an existing movie (or non-empty folder).
    progress : bool, optional
        Progress bar; default when stderr is a terminal.

    Returns
    -------
    Path
    """
    check_fps(fps)
    kind = movie_kind(path)
    path = Path(path)
    if progress is None:
        progress = sys.stderr.isatty()
    if progress:
        from tqdm.auto import tqdm

        frames = tqdm(frames, total=n_frames, desc="frames", unit="frame", leave=False)
    if kind == "png":
        return _write_png_folder(frames, path, overwrite)
    frames = (_as_8bit(frame) for frame in frames)
    with atomic_path(path, overwrite) as tmp:
        if kind == "mp4":
            _write_mp4(frames, tmp, fps, path)
        else:
            _write_gif(frames, tmp, fps)
    return path


def _as_8bit(frame: np.ndarray) -> np.ndarray:
    """MP4 and GIF hold 8 bits a channel: a 16-bit frame is rounded to them."""
    if frame.dtype == np.uint16:
        return ((frame.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    return frame


def _write_mp4(frames, path: Path, fps: float, output: Path) -> None:
    """H.264 through ffmpeg's standard input; ffmpeg's exit status is checked (a frame rate or a
    disk it refuses is an :class:`OutputError` with its last message line, never a silent empty file).

    Constant quality (CRF 20) with x264's ``veryfast`` preset: on these frames it takes less than
    half the CPU of ``fast`` for a file no larger (2.2 against 2.5 MB for 120 frames 512x512).
    """
    import subprocess

    import imageio_ffmpeg

    process = None
    with tempfile.TemporaryFile() as log:  # ffmpeg's messages: a file, so that a full pipe never blocks it
        try:
            for frame in frames:
                if process is None:  # the size comes with the first frame
                    height, width = frame.shape[:2]
                    command = [
                        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo",
                        "-vcodec", "rawvideo", "-s", f"{width}x{height}", "-pix_fmt", "rgb24", "-r", f"{fps:.6g}",
                        "-i", "-", "-an", "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", "20",
                        "-preset", "veryfast", "-f", "mp4", str(path),
                    ]  # fmt: skip
                    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
                try:
                    process.stdin.write(np.ascontiguousarray(frame).tobytes())
                except BrokenPipeError:  # ffmpeg stopped: its status and message say why
                    break
        finally:
            if process is not None:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
                status = process.wait()
        if process is None:
            raise FormatError("a movie needs at least one frame")
        if status != 0:
            log.seek(0)
            lines = [line.strip() for line in log.read().decode(errors="replace").splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit status {status}"
            raise OutputError(f"{output}: ffmpeg could not write the movie: {reason}")


def _write_gif(frames, path: Path, fps: float) -> None:
    from PIL import Image

    # each frame gets its own palette; a GIF counts time in hundredths of a second
    images = [Image.fromarray(frame, mode="RGB").quantize(colors=255) for frame in frames]
    if not images:
        raise FormatError("a movie needs at least one frame")
    duration = max(20, int(round(100.0 / fps)) * 10)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)


def _write_png_folder(frames, path: Path, overwrite: bool) -> Path:
    """PNG frames into a temporary folder beside ``path``, renamed onto it at the end."""
    from PIL import Image

    parent = path.parent if str(path.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent))
    try:
        count = 0
        for count, frame in enumerate(frames, start=1):
            if frame.dtype == np.uint16:
                _write_png16(frame, tmp / f"frame_{count - 1:05d}.png")
            else:
                Image.fromarray(frame, mode="RGB").save(tmp / f"frame_{count - 1:05d}.png", format="PNG")
        if count == 0:
            raise FormatError("a movie needs at least one frame")
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; an output is an ordinary folder
        if path.exists():
            if any(path.iterdir()) and not overwrite:
                raise OutputError(f"{path}: the folder exists and is not empty (use --overwrite to replace it)")
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=parent))
            os.replace(path, old / "replaced")
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return path


def _write_png16(frame: np.ndarray, path: Path) -> None:
    """A 16-bit RGB PNG (Pillow writes 16 bits for grey images only), shape (H, W, 3) uint16."""
    height, width = frame.shape[:2]
    rows = np.ascontiguousarray(frame.astype(">u2")).reshape(height, width * 3)
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rows.view(np.uint8)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)  # 16 bits, truecolour
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    path.write_bytes(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_movie(
    keyframes,
    output,
    n_frames: int = 120,
    *,
    fps: float = 30.0,
    size=(512, 512),
    n_points: int = 2_000_000,
    seed: int = 0,
    method: str = "geometric",
    easing: str = "linear",
    loop: bool = False,
    pingpong: bool = False,
    framing: str = "follow",
    pacing: str = "even",
    motion_blur: int = 1,
    blur: str = "box",
    color: str = "density",
    palette: str = DEFAULT_PALETTE,
    bit_depth: int = 8,
    view=None,
    turn: float = 0.0,
    cmap: str = "inferno",
    gamma: float = 2.2,
    background="black",
    threads: int | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
) -> Path:
    """Render the interpolation through ``keyframes`` as a movie.

    Parameters
    ----------
    keyframes : sequence of IFS
        Two or more, one dimension.
    output : str or Path
        ``.mp4`` (H.264), ``.gif``, or a folder for PNG frames.
    n_frames : int
        Frames in the movie.
    fps, size, n_points, seed
        Frames per second, frame size (H, W) or N, points per frame, the seed of every frame.
    method : {"geometric", "log", "linear"}
        Interpolation of the maps, see :class:`Morph`.
    easing, loop
        See :class:`KeyframePath`; easing applies on top of the pacing.
    pingpong, framing, pacing, motion_blur, blur, view, turn
        See :func:`plan_movie`; ``normalize`` conjugates each keyframe into the unit box first.
    color : {"density", "map"}
        ``map``: each map's colour (from ``palette``) stays with it through the matching.
    palette : str
        Colours of the maps (any matplotlib colormap name; default tab10).
    bit_depth : {8, 16}
        16: 16-bit PNG frames (a folder output only).
    cmap, gamma, background
        Shading, as in :func:`ifskit.render.shade`.
    threads : int, optional
    overwrite, progress
        See :func:`write_movie`.

    Returns
    -------
    Path
        The movie written.

    Examples
    --------
    >>> import ifskit
    >>> keys = [ifskit.catalog(n) for n in ("barnsley_fern", "maple_leaf")]
    >>> ifskit.make_movie(keys, "morph.mp4", 60, size=256, n_points=500_000)  # doctest: +SKIP
    """
    size = check_size(size)
    kind = check_movie_output(output, size, overwrite)
    check_shading(cmap, gamma, background)
    check_framing(framing)
    if color not in COLORINGS:
        raise ParameterError(f"unknown colouring {color!r}; use one of {', '.join(COLORINGS)}", "color")
    palette_colors(palette, 1)
    if bit_depth not in (8, 16):
        raise ParameterError(f"bit_depth must be 8 or 16, got {bit_depth}", "bit_depth")
    if bit_depth == 16 and kind != "png":
        raise ParameterError(f"16-bit frames need a folder of PNGs, not {kind.upper()}", "bit_depth")
    keyframes = list(keyframes)
    if loop and len(keyframes) < 2:
        raise ParameterError("a loop needs at least two keyframes", "loop")
    if framing == "normalize":
        keyframes = [normalized(k) for k in keyframes]
    if color == "map":
        keyframes = colored_keyframes(keyframes, palette)
    path = KeyframePath(keyframes, method, loop, easing)
    plan = plan_movie(
        path, n_frames, size, n_points, seed, pingpong=pingpong, view=view, turn=turn, framing=framing,
        pacing=pacing, motion_blur=motion_blur, blur=blur, gamma=gamma, cmap=cmap, threads=threads,
    )  # fmt: skip
    frames = render_movie_frames(
        plan, size, n_points, seed, cmap=cmap, gamma=gamma, background=background, bit_depth=bit_depth,
        threads=threads,
    )  # fmt: skip
    return write_movie(frames, output, fps, n_frames=n_frames, overwrite=overwrite, progress=progress)
