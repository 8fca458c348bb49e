"""The Neural Collage image encoder's model, its default geometry and its file (torch).

:class:`CollageEncoder` predicts the sparse collage parameters of image tiles in one forward
pass: a candidate search (:mod:`~ifskit.image.encoder.search`) whose scores a small CNN
(:class:`PatchNet`), a prior per base and learned auxiliary patches shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..._io import write_torch
from ...errors import FormatError, ParameterError
from ..collage import CollageConfig, limit_weights
from .search import CandidateSearch, Tiles

#: The default geometry: 64x64 tiles, 8x8 ranges, 16 domains in 8 isometries, 8 auxiliary patches (136 candidates).
#: Half-overlapping domains (``overlap=True``, 400 candidates) gain about 0.7 dB for 0.02 bpp more on the 256x256
#: photo but take about 1.4 times as long to encode.
DEFAULT_CONFIG = CollageConfig(
    crop=64, range_size=8, n_aux=8, augment=True, whole_domain=False, s_max=0.9, overlap=False
)
MODEL_FORMAT = "ifskit-image-encoder"
MODEL_VERSION = 3


class CollageEncoder(CandidateSearch):
    """Predicts sparse collage parameters of (B, 1, crop, crop) images in [0, 1] in one pass.

    For each range patch the encoder chooses ``top_k`` candidates (domain patches of the same
    tile in their isometries, and the learned auxiliary patches) by matching pursuit: at each
    step a score ranks the *bases* (a domain in its best isometry, or an auxiliary patch),
    the best one gets its least-squares contrast against what is left of the centred range
    (bounded by what is left of ``s_max``), and the residual is updated -- batched over all
    tiles, ranges and candidates, no Python loop over patches. The first step ranks every
    base, the later ones the auxiliary patches not chosen yet (the detail left once the best
    copy of the tile is in place; at most ``n_aux - 1`` of them, so that one is always left):
    the exhaustive search is done once per range. The score is the share of the range's variance
    the candidate explains, times a learned sharpness, less a learned cost per unit of contrast
    (smaller weights make a more contractive code, whose fixed point is nearer its collage, and
    more weights quantize to zero, whose index is not stored), plus a learned match of a small
    CNN's embeddings of the normalized range and base patches and a learned prior per base;
    before training (cost 0) the encoder is a greedy least-squares search. The cost is fitted by
    a search on training crops: the straight-through gradient, a first-order estimate, pushes it
    the wrong way. Training back-propagates through the choice with a straight-through
    softmax. Every range ends with ``sum |w| <= s_max`` (:func:`limit_weights` guards it), and
    the bias makes each range's mean exact in the collage of the image itself.

    The search is exact and cheap (:mod:`~ifskit.image.encoder.search`), and the CNN's
    convolution is linear, so it runs as extra columns of the one matrix product that takes
    patches to the search's coordinates.

    Parameters
    ----------
    config : CollageConfig
        Not ``whole_domain``.
    top_k : int
        Candidates per range (non-zero weights); at most ``1 + max(n_aux - 1, 0)`` are used.
    width : int
        Channels of the embedding CNN.
    embed : int
        Size of a patch embedding.
    """

    def __init__(self, config: CollageConfig, *, top_k: int = 2, width: int = 4, embed: int = 16):
        if config.whole_domain:
            raise ParameterError("the encoder works on domain patches; config.whole_domain is for fractalize", "config")
        super().__init__(config)
        self.top_k, self.width, self.embed_size = top_k, width, embed
        r = config.range_size
        self.net = PatchNet(r, width, embed)
        self.prior = nn.Parameter(torch.zeros(config.n_domains + config.n_aux))  # one per base
        self.log_sharpness = nn.Parameter(torch.tensor(np.log(10.0), dtype=torch.float32))
        # fitted by a search on training crops (:func:`train_encoder`), not by the gradient, hence a buffer
        self.register_buffer("contrast_cost", torch.zeros(()))
        self.aux_logits = nn.Parameter(cosine_patches(config.n_aux, r))

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
        tiles = self._tiles(x, self.aux())
        index, values, dense = self._pursuit(tiles)
        if dense is None:  # no grad: the same values, scattered
            dense = torch.zeros(*index.shape[:2], self.config.n_candidates).scatter_add_(-1, index, values)
        weights = limit_weights(dense, self.config.s_max, dim=-1).transpose(1, 2)  # (B, C, R)
        means = tiles.base_mean[:, self.candidate_base]  # (B, C): a candidate's mean is its base's
        return weights, tiles.range_mean - torch.einsum("bc,bcr->br", means, weights)

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
            The candidate of each weight.
        weights : Tensor, shape (B, n_ranges, k)
            ``sum |w| <= s_max`` per range.
        means : Tensor, shape (B, n_ranges, k)
            The mean of each chosen candidate.
        range_mean : Tensor, shape (B, n_ranges)
        """
        with torch.no_grad():
            tiles = self._tiles(x, self.aux() if aux is None else aux)
            index, values, _ = self._pursuit(tiles)
            means = tiles.base_mean.gather(1, self.candidate_base[index].flatten(1)).view(index.shape)
        return index, limit_weights(values, self.config.s_max, dim=-1), means, tiles.range_mean

    def _tiles(self, x: torch.Tensor, aux: torch.Tensor) -> Tiles:
        """The patches of a batch of tiles in parity coordinates, and the learned match (:class:`Tiles`)."""
        c = self.config
        r, b, side, size = c.range_size, len(x), c.crop // c.range_size, c.range_size**2
        n_ranges, n_domains, m = c.n_ranges, c.n_domains, (r + 1) // 2
        # 2x2 average pooling as sums of strided views (a pooling op is several times slower on small tensors)
        pooled = (x[..., ::2, ::2] + x[..., 1::2, ::2] + x[..., ::2, 1::2] + x[..., 1::2, 1::2]) * 0.25
        step = r // 2 if c.overlap else r
        domains = pooled[:, 0].unfold(1, r, step).unfold(2, r, step)  # (B, rows, columns, r, r), as candidates
        # every patch of a tile, flattened: ranges (as range_patches), domains, auxiliary patches
        patches = torch.empty(b, n_ranges + n_domains + c.n_aux, size)
        patches[:, :n_ranges].view(b, side, side, r, r).copy_(x.view(b, side, r, side, r).transpose(2, 3))
        patches[:, n_ranges : n_ranges + n_domains].view(domains.shape).copy_(domains)
        patches[:, n_ranges + n_domains :] = aux.reshape(1, -1, size)
        # one product: centred coordinates, the CNN's convolution of the centred patch, the mean
        features = self.net.matrix()
        projection = torch.cat([self.coordinates, features - features.mean(0), torch.full((size, 1), 1 / size)], 1)
        patches = patches @ projection
        n = 4 * m * m
        coordinates, mean = patches[..., :n], patches[..., -1]
        energy = (coordinates * coordinates).sum(-1)  # (B, patches)
        hidden = self.net.hidden(patches[..., n:-1], energy)
        # the learned match, scaled, plus the prior of the base
        learned = torch.baddbmm(
            self.prior,
            self.net.range_head(hidden[:, :n_ranges]),
            self.net.base_head(hidden[:, n_ranges:]).mT,
            alpha=1 / np.sqrt(self.embed_size),
        )
        # class-major layouts: (a, b) the row and column class (0 symmetric, 1 antisymmetric) of (i, j)
        bases = coordinates[:, n_ranges:].unflatten(-1, (2, 2, m, m))  # (B, bases, a, b, i, j)
        columns = [bases[:, :n_domains].permute(0, 2, 3, 4, 5, 1)]  # (B, a, b, i, j, D): the domains
        if c.augment:  # and transposed: the coordinates of X^T are those of X, transposed
            columns.append(bases[:, :n_domains].permute(0, 3, 2, 5, 4, 1))
        columns.append(bases[:, n_domains:].permute(0, 2, 3, 4, 5, 1))
        return Tiles(
            coordinates[:, :n_ranges].unflatten(-1, (4, m * m)).transpose(1, 2).contiguous(),
            torch.cat(columns, -1),
            energy[:, :n_ranges, None],
            energy[:, None, n_ranges:],
            mean[:, :n_ranges],
            mean[:, n_ranges:],
            learned,
        )

    def _pursuit(self, tiles: Tiles) -> tuple:
        """:meth:`~CandidateSearch.pursuit` with this model's ``top_k``, sharpness and contrast cost."""
        return self.pursuit(tiles, self.top_k, self.log_sharpness.exp(), self.contrast_cost)


