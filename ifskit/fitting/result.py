"""What :func:`~ifskit.fitting.fit` returns: the fitted IFS and the figures that judge it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ifs import IFS
from .plot import plot_fit


@dataclass
class FitResult:
    """The outcome of :func:`~ifskit.fitting.fit`; distances are in the cloud's coordinates.

    Attributes
    ----------
    ifs : IFS
        The fitted maps, probabilities from the share of the cloud each map covers.
    collage_error : float
        Exact Hausdorff distance ``e`` between the cloud ``T`` and its collage ``W(T)``.
    contraction : float
        ``s``, the largest contraction factor ``||A_i||_2`` of the fitted maps.
    bound : float
        The collage theorem's bound ``e / (1 - s)`` on the Hausdorff distance between
        the cloud and the fitted attractor.
    attractor_chamfer, attractor_hausdorff : float
        Measured distances between the fitted attractor (chaos game) and the cloud.
    iou : float
        Occupancy IoU of the attractor and the cloud at the fit's resolution (cells of about
        two points of the cloud, 2D or 3D; as many attractor points as the cloud has, binned
        the same way): what a person sees, holes filled and strokes missed included.
    history : ndarray, shape (steps,)
        Training loss per step (of the best restart), in the cloud's units.
    n_maps : int
        Number of maps; with ``n_maps="auto"``, the number that won.
    seconds : float
        Wall time of the whole fit, verification included.
    points : ndarray, shape (n, d)
        The cloud that was fitted (after subsampling a very large one).
    auto_scores : dict of int to float
        With ``n_maps="auto"``: the penalized score of every number of maps tried.
    notes : list of str
        What was done to the input (subsampled, repeated or stray points dropped, fitted in its plane),
        each also given as an :class:`~ifskit.errors.IfskitWarning`.
    """

    ifs: IFS
    collage_error: float
    contraction: float
    bound: float
    attractor_chamfer: float
    attractor_hausdorff: float
    iou: float
    history: np.ndarray
    n_maps: int
    seconds: float
    points: np.ndarray = field(repr=False)
    auto_scores: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def figures(self) -> dict:
        """The figures as a JSON-ready dict (the ``ifskit fit --json`` output)."""
        out = {
            "collage_error": self.collage_error,
            "contraction": self.contraction,
            "bound": self.bound,
            "attractor_chamfer": self.attractor_chamfer,
            "attractor_hausdorff": self.attractor_hausdorff,
            "iou": self.iou,
            "seconds": self.seconds,
            "n_maps": self.n_maps,
        }
        if self.auto_scores:
            out["auto_scores"] = {str(k): v for k, v in self.auto_scores.items()}
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    def plot(self, path=None, overwrite: bool = False, n_points: int = 50_000, seed: int = 0):
        """Target, collage (each map's image in its own colour), attractor, and loss history.

        Parameters
        ----------
        path : str or Path, optional
            Write the figure to this PNG (atomically); else just return it.
        overwrite : bool
        n_points : int
            Chaos-game points of the attractor panel.
        seed : int

        Returns
        -------
        matplotlib.figure.Figure
        """
        return plot_fit(self, path, overwrite, n_points, seed)
