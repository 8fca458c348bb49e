"""``ifskit info``, ``catalog``, ``dimension`` and ``transform``: what an IFS is, and the same IFS moved.

The dimensions (:mod:`ifskit.analysis`) and the bounds (:mod:`ifskit.render`) import numba:
the commands that need them import them when they run, so that ``ifskit catalog`` starts fast.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._io import check_output
from ..builtin import catalog, catalog_description, catalog_names
from ..errors import FormatError
from ..formats import POINT_SUFFIXES, load_points
from ..geometry import linear_map
from ..io import load, save
from ._common import add_output_options, add_source, count, floats, report, seed


def register(commands, name: str) -> None:
    """Add the parser of command ``name`` (info, catalog, dimension or transform) to the sub-parser group ``commands``."""
    _PARSERS[name](commands)


def _info_parser(commands) -> None:
    parser = commands.add_parser(
        "info",
        help="maps, probabilities, contraction factors, dimension and bounds of an IFS",
        description="Describe an IFS: its maps, probabilities, contraction factors, similarity dimension and bounds.",
    )
    add_source(parser)
    add_output_options(parser)
    parser.set_defaults(run=cmd_info)


def _catalog_parser(commands) -> None:
    parser = commands.add_parser(
        "catalog", help="list the built-in IFS", description="List the built-in IFS (use a name as SOURCE)."
    )
    add_output_options(parser)
    parser.set_defaults(run=cmd_catalog)


def _dimension_parser(commands) -> None:
    parser = commands.add_parser(
        "dimension",
        help="box-counting dimension of an IFS attractor or of a point cloud file",
        description=(
            "Estimate the box-counting dimension: the slope of log N(eps) against log 1/eps, over a scale range "
            "chosen automatically. SOURCE is an IFS (drawn by the chaos game) or a point cloud "
            "(.ply .pcd .xyz .npy .csv .txt). For an IFS the similarity dimension is given as well."
        ),
    )
    add_source(parser)
    parser.add_argument(
        "--points", type=count, metavar="N", help="chaos-game points for an IFS (default 2e6 in 2D, 4e6 in 3D)"
    )
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--plot", metavar="OUT.png", help="write the log-log plot with the fitted slope")
    add_output_options(parser, overwrite="replace an existing plot")
    parser.set_defaults(run=cmd_dimension)


def _transform_parser(commands) -> None:
    parser = commands.add_parser(
        "transform",
        help="the conjugated IFS t o w_i o t^-1, whose attractor is t(attractor)",
        description=(
            "Write the IFS conjugated by the affine map t(x) = R(rotate) Shear(shear) diag(scale) Flip x + translate: "
            "its maps are t o w_i o t^-1 and its attractor is t applied to the original one (the seed's "
            "'families of pictures' from one encoding)."
        ),
    )
    add_source(parser)
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output IFS file (.yaml, .json, .ifs)")
    parser.add_argument(
        "--rotate", type=floats, default=(0.0,), metavar="DEG", help="degrees counter-clockwise (3D: RX,RY,RZ)"
    )
    parser.add_argument("--scale", type=floats, default=(1.0,), metavar="S", help="scale factor, or SX,SY(,SZ)")
    parser.add_argument("--shear", type=float, default=0.0, metavar="K", help="2D shear x += K y")
    parser.add_argument("--flip", choices=["x", "y", "z"], help="mirror an axis")
    parser.add_argument("--translate", type=floats, metavar="X,Y", help="translation (default 0)")
    add_output_options(parser, overwrite="replace an existing output file")
    parser.set_defaults(run=cmd_transform)


_PARSERS = {
    "info": _info_parser,
    "catalog": _catalog_parser,
    "dimension": _dimension_parser,
    "transform": _transform_parser,
}


def cmd_info(args) -> int:
    # the dimensions and the bounds (a chaos game) import numba: only for this command
    from ..analysis import similarity_dimension, similarity_dimension_bounds
    from ..render import tight_bounds

    ifs = load(args.source, name=args.name)
    dimension = similarity_dimension(ifs)
    lower, upper = similarity_dimension_bounds(ifs)
    guaranteed = ifs.guaranteed_bounds().tolist() if ifs.is_contractive else None
    figures = {
        "name": ifs.name,
        "dim": ifs.dim,
        "maps": ifs.n_maps,
        "contraction": ifs.contraction,
        "contraction_factors": ifs.contraction_factors.tolist(),
        # -inf where a map collapses to a point (log 0): JSON has no infinity, null says "none"
        "average_contraction": _finite_or_none(ifs.average_contraction),
        "contractive": ifs.is_contractive,
        "probabilities": ifs.p.tolist(),
        "similarity_dimension": None if math.isnan(dimension) else dimension,
        "similarity_dimension_bounds": [None if math.isnan(v) else v for v in (lower, upper)],
        "bounds": _finite_or_none(tight_bounds(ifs).tolist()),
        "guaranteed_bounds": guaranteed,
        "fixed_points": [None if not np.all(np.isfinite(f)) else f.tolist() for f in ifs.fixed_points],
        "A": ifs.A.tolist(),
        "b": ifs.b.tolist(),
    }
    if args.json:
        report(args, figures)
        return 0
    if ifs.is_contractive:
        status = "contractive"
    elif ifs.average_contraction < 0:
        status = "not contractive, but contractive on average (the chaos game converges)"
    else:
        status = "NOT contractive on average (the chaos game diverges)"
    axes = "xyz"[: ifs.dim]
    lines = [
        ifs.describe(),
        f"  contraction       s = {ifs.contraction:.6g}, sum p_i log s_i = {ifs.average_contraction:.6g}: {status}",
        f"  similarity dim.   {dimension:.6g} (Moran's equation with the largest singular values; "
        f"{lower:.6g} with the smallest)"
        if not math.isnan(dimension)
        else "  similarity dim.   undefined (some s_i >= 1)",
        "  bounds            "
        + ", ".join(
            f"{a} in [{lo:.6g}, {hi:.6g}]" for a, lo, hi in zip(axes, *np.reshape(figures["bounds"], (-1, 2)).T)
        ),
    ]
    if guaranteed:
        lines.append(
            "  guaranteed box    "
            + ", ".join(f"{a} in [{lo:.6g}, {hi:.6g}]" for a, lo, hi in zip(axes, *np.reshape(guaranteed, (-1, 2)).T))
        )
    print("\n".join(lines))
    return 0


def cmd_catalog(args) -> int:
    names = catalog_names()
    if args.json:
        entries = [
            {"name": n, "dim": catalog(n).dim, "maps": catalog(n).n_maps, "description": catalog_description(n)}
            for n in names
        ]
        report(args, {"names": names, "entries": entries})
        return 0
    width = max(len(n) for n in names)
    for n in names:
        ifs = catalog(n)
        print(f"{n:<{width}}  {ifs.dim}D {ifs.n_maps:>2} maps  {catalog_description(n)}")
    return 0


def cmd_dimension(args) -> int:
    from ..analysis import box_counting, similarity_dimension, similarity_dimension_bounds  # imports numba

    if args.plot:
        check_output(args.plot, overwrite=args.overwrite, suffixes={".png"})
    ifs = None
    if Path(args.source).suffix.lower() in POINT_SUFFIXES:
        source = load_points(args.source)
    else:
        source = ifs = load(args.source, name=args.name)
    result = box_counting(source, n_points=args.points, seed=args.seed)
    figures = {
        "box_dimension": result.value,
        "r2": result.r2,
        "n_points": result.n_points,
        "epsilon_range": [float(result.epsilons[i]) for i in result.fit_range],
    }
    text = f"box-counting dimension {result.value:.4f} (R^2 {result.r2:.5f}, {result.n_points:,} points)"
    if ifs is not None:
        similarity = similarity_dimension(ifs)
        lower, upper = similarity_dimension_bounds(ifs)
        figures["similarity_dimension"] = None if math.isnan(similarity) else similarity
        figures["similarity_dimension_bounds"] = [None if math.isnan(v) else v for v in (lower, upper)]
        text += f"\nsimilarity dimension   {similarity:.4f} (Moran; bounds {lower:.4f} to {upper:.4f})"
    if args.plot:
        result.plot(args.plot, overwrite=args.overwrite)
        figures["plot"] = str(args.plot)
        text += f"\nwrote {args.plot}"
    report(args, figures, text)
    return 0


def cmd_transform(args) -> int:
    ifs = load(args.source, name=args.name)
    rotate = args.rotate[0] if ifs.dim == 2 and len(args.rotate) == 1 else args.rotate
    if ifs.dim == 3 and len(args.rotate) == 1 and args.rotate[0] == 0:
        rotate = (0.0, 0.0, 0.0)
    scale = args.scale[0] if len(args.scale) == 1 else args.scale
    matrix = linear_map(ifs.dim, scale=scale, rotate=rotate, shear=args.shear, flip=args.flip)
    translation = np.zeros(ifs.dim) if args.translate is None else np.asarray(args.translate)
    if translation.shape != (ifs.dim,):
        raise FormatError(f"--translate needs {ifs.dim} numbers for a {ifs.dim}D IFS")
    if abs(np.linalg.det(matrix)) < 1e-12:
        raise FormatError("the transform is singular (a zero scale?): it has no inverse to conjugate with")
    moved = ifs.conjugate(matrix, translation)
    save(moved, args.output, overwrite=args.overwrite)
    report(args, {"output": str(args.output), "matrix": matrix.tolist(), "translation": translation.tolist()},
            f"wrote {args.output}")  # fmt: skip
    return 0


def _finite_or_none(value):
    """``value`` (a number or a nested list of numbers) if every number in it is finite, else None:
    strict JSON has no NaN or infinity."""
    return value if np.all(np.isfinite(np.asarray(value, dtype=float))) else None
