"""The picture of a fit: target, collage, attractor and loss history side by side.

In 2D the three shapes are drawn filled, on one raster over the target's frame: the target
as its cells closed over the gaps between points, the collage as the images of those
cells under each map (one colour per map), the attractor as its chaos-game density. A shape
is what a person judges a fit by; sparse dots hide holes that were filled and strokes that
were missed. 3D fits are drawn as point clouds.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .._io import atomic_path, check_output
from ..render import chaos_game, density

# Points drawn per panel of the target and the collage in 3D: enough to see the shape.
_PANEL_POINTS = 20_000
# Cells along the longer side of the 2D panels' raster.
_RASTER = 256


def plot_fit(result, path=None, overwrite: bool = False, n_points: int = 50_000, seed: int = 0):
    """Draw a :class:`~ifskit.fitting.FitResult`: target, collage (one colour per map), attractor, loss.

    Parameters
    ----------
    result : FitResult
    path : str or Path, optional
        Write a PNG here (atomically, refusing to replace a file unless ``overwrite``).
    overwrite : bool
    n_points : int
        Chaos-game points of the attractor panel (2D: at least 10^6, binned without keeping them).
    seed : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    # matplotlib here, not at the top: importing it costs a good part of a second, and
    # fit imports this module (through FitResult) whether or not a figure is ever drawn
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    if path is not None:
        check_output(path, overwrite, {".png"})
    cloud = result.points
    dim = cloud.shape[1]
    colours = colormaps["tab10"](np.arange(result.n_maps) % 10)[:, :3]
    figure = Figure(figsize=(16, 4.4), layout="constrained")
    projection = "3d" if dim == 3 else None
    panels = [figure.add_subplot(1, 4, i + 1, projection=projection) for i in range(3)]
    titles = (
        f"target ({len(cloud):,} points)",
        f"collage W(T), Hausdorff error {result.collage_error:.3g}",
        f"attractor: Chamfer {result.attractor_chamfer:.3g}, Hausdorff {result.attractor_hausdorff:.3g}\n"
        f"(bound e/(1-s) = {result.bound:.3g}, s = {result.contraction:.3f})",
    )
    if dim == 2:
        _draw_filled(panels, result, colours, max(n_points, 10**6), seed)
    else:
        _draw_points(panels, result, colours, n_points, seed)
    for panel, title in zip(panels, titles):
        panel.set_title(title, fontsize="medium")
    history = figure.add_subplot(1, 4, 4)
    history.plot(np.arange(1, len(result.history) + 1), result.history)
    if len(result.history) and result.history.min() > 0:
        history.set_yscale("log")
    history.set_xlabel("step")
    history.set_title("training loss (collage vs cloud)")
    if path is not None:
        with atomic_path(path, overwrite) as tmp:
            figure.savefig(tmp, dpi=100)
    return figure


def _draw_filled(panels, result, colours, n_points: int, seed: int) -> None:
    """The 2D panels: target cells, their images under each map, the attractor's density, one raster."""
    cloud = result.points
    lo, hi = cloud.min(axis=0), cloud.max(axis=0)
    pad = 0.05 * (hi - lo).max()
    lo, hi = lo - pad, hi + pad
    cell = (hi - lo).max() / _RASTER
    shape = tuple(int(np.ceil(n)) for n in (hi - lo)[::-1] / cell)  # (rows: y, columns: x)
    # the target: its cells closed over the gaps between points (a disc of 1.5 times the typical distance
    # to the 6th neighbour: a random sample's gaps reach several mean spacings), so a filled shape shows
    # filled while its outline and any hole wider than that stay where they are
    reach = 1.5 * np.median(cKDTree(cloud).query(cloud, k=7)[0][:, 6]) / cell
    disk = _disk(max(1.0, reach))
    target = ndimage.binary_closing(_cells(cloud, lo, cell, shape), disk, border_value=0)
    rows, columns = np.nonzero(target)
    centres = lo + (np.column_stack([columns, rows]) + 0.5) * cell
    collage = np.ones(shape + (3,))
    # each map's image of the target cells, shrunk maps leave gaps: close them by the map's own spacing
    for colour, image in zip(colours, result.ifs.apply(centres)):
        covered = ndimage.binary_closing(_cells(image, lo, cell, shape), iterations=1)
        collage[covered] = 0.55 * collage[covered] + 0.45 * colour
    bounds = (lo[0], lo[0] + shape[1] * cell, lo[1], lo[1] + shape[0] * cell)
    counts = density(result.ifs, size=shape, n_points=n_points, seed=seed, bounds=bounds, progress=False)
    extent = (bounds[0], bounds[1], bounds[2], bounds[3])
    panels[0].imshow(target, cmap="Greys", origin="lower", extent=extent, interpolation="nearest")
    panels[1].imshow(collage, origin="lower", extent=extent, interpolation="nearest")
    # density rows run from the top of the picture: flip to the panels' y-up
    panels[2].imshow(np.log1p(counts[::-1]), cmap="Greys", origin="lower", extent=extent, interpolation="nearest")
    for panel in panels:
        panel.set_aspect("equal")


def _draw_points(panels, result, colours, n_points: int, seed: int) -> None:
    """The 3D panels: points of the target, of each map's image of it, and of the attractor."""
    cloud = result.points
    rng = np.random.default_rng(seed)
    shown = cloud[rng.choice(len(cloud), min(len(cloud), _PANEL_POINTS), replace=False)]
    images = result.ifs.apply(shown[: _PANEL_POINTS // result.n_maps])  # (k, m, d)
    attractor = chaos_game(result.ifs, n_points, seed=seed, progress=False)
    panels[0].scatter(*shown.T, s=0.3, c="black", linewidths=0)
    for i, part in enumerate(images):
        panels[1].scatter(*part.T, s=0.3, color=colours[i], linewidths=0, label=f"map {i + 1}")
    panels[1].legend(markerscale=12, fontsize="small", loc="best")
    panels[2].scatter(*attractor.T, s=0.2, c="black", linewidths=0)
    lo, hi = cloud.min(axis=0), cloud.max(axis=0)
    pad = 0.05 * (hi - lo).max()
    for panel in panels:
        panel.set_xlim(lo[0] - pad, hi[0] + pad)
        panel.set_ylim(lo[1] - pad, hi[1] + pad)
        panel.set_zlim(lo[2] - pad, hi[2] + pad)


def _cells(points, lo, cell: float, shape: tuple) -> np.ndarray:
    """Which cells of a (rows, columns) raster with lower corner ``lo`` hold a point of (n, 2)."""
    index = np.floor((points - lo) / cell).astype(np.int64)
    inside = (index >= 0).all(axis=1) & (index[:, 0] < shape[1]) & (index[:, 1] < shape[0])
    grid = np.zeros(shape, dtype=bool)
    grid[index[inside, 1], index[inside, 0]] = True
    return grid


def _disk(radius: float) -> np.ndarray:
    r = int(np.ceil(radius))
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return x * x + y * y <= radius * radius
