"""Several shaded views of a 3D IFS in one picture."""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..ifs import IFS
from .shade import render_image

#: (elevation, azimuth, label) of the panels of :func:`render_views`.
STANDARD_VIEWS = (
    (30.0, -60.0, "perspective"),
    (0.0, -90.0, "front (x-z)"),
    (0.0, 0.0, "side (y-z)"),
    (90.0, -90.0, "top (x-y)"),
)


def render_views(
    ifs: IFS, size=512, n_points: int = 20_000_000, seed: int = 0, views=STANDARD_VIEWS, **options
) -> np.ndarray:
    """Render a 3D IFS from several cameras into one 2 x 2 (or 1 x n) labelled grid.

    Parameters
    ----------
    ifs : IFS
        A 3D IFS.
    size : int or (H, W)
        Size of each panel.
    n_points, seed
        As in :func:`ifskit.render_image`; every panel uses the same points.
    views : sequence of (elev, azim, label)
    **options
        Passed to :func:`ifskit.render_image` (``cmap``, ``gamma``, ``background``...).

    Returns
    -------
    ndarray, shape (rows * H, cols * W, 4), uint8
    """
    if ifs.dim != 3:
        raise FormatError("several views are for 3D IFS; a 2D IFS has one picture")
    from PIL import Image, ImageDraw

    panels = []
    for elev, azim, label in views:
        image = Image.fromarray(render_image(ifs, size, n_points, seed, view=(elev, azim), **options), mode="RGBA")
        ImageDraw.Draw(image).text((8, 6), f"{label}: elev {elev:g}, azim {azim:g}", fill=(235, 235, 235, 255))
        panels.append(np.asarray(image))
    cols = 2 if len(panels) == 4 else len(panels)
    rows = [np.concatenate(panels[i : i + cols], axis=1) for i in range(0, len(panels), cols)]
    return np.concatenate(rows, axis=0)
