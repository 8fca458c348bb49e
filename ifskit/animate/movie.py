"""Movies of an interpolation path: coherent frames, and MP4, GIF or PNG-folder output.

Temporal coherence: every frame draws its points with the same seed (the chains'
random streams are the same, so points move rather than flicker), one window frames
all frames (the union of their extents), and the tone mapping's two figures (the
mean count of hit pixels and the top log level) come from the keyframes and are
interpolated between them instead of being taken from each frame.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._io import atomic_path, check_output
from ..errors import FormatError, OutputError, ParameterError
from ..render import aggregate, extent_sample
from ..render.frame import DEFAULT_VIEW, check_size, fit_window, projection
from ..render.shade import surface_light, to_uint8
from .interpolate import KeyframePath

#: Movie outputs by suffix; any other path without a suffix (or ending in '/') is a PNG folder.
MOVIE_SUFFIXES = {".mp4": "mp4", ".gif": "gif"}
# Frames at most whose extents are measured to frame a movie (see _framing_sample).
_FRAMING_FRAMES = 40


@dataclass
class MoviePlan:
    """Everything about a movie that is known before rendering a frame.

    Attributes
    ----------
    frames : list of IFS
        The IFS of each frame.
    bounds : (xmin, xmax, ymin, ymax)
        The window of every frame (in the picture plane of 3D views).
    views : list of (elev, azim) or None
        Camera of each frame (3D), else None.
    tone : ndarray, shape (n_frames, 2)
        ``(expected, top)`` of each frame's tone mapping: brightness is
        ``(log(1 + counts / expected) / top) ** (1 / gamma)``, clipped to [0, 1].
    keyframe_renders : dict
        Frame index -> its :class:`~ifskit.render.aggregate.Aggregate`, for frames on a keyframe
        (rendered while planning the tone mapping, not rendered twice).
    """

    frames: list
    bounds: tuple
    views: list | None
    tone: np.ndarray
    keyframe_renders: dict


def movie_kind(path) -> str:
    """``"mp4"``, ``"gif"`` or ``"png"`` (a folder of PNGs) for an output path.

    Raises
    ------
    OutputError
        A suffix that is neither .mp4 nor .gif (a folder is given without a suffix, or with a trailing '/').
    """
    text = str(path)
    suffix = Path(text).suffix.lower()
    if text.endswith(("/", os.sep)) or not suffix or Path(text).is_dir():
        return "png"
    if suffix not in MOVIE_SUFFIXES:
        raise OutputError(
            f"{path}: unknown movie type {Path(text).suffix!r}; use .mp4, .gif, or a folder (no suffix) for PNG frames"
        )
    return MOVIE_SUFFIXES[suffix]


def check_movie_output(path, size, overwrite: bool = False) -> str:
    """Check a movie output before any rendering; returns its kind (see :func:`movie_kind`).

    Parameters
    ----------
    path : str or Path
    size : (H, W)
        Frame size; MP4 (H.264, yuv420p) needs even width and height.
    overwrite : bool
    """
    kind = movie_kind(path)
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
    threads: int | None = None,
) -> MoviePlan:
    """Frame IFS, framing, cameras and tone mapping of a movie along ``path``.

    Parameters
    ----------
    path : KeyframePath
    n_frames : int
    size : (H, W)
    n_points : int
        Points per frame.
    seed : int
        The same for every frame.
    pingpong : bool
        See :meth:`KeyframePath.frame_positions`.
    view : (elev, azim) in degrees, optional
        3D: camera of the first frame (default (30, -60)).
    turn : float
        3D: degrees the camera turns about the z axis over the movie (seamless for 360
        with a looped path).
    threads : int, optional

    Raises
    ------
    NonContractiveError
        When a frame's IFS is not contractive on average (its chaos game diverges).
    """
    positions = path.frame_positions(n_frames, pingpong)
    frames = [path.segments[s](path.eased(num, den)) for s, num, den in positions]
    for ifs in frames:
        ifs.check_contractive()
    if path.dim == 2:
        if view is not None or turn:
            raise ParameterError("view (a camera's elevation, azimuth, turn) applies to 3D IFS only", "view")
        views = None
    else:
        elev, azim = DEFAULT_VIEW if view is None else view
        views = [(elev, azim + turn * i / n_frames) for i in range(n_frames)]
    lows, highs = [], []
    for i in _framing_sample(positions):
        ifs = frames[i]
        sample = extent_sample(ifs)
        if views is not None:
            sample = sample @ projection(ifs, views[i]).T
        low, high = ifs.extent_of(sample[:, :2])
        lows.append(low)
        highs.append(high)
    low, high = np.min(lows, axis=0), np.max(highs, axis=0)
    bounds = fit_window((low[0], high[0]), (low[1], high[1]), size)

    # tone figures of the keyframes, then interpolated (log-linearly) at every frame; a keyframe
    # that is a frame is rendered as that frame, one between frames where it is passed
    n_keys = len(path.keyframes)
    ends = [(segment, (segment + 1) % n_keys) for segment, _, _ in positions]
    keyframe_renders, keyframe_tone = {}, {}
    on_keyframe = [(i, ends[i][0], 0) for i, (_, num, _) in enumerate(positions) if num == 0]
    on_keyframe += [(i, ends[i][1], 1) for i, (_, num, den) in enumerate(positions) if num == den]
    passed = [(i, key, t) for i, (first, second) in enumerate(ends) for key, t in ((first, 0), (second, 1))]
    for i, key, t in on_keyframe + passed:
        if key in keyframe_tone:
            continue
        keyframe = path.segments[positions[i][0]](t)
        frame_view = None if views is None else views[i]
        agg = aggregate(keyframe, size, n_points, seed, bounds, view=frame_view, threads=threads, progress=False)
        keyframe_tone[key] = tone_figures(agg.counts)
        if (i, key, t) in on_keyframe:
            keyframe_renders[i] = agg
    tone = np.empty((n_frames, 2))
    for i, (_, numerator, denominator) in enumerate(positions):
        t = path.eased(numerator, denominator)
        log_start, log_end = np.log(keyframe_tone[ends[i][0]]), np.log(keyframe_tone[ends[i][1]])
        tone[i] = np.exp((1 - t) * log_start + t * log_end)
    return MoviePlan(frames, bounds, views, tone, keyframe_renders)


def _framing_sample(positions) -> list[int]:
    """Frames whose extents frame the movie: every keyframe on a frame, and evenly spaced others.

    An extent sample costs tens of milliseconds; the extent changes smoothly between
    keyframes and the window has a margin, so at most :data:`_FRAMING_FRAMES` frames are measured.
    """
    stride = max(1, len(positions) // _FRAMING_FRAMES)
    keys = {i for i, (_, num, den) in enumerate(positions) if num in (0, den)}
    return sorted(keys | set(range(0, len(positions), stride)) | {len(positions) - 1})


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


def shade_frame(
    agg, expected: float, top: float, cmap: str = "inferno", gamma: float = 2.2, background="black"
) -> np.ndarray:
    """Shade an aggregate with given tone figures (figures interpolated between keyframes, not the frame's own).

    As :func:`ifskit.render.shade` (density through ``cmap``; 3D views coloured by depth
    and lit), except that brightness is ``(log(1 + counts / expected) / top) ** (1 / gamma)``
    with the given figures instead of the frame's own.

    Parameters
    ----------
    agg : Aggregate
    expected, top : float
        From :func:`tone_figures`, interpolated between keyframes.
    cmap, gamma, background
        As in :func:`ifskit.render.shade`.

    Returns
    -------
    ndarray, shape (H, W, 3), uint8
    """
    colormap, back = check_shading(cmap, gamma, background)
    counts = np.asarray(agg.counts, dtype=float)
    alpha = np.clip(np.log1p(counts / expected) / top, 0.0, 1.0) ** (1.0 / gamma)
    # the colormap's own table, indexed as Colormap.__call__ indexes it (much faster than the call)
    table = colormap(np.arange(colormap.N))[:, :3]
    if agg.depth is None:
        rgb = table[np.minimum((alpha * colormap.N).astype(np.intp), colormap.N - 1)]
    else:  # as shade(): colour by nearness, faint surfaces lifted, lit from the upper left
        hit = counts > 0
        nearness = np.minimum(((0.2 + 0.8 * agg.depth) * colormap.N).astype(np.intp), colormap.N - 1)
        rgb = table[nearness] * surface_light(agg.depth, agg.depth_scale, hit)[..., None]
        alpha = np.where(hit, np.sqrt(alpha), 0.0)
    out = alpha[..., None] * rgb + (1.0 - alpha[..., None]) * back
    return to_uint8(out)


def render_movie_frames(
    plan: MoviePlan,
    size,
    n_points: int,
    seed: int = 0,
    *,
    cmap: str = "inferno",
    gamma: float = 2.2,
    background="black",
    threads: int | None = None,
) -> Iterator[np.ndarray]:
    """Render the frames of a planned movie, one at a time.

    Yields
    ------
    ndarray, shape (H, W, 3), uint8
        RGB frames in order.
    """
    from concurrent.futures import ThreadPoolExecutor

    def render(i):
        agg = plan.keyframe_renders.pop(i, None)
        if agg is None:
            view = None if plan.views is None else plan.views[i]
            agg = aggregate(plan.frames[i], size, n_points, seed, plan.bounds, view=view, threads=threads,
                            progress=False)  # fmt: skip
        return agg

    # the chaos game of the next frame runs (without the GIL) while this one is shaded and encoded
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(render, 0)
        for i in range(len(plan.frames)):
            agg = pending.result()
            if i + 1 < len(plan.frames):
                pending = pool.submit(render, i + 1)
            yield shade_frame(agg, *plan.tone[i], cmap=cmap, gamma=gamma, background=background)


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
    if not fps > 0:
        raise ParameterError(f"fps (frames per second) must be positive, got {fps}", "fps")
    kind = movie_kind(path)
    path = Path(path)
    if progress is None:
        progress = sys.stderr.isatty()
    if progress:
        from tqdm.auto import tqdm

        frames = tqdm(frames, total=n_frames, desc="frames", unit="frame", leave=False)
    if kind == "png":
        return _write_png_folder(frames, path, overwrite)
    with atomic_path(path, overwrite) as tmp:
        (_write_mp4 if kind == "mp4" else _write_gif)(frames, tmp, fps)
    return path


def _write_mp4(frames, path: Path, fps: float) -> None:
    import imageio_ffmpeg

    writer = None
    try:
        for frame in frames:
            if writer is None:  # the size comes with the first frame
                height, width = frame.shape[:2]
                writer = imageio_ffmpeg.write_frames(
                    str(path), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
                    macro_block_size=1, output_params=["-crf", "20", "-preset", "fast"],
                )  # fmt: skip
                writer.send(None)
            writer.send(np.ascontiguousarray(frame))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise FormatError("a movie needs at least one frame")


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
    method, easing, loop
        See :class:`KeyframePath`.
    pingpong, view, turn
        See :func:`plan_movie`.
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
    check_movie_output(output, size, overwrite)
    check_shading(cmap, gamma, background)
    path = KeyframePath(keyframes, method, loop, easing)
    plan = plan_movie(path, n_frames, size, n_points, seed, pingpong=pingpong, view=view, turn=turn, threads=threads)
    frames = render_movie_frames(
        plan, size, n_points, seed, cmap=cmap, gamma=gamma, background=background, threads=threads
    )
    return write_movie(frames, output, fps, n_frames=n_frames, overwrite=overwrite, progress=progress)
