"""Pre-training datasets of fractals: recipes (FractalDB, PC-FractalDB, "Improving Fractal
Pre-training", random clouds), one folder layout whatever runs it, and a torch dataset that
renders samples on the fly.

The names below load on first use: the recipes and the writer need no torch, which only
:class:`FractalDataset` imports.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["factory", "loader", "pictures", "recipes"],
    submod_attrs={
        "factory": ["write_dataset", "read_manifest", "search_categories", "preview_sheet", "MANIFEST"],
        "loader": ["FractalDataset"],
        "recipes": ["RECIPES", "get_recipe"],
    },
)
