"""``ifskit fit``: learn IFS maps whose attractor covers a point cloud (collage theorem).

The fitter (:mod:`ifskit.fitting`) imports torch: the command imports it when it runs, so that
``ifskit --help`` and the other commands start fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .._io import check_output
from ..errors import FormatError, ParameterError
from ..formats import IFS_SUFFIXES, load_points
from ..ifs import IFS
from ..io import save
from ._common import add_output_options, count_at_most, report, seed

#: Most maps of ``--maps K`` (as ``--max-maps``): a fit's cost grows with K times the cloud.
MAX_FIT_MAPS = 64
#: Most optimizer steps of ``--steps`` (the loss history is kept: a few MB).
MAX_FIT_STEPS = 1_000_000


def register(commands, name: str) -> None:
    """Add the parser of command ``name`` (fit) to the sub-parser group ``commands``."""
    _PARSERS[name](commands)


def _fit_parser(commands) -> None:
    parser = commands.add_parser(
        "fit",
        help="fit contractive maps to a point cloud with the collage theorem",
        description=(
            "Fit K contractive affine maps to a 2D or 3D point cloud by making the cloud's collage "
            "W(T) = U w_i(T) close to the cloud. The collage theorem then bounds the distance between the "
            "cloud and the attractor: Hausdorff <= e / (1 - s), e = Hausdorff distance of T and W(T), "
            "s = largest contraction factor. The fitted attractor is rendered and its Chamfer and Hausdorff "
            "distances to the cloud are measured too. Clouds above 20,000 points are subsampled; repeated "
            "points, and stray points far from the rest, are dropped; a 3D cloud lying in a plane is fitted in "
            "that plane (each is said on stderr)."
        ),
        epilog="Example: ifskit render barnsley_fern -o fern.npy --points 4096 && ifskit fit fern.npy --maps 4 -o fit.yaml",
    )
    parser.add_argument("cloud", metavar="CLOUD", help="point cloud: .ply .pcd .xyz .npy .csv .txt (2D or 3D)")
    parser.add_argument(
        "--maps",
        type=_maps,
        required=True,
        metavar="K|auto",
        help=(
            f"number of maps, 1 to {MAX_FIT_MAPS}, or auto: compare fits of up to --max-maps maps by their attractors (occupancy "
            "IoU against the cloud, a small penalty per map) and keep the best: copies of the shape, and maps onto "
            "its parts, which always run for a curve (a dragon, the Koch curve), drawn by a few maps"
        ),
    )
    parser.add_argument(
        "--max-maps",
        type=_max_maps,
        default=16,
        metavar="N",
        help=(
            f"with --maps auto, the most maps used, 1 to {MAX_FIT_MAPS} (default 16): filled shapes are covered by "
            "shrunken copies of themselves, and thin, curved or scattered shapes need more copies"
        ),
    )
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="the fitted IFS: .yaml, .json or .ifs (Fractint)"
    )
    parser.add_argument(
        "--steps",
        type=count_at_most(MAX_FIT_STEPS, "a number of steps"),
        default=400,
        metavar="N",
        help=f"optimizer steps, 1..{MAX_FIT_STEPS:,} (default 400)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="random seed: same seed, same fit (default 0)")
    parser.add_argument(
        "--loss",
        choices=["chamfer", "hausdorff"],
        default="chamfer",
        help="training loss between collage and cloud: Chamfer (mean distances) or smooth Hausdorff (default chamfer)",
    )
    parser.add_argument(
        "--max-contraction",
        type=float,
        default=0.9,
        metavar="S",
        help="bound on every singular value of every map, in (0, 1) (default 0.9)",
    )
    parser.add_argument(
        "--device", default="cpu", metavar="cpu|cuda[:N]", help="where to optimize: cpu (default) or a CUDA GPU"
    )
    parser.add_argument("--plot", metavar="OUT.png", help="also draw target, collage, attractor and loss history")
    add_output_options(parser, overwrite="replace existing output files", quiet=True)
    parser.set_defaults(run=cmd_fit)


_PARSERS = {"fit": _fit_parser}


def _maps(text: str):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_FIT_MAPS:
        raise argparse.ArgumentTypeError(f"expected a number of maps from 1 to {MAX_FIT_MAPS} or 'auto', got {text!r}")
    return value


def _max_maps(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_FIT_MAPS:
        raise argparse.ArgumentTypeError(f"expected a number of maps from 1 to {MAX_FIT_MAPS}, got {text!r}")
    return value


def cmd_fit(args) -> int:
    """Check the outputs, read the cloud, fit, write the IFS (and the plot)."""
    # the fitter and the device resolver import torch
    from ..fitting import check_settings, fit
    from ..ops.device import resolve_device

    check_output(args.output, overwrite=args.overwrite, suffixes=IFS_SUFFIXES)
    if args.plot:
        check_output(args.plot, overwrite=args.overwrite, suffixes={".png"})
    # bad settings are errors before any work, not problems of the cloud's file
    check_settings(args.loss, args.steps, args.max_contraction, 1, None)
    device = resolve_device(args.device)
    points = load_points(args.cloud)
    try:
        result = fit(
            points, n_maps=args.maps, loss=args.loss, steps=args.steps, seed=args.seed,
            max_contraction=args.max_contraction, device=device, progress=False if args.quiet else None,
            max_maps=args.max_maps,
        )  # fmt: skip
    except FormatError as error:
        if error.path is None:  # a problem of the cloud's content: name the file
            raise FormatError(error.message, args.cloud) from None
        raise
    except ParameterError as error:  # the settings are checked above: --maps against the cloud's size
        raise ParameterError(f"{args.cloud}: {error.message}", error.parameter) from None
    ifs = result.ifs
    save(IFS(ifs.A, ifs.b, ifs.p, name=f"fit of {Path(args.cloud).stem}"), args.output, overwrite=args.overwrite)
    if args.plot:
        result.plot(args.plot, overwrite=args.overwrite)
    figures = {**result.figures(), "output": str(args.output)}
    chosen = f" (auto: {result.n_maps} maps won)" if args.maps == "auto" else ""
    if args.maps == "auto" and result.n_maps == args.max_maps < MAX_FIT_MAPS:
        # the count the user can change: thin strokes and many parts need more copies than 16
        chosen = f" (auto: {result.n_maps} maps won, all that --max-maps allows: more may fit thin or scattered parts)"
    report(
        args,
        figures,
        f"wrote {args.output}: {result.n_maps} maps{chosen}, collage error {result.collage_error:.4g}, "
        f"contraction {result.contraction:.3f}, bound {result.bound:.4g}, attractor Hausdorff "
        f"{result.attractor_hausdorff:.4g}, attractor Chamfer {result.attractor_chamfer:.4g}, occupancy IoU "
        f"{result.iou:.3f} ({result.seconds:.1f} s)",
    )
    return 0
