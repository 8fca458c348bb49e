"""The ``ifskit`` command.

Every command reports user mistakes as one line ``ifskit: error: ...`` on stderr
with exit code 2, writes outputs atomically and refuses to replace an existing
file without ``--overwrite``. ``--json`` prints one JSON object of figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .errors import FormatError, IfskitError, IfskitWarning, OutputError

#: Output types of ``ifskit render``.
RENDER_SUFFIXES = {".png", ".ply", ".pcd", ".xyz", ".npy", ".csv", ".txt"}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (exit code 2)."""

    def error(self, message):
        sys.stderr.write(f"ifskit: error: {message} (see '{self.prog} --help')\n")
        sys.exit(2)


def _count(text: str) -> int:
    """A positive whole number, also written as 2e8 or 10_000_000."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not value.is_integer() or value < 1 or value > 2**62:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(value)


def _whole(text: str) -> int:
    """A whole number, 0 or more (a seed, a number of steps that may be 0)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, got {text!r}")
    return value


def _number_in(low: float, high: float, what: str, low_included: bool = False, high_included: bool = False):
    """An argparse type: a number between ``low`` and ``high`` (ends excluded unless said);
    ``what`` names it in the error (``expected a positive learning rate, got '-1'``). NaN fails."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        above = value >= low if low_included else value > low
        below = value <= high if high_included else value < high
        if not (above and below):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def _size(text: str) -> tuple:
    """``N`` or ``WxH`` in pixels, returned as (H, W)."""
    try:
        parts = [int(v) for v in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1 or max(parts) > 65536:
        raise argparse.ArgumentTypeError(f"expected N or WxH (pixels, at most 65536), got {text!r}")
    width, height = (parts[0], parts[0]) if len(parts) == 1 else parts
    return height, width


def _device(text: str) -> str | None:
    """The torch device of --device, or None for the default Numba renderer."""
    return None if text == "numba" else text


def _bounds(text: str) -> tuple:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected xmin,xmax,ymin,ymax, got {text!r}")
    return values


def _add_source(parser) -> None:
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="a .yaml, .ifs (Fractint) or .json file, or a catalog name (see 'ifskit catalog')",
    )
    parser.add_argument("--name", metavar="ENTRY", help="the entry of a multi-entry .ifs file (case-insensitive)")


def _add_output_options(parser, overwrite: str | None = None, quiet: bool = False) -> None:
    """The options a command ends with: ``--overwrite`` (``overwrite`` is its help: what it
    replaces), ``--quiet`` (for a command with a progress bar), and ``--json``."""
    if overwrite is not None:
        parser.add_argument("--overwrite", action="store_true", help=overwrite)
    if quiet:
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ifskit",
        description=(
            "Fractals of affine maps (iterated function systems): render and inspect them, fit or encode "
            "an IFS from a point cloud, morph between IFS in movies, compress images as collages. "
            "'ifskit COMMAND --help' explains each command."
        ),
        epilog="Example: ifskit render barnsley_fern -o fern.png --points 1e8 --size 2048",
    )
    parser.add_argument("--version", action="version", version=f"ifskit {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    render = commands.add_parser(
        "render",
        help="render an IFS to PNG (2D density, or a shaded 3D view) or to a point cloud",
        description=(
            "Render an IFS with the chaos game. A .png gets a density picture (2D) or a shaded "
            "view (3D); .ply/.pcd/.xyz (open3d), .npy, .csv/.txt get the points themselves."
        ),
    )
    _add_source(render)
    render.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file (.png .ply .pcd .xyz .npy .csv .txt); default NAME.png here; with --all, a folder",
    )
    render.add_argument("--all", action="store_true", help="render every entry of a .ifs file into the folder OUT")
    render.add_argument(
        "--format",
        default="png",
        choices=sorted(s[1:] for s in RENDER_SUFFIXES),
        help="file type of each entry with --all (default png)",
    )
    render.add_argument(
        "--points",
        type=_count,
        metavar="N",
        help="points to draw (default 2e7 for images, 1e6 for point clouds); 2e8 and 10_000_000 work",
    )
    render.add_argument(
        "--size", type=_size, default=(1024, 1024), metavar="N|WxH", help="image size in pixels (default 1024)"
    )
    render.add_argument(
        "--seed",
        type=_whole,
        default=0,
        help="random seed: same seed, same output, whatever the thread count (default 0)",
    )
    render.add_argument(
        "--method",
        choices=["chaos", "deterministic", "measure"],
        default="chaos",
        help=(
            "chaos: the chaos game (default); deterministic: iterate the Hutchinson operator on a picture "
            "(2D PNG), or on a point set (point-cloud outputs and 3D views); measure: iterate the Markov "
            "operator, the invariant measure without randomness (2D PNG)"
        ),
    )
    render.add_argument(
        "--start",
        default="square",
        metavar="SHAPE|IMAGE",
        help="deterministic: starting picture, square, ellipse, noise, point, or an image file (default square)",
    )
    render.add_argument(
        "--iterations",
        type=int,
        metavar="N",
        help="deterministic/measure: steps (default: until the picture stops changing)",
    )
    render.add_argument("--frames", metavar="DIR", help="deterministic: also write the picture of every step to DIR")
    render.add_argument(
        "--color",
        choices=["density", "map"],
        default="density",
        help="colour by log density through --cmap, or by map index blended along the orbit (flam3)",
    )
    render.add_argument(
        "--cmap",
        metavar="NAME",
        help="matplotlib colormap (default inferno; with --color map: the IFS colours, else tab10)",
    )
    render.add_argument("--gamma", type=float, default=2.2, help="gamma of the log-density tone mapping (default 2.2)")
    render.add_argument("--background", default="black", metavar="COLOR", help="background colour (default black)")
    render.add_argument("--transparent", action="store_true", help="transparent background (PNG alpha)")
    render.add_argument(
        "--supersample",
        type=int,
        default=1,
        metavar="K",
        help="render K times larger and average down, for antialiasing (default 1)",
    )
    render.add_argument(
        "--bounds",
        type=_bounds,
        metavar="XMIN,XMAX,YMIN,YMAX",
        help="window to show (default: the attractor with a margin)",
    )
    render.add_argument("--elev", type=float, help="3D: camera elevation in degrees (default 30)")
    render.add_argument("--azim", type=float, help="3D: camera azimuth in degrees (default -60)")
    render.add_argument(
        "--views", action="store_true", help="3D: four views (perspective, front, side, top) in one PNG, each --size"
    )
    render.add_argument(
        "--threads", type=int, metavar="N", help="worker threads (default: all cores); does not change the output"
    )
    render.add_argument(
        "--scheduler",
        metavar="local:N|tcp://HOST:PORT",
        help=(
            "chaos-game PNG on a Dask cluster: local:N starts N worker processes here (127.0.0.1 only), "
            "tcp://HOST:PORT joins a running scheduler; the picture is identical to the one without"
        ),
    )
    render.add_argument(
        "--device",
        type=_device,
        default="numba",
        metavar="numba|cuda[:N]|torch-cpu",
        help=(
            "chaos-game PNG engine: numba (default, CPU threads), cuda or cuda:N (torch on a GPU), torch-cpu "
            "(torch on the CPU); torch draws its own random stream: same statistics, not the same pixels"
        ),
    )
    render.add_argument(
        "--allow-noncontractive", action="store_true", help="render even an IFS that is not contractive on average"
    )
    _add_output_options(render, overwrite="replace existing output files", quiet=True)
    render.set_defaults(run=cmd_render)

    info = commands.add_parser(
        "info",
        help="maps, probabilities, contraction factors, dimension and bounds of an IFS",
        description="Describe an IFS: its maps, probabilities, contraction factors, similarity dimension and bounds.",
    )
    _add_source(info)
    _add_output_options(info)
    info.set_defaults(run=cmd_info)

    catalog = commands.add_parser(
        "catalog", help="list the built-in IFS", description="List the built-in IFS (use a name as SOURCE)."
    )
    _add_output_options(catalog)
    catalog.set_defaults(run=cmd_catalog)

    gallery = commands.add_parser(
        "gallery", help="render every built-in into a folder", description="Render every built-in IFS to DIR/NAME.png."
    )
    gallery.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="folder for the PNGs (created if missing)"
    )
    gallery.add_argument("--size", type=_size, default=(512, 512), metavar="N|WxH", help="image size (default 512)")
    gallery.add_argument(
        "--points", type=_count, default=10_000_000, metavar="N", help="points per picture (default 1e7)"
    )
    gallery.add_argument("--seed", type=_whole, default=0, help="random seed (default 0)")
    _add_output_options(gallery, overwrite="replace existing PNGs", quiet=True)
    gallery.set_defaults(run=cmd_gallery)

    dimension = commands.add_parser(
        "dimension",
        help="box-counting dimension of an IFS attractor or of a point cloud file",
        description=(
            "Estimate the box-counting dimension: the slope of log N(eps) against log 1/eps, over a scale range "
            "chosen automatically. SOURCE is an IFS (drawn by the chaos game) or a point cloud "
            "(.ply .pcd .xyz .npy .csv .txt). For an IFS the similarity dimension is given as well."
        ),
    )
    _add_source(dimension)
    dimension.add_argument(
        "--points", type=_count, metavar="N", help="chaos-game points for an IFS (default 2e6 in 2D, 4e6 in 3D)"
    )
    dimension.add_argument("--seed", type=_whole, default=0, help="random seed (default 0)")
    dimension.add_argument("--plot", metavar="OUT.png", help="write the log-log plot with the fitted slope")
    _add_output_options(dimension, overwrite="replace an existing plot")
    dimension.set_defaults(run=cmd_dimension)

    transform = commands.add_parser(
        "transform",
        help="the conjugated IFS t o w_i o t^-1, whose attractor is t(attractor)",
        description=(
            "Write the IFS conjugated by the affine map t(x) = R(rotate) Shear(shear) diag(scale) Flip x + translate: "
            "its maps are t o w_i o t^-1 and its attractor is t applied to the original one (the seed's "
            "'families of pictures' from one encoding)."
        ),
    )
    _add_source(transform)
    transform.add_argument("-o", "--output", required=True, metavar="OUT", help="output IFS file (.yaml, .json, .ifs)")
    transform.add_argument(
        "--rotate", type=_floats, default=(0.0,), metavar="DEG", help="degrees counter-clockwise (3D: RX,RY,RZ)"
    )
    transform.add_argument("--scale", type=_floats, default=(1.0,), metavar="S", help="scale factor, or SX,SY(,SZ)")
    transform.add_argument("--shear", type=float, default=0.0, metavar="K", help="2D shear x += K y")
    transform.add_argument("--flip", choices=["x", "y", "z"], help="mirror an axis")
    transform.add_argument("--translate", type=_floats, metavar="X,Y", help="translation (default 0)")
    _add_output_options(transform, overwrite="replace an existing output file")
    transform.set_defaults(run=cmd_transform)

    view = commands.add_parser(
        "view",
        help="open an interactive 3D window (open3d) on a point cloud or an IFS",
        description="Show a point cloud file (.ply .pcd .xyz .npy .csv .txt) or an IFS's points in an open3d window.",
    )
    _add_source(view)
    view.add_argument(
        "--points", type=_count, default=300_000, metavar="N", help="points of an IFS to show (default 3e5)"
    )
    view.add_argument("--seed", type=_whole, default=0, help="random seed (default 0)")
    view.set_defaults(run=cmd_view)

    # The commands of the other parts (fit, encode, interpolate, compress, ...) live in
    # ifskit/commands/, one module per topic, each with ``register(commands)``; their heavy
    # imports (torch) happen only when the command runs, so 'ifskit render' starts fast.
    import importlib
    import pkgutil

    from . import commands as command_modules

    for module_info in sorted(pkgutil.iter_modules(command_modules.__path__), key=lambda m: m.name):
        if not module_info.name.startswith("_"):
            importlib.import_module(f"{command_modules.__name__}.{module_info.name}").register(commands)
    return parser


def _floats(text: str) -> tuple:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    return values


def _version() -> str:
    from . import __version__

    return __version__


# ---- commands -----------------------------------------------------------------------------------
def cmd_render(args) -> int:
    from .formats import read_fractint
    from .io import load

    if args.all:
        if not args.output:
            raise OutputError("--all needs -o DIR, the folder for the pictures")
        library = read_fractint(args.source) if Path(args.source).suffix.lower() == ".ifs" else None
        if library is None:
            raise FormatError("--all renders every entry of a .ifs file", args.source)
        folder = _make_folder(args.output)
        jobs = [(ifs, folder / f"{_file_stem(name)}.{args.format}") for name, ifs in library.entries.items()]
        for _, path in jobs:
            _check_render_output(path, args.overwrite)
        _check_scale_out(args, f".{args.format}")
        with _dask_client(args.scheduler) as client:
            results = [_render_one(ifs, path, args, client) for ifs, path in jobs]
        for error in library.errors.values():
            _print_error(error)
        _report(
            args,
            {
                "outputs": [r["output"] for r in results],
                "errors": [str(e) for e in library.errors.values()],
                "points": sum(r["points"] for r in results),
                "seconds": sum(r["seconds"] for r in results),
            },
        )
        return 2 if library.errors else 0
    ifs = load(args.source, args.name)
    output = Path(args.output) if args.output else Path(f"{_file_stem(ifs.name or Path(args.source).stem)}.png")
    _check_render_output(output, args.overwrite)
    _check_scale_out(args, output.suffix.lower())
    with _dask_client(args.scheduler) as client:
        result = _render_one(ifs, output, args, client)
    steps = f"{result['iterations']} iterations" if result.get("iterations") else "iterated until stable"
    work = f"{result['points']:,} points" if result["points"] else f"{args.method}, {steps}"
    _report(args, result, f"wrote {result['output']} ({work} in {result['seconds']:.2f} s)")
    return 0


def _check_render_output(path: Path, overwrite: bool) -> None:
    from ._io import check_output

    check_output(path, overwrite, RENDER_SUFFIXES)


def _check_scale_out(args, suffix: str) -> None:
    """--scheduler and --device drive the chaos game's density: a PNG of one view."""
    if args.scheduler is None and args.device is None:
        return
    flag = "--scheduler" if args.scheduler is not None else "--device"
    if args.scheduler is not None and args.device is not None:
        raise FormatError("choose one of --scheduler and --device")
    if args.method != "chaos" or suffix != ".png" or args.views:
        raise FormatError(f"{flag} renders chaos-game PNGs of one view (not point clouds, --views or --method)")
    if args.threads is not None:
        raise FormatError(f"--threads applies to the default renderer, not to {flag}")
    if args.scheduler is not None:
        from .distributed import parse_scheduler

        parse_scheduler(args.scheduler)
    else:
        from .render.torch_backend import torch_device

        torch_device(args.device)


