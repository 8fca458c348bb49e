"""``ifskit train-encoder`` and ``ifskit encode``: the Neural Collage encoder.

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
    number_in,
    report,
    seed,
    show_progress,
    whole,
)


def maps_range(text: str) -> tuple[int, int]:
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
_share = number_in(0, 1, "a share from 0 to 1", low_included=True, high_included=True)


def register(commands, name: str) -> None:
    """Add the parser of command ``name`` (train-encoder or encode) to the sub-parser group ``commands``."""
    _PARSERS[name](commands)


def _train_encoder_parser(commands) -> None:
    commands.add_parser(
        "train-encoder",
        help="train a point-cloud encoder on random IFS and shapes (self-supervised, collage theorem)",
        description=(
            "Train the Neural Collage encoder on clouds drawn on the fly: attractors of random IFS (chaos game), "
            "procedural shapes (--shape-share: filled polygons with holes, ellipses, strokes, outlines; in 3D "
            "extrusions, solids of revolution, blobs, terrains), and your own clouds (--data DIR). "
            "The loss is the collage bound chamfer(W(T), T) / (1 - s) of the maps it proposes for a cloud T, "
            "plus --attractor-weight times the Chamfer distance between T and short chaos-game chains of the "
            "maps started from T (the attractor term), so no IFS parameters are regressed. --init fine-tunes "
            "the weights of another checkpoint. Checkpoints are written atomically to OUT every "
            "--checkpoint-every steps; --resume continues from OUT (to a larger --steps: extends the training). "
            "Same seed, same weights. The shipped 2D and 3D models: scripts/train_encoder.py; the shipped 2D "
            "model's 48 anchor copies are a second stage, ifskit.neural.train.train_copies in Python."
        ),
        epilog="Example: ifskit train-encoder -o model.pt --steps 9000 --seed 0",
        arguments=_train_encoder_arguments,
    )


def _train_encoder_arguments(parser) -> None:
    """The arguments of ``train-encoder``, added when it is parsed (:class:`~ifskit.cli._common.Parser`)."""
    from ..neural.train import ATTRACTOR_WEIGHT, DATA_SHARE, SHAPE_SHARE  # defaults; imports torch

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
        "--maps", type=maps_range, default=(2, 4), metavar="K1-K2", help="maps of the training IFS (default 2-4)"
    )
    parser.add_argument(
        "--attractor-weight",
        type=_weight,
        default=ATTRACTOR_WEIGHT,
        metavar="W",
        help=f"weight of the attractor term; 0: the collage bound alone (default {ATTRACTOR_WEIGHT:g})",
    )
    parser.add_argument(
        "--shape-share",
        type=_share,
        default=SHAPE_SHARE,
        metavar="S",
        help=f"share of procedural shapes among the training clouds, 0-1 (default {SHAPE_SHARE:g}; 0: attractors only)",
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        help="a folder of your own point clouds (.npy .ply .pcd .xyz .csv .txt, of dimension --dim) to train on too",
    )
    parser.add_argument(
        "--data-share",
        type=_share,
        default=DATA_SHARE,
        metavar="S",
        help=f"with --data: share of your clouds among the training clouds, 0-1 (default {DATA_SHARE:g})",
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
            "model of the cloud's dimension, 2D or 3D, unless --model), optionally refined. The refinement changes "
            "the number of maps (unless --n-maps): the one shot is grown into a cover of the cloud, up to 32 "
            "copies of the shape on the parts it misses (ifskit.neural.encoding.GROW_MAX_MAPS), and polished by "
            "STEPS of the fitter's steps. The encoder's own maps are refined too with --n-maps, in 3D, and in 2D "
            "where the grown copies do not cover the cloud (an attractor of a few maps, dust): the encoder also "
            "reads the cloud mirrored (--views), each answer's maps are snapped to the parts of the cloud they "
            "cover, STEPS steps of the collage fitter's optimizer follow, and after the first fifth of them the "
            "answer whose attractor is nearest the cloud goes on. Where the copies do cover a 2D cloud, the "
            "encoder's two maps are refined too (a dragon's cloud is covered by copies but drawn by two maps). A "
            "curve-like 2D cloud (the Koch curve) is also refined from 2 and 3 maps of the encoder and of the "
            "fitter's k-means starts, and judged at its own resolution. The nearest attractor of all is kept. Prints "
            "the Chamfer distance between the IFS's attractor and the cloud."
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
        help="refine the encoder's answer with STEPS fitter steps, growing it to more maps where that pays "
        "(default 0: one shot)",
    )
    parser.add_argument(
        "--views",
        type=int,
        default=2,
        metavar="V",
        help="with --refine: candidate starts from the cloud as given, mirrored, turned, axes swapped (1-4, default 2)",
    )
    parser.add_argument(
        "--n-maps",
        "--maps",
        dest="maps",
        type=int,
        metavar="K",
        help="number of maps, one the model gives (the shipped 2D model: 2-8 from its heads, 48 anchor copies; 3D: "
        "2-8), kept by --refine; default: the answer whose predicted attractor is nearest the cloud (without "
        "--refine the 2D copies compete: a letter or a silhouette comes out as 48 copies), grown by --refine where "
        "that pays",
    )
    parser.add_argument("--model", metavar="PATH", help="checkpoint from train-encoder (default: the shipped model)")
    parser.add_argument(
        "--device", default="cpu", metavar="cpu|cuda[:N]", help="where the encoder runs: cpu (default) or a CUDA GPU"
    )
    parser.add_argument("--seed", type=seed, default=0, help="subsampling and chaos-game seed (default 0)")
    add_output_options(parser, overwrite="replace OUT")
    parser.set_defaults(run=cmd_encode)


_PARSERS = {"train-encoder": _train_encoder_parser, "encode": _encode_parser}


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
        shape_share=args.shape_share,
        data=args.data,
        data_share=args.data_share,
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
    # the shipped model of the cloud's dimension; a given one as it is (check_cloud names the cloud)
    model = load_model(args.model, device=args.device, dim=None if args.model else points.shape[1])
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
