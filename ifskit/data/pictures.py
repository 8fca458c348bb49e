"""Pictures and files of dataset samples, made with numpy, a Numba kernel and zlib.

A dataset writes hundreds of small pictures a second: here a cloud becomes a FractalDB
picture (:func:`raster`), a density a grey picture (:func:`grey_density`), a picture PNG bytes
(:func:`png_bytes`, no figure machinery, no time stamp: the same picture is the same bytes), a
cloud binary PLY bytes (:func:`ply_bytes`), and pictures a contact sheet (:func:`contact_sheet`).
Everything here releases the GIL where numpy, Numba and zlib do, so that several threads
make samples at once.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

from ..render import kernels

# zlib level of the PNGs, with the run-length strategy: on these pictures (mostly black, long
# runs) 10x faster than the usual level 6, and smaller for binary pictures (FractalDB's: 9.4 kB
# against 10.5 kB at 362 x 362)
PNG_LEVEL = 1


def raster(points: np.ndarray, size: int, patch: np.ndarray | None = None) -> np.ndarray:
    """Binary picture of a 2D cloud as FractalDB draws it: each point lights its pixel (or a patch).

    The cloud is stretched to the picture on each axis (its bounding box fills it, as in the
    FractalDB renderer), y pointing up; the extreme points fall on the centres of the border
    pixels. Points that are not finite are dropped.

    Parameters
    ----------
    points : ndarray, shape (n, 2)
    size : int
        Picture size ``S`` (square).
    patch : ndarray, shape (3, 3), uint8, optional
        Stamped around every point (the brightest value wins where stamps overlap);
        default: the point's pixel is set to 255.

    Returns
    -------
    ndarray, shape (S, S), uint8
    """
    lit = np.zeros((size, size), dtype=np.uint8)
    kernels.light_pixels(np.asarray(points, dtype=np.float64), size, lit)
    return lit if patch is None else stamp(lit, patch)


def stamp(lit: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """Put the 3x3 ``patch`` centred on every lit pixel of ``lit`` (S, S); the brightest value wins.

    The same picture as stamping point by point, made with nine shifted maxima of the whole picture.
    """
    size = lit.shape[0]
    on = np.where(lit > 0, np.uint8(255), np.uint8(0))
    out = np.zeros((size + 2, size + 2), dtype=np.uint8)
    for dr in range(3):
        for dc in range(3):
            window = out[dr : dr + size, dc : dc + size]
            # min(on, v): v where lit, 0 elsewhere
            np.maximum(window, np.minimum(on, patch[dr, dc]), out=window)
    return out[1:-1, 1:-1].copy()


def grey_density(counts: np.ndarray) -> np.ndarray:
    """A density of points (H, W) as a grey picture, uint8: ``255 log(1 + c) / log(1 + max c)``.

    The logarithm shows the sparse parts of an attractor beside the dense ones (flam3's tone map
    without its gamma).
    """
    counts = np.asarray(counts, dtype=np.float32)
    top = float(counts.max())
    if top <= 0:
        return np.zeros(counts.shape, dtype=np.uint8)
    return (np.log1p(counts) * np.float32(255.0 / np.log1p(top)) + np.float32(0.5)).astype(np.uint8)


def png_bytes(image: np.ndarray, level: int = PNG_LEVEL) -> bytes:
    """A uint8 picture as PNG bytes: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA.

    Rows are stored unfiltered and deflated by zlib at ``level`` with its run-length strategy;
    no time stamp, so the same picture is the same bytes. Any PNG reader (Pillow, imageio,
    browsers) opens them.
    """
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    colour_type = {1: 0, 3: 2, 4: 6}[channels]
    # each row starts with its filter byte, 0 (none)
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)
    rows[:, 1:] = image.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    deflate = zlib.compressobj(level, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = deflate.compress(rows) + deflate.flush()  # the array itself: no copy of it to bytes
    return b"".join(
        [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header), _chunk(b"IDAT", data),
         _chunk(b"IEND", b"")]
    )  # fmt: skip


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def npy_bytes(array: np.ndarray) -> bytes:
    """An array as the bytes of its ``.npy`` file (what :func:`numpy.save` writes)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def ply_bytes(points: np.ndarray) -> bytes:
    """A cloud (n, 2) or (n, 3) as a binary little-endian PLY with double ``x, y, z`` (2D: z = 0)."""
    points = np.asarray(points, dtype="<f8")
    if points.shape[1] == 2:
        points = np.column_stack([points, np.zeros(len(points), dtype="<f8")])
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(points)}\nproperty double x\nproperty double y\nproperty double z\nend_header\n"
    )
    return header.encode("ascii") + np.ascontiguousarray(points).tobytes()


