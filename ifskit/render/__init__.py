"""Renderers: the chaos game (points, or densities on a raster) and shading to images."""

from .chaos import Aggregate, aggregate, chaos_game, density

__all__ = ["Aggregate", "aggregate", "chaos_game", "density"]
