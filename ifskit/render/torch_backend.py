"""The chaos game in torch: many chains at once on a GPU (or on the CPU build of torch).

Every chain is a row of an ``(n_chains, d)`` tensor. Each step draws one uniform
number per chain from a ``torch.Generator`` seeded with the render's seed, picks
each chain's map with the same Walker alias table as the Numba renderer, applies
the affine maps batched, and after a burn-in bins the points into the Numba
renderer's frame (the same :class:`~ifskit.render.aggregate.DensityJob`) with
``index_add_``: integer adds, so the counts do not depend on the order of the
threads. Same seed, same counts on the same device; the random stream is torch's,
so the counts differ from the Numba renderer's point by point but follow the same
invariant measure.

Used by ``ifskit.density(..., device="cuda")`` and ``ifskit render --device cuda``.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..errors import ParameterError
from ..ops.device import one_torch_thread, resolve_device
from .chaos import BURN_IN, alias_table

#: Chains run side by side: enough to fill a GPU; on a CPU, few enough that a step's
#: tensors stay in cache.
CHAINS = {"cuda": 1 << 21, "cpu": 1 << 15}
# Steps binned at once (one index_add_ per batch of steps).
_BATCH_STEPS = 16
# A chain beyond this has escaped (a map that is not contractive): it restarts.
_ESCAPE = 1e30
#: What ``device`` may be, besides a ``torch.device``.
DEVICES = ("torch-cpu", "cuda", "cuda:N")


def torch_device(device):
    """The torch device meant by a renderer's ``device``: ``"cuda"``, ``"cuda:N"``, ``"torch-cpu"`` (or a ``torch.device``).

    :func:`ifskit.ops.device.resolve_device` with the renderer's name of the CPU: its
    default (None) is the Numba renderer, so torch on the CPU is spelled ``"torch-cpu"``.

    Raises
    ------
    IfskitError
        Unknown name (a :class:`~ifskit.errors.ParameterError`), torch not installed, or
        CUDA asked for where there is none.
    """
    if device is None:
        raise ParameterError(f"device must be one of {', '.join(DEVICES)}, got None", "device")
    return resolve_device(device, "render", cpu_name="torch-cpu")


def bin_on_device(job, device, bar=None, n_chains: int | None = None):
    """Run a density job's chaos game with torch and bin it; what ``aggregate(device=)`` runs.

    Parameters
    ----------
    job : ifskit.render.aggregate.DensityJob
        Maps, frame, point count and seed (the chunks are not used: the chains are).
    device : str or torch.device
        See :func:`torch_device`.
    bar : tqdm, optional
        Advanced as points are binned; closed at the end.
    n_chains : int, optional
        Chains side by side; default :data:`CHAINS` for the device, fewer for short
        renders (at least 1024 points per chain).

    Returns
    -------
    Totals
        Counts (H, W) uint64; for 3D the depth buffer (H, W) uint16; with map colours
        the blended colour sums (H, W, 3) uint64 (see :data:`ifskit.render.aggregate.Totals`).
    """
    import torch

    device = torch_device(device)
    threads = one_torch_thread() if device.type == "cpu" else contextlib.nullcontext()
    try:
        with torch.no_grad(), threads:
            return _bin(torch, job, device, bar, n_chains)
    finally:
        if bar is not None:
            bar.close()


def _bin(torch, job, device, bar, n_chains):
    # float32 on a GPU: its float64 rate is a fraction of it, and contraction keeps
    # rounding errors from growing along a chain
    real = torch.float64 if device.type == "cpu" else torch.float32
    if n_chains is None:
        n_chains = int(min(CHAINS[device.type], max(1024, job.n_points // 1024)))
    height, width = job.size
    dim = job.A.shape[1]
    outside = height * width  # one extra bin collects the points off the raster
    A = torch.as_tensor(job.A, dtype=real, device=device)
    b = torch.as_tensor(job.b, dtype=real, device=device)
    threshold, alias = alias_table(job.p)
    keep_fraction = torch.as_tensor(threshold / 2.0**32, dtype=real, device=device)
    alias = torch.as_tensor(alias.astype(np.int64), device=device)
    view = torch.as_tensor(job.view_matrix, dtype=real, device=device)
    start = torch.as_tensor(job.start, dtype=real, device=device)
    shade_depth = dim == 3
    blend = job.colors255 is not None
    colors = torch.as_tensor(job.colors255, dtype=real, device=device) if blend else None

    generator = torch.Generator(device=device)
    generator.manual_seed(job.seed)
    counts = torch.zeros(outside + 1, dtype=torch.int64, device=device)
    depth = torch.zeros(outside + 1, dtype=torch.int64, device=device) if shade_depth else None
    color_sum = torch.zeros((outside + 1, 3), dtype=torch.int64, device=device) if blend else None
    x = start.expand(n_chains, dim).clone()
    rgb = torch.full((n_chains, 3), 127.0, dtype=real, device=device) if blend else None
    cells = torch.empty((_BATCH_STEPS, n_chains), dtype=torch.int64, device=device)
    nearness = torch.empty((_BATCH_STEPS, n_chains), dtype=torch.int64, device=device) if shade_depth else None
    shades = torch.empty((_BATCH_STEPS, n_chains, 3), dtype=torch.int64, device=device) if blend else None
    ones = torch.ones(_BATCH_STEPS * n_chains, dtype=torch.int64, device=device)
    k = len(job.p)

    def step():
        nonlocal x, rgb
        slot = torch.rand(n_chains, generator=generator, device=device, dtype=real) * k
        index = slot.long().clamp_(max=k - 1)
        maps = torch.where(slot - index < keep_fraction[index], index, alias[index])
        x = torch.einsum("nij,nj->ni", A[maps], x) + b[maps]
        escaped = ~(x.abs() < _ESCAPE).all(dim=1)  # NaN counts as escaped
        x = torch.where(escaped[:, None], start, x)
        if blend:
            rgb = 0.5 * (rgb + colors[maps])

    for _ in range(BURN_IN):  # the Numba renderer's burn-in per chain
        step()
    binned = 0
    while binned < job.n_points:
        steps = min(_BATCH_STEPS, -(-(job.n_points - binned) // n_chains))
        for s in range(steps):
            step()
            pixel = x @ view[:, :dim].T + view[:, 3]
            col, row = pixel[:, 0], pixel[:, 1]
            inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)  # false for NaN
            cells[s] = torch.where(inside, row.long() * width + col.long(), outside)
            if shade_depth:
                nearness[s] = (pixel[:, 2].clamp(0.0, 1.0) * 65535.0).long()
            if blend:
                shades[s] = rgb.long()
        batch = cells[:steps].view(-1)
        extra = binned + steps * n_chains - job.n_points
        if extra > 0:  # the last step of the render keeps only the chains still needed
            batch[batch.numel() - extra :] = outside
        counts.index_add_(0, batch, ones[: batch.numel()])
        if shade_depth:
            depth.scatter_reduce_(0, batch, nearness[:steps].view(-1), reduce="amax")
        if blend:
            color_sum.index_add_(0, batch, shades[:steps].view(-1, 3))
        done = min(steps * n_chains, job.n_points - binned)
        binned += done
        if bar is not None:
            bar.update(done)

    def raster(t, dtype, shape):
        return t[:outside].cpu().numpy().astype(dtype).reshape(shape)

    return (
        raster(counts, np.uint64, (height, width)),
        raster(depth, np.uint16, (height, width)) if shade_depth else None,
        raster(color_sum, np.uint64, (height, width, 3)) if blend else None,
    )
