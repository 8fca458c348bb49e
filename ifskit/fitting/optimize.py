"""The optimization: Adam steps on maps' parameters, minimizing the distance between a cloud and its collage.

Every step takes a fresh random subset of the cloud, maps it by every map (the
collage), and measures the collage against the cloud: the collage's points should lie
near the cloud and cover it (:func:`collage_loss`), plus a penalty on images that
overlap (:func:`overlap_penalty`). The learning rate decays on a cosine schedule.
Several rows (restarts, candidate starts, or the clouds of a batch) are optimized at
once; rows of one problem are narrowed to the one whose attractor is nearest its cloud
after the first fifth of the steps (:mod:`~ifskit.fitting.choice`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from ..ops.contractive import maps_from_entries, maps_from_params, project_entries_
from ..ops.knn import nearest_distances
from ..ops.losses import CHAIN_SHARE_FLOOR, attractor_chamfer, collage, map_shares, soft_maximum, splat
from .choice import nearest_attractor_rows

#: Cloud points whose images make the collage of one optimization step, and cloud
#: points checked for coverage by it: a fresh random subset every step.
STEP_POINTS = (1024, 2048)
#: Adam's (beta1, beta2) of refinement steps: moment estimates of shorter memory suit
#: runs of a few dozen steps; on 96 clouds (seeds 777, 778) after 10 / 20 / 30 steps,
#: mean Chamfer 0.0190 / 0.0178 / 0.0173 with torch's (0.9, 0.999), 0.0186 / 0.0175 / 0.0169 with these.
REFINE_BETAS = (0.8, 0.99)
#: Weight of the overlap penalty, in units of the normalized cloud (radius 1); the
#: starting maps are picked with the same weight.
OVERLAP_WEIGHT = 0.05
# Most target cells whose images make the occupancy term of one step (a fresh subset each step).
OCCUPANCY_SOURCES = 1536
# Temperature of the smooth Hausdorff loss, in units of the normalized cloud (radius 1).
_TEMPERATURE = 0.02


@dataclass(frozen=True)
class OptimizerSettings:
    """How :func:`optimize_maps` moves the maps, built by :func:`~ifskit.fitting.fit` and :func:`~ifskit.fitting.refine`.

    Their arguments of the same names, checked there, fill it (in the manner of
    pytorch3d's ``PointsRasterizationSettings``), instead of a long keyword list.

    Attributes
    ----------
    steps : int
        Adam steps.
    lr : float
        Initial learning rate; cosine decay to 2% of it over the steps.
    max_contraction : float
        Bound on every singular value of every map, in (0, 1).
    device : torch.device
        Where the steps run: float64 on the CPU, float32 on a GPU.
    parametrization : {"angles", "entries"}
        What the optimizer moves. ``"angles"``: rotations and bounded singular values,
        contractive by construction (:func:`~ifskit.ops.contractive.maps_from_params`).
        ``"entries"``: the matrix entries and translations, projected back onto the
        bound after each step (:func:`~ifskit.ops.contractive.project_entries_`): for
        starts already near the answer, whose last steps the coupled angles slow down.
        The starts given to :func:`optimize_maps` are raw parameters of this kind.
    betas : (float, float)
        Adam's decay rates of its moment estimates; default torch's.
    loss : {"chamfer", "hausdorff"}
        Distance between each step's collage and the cloud: Chamfer (the mean of the
        two mean nearest-neighbour distances) or a smooth (log-sum-exp) Hausdorff distance.
    power : float
        With ``"chamfer"``: the order of the power mean of each direction's distances,
        ``mean(d ** power) ** (1 / power)``. 1 is the Chamfer distance; a higher order weighs
        the farthest points more: a copy that juts out of the cloud, a thin part left
        uncovered.
    attractor_weight : float
        Weight of the attractor term added to the loss: the Chamfer distance between the
        cloud and short chaos-game chains started from the step's source points
        (:func:`~ifskit.ops.losses.attractor_chamfer`); 0: none.
    step_points : (int, int)
        Cloud points whose images make each step's collage (and start its chains), and
        cloud points checked for coverage by it.
    min_ratio : float
        With ``"entries"``: least ratio of every singular value to the map's largest,
        kept by the projection after each step (0: none).
    occupancy : Occupancy or None
        The target's grid (:mod:`~ifskit.fitting.occupancy`) for the occupancy term
        (:func:`occupancy_loss`) of one cloud; None: none.
    occupancy_weight : float
        Weight of that term.
    overlap_weight : float
        Weight of the overlap penalty (:func:`overlap_penalty`); 0: none.
    progress : bool or None
        Progress bar over the steps; None: only on a terminal.
    """

    steps: int
    lr: float
    max_contraction: float
    device: torch.device
    parametrization: Literal["angles", "entries"] = "angles"
    betas: tuple[float, float] = (0.9, 0.999)
    loss: Literal["chamfer", "hausdorff"] = "chamfer"
    power: float = 1.0
    attractor_weight: float = 0.0
    step_points: tuple[int, int] = STEP_POINTS
    min_ratio: float = 0.0
    progress: bool | None = None
    occupancy: object = None
    occupancy_weight: float = 0.0
    overlap_weight: float = OVERLAP_WEIGHT


def optimize_maps(
    unit: np.ndarray, starts: list, settings: OptimizerSettings, rng: np.random.Generator, seed: int, groups=None
):
    """Optimize maps from several starts on the normalized cloud ``unit``, or each on its own cloud of a batch.

    Parameters
    ----------
    unit : ndarray, shape (n, d) or (B, n, d)
        One cloud in the unit ball, shared by every start (restarts), or a batch of
        clouds, one per start (each drawing its subsets and chains from its own
        generator: its result does not depend on the others).
    starts : list of R Tensors, shapes (k, P)
        Raw parameters of each start, in ``settings.parametrization``; R = B for a batch.
    settings : OptimizerSettings
    rng : numpy.random.Generator
        Seeds the torch generators of the steps' random subsets (one draw).
    seed : int
        Seed of the chaos games that choose among the rows of a problem.
    groups : array_like of int, shape (R,), optional
        The problem 0 .. G-1 each row belongs to; default: one problem for one cloud (its
        restarts), one per row for a batch. A problem with several rows keeps, after the
        first fifth of the steps (at once without steps), the row whose attractor is
        nearest its cloud, with its Adam moments.

    Returns
    -------
    A : ndarray, shape (k, d, d), or (G, k, d, d) for a batch (the row kept per problem)
    b : ndarray, shape (k, d), or (G, k, d)
    history : ndarray, shape (steps,)
        The loss per step (the least over the rows).
    """
    batch = unit.ndim == 3
    dim = unit.shape[-1]
    k = starts[0].shape[-2]
    device, steps = settings.device, settings.steps
    dtype = torch.float64 if device.type == "cpu" else torch.float32
    raw = torch.stack(starts).to(device=device, dtype=dtype).requires_grad_()
    target = torch.as_tensor(unit, device=device, dtype=dtype)
    generator_seed = int(rng.integers(2**62))
    generators = [torch.Generator().manual_seed(generator_seed) for _ in (starts if batch else [0])]
    optimizer = torch.optim.Adam([raw], lr=settings.lr, betas=settings.betas)
    if groups is None:
        groups = np.arange(len(starts)) if batch else np.zeros(len(starts), dtype=int)
    groups = np.asarray(groups)
    choose = len(np.unique(groups)) < len(groups)
    warmup = steps // 5 if choose else 0

    def choose_rows():
        """Go on with the row nearest its cloud (per problem), its Adam moments kept."""
        nonlocal raw, optimizer, target, generators
        A, b = _numpy_maps(raw, dim, settings)
        rows = nearest_attractor_rows(A, b, unit if batch else [unit] * len(A), groups, seed)
        if batch:
            target, generators = target[rows], [generators[i] for i in rows]
        raw, optimizer = _keep_rows(raw, optimizer, rows, settings)

    history = np.zeros(steps)
    hidden = None if settings.progress is None else not settings.progress  # None: tqdm shows it on a terminal
    bar = tqdm(range(steps), desc=f"fit {k} maps", disable=hidden, leave=False)
    for step in bar:
        if step == warmup and choose:
            choose_rows()
            choose = False
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * step / max(1, steps))))
        sources, covered = _step_subsets(target, generators, settings.step_points)
        A, b = _maps(raw, dim, settings)
        value, nearest_image = collage_loss(collage(sources, A, b), target, covered, settings.loss, settings.power)
        if settings.overlap_weight:
            value = value + settings.overlap_weight * overlap_penalty(A)
        if settings.occupancy is not None and settings.occupancy_weight:
            value = value + settings.occupancy_weight * occupancy_loss(A, b, settings.occupancy, generators[0])
        if settings.attractor_weight:
            # the chains' map probabilities: shares of the covered points, from the loss's own search
            p = map_shares(nearest_image // sources.shape[-2], k, CHAIN_SHARE_FLOOR / k, A.dtype)
            value = value + settings.attractor_weight * attractor_chamfer(
                sources, A, b, generator=generators if batch else generators[0], target=covered, p=p
            )
        optimizer.zero_grad()
        value.sum().backward()
        optimizer.step()
        if settings.parametrization == "entries":
            project_entries_(raw, dim, settings.max_contraction, settings.min_ratio)
        history[step] = float(value.detach().min())
    if choose:  # no steps: the rows are chosen as they are
        choose_rows()
    A, b = _numpy_maps(raw, dim, settings)
    return (A, b, history) if batch else (A[0], b[0], history)


def _maps(raw, dim: int, settings: OptimizerSettings):
    """The maps ``A`` (..., k, d, d), ``b`` (..., k, d) of raw parameters (..., k, P) in the settings' parametrization."""
    if settings.parametrization == "entries":
        return maps_from_entries(raw, dim)
    return maps_from_params(raw, dim, settings.max_contraction)


