"""Point-cloud files checked by ifskit before a reader allocates anything or open3d sees them.

Each ``check_*`` function reads only the header (and, for text formats, counts lines), checks the
declared sizes against :mod:`ifskit.limits` and against the size of the file, and returns a
:class:`CloudHeader`. open3d's readers trust their input: a PLY header line over 1024 bytes aborts
the process, a truncated file is read with its missing points set to zero, and in an ASCII file a
word that is not a number becomes 0 or whatever the memory held (every record of an ASCII PLY's
vertices or PCD's points is checked here, :func:`_check_ascii_data`). The same checks, run
on a file just written, tell whether it is whole (:func:`check_written`).
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from tokenize import TokenError

import numpy as np

from ..errors import FormatError, OutputError
from ..limits import (
    MAX_HEADER_BYTES,
    MAX_HEADER_LINE,
    MAX_POINTS,
    MAX_TEXT_FILE_BYTES,
    MAX_TEXT_LINE,
    MAX_TEXT_WORD,
    check_count,
    check_file_size,
)

#: Sizes in bytes of the PLY property types.
PLY_TYPES = {
    "char": 1, "uchar": 1, "int8": 1, "uint8": 1,
    "short": 2, "ushort": 2, "int16": 2, "uint16": 2,
    "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4, "float32": 4,
    "double": 8, "float64": 8,
}  # fmt: skip
_PLY_FORMATS = ("ascii", "binary_little_endian", "binary_big_endian")
# elements other than the vertices (faces, edges) may be a few times more numerous
_OTHER_ELEMENTS = 4 * MAX_POINTS
# most elements and properties in one header (a point cloud needs 1 and 3)
_MAX_ITEMS = 256
_PCD_SIZES = {1, 2, 4, 8}
_LONG_WORD = re.compile(rb"[^\s]{%d,}" % (MAX_TEXT_WORD + 1))


@dataclass(frozen=True)
class CloudHeader:
    """What a point-cloud file declares.

    Attributes
    ----------
    points : int
        Number of points (PLY vertices).
    data_offset : int
        Bytes before the data.
    data_bytes : int or None
        Exact size of the data for a binary file without lists, else None.
    """

    points: int
    data_offset: int
    data_bytes: int | None


def _header_lines(path: Path, head: bytes, end_test) -> tuple[list[str], int]:
    """The header lines of ``head`` up to the line for which ``end_test`` holds, and its end offset."""
    lines = []
    offset = 0
    while True:
        cut = head.find(b"\n", offset)
        if cut < 0:
            if len(head) >= MAX_HEADER_BYTES:
                raise FormatError(f"header longer than {MAX_HEADER_BYTES} bytes", path)
            raise FormatError("truncated header", path, len(lines) + 1)
        raw = head[offset:cut]
        if len(raw) > MAX_HEADER_LINE:
            raise FormatError(
                f"header line of {len(raw)} characters; at most {MAX_HEADER_LINE} are read", path, len(lines) + 1
            )
        try:
            line = raw.decode("ascii").rstrip("\r")
        except UnicodeDecodeError:
            raise FormatError("header line is not ASCII text", path, len(lines) + 1) from None
        lines.append(line)
        offset = cut + 1
        if end_test(line):
            return lines, offset


def _read_head(path: Path) -> tuple[bytes, int]:
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            return fh.read(MAX_HEADER_BYTES), size
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", path) from None


def _count_lines(path: Path, offset: int, header_lines: int) -> tuple[int, bytes, bytes]:
    """Non-empty lines after ``offset`` of a text file, the last of them, and all of it (the body)."""
    check_file_size(path.stat().st_size, MAX_TEXT_FILE_BYTES, "text point clouds", path)
    with open(path, "rb") as fh:
        fh.seek(offset)
        body = fh.read()
    lines = body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
    lines -= body.count(b"\n\n") + body.count(b"\n\r\n")  # blank lines hold no record
    long_word = _LONG_WORD.search(body)
    if long_word is not None:
        line = header_lines + body.count(b"\n", 0, long_word.start()) + 1
        raise FormatError(f"a number of over {MAX_TEXT_WORD} characters", path, line)
    stripped = body.rstrip()
    last = stripped[stripped.rfind(b"\n") + 1 :]
    return lines, last, body


def check_records(path, lines, first_line: int, width=None, skip: int = 0, rows=None, comment=None) -> int:
    """Count the text records of ``lines``, each of ``width`` numbers, refusing the first that is not.

    A record is a non-blank line (``comment`` and what follows it dropped); the first
    ``skip`` records are counted, not checked, and the count stops after ``rows`` more. With
    ``width`` None, the first record checked sets it.

    Parameters
    ----------
    path : str or Path
        The file, for the message.
    lines : iterable of str
    first_line : int
        The line number (1-based) of the first of ``lines`` in the file.
    width : int, optional
    skip : int
    rows : int, optional
        Records checked; default all.
    comment : str, optional

    Returns
    -------
    int
        The records counted.

    Raises
    ------
    FormatError
        Naming the first line at fault: a word that is not a number, or another number of them.
    """
    declared = width is not None
    record = 0
    for number, line in enumerate(lines, start=first_line):
        words = (line.split(comment, 1)[0] if comment else line).split()
        if not words:
            continue
        if record >= skip:
            try:
                [float(word) for word in words]
            except ValueError:
                raise FormatError(f"not a number in {line.strip()[:40]!r}", path, number) from None
            width = len(words) if width is None else width
            if len(words) != width:
                where = "the header declares" if declared else "the lines before have"
                raise FormatError(f"{len(words)} values where {where} {width}", path, number)
        record += 1
        if rows is not None and record == skip + rows:
            break
    return record


def _check_ascii_data(path: Path, body: bytes, header_lines: int, skip: int, rows: int, width: int) -> None:
    """Check that the ``rows`` text records after the first ``skip`` ones each hold ``width`` numbers.

    open3d's ASCII readers take a word that is not a number as 0 or leave that point's memory
    as it was, and read a short line's values into the next point: wrong points, and no error.
    A record is a non-blank line of ``body``, the text after the ``header_lines`` lines of the header.

    Raises
    ------
    FormatError
        Naming the first line at fault.
    """
    if not rows:
        return
    text = body.decode("latin-1")
    try:
        values = np.loadtxt(io.StringIO(text), max_rows=skip + rows, ndmin=2, comments=None)
        if values.shape == (skip + rows, width):
            return
    except ValueError:
        pass
    # the fast reader refused, or the records are not as wide as declared: find the first line at fault
    records = check_records(path, text.splitlines(), header_lines + 1, width, skip, rows)
    if records < skip + rows:  # (the line count checked before makes this a file changed meanwhile)
        raise FormatError(f"declares {skip + rows:,} records but holds {records:,} (truncated?)", path)


def check_ply(path) -> CloudHeader:
    """Check a PLY file's header, declared counts and size.

    Raises
    ------
    FormatError
        A header line over :data:`~ifskit.limits.MAX_HEADER_LINE`, an unknown format or
        property type, a vertex count over :data:`~ifskit.limits.MAX_POINTS` or more data
        declared than the file holds (a truncated file).
    """
    path = Path(path)
    head, size = _read_head(path)
    if not head.startswith(b"ply"):
        raise FormatError("not a PLY file (no 'ply' on the first line)", path, 1)
    lines, offset = _header_lines(path, head, lambda line: line.strip() == "end_header")
    if lines[0].strip() != "ply":
        raise FormatError("not a PLY file (no 'ply' on the first line)", path, 1)
    fmt = None
    elements: list[list] = []  # [name, count, [(type size, list count size or 0)], line]
    for number, line in enumerate(lines[1:-1], start=2):
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format":
            if len(words) != 3 or words[1] not in _PLY_FORMATS:
                raise FormatError(f"unknown PLY format {line!r}", path, number)
            fmt = words[1]
        elif words[0] == "element":
            if len(words) != 3 or not words[2].isdigit():
                raise FormatError(f"bad element line {line!r}", path, number)
            if len(elements) >= _MAX_ITEMS:
                raise FormatError(f"more than {_MAX_ITEMS} elements", path, number)
            count = int(words[2])
            limit = MAX_POINTS if words[1] == "vertex" else _OTHER_ELEMENTS
            check_count(count, limit, f"{words[1]} elements", path, number)
            elements.append([words[1], count, [], number])
        elif words[0] == "property":
            if not elements:
                raise FormatError("property before any element", path, number)
            props = elements[-1][2]
            if len(props) >= _MAX_ITEMS:
                raise FormatError(f"more than {_MAX_ITEMS} properties", path, number)
            if len(words) == 5 and words[1] == "list":
                if words[2] not in PLY_TYPES or words[3] not in PLY_TYPES:
                    raise FormatError(f"unknown PLY property type in {line!r}", path, number)
                props.append((words[4], 0, PLY_TYPES[words[2]]))
            elif len(words) == 3 and words[1] in PLY_TYPES:
                props.append((words[2], PLY_TYPES[words[1]], 0))
            else:
                raise FormatError(f"unknown PLY property {line!r}", path, number)
        else:
            raise FormatError(f"unknown PLY header line {line!r}", path, number)
    if fmt is None:
        raise FormatError("no 'format' line in the PLY header", path)
    vertices = [e for e in elements if e[0] == "vertex"]
    if not vertices:
        raise FormatError("no vertex element in the PLY header", path)
    vertex = vertices[0]
    names = {name for name, fixed, _ in vertex[2] if fixed}
    if not {"x", "y", "z"} <= names:
        raise FormatError("the vertex element has no x, y, z properties", path, vertex[3])
    data_bytes = None
    if fmt == "ascii":
        records = sum(e[1] for e in elements)
        if size - offset < 2 * records:  # at least one digit and one line end each, checked before reading
            raise FormatError(
                f"declares {records:,} records but holds {size - offset:,} bytes of data (truncated?)", path
            )
        lines_found, last, body = _count_lines(path, offset, len(lines))
        if lines_found < records:
            raise FormatError(f"declares {records:,} records but holds {lines_found:,} lines (truncated?)", path)
        if elements[-1] is vertex and vertex[1] and len(last.split()) < len(vertex[2]):
            raise FormatError("the last vertex is cut short (truncated?)", path)
        if all(counted == 0 for _, _, counted in vertex[2]):  # (a vertex with a list has no fixed width)
            before = sum(e[1] for e in elements[: elements.index(vertex)])
            _check_ascii_data(path, body, len(lines), before, vertex[1], len(vertex[2]))
    else:
        minimum = sum(e[1] * sum(fixed + counted for _, fixed, counted in e[2]) for e in elements)
        if size - offset < minimum:
            raise FormatError(f"declares {minimum:,} bytes of data but holds {size - offset:,} (truncated?)", path)
        if all(counted == 0 for e in elements for _, _, counted in e[2]):
            data_bytes = minimum
    return CloudHeader(vertex[1], offset, data_bytes)


def check_pcd(path) -> CloudHeader:
    """Check a PCD file's header, declared counts and size (as :func:`check_ply`)."""
    path = Path(path)
    head, size = _read_head(path)
    lines, offset = _header_lines(path, head, lambda line: line.split()[:1] == ["DATA"])
    fields: dict[str, tuple[list[str], int]] = {}
    for number, line in enumerate(lines, start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        fields[words[0].upper()] = (words[1:], number)

    def ints(key, default=None):
        if key not in fields:
            if default is not None:
                return default
            raise FormatError(f"no {key} line in the PCD header", path)
        words, number = fields[key]
        if not words or not all(w.isdigit() for w in words):
            raise FormatError(f"{key} must be whole numbers", path, number)
        return [int(w) for w in words]

    names = fields.get("FIELDS", ([], None))[0]
    if not {"x", "y", "z"} <= set(names):
        raise FormatError("no x, y, z fields in the PCD header", path)
    sizes = ints("SIZE")
    counts = ints("COUNT", [1] * len(names))
    types = fields.get("TYPE", ([], None))[0]
    if not (len(sizes) == len(counts) == len(types) == len(names)) or len(names) > _MAX_ITEMS:
        raise FormatError("FIELDS, SIZE, TYPE and COUNT disagree in length", path)
    if any(s not in _PCD_SIZES for s in sizes) or any(t not in ("I", "U", "F") for t in types):
        raise FormatError("unknown PCD field size or type", path)
    width, height = ints("WIDTH")[0], ints("HEIGHT")[0]
    points = ints("POINTS", [width * height])[0]
    check_count(points, MAX_POINTS, "points", path, fields["POINTS"][1] if "POINTS" in fields else None)
    if width * height != points:
        raise FormatError(f"WIDTH x HEIGHT ({width} x {height}) is not POINTS ({points})", path)
    record = sum(s * c for s, c in zip(sizes, counts))
    data = fields["DATA"][0][0] if fields["DATA"][0] else ""
    remaining = size - offset
    if data == "binary":
        if remaining < points * record:
            raise FormatError(f"declares {points * record:,} bytes of data but holds {remaining:,} (truncated?)", path)
        return CloudHeader(points, offset, points * record)
    if data == "binary_compressed":
        with open(path, "rb") as fh:
            fh.seek(offset)
            sizes8 = fh.read(8)
        if len(sizes8) < 8:
            raise FormatError("truncated compressed data", path)
        compressed, uncompressed = np.frombuffer(sizes8, "<u4").tolist()
        if uncompressed != points * record or compressed > remaining - 8:
            raise FormatError("compressed data of the wrong size (truncated?)", path)
        return CloudHeader(points, offset, 8 + compressed)
    if data == "ascii":
        lines_found, last, body = _count_lines(path, offset, len(lines))
        if lines_found < points:
            raise FormatError(f"declares {points:,} points but holds {lines_found:,} lines (truncated?)", path)
        if points and len(last.split()) < sum(counts):
            raise FormatError("the last point is cut short (truncated?)", path)
        _check_ascii_data(path, body, len(lines), 0, points, sum(counts))
        return CloudHeader(points, offset, None)
    raise FormatError(f"unknown PCD DATA kind {data!r}", path, fields["DATA"][1])


def check_xyz(path) -> CloudHeader:
    """Check a ``.xyz`` text file: size, line lengths and number of lines."""
    path = Path(path)
    check_file_size(path.stat().st_size, MAX_TEXT_FILE_BYTES, "text point clouds", path)
    data = np.fromfile(path, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    starts = np.concatenate([[-1], ends])
    bounds = np.concatenate([ends, [len(data)]]) if len(data) and data[-1] != 10 else ends
    lengths = bounds - starts[: len(bounds)] - 1
    if len(lengths) and lengths.max() > MAX_TEXT_LINE:
        line = int(np.argmax(lengths > MAX_TEXT_LINE)) + 1
        raise FormatError(f"line of {int(lengths.max())} characters; at most {MAX_TEXT_LINE} are read", path, line)
    check_count(len(lengths), MAX_POINTS, "lines", path)
    return CloudHeader(len(lengths), 0, None)


def check_npy(path) -> CloudHeader:
    """Check a ``.npy`` file: a plain numeric 2D array whose declared shape the file holds.

    Raises
    ------
    FormatError
        A ``.npz`` archive, a corrupt header, objects (pickles), strings, records, another
        number of dimensions, more rows than :data:`~ifskit.limits.MAX_POINTS`, a truncated file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            magic = fh.read(6)
            if magic.startswith(b"PK"):
                raise FormatError("is a .npz archive (zip), not a .npy array; extract the array first", path)
            if magic != b"\x93NUMPY":
                raise FormatError("not a .npy file (no NUMPY magic)", path)
            fh.seek(0)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=MAX_HEADER_BYTES)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=MAX_HEADER_BYTES)
            else:
                raise FormatError(f".npy version {version[0]}.{version[1]} holds no plain numbers", path)
            offset = fh.tell()
    except FormatError:
        raise
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", path) from None
    # numpy's words for a corrupt header: it tokenizes and evaluates the header's Python literal
    except (ValueError, SyntaxError, TypeError, TokenError, RecursionError, MemoryError, OverflowError) as exc:
        raise FormatError(f"corrupt .npy header ({str(exc).splitlines()[0][:120]})", path) from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise FormatError(f"holds {dtype} values; a point cloud is plain numbers (no objects, strings, records)", path)
    if len(shape) != 2 or shape[1] not in (2, 3):
        raise FormatError(f"expected n points of 2 or 3 coordinates, got shape {shape}", path)
    check_count(shape[0], MAX_POINTS, "points", path)
    data_bytes = shape[0] * shape[1] * dtype.itemsize
    if size - offset < data_bytes:
        raise FormatError(f"declares {data_bytes:,} bytes of data but holds {size - offset:,} (truncated?)", path)
    return CloudHeader(shape[0], offset, data_bytes)


#: The check of each suffix read through it.
CHECKS = {".ply": check_ply, ".pcd": check_pcd, ".xyz": check_xyz, ".npy": check_npy}


def check_written(tmp, n_points: int, output) -> None:
    """Check that the point-cloud file ``tmp`` just written holds ``n_points`` points, whole.

    Raises
    ------
    OutputError
        The file declares another number of points or is shorter than it declares
        (a full disk that the writer did not report).
    """
    check = CHECKS.get(Path(tmp).suffix.lower())
    if check is None:
        return
    try:
        header = check(tmp)
    except FormatError as exc:
        detail = exc.message.removesuffix(" (truncated?)")
        raise OutputError(f"{output}: cannot write: the file came out incomplete ({detail}; disk full?)") from None
    size = os.path.getsize(tmp)
    whole = header.data_bytes is None or size == header.data_offset + header.data_bytes
    if header.points != n_points or not whole:
        raise OutputError(f"{output}: cannot write: the file came out truncated (disk full?)")
