"""``ifskit dataset``, ``ifskit train-encoder`` and ``ifskit encode``: the Neural Collage encoder.

:mod:`ifskit.neural` imports the renderer (numba), and its training and encoding torch: the
commands import them when they run (``train-encoder`` also when it is parsed, for a default),
so that ``ifskit --help`` and the other commands start fast.
"""

from __future__ import annotations

import argparse
import time

from .._io import check_output
from ..errors import OutputError
from ..formats import load_points
from ..io import save
from ._common import (
    add_output_options,
    count,
    dask_client,
    make_folder,
    number_in,
    report,
    seed,
    show_progress,
    whole,
)


def _maps_range(text: str) -> tuple[int, int]:
    """``K`` or ``K1-K2``: a number of maps or a range of them (both ends included)."""
    try:
        parts = [int(v) for v in text.split("-")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1 or parts[0] > parts[-1] or parts[-1] > 64:
        raise argparse.ArgumentTypeError(f"expected K or K1-K2 with 1 <= K1 <= K2 <= 64, got {text!r}")
    return parts[0], parts[-1]


_learning_rate = number_in(0, 10, "a positive learning rate")
_weight = number_in(0, 1e6, "a non-negative weight", low_included=True)


# File types of `dataset` samples over all recipes (each recipe checks its own).
SAMPLE_FORMATS = ("yaml", "npy", "ply", "png")


def _formats(text: str) -> tuple:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in SAMPLE_FORMATS]
    if not formats or unknown:
        raise argparse.ArgumentTypeError(f"expected some of {','.join(SAMPLE_FORMATS)}, got {text!r}")
    return formats


def register(commands, name: str) -> None:
    """Add the parser of command ``name`` (dataset, train-encoder or encode) to the sub-parser group ``commands``."""
    _PARSERS[name](commands)


def _dataset_parser(commands) -> None:
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
        "--maps", type=_maps_range, metavar="K|K1-K2", help="maps per IFS, drawn uniformly (default 2-4; fractaldb 2-8)"
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


def _train_encoder_parser(commands) -> None:
    commands.add_parser(
        "train-encoder",
        help="train a point-cloud encoder on random IFS (self-supervised, collage theorem)",
        description=(
            "Train the Neural Collage encoder on clouds of random IFS drawn on the fly with the chaos game. "
            "The loss is the collage bound chamfer(W(T), T) / (1 - s) of the maps it proposes for a cloud T, "
            "plus --attractor-weight times the Chamfer distance between T and short chaos-game chains of the "
            "maps started from T (the attractor term), so no IFS parameters are regressed. --init fine-tunes "
            "the weights of another checkpoint. Checkpoints are written atomically to OUT every "
            "--checkpoint-every steps; --resume continues from OUT (to a larger --steps: extends the training). "
            "Same seed, same weights. The shipped 2D model: scripts/train_encoder.py."
        ),
        epilog="Example: ifskit train-encoder -o model.pt --steps 9000 --seed 0",
        arguments=_train_encoder_arguments,
    )


def _train_encoder_arguments(parser) -> None:
    """The arguments of ``train-encoder``, added when it is parsed (:class:`~ifskit.cli._common.Parser`)."""
    from ..neural.train import ATTRACTOR_WEIGHT  # the default of --attractor-weight; imports torch

    parser.add_argument("-o", "--output", required=True, metavar="OUT.pt", help="checkpoint file")
    parser.add_argument("--steps", type=count, required=True, metavar="N", help="total optimizer steps")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run saved in OUT (same settings, --steps may grow)"
    )
    parser.add_argument("--seed", type=seed, default=0, help="initial weights and training data (default 0)")
    parser.add_argument("--dim", type=int, choices=[2, 3], default=2, help="dimension of the clouds (default 2)")
    parser.add_argument(
        "--device", metavar="cpu|cuda[:N]", help="where to train (default: cuda when present, else cpu)"
    )
    parser.add_argument("--batch", type=count, default=32, metavar="B", help="clouds per step (default 32)")
    parser.add_argument(
        "--lr", type=_learning_rate, default=3e-3, help="Adam learning rate, cosine-decayed (default 3e-3)"
    )
    parser.add_argument(
        "--maps", type=_maps_range, default=(2, 4), metavar="K1-K2", help="maps of the training IFS (default 2-4)"
    )
    parser.add_argument(
        "--attractor-weight",
        type=_weight,
        default=ATTRACTOR_WEIGHT,
        metavar="W",
        help=f"weight of the attractor term; 0: the collage bound alone (default {ATTRACTOR_WEIGHT:g})",
    )
    parser.add_argument(
        "--init", metavar="CKPT.pt", help="start from this checkpoint's weights (fine-tuning; fresh optimizer)"
    )
    parser.add_argument(
        "--checkpoint-every", type=count, default=250, metavar="N", help="steps between checkpoints (default 250)"
    )
    add_output_options(parser, overwrite="start afresh, replacing OUT", quiet=True)
    parser.set_defaults(run=cmd_train_encoder)


