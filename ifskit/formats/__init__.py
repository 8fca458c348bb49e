"""Reading and writing IFS (YAML, Fractint ``.ifs``, JSON) and point clouds.

The parsers and writers of each format; :mod:`ifskit.io` chooses among them by suffix
and adds the built-in catalog (:func:`ifskit.load`, :func:`ifskit.save`).
"""

from __future__ import annotations

from .fractint import FractintFile, dump_fractint, parse_fractint, read_fractint
from .json_format import dump_json, parse_json
from .pointcloud import POINT_SUFFIXES, load_points, save_points
from .yaml_format import dump_yaml, parse_yaml

#: Suffixes of IFS files.
IFS_SUFFIXES = {".yaml", ".yml", ".ifs", ".json"}

__all__ = [
    "IFS_SUFFIXES",
    "POINT_SUFFIXES",
    "FractintFile",
    "dump_fractint",
    "dump_json",
    "dump_yaml",
    "load_points",
    "parse_fractint",
    "parse_json",
    "parse_yaml",
    "read_fractint",
    "save_points",
]
