"""Self-supervised training of the point-cloud encoder with the collage theorem (torch).

Objective
---------
For an input cloud ``T`` the encoder proposes maps ``w_1..w_K`` (contractive by
construction, largest contraction ``s``). The loss is the collage bound plus the
attractor term,

    L = chamfer(W(T), T) / (1 - s)  +  lambda * chamfer(W_chain(T), T),

``W(T) = w_1(T) U ... U w_K(T)`` the collage, ``W_chain(T)`` every point of ``T`` moved
by a short chaos game of 8 random maps (:func:`ifskit.ops.losses.attractor_chamfer`).
Why this and not something else:

* No parameter regression: the same attractor has many IFS codes (maps composed
  with symmetries, permuted, split), so regressing the generator's parameters would
  punish correct answers. Both terms judge maps only by what they do to the cloud,
  so training also works on clouds that are not attractors of any IFS.
* The first term is the right-hand side of the collage theorem
  (``d(T, attractor) <= d(T, W(T)) / (1 - s)``, Chamfer in place of Hausdorff). The
  ``1 / (1 - s)`` weight is what turns a small collage error into a small distance
  between the *attractor* and the cloud: without it, maps with ``s`` near 1 make
  cheap collages whose attractors are far off. Its gradient is simple (one map
  between a point and its image) and it leads a fresh network to maps that tile
  the cloud.
* But a bound is not the distance: among maps with equally small bounds it does not
  prefer the one whose attractor is nearest, and the shipped model trained on the
  bound alone stalled at a held-out one-shot Chamfer of 0.063. The attractor term
  measures that distance directly. The chains start on the cloud itself, which is
  near the attractor of good maps, so 8 maps (contraction <= 0.9: the gradient
  through their products stays bounded) already reach the attractor. With it
  (``attractor_weight=30``) the same network and schedule reach 0.0365
  (``benchmarks/bench_encoder.py``).

Every head (one per number of maps ``K``) is trained on every cloud, whatever ``K``
generated it: the objective does not need the true ``K``.

Training clouds (:func:`ifskit.neural.dataset.training_cloud`): attractors of random IFS
(drawn on the fly with the Numba chaos game), and, as users bring clouds that are not
attractors, procedural shapes (``shape_share`` of them: filled polygons with holes,
ellipses, strokes, outlines; in 3D extrusions, solids of revolution, blobs, terrains,
:mod:`ifskit.neural.shapes`) and optionally the user's own clouds (``data``).

Determinism: the weights start from ``torch.manual_seed(seed)`` (or from the
checkpoint ``init``), the batch of step ``t`` is samples ``t * B .. t * B + B - 1`` of
the training dataset ``seed``, and the chains of step ``t`` draw their maps from a
generator seeded with ``(seed, t)``, so a resumed run continues exactly as an
uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import numpy as np
import torch

from .._io import check_output
from ..errors import FormatError, ParameterError
from ..ops.device import one_torch_thread, resolve_device
from ..ops.losses import CHAIN_SHARE_FLOOR, attractor_chamfer, chamfer, collage, map_shares, splat
from .dataset import load_user_clouds, training_cloud
from .model import AnchorCopies, build_encoder, default_hparams, load_checkpoint, normalize, save_checkpoint

#: Default weight ``lambda`` of the attractor term (the shipped model's).
ATTRACTOR_WEIGHT = 30.0
#: Settings a resumed run must share with the checkpoint it continues (``steps`` may grow).
_RESUME_KEYS = ("seed", "batch_size", "learning_rate", "maps", "attractor_weight", "shape_share", "data", "data_share")
#: Most optimizer steps of one run (about a month on a CPU).
MAX_STEPS = 10_000_000
#: Most clouds per step (memory grows with it).
MAX_BATCH = 4096
#: Default share of procedural shapes among the training clouds.
SHAPE_SHARE = 0.5
#: Default share of the user's clouds (``data``) among the training clouds.
DATA_SHARE = 0.5


def collage_bound(points, A, b, return_owner: bool = False):
    """The collage bound ``chamfer(W(T), T) / (1 - s)`` of maps on clouds.

    Parameters
    ----------
    points : Tensor, shape (B, N, d)
    A : Tensor, shape (B, K, d, d)
    b : Tensor, shape (B, K, d)
    return_owner : bool
        Also return which map's image covers each point (its nearest collage point's
        map), found by the same nearest-neighbour search.

    Returns
    -------
    Tensor, shape (B,)
    owner : Tensor of int64, shape (B, N)
        Only with ``return_owner``.
    """

    contraction = torch.linalg.matrix_norm(A, ord=2).amax(dim=-1)
    error, nearest_image = chamfer(collage(points, A, b), points, return_index=True)
    bound = error / (1 - contraction)
    return (bound, nearest_image.to(A.device) // points.shape[1]) if return_owner else bound


def training_loss(model, clouds, attractor_weight: float = 0.0, generator=None):
    """Mean objective over a batch, each cloud judging one head in turn.

    Cloud ``j`` trains head ``j mod H``: every head learns at every step while the
    collage (the costly part) is formed once per cloud.

    Parameters
    ----------
    model : PointCloudEncoder
    clouds : Tensor, shape (B, N, d)
        Clouds in any frame (normalized here).
    attractor_weight : float
        ``lambda``: weight of the attractor term (0: the collage bound alone).
    generator : torch.Generator, optional
        Map choices of the attractor term's chains.

    Returns
    -------
    Tensor, shape ()
    """

    normalized, _, _ = normalize(clouds)
    feature = model.features(normalized)
    n_heads = len(model.k_values)
    bounds = []
    for head in range(n_heads):
        part = normalized[head::n_heads]
        A, b = model.head_maps(feature[head::n_heads], head)
        value, owner = collage_bound(part, A, b, return_owner=True)
        if attractor_weight:
            p = map_shares(owner, A.shape[1], CHAIN_SHARE_FLOOR / A.shape[1], A.dtype)
            value = value + attractor_weight * attractor_chamfer(part, A, b, generator=generator, p=p)
        bounds.append(value)
    return torch.cat(bounds).mean()


def training_batch(step: int, seed: int, batch_size: int, n_points: int, dim: int, maps, **mix) -> np.ndarray:
    """The clouds of training step ``step``, shape (batch_size, n_points, dim), float32.

    ``mix``: ``shape_share``, ``user_clouds``, ``user_share`` of :func:`~ifskit.neural.dataset.training_cloud`.
    """

    first = step * batch_size
    return np.stack([training_cloud(first + j, seed, n_points, dim, maps=maps, **mix) for j in range(batch_size)])


def train_encoder(
    output,
    steps: int,
    *,
    seed: int = 0,
    dim: int = 2,
    device=None,
    resume: bool = False,
    overwrite: bool = False,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    maps: tuple[int, int] = (2, 4),
    attractor_weight: float = ATTRACTOR_WEIGHT,
    shape_share: float = SHAPE_SHARE,
    data=None,
    data_share: float = DATA_SHARE,
    init=None,
    checkpoint_every: int = 250,
    stop_at: int | None = None,
    hparams: dict | None = None,
    progress: bool = False,
) -> dict:
    """Train an encoder on synthetic clouds, checkpointing to ``output``.

    Parameters
    ----------
    output : str or Path
        Checkpoint file (``.pt``), rewritten atomically every ``checkpoint_every``
        steps and at the end.
    steps : int
        Total optimizer steps. A resumed run continues to this total: the same total
        as the interrupted run gives exactly the weights of an uninterrupted run; a
        larger one extends the training, the learning rate following the cosine
        schedule of the new total from the step reached.
    seed : int
        Initial weights and training data; same seed, same weights.
    dim : {2, 3}
    device : str, optional
        ``"cpu"`` or ``"cuda"``; default CUDA when present.
    resume : bool
        Continue from the checkpoint in ``output`` (its settings must match).
    overwrite : bool
        Start afresh even if ``output`` exists.
    batch_size : int
    learning_rate : float
        Adam, cosine-decayed to 1% over ``steps``.
    maps : (int, int)
        Map counts of the random IFS that make the training clouds.
    attractor_weight : float
        ``lambda``, the weight of the attractor term (see the module docstring); 0
        trains on the collage bound alone.
    shape_share : float
        Share of procedural shapes among the training clouds (0 to 1; 0: attractors only).
    data : str or Path, optional
        A folder of the user's point clouds (``.npy``, ``.ply``, ``.pcd``, ``.xyz``, ...,
        of dimension ``dim``), mixed into the training clouds.
    data_share : float
        Share of the user's clouds among the training clouds when ``data`` is given.
    init : str or Path, optional
        Fine-tune: start from the weights of this checkpoint (its architecture, a
        fresh optimizer and schedule) on the training data that follows the steps it
        has done.
    checkpoint_every : int
    stop_at : int, optional
        Stop (and checkpoint) after this many steps of the ``steps``-step schedule, as an
        interrupted run would; ``resume`` goes on from there. The weights are exactly
        those of the full run at that step.
    hparams : dict, optional
        Architecture; default :func:`ifskit.neural.model.default_hparams`.
    progress : bool
        Show a progress bar with the running loss.

    Returns
    -------
    dict
        ``steps`` (total done), ``loss`` (mean collage bound over the last 50 steps),
        ``seconds``, ``output``.

    Raises
    ------
    FormatError
        ``resume`` with a checkpoint of other settings, or with more steps done than
        ``steps``; an ``init`` checkpoint that is missing, bad, or of another dimension.
    IfskitError
        ``device="cuda"`` where CUDA is not available.
    """

    output = Path(output)
    device = resolve_device(device or ("cuda" if torch.cuda.is_available() else "cpu"), "train")
    settings = {
        "seed": int(seed),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate),
        "steps": int(steps),
        "maps": [int(maps[0]), int(maps[1])],
        "attractor_weight": float(attractor_weight),
        "shape_share": float(shape_share),
        "data": None if data is None else str(Path(data).resolve()),
        "data_share": float(data_share) if data is not None else 0.0,
        "first_step": 0,
    }
    if not 1 <= steps <= MAX_STEPS:
        raise ParameterError(f"steps must be from 1 to {MAX_STEPS:,}, got {steps}", "steps")
    n_heads = len((hparams or default_hparams(dim))["k_values"])
    if not n_heads <= batch_size <= MAX_BATCH:
        raise ParameterError(
            f"batch_size must be from {n_heads} (one cloud per head of the model) to {MAX_BATCH}, got {batch_size}",
            "batch_size",
        )
    for value, name in ((shape_share, "shape_share"), (data_share, "data_share")):
        if not 0 <= value <= 1:
            raise ParameterError(f"{name} must be between 0 and 1, got {value}", name)
    user_clouds = load_user_clouds(data, dim) if data is not None else []
    mix = {"shape_share": settings["shape_share"], "user_clouds": user_clouds, "user_share": settings["data_share"]}
    history = []
    if resume and output.exists():
        model, checkpoint = load_checkpoint(output, dim=dim)
        # older checkpoints: the collage bound alone, attractors only
        defaults = {"attractor_weight": 0.0, "first_step": 0, "shape_share": 0.0, "data": None, "data_share": 0.0}
        saved = {**defaults, **checkpoint.get("train", {})}
        settings["first_step"] = int(saved["first_step"])
        different = [key for key in _RESUME_KEYS if saved.get(key) != settings[key]]
        if different or "optimizer" not in checkpoint:
            what = ", ".join(f"{k} {saved.get(k)!r} -> {settings[k]!r}" for k in different) or "no optimizer state"
            raise FormatError(f"cannot resume this checkpoint with other settings ({what})", output)
        start_step = checkpoint["step"]
        if steps < start_step:
            raise ParameterError(
                f"{output}: this checkpoint has {start_step} steps done already, more than steps {steps}", "steps"
            )
        history = list(checkpoint.get("history", []))
    else:
        if not resume:
            check_output(output, overwrite, suffixes={".pt"})
        if init is not None:
            model, start = load_checkpoint(init, dim=dim)
            settings["first_step"] = int(start.get("train", {}).get("first_step", 0)) + int(start["step"])
        else:
            torch.manual_seed(seed)
            model = build_encoder(hparams or default_hparams(dim))
        checkpoint, start_step = None, 0
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))
    )
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        schedule.load_state_dict(checkpoint["schedule"])

    def save(step):
        extra = {
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "train": settings,
            "history": history,
        }
        save_checkpoint(output, model, step=step, extra=extra, overwrite=True)

    n_input = model.hparams["n_input"]
    start = time.perf_counter()
    # one torch thread on the CPU: the same weights, to the bit, whatever the machine's cores (a
    # thread pool sums in another order); the tensors are small, so it costs little
    with (
        one_torch_thread() if device.type == "cpu" else contextlib.nullcontext(),
        _LossLog(history, steps, start_step, "train-encoder", progress) as log,
    ):
        for step in range(start_step, steps if stop_at is None else min(steps, stop_at)):
            data_step = settings["first_step"] + step
            clouds = torch.as_tensor(
                training_batch(data_step, seed, batch_size, n_input, dim, maps, **mix), device=device
            )
            chains = torch.Generator().manual_seed(seed * 1_000_003 + data_step)
            loss = training_loss(model, clouds, attractor_weight, chains)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            log.record(step, loss.item())
            if (step + 1) % checkpoint_every == 0 and step + 1 < steps:
                save(step + 1)
    done = max(start_step, steps if stop_at is None else min(steps, stop_at))
    save(done)
    return {"steps": done, "loss": log.mean(), "seconds": round(time.perf_counter() - start, 3), "output": str(output)}


class _LossLog:
    """The running loss of a training loop: its mean over the last 50 steps, kept in ``history``
    (``[step, mean]`` every 10 steps), and a progress bar showing it when asked for. A context
    manager: the bar is closed however the loop ends."""

    def __init__(self, history: list, total: int, initial: int, label: str, progress: bool):
        self.history, self.recent = history, []
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=label, unit="step")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()

    def record(self, step: int, loss: float) -> None:
        """The loss of step ``step`` (0-based) done."""
        self.recent = (self.recent + [loss])[-50:]
        if (step + 1) % 10 == 0:
            self.history.append([step + 1, float(np.mean(self.recent))])
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{np.mean(self.recent):.4f}")

    def mean(self) -> float | None:
        """Mean loss of the last 50 steps recorded (None before any)."""
        return float(np.mean(self.recent)) if self.recent else None


#: Settings of the copies' training (:func:`train_copies`), the shipped 2D model's: anchors, points
#: per training cloud (the occupancy and Chamfer targets; the network reads ``n_input`` of them),
#: clouds in the pool, share of procedural shapes, weights of the occupancy and attractor terms.
#: Chosen on the 2D development shapes of benchmarks/bench_real.py (seed 0), mean IoU at 128^2 of the
#: copies alone (prototype runs, two threads each): 32 anchors, 3000 steps, occupancy weight 0.05 /
#: 0.2 (attractor weight 1) / 0.5: 0.433 / 0.670 / 0.675; 5000 steps, 32 anchors, occupancy weight 1:
#: 0.700; 48 anchors, weight 0.5: 0.716 (0.727 at step 4000).
COPIES_ANCHORS = 48
COPIES_POINTS = 1024
COPIES_POOL = 12000
COPIES_SHAPE_SHARE = 0.7
COPIES_OCCUPANCY_WEIGHT = 0.5
COPIES_ATTRACTOR_WEIGHT = 3.0
# grid of the occupancy term over the normalized frame [-1, 1]^2, and source points per copy
_COPIES_GRID = 32
_COPIES_SOURCES = 64


def copies_loss(clouds, A, b, inputs, occupancy_weight: float, attractor_weight: float, generator=None):
    """Objective of the anchor copies on normalized clouds: collage bound, occupancy of the collage, attractor.

    ``chamfer(W(T), T) / (1 - s) + occupancy_weight * (spill + miss) + attractor_weight *
    attractor_chamfer``, where on a :data:`_COPIES_GRID`^2 grid of the normalized frame ``spill`` is
    the share of the collage's mass (splatted) outside the cloud's cells and ``miss`` the share of
    the cloud's cells' mass (up to one point per cell) the collage does not bring. The Chamfer
    terms alone let small copies scattered over the cloud score well (each is near the cloud, and
    the cloud near one of them); ``miss`` asks for copies that fill it, ``spill`` keeps them inside.

    Parameters
    ----------
    clouds : Tensor, shape (B, N, 2)
        Normalized clouds, in random order (their first points are the copies' sources).
    A : Tensor, shape (B, M, 2, 2)
    b : Tensor, shape (B, M, 2)
    inputs : Tensor, shape (B, n, 2)
        What the network read: the attractor term's chain starts.
    occupancy_weight, attractor_weight : float
    generator : torch.Generator, optional

    Returns
    -------
    Tensor, shape ()
    """
    images = collage(clouds[:, :_COPIES_SOURCES], A, b)
    contraction = torch.linalg.matrix_norm(A, ord=2).amax(dim=1)
    loss = chamfer(images, clouds[:, : clouds.shape[1] // 2]) / (1 - contraction)
    lo = torch.full((2,), -1.0, device=clouds.device)
    cell = 2.0 / _COPIES_GRID
    target = splat(clouds, torch.ones(clouds.shape[:2], device=clouds.device), lo, cell, _COPIES_GRID)
    inside = (target > 0.5).to(clouds.dtype)
    # the collage's mass scaled to the cloud's, so that "one point per cell" means the same for both
    mass = splat(images, torch.full(images.shape[:2], clouds.shape[1] / images.shape[1]), lo, cell, _COPIES_GRID)
    spill = (mass * (1 - inside)).sum(dim=1) / mass.sum(dim=1)
    need = target.clamp(max=1.0) * inside
    miss = torch.relu(need - mass).sum(dim=1) / need.sum(dim=1)
    loss = loss + occupancy_weight * (spill + miss)
    uniform = torch.full(A.shape[:2], 1.0 / A.shape[1], device=A.device)
    loss = loss + attractor_weight * attractor_chamfer(inputs, A, b, generator=generator, p=uniform)
    return loss.mean()


def train_copies(
    output,
    init,
    steps: int,
    *,
    seed: int = 0,
    anchors: int = COPIES_ANCHORS,
    batch_size: int = 32,
    learning_rate: float = 2e-3,
    pool: int = COPIES_POOL,
    shape_share: float = COPIES_SHAPE_SHARE,
    occupancy_weight: float = COPIES_OCCUPANCY_WEIGHT,
    attractor_weight: float = COPIES_ATTRACTOR_WEIGHT,
    device=None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Give a trained 2D encoder its anchor copies (:class:`~ifskit.neural.model.AnchorCopies`), trained alone.

    The encoder of ``init`` (its heads and their weights unchanged) gains a fresh copies module of
    ``anchors`` maps, trained on :func:`copies_loss` with everything else fixed, and is written to
    ``output``. Training clouds: a pool of ``pool`` clouds of :data:`COPIES_POINTS` points
    (:func:`~ifskit.neural.dataset.training_cloud` of dataset ``seed``: procedural shapes and
    attractors), each draw turned by a random angle, maybe mirrored, its points shuffled. One torch
    thread on the CPU: same seed, same weights.

    Parameters
    ----------
    output : str or Path
        The new checkpoint (``.pt``).
    init : str or Path
        A trained 2D encoder checkpoint.
    steps : int
        Adam steps (one-cycle learning rate, peak ``learning_rate``).
    seed : int
        The copies' initial weights, the pool and the draws.
    anchors : int
        Maps of the copies (farthest-point anchors), 2 to 64.
    batch_size, learning_rate, pool, shape_share, occupancy_weight, attractor_weight
        See :data:`COPIES_ANCHORS` and :func:`copies_loss`.
    device : str, optional
    overwrite : bool
    progress : bool
        A progress bar with the running loss.

    Returns
    -------
    dict
        ``steps``, ``loss`` (mean of the last 50 steps), ``seconds``, ``output``.

    Raises
    ------
    FormatError
        ``init`` missing, bad or not 2D.
    ParameterError
        Settings out of range; ``output`` exists and not ``overwrite``.
    """
    output = Path(output)
    device = resolve_device(device or "cpu", "train")
    if not 1 <= steps <= MAX_STEPS:
        raise ParameterError(f"steps must be from 1 to {MAX_STEPS:,}, got {steps}", "steps")
    if not 2 <= anchors <= 64:
        raise ParameterError(f"anchors must be from 2 to 64, got {anchors}", "anchors")
    if not 1 <= batch_size <= MAX_BATCH or pool < batch_size:
        raise ParameterError(
            f"batch_size must be from 1 to {MAX_BATCH} and at most pool, got {batch_size}", "batch_size"
        )
    if not 0 <= shape_share <= 1:
        raise ParameterError(f"shape_share must be between 0 and 1, got {shape_share}", "shape_share")
    check_output(output, overwrite, suffixes={".pt"})
    model, checkpoint = load_checkpoint(init, dim=2)
    torch.manual_seed(seed)
    model.hparams["anchors"] = int(anchors)
    model.copies = AnchorCopies(2, anchors, model.fourier)
    model.to(device)
    settings = {
        "seed": int(seed),
        "steps": int(steps),
        "anchors": int(anchors),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate),
        "pool": int(pool),
        "points": COPIES_POINTS,
        "shape_share": float(shape_share),
        "occupancy_weight": float(occupancy_weight),
        "attractor_weight": float(attractor_weight),
    }
    n_input = model.hparams["n_input"]
    start = time.perf_counter()
    clouds = [training_cloud(i, seed, COPIES_POINTS, 2, shape_share=shape_share) for i in range(pool)]
    clouds, _, _ = normalize(torch.as_tensor(np.stack(clouds), device=device))
    optimizer = torch.optim.Adam(model.copies.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, learning_rate, total_steps=steps, pct_start=0.05)
    draws = torch.Generator().manual_seed(seed)
    history = []
    with (
        one_torch_thread() if device.type == "cpu" else contextlib.nullcontext(),
        _LossLog(history, steps, 0, "train-copies", progress) as log,
    ):
        for step in range(steps):
            batch = clouds[torch.randint(pool, (batch_size,), generator=draws)]
            angle = 2 * math.pi * torch.rand(batch_size, generator=draws)
            cos, sin = torch.cos(angle), torch.sin(angle)
            turn = torch.stack([cos, -sin, sin, cos], dim=-1).reshape(-1, 2, 2).to(device)
            mirror = torch.where(torch.rand(batch_size, generator=draws) < 0.5, -1.0, 1.0).to(device)
            batch = batch @ turn.transpose(1, 2)
            batch = torch.stack([batch[..., 0] * mirror[:, None], batch[..., 1]], dim=-1)
            batch = batch[:, torch.randperm(COPIES_POINTS, generator=draws).to(device)]
            inputs = batch[:, torch.randperm(COPIES_POINTS, generator=draws)[:n_input].to(device)]
            A, b = model.copies(inputs)
            loss = copies_loss(batch, A, b, inputs, occupancy_weight, attractor_weight, draws)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            log.record(step, loss.item())
    model.eval()
    extra = {"train": checkpoint.get("train", {}), "history": checkpoint.get("history", [])}
    extra.update(copies_train=settings, copies_history=history)
    save_checkpoint(output, model, step=checkpoint["step"], extra=extra, overwrite=True)
    return {"steps": steps, "loss": log.mean(), "seconds": round(time.perf_counter() - start, 3), "output": str(output)}