def _numpy_maps(raw, dim: int, settings: OptimizerSettings):
    """:func:`_maps` as float64 arrays on the CPU, without gradient."""
    with torch.no_grad():
        A, b = _maps(raw.detach(), dim, settings)
        return A.cpu().double().numpy(), b.cpu().double().numpy()


def _keep_rows(raw, optimizer, rows: list, settings: OptimizerSettings):
    """The parameters of ``rows`` alone, and an Adam optimizer of them that has their moments.

    Parameters
    ----------
    raw : Tensor, shape (R, k, P)
    optimizer : torch.optim.Adam
        Of ``raw``.
    rows : list of int
    settings : OptimizerSettings

    Returns
    -------
    raw : Tensor, shape (len(rows), k, P)
    optimizer : torch.optim.Adam
    """
    state = optimizer.state[raw]
    raw = raw[rows].detach().clone().requires_grad_()
    optimizer = torch.optim.Adam([raw], lr=settings.lr, betas=settings.betas)
    if state:  # a fresh Adam would take full-size first steps and jump away
        optimizer.state[raw] = {
            "step": state["step"].clone(),
            "exp_avg": state["exp_avg"][rows].clone(),
            "exp_avg_sq": state["exp_avg_sq"][rows].clone(),
        }
    return raw, optimizer


