# The public API of ifskit: what `ifskit/__init__.py` loads on first use (lazy_loader.attach_stub),
# and what editors, type checkers, dir() and help() see.
from . import analysis, animate, distributed, fitting, formats, image, io, neural, ops, render
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
from .animate import KeyframePath, interpolate, make_movie
from .builtin import catalog, catalog_description, catalog_names
from .errors import (
    FormatError,
    IfskitError,
    IfskitWarning,
    NonContractiveError,
    OutputError,
    ParameterError,
    UnknownNameError,
)
from .fitting import FitResult, fit, refine
from .formats import load_points, save_points
from .ifs import IFS
from .image import compress_image, load_fic
from .io import load, save
from .neural import encode, random_ifs
from .render import (
    aggregate,
    chaos_game,
    densities,
    density,
    extent_sample,
    render_image,
    save_png,
    shade,
    tight_bounds,
)

__version__: str

__all__ = [
    "IFS",
    "BoxDimension",
    "FitResult",
    "FormatError",
    "IfskitError",
    "IfskitWarning",
    "KeyframePath",
    "NonContractiveError",
    "OutputError",
    "ParameterError",
    "UnknownNameError",
    "aggregate",
    "analysis",
    "animate",
    "attractor_distance",
    "box_counting",
    "box_dimension",
    "catalog",
    "catalog_description",
    "catalog_names",
    "chamfer_distance",
    "chaos_game",
    "compress_image",
    "densities",
    "density",
    "distributed",
    "encode",
    "extent_sample",
    "fit",
    "fitting",
    "formats",
    "hausdorff_distance",
    "image",
    "interpolate",
    "io",
    "load",
    "load_fic",
    "load_points",
    "make_movie",
    "moran_dimension",
    "neural",
    "ops",
    "random_ifs",
    "refine",
    "render",
    "render_image",
    "save",
    "save_png",
    "save_points",
    "shade",
    "similarity_dimension",
    "similarity_dimension_bounds",
    "tight_bounds",
]