@contextlib.contextmanager
def _dask_client(scheduler: str | None):
    """The Dask client of --scheduler, or None without it."""
    if scheduler is None:
        yield None
        return
    from .distributed import connect

    with connect(scheduler) as client:
        yield client


def _render_one(ifs, output: Path, args, client=None) -> dict:
    from .formats import save_points
    from .render import chaos_game, render_image, render_views, save_png

    # the deterministic methods need s < 1 and say so themselves
    message = ifs.check_contractive(args.allow_noncontractive) if args.method == "chaos" else None
    if message:
        warnings.warn(message, IfskitWarning, stacklevel=1)
    view = None
    if args.views and (ifs.dim == 2 or output.suffix.lower() != ".png"):
        raise FormatError("--views makes a PNG of several views of a 3D IFS")
    if args.elev is not None or args.azim is not None:
        if ifs.dim == 2:
            raise FormatError("--elev and --azim apply to 3D IFS only")
        view = (30.0 if args.elev is None else args.elev, -60.0 if args.azim is None else args.azim)
    progress = False if args.quiet else None
    start = time.perf_counter()
    if args.method != "chaos":
        return _render_deterministic(ifs, output, args, view, start)
    if args.views and output.suffix.lower() == ".png":
        n_points = args.points or 20_000_000
        image = render_views(
            ifs, args.size, n_points, args.seed, cmap=args.cmap, gamma=args.gamma, background=args.background,
            supersample=args.supersample, threads=args.threads, progress=progress,
        )  # fmt: skip
        save_png(image, output, args.overwrite)
    elif output.suffix.lower() == ".png":
        n_points = args.points or 20_000_000
        image = render_image(
            ifs, args.size, n_points, args.seed, args.bounds, color=args.color, cmap=args.cmap, gamma=args.gamma,
            background=args.background, transparent=args.transparent, supersample=args.supersample,
            view=view, threads=args.threads, progress=progress, client=client, device=args.device,
        )  # fmt: skip
        save_png(image, output, args.overwrite)
        if client is not None:
            return _figures(output, n_points, start, args, workers=len(client.nthreads()))
        if args.device is not None:
            return _figures(output, n_points, start, args, device=args.device)
    else:
        n_points = args.points or 1_000_000
        save_points(
            chaos_game(ifs, n_points, args.seed, threads=args.threads, progress=progress), output, args.overwrite
        )
    return _figures(output, n_points, start, args)


