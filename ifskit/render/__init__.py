"""Renderers: the chaos game (points, or densities on a raster), then shading to images.

The deterministic renderers (:func:`hutchinson_raster`, :func:`hutchinson_measure`,
:func:`hutchinson_points`) iterate the IFS's operators instead: no randomness.

The pipeline is datashader's: :func:`aggregate` bins the chaos game into an
:class:`Aggregate` (counts, optionally depth and colour), :func:`shade` turns it
into RGBA; :func:`render_image` does both.
"""

from .aggregate import Aggregate, aggregate, aggregate_points, densities, density, register_backend
from .chaos import chaos_game
from .deterministic import DeterministicRender, hutchinson_measure, hutchinson_points, hutchinson_raster
from .extent import extent_sample, tight_bounds
from .frame import DEFAULT_VIEW
from .shade import DEFAULT_CMAP, downsample, map_colors, render_image, save_png, shade, tone_map
from .views import STANDARD_VIEWS, render_views

__all__ = [
    "DEFAULT_CMAP",
    "DEFAULT_VIEW",
    "STANDARD_VIEWS",
    "Aggregate",
    "DeterministicRender",
    "aggregate",
    "aggregate_points",
    "chaos_game",
    "densities",
    "density",
    "extent_sample",
    "downsample",
    "hutchinson_measure",
    "hutchinson_points",
    "hutchinson_raster",
    "map_colors",
    "render_image",
    "register_backend",
    "render_views",
    "save_png",
    "shade",
    "tight_bounds",
    "tone_map",
]