def cloud_picture(points: np.ndarray, size: int) -> np.ndarray:
    """A grey picture (S, S) uint8 of a 2D or 3D cloud: where its points fall, brighter where more do.

    A 3D cloud is seen from a fixed oblique view (turned 45 degrees about z, then 30 degrees
    down), as the usual pictures of point clouds; the picture is framed by the cloud's
    bounding box with the aspect kept. A pixel with a point is at least a third bright, the
    rest of the range is the logarithm of the count.
    """
    points = np.asarray(points, dtype=float)
    xy = points if points.shape[1] == 2 else points @ _OBLIQUE.T
    x, y = xy[:, 0], xy[:, 1]
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.all():
        x, y = x[finite], y[finite]
    if len(x) == 0:
        return np.zeros((size, size), dtype=np.uint8)
    lo_x, hi_x, lo_y, hi_y = x.min(), x.max(), y.min(), y.max()
    centre_x, centre_y = (lo_x + hi_x) / 2, (lo_y + hi_y) / 2
    per_pixel = size / (1.05 * max(hi_x - lo_x, hi_y - lo_y, 1e-12))
    cols = np.clip((x - centre_x) * per_pixel + size / 2, 0, size - 1).astype(np.intp)
    rows = np.clip((centre_y - y) * per_pixel + size / 2, 0, size - 1).astype(np.intp)
    # the pixels with points and their counts, by sorting the points' pixels: a cloud lights
    # few pixels, and a count per pixel of the picture would cost more than the cloud
    lit, counts = np.unique(rows * size + cols, return_counts=True)
    extra = np.log1p(counts - 1.0)
    top = float(extra.max())
    picture = np.zeros(size * size, dtype=np.uint8)
    picture[lit] = (85.5 + extra * (170.0 / top if top > 0 else 0.0)).astype(np.uint8)
    return picture.reshape(size, size)


def _oblique(azimuth: float, elevation: float) -> np.ndarray:
    """Rows: the picture's x and y axes in space, for a view turned ``azimuth`` about z, ``elevation`` down."""
    a, e = np.radians(azimuth), np.radians(elevation)
    return np.array([[np.cos(a), np.sin(a), 0.0], [-np.sin(a) * np.sin(e), np.cos(a) * np.sin(e), np.cos(e)]])


_OBLIQUE = _oblique(45.0, 30.0)


def contact_sheet(pictures: list, columns: int | None = None, tile: int = 96) -> np.ndarray:
    """Pictures side by side on a grid, each resized to ``tile`` pixels, for a look at a dataset.

    Parameters
    ----------
    pictures : list of ndarray
        uint8 pictures (H, W) grey or (H, W, 3) colour, of any sizes, row by row on the grid.
    columns : int, optional
        Pictures per row (default: about square).
    tile : int
        Side of a picture on the sheet, in pixels; a 2-pixel grey gap separates them.

    Returns
    -------
    ndarray, shape (rows * (tile + 2) + 2, columns * (tile + 2) + 2, 3), uint8
    """
    columns = columns or max(1, int(np.ceil(np.sqrt(len(pictures)))))
    n_rows = max(1, -(-len(pictures) // columns))
    sheet = np.full((n_rows * (tile + 2) + 2, columns * (tile + 2) + 2, 3), 64, dtype=np.uint8)
    for n, picture in enumerate(pictures):
        rgb = picture if picture.ndim == 3 else np.repeat(picture[:, :, None], 3, axis=2)
        rgb = _shrink(rgb[:, :, :3], tile)
        top, left = 2 + (n // columns) * (tile + 2), 2 + (n % columns) * (tile + 2)
        sheet[top : top + tile, left : left + tile] = rgb
    return sheet


def _shrink(rgb: np.ndarray, tile: int) -> np.ndarray:
    """``rgb`` (H, W, 3) to (tile, tile, 3): the mean of each block of pixels (area resampling)."""
    height, width = rgb.shape[:2]
    # block edges; a picture smaller than the tile repeats its pixels (blocks of one pixel)
    rows = np.minimum((np.arange(tile) * height) // tile, height - 1)
    cols = np.minimum((np.arange(tile) * width) // tile, width - 1)
    row_sizes = np.diff(np.append(rows, height)).clip(1)[:, None, None]
    col_sizes = np.diff(np.append(cols, width)).clip(1)[None, :, None]
    sums = np.add.reduceat(np.add.reduceat(rgb.astype(np.float32), rows, axis=0), cols, axis=1)
    return (sums / (row_sizes * col_sizes) + 0.5).astype(np.uint8)
