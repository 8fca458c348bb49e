"""Fractal image compression of whole images: colour planes, rate control, ``.fic`` files.

Grayscale images are one plane. Colour images are converted to YCbCr (JPEG's full-range
matrix) and the chroma planes are halved in each direction before coding, with a looser
split threshold: the eye forgives chroma error, the bits go to luminance. Reading a
``.fic`` file of either kind: :mod:`ifskit.image.files`.
"""

from __future__ import annotations

import collections
import struct
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError, ParameterError
from ..limits import MAX_COMPRESS_PIXELS, MAX_PIXELS
from . import fic
from .color import resize_plane, rgb_to_ycbcr, ycbcr_to_rgb
from .imagefile import as_image_array
from .pifs import (
    CodecParams,
    Level,
    PlaneCode,
    build_quadtree,
    collage_bound,
    decode_plane,
    domain_bits,
    domain_count,
    pad_plane,
    padded_shape,
    search_plane,
)

#: Chroma planes are smooth and small (a quarter of the pixels): split them at a lower RMS error.
CHROMA_THRESHOLD_FACTOR = 0.5
# rows of a colour image converted at once (YCbCr -> RGB) when a decoded image is assembled
_BAND_ROWS = 256
# height, width, channels, min size, max size, s_bits, mean_bits, domain_step, s_max in thousandths
_HEADER = struct.Struct("<IIBBBBBBH")


def quality_threshold(quality: float) -> float:
    """The quadtree split threshold (block RMS error, 0..255) for a quality 1..100."""
    if not 1 <= quality <= 100:
        raise ParameterError(f"quality must be within 1..100, got {quality}", "quality")
    return 2.0 + 0.5 * (100.0 - quality)


