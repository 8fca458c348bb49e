"""Paths through several keyframes: ``k0 -> k1 -> ...``, looped, eased.

Each segment is a :class:`~ifskit.animate.interpolate.Morph` between two keyframes; a
loop through three or more keyframes is one periodic spline
(:class:`~ifskit.animate.spline.LoopSpline`), whose velocity matches at every keyframe.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError, ParameterError
from ..ifs import IFS
from .interpolate import EASINGS, Morph, _check_same_dim
from .spline import LoopSpline


class KeyframePath:
    """A path through keyframes ``k0 -> k1 -> ...`` (and back to ``k0`` with ``loop``).

    Parameters
    ----------
    keyframes : sequence of IFS
        At least two, all of one dimension.
    method : {"geometric", "linear"}
        See :class:`Morph`.
    loop : bool
        Add the segment from the last keyframe back to the first. A loop through three or
        more keyframes is one periodic spline (:class:`~ifskit.animate.spline.LoopSpline`):
        the velocity matches at every keyframe and at the seam.
    easing : str
        One of :data:`EASINGS`, applied within each segment.
    """

    def __init__(self, keyframes, method: str = "geometric", loop: bool = False, easing: str = "linear"):
        keyframes = list(keyframes)
        if len(keyframes) < 2:
            raise FormatError("a path needs at least two keyframes")
        if easing not in EASINGS:
            raise ParameterError(f"unknown easing {easing!r}; use one of {', '.join(EASINGS)}", "easing")
        for other in keyframes[1:]:
            _check_same_dim(keyframes[0], other)
        ends = keyframes[1:] + keyframes[:1] if loop else keyframes[1:]
        self.keyframes = keyframes
        self.segments = [Morph(a, b, method) for a, b in zip(keyframes, ends)]
        self.easing = easing
        self.loop = loop
        self.spline = LoopSpline(keyframes, method) if loop and len(keyframes) >= 3 else None

    @property
    def dim(self) -> int:
        """Dimension of the keyframes."""
        return self.keyframes[0].dim

    def frame_positions(self, n_frames: int, pingpong: bool = False) -> list[tuple[int, int, int]]:
        """Where each frame lies on the path, as exact fractions.

        Frames spread evenly over the path: from the first keyframe to the last (both
        shown), or with ``loop`` around the loop (the first keyframe is not repeated at
        the end, so the movie plays seamlessly in a loop). ``pingpong`` goes there and
        back within ``n_frames`` (the return leaves out both ends, also seamless).

        Returns
        -------
        list of (segment, numerator, denominator)
            Frame ``i`` is at local time ``numerator / denominator`` of ``segment``;
            ``numerator == 0`` on a keyframe.
        """
        if int(n_frames) != n_frames or n_frames < 1:
            raise ParameterError(f"the number of frames must be a positive integer, got {n_frames}", "n_frames")
        n_segments = len(self.segments)
        positions = []
        for i in range(n_frames):
            if pingpong:  # a triangle wave: 0 -> 1 at i = n/2 -> back towards 0
                numerator, denominator = n_frames - abs(n_frames - 2 * i), n_frames
            elif self.loop:
                numerator, denominator = i, n_frames
            else:
                numerator, denominator = i, max(n_frames - 1, 1)
            segment, rest = divmod(numerator * n_segments, denominator)
            if segment == n_segments:  # the end of the last segment
                segment, rest = n_segments - 1, denominator
            positions.append((segment, rest, denominator))
        return positions

    def at(self, u: float, matched: bool = False) -> IFS:
        """The IFS at global path time ``u`` in ``[0, n_segments]``: segment ``floor(u)``, local time ``u mod 1``.

        No easing; whole numbers are the keyframes, exactly as given, or with
        ``matched`` as padded for their segment (same attractor and measure, and the
        same map order as the frames beside them, so a chaos game with the same seed
        moves its points instead of drawing new ones). A looped spline has one map
        order for the whole path.
        """
        n_segments = len(self.segments)
        u = float(u)
        if not 0.0 <= u <= n_segments:
            raise ParameterError(f"u (the path time) must be in [0, {n_segments}], got {u}", "u")
        if self.spline is not None:
            if not matched and u == round(u):
                return self.keyframes[int(round(u)) % n_segments]
            return self.spline(u)
        segment = min(int(np.floor(u)), n_segments - 1)
        local = min(max(u - segment, 0.0), 1.0)
        if matched and local in (0.0, 1.0):
            return self.segments[segment].start if local == 0.0 else self.segments[segment].end
        return self.segments[segment](local)

    def eased(self, numerator: int, denominator: int) -> float:
        """Eased local time of a frame position."""
        if numerator in (0, denominator):  # exactly on a keyframe
            return numerator / denominator
        return float(EASINGS[self.easing](numerator / denominator))

    def frames(self, n_frames: int, pingpong: bool = False) -> list[IFS]:
        """The IFS of each frame, see :meth:`frame_positions`; keyframes exactly as given."""
        return [
            self.at(segment + self.eased(numerator, denominator))
            for segment, numerator, denominator in self.frame_positions(n_frames, pingpong)
        ]