def _step_subsets(target, generators, step_points):
    """The step's random source and covered points, ``step_points`` of each.

    Parameters
    ----------
    target : Tensor, shape (n, d) or (B, n, d)
        One cloud (its subsets are shared by every restart), or a batch of clouds.
    generators : list of torch.Generator
        One, or one per cloud of the batch: each cloud draws from its own.
    step_points : (int, int)

    Returns
    -------
    sources, covered : Tensor, shapes (m, d) and (c, d), or (B, m, d) and (B, c, d)
    """

    def draw(cloud, generator):
        return [
            cloud[torch.randperm(len(cloud), generator=generator)[:count].to(cloud.device)] for count in step_points
        ]

    if target.dim() == 2:
        return tuple(draw(target, generators[0]))
    sources, covered = zip(*(draw(cloud, generator) for cloud, generator in zip(target, generators)))
    return torch.stack(sources), torch.stack(covered)


def collage_loss(images, target, covered, loss: str, power: float = 1.0):
    """Loss between collages and the cloud: collage points near the cloud, cloud points covered.

    Parameters
    ----------
    images : Tensor, shape (B, m, d)
        The collage of each row.
    target : Tensor, shape (n, d) or (B, n, d)
        The whole cloud, which the collage points are compared with.
    covered : Tensor, shape (c, d) or (B, c, d)
        The cloud points whose coverage by the collage is checked.
    loss : {"chamfer", "hausdorff"}
    power : float
        With ``"chamfer"``: each direction's distances averaged as ``mean(d ** power) ** (1 / power)``.

    Returns
    -------
    value : Tensor, shape (B,)
    nearest_image : Tensor of int64, shape (B, c)
        For every covered point, the index of its nearest collage point.
    """
    inside = nearest_distances(images, target)
    coverage, nearest_image = nearest_distances(covered, images, return_index=True)
    if loss == "chamfer":
        return 0.5 * (_power_mean(inside, power) + _power_mean(coverage, power)), nearest_image
    return soft_maximum(torch.cat([inside, coverage], dim=-1), _TEMPERATURE), nearest_image


