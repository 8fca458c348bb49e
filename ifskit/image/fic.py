"""The ``.fic`` file format: bit-packed image collage codes.

Layout (little endian)::

    magic    4 bytes  b"IFSC"
    version  u8       1
    kind     u8       0: partitioned IFS (PIFS), 1: neural collage
    header            kind-specific fixed fields (struct below)
    payload           kind-specific, bit-packed
    crc32    u32      of every byte before it

A reader checks magic, version, kind, sizes and checksum before trusting a byte, so a
truncated or corrupted file fails with one :class:`~ifskit.errors.FormatError`.
"""

from __future__ import annotations

import collections
import struct
import zlib
from pathlib import Path

import numpy as np

from .._io import read_bytes, write_bytes
from ..errors import FormatError
from ..limits import MAX_CODE_BYTES, check_decode_scale

MAGIC = b"IFSC"
VERSION = 1
KIND_PIFS = 0
KIND_NEURAL = 1
_KIND_NAMES = {KIND_PIFS: "PIFS", KIND_NEURAL: "neural collage"}
_PREAMBLE = struct.Struct("<4sBB")
_CRC = struct.Struct("<I")


class BitWriter:
    """Accumulates unsigned fields of given widths; :meth:`to_bytes` packs them MSB first."""

    def __init__(self):
        self._values, self._widths = [], []

    def write(self, values, width: int) -> None:
        """Append one field, or an array of fields, each ``width`` bits wide."""
        values = np.atleast_1d(np.asarray(values, dtype=np.int64))
        if width <= 0 or len(values) == 0:
            return
        if values.min() < 0 or values.max() >= 2**width:
            raise ValueError(f"value out of range for {width} bits")
        self._values.append(values)
        self._widths.append(np.full(len(values), width))

    def to_bytes(self) -> bytes:
        if not self._values:
            return b""
        values, widths = np.concatenate(self._values), np.concatenate(self._widths)
        # bit j of field i (MSB first): (value >> (width - 1 - j)) & 1
        field = np.repeat(np.arange(len(values)), widths)
        position = np.arange(len(field)) - np.repeat(np.cumsum(widths) - widths, widths)
        shifts = widths[field] - 1 - position
        bits = (values[field] >> shifts) & 1
        return np.packbits(bits.astype(np.uint8)).tobytes()


class BitReader:
    """Reads MSB-first unsigned fields from bytes; reading past the end is a :class:`FormatError`."""

    def __init__(self, data: bytes, path=None):
        self._bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        self._pos = 0
        self._path = path

    def read(self, width: int, count: int = 1) -> np.ndarray:
        """``count`` fields of ``width`` bits: ndarray of int64, shape (count,)."""
        end = self._pos + width * count
        if end > len(self._bits):
            raise FormatError("truncated payload (the code needs more bits than the file holds)", self._path)
        if width == 0:
            return np.zeros(count, dtype=np.int64)
        chunk = self._bits[self._pos : end].reshape(count, width).astype(np.int64)
        self._pos = end
        return chunk @ (1 << np.arange(width - 1, -1, -1, dtype=np.int64))

    def read_one(self, width: int) -> int:
        return int(self.read(width)[0])


def pack(kind: int, header: bytes, payload: bytes) -> bytes:
    """Frame a header and payload: magic, version, kind, ..., CRC32."""
    body = _PREAMBLE.pack(MAGIC, VERSION, kind) + header + payload
    return body + _CRC.pack(zlib.crc32(body))


def unpack(data: bytes, path=None) -> tuple:
    """Check the frame of a ``.fic`` file; returns ``(kind, rest)`` (header and payload bytes).

    Raises
    ------
    FormatError
        Wrong magic, unknown version or kind, truncated file, checksum mismatch.
    """
    if data[:4] != MAGIC:
        raise FormatError("not an ifskit .fic file (wrong magic number)", path)
    if len(data) < _PREAMBLE.size + _CRC.size:
        raise FormatError("truncated file", path)
    _, version, kind = _PREAMBLE.unpack_from(data)
    if version != VERSION:
        raise FormatError(f"unsupported .fic version {version} (this ifskit reads version {VERSION})", path)
    if kind not in _KIND_NAMES:
        raise FormatError(f"unknown .fic code kind {kind}", path)
    body, (crc,) = data[: -_CRC.size], _CRC.unpack(data[-_CRC.size :])
    if zlib.crc32(body) != crc:
        raise FormatError("corrupted or truncated file (CRC32 checksum mismatch)", path)
    return kind, body[_PREAMBLE.size :]


def read_fic(path) -> tuple:
    """Read and check a ``.fic`` file: ``(kind, header and payload bytes)``."""
    return unpack(read_bytes(path, MAX_CODE_BYTES, ".fic codes"), path)


def write_fic(data: bytes, path, overwrite: bool = False) -> Path:
    """Write framed bytes atomically."""
    return write_bytes(path, data, overwrite)


class CodeFile:
    """What every kind of code shares: its ``.fic`` bytes, their size, saving them, and decoding to the fixed point.

    Subclasses define ``height``, ``width`` (the image size), ``decoded_size`` (the padded size
    the decoder works on, at scale 1), ``to_bytes()`` and
    ``decode_steps(scale, *, iterations, start, coarse_start)``, a generator of the decoded images.
    """

    def check_scale(self, scale: int) -> None:
        """Refuse a ``scale`` below 1 or one whose decoding exceeds :data:`~ifskit.limits.MAX_DECODE_PIXELS`
        (a :class:`~ifskit.errors.ParameterError`), before anything is allocated."""
        check_decode_scale(scale, *self.decoded_size)

    def decode(self, scale: int = 1, *, iterations: int | None = None, start=None) -> np.ndarray:
        """The fixed point at ``scale`` times the size (or the image after ``iterations`` steps).

        See ``decode_steps``; without ``iterations``, decoding starts from the fixed point at scale 1.

        Returns
        -------
        ndarray of uint8, shape (scale * height, scale * width) or (..., 3)
        """
        steps = self.decode_steps(scale, iterations=iterations, start=start, coarse_start=iterations is None)
        return collections.deque(steps, maxlen=1)[0]

    def save(self, path, overwrite: bool = False) -> Path:
        """Write the code as a ``.fic`` file, atomically."""
        return write_fic(self.to_bytes(), path, overwrite)

    @property
    def n_bytes(self) -> int:
        return len(self.to_bytes())

    @property
    def bpp(self) -> float:
        """Bits per pixel of the image (the whole file: header and checksum included)."""
        return 8.0 * self.n_bytes / (self.height * self.width)


def kind_name(kind: int) -> str:
    return _KIND_NAMES[kind]
