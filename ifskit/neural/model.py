"""The point-set encoder network and its checkpoint format (torch).

A PointNet / DeepSets network: a shared per-point MLP, max- and mean-pooling over
the points (so the output does not depend on their order or number), a global MLP,
and one linear head per number of maps ``K`` giving the raw parameters of ``K`` maps
in the fitter's contractive parametrization (:func:`ifskit.ops.contractive.maps_from_params`):
every output is contractive by construction, whatever the weights.

A 2D model may also carry :class:`AnchorCopies`: one map per anchor of the cloud, a
shrunken, turned copy of the whole shape, the many-map one shot of shapes that few maps
cannot draw (letters, silhouettes).

Clouds enter normalized (centred on their mean, scaled so the farthest point is at
distance 1); the maps are moved back to the cloud's own coordinates by conjugation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._io import write_torch
from ..errors import FormatError
from ..ops.contractive import maps_from_params, n_params

#: Checkpoint format name and version; :func:`load_checkpoint` refuses anything else.
CHECKPOINT_FORMAT = "ifskit-neural-collage-encoder"
CHECKPOINT_VERSION = 2
#: Older versions this ifskit still reads: version 1 has no ``anchors`` (no :class:`AnchorCopies`).
READS_VERSIONS = (1, 2)
#: Fewest points a cloud may have to be encoded.
MIN_POINTS = 16


def default_hparams(dim: int = 2) -> dict:
    """Architecture of a fresh model: ``dim``, map counts, widths, bound on contraction, input size, anchors.

    ``anchors`` is 0: the copies (:class:`AnchorCopies`) are trained in a second stage
    (:func:`ifskit.neural.train.train_copies`), which sets it.
    """
    return {
        "dim": int(dim),
        "k_values": [2, 3, 4, 5, 6, 7, 8],
        "point_widths": [64, 128, 256],
        "global_widths": [256, 256],
        "max_contraction": 0.9,
        "n_input": 256,
        "fourier": 4,
        "anchors": 0,
    }


class PointCloudEncoder(nn.Module):
    """Point cloud ``(B, N, d)`` to raw map parameters, one head per number of maps."""

    def __init__(self, hparams: dict):
        super().__init__()
        self.hparams = dict(hparams)
        dim = hparams["dim"]
        self.dim = dim
        self.k_values = [int(k) for k in hparams["k_values"]]
        self.max_contraction = float(hparams["max_contraction"])
        self.n_params = n_params(dim)
        self.fourier = int(hparams["fourier"])
        # coordinates plus sin/cos at 2^0 .. 2^(F-1) times pi per axis
        self.register_buffer(
            "frequencies", math.pi * 2.0 ** torch.arange(self.fourier, dtype=torch.float32), persistent=False
        )
        n_in = dim * (1 + 2 * self.fourier)
        self.point_mlp = _mlp([n_in, *hparams["point_widths"]], last_activation=True)
        pooled = 2 * hparams["point_widths"][-1]
        self.global_mlp = _mlp([pooled, *hparams["global_widths"]], last_activation=True)
        self.heads = nn.ModuleList(nn.Linear(hparams["global_widths"][-1], k * self.n_params) for k in self.k_values)
        anchors = int(hparams.get("anchors", 0))
        self.copies = AnchorCopies(dim, anchors, self.fourier) if anchors else None

    @property
    def map_counts(self) -> list:
        """Numbers of maps the model can give: its heads' ``k_values``, then the copies' anchors if it has them."""
        return self.k_values + ([self.copies.anchors] if self.copies is not None else [])

    def features(self, points):
        """Global feature of normalized clouds, ``(B, N, d)`` to ``(B, F)``."""
        if self.fourier:
            points = fourier_features(points, self.frequencies)
        per_point = self.point_mlp(points)
        return self.global_mlp(torch.cat([per_point.amax(dim=1), per_point.mean(dim=1)], dim=-1))

    def head_maps(self, feature, head: int):
        """Maps of head ``head`` (index into ``k_values``) from global features ``(B, F)``.

        Returns
        -------
        A : Tensor, shape (B, K, d, d)
            ``||A_i||_2 <= max_contraction``.
        b : Tensor, shape (B, K, d)
        """
        raw = self.heads[head](feature).reshape(len(feature), self.k_values[head], self.n_params)
        return maps_from_params(raw, self.dim, self.max_contraction)

    def forward(self, points):
        """Maps for every head, in the normalized frame.

        Parameters
        ----------
        points : Tensor, shape (B, N, d)
            Normalized clouds.

        Returns
        -------
        list of (A, b)
            One pair per entry of ``k_values``: ``A`` shape (B, K, d, d),
            ``b`` shape (B, K, d).
        """
        feature = self.features(points)
        return [self.head_maps(feature, head) for head in range(len(self.k_values))]


class AnchorCopies(nn.Module):
    """One copy of the whole cloud per anchor: ``anchors`` maps from a normalized cloud (2D).

    The anchors are farthest-point samples of the cloud (:func:`farthest_points`). For each,
    a shared network reads a global feature of the cloud (its own small PointNet), the
    anchor's neighbourhood (its :data:`NEIGHBOURS` nearest points, relative to it) and the
    anchor's position, and gives a shrunken, stretched, turned copy of the whole cloud
    centred near the anchor::

        w_i(x) = R(theta_i) diag(s_i, r_i s_i) R(phi_i) x + a_i + delta_i

    (the cloud's centre is 0, so ``a_i + delta_i`` is where the copy's centre goes), with
    ``s_i`` in [:data:`SCALE_MIN`, :data:`SCALE_MAX`], ``r_i`` in [:data:`RATIO_MIN`, 1]
    and each coordinate of ``delta_i`` within :data:`OFFSET`. Contractive by construction:
    ``||A_i||_2 = s_i <= SCALE_MAX``. Tied to its anchor, each map has one place to go,
    where the heads' maps, free to permute, learn averages of the places they could take;
    the bounded squash keeps copies from thinning into the streaks whose attractors hatch a
    filled shape.
    """

    #: Bounds of the copies' scale, squash (smaller singular value over the larger) and offset.
    SCALE_MIN, SCALE_MAX, RATIO_MIN, OFFSET = 0.04, 0.6, 0.25, 0.2
    #: Points of an anchor's neighbourhood.
    NEIGHBOURS = 16

    def __init__(self, dim: int, anchors: int, fourier: int):
        super().__init__()
        if dim != 2:
            raise ValueError(f"anchor copies are 2D only, got dim = {dim}")
        self.anchors = int(anchors)
        self.register_buffer(
            "frequencies", math.pi * 2.0 ** torch.arange(fourier, dtype=torch.float32), persistent=False
        )
        n_in = dim * (1 + 2 * fourier)
        self.point_mlp = _mlp([n_in, 64, 128, 256], last_activation=True)
        self.global_mlp = _mlp([512, 256, 128], last_activation=True)
        self.local_mlp = _mlp([dim, 64, 128], last_activation=True)
        # per anchor: scale, squash, two angles (as unnormalized vectors), offset
        self.head = _mlp([128 + 128 + n_in, 256, 128, 8], last_activation=False)

    def forward(self, points, anchor_index=None):
        """Maps of normalized clouds ``(B, N, 2)``: ``A`` (B, anchors, 2, 2), ``b`` (B, anchors, 2).

        ``anchor_index`` (B, anchors): the anchors' indices when the caller has them
        (:func:`farthest_points` of ``points``, which runs for the whole batch at once).
        """
        batch = len(points)
        rows = torch.arange(batch, device=points.device)
        per_point = self.point_mlp(fourier_features(points, self.frequencies))
        glob = self.global_mlp(torch.cat([per_point.amax(dim=1), per_point.mean(dim=1)], dim=-1))
        with torch.no_grad():
            if anchor_index is None:
                anchor_index = farthest_points(points, self.anchors)
            near = torch.cdist(points[rows[:, None], anchor_index], points).topk(self.NEIGHBOURS, largest=False)
        anchors = points[rows[:, None], anchor_index]  # (B, M, 2)
        # neighbourhoods magnified 4x: an anchor's neighbours lie within ~0.1 of it in the normalized frame
        neighbours = points[rows[:, None, None], near.indices] - anchors[:, :, None]
        local = self.local_mlp(4.0 * neighbours).amax(dim=2)
        out = self.head(
            torch.cat(
                [local, glob[:, None].expand(-1, self.anchors, -1), fourier_features(anchors, self.frequencies)], -1
            )
        )
        scale = self.SCALE_MIN + (self.SCALE_MAX - self.SCALE_MIN) * torch.sigmoid(out[..., 0])
        ratio = self.RATIO_MIN + (1.0 - self.RATIO_MIN) * torch.sigmoid(out[..., 1])
        turn = _rotation(torch.atan2(out[..., 2], out[..., 3] + 1e-6))
        frame = _rotation(torch.atan2(out[..., 4], out[..., 5] + 1e-6))
        A = turn @ torch.diag_embed(torch.stack([scale, scale * ratio], dim=-1)) @ frame
        b = anchors + self.OFFSET * torch.tanh(out[..., 6:8])
        return A, b


def farthest_points(points, count: int):
    """Indices of ``count`` farthest-point samples of each cloud, the first the point farthest from 0.

    Parameters
    ----------
    points : Tensor, shape (B, N, d)
    count : int

    Returns
    -------
    Tensor, shape (B, count), int64
    """
    batch = len(points)
    rows = torch.arange(batch, device=points.device)
    chosen = [points.norm(dim=-1).argmax(dim=1)]
    nearest = torch.full(points.shape[:2], float("inf"), device=points.device, dtype=points.dtype)
    for _ in range(count - 1):
        nearest = torch.minimum(nearest, (points - points[rows, chosen[-1]][:, None]).norm(dim=-1))
        chosen.append(nearest.argmax(dim=1))
    return torch.stack(chosen, dim=1)


def fourier_features(points, frequencies):
    """Coordinates and their sines and cosines at ``frequencies``: ``(..., d)`` to ``(..., d * (1 + 2F))``."""
    angles = (points[..., None] * frequencies).flatten(-2)
    return torch.cat([points, torch.sin(angles), torch.cos(angles)], dim=-1)


def _rotation(angle):
    """Rotation matrices ``(..., 2, 2)`` of angles ``(...)``."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    return torch.stack([cos, -sin, sin, cos], dim=-1).reshape(*angle.shape, 2, 2)


