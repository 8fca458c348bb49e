"""The Neural Collage image encoder: collage parameters of an image in one forward pass.

:class:`CollageEncoder` chooses, for every range patch, a few candidate patches and their
weights by a vectorized matching pursuit whose scores a small CNN learns. Training
(:func:`train_encoder`) uses random crops of the user's images; the loss is the
reconstruction after a few decoding steps from black plus the collage error of one step
from the crop itself (the collage theorem's bound). Sparsity (``top_k`` weights per range)
keeps the bit-packed code small.

An image of any size is padded to whole crops and every crop is encoded independently
(one batched forward pass): :func:`encode_image` returns a :class:`NeuralCode`, stored in
the same ``.fic`` family as PIFS codes (kind 1), self-contained (it carries the learned
auxiliary patches), and decoded at any scale without the model.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import FormatError, IfskitError
from . import fic
from .collage import CollageConfig, candidates, decode, fixed_point, limit_weights, range_patches
from .collage import collage_step as _collage_step

MODEL_FORMAT = "ifskit-image-encoder"
MODEL_VERSION = 1
#: Range of the per-range bias (images are in [0, 1]) and its bits in a code.
BIAS_RANGE = (-1.0, 2.0)
BIAS_BITS = 10
# height, width, crop, range_size, n_aux, flags (1: augment, 2: overlap), top_k, weight bits, s_max in thousandths
_HEADER = struct.Struct("<IIHBBBBBH")


class CollageEncoder(nn.Module):
    """Predicts sparse collage parameters of (B, 1, crop, crop) images in [0, 1] in one pass.

    For each range patch the encoder chooses ``top_k`` candidates (domain patches of the same
    tile in their isometries, and the learned auxiliary patches) by matching pursuit: at each
    step a score ranks every candidate, the best one gets its least-squares contrast against
    what is left of the centred range (bounded by what is left of ``s_max``), and the
    residual is updated -- batched over all tiles, ranges and candidates, no Python loop over
    patches. The score is the share of the range's variance the candidate explains, times a
    learned sharpness, plus a learned match of a small CNN's embeddings of the normalized
    range and domain patches (shared by a domain's 8 isometries) and a learned prior per
    candidate slot; before training the encoder is a greedy least-squares search. Training
    back-propagates through the choice with a straight-through softmax. Every range ends with
    ``sum |w| <= s_max`` (:func:`limit_weights` guards it), and the bias makes each range's
    mean exact in the collage of the image itself.

    Parameters
    ----------
    config : CollageConfig
    top_k : int
        Candidates per range (non-zero weights).
    width : int
        Channels of the embedding CNN.
    embed : int
        Size of a patch embedding.
    """

    def __init__(self, config: CollageConfig, top_k: int = 2, width: int = 4, embed: int = 16):
        super().__init__()
        if config.whole_domain:
            raise IfskitError("the encoder works on domain patches; whole_domain is for fractalize")
        self.config, self.top_k, self.width, self.embed_size = config, top_k, width, embed
        r = config.range_size

        def cnn() -> nn.Module:
            half = (r + 1) // 2
            return nn.Sequential(
                nn.Conv2d(1, width, 3, stride=2, padding=1), nn.GELU(), nn.Flatten(), nn.Linear(width * half**2, embed)
            )

        self.range_net, self.candidate_net = cnn(), cnn()
        for net in (self.range_net, self.candidate_net):
            nn.init.normal_(net[-1].weight, std=1e-2)
        self.prior = nn.Parameter(torch.zeros(config.n_candidates))
        # candidates = [domains in isometry 0, ..., domains in isometry 7, auxiliary patches]
        n_domains, n_copies = config.n_domains, config.n_candidates - config.n_aux
        base = torch.cat([torch.arange(n_domains), torch.arange(n_copies, config.n_candidates)])
        of = torch.cat([torch.arange(n_copies) % n_domains, torch.arange(n_domains, n_domains + config.n_aux)])
        self.register_buffer("base_candidates", base, persistent=False)  # the candidates embedded
        self.register_buffer("candidate_base", of, persistent=False)  # candidate -> its row among those
        self.log_sharpness = nn.Parameter(torch.tensor(np.log(10.0), dtype=torch.float32))
        self.aux_logits = nn.Parameter(_cosine_patches(config.n_aux, r))

    def aux(self) -> torch.Tensor:
        """Auxiliary patches, (n_aux, range_size, range_size) in [0, 1]."""
        return torch.sigmoid(self.aux_logits)

    def forward(self, x: torch.Tensor) -> tuple:
        """Collage parameters of images, differentiable (straight-through) when grad is enabled.

        Parameters
        ----------
        x : Tensor, shape (B, 1, crop, crop), values in [0, 1]

        Returns
        -------
        weights : Tensor, shape (B, n_candidates, n_ranges)
            At most ``top_k`` non-zero per range, ``sum |w| <= s_max``.
        bias : Tensor, shape (B, n_ranges)
        """
        cands, ranges, index, values, dense = self._pursuit(x, self.aux())
        if dense is None:  # no grad: the same values, scattered
            dense = torch.zeros(*index.shape[:2], cands.shape[1]).scatter_add_(-1, index, values)
        weights = limit_weights(dense, self.config.s_max, dim=-1).transpose(1, 2)  # (B, C, R)
        return weights, range_bias(cands, ranges, weights)

    def select(self, x: torch.Tensor, aux: torch.Tensor | None = None) -> tuple:
        """The sparse choice of :meth:`forward`, without gradients.

        Parameters
        ----------
        x : Tensor, shape (B, 1, crop, crop), values in [0, 1]
        aux : Tensor, shape (n_aux, range_size, range_size), optional
            Auxiliary patches to use instead of the model's (e.g. quantized ones).

        Returns
        -------
        index : Tensor of int64, shape (B, n_ranges, k)
        weights : Tensor, shape (B, n_ranges, k)
            ``sum |w| <= s_max`` per range.
        cands : Tensor, shape (B, n_candidates, range_size ** 2)
        ranges : Tensor, shape (B, n_ranges, range_size ** 2)
        """
        with torch.no_grad():
            cands, ranges, index, values, _ = self._pursuit(x, self.aux() if aux is None else aux)
        return index, limit_weights(values, self.config.s_max, dim=-1), cands, ranges

    def _pursuit(self, x: torch.Tensor, aux: torch.Tensor) -> tuple:
        """Matching pursuit: (cands, ranges, index (B, R, k), contrasts (B, R, k), dense (B, R, C) or None).

        ``dense`` carries the straight-through gradient and is computed only when grad is enabled.
        """
        c = self.config
        cands = candidates(c, x, aux).flatten(2)  # (B, C, P)
        ranges = range_patches(c, x).flatten(2)  # (B, R, P)
        c_centred = cands - cands.mean(-1, keepdim=True)
        residual = ranges - ranges.mean(-1, keepdim=True)
        c_t = c_centred.transpose(1, 2)  # (B, P, C)
        energy = (c_centred * c_centred).sum(-1, keepdim=True)  # (B, C, 1)
        r_energy = (residual * residual).sum(-1, keepdim=True)  # (B, R, 1)
        # the learned match is computed for the domains (one isometry) and auxiliary patches only,
        # and shared by a domain's 8 isometries: the least-squares gain tells those apart
        base = self.base_candidates
        learned = torch.einsum(
            "bre,bce->brc",
            self._embed(self.range_net, residual, r_energy),
            self._embed(self.candidate_net, c_centred[:, base], energy[:, base]),
        )
        learned = learned[..., self.candidate_base] * (1 / np.sqrt(self.embed_size)) + self.prior
        energy = energy.clamp(min=1e-6).transpose(1, 2)  # (B, 1, C)
        scale = self.log_sharpness.exp() / (r_energy + 1e-4)  # gain -> share of the range variance, sharpened
        grad = torch.is_grad_enabled()
        corr = residual @ c_t  # (B, R, C): <residual, candidate>
        dense = torch.zeros_like(corr) if grad else None
        k = min(self.top_k, c.n_candidates)
        indices, values = [], []
        budget = None  # what is left of s_max for each range, (B, R, 1)
        for step in range(k):
            s = corr / energy  # least-squares contrast, bounded by the budget
            s = s.clamp(-c.s_max, c.s_max) if budget is None else torch.minimum(torch.maximum(s, -budget), budget)
            if grad:
                gain = s * (2 * corr - s * energy)  # squared error removed by the candidate
                logits = torch.addcmul(learned, gain, scale)
            else:  # the same, in place (fewer large temporaries)
                gain = torch.mul(s, energy).sub_(corr, alpha=2).mul_(s)  # -(squared error removed)
                logits = torch.addcmul(learned, gain, scale, value=-1)
            if indices:
                logits = logits.scatter(-1, torch.cat(indices, -1), -torch.inf)  # each candidate once
            best = logits.argmax(-1, keepdim=True)  # (B, R, 1)
            indices.append(best)
            values.append(s.gather(-1, best))
            budget = (c.s_max if budget is None else budget) - values[-1].abs()
            if grad:  # straight-through: the value of the one-hot choice, the gradient of the softmax
                soft = torch.softmax(logits, dim=-1)
                chosen = (torch.zeros_like(soft).scatter_(-1, best, 1.0) + soft - soft.detach()) * s
                dense = dense + chosen
            if step == k - 1:
                break
            if grad:
                residual = residual - chosen @ c_centred
            else:
                picked = c_centred.gather(1, best.expand(-1, -1, c_centred.shape[-1]))
                residual = residual - values[-1] * picked
            corr = residual @ c_t
        return cands, ranges, torch.cat(indices, -1), torch.cat(values, -1), dense

    def _embed(self, net: nn.Module, centred: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        """(B, n, P) centred patches and their energies (B, n, 1) -> (B, n, embed), from unit-RMS patches."""
        b, n, p = centred.shape
        r = self.config.range_size
        unit = centred * torch.rsqrt(energy / p + 1e-4)
        return net(unit.reshape(b * n, 1, r, r)).reshape(b, n, -1)


def _cosine_patches(count: int, size: int) -> torch.Tensor:
    """Logits of ``count`` low-frequency cosine (DCT) patches, the constant one left out: (count, size, size).

    The starting auxiliary patches: atoms for the detail no domain patch of the tile matches.
    """
    pairs = sorted(((u, v) for u in range(size) for v in range(size) if u or v), key=lambda p: (p[0] + p[1], p))
    grid = (torch.arange(size, dtype=torch.float32) + 0.5) * (np.pi / size)
    patches = [torch.outer(torch.cos(u * grid), torch.cos(v * grid)) for u, v in pairs[:count]]
    if not patches:
        return torch.zeros(0, size, size)
    return torch.logit(0.5 + 0.4 * torch.stack(patches))  # values 0.1..0.9 after the sigmoid


def range_bias(cands: torch.Tensor, ranges: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The bias that makes each range's mean exact in the collage of the image itself.

    Parameters
    ----------
    cands : Tensor, shape (B, n_candidates, P)
    ranges : Tensor, shape (B, n_ranges, P)
    weights : Tensor, shape (B, n_candidates, n_ranges)

    Returns
    -------
    Tensor, shape (B, n_ranges)
    """
    return ranges.mean(-1) - torch.einsum("bc,bcr->br", cands.mean(-1), weights)


# ---- training -------------------------------------------------------------------------------------
#: The default geometry: 64x64 tiles, 8x8 ranges, 49 half-overlapping domains in 8 isometries, 8 auxiliary patches.
DEFAULT_CONFIG = CollageConfig(
    crop=64, range_size=8, n_aux=8, augment=True, whole_domain=False, s_max=0.9, overlap=True
)


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
    one_step = _collage_step(model.config, x, weights, bias, aux)
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


def train_encoder(
    images: list,
    config: CollageConfig | None = None,
    steps: int = 300,
    batch: int = 16,
    lr: float = 3e-3,
    decode_steps: int = 8,
    top_k: int = 2,
    seed: int = 0,
    progress: bool = False,
) -> TrainResult:
    """Train a :class:`CollageEncoder` on random crops of grayscale images.

    Parameters
    ----------
    images : list of ndarray of uint8, shape (H, W)
        Each at least ``config.crop`` on both sides (smaller ones are skipped).
    config : CollageConfig, optional
        :data:`DEFAULT_CONFIG` by default.
    steps, batch, lr : int, int, float
        Training length, crops per step, Adam learning rate (warm-up, then cosine decay).
    decode_steps : int
        Decoding steps (from black) whose result is compared with the crop.
    top_k : int
        Candidates per range.
    seed : int
        Crops and initialization; same seed, same model (on the same torch build and thread count).
    progress : bool
        tqdm progress bar on stderr.
    """
    import time

    from tqdm.auto import tqdm

    config = config or DEFAULT_CONFIG
    images = [im for im in images if min(im.shape) >= config.crop]
    if not images:
        raise IfskitError(f"no image has both sides of at least {config.crop} pixels (the training crop)")
    with torch.random.fork_rng(devices=[]):  # the initial weights from the seed; the caller's state untouched
        torch.manual_seed(seed)
        model = CollageEncoder(config, top_k=top_k)
    generator = np.random.default_rng(seed)  # the crops
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    warm = max(1, steps // 10)  # linear warm-up over a tenth of the run, then cosine decay (any step count)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: min(1.0, (i + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(i, steps) / steps))
    )
    held_out = random_crops(images, config.crop, 16, np.random.default_rng(seed + 1))
    before = held_out_psnr(model, held_out)
    losses = []
    start = time.perf_counter()
    for _ in tqdm(range(steps), desc="training", unit="step", disable=not progress):
        loss, _ = collage_loss(model, random_crops(images, config.crop, batch, generator), decode_steps)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    model.eval()
    return TrainResult(model, losses, before, held_out_psnr(model, held_out), time.perf_counter() - start)


# ---- model files ----------------------------------------------------------------------------------
def save_encoder(model: CollageEncoder, path, overwrite: bool = False) -> Path:
    """Write the model (configuration and weights) atomically as a torch file."""
    from .._io import atomic_path

    payload = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "config": model.config.to_dict(),
        "encoder": {"top_k": model.top_k, "width": model.width, "embed": model.embed_size},
        "state": model.state_dict(),
    }
    with atomic_path(path, overwrite) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_encoder(path) -> CollageEncoder:
    """Read a model written by :func:`save_encoder`.

    Raises
    ------
    FormatError
        Missing file, not a torch file, or not an ifskit image encoder.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError("no such file" if not path.exists() else "is a folder, not a model file", path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds (pickle, zip, runtime) for a foreign file
        raise FormatError(f"cannot read as a torch model file ({exc.__class__.__name__})", path) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise FormatError("not an ifskit image encoder (train one with 'ifskit train-image-encoder')", path)
    if payload.get("version") != MODEL_VERSION:
        raise FormatError(f"unsupported image encoder version {payload.get('version')}", path)
    try:
        model = CollageEncoder(CollageConfig(**payload["config"]), **payload["encoder"])
        model.load_state_dict(payload["state"])
    except (RuntimeError, TypeError, KeyError):
        raise FormatError("the weights do not fit the model configuration (damaged file?)", path) from None
    return model.eval()


# ---- codes ----------------------------------------------------------------------------------------
@dataclass
class NeuralCode(fic.CodeFile):
    """Quantized sparse collage parameters of a grayscale image, one set per ``crop x crop`` tile.

    Attributes
    ----------
    height, width : int
        Image size (the tiles cover it, padded).
    config : CollageConfig
    aux : ndarray of uint8, shape (n_aux, range_size, range_size)
    weights : ndarray of int, shape (n_tiles, n_ranges, top_k)
        Quantized weights ``q``: ``w = q / (2^(bits-1) - 1) * s_max``; every range has
        ``sum |q| <= 2^(bits-1) - 1``, hence ``sum |w| <= s_max``.
    index : ndarray of int, shape (n_tiles, n_ranges, top_k)
        Candidate of each weight (meaningless where the weight is 0).
    bias : ndarray of int, shape (n_tiles, n_ranges)
        ``BIAS_BITS``-bit bias over :data:`BIAS_RANGE`.
    weight_bits : int
    """

    height: int
    width: int
    config: CollageConfig
    aux: np.ndarray
    weights: np.ndarray
    index: np.ndarray
    bias: np.ndarray
    weight_bits: int = 6

    @property
    def tiles(self) -> tuple:
        """(rows, columns) of tiles."""
        crop = self.config.crop
        return -(-self.height // crop), -(-self.width // crop)

    @property
    def channels(self) -> int:
        return 1

    def parameters(self) -> tuple:
        """Dequantized dense parameters, float tensors (:meth:`sparse_parameters` scattered).

        Returns
        -------
        weights : Tensor, shape (n_tiles, n_candidates, n_ranges)
        bias : Tensor, shape (n_tiles, n_ranges)
        aux : Tensor, shape (n_aux, range_size, range_size)
        """
        index, weights, bias, aux = self.sparse_parameters()
        dense = torch.zeros(*weights.shape[:2], self.config.n_candidates).scatter_add_(2, index, weights)
        return dense.transpose(1, 2).contiguous(), bias, aux

    def sparse_parameters(self) -> tuple:
        """Dequantized parameters as the decoder uses them.

        Returns
        -------
        index, weights : Tensor, shape (n_tiles, n_ranges, top_k)
        bias : Tensor, shape (n_tiles, n_ranges)
        aux : Tensor, shape (n_aux, range_size, range_size)
        """
        top = 2 ** (self.weight_bits - 1) - 1
        weights = torch.from_numpy(self.weights.astype(np.float32) / top * self.config.s_max)
        low, high = BIAS_RANGE
        bias = torch.from_numpy(low + self.bias.astype(np.float32) / (2**BIAS_BITS - 1) * (high - low))
        aux = torch.from_numpy(self.aux.astype(np.float32) / 255.0)
        return torch.from_numpy(self.index.astype(np.int64)), weights, bias, aux

    def decode_steps(self, scale: int = 1, iterations: int | None = None, start=None, coarse_start: bool = False):
        """Iterate the decoder; yields the image after each step.

        Parameters
        ----------
        scale : int
            The output is (scale * height, scale * width).
        iterations : int, optional
            Fixed number of steps; by default until no pixel moves by more than 0.05 gray levels (at most 100).
        start : ndarray, shape (H, W) or (H, W, 3), optional
            Any start image (luminance, resized to the output); black by default.
        coarse_start : bool
            Without ``start`` and with ``scale > 1``, start from the fixed point at scale 1, enlarged.

        Yields
        ------
        ndarray of uint8, shape (scale * height, scale * width)
        """
        if scale < 1:
            raise IfskitError(f"scale must be a positive whole number, got {scale}")
        index, weights, bias, aux = self.sparse_parameters()
        rows, cols = self.tiles
        side = self.config.crop * scale
        first = None
        if start is not None:
            first = _cut_tiles(_start_plane(start, scale * self.height, scale * self.width), side)
        elif coarse_start and scale > 1:
            with torch.no_grad():
                small = fixed_point(self.config, weights, bias, aux, 1, None, None, _TOL, index)
            first = torch.nn.functional.interpolate(small, scale_factor=scale, mode="nearest")
        with torch.no_grad():
            for z in decode(self.config, weights, bias, aux, scale, iterations, first, _TOL, index):
                image = z.reshape(rows, cols, side, side).permute(0, 2, 1, 3).reshape(rows * side, cols * side)
                image = image[: self.height * scale, : self.width * scale]
                yield np.rint(image.clamp(0, 1).numpy() * 255).astype(np.uint8)

    def to_bytes(self) -> bytes:
        """The ``.fic`` file contents (kind 1): header, auxiliary patches, bit-packed parameters, CRC32.

        Bit fields: every weight (``weight_bits``, offset by ``2^(bits-1) - 1``), then the candidate
        index of each non-zero weight, then every bias (``BIAS_BITS``).
        """
        c = self.config
        top = 2 ** (self.weight_bits - 1) - 1
        header = _HEADER.pack(
            self.height, self.width, c.crop, c.range_size, c.n_aux, c.augment | 2 * c.overlap, self.weights.shape[2],
            self.weight_bits, round(c.s_max * 1000),
        )  # fmt: skip
        writer = fic.BitWriter()
        writer.write(self.weights.ravel() + top, self.weight_bits)
        writer.write(self.index[self.weights != 0], _index_bits(c))
        writer.write(self.bias.ravel(), BIAS_BITS)
        return fic.pack(fic.KIND_NEURAL, header, self.aux.astype(np.uint8).tobytes() + writer.to_bytes())


#: Tiles scored in one batch by :func:`encode_image` (256 tiles of 64^2: about 100 MB of scores).
_TILES_PER_PASS = 256
#: Decoding stops when no pixel moves by more than this (0.05 gray levels, as the PIFS decoder).
_TOL = 0.05 / 255


def _index_bits(config: CollageConfig) -> int:
    return max(1, int(np.ceil(np.log2(config.n_candidates))))


def _start_plane(start, height: int, width: int) -> np.ndarray:
    """Any image -> (height, width) float luminance in [0, 1] (bilinear resize)."""
    from PIL import Image

    from .codec import rgb_to_ycbcr
    from .imagefile import as_image_array

    start = as_image_array(start).astype(np.float64)
    if start.ndim == 3:
        start = rgb_to_ycbcr(start)[..., 0]
    resized = Image.fromarray(start.astype(np.float32)).resize((width, height), Image.BILINEAR)
    return np.asarray(resized, np.float32) / 255.0


def neural_from_bytes(rest: bytes, path=None) -> NeuralCode:
    """Parse the header and payload of a neural ``.fic`` (after :func:`ifskit.image.fic.unpack`)."""
    if len(rest) < _HEADER.size:
        raise FormatError("truncated header", path)
    height, width, crop, r, n_aux, flags, top_k, bits, s_max = _HEADER.unpack_from(rest)
    s_max /= 1000
    if not (
        r >= 1 and crop >= 2 * r and crop % (2 * r) == 0 and 2 <= bits <= 8 and 0 < s_max < 1 and height and width
    ) or not (1 <= top_k <= 64 and flags < 4 and not (flags & 2 and r % 2)):
        raise FormatError("corrupted header (impossible collage parameters)", path)
    config = CollageConfig(crop, r, n_aux, bool(flags & 1), False, s_max, bool(flags & 2))
    offset = _HEADER.size + n_aux * r * r
    if offset > len(rest):
        raise FormatError("truncated payload", path)
    aux = np.frombuffer(rest[_HEADER.size : offset], np.uint8).reshape(n_aux, r, r)
    tiles = -(-height // crop) * -(-width // crop)
    shape = (tiles, config.n_ranges, top_k)
    reader = fic.BitReader(rest[offset:], path)
    top = 2 ** (bits - 1) - 1
    weights = reader.read(bits, int(np.prod(shape))).reshape(shape) - top
    index = np.zeros(shape, np.int64)
    index[weights != 0] = reader.read(_index_bits(config), int(np.count_nonzero(weights)))
    bias = reader.read(BIAS_BITS, tiles * config.n_ranges).reshape(tiles, config.n_ranges)
    if len(rest) - offset != -(-reader._pos // 8):
        raise FormatError("corrupted payload (trailing bytes)", path)
    if weights.max(initial=0) > top or index.max(initial=0) >= config.n_candidates:
        raise FormatError("corrupted payload (a field out of range)", path)
    if np.abs(weights).sum(axis=2).max(initial=0) > top:
        raise FormatError("corrupted payload (weights too large: not contractive)", path)
    return NeuralCode(height, width, config, aux.copy(), weights, index, bias, bits)


def image_tiles(image: np.ndarray, crop: int) -> torch.Tensor:
    """A grayscale image padded (edges repeated) and cut into tiles: (n_tiles, 1, crop, crop) in [0, 1]."""
    return _cut_tiles(np.asarray(image, np.float32) / 255.0, crop)


def _cut_tiles(plane: np.ndarray, side: int) -> torch.Tensor:
    """A float32 plane padded (edges repeated) to whole tiles and cut: (n_tiles, 1, side, side), row by row."""
    h, w = plane.shape
    padded = np.pad(plane, ((0, -h % side), (0, -w % side)), mode="edge")
    rows, cols = padded.shape[0] // side, padded.shape[1] // side
    tiles = padded.reshape(rows, side, cols, side).transpose(0, 2, 1, 3).reshape(-1, 1, side, side)
    return torch.from_numpy(np.ascontiguousarray(tiles))


def encode_image(model: CollageEncoder, image: np.ndarray, weight_bits: int = 6) -> NeuralCode:
    """Encode a grayscale image in one forward pass of the encoder over its tiles.

    Parameters
    ----------
    model : CollageEncoder
    image : ndarray of uint8, shape (H, W)
    weight_bits : int
        Bits of a quantized weight (sign included), 2..8.

    Returns
    -------
    NeuralCode
    """
    from .imagefile import as_image_array

    image = as_image_array(image)
    if image.ndim != 2:
        raise IfskitError("the neural collage encoder codes grayscale images (use --gray for a colour image)")
    if not 2 <= weight_bits <= 8:
        raise IfskitError(f"weight_bits must be within 2..8, got {weight_bits}")
    config = model.config
    tiles = image_tiles(np.asarray(image, np.float64), config.crop)
    top = 2 ** (weight_bits - 1) - 1
    with torch.no_grad():
        aux = torch.round(model.aux() * 255) / 255  # what the decoder will see
        parts = []
        for chunk in torch.split(tiles, _TILES_PER_PASS):  # bounds the (tiles, ranges, candidates) scores
            index, weights, cands, ranges = model.select(chunk, aux)
            q = torch.trunc(weights / config.s_max * top)  # toward zero: every range keeps sum |w| <= s_max
            picked_mean = cands.mean(-1).gather(1, index.flatten(1)).reshape(index.shape)
            parts.append((index, q, ranges.mean(-1) - (q * (config.s_max / top) * picked_mean).sum(-1)))
        index, q, bias = (torch.cat(column) for column in zip(*parts))
    low, high = BIAS_RANGE
    q_bias = torch.round((bias.clamp(low, high) - low) / (high - low) * (2**BIAS_BITS - 1)).to(torch.int64)
    return NeuralCode(
        image.shape[0],
        image.shape[1],
        config,
        torch.round(aux * 255).to(torch.uint8).numpy(),
        q.to(torch.int64).numpy(),
        index.numpy(),
        q_bias.numpy(),
        weight_bits,
    )
