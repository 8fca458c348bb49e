"""The picture of a fit: target, collage, attractor and loss history side by side."""

from __future__ import annotations

import numpy as np

from .._io import atomic_path, check_output
from ..render import chaos_game

# Points drawn per panel of the target and the collage: enough to see the shape.
_PANEL_POINTS = 20_000


def plot_fit(result, path=None, overwrite: bool = False, n_points: int = 50_000, seed: int = 0):
    """Draw a :class:`~ifskit.fitting.FitResult`: target, collage (one colour per map), attractor, loss.

    Parameters
    ----------
    result : FitResult
    path : str or Path, optional
        Write a PNG here (atomically, refusing to replace a file unless ``overwrite``).
    overwrite : bool
    n_points : int
        Chaos-game points of the attractor panel.
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
    rng = np.random.default_rng(seed)
    shown = cloud[rng.choice(len(cloud), min(len(cloud), _PANEL_POINTS), replace=False)]
    images = result.ifs.apply(shown[: _PANEL_POINTS // result.n_maps])  # (k, m, d)
    colours = colormaps["tab10"](np.arange(result.n_maps) % 10)
    attractor = chaos_game(result.ifs, n_points, seed=seed, progress=False)

    figure = Figure(figsize=(16, 4.4), layout="constrained")
    projection = "3d" if dim == 3 else None
    panels = [figure.add_subplot(1, 4, i + 1, projection=projection) for i in range(3)]
    size = 0.5 if dim == 2 else 0.3
    panels[0].scatter(*shown.T, s=size, c="black", linewidths=0)
    panels[0].set_title(f"target ({len(cloud):,} points)")
    for i, part in enumerate(images):
        panels[1].scatter(*part.T, s=size, color=colours[i], linewidths=0, label=f"map {i + 1}")
    panels[1].set_title(f"collage W(T), Hausdorff error {result.collage_error:.3g}")
    panels[1].legend(markerscale=12, fontsize="small", loc="best")
    panels[2].scatter(*attractor.T, s=size * 0.6, c="black", linewidths=0)
    panels[2].set_title(
        f"attractor: Chamfer {result.attractor_chamfer:.3g}, Hausdorff {result.attractor_hausdorff:.3g}\n"
        f"(bound e/(1-s) = {result.bound:.3g}, s = {result.contraction:.3f})",
        fontsize="medium",
    )
    lo, hi = cloud.min(axis=0), cloud.max(axis=0)
    pad = 0.05 * (hi - lo).max()
    for panel in panels:
        panel.set_xlim(lo[0] - pad, hi[0] + pad)
        panel.set_ylim(lo[1] - pad, hi[1] + pad)
        if dim == 2:
            panel.set_aspect("equal")
        else:
            panel.set_zlim(lo[2] - pad, hi[2] + pad)
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