def _mlp(widths, last_activation):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if last_activation or i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def build_encoder(hparams: dict) -> PointCloudEncoder:
    """A fresh :class:`PointCloudEncoder` for architecture ``hparams`` (see :func:`default_hparams`)."""
    return PointCloudEncoder(hparams)


def normalize(points):
    """Centre clouds on their mean and scale the farthest point to distance 1.

    Parameters
    ----------
    points : Tensor, shape (B, N, d)

    Returns
    -------
    normalized : Tensor, shape (B, N, d)
    centre : Tensor, shape (B, d)
    scale : Tensor, shape (B,)
        ``points = centre + scale * normalized``.
    """
    centre = points.mean(dim=1)
    scale = (points - centre[:, None]).norm(dim=-1).amax(dim=1).clamp_min(1e-12)
    return (points - centre[:, None]) / scale[:, None, None], centre, scale


def denormalize_maps(A, b, centre, scale):
    """Maps of the normalized frame in the cloud's own coordinates (conjugation by the normalization).

    With ``x = c + r u``, ``u -> A u + b`` becomes ``x -> A x + (c - A c + r b)``.

    Parameters
    ----------
    A : Tensor, shape (B, K, d, d)
    b : Tensor, shape (B, K, d)
    centre : Tensor, shape (B, d)
    scale : Tensor, shape (B,)

    Returns
    -------
    A : Tensor, shape (B, K, d, d)
        Unchanged (conjugation by a similarity keeps the linear part).
    b : Tensor, shape (B, K, d)
    """
    shifted = centre[:, None, :] - (A @ centre[:, None, :, None])[..., 0] + scale[:, None, None] * b
    return A, shifted


