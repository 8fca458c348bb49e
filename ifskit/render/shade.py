"""Shading: from an :class:`~ifskit.render.aggregate.Aggregate` to an RGBA image.

Tone mapping follows flam3 (Draves & Reckase, "The Fractal Flame Algorithm"):
brightness is ``log(1 + density / expected)``, with ``expected`` the mean count of
the pixels hit, normalized to [0, 1] and raised to ``1 / gamma``. Colour comes from
a matplotlib colormap of that brightness, or from the map colours blended along
the chain (``--color map``); 3D views are darkened with depth.
"""

from __future__ import annotations

import numpy as np

from .._io import atomic_path
from ..errors import ParameterError
from ..ifs import IFS
from .aggregate import Aggregate, aggregate
from .frame import check_size

#: Colormap of density shading.
DEFAULT_CMAP = "inferno"


# Rows shaded at a time by shade and to_uint8.
_BAND_ROWS = 256


def tone_map(counts: np.ndarray, gamma: float = 2.2) -> np.ndarray:
    """flam3 log-density brightness in [0, 1].

    Parameters
    ----------
    counts : ndarray, shape (H, W)
        Hits per pixel.
    gamma : float
        Brightness is raised to ``1 / gamma``; larger values lift faint detail.

    Returns
    -------
    ndarray, shape (H, W), float64
        0 where nothing was hit, 1 at the densest pixel.
    """
    if not gamma > 0:
        raise ParameterError(f"gamma must be positive, got {gamma}", "gamma")
    counts = np.asarray(counts, dtype=float)
    hit = counts > 0
    if not hit.any():
        return np.zeros_like(counts)
    expected = counts[hit].mean()
    level = np.log1p(counts / expected)
    return (level / level.max()) ** (1.0 / gamma)


def map_colors(ifs: IFS, cmap: str | None = None) -> np.ndarray:
    """Colour of each map for ``color by map``, shape (k, 3) in [0, 1].

    The IFS's own colours when it has them, else ``cmap`` (default ``tab10``, or
    ``turbo`` beyond 10 maps) sampled at ``k`` points.
    """
    if ifs.colors is not None and cmap is None:
        return np.array(ifs.colors)
    k = ifs.n_maps
    name = cmap or ("tab10" if k <= 10 else "turbo")
    colormap = _colormap(name)
    if getattr(colormap, "N", 256) <= 20:  # qualitative: one entry each
        return np.array([colormap(i % colormap.N)[:3] for i in range(k)])
    return colormap(np.linspace(0.0, 1.0, k))[:, :3]


def shade(
    agg: Aggregate,
    cmap: str = DEFAULT_CMAP,
    gamma: float = 2.2,
    background="black",
    transparent: bool = False,
) -> np.ndarray:
    """Turn an aggregate into an image.

    Parameters
    ----------
    agg : Aggregate
        From :func:`ifskit.render.aggregate`; with ``agg.color`` the map colours are
        used, else ``cmap``.
    cmap : str
        Matplotlib colormap of brightness (density shading).
    gamma : float
        See :func:`tone_map`.
    background : colour
        Any matplotlib colour, shown where the attractor is faint or absent.
    transparent : bool
        Leave the background transparent (alpha = brightness) instead.

    Returns
    -------
    ndarray, shape (H, W, 4), float64 in [0, 1]
        Straight (not premultiplied) RGBA.
    """
    from matplotlib.colors import to_rgb

    try:
        back = None if transparent else np.array(to_rgb(background))
    except ValueError:
        raise ParameterError(f"background: unknown colour {background!r}", "background") from None
    colormap = _colormap(cmap)
    alpha = tone_map(agg.counts, gamma)
    light = None if agg.depth is None else surface_light(agg.depth, agg.depth_scale, agg.counts > 0)
    image = np.empty((*alpha.shape, 4))
    # in bands of rows: the colormap's and the blend's temporaries are a band's, not the picture's
    # (a 4096^2 picture stays within the documented memory); every pixel is computed as a whole
    for top in range(0, len(alpha), _BAND_ROWS):
        rows = slice(top, top + _BAND_ROWS)
        a = alpha[rows]
        if agg.color is not None:
            rgb = np.asarray(agg.color[rows], dtype=float)
        elif agg.depth is not None:  # a 3D view: colour by nearness, as a depth cue
            rgb = colormap(0.2 + 0.8 * agg.depth[rows])[..., :3]
        else:
            rgb = colormap(a)[..., :3]
        if light is not None:
            a = np.where(agg.counts[rows] > 0, np.sqrt(a), 0.0)  # a 3D view shows surfaces: lift faint ones
            rgb = rgb * light[rows][..., None]
        if transparent:
            image[rows, :, :3], image[rows, :, 3] = rgb, a
        else:
            image[rows, :, :3] = a[..., None] * rgb + (1.0 - a[..., None]) * back
            image[rows, :, 3] = 1.0
    return image


def surface_light(depth: np.ndarray, depth_scale: float, hit: np.ndarray) -> np.ndarray:
    """Brightness of a depth buffer lit from the upper left, for 3D views.

    Normals come from the depth gradient (Lambert shading), and nearer surfaces are
    brighter, so holes and steps of a 3D attractor (the Menger sponge's tunnels) show.

    Parameters
    ----------
    depth : ndarray, shape (H, W)
        Nearness in [0, 1] of the nearest hit (1 = nearest).
    depth_scale : float
        Pixels per unit of ``depth``.
    hit : ndarray, shape (H, W), bool

    Returns
    -------
    ndarray, shape (H, W), in [0, 1]
    """
    light = np.empty(depth.shape)
    # in bands of rows (each with the row above it, for the vertical differences): the same numbers
    # as the whole picture at once, with a band's temporaries
    for top in range(0, len(depth), _BAND_ROWS):
        first, bottom = max(top - 1, 0), top + _BAND_ROWS
        light[top:bottom] = _surface_light(depth[first:bottom], depth_scale, hit[first:bottom])[top - first :]
    return light


