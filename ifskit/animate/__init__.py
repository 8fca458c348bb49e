"""Interpolation between IFS encodings, and movies of it.

:func:`interpolate` pairs and interpolates the maps of two IFS; a
:class:`KeyframePath` runs through several keyframes (looped through three or more:
one periodic spline, :class:`LoopSpline`; eased); :func:`make_movie` renders a path to
MP4, GIF or PNG frames with the same random streams, each keyframe filling its frame
and the frames evenly paced in visible change (:func:`plan_movie`);
:func:`ifs_from_cloud` turns a point cloud into a keyframe (neural encoder or fitter).
"""

from .clouds import CLOUD_METHODS, ifs_from_cloud
from .framing import FRAMINGS, normalized
from .interpolate import EASINGS, METHODS, Morph, interpolate, match_maps, padded
from .movie import (
    COLORINGS,
    MOVIE_SUFFIXES,
    PACINGS,
    MoviePlan,
    check_movie_output,
    check_shading,
    make_movie,
    movie_kind,
    plan_movie,
    render_frame,
    render_movie_frames,
    shade_frame,
    tone_figures,
    write_movie,
)
from .pacing import BLUR_WEIGHTS, frame_times, survey
from .palette import DEFAULT_PALETTE, colored_keyframes, palette_colors
from .path import KeyframePath
from .quality import frame_change, frame_changes, lit_span, movie_figures
from .spline import LoopSpline

__all__ = [
    "BLUR_WEIGHTS",
    "CLOUD_METHODS",
    "COLORINGS",
    "DEFAULT_PALETTE",
    "FRAMINGS",
    "PACINGS",
    "colored_keyframes",
    "frame_change",
    "frame_changes",
    "frame_times",
    "lit_span",
    "movie_figures",
    "normalized",
    "palette_colors",
    "render_frame",
    "survey",
    "EASINGS",
    "METHODS",
    "MOVIE_SUFFIXES",
    "KeyframePath",
    "LoopSpline",
    "Morph",
    "MoviePlan",
    "check_movie_output",
    "check_shading",
    "ifs_from_cloud",
    "interpolate",
    "make_movie",
    "match_maps",
    "movie_kind",
    "padded",
    "plan_movie",
    "render_movie_frames",
    "shade_frame",
    "tone_figures",
    "write_movie",
]
