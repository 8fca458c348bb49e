"""IFS as JSON: ``{"name": ..., "maps": [{"A": [[...]], "b": [...], "p": ..., "color": [r, g, b]}]}``."""

from __future__ import annotations

import json

import numpy as np

from ..errors import FormatError
from ..ifs import IFS


def parse_json(text: str, path: str = "<string>") -> IFS:
    """Parse the JSON text of an IFS (the layout written by :func:`dump_json`)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"malformed JSON: {exc.msg}", path, exc.lineno) from None
    if isinstance(doc, list):
        doc = {"maps": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("maps"), list) or not doc["maps"]:
        raise FormatError('expected an object with a non-empty "maps" list', path)
    maps = doc["maps"]
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
