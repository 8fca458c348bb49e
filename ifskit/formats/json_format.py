"""IFS as JSON: ``{"name": ..., "maps": [{"A": [[...]], "b": [...], "p": ..., "color": [r, g, b]}]}``."""

from __future__ import annotations

import json
import math
import re

import numpy as np

from ..errors import FormatError
from ..ifs import IFS
from ..limits import MAX_DIGITS, MAX_MAPS, MAX_NESTING, check_coefficient, check_count

# strings (skipped whole, so that brackets inside them do not count) and brackets
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class _BadNumber(Exception):
    """A number json accepts but ifskit does not: infinite, NaN, too many digits, too large."""

    def __init__(self, token: str, message: str):
        self.token = token
        self.message = message


def _float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _BadNumber(token, f"{token[:40]} is not a finite number")
    try:
        return check_coefficient(value)
    except FormatError as exc:
        raise _BadNumber(token, exc.message) from None


def _int(token: str) -> float:
    # Python refuses integers of over 4300 digits with a ValueError that json lets through
    if len(token.lstrip("-")) > MAX_DIGITS:
        raise _BadNumber(token, f"a number of {len(token)} digits (at most {MAX_DIGITS})")
    return _float(token)


def _constant(token: str):
    raise _BadNumber(token, f"{token} is not a finite number")


def _check_nesting(text: str, path) -> None:
    """Refuse nesting deeper than :data:`~ifskit.limits.MAX_NESTING` before json recurses into it."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_NESTING:
                line = text.count("\n", 0, match.start()) + 1
                raise FormatError(f"nested more than {MAX_NESTING} levels deep", path, line)
        elif token in "]}":
            depth -= 1


def parse_json(text: str, path: str = "<string>") -> IFS:
    """Parse the JSON text of an IFS (the layout written by :func:`dump_json`)."""
    _check_nesting(text, path)
    try:
        doc = json.loads(text, parse_float=_float, parse_int=_int, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise FormatError(f"malformed JSON: {exc.msg}", path, exc.lineno) from None
    except _BadNumber as exc:
        at = text.find(exc.token)
        raise FormatError(exc.message, path, text.count("\n", 0, at) + 1 if at >= 0 else None) from None
    except RecursionError:  # a nesting the bracket count missed: still one line
        raise FormatError("nested too deeply", path) from None
    if isinstance(doc, list):
        doc = {"maps": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("maps"), list) or not doc["maps"]:
        raise FormatError('expected an object with a non-empty "maps" list', path)
    maps = doc["maps"]
    check_count(len(maps), MAX_MAPS, "maps", path)
    for i, item in enumerate(maps):
        if not isinstance(item, dict) or "A" not in item or "b" not in item:
            raise FormatError(f"map {i} needs A and b", path)
    try:
        p = [item["p"] for item in maps] if all("p" in item for item in maps) else None
        colors = [item["color"] for item in maps] if all("color" in item for item in maps) else None
        return IFS(
            np.array([item["A"] for item in maps], dtype=float),
            np.array([item["b"] for item in maps], dtype=float),
            p,
            name=doc.get("name"),
            colors=colors,
        )
    except (ValueError, TypeError) as exc:
        message = exc.message if isinstance(exc, FormatError) else f"bad map arrays ({exc})"
        raise FormatError(message, path) from None


def dump_json(ifs: IFS) -> str:
    """JSON text of an IFS; floats are written exactly."""
    maps = []
    for i in range(ifs.n_maps):
        item = {"A": ifs.A[i].tolist(), "b": ifs.b[i].tolist(), "p": float(ifs.p[i])}
        if ifs.colors is not None:
            item["color"] = ifs.colors[i].tolist()
        maps.append(item)
    doc = {"name": ifs.name, "maps": maps} if ifs.name is not None else {"maps": maps}
    return json.dumps(doc, indent=1) + "\n"
