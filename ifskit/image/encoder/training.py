"""Training the image encoder on random crops of the user's images (torch).

The loss is the reconstruction after a few decoding steps from black plus the collage error
of one step from the crop itself (the collage theorem's bound), back-propagated through the
choice of candidates with a straight-through softmax; then the contrast cost, which the
gradient estimates badly, is chosen by a search (:data:`CONTRAST_COSTS`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from ...errors import ParameterError
from ...ops.device import one_torch_thread
from ..collage import CollageConfig, collage_step, decode, fixed_point
from .model import DEFAULT_CONFIG, CollageEncoder


@dataclass(frozen=True)
class TrainSettings:
    """How :func:`train_encoder` trains: same settings and seed, same model (on the same torch
    build and thread count).

    Attributes
    ----------
    steps : int
        Adam steps.
    batch : int
        Random crops per step.
    lr : float
        Peak learning rate: a linear warm-up over a tenth of the steps, then cosine decay.
    decode_steps : int
        Decoding steps (from black) whose result the loss compares with the crop.
    top_k : int
        Candidates per range of the model trained (:class:`CollageEncoder`).
    seed : int
        The initial weights and the crops.

    Raises
    ------
    ParameterError
        A count below 1 or a learning rate that is not positive.
    """

    steps: int = 300
    batch: int = 16
    lr: float = 3e-3
    decode_steps: int = 8
    top_k: int = 2
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "batch", "decode_steps", "top_k"):
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be at least 1, got {getattr(self, name)}", name)
        if not self.lr > 0:
            raise ParameterError(f"lr must be positive, got {self.lr}", "lr")


def random_crops(images: list, size: int, count: int, generator: np.random.Generator) -> torch.Tensor:
    """``count`` random crops (with random flips) of grayscale uint8 images: (count, 1, size, size) in [0, 1]."""
    out = np.empty((count, size, size), np.float32)
    picks = generator.integers(0, len(images), count)
    for i, pick in enumerate(picks):
        image = images[pick]
        y = generator.integers(0, image.shape[0] - size + 1)
        x = generator.integers(0, image.shape[1] - size + 1)
        crop = image[y : y + size, x : x + size]
        if generator.random() < 0.5:
            crop = crop[:, ::-1]
        out[i] = crop / 255.0
    return torch.from_numpy(out)[:, None]


def collage_loss(model: CollageEncoder, x: torch.Tensor, decode_steps: int) -> tuple:
    """(loss, reconstruction MSE after ``decode_steps``) for a batch (B, 1, crop, crop).

    The loss is the MSE of the image after ``decode_steps`` decoding steps from black plus
    the MSE of one collage step from the image itself (the collage theorem's bound).
    """
    weights, bias = model(x)
    aux = model.aux()
    *_, decoded = decode(model.config, weights, bias, aux, iterations=decode_steps)
    one_step = collage_step(model.config, x, weights, bias, aux)
    mse = torch.mean((decoded - x) ** 2)
    return mse + torch.mean((one_step - x) ** 2), mse


@dataclass
class TrainResult:
    """A trained encoder and its training figures.

    Attributes
    ----------
    model : CollageEncoder
    losses : list of float
        Training loss per step.
    psnr_before, psnr : float
        PSNR (dB) of the decoded held-out crops (fixed point, unquantized) before and after training.
    seconds : float
    """

    model: CollageEncoder
    losses: list
    psnr_before: float
    psnr: float
    seconds: float


def held_out_psnr(model: CollageEncoder, crops: torch.Tensor) -> float:
    """PSNR (dB) of the fixed points of crops (B, 1, crop, crop) against the crops."""
    with torch.no_grad():
        weights, bias = model(crops)
        decoded = fixed_point(model.config, weights, bias, model.aux())
        mse = float(torch.mean((decoded.clamp(0, 1) - crops) ** 2))
    return float(10 * np.log10(1 / max(mse, 1e-12)))


#: The contrast costs :func:`train_encoder` tries (0: the greedy least-squares choice).
CONTRAST_COSTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def _fit_contrast_cost(model: CollageEncoder, crops: torch.Tensor) -> None:
    """Set the model's contrast cost to the one of :data:`CONTRAST_COSTS` whose fixed points of crops
    (B, 1, crop, crop) are nearest the crops (the highest PSNR)."""
    scores = []
    for cost in CONTRAST_COSTS:
        model.contrast_cost.fill_(cost)
        scores.append(held_out_psnr(model, crops))
    model.contrast_cost.fill_(CONTRAST_COSTS[int(np.argmax(scores))])


def train_encoder(
    images: list,
    config: CollageConfig | None = None,
    *,
    settings: TrainSettings | None = None,
    progress: bool = False,
    **changes,
) -> TrainResult:
    """Train a :class:`CollageEncoder` on random crops of grayscale images.

    Adam on :func:`collage_loss` (straight-through through the choice), then the contrast cost is
    fitted: the one of :data:`CONTRAST_COSTS` whose fixed points of ``4 * batch`` further training
    crops are nearest them.

    Parameters
    ----------
    images : list of ndarray of uint8, shape (H, W)
        Each at least ``config.crop`` on both sides (smaller ones are skipped).
    config : CollageConfig, optional
        The model's geometry; :data:`DEFAULT_CONFIG` by default.
    settings : TrainSettings, optional
        Training length, batch, learning rate, decoding steps, ``top_k`` and seed; the defaults
        of :class:`TrainSettings` by default.
    progress : bool
        tqdm progress bar on stderr.
    **changes
        Fields of :class:`TrainSettings` to change, e.g. ``steps=100, seed=1``.

    Returns
    -------
    TrainResult

    Raises
    ------
    ParameterError
        No image large enough for a crop, or a bad setting.
    TypeError
        A keyword that is not a field of :class:`TrainSettings`.
    """
    settings = dataclasses.replace(settings or TrainSettings(), **changes)
    steps, batch, seed = settings.steps, settings.batch, settings.seed
    config = config or DEFAULT_CONFIG
    images = [im for im in images if min(im.shape) >= config.crop]
    if not images:
        raise ParameterError(
            f"no image in images has both sides of at least {config.crop} pixels (the training crop)", "images"
        )
    # one torch thread: a reduction split among threads adds in another order, so the weights
    # would depend on the thread count (same seed, same model, on any machine)
    with one_torch_thread():
        with torch.random.fork_rng(devices=[]):  # the initial weights from the seed; the caller's state untouched
            torch.manual_seed(seed)
            model = CollageEncoder(config, top_k=settings.top_k)
        generator = np.random.default_rng(seed)  # the crops
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
        warm = max(1, steps // 10)  # linear warm-up over a tenth of the run, then cosine decay (any step count)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda i: min(1.0, (i + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(i, steps) / steps))
        )
        held_out = random_crops(images, config.crop, 16, np.random.default_rng(seed + 1))
        before = held_out_psnr(model, held_out)
        losses = []
        start = time.perf_counter()
        for _ in tqdm(range(steps), desc="training", unit="step", disable=not progress):
            loss, _ = collage_loss(model, random_crops(images, config.crop, batch, generator), settings.decode_steps)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        model.eval()
        _fit_contrast_cost(model, random_crops(images, config.crop, 4 * batch, generator))
        return TrainResult(model, losses, before, held_out_psnr(model, held_out), time.perf_counter() - start)
