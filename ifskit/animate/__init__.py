"""Interpolation between IFS encodings, and movies of it.

:func:`interpolate` pairs and interpolates the maps of two IFS; a
:class:`KeyframePath` runs through several keyframes (looped, eased);
:func:`make_movie` renders a path to MP4, GIF or PNG frames with the same random
streams, one framing and one tone mapping for every frame; :func:`ifs_from_cloud`
turns a point cloud into a keyframe (neural encoder or fitter).
"""

from .clouds import CLOUD_METHODS, ifs_from_cloud
from .interpolate import EASINGS, METHODS, KeyframePath, Morph, interpolate, match_maps, padded
from .movie import (
    MOVIE_SUFFIXES,
    MoviePlan,
    check_movie_output,
    check_shading,
    make_movie,
    movie_kind,
    plan_movie,
    render_movie_frames,
    shade_frame,
    tone_figures,
    write_movie,
)

__all__ = [
    "CLOUD_METHODS",
    "EASINGS",
    "METHODS",
    "MOVIE_SUFFIXES",
    "KeyframePath",
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
