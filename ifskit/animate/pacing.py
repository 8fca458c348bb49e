"""Even pacing of a movie: where on the path each frame (and each motion-blur sub-frame) lies.

A cheap low-resolution pass (:func:`survey`) draws a few thousand chaos-game points at
evenly spaced path times, measures each picture's extent (for the framing) and the
visible change from one sample to the next: the mean absolute difference of the
tone-mapped low-resolution frames, each in its own (smoothed) window. The cumulative
change, inverted, gives the path time of each frame so that every frame changes the
picture by the same amount (:func:`frame_times`); easing applies on top, within each
segment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ParameterError
from ..render import chaos_game, tone_map
from ..render.extent import extent_sample
from ..render.frame import projection
from .framing import smooth_boxes, windows_at
from .interpolate import EASINGS
from .path import KeyframePath

#: Motion-blur weights of the sub-frames over the shutter.
BLUR_WEIGHTS = ("box", "gaussian")
# Points and raster of the survey: cheap (a few ms a sample), enough to see shapes move.
_SURVEY_POINTS = 20_000
_SURVEY_PIXELS = 64
# The change of a sample step is floored at this fraction of the mean step, so that a
# still stretch of the path is still crossed (the inverse of the cumulative change exists).
_FLOOR = 0.05


@dataclass
class Survey:
    """The low-resolution pass over a path.

    Attributes
    ----------
    u : ndarray, shape (m,)
        Path times of the samples, ``0 .. n_segments`` evenly.
    low, high : ndarray, shape (m, 2)
        Smoothed window box of each sample (picture plane).
    raw_low, raw_high : ndarray, shape (m, 2)
        The pictures' own extents.
    depth : ndarray, shape (m, 2), or None
        3D: smoothed range of depth (towards the viewer) of each sample; None in 2D.
    change_u : ndarray, shape (c,)
        Path times at which the change is known (the samples, and after
        :func:`recalibrated` the frames too), increasing from 0 to ``n_segments``.
    change : ndarray, shape (c,)
        Cumulative visible change at ``change_u`` (0 at the start).
    loop : bool
    """

    u: np.ndarray
    low: np.ndarray
    high: np.ndarray
    raw_low: np.ndarray
    raw_high: np.ndarray
    depth: np.ndarray | None
    change_u: np.ndarray
    change: np.ndarray
    loop: bool

    def depth_at(self, u: float | None = None) -> tuple[float, float]:
        """3D: the range of depth mapped to [0, 1] at path time ``u`` (None: of the whole path), 5% margins."""
        if u is None:
            low, high = self.depth[:, 0].min(), self.depth[:, 1].max()
        else:
            low, high = (np.interp(u, self.u, self.depth[:, j]) for j in range(2))
        margin = 0.05 * max(high - low, 1e-9)
        return float(low - margin), float(high + margin)


def picture_extent(ifs, points: np.ndarray, view) -> tuple[np.ndarray, np.ndarray]:
    """Extent of points in the picture plane and in depth (3D: under the camera ``view``).

    Returns
    -------
    low, high : ndarray, shape (2,) in 2D, (3,) in 3D
        Right, up (and towards the viewer).
    """
    rotation = projection(ifs, view) if ifs.dim == 3 else None
    if rotation is not None:
        points = points @ rotation.T
    return points.min(axis=0), points.max(axis=0)


def _picture(ifs, points: np.ndarray, view) -> np.ndarray:
    """Points in the picture plane, shape (n, 2)."""
    if ifs.dim == 3:
        points = points @ projection(ifs, view).T
    return np.ascontiguousarray(points[:, :2])


def _counts(points: np.ndarray, size, window) -> np.ndarray:
    """Hits per pixel of picture-plane points in a window, shape (H, W), row 0 at the top."""
    xmin, xmax, ymin, ymax = window
    height, width = size
    column = np.floor((points[:, 0] - xmin) * (width / (xmax - xmin))).astype(np.int64)
    row = np.floor((ymax - points[:, 1]) * (height / (ymax - ymin))).astype(np.int64)
    inside = (column >= 0) & (column < width) & (row >= 0) & (row < height)
    cells = row[inside] * width + column[inside]
    return np.bincount(cells, minlength=height * width).reshape(height, width).astype(float)


def survey(
    path: KeyframePath,
    size,
    *,
    seed: int = 0,
    gamma: float = 2.2,
    view_at=None,
    samples_per_segment: int = 48,
    smoothing: float | None = None,
) -> Survey:
    """The cheap pass: extent and visible change at evenly spaced path times.

    Parameters
    ----------
    path : KeyframePath
    size : (H, W)
        Frame size of the movie (the survey keeps its aspect at 64 pixels).
    seed : int
        The movie's seed (the same points move, as in the movie).
    gamma : float
        Tone mapping of the change measure, as the movie's.
    view_at : callable, optional
        3D: path time -> camera (elev, azim).
    samples_per_segment : int
    smoothing : float, optional
        Gaussian width of the framing in samples; default a sixteenth of a segment.
    """
    n_segments = len(path.segments)
    m = n_segments * samples_per_segment + 1
    u = np.linspace(0.0, n_segments, m)
    ifs_list = [path.at(t, matched=True) for t in u]
    views = [None if view_at is None else view_at(t) for t in u]
    pictures, raw_low, raw_high = [], np.empty((m, path.dim)), np.empty((m, path.dim))
    for i, (t, ifs) in enumerate(zip(u, ifs_list)):
        pts = chaos_game(ifs, _SURVEY_POINTS, seed=seed, progress=False)
        if t == round(t):  # a keyframe: its tight extent (fern tips that the chaos game reaches slowly)
            reach = extent_sample(ifs)
        else:
            fixed = ifs.fixed_points
            reach = np.concatenate([pts, fixed[np.all(np.isfinite(fixed), axis=1)]])
        raw_low[i], raw_high[i] = picture_extent(ifs, reach, views[i])
        pictures.append(_picture(ifs, pts, views[i]))
    width = samples_per_segment / 16 if smoothing is None else smoothing
    keys = u == np.round(u)
    low, high = smooth_boxes(raw_low[:, :2], raw_high[:, :2], loop=path.loop, width=width, keys=keys)
    depth = None
    if path.dim == 3:  # the depth range glides like the window: depth colours do not jump between frames
        near_low, near_high = smooth_boxes(raw_low[:, 1:], raw_high[:, 1:], loop=path.loop, width=width, keys=keys)
        depth = np.column_stack([near_low[:, 1], near_high[:, 1]])
    height, width_px = size
    scale = _SURVEY_PIXELS / max(height, width_px)
    small = (max(8, int(round(height * scale))), max(8, int(round(width_px * scale))))
    windows = windows_at(u, u, low, high, small)
    brightness = [tone_map(_counts(pts, small, window), gamma) for pts, window in zip(pictures, windows)]
    steps = np.array([np.abs(b - a).mean() for a, b in zip(brightness, brightness[1:])])
    steps = np.maximum(steps, _FLOOR * max(steps.mean(), 1e-12))
    change = np.concatenate([[0.0], np.cumsum(steps)])
    return Survey(u, low, high, raw_low[:, :2], raw_high[:, :2], depth, u, change, path.loop)


def recalibrated(found: Survey, knots: np.ndarray, chords: np.ndarray) -> Survey:
    """The survey with its change measure corrected by changes measured between frames.

    The survey's samples are further apart than frames where the picture changes fast,
    and a change between two far samples is less than the sum of the changes between
    the frames in between (a chord is shorter than the arc): frames paced by it change
    unevenly there. Here the change between consecutive ``knots`` (frame times, sorted)
    is the measured ``chords``; within each interval, the survey's measure keeps its
    shape.

    Parameters
    ----------
    found : Survey
    knots : ndarray, shape (k,)
        Increasing path times from 0; a loop's last chord goes from ``knots[-1]`` to the end.
    chords : ndarray, shape (k - 1,), or (k,) for a loop
        Visible change between consecutive knots.

    Returns
    -------
    Survey
        Same framing; ``change_u`` holds the knots and the survey's samples.
    """
    end = found.change_u[-1]
    knots = np.asarray(knots, dtype=float)
    if len(chords) == len(knots):  # a loop: the last chord closes it
        knots = np.append(knots, end)
    grid = np.union1d(found.change_u, knots)
    old = np.interp(grid, found.change_u, found.change)
    old_knots = np.interp(knots, found.change_u, found.change)
    steps = np.maximum(np.asarray(chords, dtype=float), _FLOOR * max(np.mean(chords), 1e-12))
    interval = np.clip(np.searchsorted(knots, grid, side="right") - 1, 0, len(knots) - 2)
    share = (old - old_knots[interval]) / np.maximum(np.diff(old_knots)[interval], 1e-300)
    change = np.concatenate([[0.0], np.cumsum(steps)])[interval] + np.clip(share, 0.0, 1.0) * steps[interval]
    if knots[-1] < end:  # an open path's frames end at its end; this is only the rounding
        change = np.where(grid > knots[-1], change[-1], change)
    return replace(found, change_u=grid, change=np.maximum.accumulate(change))


def frame_times(
    survey: Survey,
    n_frames: int,
    *,
    easing: str = "linear",
    pingpong: bool = False,
    even: bool = True,
    motion_blur: int = 1,
    blur: str = "box",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Path time of each frame and of its motion-blur sub-frames.

    Frames are spread evenly in visible change (``even``) or in path time, from the
    first keyframe to the last (both shown), around the loop (the start not repeated),
    or there and back (``pingpong``). ``easing`` then reshapes the time within each
    segment (slow in and out at keyframes with ``smoothstep``).

    Returns
    -------
    u : ndarray, shape (n_frames,)
        Path time of each frame.
    sub_u : ndarray, shape (n_frames, motion_blur)
        Path times of the sub-frames: the shutter spans one frame interval centred on the frame.
    weights : ndarray, shape (motion_blur,)
        Weight of each sub-frame, summing to 1.
    """
    if int(motion_blur) != motion_blur or motion_blur < 1:
        raise ParameterError(f"motion_blur (sub-frames per frame) must be a positive integer, got {motion_blur}",
                             "motion_blur")  # fmt: skip
    if blur not in BLUR_WEIGHTS:
        raise ParameterError(f"unknown blur weights {blur!r}; use one of {', '.join(BLUR_WEIGHTS)}", "blur")
    if easing not in EASINGS:
        raise ParameterError(f"unknown easing {easing!r}; use one of {', '.join(EASINGS)}", "easing")
    n_segments = int(round(survey.change_u[-1]))
    measure = survey.change if even else survey.change_u * (survey.change[-1] / n_segments)
    total = measure[-1]
    keys = np.interp(np.arange(n_segments + 1), survey.change_u, measure)  # the measure at each keyframe
    i = np.arange(n_frames, dtype=float)
    if pingpong:
        g = (n_frames - np.abs(n_frames - 2 * i)) / n_frames
    elif survey.loop:
        g = i / n_frames
    else:
        g = i / max(n_frames - 1, 1)
    spacing = (1.0 / n_frames if survey.loop or pingpong else 1.0 / max(n_frames - 1, 1)) * total
    offsets = ((np.arange(motion_blur) + 0.5) / motion_blur - 0.5) * spacing if motion_blur > 1 else np.zeros(1)
    values = g[:, None] * total + offsets[None, :]
    if survey.loop:
        values = np.mod(values, total)
    else:
        values = np.clip(values, 0.0, total)
    # easing within each segment, in the measure
    segment = np.clip(np.searchsorted(keys, values, side="right") - 1, 0, n_segments - 1)
    start, end = keys[segment], keys[segment + 1]
    local = np.clip((values - start) / np.maximum(end - start, 1e-300), 0.0, 1.0)
    eased = np.where((local == 0) | (local == 1), local, EASINGS[easing](local))
    values = start + eased * (end - start)
    sub_u = np.interp(values, measure, survey.change_u)
    # exactly on the keyframes where the measure says so (no rounding off a keyframe)
    sub_u = np.where(np.isclose(sub_u, np.round(sub_u), rtol=0, atol=1e-12), np.round(sub_u), sub_u)
    if motion_blur == 1 or blur == "box":
        weights = np.full(motion_blur, 1.0 / motion_blur)
    else:  # a Gaussian shutter: sigma a third of the half interval
        x = offsets / (spacing / 2) if spacing > 0 else np.zeros(motion_blur)
        weights = np.exp(-0.5 * (x / (2.0 / 3.0)) ** 2)
        weights /= weights.sum()
    centre = sub_u[:, motion_blur // 2] if motion_blur % 2 else None
    if centre is None:
        centre_values = g * total
        if survey.loop:
            centre_values = np.mod(centre_values, total)
        seg = np.clip(np.searchsorted(keys, centre_values, side="right") - 1, 0, n_segments - 1)
        loc = np.clip((centre_values - keys[seg]) / np.maximum(keys[seg + 1] - keys[seg], 1e-300), 0.0, 1.0)
        loc = np.where((loc == 0) | (loc == 1), loc, EASINGS[easing](loc))
        centre = np.interp(keys[seg] + loc * (keys[seg + 1] - keys[seg]), measure, survey.change_u)
    return centre, sub_u, weights
