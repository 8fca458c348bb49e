"""Image collages: ``ifskit compress`` / ``decompress`` (PIFS or neural codes), ``train-image-encoder``, ``fractalize``.

The commands import the image package when they run (Pillow and the codecs: 0.14 s that the
other commands need not pay), and torch only for the neural options and commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from .._io import check_output
from ..errors import FormatError, IfskitError
from ..limits import MAX_COMPRESS_PIXELS, MAX_DECODE_PIXELS
from ._common import (
    MAX_THREADS,
    add_output_options,
    count,
    count_at_most,
    make_folder,
    number_in,
    report,
    seed,
    show_progress,
    threads,
)

#: Files that ``train-image-encoder`` reads from its folder.
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".pgm", ".ppm"}


#: Most decoding steps of ``decompress --iterations`` (a code converges in tens).
MAX_DECODE_ITERATIONS = 1000
#: Most optimizer steps of ``train-image-encoder`` (a day of training at the default batch).
MAX_TRAIN_STEPS = 1_000_000
#: Most crop pixels per training step (``--batch`` x ``--crop``^2): about 1 GB of activations.
MAX_BATCH_PIXELS = 256 * 64 * 64
#: Most weights per range that a ``.fic`` neural code holds.
MAX_TOP_K = 64


_quality = number_in(1, 100, "a quality within 1..100", low_included=True, high_included=True)
_positive = number_in(0, 1e6, "a positive number")


def _block(text: str) -> int:
    value = count(text)
    if value < 2 or value > 128 or value & (value - 1):
        raise argparse.ArgumentTypeError(f"expected a power of two within 2..128, got {text!r}")
    return value


def register(commands, name: str) -> None:
    """Add the parser of command ``name`` (compress, decompress, train-image-encoder or fractalize)
    to the sub-parser group ``commands``."""
    _PARSERS[name](commands)


def _compress_parser(commands) -> None:
    parser = commands.add_parser(
        "compress",
        help="fractal image compression (partitioned IFS) of a PNG/JPEG to a .fic file",
        description=(
            "Encode an image as a partitioned IFS: every range block (quadtree, split while its "
            "collage error exceeds a threshold) is an affine copy of a larger, pooled domain block "
            "under one of 8 isometries. Colour images are coded as YCbCr with chroma at half size. "
            "The .fic file decodes at any scale ('ifskit decompress --scale K')."
        ),
        epilog="Example: ifskit compress photo.png -o photo.fic --bpp 0.5 --json",
    )
    parser.add_argument(
        "image",
        metavar="IMAGE",
        help=f"8-bit grayscale or RGB image (PNG, JPEG, ...; no alpha; at most {MAX_COMPRESS_PIXELS:,} pixels)",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.fic", help="the code file to write")
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument(
        "--quality", type=_quality, default=80, metavar="Q", help="1..100: higher splits more blocks (default 80)"
    )
    rate.add_argument(
        "--bpp", type=_positive, metavar="B", help="target bits per pixel: the best code whose file fits (bisection)"
    )
    parser.add_argument("--gray", action="store_true", help="code the luminance only")
    parser.add_argument(
        "--classified",
        action="store_true",
        help="classified search (domains with the same quadrant brightness order only): faster, a little worse",
    )
    parser.add_argument("--min-block", type=_block, default=4, metavar="N", help="smallest range block (default 4)")
    parser.add_argument("--max-block", type=_block, default=32, metavar="N", help="largest range block (default 32)")
    parser.add_argument(
        "--neural",
        metavar="MODEL.pt",
        help=(
            "code with a trained neural collage encoder ('ifskit train-image-encoder') instead of the PIFS search: "
            "one forward pass, luminance only; --quality/--bpp/--classified/--min-block/--max-block do not apply"
        ),
    )
    add_output_options(parser, overwrite="replace an existing output")
    parser.set_defaults(run=cmd_compress)


def _decompress_parser(commands) -> None:
    parser = commands.add_parser(
        "decompress",
        help="decode a .fic file to PNG, at any scale",
        description=(
            "Iterate the code's operator from any start image to its fixed point. The code knows only "
            "block geometry, so '--scale K' renders the fixed point at K times the size, with detail "
            "made by the code rather than by interpolation."
        ),
        epilog="Example: ifskit decompress photo.fic -o big.png --scale 4",
    )
    parser.add_argument("input", metavar="IN.fic", help="a file written by 'ifskit compress' (PIFS or neural)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png", help="the PNG to write")
    parser.add_argument(
        "--scale",
        type=count,
        default=1,
        metavar="K",
        help=f"output K times larger (default 1; at most {MAX_DECODE_PIXELS:,} pixels in all)",
    )
    parser.add_argument(
        "--iterations",
        type=count_at_most(MAX_DECODE_ITERATIONS, "a number of steps"),
        metavar="N",
        help=f"apply the operator N times, at most {MAX_DECODE_ITERATIONS} (default: until no pixel changes by more "
        "than 0.05)",
    )
    parser.add_argument(
        "--start",
        metavar="IMAGE",
        help=f"start from this image, at most {MAX_COMPRESS_PIXELS:,} pixels (default: mid-grey, black for a neural code)",
    )
    parser.add_argument("--frames", metavar="DIR", help="also write every decoding step to DIR/step_NNN.png")
    add_output_options(parser, overwrite="replace existing outputs")
    parser.set_defaults(run=cmd_decompress)


def _train_image_encoder_parser(commands) -> None:
    parser = commands.add_parser(
        "train-image-encoder",
        help="train a neural collage image encoder on random crops of a folder of images",
        description=(
            "Train the neural image collage encoder on random crops (with flips) of the images in DIR "
            "(PNG, JPEG, ...; colour is reduced to luminance). The loss is the reconstruction after a few "
            "decoding steps plus the collage error; after the steps, the cost per unit of contrast in the "
            "candidate score is chosen among a few values by the PSNR of further crops (smaller weights: fewer "
            "bits, a more contractive code). Same seed and settings, same model, byte for byte, whatever the "
            "number of cores (training runs on one torch thread). The model is "
            "written atomically at the end; use it with 'ifskit compress IMAGE -o OUT.fic --neural MODEL.pt'."
        ),
        epilog="Example: ifskit train-image-encoder photos/ -o model.pt --steps 300 --seed 0",
    )
    parser.add_argument("folder", metavar="DIR", help="folder of training images (each at least --crop pixels)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.pt", help="the model file to write")
    parser.add_argument(
        "--steps",
        type=count_at_most(MAX_TRAIN_STEPS, "optimizer steps"),
        default=300,
        metavar="N",
        help=f"optimizer steps, 1..{MAX_TRAIN_STEPS:,} (default 300)",
    )
    parser.add_argument(
        "--batch",
        type=count,
        default=16,
        metavar="B",
        help=f"crops per step (default 16; B x crop^2 at most {MAX_BATCH_PIXELS:,} pixels: about 1 GB)",
    )
    parser.add_argument(
        "--lr", type=_positive, default=3e-3, help="Adam learning rate, warm-up and cosine decay (default 3e-3)"
    )
    parser.add_argument("--seed", type=seed, default=0, help="crops and initial weights (default 0)")
    parser.add_argument("--crop", type=_block, default=64, metavar="N", help="tile side, pixels (default 64)")
    parser.add_argument("--range-size", type=_block, default=8, metavar="N", help="range patch side (default 8)")
    parser.add_argument(
        "--top-k",
        type=count_at_most(MAX_TOP_K, "weights per range"),
        default=2,
        metavar="K",
        help=f"weights per range, 1..{MAX_TOP_K} (default 2)",
    )
    add_output_options(parser, overwrite="replace an existing model file", quiet=True)
    parser.set_defaults(run=cmd_train_image_encoder)


def _fractalize_parser(commands) -> None:
    parser = commands.add_parser(
        "fractalize",
        help="creative mode: an image as a collage of copies of itself, with fractal detail when enlarged",
        description=(
            "Optimize a collage operator whose only domain is the whole image: every range patch is a "
            "weighted sum of the 8 isometries of the picture shrunk to the patch, plus a bias "
            "(contractive by construction). Its fixed point, rendered at --scale K, resembles the picture "
            "and holds copies of it in every patch, down to the pixel."
        ),
        epilog="Example: ifskit fractalize photo.png -o fractal.png --scale 4 --seconds 60",
    )
    parser.add_argument(
        "image",
        metavar="IMAGE",
        help=f"8-bit grayscale or RGB image (no alpha; at most {MAX_COMPRESS_PIXELS:,} pixels)",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png", help="the PNG to write")
    parser.add_argument(
        "--scale",
        type=count,
        default=4,
        metavar="K",
        help=f"output K times larger (default 4; at most {MAX_DECODE_PIXELS:,} pixels in all)",
    )
    parser.add_argument(
        "--seconds", type=_positive, default=60.0, metavar="S", help="optimization time budget (default 60)"
    )
    parser.add_argument(
        "--steps", type=count, metavar="N", help="a fixed number of optimizer steps instead (reproducible output)"
    )
    parser.add_argument("--range-size", type=count, default=8, metavar="N", help="range patch side (default 8)")
    parser.add_argument("--gray", action="store_true", help="luminance only")
    parser.add_argument(
        "--threads",
        type=threads,
        default=1,
        metavar="N",
        help=f"torch threads, 1..{MAX_THREADS} (default 1: more threads slow down on a busy machine; "
        "the output may differ in the last bits from one thread count to another)",
    )
    add_output_options(parser, overwrite="replace an existing output", quiet=True)
    parser.set_defaults(run=cmd_fractalize)


_PARSERS = {
    "compress": _compress_parser,
    "decompress": _decompress_parser,
    "train-image-encoder": _train_image_encoder_parser,
    "fractalize": _fractalize_parser,
}


def cmd_compress(args) -> int:
    from ..image import (
        CodecParams,
        compress_image,
        psnr,
        read_image,
    )  # on use: see above

    check_output(args.output, overwrite=args.overwrite, suffixes={".fic"})
    if args.neural:
        return _compress_neural(args)
    if args.min_block > args.max_block:
        raise IfskitError(f"--min-block {args.min_block} is larger than --max-block {args.max_block}")
    image = read_image(args.image, gray=args.gray, max_pixels=MAX_COMPRESS_PIXELS)
    params = CodecParams(min_size=args.min_block, max_size=args.max_block)
    start = time.perf_counter()
    code = compress_image(image, quality=args.quality, bpp=args.bpp, classified=args.classified, params=params)
    seconds = time.perf_counter() - start
    data = code.to_bytes()
    decoded = code.decode()
    bound = code.collage_bounds(image)[0]
    code.save(args.output, overwrite=args.overwrite)
    height, width = image.shape[:2]
    figures = {
        "output": str(args.output),
        "bytes": len(data),
        "bpp": 8 * len(data) / (height * width),
        "psnr": psnr(image, decoded),
        "seconds": round(seconds, 4),
        "width": width,
        "height": height,
        "channels": code.channels,
        "blocks": sum(p.n_blocks for p in code.planes),
        "collage_rmse": bound.collage_rmse,
        "contraction": bound.contraction,
        "bound_steps": bound.steps,
        "bound_rmse": bound.bound_rmse,
    }
    text = (
        f"wrote {args.output}: {len(data):,} bytes, {figures['bpp']:.3f} bpp, PSNR {figures['psnr']:.2f} dB, "
        f"{figures['blocks']:,} blocks, encoded in {seconds:.2f} s\n"
        f"collage theorem (luminance): RMS(x - W(x)) = {bound.collage_rmse:.2f}; "
        f"decoding error <= RMS(x - W^{bound.steps}(x)) / (1 - ||L^{bound.steps}||) = {bound.bound_rmse:.2f}"
    )
    report(args, figures, text)
    return 0


def cmd_decompress(args) -> int:
    from ..image import (
        load_code,
        read_image,
        save_image,
    )  # on use: see above

    check_output(args.output, overwrite=args.overwrite, suffixes={".png"})
    frames_dir = None
    if args.frames:
        frames_dir = Path(args.frames)
        if frames_dir.is_dir() and not args.overwrite and any(frames_dir.glob("step_*.png")):
            raise IfskitError(f"{frames_dir}: holds step_*.png frames already (use --overwrite to replace them)")
    code = load_code(args.input)
    code.check_scale(args.scale)
    start_image = None if args.start is None else read_image(args.start, max_pixels=MAX_COMPRESS_PIXELS)
    if frames_dir is not None:
        frames_dir = make_folder(frames_dir)
    start = time.perf_counter()
    steps = code.decode_steps(
        args.scale, iterations=args.iterations, start=start_image, coarse_start=frames_dir is None
    )
    frames, image, count = [], None, 0
    for count, image in enumerate(steps, 1):
        if frames_dir is not None:
            path = frames_dir / f"step_{count:03d}.png"
            save_image(image, path, overwrite=True)  # checked above: only our own frames are replaced
            frames.append(str(path))
    seconds = time.perf_counter() - start
    save_image(image, args.output, overwrite=args.overwrite)
    figures = {
        "output": str(args.output),
        "seconds": round(seconds, 4),
        "iterations": count,
        "width": image.shape[1],
        "height": image.shape[0],
        "scale": args.scale,
    }
    if frames_dir is not None:
        figures["frames"] = frames
    report(
        args,
        figures,
        f"wrote {args.output} ({image.shape[1]}x{image.shape[0]}, {count} iterations, {seconds:.2f} s)",
    )
    return 0


def _use_threads(args) -> None:
    """Set torch's thread count for this command (imports torch)."""
    import torch  # only for the neural commands and options

    torch.set_num_threads(args.threads)


