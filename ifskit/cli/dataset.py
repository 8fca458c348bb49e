"""``ifskit dataset``: a synthetic pre-training dataset of fractals (:mod:`ifskit.data`).

:mod:`ifskit.data` imports the renderer (numba), and ``--scheduler`` dask: the command imports
them when it runs, so that ``ifskit --help`` and the other commands start fast.
"""

from __future__ import annotations

import argparse
import time

from ..errors import ParameterError
from ._common import add_output_options, count, dask_client, make_folder, number_in, report, seed, show_progress
from .neural import maps_range

# File types of `dataset` samples over all recipes (each recipe checks its own).
SAMPLE_FORMATS = ("yaml", "npy", "ply", "png")


def _formats(text: str) -> tuple:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in SAMPLE_FORMATS]
    if not formats or unknown:
        raise argparse.ArgumentTypeError(f"expected some of {','.join(SAMPLE_FORMATS)}, got {text!r}")
    return formats


#: The recipes, as ``ifskit.data.RECIPES`` names them (listed here: that module imports numba).
RECIPE_NAMES = ("clouds", "fractaldb", "pc-fractaldb", "svd")


def register(commands, name: str) -> None:
    """Add the parser of ``dataset`` to the sub-parser group ``commands``."""
    parser = commands.add_parser(
        "dataset",
        help="a synthetic pre-training dataset of fractals: random IFS clouds, FractalDB, PC-FractalDB, SVD images",
        description=(
            "Write COUNT samples of a recipe: clouds (default: random contractive IFS and their chaos-game "
            "clouds as .yaml/.npy/.ply, optionally a .png picture of the cloud), fractaldb (Kataoka et al. 2020: "
            "categories by the filling-rate search, 362x362 greyscale .png), pc-fractaldb (Yamada et al. 2022: "
            "3D categories by the variance search, FractalNoiseMix instances, .ply clouds) or svd (Anderson & "
            "Farrell 2022: the sigma-factor sampler, .png). Categories are searched first, in parallel, and "
            "written as DIR/categories/NNNNNN.csv (one row a,b,c,d,e,f,p per map; 3D: a..l,p). The layout "
            "depends only on --shard-size and --shard-format: files DIR/sample_NNNNNN.EXT, or shards "
            "DIR/shard_NNNNNN.npz (arrays) or .tar (the files and a .cls label each, as webdataset reads them); "
            "DIR/manifest.json records the recipe, settings, seed and every category's parameters, and "
            "DIR/preview.png shows the first sample of the first 64 categories (--preview). Sample i depends only on "
            "(seed, i): the same bytes whatever the threads, with or without --scheduler, and a stopped run "
            "(--time, Ctrl-C) resumes by making only what is missing. A folder holding another dataset is "
            "refused."
        ),
        epilog=(
            "Examples: ifskit dataset -o fractals --count 10000 --maps 2-4 --points 2048 --seed 0; "
            "ifskit dataset -o fdb --recipe fractaldb --categories 1000 --count 1000000 --patch --time 3600; "
            "ifskit dataset -o pcfdb --recipe pc-fractaldb --categories 100 --instances 100 --count 10000"
        ),
        parameters={"time_budget": ("time",), "workers": ("threads",)},
    )
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder (created if missing)")
    parser.add_argument("--count", type=count, required=True, metavar="N", help="number of samples")
    parser.add_argument("--recipe", choices=RECIPE_NAMES, default="clouds", help="what a sample is (default clouds)")
    parser.add_argument(
        "--maps",
        type=maps_range,
        metavar="K|K1-K2",
        help="maps per IFS, drawn uniformly (default 2-4; fractaldb 2-8; pc-fractaldb 2-7)",
    )
    parser.add_argument(
        "--points",
        type=count,
        metavar="P",
        help="points per cloud or picture (default 2048; pictures 100000; pc-fractaldb 10000)",
    )
    parser.add_argument("--dim", type=int, choices=[2, 3], help="dimension, clouds only (default 2)")
    parser.add_argument("--seed", type=seed, default=0, help="dataset seed (default 0)")
    parser.add_argument(
        "--format",
        type=_formats,
        metavar="LIST",
        help="files per sample, comma-separated: clouds among yaml,npy,ply,png (default yaml,npy); "
        "pc-fractaldb among ply,npy (default ply); pictures png",
    )
    parser.add_argument(
        "--size", type=int, metavar="N", help="picture side (default clouds 256, fractaldb 362, svd 256)"
    )
    parser.add_argument(
        "--categories", type=count, metavar="C", help="fractaldb, pc-fractaldb: categories (default 1000)"
    )
    parser.add_argument(
        "--instances", type=count, metavar="I", help="fractaldb, pc-fractaldb: samples per category (default 1000)"
    )
    parser.add_argument(
        "--fill", type=number_in(0, 1, "a filling rate in (0, 1)"), help="fractaldb: least lit fraction (default 0.2)"
    )
    parser.add_argument(
        "--patch", action="store_true", default=None, help="fractaldb: stamp random 3x3 grey patches at the points"
    )
    parser.add_argument(
        "--variance",
        type=number_in(0, 1, "a variance in (0, 1)"),
        help="pc-fractaldb: least variance along each axis of a category's normalized cloud (default 0.05)",
    )
    parser.add_argument(
        "--mix",
        type=number_in(0, 1, "a fraction in [0, 1)", low_included=True),
        help="pc-fractaldb: FractalNoiseMix, the fraction of points from another category (default 0.2; 0: none)",
    )
    parser.add_argument("--color", choices=["grey", "random"], help="svd: grey or a random colour (default grey)")
    parser.add_argument("--background", choices=["black", "random"], help="svd: background (default black)")
    parser.add_argument(
        "--shard-size",
        type=count,
        metavar="S",
        help="write shards of S samples (DIR/shard_NNNNNN.npz) instead of files per sample; resumable shard by shard",
    )
    parser.add_argument(
        "--shard-format",
        choices=["npz", "tar"],
        help="with --shard-size: npz (default), the samples' arrays with index and label (numpy.load), or tar, "
        "each sample's files and its label as sample_NNNNNN.cls: a webdataset shard",
    )
    parser.add_argument(
        "--time",
        type=number_in(0, 1e9, "a positive number of seconds"),
        metavar="SECONDS",
        help="time budget: start no more work after SECONDS, leave complete files only; run again to go on",
    )
    parser.add_argument(
        "--threads", type=count, metavar="T", help="threads on this machine (default: the cores; not with --scheduler)"
    )
    parser.add_argument(
        "--scheduler",
        metavar="local:N|tcp://HOST:PORT",
        help="make the categories and samples on a Dask cluster: the same files whatever the workers "
        "(local:N starts N worker processes here, at most 4 per core)",
    )
    parser.add_argument(
        "--preview",
        action=argparse.BooleanOptionalAction,
        help="write DIR/preview.png, a contact sheet of the first sample of each of the first 64 categories "
        "(default: for fractaldb and pc-fractaldb; elsewhere the first 64 samples)",
    )
    add_output_options(parser, quiet=True)
    parser.set_defaults(run=cmd_dataset)