def save_checkpoint(path, model, *, step: int = 0, extra: dict | None = None, overwrite: bool = True) -> Path:
    """Write a checkpoint atomically: format, version, architecture, weights, and ``extra`` entries.

    Parameters
    ----------
    path : str or Path
    model : PointCloudEncoder
    step : int
        Training steps done.
    extra : dict, optional
        More entries (optimizer state, training settings).
    overwrite : bool
    """
    state = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "hparams": model.hparams,
        "dim": model.dim,
        "k_max": max(model.k_values),
        "step": int(step),
        "state_dict": {name: value.detach().cpu() for name, value in model.state_dict().items()},
        **(extra or {}),
    }
    # saved through memory: the same weights give the same bytes (torch.save to a file stores its name)
    return write_torch(path, state, overwrite)


def load_checkpoint(path, dim: int | None = None, device=None) -> tuple:
    """Read and check a checkpoint; build its model.

    Parameters
    ----------
    path : str or Path
    dim : int, optional
        Refuse a checkpoint for another dimension.
    device : str or torch.device, optional

    Returns
    -------
    model : PointCloudEncoder
        In eval mode, on ``device``.
    checkpoint : dict
        Everything the file holds.

    Raises
    ------
    FormatError
        Missing, truncated or foreign file; another format version; weights that do
        not match the stated architecture; another dimension than ``dim``.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError("no such checkpoint file", path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch raises many types (and long messages) for a truncated or foreign file
        raise FormatError("not a readable encoder checkpoint (truncated, or not a torch checkpoint)", path) from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise FormatError(f"not an ifskit encoder checkpoint (expected format {CHECKPOINT_FORMAT!r})", path)
    if checkpoint.get("version") not in READS_VERSIONS:
        raise FormatError(
            f"encoder checkpoint version {checkpoint.get('version')!r}; this ifskit reads versions "
            f"{', '.join(map(str, READS_VERSIONS))}",
            path,
        )
    hparams = checkpoint.get("hparams")
    if checkpoint["version"] == 1 and isinstance(hparams, dict):
        hparams = {**hparams, "anchors": 0}
    if (
        not isinstance(hparams, dict)
        or set(hparams) != set(default_hparams())
        or checkpoint.get("dim") != hparams.get("dim")
    ):
        raise FormatError("encoder checkpoint with a missing or inconsistent architecture", path)
    if dim is not None and hparams["dim"] != dim:
        raise FormatError(f"this encoder is for {hparams['dim']}D clouds, not {dim}D", path)
    try:
        model = build_encoder(hparams)
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"encoder checkpoint with an invalid architecture: {exc}", path) from None
    expected = {name: tuple(value.shape) for name, value in model.state_dict().items()}
    weights = checkpoint.get("state_dict")
    if not isinstance(weights, dict):
        raise FormatError("encoder checkpoint without weights", path)
    found = {name: tuple(getattr(value, "shape", ())) for name, value in weights.items()}
    differ = sorted(name for name in expected.keys() | found.keys() if expected.get(name) != found.get(name))
    if differ:
        raise FormatError(
            f"encoder weights do not match its architecture ({len(differ)} tensors differ, e.g. {differ[0]})", path
        )
    model.load_state_dict(weights)
    model.eval()
    if device is not None:
        model.to(device)
    return model, checkpoint


def subsample(points: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of a cloud: a random subset, or all of them plus random repeats when fewer.

    Parameters
    ----------
    points : ndarray, shape (N, d)
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n, d)
    """
    if len(points) >= n:
        return points[rng.choice(len(points), n, replace=False)]
    return np.concatenate([points, points[rng.integers(len(points), size=n - len(points))]])
