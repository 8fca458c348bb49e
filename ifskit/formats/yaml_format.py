"""IFS in YAML, read with line numbers in every error.

A file is either a list of maps or a mapping with ``name``, ``description`` and
``maps``. Each map is written in one of three forms::

    name: sierpinski
    maps:
      - {A: [[0.5, 0], [0, 0.5]], b: [0, 0], p: 0.34, color: "#e41a1c"}   # canonical
      - [0.5, 0, 0, 0.5, 0.5, 0, 0.33]            # Fractint row a b c d e f [p]
      - {scale: 0.5, rotate: 0, translate: [0.25, 0.5], p: 0.33}        # geometric

Fractint rows: ``x' = a x + b y + e``, ``y' = c x + d y + f`` (2D, 6 or 7 numbers);
in 3D 12 or 13 numbers, the 3x3 matrix row-major, then the translation.

Geometric form: ``A = R(rotate) @ Shear(shear) @ diag(scale) @ Flip``, ``b = translate``,
with ``rotate`` in degrees counter-clockwise (in 3D ``[rx, ry, rz]``, ``R = Rz Ry Rx``),
``scale`` a number or one per axis, ``shear`` k in ``x += k y`` (2D only) and
``flip`` one of ``x``, ``y`` (``z``) mirroring that axis.

Probabilities are given on every map or on none; ``color`` is a matplotlib colour
(name, ``#rrggbb``) or ``[r, g, b]`` in [0, 1], on every map or on none.
"""

from __future__ import annotations

import json
import math

import numpy as np
import yaml

