"""Images for the codecs: reading photos and checking arrays (one-line errors), writing PNGs, PSNR."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .._io import atomic_path, check_output
from ..errors import FormatError, ParameterError
from ..limits import MAX_PIXELS

#: Smallest image side the codecs accept (pixels).
MIN_SIDE = 4


def read_image(path, *, gray: bool = False, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an 8-bit grayscale or RGB image.

    Parameters
    ----------
    path : str or Path
    gray : bool
        Convert colour to luminance (ITU-R 601, as JPEG).
    max_pixels : int
        Most pixels accepted, checked from the header before decoding (a reader that works on
        smaller images, as ``compress``, passes its own limit).

    Returns
    -------
    ndarray of uint8, shape (H, W) or (H, W, 3)

    Raises
    ------
    FormatError
        Missing or unreadable file, an alpha channel, more than 8 bits per sample,
        fewer than 4 pixels on a side, more than ``max_pixels`` pixels (checked from the
        header, before decoding).
    """
    path = Path(path)
    if not path.exists():
        raise FormatError("no such file", path)
    if path.is_dir():
        raise FormatError("is a folder, not an image", path)
    try:
        with warnings.catch_warnings():
            # Pillow warns of a large image and refuses a larger one; ifskit's own, lower limit
            # below decides, before the pixels are decoded
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                pixels = image.width * image.height
                if pixels > max_pixels:
                    raise FormatError(
                        f"is {image.width}x{image.height} pixels ({pixels:,}); ifskit reads at most {max_pixels:,}",
                        path,
                    )
                image.load()
    except Image.DecompressionBombError:
        raise FormatError(
            f"declares more pixels than Pillow decodes; ifskit reads at most {MAX_PIXELS:,}", path
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"cannot read as an image ({exc.__class__.__name__})", path) from None
    mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        raise FormatError(f"has an alpha channel (mode {mode}); flatten it first, e.g. convert it to RGB", path)
    if mode.startswith("I") or mode == "F" or "16" in mode:
        raise FormatError(f"has more than 8 bits per sample (mode {mode}); convert it to 8 bits first", path)
    if min(image.size) < MIN_SIDE:
        raise FormatError(f"is {image.width}x{image.height} pixels; need at least {MIN_SIDE} on each side", path)
    if mode in ("L", "1") or (gray and mode != "L"):
        return np.asarray(image.convert("L"))
    return np.asarray(image.convert("RGB"))


def as_image_array(image, parameter: str = "image") -> np.ndarray:
    """Check an in-memory image argument.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 3)
        Values 0..255 (uint8 or float), at least :data:`MIN_SIDE` pixels on each side.
    parameter : str
        The caller's name of the argument, for the message.

    Returns
    -------
    ndarray, shape (H, W) or (H, W, 3)

    Raises
    ------
    ParameterError
        Another shape, too small, or values that are not finite or outside 0..255.
    """
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ParameterError(f"{parameter} must have shape (H, W) or (H, W, 3), got {array.shape}", parameter)
    if min(array.shape[:2]) < MIN_SIDE:
        raise ParameterError(
            f"{parameter} is {array.shape[1]}x{array.shape[0]} pixels; need at least {MIN_SIDE} on each side", parameter
        )
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 255:
        raise ParameterError(f"{parameter} values must be finite and within 0..255", parameter)
    return array


def save_image(image: np.ndarray, path, overwrite: bool = False) -> Path:
    """Write an (H, W) or (H, W, 3) uint8 array as PNG, atomically."""
    check_output(path, overwrite, {".png"})
    with atomic_path(path, overwrite) as tmp:
        Image.fromarray(np.ascontiguousarray(image)).save(tmp, format="PNG")
    return Path(path)


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for 8-bit images of the same shape (inf when equal)."""
    error = np.mean((np.asarray(reference, np.float64) - np.asarray(test, np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


#: Photos that need no download: matplotlib's package data.
SAMPLE_IMAGES = ("grace_hopper", "mri")


def sample_image(name: str = "grace_hopper", size: int = 256, *, gray: bool = True) -> np.ndarray:
    """A test photo from matplotlib's sample data, as a centred square.

    Parameters
    ----------
    name : {"grace_hopper", "mri"}
        ``grace_hopper``: the colour portrait (600x512 JPEG); ``mri``: a 256x256 16-bit MRI
        slice of a head, scaled to 8 bits (grayscale only).
    size : int
        Side of the returned square (Lanczos resampling).
    gray : bool
        Luminance only.

    Returns
    -------
    ndarray of uint8, shape (size, size) or (size, size, 3)

    Raises
    ------
    ParameterError
        An unknown ``name``.
    """
    if name not in SAMPLE_IMAGES:
        raise ParameterError(f"unknown sample image {name!r}; use one of {', '.join(SAMPLE_IMAGES)}", "name")
    # matplotlib takes 0.3 s to import, more than the whole image package, and only the
    # sample photos (tests, examples) need it
    import matplotlib.cbook as cbook

    if name == "grace_hopper":
        with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as photo:
            image = photo.convert("RGB")
    else:  # mri
        with gzip.open(cbook.get_sample_data("s1045.ima.gz", asfileobj=False)) as raw:
            values = np.frombuffer(raw.read(), "<u2").reshape(256, 256).astype(np.float64)
        image = Image.fromarray(np.rint(values / values.max() * 255).astype(np.uint8)).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
    return np.asarray(image.convert("L" if gray else "RGB"))
