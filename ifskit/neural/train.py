"""Self-supervised training of the point-cloud encoder with the collage theorem (torch).

Objective
---------
For an input cloud ``T`` the encoder proposes maps ``w_1..w_K`` (contractive by
construction, largest contraction ``s``). The loss is the collage bound

    L = chamfer(W(T), T) / (1 - s),      W(T) = w_1(T) U ... U w_K(T),

the right-hand side of the collage theorem (``d(T, attractor) <= d(T, W(T)) / (1 - s)``)
with the Chamfer distance in place of Hausdorff. Why this and not something else:

* No parameter regression: the same attractor has many IFS codes (maps composed
  with symmetries, permuted, split), so regressing the generator's parameters would
  punish correct answers. The collage bound judges maps only by what they do to the
  cloud, so it also trains on clouds that are not attractors of any IFS.
* The ``1 / (1 - s)`` weight is what turns a small collage error into a small
  distance between the *attractor* and the cloud: without it, maps with ``s`` near 1
  make cheap collages whose attractors are far off.
* The optional second term of the literature, the attractor distance through a short
  differentiable chaos game, is left out: the bound above already controls it, and
  its gradient through long products of maps is noisy and costs a chaos game per
  step; the fitter's refinement (``ifskit.encode(..., refine=N)``) measures and
  improves the attractor afterwards.

Every head (one per number of maps ``K``) is trained on every cloud, whatever ``K``
generated it: the objective does not need the true ``K``.

Determinism: the weights start from ``torch.manual_seed(seed)``, and the batch of
step ``t`` is samples ``t * B .. t * B + B - 1`` of the synthetic dataset ``seed``
(:func:`ifskit.neural.dataset.make_sample`, drawn on the fly with the Numba chaos
game), so a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ..errors import FormatError

#: Settings a resumed run must share with the checkpoint it continues (``steps`` may grow).
_RESUME_KEYS = ("seed", "batch_size", "learning_rate", "maps")


def collage_bound(points, A, b):
    """The collage bound ``chamfer(W(T), T) / (1 - s)`` of maps on clouds.

    Parameters
    ----------
    points : Tensor, shape (B, N, d)
    A : Tensor, shape (B, K, d, d)
    b : Tensor, shape (B, K, d)

    Returns
    -------
    Tensor, shape (B,)
    """
    import torch

    from ..fit.losses import chamfer, collage

    contraction = torch.linalg.matrix_norm(A, ord=2).amax(dim=-1)
    return chamfer(collage(points, A, b), points) / (1 - contraction)


def training_loss(model, clouds):
    """Mean collage bound over a batch, each cloud judging one head in turn.

    Cloud ``j`` trains head ``j mod H``: every head learns at every step while the
    collage (the costly part) is formed once per cloud.

    Parameters
    ----------
    model : CollageEncoder
    clouds : Tensor, shape (B, N, d)
        Clouds in any frame (normalized here).

    Returns
    -------
    Tensor, shape ()
    """
    import torch

    from .model import normalize

    normalized, _, _ = normalize(clouds)
    feature = model.features(normalized)
    n_heads = len(model.k_values)
    bounds = []
    for head in range(n_heads):
        A, b = model.head_maps(feature[head::n_heads], head)
        bounds.append(collage_bound(normalized[head::n_heads], A, b))
    return torch.cat(bounds).mean()


def training_batch(step: int, seed: int, batch_size: int, n_points: int, dim: int, maps) -> np.ndarray:
    """The clouds of training step ``step``, shape (batch_size, n_points, dim), float32."""
    from .dataset import make_sample

    first = step * batch_size
    return np.stack([make_sample(first + j, seed, maps, n_points, dim)[1] for j in range(batch_size)])


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
    checkpoint_every: int = 250,
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
    checkpoint_every : int
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
        ``resume`` with a checkpoint of other settings, or with more steps done than ``steps``.
    IfskitError
        ``device="cuda"`` where CUDA is not available.
    """
    import torch

    from .._io import check_output
    from ..fit.fitter import resolve_device
    from .model import build_encoder, default_hparams, load_checkpoint, save_checkpoint

    output = Path(output)
    device = resolve_device(device or ("cuda" if torch.cuda.is_available() else "cpu"), "train")
    settings = {
        "seed": int(seed),
        "batch_size": int(batch_size),
        "learning_rate": float(learning_rate),
        "steps": int(steps),
        "maps": [int(maps[0]), int(maps[1])],
    }
    history = []
    if resume and output.exists():
        model, checkpoint = load_checkpoint(output, dim=dim)
        saved = checkpoint.get("train", {})
        different = [key for key in _RESUME_KEYS if saved.get(key) != settings[key]]
        if different or "optimizer" not in checkpoint:
            what = ", ".join(f"{k} {saved.get(k)!r} -> {settings[k]!r}" for k in different) or "no optimizer state"
            raise FormatError(f"cannot resume this checkpoint with other settings ({what})", output)
        start_step = checkpoint["step"]
        if steps < start_step:
            raise FormatError(f"this checkpoint has {start_step} steps done already, more than --steps {steps}", output)
        history = list(checkpoint.get("history", []))
    else:
        if not resume:
            check_output(output, overwrite, suffixes={".pt"})
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

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=start_step, desc="train-encoder", unit="step")
    n_input = model.hparams["n_input"]
    start = time.perf_counter()
    recent = []
    try:
        for step in range(start_step, steps):
            clouds = torch.as_tensor(training_batch(step, seed, batch_size, n_input, dim, maps), device=device)
            loss = training_loss(model, clouds)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            recent = (recent + [loss.item()])[-50:]
            if (step + 1) % 10 == 0:
                history.append([step + 1, float(np.mean(recent))])
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(recent):.4f}")
            if (step + 1) % checkpoint_every == 0 and step + 1 < steps:
                save(step + 1)
    finally:
        if bar is not None:
            bar.close()
    done = max(start_step, steps)
    save(done)
    return {
        "steps": done,
        "loss": float(np.mean(recent)) if recent else None,
        "seconds": round(time.perf_counter() - start, 3),
        "output": str(output),
    }