def _compress_neural(args) -> int:
    from ..image import psnr, read_image  # on use: see above

    given = [
        flag
        for flag, value, default in (
            ("--bpp", args.bpp, None),
            ("--classified", args.classified, False),
            ("--min-block", args.min_block, 4),
            ("--max-block", args.max_block, 32),
        )
        if value != default
    ]
    if given:
        raise IfskitError(f"{', '.join(given)} do not apply to --neural (the model fixes the code's geometry)")
    from ..image.encoder import encode_image, load_encoder  # imports torch

    model = load_encoder(args.neural)
    image = read_image(args.image, gray=True, max_pixels=MAX_COMPRESS_PIXELS)
    start = time.perf_counter()
    code = encode_image(model, image)
    seconds = time.perf_counter() - start
    data = code.to_bytes()
    code.save(args.output, overwrite=args.overwrite)
    height, width = image.shape
    figures = {
        "output": str(args.output),
        "bytes": len(data),
        "bpp": 8 * len(data) / (height * width),
        "psnr": psnr(image, code.decode()),
        "seconds": round(seconds, 4),
        "width": width,
        "height": height,
        "channels": 1,
        "kind": "neural",
    }
    text = (
        f"wrote {args.output}: neural collage code of the luminance, {len(data):,} bytes, {figures['bpp']:.3f} bpp, "
        f"PSNR {figures['psnr']:.2f} dB, encoded in {seconds:.3f} s"
    )
    report(args, figures, text)
    return 0


