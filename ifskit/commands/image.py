"""``ifskit compress`` and ``ifskit decompress``: fractal image compression (partitioned IFS)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..cli import _add_json, _count, _make_folder, _report

#: Largest decoded image, in pixels (a 4x decode of a 4096^2 image).
MAX_OUTPUT_PIXELS = 2**28


def _quality(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a quality within 1..100, got {text!r}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _block(text: str) -> int:
    value = _count(text)
    if value < 2 or value > 128 or value & (value - 1):
        raise argparse.ArgumentTypeError(f"expected a power of two within 2..128, got {text!r}")
    return value


def register(commands) -> None:
    """Add ``compress`` and ``decompress`` to the ``ifskit`` sub-parsers."""
    compress = commands.add_parser(
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
    compress.add_argument("image", metavar="IMAGE", help="8-bit grayscale or RGB image (PNG, JPEG, ...; no alpha)")
    compress.add_argument("-o", "--output", required=True, metavar="OUT.fic", help="the code file to write")
    rate = compress.add_mutually_exclusive_group()
    rate.add_argument(
        "--quality", type=_quality, default=80, metavar="Q", help="1..100: higher splits more blocks (default 80)"
    )
    rate.add_argument(
        "--bpp", type=_positive, metavar="B", help="target bits per pixel: the best code whose file fits (bisection)"
    )
    compress.add_argument("--gray", action="store_true", help="code the luminance only")
    compress.add_argument(
        "--classified",
        action="store_true",
        help="classified search (domains with the same quadrant brightness order only): faster, a little worse",
    )
    compress.add_argument("--min-block", type=_block, default=4, metavar="N", help="smallest range block (default 4)")
    compress.add_argument("--max-block", type=_block, default=32, metavar="N", help="largest range block (default 32)")
    compress.add_argument("--overwrite", action="store_true", help="replace an existing output")
    _add_json(compress)
    compress.set_defaults(run=cmd_compress)

    decompress = commands.add_parser(
        "decompress",
        help="decode a .fic file to PNG, at any scale",
        description=(
            "Iterate the code's operator from any start image to its fixed point. The code knows only "
            "block geometry, so '--scale K' renders the fixed point at K times the size, with detail "
            "made by the code rather than by interpolation."
        ),
        epilog="Example: ifskit decompress photo.fic -o big.png --scale 4",
    )
    decompress.add_argument("input", metavar="IN.fic", help="a file written by 'ifskit compress'")
    decompress.add_argument("-o", "--output", required=True, metavar="OUT.png", help="the PNG to write")
    decompress.add_argument("--scale", type=_count, default=1, metavar="K", help="output K times larger (default 1)")
    decompress.add_argument(
        "--iterations",
        type=_count,
        metavar="N",
        help="apply the operator N times (default: until no pixel changes by more than 0.05)",
    )
    decompress.add_argument("--start", metavar="IMAGE", help="start from this image instead of mid-grey")
    decompress.add_argument("--frames", metavar="DIR", help="also write every decoding step to DIR/step_NNN.png")
    decompress.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    _add_json(decompress)
    decompress.set_defaults(run=cmd_decompress)


def cmd_compress(args) -> int:
    from .._io import check_output
    from ..errors import IfskitError
    from ..image import CodecParams, compress_image, psnr, read_image

    check_output(args.output, args.overwrite, {".fic"})
    if args.min_block > args.max_block:
        raise IfskitError(f"--min-block {args.min_block} is larger than --max-block {args.max_block}")
    image = read_image(args.image, gray=args.gray)
    params = CodecParams(min_size=args.min_block, max_size=args.max_block)
    start = time.perf_counter()
    code = compress_image(image, quality=args.quality, bpp=args.bpp, classified=args.classified, params=params)
    seconds = time.perf_counter() - start
    data = code.to_bytes()
    decoded = code.decode()
    bound = code.collage_bounds(image)[0]
    code.save(args.output, args.overwrite)
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
    _report(args, figures, text)
    return 0


def cmd_decompress(args) -> int:
    from .._io import check_output
    from ..errors import IfskitError
    from ..image import load_fic, read_image, save_image

    check_output(args.output, args.overwrite, {".png"})
    frames_dir = None
    if args.frames:
        frames_dir = Path(args.frames)
        if frames_dir.is_dir() and not args.overwrite and any(frames_dir.glob("step_*.png")):
            raise IfskitError(f"{frames_dir}: holds step_*.png frames already (use --overwrite to replace them)")
    code = load_fic(args.input)
    if code.height * code.width * args.scale**2 > MAX_OUTPUT_PIXELS:
        raise IfskitError(
            f"--scale {args.scale} makes a {code.width * args.scale}x{code.height * args.scale} image; "
            f"at most {MAX_OUTPUT_PIXELS:,} pixels"
        )
    start_image = None if args.start is None else read_image(args.start)
    if frames_dir is not None:
        frames_dir = _make_folder(frames_dir)
    start = time.perf_counter()
    steps = code.decode_steps(args.scale, args.iterations, start_image, coarse_start=frames_dir is None)
    frames, image, count = [], None, 0
    for count, image in enumerate(steps, 1):
        if frames_dir is not None:
            path = frames_dir / f"step_{count:03d}.png"
            save_image(image, path, overwrite=True)  # checked above: only our own frames are replaced
            frames.append(str(path))
    seconds = time.perf_counter() - start
    save_image(image, args.output, args.overwrite)
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
    _report(
        args,
        figures,
        f"wrote {args.output} ({image.shape[1]}x{image.shape[0]}, {count} iterations, {seconds:.2f} s)",
    )
    return 0
