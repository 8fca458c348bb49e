"""Figures of a movie's quality as a viewer sees it: even change, framing, a seamless loop.

The change between two frames is the mean absolute difference of their pixels, RGB
scaled to [0, 1] (for density shading that is the tone-mapped brightness through the
colormap): what the eye sees move or brighten. These figures are measured on the
frames themselves, so they apply to any movie (decoded MP4 or GIF frames included).
"""

from __future__ import annotations

import numpy as np

#: A pixel is lit when one of its channels differs from the background by more than this (of full scale).
LIT_THRESHOLD = 0.08


def _as_float(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype == np.uint8:
        return frame.astype(float) / 255.0
    if frame.dtype == np.uint16:
        return frame.astype(float) / 65535.0
    return frame.astype(float)


def frame_change(first: np.ndarray, second: np.ndarray) -> float:
    """Mean absolute difference of two frames, pixels and channels, in [0, 1].

    Parameters
    ----------
    first, second : ndarray, shape (H, W, 3) or (H, W)
        uint8, uint16 or float in [0, 1].
    """
    return float(np.abs(_as_float(first) - _as_float(second)).mean())


def frame_changes(frames, *, loop: bool = False) -> np.ndarray:
    """:func:`frame_change` of consecutive frames, shape (n - 1,), or (n,) with ``loop`` (last to first at the end)."""
    frames = [_as_float(f) for f in frames]
    pairs = list(zip(frames, frames[1:]))
    if loop:
        pairs.append((frames[-1], frames[0]))
    return np.array([float(np.abs(a - b).mean()) for a, b in pairs])


def lit_span(frame: np.ndarray, background=(0.0, 0.0, 0.0)) -> float:
    """How much of the frame the lit pixels' bounding box spans, in its larger dimension.

    ``max(box height / H, box width / W)``; 0 for a frame with no lit pixel.

    Parameters
    ----------
    frame : ndarray, shape (H, W, 3)
    background : RGB in [0, 1]
    """
    frame = _as_float(frame)
    lit = np.any(np.abs(frame - np.asarray(background, dtype=float)) > LIT_THRESHOLD, axis=-1)
    rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
    if rows.size == 0:
        return 0.0
    return max((rows[-1] - rows[0] + 1) / lit.shape[0], (cols[-1] - cols[0] + 1) / lit.shape[1])


def movie_figures(frames, *, loop: bool = False, background=(0.0, 0.0, 0.0)) -> dict:
    """The issue's figures of a movie.

    Returns
    -------
    dict
        ``max_over_median``: largest change between consecutive frames over their
        median change; ``min_span``: smallest :func:`lit_span` of a frame;
        ``seam_over_median`` (``loop`` only): the last-to-first change over the median
        change of the other steps.
    """
    frames = list(frames)
    steps = frame_changes(frames)
    median = float(np.median(steps))
    figures = {
        "max_over_median": float(steps.max() / median) if median > 0 else float("inf"),
        "median_change": median,
        "min_span": float(min(lit_span(f, background) for f in frames)),
    }
    if loop:
        seam = frame_change(frames[-1], frames[0])
        figures["seam_over_median"] = seam / median if median > 0 else float("inf")
    return figures