def cmd_train_image_encoder(args) -> int:
    from ..image import read_image  # on use: see above

    check_output(args.output, overwrite=args.overwrite, suffixes={".pt"})
    folder = Path(args.folder)
    if not folder.is_dir():
        raise FormatError("no such folder" if not folder.exists() else "is a file, not a folder of images", folder)
    if args.batch * args.crop**2 > MAX_BATCH_PIXELS:
        raise IfskitError(
            f"--batch {args.batch} crops of {args.crop}x{args.crop} are {args.batch * args.crop**2:,} pixels per step; "
            f"at most {MAX_BATCH_PIXELS:,}"
        )
    if args.crop < 2 * args.range_size:
        raise IfskitError(f"--crop {args.crop} must be at least twice --range-size {args.range_size}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FormatError(f"holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})", folder)
    images = [read_image(path, gray=True) for path in files]
    from ..image.encoder import DEFAULT_CONFIG, save_encoder, train_encoder  # imports torch

    config = dataclasses.replace(DEFAULT_CONFIG, crop=args.crop, range_size=args.range_size)
    result = train_encoder(
        images,
        config,
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        top_k=args.top_k,
        seed=args.seed,
        progress=show_progress(args),
    )
    save_encoder(result.model, args.output, overwrite=args.overwrite)
    figures = {
        "output": str(args.output),
        "images": len(files),
        "steps": args.steps,
        "seconds": round(result.seconds, 3),
        "loss_first": result.losses[0],
        "loss_last": result.losses[-1],
        "psnr_before": result.psnr_before,
        "psnr": result.psnr,
        "contrast_cost": float(result.model.contrast_cost),
    }
    text = (
        f"wrote {args.output}: {args.steps} steps on {len(files)} images in {result.seconds:.1f} s; held-out crops "
        f"decode at {result.psnr:.2f} dB (untrained {result.psnr_before:.2f} dB; contrast cost "
        f"{figures['contrast_cost']:g})"
    )
    report(args, figures, text)
    return 0


