"""The exact, batched candidate search of the image encoder (torch).

For each range patch of a tile, :meth:`CandidateSearch.pursuit` chooses a few candidates (the
tile's domain patches in their 8 isometries, and the auxiliary patches) and their contrasts by
matching pursuit, batched over tiles, ranges and candidates; the scores come from the model
(:class:`~ifskit.image.encoder.model.CollageEncoder`), which also writes the patches in the
coordinates below (:class:`Tiles`).

The search is exact and cheap. Patches are written in a basis of mirror-symmetric and
antisymmetric parts (:func:`parity_coordinates`), where a flip only changes the sign of
some coordinates and a transpose permutes them: the correlations of a range with the 8
isometries of a domain are sums and differences of 8 partial products over a quarter of
the coordinates each (a quarter of the multiplications of correlating the 8 copies), and
since the score grows with the absolute correlation, a domain's best isometry follows from
those sums without scoring the 8 copies.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ..collage import ISOMETRIES, CollageConfig


class CandidateSearch(nn.Module):
    """The candidate search for one collage geometry: its index tables and the pursuit.

    The base class of :class:`~ifskit.image.encoder.model.CollageEncoder`, which adds the learned
    scores. The tables are buffers that are not saved (they follow from the configuration): they
    move with the model to a device and leave its ``state_dict``, and so its model files, as
    they are.

    Parameters
    ----------
    config : CollageConfig

    Attributes
    ----------
    coordinates : Tensor, shape (range_size^2, 4 m^2)
        :func:`parity_coordinates` of a range patch, m = ceil(range_size / 2).
    candidate_base : Tensor of int64, shape (n_candidates,)
        The base (domain or auxiliary patch) of each candidate.
    """

    def __init__(self, config: CollageConfig):
        super().__init__()
        self.config = config
        self.register_buffer("coordinates", parity_coordinates(config.range_size), persistent=False)
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

    def pursuit(self, tiles: Tiles, top_k: int, sharpness: torch.Tensor, contrast_cost: torch.Tensor) -> tuple:
        """Matching pursuit: (index (B, R, k), contrasts (B, R, k), dense (B, R, C) or None).

        The first candidate of a range is chosen among all bases, the others among the
        auxiliary patches: their correlations with what is left of the range are those with the
        range less the chosen candidates' correlations with the auxiliary patches (a small
        table per tile), so the residual itself is never formed. ``dense`` carries the
        straight-through gradient and is computed only when grad is enabled.

        Parameters
        ----------
        tiles : Tiles
            B tiles of R ranges.
        top_k : int
            Candidates per range; at most ``1 + max(n_aux - 1, 0)`` are chosen.
        sharpness : Tensor, shape ()
            Scale of the share of a range's variance that a candidate explains, in the score.
        contrast_cost : Tensor, shape ()
            Cost per unit of contrast, subtracted from the score.

        Returns
        -------
        index : Tensor of int64, shape (B, R, k)
            The chosen candidates.
        contrasts : Tensor, shape (B, R, k)
            Their weights, ``sum |w| <= s_max`` per range.
        dense : Tensor, shape (B, R, n_candidates), or None without grad
            The same weights scattered, with the straight-through gradient.
        """
        c = self.config
        b, _, n_ranges, mm = tiles.residual.shape
        n_iso = c.n_domains if c.augment else 0  # bases searched in their 8 isometries
        grad = torch.is_grad_enabled()
        dense = torch.zeros(b, n_ranges, c.n_candidates) if grad else None
        scale = sharpness / (tiles.range_energy + 1e-4)  # gain -> share of the variance, sharpened
        cost = -contrast_cost
        energy = tiles.base_energy.clamp(min=1e-6)  # (B, 1, bases)
        table = tiles.table.view(b, 4, mm, -1)
        aux = table[0, ..., table.shape[-1] - c.n_aux :]  # (4, mm, n_aux): the same in every tile
        k = 1 + min(top_k - 1, max(c.n_aux - 1, 0))  # an auxiliary patch is left whatever the first choice
        partial = torch.bmm(tiles.residual.view(b * 4, n_ranges, mm), table.view(b * 4, mm, -1))
        partial = partial.view(b, 2, 2, n_ranges, -1)  # (B, a, b, R, columns): the products per class
        correlation = class_sum(partial[..., partial.shape[-1] - c.n_aux :])  # (B, R, n_aux)
        if k > 1 and grad:  # every candidate's correlation with the auxiliary patches
            gram = self.candidate_table(tiles.table).view(b, 4 * mm, -1).mT @ aux.reshape(4 * mm, -1)
        elif k > 1:  # per parity class, every column's: (B, 4, columns, n_aux)
            gram = table.mT @ aux
        aux_learned = tiles.learned[..., c.n_domains :]
        aux_slots = torch.arange(c.n_candidates - c.n_aux, c.n_candidates).expand(b, n_ranges, -1)
        bases, indices, values = [], [], []
        budget = c.s_max  # what is left of s_max for each range
        for step in range(k):
            if step == 0:
                size = best_sizes(partial, n_iso)  # (B, R, bases): the largest |correlation| over the isometries
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
                signed, slot, column, signs = self.orient(partial, None if grad else best)
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

    def orient(self, partial: torch.Tensor, which: torch.Tensor | None) -> tuple:
        """The best isometry of bases, from the partial products of :meth:`pursuit`.

        Parameters
        ----------
        partial : Tensor, shape (B, 2, 2, R, n_columns)
        which : Tensor of int64, shape (B, R, n), or None for every base

        Returns
        -------
        signed : Tensor, shape (B, R, n)
            The correlation with the base in its best isometry (a base without isometries: as it is).
        slot, column : Tensor of int64, shape (B, R, n)
            Its candidate index and its column of :attr:`Tiles.table`.
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

    def candidate_table(self, table: torch.Tensor) -> torch.Tensor:
        """Every candidate's centred coordinates, (B, 2, 2, m, m, n_candidates), from :attr:`Tiles.table`."""
        if not self.config.augment:
            return table
        n, signs = self.config.n_domains, self.class_signs.view(8, 2, 2, 1, 1, 1)
        copies = [table[..., t * n : (t + 1) * n] * signs[i] for i, (t, _, _) in enumerate(ISOMETRIES)]
        return torch.cat([*copies, table[..., 2 * n :]], -1)