class PatchNet(nn.Module):
    """A small CNN embedding of unit-RMS patches: a convolution with stride its size over cells of half
    the patch side (the whole patch for an odd size), a bias per feature, ReLU, then one linear map for
    range patches and another for the bases.

    The convolution is linear: :meth:`matrix` gives it as a matrix, applied in the same product that
    gives the patches' coordinates, and the scaling to unit RMS is applied after it.

    Parameters
    ----------
    size : int
        Patch side.
    width : int
        Channels.
    embed : int
        Size of an embedding.
    """

    def __init__(self, size: int, width: int, embed: int):
        super().__init__()
        self.size = size
        cell = size // 2 if size % 2 == 0 else size
        features = width * (size // cell) ** 2
        self.conv = nn.Conv2d(1, width, cell, stride=cell, bias=False)
        self.bias = nn.Parameter(torch.zeros(features))
        self.range_head, self.base_head = nn.Linear(features, embed), nn.Linear(features, embed)
        for head in (self.range_head, self.base_head):
            nn.init.normal_(head.weight, std=1e-2)
        # pixel (y, x) -> feature (channel w, cell row a, cell column b): the kernel's weight (w, u, v) where
        # the pixel is (u, v) in cell (a, b), else the zero after the kernel's weights
        y, x = torch.arange(size).view(-1, 1, 1, 1, 1), torch.arange(size).view(1, -1, 1, 1, 1)
        w, a, b = torch.arange(width).view(-1, 1, 1), torch.arange(size // cell).view(-1, 1), torch.arange(size // cell)
        inside = (y // cell == a) & (x // cell == b)
        layout = torch.where(inside, (w * cell + y % cell) * cell + x % cell, width * cell * cell)
        self.register_buffer("layout", layout.reshape(size * size, features), persistent=False)

    def matrix(self) -> torch.Tensor:
        """The convolution of flattened patches: (size^2, features), ``features = patch @ matrix``."""
        weight = self.conv.weight.flatten()
        return torch.cat([weight, weight.new_zeros(1)])[self.layout]

    def hidden(self, features: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        """The hidden layer (..., features) of centred patches from their features and energies (...)."""
        return F.relu(features * torch.rsqrt(energy[..., None] * (1 / self.size**2) + 1e-4) + self.bias)


def cosine_patches(count: int, size: int) -> torch.Tensor:
    """Logits of ``count`` low-frequency cosine (DCT) patches, the constant one left out: (count, size, size).

    The starting auxiliary patches: atoms for the detail no domain patch of the tile matches.
    """
    pairs = sorted(((u, v) for u in range(size) for v in range(size) if u or v), key=lambda p: (p[0] + p[1], p))
    grid = (torch.arange(size, dtype=torch.float32) + 0.5) * (np.pi / size)
    patches = [torch.outer(torch.cos(u * grid), torch.cos(v * grid)) for u, v in pairs[:count]]
    if not patches:
        return torch.zeros(0, size, size)
    return torch.logit(0.5 + 0.4 * torch.stack(patches))  # values 0.1..0.9 after the sigmoid


# ---- model files ----------------------------------------------------------------------------------
def save_encoder(model: CollageEncoder, path, overwrite: bool = False) -> Path:
    """Write the model (configuration and weights) atomically as a torch file.

    Parameters
    ----------
    model : CollageEncoder
    path : str or Path
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path
    """
    payload = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "config": model.config.to_dict(),
        "encoder": {"top_k": model.top_k, "width": model.width, "embed": model.embed_size},
        "state": model.state_dict(),
    }
    return write_torch(path, payload, overwrite)


def load_encoder(path) -> CollageEncoder:
    """Read a model written by :func:`save_encoder`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    CollageEncoder
        In eval mode, on the CPU.

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
        raise FormatError(
            f"image encoder version {payload.get('version')}, this ifskit reads version {MODEL_VERSION} "
            "(retrain with 'ifskit train-image-encoder')",
            path,
        )
    try:
        model = CollageEncoder(CollageConfig(**payload["config"]), **payload["encoder"])
        model.load_state_dict(payload["state"])
    except (RuntimeError, TypeError, KeyError, ParameterError):
        raise FormatError("the weights do not fit the model configuration (damaged file?)", path) from None
    return model.eval()
