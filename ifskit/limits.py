"""The documented limits on what ifskit reads and makes, and on seeds, in one place.

Every reader checks the sizes a file declares (rows, vertices, pixels, maps, nesting) against
these limits and against the size of the file itself *before* it allocates anything, so that a
small hostile file cannot make ifskit grow without bound or crash a native library. A file over a
limit is a one-line :class:`~ifskit.errors.FormatError` naming the limit. The sizes of what ifskit
makes (rendered, decoded and compressed pixels, points kept) are checked before the work starts,
as a one-line :class:`~ifskit.errors.ParameterError`.

The limits keep a whole command under about 1.5 GB resident: the largest point cloud read,
``MAX_POINTS`` x 3 float64, is 480 MB, and the readers may hold a second copy while converting.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import FormatError, ParameterError

#: Most points in a point-cloud file (PLY, PCD, XYZ, NPY, CSV), read or written (``render --points``
#: to a point-cloud file: the points are kept in memory, 480 MB in 3D at this count).
MAX_POINTS = 20_000_000
#: Most pixels in an image read (Pillow's own bomb limit is about 89 million; ours is lower).
MAX_PIXELS = 40_000_000
#: Most pixels of a picture ifskit renders (``--size``; with ``--supersample K``, K^2 times the size;
#: with ``--views``, the four panels): the renderer and its shading keep about 110 bytes per
#: pixel (2.0 GB resident measured at this size, the size of the documented 4096^2 posters).
MAX_RENDER_PIXELS = 4096 * 4096
#: Most points of a chaos-game picture (``render --points`` to a PNG): the density keeps no
#: points, so this bounds the time (hours at this count), not the memory.
MAX_RENDER_POINTS = 10**12
#: Most pixels of an image that ``compress`` codes: the search compares every range block with
#: every domain block, so its time grows with the square of the pixels (minutes at this size) and
#: its memory with the pixels (about 1 GB here).
MAX_COMPRESS_PIXELS = 2048 * 2048
#: Most pixels of a decoded image (``decompress --scale``, ``fractalize --scale``): the PIFS decoder
#: keeps 32-bit index tables and float planes: 0.96 GB resident measured at this size for a gray
#: code, 1.30 GB for a colour one.
MAX_DECODE_PIXELS = 4096 * 4096
#: Largest ``.fic`` code file read, in bytes (a code of the largest image ``compress`` makes is
#: well under 2 MB; the reader unpacks every bit).
MAX_CODE_BYTES = 16 * 2**20
#: Most maps in one IFS read from a file.
MAX_MAPS = 4096
#: Most entries in one Fractint ``.ifs`` file.
MAX_ENTRIES = 10_000
#: Deepest nesting of lists and mappings in a YAML or JSON file (an IFS needs 4).
MAX_NESTING = 32
#: Largest absolute value of a coefficient of a map read from a file: beyond it, bounds and
#: renders overflow to infinity long before the numbers mean anything.
MAX_COEFFICIENT = 1e9
#: Most digits of an integer in a JSON file (Python refuses more than 4300 with a traceback).
MAX_DIGITS = 100
#: Largest IFS text file (YAML, JSON, Fractint) read, in bytes.
MAX_IFS_FILE_BYTES = 64 * 2**20
#: Largest text point-cloud file (CSV, TXT, XYZ, ASCII PLY/PCD) read, in bytes.
MAX_TEXT_FILE_BYTES = 1024 * 2**20
#: Longest line in the header of a PLY or PCD file, in characters: open3d's readers keep a header
#: line in a buffer of 1024 bytes and abort the whole process on a longer one.
MAX_HEADER_LINE = 1000
#: Longest header of a PLY or PCD file, in bytes.
MAX_HEADER_BYTES = 64 * 1024
#: Longest line of a ``.xyz`` file (read by open3d with the same fixed buffer).
MAX_TEXT_LINE = 1000
#: Longest word (number) in the data of an ASCII PLY or PCD file: open3d's PLY reader keeps a word
#: in 256 bytes and, on a longer one, returns the points read so far as if the file were whole.
MAX_TEXT_WORD = 200


#: Largest seed: every random stream is derived from a signed 64-bit integer.
MAX_SEED = 2**63 - 1


def check_seed(seed, parameter: str = "seed") -> int:
    """``seed`` as an int in ``0 .. MAX_SEED``.

    Raises
    ------
    ParameterError
        Not a whole number in that range (a float, a bool, a negative number, 2**64, ...).
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed <= MAX_SEED:
        raise ParameterError(f"{parameter} must be a whole number from 0 to 2**63 - 1, got {seed!r}", parameter)
    return int(seed)


def check_decode_scale(scale, height: int, width: int) -> int:
    """``scale`` checked: a whole number from 1 whose decoding of a ``height x width`` code stays
    within :data:`MAX_DECODE_PIXELS`, before anything is allocated.

    Raises
    ------
    ParameterError
        Naming ``scale``.
    """
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer) or scale < 1:
        raise ParameterError(f"scale must be a positive whole number, got {scale!r}", "scale")
    if height * width * scale**2 > MAX_DECODE_PIXELS:
        raise ParameterError(
            f"scale {scale} makes a {width * scale}x{height * scale} image; "
            f"ifskit decodes at most {MAX_DECODE_PIXELS:,} pixels",
            "scale",
        )
    return int(scale)


def check_count(count: int, limit: int, what: str, path=None, line: int | None = None) -> int:
    """Refuse a declared ``count`` of ``what`` that is negative or over ``limit``.

    Returns
    -------
    int
        ``count``, unchanged.

    Raises
    ------
    FormatError
        Naming ``path`` and ``line`` and the limit.
    """
    if count < 0:
        raise FormatError(f"declares {count} {what}", path, line)
    if count > limit:
        raise FormatError(f"declares {count:,} {what}; ifskit reads at most {limit:,}", path, line)
    return count


def check_file_size(size: int, limit: int, what: str, path=None) -> int:
    """Refuse a file of ``size`` bytes over ``limit`` before reading it whole."""
    if size > limit:
        raise FormatError(f"is {size:,} bytes; ifskit reads {what} of at most {limit:,} bytes", path)
    return size


def check_coefficient(value: float, path=None, line: int | None = None) -> float:
    """Refuse a map coefficient that is not finite or larger than :data:`MAX_COEFFICIENT` in size."""
    if not math.isfinite(value):
        raise FormatError(f"{value!r} is not a finite number", path, line)
    if abs(value) > MAX_COEFFICIENT:
        raise FormatError(f"{value:g} is too large for a map coefficient (at most {MAX_COEFFICIENT:g})", path, line)
    return value
