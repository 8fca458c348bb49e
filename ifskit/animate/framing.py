"""Framing of a movie: which window of the plane (or of a 3D view) each frame shows.

``follow`` (default): every frame is framed by its own attractor's extent, smoothed
over time (centre linearly, size in log scale) so the camera glides instead of
jittering, and widened where the attractor grows so nothing is cut off. ``fixed``: one
window for every frame, the union of all extents. ``normalize``: each keyframe is first
conjugated into the unit box (:func:`normalized`), so only the shape changes, and one
window frames all.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d, minimum_filter1d

from ..errors import ParameterError
from ..ifs import IFS
from ..render import tight_bounds
from ..render.frame import fit_window

#: Framing modes of a movie.
FRAMINGS = ("follow", "fixed", "normalize")


def check_framing(framing: str) -> str:
    """``framing`` if it is one of :data:`FRAMINGS`, else a :class:`ParameterError`."""
    if framing not in FRAMINGS:
        raise ParameterError(f"unknown framing {framing!r}; use one of {', '.join(FRAMINGS)}", "framing")
    return framing


def normalized(ifs: IFS) -> IFS:
    """The IFS conjugated so that its attractor is centred at 0 with its larger side 2 (the unit box).

    Only an isotropic scale and a translation: the shape is unchanged.
    """
    bounds = np.asarray(tight_bounds(ifs)).reshape(-1, 2)
    scale = 2.0 / max(float(np.max(bounds[:, 1] - bounds[:, 0])), 1e-12)
    centre = bounds.mean(axis=1)
    return ifs.conjugate(scale * np.eye(ifs.dim), -scale * centre)


def smooth_boxes(
    low: np.ndarray, high: np.ndarray, *, loop: bool, width: float, keys: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes of a sequence of samples, widened to their neighbours' and smoothed; keyframes by their own.

    Parameters
    ----------
    low, high : ndarray, shape (m, 2)
        Extent of the picture at each sample of path time (evenly spaced).
    loop : bool
        The samples are periodic (the last one is followed by the first).
    width : float
        Smoothing width in samples (Gaussian sigma); the envelope covers the neighbours on
        each side, so a growing attractor is not cut off between samples.
    keys : ndarray, shape (m,), bool, optional
        Samples that are keyframes: each is framed by its own extent (it fills the frame),
        and the smoothing fades in over ``width`` samples around it.

    Returns
    -------
    low, high : ndarray, shape (m, 2)
        Centre smoothed linearly, half size in log scale.
    """
    mode = "wrap" if loop else "nearest"
    keys = np.zeros(len(low), dtype=bool) if keys is None else np.asarray(keys, dtype=bool)
    # what a frame near each sample must show: the neighbours' extents too, except on a keyframe
    need_low = np.where(keys[:, None], low, minimum_filter1d(low, 3, axis=0, mode=mode))
    need_high = np.where(keys[:, None], high, maximum_filter1d(high, 3, axis=0, mode=mode))
    centre = (need_low + need_high) / 2
    half = np.maximum((need_high - need_low) / 2, 1e-12)
    # a flat attractor (a segment) is framed by its long side: floor the short one
    half = np.maximum(half, 1e-3 * half.max(axis=1, keepdims=True))
    if width > 0:
        smooth_centre = gaussian_filter1d(centre, width, axis=0, mode=mode)
        smooth_log_half = gaussian_filter1d(np.log(half), width, axis=0, mode=mode)
        if keys.any():  # the smoothing fades out towards each keyframe, which keeps its own framing
            index = np.arange(len(low))
            distance = np.min(np.abs(index[:, None] - np.flatnonzero(keys)[None, :]), axis=1).astype(float)
            if loop:
                distance = np.minimum(distance, len(low) - distance)
            fade = np.clip(distance / width, 0.0, 1.0)[:, None]
            fade = fade * fade * (3 - 2 * fade)
            smooth_centre = centre + fade * (smooth_centre - centre)
            smooth_log_half = np.log(half) + fade * (smooth_log_half - np.log(half))
        # the envelope is smoothed from above: a wider window never cuts the attractor off
        centre, half = smooth_centre, np.maximum(np.exp(smooth_log_half), half * 0.97)
    return centre - half, centre + half


def windows_at(u: np.ndarray, sample_u: np.ndarray, low: np.ndarray, high: np.ndarray, size) -> list[tuple]:
    """The window of each frame at path times ``u``, from boxes at ``sample_u`` (centre linear, size log).

    Returns
    -------
    list of (xmin, xmax, ymin, ymax)
    """
    centre, log_half = (low + high) / 2, np.log((high - low) / 2)
    out = []
    for time in np.asarray(u, dtype=float):
        c = [np.interp(time, sample_u, centre[:, j]) for j in range(2)]
        h = [np.exp(np.interp(time, sample_u, log_half[:, j])) for j in range(2)]
        out.append(fit_window((c[0] - h[0], c[0] + h[0]), (c[1] - h[1], c[1] + h[1]), size))
    return out


def union_window(low: np.ndarray, high: np.ndarray, size) -> tuple:
    """One window around every box, ``(xmin, xmax, ymin, ymax)``."""
    low, high = low.min(axis=0), high.max(axis=0)
    return fit_window((low[0], high[0]), (low[1], high[1]), size)