def cmd_fractalize(args) -> int:
    from ..image import (
        read_image,
        save_image,
    )  # on use: see above

    check_output(args.output, overwrite=args.overwrite, suffixes={".png"})
    image = read_image(args.image, gray=args.gray, max_pixels=MAX_COMPRESS_PIXELS)
    height, width = image.shape[:2]
    if not 1 <= args.range_size <= min(height, width) // 2:
        raise IfskitError(
            f"--range-size {args.range_size} does not fit a {width}x{height} image (at most half its side)"
        )
    from ..image.fractalize import fractalize  # imports torch

    _use_threads(args)
    result = fractalize(
        image, scale=args.scale, seconds=args.seconds, steps=args.steps, range_size=args.range_size,
        progress=show_progress(args),
    )  # fmt: skip
    save_image(result.image, args.output, overwrite=args.overwrite)
    figures = {
        "output": str(args.output),
        "width": result.image.shape[1],
        "height": result.image.shape[0],
        "scale": args.scale,
        "steps": result.steps,
        "seconds": round(result.seconds, 3),
        "psnr": result.psnr,
    }
    text = (
        f"wrote {args.output} ({result.image.shape[1]}x{result.image.shape[0]}): {result.steps} steps in "
        f"{result.seconds:.1f} s, the fixed point at scale 1 is {result.psnr:.2f} dB from the image"
    )
    report(args, figures, text)
    return 0
