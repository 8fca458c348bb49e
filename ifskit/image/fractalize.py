"""Fractalize: an image as the fixed point of a collage whose only domain is the image itself.

Every range patch of the picture becomes a weighted sum of the 8 isometries of the whole
picture shrunk to the patch size, plus a bias (:class:`~ifskit.image.collage.CollageConfig`
with ``whole_domain=True``). The weights and biases are optimized directly (Adam) for a
time or step budget, so that the operator's fixed point looks like the picture. The
operator is contractive by construction, and knows nothing of pixels: rendered at ``scale``
times the size, every patch holds a small copy of the whole picture, and those hold smaller
copies, down to the pixel -- fractal detail that interpolation cannot make.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import ParameterError
from ..limits import check_decode_scale
from .collage import DECODE_TOL, CollageConfig, collage_step, contractive_weights, decode, fixed_point, range_patches
from .imagefile import as_image_array, psnr


@dataclass
class Fractalized:
    """The result of :func:`fractalize`.

    Attributes
    ----------
    image : ndarray of uint8, shape (scale * H, scale * W) or (scale * H, scale * W, 3)
        The fixed point at ``scale`` times the size.
    psnr : float
        PSNR (dB) of the fixed point at scale 1 against the input.
    steps : int
        Optimizer steps taken.
    seconds : float
        Optimization time.
    losses : list of float
        Loss per step.
    """

    image: np.ndarray
    psnr: float
    steps: int
    seconds: float
    losses: list


def fractalize(
    image,
    *,
    scale: int = 4,
    seconds: float = 60.0,
    steps: int | None = None,
    range_size: int = 8,
    s_max: float = 0.9,
    lr: float = 0.05,
    decode_steps: int = 4,
    progress: bool = False,
) -> Fractalized:
    """Optimize a whole-image collage of ``image`` and render its fixed point at ``scale``.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        Grayscale or RGB, 0..255; colour channels get their own collage.
    scale : int
        Output size factor.
    seconds : float
        Optimization budget in seconds (ignored when ``steps`` is given).
    steps : int, optional
        A fixed number of optimizer steps instead of a time budget (reproducible output).
    range_size : int
        Side of a range patch (and of the shrunk copies of the picture), pixels.
    s_max : float
        Bound of the per-range sum of absolute weights (< 1): the contraction factor.
    lr : float
        Adam learning rate.
    decode_steps : int
        The loss compares the picture with its collage and with ``decode_steps`` decoding
        steps from mid-grey.
    progress : bool
        tqdm progress bar on stderr.

    Returns
    -------
    Fractalized

    Raises
    ------
    ParameterError
        A bad ``image``, ``scale`` below 1, ``s_max`` outside (0, 1), or a ``range_size``
        larger than half the image's shorter side.
    """
    image = as_image_array(image)
    if not 0 < s_max < 1:
        raise ParameterError(f"s_max must be within (0, 1), got {s_max}", "s_max")
    height, width = image.shape[:2]
    if range_size < 1 or range_size > min(height, width) // 2:
        raise ParameterError(
            f"range_size {range_size} does not fit a {width}x{height} image (at most half its side)", "range_size"
        )
    planes = image[None] if image.ndim == 2 else np.moveaxis(image, 2, 0)
    side = -(-max(height, width) // range_size) * range_size
    check_decode_scale(scale, side, side)  # the padded square is decoded
    padded = np.pad(planes, ((0, 0), (0, side - height), (0, side - width)), mode="edge")
    target = torch.from_numpy(padded.astype(np.float32) / 255.0)[:, None]  # (B, 1, side, side)
    config = CollageConfig(crop=side, range_size=range_size, n_aux=0, augment=True, whole_domain=True, s_max=s_max)
    no_aux = torch.zeros(0, range_size, range_size)
    raw = torch.zeros(len(target), config.n_candidates, config.n_ranges, requires_grad=True)
    bias = range_patches(config, target).mean(dim=(2, 3)).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([raw, bias], lr=lr)
    grey = torch.full_like(target, 0.5)
    losses = []
    bar = tqdm(total=steps, desc="fractalize", unit="step", disable=not progress)
    start = time.perf_counter()
    while (steps is None and time.perf_counter() - start < seconds) or (steps is not None and len(losses) < steps):
        weights = contractive_weights(raw, s_max)
        *_, decoded = decode(config, weights, bias, no_aux, iterations=decode_steps, start=grey)
        collage = collage_step(config, target, weights, bias, no_aux)
        loss = torch.mean((collage - target) ** 2) + torch.mean((decoded - target) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        bar.update()
    bar.close()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        weights = contractive_weights(raw, s_max)
        small = fixed_point(config, weights, bias, no_aux, tol=DECODE_TOL)
        big = fixed_point(config, weights, bias, no_aux, scale=scale, tol=DECODE_TOL)
    fit = _to_image(small, height, width)
    return Fractalized(_to_image(big, scale * height, scale * width), psnr(image, fit), len(losses), elapsed, losses)


def _to_image(planes: torch.Tensor, height: int, width: int) -> np.ndarray:
    """(B, 1, S, S) in [0, 1] -> uint8 (height, width) for B = 1, (height, width, 3) for B = 3."""
    pixels = np.rint(planes[:, 0, :height, :width].clamp(0, 1).numpy() * 255).astype(np.uint8)
    return pixels[0] if len(pixels) == 1 else np.ascontiguousarray(np.moveaxis(pixels, 0, 2))