def _render_deterministic(ifs, output: Path, args, view, start: float) -> dict:
    """--method deterministic or measure: no randomness, so no --points."""
    from .formats import save_points
    from .render import aggregate_points, hutchinson_measure, hutchinson_points, hutchinson_raster, save_png, shade
    from .render.aggregate import Aggregate

    def picture(agg):
        return shade(agg, args.cmap or "inferno", args.gamma, args.background, args.transparent)

    if args.color == "map":
        raise FormatError("--color map needs the chaos game (--method chaos)")
    if output.suffix.lower() != ".png" or ifs.dim == 3:
        if args.method == "measure":
            raise FormatError("--method measure makes a 2D PNG; use --method deterministic for point sets")
        points = hutchinson_points(ifs, args.iterations)
        if output.suffix.lower() == ".png":  # a 3D view of the deterministic point set
            save_png(picture(aggregate_points(ifs, points, args.size, args.bounds, view=view)), output, args.overwrite)
        else:
            save_points(points, output, args.overwrite)
        return _figures(output, len(points), start, args, iterations=args.iterations)
    if args.method == "measure":
        mass = hutchinson_measure(ifs, args.size, args.iterations, args.bounds)
        save_png(picture(Aggregate(mass, args.bounds, 0)), output, args.overwrite)
        return _figures(output, 0, start, args, iterations=args.iterations)
    result = hutchinson_raster(
        ifs, args.size, _start_picture(args.start), args.iterations, args.bounds, bool(args.frames)
    )
    if args.frames:
        folder = _make_folder(args.frames)
        for i, frame in enumerate(result.frames):
            save_png(picture(Aggregate(frame, result.bounds, 0)), folder / f"step_{i:03d}.png", args.overwrite)
    save_png(picture(Aggregate(result.image, result.bounds, 0)), output, args.overwrite)
    return _figures(output, 0, start, args, iterations=result.iterations, converged=bool(result.converged))


