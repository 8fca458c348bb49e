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

import functools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import FormatError, IfskitError
from . import fic
from .collage import ISOMETRIES, CollageConfig, decode, fixed_point, limit_weights
from .collage import collage_step as _collage_step

MODEL_FORMAT = "ifskit-image-encoder"
MODEL_VERSION = 3
#: Range of the per-range bias (images are in [0, 1]) and its bits in a code.
BIAS_RANGE = (-1.0, 2.0)
BIAS_BITS = 10
# height, width, crop, range_size, n_aux, flags (1: augment, 2: overlap), top_k, weight bits, s_max in thousandths
_HEADER = struct.Struct("<IIHBBBBBH")


class CollageEncoder(nn.Module):
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

    The search is exact and cheap. Patches are written in a basis of mirror-symmetric and
    antisymmetric parts (:func:`_parity_coordinates`), where a flip only changes the sign of
    some coordinates and a transpose permutes them: the correlations of a range with the 8
    isometries of a domain are sums and differences of 8 partial products over a quarter of
    the coordinates each (a quarter of the multiplications of correlating the 8 copies), and
    since the score grows with the absolute correlation, a domain's best isometry follows from
    those sums without scoring the 8 copies. The CNN's convolution is linear, so it runs as
    extra columns of the one matrix product that takes patches to coordinates.

    Parameters
    ----------
    config : CollageConfig
    top_k : int
        Candidates per range (non-zero weights); at most ``1 + max(n_aux - 1, 0)`` are used.
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
        self.net = _PatchNet(r, width, embed)
        self.prior = nn.Parameter(torch.zeros(config.n_domains + config.n_aux))  # one per base
        self.log_sharpness = nn.Parameter(torch.tensor(np.log(10.0), dtype=torch.float32))
        # fitted by a search on training crops (:func:`train_encoder`), not by the gradient, hence a buffer
        self.register_buffer("contrast_cost", torch.zeros(()))
        self.aux_logits = nn.Parameter(_cosine_patches(config.n_aux, r))
        self.register_buffer("coordinates", _parity_coordinates(r), persistent=False)
        # per isometry: transposed or not, and the sign of each parity class (a, b) of its coordinates
        signs = [[(1 - 2 * fr * a) * (1 - 2 * fc * b) for a in (0, 1) for b in (0, 1)] for _, fr, fc in ISOMETRIES]
        self.register_buffer("class_signs", torch.tensor(signs, dtype=torch.float32), persistent=False)
        self.register_buffer("transposed", torch.tensor([t for t, _, _ in ISOMETRIES]), persistent=False)
        # partial products (a, b, t) -> correlation with each isometry
        parts = torch.arange(8)
        combine = self.class_signs[:, parts // 2] * (parts % 2 == self.transposed[:, None])
        self.register_buffer("combine", combine.T.contiguous(), persistent=False)
        copies = 8 if config.augment else 1  # candidate -> its base
        bases = torch.cat(
            [torch.arange(config.n_domains).repeat(copies), config.n_domains + torch.arange(config.n_aux)]
        )
        self.register_buffer("candidate_base", bases, persistent=False)
        # per base: its columns in the table (as it is, transposed) and, per isometry, its candidate and column
        n_iso, base = (config.n_domains if config.augment else 0), torch.arange(config.n_domains + config.n_aux)
        iso = base < n_iso
        plain = base + n_iso  # the column of a base without isometries, after the domains' two copies
        self.register_buffer("has_isometries", iso.long(), persistent=False)
        self.register_buffer("base_columns", torch.stack([torch.where(iso, base, plain), plain], 1), persistent=False)
        slot = torch.where(iso, torch.arange(8)[:, None] * n_iso + base, base + 7 * n_iso)
        column = torch.where(iso, self.transposed[:, None] * n_iso + base, plain)
        self.register_buffer("slot_column", torch.stack([slot, column], -1).view(-1, 2), persistent=False)

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

    def _tiles(self, x: torch.Tensor, aux: torch.Tensor) -> _Tiles:
        """The patches of a batch of tiles in parity coordinates, and the learned match (:class:`_Tiles`)."""
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
        return _Tiles(
            coordinates[:, :n_ranges].unflatten(-1, (4, m * m)).transpose(1, 2).contiguous(),
            torch.cat(columns, -1),
            energy[:, :n_ranges, None],
            energy[:, None, n_ranges:],
            mean[:, :n_ranges],
            mean[:, n_ranges:],
            learned,
        )

    def _pursuit(self, tiles: _Tiles) -> tuple:
        """Matching pursuit: (index (B, R, k), contrasts (B, R, k), dense (B, R, C) or None).

        The first candidate of a range is chosen among all bases, the others among the
        auxiliary patches: their correlations with what is left of the range are those with the
        range less the chosen candidates' correlations with the auxiliary patches (a small
        table per tile), so the residual itself is never formed. ``dense`` carries the
        straight-through gradient and is computed only when grad is enabled.
        """
        c = self.config
        b, _, n_ranges, mm = tiles.residual.shape
        n_iso = c.n_domains if c.augment else 0  # bases searched in their 8 isometries
        grad = torch.is_grad_enabled()
        dense = torch.zeros(b, n_ranges, c.n_candidates) if grad else None
        scale = self.log_sharpness.exp() / (tiles.range_energy + 1e-4)  # gain -> share of the variance, sharpened
        cost = -self.contrast_cost
        energy = tiles.base_energy.clamp(min=1e-6)  # (B, 1, bases)
        table = tiles.table.view(b, 4, mm, -1)
        aux = table[0, ..., table.shape[-1] - c.n_aux :]  # (4, mm, n_aux): the same in every tile
        k = 1 + min(self.top_k - 1, max(c.n_aux - 1, 0))  # an auxiliary patch is left whatever the first choice
        partial = torch.bmm(tiles.residual.view(b * 4, n_ranges, mm), table.view(b * 4, mm, -1))
        partial = partial.view(b, 2, 2, n_ranges, -1)  # (B, a, b, R, columns): the products per class
        correlation = _class_sum(partial[..., partial.shape[-1] - c.n_aux :])  # (B, R, n_aux)
        if k > 1 and grad:  # every candidate's correlation with the auxiliary patches
            gram = self._candidate_table(tiles.table).view(b, 4 * mm, -1).mT @ aux.reshape(4 * mm, -1)
        elif k > 1:  # per parity class, every column's: (B, 4, columns, n_aux)
            gram = table.mT @ aux
        aux_learned = tiles.learned[..., c.n_domains :]
        aux_slots = torch.arange(c.n_candidates - c.n_aux, c.n_candidates).expand(b, n_ranges, -1)
        bases, indices, values = [], [], []
        budget = c.s_max  # what is left of s_max for each range
        for step in range(k):
            if step == 0:
                size = _best_sizes(partial, n_iso)  # (B, R, bases): the largest |correlation| over the isometries
                step_energy, learned = energy, tiles.learned
            else:  # the auxiliary patches, each once
                size, step_energy, learned = correlation.abs(), energy[..., c.n_domains :], aux_learned
            s = (size / step_energy).clamp(max=budget)  # least-squares contrast (its size), bounded by the budget
            gain = s * (2 * size - s * step_energy)  # squared error removed by the candidate
            logits = torch.addcmul(learned, gain, scale).addcmul_(s, cost)
            if step:
                taken = torch.cat(bases, -1) - c.n_domains
                logits = logits.scatter_add(-1, taken.clamp(min=0), torch.where(taken >= 0, -torch.inf, 0.0))
            best = logits.max(-1, keepdim=True).indices  # (B, R, 1); faster than argmax
            bases.append(best if step == 0 else best + c.n_domains)
            if step == 0:
                signed, slot, column, signs = self._orient(partial, None if grad else best)
            else:
                signed, slot = correlation, aux_slots
                if not grad:
                    signed, slot = signed.gather(-1, best), slot.gather(-1, best)
                    column, signs = best + table.shape[-1] - c.n_aux, torch.ones(b, n_ranges, 1, 4)
            if grad:  # the straight-through softmax over the bases of the step
                contrast = (signed / step_energy).clamp(-budget, budget)
                soft = torch.softmax(logits, dim=-1)
                chosen = (torch.zeros_like(soft).scatter_(-1, best, 1.0) + soft - soft.detach()) * contrast
                step_dense = torch.zeros_like(dense).scatter_add(-1, slot, chosen)
                dense = dense + step_dense
                indices.append(slot.gather(-1, best))
                values.append(contrast.gather(-1, best))
            else:
                picked_energy = step_energy.expand(b, n_ranges, -1).gather(-1, best)
                values.append((signed / picked_energy).clamp(-budget, budget))
                indices.append(slot)
            budget = budget - values[-1].abs()
            if step == k - 1:
                break
            if grad:
                correlation = correlation - step_dense @ gram
            else:  # the chosen candidate's column, with the signs of its flips
                picked = gram.gather(-2, column.view(b, 1, n_ranges, 1).expand(-1, 4, -1, c.n_aux))  # (B, 4, R, n_aux)
                correlation = correlation - (picked * (signs[:, :, 0] * values[-1]).mT[..., None]).sum(1)
        return torch.cat(indices, -1), torch.cat(values, -1), dense

    def _orient(self, partial: torch.Tensor, which: torch.Tensor | None) -> tuple:
        """The best isometry of bases, from the partial products of :meth:`_pursuit`.

        Parameters
        ----------
        partial : Tensor, shape (B, 2, 2, R, n_columns)
        which : Tensor of int64, shape (B, R, n), or None for every base

        Returns
        -------
        signed : Tensor, shape (B, R, n)
            The correlation with the base in its best isometry (a base without isometries: as it is).
        slot, column : Tensor of int64, shape (B, R, n)
            Its candidate index and its column of :attr:`_Tiles.table`.
        signs : Tensor, shape (B, R, n, 4)
            The signs of its parity classes (a, b), for the residual update.
        """
        b, _, _, n_ranges, _ = partial.shape
        n_bases = len(self.base_columns)
        if which is None:
            which = torch.arange(n_bases).expand(b, n_ranges, -1)
        n = which.shape[-1]
        columns = self.base_columns[which].view(b, n_ranges, 1, 1, 2 * n).expand(-1, -1, 2, 2, -1)
        products = partial.permute(0, 3, 1, 2, 4).gather(-1, columns)  # (B, R, a, b, (n, t)); a view for n = 1
        products = products.view(b, n_ranges, 4, n, 2).transpose(2, 3).reshape(b, n_ranges, n, 8)
        signed = products @ self.combine  # (B, R, n, 8): the 8 isometries
        isometry = signed.abs().max(-1, keepdim=True).indices * self.has_isometries[which, None]  # else the identity
        slot, column = self.slot_column[isometry[..., 0] * n_bases + which].unbind(-1)
        return signed.gather(-1, isometry)[..., 0], slot, column, self.class_signs[isometry[..., 0]]

    def _candidate_table(self, table: torch.Tensor) -> torch.Tensor:
        """Every candidate's centred coordinates, (B, 2, 2, m, m, n_candidates), from :attr:`_Tiles.table`."""
        if not self.config.augment:
            return table
        n, signs = self.config.n_domains, self.class_signs.view(8, 2, 2, 1, 1, 1)
        copies = [table[..., t * n : (t + 1) * n] * signs[i] for i, (t, _, _) in enumerate(ISOMETRIES)]
        return torch.cat([*copies, table[..., 2 * n :]], -1)


def _best_sizes(partial: torch.Tensor, n_iso: int) -> torch.Tensor:
    """The largest |correlation| of every base over its isometries, (B, R, n_bases).

    A domain X transposed (t) and flipped (rows fr, columns fc) has the coordinates of X or X^T
    with the antisymmetric rows negated by fr and columns by fc, so its correlation with a range
    is ``U + (-1)^fr V`` with ``U = P_00 + (-1)^fc P_01`` and ``V = P_10 + (-1)^fc P_11``
    (``P_ab`` the partial products of class (a, b) with X or X^T): at most ``|U| + |V|`` over fr.

    Parameters
    ----------
    partial : Tensor, shape (B, 2, 2, R, n_columns)
        Products per parity class (a, b) with the columns of :attr:`_Tiles.table`: ``n_iso``
        domains, the same transposed, then the bases without isometries.
    n_iso : int
    """
    plain = _class_sum(partial[..., 2 * n_iso :]).abs_()
    if not n_iso:
        return plain
    iso = partial[..., : 2 * n_iso]
    same, flipped = (iso[:, :, 0] + iso[:, :, 1]).abs_(), (iso[:, :, 0] - iso[:, :, 1]).abs_()  # (B, a, R, 2 n_iso)
    sizes = torch.maximum(same[:, 0].add_(same[:, 1]), flipped[:, 0].add_(flipped[:, 1]))  # in place: fewer buffers
    return torch.cat([torch.maximum(sizes[..., :n_iso], sizes[..., n_iso:]), plain], -1)


def _class_sum(partial: torch.Tensor) -> torch.Tensor:
    """(B, 2, 2, R, n) products per parity class -> (B, R, n) correlations."""
    return partial[:, 0, 0] + partial[:, 0, 1] + partial[:, 1, 0] + partial[:, 1, 1]


class _Tiles(NamedTuple):
    """What the pursuit needs of a batch of B tiles: R ranges, and the bases (domains, then auxiliary patches).

    Patches are centred and written in parity coordinates (:func:`_parity_coordinates`, m =
    ceil(range_size / 2)), class-major: (a, b) is the row and column class (0 symmetric, 1
    antisymmetric), 4 classes of m x m coordinates.

    Attributes
    ----------
    residual : Tensor, shape (B, 4, R, m * m)
        The centred ranges.
    table : Tensor, shape (B, 2, 2, m, m, n_columns)
        The centred bases: the domains, with ``augment`` the domains transposed, then the auxiliary patches.
    range_energy : Tensor, shape (B, R, 1)
    base_energy : Tensor, shape (B, 1, n_bases)
    range_mean : Tensor, shape (B, R)
    base_mean : Tensor, shape (B, n_bases)
    learned : Tensor, shape (B, R, n_bases)
        The learned match of every range and base, plus the prior of the base.
    """

    residual: torch.Tensor
    table: torch.Tensor
    range_energy: torch.Tensor
    base_energy: torch.Tensor
    range_mean: torch.Tensor
    base_mean: torch.Tensor
    learned: torch.Tensor


def _parity_coordinates(size: int) -> torch.Tensor:
    """Flattened ``size x size`` patches -> centred parity coordinates: (size^2, 4 m^2), m = ceil(size / 2).

    With A the orthonormal basis of length-``size`` vectors whose first m columns are
    mirror-symmetric (unchanged by reversing the vector) and last m antisymmetric (negated; for
    an odd size the last one is zero), the coordinates of a patch X are ``A^T X A`` ordered
    (a, b, i, j): row class a, column class b, then i, j within the classes. A flip of the rows
    or columns negates the antisymmetric rows or columns, a transpose transposes. The patch's
    mean is removed first, so the coordinates are those of the centred patch (orthonormal: the
    same inner products).
    """
    m = (size + 1) // 2
    basis = torch.zeros(size, 2 * m, dtype=torch.float64)
    for j in range(m):
        mirror = size - 1 - j
        if j == mirror:  # the middle of an odd size
            basis[j, j] = 1.0
        else:
            basis[j, j] = basis[mirror, j] = basis[j, m + j] = 0.5**0.5
            basis[mirror, m + j] = -(0.5**0.5)
    coordinates = torch.einsum("yp,xq->yxpq", basis, basis).reshape(size, size, 2, m, 2, m)
    coordinates = coordinates.permute(0, 1, 2, 4, 3, 5).reshape(size * size, 4 * m * m)
    return (coordinates - coordinates.mean(0)).float()


class _PatchNet(nn.Module):
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


# ---- training -------------------------------------------------------------------------------------
#: The default geometry: 64x64 tiles, 8x8 ranges, 16 domains in 8 isometries, 8 auxiliary patches (136 candidates).
#: Half-overlapping domains (``overlap=True``, 400 candidates) gain about 0.7 dB for 0.02 bpp more on the 256x256
#: photo but take about 1.4 times as long to encode.
DEFAULT_CONFIG = CollageConfig(
    crop=64, range_size=8, n_aux=8, augment=True, whole_domain=False, s_max=0.9, overlap=False
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
    steps: int = 300,
    batch: int = 16,
    lr: float = 3e-3,
    decode_steps: int = 8,
    top_k: int = 2,
    seed: int = 0,
    progress: bool = False,
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
    _fit_contrast_cost(model, random_crops(images, config.crop, 4 * batch, generator))
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
        raise FormatError(
            f"image encoder version {payload.get('version')}, this ifskit reads version {MODEL_VERSION} "
            "(retrain with 'ifskit train-image-encoder')",
            path,
        )
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
    return _cut_tiles(np.asarray(image, np.float32) * np.float32(1 / 255), crop)


def _cut_tiles(plane: np.ndarray, side: int) -> torch.Tensor:
    """A float32 plane padded (edges repeated) to whole tiles and cut: (n_tiles, 1, side, side), row by row."""
    h, w = plane.shape
    padded = np.pad(plane, ((0, -h % side), (0, -w % side)), mode="edge") if h % side or w % side else plane
    rows, cols = padded.shape[0] // side, padded.shape[1] // side
    tiles = padded.reshape(rows, side, cols, side).transpose(0, 2, 1, 3).reshape(-1, 1, side, side)
    return torch.from_numpy(np.ascontiguousarray(tiles))


@functools.cache
def _keep_freed_memory() -> None:
    """Let the C allocator keep freed blocks of up to 16 MB for reuse (once per process).

    An encoding's temporaries are some MB; glibc's malloc returns freed blocks above its
    threshold (128 KB at start) to the OS, so every call page-faults them in again -- about
    half the time of encoding a 256x256 image. Freeing one 16 MB block raises that threshold
    (malloc's dynamic mmap threshold) to 16 MB and the trim threshold to 32 MB; the process
    keeps that much freed memory. Other allocators ignore it.
    """
    block = torch.empty(16 << 20, dtype=torch.uint8)
    del block


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
    _keep_freed_memory()
    tiles = image_tiles(image, config.crop)
    top = 2 ** (weight_bits - 1) - 1
    with torch.inference_mode():
        aux = torch.round(model.aux() * 255) / 255  # what the decoder will see
        parts = []
        for chunk in torch.split(tiles, _TILES_PER_PASS):  # bounds the (tiles, ranges, candidates) scores
            index, weights, picked_mean, range_mean = model.select(chunk, aux)
            q = torch.trunc(weights * (top / config.s_max))  # toward zero: every range keeps sum |w| <= s_max
            parts.append((index, q, range_mean - (q * picked_mean).sum(-1) * (config.s_max / top)))
        index, q, bias = parts[0] if len(parts) == 1 else (torch.cat(column) for column in zip(*parts))
        low, high = BIAS_RANGE
        q_bias = torch.round((bias.clamp(low, high) - low) * ((2**BIAS_BITS - 1) / (high - low))).to(torch.int64)
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