def _power_mean(distances, power: float):
    """``mean(d ** power) ** (1 / power)`` over the last axis; the plain mean for ``power = 1`` (the same bits)."""
    if power == 1:
        return distances.mean(-1)
    # the floor keeps the gradient of the root finite where every distance is 0
    return (distances.pow(power).mean(-1) + torch.finfo(distances.dtype).tiny).pow(1 / power)


def overlap_penalty(A):
    """Penalty on total image volume beyond the cloud's: ``relu(sum_i |det A_i| - 1)``.

    Maps whose images are disjoint (the open set condition) have ``sum |det A_i| <= 1``.
    The Chamfer collage error alone does not see overlap: several near-identity maps
    cover the cloud well, yet their attractor is a blur.

    Parameters
    ----------
    A : Tensor, shape (B, k, d, d)

    Returns
    -------
    Tensor, shape (B,)
    """
    return torch.relu(torch.linalg.det(A).abs().sum(-1) - 1)


def occupancy_loss(A, b, occ, generator):
    """Soft coverage and spill of the collage of the target's cells, at the grid's resolution.

    The images of the target's cell centres (jittered within their cells) are splatted onto
    the target's grid, each with the area of its cell's image (``|det A_k|`` cells): the
    mass of a cell is about the share of it the collage covers. The loss is the share of the
    target's cells left uncovered (``relu(1 - mass)``) plus the mass outside the target
    weighted by its distance to it (in cells), as a share of the target's cells.

    Parameters
    ----------
    A : Tensor, shape (B, k, d, d)
    b : Tensor, shape (B, k, d)
    occ : Occupancy
    generator : torch.Generator
        Draws the step's cells (at most :data:`OCCUPANCY_SOURCES`) and their jitter.

    Returns
    -------
    Tensor, shape (B,)
    """
    dtype, device = A.dtype, A.device
    dim = A.shape[-1]
    centres = torch.as_tensor(occ.centres, dtype=dtype, device=device)
    count = len(centres)
    if count > OCCUPANCY_SOURCES:
        centres = centres[torch.randperm(count, generator=generator)[:OCCUPANCY_SOURCES].to(device)]
    jitter = (torch.rand(centres.shape, generator=generator, dtype=torch.float64) - 0.5).to(device=device, dtype=dtype)
    sources = centres + jitter * occ.cell
    images = torch.einsum("bkij,mj->bkmi", A, sources) + b[:, :, None, :]
    # each source stands for count / len(sources) cells, its image for |det A_k| of that
    mass = (torch.linalg.det(A).abs() * (count / len(sources)))[:, :, None].expand(-1, -1, len(sources))
    batch = A.shape[0]
    lo = torch.as_tensor(occ.lo, dtype=dtype, device=device)
    size = occ.grid.shape[0]
    density = splat(images.reshape(batch, -1, dim), mass.reshape(batch, -1), lo, occ.cell, size)
    grid = torch.as_tensor(occ.grid.reshape(-1), dtype=dtype, device=device)
    spill = torch.as_tensor(occ.spill.reshape(-1), dtype=dtype, device=device)
    spilled = (density * spill).sum(-1) / count
    missed = torch.relu(grid - density).sum(-1) / count
    return missed + spilled