def _figures(output: Path, n_points: int, start: float, args, **more) -> dict:
    seconds = round(time.perf_counter() - start, 4)
    return {"output": str(output), "points": n_points, "seconds": seconds, "seed": args.seed, **more}


def _start_picture(start: str):
    """A named start, or the picture in an image file as a float array (the shape light on dark)."""
    from .render.deterministic import STARTS

    if start in STARTS:
        return start
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(start) as image:
            gray = np.asarray(image.convert("L"), dtype=float) / 255.0
    except FileNotFoundError:
        raise FormatError(f"--start: no such image file (or use one of {', '.join(STARTS)})", start) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise FormatError(f"--start: cannot read the image ({exc.__class__.__name__})", start) from None
    if gray.size == 0 or np.ptp(gray) == 0:
        raise FormatError("--start: the image is blank (one colour): it has no shape to start from", start)
    # the shape is what differs from the background, taken as the most common border tone
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return np.abs(gray - np.median(border))


def cmd_info(args) -> int:
    from .analysis import similarity_dimension, similarity_dimension_bounds
    from .io import load
    from .render import tight_bounds

    ifs = load(args.source, args.name)
    dimension = similarity_dimension(ifs)
    lower, upper = similarity_dimension_bounds(ifs)
    guaranteed = ifs.guaranteed_bounds().tolist() if ifs.is_contractive else None
    figures = {
        "name": ifs.name,
        "dim": ifs.dim,
        "maps": ifs.n_maps,
        "contraction": ifs.contraction,
        "contraction_factors": ifs.contraction_factors.tolist(),
        "average_contraction": ifs.average_contraction,
        "contractive": ifs.is_contractive,
        "probabilities": ifs.p.tolist(),
        "similarity_dimension": None if math.isnan(dimension) else dimension,
        "similarity_dimension_bounds": [None if math.isnan(v) else v for v in (lower, upper)],
        "bounds": tight_bounds(ifs).tolist(),
        "guaranteed_bounds": guaranteed,
        "fixed_points": [None if not np.all(np.isfinite(f)) else f.tolist() for f in ifs.fixed_points],
        "A": ifs.A.tolist(),
        "b": ifs.b.tolist(),
    }
    if args.json:
        print(json.dumps(figures))
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
    from .builtin import catalog, catalog_description, catalog_names

    names = catalog_names()
    if args.json:
        entries = [
            {"name": n, "dim": catalog(n).dim, "maps": catalog(n).n_maps, "description": catalog_description(n)}
            for n in names
        ]
        print(json.dumps({"names": names, "entries": entries}))
        return 0
    width = max(len(n) for n in names)
    for n in names:
        ifs = catalog(n)
        print(f"{n:<{width}}  {ifs.dim}D {ifs.n_maps:>2} maps  {catalog_description(n)}")
    return 0