@dataclass
class FractalCode(fic.CodeFile):
    """A PIFS code of an image: one :class:`~ifskit.image.pifs.PlaneCode` per plane.

    Attributes
    ----------
    height, width : int
        The image size (the planes are padded beyond it).
    planes : list of PlaneCode
        One (grayscale) or three (Y, then Cb and Cr at half size).
    params : CodecParams
    """

    height: int
    width: int
    planes: list
    params: CodecParams

    @property
    def channels(self) -> int:
        return len(self.planes)

    def to_bytes(self) -> bytes:
        """The ``.fic`` file contents (bit-packed, with CRC32)."""
        p = self.params
        header = _HEADER.pack(
            self.height,
            self.width,
            self.channels,
            p.min_size,
            p.max_size,
            p.s_bits,
            p.mean_bits,
            p.domain_step,
            round(p.s_max * 1000),
        )
        payload = b""
        for plane in self.planes:
            data = _pack_plane(plane)
            payload += struct.pack("<I", len(data)) + data
        return fic.pack(fic.KIND_PIFS, header, payload)

    @property
    def decoded_size(self) -> tuple:
        """(height, width) of the padded luminance plane that the decoder works on, at scale 1."""
        return self.planes[0].height, self.planes[0].width

    def decode_steps(self, scale: int = 1, *, iterations: int | None = None, start=None, coarse_start: bool = False):
        """Iterate the decoder; yields the image after each step.

        Parameters
        ----------
        scale : int
            The output is (scale * height, scale * width).
        iterations : int, optional
            Fixed number of steps; by default until the planes stop changing (at most 64).
        start : ndarray, shape (H, W) or (H, W, 3), optional
            Any start image (resized to the output); mid-grey by default.
        coarse_start : bool
            Without ``start`` and with ``scale > 1``, start from the fixed point at scale 1,
            enlarged: the same fixed point in a third of the steps.

        Yields
        ------
        ndarray of uint8, shape (scale * height, scale * width) or (..., 3)
        """
        self.check_scale(scale)
        if coarse_start and start is None and scale > 1:
            starts = [
                np.kron(collections.deque(decode_plane(p), maxlen=1)[0], np.ones((scale, scale))) for p in self.planes
            ]
        else:
            starts = self._start_planes(start, scale)
        runs = [decode_plane(p, scale, iterations, s) for p, s in zip(self.planes, starts)]
        current = [None] * len(runs)
        active = True
        while active:
            active = False
            for i, run in enumerate(runs):
                step = next(run, None)
                if step is not None:
                    current[i], active = step, True
            if active:
                yield self._assemble(current, scale)

    def _start_planes(self, start, scale: int) -> list:
        """A start image as the code's planes at ``scale``: float64 (h_i * scale, w_i * scale) each, or Nones."""
        if start is None:
            return [None] * self.channels
        start = as_image_array(start, "start").astype(np.float64)
        if self.channels == 1 and start.ndim == 3:
            start = rgb_to_ycbcr(start)[..., 0]
        elif self.channels == 3 and start.ndim == 2:
            start = np.repeat(start[..., None], 3, axis=2)
        if self.channels == 3:
            start = rgb_to_ycbcr(start)
        planes = [start] if start.ndim == 2 else [start[..., i] for i in range(3)]
        return [
            resize_plane(plane, code.width * scale, code.height * scale).astype(np.float64)
            for code, plane in zip(self.planes, planes)
        ]

    def _assemble(self, planes: list, scale: int) -> np.ndarray:
        """Decoded planes -> uint8 (scale * height, scale * width[, 3]): crop, enlarge chroma, YCbCr -> RGB."""
        h, w = self.height * scale, self.width * scale
        if self.channels == 1:
            return np.clip(np.rint(planes[0][:h, :w]), 0, 255).astype(np.uint8)
        ch, cw = -(-self.height // 2) * scale, -(-self.width // 2) * scale
        cb, cr = (resize_plane(chroma[:ch, :cw], 2 * cw, 2 * ch)[:h, :w] for chroma in planes[1:])
        rgb = np.empty((h, w, 3), np.uint8)
        for top in range(0, h, _BAND_ROWS):  # in bands: the float temporaries of a large decode stay small
            rows = slice(top, min(top + _BAND_ROWS, h))
            ycc = np.stack([planes[0][rows, :w], cb[rows], cr[rows]], axis=2)
            rgb[rows] = np.clip(np.rint(ycbcr_to_rgb(ycc)), 0, 255)
        return rgb

    def collage_bounds(self, image) -> list:
        """Per plane, the collage-theorem bound of the decoding error (:class:`~ifskit.image.pifs.CollageBound`).

        Parameters
        ----------
        image : ndarray, shape (height, width) or (height, width, 3)
            The image the code was made from.
        """
        planes = [pad_plane(p, self.params) for p in _planes(as_image_array(image))]
        return [collage_bound(code, plane) for code, plane in zip(self.planes, planes)]


def _planes(image: np.ndarray) -> list:
    """The planes to code: [gray] or [Y, Cb/2, Cr/2] (chroma averaged 2x2, edges repeated)."""
    if image.ndim == 2:
        return [image.astype(np.float64)]
    ycc = rgb_to_ycbcr(image)
    h, w = image.shape[:2]
    even = np.pad(ycc, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    chroma = even.reshape(even.shape[0] // 2, 2, even.shape[1] // 2, 2, 3).mean(axis=(1, 3))
    return [ycc[..., 0], chroma[..., 1], chroma[..., 2]]


def compress_image(
    image,
    *,
    quality: float = 80,
    bpp: float | None = None,
    classified: bool = False,
    params: CodecParams | None = None,
) -> FractalCode:
    """Encode an image as a partitioned IFS.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Grayscale or RGB, values 0..255.
    quality : float
        1..100: sets the quadtree split threshold (:func:`quality_threshold`).
    bpp : float, optional
        Target bits per pixel instead of a quality: the smallest threshold whose file
        fits is found by bisection (the block searches are done once).
    classified : bool
        Classified domain search (faster, slightly worse) instead of exhaustive.
    params : CodecParams, optional

    Returns
    -------
    FractalCode

    Raises
    ------
    ParameterError
        A bad ``image`` or ``quality``, an image of more than
        :data:`~ifskit.limits.MAX_COMPRESS_PIXELS` pixels, a ``bpp`` that is not positive, or one
        that even the coarsest code of the image exceeds.
    """
    image = as_image_array(image)
    check_compress_size(*image.shape[:2])
    if bpp is not None and not bpp > 0:
        raise ParameterError(f"bpp must be positive, got {bpp}", "bpp")
    params = params or CodecParams()
    planes = [pad_plane(p, params) for p in _planes(image)]
    factors = [1.0] + [CHROMA_THRESHOLD_FACTOR] * (len(planes) - 1)
    height, width = image.shape[:2]

    def build(threshold: float, searches: list) -> FractalCode:
        codes = [build_quadtree(s, params, threshold * f, *p.shape) for p, s, f in zip(planes, searches, factors)]
        return FractalCode(height, width, codes, params)

    if bpp is None:
        threshold = quality_threshold(quality)
        return build(threshold, [search_plane(p, params, classified, threshold * f) for p, f in zip(planes, factors)])
    searches = [search_plane(p, params, classified) for p in planes]
    low, high = 0.0, 256.0  # threshold: low gives the most bits, high the fewest
    best = build(high, searches)
    if best.bpp > bpp:
        raise ParameterError(
            f"cannot reach bpp {bpp}: the coarsest code of this image takes {best.bpp:.3f} bits per pixel", "bpp"
        )
    for _ in range(24):
        middle = 0.5 * (low + high)
        code = build(middle, searches)
        if code.bpp <= bpp:
            best, high = code, middle
        else:
            low = middle
    return best


# ---- bit packing ----------------------------------------------------------------------------------
def _pack_plane(code: PlaneCode) -> bytes:
    """The quadtree depth first (a split bit per block larger than the smallest), then leaf fields."""
    p = code.params
    sizes = p.sizes()
    leaves = {
        level.size: {(int(y), int(x)): i for i, (y, x) in enumerate(zip(level.ys, level.xs))} for level in code.levels
    }
    by_size = {level.size: level for level in code.levels}
    centre = 2 ** (p.s_bits - 1) - 1
    writer = fic.BitWriter()

    def visit(size: int, y: int, x: int) -> None:
        index = leaves.get(size, {}).get((y, x))
        if size > p.min_size:
            writer.write(0 if index is not None else 1, 1)
        if index is None:
            half = size // 2
            for dy, dx in ((0, 0), (0, half), (half, 0), (half, half)):
                visit(half, y + dy, x + dx)
            return
        level = by_size[size]
        s_q = int(level.s_q[index])
        writer.write(s_q, p.s_bits)
        writer.write(int(level.mean_q[index]), p.mean_bits)
        if s_q != centre:
            writer.write(int(level.domain[index]), domain_bits(code.height, code.width, size, p))

    for y in range(0, code.height, sizes[0]):
        for x in range(0, code.width, sizes[0]):
            visit(sizes[0], y, x)
    return writer.to_bytes()


def _unpack_plane(data: bytes, height: int, width: int, params: CodecParams, path) -> PlaneCode:
    reader = fic.BitReader(data, path)
    sizes = params.sizes()
    centre = 2 ** (params.s_bits - 1) - 1
    found = {size: ([], [], [], [], []) for size in sizes}
    bits = {size: domain_bits(height, width, size, params) for size in sizes}
    limits = {size: domain_count(height, width, size, params) for size in sizes}

    def visit(size: int, y: int, x: int) -> None:
        if size > params.min_size and reader.read_one(1):
            half = size // 2
            for dy, dx in ((0, 0), (0, half), (half, 0), (half, half)):
                visit(half, y + dy, x + dx)
            return
        s_q = reader.read_one(params.s_bits)
        mean_q = reader.read_one(params.mean_bits)
        domain = reader.read_one(bits[size]) if s_q != centre else 0
        if s_q > 2 * centre or domain >= limits[size]:
            raise FormatError("corrupted payload (a field out of range)", path)
        for column, value in zip(found[size], (y, x, s_q, mean_q, domain)):
            column.append(value)

    for y in range(0, height, sizes[0]):
        for x in range(0, width, sizes[0]):
            visit(sizes[0], y, x)
    code = PlaneCode(height, width, params)
    for size in sizes:
        ys, xs, s_q, mean_q, domain = (np.asarray(c, dtype=np.int64) for c in found[size])
        code.levels.append(Level(size, ys, xs, s_q, mean_q, domain))
    return code


def pifs_from_bytes(rest: bytes, path=None) -> FractalCode:
    """Parse the header and payload of a PIFS ``.fic`` (after :func:`ifskit.image.fic.unpack`).

    Raises
    ------
    FormatError
        Impossible header fields, an image larger than :data:`~ifskit.limits.MAX_PIXELS`, a
        payload too short for the blocks the header declares (checked before anything is
        allocated), a truncated payload, fields out of range, trailing bytes.
    """
    if len(rest) < _HEADER.size:
        raise FormatError("truncated header", path)
    height, width, channels, min_size, max_size, s_bits, mean_bits, step, s_max = _HEADER.unpack_from(rest)
    sizes_ok = min_size >= 2 and max_size >= min_size and all(_power_of_two(v) for v in (min_size, max_size))
    if not (sizes_ok and channels in (1, 3) and 1 <= s_bits <= 16 and 1 <= mean_bits <= 16 and step >= 1):
        raise FormatError("corrupted header (impossible codec parameters)", path)
    s_max /= 1000
    if not 0 < s_max < 1 or min(height, width) < 1:
        raise FormatError("corrupted header (impossible sizes or contrast bound)", path)
    if height * width > MAX_PIXELS:
        raise FormatError(
            f"declares a {width}x{height} image; ifskit reads codes of at most {MAX_PIXELS:,} pixels", path
        )
    params = CodecParams(min_size, max_size, s_bits, mean_bits, s_max, step)
    shapes = [padded_shape(height, width, params)]
    if channels == 3:
        shapes += [padded_shape(-(-height // 2), -(-width // 2), params)] * 2
    offset, planes = _HEADER.size, []
    for shape in shapes:
        if offset + 4 > len(rest):
            raise FormatError("truncated payload", path)
        (length,) = struct.unpack_from("<I", rest, offset)
        offset += 4
        if offset + length > len(rest):
            raise FormatError("truncated payload", path)
        # every top-level block takes at least its split flag, contrast and mean
        top_blocks = (shape[0] // max_size) * (shape[1] // max_size)
        least_bits = (max_size > min_size) + s_bits + mean_bits
        if top_blocks * least_bits > 8 * length:
            raise FormatError(
                f"truncated payload (a {shape[1]}x{shape[0]} plane needs at least {top_blocks * least_bits:,} bits, "
                f"the file holds {8 * length:,})",
                path,
            )
        planes.append(_unpack_plane(rest[offset : offset + length], *shape, params, path))
        offset += length
    if offset != len(rest):
        raise FormatError("trailing bytes after the payload", path)
    return FractalCode(height, width, planes, params)


def check_compress_size(height: int, width: int, parameter: str = "image") -> None:
    """Refuse an image of more than :data:`~ifskit.limits.MAX_COMPRESS_PIXELS` pixels to code."""
    if height * width > MAX_COMPRESS_PIXELS:
        raise ParameterError(
            f"{parameter} is {width}x{height} pixels ({height * width:,}); ifskit compresses at most "
            f"{MAX_COMPRESS_PIXELS:,} (the search time grows with the square of the pixels): reduce it first",
            parameter,
        )


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0
