"""Fractint ``.ifs`` files: many named entries, 2D and 3D.

::

    fern {            ; a comment, anywhere after ';'
       0    0    0  .16 0   0 .01      ; a b c d e f p: x' = a x + b y + e, y' = c x + d y + f
      .85  .04 -.04 .85 0 1.6 .85
    }
    3dfern (3D) {     ; 13 numbers per map: 3x3 matrix row-major, translation, p
      ...
    }

Numbers may be spread over lines in any way: an entry is its numbers cut into
rows of 7 (13 in 3D). Names are matched case-insensitively, as Fractint does.
A broken entry (e.g. a negative probability) is reported on its own; the other
entries of the file still load.
"""

from __future__ import annotations

import difflib
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._io import read_text
from ..errors import FormatError, IfskitWarning, UnknownNameError
from ..ifs import IFS
from ..limits import MAX_ENTRIES, MAX_IFS_FILE_BYTES, MAX_MAPS, check_coefficient, check_count

_TOKEN = re.compile(r"[{}]|[^\s{}]+")
_3D_SUFFIX = re.compile(r"\(\s*3d\s*\)\s*$", re.IGNORECASE)


@dataclass
class FractintFile:
    """The entries of a ``.ifs`` file.

    Attributes
    ----------
    entries : dict of str to IFS
        The entries that loaded, in file order.
    errors : dict of str to FormatError
        The entries that did not, each with its reason.
    """

    path: str
    entries: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)

    def get(self, name: str) -> IFS:
        """The entry called ``name`` (case-insensitive); a broken one raises its error."""
        for table in (self.entries, self.errors):
            found = _find(table, name)
            if found is not None:
                if isinstance(found, FormatError):
                    raise found
                return found
        names = list(self.entries) + list(self.errors)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5) or difflib.get_close_matches(
            name.lower(), [n.lower() for n in names], n=3, cutoff=0.5
        )
        hint = f"; did you mean {', '.join(close)}?" if close else f"; it has {', '.join(names)}"
        raise UnknownNameError(f"{self.path}: no entry {name!r}{hint}")


def _find(table: dict, name: str):
    if name in table:
        return table[name]
    lowered = {key.lower(): key for key in table}
    key = lowered.get(name.lower())
    return None if key is None else table[key]


def parse_fractint(text: str, path: str = "<string>") -> FractintFile:
    """Parse the text of a ``.ifs`` file.

    Raises
    ------
    FormatError
        For a file whose structure is broken (unbalanced braces, no entries);
        errors inside one entry are collected in ``FractintFile.errors`` instead.
    """
    result = FractintFile(str(path))
    name_words: list = []
    name_line = None
    body = None  # list of (token, line) inside braces, or None outside
    for line_no, line in enumerate(text.splitlines(), start=1):
        for token in _TOKEN.findall(line.split(";", 1)[0]):
            if body is None:
                if token == "{":
                    if not name_words:
                        raise FormatError("'{' without an entry name before it", path, line_no)
                    body = []
                elif token == "}":
                    raise FormatError("'}' without a matching '{'", path, line_no)
                else:
                    if not name_words:
                        name_line = line_no
                    name_words.append(token)
            elif token == "{":
                raise FormatError("'{' inside an entry (missing '}' before it?)", path, line_no)
            elif token == "}":
                _add_entry(result, " ".join(name_words), name_line, body)
                name_words, body = [], None
            else:
                body.append((token, line_no))
    if body is not None:
        raise FormatError(f"entry {' '.join(name_words)!r} has no closing '}}'", path, name_line)
    if name_words:
        raise FormatError(f"text {' '.join(name_words)!r} outside any entry", path, name_line)
    if not result.entries and not result.errors:
        raise FormatError("no IFS entries (expected 'name { a b c d e f p ... }')", path, 1)
    return result


def _add_entry(result: FractintFile, name: str, line: int, body: list) -> None:
    path = result.path
    check_count(len(result.entries) + len(result.errors) + 1, MAX_ENTRIES, "entries or more", path, line)
    dim = 3 if _3D_SUFFIX.search(name) else 2
    name = _3D_SUFFIX.sub("", name).strip()
    try:
        ifs = _entry(name, dim, body, path, line)
    except FormatError as exc:
        result.errors[name] = exc
        return
    if name in result.entries or name in result.errors:
        result.errors[name] = FormatError(f"entry {name!r} is defined twice", path, line)
        result.entries.pop(name, None)
        return
    result.entries[name] = ifs


def _entry(name: str, dim: int, body: list, path: str, line: int) -> IFS:
    values = []
    for token, token_line in body:
        try:
            values.append(float(token))
        except ValueError:
            raise FormatError(f"entry {name!r}: expected a number, got {token!r}", path, token_line) from None
        if not np.isfinite(values[-1]):
            raise FormatError(f"entry {name!r}: {token!r} is not a finite number", path, token_line)
        try:
            check_coefficient(values[-1])
        except FormatError as exc:
            raise FormatError(f"entry {name!r}: {exc.message}", path, token_line) from None
    width = dim * dim + dim + 1
    check_count(len(values) // width, MAX_MAPS, "maps", path, line)
    if not values or len(values) % width:
        raise FormatError(
            f"entry {name!r}: {len(values)} numbers is not a whole number of {dim}D maps ({width} numbers each)",
            path,
            line,
        )
    rows = np.array(values).reshape(-1, width)
    for i, row in enumerate(rows):
        if row[-1] < 0:
            row_line = body[i * width + width - 1][1]
            raise FormatError(f"entry {name!r}: negative probability {row[-1]:g} for map {i}", path, row_line)
    n = dim * dim
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ifs = IFS(rows[:, :n].reshape(-1, dim, dim), rows[:, n : n + dim], rows[:, -1], name=name)
        except FormatError as exc:
            raise FormatError(f"entry {name!r}: {exc.message}", path, line) from None
    for w in caught:
        warnings.warn(f"{path}:{line}: entry {name!r}: {w.message}", IfskitWarning, stacklevel=2)
    return ifs


def read_fractint(path) -> FractintFile:
    """Read every entry of a ``.ifs`` file."""

    return parse_fractint(read_text(path, MAX_IFS_FILE_BYTES, "IFS files"), str(path))


def dump_fractint(ifs_list) -> str:
    """The ``.ifs`` text of one IFS or a list of them (full float precision)."""
    if isinstance(ifs_list, IFS):
        ifs_list = [ifs_list]
    blocks = []
    for index, ifs in enumerate(ifs_list):
        name = re.sub(r"[\s{};]+", "_", ifs.name or f"ifs{index + 1}")
        lines = [f"{name}{' (3D)' if ifs.dim == 3 else ''} {{"]
        for i in range(ifs.n_maps):
            numbers = list(ifs.A[i].ravel()) + list(ifs.b[i]) + [ifs.p[i]]
            lines.append("   " + " ".join(repr(float(v)) for v in numbers))
        blocks.append("\n".join(lines + ["}"]))
    return "\n\n".join(blocks) + "\n"
