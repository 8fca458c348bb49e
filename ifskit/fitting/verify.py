"""What a fit reports: its maps' probabilities, and the figures that check it against the cloud."""

from __future__ import annotations

import numpy as np
import torch

from ..analysis import chamfer_distance, hausdorff_distance
from ..ifs import IFS
from ..ops.losses import coverage_shares
from ..render import chaos_game, extent_sample
from .occupancy import occupancy_iou, target_occupancy

# Chaos-game points of the fitted attractor for the verification figures; the
# Hausdorff figure also uses ifskit.render.extent_sample (fixed points and their images), which
# reaches the attractor's extremes that random points approach slowly.
_ATTRACTOR_POINTS = 200_000
# Smallest share of probability a map gets: a map covering no sample point is still drawn.
_P_FLOOR = 1e-3


def coverage_probabilities(unit: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`~ifskit.ops.losses.coverage_shares` of a cloud and maps, floored: the fitted IFS's probabilities.

    Parameters
    ----------
    unit : ndarray, shape (n, d)
    A : ndarray, shape (k, d, d)
    b : ndarray, shape (k, d)

    Returns
    -------
    ndarray, shape (k,)
        Sums to 1.
    """
    return coverage_shares(torch.as_tensor(unit), torch.as_tensor(A)[None], torch.as_tensor(b)[None], _P_FLOOR)[
        0
    ].numpy()


def verify(ifs: IFS, cloud: np.ndarray, seed: int) -> dict:
    """Collage error, contraction, bound, and the measured attractor distances (:class:`~ifskit.fitting.FitResult`'s figures).

    Parameters
    ----------
    ifs : IFS
        The fitted maps, in the cloud's coordinates.
    cloud : ndarray, shape (n, d)
    seed : int
        Of the chaos game of the attractor.

    Returns
    -------
    dict
        ``collage_error``, ``contraction``, ``bound``, ``attractor_chamfer``, ``attractor_hausdorff``,
        ``iou``: the occupancy IoU of the attractor and the cloud at the fit's resolution (as many
        attractor points as the cloud has, binned and closed as the cloud is: like for like).
    """
    collage_points = ifs.apply(cloud).reshape(-1, cloud.shape[1])
    collage_error = hausdorff_distance(cloud, collage_points)
    s = ifs.contraction
    attractor = chaos_game(ifs, _ATTRACTOR_POINTS, seed=seed, progress=False)
    dense = np.concatenate([attractor, extent_sample(ifs)])
    # a stride through the chains, not their first points: as many as the cloud has
    like_the_cloud = attractor[:: max(1, len(attractor) // len(cloud))][: len(cloud)]
    return {
        "collage_error": collage_error,
        "contraction": s,
        "bound": collage_error / (1 - s),
        "attractor_chamfer": chamfer_distance(attractor, cloud),
        "attractor_hausdorff": hausdorff_distance(dense, cloud),
        "iou": occupancy_iou(target_occupancy(cloud), like_the_cloud),
    }
