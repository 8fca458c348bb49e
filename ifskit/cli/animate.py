"""``ifskit interpolate``: a movie of the interpolation through two or more IFS.

:mod:`ifskit.animate` imports the renderer (numba): the command imports it when it is parsed
(its choices and defaults) and when it runs, so that ``ifskit --help`` and the other commands
start fast.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import FormatError, ParameterError
from ..formats import POINT_SUFFIXES, load_points, read_fractint
from ..ifs import IFS
from ..io import load
from ._common import add_output_options, count, pixel_size, report, seed


def register(commands, name: str) -> None:
    """Add the parser of command ``name`` (interpolate) to the sub-parser group ``commands``."""
    _PARSERS[name](commands)


def _interpolate_parser(commands) -> None:
    commands.add_parser(
        "interpolate",
        help="a movie (MP4, GIF or PNG frames) morphing between two or more IFS",
        description=(
            "Interpolate between IFS A -> B [-> C ...] and render the in-between frames as a movie. "
            "Maps are paired by a Hungarian assignment (the smaller IFS padded by duplicating maps, which "
            "changes neither attractor nor measure) and interpolated geometrically: rotation along the shorter "
            "arc, log singular values and fixed points, so every frame is contractive. Every frame uses the "
            "same random streams, so points move rather than flicker; each keyframe fills its frame and the "
            "camera glides between them; frames are paced so that each changes the picture by the same amount."
        ),
        epilog="Example: ifskit interpolate barnsley_fern maple_leaf heighway_dragon --loop -o morph.mp4",
        arguments=_interpolate_arguments,
        parameters={"method": ("clouds",), "steps": ("fit_steps",)},  # of ifs_from_cloud
    )


def _interpolate_arguments(parser) -> None:
    """The arguments of ``interpolate``, added when it is parsed (:class:`~ifskit.cli._common.Parser`)."""
    # their choices and defaults are ifskit.animate's, which imports the renderer (numba)
    from ..animate.clouds import CLOUD_METHODS, DEFAULT_FIT_MAPS
    from ..animate.framing import FRAMINGS
    from ..animate.interpolate import EASINGS, METHODS
    from ..animate.movie import COLORINGS, FPS_RANGE, MAX_FRAMES, MAX_GIF_PIXELS, PACINGS
    from ..animate.pacing import BLUR_WEIGHTS
    from ..animate.palette import DEFAULT_PALETTE

    parser.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help=(
            "two or more keyframes: .yaml or .json files, FILE.ifs or FILE.ifs:ENTRY (Fractint), catalog names, "
            "or point clouds (.ply .pcd .xyz .npy .csv .txt), encoded by the neural encoder when its weights "
            "are installed (2D), else fitted (see --clouds)"
        ),
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="OUT.mp4 (H.264), OUT.gif, or a folder DIR/ for PNG frames"
    )
    parser.add_argument(
        "--frames",
        type=count,
        default=120,
        metavar="N",
        help=f"frames in the movie (default 120, at most {MAX_FRAMES:,}; a GIF at most {MAX_GIF_PIXELS:.0e} pixels "
        "in all, Pillow holds it in memory)",
    )
    parser.add_argument(
        "--fps", type=float, default=30.0, help=f"frames per second, {FPS_RANGE[0]:g} to {FPS_RANGE[1]:g} (default 30)"
    )
    parser.add_argument(
        "--size", type=pixel_size, default=(512, 512), metavar="N|WxH", help="frame size in pixels (default 512)"
    )
    parser.add_argument("--seed", type=seed, default=0, help="random seed, the same for every frame (default 0)")
    parser.add_argument("--points", type=count, default=2_000_000, metavar="N", help="points per frame (default 2e6)")
    parser.add_argument(
        "--interpolation",
        "--method",
        dest="method",
        choices=METHODS,
        default="geometric",
        help="geometric: rotations, log singular values, fixed points (default); log: each matrix column's "
        "direction (shorter arc) and log length, as flam3; linear: matrix entries",
    )
    parser.add_argument(
        "--framing",
        choices=FRAMINGS,
        default="follow",
        help="follow: each frame framed by its picture, the camera gliding (default); fixed: one window for all; "
        "normalize: every keyframe scaled into the unit box first",
    )
    parser.add_argument(
        "--pacing",
        choices=PACINGS,
        default="even",
        help="even: the same visible change per frame, measured on a low-resolution pass (default); "
        "linear: even steps of interpolation time",
    )
    parser.add_argument(
        "--motion-blur",
        type=count,
        default=1,
        metavar="N",
        help="sub-frames per frame, sharing its points (default 1: no blur)",
    )
    parser.add_argument("--blur", choices=BLUR_WEIGHTS, default="box", help="motion-blur weights (default box)")
    parser.add_argument(
        "--color",
        choices=COLORINGS,
        default="density",
        help="density: brightness through --cmap (default); map: each map's colour, kept through the matching",
    )
    parser.add_argument(
        "--palette",
        default=DEFAULT_PALETTE,
        metavar="NAME",
        help=f"colours of the maps with --color map: a matplotlib colormap (default {DEFAULT_PALETTE})",
    )
    parser.add_argument(
        "--bit-depth", type=int, choices=(8, 16), default=8, help="16: 16-bit PNG frames (folder output only)"
    )
    parser.add_argument(
        "--easing", choices=list(EASINGS), default="linear", help="timing within each segment (default linear)"
    )
    parser.add_argument(
        "--loop",
        action="store_true",
        help="return from the last keyframe to the first (seamless); through 3 or more keyframes one periodic "
        "spline, whose velocity matches at every keyframe and at the seam",
    )
    parser.add_argument(
        "--pingpong", action="store_true", help="go through the keyframes and back within --frames (seamless)"
    )
    parser.add_argument(
        "--clouds",
        choices=CLOUD_METHODS,
        default="auto",
        help="point-cloud keyframes: 'encode' (neural encoder), 'fit' (collage fitter), or 'auto' (default): "
        "the encoder when its weights for the cloud's dimension are installed, else the fitter",
    )
    parser.add_argument(
        "--maps",
        type=count,
        metavar="K",
        help=f"point-cloud keyframes: number of maps (default: the encoder's choice; {DEFAULT_FIT_MAPS} when fitted)",
    )
    parser.add_argument(
        "--fit-steps", type=count, default=300, metavar="N", help="point-cloud keyframes: fitter steps (default 300)"
    )
    parser.add_argument("--cmap", default="inferno", metavar="NAME", help="matplotlib colormap (default inferno)")
    parser.add_argument("--gamma", type=float, default=2.2, help="gamma of the log-density tone mapping (default 2.2)")
    parser.add_argument("--background", default="black", metavar="COLOR", help="background colour (default black)")
    parser.add_argument("--elev", type=float, help="3D: camera elevation in degrees (default 30)")
    parser.add_argument("--azim", type=float, help="3D: camera azimuth of the first frame in degrees (default -60)")
    parser.add_argument(
        "--turn",
        type=float,
        default=0.0,
        metavar="DEG",
        help="3D: degrees the camera turns about the z axis over the movie (default 0; 360 with --loop is seamless)",
    )
    parser.add_argument(
        "--threads", type=int, metavar="N", help="worker threads (default: all cores); does not change the output"
    )
    add_output_options(parser, overwrite="replace an existing movie (or non-empty folder)", quiet=True)
    parser.set_defaults(run=cmd_interpolate)


_PARSERS = {"interpolate": _interpolate_parser}


def cmd_interpolate(args) -> int:
    """Check every input, then plan, render and write the movie."""
    # ifskit.animate imports the renderer (numba)
    from ..animate import KeyframePath, check_movie_output, check_shading, plan_movie, render_movie_frames, write_movie
    from ..animate.clouds import ifs_from_cloud
    from ..animate.framing import normalized
    from ..animate.movie import check_fps
    from ..animate.palette import colored_keyframes, palette_colors

    start = time.perf_counter()
    if len(args.sources) < 2:
        raise FormatError("interpolate needs at least two keyframes (A B [C ...])")
    if args.loop and args.pingpong:
        raise FormatError("--loop and --pingpong exclude each other: choose one way back to the start")
    check_fps(args.fps)
    kind = check_movie_output(args.output, size=args.size, overwrite=args.overwrite, n_frames=args.frames)
    check_shading(cmap=args.cmap, gamma=args.gamma, background=args.background)
    palette_colors(args.palette, 1)
    if args.bit_depth == 16 and kind != "png":
        raise FormatError(f"--bit-depth 16 needs a folder of PNG frames, not {kind.upper()}")
    loaded = [_load_keyframe(source) for source in args.sources]
    dims = [item.dim if isinstance(item, IFS) else item.shape[1] for item in loaded]
    if len(set(dims)) > 1:
        first_other = next(i for i, d in enumerate(dims) if d != dims[0])
        raise FormatError(
            f"cannot interpolate between {dims[0]}D and {dims[first_other]}D keyframes: "
            f"{args.sources[0]} is {dims[0]}D, {args.sources[first_other]} is {dims[first_other]}D"
        )
    view = None
    if dims[0] == 3 and (args.elev is not None or args.azim is not None):
        view = (30.0 if args.elev is None else args.elev, -60.0 if args.azim is None else args.azim)
    elif dims[0] == 2 and (args.elev is not None or args.azim is not None or args.turn):
        raise FormatError("--elev, --azim and --turn apply to 3D IFS only")
    # every input is checked: now point clouds become IFS (the slow part before rendering)
    keyframes, origins = [], []
    for source, item in zip(args.sources, loaded):
        if isinstance(item, IFS):
            keyframes.append(item)
            origins.append("ifs")
            continue
        try:
            ifs, how = ifs_from_cloud(item, method=args.clouds, n_maps=args.maps, steps=args.fit_steps, seed=args.seed)
        except FormatError as exc:
            raise FormatError(exc.message, source) from None
        except ParameterError as exc:  # e.g. --clouds encode without the encoder: name the cloud
            raise ParameterError(f"{source}: {exc.message}", exc.parameter) from None
        keyframes.append(ifs)
        origins.append(how)
    if args.framing == "normalize":
        keyframes = [normalized(k) for k in keyframes]
    if args.color == "map":
        keyframes = colored_keyframes(keyframes, args.palette)
    path = KeyframePath(keyframes, method=args.method, loop=args.loop, easing=args.easing)
    plan = plan_movie(
        path, n_frames=args.frames, size=args.size, n_points=args.points, seed=args.seed,
        pingpong=args.pingpong, view=view, turn=args.turn, framing=args.framing, pacing=args.pacing,
        motion_blur=args.motion_blur, blur=args.blur, gamma=args.gamma, cmap=args.cmap, threads=args.threads,
    )  # fmt: skip
    frames = render_movie_frames(
        plan, size=args.size, n_points=args.points, seed=args.seed, cmap=args.cmap, gamma=args.gamma, background=args.background,
        bit_depth=args.bit_depth, threads=args.threads,
    )  # fmt: skip
    output = write_movie(
        frames, args.output, fps=args.fps, n_frames=args.frames, overwrite=args.overwrite,
        progress=False if args.quiet else None,
    )  # fmt: skip
    seconds = round(time.perf_counter() - start, 3)
    height, width = args.size
    figures = {
        "frames": args.frames,
        "output": str(output),
        "format": kind,
        "fps": args.fps,
        "size": [width, height],
        "points": args.points,
        "seed": args.seed,
        "keyframes": len(keyframes),
        "keyframe_origins": origins,
        "seconds": seconds,
    }
    clouds = [f"{how} {source}" for how, source in zip(origins, args.sources) if how != "ifs"]
    note = f"; {', '.join(clouds)}" if clouds else ""
    report(args, figures, f"wrote {output} ({args.frames} frames {width}x{height} in {seconds:.2f} s{note})")
    return 0


def _load_keyframe(source: str):
    """An IFS from a file or catalog name (``FILE.ifs:ENTRY`` picks an entry of a Fractint
    file), or the points of a point-cloud file, shape (n, d)."""
    if Path(source).suffix.lower() in POINT_SUFFIXES:
        return load_points(source)

    file, _, entry = source.rpartition(":")
    if file and Path(file).suffix.lower() == ".ifs" and Path(file).is_file():
        return load(file, name=entry)
    if Path(source).suffix.lower() == ".ifs" and Path(source).is_file():
        library = read_fractint(source)
        names = list(library.entries) + list(library.errors)
        if len(names) > 1:
            raise FormatError(f"holds {len(names)} entries; choose one as {source}:ENTRY ({', '.join(names)})", source)
    return load(source)
