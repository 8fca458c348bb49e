"""Colour by map in movies: each map keeps its colour through the matching of every segment.

The first keyframe's maps take the palette's colours; each later keyframe's map takes
the colour of the map(s) it is paired with in the segment before (the mean where a map
is paired with several), so a colour follows one map from keyframe to keyframe. On a
loop the last segment blends back to the first keyframe's colours.
"""

from __future__ import annotations

import matplotlib
import numpy as np

from ..errors import ParameterError
from ..ifs import IFS
from .interpolate import match_maps

#: Default palette of colour by map (any matplotlib colormap name works).
DEFAULT_PALETTE = "tab10"


def palette_colors(name: str, k: int) -> np.ndarray:
    """``k`` colours of a named palette (a matplotlib colormap), shape (k, 3) in [0, 1].

    A qualitative palette (20 entries or fewer, as ``tab10``) gives its entries in
    order, cycling; a continuous one is sampled evenly.
    """
    try:
        colormap = matplotlib.colormaps[name]
    except KeyError:
        raise ParameterError(f"unknown palette {name!r} (any matplotlib colormap name works, e.g. tab10)",
                             "palette") from None  # fmt: skip
    if getattr(colormap, "N", 256) <= 20:
        return np.array([colormap(i % colormap.N)[:3] for i in range(k)])
    return colormap(np.linspace(0.0, 1.0, k) if k > 1 else [0.5])[:, :3]


def colored_keyframes(keyframes, palette: str = DEFAULT_PALETTE) -> list[IFS]:
    """The keyframes with map colours that stay with the maps through the matching.

    Parameters
    ----------
    keyframes : sequence of IFS
    palette : str
        See :func:`palette_colors`.

    Returns
    -------
    list of IFS
        Same maps, probabilities and names, with ``colors`` of shape (k, 3).
    """
    keyframes = list(keyframes)
    first = keyframes[0]
    colors = palette_colors(palette, first.n_maps)
    out = [IFS(first.A, first.b, first.p, name=first.name, colors=colors)]
    for a, b in zip(keyframes, keyframes[1:]):
        index_a, index_b = match_maps(a, b)
        total = np.zeros((b.n_maps, 3))
        np.add.at(total, index_b, colors[index_a])
        colors = total / np.bincount(index_b, minlength=b.n_maps)[:, None]
        out.append(IFS(b.A, b.b, b.p, name=b.name, colors=colors))
    return out