def _encode_parser(commands) -> None:
    parser = commands.add_parser(
        "encode",
        help="a point cloud to an IFS in one forward pass of the neural encoder",
        description=(
            "Encode a point cloud (.ply .pcd .xyz .npy .csv .txt) as an IFS with the neural encoder (the shipped "
            "2D model unless --model), optionally refined: the encoder also reads the cloud mirrored (--views), "
            "each answer's maps are snapped to the parts of the cloud they cover, STEPS steps of the collage "
            "fitter's optimizer follow, and after the first fifth of them the answer whose attractor is nearest "
            "the cloud goes on. Prints the Chamfer distance between the IFS's attractor and the cloud."
        ),
        epilog="Example: ifskit encode cloud.npy -o cloud.yaml --refine 30 --json",
    )
    parser.add_argument("cloud", metavar="CLOUD", help="point cloud file")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.yaml", help="IFS file (.yaml .ifs .json)")
    parser.add_argument(
        "--refine",
        type=whole,
        default=0,
        metavar="STEPS",
        help="refine the encoder's maps: snap them to their parts, then STEPS fitter steps (default 0: one shot)",
    )
    parser.add_argument(
        "--views",
        type=int,
        default=2,
        metavar="V",
        help="with --refine: candidate starts from the cloud as given, mirrored, turned, axes swapped (1-4, default 2)",
    )
    parser.add_argument("--maps", type=int, metavar="K", help="number of maps (default: the encoder's best)")
    parser.add_argument("--model", metavar="PATH", help="checkpoint from train-encoder (default: the shipped model)")
    parser.add_argument(
        "--device", default="cpu", metavar="cpu|cuda[:N]", help="where the encoder runs: cpu (default) or a CUDA GPU"
    )
    parser.add_argument("--seed", type=seed, default=0, help="subsampling and chaos-game seed (default 0)")
    add_output_options(parser, overwrite="replace OUT")
    parser.set_defaults(run=cmd_encode)


_PARSERS = {"dataset": _dataset_parser, "train-encoder": _train_encoder_parser, "encode": _encode_parser}


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


def cmd_train_encoder(args) -> int:
    from ..neural.train import train_encoder  # imports torch

    if args.resume and args.overwrite:
        raise OutputError("--resume and --overwrite contradict each other")
    if not args.resume:
        check_output(args.output, overwrite=args.overwrite, suffixes={".pt"})
    figures = train_encoder(
        args.output,
        args.steps,
        seed=args.seed,
        dim=args.dim,
        device=args.device,
        resume=args.resume,
        overwrite=args.overwrite,
        batch_size=args.batch,
        learning_rate=args.lr,
        maps=args.maps,
        attractor_weight=args.attractor_weight,
        init=args.init,
        checkpoint_every=args.checkpoint_every,
        progress=show_progress(args),
    )
    report(args, figures, f"trained {figures['steps']} steps, loss {figures['loss']:.4g}: {figures['output']}")
    return 0


def cmd_encode(args) -> int:
    # the encoder imports torch, the distance and the chaos game numba
    from ..analysis import chamfer_distance
    from ..neural.encoding import check_cloud, encode, load_model
    from ..render import chaos_game

    check_output(args.output, overwrite=args.overwrite, suffixes={".yaml", ".yml", ".ifs", ".json"})
    points = load_points(args.cloud)
    model = load_model(args.model, device=args.device)
    check_cloud(points, model.dim, args.cloud)
    start = time.perf_counter()
    ifs = encode(
        points,
        refine=args.refine,
        model=model,
        device=args.device,
        n_maps=args.maps,
        seed=args.seed,
        views=args.views,
    )
    seconds = time.perf_counter() - start
    attractor = chaos_game(ifs, max(len(points), 2048), seed=args.seed, progress=False)
    distance = chamfer_distance(attractor, points)
    save(ifs, args.output, overwrite=args.overwrite)
    figures = {
        "maps": ifs.n_maps,
        "contraction": ifs.contraction,
        "attractor_chamfer": distance,
        "seconds": round(seconds, 4),
        "output": str(args.output),
    }
    report(args, figures, f"{ifs.n_maps} maps, attractor Chamfer {distance:.4g}, {seconds:.3f} s: {args.output}")
    return 0
