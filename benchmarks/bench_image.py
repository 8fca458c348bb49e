"""Fractal image compression: rate-distortion against JPEG, and speed against a per-range loop.

Run from the repository root::

    .venv/bin/python benchmarks/bench_image.py            # figures and gallery/image_rate_distortion.png
    .venv/bin/python benchmarks/bench_image.py --quick    # fewer points on the curves

Baselines measured in the same run, on the same 256x256 photos (matplotlib's sample data):

- rate-distortion: JPEG through Pillow (baseline tables, 4:2:0 chroma for colour) at a range of
  qualities; PSNR against bits per pixel of the whole file for both codecs;
- encoding speed: the same exhaustive search written as a loop over range blocks (numpy over
  all candidates of one range at a time), timed on a sample of ranges and scaled to all of them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ifskit.image import CodecParams, compress_image, psnr, sample_image
from ifskit.image.pifs import _blocks, domain_grid, isometry_indices, pad_plane, pool, quantize_mean, search_level

GALLERY = Path(__file__).resolve().parents[1] / "gallery"


def jpeg(image: np.ndarray, quality: int) -> tuple:
    """(bpp, psnr, seconds) of Pillow's JPEG at ``quality``."""
    buffer = io.BytesIO()
    start = time.perf_counter()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    seconds = time.perf_counter() - start
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    return 8 * buffer.tell() / (image.shape[0] * image.shape[1]), psnr(image, decoded), seconds


def pifs(image: np.ndarray, quality: float) -> tuple:
    """(bpp, psnr, encode seconds) of the PIFS codec at ``quality``."""
    start = time.perf_counter()
    code = compress_image(image, quality=quality)
    seconds = time.perf_counter() - start
    return code.bpp, psnr(image, code.decode()), seconds


def loop_search_seconds(plane: np.ndarray, size: int, params: CodecParams, sample: int = 48) -> float:
    """Seconds of the exhaustive search of every range of ``size``, one range at a time (extrapolated)."""
    plane = pad_plane(plane.astype(np.float64), params)
    height, width = plane.shape
    dys, dxs = domain_grid(height, width, size, params)
    domains = _blocks(pool(plane), dys, dxs, size)
    domains -= domains.mean(axis=1, keepdims=True)
    candidates = domains[:, isometry_indices(size)].reshape(-1, size * size)
    energy = np.einsum("ij,ij->i", candidates, candidates)
    ys, xs = np.meshgrid(np.arange(0, height, size), np.arange(0, width, size), indexing="ij")
    picks = np.random.default_rng(0).choice(ys.size, min(sample, ys.size), replace=False)
    ranges = _blocks(plane, ys.ravel()[picks], xs.ravel()[picks], size)
    start = time.perf_counter()
    for block in ranges:
        centred = block - block.mean()
        products = candidates @ centred
        s = np.clip(products / np.maximum(energy, 1e-6), -params.s_max, params.s_max)
        error = s * (s * energy - 2 * products)
        int(np.argmin(error))
        quantize_mean(block.mean(), params)
    return (time.perf_counter() - start) / len(ranges) * ys.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points on the curves")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    parser.add_argument("--plot", default=str(GALLERY / "image_rate_distortion.png"), help="rate-distortion plot")
    args = parser.parse_args()

    images = {
        "Grace Hopper 256^2 gray": sample_image("grace_hopper", 256),
        "MRI head 256^2 gray": sample_image("mri", 256),
        "Grace Hopper 256^2 colour": sample_image("grace_hopper", 256, gray=False),
    }
    pifs_qualities = [30, 50, 65, 80, 90, 100] if not args.quick else [50, 80, 100]
    jpeg_qualities = [5, 10, 20, 30, 50, 70, 85, 95] if not args.quick else [10, 50, 90]
    compress_image(images["Grace Hopper 256^2 gray"][:64, :64])  # warm-up (imports, caches)

    print(f"# ifskit image benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    curves, figures = {}, {}
    for name, image in images.items():
        curves[name] = {
            "PIFS": [pifs(image, q) for q in pifs_qualities],
            "JPEG": [jpeg(image, q) for q in jpeg_qualities],
        }
        print(f"\n## {name}\n\n| codec | setting | bpp | PSNR dB | encode s |\n|---|---:|---:|---:|---:|")
        for codec, settings in (("PIFS", pifs_qualities), ("JPEG", jpeg_qualities)):
            for setting, (bpp, db, seconds) in zip(settings, curves[name][codec]):
                print(f"| {codec} | q {setting} | {bpp:.3f} | {db:.2f} | {seconds:.3f} |")
        figures[name] = curves[name]

    # the targets, on the grayscale photo at the default quality
    photo = images["Grace Hopper 256^2 gray"]
    params = CodecParams()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        code = compress_image(photo)
        times.append(time.perf_counter() - start)
    encode = min(times)
    decode4 = min(_timed(lambda: code.decode(scale=4)) for _ in range(3))
    classified = min(_timed(lambda: compress_image(photo, classified=True)) for _ in range(3))
    classified_psnr = psnr(photo, compress_image(photo, classified=True).decode())
    padded = pad_plane(photo.astype(np.float64), params)
    batched = {
        size: min(_timed(lambda s=size: search_level(padded, s, params)) for _ in range(2)) for size in params.sizes()
    }
    looped = {size: loop_search_seconds(photo, size, params) for size in params.sizes()}
    print("\n## Targets and speed (Grace Hopper 256^2 gray, default quality 80)\n")
    print("| case | figure | vs baseline |\n|---|---:|---:|")
    print(f"| PIFS encode (exhaustive, quadtree 32..4) | {encode:.2f} s, {code.bpp:.3f} bpp, "
          f"{psnr(photo, code.decode()):.2f} dB | |")  # fmt: skip
    print(
        f"| PIFS encode, classified search | {classified:.2f} s, {classified_psnr:.2f} dB | {encode / classified:.1f}x faster |"
    )
    print(f"| decode at 4x scale (1024^2) | {decode4:.3f} s | |")
    for size in params.sizes():
        print(f"| search of all {size}x{size} ranges: batched / per-range loop | {batched[size]:.3f} s / "
              f"{looped[size]:.3f} s | {looped[size] / batched[size]:.1f}x |")  # fmt: skip
    figures["targets"] = {
        "encode_seconds": encode,
        "bpp": code.bpp,
        "psnr": psnr(photo, code.decode()),
        "classified_seconds": classified,
        "classified_psnr": classified_psnr,
        "decode4_seconds": decode4,
        "search_batched": batched,
        "search_loop": looped,
    }
    plot(curves, args.plot)
    print(f"\nwrote {args.plot}")
    if args.json:
        print(json.dumps(figures))


def _timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def plot(curves: dict, path) -> None:
    """PSNR against bpp, one panel per image, PIFS and JPEG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.6), constrained_layout=True)
    for ax, (name, codecs) in zip(np.atleast_1d(axes), curves.items()):
        for codec, style in (("PIFS", "o-"), ("JPEG", "s--")):
            points = sorted(codecs[codec])
            ax.plot([p[0] for p in points], [p[1] for p in points], style, label=codec, markersize=4)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel("PSNR (dB)")
        ax.set_xlim(0, 2.0)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
