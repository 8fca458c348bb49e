"""The built-in catalog: well-known IFS stored as YAML files in ``builtin/data``."""

from __future__ import annotations

import difflib
from functools import cache
from importlib import resources

from ..errors import UnknownNameError
from ..formats.yaml_format import parse_yaml
from ..ifs import IFS


def catalog_names() -> list:
    """Names of the built-in IFS, sorted."""
    return sorted(entry.name[: -len(".yaml")] for entry in _data().iterdir() if entry.name.endswith(".yaml"))


def catalog(name: str) -> IFS:
    """A built-in IFS by name, e.g. ``catalog("barnsley_fern")``.

    Raises
    ------
    UnknownNameError
        For an unknown name, suggesting the closest ones.
    """
    return _entry(_canonical(name))[0]


def catalog_description(name: str) -> str:
    """The one-line description of a built-in."""
    return _entry(_canonical(name))[1] or ""


def _canonical(name: str) -> str:
    names = catalog_names()
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key in names:
        return key
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "see 'ifskit catalog' for the list"
    raise UnknownNameError(f"unknown catalog name {name!r}: {hint}")


@cache
def _entry(name: str):
    resource = _data() / f"{name}.yaml"
    return parse_yaml(resource.read_text(encoding="utf-8"), f"<catalog>/{name}.yaml")


def _data():
    return resources.files(__package__) / "data"