def _surface_light(depth: np.ndarray, depth_scale: float, hit: np.ndarray) -> np.ndarray:
    """:func:`surface_light` of a whole depth buffer (H, W) at once."""
    z = depth * depth_scale
    # differences only between hit neighbours: the background is no surface
    gy, gx = np.zeros_like(z), np.zeros_like(z)
    both = hit[1:, :] & hit[:-1, :]
    gy[1:, :] = np.where(both, z[:-1, :] - z[1:, :], 0.0)  # rows grow downwards; up is -row
    both = hit[:, 1:] & hit[:, :-1]
    gx[:, 1:] = np.where(both, z[:, 1:] - z[:, :-1], 0.0)
    gx, gy = np.clip(gx, -4, 4), np.clip(gy, -4, 4)  # a step is a wall, not an infinitely steep one
    normal = np.stack([-gx, -gy, np.ones_like(z)], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    light = np.array([-0.5, 0.5, 0.7]) / np.linalg.norm([-0.5, 0.5, 0.7])
    lambert = np.clip(normal @ light, 0.0, 1.0)
    return (0.25 + 0.75 * lambert) * (0.45 + 0.55 * depth)


def downsample(rgba: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks of an RGBA image (antialiasing).

    Colours are averaged weighted by alpha, so a transparent background does not
    darken edges. Shape (H * f, W * f, 4) -> (H, W, 4).
    """
    if factor == 1:
        return rgba
    height, width = rgba.shape[0] // factor, rgba.shape[1] // factor
    blocks = rgba[: height * factor, : width * factor].reshape(height, factor, width, factor, 4)
    alpha = blocks[..., 3:].mean(axis=(1, 3))
    premultiplied = (blocks[..., :3] * blocks[..., 3:]).mean(axis=(1, 3))
    rgb = np.divide(premultiplied, alpha, out=np.zeros_like(premultiplied), where=alpha > 0)
    return np.concatenate([rgb, alpha], axis=-1)


def render_image(
    ifs: IFS,
    size=(1024, 1024),
    n_points: int = 20_000_000,
    seed: int = 0,
    bounds=None,
    *,
    color: str = "density",
    cmap: str | None = None,
    gamma: float = 2.2,
    background="black",
    transparent: bool = False,
    supersample: int = 1,
    view=None,
    threads: int | None = None,
    progress: bool | None = None,
    client=None,
    device=None,
) -> np.ndarray:
    """Render an IFS to an RGBA image with the chaos game: aggregate, then shade.

    Parameters
    ----------
    ifs : IFS
    size : int or (H, W)
        Output size in pixels.
    n_points, seed, bounds, view, threads, progress, client, device
        As in :func:`ifskit.render.aggregate`.
    color : {"density", "map"}
        Colour by density through ``cmap``, or by map (the IFS's colours, else ``cmap``
        or ``tab10``) blended along the chain as flam3 does.
    cmap, gamma, background, transparent
        As in :func:`shade`.
    supersample : int
        Render at ``supersample`` times the size and average down (antialiasing);
        the same number of points is spread over the larger raster.

    Returns
    -------
    ndarray, shape (H, W, 4), uint8
    """
    if color not in ("density", "map"):
        raise ParameterError(f"color must be 'density' or 'map', got {color!r}", "color")
    if int(supersample) != supersample or not 1 <= supersample <= 8:
        raise ParameterError(f"supersample must be an integer from 1 to 8, got {supersample}", "supersample")
    height, width = check_size(size)
    factor = int(supersample)
    colors = map_colors(ifs, cmap) if color == "map" else None
    agg = aggregate(
        ifs, (height * factor, width * factor), n_points, seed, bounds,
        view=view, map_colors=colors, threads=threads, progress=progress, client=client, device=device,
    )  # fmt: skip
    rgba = shade(agg, cmap or DEFAULT_CMAP, gamma, background, transparent)
    return to_uint8(downsample(rgba, factor))


def to_uint8(rgba: np.ndarray) -> np.ndarray:
    """Float RGBA in [0, 1] to uint8 (in bands of rows: no picture-sized float temporaries)."""
    out = np.empty(rgba.shape, dtype=np.uint8)
    for top in range(0, len(rgba), _BAND_ROWS):
        rows = slice(top, top + _BAND_ROWS)
        out[rows] = np.clip(np.round(rgba[rows] * 255.0), 0, 255)
    return out


def save_png(rgba: np.ndarray, path, overwrite: bool = False):
    """Write an RGBA image (uint8 or float in [0, 1]) as PNG, atomically."""
    from PIL import Image

    image = rgba if rgba.dtype == np.uint8 else to_uint8(rgba)
    with atomic_path(path, overwrite) as tmp:
        Image.fromarray(image, mode="RGBA").save(tmp, format="PNG")
    return path


def _colormap(name: str):
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except KeyError:
        raise ParameterError(f"cmap: unknown colormap {name!r} (any matplotlib colormap name works)", "cmap") from None