def cmd_gallery(args) -> int:
    from .builtin import catalog, catalog_names
    from .render import render_image, save_png

    folder = _make_folder(args.output)
    jobs = [(name, folder / f"{name}.png") for name in catalog_names()]
    for _, path in jobs:
        _check_render_output(path, args.overwrite)
    start = time.perf_counter()
    names = jobs
    if not args.quiet and sys.stderr.isatty():
        from tqdm.auto import tqdm

        names = tqdm(jobs, desc="gallery", unit="picture")
    for name, path in names:
        image = render_image(catalog(name), args.size, args.points, args.seed, progress=False)
        save_png(image, path, args.overwrite)
    files = [str(path) for _, path in jobs]
    _report(
        args,
        {"files": files, "seconds": round(time.perf_counter() - start, 3)},
        f"wrote {len(files)} pictures to {folder}",
    )
    return 0


def cmd_dimension(args) -> int:
    from ._io import check_output
    from .analysis import box_counting, similarity_dimension, similarity_dimension_bounds
    from .formats import POINT_SUFFIXES, load_points
    from .io import load

    if args.plot:
        check_output(args.plot, args.overwrite, {".png"})
    ifs = None
    if Path(args.source).suffix.lower() in POINT_SUFFIXES:
        source = load_points(args.source)
    else:
        source = ifs = load(args.source, args.name)
    result = box_counting(source, args.points, args.seed)
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
        result.plot(args.plot, args.overwrite)
        figures["plot"] = str(args.plot)
        text += f"\nwrote {args.plot}"
    _report(args, figures, text)
    return 0


