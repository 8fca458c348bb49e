"""The neural image collage operator (torch), contractive by construction.

An image of ``crop x crop`` pixels is cut into range patches of ``range_size``; the
*candidates* are the domain patches (``2 * range_size``, average-pooled to the range size),
optionally their 8 isometries, and learned auxiliary patches shared by every image. Each
range patch of the next iterate is a weighted sum of all candidates plus a bias::

    range_j  <-  sum_i w_ij * candidate_i + b_j

The weights come from free parameters ``u`` as ``w_ij = s_max * u_ij / (1 + sum_i |u_ij|)``
(:func:`contractive_weights`), or from any weights rescaled so that their sum is at most
``s_max`` (:func:`limit_weights`), so ``sum_i |w_ij| <= s_max < 1`` for every range: pooling,
isometries and constant auxiliary patches do not expand the sup norm, hence the operator is a
contraction with factor at most ``s_max`` whatever the encoder predicts (the paper's
reference implementation does not enforce this). Decoding iterates the operator to its fixed point; patch sizes are
multiplied by ``scale`` and the auxiliary patches resampled, so any resolution works.

All tensors are (batch, 1, H, W) grayscale in [0, 1].
"""

from __future__ import annotations

import collections
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

#: Decoding to the fixed point stops when no pixel moves by more than this: 0.05 gray levels, as
#: the PIFS decoder (images in [0, 1]).
DECODE_TOL = 0.05 / 255


