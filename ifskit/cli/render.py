"""``ifskit render``, ``gallery`` and ``view``: pictures and point clouds of an attractor.

The renderer (:mod:`ifskit.render`) compiles Numba kernels on import: the commands import it
when they run, so that ``ifskit --help`` and the other commands start fast.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np

from .._io import check_output
from ..builtin import catalog, catalog_names
from ..errors import FormatError, IfskitWarning, OutputError, ParameterError
from ..formats import POINT_SUFFIXES, load_points, read_fractint, save_points
from ..io import load
from ..limits import MAX_POINTS, MAX_RENDER_PIXELS, MAX_RENDER_POINTS
from ._common import (
    MAX_THREADS,
    add_output_options,
    add_source,
    count,
    count_at_most,
    dask_client,
    make_folder,
    number_in,
    pixel_size,
    print_error,
    render_device,
    report,
    seed,
    show_progress,
    threads,
    window,
)

#: Most steps of ``--iterations`` (the pictures converge in tens of steps).
MAX_ITERATIONS = 10_000
_degrees = number_in(-1e6, 1e6, "an angle in degrees")

#: Output types of ``ifskit render``.
RENDER_SUFFIXES = {".png", ".ply", ".pcd", ".xyz", ".npy", ".csv", ".txt"}


def register(commands, name: str) -> None:
    """Add the parser of command ``name`` (render, gallery or view) to the sub-parser group ``commands``."""
    _PARSERS[name](commands)


def _render_parser(commands) -> None:
    parser = commands.add_parser(
        "render",
        help="render an IFS to PNG (2D density, or a shaded 3D view) or to a point cloud",
        description=(
            "Render an IFS with the chaos game. A .png gets a density picture (2D) or a shaded "
            "view (3D); .ply/.pcd/.xyz (open3d), .npy, .csv/.txt get the points themselves."
        ),
    )
    add_source(parser)
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file (.png .ply .pcd .xyz .npy .csv .txt); default NAME.png here; with --all, a folder",
    )
    parser.add_argument("--all", action="store_true", help="render every entry of a .ifs file into the folder OUT")
    parser.add_argument(
        "--format",
        default="png",
        choices=sorted(s[1:] for s in RENDER_SUFFIXES),
        help="file type of each entry with --all (default png)",
    )
    parser.add_argument(
        "--points",
        type=count,
        metavar="N",
        help=(
            f"points to draw (default 2e7 for images, 1e6 for point clouds); 2e8 and 10_000_000 work; at most "
            f"{MAX_RENDER_POINTS:,} for images (no points are kept), {MAX_POINTS:,} for point clouds (all are)"
        ),
    )
    parser.add_argument(
        "--size",
        type=pixel_size,
        default=(1024, 1024),
        metavar="N|WxH",
        help=f"image size in pixels (default 1024; at most {MAX_RENDER_PIXELS:,} pixels rendered in all)",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="random seed: same seed, same output, whatever the thread count (default 0)",
    )
    parser.add_argument(
        "--method",
        choices=["chaos", "deterministic", "measure"],
        default="chaos",
        help=(
            "chaos: the chaos game (default); deterministic: iterate the Hutchinson operator on a picture "
            "(2D PNG), or on a point set (point-cloud outputs and 3D views); measure: iterate the Markov "
            "operator, the invariant measure without randomness (2D PNG)"
        ),
    )
    parser.add_argument(
        "--start",
        default="square",
        metavar="SHAPE|IMAGE",
        help="deterministic: starting picture, square, ellipse, noise, point, or an image file (default square)",
    )
    parser.add_argument(
        "--iterations",
        type=count_at_most(MAX_ITERATIONS, "a number of steps"),
        metavar="N",
        help=f"deterministic/measure: steps, at most {MAX_ITERATIONS:,} (default: until the picture stops changing)",
    )
    parser.add_argument("--frames", metavar="DIR", help="deterministic: also write the picture of every step to DIR")
    parser.add_argument(
        "--color",
        choices=["density", "map"],
        default="density",
        help="colour by log density through --cmap, or by map index blended along the orbit (flam3)",
    )
    parser.add_argument(
        "--cmap",
        metavar="NAME",
        help="matplotlib colormap (default inferno; with --color map: the IFS colours, else tab10)",
    )
    parser.add_argument(
        "--gamma",
        type=number_in(0, 100, "a gamma within (0, 100]", high_included=True),
        default=2.2,
        help="gamma of the log-density tone mapping, within (0, 100] (default 2.2)",
    )
    parser.add_argument("--background", default="black", metavar="COLOR", help="background colour (default black)")
    parser.add_argument("--transparent", action="store_true", help="transparent background (PNG alpha)")
    parser.add_argument(
        "--supersample",
        type=count,
        default=1,
        metavar="K",
        help="render K times larger and average down, for antialiasing (default 1; K*K times the pixels)",
    )
    parser.add_argument(
        "--bounds",
        type=window,
        metavar="XMIN,XMAX,YMIN,YMAX",
        help="window to show (default: the attractor with a margin)",
    )
    parser.add_argument("--elev", type=_degrees, help="3D: camera elevation in degrees (default 30)")
    parser.add_argument("--azim", type=_degrees, help="3D: camera azimuth in degrees (default -60)")
    parser.add_argument(
        "--views", action="store_true", help="3D: four views (perspective, front, side, top) in one PNG, each --size"
    )
    parser.add_argument(
        "--threads",
        type=threads,
        metavar="N",
        help=f"worker threads, 1..{MAX_THREADS} (default: all cores); does not change the output",
    )
    parser.add_argument(
        "--scheduler",
        metavar="local:N|tcp://HOST:PORT",
        help=(
            "chaos-game PNG on a Dask cluster: local:N starts N worker processes here (127.0.0.1 only), "
            "tcp://HOST:PORT joins a running scheduler; the picture is identical to the one without"
        ),
    )
    parser.add_argument(
        "--device",
        type=render_device,
        default="numba",
        metavar="numba|cuda[:N]|torch-cpu",
        help=(
            "chaos-game PNG engine: numba (default, CPU threads), cuda or cuda:N (torch on a GPU), torch-cpu "
            "(torch on the CPU); torch draws its own random stream: same statistics, not the same pixels"
        ),
    )
    parser.add_argument(
        "--allow-noncontractive", action="store_true", help="render even an IFS that is not contractive on average"
    )
    add_output_options(parser, overwrite="replace existing output files", quiet=True)
    parser.set_defaults(run=cmd_render)


def _gallery_parser(commands) -> None:
    parser = commands.add_parser(
        "gallery", help="render every built-in into a folder", description="Render every built-in IFS to DIR/NAME.png."
    )
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the PNGs (created if missing)")
    parser.add_argument(
        "--size",
        type=pixel_size,
        default=(512, 512),
        metavar="N|WxH",
        help=f"image size (default 512; at most {MAX_RENDER_PIXELS:,} pixels)",
    )
    parser.add_argument(
        "--points",
        type=count_at_most(MAX_RENDER_POINTS, "a number of points"),
        default=10_000_000,
        metavar="N",
        help=f"points per picture (default 1e7, at most {MAX_RENDER_POINTS:,})",
    )
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    add_output_options(parser, overwrite="replace existing PNGs", quiet=True)
    parser.set_defaults(run=cmd_gallery)


def _view_parser(commands) -> None:
    parser = commands.add_parser(
        "view",
        help="open an interactive 3D window (open3d) on a point cloud or an IFS",
        description="Show a point cloud file (.ply .pcd .xyz .npy .csv .txt) or an IFS's points in an open3d window.",
    )
    add_source(parser)
    parser.add_argument(
        "--points",
        type=count_at_most(MAX_POINTS, "a number of points"),
        default=300_000,
        metavar="N",
        help=f"points of an IFS to show (default 3e5, at most {MAX_POINTS:,})",
    )
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.set_defaults(run=cmd_view)


_PARSERS = {"render": _render_parser, "gallery": _gallery_parser, "view": _view_parser}


def cmd_render(args) -> int:
    if args.all:
        if not args.output:
            raise OutputError("--all needs -o DIR, the folder for the pictures")
        library = read_fractint(args.source) if Path(args.source).suffix.lower() == ".ifs" else None
        if library is None:
            raise FormatError("--all renders every entry of a .ifs file", args.source)
        folder = make_folder(args.output)
        jobs = [(ifs, folder / f"{_file_stem(name)}.{args.format}") for name, ifs in library.entries.items()]
        for _, path in jobs:
            _check_render_output(path, args.overwrite)
        _check_render_size(args, f".{args.format}")
        _check_scale_out(args, f".{args.format}")
        with dask_client(args.scheduler) as client:
            results = [_render_one(ifs, path, args, client) for ifs, path in jobs]
        for error in library.errors.values():
            print_error(error)
        report(
            args,
            {
                "outputs": [r["output"] for r in results],
                "errors": [str(e) for e in library.errors.values()],
                "points": sum(r["points"] for r in results),
                "seconds": sum(r["seconds"] for r in results),
            },
        )
        return 2 if library.errors else 0
    ifs = load(args.source, name=args.name)
    output = Path(args.output) if args.output else Path(f"{_file_stem(ifs.name or Path(args.source).stem)}.png")
    _check_render_output(output, args.overwrite)
    _check_render_size(args, output.suffix.lower())
    _check_scale_out(args, output.suffix.lower())
    with dask_client(args.scheduler) as client:
        result = _render_one(ifs, output, args, client)
    steps = f"{result['iterations']} iterations" if result.get("iterations") else "iterated until stable"
    work = f"{result['points']:,} points" if result["points"] else f"{args.method}, {steps}"
    report(args, result, f"wrote {result['output']} ({work} in {result['seconds']:.2f} s)")
    return 0


def _check_render_output(path: Path, overwrite: bool) -> None:
    check_output(path, overwrite=overwrite, suffixes=RENDER_SUFFIXES)


def _check_render_size(args, suffix: str) -> None:
    """Refuse --points and --size (with --supersample and --views) beyond the documented limits, before any work."""
    if suffix != ".png":
        if args.points is not None and args.points > MAX_POINTS:
            raise ParameterError(
                f"n_points {args.points:,} for a point-cloud file; ifskit writes at most {MAX_POINTS:,} points "
                "(all are kept in memory; a .png keeps none)",
                "n_points",
            )
        return
    if args.points is not None and args.points > MAX_RENDER_POINTS:
        raise ParameterError(f"n_points {args.points:,} is more than ifskit draws ({MAX_RENDER_POINTS:,})", "n_points")
    height, width = args.size
    pixels = height * width * args.supersample**2 * (4 if args.views else 1)
    if pixels > MAX_RENDER_PIXELS:
        raise ParameterError(
            f"size {width}x{height} with --supersample {args.supersample}{' and --views' if args.views else ''} "
            f"renders {pixels:,} pixels; at most {MAX_RENDER_PIXELS:,}",
            "size",
        )


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
        from ..distributed import parse_scheduler  # imports dask

        parse_scheduler(args.scheduler)
    else:
        from ..render.torch_backend import torch_device  # imports torch

        torch_device(args.device)


def _render_one(ifs, output: Path, args, client=None) -> dict:
    # the renderer compiles Numba kernels on import: imported by the commands that render
    from ..render import chaos_game, render_image, render_views, save_png

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
            ifs, size=args.size, n_points=n_points, seed=args.seed, cmap=args.cmap, gamma=args.gamma, background=args.background,
            supersample=args.supersample, threads=args.threads, progress=progress,
        )  # fmt: skip
        save_png(image, output, overwrite=args.overwrite)
    elif output.suffix.lower() == ".png":
        n_points = args.points or 20_000_000
        image = render_image(
            ifs, size=args.size, n_points=n_points, seed=args.seed, bounds=args.bounds, color=args.color, cmap=args.cmap, gamma=args.gamma,
            background=args.background, transparent=args.transparent, supersample=args.supersample,
            view=view, threads=args.threads, progress=progress, client=client, device=args.device,
        )  # fmt: skip
        save_png(image, output, overwrite=args.overwrite)
        if client is not None:
            return _figures(output, n_points, start, args, workers=len(client.nthreads()))
        if args.device is not None:
            return _figures(output, n_points, start, args, device=args.device)
    else:
        n_points = args.points or 1_000_000
        save_points(
            chaos_game(ifs, n_points, seed=args.seed, threads=args.threads, progress=progress),
            output,
            overwrite=args.overwrite,
        )
    return _figures(output, n_points, start, args)


def _render_deterministic(ifs, output: Path, args, view, start: float) -> dict:
    """--method deterministic or measure: no randomness, so no --points."""
    # the renderer imports numba: imported by the commands that render
    from ..render import aggregate_points, hutchinson_measure, hutchinson_points, hutchinson_raster, save_png, shade
    from ..render.aggregate import Aggregate

    def picture(agg):
        return shade(
            agg, cmap=args.cmap or "inferno", gamma=args.gamma, background=args.background, transparent=args.transparent
        )

    if args.color == "map":
        raise FormatError("--color map needs the chaos game (--method chaos)")
    if output.suffix.lower() != ".png" or ifs.dim == 3:
        if args.method == "measure":
            raise FormatError("--method measure makes a 2D PNG; use --method deterministic for point sets")
        points = hutchinson_points(ifs, iterations=args.iterations)
        if output.suffix.lower() == ".png":  # a 3D view of the deterministic point set
            agg = aggregate_points(ifs, points, size=args.size, bounds=args.bounds, view=view)
            save_png(picture(agg), output, overwrite=args.overwrite)
        else:
            save_points(points, output, overwrite=args.overwrite)
        return _figures(output, len(points), start, args, iterations=args.iterations)
    if args.method == "measure":
        mass = hutchinson_measure(ifs, size=args.size, iterations=args.iterations, bounds=args.bounds)
        save_png(picture(Aggregate(mass, args.bounds, 0)), output, overwrite=args.overwrite)
        return _figures(output, 0, start, args, iterations=args.iterations)
    if args.frames:
        folder = make_folder(args.frames)
        # refused before anything is computed or written: frames of two runs must not mix
        existing = sorted(folder.glob("step_*.png"))
        if existing and not args.overwrite:
            raise OutputError(
                f"{folder}: holds frames already ({existing[0].name}, {len(existing)} in all); "
                "--overwrite replaces them, or choose another folder"
            )
    result = hutchinson_raster(
        ifs, size=args.size, start=_start_picture(args.start), iterations=args.iterations, bounds=args.bounds,
        frames=bool(args.frames),
    )  # fmt: skip
    if args.frames:
        for i, frame in enumerate(result.frames):
            save_png(
                picture(Aggregate(frame, result.bounds, 0)), folder / f"step_{i:03d}.png", overwrite=args.overwrite
            )
    save_png(picture(Aggregate(result.image, result.bounds, 0)), output, overwrite=args.overwrite)
    return _figures(output, 0, start, args, iterations=result.iterations, converged=bool(result.converged))


def _figures(output: Path, n_points: int, start: float, args, **more) -> dict:
    seconds = round(time.perf_counter() - start, 4)
    return {"output": str(output), "points": n_points, "seconds": seconds, "seed": args.seed, **more}


def _start_picture(start: str):
    """A named start, or the picture in an image file as a float array (the shape light on dark)."""
    from ..render.deterministic import STARTS  # the renderer imports numba

    if start in STARTS:
        return start
    from PIL import Image, UnidentifiedImageError  # only for a start read from an image file

    try:
        with Image.open(start) as image:
            # checked from the header, before the pixels are decoded: a start larger than any
            # picture ifskit renders is a mistake or a decompression bomb
            if image.width * image.height > MAX_RENDER_PIXELS:
                raise FormatError(
                    f"--start: the image is {image.width}x{image.height} pixels; at most {MAX_RENDER_PIXELS:,}", start
                )
            gray = np.asarray(image.convert("L"), dtype=float) / 255.0
    except FileNotFoundError:
        raise FormatError(f"--start: no such image file (or use one of {', '.join(STARTS)})", start) from None
    except FormatError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise FormatError(f"--start: cannot read the image ({exc.__class__.__name__})", start) from None
    if gray.size == 0 or np.ptp(gray) == 0:
        raise FormatError("--start: the image is blank (one colour): it has no shape to start from", start)
    # the shape is what differs from the background, taken as the most common border tone
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return np.abs(gray - np.median(border))


def cmd_gallery(args) -> int:
    from ..render import render_image, save_png  # the renderer imports numba

    folder = make_folder(args.output)
    jobs = [(name, folder / f"{name}.png") for name in catalog_names()]
    for _, path in jobs:
        _check_render_output(path, args.overwrite)
    start = time.perf_counter()
    names = jobs
    if show_progress(args):
        from tqdm.auto import tqdm  # only for a progress bar on a terminal

        names = tqdm(jobs, desc="gallery", unit="picture")
    for name, path in names:
        image = render_image(catalog(name), size=args.size, n_points=args.points, seed=args.seed, progress=False)
        save_png(image, path, overwrite=args.overwrite)
    files = [str(path) for _, path in jobs]
    report(
        args,
        {"files": files, "seconds": round(time.perf_counter() - start, 3)},
        f"wrote {len(files)} pictures to {folder}",
    )
    return 0


def cmd_view(args) -> int:
    if Path(args.source).suffix.lower() in POINT_SUFFIXES:
        points = load_points(args.source)
    else:
        from ..render import chaos_game  # imports numba: only to draw an IFS

        ifs = load(args.source, name=args.name)
        ifs.check_contractive()
        points = None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise OutputError(
            "no graphical display (DISPLAY is not set): 'ifskit view' opens a window; "
            "use 'ifskit render SOURCE -o view.png' (with --views for 3D) instead"
        )
    if points is None:
        points = chaos_game(ifs, args.points, seed=args.seed)
    import open3d as o3d  # an optional package, only for the window

    xyz = points if points.shape[1] == 3 else np.column_stack([points, np.zeros(len(points))])
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
    height = (xyz[:, 2] - xyz[:, 2].min()) / max(np.ptp(xyz[:, 2]), 1e-12)
    from matplotlib import colormaps  # slow to import: only for the window

    cloud.colors = o3d.utility.Vector3dVector(colormaps["viridis"](height)[:, :3])
    o3d.visualization.draw_geometries([cloud], window_name=f"ifskit view {args.source}")
    return 0


def _file_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "ifs"