def cmd_transform(args) -> int:
    from .geometry import linear_map
    from .io import load, save

    ifs = load(args.source, args.name)
    rotate = args.rotate[0] if ifs.dim == 2 and len(args.rotate) == 1 else args.rotate
    if ifs.dim == 3 and len(args.rotate) == 1 and args.rotate[0] == 0:
        rotate = (0.0, 0.0, 0.0)
    scale = args.scale[0] if len(args.scale) == 1 else args.scale
    matrix = linear_map(ifs.dim, scale, rotate, args.shear, args.flip)
    translation = np.zeros(ifs.dim) if args.translate is None else np.asarray(args.translate)
    if translation.shape != (ifs.dim,):
        raise FormatError(f"--translate needs {ifs.dim} numbers for a {ifs.dim}D IFS")
    if abs(np.linalg.det(matrix)) < 1e-12:
        raise FormatError("the transform is singular (a zero scale?): it has no inverse to conjugate with")
    moved = ifs.conjugate(matrix, translation)
    save(moved, args.output, args.overwrite)
    _report(args, {"output": str(args.output), "matrix": matrix.tolist(), "translation": translation.tolist()},
            f"wrote {args.output}")  # fmt: skip
    return 0


def cmd_view(args) -> int:
    from .formats import POINT_SUFFIXES, load_points
    from .io import load

    if Path(args.source).suffix.lower() in POINT_SUFFIXES:
        points = load_points(args.source)
    else:
        from .render import chaos_game

        ifs = load(args.source, args.name)
        ifs.check_contractive()
        points = None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise OutputError(
            "no graphical display (DISPLAY is not set): 'ifskit view' opens a window; "
            "use 'ifskit render SOURCE -o view.png' (with --views for 3D) instead"
        )
    if points is None:
        points = chaos_game(ifs, args.points, args.seed)
    import open3d as o3d

    xyz = points if points.shape[1] == 3 else np.column_stack([points, np.zeros(len(points))])
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    height = (xyz[:, 2] - xyz[:, 2].min()) / max(np.ptp(xyz[:, 2]), 1e-12)
    from matplotlib import colormaps

    cloud.colors = o3d.utility.Vector3dVector(colormaps["viridis"](height)[:, :3])
    o3d.visualization.draw_geometries([cloud], window_name=f"ifskit view {args.source}")
    return 0


# ---- helpers ------------------------------------------------------------------------------------
def _make_folder(path) -> Path:
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not a folder")
    if not folder.parent.is_dir():
        raise OutputError(f"{folder}: the folder {str(folder.parent)!r} does not exist")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot make the folder: {exc.strerror}") from None
    return folder


def _file_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "ifs"


def _report(args, figures: dict, text: str | None = None) -> None:
    if args.json:
        print(json.dumps(figures))
    elif text:
        print(text)


def _print_error(error) -> None:
    sys.stderr.write(f"ifskit: error: {error}\n")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(f"ifskit: warning: {message}\n")


def main(argv=None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always", IfskitWarning)
        warnings.showwarning = _show_warning
        try:
            return args.run(args)
        except IfskitError as error:
            _print_error(error)
            return 2
        except KeyboardInterrupt:
            sys.stderr.write("ifskit: interrupted\n")
            return 130
        except BrokenPipeError:  # e.g. 'ifskit catalog | head': the reader left, not an error
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (keep Python from failing on exit)
            return 0


if __name__ == "__main__":
    sys.exit(main())