def best_sizes(partial: torch.Tensor, n_iso: int) -> torch.Tensor:
    """The largest |correlation| of every base over its isometries, (B, R, n_bases).

    A domain X transposed (t) and flipped (rows fr, columns fc) has the coordinates of X or X^T
    with the antisymmetric rows negated by fr and columns by fc, so its correlation with a range
    is ``U + (-1)^fr V`` with ``U = P_00 + (-1)^fc P_01`` and ``V = P_10 + (-1)^fc P_11``
    (``P_ab`` the partial products of class (a, b) with X or X^T): at most ``|U| + |V|`` over fr.

    Parameters
    ----------
    partial : Tensor, shape (B, 2, 2, R, n_columns)
        Products per parity class (a, b) with the columns of :attr:`Tiles.table`: ``n_iso``
        domains, the same transposed, then the bases without isometries.
    n_iso : int
    """
    plain = class_sum(partial[..., 2 * n_iso :]).abs_()
    if not n_iso:
        return plain
    iso = partial[..., : 2 * n_iso]
    same, flipped = (iso[:, :, 0] + iso[:, :, 1]).abs_(), (iso[:, :, 0] - iso[:, :, 1]).abs_()  # (B, a, R, 2 n_iso)
    sizes = torch.maximum(same[:, 0].add_(same[:, 1]), flipped[:, 0].add_(flipped[:, 1]))  # in place: fewer buffers
    return torch.cat([torch.maximum(sizes[..., :n_iso], sizes[..., n_iso:]), plain], -1)


def class_sum(partial: torch.Tensor) -> torch.Tensor:
    """(B, 2, 2, R, n) products per parity class -> (B, R, n) correlations."""
    return partial[:, 0, 0] + partial[:, 0, 1] + partial[:, 1, 0] + partial[:, 1, 1]


class Tiles(NamedTuple):
    """What the pursuit needs of a batch of B tiles: R ranges, and the bases (domains, then auxiliary patches).

    Patches are centred and written in parity coordinates (:func:`parity_coordinates`, m =
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


def parity_coordinates(size: int) -> torch.Tensor:
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
