"""``ifskit dataset``: a synthetic pre-training dataset of fractals (:mod:`ifskit.data`).

:mod:`ifskit.data` imports the renderer (numba), and ``--scheduler`` dask: the command imports
them when it runs, so that ``ifskit --help`` and the other commands start fast.
"""

from __future__ import annotations

import argparse
import time

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


def register(commands, name: str) -> None:
    """Add the parser of ``dataset`` to the sub-parser group ``commands``."""
    parser = commands.add_parser(
        "dataset",
        help="a synthetic pre-training dataset of fractals: random IFS clouds, FractalDB, SVD-sampled images",
        description=(
            "Write COUNT samples of a recipe: clouds (default: random contractive IFS and their chaos-game "
            "clouds as .yaml/.npy/.ply, optionally a density .png), fractaldb (Kataoka et al. 2020: categories "
            "by the filling-rate search, 362x362 greyscale .png) or svd (Anderson & Farrell 2022: the "
            "sigma-factor sampler, .png). The layout depends only on --shard-size: files DIR/sample_NNNNNN.EXT, "
            "or shards DIR/shard_NNNNNN.npz; DIR/manifest.json records the recipe, settings, seed and every "
            "category's parameters. Sample i depends only on (seed, i): the same bytes with or without "
            "--scheduler, and a stopped run resumes by skipping what exists."
        ),
        epilog=(
            "Examples: ifskit dataset -o fractals --count 10000 --maps 2-4 --points 2048 --seed 0; "
            "ifskit dataset -o fdb --recipe fractaldb --categories 1000 --count 1000000"
        ),
    )
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder (created if missing)")
    parser.add_argument("--count", type=count, required=True, metavar="N", help="number of samples")
    parser.add_argument(
        "--recipe", choices=["clouds", "fractaldb", "svd"], default="clouds", help="what a sample is (default clouds)"
    )
    parser.add_argument(
        "--maps", type=maps_range, metavar="K|K1-K2", help="maps per IFS, drawn uniformly (default 2-4; fractaldb 2-8)"
    )
    parser.add_argument(
        "--points", type=count, metavar="P", help="points per cloud or picture (default 2048; pictures 100000)"
    )
    parser.add_argument("--dim", type=int, choices=[2, 3], help="dimension, clouds only (default 2)")
    parser.add_argument("--seed", type=seed, default=0, help="dataset seed (default 0)")
    parser.add_argument(
        "--format",
        type=_formats,
        metavar="LIST",
        help="files per sample, comma-separated: clouds among yaml,npy,ply,png (default yaml,npy); pictures png",
    )
    parser.add_argument(
        "--size", type=int, metavar="N", help="picture side (default clouds 256, fractaldb 362, svd 256)"
    )
    parser.add_argument("--categories", type=count, metavar="C", help="fractaldb: categories (default 1000)")
    parser.add_argument("--instances", type=count, metavar="I", help="fractaldb: samples per category (default 1000)")
    parser.add_argument(
        "--fill", type=number_in(0, 1, "a filling rate in (0, 1)"), help="fractaldb: least lit fraction (default 0.2)"
    )
    parser.add_argument(
        "--patch", action="store_true", default=None, help="fractaldb: stamp random 3x3 grey patches at the points"
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
        "--scheduler",
        metavar="local:N|tcp://HOST:PORT",
        help="make the samples on a Dask cluster: the same files whatever the workers",
    )
    add_output_options(parser, quiet=True)
    parser.set_defaults(run=cmd_dataset)


# Options of `dataset` and the recipe settings they set (--size: the clouds' density pictures).
_RECIPE_OPTIONS = {
    "maps": "maps", "points": "points", "dim": "dim", "size": "size", "categories": "categories",
    "instances": "instances", "fill": "fill", "patch": "patch", "color": "color", "background": "background",
}  # fmt: skip


def cmd_dataset(args) -> int:
    from ..data import get_recipe, write_dataset  # imports numba

    options = {setting: getattr(args, dest) for dest, setting in _RECIPE_OPTIONS.items()}
    options = {k: v for k, v in options.items() if v is not None}
    if args.recipe == "clouds" and "size" in options:
        options["png_size"] = options.pop("size")
    recipe = get_recipe(args.recipe, **options)
    folder = make_folder(args.output)
    start = time.perf_counter()
    with dask_client(args.scheduler) as client:
        counts = write_dataset(
            folder, args.count, recipe=recipe, seed=args.seed, shard_size=args.shard_size,
            formats=args.format, client=client, progress=show_progress(args),
        )  # fmt: skip
    if args.shard_size is not None:
        counts = {
            **counts,
            "shards_written": counts["units_written"],
            "shards_skipped": counts["units"] - counts["units_written"],
            "shards": counts["units"],
        }
    figures = {
        "count": args.count,
        "recipe": recipe.name,
        **counts,
        "output": str(folder),
        "seconds": round(time.perf_counter() - start, 3),
    }
    report(args, figures, f"wrote {counts['written']} samples to {folder} ({counts['skipped']} existed already)")
    return 0
