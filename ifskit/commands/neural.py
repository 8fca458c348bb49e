"""``ifskit dataset``, ``ifskit train-encoder`` and ``ifskit encode``: the Neural Collage encoder."""

from __future__ import annotations

import argparse
import sys
import time

from ..cli import _add_json, _count, _make_folder, _report


def _maps_range(text: str) -> tuple[int, int]:
    """``K`` or ``K1-K2``: a number of maps or a range of them (both ends included)."""
    try:
        parts = [int(v) for v in text.split("-")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2) or min(parts) < 1 or parts[0] > parts[-1] or parts[-1] > 64:
        raise argparse.ArgumentTypeError(f"expected K or K1-K2 with 1 <= K1 <= K2 <= 64, got {text!r}")
    return parts[0], parts[-1]


def _formats(text: str) -> tuple:
    from ..neural.dataset import SAMPLE_FORMATS

    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in SAMPLE_FORMATS]
    if not formats or unknown:
        raise argparse.ArgumentTypeError(f"expected some of {','.join(SAMPLE_FORMATS)}, got {text!r}")
    return formats


def register(commands) -> None:
    """Add ``dataset``, ``train-encoder`` and ``encode`` to the ``ifskit`` sub-parsers."""
    dataset = commands.add_parser(
        "dataset",
        help="a synthetic dataset of random IFS and their point clouds (FractalDB style)",
        description=(
            "Write COUNT samples, each a random contractive IFS (rotation . diag(sigma) . reflection . rotation "
            "maps, singular values in [0.2, 0.7], sigma-factor band, fixed points in [-0.75, 0.75]^d) as "
            "DIR/sample_NNNNNN.yaml and points of its attractor as .npy/.ply, optionally a density .png. "
            "Sample i depends only on (seed, i): the same seed gives the same dataset, and a run that was "
            "stopped resumes by skipping the samples whose files exist."
        ),
        epilog="Example: ifskit dataset -o fractals --count 10000 --maps 2-4 --points 2048 --seed 0",
    )
    dataset.add_argument("-o", "--output", required=True, metavar="DIR", help="folder (created if missing)")
    dataset.add_argument("--count", type=_count, required=True, metavar="N", help="number of samples")
    dataset.add_argument(
        "--maps",
        type=_maps_range,
        default=(2, 4),
        metavar="K|K1-K2",
        help="maps per IFS, drawn uniformly (default 2-4)",
    )
    dataset.add_argument("--points", type=_count, default=2048, metavar="P", help="points per cloud (default 2048)")
    dataset.add_argument("--dim", type=int, choices=[2, 3], default=2, help="dimension (default 2)")
    dataset.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    dataset.add_argument(
        "--format",
        type=_formats,
        default=("yaml", "npy"),
        metavar="LIST",
        help="files per sample, comma-separated among yaml,npy,ply,png (default yaml,npy)",
    )
    dataset.add_argument("--size", type=int, default=256, metavar="N", help="size of the density PNGs (default 256)")
    dataset.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_json(dataset)
    dataset.set_defaults(run=cmd_dataset)


def cmd_dataset(args) -> int:
    from ..errors import OutputError
    from ..neural.dataset import generate_dataset

    if not 8 <= args.size <= 8192:
        raise OutputError(f"--size must be between 8 and 8192 pixels, got {args.size}")
    folder = _make_folder(args.output)
    start = time.perf_counter()
    counts = generate_dataset(
        folder,
        args.count,
        seed=args.seed,
        maps=args.maps,
        n_points=args.points,
        dim=args.dim,
        formats=args.format,
        png_size=args.size,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    figures = {
        "count": args.count,
        **counts,
        "output": str(folder),
        "seconds": round(time.perf_counter() - start, 3),
    }
    _report(args, figures, f"wrote {counts['written']} samples to {folder} ({counts['skipped']} existed already)")
    return 0
