"""Neural collage codes: encoding an image with the model, and the code's ``.fic`` file (kind 1).

An image of any size is padded to whole crops and every crop is encoded independently (one
batched forward pass, :func:`encode_image`). The :class:`NeuralCode` is quantized and
bit-packed into the same ``.fic`` family as PIFS codes, self-contained (it carries the learned
auxiliary patches), and decoded at any scale without the model.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

import numpy as np
import torch

from ...errors import FormatError, ParameterError
from ...limits import MAX_PIXELS
from ...ops.device import one_torch_thread
from .. import fic
from ..collage import DECODE_TOL, CollageConfig, decode, fixed_point
from ..color import resize_plane, rgb_to_ycbcr
from ..imagefile import as_image_array
from .model import CollageEncoder

#: Range of the per-range bias (images are in [0, 1]) and its bits in a code.
BIAS_RANGE = (-1.0, 2.0)
BIAS_BITS = 10
# height, width, crop, range_size, n_aux, flags (1: augment, 2: overlap), top_k, weight bits, s_max in thousandths
_HEADER = struct.Struct("<IIHBBBBBH")


@dataclass
class NeuralCode(fic.CodeFile):
    """Quantized sparse collage parameters of a grayscale image, one set per ``crop x crop`` tile.

    Attributes
    ----------
    height, width : int
        Image size (the tiles cover it, padded).
    config : CollageConfig
    aux : ndarray of uint8, shape (n_aux, range_size, range_size)
    weights : ndarray of int, shape (n_tiles, n_ranges, top_k)
        Quantized weights ``q``: ``w = q / (2^(bits-1) - 1) * s_max``; every range has
        ``sum |q| <= 2^(bits-1) - 1``, hence ``sum |w| <= s_max``.
    index : ndarray of int, shape (n_tiles, n_ranges, top_k)
        Candidate of each weight (meaningless where the weight is 0).
    bias : ndarray of int, shape (n_tiles, n_ranges)
        ``BIAS_BITS``-bit bias over :data:`BIAS_RANGE`.
    weight_bits : int
    """

    height: int
    width: int
    config: CollageConfig
    aux: np.ndarray
    weights: np.ndarray
    index: np.ndarray
    bias: np.ndarray
    weight_bits: int = 6

    @property
    def tiles(self) -> tuple:
        """(rows, columns) of tiles."""
        crop = self.config.crop
        return -(-self.height // crop), -(-self.width // crop)

    @property
    def decoded_size(self) -> tuple:
        """(height, width) of the whole tiles that the decoder works on, at scale 1."""
        rows, cols = self.tiles
        return rows * self.config.crop, cols * self.config.crop

    @property
    def channels(self) -> int:
        return 1

    def parameters(self) -> tuple:
        """Dequantized dense parameters, float tensors (:meth:`sparse_parameters` scattered).

        Returns
        -------
        weights : Tensor, shape (n_tiles, n_candidates, n_ranges)
        bias : Tensor, shape (n_tiles, n_ranges)
        aux : Tensor, shape (n_aux, range_size, range_size)
        """
        index, weights, bias, aux = self.sparse_parameters()
        dense = torch.zeros(*weights.shape[:2], self.config.n_candidates).scatter_add_(2, index, weights)
        return dense.transpose(1, 2).contiguous(), bias, aux

    def sparse_parameters(self) -> tuple:
        """Dequantized parameters as the decoder uses them.

        Returns
        -------
        index, weights : Tensor, shape (n_tiles, n_ranges, top_k)
        bias : Tensor, shape (n_tiles, n_ranges)
        aux : Tensor, shape (n_aux, range_size, range_size)
        """
        top = 2 ** (self.weight_bits - 1) - 1
        weights = torch.from_numpy(self.weights.astype(np.float32) / top * self.config.s_max)
        low, high = BIAS_RANGE
        bias = torch.from_numpy(low + self.bias.astype(np.float32) / (2**BIAS_BITS - 1) * (high - low))
        aux = torch.from_numpy(self.aux.astype(np.float32) / 255.0)
        return torch.from_numpy(self.index.astype(np.int64)), weights, bias, aux

    def decode_steps(self, scale: int = 1, *, iterations: int | None = None, start=None, coarse_start: bool = False):
        """Iterate the decoder; yields the image after each step.

        Parameters
        ----------
        scale : int
            The output is (scale * height, scale * width).
        iterations : int, optional
            Fixed number of steps; by default until no pixel moves by more than 0.05 gray levels (at most 100).
        start : ndarray, shape (H, W) or (H, W, 3), optional
            Any start image (luminance, resized to the output); black by default.
        coarse_start : bool
            Without ``start`` and with ``scale > 1``, start from the fixed point at scale 1, enlarged.

        Yields
        ------
        ndarray of uint8, shape (scale * height, scale * width)
        """
        self.check_scale(scale)
        index, weights, bias, aux = self.sparse_parameters()
        rows, cols = self.tiles
        side = self.config.crop * scale
        first = None
        if start is not None:
            first = _cut_tiles(_start_plane(start, scale * self.height, scale * self.width), side)
        elif coarse_start and scale > 1:
            with torch.no_grad(), one_torch_thread():
                small = fixed_point(self.config, weights, bias, aux, tol=DECODE_TOL, index=index)
            first = torch.nn.functional.interpolate(small, scale_factor=scale, mode="nearest")
        with torch.no_grad(), one_torch_thread():  # the decoded image does not depend on the thread count
            for z in decode(
                self.config,
                weights,
                bias,
                aux,
                scale=scale,
                iterations=iterations,
                start=first,
                tol=DECODE_TOL,
                index=index,
            ):
                image = z.reshape(rows, cols, side, side).permute(0, 2, 1, 3).reshape(rows * side, cols * side)
                image = image[: self.height * scale, : self.width * scale]
                yield np.rint(image.clamp(0, 1).numpy() * 255).astype(np.uint8)

    def to_bytes(self) -> bytes:
        """The ``.fic`` file contents (kind 1): header, auxiliary patches, bit-packed parameters, CRC32.

        Bit fields: every weight (``weight_bits``, offset by ``2^(bits-1) - 1``), then the candidate
        index of each non-zero weight, then every bias (``BIAS_BITS``).
        """
        c = self.config
        top = 2 ** (self.weight_bits - 1) - 1
        header = _HEADER.pack(
            self.height, self.width, c.crop, c.range_size, c.n_aux, c.augment | 2 * c.overlap, self.weights.shape[2],
            self.weight_bits, round(c.s_max * 1000),
        )  # fmt: skip
        writer = fic.BitWriter()
        writer.write(self.weights.ravel() + top, self.weight_bits)
        writer.write(self.index[self.weights != 0], _index_bits(c))
        writer.write(self.bias.ravel(), BIAS_BITS)
        return fic.pack(fic.KIND_NEURAL, header, self.aux.astype(np.uint8).tobytes() + writer.to_bytes())


#: Tiles scored in one batch by :func:`encode_image` (256 tiles of 64^2: about 100 MB of scores).
_TILES_PER_PASS = 256


def _index_bits(config: CollageConfig) -> int:
    return max(1, int(np.ceil(np.log2(config.n_candidates))))


def _start_plane(start, height: int, width: int) -> np.ndarray:
    """Any image -> (height, width) float32 luminance in [0, 1] (bilinear resize)."""
    start = as_image_array(start, "start").astype(np.float64)
    if start.ndim == 3:
        start = rgb_to_ycbcr(start)[..., 0]
    return resize_plane(start, width, height) / 255.0


def neural_from_bytes(rest: bytes, path=None) -> NeuralCode:
    """Parse the header and payload of a neural ``.fic`` (after :func:`ifskit.image.fic.unpack`)."""
    if len(rest) < _HEADER.size:
        raise FormatError("truncated header", path)
    height, width, crop, r, n_aux, flags, top_k, bits, s_max = _HEADER.unpack_from(rest)
    s_max /= 1000
    if not (
        r >= 1 and crop >= 2 * r and crop % (2 * r) == 0 and 2 <= bits <= 8 and 0 < s_max < 1 and height and width
    ) or not (1 <= top_k <= 64 and flags < 4 and not (flags & 2 and r % 2)):
        raise FormatError("corrupted header (impossible collage parameters)", path)
    config = CollageConfig(crop, r, n_aux, bool(flags & 1), False, s_max, bool(flags & 2))
    offset = _HEADER.size + n_aux * r * r
    if offset > len(rest):
        raise FormatError("truncated payload", path)
    aux = np.frombuffer(rest[_HEADER.size : offset], np.uint8).reshape(n_aux, r, r)
    if height * width > MAX_PIXELS:
        raise FormatError(
            f"declares a {width}x{height} image; ifskit reads codes of at most {MAX_PIXELS:,} pixels", path
        )
    tiles = -(-height // crop) * -(-width // crop)
    shape = (tiles, config.n_ranges, top_k)
    least_bits = tiles * config.n_ranges * (top_k * bits + BIAS_BITS)  # every weight and bias, before any index
    if least_bits > 8 * (len(rest) - offset):
        raise FormatError(
            f"truncated payload (a {width}x{height} code needs at least {least_bits:,} bits, "
            f"the file holds {8 * (len(rest) - offset):,})",
            path,
        )
    reader = fic.BitReader(rest[offset:], path)
    top = 2 ** (bits - 1) - 1
    weights = reader.read(bits, int(np.prod(shape))).reshape(shape) - top
    index = np.zeros(shape, np.int64)
    index[weights != 0] = reader.read(_index_bits(config), int(np.count_nonzero(weights)))
    bias = reader.read(BIAS_BITS, tiles * config.n_ranges).reshape(tiles, config.n_ranges)
    if len(rest) - offset != -(-reader._pos // 8):
        raise FormatError("corrupted payload (trailing bytes)", path)
    if weights.max(initial=0) > top or index.max(initial=0) >= config.n_candidates:
        raise FormatError("corrupted payload (a field out of range)", path)
    if np.abs(weights).sum(axis=2).max(initial=0) > top:
        raise FormatError("corrupted payload (weights too large: not contractive)", path)
    return NeuralCode(height, width, config, aux.copy(), weights, index, bias, bits)


def image_tiles(image: np.ndarray, crop: int) -> torch.Tensor:
    """A grayscale image padded (edges repeated) and cut into tiles: (n_tiles, 1, crop, crop) in [0, 1]."""
    return _cut_tiles(np.asarray(image, np.float32) * np.float32(1 / 255), crop)


def _cut_tiles(plane: np.ndarray, side: int) -> torch.Tensor:
    """A float32 plane padded (edges repeated) to whole tiles and cut: (n_tiles, 1, side, side), row by row."""
    h, w = plane.shape
    padded = np.pad(plane, ((0, -h % side), (0, -w % side)), mode="edge") if h % side or w % side else plane
    rows, cols = padded.shape[0] // side, padded.shape[1] // side
    tiles = padded.reshape(rows, side, cols, side).transpose(0, 2, 1, 3).reshape(-1, 1, side, side)
    return torch.from_numpy(np.ascontiguousarray(tiles))


@functools.cache
def _keep_freed_memory() -> None:
    """Let the C allocator keep freed blocks of up to 16 MB for reuse (once per process).

    An encoding's temporaries are some MB; glibc's malloc returns freed blocks above its
    threshold (128 KB at start) to the OS, so every call page-faults them in again -- about
    half the time of encoding a 256x256 image. Freeing one 16 MB block raises that threshold
    (malloc's dynamic mmap threshold) to 16 MB and the trim threshold to 32 MB; the process
    keeps that much freed memory. Other allocators ignore it.
    """
    block = torch.empty(16 << 20, dtype=torch.uint8)
    del block


def encode_image(model: CollageEncoder, image: np.ndarray, *, weight_bits: int = 6) -> NeuralCode:
    """Encode a grayscale image in one forward pass of the encoder over its tiles.

    Parameters
    ----------
    model : CollageEncoder
    image : ndarray of uint8, shape (H, W)
    weight_bits : int
        Bits of a quantized weight (sign included), 2..8.

    Returns
    -------
    NeuralCode

    Raises
    ------
    ParameterError
        A bad or colour ``image``, ``weight_bits`` outside 2..8.
    """
    image = as_image_array(image)
    if image.ndim != 2:
        raise ParameterError(
            f"image must be grayscale, shape (H, W), got {image.shape}: the neural collage encoder codes "
            "luminance only (convert it to grayscale: read_image(path, gray=True))",
            "image",
        )
    if not 2 <= weight_bits <= 8:
        raise ParameterError(f"weight_bits must be within 2..8, got {weight_bits}", "weight_bits")
    config = model.config
    _keep_freed_memory()
    tiles = image_tiles(image, config.crop)
    top = 2 ** (weight_bits - 1) - 1
    # one torch thread: the code's bytes must not depend on the thread count (a reduction split
    # among threads adds in another order)
    with torch.inference_mode(), one_torch_thread():
        aux = torch.round(model.aux() * 255) / 255  # what the decoder will see
        parts = []
        for chunk in torch.split(tiles, _TILES_PER_PASS):  # bounds the (tiles, ranges, candidates) scores
            index, weights, picked_mean, range_mean = model.select(chunk, aux)
            q = torch.trunc(weights * (top / config.s_max))  # toward zero: every range keeps sum |w| <= s_max
            parts.append((index, q, range_mean - (q * picked_mean).sum(-1) * (config.s_max / top)))
        index, q, bias = parts[0] if len(parts) == 1 else (torch.cat(column) for column in zip(*parts))
        low, high = BIAS_RANGE
        q_bias = torch.round((bias.clamp(low, high) - low) * ((2**BIAS_BITS - 1) / (high - low))).to(torch.int64)
    return NeuralCode(
        image.shape[0],
        image.shape[1],
        config,
        torch.round(aux * 255).to(torch.uint8).numpy(),
        q.to(torch.int64).numpy(),
        index.numpy(),
        q_bias.numpy(),
        weight_bits,
    )