@dataclass(frozen=True)
class CollageConfig:
    """Geometry of a collage operator.

    Attributes
    ----------
    crop : int
        Side of the image (tile) the operator acts on, at scale 1.
    range_size : int
        Side of a range patch; ``crop`` is a multiple of ``2 * range_size``.
    n_aux : int
        Learned auxiliary patches.
    augment : bool
        Add the 8 isometries of each domain patch as candidates.
    whole_domain : bool
        The only domain is the whole image pooled to one patch (the creative "fractalize" mode).
    s_max : float
        Bound of the per-range sum of absolute weights, < 1.
    overlap : bool
        Domain patches start every ``range_size`` pixels (half overlapping) instead of every
        ``2 * range_size``: about 4 times as many candidates. Needs an even ``range_size``.
    """

    crop: int = 32
    range_size: int = 4
    n_aux: int = 8
    augment: bool = False
    whole_domain: bool = False
    s_max: float = 0.9
    overlap: bool = False

    @property
    def n_ranges(self) -> int:
        return (self.crop // self.range_size) ** 2

    @property
    def n_domains(self) -> int:
        if self.whole_domain:
            return 1
        if self.overlap:
            return (self.crop // self.range_size - 1) ** 2
        return (self.crop // (2 * self.range_size)) ** 2

    @property
    def n_candidates(self) -> int:
        return self.n_domains * (8 if self.augment else 1) + self.n_aux

    def to_dict(self) -> dict:
        return asdict(self)


def contractive_weights(raw: torch.Tensor, s_max: float) -> torch.Tensor:
    """Map free parameters to weights with ``sum_i |w_ij| < s_max`` for each range j.

    Parameters
    ----------
    raw : Tensor, shape (B, n_candidates, n_ranges)

    Returns
    -------
    Tensor, shape (B, n_candidates, n_ranges)
    """
    return s_max * raw / (1.0 + raw.abs().sum(dim=1, keepdim=True))


def limit_weights(weights: torch.Tensor, s_max: float, *, dim: int = 1) -> torch.Tensor:
    """Scale each range's weights down, where needed, so that ``sum_i |w_ij| <= s_max``.

    Parameters
    ----------
    weights : Tensor, shape (B, n_candidates, n_ranges) (``dim`` is the candidate axis)

    Returns
    -------
    Tensor, same shape
    """
    total = weights.abs().sum(dim=dim, keepdim=True)
    return weights * (s_max / torch.clamp(total, min=s_max))


def range_patches(config: CollageConfig, z: torch.Tensor) -> torch.Tensor:
    """The range patches of images, row by row.

    Parameters
    ----------
    z : Tensor, shape (B, 1, crop, crop)

    Returns
    -------
    Tensor, shape (B, n_ranges, range_size, range_size)
    """
    r = config.range_size
    b, _, h, w = z.shape
    return z.reshape(b, h // r, r, w // r, r).permute(0, 1, 3, 2, 4).reshape(b, -1, r, r)


#: The 8 isometries of a square patch in candidate order, as (transpose, flip rows, flip columns)
#: with the flips applied after the transpose: rotations by 0, 90, 180 and 270 degrees
#: (``torch.rot90``), then the same after a left-right mirror.
ISOMETRIES = ((0, 0, 0), (1, 1, 0), (0, 1, 1), (1, 0, 1), (0, 0, 1), (1, 0, 0), (0, 1, 0), (1, 1, 1))


def _isometries(patches: torch.Tensor) -> torch.Tensor:
    """(B, n, h, h) -> (B, 8n, h, h): the :data:`ISOMETRIES` of every patch."""
    views = []
    for transpose, flip_rows, flip_cols in ISOMETRIES:
        view = patches.transpose(-2, -1) if transpose else patches
        dims = [dim for dim, flip in ((-2, flip_rows), (-1, flip_cols)) if flip]
        views.append(view.flip(dims) if dims else view)
    return torch.cat(views, dim=1)


def candidates(config: CollageConfig, z: torch.Tensor, aux: torch.Tensor, *, scale: int = 1) -> torch.Tensor:
    """The candidate patches of the images ``z``.

    Parameters
    ----------
    z : Tensor, shape (B, 1, crop * scale, crop * scale)
    aux : Tensor, shape (n_aux, range_size, range_size)
    scale : int

    Returns
    -------
    Tensor, shape (B, n_candidates, range_size * scale, range_size * scale)
    """
    r = config.range_size * scale
    if config.whole_domain:
        domains = F.adaptive_avg_pool2d(z, r)  # (B, 1, r, r)
    else:
        pooled = F.avg_pool2d(z, 2)
        b, _, h, w = pooled.shape
        if config.overlap:  # (B, r * r, n) -> (B, n, r, r)
            domains = F.unfold(pooled, r, stride=r // 2).transpose(1, 2).reshape(b, -1, r, r)
        else:
            domains = pooled.reshape(b, h // r, r, w // r, r).permute(0, 1, 3, 2, 4).reshape(b, -1, r, r)
    if config.augment:
        domains = _isometries(domains)
    if config.n_aux:
        aux = aux if scale == 1 else F.interpolate(aux[None], size=(r, r), mode="bilinear", align_corners=False)[0]
        domains = torch.cat([domains, aux[None].expand(len(z), -1, -1, -1)], dim=1)
    return domains


def collage_step(
    config: CollageConfig,
    z: torch.Tensor,
    weights: torch.Tensor,
    bias: torch.Tensor,
    aux: torch.Tensor,
    *,
    scale: int = 1,
) -> torch.Tensor:
    """One application of the collage operator.

    Parameters
    ----------
    z : Tensor, shape (B, 1, crop * scale, crop * scale)
    weights : Tensor, shape (B, n_candidates, n_ranges)
        Already contractive (:func:`contractive_weights`).
    bias : Tensor, shape (B, n_ranges)
    aux : Tensor, shape (n_aux, range_size, range_size)
    scale : int
        ``z`` is ``scale`` times the operator's size, and so is every patch (the auxiliary ones resampled).

    Returns
    -------
    Tensor, shape (B, 1, crop * scale, crop * scale)
    """
    cands = candidates(config, z, aux, scale=scale)
    return _assemble(config, torch.einsum("bchw,bcr->brhw", cands, weights) + bias[:, :, None, None])


def _assemble(config: CollageConfig, patches: torch.Tensor) -> torch.Tensor:
    """Range patches (B, n_ranges, r, r), row-major, laid out as images (B, 1, side * r, side * r)."""
    b, _, r, _ = patches.shape
    side = config.crop // config.range_size
    return patches.reshape(b, side, side, r, r).permute(0, 1, 3, 2, 4).reshape(b, 1, side * r, side * r)


def sparse_collage_step(
    config: CollageConfig,
    z: torch.Tensor,
    index: torch.Tensor,
    weights: torch.Tensor,
    bias: torch.Tensor,
    aux: torch.Tensor,
    *,
    scale: int = 1,
) -> torch.Tensor:
    """:func:`collage_step` with ``k`` weights per range given by candidate index.

    Parameters
    ----------
    z : Tensor, shape (B, 1, crop * scale, crop * scale)
    index : Tensor of int64, shape (B, n_ranges, k)
    weights : Tensor, shape (B, n_ranges, k)
        ``sum |w| <= s_max`` per range.
    bias : Tensor, shape (B, n_ranges)
    aux : Tensor, shape (n_aux, range_size, range_size)
    scale : int
        As :func:`collage_step`.

    Returns
    -------
    Tensor, shape (B, 1, crop * scale, crop * scale)
    """
    cands = candidates(config, z, aux, scale=scale)  # (B, C, r, r)
    b, n_ranges, k = index.shape
    r = cands.shape[-1]
    picked = torch.gather(cands, 1, index.reshape(b, n_ranges * k, 1, 1).expand(-1, -1, r, r))
    patches = (picked.reshape(b, n_ranges, k, r, r) * weights[..., None, None]).sum(2) + bias[:, :, None, None]
    return _assemble(config, patches)


def decode(
    config: CollageConfig,
    weights: torch.Tensor,
    bias: torch.Tensor,
    aux: torch.Tensor,
    *,
    scale: int = 1,
    iterations: int | None = None,
    start: torch.Tensor | None = None,
    tol: float = 1e-3,
    index: torch.Tensor | None = None,
):
    """Iterate the operator to its fixed point (or ``iterations`` times); yields every iterate.

    Parameters
    ----------
    weights : Tensor, shape (B, n_candidates, n_ranges), or (B, n_ranges, k) with ``index``
    bias : Tensor, shape (B, n_ranges)
    aux : Tensor, shape (n_aux, range_size, range_size)
    scale : int
        The iterates are (B, 1, crop * scale, crop * scale).
    iterations : int, optional
        Fixed number of steps; by default until no pixel moves by more than ``tol`` (at most 100).
    start : Tensor, shape (B, 1, crop * scale, crop * scale), optional
        Any start; zeros by default.
    tol : float
        Stopping threshold on the largest pixel change (images in [0, 1]).
    index : Tensor of int64, shape (B, n_ranges, k), optional
        Sparse weights: the candidate of each weight (:func:`sparse_collage_step`).

    Yields
    ------
    Tensor, shape (B, 1, crop * scale, crop * scale)
    """
    side = config.crop * scale
    z = torch.zeros(len(bias), 1, side, side, dtype=bias.dtype) if start is None else start
    for _ in range(100 if iterations is None else iterations):
        if index is None:
            new = collage_step(config, z, weights, bias, aux, scale=scale)
        else:
            new = sparse_collage_step(config, z, index, weights, bias, aux, scale=scale)
        change = (new - z).abs().max()
        z = new
        yield z
        if iterations is None and change <= tol:
            break


def fixed_point(*args, **kwargs) -> torch.Tensor:
    """The last iterate of :func:`decode` (same arguments), holding one iterate at a time."""
    return collections.deque(decode(*args, **kwargs), maxlen=1)[0]
