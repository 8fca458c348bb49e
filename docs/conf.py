"""Sphinx configuration of the ifskit documentation (build: ``bash scripts/docs.sh``)."""

import os
import sys
from pathlib import Path

import matplotlib
import nbformat

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
matplotlib.use("Agg")

project = "ifskit"
author = "the ifskit developers"
copyright = "2026, the ifskit developers"
release = version = "0.1.0"

extensions = [
    "apipages",  # writes api/*.rst from the __all__ lists (docs/_ext/apipages.py)
    "catalogpage",  # writes catalog.md from the built-ins and gallery/ (docs/_ext/catalogpage.py)
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py"]
suppress_warnings = ["config.cache"]  # sphinx-gallery's configuration holds functions

# -- API reference -----------------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's parameter lists say the types and shapes
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- Markdown pages and the notebook (myst-nb) -----------------------------------------------------------
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
# The notebook runs at build time in its fast setting (fewer points and steps: about half a minute);
# IFSKIT_NOTEBOOK_FAST=0 bash scripts/docs.sh runs it as written (several minutes).
os.environ.setdefault("IFSKIT_NOTEBOOK_FAST", "1")
FAST_NOTE = (
    "This page is `examples/fit_point_cloud.ipynb` executed when the documentation was built, in the "
    "notebook's fast setting (`IFSKIT_NOTEBOOK_FAST=1`: fewer points, steps and restarts), so its fits are "
    "rougher than the notebook's own. Run the notebook, or build the site with "
    "`IFSKIT_NOTEBOOK_FAST=0 bash scripts/docs.sh`, for the full setting."
)
notebook = nbformat.read(ROOT / "examples" / "fit_point_cloud.ipynb", as_version=4)
if os.environ["IFSKIT_NOTEBOOK_FAST"] == "1":
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(f"```{{note}}\n{FAST_NOTE}\n```"))
(DOCS / "notebooks").mkdir(exist_ok=True)
nbformat.write(notebook, DOCS / "notebooks" / "fit_point_cloud.ipynb")

# -- Gallery (sphinx-gallery runs examples/*.py and keeps their figures) ------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # every example runs
    # the movie script writes a GIF, not a figure: the movies page shows it, with the command
    "ignore_pattern": r"movie_loop\.py$",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
}

# -- HTML -------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "ifskit"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_show_sourcelink = False
smartquotes = False  # keep "--help" and quotes as typed (option names, commands)
