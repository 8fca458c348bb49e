"""ifskit: fractals of affine maps (iterated function systems).

Load or build an :class:`IFS`, render it with the chaos game, save it::

    import ifskit
    fern = ifskit.catalog("barnsley_fern")
    points = ifskit.chaos_game(fern, n_points=100_000, seed=0)      # (n, 2)
    counts = ifskit.density(fern, size=(1024, 1024), n_points=10**7)  # (1024, 1024)
    image = ifskit.render_image(fern, size=1024)                     # (1024, 1024, 4) uint8
    ifskit.save(fern, "fern.yaml")
"""

from .analysis import (
    BoxDimension,
    attractor_distance,
    box_counting,
    box_dimension,
    chamfer_distance,
    hausdorff_distance,
    moran_dimension,
    similarity_dimension,
    similarity_dimension_bounds,
)
from .builtin import catalog, catalog_description, catalog_names
from .errors import FormatError, IfskitError, IfskitWarning, NonContractiveError, OutputError, UnknownNameError
from .formats import load, load_points, save, save_points
from .ifs import IFS

__version__ = "0.1.0"

# The renderers import numba: load them on first use, so that 'import ifskit' and
# commands that do not render start fast.
# Each subpackage adds one line: the public names it defines.
_LAZY = {
    **dict.fromkeys(("aggregate", "chaos_game", "density", "render_image", "save_png", "shade"), "render"),
    **dict.fromkeys(("fit", "FitResult"), "fit"),
    **dict.fromkeys(("compress_image", "load_fic"), "image"),
    **dict.fromkeys(("encode", "random_ifs"), "neural"),
    **dict.fromkeys(("interpolate", "KeyframePath", "make_movie"), "animate"),
}


def __getattr__(name):
    import importlib

    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        # importing ifskit.fit bound 'fit' to that (callable) package: the same object every time
        return globals()[name] if name == _LAZY[name] else getattr(module, name)
    if name == "render":
        return importlib.import_module(".render", __name__)
    raise AttributeError(f"module 'ifskit' has no attribute {name!r}")


__all__ = [
    "IFS",
    "FitResult",
    "fit",
    "KeyframePath",
    "interpolate",
    "make_movie",
    "BoxDimension",
    "attractor_distance",
    "box_counting",
    "box_dimension",
    "chamfer_distance",
    "hausdorff_distance",
    "similarity_dimension_bounds",
    "FormatError",
    "IfskitError",
    "IfskitWarning",
    "NonContractiveError",
    "OutputError",
    "UnknownNameError",
    "aggregate",
    "catalog",
    "catalog_description",
    "catalog_names",
    "chaos_game",
    "compress_image",
    "density",
    "encode",
    "load",
    "load_points",
    "load_fic",
    "moran_dimension",
    "random_ifs",
    "render_image",
    "save",
    "save_points",
    "save_png",
    "shade",
    "similarity_dimension",
]