# Options of `dataset` and the recipe settings they set (--size: the clouds' pictures).
_RECIPE_OPTIONS = {
    "maps": "maps", "points": "points", "dim": "dim", "size": "size", "categories": "categories",
    "instances": "instances", "fill": "fill", "patch": "patch", "variance": "variance", "mix": "mix",
    "color": "color", "background": "background",
}  # fmt: skip


def cmd_dataset(args) -> int:
    from ..data import get_recipe, write_dataset  # imports numba
    from ..data.factory import check_arguments
    from ..distributed import parse_scheduler

    options = {setting: getattr(args, dest) for dest, setting in _RECIPE_OPTIONS.items()}
    options = {k: v for k, v in options.items() if v is not None}
    if args.recipe == "clouds" and "size" in options:
        options["png_size"] = options.pop("size")
    recipe = get_recipe(args.recipe, **options)
    # mistakes before the folder is made
    check_arguments(recipe, args.count, args.shard_size, args.format, args.threads, args.time, args.shard_format)
    if args.scheduler is not None:
        parse_scheduler(args.scheduler)  # a wrong spec before anything is made
        if args.threads is not None:
            raise ParameterError(
                "threads applies without --scheduler only (there the cluster's workers run the tasks)", "threads"
            )
    start = time.perf_counter()
    with dask_client(args.scheduler) as client:
        folder = make_folder(args.output)
        counts = write_dataset(
            folder, args.count, recipe=recipe, seed=args.seed, shard_size=args.shard_size,
            shard_format=args.shard_format, formats=args.format,
            client=client, workers=args.threads, time_budget=args.time, preview=args.preview,
            progress=show_progress(args),
        )  # fmt: skip
    if args.shard_size is not None:
        counts = {
            **counts,
            "shards_written": counts["units_written"],
            "shards_skipped": counts["units"] - counts["units_written"],
            "shards": counts["units"],
        }
    seconds = time.perf_counter() - start
    figures = {
        "count": args.count,
        "recipe": recipe.name,
        **counts,
        "output": str(folder),
        "seconds": round(seconds, 3),
    }
    text = f"wrote {counts['written']} samples to {folder} ({counts['skipped']} existed already)"
    if not counts["complete"]:
        text += f"; stopped at the time budget ({args.time:g} s): run the same command again to go on"
    report(args, figures, text)
    return 0