from ..errors import FormatError, ParameterError
from ..geometry import linear_map
from ..ifs import IFS
from ..limits import MAX_MAPS, MAX_NESTING, check_coefficient, check_count


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses nesting deeper than :data:`~ifskit.limits.MAX_NESTING`.

    The composer recurses once per level, so a file nested a thousand deep would end in
    ``RecursionError``; refusing at a fixed depth is a one-line error naming the line.
    """

    _depth = 0

    def compose_node(self, parent, index):
        if self._depth >= MAX_NESTING:
            mark = self.peek_event().start_mark
            raise _TooDeep(mark.line + 1)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _TooDeep(Exception):
    def __init__(self, line: int):
        self.line = line


_TOP_KEYS = {"name", "description", "maps"}
_CANONICAL_KEYS = {"A", "b", "p", "color"}
_GEOMETRIC_KEYS = {"scale", "rotate", "shear", "flip", "translate", "p", "color"}


def parse_yaml(text: str, path: str = "<string>") -> tuple[IFS, str | None]:
    """Parse YAML text into an IFS.

    Returns
    -------
    ifs : IFS
    description : str or None
    """
    try:
        root = yaml.compose(text, Loader=_Loader)
    except _TooDeep as exc:
        raise FormatError(f"nested more than {MAX_NESTING} levels deep", path, exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FormatError(f"malformed YAML: {problem}", path, mark.line + 1 if mark else None) from None
    reader = _Reader(path)
    if root is None:
        raise FormatError("empty file: expected a list of maps", path, 1)
    name = description = None
    maps_node = root
    if isinstance(root, yaml.MappingNode):
        fields = reader.mapping(root, _TOP_KEYS, "the top level")
        if "maps" not in fields:
            raise FormatError("no 'maps' list", path, reader.line(root))
        name = reader.string(fields["name"]) if "name" in fields else None
        description = reader.string(fields["description"]) if "description" in fields else None
        maps_node = fields["maps"]
    if not isinstance(maps_node, yaml.SequenceNode) or not maps_node.value:
        raise FormatError("expected a non-empty list of maps", path, reader.line(maps_node))
    check_count(len(maps_node.value), MAX_MAPS, "maps", path, reader.line(maps_node))
    maps = [reader.affine_map(node) for node in maps_node.value]
    return _assemble(maps, maps_node, reader, name), description


def dump_yaml(ifs: IFS, description: str | None = None) -> str:
    """The canonical YAML text of an IFS; reading it back gives an equal IFS (exact floats)."""
    lines = []
    if ifs.name is not None:
        lines.append(f"name: {json.dumps(ifs.name)}")
    if description:
        lines.append(f"description: {json.dumps(description)}")
    lines.append("maps:")
    for i in range(ifs.n_maps):
        A = "[" + ", ".join(_floats(row) for row in ifs.A[i]) + "]"
        entry = f"  - {{A: {A}, b: {_floats(ifs.b[i])}, p: {float(ifs.p[i])!r}"
        if ifs.colors is not None:
            entry += f", color: {_floats(ifs.colors[i])}"
        lines.append(entry + "}")
    return "\n".join(lines) + "\n"


def _floats(values) -> str:
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


class _Reader:
    """Turns YAML nodes into values, raising errors that name the file and line."""

    def __init__(self, path: str):
        self.path = path

    @staticmethod
    def line(node) -> int:
        return node.start_mark.line + 1

    def error(self, node, message: str) -> FormatError:
        return FormatError(message, self.path, self.line(node))

    def mapping(self, node, allowed: set, what: str) -> dict:
        out = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in allowed:
                raise self.error(
                    key_node, f"unknown key {key!r} in {what} (expected one of {', '.join(sorted(allowed))})"
                )
            if key in out:
                raise self.error(key_node, f"duplicate key {key!r}")
            out[key] = value_node
        return out

    def string(self, node) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, "expected text")
        return node.value

    def number(self, node) -> float:
        # float() of the scalar's text: YAML 1.1 would read '1e-05' as a string
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, "expected a number")
        text = node.value.lower().lstrip("+-")
        if text in (".nan", ".inf"):  # YAML's spellings, which float() does not know
            raise self.error(node, f"{node.value!r} is not a finite number")
        try:
            value = float(node.value)
        except ValueError:
            raise self.error(node, f"expected a number, got {node.value!r}") from None
        if not math.isfinite(value):
            raise self.error(node, f"{node.value!r} is not a finite number")
        try:
            return check_coefficient(value)
        except FormatError as exc:
            raise self.error(node, exc.message) from None

    def numbers(self, node, lengths: tuple, what: str) -> list:
        if isinstance(node, yaml.ScalarNode) and 1 in lengths:
            return [self.number(node)]
        if not isinstance(node, yaml.SequenceNode) or len(node.value) not in lengths:
            expected = " or ".join(str(n) for n in lengths)
            raise self.error(node, f"{what} must be a list of {expected} numbers")
        return [self.number(v) for v in node.value]

    def affine_map(self, node) -> dict:
        """One map as a dict with 'A', 'b', 'p' (or None), 'color' (or None), 'node'."""
        if isinstance(node, yaml.SequenceNode):
            row = self.numbers(node, (6, 7, 12, 13), "a Fractint row")
            dim = 2 if len(row) <= 7 else 3
            n = dim * dim + dim
            A = np.reshape(row[: dim * dim], (dim, dim))
            return self._checked({"A": A, "b": row[dim * dim : n], "p": row[n] if len(row) > n else None}, node)
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, "a map must be a Fractint row [a, b, c, d, e, f, p] or a mapping with A and b")
        keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
        if "A" in keys or "b" in keys:
            fields = self.mapping(node, _CANONICAL_KEYS, "a map")
            if "A" not in fields or "b" not in fields:
                raise self.error(node, "a map needs both A and b")
            A = self._matrix(fields["A"])
            b = self.numbers(fields["b"], (len(A),), "b")
        else:
            fields = self.mapping(node, _GEOMETRIC_KEYS, "a map")
            A, b = self._geometric(fields, node)
        item = {"A": A, "b": b, "p": self.number(fields["p"]) if "p" in fields else None}
        if "color" in fields:
            item["color"] = self._color(fields["color"])
        return self._checked(item, node)

    def _checked(self, item: dict, node) -> dict:
        if item["p"] is not None and item["p"] < 0:
            raise self.error(node, f"negative probability {item['p']:g}")
        item.setdefault("color", None)
        item["node"] = node
        return item

    def _matrix(self, node) -> np.ndarray:
        if not isinstance(node, yaml.SequenceNode) or len(node.value) not in (2, 3):
            raise self.error(node, "A must be a 2x2 or 3x3 list of rows")
        dim = len(node.value)
        return np.array([self.numbers(row, (dim,), f"each row of a {dim}x{dim} A") for row in node.value])

    def _geometric(self, fields: dict, node) -> tuple:
        dim = 2
        if "rotate" in fields and isinstance(fields["rotate"], yaml.SequenceNode):
            dim = 3
        if "translate" in fields and isinstance(fields["translate"], yaml.SequenceNode):
            dim = len(fields["translate"].value)
        if dim not in (2, 3):
            raise self.error(fields["translate"], "translate must have 2 or 3 numbers")
        scale = self.numbers(fields["scale"], (1, dim), "scale") if "scale" in fields else [1.0]
        if "rotate" not in fields:
            rotate = 0.0
        elif dim == 2:
            rotate = self.number(fields["rotate"])
        else:
            rotate = self.numbers(fields["rotate"], (3,), "rotate (3D: [rx, ry, rz] degrees)")
        shear = self.number(fields["shear"]) if "shear" in fields else 0.0
        flip = self.string(fields["flip"]) if "flip" in fields else None
        try:
            A = linear_map(dim, scale if len(scale) > 1 else scale[0], rotate, shear, flip)
        except (FormatError, ParameterError) as exc:  # a bad value in the file: say where
            raise self.error(node, exc.message) from None
        b = self.numbers(fields["translate"], (dim,), "translate") if "translate" in fields else [0.0] * dim
        return A, b

    def _color(self, node) -> tuple:
        if isinstance(node, yaml.SequenceNode):
            rgb = self.numbers(node, (3,), "color")
            if min(rgb) < 0 or max(rgb) > 1:
                raise self.error(node, "color components must be in [0, 1]")
            return tuple(rgb)
        from matplotlib.colors import to_rgb

        try:
            return to_rgb(self.string(node))
        except ValueError:
            raise self.error(node, f"unknown colour {node.value!r}") from None


def _assemble(maps: list, maps_node, reader: _Reader, name: str | None) -> IFS:
    """Check that the maps agree (dimension, p and colour on all or none) and build the IFS."""
    dim = len(maps[0]["A"])
    for item in maps:
        if len(item["A"]) != dim:
            raise reader.error(item["node"], f"a {len(item['A'])}D map in a {dim}D IFS")
    for key, what in (("p", "probability"), ("color", "colour")):
        given = [item[key] is not None for item in maps]
        if any(given) and not all(given):
            missing = maps[given.index(False)]
            raise reader.error(missing["node"], f"{what} missing on this map (give it on every map or on none)")
    A = np.array([item["A"] for item in maps], dtype=float)
    b = np.array([item["b"] for item in maps], dtype=float)
    p = np.array([item["p"] for item in maps]) if maps[0]["p"] is not None else None
    colors = np.array([item["color"] for item in maps]) if maps[0]["color"] is not None else None
    try:
        return IFS(A, b, p, name=name, colors=colors)
    except FormatError as exc:
        raise reader.error(maps_node, exc.message) from None
