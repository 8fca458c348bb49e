"""Write the API reference pages from the package's ``__all__`` lists before Sphinx reads them.

One page per module: its docstring, a table of its public names with their docstrings' first lines, then each name in full
(numpydoc). The top-level page documents ``ifskit.__all__``; a subpackage page documents the names
that ``ifskit`` does not re-export itself and links to those it does, so no object is described
twice. Names come from the code, so a new public function appears without editing the docs.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from pathlib import Path

from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer

# The modules with a page, in the order of the reference's table of contents.
MODULES = [
    ("ifskit", "The top level: every name a user needs for the common tasks."),
    ("ifskit.render", "Chaos game, densities, shading, deterministic renderers, 3D views."),
    ("ifskit.fitting", "The collage-theorem fitter."),
    ("ifskit.neural", "The point-cloud encoder, random IFS, training."),
    ("ifskit.image", "Fractal image compression (PIFS) and image files."),
    ("ifskit.image.encoder", "The neural image collage encoder."),
    ("ifskit.data", "Dataset recipes, the dataset writer and the torch Dataset."),
    ("ifskit.animate", "Interpolation, keyframe paths and movies."),
    ("ifskit.distributed", "Renders and datasets on a Dask cluster."),
    ("ifskit.io", "Loading and saving an IFS: a file, a catalog name or an IFS."),
    ("ifskit.formats", "File formats: YAML, Fractint .ifs, JSON, point clouds."),
]


def public_names(module: types.ModuleType) -> list[str]:
    """``__all__`` of a module, or its own public definitions where it has none; submodules left out."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
        ]
    return [name for name in names if not isinstance(getattr(module, name), types.ModuleType)]


def constant_doc(module: types.ModuleType, name: str) -> str:
    """The ``#:`` comment above a constant where it is defined (the package or one of its modules)."""
    value = getattr(module, name)
    for modname, candidate in list(sys.modules.items()):
        if (modname == module.__name__ or modname.startswith(module.__name__ + ".")) and (
            getattr(candidate, name, None) is value
        ):
            try:
                comment = ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", name))
            except PycodeError:
                continue
            if comment:
                return " ".join(" ".join(comment).split())
    return ""


def summary_line(module: types.ModuleType, name: str) -> str:
    """The first paragraph of a docstring on one line; a constant's ``#:`` comment."""
    value = getattr(module, name)
    if not (inspect.isclass(value) or callable(value)):
        return constant_doc(module, name)
    doc = inspect.getdoc(value) or ""
    return " ".join(doc.split("\n\n")[0].split())


def directive(module: types.ModuleType, name: str) -> str:
    qualified, value = f"{module.__name__}.{name}", getattr(module, name)
    if inspect.isclass(value):
        if issubclass(value, BaseException):
            return f".. autoexception:: {qualified}\n   :show-inheritance:\n"
        return f".. autoclass:: {qualified}\n   :members:\n   :show-inheritance:\n"
    if callable(value):
        return f".. autofunction:: {qualified}\n"
    # a constant: its value when short, and the comment that documents it (not its type's docstring)
    text = repr(value)
    shown = f"\n   :value: {text}" if len(text) <= 80 and "\n" not in text else ""
    return f".. py:data:: {qualified}{shown}\n\n   {constant_doc(module, name)}\n"


def module_page(name: str, summary: str, top_level: dict[int, str]) -> str:
    module = importlib.import_module(name)
    names = public_names(module)
    own = [n for n in names if name == "ifskit" or id(getattr(module, n)) not in top_level]
    shared = [n for n in names if n not in own]
    title = f"``{name}``"
    lines = [f".. _api-{name}:", "", title, "=" * len(title), "", summary, ""]
    lines += [f".. automodule:: {name}", "   :no-members:", "   :no-index:", "", f".. currentmodule:: {name}", ""]
    if own:
        lines += [".. list-table::", "   :widths: 30 70", ""]
        for n in own:
            lines += [f"   * - :obj:`{n} <{name}.{n}>`", f"     - {summary_line(module, n)}"]
        lines += [""]
    if shared:
        links = ", ".join(f":obj:`{n} <{top_level[id(getattr(module, n))]}>`" for n in shared)
        lines += [f"Also here, documented at the top level: {links}.", ""]
    for n in own:
        lines += [directive(module, n), ""]
    return "\n".join(lines)


def write_pages(app) -> None:
    import ifskit

    folder = Path(app.srcdir) / "api"
    folder.mkdir(exist_ok=True)
    top_level = {id(getattr(ifskit, n)): f"ifskit.{n}" for n in public_names(ifskit)}
    entries = []
    for name, summary in MODULES:
        page = module_page(name, summary, top_level)
        path = folder / f"{name}.rst"
        if not path.exists() or path.read_text() != page:  # unchanged pages keep Sphinx's cache
            path.write_text(page)
        entries.append(f"   {name}")
    index = [
        "API reference",
        "=============",
        "",
        "Generated from the docstrings (numpydoc: parameters, array shapes, returns, errors). "
        "``import ifskit`` loads every top-level name on first use (``ifskit/__init__.pyi`` lists them).",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
        *entries,
        "",
    ]
    text = "\n".join(index)
    path = folder / "index.rst"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def setup(app):
    app.connect("builder-inited", write_pages, priority=100)  # before autosummary reads the pages
    return {"parallel_read_safe": True}
